/* md_http_transport: md_transport_t on md_http (see md_http_transport.h).
 *
 * Per process, under a mutex: a pool of its own and a list of idle clients. A request takes an
 * idle client (or makes one), runs without the mutex and puts the client back (at most
 * IDLE_MAX are kept, each with its open connection). When the process id is not the one the
 * list was made in, the process is a fork: the inherited list (and the connections in it) is
 * left alone, untouched, and a new one made.
 */
#include <pthread.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_http_transport.h"

#define IDLE_MAX 32 /* the job threads of a child (16) and its request threads at once */

typedef struct {
    md_transport_t t; /* first member: a md_transport_t* is a http_transport_t* */
    md_http_config_t config;
    pthread_mutex_t mutex;
    pid_t pid;                /* the process the fields below belong to */
    apr_pool_t *pool;         /* unmanaged, one per process */
    apr_array_header_t *idle; /* md_http_t*, in 'pool' */
} http_transport_t;

typedef struct {
    md_http_t *http;
    apr_pool_t *pool; /* the client's, a child of the transport's per-process pool */
} client_t;

/* Under the mutex. */
static apr_status_t ensure_process(http_transport_t *ht)
{
    apr_status_t rv;

    if (ht->pool && ht->pid == getpid()) {
        return APR_SUCCESS;
    }
    rv = apr_pool_create_unmanaged_ex(&ht->pool, NULL, NULL);
    if (APR_SUCCESS != rv) {
        ht->pool = NULL;
        return rv;
    }
    ht->idle = apr_array_make(ht->pool, IDLE_MAX, sizeof(client_t));
    ht->pid = getpid();
    return APR_SUCCESS;
}

static apr_status_t client_get(client_t *client, http_transport_t *ht)
{
    apr_status_t rv;

    pthread_mutex_lock(&ht->mutex);
    rv = ensure_process(ht);
    if (APR_SUCCESS == rv && ht->idle->nelts) {
        *client = *(client_t *)apr_array_pop(ht->idle);
    }
    else if (APR_SUCCESS == rv) {
        rv = apr_pool_create(&client->pool, ht->pool);
        if (APR_SUCCESS == rv) {
            rv = md_http_create(&client->http, client->pool, &ht->config);
        }
    }
    pthread_mutex_unlock(&ht->mutex);
    return rv;
}

static void client_put(client_t *client, http_transport_t *ht, int is_healthy)
{
    pthread_mutex_lock(&ht->mutex);
    if (ht->pid == getpid() && is_healthy && ht->idle->nelts < IDLE_MAX) {
        *(client_t *)apr_array_push(ht->idle) = *client;
    }
    else if (ht->pid == getpid()) {
        apr_pool_destroy(client->pool);
    }
    pthread_mutex_unlock(&ht->mutex);
}

static apr_status_t t_post(int *pstatus, const char **pbody, apr_size_t *plen, md_transport_t *t,
                           const md_transport_req_t *req, apr_pool_t *p)
{
    http_transport_t *ht = (http_transport_t *)t;
    md_http_response_t *resp = NULL;
    client_t client;
    apr_status_t rv;

    rv = client_get(&client, ht);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = md_http_post(&resp, client.http, req->url, "application/json", req->body, req->len,
                      req->headers, p);
    client_put(&client, ht, APR_SUCCESS == rv);
    if (APR_SUCCESS == rv) {
        *pstatus = resp->status;
        *pbody = resp->body;
        *plen = resp->body_len;
    }
    return rv;
}

static apr_status_t t_post_stream(int *pstatus, md_transport_t *t, const md_transport_req_t *req,
                                  md_transport_data_cb *cb, void *baton, apr_pool_t *p)
{
    http_transport_t *ht = (http_transport_t *)t;
    md_http_stream_t stream = { cb, baton };
    apr_table_t *headers = req->headers ? apr_table_copy(p, req->headers) : apr_table_make(p, 1);
    client_t client;
    apr_status_t rv;

    rv = client_get(&client, ht);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    apr_table_set(headers, "Content-Type", "application/json");
    rv = md_http_post_stream(pstatus, client.http, req->url, req->body, req->len, headers, &stream,
                             p);
    /* a stream its callback ended leaves the connection in the middle of a body */
    client_put(&client, ht, 0);
    return rv;
}

/* With the pool of the transport, in the process that made the clients: they go too. */
static apr_status_t transport_cleanup(void *data)
{
    http_transport_t *ht = data;

    pthread_mutex_lock(&ht->mutex);
    if (ht->pool && ht->pid == getpid()) {
        apr_pool_destroy(ht->pool);
    }
    ht->pool = NULL;
    pthread_mutex_unlock(&ht->mutex);
    return APR_SUCCESS;
}

apr_status_t md_http_transport_make(md_transport_t **ptransport, const md_http_config_t *config,
                                    apr_pool_t *p)
{
    http_transport_t *ht = apr_pcalloc(p, sizeof(*ht));

    ht->config = *config;
    ht->config.user_agent = config->user_agent ? apr_pstrdup(p, config->user_agent) : NULL;
    ht->config.ca_file = config->ca_file ? apr_pstrdup(p, config->ca_file) : NULL;
    ht->config.client_cert_pem = config->client_cert_pem;
    ht->config.client_key_pem = config->client_key_pem;
    ht->config.proxy_url = NULL; /* a store in the data center is not reached through the CA's
                                  * proxy */
    ht->config.proxy_ca_file = NULL;
    ht->config.is_unshared = 1;
    pthread_mutex_init(&ht->mutex, NULL);
    ht->t.post = t_post;
    ht->t.post_stream = t_post_stream;
    ht->t.baton = ht;
    /* a forked child leaves what belongs to its parent alone (ensure_process) */
    apr_pool_cleanup_register(p, ht, transport_cleanup, apr_pool_cleanup_null);
    *ptransport = &ht->t;
    return APR_SUCCESS;
}
