/* a2md_ops: the operator's commands beyond upstream's: status (a table of every MD), renew
 * (ask a running server to renew now, or renew here) and revoke (RFC 8555 7.6).
 *
 * renew:
 *   1. for each MD a request in the store (md_request.h), handed to the server's user
 *   2. a running server's renewal watchdog takes it within a second or two and renews; a2md
 *      waits up to --timeout (5 s) for that, and with --wait for the outcome in job.json
 *   3. requests nobody took are withdrawn and those MDs renewed here (as 'drive --force')
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "md_job.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_status.h"
#include "md_request.h"
#include "md_reg_admin.h"
#include "md_acme_revoke.h"
#include "a2md.h"

#define RENEW_PICKUP_DEF apr_time_from_sec(5)
#define RENEW_WAIT_MAX   apr_time_from_sec(600)
#define RENEW_POLL       apr_time_from_msec(200)

/* The items named in the command's words (an MD name or one of its domains), or all. */
static apr_status_t named_items(const apr_array_header_t **pitems, a2md_t *a2md, md_reg_t *reg)
{
    apr_array_header_t *items;
    md_t *md = NULL;
    int i;

    if (!a2md->argc) {
        *pitems = md_reg_items(reg);
        return APR_SUCCESS;
    }
    items = apr_array_make(a2md->p, a2md->argc, sizeof(md_reg_item_t *));
    for (i = 0; i < a2md->argc; ++i) {
        if (APR_SUCCESS != md_reg_admin_find(&md, a2md->store, a2md->argv[i], a2md->p)
            || !md_reg_get(reg, md->name)) {
            a2md_fail(a2md, APR_ENOENT, "managed domain not found: %s", a2md->argv[i]);
            return APR_ENOENT;
        }
        APR_ARRAY_PUSH(items, md_reg_item_t *) = md_reg_get(reg, md->name);
    }
    *pitems = items;
    return APR_SUCCESS;
}

/* ---- status ---------------------------------------------------------------------------------- */

static const char *time_or_dash(apr_time_t t, apr_pool_t *p)
{
    return t ? md_time_rfc3339(t, p) : "-";
}

static void print_item(a2md_t *a2md, const md_reg_item_t *item)
{
    const md_t *md = item->md;
    md_json_t *job = NULL;
    const char *next_run = "-", *s;
    long errors = 0;

    if (APR_SUCCESS == md_job_load(&job, a2md->store, MD_SG_STAGING, md->name, a2md->p)) {
        errors = md_json_getl(job, MD_KEY_ERRORS);
        s = md_json_gets(job, MD_KEY_NEXT_RUN);
        if (errors && s) {
            next_run = time_or_dash(md_time_parse_any(s), a2md->p);
        }
    }
    printf("%-30s %-12s %-21s %-21s %-21s %s\n", md->name, md_state_name(md->state),
           time_or_dash(item->valid_until, a2md->p),
           (item->reason == MD_RENEW_NOT_DUE) ? md_time_rfc3339(item->renew_at, a2md->p)
                                              : "due now",
           next_run, md_array_str_join(md->domains, ",", a2md->p));
    if (item->reason != MD_RENEW_NOT_DUE) {
        printf("    renewal: %s\n", md_renew_reason_name(item->reason));
    }
    if (item->is_staged) {
        printf("    staged: a renewed certificate goes live at the server's next restart\n");
    }
    if (errors) {
        s = md_json_gets(job, MD_KEY_LAST, MD_KEY_DETAIL);
        printf("    last error (%ld in a row): %s\n", errors, s ? s : "?");
    }
}

