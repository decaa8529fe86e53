/* mod_md_event: MDNotifyCmd and MDMessageCmd, the programs the admin configures to hear about
 * events of Managed Domains.
 *
 * A program is run without a shell, as `<MDMessageCmd> [args] <reason> <md name>` and
 * `<MDNotifyCmd> <md name>`, with stdin closed and stdout/stderr captured. It is killed when it
 * runs longer than MD_EVENT_TIMEOUT. A program that fails (exit code, signal, timeout, cannot
 * start) is logged with its output and never stops the server or a renewal (except a veto of
 * 'renewing', which the caller acts on).
 *
 * Reasons: renewing, renewed, installed, expiring, errored, ocsp-renewed, ocsp-errored.
 */
#ifndef mod_md_event_h
#define mod_md_event_h

#include <httpd.h>

#include "mod_md_config.h"

/* How long a program may run before it is killed. */
#define MD_EVENT_TIMEOUT apr_time_from_sec(10)
/* How much of its output (stdout and stderr) goes into the log line. */
#define MD_EVENT_OUTPUT_MAX 4096
/* Rate limits (per MD and reason, per process) */
#define MD_EVENT_ERRORED_EVERY  apr_time_from_sec(60 * 60)
#define MD_EVENT_EXPIRING_EVERY apr_time_from_sec(24 * 60 * 60)

/** Set up the per-process rate limit table (child_init; the parent needs none). */
void mod_md_event_child_init(apr_pool_t *pchild);

/**
 * Run the programs for 'reason' and MD 'name': MDMessageCmd (when configured) and, for
 * "renewed", MDNotifyCmd first. Blocks until they end or are killed. APR_SUCCESS when every
 * configured program exited with 0 (or none is configured); otherwise the failure (logged with
 * the program's output). A record of the call goes into the MD's job.json log
 * ("message-<reason>").
 */
apr_status_t mod_md_event_send(md_mod_conf_t *mc, server_rec *s, const char *reason,
                               const char *name, apr_pool_t *p);

/**
 * As mod_md_event_send(), but at most once per 'every' for this MD and reason in this
 * process: APR_EAGAIN (nothing run) when it was sent less than 'every' ago.
 */
apr_status_t mod_md_event_send_limited(md_mod_conf_t *mc, server_rec *s, const char *reason,
                                       const char *name, apr_interval_time_t every,
                                       apr_pool_t *p);

/**
 * For OCSP stapling (issue 7): report that the OCSP response of MD 'name' was renewed
 * ('is_ok' non-zero: MDMessageCmd "ocsp-renewed") or could not be ('is_ok' 0: "ocsp-errored",
 * at most once an hour per MD). 's' is any server_rec of the configuration; 'p' a scratch pool.
 * Safe to call from any thread of a child. Returns as mod_md_event_send_limited().
 */
apr_status_t mod_md_event_ocsp(server_rec *s, const char *name, int is_ok, apr_pool_t *p);

#endif /* mod_md_event_h */
