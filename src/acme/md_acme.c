/* md_acme: ACME session handling (see md_acme.h).
 *
 *   1. GET the directory, check it names newNonce, newAccount and newOrder (RFC 8555 7.1.1)
 *   2. keep the Replay-Nonce of every response; HEAD newNonce when there is none (7.2)
 *   3. sign each POST with the account key: jwk for newAccount, kid after (6.2)
 *   4. on badNonce retry with the nonce of the error response, up to MD_ACME_BAD_NONCE_RETRIES
 *      times (6.5; a CA may reject any nonce: pebble rejects 5 % by default, tests use 50 %)
 *   5. turn problem documents (7807, 8555 6.7) into the result's problem and an APR status
 */
#include <ctype.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_date.h>

#include "md_log.h"
#include "md_keys.h"
#include "md_jws.h"
#include "md_acme.h"

#define CT_JOSE    "application/jose+json"
#define CT_PROBLEM "application/problem+json"

apr_status_t md_acme_create(md_acme_t **pacme, const char *url, const md_http_config_t *http_config,
                            apr_pool_t *p)
{
    md_acme_t *acme;
    apr_status_t rv;

    *pacme = NULL;
    acme = apr_pcalloc(p, sizeof(*acme));
    acme->p = p;
    acme->url = apr_pstrdup(p, url);
    rv = md_http_create(&acme->http, p, http_config);
    if (APR_SUCCESS == rv) {
        *pacme = acme;
    }
    return rv;
}

void md_acme_set_account(md_acme_t *acme, const char *acct_url, const md_pkey_t *key)
{
    acme->acct_url = acct_url ? apr_pstrdup(acme->p, acct_url) : NULL;
    acme->acct_key = key;
}

apr_time_t md_acme_retry_after(const apr_table_t *headers, apr_time_t now)
{
    const char *s = headers ? apr_table_get(headers, "Retry-After") : NULL;
    apr_int64_t secs;
    char *end = NULL;
    apr_time_t t;

    if (!s || !*s) {
        return 0;
    }
    if (isdigit((unsigned char)*s)) {
        secs = apr_strtoi64(s, &end, 10);
        if (secs < 0 || (end && *end && !isspace((unsigned char)*end))) {
            return 0;
        }
        if (secs > 366 * 24 * 3600) {
            secs = 366 * 24 * 3600;
        }
        return now + apr_time_from_sec(secs);
    }
    t = apr_date_parse_http(s);
    return (t > 0) ? t : 0;
}

int md_acme_is_stopped(const md_acme_t *acme)
{
    return acme->stop && *acme->stop;
}

apr_interval_time_t md_acme_poll_delay(apr_interval_time_t last, apr_time_t retry_after,
                                       apr_time_t now)
{
    apr_interval_time_t delay;

    if (retry_after > 0) {
        delay = retry_after - now;
        if (delay < apr_time_from_sec(1)) {
            delay = apr_time_from_sec(1);
        }
        if (delay > apr_time_from_sec(10)) {
            delay = apr_time_from_sec(10);
        }
        return delay;
    }
    if (last <= 0) {
        /* a CA often validates in milliseconds: look soon, then back off quickly */
        return apr_time_from_msec(MD_ACME_POLL_FIRST_MS);
    }
    delay = last * 2;
    return (delay > apr_time_from_sec(2)) ? apr_time_from_sec(2) : delay;
}

apr_status_t md_acme_problem_status(const char *type, int http_status)
{
    static const struct {
        const char *name;
        apr_status_t rv;
    } map[] = {
        { "badNonce", APR_EAGAIN },
        { "rateLimited", APR_EAGAIN },
        { "serverInternal", APR_EAGAIN },
        { "orderNotReady", APR_EAGAIN },
        { "accountDoesNotExist", APR_ENOENT },
        { "unauthorized", APR_EACCES },
        { "userActionRequired", APR_INCOMPLETE },
        { "agreementRequired", APR_INCOMPLETE },
        { "externalAccountRequired", APR_INCOMPLETE },
    };
    const char *name = type;
    apr_size_t i;

    if (name && !strncmp(name, MD_ACME_PROBLEM_PREFIX, sizeof(MD_ACME_PROBLEM_PREFIX) - 1)) {
        name += sizeof(MD_ACME_PROBLEM_PREFIX) - 1;
    }
    if (name) {
        for (i = 0; i < sizeof(map) / sizeof(map[0]); ++i) {
            if (!strcmp(map[i].name, name)) {
                return map[i].rv;
            }
        }
    }
    if (http_status >= 500 || http_status == 429) {
        return APR_EAGAIN;
    }
    if (http_status == 404) {
        return APR_ENOENT;
    }
    return APR_EINVAL;
}

