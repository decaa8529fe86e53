/* md_store_etcd_int: what the files of the etcd store share (md_store_etcd.c: values, the local
 * copy; md_store_etcd_lock.c: locks and the lease; md_store_etcd_activate.c: activation and the
 * watch). Not for use outside src/store/md_store_etcd*.c.
 */
#ifndef md_store_etcd_int_h
#define md_store_etcd_int_h

#include <pthread.h>
#include <sys/types.h>

#include <apr_hash.h>
#include <apr_thread_proc.h>

#include "md_etcd.h"
#include "md_store.h"

/* The thread that keeps a process's lease alive. */
typedef struct md_etcd_keeper_t md_etcd_keeper_t;
struct md_etcd_keeper_t {
    apr_thread_t *thread;
    pthread_mutex_t mutex; /* guards 'stop'; 'wake' is signalled when it is set */
    pthread_cond_t wake;
    int stop; /* tells it to end */
};

/* The locks and the lease of one process (a forked child starts with none of its parent's). */
typedef struct md_etcd_lease_state_t md_etcd_lease_state_t;
struct md_etcd_lease_state_t {
    pid_t pid;                /* the process they belong to */
    apr_pool_t *pool;         /* unmanaged, the process's own */
    apr_hash_t *held;         /* name -> etcd lock (md_store_etcd_lock.c), locks held now */
    apr_int64_t lease;        /* the lease the locks are attached to, 0 for none */
    int users;                /* locks held or being taken: the lease ends at 0 */
    md_etcd_keeper_t *keeper; /* NULL when none runs */
};

typedef struct md_store_etcd_t md_store_etcd_t;
struct md_store_etcd_t {
    md_store_t s; /* first member: a md_store_t* is a md_store_etcd_t* */
    md_etcd_t *etcd;
    md_store_t *local;        /* the file store: the key, and the copy of the mirrored groups */
    const unsigned char *key; /* MD_STORE_KEY_LEN bytes, the local file store's */
    const char *prefix;       /* without a trailing '/' */
    const char *origin;       /* "<host>:<pid>" of the opening process, in every value's header */
    pid_t opener;             /* the opening process: the one that keeps the local copy */
    apr_interval_time_t lock_ttl;
    int is_readonly;
    pthread_mutex_t mutex; /* guards the fields below */
    int is_key_checked;    /* P/store.json was found to hold this key's fingerprint */
    md_etcd_lease_state_t ls;
};

/* Whether this process keeps 'group' in the local copy as well (and reads it from there while
 * etcd is away): the mirrored groups, in the process that opened the store (the server's parent,
 * or a2md). The server's children use etcd only: they may not read or write the local copy. */
int md_store_etcd_has_copy(const md_store_etcd_t *es, md_store_group_t group);

/* Keys: P/<group>/<name>/<aspect>, P/top/<aspect>, P/<group>/<name>/ (with the '/'), P/<group>/ */
const char *md_store_etcd_key(md_store_etcd_t *es, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p);
const char *md_store_etcd_dir(md_store_etcd_t *es, md_store_group_t group, const char *name,
                              apr_pool_t *p);
const char *md_store_etcd_lock_key(md_store_etcd_t *es, const char *name, apr_pool_t *p);

/* A stored value (header and body, sealed when it holds a plain private key) for 'data'. */
apr_status_t md_store_etcd_value_make(const char **pvalue, apr_size_t *plen, md_store_etcd_t *es,
                                      const char *data, apr_size_t len, apr_pool_t *p);

/* The body of the stored value in 'kv' (opened when sealed); *pmtime and *porigin (may be NULL)
 * from its header. APR_EINVAL (logged, naming the key) for what this store key cannot open. */
apr_status_t md_store_etcd_value_read(char **pdata, apr_size_t *plen, apr_time_t *pmtime,
                                      const char **porigin, md_store_etcd_t *es,
                                      const md_etcd_kv_t *kv, apr_pool_t *p);

/* Make sure P/store.json holds this store's key fingerprint before anything is written.
 * APR_EINVAL (logged) for another key, APR_EAGAIN while etcd is away. */
apr_status_t md_store_etcd_check_key(md_store_etcd_t *es, apr_pool_t *p);

/* Non-zero when this process holds the lock of 'name': *prev gets the revision its lock key was
 * created with (md_store_etcd_lock.c). */
int md_store_etcd_holds(apr_int64_t *prev, md_store_etcd_t *es, const char *name);

/* Add the guard of 'name' to 'txn' when a write in 'group' needs it (this process holds the lock
 * and the group is staging or domains); non-zero when it did. */
int md_store_etcd_guard(md_etcd_txn_t *txn, md_store_etcd_t *es, md_store_group_t group,
                        const char *name, apr_pool_t *p);

/* Log that a guarded write of 'name' found the lock taken over; returns APR_EBUSY. */
apr_status_t md_store_etcd_lost_lock(md_store_etcd_t *es, const char *name, const char *what,
                                     apr_pool_t *p);

/* The store's functions of the other files. */
apr_status_t md_store_etcd_lock(md_store_lock_t **plock, md_store_t *store, const char *name,
                                apr_interval_time_t max_wait, apr_pool_t *p);
apr_status_t md_store_etcd_unlock(md_store_lock_t *lock);
apr_status_t md_store_etcd_lock_stamp(md_store_lock_t *lock, apr_time_t stamp);
apr_status_t md_store_etcd_activate(md_store_t *store, const char *name, apr_pool_t *p);

#endif /* md_store_etcd_int_h */
