/* md_transport: a request/response channel that a layer which must not include the http layer
 * can be given from above.
 *
 * The etcd store (src/store/) talks to etcd's JSON gateway over HTTP, but `store` and `http` are
 * siblings in the layering (`acme` -> `http`, `store` -> `core`): the store may not include
 * md_http.h. So the store is handed an md_transport_t, this small interface defined in the core,
 * and the glue that opens the store (src/mod/, src/cli/) makes one on the http client with
 * md_http_transport_make() (src/http/md_http_transport.h). The store sees POST requests and
 * answers, nothing of curl or of md_http.
 *
 * Implementations must be safe to call from several threads at once and in a process forked from
 * the one that made the transport (each process then uses connections of its own).
 */
#ifndef md_transport_h
#define md_transport_h

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct md_transport_t md_transport_t;

/**
 * Gets the pieces of a streamed response as they arrive ('data', 'len' > 0), and, about once a
 * second while nothing arrives, a tick ('data' NULL, 'len' 0). Return non-zero to go on, 0 to
 * end the request (md_transport_t.post_stream() then returns APR_SUCCESS).
 */
typedef int md_transport_data_cb(void *baton, const char *data, apr_size_t len);

/* One request: 'body' ('len' bytes, content type application/json) POSTed to 'url', with the
 * extra request 'headers' (may be NULL). */
typedef struct md_transport_req_t md_transport_req_t;
struct md_transport_req_t {
    const char *url;
    const char *body;
    apr_size_t len;
    apr_table_t *headers;
};

struct md_transport_t {
    /**
     * Send 'req'. APR_SUCCESS when an answer arrived, whatever its status: *pstatus is the HTTP
     * status and *pbody (NUL terminated, *plen bytes, in 'p') the body. A transport failure
     * returns APR_ECONNREFUSED, APR_ETIMEDOUT or APR_EGENERAL (logged at debug level with the
     * reason).
     */
    apr_status_t (*post)(int *pstatus, const char **pbody, apr_size_t *plen, md_transport_t *t,
                         const md_transport_req_t *req, apr_pool_t *p);
    /**
     * Send 'req', but hand the response body to 'cb' as it arrives, with no overall time limit,
     * until the server ends it or 'cb' returns 0. *pstatus is the HTTP status.
     */
    apr_status_t (*post_stream)(int *pstatus, md_transport_t *t, const md_transport_req_t *req,
                                md_transport_data_cb *cb, void *baton, apr_pool_t *p);
    void *baton; /* the implementation's own */
};

#endif /* md_transport_h */
