/* md_http: the HTTP client on libcurl (see md_http.h).
 *
 * One curl easy handle per md_http_t, reset before each request but kept between requests so
 * that curl reuses the connection (keep-alive) to the CA. Response headers go into an apr_table_t
 * (case-insensitive names); the body is collected up to MD_HTTP_MAX_BODY bytes and the transfer
 * is aborted beyond that. Transport errors are mapped to APR codes, curl's message is kept for
 * md_http_last_error(). Requests and responses are logged at trace levels; request bodies never
 * (they are JWS messages).
 *
 * All clients of a process share one curl "share" object: TLS sessions, DNS answers and open
 * connections. Many renewal jobs talking to one CA then reuse connections instead of each making
 * its own TCP and TLS handshake. It is made on first use (in the process that uses it, never
 * before a fork) and guarded by one mutex per kind of shared data.
 */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_http.h"

#define MD_HTTP_DEF_CONNECT_TIMEOUT apr_time_from_sec(30)
#define MD_HTTP_DEF_TIMEOUT         apr_time_from_sec(60)
#define MD_HTTP_LOG_BODY_MAX        4096
/* response header bytes kept per request (all lines of all responses, e.g. a 100-continue) */
#define MD_HTTP_MAX_HEADERS (256 * 1024)
/* idle connections a process keeps: room for every renewal job and OCSP fetch at once */
#define MD_HTTP_MAX_IDLE_CONNS 64

struct md_http_t {
    apr_pool_t *p;
    CURL *curl;
    md_http_config_t config;
    char errbuf[CURL_ERROR_SIZE];
    const char *last_error;
};

/* What the curl callbacks of one request write into. */
typedef struct {
    apr_pool_t *p;
    md_http_response_t *resp;
    char *buf;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max_len;
    int too_large;
    apr_size_t hdr_len;           /* response header bytes so far */
    int too_many_headers;         /* they passed MD_HTTP_MAX_HEADERS: the transfer was aborted */
    md_http_stream_cb *stream_cb; /* a streamed request: the body goes here, not into buf */
    void *stream_baton;
    int is_stopped; /* stream_cb asked to end the transfer */
} md_http_req_ctx_t;

static CURLSH *share;
static pthread_once_t share_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *baton)
{
    (void)handle;
    (void)access;
    (void)baton;
    pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *baton)
{
    (void)handle;
    (void)baton;
    pthread_mutex_unlock(&share_locks[data]);
}

static void share_init(void)
{
    CURLSH *sh;
    int i;

    for (i = 0; i < CURL_LOCK_DATA_LAST; ++i) {
        pthread_mutex_init(&share_locks[i], NULL);
    }
    sh = curl_share_init();
    if (!sh) {
        return; /* every client then has its own connections: slower, not wrong */
    }
    if (CURLSHE_OK != curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock)
        || CURLSHE_OK != curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock)
        || CURLSHE_OK != curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)
        || CURLSHE_OK != curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)
        || CURLSHE_OK != curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT)) {
        curl_share_cleanup(sh);
        return;
    }
    share = sh;
}

