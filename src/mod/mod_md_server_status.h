/* mod_md_server_status: the Managed Domains part of mod_status' server-status
 * (MDServerStatus, docs/monitoring.md): the "Managed Certificates" and "Managed Staplings"
 * tables, and their lines in '?auto', as the stock module shows them, followed by ours.
 */
#ifndef mod_md_server_status_h
#define mod_md_server_status_h

#include <httpd.h>

/**
 * mod_status' status_hook: writes the MDs (and stapled certificates) of 'r's server
 * configuration; 'flags' AP_STATUS_SHORT asks for the '?auto' lines. Nothing when
 * MDServerStatus is off or no MD is configured. Always OK.
 */
int mod_md_server_status_hook(request_rec *r, int flags);

#endif /* mod_md_server_status_h */
