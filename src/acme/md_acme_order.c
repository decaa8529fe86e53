/* md_acme_order: the order object (see md_acme_order.h).
 *
 * The order's state machine is the CA's (RFC 8555 7.1.6):
 *   pending -(authz valid)-> ready -(finalize)-> processing -(issued)-> valid; any -> invalid.
 * md_acme_order_update_from() is the one transition function; it logs each change.
 * The order is saved as staging/<md>/order.json right after creation, so a job that restarts
 * continues it (md_acme_order_is_resumable) instead of creating another one.
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_log.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_acme_order.h"

static const char *state_names[] = {
    "unknown", "pending", "ready", "processing", "valid", "invalid",
};

const char *md_acme_order_state_name(md_acme_order_st_t state)
{
    if ((int)state < 0 || (size_t)state >= sizeof(state_names) / sizeof(state_names[0])) {
        return "unknown";
    }
    return state_names[state];
}

md_acme_order_st_t md_acme_order_state_parse(const char *s)
{
    size_t i;

    for (i = 1; s && i < sizeof(state_names) / sizeof(state_names[0]); ++i) {
        if (!strcmp(s, state_names[i])) {
            return (md_acme_order_st_t)i;
        }
    }
    return MD_ACME_ORDER_ST_UNKNOWN;
}

md_json_t *md_acme_order_to_json(const md_acme_order_t *order, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    md_json_sets(order->url, json, MD_KEY_URL);
    md_json_sets(md_acme_order_state_name(order->status), json, MD_KEY_STATUS);
    if (order->ca_url) {
        md_json_sets(order->ca_url, json, MD_KEY_CA_URL);
    }
    if (order->acct_url) {
        md_json_sets(order->acct_url, json, MD_KEY_ACCT_URL);
    }
    if (order->pkey_name) {
        md_json_sets(order->pkey_name, json, MD_KEY_PKEY);
    }
    if (order->profile) {
        md_json_sets(order->profile, json, MD_KEY_PROFILE);
    }
    md_json_setsa(order->domains, json, MD_KEY_DOMAINS);
    if (order->authz_urls) {
        md_json_setsa(order->authz_urls, json, MD_KEY_AUTHORIZATIONS);
    }
    if (order->finalize) {
        md_json_sets(order->finalize, json, MD_KEY_FINALIZE);
    }
    if (order->certificate) {
        md_json_sets(order->certificate, json, MD_KEY_CERTIFICATE);
    }
    if (order->error) {
        md_json_setj(order->error, json, MD_KEY_ERROR);
    }
    if (order->triggered && order->triggered->nelts) {
        md_json_setsa(order->triggered, json, MD_KEY_TRIGGERED);
    }
    return json;
}

apr_status_t md_acme_order_from_json(md_acme_order_t **porder, const md_json_t *json, apr_pool_t *p)
{
    md_acme_order_t *order = apr_pcalloc(p, sizeof(*order));

    *porder = NULL;
    order->url = md_json_gets(json, MD_KEY_URL);
    order->status = md_acme_order_state_parse(md_json_gets(json, MD_KEY_STATUS));
    order->ca_url = md_json_gets(json, MD_KEY_CA_URL);
    order->acct_url = md_json_gets(json, MD_KEY_ACCT_URL);
    order->pkey_name = md_json_gets(json, MD_KEY_PKEY);
    order->profile = md_json_gets(json, MD_KEY_PROFILE);
    order->domains = apr_array_make(p, 5, sizeof(const char *));
    md_json_getsa(order->domains, json, MD_KEY_DOMAINS);
    order->authz_urls = apr_array_make(p, 5, sizeof(const char *));
    md_json_getsa(order->authz_urls, json, MD_KEY_AUTHORIZATIONS);
    order->finalize = md_json_gets(json, MD_KEY_FINALIZE);
    order->certificate = md_json_gets(json, MD_KEY_CERTIFICATE);
    order->error = md_json_getj(json, MD_KEY_ERROR);
    order->triggered = apr_array_make(p, 5, sizeof(const char *));
    md_json_getsa(order->triggered, json, MD_KEY_TRIGGERED);
    if (!order->url || !order->domains->nelts) {
        return APR_EINVAL;
    }
    *porder = order;
    return APR_SUCCESS;
}

apr_status_t md_acme_order_load(md_acme_order_t **porder, md_store_t *store, const char *name,
                                apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    *porder = NULL;
    rv = md_store_load_json(store, MD_SG_STAGING, name, MD_FN_ORDER, &json, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = md_acme_order_from_json(porder, json, p);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                      APLOGNO(12221) "%s: staged %s is unusable, ignored", name, MD_FN_ORDER);
    }
    return rv;
}

apr_status_t md_acme_order_save(md_store_t *store, const char *name, const md_acme_order_t *order,
                                apr_pool_t *p)
{
    /* regenerable: after a crash that loses it, the next attempt simply makes a new order */
    return md_store_save_regenerable(store, MD_SG_STAGING, name, MD_FN_ORDER, MD_SV_JSON,
                                     md_acme_order_to_json(order, p), p);
}

