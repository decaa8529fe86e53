/* md_store_etcd_lock: md_store_lock() of the etcd store (see md_store_etcd.h).
 *
 * Taking the lock of an MD:
 *   1. the process's lease: granted on first need (TTL lock_ttl), kept alive by a thread of the
 *      process (every third of the TTL) for as long as the process holds any lock; when the last
 *      lock is let go the thread ends and the lease is revoked. A process that dies leaves its
 *      lease to expire, and etcd then deletes its lock keys.
 *   2. a transaction creates P/locks/<name> (value: who holds it) attached to the lease, only if
 *      the key does not exist; while it does, try again (100 ms, growing to 1 s) until
 *      'max_wait' has passed: APR_EBUSY
 *   3. the revision that created the key identifies this holding: writes to the MD's staging/
 *      and domains/ compare it (md_store_etcd_guard()), letting go deletes the key only if it is
 *      still ours
 *   4. P/stamps/<name> carries the stamp (md_store_lock_stamp()) to later holders.
 * A lock is let go by md_store_unlock() or when the pool it was taken in is destroyed.
 * The state lives per process (md_etcd_lease_state_t): a forked child inherits none of it.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_time.h"
#include "md_store_etcd_int.h"

#define POLL_MIN apr_time_from_msec(100)
#define POLL_MAX apr_time_from_sec(1)

typedef struct {
    md_store_lock_t l; /* first member: a md_store_lock_t* is an etcd_lock_t* */
    md_store_etcd_t *es;
    apr_int64_t rev; /* the revision that created our lock key */
    int is_held;
} etcd_lock_t;

/* Under es->mutex: the state of this process, made (again, after a fork) as needed. */
static apr_status_t state_get(md_etcd_lease_state_t **pls, md_store_etcd_t *es)
{
    md_etcd_lease_state_t *ls = &es->ls;
    apr_status_t rv;

    if (!ls->pool || ls->pid != getpid()) {
        /* what the parent had stays untouched: its thread does not exist here */
        memset(ls, 0, sizeof(*ls));
        rv = apr_pool_create_unmanaged_ex(&ls->pool, NULL, NULL);
        if (APR_SUCCESS != rv) {
            ls->pool = NULL;
            return rv;
        }
        ls->held = apr_hash_make(ls->pool);
        ls->pid = getpid();
    }
    *pls = ls;
    return APR_SUCCESS;
}

int md_store_etcd_holds(apr_int64_t *prev, md_store_etcd_t *es, const char *name)
{
    etcd_lock_t *lock = NULL;

    pthread_mutex_lock(&es->mutex);
    if (es->ls.pool && es->ls.pid == getpid()) {
        lock = apr_hash_get(es->ls.held, name, APR_HASH_KEY_STRING);
    }
    if (lock) {
        *prev = lock->rev;
    }
    pthread_mutex_unlock(&es->mutex);
    return lock != NULL;
}

/* ---- 1. the lease ----------------------------------------------------------------------------
 */

typedef struct {
    md_etcd_keeper_t k;
    md_store_etcd_t *es;
} keeper_ctx_t;

/* Sleeps 'nap' or until told to stop; non-zero when told. */
static int keeper_nap(md_etcd_keeper_t *k, apr_interval_time_t nap)
{
    apr_time_t until = apr_time_now() + nap;
    struct timespec ts;
    int stop;

    ts.tv_sec = (time_t)apr_time_sec(until);
    ts.tv_nsec = (long)apr_time_usec(until) * 1000;
    pthread_mutex_lock(&k->mutex);
    while (!k->stop && pthread_cond_timedwait(&k->wake, &k->mutex, &ts) == 0) {
        /* woken without a stop: sleep on */
    }
    stop = k->stop;
    pthread_mutex_unlock(&k->mutex);
    return stop;
}

static void keeper_stop(md_etcd_keeper_t *k)
{
    apr_status_t trv;

    pthread_mutex_lock(&k->mutex);
    k->stop = 1;
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->mutex);
    apr_thread_join(&trv, k->thread);
    pthread_cond_destroy(&k->wake);
    pthread_mutex_destroy(&k->mutex);
}

