/* a2md_check: 'a2md check', a look at a file store without changing it.
 *
 *   1. every MD in domains/: md.json readable; per key spec a key and certificate that belong
 *      together, are valid and cover the MD's names (or neither: the MD has none yet)
 *   2. staging/: staged sets complete and usable, or a job at work
 *   3. accounts/: account.json readable and account.pem decrypts with the store's key
 *   4. nothing half written: temporary files of interrupted writes, interrupted activations in
 *      tmp/; set-aside files are noted
 *   5. the server's user (--user, default: the owner the server gave staging/) can read
 *      accounts/ and read and write challenges/, staging/ and ocsp/
 * Each finding is an error (the server would fail or serve something wrong), a warning (it will
 * cope, but look) or ok. Errors make the command fail.
 */
#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_user.h>

#include "md_keys.h"
#include "md_util.h"
#include "md_reg_admin.h"
#include "md_acme_admin.h"
#include "a2md.h"

typedef struct {
    a2md_t *a2md;
    md_reg_t *reg; /* for checking staged sets */
    const char *user;
    long uid, gid; /* -1: unknown, no permission checks */
    int errors;
    int warnings;
} check_t;

static void finding(check_t *c, const char *level, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void finding(check_t *c, const char *level, const char *what, const char *fmt, ...)
{
    md_json_t *json;
    const char *msg;
    va_list ap;

    va_start(ap, fmt);
    msg = apr_pvsprintf(c->a2md->p, fmt, ap);
    va_end(ap);
    c->errors += !strcmp(level, "error");
    c->warnings += !strcmp(level, "warning");
    if (!c->a2md->output) {
        printf("%-7s %s: %s\n", level, what, msg);
        return;
    }
    json = md_json_create(c->a2md->p);
    md_json_sets(what, json, MD_KEY_NAME);
    md_json_sets(level, json, MD_KEY_STATUS);
    md_json_sets(msg, json, MD_KEY_DETAIL);
    a2md_out_json(c->a2md, json);
}

static apr_status_t load_quietly(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, md_store_vtype_t vtype, void **pvalue,
                                 apr_pool_t *p)
{
    apr_time_t mtime;

    if (APR_SUCCESS != md_store_get_modified(&mtime, store, group, name, aspect, p)) {
        return APR_ENOENT;
    }
    return md_store_load(store, group, name, aspect, vtype, pvalue, p);
}

/* ---- 1. live sets ---------------------------------------------------------------------------- */

static void check_cert(check_t *c, const md_t *md, const char *what, const md_cert_t *cert)
{
    apr_pool_t *p = c->a2md->p;
    apr_time_t until = md_cert_get_not_after(cert);

    if (until <= apr_time_now()) {
        finding(c, "warning", what, "the certificate expired on %s: renew it (a2md renew %s)",
                md_time_rfc3339(until, p), md->name);
    }
    else if (!md_cert_covers_all(cert, md->domains)) {
        finding(c, "warning", what,
                "the certificate does not cover all names of the MD (%s): a renewal is due",
                md_array_str_join(md->domains, ", ", p));
    }
    else {
        finding(c, "ok", what, "key and certificate match, valid until %s",
                md_time_rfc3339(until, p));
    }
}

static void check_pair(check_t *c, const md_t *md, const md_pkey_spec_t *spec)
{
    apr_pool_t *p = c->a2md->p;
    const char *cfile = md_chain_filename(spec, p), *kfile = md_pkey_filename(spec, p);
    const char *what = apr_psprintf(p, "domains/%s/%s", md->name, cfile);
    apr_array_header_t *chain = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t crv, krv;

    crv = load_quietly(c->a2md->store, MD_SG_DOMAINS, md->name, cfile, MD_SV_CHAIN, (void **)&chain,
                       p);
    krv =
        load_quietly(c->a2md->store, MD_SG_DOMAINS, md->name, kfile, MD_SV_PKEY, (void **)&pkey, p);
    if (APR_STATUS_IS_ENOENT(crv) && APR_STATUS_IS_ENOENT(krv)) {
        finding(c, "ok", what, "no %s certificate yet", md_pkey_spec_name(spec));
    }
    else if (APR_STATUS_IS_ENOENT(crv) || APR_STATUS_IS_ENOENT(krv)) {
        finding(c, "error", what, "half a set: %s is there without %s",
                APR_STATUS_IS_ENOENT(crv) ? kfile : cfile,
                APR_STATUS_IS_ENOENT(crv) ? cfile : kfile);
    }
    else if (APR_SUCCESS != crv || APR_SUCCESS != krv) {
        finding(c, "error", what, "%s cannot be read (damaged?)",
                APR_SUCCESS != crv ? cfile : kfile);
    }
    else if (!md_cert_matches_key(APR_ARRAY_IDX(chain, 0, const md_cert_t *), pkey)) {
        finding(c, "error", what, "the certificate does not belong to the key %s", kfile);
    }
    else {
        check_cert(c, md, what, APR_ARRAY_IDX(chain, 0, const md_cert_t *));
    }
}

static int check_md(void *baton, const char *name, apr_pool_t *ptemp)
{
    check_t *c = baton;
    md_json_t *acct = NULL;
    md_t *md = NULL;
    const char *what = apr_psprintf(c->a2md->p, "domains/%s/md.json", name);
    int i;

    (void)ptemp;
    if (APR_SUCCESS != md_reg_admin_load(&md, NULL, c->a2md->store, name, c->a2md->p)) {
        finding(c, "error", what, "missing or unreadable");
        return 1;
    }
    if (md->ca_account
        && APR_SUCCESS
               != md_acme_admin_account_json(&acct, c->a2md->store, md->ca_account, c->a2md->p)) {
        finding(c, "warning", what,
                "names the account %s, which is not in accounts/ (the next "
                "renewal finds or makes another)",
                md->ca_account);
    }
    md_reg_stored_defaults(md, c->a2md->p);
    for (i = 0; i < md->pks->nelts; ++i) {
        check_pair(c, md, APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *));
    }
    return 1;
}

