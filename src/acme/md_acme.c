/* md_acme: ACME session handling (see md_acme.h).
 *
 *   1. GET the directory, check it names newNonce, newAccount and newOrder (RFC 8555 7.1.1)
 *   2. keep the Replay-Nonce of every response; HEAD newNonce when there is none (7.2)
 *   3. sign each POST with the account key: jwk for newAccount, kid after (6.2)
 *   4. on badNonce retry with the nonce of the error response, up to MD_ACME_BAD_NONCE_RETRIES
 *      times (6.5; a CA may reject any nonce: pebble rejects 5 % by default, tests use 50 %)
 *   5. turn problem documents (7807, 8555 6.7) into the result's problem and an APR status
 *   6. an answer whose Retry-After is short (MD_ACME_WAIT_INLINE) and whose problem passes
 *      (rateLimited, serverInternal, HTTP 5xx/429) is asked again after it, within the job; a
 *      long one ends the job with result->ready_at, and the scheduler waits for it
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_date.h>
#include <apr_thread_mutex.h>

#include "md_log.h"
#include "md_util.h"
#include "md_keys.h"
#include "md_jws.h"
#include "md_time.h"
#include "md_acme.h"

#define CT_JOSE    "application/jose+json"
#define CT_PROBLEM "application/problem+json"

/* ---- what sessions share ------------------------------------------------------------------ */

#define SHARE_DIR_TTL   apr_time_from_sec(300)
#define SHARE_NONCE_TTL apr_time_from_sec(60)
#define SHARE_NONCES    32
#define SHARE_NONCE_MAX 192

typedef struct share_ca_t share_ca_t;
struct share_ca_t {
    share_ca_t *next;
    const char *url; /* in the share's pool */
    char *dir;       /* malloc'ed, replaced when stale */
    apr_size_t dir_len;
    apr_time_t dir_at;
    int nnonces; /* a stack: the freshest on top */
    char nonce[SHARE_NONCES][SHARE_NONCE_MAX];
    apr_time_t nonce_at[SHARE_NONCES];
};

struct md_acme_share_t {
    apr_pool_t *p; /* only touched under the mutex */
    apr_thread_mutex_t *mutex;
    share_ca_t *cas;
};

static apr_status_t share_cleanup(void *data)
{
    md_acme_share_t *share = data;
    share_ca_t *ca;

    for (ca = share->cas; ca; ca = ca->next) {
        free(ca->dir);
        ca->dir = NULL;
    }
    return APR_SUCCESS;
}

static apr_status_t share_destroy(void *data)
{
    md_acme_share_t *share = data;

    apr_pool_destroy(share->p);
    return APR_SUCCESS;
}

apr_status_t md_acme_share_create(md_acme_share_t **pshare, apr_pool_t *p)
{
    md_acme_share_t *share = apr_pcalloc(p, sizeof(*share));
    apr_status_t rv;

    *pshare = NULL;
    rv = md_util_shared_pool_create(&share->p, &share->mutex);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    apr_pool_cleanup_register(share->p, share, share_cleanup, apr_pool_cleanup_null);
    apr_pool_cleanup_register(p, share, share_destroy, apr_pool_cleanup_null);
    *pshare = share;
    return APR_SUCCESS;
}

/* under the mutex */
static share_ca_t *share_ca(md_acme_share_t *share, const char *url)
{
    share_ca_t *ca;

    for (ca = share->cas; ca; ca = ca->next) {
        if (!strcmp(ca->url, url)) {
            return ca;
        }
    }
    ca = apr_pcalloc(share->p, sizeof(*ca));
    ca->url = apr_pstrdup(share->p, url);
    ca->next = share->cas;
    share->cas = ca;
    return ca;
}

/* A copy of the shared directory of acme->url in 'p' when there is a fresh one */
static const char *share_dir_get(md_acme_t *acme, apr_size_t *plen, apr_pool_t *p)
{
    const char *dir = NULL;
    share_ca_t *ca;

    apr_thread_mutex_lock(acme->share->mutex);
    ca = share_ca(acme->share, acme->url);
    if (ca->dir && apr_time_now() - ca->dir_at < SHARE_DIR_TTL) {
        dir = apr_pstrmemdup(p, ca->dir, ca->dir_len);
        *plen = ca->dir_len;
    }
    apr_thread_mutex_unlock(acme->share->mutex);
    return dir;
}

static void share_dir_put(md_acme_t *acme, const char *dir, apr_size_t len)
{
    share_ca_t *ca;
    char *copy = malloc(len + 1);

    if (!copy) {
        return;
    }
    memcpy(copy, dir, len);
    copy[len] = '\0';
    apr_thread_mutex_lock(acme->share->mutex);
    ca = share_ca(acme->share, acme->url);
    free(ca->dir);
    ca->dir = copy;
    ca->dir_len = len;
    ca->dir_at = apr_time_now();
    apr_thread_mutex_unlock(acme->share->mutex);
}

