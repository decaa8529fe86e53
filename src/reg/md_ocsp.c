/* md_ocsp: the OCSP stapling registry (see md_ocsp.h).
 *
 * Fetching one response (md_ocsp_fetch):
 *   1. build the request for the certificate id (RFC 6960 4.1; SHA-1 of issuer name and key plus
 *      the serial) and POST it to the responder named in the certificate (RFC 6960 A.1)
 *   2. parse the answer, check its signature against the issuer (directly or through a
 *      delegated responder certificate the issuer signed) and find our certificate's status
 *   3. store it (ocsp/<md>/ocsp-<sha1>.json) and make it current for handshakes
 *   4. schedule the next fetch when MDStaplingRenewWindow of its validity is left; after a
 *      failure back off with md_renew_next_attempt()
 * A handshake (md_ocsp_get_resp) only copies the current response out of memory; when it has
 * none or it may have been renewed by the fetching child, it re-reads the store file if that
 * changed (checked at most once a second per certificate).
 */
#include <stdlib.h>
#include <string.h>

#include <apr_date.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "md.h"
#include "md_crypt.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_ossl.h"
#include "md_renew.h"
#include "md_util.h"
#include "md_ocsp.h"

#define OCSP_CONTENT_TYPE   "application/ocsp-request"
#define REFRESH_INTERVAL    apr_time_from_sec(1)
#define NO_NEXT_UPDATE_LIFE apr_time_from_sec(MD_SECS_PER_DAY / 2)
#define CLOCK_SKEW_SECS     300L
#define LAST_ERROR_LEN      256

struct md_ocsp_reg_t {
    apr_pool_t *p;
    md_store_t *store;
    md_timeslice_t window;
    apr_thread_mutex_t *mutex;
    apr_hash_t *by_ext_id; /* ext id bytes -> md_ocsp_item_t* */
    apr_hash_t *by_id;     /* sha1 hex -> md_ocsp_item_t* */
    apr_array_header_t *items;
    md_ocsp_event_cb *event_cb;
    void *event_baton;
};

struct md_ocsp_item_t {
    md_ocsp_reg_t *reg;
    apr_pool_t *p;         /* the item's own, a child of reg->p: freed when it is swept */
    const char *id;        /* sha1 hex of the certificate */
    const char *md_name;   /* NULL for others */
    const char *dir_name;  /* md name or MD_OCSP_OTHER */
    const char *file_name; /* ocsp-<id>.json */
    const char *responder;
    OCSP_CERTID *certid;
    md_cert_t *issuer;

    /* guarded by reg->mutex */
    unsigned char *der; /* current response, capacity der_cap */
    apr_size_t der_len, der_cap;
    md_ocsp_cert_stat_t stat;
    md_timeperiod_t valid;
    apr_time_t file_mtime; /* of the store file the response came from or went to */
    apr_time_t last_check; /* of the store file */
    apr_time_t next_run;
    int errors;
    apr_time_t last_run;  /* of the last fetch, 0 before the first */
    apr_status_t last_rv; /* its outcome */
    int in_flight;
    apr_time_t last_err_notify;
    char last_error[LAST_ERROR_LEN];
    int is_retired; /* its certificate was replaced (md_ocsp_retire): not fetched or shown */
    apr_time_t retired_at;
};

const char *md_ocsp_cert_stat_name(md_ocsp_cert_stat_t stat)
{
    switch (stat) {
        case MD_OCSP_CERT_ST_GOOD:
            return "good";
        case MD_OCSP_CERT_ST_REVOKED:
            return "revoked";
        case MD_OCSP_CERT_ST_UNKNOWN:
        default:
            return "unknown";
    }
}

apr_time_t md_ocsp_renew_at(const md_timeperiod_t *valid, const md_timeslice_t *window)
{
    return md_timeperiod_slice_before_end(valid, window).start;
}

apr_time_t md_ocsp_next_fetch(const md_timeperiod_t *valid, const md_timeslice_t *window,
                              apr_time_t fetched, apr_time_t now)
{
    apr_time_t at = md_ocsp_renew_at(valid, window);
    apr_interval_time_t gap = md_timeperiod_length(valid) / 10;

    if (!fetched || fetched > now) {
        fetched = now;
    }
    if (gap < MD_OCSP_RENEW_GAP_MIN || now >= valid->end) {
        gap = MD_OCSP_RENEW_GAP_MIN;
    }
    else if (gap > MD_OCSP_RENEW_GAP_MAX) {
        gap = MD_OCSP_RENEW_GAP_MAX;
    }
    return (at > fetched + gap) ? at : fetched + gap;
}