static apr_status_t cmd_status(a2md_t *a2md)
{
    const apr_array_header_t *items = NULL;
    md_reg_t *reg = NULL;
    apr_hash_t *live;
    md_json_t *json;
    const md_reg_item_t *item;
    apr_status_t rv;
    int i;

    rv = a2md_registry(&reg, a2md);
    if (APR_SUCCESS == rv) {
        rv = named_items(&items, a2md, reg);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    live = md_status_live_make(reg, a2md->p);
    if (!a2md->output) {
        printf("%-30s %-12s %-21s %-21s %-21s %s\n", "NAME", "STATE", "VALID UNTIL", "RENEW AT",
               "NEXT RUN", "NAMES");
    }
    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        if (!a2md->output) {
            print_item(a2md, item);
            continue;
        }
        json = md_status_md_json(reg, live, item, 0, NULL, a2md->p);
        /* whether a server renews it depends on its configuration, which a2md does not know */
        md_json_del(json, MD_KEY_WATCHED);
        a2md_out_json(a2md, json);
    }
    return APR_SUCCESS;
}

/* ---- renew ----------------------------------------------------------------------------------- */

enum { OPT_LOCAL = 256, OPT_WAIT, OPT_TIMEOUT };

typedef struct {
    int is_local;
    int wait;
    apr_interval_time_t timeout;
} renew_opts_t;

static const apr_getopt_option_t renew_options[] = {
    { "local", OPT_LOCAL, 0, "renew here, do not ask a running server" },
    { "wait", OPT_WAIT, 0, "wait until the server's renewal succeeded or failed" },
    { "timeout", OPT_TIMEOUT, 1, "how long a server may take to pick the request up (5s)" },
    { NULL, 0, 0, NULL },
};

static apr_status_t renew_opt(a2md_t *a2md, void *baton, int opt, const char *arg)
{
    renew_opts_t *o = baton;

    (void)a2md;
    switch (opt) {
        case OPT_LOCAL:
            o->is_local = 1;
            return APR_SUCCESS;
        case OPT_WAIT:
            o->wait = 1;
            return APR_SUCCESS;
        case OPT_TIMEOUT:
            return md_duration_parse(&o->timeout, arg, "s");
        default:
            return APR_EINVAL;
    }
}

/* 2. --wait: the server's job record of an attempt after 'since' */
static apr_status_t await_outcome(a2md_t *a2md, const char *name, apr_time_t since)
{
    apr_time_t until = apr_time_now() + RENEW_WAIT_MAX, last;
    md_json_t *job = NULL;
    const char *detail;

    since = apr_time_from_sec(apr_time_sec(since)); /* job.json has whole seconds */
    while (apr_time_now() < until) {
        if (APR_SUCCESS == md_job_load(&job, a2md->store, MD_SG_STAGING, name, a2md->p)) {
            last = md_time_parse_any(md_json_gets(job, MD_KEY_LAST_RUN));
            if (last >= since && md_json_getb(job, MD_KEY_FINISHED)) {
                a2md_note(a2md,
                          "%s: renewed by the server; the certificate goes live at its next "
                          "(graceful) restart",
                          name);
                return APR_SUCCESS;
            }
            if (last >= since && md_json_getl(job, MD_KEY_ERRORS) > 0) {
                detail = md_json_gets(job, MD_KEY_LAST, MD_KEY_DETAIL);
                return a2md_fail(a2md, APR_EGENERAL, "%s: the server's renewal failed: %s", name,
                                 detail ? detail : "see its error log");
            }
        }
        apr_sleep(RENEW_POLL);
    }
    return a2md_fail(a2md, APR_TIMEUP, "%s: no outcome of the server's renewal yet", name);
}

