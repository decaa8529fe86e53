/* md_http: the HTTP client used to talk to the CA (and OCSP responders). The only place that
 * includes curl.
 *
 * An md_http_t is one client with its settings and a reused connection; it is not thread-safe:
 * each job uses its own. Response bodies are limited in size (MD_HTTP_MAX_BODY by default).
 */
#ifndef md_http_h
#define md_http_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#define MD_HTTP_MAX_BODY (1024 * 1024)

typedef struct md_http_t md_http_t;

typedef struct md_http_config_t md_http_config_t;
struct md_http_config_t {
    const char *user_agent;      /* e.g. "mod_md/2.x Apache/2.4" */
    const char *ca_file;         /* PEM roots to trust for https, NULL for the system's */
    const char *proxy_url;       /* MDHttpProxy, NULL for none */
    const char *proxy_ca_file;   /* PEM roots to trust for an https proxy, NULL for the system's
                                  * (MDHttpProxyCACertificateFile) */
    apr_interval_time_t connect_timeout; /* 0 for the default (30s) */
    apr_interval_time_t timeout;         /* whole request, 0 for the default (60s) */
    const char *client_cert_pem; /* a client certificate for https (PEM text, not a file: a child
                                  * process need not be able to read the file), NULL for none */
    const char *client_key_pem;  /* its key (PEM text), NULL when it is in client_cert_pem; both
                                  * are not copied and must live as long as the client */
    int is_unshared; /* keeps its connections to itself instead of the process's shared cache
                      * (which a forked child would inherit, sockets and all) */
};

typedef struct md_http_response_t md_http_response_t;
struct md_http_response_t {
    int status;                  /* HTTP status */
    apr_table_t *headers;        /* response headers, case-insensitive names */
    const char *body;            /* NUL terminated, may contain NULs for binary bodies */
    apr_size_t body_len;
};

/** Once per process before threads start (curl_global_init). */
apr_status_t md_http_global_init(void);

/**
 * A new client living in 'p' (its curl handle is released when 'p' is cleared). 'config' is copied.
 */
apr_status_t md_http_create(md_http_t **phttp, apr_pool_t *p, const md_http_config_t *config);

/**
 * GET / HEAD / POST 'url'. Extra request headers may be given in 'headers' (may be NULL).
 * Returns APR_SUCCESS when a response arrived, whatever its status; the transport error
 * otherwise (APR_ETIMEDOUT, APR_ECONNREFUSED, APR_EGENERAL), with curl's message logged and
 * available through md_http_last_error(). The response lives in 'p'.
 */
apr_status_t md_http_get(md_http_response_t **presp, md_http_t *http, const char *url,
                         apr_table_t *headers, apr_pool_t *p);
apr_status_t md_http_head(md_http_response_t **presp, md_http_t *http, const char *url,
                          apr_pool_t *p);
apr_status_t md_http_post(md_http_response_t **presp, md_http_t *http, const char *url,
                          const char *content_type, const char *body, apr_size_t body_len,
                          apr_table_t *headers, apr_pool_t *p);

/**
 * Gets the pieces of a streamed response body as they arrive, and (data NULL, len 0) about once
 * a second while none does. Return non-zero to go on, 0 to end the transfer.
 */
typedef int md_http_stream_cb(void *baton, const char *data, apr_size_t len);

/* Where a streamed response body goes. */
typedef struct md_http_stream_t md_http_stream_t;
struct md_http_stream_t {
    md_http_stream_cb *cb;
    void *baton;
};

/**
 * POST 'body' to 'url' (its Content-Type, if any, in 'headers') and hand the response body to
 * stream->cb as it arrives, without an overall time limit (the connect timeout applies), until
 * the server ends it or the callback returns 0 (then APR_SUCCESS). *pstatus gets the HTTP
 * status. Transport errors as md_http_get().
 */
apr_status_t md_http_post_stream(int *pstatus, md_http_t *http, const char *url, const char *body,
                                 apr_size_t body_len, apr_table_t *headers,
                                 const md_http_stream_t *stream, apr_pool_t *p);

/** A description of the last transport error ("connecting to x: Connection refused"), or NULL. */
const char *md_http_last_error(const md_http_t *http);

#endif /* md_http_h */