static void *APR_THREAD_FUNC keeper_main(apr_thread_t *thread, void *data)
{
    keeper_ctx_t *ctx = data;
    md_store_etcd_t *es = ctx->es;
    apr_interval_time_t ttl = 0;
    apr_pool_t *p = NULL;
    apr_int64_t lease;
    apr_status_t rv;

    apr_pool_create(&p, apr_thread_pool_get(thread));
    /* a third of the lease's time: two keepalives may get lost before it expires */
    while (!keeper_nap(&ctx->k, es->lock_ttl / 3)) {
        pthread_mutex_lock(&es->mutex);
        lease = es->ls.lease;
        pthread_mutex_unlock(&es->mutex);
        if (!lease) {
            continue; /* it expired: the next lock gets a new one */
        }
        rv = md_etcd_lease_keepalive(&ttl, es->etcd, lease, p);
        if (APR_SUCCESS == rv && ttl <= 0) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p,
                          APLOGNO(13116) "store: the lease of this server's locks in etcd %s "
                                         "expired (etcd was not reachable for longer than its "
                                         "%s): the MDs it renews are finished by whichever "
                                         "server locks them next",
                          es->prefix, md_duration_format(es->lock_ttl, p));
            pthread_mutex_lock(&es->mutex);
            if (es->ls.lease == lease) {
                es->ls.lease = 0; /* the next lock gets a new one */
            }
            pthread_mutex_unlock(&es->mutex);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* A lease for a new lock, with the keeper running. */
static apr_status_t lease_acquire(apr_int64_t *please, md_store_etcd_t *es, apr_pool_t *p)
{
    md_etcd_lease_state_t *ls = NULL;
    keeper_ctx_t *ctx;
    apr_int64_t lease = 0;
    apr_status_t rv;

    pthread_mutex_lock(&es->mutex);
    rv = state_get(&ls, es);
    if (APR_SUCCESS == rv && !ls->lease) {
        /* granting under the mutex: the other lockers of this process wait for this one lease */
        rv = md_etcd_lease_grant(&lease, es->etcd, es->lock_ttl, p);
        if (APR_SUCCESS == rv) {
            ls->lease = lease;
        }
    }
    if (APR_SUCCESS == rv && !ls->keeper) {
        ctx = apr_pcalloc(ls->pool, sizeof(*ctx));
        ctx->es = es;
        pthread_mutex_init(&ctx->k.mutex, NULL);
        pthread_cond_init(&ctx->k.wake, NULL);
        rv = apr_thread_create(&ctx->k.thread, NULL, keeper_main, ctx, ls->pool);
        if (APR_SUCCESS == rv) {
            ls->keeper = &ctx->k;
        }
    }
    *please = ls ? ls->lease : 0;
    if (ls) {
        ls->users++; /* also on failure: the caller releases */
    }
    pthread_mutex_unlock(&es->mutex);
    return rv;
}

/* A lock was let go (or not taken): after the last one, end the keeper and the lease. */
static void lease_release(md_store_etcd_t *es, apr_pool_t *p)
{
    md_etcd_lease_state_t *ls = &es->ls;
    md_etcd_keeper_t *keeper = NULL;
    apr_int64_t lease = 0;

    pthread_mutex_lock(&es->mutex);
    if (ls->pool && ls->pid == getpid() && ls->users > 0) {
        ls->users--;
    }
    if (ls->pool && ls->pid == getpid() && !ls->users) {
        keeper = ls->keeper;
        ls->keeper = NULL;
        lease = ls->lease;
        ls->lease = 0;
    }
    pthread_mutex_unlock(&es->mutex);
    if (keeper) {
        keeper_stop(keeper);
    }
    if (lease) {
        md_etcd_lease_revoke(es->etcd, lease, p);
    }
}

/* ---- 2.-4. locks -----------------------------------------------------------------------------
 */

static const char *stamp_key(md_store_etcd_t *es, const char *name, apr_pool_t *p)
{
    return apr_pstrcat(p, es->prefix, "/stamps/", name, NULL);
}

static apr_time_t read_stamp(md_store_etcd_t *es, const char *name, apr_pool_t *p)
{
    md_etcd_kv_t *kv = NULL;
    char *end = NULL;
    apr_int64_t n;

    if (APR_SUCCESS != md_etcd_get(&kv, es->etcd, stamp_key(es, name, p), 0, p)) {
        return 0;
    }
    n = apr_strtoi64(kv->value, &end, 10);
    return (end != kv->value && n > 0) ? (apr_time_t)n : 0;
}

/* 2. One attempt: APR_SUCCESS with *prev, APR_EBUSY while another holds it. */
static apr_status_t try_lock(apr_int64_t *prev, md_store_etcd_t *es, const char *key,
                             apr_int64_t lease, apr_pool_t *p)
{
    md_etcd_txn_t *txn = md_etcd_txn_make(p);
    md_etcd_kv_t *other = NULL;
    int ok = 0;
    apr_status_t rv;

    md_etcd_txn_if_created(txn, key, 0);
    md_etcd_txn_put(txn, key, es->origin, strlen(es->origin), lease);
    md_etcd_txn_else_get(txn, key);
    rv = md_etcd_txn_commit(&ok, prev, &other, es->etcd, txn, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (!ok) {
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "store: etcd lock %s held by %s", key,
                      other ? other->value : "?");
        return APR_EBUSY;
    }
    return APR_SUCCESS;
}

static apr_status_t lock_cleanup(void *data)
{
    md_store_lock_t *lock = data;

    md_store_etcd_unlock(lock);
    return APR_SUCCESS;
}

static apr_status_t wait_for_lock(apr_int64_t *prev, md_store_etcd_t *es, const char *key,
                                  apr_int64_t lease, apr_interval_time_t max_wait, apr_pool_t *p)
{
    apr_time_t until = apr_time_now() + (max_wait > 0 ? max_wait : 0), now;
    apr_interval_time_t nap = POLL_MIN;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;

    rv = apr_pool_create(&ptemp, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    for (;;) {
        rv = try_lock(prev, es, key, lease, ptemp);
        now = apr_time_now();
        if (!APR_STATUS_IS_EBUSY(rv) || now >= until) {
            break;
        }
        apr_sleep((until - now < nap) ? until - now : nap);
        nap = (2 * nap < POLL_MAX) ? 2 * nap : POLL_MAX;
        apr_pool_clear(ptemp);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_store_etcd_lock(md_store_lock_t **plock, md_store_t *store, const char *name,
                                apr_interval_time_t max_wait, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    md_etcd_lease_state_t *ls = NULL;
    etcd_lock_t *lock;
    apr_int64_t lease = 0, rev = 0;
    apr_status_t rv;

    *plock = NULL;
    if (!name || !*name || strchr(name, '/')) {
        return APR_EINVAL;
    }
    rv = md_store_etcd_check_key(es, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = lease_acquire(&lease, es, p);
    if (APR_SUCCESS == rv) {
        rv = wait_for_lock(&rev, es, md_store_etcd_lock_key(es, name, p), lease, max_wait, p);
    }
    if (APR_SUCCESS != rv) {
        if (!APR_STATUS_IS_EBUSY(rv) && !APR_STATUS_IS_EAGAIN(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                          APLOGNO(13117) "%s: locking the MD in etcd %s failed", name, es->prefix);
        }
        lease_release(es, p);
        return rv;
    }
    lock = apr_pcalloc(p, sizeof(*lock));
    lock->l.store = store;
    lock->l.name = apr_pstrdup(p, name);
    lock->l.stamp = read_stamp(es, name, p);
    lock->es = es;
    lock->rev = rev;
    lock->is_held = 1;
    pthread_mutex_lock(&es->mutex);
    rv = state_get(&ls, es);
    if (APR_SUCCESS == rv) {
        apr_hash_set(ls->held, apr_pstrdup(ls->pool, name), APR_HASH_KEY_STRING, lock);
    }
    pthread_mutex_unlock(&es->mutex);
    apr_pool_cleanup_register(p, lock, lock_cleanup, apr_pool_cleanup_null);
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(13118) "%s: locked the MD in etcd %s (revision %" APR_INT64_T_FMT ")",
                  name, es->prefix, rev);
    *plock = &lock->l;
    return rv;
}

apr_status_t md_store_etcd_lock_stamp(md_store_lock_t *l, apr_time_t stamp)
{
    etcd_lock_t *lock = (etcd_lock_t *)l;
    md_store_etcd_t *es = lock->es;
    md_etcd_txn_t *txn;
    apr_pool_t *p = NULL;
    const char *text;
    int ok = 0;
    apr_status_t rv;

    if (!lock->is_held) {
        return APR_EINVAL;
    }
    rv = apr_pool_create(&p, NULL);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    text = apr_psprintf(p, "%" APR_TIME_T_FMT, stamp);
    txn = md_etcd_txn_make(p);
    md_etcd_txn_if_created(txn, md_store_etcd_lock_key(es, l->name, p), lock->rev);
    md_etcd_txn_put(txn, stamp_key(es, l->name, p), text, strlen(text), 0);
    rv = md_etcd_txn_commit(&ok, NULL, NULL, es->etcd, txn, p);
    if (APR_SUCCESS == rv && !ok) {
        rv = md_store_etcd_lost_lock(es, l->name, "noting the renewal", p);
    }
    if (APR_SUCCESS == rv) {
        l->stamp = stamp;
    }
    apr_pool_destroy(p);
    return rv;
}

apr_status_t md_store_etcd_unlock(md_store_lock_t *l)
{
    etcd_lock_t *lock = (etcd_lock_t *)l;
    md_store_etcd_t *es = lock->es;
    md_etcd_txn_t *txn;
    apr_pool_t *p = NULL;
    int ok = 0;

    if (!lock->is_held) {
        return APR_SUCCESS;
    }
    lock->is_held = 0;
    pthread_mutex_lock(&es->mutex);
    if (es->ls.pool && es->ls.pid == getpid()
        && apr_hash_get(es->ls.held, l->name, APR_HASH_KEY_STRING) == lock) {
        apr_hash_set(es->ls.held, l->name, APR_HASH_KEY_STRING, NULL);
    }
    pthread_mutex_unlock(&es->mutex);
    if (APR_SUCCESS != apr_pool_create(&p, NULL)) {
        return APR_ENOMEM;
    }
    /* only our own key: after a lost lease it may be another holder's */
    txn = md_etcd_txn_make(p);
    md_etcd_txn_if_created(txn, md_store_etcd_lock_key(es, l->name, p), lock->rev);
    md_etcd_txn_delete(txn, md_store_etcd_lock_key(es, l->name, p), 0);
    md_etcd_txn_commit(&ok, NULL, NULL, es->etcd, txn, p);
    lease_release(es, p);
    apr_pool_destroy(p);
    return APR_SUCCESS;
}
