/* a2md_migrate: a2md migrate to-etcd|from-etcd, moving a store between the file system and etcd.
 *
 *   a2md -d DIR --etcd ENDPOINTS migrate to-etcd     the file store in DIR into etcd
 *   a2md -d DIR --etcd ENDPOINTS migrate from-etcd   the etcd store into the file store in DIR
 * Values are copied byte for byte (md_store_copy.h): a store copied into etcd and back is the same
 * store, file for file. The store key stays in DIR/md_store.json: the etcd store takes its key
 * from there, so every server of the fleet gets a copy of that file.
 *   1. to-etcd refuses a prefix that holds MDs or accounts already (two stores do not merge)
 *   2. copy, then tell what was copied
 */
#include <string.h>

#include "md_store_copy.h"
#include "md_store_etcd.h"
#include "a2md.h"

static int count_one(void *baton, const char *name, apr_pool_t *ptemp)
{
    (void)name;
    (void)ptemp;
    ++*(int *)baton;
    return 1;
}

/* 1. */
static apr_status_t etcd_is_empty(a2md_t *a2md)
{
    int n = 0;
    apr_status_t rv;

    rv = md_store_iter_names(count_one, &n, a2md->store, MD_SG_DOMAINS, a2md->p);
    if (APR_SUCCESS == rv) {
        rv = md_store_iter_names(count_one, &n, a2md->store, MD_SG_ACCOUNTS, a2md->p);
    }
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "migrate: cannot list the store in etcd %s", a2md->etcd);
    }
    if (n) {
        return a2md_fail(a2md, APR_EEXIST,
                         "migrate: the store in %s already holds %d MDs and accounts; "
                         "migrate into a new prefix (--etcd-prefix), or remove these first "
                         "(etcdctl del --prefix)",
                         md_store_etcd_describe(a2md->store, a2md->p), n);
    }
    return APR_SUCCESS;
}

static apr_status_t cmd_migrate(a2md_t *a2md)
{
    md_store_copy_stats_t stats;
    int to_etcd;
    apr_status_t rv;

    if (!a2md->etcd) {
        return a2md_usage(a2md, "migrate needs the etcd store: --etcd ENDPOINTS");
    }
    if (a2md->argc != 1
        || (strcmp(a2md->argv[0], "to-etcd") != 0 && strcmp(a2md->argv[0], "from-etcd") != 0)) {
        return a2md_usage(a2md, "migrate to-etcd or migrate from-etcd");
    }
    to_etcd = strcmp(a2md->argv[0], "to-etcd") == 0;
    rv = to_etcd ? etcd_is_empty(a2md) : APR_SUCCESS;
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* 2. */
    memset(&stats, 0, sizeof(stats));
    rv = to_etcd ? md_store_copy(&stats, a2md->store, a2md->local, a2md->p)
                 : md_store_copy(&stats, a2md->local, a2md->store, a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv,
                         "migrate: copying failed after %d values; what was copied "
                         "stays, run it again once the cause is fixed",
                         stats.values);
    }
    a2md_note(a2md, "migrate: copied %d values of %d names from %s to %s", stats.values,
              stats.names, to_etcd ? a2md->store_dir : md_store_etcd_describe(a2md->store, a2md->p),
              to_etcd ? md_store_etcd_describe(a2md->store, a2md->p) : a2md->store_dir);
    return APR_SUCCESS;
}

const a2md_cmd_t a2md_migrate_cmds[] = {
    { "migrate", A2MD_STORE_WRITE, cmd_migrate, NULL, "migrate to-etcd|from-etcd",
      "copy the file store in -d into the etcd store of --etcd, or back, byte for byte (the "
      "key stays in -d's md_store.json: give every server a copy)" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};