void md_acme_order_remove(md_store_t *store, const char *name, apr_pool_t *p)
{
    md_store_remove(store, MD_SG_STAGING, name, MD_FN_ORDER, p);
}

int md_acme_order_is_triggered(const md_acme_order_t *order, const char *url)
{
    return order->triggered && md_array_str_index(order->triggered, url, 0, 1) >= 0;
}

void md_acme_order_add_triggered(md_acme_order_t *order, const char *url)
{
    if (!md_acme_order_is_triggered(order, url)) {
        APR_ARRAY_PUSH(order->triggered, const char *) = apr_pstrdup(order->triggered->pool, url);
    }
}

int md_acme_order_is_resumable(const md_acme_order_t *order, const char *ca_url,
                               const char *acct_url, const char *pkey_name, const char *profile,
                               const apr_array_header_t *domains)
{
    if ((order->profile || profile)
        && (!order->profile || !profile || strcmp(order->profile, profile) != 0)) {
        return 0;
    }
    if (!order->ca_url || !ca_url || strcmp(order->ca_url, ca_url) != 0) {
        return 0;
    }
    if (!order->acct_url || !acct_url || strcmp(order->acct_url, acct_url) != 0) {
        return 0;
    }
    if (!order->pkey_name || !pkey_name || strcmp(order->pkey_name, pkey_name) != 0) {
        return 0;
    }
    if (!md_array_str_eq_set(order->domains, domains)) {
        return 0;
    }
    switch (order->status) {
        case MD_ACME_ORDER_ST_PENDING:
        case MD_ACME_ORDER_ST_READY:
        case MD_ACME_ORDER_ST_PROCESSING:
        case MD_ACME_ORDER_ST_VALID:
            return 1;
        default:
            return 0;
    }
}

void md_acme_order_update_from(md_acme_order_t *order, const md_json_t *json, const char *event,
                               apr_pool_t *p)
{
    md_acme_order_st_t nstate;
    apr_array_header_t *authz;
    const char *s;

    nstate = md_acme_order_state_parse(md_json_gets(json, MD_KEY_STATUS));
    if (nstate != order->status) {
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "order %s: [%s] -(%s)-> [%s]", order->url,
                      md_acme_order_state_name(order->status), event,
                      md_acme_order_state_name(nstate));
        order->status = nstate;
    }
    authz = apr_array_make(p, 5, sizeof(const char *));
    /* RFC 8555 7.1.3: one authorization per identifier of the order. A longer list is not
     * taken (each entry would cost a request): the explicit limit on this network input. */
    if (APR_SUCCESS == md_json_getsa(authz, json, MD_KEY_AUTHORIZATIONS) && authz->nelts
        && (!order->domains || authz->nelts <= order->domains->nelts)) {
        order->authz_urls = authz;
    }
    s = md_json_gets(json, MD_KEY_FINALIZE);
    if (s) {
        order->finalize = apr_pstrdup(p, s);
    }
    s = md_json_gets(json, MD_KEY_CERTIFICATE);
    if (s) {
        order->certificate = apr_pstrdup(p, s);
    }
    order->error = md_json_getj(json, MD_KEY_ERROR);
}