int md_ocsp_may_notify_error(apr_time_t last, apr_time_t now)
{
    return !last || now - last >= MD_OCSP_ERR_NOTIFY_INTERVAL;
}

static apr_status_t item_cleanup(void *data)
{
    md_ocsp_item_t *item = data;

    OCSP_CERTID_free(item->certid);
    item->certid = NULL;
    return APR_SUCCESS;
}

/* Free the items whose certificate was replaced (md_ocsp_retire) MD_OCSP_RETIRED_KEEP ago and
 * that no fetch uses: a server renewing without restarts (MDActivation hot) would otherwise keep
 * every certificate it ever served. Mutex held; handshakes and status pages use items only
 * under it. */
static void sweep_locked(md_ocsp_reg_t *reg, apr_time_t now)
{
    apr_hash_index_t *hi;
    md_ocsp_item_t *item;
    const void *key;
    apr_ssize_t klen;
    void *val;
    int i, j;

    for (i = 0, j = 0; i < reg->items->nelts; ++i) {
        item = APR_ARRAY_IDX(reg->items, i, md_ocsp_item_t *);
        if (!item->is_retired || item->in_flight || now - item->retired_at < MD_OCSP_RETIRED_KEEP) {
            APR_ARRAY_IDX(reg->items, j++, md_ocsp_item_t *) = item;
            continue;
        }
        apr_hash_set(reg->by_id, item->id, APR_HASH_KEY_STRING, NULL);
        /* setting an entry to NULL while iterating is allowed (apr_hash.h) */
        for (hi = apr_hash_first(NULL, reg->by_ext_id); hi; hi = apr_hash_next(hi)) {
            apr_hash_this(hi, &key, &klen, &val);
            if (val == item) {
                apr_hash_set(reg->by_ext_id, key, klen, NULL);
            }
        }
        apr_pool_destroy(item->p);
    }
    reg->items->nelts = j;
}

