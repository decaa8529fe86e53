/* md_acme_drive: get a certificate for one MD from its ACME CA (RFC 8555) into the staging area.
 *
 * The plan of a renewal (md_acme_drive.c refers to these numbers):
 *   1. directory and nonce of the CA (md_acme.c)
 *   2. an account: the MD's, one in the store for the same CA, one this process created, or a new
 *      one (md_acme_acct.c); new accounts are saved into staging/<md>/ because the child process
 *      may not write accounts/; md_acme_drive_install_account() moves them at activation
 *   3. a new order for the MD's domains, or the order of a previous attempt when still usable
 *      (md_acme_order.c; kept in staging/<md>/order.json); with the MD's certificate profile
 *      when the CA offers it, and naming the certificate it replaces when the CA has ARI
 *   4. for each pending authorization: choose a challenge, set up the answer (challenges/ in the
 *      store), tell the CA, poll until valid or invalid (md_acme_authz.c)
 *   5. for each key spec of the MD: generate a key, send a CSR to finalize, poll the order, download
 *      the chain (md_acme_finalize.c)
 *   6. save key(s) (encrypted), chain(s) and md.json into staging/<md>/, remove order.json
 */
#ifndef md_acme_drive_h
#define md_acme_drive_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md.h"
#include "md_result.h"
#include "md_http.h"
#include "md_store.h"

/* Accounts created by this process, shared by all MDs' jobs (thread-safe), and with them what
 * the jobs share about each CA: its directory (for a few minutes) and unused nonces. */
typedef struct md_acme_acct_cache_t md_acme_acct_cache_t;

/**
 * A new, empty cache. The struct lives in 'p' (which must outlive all jobs using it); the cached
 * accounts live in a pool of the cache's own, so that jobs on other threads can use them after
 * the job that created them is gone. That pool goes when 'p' is destroyed.
 */
apr_status_t md_acme_acct_cache_create(md_acme_acct_cache_t **pcache, apr_pool_t *p);

/* Called for noteworthy steps of a job (for the job log in job.json); 'type' is a short word
 * ("progress", "challenge-setup", "order-created", "certificate-issued"), 'detail' free text. */
typedef void md_acme_event_cb(void *baton, const char *type, const char *detail);

typedef struct md_acme_driver_t md_acme_driver_t;
struct md_acme_driver_t {
    md_store_t *store;
    const md_t *md;                       /* the MD as configured */
    const md_http_config_t *http_config;
    md_acme_acct_cache_t *acct_cache;     /* may be NULL */
    /* Challenge types to use, in order of preference (const char*: "http-01", "tls-alpn-01",
     * "dns-01"); the glue resolves MDCAChallenges or what the server can answer. */
    const apr_array_header_t *challenges;
    md_result_t *result;                  /* receives status, problem, detail, ready_at */
    md_acme_event_cb *event_cb;           /* may be NULL */
    void *event_baton;
    apr_interval_time_t poll_timeout;     /* how long to poll authz/order, 0 for 5 minutes */
    /* When not NULL and it becomes non-zero (the server shuts down), polling stops at once with
     * APR_EAGAIN and the job ends; the order is resumed by the next process. */
    volatile int *stop;
    /* Key spec name -> the ARI identifier (RFC 9773 4.1) of the live certificate a new one
     * replaces; sent as "replaces" when the CA announces ARI and the MD has MDRenewViaARI on.
     * May be NULL. */
    apr_table_t *replaces;
    /* The CAs to try, in this order (const char*; NULL: the MD's MDCertificateAuthority list).
     * A CA that cannot be reached is left for the next one at once (CA failover). */
    const apr_array_header_t *ca_urls;
    /* Out: the index in ca_urls of the CA the attempt ended at; -1 when none could be reached. */
    int ca_used;
    /* > 0: other servers share the store (MDStoreLocks, MDStoreEtcd); a new account is made under
     * the store lock MD_ACCT_LOCK_NAME, waiting this long for it, after a look for one that
     * another server made. 0: no such lock. */
    apr_interval_time_t acct_lock_wait;
};

/**
 * Run the plan above at the first CA of driver->ca_urls that can be reached (one that cannot be,
 * at any step, is logged and the next one is tried at once; driver->ca_used says where the
 * attempt ended). Returns APR_SUCCESS when staging/<md> holds a complete set: md.json, a key
 * and a chain for each key spec. On failure the result says why (problem type and detail from the
 * CA where there is one, result->ready_at from Retry-After); APR_EAGAIN means "not yet, try again
 * later" (e.g. still processing at the poll timeout). Blocking; call from a job thread.
 */
apr_status_t md_acme_drive_renew(md_acme_driver_t *driver, apr_pool_t *p);

/**
 * Called at activation (in the parent, with rights to write accounts/): if staging/<md->name>
 * holds an account created by a job, install it into accounts/ (reusing an identical one already
 * installed by another MD) and set md->ca_account to its id. APR_ENOENT if there is none.
 */
apr_status_t md_acme_drive_install_account(md_store_t *store, md_t *md, apr_pool_t *p);

#endif /* md_acme_drive_h */
