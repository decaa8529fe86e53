/* a2md_reg: the registry commands, as upstream's a2md has them: add, update, list, drive (the
 * drive itself is in a2md_drive.c). MDs live in domains/<name>/md.json; what is printed is that
 * md.json with the state the store gives the MD now and whether a renewal is due ("renew").
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "md_keys.h"
#include "md_util.h"
#include "md_reg_admin.h"
#include "a2md.h"

/* Print the stored MD 'name' with its state now. */
static apr_status_t print_stored(a2md_t *a2md, const char *name)
{
    md_reg_t *reg = NULL;
    md_t *md = NULL;
    apr_status_t rv;

    rv = md_reg_admin_load(&md, NULL, a2md->store, name, a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "%s: cannot read it back from the store", name);
    }
    rv = a2md_registry(&reg, a2md);
    if (APR_SUCCESS == rv) {
        a2md_out_md(a2md, md, md_reg_get(reg, name));
    }
    return rv;
}

static apr_status_t check_overlap(a2md_t *a2md, const md_t *md)
{
    const md_t *other = NULL;
    const char *common = NULL;

    if (APR_SUCCESS == md_reg_admin_overlap(&other, &common, a2md->store, md, a2md->p)) {
        return a2md_fail(a2md, APR_EINVAL,
                         "%s: the name %s belongs to the MD %s already (a name can be in one MD "
                         "only)",
                         md->name, common, other->name);
    }
    return APR_SUCCESS;
}

static apr_status_t check_url(a2md_t *a2md, const char *url, const char *what)
{
    const char *err = NULL;

    if (APR_SUCCESS != md_reg_admin_url(url, &err, a2md->p)) {
        return a2md_fail(a2md, APR_EINVAL, "%s: %s", what, err);
    }
    return APR_SUCCESS;
}

/* ---- add ------------------------------------------------------------------------------------- */

static apr_status_t cmd_add(a2md_t *a2md)
{
    apr_array_header_t *domains = NULL;
    const char *err = NULL;
    md_t *md;
    apr_status_t rv;

    rv = md_reg_admin_domains(&domains, a2md->argv, a2md->argc, &err, a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "add: %s", err);
    }
    if (a2md->ca_url && APR_SUCCESS != check_url(a2md, a2md->ca_url, "the CA (-a)")) {
        return APR_EINVAL;
    }
    md = md_create_empty(a2md->p);
    md->name = APR_ARRAY_IDX(domains, 0, const char *);
    md->domains = domains;
    md->ca_url = a2md->ca_url;
    md->ca_proto = MD_PROTO_ACME;
    md->state = MD_S_INCOMPLETE;
    if (a2md_md_exists(a2md, md->name)) {
        return a2md_fail(a2md, APR_EEXIST, "add: there is an MD named %s already", md->name);
    }
    rv = check_overlap(a2md, md);
    if (APR_SUCCESS == rv) {
        rv = md_reg_admin_save(a2md->store, md, NULL, a2md->p);
    }
    return (APR_SUCCESS == rv) ? print_stored(a2md, md->name) : rv;
}

/* ---- update ---------------------------------------------------------------------------------- */

static apr_status_t update_domains(a2md_t *a2md, md_t *md, const char *const *args, int nargs)
{
    const char *err = NULL;
    apr_status_t rv;

    rv = md_reg_admin_domains(&md->domains, args, nargs, &err, a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "update %s domains: %s", md->name, err);
    }
    return check_overlap(a2md, md);
}

static apr_status_t update_contacts(a2md_t *a2md, md_t *md, const char *const *args, int nargs)
{
    const char *contact = NULL, *err = NULL;
    int i;

    if (nargs < 1) {
        return a2md_fail(a2md, APR_EINVAL, "update %s contacts: give at least one address",
                         md->name);
    }
    md->contacts = apr_array_make(a2md->p, nargs, sizeof(const char *));
    for (i = 0; i < nargs; ++i) {
        if (APR_SUCCESS != md_reg_admin_contact(&contact, args[i], &err, a2md->p)) {
            return a2md_fail(a2md, APR_EINVAL, "update %s contacts: %s", md->name, err);
        }
        APR_ARRAY_PUSH(md->contacts, const char *) = contact;
    }
    return APR_SUCCESS;
}