/* 3. The newOrder payload (RFC 8555 7.4; "profile": the profiles extension; "replaces":
 * RFC 9773 5) */
static md_json_t *new_order_payload(const apr_array_header_t *domains, const char *profile,
                                    const char *replaces, apr_pool_t *p)
{
    md_json_t *payload = md_json_create(p);
    md_json_t *ids = md_json_create_array(p);
    md_json_t *id;
    const char *domain;
    int i;

    for (i = 0; i < domains->nelts; ++i) {
        domain = APR_ARRAY_IDX(domains, i, const char *);
        id = md_json_create(p);
        md_json_sets(md_util_is_ip(domain) ? "ip" : "dns", id, MD_KEY_TYPE);
        md_json_sets(domain, id, MD_KEY_VALUE);
        md_json_array_append(ids, id);
    }
    md_json_setj(ids, payload, MD_KEY_IDENTIFIERS);
    if (profile) {
        md_json_sets(profile, payload, MD_KEY_PROFILE);
    }
    if (replaces) {
        md_json_sets(replaces, payload, MD_KEY_REPLACES);
    }
    return payload;
}

/* Non-zero if a failed newOrder with 'replaces' is worth sending again without it: the CA
 * refused the request itself (RFC 9773 5: alreadyReplaced, or a certificate it does not know),
 * not because it is busy or limits us. */
static int is_replaces_refused(apr_status_t rv, const md_acme_resp_t *resp)
{
    return resp && !APR_STATUS_IS_EAGAIN(rv) && resp->status >= 400 && resp->status < 500
           && resp->status != 429;
}

apr_status_t md_acme_order_register(md_acme_order_t **porder, md_acme_t *acme,
                                    const apr_array_header_t *domains, const char *pkey_name,
                                    const char *profile, const char *replaces, md_result_t *result,
                                    apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    md_acme_order_t *order;
    apr_status_t rv;

    *porder = NULL;
    md_result_activity_printf(result, "creating a new order for %s",
                              md_array_str_join(domains, ", ", p));
    rv = md_acme_post(&resp, acme, acme->new_order,
                      new_order_payload(domains, profile, replaces, p), 0, NULL, result, p);
    if (APR_SUCCESS != rv && replaces && is_replaces_refused(rv, resp)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                      APLOGNO(12903) "%s: the CA refused the order replacing %s (%s), ordering "
                                     "without 'replaces'",
                      result->md_name ? result->md_name : "", replaces,
                      md_result_to_text(result, p));
        md_result_reset(result);
        replaces = NULL;
        rv = md_acme_post(&resp, acme, acme->new_order,
                          new_order_payload(domains, profile, NULL, p), 0, NULL, result, p);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (!resp->location || !resp->json) {
        return md_result_set(result, APR_EINVAL,
                             "the CA answered newOrder without Location or order object");
    }
    order = apr_pcalloc(p, sizeof(*order));
    order->url = apr_pstrdup(p, resp->location);
    order->ca_url = acme->url;
    order->acct_url = acme->acct_url;
    order->pkey_name = apr_pstrdup(p, pkey_name);
    order->profile = profile ? apr_pstrdup(p, profile) : NULL;
    order->domains = md_array_str_clone(p, domains);
    order->authz_urls = apr_array_make(p, 5, sizeof(const char *));
    order->triggered = apr_array_make(p, 5, sizeof(const char *));
    md_acme_order_update_from(order, resp->json, "created", p);
    if (!order->finalize || !order->authz_urls->nelts) {
        return md_result_set(result, APR_EINVAL,
                             "the CA's new order lacks finalize or authorizations (or has more "
                             "authorizations than names ordered)");
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, APLOGNO(12222) "%s: new order %s (%s)%s%s%s%s",
                  result->md_name ? result->md_name : "", order->url,
                  md_acme_order_state_name(order->status), profile ? ", profile " : "",
                  profile ? profile : "", replaces ? ", replacing " : "", replaces ? replaces : "");
    *porder = order;
    return APR_SUCCESS;
}

