/* md_store_etcd_activate: making a staged set live in the etcd store, and watching for sets
 * other servers stage or activate (see md_store_etcd.h).
 *
 * Activation of staging/<name>, one transaction:
 *   1. read staging/<name>/ and domains/<name>/, and the numbers of archive/<name>.N
 *   2. the new set: every staged value but the job's files (md_store_is_job_file()); staged keys
 *      are decrypted (a live set's keys are plain in the file store, sealed here)
 *   3. if the MD's lock is ours (guard) and no staged value changed since 1: copy domains/<name>
 *      to archive/<name>.N+1, replace domains/<name> by the new set, delete staging/<name>
 *   4. after it: remove archived sets beyond MD_STORE_ARCHIVE_KEEP, bring the local copy of
 *      domains/<name> up to date (written without a flush of its own)
 * A crash at any point leaves the old set or the new one: there is nothing to recover.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_log.h"
#include "md_util.h"
#include "md_store_etcd.h"
#include "md_store_etcd_int.h"

/* Operations etcd allows in one transaction by default (--max-txn-ops). */
#define TXN_OPS_MAX  128
#define WATCH_RETRY  apr_time_from_sec(3)
#define CHAIN_PREFIX "pubcert" /* pubcert.pem, pubcert.<curve>.pem: md_chain_filename() */
#define NAME_MAX_LEN 512

typedef struct {
    const char *aspect;
    const char *data; /* the file store's bytes */
    apr_size_t len;
} set_value_t;

static const char *aspect_of(const char *key, const char *dir)
{
    apr_size_t dlen = strlen(dir);

    return (strncmp(key, dir, dlen) == 0 && key[dlen] && !strchr(key + dlen, '/')) ? key + dlen
                                                                                   : NULL;
}

static int is_key_file(const char *aspect)
{
    apr_size_t len = strlen(aspect);

    return strncmp(aspect, "privkey", 7) == 0 && len > 4 && strcmp(aspect + len - 4, ".pem") == 0;
}

/* 2. One staged value as it goes live. */
static apr_status_t live_value(set_value_t *v, md_store_etcd_t *es, const md_etcd_kv_t *kv,
                               const char *aspect, apr_pool_t *p)
{
    md_pkey_t *pkey = NULL;
    char *data = NULL;
    const char *plain = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    rv = md_store_etcd_value_read(&data, &len, NULL, NULL, es, kv, p);
    v->aspect = aspect;
    v->data = data;
    v->len = len;
    if (APR_SUCCESS == rv && is_key_file(aspect)) {
        rv =
            md_store_decode((void **)&pkey, MD_SG_STAGING, MD_SV_PKEY, data, len, es->key, NULL, p);
        if (APR_SUCCESS == rv) {
            rv = md_store_encode(&plain, &len, MD_SG_DOMAINS, MD_SV_PKEY, pkey, es->key, p);
            v->data = plain;
            v->len = len;
        }
    }
    return rv;
}

static int cmp_int_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

/* 1. The numbers N of archive/<name>.N, highest first. */
static apr_status_t archive_numbers(apr_array_header_t **pns, md_store_etcd_t *es, const char *name,
                                    apr_pool_t *p)
{
    const char *dir = md_store_etcd_dir(es, MD_SG_ARCHIVE, NULL, p);
    const char *start = apr_pstrcat(p, dir, name, ".", NULL);
    apr_array_header_t *kvs = NULL, *ns = apr_array_make(p, 10, sizeof(int));
    apr_size_t slen = strlen(start);
    const char *key;
    char *end = NULL;
    long n, last = -1;
    apr_status_t rv;
    int i;

    rv = md_etcd_get_prefix(&kvs, es->etcd, start, 1, p);
    for (i = 0; APR_SUCCESS == rv && i < kvs->nelts; ++i) {
        key = APR_ARRAY_IDX(kvs, i, md_etcd_kv_t *)->key + slen;
        n = strtol(key, &end, 10);
        /* "<name>.<N>/..." only: not the sets of an MD whose name continues after the dot */
        if (end != key && *end == '/' && n > 0 && n < 1000000 && n != last) {
            APR_ARRAY_PUSH(ns, int) = (int)n;
            last = n;
        }
    }
    qsort(ns->elts, (size_t)ns->nelts, sizeof(int), cmp_int_desc);
    *pns = ns;
    return rv;
}