/* MDPrivateKeys' words: "RSA [bits]" and curve names, in order */
static apr_status_t update_privkeys(a2md_t *a2md, md_t *md, const char *const *args, int nargs)
{
    md_pkey_spec_t *spec = NULL;
    apr_size_t used = 0, i = 0;
    const char *err = NULL;

    md->pks = apr_array_make(a2md->p, 2, sizeof(md_pkey_spec_t *));
    while (i < (apr_size_t)nargs) {
        if (APR_SUCCESS
            != md_pkey_spec_parse(&spec, &used, args + i, (apr_size_t)nargs - i, a2md->p, &err)) {
            return a2md_fail(a2md, APR_EINVAL, "update %s privkeys: %s", md->name,
                             err ? err : "not understood");
        }
        APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec;
        i += used;
    }
    if (!md->pks->nelts) {
        return a2md_fail(a2md, APR_EINVAL, "update %s privkeys: give at least one key type",
                         md->name);
    }
    return APR_SUCCESS;
}

static apr_status_t update_aspect(a2md_t *a2md, md_t *md, const char *aspect,
                                  const char *const *args, int nargs)
{
    if (!strcmp("domains", aspect)) {
        return update_domains(a2md, md, args, nargs);
    }
    if (!strcmp("ca", aspect)) {
        if (nargs < 1) {
            return a2md_usage(a2md, "update NAME ca URL [PROTOCOL]");
        }
        md->ca_url = args[0];
        md->ca_urls = NULL; /* one CA now: md.json's "urls" becomes [url] */
        md->ca_proto = (nargs > 1) ? args[1] : md->ca_proto;
        return check_url(a2md, md->ca_url, "update ca");
    }
    if (!strcmp("account", aspect)) {
        md->ca_account = (nargs > 0) ? args[0] : NULL;
        return APR_SUCCESS;
    }
    if (!strcmp("contacts", aspect)) {
        return update_contacts(a2md, md, args, nargs);
    }
    if (!strcmp("agreement", aspect)) {
        md->ca_agreement = (nargs > 0) ? args[0] : NULL;
        if (!md->ca_agreement || !strcmp(md->ca_agreement, MD_TOS_ACCEPTED)) {
            return APR_SUCCESS;
        }
        return check_url(a2md, md->ca_agreement, "update agreement");
    }
    if (!strcmp("privkeys", aspect)) {
        return update_privkeys(a2md, md, args, nargs);
    }
    return a2md_fail(a2md, APR_ENOTIMPL,
                     "unknown update aspect: %s (domains, ca, account, contacts, agreement, "
                     "privkeys)",
                     aspect);
}

static apr_status_t cmd_update(a2md_t *a2md)
{
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *name;
    apr_status_t rv;

    if (a2md->argc < 1) {
        return a2md_usage(a2md, "update needs the name of an MD");
    }
    name = a2md->argv[0];
    rv = md_reg_admin_load(&md, &json, a2md->store, name, a2md->p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return a2md_fail(a2md, rv, "managed domain not found: %s", name);
    }
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "%s: its md.json cannot be read", name);
    }
    if (a2md->ca_url && (!md->ca_url || strcmp(md->ca_url, a2md->ca_url) != 0)) {
        rv = check_url(a2md, a2md->ca_url, "the CA (-a)");
        md->ca_url = a2md->ca_url;
    }
    if (APR_SUCCESS == rv && a2md->argc > 1) {
        rv = update_aspect(a2md, md, a2md->argv[1], a2md->argv + 2, a2md->argc - 2);
    }
    if (APR_SUCCESS == rv) {
        rv = md_reg_admin_save(a2md->store, md, json, a2md->p);
    }
    return (APR_SUCCESS == rv) ? print_stored(a2md, name) : rv;
}

/* ---- list ------------------------------------------------------------------------------------ */