/* 1. + 2. The MDs no server took go into 'local'. */
static apr_status_t ask_server(a2md_t *a2md, const apr_array_header_t *mds, renew_opts_t *o,
                               apr_array_header_t *local)
{
    apr_time_t now = apr_time_now(), until = now + o->timeout;
    const md_t *md;
    apr_status_t rv = APR_SUCCESS;
    int i, pending = mds->nelts;

    for (i = 0; i < mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mds, i, const md_t *);
        if (APR_SUCCESS != md_request_put(a2md->store, md->name, now, a2md->p)) {
            return a2md_fail(a2md, APR_EGENERAL, "%s: cannot write the renewal request", md->name);
        }
    }
    a2md_give_back(a2md);
    while (pending && apr_time_now() < until) {
        apr_sleep(RENEW_POLL);
        for (i = pending = 0; i < mds->nelts; ++i) {
            pending +=
                md_request_is_pending(a2md->store, APR_ARRAY_IDX(mds, i, md_t *)->name, a2md->p);
        }
    }
    for (i = 0; i < mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mds, i, const md_t *);
        if (APR_SUCCESS == md_request_withdraw(a2md->store, md->name, a2md->p)) {
            APR_ARRAY_PUSH(local, const md_t *) = md;
            continue;
        }
        a2md_note(a2md, "%s: the running server renews it now", md->name);
        if (o->wait && APR_SUCCESS == rv) {
            rv = await_outcome(a2md, md->name, now);
        }
    }
    return rv;
}

static apr_status_t cmd_renew(a2md_t *a2md)
{
    renew_opts_t o = { 0, 0, RENEW_PICKUP_DEF };
    apr_array_header_t *mds, *local;
    md_reg_t *reg = NULL;
    const md_reg_item_t *item;
    md_t *md = NULL;
    apr_status_t rv;
    int i;

    rv = a2md_cmd_opts(a2md, renew_options, renew_opt, &o);
    if (APR_SUCCESS == rv && a2md->argc < 1) {
        rv = a2md_usage(a2md, "renew needs the names of the MDs");
    }
    if (APR_SUCCESS == rv) {
        rv = a2md_registry(&reg, a2md);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    mds = apr_array_make(a2md->p, a2md->argc, sizeof(md_t *));
    for (i = 0; i < a2md->argc; ++i) {
        if (APR_SUCCESS != md_reg_admin_load(&md, NULL, a2md->store, a2md->argv[i], a2md->p)) {
            return a2md_fail(a2md, APR_ENOENT, "managed domain not found: %s", a2md->argv[i]);
        }
        item = md_reg_get(reg, md->name);
        if (item && item->is_staged && !o.is_local) {
            a2md_note(a2md,
                      "%s: a renewed certificate is staged already; it goes live at the "
                      "server's next (graceful) restart",
                      md->name);
            continue;
        }
        APR_ARRAY_PUSH(mds, md_t *) = md;
    }
    local = o.is_local ? mds : apr_array_make(a2md->p, mds->nelts, sizeof(md_t *));
    if (!o.is_local && mds->nelts) {
        rv = ask_server(a2md, mds, &o, local);
    }
    /* 3. */
    if (local->nelts) {
        for (i = 0; !o.is_local && i < local->nelts; ++i) {
            md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, a2md->p,
                          APLOGNO(13332) "%s: no running server took the renewal request, "
                                         "renewing here",
                          APR_ARRAY_IDX(local, i, const md_t *)->name);
        }
        rv = a2md_drive_mds(a2md, local, 1, 0, NULL);
    }
    return rv;
}

/* ---- revoke ---------------------------------------------------------------------------------- */

