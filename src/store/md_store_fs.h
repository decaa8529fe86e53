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

/** The store's base directory. */
const char *md_store_fs_base(md_store_t *store);

/**
 * Give the directories a child process writes (challenges, staging, ocsp) to 'uid'/'gid' (-1
 * leaves that id as it is) and make sure the others are not writable by them. Called by the
 * parent when it runs as root.
 */
apr_status_t md_store_fs_set_owner(md_store_t *store, long uid, long gid, apr_pool_t *p);

#endif /* md_store_fs_h */