static apr_status_t collect_set(apr_array_header_t **pset, md_store_etcd_t *es,
                                const apr_array_header_t *staged, const char *sdir, apr_pool_t *p)
{
    apr_array_header_t *set = apr_array_make(p, staged->nelts, sizeof(set_value_t));
    const md_etcd_kv_t *kv;
    const char *aspect;
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (i = 0; APR_SUCCESS == rv && i < staged->nelts; ++i) {
        kv = APR_ARRAY_IDX(staged, i, const md_etcd_kv_t *);
        aspect = aspect_of(kv->key, sdir);
        if (!aspect || aspect[0] == '.' || md_store_is_job_file(aspect)) {
            continue;
        }
        rv = live_value((set_value_t *)apr_array_push(set), es, kv, aspect, p);
    }
    *pset = set;
    return rv;
}

static int in_set(const apr_array_header_t *set, const char *aspect)
{
    int i;

    for (i = 0; i < set->nelts; ++i) {
        if (strcmp(APR_ARRAY_IDX(set, i, set_value_t).aspect, aspect) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 3. */
static apr_status_t switch_sets(md_store_etcd_t *es, const char *name,
                                const apr_array_header_t *staged, const apr_array_header_t *set,
                                const apr_array_header_t *live, int n, apr_pool_t *p)
{
    const char *ddir = md_store_etcd_dir(es, MD_SG_DOMAINS, name, p);
    const char *adir = md_store_etcd_dir(es, MD_SG_ARCHIVE, apr_psprintf(p, "%s.%d", name, n), p);
    md_etcd_txn_t *txn = md_etcd_txn_make(p);
    const md_etcd_kv_t *kv;
    const set_value_t *v;
    const char *value = NULL, *aspect;
    apr_size_t vlen = 0;
    apr_status_t rv = APR_SUCCESS;
    int i, ok = 0;

    md_store_etcd_guard(txn, es, MD_SG_STAGING, name, p);
    for (i = 0; i < staged->nelts; ++i) {
        kv = APR_ARRAY_IDX(staged, i, const md_etcd_kv_t *);
        md_etcd_txn_if_modified(txn, kv->key, kv->mod_rev);
    }
    for (i = 0; i < live->nelts; ++i) {
        kv = APR_ARRAY_IDX(live, i, const md_etcd_kv_t *);
        aspect = aspect_of(kv->key, ddir);
        if (aspect) {
            md_etcd_txn_put(txn, apr_pstrcat(p, adir, aspect, NULL), kv->value, kv->len, 0);
        }
    }
    /* a put and a delete of the same key in one transaction are refused: the live values the
     * new set does not replace are deleted one by one */
    for (i = 0; i < live->nelts; ++i) {
        kv = APR_ARRAY_IDX(live, i, const md_etcd_kv_t *);
        aspect = aspect_of(kv->key, ddir);
        if (!aspect || !in_set(set, aspect)) {
            md_etcd_txn_delete(txn, kv->key, 0);
        }
    }
    for (i = 0; APR_SUCCESS == rv && i < set->nelts; ++i) {
        v = &APR_ARRAY_IDX(set, i, set_value_t);
        rv = md_store_etcd_value_make(&value, &vlen, es, v->data, v->len, p);
        md_etcd_txn_put(txn, apr_pstrcat(p, ddir, v->aspect, NULL), value, vlen, 0);
    }
    md_etcd_txn_delete(txn, md_store_etcd_dir(es, MD_SG_STAGING, name, p), 1);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (md_etcd_txn_ops(txn) > TXN_OPS_MAX) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      APLOGNO(13119) "%s: activating needs %d operations in one etcd "
                                     "transaction, more than etcd allows by default (%d): "
                                     "start etcd with a higher --max-txn-ops",
                      name, md_etcd_txn_ops(txn), TXN_OPS_MAX);
        return APR_EINVAL;
    }
    rv = md_etcd_txn_commit(&ok, NULL, NULL, es->etcd, txn, p);
    if (APR_SUCCESS == rv && !ok) {
        rv = md_store_etcd_lost_lock(es, name,
                                     "activating the staged set (or it changed meanwhile)", p);
    }
    return rv;
}

/* 4. The local copy of domains/<name>: the new set, nothing else. */
typedef struct {
    md_store_etcd_t *es;
    const char *name;
    const apr_array_header_t *set;
    apr_array_header_t *gone;
} local_ctx_t;

static int collect_gone(void *baton, const char *aspect, apr_pool_t *ptemp)
{
    local_ctx_t *ctx = baton;

    (void)ptemp;
    if (!in_set(ctx->set, aspect)) {
        APR_ARRAY_PUSH(ctx->gone, const char *) = apr_pstrdup(ctx->gone->pool, aspect);
    }
    return 1;
}

static void update_local(md_store_etcd_t *es, const char *name, const apr_array_header_t *set,
                         apr_pool_t *p)
{
    local_ctx_t ctx = { es, name, set, apr_array_make(p, 5, sizeof(const char *)) };
    const set_value_t *v;
    int i;

    for (i = 0; i < set->nelts; ++i) {
        v = &APR_ARRAY_IDX(set, i, set_value_t);
        md_store_save_regenerable(es->local, MD_SG_DOMAINS, name, v->aspect, MD_SV_TEXT,
                                  apr_pstrmemdup(p, v->data, v->len), p);
    }
    md_store_iter_aspects(collect_gone, &ctx, es->local, MD_SG_DOMAINS, name, p);
    for (i = 0; i < ctx.gone->nelts; ++i) {
        md_store_remove(es->local, MD_SG_DOMAINS, name, APR_ARRAY_IDX(ctx.gone, i, const char *),
                        p);
    }
    /* not flushed one by one: the copy is made again from etcd whenever it is read, and the
     * registry flushes the store (md_store_flush()) once at the end of a start-up */
}

static void prune_archive(md_store_etcd_t *es, const char *name, apr_pool_t *p)
{
    apr_array_header_t *ns = NULL;
    int i;

    if (APR_SUCCESS != archive_numbers(&ns, es, name, p)) {
        return;
    }
    for (i = MD_STORE_ARCHIVE_KEEP; i < ns->nelts; ++i) {
        md_etcd_delete(es->etcd,
                       md_store_etcd_dir(es, MD_SG_ARCHIVE,
                                         apr_psprintf(p, "%s.%d", name, APR_ARRAY_IDX(ns, i, int)),
                                         p),
                       1, p);
    }
}

apr_status_t md_store_etcd_activate(md_store_t *store, const char *name, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    const char *sdir;
    apr_array_header_t *staged = NULL, *live = NULL, *ns = NULL, *set = NULL;
    apr_status_t rv;

    if (!name || !*name || strchr(name, '/')) {
        return APR_EINVAL;
    }
    sdir = md_store_etcd_dir(es, MD_SG_STAGING, name, p);
    rv = md_store_etcd_check_key(es, p);
    /* 1. */
    if (APR_SUCCESS == rv) {
        rv = md_etcd_get_prefix(&staged, es->etcd, sdir, 0, p);
    }
    if (APR_SUCCESS == rv && !staged->nelts) {
        rv = APR_ENOENT;
    }
    if (APR_SUCCESS == rv) {
        rv = md_etcd_get_prefix(&live, es->etcd, md_store_etcd_dir(es, MD_SG_DOMAINS, name, p), 0,
                                p);
    }
    if (APR_SUCCESS == rv) {
        rv = archive_numbers(&ns, es, name, p);
    }
    /* 2. */
    if (APR_SUCCESS == rv) {
        rv = collect_set(&set, es, staged, sdir, p);
    }
    /* 3. */
    if (APR_SUCCESS == rv) {
        rv = switch_sets(es, name, staged, set, live, ns->nelts ? APR_ARRAY_IDX(ns, 0, int) + 1 : 1,
                         p);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, APR_STATUS_IS_EAGAIN(rv) ? MD_LOG_WARNING : MD_LOG_ERR, rv, p,
                      APLOGNO(13120) "%s: activating the staged certificate in etcd %s failed, "
                                     "the current one stays in use",
                      name, es->prefix);
        return rv;
    }
    /* 4. */
    prune_archive(es, name, p);
    if (md_store_etcd_has_copy(es, MD_SG_DOMAINS)) {
        update_local(es, name, set, p);
    }
    return APR_SUCCESS;
}