/* ---- 2. staging ------------------------------------------------------------------------------ */

static int check_staged(void *baton, const char *name, apr_pool_t *ptemp)
{
    check_t *c = baton;
    apr_pool_t *p = c->a2md->p;
    const char *what = apr_psprintf(p, "staging/%s", name);
    md_result_t *result = md_result_make(name, p);
    md_json_t *json = NULL;
    md_t *md = NULL;
    apr_time_t mtime;

    (void)ptemp;
    if (APR_SUCCESS
        != md_store_get_modified(&mtime, c->a2md->store, MD_SG_STAGING, name, MD_FN_MD, p)) {
        if (APR_SUCCESS
            == md_store_get_modified(&mtime, c->a2md->store, MD_SG_STAGING, name, MD_FN_ORDER, p)) {
            finding(c, "ok", what, "a renewal is at work (its order is there)");
        }
        return 1;
    }
    if (APR_SUCCESS != md_store_load_json(c->a2md->store, MD_SG_STAGING, name, MD_FN_MD, &json, p)
        || APR_SUCCESS != md_from_json(&md, json, p, NULL)) {
        finding(c, "error", what, "md.json is unreadable: the server throws the set away");
        return 1;
    }
    md_reg_stored_defaults(md, p);
    if (APR_SUCCESS != md_reg_check_staged(c->reg, md, result, p)) {
        finding(c, "error", what, "the staged set is not usable: %s", md_result_to_text(result, p));
    }
    else {
        finding(c, "ok", what, "a complete renewed set, it goes live at the server's next restart");
    }
    return 1;
}

/* ---- 3. accounts ----------------------------------------------------------------------------- */

static int check_account(void *baton, const char *id, apr_pool_t *ptemp)
{
    check_t *c = baton;
    apr_pool_t *p = c->a2md->p;
    const char *what = apr_psprintf(p, "accounts/%s", id);
    md_json_t *json = NULL;
    md_pkey_t *pkey = NULL;
    apr_time_t mtime;

    (void)ptemp;
    if (APR_SUCCESS != md_acme_admin_account_json(&json, c->a2md->store, id, p)) {
        finding(c, "error", what, "account.json is missing or unusable");
    }
    else if (APR_SUCCESS
             != md_store_load(c->a2md->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY, MD_SV_PKEY,
                              (void **)&pkey, p)) {
        finding(c, "error", what,
                "account.pem is missing or does not decrypt with the store's "
                "key (md_store.json from another store?)");
    }
    else {
        finding(c, "ok", what, "%s at %s", md_json_gets(json, MD_KEY_STATUS),
                md_json_gets(json, MD_KEY_CA_URL));
    }
    if (APR_SUCCESS
        == md_store_get_modified(&mtime, c->a2md->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY_NEXT,
                                 p)) {
        finding(c, "warning", what,
                "a key rollover was interrupted: run 'a2md account rollover %s' to finish it", id);
    }
    return 1;
}

