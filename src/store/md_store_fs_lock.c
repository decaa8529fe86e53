/* md_store_fs_lock: md_store_lock() of the file system store (see md_store_fs.h).
 *
 * Servers that share a store directory (MDStoreLocks) must not renew the same MD at the same
 * time, nor activate its staged set twice. Each MD name has a lock file, locks/<name>.lock; a
 * holder keeps a write lock on it:
 *   1. open (create) the lock file; as root, give it and locks/ to the owner of staging/, the
 *      server's User, whose children take the same locks
 *   2. try the lock without blocking; while another holds it, sleep a little longer each time
 *      (20 ms up to 0.5 s) until 'max_wait' has passed: then APR_EBUSY
 *   3. read the stamp an earlier holder left in it (md_store_lock_stamp(): the file's content,
 *      a decimal apr_time_t)
 *   4. closing the file (md_store_unlock(), the pool's cleanup, the process's end) lets go
 * The locks are open file description locks (F_OFD_SETLK): unlike classic POSIX record locks
 * they exclude a second open in the same process too (two job threads), and closing some other
 * descriptor of the file does not drop them. NFS passes them to the server's lock manager.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "md_log.h"
#include "md_util.h"
#include "md_store_fs.h"

#define LOCK_DIR       "locks"
#define LOCK_SUFFIX    ".lock"
#define LOCK_POLL_MIN  apr_time_from_msec(20)
#define LOCK_POLL_MAX  apr_time_from_msec(500)
#define LOCK_STAMP_MAX 32 /* bytes of the stamp that are read */

typedef struct {
    md_store_lock_t l; /* first member: a md_store_lock_t* is a fs_lock_t* */
    apr_file_t *f;     /* the open lock file, NULL once let go */
} fs_lock_t;

static int is_one_segment(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* 1. As root: what root makes here must be usable by the children of the server's User. */
static void give_to_server_user(const char *path, const char *base, apr_pool_t *p)
{
    struct stat st;

    if (geteuid() != 0 || stat(md_util_path_join(p, base, "staging"), &st) != 0) {
        return;
    }
    if (chown(path, st.st_uid, st.st_gid) != 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_FROM_OS_ERROR(errno), p,
                      APLOGNO(13401) "store: cannot give the lock file %s to the server's User "
                                     "(uid %ld); its children cannot take that lock",
                      path, (long)st.st_uid);
    }
}

static apr_status_t make_lock_dir(const char *base, apr_pool_t *p)
{
    const char *dir = md_util_path_join(p, base, LOCK_DIR);
    apr_status_t rv = md_util_dir_make(dir, MD_FPROT_D_UONLY, p);

    if (APR_SUCCESS == rv) {
        give_to_server_user(dir, base, p);
    }
    return rv;
}

apr_status_t md_store_fs_locks_prepare(md_store_t *store, apr_pool_t *p)
{
    apr_status_t rv = make_lock_dir(md_store_fs_base(store), p);

    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(13404) "store: cannot make %s/" LOCK_DIR " (MDStoreLocks)",
                      md_store_fs_base(store));
    }
    return rv;
}

static apr_status_t open_lock_file(apr_file_t **pf, const char *base, const char *name,
                                   apr_pool_t *p)
{
    const char *path =
        md_util_path_join(p, base, LOCK_DIR, apr_pstrcat(p, name, LOCK_SUFFIX, NULL));
    apr_status_t rv;

    rv = make_lock_dir(base, p);
    if (APR_SUCCESS == rv) {
        rv = apr_file_open(pf, path, APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_CREATE,
                           MD_FPROT_F_UONLY, p);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(13402) "store: cannot open the lock file %s (MDStoreLocks)", path);
        return rv;
    }
    give_to_server_user(path, base, p);
    return APR_SUCCESS;
}

/* 2. APR_EBUSY while another holds it. */
static apr_status_t try_lock(apr_file_t *f)
{
    apr_os_file_t fd = -1;
    struct flock fl;

    apr_os_file_get(&fd, f);
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file */
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
        return APR_SUCCESS;
    }
    return (errno == EAGAIN || errno == EACCES) ? APR_EBUSY : APR_FROM_OS_ERROR(errno);
}

/* 3. 0 when there is none (or garbage). */
static apr_time_t read_stamp(apr_file_t *f)
{
    char buf[LOCK_STAMP_MAX + 1];
    apr_size_t len = LOCK_STAMP_MAX;
    apr_off_t off = 0;
    char *end = NULL;
    apr_int64_t n;

    if (APR_SUCCESS != apr_file_seek(f, APR_SET, &off)
        || APR_SUCCESS != apr_file_read(f, buf, &len)) {
        return 0;
    }
    buf[len] = '\0';
    n = apr_strtoi64(buf, &end, 10);
    return (end != buf && n > 0) ? (apr_time_t)n : 0;
}

apr_status_t md_store_fs_lock(md_store_lock_t **plock, md_store_t *store, const char *name,
                              apr_interval_time_t max_wait, apr_pool_t *p)
{
    fs_lock_t *lock;
    apr_file_t *f = NULL;
    apr_time_t until = apr_time_now() + (max_wait > 0 ? max_wait : 0), now;
    apr_interval_time_t nap = LOCK_POLL_MIN;
    apr_status_t rv;

    *plock = NULL;
    if (!is_one_segment(name)) {
        return APR_EINVAL;
    }
    rv = open_lock_file(&f, md_store_fs_base(store), name, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    while (APR_STATUS_IS_EBUSY(rv = try_lock(f)) && (now = apr_time_now()) < until) {
        apr_sleep((until - now < nap) ? until - now : nap);
        nap = (2 * nap < LOCK_POLL_MAX) ? 2 * nap : LOCK_POLL_MAX;
    }
    if (APR_SUCCESS != rv) {
        if (!APR_STATUS_IS_EBUSY(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                          APLOGNO(13403) "store: locking %s failed (MDStoreLocks)", name);
        }
        apr_file_close(f);
        return rv;
    }
    lock = apr_pcalloc(p, sizeof(*lock));
    lock->l.store = store;
    lock->l.name = apr_pstrdup(p, name);
    lock->l.stamp = read_stamp(f);
    lock->f = f;
    *plock = &lock->l;
    return APR_SUCCESS;
}

apr_status_t md_store_fs_lock_stamp(md_store_lock_t *l, apr_time_t stamp)
{
    fs_lock_t *lock = (fs_lock_t *)l;
    const char *text;
    apr_size_t len;
    apr_off_t off = 0;
    apr_status_t rv;

    if (!lock->f) {
        return APR_EINVAL; /* not held */
    }
    text = apr_psprintf(apr_file_pool_get(lock->f), "%" APR_TIME_T_FMT "\n", stamp);
    len = strlen(text);
    rv = apr_file_seek(lock->f, APR_SET, &off);
    if (APR_SUCCESS == rv) {
        rv = apr_file_trunc(lock->f, 0);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_file_write_full(lock->f, text, len, NULL);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_file_flush(lock->f);
    }
    if (APR_SUCCESS == rv) {
        l->stamp = stamp;
    }
    return rv;
}

/* 4. */
apr_status_t md_store_fs_unlock(md_store_lock_t *l)
{
    fs_lock_t *lock = (fs_lock_t *)l;
    apr_file_t *f = lock->f;

    lock->f = NULL;
    return f ? apr_file_close(f) : APR_SUCCESS;
}