apr_status_t md_ocsp_reg_create(md_ocsp_reg_t **preg, md_store_t *store,
                                const md_timeslice_t *window, apr_pool_t *p)
{
    md_ocsp_reg_t *reg = apr_pcalloc(p, sizeof(*reg));
    apr_status_t rv;

    reg->p = p;
    reg->store = store;
    reg->window = *window;
    reg->by_ext_id = apr_hash_make(p);
    reg->by_id = apr_hash_make(p);
    reg->items = apr_array_make(p, 10, sizeof(md_ocsp_item_t *));
    rv = apr_thread_mutex_create(&reg->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    *preg = (APR_SUCCESS == rv) ? reg : NULL;
    return rv;
}

void md_ocsp_set_event_cb(md_ocsp_reg_t *reg, md_ocsp_event_cb *cb, void *baton)
{
    reg->event_cb = cb;
    reg->event_baton = baton;
}

int md_ocsp_count(md_ocsp_reg_t *reg)
{
    int n;

    apr_thread_mutex_lock(reg->mutex);
    n = reg->items->nelts;
    apr_thread_mutex_unlock(reg->mutex);
    return n;
}

/* ---- responses ------------------------------------------------------------------------------ */

/* 2. What 'der' says about 'certid': status and validity. With 'issuer' the signature is
 * checked too (responses from the network); without, it is only parsed (our own store). */
static apr_status_t resp_inspect(md_ocsp_cert_stat_t *pstat, md_timeperiod_t *pvalid,
                                 const char **perr, const unsigned char *der, apr_size_t len,
                                 OCSP_CERTID *certid, const md_cert_t *issuer, apr_pool_t *p)
{
    const unsigned char *q = der;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *basic = NULL;
    STACK_OF(X509) *certs = NULL;
    X509_STORE *trust = NULL;
    ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL;
    int status = 0, reason = 0, n;
    apr_status_t rv = APR_EINVAL;

    *perr = NULL;
    resp = d2i_OCSP_RESPONSE(NULL, &q, (long)len);
    if (!resp) {
        *perr = "the answer is not an OCSP response";
        goto leave;
    }
    n = OCSP_response_status(resp);
    if (OCSP_RESPONSE_STATUS_SUCCESSFUL != n) {
        *perr = apr_psprintf(p, "the responder answered with status %d (%s)", n,
                             OCSP_response_status_str(n));
        goto leave;
    }
    basic = OCSP_response_get1_basic(resp);
    if (!basic) {
        *perr = "the OCSP response has no basic response";
        goto leave;
    }
    if (issuer) {
        /* the issuer is the trust anchor: it signs itself or delegates (RFC 6960 4.2.2.2) */
        certs = sk_X509_new_null();
        trust = X509_STORE_new();
        if (!certs || !trust || !sk_X509_push(certs, md_cert_get_X509(issuer))
            || X509_STORE_add_cert(trust, md_cert_get_X509(issuer)) != 1
            || X509_STORE_set_flags(trust, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
            rv = md_ossl_fail(MD_LOG_MARK, MD_LOG_DEBUG, p, "X509_STORE_add_cert");
            *perr = "cannot set up the signature check";
            goto leave;
        }
        if (OCSP_basic_verify(basic, certs, trust, OCSP_TRUSTOTHER) <= 0) {
            md_ossl_fail(MD_LOG_MARK, MD_LOG_DEBUG, p, "OCSP_basic_verify");
            *perr = "the OCSP response is not signed by the certificate's issuer or its "
                    "delegated responder";
            goto leave;
        }
    }
    if (!OCSP_resp_find_status(basic, certid, &status, &reason, NULL, &this_upd, &next_upd)) {
        *perr = "the OCSP response does not answer for this certificate";
        goto leave;
    }
    if (V_OCSP_CERTSTATUS_UNKNOWN == status) {
        *perr = "the responder does not know the certificate (status unknown)";
        goto leave;
    }
    if (issuer && OCSP_check_validity(this_upd, next_upd, CLOCK_SKEW_SECS, -1) != 1) {
        md_ossl_fail(MD_LOG_MARK, MD_LOG_DEBUG, p, "OCSP_check_validity");
        *perr = "the OCSP response is not valid now (thisUpdate/nextUpdate)";
        goto leave;
    }
    *pstat = (V_OCSP_CERTSTATUS_GOOD == status) ? MD_OCSP_CERT_ST_GOOD : MD_OCSP_CERT_ST_REVOKED;
    pvalid->start = md_asn1_time_to_apr(this_upd);
    pvalid->end = next_upd ? md_asn1_time_to_apr(next_upd) : pvalid->start + NO_NEXT_UPDATE_LIFE;
    rv = APR_SUCCESS;
leave:
    ERR_clear_error();
    sk_X509_free(certs);
    X509_STORE_free(trust);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    return rv;
}

/* Make a response current. Call with the mutex held. */
static void item_set(md_ocsp_item_t *item, const unsigned char *der, apr_size_t len,
                     md_ocsp_cert_stat_t stat, const md_timeperiod_t *valid, apr_time_t mtime,
                     apr_time_t now)
{
    if (len > item->der_cap) {
        /* grows rarely and at most to MD_OCSP_MAX_RESP: the pool is never cleared meanwhile */
        item->der_cap = len < 4096 ? 4096 : len;
        item->der = apr_palloc(item->p, item->der_cap);
    }
    memcpy(item->der, der, len);
    item->der_len = len;
    item->stat = stat;
    item->valid = *valid;
    item->file_mtime = mtime;
    /* the file's time is when it was fetched (here or by the stock module, or by another
     * child): with a window of 100% the same response must not be fetched every tick */
    item->next_run = md_ocsp_next_fetch(valid, &item->reg->window, mtime, now);
}

static apr_time_t file_mtime(md_ocsp_item_t *item, apr_pool_t *p)
{
    apr_time_t mtime = 0;

    if (APR_SUCCESS != md_store_get_modified(&mtime, item->reg->store, MD_SG_OCSP, item->dir_name,
                                             item->file_name, p)) {
        return 0;
    }
    return mtime;
}

static apr_time_t json_time(const md_json_t *json, const char *key)
{
    const char *s = md_json_gets(json, MD_KEY_VALID, key);
    apr_time_t t;

    if (!s) {
        return 0;
    }
    t = apr_date_parse_rfc(s);
    return (t > 0) ? t : md_time_parse_rfc3339(s);
}

/* Load the stored response when the file changed since we last looked. Mutex held.
 * APR_ENOENT: nothing (new) there. */
static apr_status_t item_refresh(md_ocsp_item_t *item, apr_time_t now, apr_pool_t *p)
{
    md_json_t *json = NULL;
    const char *b64, *err = NULL;
    unsigned char *der = NULL;
    apr_ssize_t len;
    md_timeperiod_t valid;
    md_ocsp_cert_stat_t stat = MD_OCSP_CERT_ST_UNKNOWN;
    apr_time_t mtime = file_mtime(item, p);
    apr_status_t rv;

    item->last_check = now;
    if (!mtime || mtime == item->file_mtime) {
        return APR_ENOENT;
    }
    rv =
        md_store_load_json(item->reg->store, MD_SG_OCSP, item->dir_name, item->file_name, &json, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    b64 = md_json_gets(json, MD_KEY_RESPONSE);
    len = b64 ? md_util_base64url_decode(&der, b64, p) : -1;
    if (len <= 0 || len > MD_OCSP_MAX_RESP) {
        err = "no usable \"response\"";
        rv = APR_EINVAL;
    }
    else {
        rv = resp_inspect(&stat, &valid, &err, der, (apr_size_t)len, item->certid, NULL, p);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                      APLOGNO(12801) "%s: the stored OCSP response ocsp/%s/%s is unusable (%s); "
                                     "a new one will be fetched",
                      item->dir_name, item->dir_name, item->file_name, err);
        item->file_mtime = mtime; /* do not warn again for the same file */
        return rv;
    }
    /* the stock module keeps the validity in the file; the response itself is authoritative */
    if (!valid.end) {
        valid.end = json_time(json, MD_KEY_UNTIL);
    }
    item_set(item, der, (apr_size_t)len, stat, &valid, mtime, now);
    return APR_SUCCESS;
}

static apr_status_t item_save(md_ocsp_item_t *item, const unsigned char *der, apr_size_t len,
                              md_ocsp_cert_stat_t stat, const md_timeperiod_t *valid, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);
    char from[APR_RFC822_DATE_LEN], until[APR_RFC822_DATE_LEN];

    apr_rfc822_date(from, valid->start);
    apr_rfc822_date(until, valid->end);
    md_json_sets(md_util_base64url_encode(der, len, p), json, MD_KEY_RESPONSE);
    md_json_sets(md_ocsp_cert_stat_name(stat), json, MD_KEY_STATUS);
    md_json_sets(from, json, MD_KEY_VALID, MD_KEY_FROM);
    md_json_sets(until, json, MD_KEY_VALID, MD_KEY_UNTIL);
    return md_store_save_json(item->reg->store, MD_SG_OCSP, item->dir_name, item->file_name, json,
                              p);
}

/* ---- priming -------------------------------------------------------------------------------- */

/* A new item in 'ip' (its own pool, the certificates live there too). */
static apr_status_t item_create(md_ocsp_item_t **pitem, md_ocsp_reg_t *reg, const md_cert_t *cert,
                                md_cert_t *issuer, const char *id, const char *md_name,
                                apr_pool_t *ip, apr_pool_t *ptemp)
{
    md_ocsp_item_t *item = apr_pcalloc(ip, sizeof(*item));
    const char *url = NULL;
    apr_status_t rv;

    rv = md_cert_get_ocsp_responder_url(&url, cert, ip);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, ptemp,
                      APLOGNO(12802) "%s: certificate %s (serial %s) names no OCSP responder, "
                                     "it is not stapled",
                      md_name ? md_name : MD_OCSP_OTHER, id, md_cert_get_serial(cert, ptemp));
        return APR_ENOENT;
    }
    item->certid = OCSP_cert_to_id(EVP_sha1(), md_cert_get_X509(cert), md_cert_get_X509(issuer));
    if (!item->certid) {
        return md_ossl_fail(MD_LOG_MARK, MD_LOG_DEBUG, ptemp, "OCSP_cert_to_id");
    }
    apr_pool_cleanup_register(ip, item, item_cleanup, apr_pool_cleanup_null);
    item->reg = reg;
    item->p = ip;
    item->id = apr_pstrdup(ip, id);
    item->md_name = md_name ? apr_pstrdup(ip, md_name) : NULL;
    item->dir_name = md_name ? item->md_name : MD_OCSP_OTHER;
    item->file_name = apr_psprintf(ip, "ocsp-%s.json", id);
    item->responder = url;
    item->issuer = issuer;
    *pitem = item;
    return APR_SUCCESS;
}

