/* md_acme: an ACME session with one CA (RFC 8555): its directory, nonces, signed requests and
 * problem documents. Internal to src/acme; md_acme_drive.h is the layer's public contract.
 *
 * A session lives in the pool it was created in and is used by one job thread only.
 */
#ifndef md_acme_h
#define md_acme_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_json.h"
#include "md_crypt.h"
#include "md_result.h"
#include "md_http.h"

/* JSON names the ACME layer needs beyond md_keys.h (TODO: move to md_keys.h). */
#ifndef MD_KEY_CA_URL
#define MD_KEY_CA_URL "ca-url"
#endif
#ifndef MD_KEY_REVOKE_CERT
#define MD_KEY_REVOKE_CERT "revokeCert"
#endif
#ifndef MD_KEY_KEY_CHANGE
#define MD_KEY_KEY_CHANGE "keyChange"
#endif
#ifndef MD_KEY_TRIGGERED
#define MD_KEY_TRIGGERED "challenges-triggered"
#endif
#ifndef MD_KEY_ACCT_URL
#define MD_KEY_ACCT_URL "account-url"
#endif
#define MD_KEY_EAB_REQUIRED "externalAccountRequired"
#define MD_KEY_EAB_BINDING  "externalAccountBinding"
#define MD_KEY_HMAC_SHA256  "hmac-sha256"
#define MD_KEY_RENEWAL_INFO "renewalInfo"
#define MD_KEY_PROFILES     "profiles"
#define MD_KEY_REPLACES     "replaces"

#define MD_ACME_PROBLEM_PREFIX    "urn:ietf:params:acme:error:"
#define MD_ACME_BAD_NONCE_RETRIES 12
/* A CA's Retry-After up to this long is waited for within a job (a request asked again, a poll
 * made later); a longer one ends the job and the scheduler starts the next attempt then. */
#define MD_ACME_WAIT_INLINE       apr_time_from_sec(10)
#define MD_ACME_WAIT_INLINE_TRIES 3
/* First poll of an authorization or order after this many milliseconds, doubling up to 2 s */
#define MD_ACME_POLL_FIRST_MS 25

/*
 * What the sessions of one process share per CA (thread-safe): the directory, for a few minutes,
 * so that jobs starting together fetch it once; and nonces a session ended without using, so
 * that the next session needs no newNonce request. A stale nonce costs one badNonce retry.
 */
typedef struct md_acme_share_t md_acme_share_t;

typedef struct md_acme_t md_acme_t;
struct md_acme_t {
    apr_pool_t *p;
    const char *url; /* the directory URL */
    md_http_t *http;
    md_json_t *directory;
    const char *new_nonce;
    const char *new_account;
    const char *new_order;
    const char *tos;           /* meta.termsOfService, may be NULL */
    int eab_required;          /* meta.externalAccountRequired (RFC 8555 7.1.1) */
    const char *renewal_info;  /* renewalInfo (RFC 9773 4): the CA answers ARI, else NULL */
    md_json_t *profiles;       /* meta.profiles: {name: description}, NULL when none offered */
    const char *nonce;         /* the next nonce to use, may be NULL */
    const md_pkey_t *acct_key; /* the account key, once known */
    const char *acct_url;      /* the account URL ("kid"), once known */
    md_acme_share_t *share;    /* may be NULL */
    int is_unreachable;        /* a request got no answer (transport error), or the directory
                                * an HTTP 5xx: the CA cannot be used now (CA failover) */
    volatile int *stop;        /* non-zero when the job must stop (md_acme_driver_t.stop) */
};

/** Non-zero when the session's job is asked to stop (server shutdown). */
int md_acme_is_stopped(const md_acme_t *acme);

/* A CA's answer to a request. */
typedef struct md_acme_resp_t md_acme_resp_t;
struct md_acme_resp_t {
    int status;
    apr_table_t *headers;
    const char *location; /* Location header, may be NULL */
    md_json_t *json;      /* the body when it is JSON, else NULL */
    const char *body;
    apr_size_t body_len;
};


