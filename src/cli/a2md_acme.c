/* a2md_acme: the CA account commands: upstream's 'acme newreg|delreg|agree|authz|validate' and
 * ours, 'account list|show|rollover'. Accounts are addressed by their id in accounts/
 * ("ACME-<ca host>-NNNN"); rollover also takes the name of an MD that uses one.
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "md_keys.h"
#include "md_util.h"
#include "md_reg_admin.h"
#include "md_acme_admin.h"
#include "md_acme_keychange.h"
#include "a2md.h"

static void admin_init(md_acme_admin_t *admin, a2md_t *a2md)
{
    admin->store = a2md->store;
    admin->http_config = &a2md->http_config;
    admin->result = md_result_make(NULL, a2md->p);
}

static apr_status_t admin_fail(a2md_t *a2md, md_acme_admin_t *admin, apr_status_t rv,
                               const char *what)
{
    return a2md_fail(a2md, rv, "%s: %s", what, md_result_to_text(admin->result, a2md->p));
}

/* Print account 'id' (its account.json with -j). */
static void out_account(a2md_t *a2md, const char *id)
{
    md_json_t *json = NULL;

    if (APR_SUCCESS == md_acme_admin_account_json(&json, a2md->store, id, a2md->p)) {
        a2md_out_json(a2md, json);
    }
}

static apr_status_t need_args(a2md_t *a2md, int n)
{
    return (a2md->argc < n) ? a2md_usage(a2md, "arguments are missing") : APR_SUCCESS;
}

/* ---- acme newreg ----------------------------------------------------------------------------- */

static apr_status_t cmd_newreg(a2md_t *a2md)
{
    apr_array_header_t *contacts = apr_array_make(a2md->p, 3, sizeof(const char *));
    md_acme_admin_t admin;
    const char *contact = NULL, *err = NULL, *id = NULL;
    apr_status_t rv;
    int i;

    if (APR_SUCCESS != need_args(a2md, 1)) {
        return a2md_usage(a2md, "newreg needs at least one contact email");
    }
    if (!a2md->ca_url) {
        return a2md_fail(a2md, APR_EINVAL, "acme newreg: give the CA's directory with -a URL");
    }
    for (i = 0; i < a2md->argc; ++i) {
        if (APR_SUCCESS != md_reg_admin_contact(&contact, a2md->argv[i], &err, a2md->p)) {
            return a2md_fail(a2md, APR_EINVAL, "acme newreg: %s", err);
        }
        APR_ARRAY_PUSH(contacts, const char *) = contact;
    }
    admin_init(&admin, a2md);
    rv = md_acme_admin_register(&id, &admin, a2md->ca_url, contacts, a2md->tos != NULL, a2md->p);
    if (APR_SUCCESS != rv) {
        return admin_fail(a2md, &admin, rv, "acme newreg");
    }
    if (a2md->output) {
        out_account(a2md, id);
    }
    else {
        printf("registered: %s\n", id);
    }
    return APR_SUCCESS;
}

/* ---- acme delreg|agree|validate ACCOUNT... --------------------------------------------------- */

typedef apr_status_t account_op_fn(md_acme_admin_t *admin, const char *id, apr_pool_t *p);

/* 'op' on each account named; 'done' prints "<done>: <account url>" for each */
static apr_status_t each_account(a2md_t *a2md, account_op_fn *op, const char *done)
{
    md_acme_admin_t admin;
    md_json_t *json = NULL, *now = NULL;
    const char *id;
    apr_status_t rv;
    int i;

    if (APR_SUCCESS != need_args(a2md, 1)) {
        return APR_EINVAL;
    }
    admin_init(&admin, a2md);
    for (i = 0; i < a2md->argc; ++i) {
        id = a2md->argv[i];
        json = NULL;
        md_acme_admin_account_json(&json, a2md->store, id, a2md->p);
        rv = op(&admin, id, a2md->p);
        if (APR_SUCCESS != rv) {
            return admin_fail(a2md, &admin, rv, apr_psprintf(a2md->p, "account %s", id));
        }
        /* as it is now; a deactivated one is gone from the store: as it was */
        if (APR_SUCCESS == md_acme_admin_account_json(&now, a2md->store, id, a2md->p)) {
            json = now;
        }
        if (a2md->output && json) {
            a2md_out_json(a2md, json);
        }
        else {
            printf("%s: %s\n", done, json ? md_json_gets(json, MD_KEY_URL) : id);
        }
    }
    return APR_SUCCESS;
}