/* ---- 4. + 5. the files ----------------------------------------------------------------------- */

#define NEED_READ  1
#define NEED_WRITE 2

/* May the server's user do 'need' with the file or directory of 'finfo'? (owner, then group,
 * then others; supplementary groups are not looked at) */
static int user_may(const check_t *c, const apr_finfo_t *finfo, int need)
{
    apr_fileperms_t prot = finfo->protection, r, w, x;

    if (c->uid == 0) {
        return 1;
    }
    if ((long)finfo->user == c->uid) {
        r = APR_FPROT_UREAD, w = APR_FPROT_UWRITE, x = APR_FPROT_UEXECUTE;
    }
    else if ((long)finfo->group == c->gid) {
        r = APR_FPROT_GREAD, w = APR_FPROT_GWRITE, x = APR_FPROT_GEXECUTE;
    }
    else {
        r = APR_FPROT_WREAD, w = APR_FPROT_WWRITE, x = APR_FPROT_WEXECUTE;
    }
    if ((need & NEED_READ) && !(prot & r)) {
        return 0;
    }
    if (finfo->filetype == APR_DIR && !(prot & x)) {
        return 0;
    }
    return !(need & NEED_WRITE) || (prot & w) || finfo->filetype != APR_DIR;
}

typedef struct {
    check_t *c;
    int need; /* for the server's user in this tree, 0 for none */
    const char *rel;
} walk_t;

static apr_status_t walk_dir(walk_t *w, const char *dpath, apr_pool_t *p);

static void check_leftover(check_t *c, const char *rel, const char *name)
{
    if (name[0] == '.' && strstr(name, ".tmp.")) {
        finding(c, "warning", rel,
                "left over by an interrupted write; the file it was to "
                "replace is intact, this one can be removed");
    }
    else if (strstr(name, ".broken-")) {
        finding(c, "ok", rel, "an unusable file set aside for inspection");
    }
}

static apr_status_t walk_entry(void *baton, const char *dpath, const char *name,
                               apr_filetype_e type, apr_pool_t *ptemp)
{
    walk_t *w = baton, sub = *w;
    const char *path = md_util_path_join(ptemp, dpath, name);
    apr_finfo_t finfo;

    sub.rel = apr_pstrcat(w->c->a2md->p, w->rel, "/", name, NULL);
    check_leftover(w->c, sub.rel, name);
    if (w->need && w->c->uid >= 0
        && APR_SUCCESS
               == apr_stat(&finfo, path, APR_FINFO_PROT | APR_FINFO_OWNER | APR_FINFO_TYPE, ptemp)
        && !user_may(w->c, &finfo, w->need)) {
        finding(w->c, "error", sub.rel, "the server's user %s cannot %s it", w->c->user,
                (w->need & NEED_WRITE) && type == APR_DIR ? "write into" : "read");
    }
    return (type == APR_DIR) ? walk_dir(&sub, path, ptemp) : APR_SUCCESS;
}

static apr_status_t walk_dir(walk_t *w, const char *dpath, apr_pool_t *p)
{
    return md_util_dir_do(walk_entry, w, dpath, p);
}

static void check_tree(check_t *c, md_store_group_t group, int need)
{
    const char *gname = md_store_group_name(group);
    const char *path = md_util_path_join(c->a2md->p, c->a2md->store_dir, gname);
    walk_t w = { c, need, gname };
    apr_finfo_t finfo;

    if (APR_SUCCESS
        != apr_stat(&finfo, path, APR_FINFO_PROT | APR_FINFO_OWNER | APR_FINFO_TYPE, c->a2md->p)) {
        return;
    }
    if (need && c->uid >= 0 && !user_may(c, &finfo, need)) {
        finding(c, "error", gname, "the server's user %s cannot %s it", c->user,
                (need & NEED_WRITE) ? "write into" : "read");
    }
    walk_dir(&w, path, c->a2md->p);
}

