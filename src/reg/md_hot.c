/* md_hot: certificate sets served without a restart (see md_hot.h).
 *
 * Loading a set, per key spec of the MD in its order:
 *   1. the chain; none for the first key spec means there is no set (APR_ENOENT)
 *   2. the key, which must be there and readable once a chain is
 *   3. the checks a restart makes before it activates a staged set (md_hot_check_pair)
 */
#include <string.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_time.h"
#include "md_util.h"
#include "md_hot.h"

apr_status_t md_hot_check_pair(const char **perr, const md_cert_t *cert, const md_pkey_t *pkey,
                               const md_t *md, const md_pkey_spec_t *spec, apr_time_t now,
                               apr_pool_t *p)
{
    const char *kind = md_pkey_spec_name(spec);

    if (!md_cert_matches_key(cert, pkey)) {
        *perr = apr_psprintf(p, "the %s certificate does not match its key", kind);
        return APR_EINVAL;
    }
    if (!md_cert_covers_all(cert, md->domains)) {
        *perr = apr_psprintf(p, "the %s certificate does not cover all names of the MD (%s)", kind,
                             md_array_str_join(md->domains, ", ", p));
        return APR_EINVAL;
    }
    if (now > 0 && md_cert_get_not_after(cert) <= now) {
        *perr = apr_psprintf(p, "the %s certificate expired on %s", kind,
                             md_time_rfc3339(md_cert_get_not_after(cert), p));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t load_pair(md_hot_pair_t **ppair, const char **perr, md_store_t *store,
                              md_store_group_t group, const md_t *md, const md_pkey_spec_t *spec,
                              apr_time_t now, apr_pool_t *p)
{
    md_hot_pair_t *pair = apr_pcalloc(p, sizeof(*pair));
    apr_array_header_t *chain = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    /* 1. */
    rv = md_store_load(store, group, md->name, md_chain_filename(spec, p), MD_SV_CHAIN,
                       (void **)&chain, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *perr = apr_psprintf(p, "there is no %s certificate", md_pkey_spec_name(spec));
        return rv;
    }
    if (APR_SUCCESS != rv || !chain || !chain->nelts) {
        *perr = apr_psprintf(p, "the %s certificate cannot be read", md_pkey_spec_name(spec));
        return APR_EINVAL;
    }
    /* 2. */
    rv = md_store_load(store, group, md->name, md_pkey_filename(spec, p), MD_SV_PKEY,
                       (void **)&pkey, p);
    if (APR_SUCCESS != rv) {
        *perr = apr_psprintf(p, "the %s key is missing or unreadable", md_pkey_spec_name(spec));
        return APR_EINVAL;
    }
    pair->spec = spec;
    pair->chain = chain;
    pair->leaf = APR_ARRAY_IDX(chain, 0, const md_cert_t *);
    pair->pkey = pkey;
    /* 3. */
    rv = md_hot_check_pair(perr, pair->leaf, pkey, md, spec, now, p);
    *ppair = (APR_SUCCESS == rv) ? pair : NULL;
    return rv;
}

apr_status_t md_hot_set_load(md_hot_set_t **pset, const char **perr, md_store_t *store,
                             md_store_group_t group, const md_t *md, apr_time_t now, apr_pool_t *p)
{
    md_hot_set_t *set = apr_pcalloc(p, sizeof(*set));
    md_hot_pair_t *pair = NULL;
    apr_status_t rv = APR_SUCCESS;
    int i;

    *pset = NULL;
    *perr = NULL;
    set->name = apr_pstrdup(p, md->name);
    set->pairs = apr_array_make(p, md->pks->nelts, sizeof(md_hot_pair_t *));
    for (i = 0; i < md->pks->nelts; ++i) {
        rv = load_pair(&pair, perr, store, group, md,
                       APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *), now, p);
        if (APR_STATUS_IS_ENOENT(rv) && i > 0) {
            /* a set always has all key specs: a later one missing makes it incomplete */
            rv = APR_EINVAL;
        }
        if (APR_SUCCESS != rv) {
            return rv;
        }
        APR_ARRAY_PUSH(set->pairs, md_hot_pair_t *) = pair;
    }
    if (!set->pairs->nelts) {
        *perr = "the MD has no key specs";
        return APR_EINVAL;
    }
    pair = APR_ARRAY_IDX(set->pairs, 0, md_hot_pair_t *);
    set->valid_from = md_cert_get_not_before(pair->leaf);
    set->valid_until = md_cert_get_not_after(pair->leaf);
    set->serial = md_cert_get_serial(pair->leaf, p);
    *pset = set;
    return APR_SUCCESS;
}

int md_hot_set_same(const md_hot_set_t *a, const md_hot_set_t *b, apr_pool_t *ptemp)
{
    const md_hot_pair_t *pa, *pb;
    int i;

    if (!a || !b || a->pairs->nelts != b->pairs->nelts) {
        return 0;
    }
    for (i = 0; i < a->pairs->nelts; ++i) {
        pa = APR_ARRAY_IDX(a->pairs, i, const md_hot_pair_t *);
        pb = APR_ARRAY_IDX(b->pairs, i, const md_hot_pair_t *);
        if (strcmp(md_cert_get_sha256_fingerprint(pa->leaf, ptemp),
                   md_cert_get_sha256_fingerprint(pb->leaf, ptemp))) {
            return 0;
        }
    }
    return 1;
}

apr_time_t md_hot_live_at(apr_time_t not_before, apr_interval_time_t delay)
{
    return (delay > 0) ? not_before + delay : 0;
}
