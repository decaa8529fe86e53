/* md_store_fs: the store in a directory of the file system (the layout of the stock mod_md).
 *
 *   md_store.json     store version and the 48-byte key that encrypts account and staged keys
 *   accounts/<id>/    account.json, account.pem (encrypted)
 *   challenges/<dns>/ answers to pending challenges (readable by the child user)
 *   domains/<md>/     md.json, privkey*.pem (plain, 0600), pubcert*.pem, job.json
 *   staging/<md>/     a renewal in progress or done (keys encrypted), written by the child user
 *   archive/<md>.N/   earlier domains/<md> sets
 *   tmp/              scratch for activation
 *   httpd.json, fallback-privkey.pem, ocsp/
 *   locks/<name>.lock  MDStoreLocks: one lock file per MD (md_store_fs_lock.c), made on first use
 */
#ifndef md_store_fs_h
#define md_store_fs_h

#include <apr_pools.h>

#include "md_store.h"

/**
 * Open (and create, when missing) the store at 'path'. A missing md_store.json is created with a
 * fresh random key; a present but unreadable one is an error (APR_EINVAL, logged with the reason):
 * it holds the key to all encrypted keys in the store and is never silently replaced.
 * The store lives in 'p'.
 */
apr_status_t md_store_fs_open(md_store_t **pstore, const char *path, apr_pool_t *p);

/**
 * Open the existing store at 'path' for reading only (for commands that only look): nothing is
 * created, upgraded, recovered or written; saves, removals, set-asides and activation fail with
 * APR_EACCES. APR_ENOENT (not logged: the caller names the path) when 'path' holds no store, i.e.
 * no md_store.json; APR_EINVAL (logged) when md_store.json is unusable or of an older version
 * that first needs the upgrade a writing open makes. The store lives in 'p'.
 */
apr_status_t md_store_fs_open_readonly(md_store_t **pstore, const char *path, apr_pool_t *p);

/** The store's base directory. */
const char *md_store_fs_base(md_store_t *store);

/**
 * The store key from md_store.json (MD_STORE_KEY_LEN bytes), which lives as long as the store:
 * the etcd store (md_store_etcd.h) keeps its secrets under the key of its local file store.
 */
const unsigned char *md_store_fs_key(md_store_t *store);

/**
 * Give the directories a child process writes (challenges, staging, ocsp) to 'uid'/'gid' (-1
 * leaves that id as it is) and make sure the others are not writable by them. Called by the
 * parent when it runs as root.
 */
apr_status_t md_store_fs_set_owner(md_store_t *store, long uid, long gid, apr_pool_t *p);

/**
 * md_store_lock() of the file system store (md_store_fs_lock.c): an open file description lock
 * (fcntl F_OFD_SETLK, as NFS has them too) on locks/<name>.lock, polled until 'max_wait'. It
 * excludes other processes and other opens in the same process alike, and the kernel lets go
 * of it when the holder dies. Lock files made by root are given to the owner of staging/ (the
 * server's User), so that its children can lock them as well.
 */
apr_status_t md_store_fs_lock(md_store_lock_t **plock, md_store_t *store, const char *name,
                              apr_interval_time_t max_wait, apr_pool_t *p);
/** md_store_unlock() of the file system store. */
apr_status_t md_store_fs_unlock(md_store_lock_t *lock);
/** md_store_lock_stamp() of the file system store: the stamp is the lock file's content. */
apr_status_t md_store_fs_lock_stamp(md_store_lock_t *lock, apr_time_t stamp);

/**
 * Make locks/ (for MDStoreLocks) and, as root, give it to the owner of staging/: call in the
 * parent after md_store_fs_set_owner(), so that the children can make their lock files.
 */
apr_status_t md_store_fs_locks_prepare(md_store_t *store, apr_pool_t *p);

#endif /* md_store_fs_h */