apr_status_t md_http_global_init(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CURLE_OK != rc) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, NULL,
                      APLOGNO(12200) "curl_global_init() failed: %s", curl_easy_strerror(rc));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t http_cleanup(void *data)
{
    md_http_t *http = data;
    if (http->curl) {
        curl_easy_cleanup(http->curl);
        http->curl = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t md_http_create(md_http_t **phttp, apr_pool_t *p, const md_http_config_t *config)
{
    md_http_t *http;

    *phttp = NULL;
    http = apr_pcalloc(p, sizeof(*http));
    http->p = p;
    if (config) {
        http->config.user_agent = config->user_agent ? apr_pstrdup(p, config->user_agent) : NULL;
        http->config.ca_file = config->ca_file ? apr_pstrdup(p, config->ca_file) : NULL;
        http->config.proxy_url = config->proxy_url ? apr_pstrdup(p, config->proxy_url) : NULL;
        http->config.proxy_ca_file =
            config->proxy_ca_file ? apr_pstrdup(p, config->proxy_ca_file) : NULL;
        http->config.connect_timeout = config->connect_timeout;
        http->config.timeout = config->timeout;
        http->config.client_cert_pem = config->client_cert_pem;
        http->config.client_key_pem = config->client_key_pem;
        http->config.is_unshared = config->is_unshared;
    }
    if (http->config.connect_timeout <= 0) {
        http->config.connect_timeout = MD_HTTP_DEF_CONNECT_TIMEOUT;
    }
    if (http->config.timeout <= 0) {
        http->config.timeout = MD_HTTP_DEF_TIMEOUT;
    }
    http->curl = curl_easy_init();
    if (!http->curl) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      APLOGNO(12201) "curl_easy_init() failed");
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(p, http, http_cleanup, apr_pool_cleanup_null);
    *phttp = http;
    return APR_SUCCESS;
}

const char *md_http_last_error(const md_http_t *http)
{
    return http->last_error;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *baton)
{
    md_http_req_ctx_t *ctx = baton;
    size_t len = size * nmemb;
    const char *colon, *end;
    char *name, *value;

    ctx->hdr_len += len;
    if (ctx->hdr_len > MD_HTTP_MAX_HEADERS) {
        ctx->too_many_headers = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    /* A new status line (redirect, 100-continue): headers start over */
    if (len > 5 && !strncmp(data, "HTTP/", 5)) {
        apr_table_clear(ctx->resp->headers);
        return len;
    }
    colon = memchr(data, ':', len);
    if (!colon || colon == data) {
        return len;
    }
    end = data + len;
    while (end > colon + 1
           && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) {
        --end;
    }
    name = apr_pstrmemdup(ctx->p, data, (apr_size_t)(colon - data));
    ++colon;
    while (colon < end && (*colon == ' ' || *colon == '\t')) {
        ++colon;
    }
    value = apr_pstrmemdup(ctx->p, colon, (apr_size_t)(end - colon));
    apr_table_add(ctx->resp->headers, name, value);
    return len;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *baton)
{
    md_http_req_ctx_t *ctx = baton;
    size_t len = size * nmemb;
    apr_size_t ncap;
    char *nbuf;

    if (ctx->stream_cb) {
        if (len && !ctx->stream_cb(ctx->stream_baton, data, len)) {
            ctx->is_stopped = 1;
            return 0;
        }
        return len;
    }
    if (ctx->len + len > ctx->max_len) {
        ctx->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (ctx->len + len + 1 > ctx->cap) {
        ncap = ctx->cap ? ctx->cap : 4096;
        while (ncap < ctx->len + len + 1) {
            ncap *= 2;
        }
        nbuf = apr_palloc(ctx->p, ncap);
        if (ctx->len) {
            memcpy(nbuf, ctx->buf, ctx->len);
        }
        ctx->buf = nbuf;
        ctx->cap = ncap;
    }
    memcpy(ctx->buf + ctx->len, data, len);
    ctx->len += len;
    ctx->buf[ctx->len] = '\0';
    return len;
}

typedef struct {
    apr_pool_t *p;
    struct curl_slist *list;
} md_http_hdr_ctx_t;

static int add_header(void *baton, const char *key, const char *value)
{
    md_http_hdr_ctx_t *ctx = baton;
    struct curl_slist *nlist;

    nlist = curl_slist_append(ctx->list, apr_psprintf(ctx->p, "%s: %s", key, value));
    if (nlist) {
        ctx->list = nlist;
    }
    return 1;
}

static apr_status_t map_curl_error(CURLcode rc)
{
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
            return APR_ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
            return APR_ECONNREFUSED;
        default:
            return APR_EGENERAL;
    }
}

static int log_resp_header(void *baton, const char *key, const char *value)
{
    apr_pool_t *p = baton;
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE3, 0, p, "http response header %s: %s", key, value);
    return 1;
}

static void log_response(const md_http_response_t *resp, const char *method, const char *url,
                         apr_pool_t *p)
{
    int blen;

    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "http %s %s -> %d (%lu bytes)", method, url,
                  resp->status, (unsigned long)resp->body_len);
    if (md_log_is_level(p, MD_LOG_TRACE3)) {
        apr_table_do(log_resp_header, p, resp->headers, NULL);
    }
    if (resp->body_len && md_log_is_level(p, MD_LOG_TRACE4)) {
        blen = (int)(resp->body_len > MD_HTTP_LOG_BODY_MAX ? MD_HTTP_LOG_BODY_MAX : resp->body_len);
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE4, 0, p, "http response body: %.*s", blen,
                      resp->body);
    }
}

/* A streamed transfer: no overall time limit, and the callback gets a tick about once a second
 * (curl's progress callback) so that it can end an idle stream. */
