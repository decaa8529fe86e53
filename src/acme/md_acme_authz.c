/* md_acme_authz: answering one authorization (see md_acme_authz.h).
 *
 *   1. POST-as-GET the authz; valid: nothing to do (CAs reuse authorizations)
 *   2. pending: choose a challenge (first configured type the CA offers and we can answer)
 *   3. set up the answer: http-01 key authorization token.thumbprint (RFC 8555 8.1, 8.3) into
 *      challenges/<domain>/acme-http-01.txt, where the server answers
 *      /.well-known/acme-challenge/<token> from
 *   4. POST {} to the challenge URL to have the CA validate (RFC 8555 7.5.1)
 *   5. poll the authz until valid or invalid (or the deadline), short delays first
 *   6. remove the answer again
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_log.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_acme_authz.h"

typedef struct {
    const char *url;
    const char *domain;
    const char *status;
    md_json_t *json;
} md_authz_t;

static int can_answer(const char *type)
{
    return type && !strcmp(type, MD_ACME_CHALLENGE_HTTP01);
}

int md_acme_authz_choose(const apr_array_header_t *offered, const apr_array_header_t *wanted)
{
    const char *type;
    int i, idx;

    for (i = 0; wanted && i < wanted->nelts; ++i) {
        type = APR_ARRAY_IDX(wanted, i, const char *);
        if (!can_answer(type)) {
            continue;
        }
        idx = md_array_str_index(offered, type, 0, 1);
        if (idx >= 0) {
            return idx;
        }
    }
    return -1;
}

static int is_token(const char *s)
{
    const char *c;

    if (!s || !*s || strlen(s) > 256) {
        return 0;
    }
    for (c = s; *c; ++c) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
              || *c == '-' || *c == '_')) {
            return 0;
        }
    }
    return 1;
}

static const apr_array_header_t *wanted_types(const md_acme_driver_t *driver, apr_pool_t *p)
{
    apr_array_header_t *types;

    if (driver->challenges && driver->challenges->nelts) {
        return driver->challenges;
    }
    if (driver->md->ca_challenges && driver->md->ca_challenges->nelts) {
        return driver->md->ca_challenges;
    }
    types = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(types, const char *) = MD_ACME_CHALLENGE_HTTP01;
    return types;
}

static apr_status_t authz_fetch(md_authz_t *authz, md_acme_t *acme, md_result_t *result,
                                apr_time_t *pretry_after, apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    apr_status_t rv;

    rv = md_acme_get_json(&authz->json, &resp, acme, authz->url, result, p);
    if (pretry_after) {
        *pretry_after = resp ? md_acme_retry_after(resp->headers, apr_time_now()) : 0;
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    authz->status = md_json_gets(authz->json, MD_KEY_STATUS);
    authz->domain = md_json_gets(authz->json, MD_KEY_IDENTIFIER, MD_KEY_VALUE);
    if (!authz->status || !authz->domain) {
        return md_result_printf(result, APR_EINVAL, "authz %s lacks status or identifier",
                                authz->url);
    }
    return APR_SUCCESS;
}

/* An authz that is not valid: the problem of its (first failed) challenge into the result. */
static apr_status_t authz_failed(const md_authz_t *authz, md_result_t *result, apr_pool_t *p)
{
    apr_array_header_t *chs = apr_array_make(p, 5, sizeof(md_json_t *));
    const md_json_t *ch, *err = NULL;
    apr_status_t rv = APR_EINVAL;
    int i;

    md_json_geta(chs, authz->json, MD_KEY_CHALLENGES);
    for (i = 0; i < chs->nelts && !err; ++i) {
        ch = APR_ARRAY_IDX(chs, i, const md_json_t *);
        err = md_json_getj(ch, MD_KEY_ERROR);
    }
    if (err) {
        md_result_problem_set(result, rv, md_json_gets(err, MD_KEY_TYPE),
                              apr_psprintf(p, "%s: %s", authz->domain,
                                           md_json_gets(err, MD_KEY_DETAIL)));
    }
    else {
        md_result_printf(result, rv, "authorization for %s is %s", authz->domain, authz->status);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, APLOGNO(12224) "%s: authz %s failed: %s",
                  result->md_name ? result->md_name : "", authz->url, md_result_to_text(result, p));
    return rv;
}

/* 3. */
static apr_status_t setup_http01(const md_authz_t *authz, const md_json_t *ch, md_acme_t *acme,
                                 md_acme_driver_t *driver, apr_pool_t *p)
{
    const char *token = md_json_gets(ch, MD_KEY_TOKEN);
    const char *thumb = NULL, *key_authz;
    apr_status_t rv;

    if (!is_token(token)) {
        return md_result_printf(driver->result, APR_EINVAL,
                                "the CA sent an invalid http-01 token for %s", authz->domain);
    }
    rv = md_pkey_jwk_thumbprint(&thumb, acme->acct_key, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(driver->result, rv, "computing the account key thumbprint");
    }
    key_authz = apr_pstrcat(p, token, ".", thumb, NULL);
    rv = md_store_save(driver->store, MD_SG_CHALLENGES, authz->domain, MD_FN_HTTP01, MD_SV_TEXT,
                       key_authz, p);
    if (APR_SUCCESS != rv) {
        return md_result_printf(driver->result, rv, "saving the http-01 answer for %s",
                                authz->domain);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(12225) "%s: http-01 answer for %s set up (token %s)", driver->md->name,
                  authz->domain, token);
    if (driver->event_cb) {
        driver->event_cb(driver->event_baton, "challenge-setup",
                         apr_psprintf(p, "%s: http-01", authz->domain));
    }
    return APR_SUCCESS;
}