/* A fresh unused nonce of the CA into acme->nonce; 0 when there is none */
static int share_nonce_take(md_acme_t *acme)
{
    apr_time_t now = apr_time_now();
    share_ca_t *ca;
    int found = 0;

    apr_thread_mutex_lock(acme->share->mutex);
    ca = share_ca(acme->share, acme->url);
    while (!found && ca->nnonces > 0) {
        --ca->nnonces;
        if (now - ca->nonce_at[ca->nnonces] < SHARE_NONCE_TTL) {
            acme->nonce = apr_pstrdup(acme->p, ca->nonce[ca->nnonces]);
            found = 1;
        }
    }
    apr_thread_mutex_unlock(acme->share->mutex);
    return found;
}

/* at the end of a session: its unused nonce is good for the next one */
static apr_status_t share_nonce_give(void *data)
{
    md_acme_t *acme = data;
    apr_size_t len = acme->nonce ? strlen(acme->nonce) : 0;
    share_ca_t *ca;

    if (!acme->share || !len || len >= SHARE_NONCE_MAX) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(acme->share->mutex);
    ca = share_ca(acme->share, acme->url);
    if (ca->nnonces == SHARE_NONCES) {
        /* full: the oldest goes */
        memmove(ca->nonce[0], ca->nonce[1], sizeof(ca->nonce[0]) * (SHARE_NONCES - 1));
        memmove(&ca->nonce_at[0], &ca->nonce_at[1], sizeof(ca->nonce_at[0]) * (SHARE_NONCES - 1));
        --ca->nnonces;
    }
    memcpy(ca->nonce[ca->nnonces], acme->nonce, len + 1);
    ca->nonce_at[ca->nnonces] = apr_time_now();
    ++ca->nnonces;
    apr_thread_mutex_unlock(acme->share->mutex);
    acme->nonce = NULL;
    return APR_SUCCESS;
}

void md_acme_set_share(md_acme_t *acme, md_acme_share_t *share)
{
    if (!acme->share && share) {
        apr_pool_cleanup_register(acme->p, acme, share_nonce_give, apr_pool_cleanup_null);
    }
    acme->share = share;
}

/* ---- sessions ----------------------------------------------------------------------------- */

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

/* the longest wait a CA can ask for: a year and a day */
#define MD_ACME_RETRY_AFTER_MAX_S (366 * 24 * 3600)

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
        if (secs > MD_ACME_RETRY_AFTER_MAX_S) {
            secs = MD_ACME_RETRY_AFTER_MAX_S;
        }
        return now + apr_time_from_sec(secs);
    }
    t = apr_date_parse_http(s);
    if (t > now + apr_time_from_sec(MD_ACME_RETRY_AFTER_MAX_S)) {
        /* a date in the year 2100 says no more than "a year" in seconds does */
        t = now + apr_time_from_sec(MD_ACME_RETRY_AFTER_MAX_S);
    }
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
        return (delay < apr_time_from_sec(1)) ? apr_time_from_sec(1) : delay;
    }
    if (last <= 0) {
        /* a CA often validates in milliseconds: look soon, then back off quickly */
        return apr_time_from_msec(MD_ACME_POLL_FIRST_MS);
    }
    delay = last * 2;
    return (delay > apr_time_from_sec(2)) ? apr_time_from_sec(2) : delay;
}