static int stream_tick(void *baton, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    md_http_req_ctx_t *ctx = baton;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (!ctx->stream_cb(ctx->stream_baton, NULL, 0)) {
        ctx->is_stopped = 1;
        return 1; /* aborts with CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

static CURLcode set_stream_opts(CURL *c, md_http_req_ctx_t *ctx)
{
    CURLcode rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L);

    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_tick);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, ctx);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    return rc;
}

/* The PEM texts are copied by curl (CURL_BLOB_COPY); without a key of its own, the key is
 * looked for in the certificate's text. */
static CURLcode set_client_cert(CURL *c, const md_http_config_t *config)
{
    const char *key = config->client_key_pem ? config->client_key_pem : config->client_cert_pem;
    struct curl_blob cert_blob, key_blob;
    CURLcode rc;

    cert_blob.data = (void *)(apr_uintptr_t)config->client_cert_pem;
    cert_blob.len = strlen(config->client_cert_pem);
    cert_blob.flags = CURL_BLOB_COPY;
    key_blob.data = (void *)(apr_uintptr_t)key;
    key_blob.len = strlen(key);
    key_blob.flags = CURL_BLOB_COPY;
    rc = curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert_blob);
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key_blob);
    }
    return rc;
}

static apr_status_t set_common_opts(md_http_t *http, md_http_req_ctx_t *ctx, const char *url)
{
    CURL *c = http->curl;
    CURLcode rc = CURLE_OK;

    http->errbuf[0] = '\0';
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_URL, url);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, http->errbuf);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                              (long)(http->config.connect_timeout / 1000));
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(http->config.timeout / 1000));
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_HEADERDATA, ctx);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    }
    if (CURLE_OK == rc) {
        rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, ctx);
    }
    if (CURLE_OK == rc && http->config.user_agent) {
        rc = curl_easy_setopt(c, CURLOPT_USERAGENT, http->config.user_agent);
    }
    if (CURLE_OK == rc && http->config.ca_file) {
        rc = curl_easy_setopt(c, CURLOPT_CAINFO, http->config.ca_file);
    }
    if (CURLE_OK == rc && http->config.client_cert_pem) {
        rc = set_client_cert(c, &http->config);
    }
    if (CURLE_OK == rc && ctx->stream_cb) {
        rc = set_stream_opts(c, ctx);
    }
    if (CURLE_OK == rc && !http->config.is_unshared) {
        pthread_once(&share_once, share_init);
        if (share) {
            rc = curl_easy_setopt(c, CURLOPT_SHARE, share);
        }
    }
    if (CURLE_OK == rc) {
        /* curl_easy_perform() prunes the cache it returns a connection to down to this size
         * (5 by default); with a shared cache and many jobs at once that closed most
         * connections after one request, and every next request paid a new TLS handshake */
        rc = curl_easy_setopt(c, CURLOPT_MAXCONNECTS, (long)MD_HTTP_MAX_IDLE_CONNS);
    }
    if (CURLE_OK == rc && http->config.proxy_url) {
        rc = curl_easy_setopt(c, CURLOPT_PROXY, http->config.proxy_url);
    }
    if (CURLE_OK == rc && http->config.proxy_url && http->config.proxy_ca_file) {
        /* an https proxy's certificate is checked against these (curl's default: the system's) */
        rc = curl_easy_setopt(c, CURLOPT_PROXY_CAINFO, http->config.proxy_ca_file);
    }
    if (CURLE_OK != rc) {
        http->last_error =
            apr_psprintf(http->p, "curl_easy_setopt() failed: %s", curl_easy_strerror(rc));
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, ctx->p, APLOGNO(12202) "%s: %s", url,
                      http->last_error);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* One request as the public functions describe it. */
typedef struct {
    const char *method;
    const char *url;
    const char *content_type;
    const char *body;
    apr_size_t body_len;
    apr_table_t *headers;
    md_http_stream_cb *stream_cb; /* NULL: the body is collected into the response */
    void *stream_baton;
} md_http_request_t;

