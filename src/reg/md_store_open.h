/* md_store_open: opening the store a server (or a2md) is configured for: the file store in
 * MDStoreDir, and with MDStoreEtcd the etcd store on top of it (md_store_etcd.h).
 *
 * It lives in the registry layer because it joins two siblings below it: the etcd store
 * (src/store/) gets the http client (src/http/) as an md_transport_t made here, so the store
 * layer never includes the http layer. The glue of the module and of a2md share it.
 */
#ifndef md_store_open_h
#define md_store_open_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_store.h"

#define MD_STORE_ETCD_PREFIX_DEF "/mod_md"

typedef struct md_store_etcd_conf_t md_store_etcd_conf_t;
struct md_store_etcd_conf_t {
    apr_array_header_t *endpoints; /* const char*, from md_store_etcd_parse_endpoints() */
    const char *prefix;            /* key prefix, NULL for MD_STORE_ETCD_PREFIX_DEF */
    const char *ca_file;           /* PEM roots for https endpoints, NULL for the system's */
    const char *cert_file;         /* client certificate (PEM), NULL for none */
    const char *key_file;          /* its key, NULL when in cert_file */
    const char *user;              /* etcd auth user, NULL for none */
    const char *password_file;     /* a file whose first line is the user's password */
    apr_interval_time_t lock_ttl;  /* lease time of the MD locks, 0 for the default */
    apr_interval_time_t timeout;   /* of one request to etcd, 0 for the default (3s) */
    const char *user_agent;
};

/**
 * Parse a list of etcd client URLs as etcdctl's --endpoints takes them: comma separated,
 * "http://host:port" or "https://host:port" ("host:port" means http, a missing port 2379).
 * APR_EINVAL with *perr (in 'p') naming the bad one.
 */
apr_status_t md_store_etcd_parse_endpoints(apr_array_header_t **pendpoints, const char *text,
                                           const char **perr, apr_pool_t *p);

/**
 * Open the etcd store of 'conf' on top of the opened file store 'local' (its key and local
 * copy). 'flags' as for md_store_etcd_open(). Call md_http_global_init() first. Errors are
 * logged naming the setting to fix. The store lives in 'p'.
 */
apr_status_t md_store_open_etcd(md_store_t **pstore, md_store_t *local,
                                const md_store_etcd_conf_t *conf, int flags, apr_pool_t *p);

#endif /* md_store_open_h */