/* Called with the mutex held: reg->p and the tables are shared with handshakes and fetches. */
static apr_status_t prime_locked(md_ocsp_reg_t *reg, const char *ext_id, apr_size_t ext_id_len,
                                 const char *pem, const char *md_name, apr_pool_t *ptemp)
{
    apr_array_header_t *chain = NULL;
    md_ocsp_item_t *item = NULL;
    const md_cert_t *cert;
    const char *id;
    apr_pool_t *ip = NULL;
    apr_status_t rv;

    /* the chain lives in the item's pool: the issuer is needed for every signature check */
    rv = apr_pool_create(&ip, reg->p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = md_chain_from_pem(&chain, ip, pem, strlen(pem));
    if (APR_SUCCESS != rv) {
        apr_pool_destroy(ip);
        return APR_EINVAL;
    }
    cert = APR_ARRAY_IDX(chain, 0, const md_cert_t *);
    id = md_cert_get_sha1_hex(cert, ptemp);
    item = id ? apr_hash_get(reg->by_id, id, APR_HASH_KEY_STRING) : NULL;
    if (!id || item) {
        apr_pool_destroy(ip); /* known already (or no id): nothing of this chain is kept */
    }
    if (!id) {
        return APR_EGENERAL;
    }
    if (!item) {
        if (chain->nelts < 2) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, ptemp,
                          APLOGNO(12803) "%s: certificate %s comes without its issuer, it "
                                         "cannot be stapled; add the issuer to the chain file",
                          md_name ? md_name : MD_OCSP_OTHER, id);
            apr_pool_destroy(ip);
            return APR_ENOENT;
        }
        rv = item_create(&item, reg, cert, APR_ARRAY_IDX(chain, 1, md_cert_t *), id, md_name, ip,
                         ptemp);
        if (APR_SUCCESS != rv || !item) {
            apr_pool_destroy(ip);
            return (APR_SUCCESS != rv) ? rv : APR_EGENERAL;
        }
        APR_ARRAY_PUSH(reg->items, md_ocsp_item_t *) = item;
        apr_hash_set(reg->by_id, item->id, APR_HASH_KEY_STRING, item);
        item_refresh(item, apr_time_now(), ptemp);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp,
                      APLOGNO(12804) "%s: stapling certificate %s, responder %s, %s",
                      item->dir_name, id, item->responder,
                      item->der_len ? "response from the store" : "no response yet");
    }
    item->is_retired = 0;
    if (!apr_hash_get(reg->by_ext_id, ext_id, (apr_ssize_t)ext_id_len)) {
        apr_hash_set(reg->by_ext_id, apr_pmemdup(item->p, ext_id, ext_id_len),
                     (apr_ssize_t)ext_id_len, item);
    }
    return APR_SUCCESS;
}

