/* md_store: the store interface. Everything the module persists goes through it, so that a store
 * on a shared engine can replace the file system one (md_store_fs.h) later.
 *
 * Values are addressed by (group, name, aspect): group is a top-level area (domains, staging, ...),
 * name usually an MD name or account id, aspect a file name such as "md.json". Private keys are
 * encrypted with the store key in the groups that need it (accounts, staging); the store decides.
 * Every save is atomic: a reader sees the old value or the new one.
 */
#ifndef md_store_h
#define md_store_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_json.h"
#include "md_crypt.h"

/* Length of the store key (md_store.json's "key") that encrypts and seals private keys. */
#define MD_STORE_KEY_LEN 48

/* Archived sets kept per MD (archive/<md>.N): the newest ones; older are removed when a new set
 * is activated. */
#define MD_STORE_ARCHIVE_KEEP 10

typedef enum {
    MD_SG_NONE, /* top level files: md_store.json, httpd.json, fallback key */
    MD_SG_ACCOUNTS,
    MD_SG_CHALLENGES,
    MD_SG_DOMAINS,
    MD_SG_STAGING,
    MD_SG_ARCHIVE,
    MD_SG_TMP,
    MD_SG_OCSP,
    MD_SG_COUNT,
} md_store_group_t;

typedef enum {
    MD_SV_TEXT,  /* const char* */
    MD_SV_JSON,  /* md_json_t* */
    MD_SV_PKEY,  /* md_pkey_t* */
    MD_SV_CHAIN, /* apr_array_header_t* of md_cert_t*, leaf first */
} md_store_vtype_t;

typedef struct md_store_t md_store_t;

/* A lock held in the store (md_store_lock()). Each store implementation makes its own lock
 * objects with this as their first member. */
typedef struct md_store_lock_t md_store_lock_t;
struct md_store_lock_t {
    md_store_t *store; /* the store that made it: md_store_unlock() goes there */
    const char *name;  /* what is locked */
    apr_time_t stamp;  /* what an earlier holder left with md_store_lock_stamp(), 0 if none */
};

/* Called for each name found by md_store_iter_names() (or aspect by md_store_iter_aspects());
 * return 0 to stop. */
typedef int md_store_name_cb(void *baton, const char *name, apr_pool_t *ptemp);

struct md_store_t {
    apr_status_t (*load)(md_store_t *store, md_store_group_t group, const char *name,
                         const char *aspect, md_store_vtype_t vtype, void **pvalue, apr_pool_t *p);
    apr_status_t (*save)(md_store_t *store, md_store_group_t group, const char *name,
                         const char *aspect, md_store_vtype_t vtype, const void *value,
                         apr_pool_t *p);
    apr_status_t (*remove)(md_store_t *store, md_store_group_t group, const char *name,
                           const char *aspect, apr_pool_t *p);
    apr_status_t (*purge)(md_store_t *store, md_store_group_t group, const char *name,
                          apr_pool_t *p);
    apr_status_t (*iter_names)(md_store_name_cb *cb, void *baton, md_store_t *store,
                               md_store_group_t group, apr_pool_t *p);
    apr_status_t (*activate)(md_store_t *store, const char *name, apr_pool_t *p);
    apr_status_t (*get_fname)(const char **pfname, md_store_t *store, md_store_group_t group,
                              const char *name, const char *aspect, apr_pool_t *p);
    apr_status_t (*set_aside)(const char **pnewname, md_store_t *store, md_store_group_t group,
                              const char *name, const char *aspect, apr_pool_t *p);
    apr_status_t (*save_regenerable)(md_store_t *store, md_store_group_t group, const char *name,
                                     const char *aspect, md_store_vtype_t vtype, const void *value,
                                     apr_pool_t *p);
    apr_status_t (*flush)(md_store_t *store, apr_pool_t *p);
    apr_status_t (*get_version)(const char **pversion, md_store_t *store, md_store_group_t group,
                                const char *name, const char *aspect, apr_pool_t *p);
    apr_status_t (*iter_aspects)(md_store_name_cb *cb, void *baton, md_store_t *store,
                                 md_store_group_t group, const char *name, apr_pool_t *p);
    apr_status_t (*get_modified)(apr_time_t *pmtime, md_store_t *store, md_store_group_t group,
                                 const char *name, const char *aspect, apr_pool_t *p);
    apr_status_t (*lock)(md_store_lock_t **plock, md_store_t *store, const char *name,
                         apr_interval_time_t max_wait, apr_pool_t *p);
    apr_status_t (*unlock)(md_store_lock_t *lock);
    apr_status_t (*lock_stamp)(md_store_lock_t *lock, apr_time_t stamp);
};

