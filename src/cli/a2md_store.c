/* a2md_store: the store commands of upstream's a2md (store add|remove|list|update): md.json
 * files in domains/ as they are written, without the registry's view (no "renew", the stored
 * state). Names are checked as for 'add', but not whether another MD has them.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "md_reg_admin.h"
#include "a2md.h"

static apr_status_t print_md(a2md_t *a2md, const char *name)
{
    md_t *md = NULL;
    apr_status_t rv;

    rv = md_reg_admin_load(&md, NULL, a2md->store, name, a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "%s: cannot read it back from the store", name);
    }
    a2md_out_md(a2md, md, NULL);
    return APR_SUCCESS;
}

static apr_status_t check_ca(a2md_t *a2md)
{
    const char *err = NULL;

    if (a2md->ca_url && APR_SUCCESS != md_reg_admin_url(a2md->ca_url, &err, a2md->p)) {
        return a2md_fail(a2md, APR_EINVAL, "the CA (-a): %s", err);
    }
    return APR_SUCCESS;
}

static apr_status_t cmd_store_add(a2md_t *a2md)
{
    apr_array_header_t *domains = NULL;
    const char *err = NULL;
    md_t *md;
    apr_status_t rv;

    rv = md_reg_admin_domains(&domains, a2md->argv, a2md->argc, &err, a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "store add: %s", err);
    }
    rv = check_ca(a2md);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md = md_create_empty(a2md->p);
    md->name = APR_ARRAY_IDX(domains, 0, const char *);
    md->domains = domains;
    md->ca_url = a2md->ca_url;
    md->ca_proto = MD_PROTO_ACME;
    if (a2md_md_exists(a2md, md->name)) {
        return a2md_fail(a2md, APR_EEXIST, "store add: there is an MD named %s already", md->name);
    }
    rv = md_reg_admin_save(a2md->store, md, NULL, a2md->p);
    return (APR_SUCCESS == rv) ? print_md(a2md, md->name) : rv;
}

static apr_status_t remove_opt(a2md_t *a2md, void *baton, int opt, const char *arg)
{
    (void)a2md;
    (void)arg;
    if (opt != 'f') {
        return APR_EINVAL;
    }
    *(int *)baton = 1;
    return APR_SUCCESS;
}

static const apr_getopt_option_t remove_options[] = {
    { "force", 'f', 0, "no error for names that are not there" },
    { NULL, 0, 0, NULL },
};

static apr_status_t cmd_store_remove(a2md_t *a2md)
{
    const char *name;
    int i, force = 0;
    apr_status_t rv;

    rv = a2md_cmd_opts(a2md, remove_options, remove_opt, &force);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (a2md->argc < 1) {
        return a2md_usage(a2md, "store remove needs at least one name");
    }
    for (i = 0; i < a2md->argc; ++i) {
        name = a2md->argv[i];
        if (!a2md_md_exists(a2md, name)) {
            if (force) {
                continue;
            }
            return a2md_fail(a2md, APR_ENOENT, "store remove: no MD %s in the store", name);
        }
        /* the live set and what is staged for it; archive/ keeps the earlier sets */
        rv = md_store_purge(a2md->store, MD_SG_DOMAINS, name, a2md->p);
        if (APR_SUCCESS == rv) {
            rv = md_store_purge(a2md->store, MD_SG_STAGING, name, a2md->p);
        }
        if (APR_SUCCESS != rv) {
            return a2md_fail(a2md, rv, "store remove: removing %s failed", name);
        }
    }
    return APR_SUCCESS;
}

static apr_status_t cmd_store_list(a2md_t *a2md)
{
    apr_array_header_t *mds = md_reg_admin_load_all(a2md->store, a2md->p);
    int i;

    for (i = 0; i < mds->nelts; ++i) {
        a2md_out_md(a2md, APR_ARRAY_IDX(mds, i, const md_t *), NULL);
    }
    return APR_SUCCESS;
}

static apr_status_t cmd_store_update(a2md_t *a2md)
{
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *err = NULL;
    apr_status_t rv;

    if (a2md->argc < 1) {
        return a2md_usage(a2md, "store update needs the name of an MD");
    }
    rv = md_reg_admin_load(&md, &json, a2md->store, a2md->argv[0], a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "managed domain not found: %s", a2md->argv[0]);
    }
    if (a2md->argc > 1 && strcmp("domains", a2md->argv[1]) != 0) {
        return a2md_fail(a2md, APR_ENOTIMPL, "unknown store update aspect: %s (domains)",
                         a2md->argv[1]);
    }
    if (a2md->argc > 1) {
        rv = md_reg_admin_domains(&md->domains, a2md->argv + 2, a2md->argc - 2, &err, a2md->p);
        if (APR_SUCCESS != rv) {
            return a2md_fail(a2md, rv, "store update %s domains: %s", md->name, err);
        }
    }
    rv = check_ca(a2md);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (a2md->ca_url) {
        md->ca_url = a2md->ca_url;
        md->ca_urls = NULL; /* one CA now: md.json's "urls" becomes [url] */
    }
    rv = md_reg_admin_save(a2md->store, md, json, a2md->p);
    return (APR_SUCCESS == rv) ? print_md(a2md, md->name) : rv;
}

static const a2md_cmd_t store_cmds[] = {
    { "add", A2MD_STORE_CREATE, cmd_store_add, NULL, "store add DOMAIN [DOMAIN...]",
      "write a new md.json (state unknown)" },
    { "remove", A2MD_STORE_WRITE, cmd_store_remove, NULL, "store remove [-f|--force] NAME...",
      "remove MDs with their live and staged files (archive/ keeps the old sets)" },
    { "list", A2MD_STORE_READ, cmd_store_list, NULL, "store list",
      "the md.json of every MD as written" },
    { "update", A2MD_STORE_WRITE, cmd_store_update, NULL, "store update NAME [domains DOMAIN...]",
      "change an md.json (with -a its CA)" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

const a2md_cmd_t a2md_store_cmds[] = {
    { "store", 0, NULL, store_cmds, "store add|remove|list|update ...",
      "the md.json files of the store, as written" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};