apr_status_t md_ocsp_prime(md_ocsp_reg_t *reg, const char *ext_id, apr_size_t ext_id_len,
                           const char *pem, const char *md_name, apr_pool_t *ptemp)
{
    apr_status_t rv;

    apr_thread_mutex_lock(reg->mutex);
    rv = prime_locked(reg, ext_id, ext_id_len, pem, md_name, ptemp);
    apr_thread_mutex_unlock(reg->mutex);
    return rv;
}

void md_ocsp_retire(md_ocsp_reg_t *reg, const char *md_name, apr_time_t now)
{
    md_ocsp_item_t *item;
    int i;

    apr_thread_mutex_lock(reg->mutex);
    /* what earlier retirements left goes now */
    sweep_locked(reg, now);
    for (i = 0; i < reg->items->nelts; ++i) {
        item = APR_ARRAY_IDX(reg->items, i, md_ocsp_item_t *);
        if (item->md_name && !strcmp(item->md_name, md_name) && !item->is_retired) {
            item->is_retired = 1;
            item->retired_at = now;
        }
    }
    apr_thread_mutex_unlock(reg->mutex);
}

/* ---- handshakes ----------------------------------------------------------------------------- */

apr_status_t md_ocsp_get_resp(md_ocsp_reg_t *reg, const char *ext_id, apr_size_t ext_id_len,
                              md_ocsp_copy_cb *cb, void *baton, apr_time_t now, apr_pool_t *ptemp)
{
    md_ocsp_item_t *item;

    /* a certificate renewed without a restart may be primed while handshakes run */
    apr_thread_mutex_lock(reg->mutex);
    item = apr_hash_get(reg->by_ext_id, ext_id, (apr_ssize_t)ext_id_len);
    if (!item) {
        apr_thread_mutex_unlock(reg->mutex);
        return APR_ENOENT;
    }
    /* another child may have stored a newer one: look, but not more than once a second */
    if ((!item->der_len || now >= item->next_run) && now - item->last_check >= REFRESH_INTERVAL) {
        item_refresh(item, now, ptemp);
    }
    if (item->der_len && now < item->valid.end) {
        cb(item->der, item->der_len, baton);
    }
    else {
        cb(NULL, 0, baton);
    }
    apr_thread_mutex_unlock(reg->mutex);
    return APR_SUCCESS;
}