/* ---- watching --------------------------------------------------------------------------------
 * Certificate chains (pubcert*.pem) written into staging/<name>/ or domains/<name>/ by another
 * server are what is reported: the last file a renewal stages, and one file of every activation
 * (reported once per name and revision). */

typedef struct {
    md_store_etcd_t *es;
    md_store_change_cb *cb;
    void *baton;
    const char *sdir, *ddir;
    apr_int64_t last_rev;
    char last_name[NAME_MAX_LEN];
    md_store_group_t last_group;
    int is_stopped;
} watch_ctx_t;

static int is_chain_file(const char *aspect)
{
    return strncmp(aspect, CHAIN_PREFIX, sizeof(CHAIN_PREFIX) - 1) == 0;
}

/* The name of the set 'key' belongs to in 'dir' when it is a chain file there. */
static const char *chain_set_name(const char *key, const char *dir, apr_pool_t *p)
{
    apr_size_t dlen = strlen(dir);
    const char *rest, *slash;

    if (strncmp(key, dir, dlen) != 0) {
        return NULL;
    }
    rest = key + dlen;
    slash = strchr(rest, '/');
    if (!slash || slash == rest || strchr(slash + 1, '/') || !is_chain_file(slash + 1)) {
        return NULL;
    }
    return apr_pstrmemdup(p, rest, (apr_size_t)(slash - rest));
}