int md_acme_has_profile(const md_acme_t *acme, const char *name)
{
    return acme->profiles && name && md_json_has_key(acme->profiles, name);
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

/* 1. The directory's JSON 'body' into the session; APR_EINVAL with a detail when it is none */
static apr_status_t take_directory(md_acme_t *acme, const char *body, apr_size_t len,
                                   md_result_t *result)
{
    md_json_t *json = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = md_json_readbuf(&json, acme->p, body, len, &err);
    if (APR_SUCCESS != rv || !md_json_is_object(json)) {
        return md_result_printf(result, APR_EINVAL,
                                "%s is not an ACME directory (no JSON object%s%s)", acme->url,
                                err ? ": " : "", err ? err : "");
    }
    acme->new_nonce = md_json_gets(json, MD_KEY_NEW_NONCE);
    acme->new_account = md_json_gets(json, MD_KEY_NEW_ACCOUNT);
    acme->new_order = md_json_gets(json, MD_KEY_NEW_ORDER);
    acme->tos = md_json_gets(json, MD_KEY_META, MD_KEY_TOS);
    acme->eab_required = md_json_getb(json, MD_KEY_META, MD_KEY_EAB_REQUIRED);
    acme->renewal_info = md_json_gets(json, MD_KEY_RENEWAL_INFO);
    acme->profiles = md_json_getj(json, MD_KEY_META, MD_KEY_PROFILES);
    if (acme->profiles && !md_json_is_object(acme->profiles)) {
        acme->profiles = NULL;
    }
    if (!acme->new_nonce || !acme->new_account || !acme->new_order) {
        return md_result_printf(result, APR_EINVAL,
                                "%s is not an ACME directory (it lacks newNonce, newAccount or "
                                "newOrder; ACMEv1 is not supported)",
                                acme->url);
    }
    acme->directory = json;
    return APR_SUCCESS;
}

apr_status_t md_acme_setup(md_acme_t *acme, md_result_t *result)
{
    md_http_response_t *hresp = NULL;
    const char *shared;
    apr_size_t len = 0;
    apr_status_t rv;

    if (acme->share && (shared = share_dir_get(acme, &len, acme->p)) != NULL
        && APR_SUCCESS == take_directory(acme, shared, len, result)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, acme->p,
                      APLOGNO(12239) "directory of %s as fetched by another job", acme->url);
        return APR_SUCCESS;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, acme->p, APLOGNO(12205) "get directory from %s",
                  acme->url);
    rv = md_http_get(&hresp, acme->http, acme->url, NULL, acme->p);
    if (APR_SUCCESS != rv) {
        acme->is_unreachable = 1;
        md_result_set(result, rv, md_http_last_error(acme->http));
        goto leave;
    }
    if (hresp->status >= 500) {
        acme->is_unreachable = 1;
        rv = md_result_printf(result, APR_EAGAIN, "the ACME CA at %s answered HTTP status %d",
                              acme->url, hresp->status);
        result->ready_at = md_acme_retry_after(hresp->headers, apr_time_now());
        goto leave;
    }
    if (hresp->status != 200) {
        rv = md_result_printf(result, APR_EINVAL, "%s is not an ACME directory (HTTP status %d)",
                              acme->url, hresp->status);
        goto leave;
    }
    rv = take_directory(acme, hresp->body, hresp->body_len, result);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    take_nonce(acme, hresp->headers);
    if (acme->share) {
        share_dir_put(acme, hresp->body, hresp->body_len);
    }

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

    if (acme->share && share_nonce_take(acme)) {
        return APR_SUCCESS;
    }
    rv = md_http_head(&hresp, acme->http, acme->new_nonce, p);
    if (APR_SUCCESS != rv) {
        acme->is_unreachable = 1;
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

/* 6. How long to wait before asking again after the error answer 'resp': its Retry-After, when
 * that is short and the problem one that passes (rate limit, server busy); 0: do not ask again
 * in this job (the job is rescheduled for a long Retry-After instead). */
static apr_interval_time_t inline_wait(const md_acme_resp_t *resp)
{
    const char *type = resp->json ? md_json_gets(resp->json, MD_KEY_TYPE) : NULL;
    apr_time_t now = apr_time_now();
    apr_time_t at = md_acme_retry_after(resp->headers, now);

    if (!at || !APR_STATUS_IS_EAGAIN(md_acme_problem_status(type, resp->status))) {
        return 0;
    }
    if (at - now > MD_ACME_WAIT_INLINE) {
        return 0;
    }
    return (at - now < apr_time_from_msec(100)) ? apr_time_from_msec(100) : at - now;
}

/* 3. + 4. + 6. */
apr_status_t md_acme_post(md_acme_resp_t **presp, md_acme_t *acme, const char *url,
                          const md_json_t *payload, int use_jwk, const char *accept,
                          md_result_t *result, apr_pool_t *p)
{
    md_http_response_t *hresp = NULL;
    md_acme_resp_t *resp = NULL;
    md_json_t *msg = NULL;
    apr_table_t *headers = NULL;
    const char *data, *body, *nonce;
    apr_interval_time_t wait;
    int bad_nonces = 0, waits = 0;
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
    for (;;) {
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
            acme->is_unreachable = 1;
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
        if (is_bad_nonce(resp) && bad_nonces < MD_ACME_BAD_NONCE_RETRIES) {
            ++bad_nonces;
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                          APLOGNO(12238) "%s: bad nonce for %s, retrying (%d of %d)",
                          result->md_name ? result->md_name : "-", url, bad_nonces,
                          MD_ACME_BAD_NONCE_RETRIES);
            continue;
        }
        wait = is_bad_nonce(resp) ? 0 : inline_wait(resp);
        if (!wait || waits >= MD_ACME_WAIT_INLINE_TRIES || md_acme_is_stopped(acme)) {
            break;
        }
        ++waits;
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12910) "%s: %s answered HTTP status %d with Retry-After: asking "
                                     "again in %s",
                      result->md_name ? result->md_name : "-", url, resp->status,
                      md_duration_format(wait, p));
        apr_sleep(wait);
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