/** Directory name of a group ("domains", ...). */
const char *md_store_group_name(md_store_group_t group);

/**
 * Load a value. APR_ENOENT: not there (often fine). APR_EINVAL: there but unreadable (garbage,
 * wrong pass); the error is logged naming the file. *pvalue lives in 'p'.
 */
apr_status_t md_store_load(md_store_t *store, md_store_group_t group, const char *name,
                           const char *aspect, md_store_vtype_t vtype, void **pvalue,
                           apr_pool_t *p);
/** Save a value atomically, creating the name's directory as needed. */
apr_status_t md_store_save(md_store_t *store, md_store_group_t group, const char *name,
                           const char *aspect, md_store_vtype_t vtype, const void *value,
                           apr_pool_t *p);
/**
 * Save a value that can be regenerated when lost (md.json from the configuration, a fallback
 * certificate, a job's record, order and challenge answers: after a crash the job redoes them; a
 * staged copy of an account that another job saved durably). Readers see the old or the new
 * value as with md_store_save(), but the write is not flushed to disk on its own:
 * md_store_flush() makes all such writes durable at once, so a start-up that writes thousands of
 * them pays for one flush instead of thousands.
 */
apr_status_t md_store_save_regenerable(md_store_t *store, md_store_group_t group, const char *name,
                                       const char *aspect, md_store_vtype_t vtype,
                                       const void *value, apr_pool_t *p);
/**
 * An opaque version of a stored value: it changes whenever the value is written, so facts derived
 * from a value (a certificate's validity, whether a key matches) can be remembered across
 * restarts without reading and parsing it again. APR_ENOENT if the value does not exist.
 */
apr_status_t md_store_get_version(const char **pversion, md_store_t *store, md_store_group_t group,
                                  const char *name, const char *aspect, apr_pool_t *p);
/** Make all writes so far durable. */
apr_status_t md_store_flush(md_store_t *store, apr_pool_t *p);
/** Remove one value; missing is fine. */
apr_status_t md_store_remove(md_store_t *store, md_store_group_t group, const char *name,
                             const char *aspect, apr_pool_t *p);
/** Remove everything stored under (group, name); missing is fine. */
apr_status_t md_store_purge(md_store_t *store, md_store_group_t group, const char *name,
                            apr_pool_t *p);
/** Call 'cb' for each name in 'group'. */
apr_status_t md_store_iter_names(md_store_name_cb *cb, void *baton, md_store_t *store,
                                 md_store_group_t group, apr_pool_t *p);
/** Call 'cb' for each aspect stored under (group, name); none (or no such name) is fine. */
apr_status_t md_store_iter_aspects(md_store_name_cb *cb, void *baton, md_store_t *store,
                                   md_store_group_t group, const char *name, apr_pool_t *p);
/** When a value was last written. APR_ENOENT if it does not exist. */
apr_status_t md_store_get_modified(apr_time_t *pmtime, md_store_t *store, md_store_group_t group,
                                   const char *name, const char *aspect, apr_pool_t *p);
/**
 * Make the staged set of 'name' live: staging/<name> becomes domains/<name>, the previous
 * domains/<name> moves to archive/<name>.N. Only call after the set has been checked. A crash at
 * any point leaves either the old or the new set in domains/ (recovered at the next call).
 */
