/* fuzz_http: a scripted HTTP client for the fuzz targets, linked in place of src/http/md_http.c
 * (see fuzz.h). It implements md_http.h: each request gets the next response of the script,
 * whatever its method and URL, so the real ACME and OCSP client code parses what the fuzzer
 * wrote. Headers are split as md_http.c splits curl's header lines; bodies larger than
 * MD_HTTP_MAX_BODY fail as they do there.
 *
 * It also replaces OpenSSL's EVP_PKEY_Q_keygen(): generating an RSA account key for each input
 * would take most of the time, and keys are no input. RSA requests get the same key made once,
 * P-256 requests the key of the test certificate in fuzz_certs.h (so that a CA's certificate in
 * a seed matches the key of the order and the renewal goes on to staging), other curves a fresh
 * key. */
#include <stdarg.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "md_log.h"
#include "md_http.h"
#include "fuzz.h"
#include "fuzz_certs.h"

struct md_http_t {
    apr_pool_t *p;
    const char *last_error;
};

static const char *script;
static const char *script_end;
static int nrequests;

void fuzz_http_script(const uint8_t *data, size_t size)
{
    script = (const char *)data;
    script_end = script + size;
    nrequests = 0;
}

int fuzz_http_requests(void)
{
    return nrequests;
}

/* Polls and Retry-After waits of the client return at once (this replaces APR's apr_sleep). */
void apr_sleep(apr_interval_time_t t)
{
    (void)t;
}

static EVP_PKEY *gen_key(const char *type, const char *curve, unsigned int bits)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0) {
        goto leave;
    }
    if ((curve && EVP_PKEY_CTX_set_group_name(ctx, curve) <= 0)
        || (bits && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0)) {
        goto leave;
    }
    if (EVP_PKEY_generate(ctx, &pkey) <= 0) {
        pkey = NULL;
    }
leave:
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *leaf_key(void)
{
    static EVP_PKEY *pkey;
    BIO *bio;

    if (!pkey) {
        bio = BIO_new_mem_buf(fuzz_leaf_key_pem, (int)sizeof(fuzz_leaf_key_pem) - 1);
        pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    }
    return (pkey && EVP_PKEY_up_ref(pkey)) ? pkey : NULL;
}

EVP_PKEY *EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
    static EVP_PKEY *rsa_key;
    const char *curve;
    va_list ap;

    (void)libctx;
    (void)propq;
    if (!strcmp(type, "RSA")) {
        if (!rsa_key) {
            rsa_key = gen_key("RSA", NULL, 2048);
        }
        return (rsa_key && EVP_PKEY_up_ref(rsa_key)) ? rsa_key : NULL;
    }
    if (!strcmp(type, "EC")) {
        va_start(ap, type);
        curve = va_arg(ap, const char *);
        va_end(ap);
        if (!strcmp(curve, "P-256") || !strcmp(curve, "prime256v1")
            || !strcmp(curve, "secp256r1")) {
            return leaf_key();
        }
        return gen_key("EC", curve, 0);
    }
    return gen_key(type, NULL, 0);
}

apr_status_t md_http_global_init(void)
{
    return APR_SUCCESS;
}

apr_status_t md_http_create(md_http_t **phttp, apr_pool_t *p, const md_http_config_t *config)
{
    md_http_t *http = apr_pcalloc(p, sizeof(*http));

    (void)config;
    http->p = p;
    *phttp = http;
    return APR_SUCCESS;
}

const char *md_http_last_error(const md_http_t *http)
{
    return http->last_error;
}

/* The next line of [s, end) without its line end; *pnext after it. */
static const char *next_line(apr_size_t *plen, const char **pnext, const char *s, const char *end)
{
    const char *nl = memchr(s, '\n', (apr_size_t)(end - s));
    const char *e = nl ? nl : end;

    *pnext = nl ? nl + 1 : end;
    *plen = (apr_size_t)(e - s);
    if (*plen && s[*plen - 1] == '\r') {
        --*plen;
    }
    return s;
}