static apr_status_t cmd_delreg(a2md_t *a2md)
{
    return each_account(a2md, md_acme_admin_deactivate, "deleted");
}

static apr_status_t cmd_agree(a2md_t *a2md)
{
    return each_account(a2md, md_acme_admin_agree, "agreed terms-of-service");
}

static apr_status_t cmd_validate(a2md_t *a2md)
{
    return each_account(a2md, md_acme_admin_validate, "valid");
}

/* ---- acme authz ACCOUNT DOMAIN... ------------------------------------------------------------ */

static apr_status_t cmd_authz(a2md_t *a2md)
{
    md_acme_admin_t admin;
    md_json_t *json;
    const char *url = NULL;
    apr_status_t rv;
    int i;

    if (APR_SUCCESS != need_args(a2md, 2)) {
        return APR_EINVAL;
    }
    admin_init(&admin, a2md);
    for (i = 1; i < a2md->argc; ++i) {
        rv = md_acme_admin_authz(&url, &admin, a2md->argv[0], a2md->argv[i], a2md->p);
        if (APR_SUCCESS != rv) {
            return admin_fail(a2md, &admin, rv, "acme authz");
        }
        if (a2md->output) {
            json = md_json_create(a2md->p);
            md_json_sets(a2md->argv[i], json, MD_KEY_DOMAIN);
            md_json_sets(url, json, MD_KEY_URL);
            a2md_out_json(a2md, json);
        }
        else {
            printf("authz: %s %s\n", a2md->argv[i], url);
        }
    }
    return APR_SUCCESS;
}

