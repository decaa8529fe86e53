/* mod_md_status: the monitoring surfaces in httpd (docs/monitoring.md):
 *   - handler "md-status": JSON of all MDs, or of one at <location>/<name>
 *   - handler "md-metrics": Prometheus text format
 *   - /.httpd/certificate-status on managed https hosts (MDCertificateStatus)
 *   - the server-status section (MDServerStatus), written by mod_md_server_status.c
 */
#ifndef mod_md_status_h
#define mod_md_status_h

#include <httpd.h>

/** Register the handlers and the (optional) mod_status hook. */
void mod_md_status_register_hooks(void);

#endif /* mod_md_status_h */