static void add_header(apr_table_t *headers, const char *line, apr_size_t len, apr_pool_t *p)
{
    const char *colon = memchr(line, ':', len), *end = line + len, *v;

    if (!colon || colon == line) {
        return;
    }
    v = colon + 1;
    while (v < end && (*v == ' ' || *v == '\t')) {
        ++v;
    }
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        --end;
    }
    apr_table_add(headers, apr_pstrmemdup(p, line, (apr_size_t)(colon - line)),
                  apr_pstrmemdup(p, v, (apr_size_t)(end - v)));
}

/* The next response of the script into 'resp'; 0 when the script is used up. */
static int next_response(md_http_response_t *resp, apr_pool_t *p)
{
    const char *s = script, *end, *line, *next, *sep;
    apr_size_t len;
    apr_int64_t status;

    if (!script || script >= script_end) {
        return 0;
    }
    sep = memmem(s, (apr_size_t)(script_end - s), "\n%%\n", 4);
    end = sep ? sep + 1 : script_end;
    script = sep ? sep + 4 : script_end;

    line = next_line(&len, &next, s, end);
    status = apr_strtoi64(apr_pstrmemdup(p, line, len), NULL, 10);
    resp->status = (status >= 100 && status <= 999) ? (int)status : 200;
    resp->headers = apr_table_make(p, 5);
    for (s = next; s < end; s = next) {
        line = next_line(&len, &next, s, end);
        if (!len) {
            s = next;
            break;
        }
        add_header(resp->headers, line, len, p);
    }
    if (!apr_table_get(resp->headers, "Replay-Nonce")) {
        apr_table_setn(resp->headers, "Replay-Nonce", "bm9uY2U");
    }
    /* the body without the line end before the separator */
    len = (apr_size_t)(end - s);
    if (sep && len) {
        --len;
    }
    resp->body = apr_pstrmemdup(p, s, len);
    resp->body_len = len;
    return 1;
}

static apr_status_t perform(md_http_response_t **presp, md_http_t *http, const char *method,
                            const char *url, apr_pool_t *p)
{
    md_http_response_t *resp = apr_pcalloc(p, sizeof(*resp));

    *presp = NULL;
    ++nrequests;
    http->last_error = NULL;
    if (!next_response(resp, p)) {
        http->last_error = apr_psprintf(http->p, "%s %s: the script has ended", method, url);
        return APR_ECONNREFUSED;
    }
    if (resp->body_len > MD_HTTP_MAX_BODY) {
        http->last_error = apr_psprintf(http->p, "%s %s: response body larger than %lu bytes",
                                        method, url, (unsigned long)MD_HTTP_MAX_BODY);
        return APR_EGENERAL;
    }
    if (!strcmp(method, "HEAD")) {
        resp->body = "";
        resp->body_len = 0;
    }
    *presp = resp;
    return APR_SUCCESS;
}

apr_status_t md_http_get(md_http_response_t **presp, md_http_t *http, const char *url,
                         apr_table_t *headers, apr_pool_t *p)
{
    (void)headers;
    return perform(presp, http, "GET", url, p);
}

apr_status_t md_http_head(md_http_response_t **presp, md_http_t *http, const char *url,
                          apr_pool_t *p)
{
    return perform(presp, http, "HEAD", url, p);
}

apr_status_t md_http_post(md_http_response_t **presp, md_http_t *http, const char *url,
                          const char *content_type, const char *body, apr_size_t body_len,
                          apr_table_t *headers, apr_pool_t *p)
{
    (void)content_type;
    (void)body;
    (void)body_len;
    (void)headers;
    return perform(presp, http, "POST", url, p);
}

apr_status_t md_http_post_stream(int *pstatus, md_http_t *http, const char *url, const char *body,
                                 apr_size_t body_len, apr_table_t *headers,
                                 const md_http_stream_t *stream, apr_pool_t *p)
{
    md_http_response_t *resp = NULL;
    apr_status_t rv;

    (void)body;
    (void)body_len;
    (void)headers;
    *pstatus = 0;
    rv = perform(&resp, http, "POST", url, p);
    if (resp) {
        *pstatus = resp->status;
        if (resp->body_len) {
            stream->cb(stream->baton, resp->body, resp->body_len);
        }
    }
    return rv;
}
