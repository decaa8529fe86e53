/* md_store: dispatch to the store implementation and common conveniences (see md_store.h). */
#include "md_store.h"

static const char *group_names[] = {
    "", "accounts", "challenges", "domains", "staging", "archive", "tmp", "ocsp",
};

const char *md_store_group_name(md_store_group_t group)
{
    if ((int)group < 0 || group >= MD_SG_COUNT) {
        return "unknown";
    }
    return group_names[group];
}

apr_status_t md_store_load(md_store_t *store, md_store_group_t group, const char *name,
                           const char *aspect, md_store_vtype_t vtype, void **pvalue, apr_pool_t *p)
{
    return store->load(store, group, name, aspect, vtype, pvalue, p);
}

apr_status_t md_store_save(md_store_t *store, md_store_group_t group, const char *name,
                           const char *aspect, md_store_vtype_t vtype, const void *value,
                           apr_pool_t *p)
{
    return store->save(store, group, name, aspect, vtype, value, p);
}

apr_status_t md_store_save_regenerable(md_store_t *store, md_store_group_t group, const char *name,
                                       const char *aspect, md_store_vtype_t vtype,
                                       const void *value, apr_pool_t *p)
{
    return store->save_regenerable(store, group, name, aspect, vtype, value, p);
}

apr_status_t md_store_get_version(const char **pversion, md_store_t *store, md_store_group_t group,
                                  const char *name, const char *aspect, apr_pool_t *p)
{
    return store->get_version(pversion, store, group, name, aspect, p);
}

apr_status_t md_store_flush(md_store_t *store, apr_pool_t *p)
{
    return store->flush(store, p);
}

apr_status_t md_store_remove(md_store_t *store, md_store_group_t group, const char *name,
                             const char *aspect, apr_pool_t *p)
{
    return store->remove(store, group, name, aspect, p);
}

apr_status_t md_store_purge(md_store_t *store, md_store_group_t group, const char *name,
                            apr_pool_t *p)
{
    return store->purge(store, group, name, p);
}

apr_status_t md_store_iter_names(md_store_name_cb *cb, void *baton, md_store_t *store,
                                 md_store_group_t group, apr_pool_t *p)
{
    return store->iter_names(cb, baton, store, group, p);
}

apr_status_t md_store_iter_aspects(md_store_name_cb *cb, void *baton, md_store_t *store,
                                   md_store_group_t group, const char *name, apr_pool_t *p)
{
    return store->iter_aspects(cb, baton, store, group, name, p);
}

apr_status_t md_store_get_modified(apr_time_t *pmtime, md_store_t *store, md_store_group_t group,
                                   const char *name, const char *aspect, apr_pool_t *p)
{
    return store->get_modified(pmtime, store, group, name, aspect, p);
}

apr_status_t md_store_activate(md_store_t *store, const char *name, apr_pool_t *p)
{
    return store->activate(store, name, p);
}

apr_status_t md_store_get_fname(const char **pfname, md_store_t *store, md_store_group_t group,
                                const char *name, const char *aspect, apr_pool_t *p)
{
    return store->get_fname(pfname, store, group, name, aspect, p);
}

apr_status_t md_store_set_aside(const char **pnewname, md_store_t *store, md_store_group_t group,
                                const char *name, const char *aspect, apr_pool_t *p)
{
    return store->set_aside(pnewname, store, group, name, aspect, p);
}

apr_status_t md_store_lock(md_store_lock_t **plock, md_store_t *store, const char *name,
                           apr_interval_time_t max_wait, apr_pool_t *p)
{
    return store->lock(plock, store, name, max_wait, p);
}

apr_status_t md_store_unlock(md_store_lock_t *lock)
{
    return lock ? lock->store->unlock(lock) : APR_SUCCESS;
}

apr_status_t md_store_lock_stamp(md_store_lock_t *lock, apr_time_t stamp)
{
    return lock->store->lock_stamp(lock, stamp);
}

apr_status_t md_store_load_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, md_json_t **pjson, apr_pool_t *p)
{
    return md_store_load(store, group, name, aspect, MD_SV_JSON, (void **)pjson, p);
}

apr_status_t md_store_save_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const md_json_t *json, apr_pool_t *p)
{
    return md_store_save(store, group, name, aspect, MD_SV_JSON, json, p);
}