static const a2md_cmd_t acme_cmds[] = {
    { "newreg", A2MD_STORE_CREATE | A2MD_HTTP, cmd_newreg, NULL, "acme newreg CONTACT...",
      "register a new account at the CA of -a (agree to its terms with -t) into accounts/" },
    { "delreg", A2MD_STORE_WRITE | A2MD_HTTP, cmd_delreg, NULL, "acme delreg ACCOUNT...",
      "deactivate accounts at their CA and remove them from the store" },
    { "agree", A2MD_STORE_WRITE | A2MD_HTTP, cmd_agree, NULL, "acme agree ACCOUNT...",
      "agree to the current terms of service of the accounts' CA" },
    { "authz", A2MD_STORE_READ | A2MD_HTTP, cmd_authz, NULL, "acme authz ACCOUNT DOMAIN...",
      "ask the CA for a new (pending) authorization of the account for each domain" },
    { "validate", A2MD_STORE_READ | A2MD_HTTP, cmd_validate, NULL, "acme validate ACCOUNT...",
      "ask the CA whether it knows the accounts and they are valid" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

const a2md_cmd_t a2md_acme_cmds[] = {
    { "acme", 0, NULL, acme_cmds, "acme newreg|delreg|agree|authz|validate ...",
      "the accounts at the CA" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

/* ---- account list|show|rollover -------------------------------------------------------------- */

static void print_account_line(a2md_t *a2md, const md_json_t *json)
{
    apr_array_header_t *contacts = apr_array_make(a2md->p, 3, sizeof(const char *));

    md_json_getsa(contacts, json, MD_KEY_CONTACT);
    printf("%-26s %-11s %s %s [%s]\n", md_json_gets(json, MD_KEY_ID),
           md_json_gets(json, MD_KEY_STATUS), md_json_gets(json, MD_KEY_CA_URL),
           md_json_gets(json, MD_KEY_URL), md_array_str_join(contacts, ", ", a2md->p));
}

static apr_status_t cmd_acct_list(a2md_t *a2md)
{
    apr_array_header_t *ids = md_acme_admin_account_ids(a2md->store, a2md->p);
    md_json_t *json = NULL;
    const char *id;
    int i;

    for (i = 0; i < ids->nelts; ++i) {
        id = APR_ARRAY_IDX(ids, i, const char *);
        if (APR_SUCCESS != md_acme_admin_account_json(&json, a2md->store, id, a2md->p)) {
            fprintf(stderr, "a2md: accounts/%s: not readable ('a2md check' says more)\n", id);
            continue;
        }
        if (a2md->output) {
            a2md_out_json(a2md, json);
        }
        else {
            print_account_line(a2md, json);
        }
    }
    return APR_SUCCESS;
}

static apr_status_t cmd_acct_show(a2md_t *a2md)
{
    md_json_t *json = NULL;
    apr_status_t rv;
    int i;

    if (APR_SUCCESS != need_args(a2md, 1)) {
        return APR_EINVAL;
    }
    for (i = 0; i < a2md->argc; ++i) {
        rv = md_acme_admin_account_json(&json, a2md->store, a2md->argv[i], a2md->p);
        if (APR_SUCCESS != rv) {
            return a2md_fail(a2md, rv, "unknown account: %s", a2md->argv[i]);
        }
        if (a2md->output) {
            a2md_out_json(a2md, json);
        }
        else {
            printf("%s\n", md_json_writep(json, a2md->p, MD_JSON_FMT_INDENT));
        }
    }
    return APR_SUCCESS;
}

/* An account id, or the name of an MD whose account is meant. */
static const char *account_of(a2md_t *a2md, const char *arg)
{
    md_json_t *json = NULL;
    md_t *md = NULL;

    if (APR_SUCCESS == md_acme_admin_account_json(&json, a2md->store, arg, a2md->p)) {
        return arg;
    }
    if (APR_SUCCESS == md_reg_admin_load(&md, NULL, a2md->store, arg, a2md->p) && md->ca_account) {
        return md->ca_account;
    }
    return NULL;
}

static apr_status_t cmd_acct_rollover(a2md_t *a2md)
{
    md_acme_admin_t admin;
    const char *id;
    apr_status_t rv;
    int i;

    if (APR_SUCCESS != need_args(a2md, 1)) {
        return APR_EINVAL;
    }
    admin_init(&admin, a2md);
    for (i = 0; i < a2md->argc; ++i) {
        id = account_of(a2md, a2md->argv[i]);
        if (!id) {
            return a2md_fail(a2md, APR_ENOENT,
                             "account rollover: %s is no account in the store nor an MD with one",
                             a2md->argv[i]);
        }
        rv = md_acme_keychange(&admin, id, a2md->p);
        if (APR_SUCCESS != rv) {
            return admin_fail(a2md, &admin, rv, apr_psprintf(a2md->p, "account %s", id));
        }
        if (a2md->output) {
            out_account(a2md, id);
        }
        else {
            printf("%s: rolled over to a new key\n", id);
        }
    }
    return APR_SUCCESS;
}

static const a2md_cmd_t acct_cmds[] = {
    { "list", A2MD_STORE_READ, cmd_acct_list, NULL, "account list",
      "the accounts in the store: id, status, CA, URL, contacts" },
    { "show", A2MD_STORE_READ, cmd_acct_show, NULL, "account show ACCOUNT...",
      "an account's account.json (no secrets in it)" },
    { "rollover", A2MD_STORE_WRITE | A2MD_HTTP, cmd_acct_rollover, NULL,
      "account rollover ACCOUNT|NAME...",
      "give accounts (or the account of an MD) a new key at the CA (RFC 8555 7.3.5)" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

const a2md_cmd_t a2md_acct_cmds[] = {
    { "account", 0, NULL, acct_cmds, "account list|show|rollover ...",
      "the accounts in the store" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};
