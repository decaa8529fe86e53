/* md_acme_order: ACME orders (RFC 8555 7.1.3, 7.4): creating, polling, and keeping the current
 * one in staging/<md>/order.json so that a restarted job picks it up. Internal to src/acme.
 */
#ifndef md_acme_order_h
#define md_acme_order_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_json.h"
#include "md_result.h"
#include "md_store.h"
#include "md_acme.h"

typedef enum {
    MD_ACME_ORDER_ST_UNKNOWN,
    MD_ACME_ORDER_ST_PENDING,
    MD_ACME_ORDER_ST_READY,
    MD_ACME_ORDER_ST_PROCESSING,
    MD_ACME_ORDER_ST_VALID,
    MD_ACME_ORDER_ST_INVALID,
} md_acme_order_st_t;

typedef struct md_acme_order_t md_acme_order_t;
struct md_acme_order_t {
    const char *url; /* the order URL (Location of newOrder) */
    md_acme_order_st_t status;
    const char *ca_url;             /* directory of the CA that has it */
    const char *acct_url;           /* the account it belongs to */
    const char *pkey_name;          /* md_pkey_spec_name() of the key spec it is for */
    const char *profile;            /* the certificate profile it was ordered with, or NULL */
    apr_array_header_t *domains;    /* const char*, what was ordered */
    apr_array_header_t *authz_urls; /* const char* */
    const char *finalize;
    const char *certificate;       /* once valid */
    md_json_t *error;              /* the order's problem, when invalid */
    apr_array_header_t *triggered; /* const char*, challenge URLs we told the CA to validate */
    apr_time_t retry_after;        /* from the last answer, 0 if none */
};

/** "pending", "ready", ... */
const char *md_acme_order_state_name(md_acme_order_st_t state);
/** Parse the CA's status word; MD_ACME_ORDER_ST_UNKNOWN for anything else. */
md_acme_order_st_t md_acme_order_state_parse(const char *s);

/** order.json form, and back (APR_EINVAL when url or domains are missing). In 'p'. */
md_json_t *md_acme_order_to_json(const md_acme_order_t *order, apr_pool_t *p);
apr_status_t md_acme_order_from_json(md_acme_order_t **porder, const md_json_t *json,
                                     apr_pool_t *p);

/** staging/<name>/order.json. Load: APR_ENOENT if none. */
apr_status_t md_acme_order_load(md_acme_order_t **porder, md_store_t *store, const char *name,
                                apr_pool_t *p);
apr_status_t md_acme_order_save(md_store_t *store, const char *name, const md_acme_order_t *order,
                                apr_pool_t *p);
void md_acme_order_remove(md_store_t *store, const char *name, apr_pool_t *p);

/** Non-zero if the CA was told to validate the challenge at 'url' (by this or an earlier run). */
int md_acme_order_is_triggered(const md_acme_order_t *order, const char *url);
/** Remember that the challenge at 'url' was triggered. */
void md_acme_order_add_triggered(md_acme_order_t *order, const char *url);

/**
 * Non-zero if a loaded order can be continued: same CA, account, key spec, profile (NULL: none)
 * and domains, in a state that can still lead to a certificate. Pure, for tests.
 */
int md_acme_order_is_resumable(const md_acme_order_t *order, const char *ca_url,
                               const char *acct_url, const char *pkey_name, const char *profile,
                               const apr_array_header_t *domains);

/**
 * 3. newOrder for 'domains' (dns, or ip identifiers for IP literals), with the certificate
 * 'profile' (may be NULL) and, as 'replaces', the ARI identifier of the certificate it renews
 * (RFC 9773 5; may be NULL). A CA that refuses the 'replaces' (the certificate is unknown to it
 * or was replaced already) gets the order once more without it. Result in 'p'.
 */
apr_status_t md_acme_order_register(md_acme_order_t **porder, md_acme_t *acme,
                                    const apr_array_header_t *domains, const char *pkey_name,
                                    const char *profile, const char *replaces, md_result_t *result,
                                    apr_pool_t *p);

/** Fetch the order's current state from the CA (POST-as-GET). Logs state changes. */
apr_status_t md_acme_order_update(md_acme_order_t *order, md_acme_t *acme, md_result_t *result,
                                  apr_pool_t *p);

/** Take the state of an order object as the CA sent it (newOrder, finalize, poll answers). Its
 * authorizations are taken only when there are no more than the order has domains. */
void md_acme_order_update_from(md_acme_order_t *order, const md_json_t *json, const char *event,
                               apr_pool_t *p);

/**
 * Poll the order until it is in 'state' (or, when waiting for READY, already beyond it).
 * INVALID: the order's problem into 'result', APR_EINVAL. 'deadline' passed: APR_EAGAIN.
 */
apr_status_t md_acme_order_await(md_acme_order_t *order, md_acme_t *acme, md_acme_order_st_t state,
                                 apr_time_t deadline, md_result_t *result, apr_pool_t *p);

/** Record an invalid order's problem in 'result'; returns 'rv'. */
apr_status_t md_acme_order_problem(const md_acme_order_t *order, apr_status_t rv,
                                   md_result_t *result);

#endif /* md_acme_order_h */
