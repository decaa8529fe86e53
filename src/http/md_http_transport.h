/* md_http_transport: the md_transport_t (md_transport.h) of the http client, which the glue hands
 * to layers that may not include md_http.h (the etcd store).
 *
 * Requests go out on md_http clients that keep their connections to themselves (never the
 * process's shared connection cache) and are reused between requests: a few idle clients are
 * kept per process, and a process forked from the one that made the transport starts with none,
 * so that no two processes ever talk over the same socket.
 */
#ifndef md_http_transport_h
#define md_http_transport_h

#include <apr_pools.h>

#include "md_transport.h"
#include "md_http.h"

/**
 * A transport on md_http with the settings of 'config' (copied; its connections are always
 * unshared), living in 'p'. Call md_http_global_init() first.
 */
apr_status_t md_http_transport_make(md_transport_t **ptransport, const md_http_config_t *config,
                                    apr_pool_t *p);

#endif /* md_http_transport_h */
