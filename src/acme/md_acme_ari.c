/* md_acme_ari: renewal information (see md_acme_ari.h).
 *
 * For each CA of the MD, in order:
 *   1. its directory (shared with the renewal jobs for a few minutes); no renewalInfo: next CA
 *   2. GET <renewalInfo>/<certID> (RFC 9773 4.2); 404: the CA does not know it, next CA
 *   3. the JSON answer: suggestedWindow start < end (RFC 3339), optional explanationURL, and
 *      the Retry-After that says when to ask again
 */
#include <string.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_keys.h"
#include "md_time.h"
#include "md_acme.h"
#include "md_acme_acct.h"
#include "md_acme_ari.h"

#define MD_KEY_SUGGESTED_WINDOW "suggestedWindow"
#define MD_KEY_START            "start"
#define MD_KEY_END              "end"
#define MD_KEY_EXPLANATION_URL  "explanationURL"

/* 3. */
static apr_status_t take_answer(md_acme_ari_t *ari, const md_acme_t *acme,
                                const md_http_response_t *hresp, md_result_t *result, apr_pool_t *p)
{
    md_json_t *json = NULL;

    if (hresp->body_len > MD_ACME_ARI_MAX_LEN
        || APR_SUCCESS != md_json_readbuf(&json, p, hresp->body, hresp->body_len, NULL)
        || !md_json_is_object(json)) {
        return md_result_printf(result, APR_EINVAL,
                                "the renewal information of %s is no JSON "
                                "object",
                                acme->url);
    }
    ari->start = md_time_parse_rfc3339(md_json_gets(json, MD_KEY_SUGGESTED_WINDOW, MD_KEY_START));
    ari->end = md_time_parse_rfc3339(md_json_gets(json, MD_KEY_SUGGESTED_WINDOW, MD_KEY_END));
    if (!ari->start || ari->end <= ari->start) {
        return md_result_printf(result, APR_EINVAL,
                                "the renewal information of %s has no usable suggestedWindow",
                                acme->url);
    }
    ari->explanation = md_json_gets(json, MD_KEY_EXPLANATION_URL);
    if (ari->explanation) {
        ari->explanation = apr_pstrdup(p, ari->explanation);
    }
    ari->retry_after = md_acme_retry_after(hresp->headers, apr_time_now());
    ari->ca_url = apr_pstrdup(p, acme->url);
    return APR_SUCCESS;
}

/* 1. - 3. at one CA */
static apr_status_t fetch_from(md_acme_ari_t *ari, const char *ca_url, const char *cert_id,
                               const md_http_config_t *http_config, md_acme_acct_cache_t *cache,
                               md_result_t *result, apr_pool_t *p)
{
    md_http_response_t *hresp = NULL;
    md_acme_t *acme = NULL;
    const char *url;
    apr_status_t rv;

    rv = md_acme_create(&acme, ca_url, http_config, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(result, rv, "setting up the HTTP client");
    }
    md_acme_set_share(acme, md_acme_acct_cache_share(cache));
    rv = md_acme_setup(acme, result);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (!acme->renewal_info) {
        return APR_ENOTIMPL;
    }
    /* 2. */
    url = apr_pstrcat(p, acme->renewal_info, "/", cert_id, (const char *)NULL);
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "ARI GET %s", url);
    rv = md_http_get(&hresp, acme->http, url, NULL, p);
    if (APR_SUCCESS != rv) {
        return md_result_printf(result, rv, "asking %s for renewal information: %s", ca_url,
                                md_http_last_error(acme->http));
    }
    if (hresp->status == 404) {
        return APR_ENOENT;
    }
    if (hresp->status != 200) {
        rv = md_result_printf(result, (hresp->status >= 500) ? APR_EAGAIN : APR_EINVAL,
                              "%s answered HTTP status %d for renewal information", ca_url,
                              hresp->status);
        result->ready_at = md_acme_retry_after(hresp->headers, apr_time_now());
        return rv;
    }
    return take_answer(ari, acme, hresp, result, p);
}

apr_status_t md_acme_ari_fetch(md_acme_ari_t *ari, const apr_array_header_t *ca_urls,
                               const char *cert_id, const md_http_config_t *http_config,
                               md_acme_acct_cache_t *cache, md_result_t *result, apr_pool_t *p)
{
    md_result_t *tmp = md_result_make(result->md_name, p);
    apr_status_t rv, overall = APR_ENOTIMPL;
    int i;

    memset(ari, 0, sizeof(*ari));
    md_result_reset(result);
    for (i = 0; i < ca_urls->nelts; ++i) {
        md_result_reset(tmp);
        rv = fetch_from(ari, APR_ARRAY_IDX(ca_urls, i, const char *), cert_id, http_config, cache,
                        tmp, p);
        if (APR_SUCCESS == rv) {
            md_result_reset(result);
            return rv;
        }
        if (APR_STATUS_IS_ENOENT(rv)) {
            overall = APR_STATUS_IS_ENOTIMPL(overall) ? rv : overall;
        }
        else if (!APR_STATUS_IS_ENOTIMPL(rv)) {
            /* a CA that could not be asked: that is the answer, unless another one knows */
            overall = rv;
            md_result_assign(result, tmp);
        }
    }
    return overall;
}