/* ---- fetching ------------------------------------------------------------------------------- */

apr_array_header_t *md_ocsp_take_due(md_ocsp_reg_t *reg, int max, apr_time_t now, apr_pool_t *p)
{
    apr_array_header_t *due = apr_array_make(p, 5, sizeof(md_ocsp_item_t *));
    int i;

    apr_thread_mutex_lock(reg->mutex);
    sweep_locked(reg, now);
    for (i = 0; i < reg->items->nelts && due->nelts < max; ++i) {
        md_ocsp_item_t *item = APR_ARRAY_IDX(reg->items, i, md_ocsp_item_t *);
        if (!item->in_flight && !item->is_retired && now >= item->next_run) {
            item->in_flight = 1;
            APR_ARRAY_PUSH(due, md_ocsp_item_t *) = item;
        }
    }
    apr_thread_mutex_unlock(reg->mutex);
    return due;
}

/* 1. */
static apr_status_t request_der(const unsigned char **pder, apr_size_t *plen, md_ocsp_item_t *item,
                                apr_pool_t *p)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_CERTID_dup(item->certid);
    unsigned char *buf = NULL;
    int n = -1;

    if (req && id && OCSP_request_add0_id(req, id)) {
        id = NULL; /* owned by req now */
        n = i2d_OCSP_REQUEST(req, &buf);
    }
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    if (n <= 0) {
        return md_ossl_fail(MD_LOG_MARK, MD_LOG_DEBUG, p, "i2d_OCSP_REQUEST");
    }
    *pder = apr_pmemdup(p, buf, (apr_size_t)n);
    *plen = (apr_size_t)n;
    OPENSSL_free(buf);
    return APR_SUCCESS;
}

static apr_status_t exchange(const unsigned char **pder, apr_size_t *plen, const char **perr,
                             md_ocsp_item_t *item, const md_http_config_t *http_config,
                             apr_pool_t *p)
{
    md_http_t *http = NULL;
    md_http_response_t *resp = NULL;
    const unsigned char *req = NULL;
    apr_size_t req_len = 0;
    apr_status_t rv;

    rv = request_der(&req, &req_len, item, p);
    if (APR_SUCCESS != rv) {
        *perr = "cannot build the OCSP request";
        return rv;
    }
    rv = md_http_create(&http, p, http_config);
    if (APR_SUCCESS == rv) {
        rv = md_http_post(&resp, http, item->responder, OCSP_CONTENT_TYPE, (const char *)req,
                          req_len, NULL, p);
    }
    if (APR_SUCCESS != rv) {
        *perr =
            apr_psprintf(p, "contacting the responder %s: %s", item->responder,
                         (http && md_http_last_error(http)) ? md_http_last_error(http) : "failed");
        return rv;
    }
    if (resp->status != 200) {
        *perr = apr_psprintf(p, "the responder %s answered HTTP %d", item->responder, resp->status);
        return APR_EGENERAL;
    }
    if (!resp->body_len || resp->body_len > MD_OCSP_MAX_RESP) {
        *perr = apr_psprintf(p, "the responder %s sent %lu bytes, no OCSP response",
                             item->responder, (unsigned long)resp->body_len);
        return APR_EINVAL;
    }
    *pder = (const unsigned char *)resp->body;
    *plen = resp->body_len;
    return APR_SUCCESS;
}