static apr_status_t cmd_list(a2md_t *a2md)
{
    apr_array_header_t *mds;
    md_reg_t *reg = NULL;
    md_t *md = NULL;
    apr_status_t rv;
    int i;

    rv = a2md_registry(&reg, a2md);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (!a2md->argc) {
        mds = md_reg_admin_load_all(a2md->store, a2md->p);
        for (i = 0; i < mds->nelts; ++i) {
            md = APR_ARRAY_IDX(mds, i, md_t *);
            a2md_out_md(a2md, md, md_reg_get(reg, md->name));
        }
        return APR_SUCCESS;
    }
    for (i = 0; i < a2md->argc; ++i) {
        /* an MD's name, or one of its domains */
        if (APR_SUCCESS != md_reg_admin_find(&md, a2md->store, a2md->argv[i], a2md->p)) {
            return a2md_fail(a2md, APR_ENOENT, "managed domain not found: %s", a2md->argv[i]);
        }
        a2md_out_md(a2md, md, md_reg_get(reg, md->name));
    }
    return APR_SUCCESS;
}

/* ---- drive ----------------------------------------------------------------------------------- */

enum { OPT_TIMEOUT = 256 };

typedef struct {
    const char *challenge;
    int force;
    int reset;
} drive_opts_t;

static const apr_getopt_option_t drive_options[] = {
    { "challenge", 'c', 1, "the challenge type to use (http-01, tls-alpn-01, dns-01)" },
    { "force", 'f', 0, "renew also when the certificate is not due" },
    { "reset", 'r', 0, "throw away what is staged for the MD first" },
    { "timeout", OPT_TIMEOUT, 1, "how long to wait for the CA (default 5 minutes)" },
    { NULL, 0, 0, NULL },
};

static apr_status_t drive_opt(a2md_t *a2md, void *baton, int opt, const char *arg)
{
    drive_opts_t *o = baton;

    switch (opt) {
        case 'c':
            o->challenge = arg;
            return APR_SUCCESS;
        case 'f':
            o->force = 1;
            return APR_SUCCESS;
        case 'r':
            o->reset = 1;
            return APR_SUCCESS;
        case OPT_TIMEOUT:
            return md_duration_parse(&a2md->poll_timeout, arg, "s");
        default:
            return APR_EINVAL;
    }
}

static apr_status_t cmd_drive(a2md_t *a2md)
{
    drive_opts_t o;
    apr_array_header_t *mds;
    md_t *md = NULL;
    apr_status_t rv;
    int i;

    memset(&o, 0, sizeof(o));
    rv = a2md_cmd_opts(a2md, drive_options, drive_opt, &o);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (!a2md->argc) {
        mds = md_reg_admin_load_all(a2md->store, a2md->p);
    }
    else {
        mds = apr_array_make(a2md->p, a2md->argc, sizeof(md_t *));
        for (i = 0; i < a2md->argc; ++i) {
            if (APR_SUCCESS != md_reg_admin_load(&md, NULL, a2md->store, a2md->argv[i], a2md->p)) {
                return a2md_fail(a2md, APR_ENOENT, "managed domain not found: %s", a2md->argv[i]);
            }
            APR_ARRAY_PUSH(mds, md_t *) = md;
        }
    }
    return a2md_drive_mds(a2md, mds, o.force, o.reset, o.challenge);
}

const a2md_cmd_t a2md_reg_cmds[] = {
    { "add", A2MD_STORE_CREATE, cmd_add, NULL, "add DOMAIN [DOMAIN...]",
      "add a managed domain (its name is the first domain); no name may be in another MD" },
    { "update", A2MD_STORE_WRITE, cmd_update, NULL,
      "update NAME [domains DOMAIN...|ca URL [PROTO]|account [ID]|contacts EMAIL...|"
      "agreement [URL]|privkeys SPEC...]",
      "change a managed domain (with -a also its CA)" },
    { "drive", A2MD_STORE_WRITE | A2MD_HTTP, cmd_drive, NULL,
      "drive [-c TYPE] [-f|--force] [-r|--reset] [--timeout DURATION] [NAME...]",
      "get certificates here for the named (or all) MDs that need one, and make them live in "
      "the store" },
    { "list", A2MD_STORE_READ, cmd_list, NULL, "list [NAME...]",
      "list the managed domains (or those named, also by one of their domains)" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};
