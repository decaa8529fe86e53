/* md_etcd: a client of etcd v3 through its JSON gateway (etcd 3.4: POST /v3/kv/range, ...).
 *
 * Keys and values are bytes (base64 on the wire, done here). The client is shared by all threads
 * of a process and survives a fork (it keeps no connection itself: the md_transport_t does that,
 * per process). It knows several endpoints of one cluster and goes to the next when one does not
 * answer or has no leader; when none answers, the cluster counts as down for a few seconds, in
 * which calls fail at once with APR_EAGAIN (logged once when it goes down and once when it is
 * back), so that a server whose etcd is away does not wait for timeouts over and over.
 *
 * Return codes of every call: APR_SUCCESS; APR_ENOENT (a get found no key, a lease is unknown);
 * APR_EAGAIN: etcd is not available now (no endpoint answered, no leader, a timeout): try later;
 * APR_EACCES: etcd's authentication or permissions refused it (logged as an error naming the
 * fix); APR_EINVAL: etcd refused the request or answered what is not etcd's JSON (logged).
 */
#ifndef md_etcd_h
#define md_etcd_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "md_transport.h"

typedef struct md_etcd_config_t md_etcd_config_t;
struct md_etcd_config_t {
    apr_array_header_t *endpoints; /* const char*: "http://host:port" or "https://host:port" */
    const char *user;              /* etcd user (etcd's user/password auth), NULL for none */
    const char *password;          /* its password */
    apr_interval_time_t down_hold; /* how long a cluster that did not answer counts as down;
                                    * 0 for the default (5 seconds) */
};

typedef struct md_etcd_t md_etcd_t;

typedef struct md_etcd_kv_t md_etcd_kv_t;
struct md_etcd_kv_t {
    const char *key;
    const char *value; /* NUL terminated (may contain NULs), "" for keys only */
    apr_size_t len;
    apr_int64_t create_rev; /* revision that created the key */
    apr_int64_t mod_rev;    /* revision of its last change */
    apr_int64_t lease;      /* the lease it is attached to, 0 for none */
};

/**
 * A client of the cluster in 'config' (copied) talking through 'transport', living in 'p'.
 * APR_EINVAL when no endpoint is given.
 */
apr_status_t md_etcd_create(md_etcd_t **petcd, const md_etcd_config_t *config,
                            md_transport_t *transport, apr_pool_t *p);

/** The endpoints, comma separated, for messages. */
const char *md_etcd_endpoints(const md_etcd_t *etcd);

/** Non-zero when the cluster answered the last call (or none was made). */
int md_etcd_is_up(md_etcd_t *etcd);

/** The key 'key'; APR_ENOENT if it does not exist. With 'keys_only' the value is "". */
apr_status_t md_etcd_get(md_etcd_kv_t **pkv, md_etcd_t *etcd, const char *key, int keys_only,
                         apr_pool_t *p);

/** All keys starting with 'prefix', sorted, as md_etcd_kv_t* (none is fine). */
apr_status_t md_etcd_get_prefix(apr_array_header_t **pkvs, md_etcd_t *etcd, const char *prefix,
                                int keys_only, apr_pool_t *p);

/** Write 'key' (attached to 'lease' unless 0). *prevision (may be NULL) gets the revision. */
apr_status_t md_etcd_put(apr_int64_t *prevision, md_etcd_t *etcd, const char *key,
                         const char *value, apr_size_t len, apr_int64_t lease, apr_pool_t *p);

/** Delete 'key', or every key starting with it when 'is_prefix'. None is fine. */
apr_status_t md_etcd_delete(md_etcd_t *etcd, const char *key, int is_prefix, apr_pool_t *p);

/* ---- transactions: if all comparisons hold, do the operations, else read the 'else' key ---- */

typedef struct md_etcd_txn_t md_etcd_txn_t;

/** A new empty transaction in 'p'. */
md_etcd_txn_t *md_etcd_txn_make(apr_pool_t *p);
/** Compare: the key was created at revision 'create_rev' (0: the key does not exist). */
void md_etcd_txn_if_created(md_etcd_txn_t *txn, const char *key, apr_int64_t create_rev);
/** Compare: the key was last changed at revision 'mod_rev' (0: the key does not exist). */
void md_etcd_txn_if_modified(md_etcd_txn_t *txn, const char *key, apr_int64_t mod_rev);
/** Operation: write 'key' (attached to 'lease' unless 0). */
void md_etcd_txn_put(md_etcd_txn_t *txn, const char *key, const char *value, apr_size_t len,
                     apr_int64_t lease);
/** Operation: delete 'key', or all keys starting with it when 'is_prefix'. */
void md_etcd_txn_delete(md_etcd_txn_t *txn, const char *key, int is_prefix);
/** When a comparison fails: read 'key' (its kv goes to *pelse of md_etcd_txn_commit()). */
void md_etcd_txn_else_get(md_etcd_txn_t *txn, const char *key);
/** Number of operations in 'txn' (etcd allows 128 by default). */
int md_etcd_txn_ops(const md_etcd_txn_t *txn);

/**
 * Run 'txn' atomically. *psucceeded: all comparisons held and the operations were done;
 * *prevision (may be NULL) the revision after it; *pelse (may be NULL) the kv read by the
 * 'else' get when the comparisons failed (NULL when none or no such key).
 */
apr_status_t md_etcd_txn_commit(int *psucceeded, apr_int64_t *prevision, md_etcd_kv_t **pelse,
                                md_etcd_t *etcd, md_etcd_txn_t *txn, apr_pool_t *p);

/* ---- leases ---- */

/** A new lease of 'ttl' (whole seconds, at least 2) in *pid. */
apr_status_t md_etcd_lease_grant(apr_int64_t *pid, md_etcd_t *etcd, apr_interval_time_t ttl,
                                 apr_pool_t *p);
/** Renew lease 'id'; *pttl gets its time to live, 0 when it has expired (it is gone then). */
apr_status_t md_etcd_lease_keepalive(apr_interval_time_t *pttl, md_etcd_t *etcd, apr_int64_t id,
                                     apr_pool_t *p);
/** End lease 'id' now, deleting its keys; an unknown lease is fine. */
apr_status_t md_etcd_lease_revoke(md_etcd_t *etcd, apr_int64_t id, apr_pool_t *p);

/* ---- watches ---- */

/**
 * Gets each change under a watched prefix: 'kv' (value included) and whether it was a delete;
 * and, about once a second while nothing changes, a call with 'kv' NULL. Return 0 to end the
 * watch (md_etcd_watch() then returns APR_SUCCESS).
 */
typedef int md_etcd_watch_cb(void *baton, const md_etcd_kv_t *kv, int is_delete, apr_pool_t *ptemp);

/**
 * Watch the keys starting with 'prefix' from revision 'start_rev' (0: changes from now on),
 * calling 'cb' until it returns 0 or the connection ends. *plast gets the revision of the last
 * change delivered (unchanged when none). APR_EAGAIN when the stream broke or could not be made
 * (call again from *plast + 1); APR_ENOENT when 'start_rev' was compacted away (changes were
 * missed: the caller re-reads what it watches and starts from now).
 */
apr_status_t md_etcd_watch(apr_int64_t *plast, md_etcd_t *etcd, const char *prefix,
                           apr_int64_t start_rev, md_etcd_watch_cb *cb, void *baton, apr_pool_t *p);

#endif /* md_etcd_h */
