/* mod_md_ocsp: OCSP stapling glue. mod_ssl primes each certificate through
 * ap_hook_ssl_ocsp_prime_hook and asks for the response in every handshake through
 * ap_hook_ssl_ocsp_get_resp_hook; the answer comes from memory or the store, never from the
 * responder. A callback on the module's watchdog (the one that renews certificates, so it runs
 * in the same child and thread) fetches and renews responses on a small thread pool.
 */
#ifndef mod_md_ocsp_h
#define mod_md_ocsp_h

#include <httpd.h>

#include "md_ocsp.h"
#include "mod_md_config.h"

/* How many OCSP responders are asked at the same time. */
#define MD_OCSP_MAX_PARALLEL 4

/** Non-zero if MDStapling is on globally or for any MD: the store must be set up for it. */
int mod_md_ocsp_wanted(const md_mod_conf_t *mc);

/**
 * At post_config, after the store is open and before mod_ssl primes certificates: create the
 * stapling registry (mc->ocsp) and drop responses older than MDStaplingKeepResponse.
 */
apr_status_t mod_md_ocsp_setup(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p);

/**
 * At post_config (not in the dry run): register the fetcher on the module's watchdog. It does
 * nothing until the child runs; by then mod_ssl has primed all certificates.
 */
apr_status_t mod_md_ocsp_start(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p);

/**
 * HOOK POINT for notifications (issue 5, MDMessageCmd): 'cb' is called with "ocsp-renewed" and
 * "ocsp-errored" (the latter at most hourly per certificate), see md_ocsp_event_cb in
 * md_ocsp.h. Set it in register_hooks or at post_config before mod_md_ocsp_setup(); it is
 * installed into every registry created afterwards. Called on a fetcher thread in the child
 * that runs the watchdog.
 */
void mod_md_ocsp_set_event_cb(md_ocsp_event_cb *cb, void *baton);

/**
 * The per-certificate OCSP status JSON for md-status/server-status (issue 5): see
 * md_ocsp_status_json(). An empty array when stapling is off. In 'p'.
 */
md_json_t *mod_md_ocsp_status(md_mod_conf_t *mc, apr_pool_t *p);

/** Register the mod_ssl hooks (from the module's register_hooks). */
void mod_md_ocsp_register_hooks(void);

#endif /* mod_md_ocsp_h */