apr_status_t md_acme_order_update(md_acme_order_t *order, md_acme_t *acme, md_result_t *result,
                                  apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    md_json_t *json = NULL;
    apr_status_t rv;

    rv = md_acme_get_json(&json, &resp, acme, order->url, result, p);
    order->retry_after = resp ? md_acme_retry_after(resp->headers, apr_time_now()) : 0;
    if (APR_SUCCESS == rv) {
        md_acme_order_update_from(order, json, "polled", p);
    }
    return rv;
}

apr_status_t md_acme_order_problem(const md_acme_order_t *order, apr_status_t rv,
                                   md_result_t *result)
{
    const char *type = order->error ? md_json_gets(order->error, MD_KEY_TYPE) : NULL;
    const char *detail = order->error ? md_json_gets(order->error, MD_KEY_DETAIL) : NULL;

    if (!type && !detail) {
        return md_result_printf(result, rv, "the order %s became %s", order->url,
                                md_acme_order_state_name(order->status));
    }
    return md_result_problem_set(result, rv, type, detail);
}

static int state_reached(md_acme_order_st_t have, md_acme_order_st_t want)
{
    if (want == MD_ACME_ORDER_ST_READY) {
        return have == MD_ACME_ORDER_ST_READY || have == MD_ACME_ORDER_ST_PROCESSING
               || have == MD_ACME_ORDER_ST_VALID;
    }
    return have == want;
}

apr_status_t md_acme_order_await(md_acme_order_t *order, md_acme_t *acme, md_acme_order_st_t state,
                                 apr_time_t deadline, md_result_t *result, apr_pool_t *p)
{
    apr_interval_time_t delay = 0;
    apr_pool_t *ptemp = NULL;
    apr_time_t now;
    apr_status_t rv = APR_SUCCESS;

    md_result_activity_printf(result, "waiting for order %s to become %s", order->url,
                              md_acme_order_state_name(state));
    apr_pool_create(&ptemp, p);
    while (!state_reached(order->status, state)) {
        if (order->status == MD_ACME_ORDER_ST_INVALID) {
            rv = md_acme_order_problem(order, APR_EINVAL, result);
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                          APLOGNO(12223) "%s: order %s is invalid: %s",
                          result->md_name ? result->md_name : "", order->url,
                          md_result_to_text(result, p));
            goto leave;
        }
        now = apr_time_now();
        delay = md_acme_poll_delay(delay, order->retry_after, now);
        if (md_acme_is_stopped(acme)) {
            rv = md_result_set(result, APR_EAGAIN,
                               "stopped while polling: the server is shutting down");
            goto leave;
        }
        if (now + delay > deadline || delay > MD_ACME_WAIT_INLINE) {
            rv = md_result_printf(result, APR_EAGAIN, "order %s still %s (%s)", order->url,
                                  md_acme_order_state_name(order->status),
                                  (delay > MD_ACME_WAIT_INLINE) ? "the CA asks to look again later"
                                                                : "polling timed out");
            result->ready_at = order->retry_after ? order->retry_after : now + delay;
            goto leave;
        }
        apr_sleep(delay);
        apr_pool_clear(ptemp);
        rv = md_acme_order_update(order, acme, result, ptemp);
        if (APR_SUCCESS != rv) {
            goto leave;
        }
        /* strings of the update live in ptemp: keep what survives the next clear */
        order->authz_urls = md_array_str_clone(p, order->authz_urls);
        order->finalize = order->finalize ? apr_pstrdup(p, order->finalize) : NULL;
        order->certificate = order->certificate ? apr_pstrdup(p, order->certificate) : NULL;
        order->error = order->error ? md_json_clone(order->error, p) : NULL;
    }
leave:
    apr_pool_destroy(ptemp);
    return rv;
}