static void take_nonce(md_acme_t *acme, const apr_table_t *headers)
{
    const char *nonce = apr_table_get(headers, "Replay-Nonce");
    if (nonce && *nonce) {
        acme->nonce = apr_pstrdup(acme->p, nonce);
    }
}

static int is_json_type(const char *ct)
{
    return ct && (strstr(ct, "/json") || strstr(ct, "+json"));
}

static md_acme_resp_t *make_resp(const md_http_response_t *hresp, apr_pool_t *p)
{
    md_acme_resp_t *resp = apr_pcalloc(p, sizeof(*resp));
    const char *ct;

    resp->status = hresp->status;
    resp->headers = hresp->headers;
    resp->location = apr_table_get(hresp->headers, "Location");
    resp->body = hresp->body;
    resp->body_len = hresp->body_len;
    ct = apr_table_get(hresp->headers, "Content-Type");
    if (hresp->body_len > 0 && is_json_type(ct)) {
        if (APR_SUCCESS != md_json_readbuf(&resp->json, p, hresp->body, hresp->body_len, NULL)) {
            resp->json = NULL;
        }
    }
    return resp;
}

/* 1. */
apr_status_t md_acme_setup(md_acme_t *acme, md_result_t *result)
{
    md_http_response_t *hresp = NULL;
    md_json_t *json = NULL;
    const char *err = NULL;
    apr_status_t rv;

    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, acme->p, APLOGNO(12205) "get directory from %s",
                  acme->url);
    rv = md_http_get(&hresp, acme->http, acme->url, NULL, acme->p);
    if (APR_SUCCESS != rv) {
        md_result_set(result, rv, md_http_last_error(acme->http));
        goto leave;
    }
    if (hresp->status >= 500) {
        rv = md_result_printf(result, APR_EAGAIN, "the ACME CA at %s answered HTTP status %d",
                              acme->url, hresp->status);
        goto leave;
    }
    if (hresp->status != 200) {
        rv = md_result_printf(result, APR_EINVAL, "%s is not an ACME directory (HTTP status %d)",
                              acme->url, hresp->status);
        goto leave;
    }
    rv = md_json_readbuf(&json, acme->p, hresp->body, hresp->body_len, &err);
    if (APR_SUCCESS != rv || !md_json_is_object(json)) {
        rv =
            md_result_printf(result, APR_EINVAL, "%s is not an ACME directory (no JSON object%s%s)",
                             acme->url, err ? ": " : "", err ? err : "");
        goto leave;
    }
    acme->new_nonce = md_json_gets(json, MD_KEY_NEW_NONCE);
    acme->new_account = md_json_gets(json, MD_KEY_NEW_ACCOUNT);
    acme->new_order = md_json_gets(json, MD_KEY_NEW_ORDER);
    acme->tos = md_json_gets(json, MD_KEY_META, MD_KEY_TOS);
    if (!acme->new_nonce || !acme->new_account || !acme->new_order) {
        rv = md_result_printf(result, APR_EINVAL,
                              "%s is not an ACME directory (it lacks newNonce, newAccount or "
                              "newOrder; ACMEv1 is not supported)",
                              acme->url);
        goto leave;
    }
    acme->directory = json;
    take_nonce(acme, hresp->headers);

leave:
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, acme->p, APLOGNO(12206) "%s",
                      result->detail ? result->detail : acme->url);
    }
    return rv;
}

/* 2. */
static apr_status_t new_nonce(md_acme_t *acme, md_result_t *result, apr_pool_t *p)
{
    md_http_response_t *hresp = NULL;
    apr_status_t rv;

    rv = md_http_head(&hresp, acme->http, acme->new_nonce, p);
    if (APR_SUCCESS != rv) {
        return md_result_printf(result, rv, "getting a nonce from %s: %s", acme->new_nonce,
                                md_http_last_error(acme->http));
    }
    take_nonce(acme, hresp->headers);
    if (!acme->nonce) {
        rv = md_result_printf(result, (hresp->status >= 500) ? APR_EAGAIN : APR_EINVAL,
                              "no Replay-Nonce from %s (HTTP status %d)", acme->new_nonce,
                              hresp->status);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, APLOGNO(12207) "%s", result->detail);
    }
    return rv;
}

/* 5. The detail of a problem plus those of its subproblems (RFC 8555 6.7.1). */
static const char *problem_detail(const md_json_t *json, apr_pool_t *p)
{
    const char *detail = md_json_gets(json, MD_KEY_DETAIL);
    apr_array_header_t *subs = apr_array_make(p, 5, sizeof(md_json_t *));
    const char *sd, *sv;
    int i;

    if (!detail) {
        detail = "";
    }
    if (APR_SUCCESS == md_json_geta(subs, json, MD_KEY_SUBPROBLEMS)) {
        for (i = 0; i < subs->nelts && i < 5; ++i) {
            const md_json_t *sub = APR_ARRAY_IDX(subs, i, const md_json_t *);
            sd = md_json_gets(sub, MD_KEY_DETAIL);
            sv = md_json_gets(sub, MD_KEY_IDENTIFIER, MD_KEY_VALUE);
            detail =
                apr_psprintf(p, "%s; %s%s%s", detail, sv ? sv : "", sv ? ": " : "", sd ? sd : "?");
        }
    }
    return detail;
}