/**
 * A new, empty share with a pool and mutex of its own (jobs on any thread use it), destroyed with
 * 'p' (a process-lifetime pool in the module).
 */
apr_status_t md_acme_share_create(md_acme_share_t **pshare, apr_pool_t *p);

/** Let 'acme' use and feed 'share' (may be NULL: nothing shared). Call before md_acme_setup. */
void md_acme_set_share(md_acme_t *acme, md_acme_share_t *share);

/** A session for the CA at directory 'url', living in 'p'. Does no I/O yet. */
apr_status_t md_acme_create(md_acme_t **pacme, const char *url, const md_http_config_t *http_config,
                            apr_pool_t *p);

/**
 * 1. Fetch (or take from the share) and check the directory. APR_EINVAL (with a detail in 'result')
 * when the URL does not serve an ACME directory; the transport error (APR_EAGAIN for 5xx) when the
 * CA is unreachable.
 */
apr_status_t md_acme_setup(md_acme_t *acme, md_result_t *result);

/** Sign further requests with 'key' and 'acct_url' as kid (NULL url: jwk, for newAccount). */
void md_acme_set_account(md_acme_t *acme, const char *acct_url, const md_pkey_t *key);

/**
 * POST 'payload' (NULL for POST-as-GET) signed with the account key to 'url'. Bad nonces are
 * retried. With 'use_jwk' the JWS carries the public key instead of the kid (newAccount).
 * 'accept' (may be NULL) is sent as Accept header. An error answer with a short Retry-After
 * (MD_ACME_WAIT_INLINE) for a problem that passes (rate limit, server busy) is waited for and the
 * request sent again, MD_ACME_WAIT_INLINE_TRIES times at most. Returns APR_SUCCESS for 2xx
 * answers with *presp set; on a problem document records type and detail in 'result' (and
 * Retry-After in result->ready_at) and returns: APR_ENOENT (accountDoesNotExist, 404), APR_EACCES
 * (unauthorized), APR_EAGAIN (rateLimited, badNonce after retries, serverInternal, 5xx),
 * APR_INCOMPLETE (agreement or user action required), APR_EINVAL (other client errors).
 * *presp is also set for error answers that arrived. Everything lives in 'p'.
 */
apr_status_t md_acme_post(md_acme_resp_t **presp, md_acme_t *acme, const char *url,
                          const md_json_t *payload, int use_jwk, const char *accept,
                          md_result_t *result, apr_pool_t *p);

/** POST-as-GET (RFC 8555 6.3) for JSON objects. APR_EINVAL if the answer is no JSON object. */
apr_status_t md_acme_get_json(md_json_t **pjson, md_acme_resp_t **presp, md_acme_t *acme,
                              const char *url, md_result_t *result, apr_pool_t *p);

/** Retry-After (seconds or HTTP-date) of a response as an absolute time, 0 if none; at most
 * 366 days after 'now'. */
apr_time_t md_acme_retry_after(const apr_table_t *headers, apr_time_t now);

/** Non-zero if the CA's directory offers the certificate profile 'name' (meta.profiles). */
int md_acme_has_profile(const md_acme_t *acme, const char *name);

/** The status for an ACME problem type (full URN or the short name). */
apr_status_t md_acme_problem_status(const char *type, int http_status);

/**
 * The next delay when polling: Retry-After (at least 1s; the caller ends the job when it is longer
 * than MD_ACME_WAIT_INLINE) when the CA sent one, else 'last' doubled (MD_ACME_POLL_FIRST_MS at
 * first, 2s at most). Pure, for tests.
 */
apr_interval_time_t md_acme_poll_delay(apr_interval_time_t last, apr_time_t retry_after,
                                       apr_time_t now);

#endif /* md_acme_h */