static int watch_event(void *baton, const md_etcd_kv_t *kv, int is_delete, apr_pool_t *ptemp)
{
    watch_ctx_t *ctx = baton;
    md_store_group_t group = MD_SG_STAGING;
    const char *name, *origin = NULL;
    char *data = NULL;
    apr_size_t len = 0;

    if (!kv) {
        ctx->is_stopped = !ctx->cb(ctx->baton, MD_SG_NONE, NULL, ptemp);
        return !ctx->is_stopped;
    }
    name = is_delete ? NULL : chain_set_name(kv->key, ctx->sdir, ptemp);
    if (!name && !is_delete) {
        group = MD_SG_DOMAINS;
        name = chain_set_name(kv->key, ctx->ddir, ptemp);
    }
    if (!name
        || APR_SUCCESS != md_store_etcd_value_read(&data, &len, NULL, &origin, ctx->es, kv, ptemp)
        || strcmp(origin, ctx->es->origin) == 0) {
        return 1;
    }
    if (group == MD_SG_DOMAINS && kv->mod_rev == ctx->last_rev && ctx->last_group == group
        && strcmp(ctx->last_name, name) == 0) {
        return 1; /* the same activation, another key type */
    }
    ctx->last_rev = kv->mod_rev;
    ctx->last_group = group;
    apr_cpystrn(ctx->last_name, name, sizeof(ctx->last_name));
    ctx->is_stopped = !ctx->cb(ctx->baton, group, name, ptemp);
    return !ctx->is_stopped;
}

apr_status_t md_store_etcd_watch(md_store_t *store, md_store_change_cb *cb, void *baton,
                                 apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    watch_ctx_t ctx;
    apr_int64_t last = 0;
    apr_interval_time_t slept;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;

    memset(&ctx, 0, sizeof(ctx));
    ctx.es = es;
    ctx.cb = cb;
    ctx.baton = baton;
    ctx.sdir = md_store_etcd_dir(es, MD_SG_STAGING, NULL, p);
    ctx.ddir = md_store_etcd_dir(es, MD_SG_DOMAINS, NULL, p);
    rv = apr_pool_create(&ptemp, p);
    while (APR_SUCCESS == rv && !ctx.is_stopped) {
        rv = md_etcd_watch(&last, es->etcd, es->prefix, last ? last + 1 : 0, watch_event, &ctx,
                           ptemp);
        apr_pool_clear(ptemp);
        if (APR_SUCCESS == rv || ctx.is_stopped) {
            break;
        }
        if (APR_STATUS_IS_ENOENT(rv)) {
            last = 0; /* compacted: from now on */
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, ptemp,
                      APLOGNO(13121) "store: the watch of etcd %s ended, again in a moment",
                      es->prefix);
        for (slept = 0; slept < WATCH_RETRY && !ctx.is_stopped; slept += apr_time_from_sec(1)) {
            apr_sleep(apr_time_from_sec(1));
            ctx.is_stopped = !cb(baton, MD_SG_NONE, NULL, ptemp);
        }
        apr_pool_clear(ptemp);
        rv = APR_SUCCESS;
    }
    if (ptemp) {
        apr_pool_destroy(ptemp);
    }
    return rv;
}