static apr_status_t revoke_opt(a2md_t *a2md, void *baton, int opt, const char *arg)
{
    (void)a2md;
    if (opt != 'r' || APR_SUCCESS != md_acme_revoke_reason_parse(baton, arg)) {
        fprintf(stderr, "a2md: revoke: reasons are unspecified, keyCompromise, "
                        "affiliationChanged, superseded, cessationOfOperation (or 0,1,3,4,5)\n");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static const apr_getopt_option_t revoke_options[] = {
    { "reason", 'r', 1, "why: unspecified (default), keyCompromise, superseded, ..." },
    { NULL, 0, 0, NULL },
};

static void out_revoked(a2md_t *a2md, const char *name, const md_cert_t *cert, int reason)
{
    md_json_t *json;

    if (!a2md->output) {
        printf("%s: revoked the certificate with serial %s (%s)\n", name,
               md_cert_get_serial(cert, a2md->p), md_acme_revoke_reason_name(reason));
        return;
    }
    json = md_json_create(a2md->p);
    md_json_sets(name, json, MD_KEY_NAME);
    md_json_sets(md_cert_get_serial(cert, a2md->p), json, MD_KEY_SERIAL);
    md_json_sets(md_acme_revoke_reason_name(reason), json, MD_KEY_REASON);
    a2md_out_json(a2md, json);
}

/* Revoke the live certificates (one per key spec) of 'md'. */
static apr_status_t revoke_md(a2md_t *a2md, md_t *md, int reason)
{
    md_acme_admin_t admin = { a2md->store, &a2md->http_config, md_result_make(md->name, a2md->p) };
    const md_pkey_spec_t *spec;
    apr_array_header_t *chain;
    md_pkey_t *pkey;
    const char *ca_url = a2md_ca_url(a2md, md);
    apr_status_t rv;
    int i, n = 0;

    if (!ca_url) {
        return APR_INCOMPLETE;
    }
    md_reg_stored_defaults(md, a2md->p);
    for (i = 0; i < md->pks->nelts; ++i) {
        spec = APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *);
        chain = NULL;
        pkey = NULL;
        if (APR_SUCCESS
            != md_store_load(a2md->store, MD_SG_DOMAINS, md->name, md_chain_filename(spec, a2md->p),
                             MD_SV_CHAIN, (void **)&chain, a2md->p)) {
            continue;
        }
        md_store_load(a2md->store, MD_SG_DOMAINS, md->name, md_pkey_filename(spec, a2md->p),
                      MD_SV_PKEY, (void **)&pkey, a2md->p);
        rv = md_acme_revoke(&admin, ca_url, md->ca_account, APR_ARRAY_IDX(chain, 0, md_cert_t *),
                            pkey, reason, a2md->p);
        if (APR_SUCCESS != rv) {
            return a2md_fail(a2md, rv, "%s: revoking failed: %s", md->name,
                             md_result_to_text(admin.result, a2md->p));
        }
        out_revoked(a2md, md->name, APR_ARRAY_IDX(chain, 0, md_cert_t *), reason);
        ++n;
    }
    if (!n) {
        return a2md_fail(a2md, APR_ENOENT, "%s: there is no certificate to revoke", md->name);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, a2md->p,
                  APLOGNO(13333) "%s: the revoked certificate is served until it is replaced: "
                                 "a2md renew %s",
                  md->name, md->name);
    return APR_SUCCESS;
}

static apr_status_t cmd_revoke(a2md_t *a2md)
{
    md_t *md = NULL;
    int i, reason = 0;
    apr_status_t rv;

    rv = a2md_cmd_opts(a2md, revoke_options, revoke_opt, &reason);
    if (APR_SUCCESS == rv && a2md->argc < 1) {
        rv = a2md_usage(a2md, "revoke needs the names of the MDs");
    }
    for (i = 0; APR_SUCCESS == rv && i < a2md->argc; ++i) {
        rv = md_reg_admin_load(&md, NULL, a2md->store, a2md->argv[i], a2md->p);
        if (APR_SUCCESS != rv) {
            return a2md_fail(a2md, APR_ENOENT, "managed domain not found: %s", a2md->argv[i]);
        }
        rv = revoke_md(a2md, md, reason);
    }
    return rv;
}

const a2md_cmd_t a2md_ops_cmds[] = {
    { "status", A2MD_STORE_READ, cmd_status, NULL, "status [NAME...]",
      "a table of the MDs: state, valid until, renewal, next run, names, last error" },
    { "renew", A2MD_STORE_WRITE | A2MD_HTTP, cmd_renew, NULL,
      "renew [--local] [--wait] [--timeout DURATION] NAME...",
      "ask a running server to renew now; when none takes it, renew here" },
    { "revoke", A2MD_STORE_READ | A2MD_HTTP, cmd_revoke, NULL, "revoke [--reason REASON] NAME...",
      "revoke the MDs' certificates at their CA (RFC 8555 7.6)" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};
