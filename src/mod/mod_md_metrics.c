/* mod_md_metrics: shared counters (see mod_md_metrics.h).
 *
 * The table is a fixed array of slots { name, counters } in one shared segment. Only the parent
 * adds slots (at post_config, before children exist); children only increment with atomics. When
 * a configuration has more MDs than the table holds, a bigger segment replaces it and the old
 * counts are copied; the old segment stays mapped until the process ends (old children may
 * still count into it).
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>

#include "md.h"
#include "mod_md_metrics.h"

APLOG_USE_MODULE(md);

#define TABLE_KEY   "mod_md_metrics_table"
#define NAME_MAX_MD 256

typedef struct {
    char name[NAME_MAX_MD];
    apr_uint32_t count[3];
} slot_t;

typedef struct {
    apr_uint32_t capacity;
    apr_uint32_t used;
    slot_t slots[1]; /* 'capacity' of them */
} table_t;

/* Set in the parent, inherited by the children; re-read after a module reload from the process
 * pool's userdata. */
static table_t *table;

/* The slot of 'name'; '*next' (may be NULL) is where to look first and is set to the slot after
 * the one found: asked in the table's order, as md-metrics does, each lookup is one compare. */
static slot_t *find_from(table_t *t, const char *name, apr_uint32_t *next)
{
    apr_uint32_t i;

    if (t && next && *next < t->used && !strcmp(t->slots[*next].name, name)) {
        return &t->slots[(*next)++];
    }
    for (i = 0; t && i < t->used; ++i) {
        if (!strcmp(t->slots[i].name, name)) {
            if (next) {
                *next = i + 1;
            }
            return &t->slots[i];
        }
    }
    return NULL;
}

static slot_t *find(table_t *t, const char *name)
{
    return find_from(t, name, NULL);
}

static apr_status_t grow(table_t **pt, table_t *old, apr_uint32_t want, apr_pool_t *pprocess)
{
    apr_shm_t *shm = NULL;
    apr_uint32_t cap = want < 64 ? 64 : 2 * want;
    apr_size_t size = sizeof(table_t) + (cap - 1) * sizeof(slot_t);
    table_t *t;
    apr_status_t rv;

    rv = apr_shm_create(&shm, size, NULL, pprocess);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    t = apr_shm_baseaddr_get(shm);
    memset(t, 0, size);
    t->capacity = cap;
    if (old) {
        memcpy(t->slots, old->slots, old->used * sizeof(slot_t));
        t->used = old->used;
    }
    *pt = t;
    return APR_SUCCESS;
}

apr_status_t mod_md_metrics_init(md_mod_conf_t *mc, server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    table_t *t = NULL;
    apr_uint32_t missing = 0;
    apr_status_t rv = APR_SUCCESS;
    const md_t *md;
    int i;

    apr_pool_userdata_get((void **)&t, TABLE_KEY, pp);
    for (i = 0; i < mc->mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mc->mds, i, const md_t *);
        missing += (find(t, md->name) == NULL);
    }
    if (!t || t->used + missing > t->capacity) {
        rv = grow(&t, t, (t ? t->used : 0) + missing, pp);
        if (APR_SUCCESS != rv) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                         APLOGNO(12605) "cannot create shared memory for the md-metrics "
                                        "counters; they stay at 0");
            table = NULL;
            return rv;
        }
        apr_pool_userdata_set(t, TABLE_KEY, apr_pool_cleanup_null, pp);
    }
    for (i = 0; i < mc->mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mc->mds, i, const md_t *);
        if (!find(t, md->name)) {
            apr_cpystrn(t->slots[t->used].name, md->name, NAME_MAX_MD);
            t->used++;
        }
    }
    table = t;
    return APR_SUCCESS;
}

void mod_md_metrics_inc(const char *name, md_metric_t which)
{
    slot_t *slot = find(table, name);

    if (slot) {
        apr_atomic_inc32(&slot->count[which]);
    }
}

void mod_md_metrics_get(md_status_counters_t *pc, void *baton, const char *name)
{
    slot_t *slot = find_from(table, name, baton);

    memset(pc, 0, sizeof(*pc));
    if (slot) {
        pc->renewals = apr_atomic_read32(&slot->count[MD_METRIC_RENEWALS]);
        pc->failures = apr_atomic_read32(&slot->count[MD_METRIC_FAILURES]);
        pc->challenges = apr_atomic_read32(&slot->count[MD_METRIC_CHALLENGES]);
    }
}
