/* mod_md_drive: the renewal scheduler. A mod_watchdog singleton (it runs in exactly one child)
 * ticks every second, starts renewals of due MDs on a bounded pool of job threads, and retries
 * failed ones with a growing delay. No CA is contacted during start-up.
 */
#ifndef mod_md_drive_h
#define mod_md_drive_h

#include <httpd.h>
#include <mod_watchdog.h>

#include "md_http.h"
#include "mod_md_config.h"

/* How many MDs are renewed at the same time. */
#define MD_DRIVE_MAX_JOBS 16

/**
 * Register the watchdog callback for the MDs that need renewing (called at post_config in the
 * parent, not in the dry run). Logs and returns an error when mod_watchdog is not loaded.
 */
apr_status_t mod_md_drive_start(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p);

/**
 * Make the renewal of MD 'name' due at 'now', without waiting for MDCheckInterval (the OCSP
 * responder says its certificate is revoked). Call on the watchdog thread of the child that runs
 * the renewals. Returns 1 when a renewal was made due, 0 when 'name' is not renewed here or
 * is already due, staged or retrying.
 */
int mod_md_drive_renew_now(const char *name, apr_time_t now);

/**
 * Another server sharing the store (MDStoreEtcd) staged or made live a renewed set of MD 'name':
 * with MDActivation hot, the next tick serves it here too (mod_md_hot_publish() reads it from
 * staging/, or from domains/ when it went live meanwhile). Call on the child that runs the
 * renewals. Returns 1 when it will be served, 0 when not (not hot, not renewed by this server, or
 * a job of its own is at work on it).
 */
int mod_md_drive_renewed_elsewhere(const char *name);

/**
 * The HTTP client settings of the module's background work, for CAs and OCSP responders alike:
 * user agent, MDCACertificateFile and MDHttpProxy. Strings live in 'p' or in 'mc'.
 */
void mod_md_http_config(md_http_config_t *hc, const md_mod_conf_t *mc, apr_pool_t *p);

/**
 * Call 'cb' with 'baton' every 'tick' on the module's watchdog (one child runs it). APR_ENOTIMPL
 * when mod_watchdog is not loaded; the caller says what is lost then.
 */
apr_status_t mod_md_watchdog_add(void *baton, ap_watchdog_callback_fn_t *cb,
                                 apr_interval_time_t tick, apr_pool_t *p);

/**
 * Call 'cb' with 'baton' every 'tick' in every child, on a watchdog thread of its own (for work
 * that each process must do, like picking up renewed certificates). APR_ENOTIMPL when
 * mod_watchdog is not loaded.
 */
apr_status_t mod_md_watchdog_add_each(void *baton, ap_watchdog_callback_fn_t *cb,
                                      apr_interval_time_t tick, apr_pool_t *p);

#endif /* mod_md_drive_h */
