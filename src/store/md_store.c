/* md_store: dispatch to the store implementation and common conveniences (see md_store.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "md.h"
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

/* ---- for store implementations ------------------------------------------------------------- */

int md_store_group_is_encrypted(md_store_group_t group)
{
    return group == MD_SG_ACCOUNTS || group == MD_SG_STAGING;
}

apr_status_t md_store_encode(const char **pdata, apr_size_t *plen, md_store_group_t group,
                             md_store_vtype_t vtype, const void *value,
                             const unsigned char key[MD_STORE_KEY_LEN], apr_pool_t *p)
{
    switch (vtype) {
        case MD_SV_TEXT:
            *pdata = value;
            *plen = strlen(value);
            return APR_SUCCESS;
        case MD_SV_JSON:
            *pdata = md_json_writep(value, p, MD_JSON_FMT_INDENT);
            *plen = *pdata ? strlen(*pdata) : 0;
            return *pdata ? APR_SUCCESS : APR_EINVAL;
        case MD_SV_PKEY:
            if (md_store_group_is_encrypted(group)) {
                return md_pkey_to_pem(pdata, plen, value, key, MD_STORE_KEY_LEN, p);
            }
            return md_pkey_to_pem(pdata, plen, value, NULL, 0, p);
        case MD_SV_CHAIN:
            return md_chain_to_pem(pdata, plen, value, p);
        default:
            return APR_ENOTIMPL;
    }
}

apr_status_t md_store_decode(void **pvalue, md_store_group_t group, md_store_vtype_t vtype,
                             char *data, apr_size_t len, const unsigned char key[MD_STORE_KEY_LEN],
                             const char **perr, apr_pool_t *p)
{
    apr_status_t rv;

    switch (vtype) {
        case MD_SV_TEXT:
            *pvalue = data;
            return APR_SUCCESS;
        case MD_SV_JSON:
            return md_json_readbuf((md_json_t **)pvalue, p, data, len, perr);
        case MD_SV_PKEY:
            if (md_store_group_is_encrypted(group)) {
                rv = md_pkey_from_pem((md_pkey_t **)pvalue, p, data, len, key, MD_STORE_KEY_LEN);
            }
            else {
                rv = md_pkey_from_pem((md_pkey_t **)pvalue, p, data, len, NULL, 0);
            }
            OPENSSL_cleanse(data, len);
            return rv;
        case MD_SV_CHAIN:
            return md_chain_from_pem((apr_array_header_t **)pvalue, p, data, len);
        default:
            return APR_ENOTIMPL;
    }
}

int md_store_is_job_file(const char *fname)
{
    /* job.json goes live with the set: it is the log of the renewal that made it */
    return strcmp(fname, MD_FN_ACCOUNT) == 0 || strcmp(fname, MD_FN_ACCT_KEY) == 0
           || strcmp(fname, MD_FN_ORDER) == 0 || strcmp(fname, MD_FN_RENEW_REQUEST) == 0
           || strstr(fname, ".broken-") != NULL;
}

/* Every operation that would change the store fails. */
static apr_status_t ro_save(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, md_store_vtype_t vtype, const void *value,
                            apr_pool_t *p)
{
    (void)store;
    (void)group;
    (void)name;
    (void)aspect;
    (void)vtype;
    (void)value;
    (void)p;
    return APR_EACCES;
}

static apr_status_t ro_remove(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    (void)store;
    (void)group;
    (void)name;
    (void)aspect;
    (void)p;
    return APR_EACCES;
}

static apr_status_t ro_purge(md_store_t *store, md_store_group_t group, const char *name,
                             apr_pool_t *p)
{
    (void)store;
    (void)group;
    (void)name;
    (void)p;
    return APR_EACCES;
}

static apr_status_t ro_activate(md_store_t *store, const char *name, apr_pool_t *p)
{
    (void)store;
    (void)name;
    (void)p;
    return APR_EACCES;
}

static apr_status_t ro_set_aside(const char **pnewname, md_store_t *store, md_store_group_t group,
                                 const char *name, const char *aspect, apr_pool_t *p)
{
    (void)pnewname;
    (void)store;
    (void)group;
    (void)name;
    (void)aspect;
    (void)p;
    return APR_EACCES;
}

void md_store_make_readonly(md_store_t *store)
{
    store->save = ro_save;
    store->save_regenerable = ro_save;
    store->remove = ro_remove;
    store->purge = ro_purge;
    store->activate = ro_activate;
    store->set_aside = ro_set_aside;
}