static void fetch_done(md_ocsp_item_t *item, apr_status_t rv, const char *err,
                       md_ocsp_cert_stat_t stat, apr_pool_t *p)
{
    md_ocsp_reg_t *reg = item->reg;
    apr_time_t now = apr_time_now();
    const char *event = NULL, *detail = NULL;
    int errors;

    /* in_flight stays set until the end: a retired item is freed once it is clear */
    apr_thread_mutex_lock(reg->mutex);
    item->last_run = now;
    item->last_rv = rv;
    if (APR_SUCCESS == rv) {
        item->errors = 0;
        item->last_error[0] = '\0';
        event = "ocsp-renewed";
        detail = apr_psprintf(p, "certificate status is %s, valid until %s",
                              md_ocsp_cert_stat_name(stat), md_time_rfc3339(item->valid.end, p));
    }
    else {
        item->errors++;
        item->next_run = md_renew_next_attempt(item->errors, MD_OCSP_RETRY_BASE, MD_OCSP_RETRY_MAX,
                                               (double)rand() / ((double)RAND_MAX + 1.0), 0, now);
        apr_cpystrn(item->last_error, err ? err : "failed", sizeof(item->last_error));
        if (md_ocsp_may_notify_error(item->last_err_notify, now)) {
            item->last_err_notify = now;
            event = "ocsp-errored";
            detail = apr_pstrdup(p, item->last_error);
        }
    }
    errors = item->errors;
    apr_thread_mutex_unlock(reg->mutex);

    if (APR_SUCCESS != rv) {
        /* the stored response still serves; an admin must act only when that runs out */
        md_log_perror(MD_LOG_MARK, errors >= 3 ? MD_LOG_WARNING : MD_LOG_INFO, rv, p,
                      APLOGNO(12805) "%s: OCSP response for certificate %s: %s (attempt %d); "
                                     "next attempt in %s",
                      item->dir_name, item->id, err ? err : "failed", errors,
                      md_duration_format(item->next_run - now, p));
    }
    else if (MD_OCSP_CERT_ST_REVOKED == stat) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, 0, p,
                      APLOGNO(12806) "%s: the CA's OCSP responder says certificate %s is "
                                     "REVOKED; clients will refuse it%s",
                      item->dir_name, item->id,
                      item->md_name ? ", a renewal is started" : "; replace the certificate");
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, APLOGNO(12807) "%s: %s for %s",
                      item->dir_name, detail, item->id);
    }
    if (event && reg->event_cb) {
        reg->event_cb(reg->event_baton, event, item->md_name, item->id, detail, p);
    }
    apr_thread_mutex_lock(reg->mutex);
    item->in_flight = 0;
    apr_thread_mutex_unlock(reg->mutex);
}

apr_status_t md_ocsp_fetch(md_ocsp_item_t *item, const md_http_config_t *http_config, apr_pool_t *p)
{
    const unsigned char *der = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    md_ocsp_cert_stat_t stat = MD_OCSP_CERT_ST_UNKNOWN;
    md_timeperiod_t valid;
    apr_time_t now;
    apr_status_t rv;

    memset(&valid, 0, sizeof(valid));
    /* 1. */
    rv = exchange(&der, &len, &err, item, http_config, p);
    /* 2. */
    if (APR_SUCCESS == rv) {
        rv = resp_inspect(&stat, &valid, &err, der, len, item->certid, item->issuer, p);
    }
    /* 3. */
    if (APR_SUCCESS == rv) {
        rv = item_save(item, der, len, stat, &valid, p);
        if (APR_SUCCESS != rv) {
            err = "saving the response in the store failed";
        }
    }
    if (APR_SUCCESS == rv) {
        now = apr_time_now();
        apr_thread_mutex_lock(item->reg->mutex);
        item_set(item, der, len, stat, &valid, file_mtime(item, p), now);
        apr_thread_mutex_unlock(item->reg->mutex);
    }
    /* 4. */
    fetch_done(item, rv, err, stat, p);
    return rv;
}

/* ---- status --------------------------------------------------------------------------------- */

apr_array_header_t *md_ocsp_revoked_mds(md_ocsp_reg_t *reg, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 2, sizeof(const char *));
    int i;

    apr_thread_mutex_lock(reg->mutex);
    for (i = 0; i < reg->items->nelts; ++i) {
        md_ocsp_item_t *item = APR_ARRAY_IDX(reg->items, i, md_ocsp_item_t *);
        if (item->md_name && !item->is_retired && item->der_len
            && MD_OCSP_CERT_ST_REVOKED == item->stat) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, item->md_name);
        }
    }
    apr_thread_mutex_unlock(reg->mutex);
    return names;
}