apr_status_t md_store_activate(md_store_t *store, const char *name, apr_pool_t *p);
/** Path of a value for consumers that need files (mod_ssl); in 'p'. */
apr_status_t md_store_get_fname(const char **pfname, md_store_t *store, md_store_group_t group,
                                const char *name, const char *aspect, apr_pool_t *p);
/**
 * Rename a broken value out of the way ("md.json" -> "md.json.broken-<time>") so it is kept for
 * inspection but no longer read. *pnewname (if not NULL) gets the new file name.
 */
apr_status_t md_store_set_aside(const char **pnewname, md_store_t *store, md_store_group_t group,
                                const char *name, const char *aspect, apr_pool_t *p);

/**
 * Take the lock 'name' (an MD name) that all holders of the store share: all servers using the
 * same store (MDStoreLocks) and all processes and threads of each. Waits up to 'max_wait' (0: not
 * at all) for another holder to let go. Locks of different names are independent. A lock is let
 * go by md_store_unlock(), when 'p' is destroyed, and when its process ends, so that a crashed
 * holder does not block the others. *plock lives in 'p'.
 * APR_EBUSY: another holder did not let go within 'max_wait'. Other codes: the lock could not be
 * taken at all (logged with the reason).
 */
apr_status_t md_store_lock(md_store_lock_t **plock, md_store_t *store, const char *name,
                           apr_interval_time_t max_wait, apr_pool_t *p);
/** Let go of a lock from md_store_lock() (again is fine). */
apr_status_t md_store_unlock(md_store_lock_t *lock);
/**
 * Leave 'stamp' (e.g. when the holder finished a renewal) with a held lock: later holders of the
 * same name find it in their lock's 'stamp', so one that waited can see that the work was done.
 */
apr_status_t md_store_lock_stamp(md_store_lock_t *lock, apr_time_t stamp);

/* ---- for store implementations -------------------------------------------------------------
 * Every store keeps a value as the bytes the file store has in its file, so that stores can be
 * copied into each other byte for byte (a2md migrate). */

/** Groups whose private keys are encrypted with the store key (accounts, staging). */
int md_store_group_is_encrypted(md_store_group_t group);

/**
 * The bytes of 'value' as the file store writes them: text as is, JSON indented, keys as PEM
 * (encrypted with the store key 'key' in the groups of md_store_group_is_encrypted()), chains
 * as PEM. *pdata lives in 'p'.
 */
apr_status_t md_store_encode(const char **pdata, apr_size_t *plen, md_store_group_t group,
                             md_store_vtype_t vtype, const void *value,
                             const unsigned char key[MD_STORE_KEY_LEN], apr_pool_t *p);

/**
 * The value of type 'vtype' in the 'len' bytes of 'data' (as md_store_encode() made them);
 * plain key PEM is wiped from 'data' after parsing. APR_EINVAL when the bytes are not such a
 * value (*perr, may be NULL, gets the JSON parser's reason). *pvalue lives in 'p'.
 */
apr_status_t md_store_decode(void **pvalue, md_store_group_t group, md_store_vtype_t vtype,
                             char *data, apr_size_t len, const unsigned char key[MD_STORE_KEY_LEN],
                             const char **perr, apr_pool_t *p);

/**
 * Staged files that belong to the job, not to the certificate set (they do not go live at
 * activation), and files set aside.
 */
int md_store_is_job_file(const char *fname);

/**
 * Make 'store' read only: saves, removals, purges, set-asides and activation fail with
 * APR_EACCES (a command that only looks and tries one of them is a bug).
 */
void md_store_make_readonly(md_store_t *store);

/* Convenience wrappers. */
apr_status_t md_store_load_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, md_json_t **pjson, apr_pool_t *p);
apr_status_t md_store_save_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const md_json_t *json, apr_pool_t *p);

#endif /* md_store_h */
