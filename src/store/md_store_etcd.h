/* md_store_etcd: the store on etcd v3, shared by all servers of a fleet.
 *
 * Layout under the prefix P (keys are text, values the bytes of the file store's files, see
 * md_store_encode(), behind a one line header "md1 <mtime> <p|s> <origin>\n": when it was
 * written, 's' when sealed (see below), and by whom: the host name and process id of the server
 * (its parent process) or a2md that opened the store):
 *
 *   P/store.json                  {"store": {"version": 3}, "key-id": <md_seal_key_id()>}
 *   P/top/<aspect>                what the file store has at its top (fallback-privkey.pem, ...)
 *   P/<group>/<name>/<aspect>     accounts, challenges, domains, staging, archive, ocsp
 *   P/locks/<name>                the lock of an MD, attached to its holder's lease
 *   P/stamps/<name>               the time its last holder finished a renewal
 *
 * Secrets: the store key is the one of the local file store in MDStoreDir (its md_store.json),
 * a copy of which every server of the fleet holds; it never goes into etcd. Keys in accounts/
 * and staging/ are PEM encrypted with it as in the file store; any other value that holds a
 * plain private key (the keys of live and archived sets, the fallback key) is sealed with it
 * (md_seal.h) before it goes to etcd. P/store.json holds a fingerprint of the key: a server
 * with another key refuses to start instead of writing what the others cannot read.
 *
 * The local copy: domains/, ocsp/ and the top values are mirrored into the local file store
 * whenever they are read or written. mod_ssl gets its files from there (md_store_get_fname()),
 * and while etcd is not available these groups are read from (and written to) the local copy,
 * so that a server keeps starting and serving; the other groups wait for etcd (APR_EAGAIN).
 *
 * Locks (md_store_etcd_lock.c): P/locks/<name> is created in a transaction only when absent,
 * attached to a lease of the holding process that a thread keeps alive; the lease, and so the
 * lock, ends with the process (at most 'lock_ttl' after a crash). While a process holds the lock
 * of an MD, every write it makes to staging/<name>/ and domains/<name>/ (and its activation) is
 * a transaction that also checks that the lock key still has the revision it was created with:
 * a server that lost its lease cannot overwrite what the next holder did (APR_EBUSY).
 */
#ifndef md_store_etcd_h
#define md_store_etcd_h

#include <apr_pools.h>

#include "md_etcd.h"
#include "md_store.h"

#define MD_STORE_ETCD_LOCK_TTL_DEF apr_time_from_sec(30)

/* md_store_etcd_open() flags */
#define MD_STORE_ETCD_READONLY 0x01 /* nothing is created or changed (a2md's looking commands) */

/**
 * Open the store under 'prefix' (e.g. "/mod_md") of the cluster 'etcd', keeping its secrets
 * under the key of the file store 'local' and its local copy there. 'lock_ttl' is the lease time
 * of locks (0 for MD_STORE_ETCD_LOCK_TTL_DEF). A store under a new prefix is created (with the
 * local key's fingerprint). APR_EINVAL (logged with the fix) when the prefix holds a store of
 * another key; APR_ENOENT when there is no store and MD_STORE_ETCD_READONLY is set. When etcd
 * is not available, the store opens all the same (what is mirrored is read from the local copy)
 * and checks the key before its first write.
 * The store lives in 'p'.
 */
apr_status_t md_store_etcd_open(md_store_t **pstore, md_etcd_t *etcd, const char *prefix,
                                apr_interval_time_t lock_ttl, md_store_t *local, int flags,
                                apr_pool_t *p);

/** "etcd <endpoints> <prefix>", for messages. */
const char *md_store_etcd_describe(md_store_t *store, apr_pool_t *p);

/**
 * Gets a change of the shared store that another server made: a set of MD 'name' in 'group'
 * (MD_SG_STAGING: a renewal staged a complete certificate set; MD_SG_DOMAINS: a set went live).
 * Return 0 to stop watching.
 */
typedef int md_store_change_cb(void *baton, md_store_group_t group, const char *name,
                               apr_pool_t *ptemp);

/**
 * Watch the store for certificate sets that other servers stage or activate, calling 'cb' for
 * each (a staged set whenever a certificate chain of it is written, an activation once), and
 * with 'name' NULL about once a second (return 0 then to stop). Runs until 'cb' returns 0;
 * reconnects when etcd goes away (retrying every few seconds). Changes this server made are not
 * reported (the origin in the value's header tells). Meant for a thread of its own: the hook for
 * serving renewed certificates at once (MDActivation hot) on every server.
 */
apr_status_t md_store_etcd_watch(md_store_t *store, md_store_change_cb *cb, void *baton,
                                 apr_pool_t *p);

#endif /* md_store_etcd_h */