md_json_t *md_ocsp_status_json(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *p)
{
    md_json_t *list = md_json_create_array(p), *json;
    int i;

    apr_thread_mutex_lock(reg->mutex);
    for (i = 0; i < reg->items->nelts; ++i) {
        md_ocsp_item_t *item = APR_ARRAY_IDX(reg->items, i, md_ocsp_item_t *);
        if (item->is_retired) {
            continue;
        }
        /* another child may have stored a newer one (e.g. revoked): status must show it */
        if (now - item->last_check >= REFRESH_INTERVAL) {
            item_refresh(item, now, p);
        }
        json = md_json_create(p);
        md_json_sets(item->id, json, MD_KEY_ID);
        if (item->md_name) {
            md_json_sets(item->md_name, json, MD_KEY_DOMAIN);
        }
        md_json_sets(item->responder, json, MD_KEY_RESPONDER);
        md_json_sets(md_ocsp_cert_stat_name(item->der_len ? item->stat : MD_OCSP_CERT_ST_UNKNOWN),
                     json, MD_KEY_STATUS);
        if (item->der_len) {
            md_json_sets(md_time_rfc3339(item->valid.start, p), json, MD_KEY_VALID, MD_KEY_FROM);
            md_json_sets(md_time_rfc3339(item->valid.end, p), json, MD_KEY_VALID, MD_KEY_UNTIL);
        }
        md_json_sets(md_time_rfc3339(item->next_run > now ? item->next_run : now, p), json,
                     MD_KEY_NEXT_RUN);
        md_json_setl(item->errors, json, MD_KEY_ERRORS);
        if (item->last_run) {
            md_json_sets(md_time_rfc3339(item->last_run, p), json, MD_KEY_LAST_RUN);
            md_json_setl((long)item->last_rv, json, MD_KEY_LAST, MD_KEY_STATUS);
        }
        if (item->last_error[0]) {
            md_json_sets(apr_pstrdup(p, item->last_error), json, MD_KEY_LAST_ERROR);
        }
        md_json_array_append(list, json);
    }
    apr_thread_mutex_unlock(reg->mutex);
    return list;
}

/* ---- store house keeping -------------------------------------------------------------------- */

typedef struct {
    md_store_t *store;
    apr_interval_time_t keep;
    apr_time_t now;
    const char *name; /* the ocsp/<name> being looked at */
} old_ctx_t;

static int is_old(const old_ctx_t *ctx, const char *aspect, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_time_t until;

    if (APR_SUCCESS
        != md_store_load(ctx->store, MD_SG_OCSP, ctx->name, aspect, MD_SV_JSON, (void **)&json, p)) {
        return 1;
    }
    until = json_time(json, MD_KEY_UNTIL);
    return !until || until + ctx->keep < ctx->now;
}

static int remove_if_old(void *baton, const char *aspect, apr_pool_t *ptemp)
{
    old_ctx_t *ctx = baton;
    apr_size_t n = strlen(aspect);

    if (n < 10 || strncmp(aspect, "ocsp-", 5) || strcmp(aspect + n - 5, ".json")) {
        return 1;
    }
    if (is_old(ctx, aspect, ptemp)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp,
                      APLOGNO(12808) "removing old OCSP response %s/%s/%s",
                      md_store_group_name(MD_SG_OCSP), ctx->name, aspect);
        md_store_remove(ctx->store, MD_SG_OCSP, ctx->name, aspect, ptemp);
    }
    return 1;
}

static int remove_old_in(void *baton, const char *name, apr_pool_t *ptemp)
{
    old_ctx_t *ctx = baton;

    ctx->name = name;
    md_store_iter_aspects(remove_if_old, ctx, ctx->store, MD_SG_OCSP, name, ptemp);
    return 1;
}

apr_status_t md_ocsp_remove_old(md_store_t *store, apr_interval_time_t keep, apr_time_t now,
                                apr_pool_t *p)
{
    old_ctx_t ctx;

    ctx.store = store;
    ctx.keep = keep;
    ctx.now = now;
    ctx.name = NULL;
    return md_store_iter_names(remove_old_in, &ctx, store, MD_SG_OCSP, p);
}