static apr_status_t handle_error(const md_acme_resp_t *resp, const char *url, md_result_t *result,
                                 apr_pool_t *p)
{
    const char *type = NULL, *detail = NULL;
    apr_status_t rv;

    if (resp->json) {
        type = md_json_gets(resp->json, MD_KEY_TYPE);
        detail = problem_detail(resp->json, p);
    }
    rv = md_acme_problem_status(type, resp->status);
    if (!type) {
        type = apr_psprintf(p, "http-status-%d", resp->status);
        detail = apr_psprintf(p, "%s answered HTTP status %d", url, resp->status);
    }
    md_result_problem_set(result, rv, type, detail);
    result->ready_at = md_acme_retry_after(resp->headers, apr_time_now());
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                  APLOGNO(12208) "%s: ACME problem %s: %s (HTTP status %d)",
                  result->md_name ? result->md_name : url, type, detail, resp->status);
    return rv;
}

static int is_bad_nonce(const md_acme_resp_t *resp)
{
    const char *type = resp->json ? md_json_gets(resp->json, MD_KEY_TYPE) : NULL;
    return resp->status == 400 && type && !strcmp(type, MD_ACME_PROBLEM_PREFIX "badNonce");
}

/* 3. + 4. */
apr_status_t md_acme_post(md_acme_resp_t **presp, md_acme_t *acme, const char *url,
                          const md_json_t *payload, int use_jwk, const char *accept,
                          md_result_t *result, apr_pool_t *p)
{
    md_http_response_t *hresp = NULL;
    md_acme_resp_t *resp = NULL;
    md_json_t *msg = NULL;
    apr_table_t *headers = NULL;
    const char *data, *body, *nonce;
    int attempt;
    apr_status_t rv = APR_EINVAL;

    *presp = NULL;
    if (!acme->acct_key || (!use_jwk && !acme->acct_url)) {
        return md_result_set(result, APR_EINVAL, "ACME request without an account");
    }
    data = payload ? md_json_writep(payload, p, MD_JSON_FMT_COMPACT) : "";
    if (accept) {
        headers = apr_table_make(p, 1);
        apr_table_set(headers, "Accept", accept);
    }
    for (attempt = 0; attempt <= MD_ACME_BAD_NONCE_RETRIES; ++attempt) {
        if (!acme->nonce) {
            rv = new_nonce(acme, result, p);
            if (APR_SUCCESS != rv) {
                goto leave;
            }
        }
        nonce = acme->nonce;
        acme->nonce = NULL;
        rv = md_jws_sign(&msg, p, data, strlen(data), url, nonce, acme->acct_key,
                         use_jwk ? NULL : acme->acct_url);
        if (APR_SUCCESS != rv) {
            md_result_set(result, rv, "signing an ACME request");
            goto leave;
        }
        body = md_json_writep(msg, p, MD_JSON_FMT_COMPACT);
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "acme POST%s %s", payload ? "" : "-as-GET",
                      url);
        rv = md_http_post(&hresp, acme->http, url, CT_JOSE, body, strlen(body), headers, p);
        if (APR_SUCCESS != rv) {
            md_result_printf(result, rv, "talking to the ACME CA: %s",
                             md_http_last_error(acme->http));
            goto leave;
        }
        resp = make_resp(hresp, p);
        take_nonce(acme, hresp->headers);
        *presp = resp;
        if (resp->status >= 200 && resp->status < 300) {
            rv = APR_SUCCESS;
            goto leave;
        }
        if (!is_bad_nonce(resp) || attempt >= MD_ACME_BAD_NONCE_RETRIES) {
            break;
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12238) "%s: bad nonce for %s, retrying (%d of %d)",
                      result->md_name ? result->md_name : "-", url, attempt + 1,
                      MD_ACME_BAD_NONCE_RETRIES);
    }
    rv = handle_error(resp, url, result, p);

leave:
    return rv;
}

apr_status_t md_acme_get_json(md_json_t **pjson, md_acme_resp_t **presp, md_acme_t *acme,
                              const char *url, md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    apr_status_t rv;

    *pjson = NULL;
    rv = md_acme_post(&resp, acme, url, NULL, 0, NULL, result, p);
    if (presp) {
        *presp = resp;
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (!resp || !resp->json || !md_json_is_object(resp->json)) {
        return md_result_printf(result, APR_EINVAL, "%s: the ACME CA answered no JSON object", url);
    }
    *pjson = resp->json;
    return APR_SUCCESS;
}