static int check_tmp(void *baton, const char *name, apr_pool_t *ptemp)
{
    check_t *c = baton;
    apr_size_t len = strlen(name);

    (void)ptemp;
    if (len > 6 && !strcmp(name + len - 6, "@ready")) {
        finding(c, "warning", apr_psprintf(c->a2md->p, "tmp/%s", name),
                "an activation was interrupted; the server's next start finishes it");
    }
    else if (len > 4 && !strcmp(name + len - 4, "@new")) {
        finding(c, "warning", apr_psprintf(c->a2md->p, "tmp/%s", name),
                "an activation was interrupted early; the staged set is still there and the "
                "next start removes this");
    }
    return 1;
}

/* 5. --user, else the owner the server gave staging/ */
static void find_user(check_t *c, const char *user)
{
    apr_uid_t uid;
    apr_gid_t gid;
    apr_finfo_t finfo;
    const char *staging = md_util_path_join(c->a2md->p, c->a2md->store_dir, "staging");
    char *name = NULL;

    c->uid = c->gid = -1;
    if (user) {
        if (APR_SUCCESS == apr_uid_get(&uid, &gid, user, c->a2md->p)) {
            c->user = user;
            c->uid = (long)uid;
            c->gid = (long)gid;
        }
        else {
            finding(c, "error", user, "no such user");
        }
        return;
    }
    if (APR_SUCCESS == apr_stat(&finfo, staging, APR_FINFO_OWNER, c->a2md->p)) {
        c->uid = (long)finfo.user;
        c->gid = (long)finfo.group;
        c->user = (APR_SUCCESS == apr_uid_name_get(&name, finfo.user, c->a2md->p))
                      ? name
                      : apr_psprintf(c->a2md->p, "uid %ld", c->uid);
    }
}

static apr_status_t user_opt(a2md_t *a2md, void *baton, int opt, const char *arg)
{
    (void)a2md;
    if (opt != 'u') {
        return APR_EINVAL;
    }
    *(const char **)baton = arg;
    return APR_SUCCESS;
}

static const apr_getopt_option_t check_options[] = {
    { "user", 'u', 1, "the server's User (default: the owner of staging/)" },
    { NULL, 0, 0, NULL },
};

static apr_status_t cmd_check(a2md_t *a2md)
{
    check_t c;
    const char *user = NULL;
    md_store_t *store = a2md->store;
    apr_status_t rv;

    memset(&c, 0, sizeof(c));
    c.a2md = a2md;
    rv = a2md_cmd_opts(a2md, check_options, user_opt, &user);
    if (APR_SUCCESS == rv) {
        rv = md_reg_create(&c.reg, store, a2md->p);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    find_user(&c, user);
    finding(&c, "ok", "md_store.json", "readable, the store's key is there");
    /* 1. - 4. */
    md_store_iter_names(check_md, &c, store, MD_SG_DOMAINS, a2md->p);
    md_store_iter_names(check_staged, &c, store, MD_SG_STAGING, a2md->p);
    md_store_iter_names(check_account, &c, store, MD_SG_ACCOUNTS, a2md->p);
    md_store_iter_names(check_tmp, &c, store, MD_SG_TMP, a2md->p);
    /* 4. + 5. */
    check_tree(&c, MD_SG_ACCOUNTS, NEED_READ);
    check_tree(&c, MD_SG_CHALLENGES, NEED_READ | NEED_WRITE);
    check_tree(&c, MD_SG_STAGING, NEED_READ | NEED_WRITE);
    check_tree(&c, MD_SG_OCSP, NEED_READ | NEED_WRITE);
    check_tree(&c, MD_SG_DOMAINS, 0);
    check_tree(&c, MD_SG_ARCHIVE, 0);
    if (!a2md->output) {
        printf("check: %d errors, %d warnings%s%s\n", c.errors, c.warnings,
               c.uid >= 0 ? "; permissions checked for " : "; permissions not checked",
               c.uid >= 0 ? c.user : "");
    }
    if (c.errors) {
        return a2md_fail(a2md, APR_EINVAL, "check: %d problems in the store at %s", c.errors,
                         a2md->store_dir);
    }
    return APR_SUCCESS;
}

const a2md_cmd_t a2md_check_cmds[] = {
    { "check", A2MD_STORE_READ, cmd_check, NULL, "check [--user USER]",
      "verify the store: keys match certificates, nothing half written, the server's user can "
      "read and write what it must" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};