/* 2. */
static apr_status_t choose(const md_json_t **pch, const md_authz_t *authz, md_acme_driver_t *driver,
                           apr_pool_t *p)
{
    apr_array_header_t *chs = apr_array_make(p, 5, sizeof(md_json_t *));
    apr_array_header_t *offered = apr_array_make(p, 5, sizeof(const char *));
    const apr_array_header_t *wanted = wanted_types(driver, p);
    const char *type;
    int i, idx;

    md_json_geta(chs, authz->json, MD_KEY_CHALLENGES);
    for (i = 0; i < chs->nelts; ++i) {
        type = md_json_gets(APR_ARRAY_IDX(chs, i, const md_json_t *), MD_KEY_TYPE);
        APR_ARRAY_PUSH(offered, const char *) = type ? type : "";
    }
    idx = md_acme_authz_choose(offered, wanted);
    if (idx < 0) {
        md_result_printf(driver->result, APR_EINVAL,
                         "%s: none of the challenge types the CA offers (%s) is configured and "
                         "supported (configured: %s; supported: http-01)",
                         authz->domain, md_array_str_join(offered, ", ", p),
                         md_array_str_join(wanted, ", ", p));
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p, APLOGNO(12226) "%s: %s",
                      driver->md->name, driver->result->detail);
        return APR_EINVAL;
    }
    *pch = APR_ARRAY_IDX(chs, idx, const md_json_t *);
    return APR_SUCCESS;
}

/* 5. */
static apr_status_t poll_authz(md_authz_t *authz, md_acme_t *acme, md_acme_driver_t *driver,
                               apr_time_t deadline, apr_pool_t *p)
{
    apr_interval_time_t delay = 0;
    apr_time_t retry_after = 0, now;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_create(&ptemp, p);
    while (!strcmp(authz->status, "pending")) {
        now = apr_time_now();
        delay = md_acme_poll_delay(delay, retry_after, now);
        if (now + delay > deadline) {
            rv = md_result_printf(driver->result, APR_EAGAIN,
                                  "authorization for %s still pending when polling timed out",
                                  authz->domain);
            driver->result->ready_at = now + delay;
            goto leave;
        }
        apr_sleep(delay);
        apr_pool_clear(ptemp);
        rv = authz_fetch(authz, acme, driver->result, &retry_after, ptemp);
        if (APR_SUCCESS != rv) {
            goto leave;
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "authz %s for %s: %s", authz->url,
                      authz->domain, authz->status);
    }
    if (strcmp(authz->status, "valid") != 0) {
        rv = authz_failed(authz, driver->result, p);
    }
leave:
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_acme_authz_respond(md_acme_t *acme, md_acme_order_t *order, const char *url,
                                   md_acme_driver_t *driver, apr_time_t deadline, apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    const md_json_t *ch = NULL;
    md_authz_t authz;
    const char *ch_url, *ch_status, *domain = NULL;
    apr_status_t rv;

    memset(&authz, 0, sizeof(authz));
    authz.url = url;
    /* 1. */
    rv = authz_fetch(&authz, acme, driver->result, NULL, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    md_result_activity_printf(driver->result, "answering the authorization for %s", authz.domain);
    if (!strcmp(authz.status, "valid")) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, APLOGNO(12227) "%s: authz for %s is valid",
                      driver->md->name, authz.domain);
        goto leave;
    }
    if (strcmp(authz.status, "pending") != 0) {
        rv = authz_failed(&authz, driver->result, p);
        goto leave;
    }
    /* 2. + 3. */
    rv = choose(&ch, &authz, driver, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    ch_url = md_json_gets(ch, MD_KEY_URL);
    ch_status = md_json_gets(ch, MD_KEY_STATUS);
    if (!ch_url) {
        rv = md_result_printf(driver->result, APR_EINVAL, "challenge for %s without url",
                              authz.domain);
        goto leave;
    }
    rv = setup_http01(&authz, ch, acme, driver, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    domain = apr_pstrdup(p, authz.domain);
    /* 4. only once per order, also across restarts of the job */
    if ((!ch_status || !strcmp(ch_status, "pending"))
        && !md_acme_order_is_triggered(order, ch_url)) {
        rv = md_acme_post(&resp, acme, ch_url, md_json_create(p), 0, NULL, driver->result, p);
        if (APR_SUCCESS != rv) {
            goto leave;
        }
        md_acme_order_add_triggered(order, ch_url);
        md_acme_order_save(driver->store, driver->md->name, order, p);
    }
    /* 5. */
    rv = poll_authz(&authz, acme, driver, deadline, p);
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12228) "%s: authz for %s is valid now", driver->md->name, domain);
    }
leave:
    /* 6. not on a timeout: the CA may still come for the answer, a later run polls again */
    if (domain && !APR_STATUS_IS_EAGAIN(rv)) {
        md_store_purge(driver->store, MD_SG_CHALLENGES, domain, p);
    }
    return rv;
}