static CURLcode set_method_opts(md_http_t *http, md_http_hdr_ctx_t *hctx,
                                const md_http_request_t *req)
{
    const char *method = req->method;
    CURLcode rc = CURLE_OK;

    if (!strcmp("HEAD", method)) {
        rc = curl_easy_setopt(http->curl, CURLOPT_NOBODY, 1L);
    }
    else if (!strcmp("POST", method)) {
        rc = curl_easy_setopt(http->curl, CURLOPT_POST, 1L);
        if (CURLE_OK == rc) {
            rc = curl_easy_setopt(http->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                                  (curl_off_t)req->body_len);
        }
        if (CURLE_OK == rc) {
            rc = curl_easy_setopt(http->curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        }
        if (req->content_type) {
            add_header(hctx, "Content-Type", req->content_type);
        }
    }
    if (req->headers) {
        apr_table_do(add_header, hctx, req->headers, NULL);
    }
    if (CURLE_OK == rc && hctx->list) {
        rc = curl_easy_setopt(http->curl, CURLOPT_HTTPHEADER, hctx->list);
    }
    return rc;
}

/* Run one request. 'body' NULL for GET/HEAD. */
static apr_status_t perform(md_http_response_t **presp, md_http_t *http,
                            const md_http_request_t *req, apr_pool_t *p)
{
    const char *method = req->method, *url = req->url;
    md_http_req_ctx_t ctx;
    md_http_hdr_ctx_t hctx;
    md_http_response_t *resp;
    CURLcode rc;
    long status = 0;
    apr_status_t rv;

    *presp = NULL;
    memset(&ctx, 0, sizeof(ctx));
    memset(&hctx, 0, sizeof(hctx));
    hctx.p = p;
    resp = apr_pcalloc(p, sizeof(*resp));
    resp->headers = apr_table_make(p, 10);
    ctx.p = p;
    ctx.resp = resp;
    ctx.max_len = MD_HTTP_MAX_BODY;
    ctx.stream_cb = req->stream_cb;
    ctx.stream_baton = req->stream_baton;
    http->last_error = NULL;

    /* Keeps the connection cache, forgets all options of the previous request */
    curl_easy_reset(http->curl);
    rv = set_common_opts(http, &ctx, url);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    rc = set_method_opts(http, &hctx, req);
    if (CURLE_OK != rc) {
        http->last_error =
            apr_psprintf(http->p, "curl_easy_setopt() failed: %s", curl_easy_strerror(rc));
        rv = APR_EGENERAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, APLOGNO(12203) "%s: %s", url,
                      http->last_error);
        goto leave;
    }

    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE2, 0, p, "http %s %s (%lu bytes body)", method, url,
                  (unsigned long)req->body_len);
    rc = curl_easy_perform(http->curl);
    if (CURLE_OK != rc && ctx.is_stopped) {
        rc = CURLE_OK; /* the stream's callback ended it */
    }
    if (CURLE_OK != rc) {
        rv = map_curl_error(rc);
        if (ctx.too_large) {
            http->last_error = apr_psprintf(http->p, "%s %s: response body larger than %lu bytes",
                                            method, url, (unsigned long)ctx.max_len);
        }
        else if (ctx.too_many_headers) {
            http->last_error =
                apr_psprintf(http->p, "%s %s: response headers larger than %lu bytes", method, url,
                             (unsigned long)MD_HTTP_MAX_HEADERS);
        }
        else {
            http->last_error =
                apr_psprintf(http->p, "%s %s: %s", method, url,
                             http->errbuf[0] ? http->errbuf : curl_easy_strerror(rc));
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, APLOGNO(12204) "%s", http->last_error);
        goto leave;
    }
    curl_easy_getinfo(http->curl, CURLINFO_RESPONSE_CODE, &status);
    resp->status = (int)status;
    resp->body = ctx.buf ? ctx.buf : "";
    resp->body_len = ctx.len;
    log_response(resp, method, url, p);
    *presp = resp;
    rv = APR_SUCCESS;

leave:
    /* The header list must not outlive this call, nor must curl keep pointers into it */
    curl_easy_setopt(http->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(http->curl, CURLOPT_HEADERDATA, (void *)NULL);
    curl_easy_setopt(http->curl, CURLOPT_WRITEDATA, (void *)NULL);
    if (hctx.list) {
        curl_slist_free_all(hctx.list);
    }
    return rv;
}

apr_status_t md_http_get(md_http_response_t **presp, md_http_t *http, const char *url,
                         apr_table_t *headers, apr_pool_t *p)
{
    md_http_request_t req = { "GET", url, NULL, NULL, 0, headers, NULL, NULL };
    return perform(presp, http, &req, p);
}

apr_status_t md_http_head(md_http_response_t **presp, md_http_t *http, const char *url,
                          apr_pool_t *p)
{
    md_http_request_t req = { "HEAD", url, NULL, NULL, 0, NULL, NULL, NULL };
    return perform(presp, http, &req, p);
}

apr_status_t md_http_post(md_http_response_t **presp, md_http_t *http, const char *url,
                          const char *content_type, const char *body, apr_size_t body_len,
                          apr_table_t *headers, apr_pool_t *p)
{
    md_http_request_t req = { "POST", url, content_type, body, body_len, headers, NULL, NULL };
    return perform(presp, http, &req, p);
}

apr_status_t md_http_post_stream(int *pstatus, md_http_t *http, const char *url, const char *body,
                                 apr_size_t body_len, apr_table_t *headers,
                                 const md_http_stream_t *stream, apr_pool_t *p)
{
    md_http_request_t req = {
        "POST", url, NULL, body, body_len, headers, stream->cb, stream->baton
    };
    md_http_response_t *resp = NULL;
    apr_status_t rv;

    *pstatus = 0;
    rv = perform(&resp, http, &req, p);
    if (resp) {
        *pstatus = resp->status;
    }
    return rv;
}
