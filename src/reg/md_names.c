/* md_names: an MD keeps its name when its first domain is removed (see md_names.h).
 *
 *   1. mark the names of all configured MDs as taken (each owns its domains/<name>/ if any)
 *   2. collect the configured MDs whose domains/<name>/ is missing and that share a domain with
 *      a stored MD (the store is listed once, on the first need)
 *   3. match them one at a time, the largest overlap first, each taking the name of the best
 *      stored MD not taken yet
 */
#include <string.h>

#include <apr_strings.h>

#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"
#include "md_names.h"

typedef struct {
    md_store_t *store;
    apr_array_header_t *stored; /* md_t*, the stored MDs with a readable md.json */
    apr_hash_t *domains;        /* every domain of a stored MD -> "" */
} names_scan_t;

static int count_common(const md_t *md, const md_t *other)
{
    int i, n = 0;

    for (i = 0; other->domains && i < other->domains->nelts; ++i) {
        if (md_contains(md, APR_ARRAY_IDX(other->domains, i, const char *))) {
            ++n;
        }
    }
    return n;
}

int md_names_pick(const md_t *md, const apr_array_header_t *stored, apr_hash_t *taken)
{
    const md_t *s;
    int i, n, best = -1, best_n = 0;

    for (i = 0; i < stored->nelts; ++i) {
        s = APR_ARRAY_IDX(stored, i, const md_t *);
        if (!s->name || apr_hash_get(taken, s->name, APR_HASH_KEY_STRING)) {
            continue;
        }
        n = count_common(md, s);
        if (n > best_n
            || (n > 0 && n == best_n
                && strcmp(s->name, APR_ARRAY_IDX(stored, best, const md_t *)->name) < 0)) {
            best = i;
            best_n = n;
        }
    }
    return best;
}

/* A stored MD is only read here: a broken md.json is set aside by the sync of its own MD, if
 * that is configured, so this scan has no side effects. */
static int collect_stored(void *baton, const char *name, apr_pool_t *ptemp)
{
    names_scan_t *scan = baton;
    apr_pool_t *p = scan->stored->pool;
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *err = NULL;
    int i;

    if (APR_SUCCESS != md_store_load_json(scan->store, MD_SG_DOMAINS, name, MD_FN_MD, &json, ptemp)
        || APR_SUCCESS != md_from_json(&md, json, p, &err) || !md->domains) {
        return 1;
    }
    /* the directory name is what the store knows the MD by */
    md->name = apr_pstrdup(p, name);
    APR_ARRAY_PUSH(scan->stored, md_t *) = md;
    for (i = 0; i < md->domains->nelts; ++i) {
        apr_hash_set(scan->domains, APR_ARRAY_IDX(md->domains, i, const char *),
                     APR_HASH_KEY_STRING, "");
    }
    return 1;
}

static int found_one(void *baton, const char *aspect, apr_pool_t *ptemp)
{
    (void)aspect;
    (void)ptemp;
    *(int *)baton = 1;
    return 0;
}

/* Whether anything is stored under domains/<name> */
static int has_dir(md_store_t *store, const char *name, apr_pool_t *p)
{
    int found = 0;

    if (APR_SUCCESS != md_store_iter_aspects(found_one, &found, store, MD_SG_DOMAINS, name, p)) {
        /* not a name the store can hold: nothing to continue either */
        return 1;
    }
    return found;
}

static int shares_stored_domain(const md_t *md, const names_scan_t *scan)
{
    int i;

    for (i = 0; i < md->domains->nelts; ++i) {
        if (apr_hash_get(scan->domains, APR_ARRAY_IDX(md->domains, i, const char *),
                         APR_HASH_KEY_STRING)) {
            return 1;
        }
    }
    return 0;
}

/* 3. one MD at a time: the pending MD with the largest overlap (the earlier one on a tie)
 * takes its pick, which is then taken for the others. Returns 0 when nothing is left to match. */
static int keep_one(apr_array_header_t *pending, names_scan_t *scan, apr_hash_t *taken,
                    apr_pool_t *p, apr_pool_t *ptemp)
{
    md_t *md, *best_md = NULL;
    const md_t *s, *best_s = NULL;
    int i, pick, n, best_n = 0, best_i = -1;

    for (i = 0; i < pending->nelts; ++i) {
        md = APR_ARRAY_IDX(pending, i, md_t *);
        pick = md ? md_names_pick(md, scan->stored, taken) : -1;
        if (pick < 0) {
            continue;
        }
        s = APR_ARRAY_IDX(scan->stored, pick, const md_t *);
        n = count_common(md, s);
        if (n > best_n) {
            best_md = md;
            best_s = s;
            best_n = n;
            best_i = i;
        }
    }
    if (!best_md || !best_s) {
        return 0;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, ptemp,
                  APLOGNO(12450) "%s: the MD configured as %s keeps this stored name "
                                 "(they share %d domain(s)) and with it its certificates "
                                 "and account",
                  best_s->name, best_md->name, best_n);
    best_md->name = apr_pstrdup(p, best_s->name);
    apr_hash_set(taken, best_md->name, APR_HASH_KEY_STRING, "");
    APR_ARRAY_IDX(pending, best_i, md_t *) = NULL;
    return 1;
}

apr_status_t md_names_keep(md_store_t *store, apr_array_header_t *mds, apr_pool_t *ptemp)
{
    apr_hash_t *taken = apr_hash_make(ptemp);
    apr_array_header_t *pending = apr_array_make(ptemp, 5, sizeof(md_t *));
    names_scan_t scan;
    md_t *md;
    int i;

    memset(&scan, 0, sizeof(scan));
    scan.store = store;
    /* 1. */
    for (i = 0; i < mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mds, i, md_t *);
        apr_hash_set(taken, md->name, APR_HASH_KEY_STRING, "");
    }
    /* 2. */
    for (i = 0; i < mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mds, i, md_t *);
        if (!md->domains || has_dir(store, md->name, ptemp)) {
            continue;
        }
        if (!scan.stored) {
            scan.stored = apr_array_make(ptemp, 10, sizeof(md_t *));
            scan.domains = apr_hash_make(ptemp);
            md_store_iter_names(collect_stored, &scan, store, MD_SG_DOMAINS, ptemp);
        }
        if (shares_stored_domain(md, &scan)) {
            APR_ARRAY_PUSH(pending, md_t *) = md;
        }
    }
    /* 3. */
    while (pending->nelts && keep_one(pending, &scan, taken, mds->pool, ptemp)) {
    }
    return APR_SUCCESS;
}
