/* mod_md_status: md-status, md-metrics, certificate-status and server-status (see
 * mod_md_status.h). All of them read the registry the parent set up and the store; none
 * changes anything.
 */
#include <string.h>

#include <apr_optional.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <mod_status.h>

#include "md.h"
#include "md_job.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_status.h"
#include "md_util.h"
#include "md_time.h"
#include "mod_md_config.h"
#include "mod_md_metrics.h"
#include "mod_md_ocsp.h"
#include "mod_md_ocsp.h"
#include "mod_md_status.h"

APLOG_USE_MODULE(md);

#define CERT_STATUS_PATH "/.httpd/certificate-status"

static md_mod_conf_t *mod_conf(request_rec *r)
{
    md_srv_conf_t *sc = mod_md_config_get(r->server);

    return (sc && sc->mc && sc->mc->reg) ? sc->mc : NULL;
}

static int send_text(request_rec *r, const char *ctype, const char *text)
{
    ap_set_content_type(r, ctype);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}

static int send_json(request_rec *r, md_json_t *json)
{
    const char *text = md_json_writep(json, r->pool, MD_JSON_FMT_INDENT);

    return send_text(r, "application/json", text ? apr_pstrcat(r->pool, text, "\n", NULL) : "{}\n");
}

/* ---- md-status ---------------------------------------------------------------------------------
 */

/* The OCSP status entries of one MD's certificates. */
static md_json_t *ocsp_of_md(md_mod_conf_t *mc, const char *name, apr_pool_t *p)
{
    md_json_t *all = mod_md_ocsp_status(mc, p), *mine = md_json_create_array(p), *e;
    apr_array_header_t *entries = apr_array_make(p, 4, sizeof(md_json_t *));
    int i;

    md_json_geta_(entries, all, (const char *)NULL);
    for (i = 0; i < entries->nelts; ++i) {
        e = APR_ARRAY_IDX(entries, i, md_json_t *);
        if (md_json_gets(e, MD_KEY_DOMAIN) && !strcmp(md_json_gets(e, MD_KEY_DOMAIN), name)) {
            md_json_array_append(mine, e);
        }
    }
    return mine;
}

static int md_status_handler(request_rec *r)
{
    md_mod_conf_t *mc;
    const char *name;
    md_reg_item_t *item;
    md_json_t *json;

    if (!r->handler || strcmp(r->handler, "md-status")) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    mc = mod_conf(r);
    if (!mc) {
        return send_json(r, md_json_create(r->pool));
    }
    /* /md-status/<name>: the last path segment after the location */
    name = r->path_info;
    while (name && *name == '/') {
        ++name;
    }
    if (!name || !*name) {
        json = md_status_all_json(mc->reg, mc->status_live, r->pool);
        /* stapled certificates (MDStapling): responder, status, validity, next fetch */
        md_json_setj(mod_md_ocsp_status(mc, r->pool), json, MD_KEY_OCSP);
        return send_json(r, json);
    }
    item = md_reg_get(mc->reg, name);
    if (!item) {
        return HTTP_NOT_FOUND;
    }
    json = md_status_md_json(mc->reg, mc->status_live, item, item->is_watched, r->pool);
    md_json_setj(ocsp_of_md(mc, name, r->pool), json, MD_KEY_OCSP);
    return send_json(r, json);
}

/* ---- md-metrics --------------------------------------------------------------------------------
 */

static int md_metrics_handler(request_rec *r)
{
    md_mod_conf_t *mc;

    if (!r->handler || strcmp(r->handler, "md-metrics")) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    mc = mod_conf(r);
    return send_text(r, "text/plain; version=0.0.4; charset=utf-8",
                     mc ? md_status_metrics_text(mc->reg, mc->status_live, mod_md_metrics_get, NULL,
                                                 r->pool)
                        : "");
}

/* ---- /.httpd/certificate-status ----------------------------------------------------------------
 */

static int md_cert_status_pr(request_rec *r)
{
    md_srv_conf_t *sc;
    md_json_t *json = NULL;

    if (!r->parsed_uri.path || strcmp(r->parsed_uri.path, CERT_STATUS_PATH)) {
        return DECLINED;
    }
    sc = mod_md_config_get(r->server);
    /* only on https hosts of an MD, and only about that MD */
    if (!sc || !sc->item || !sc->mc->reg || !sc->mc->cert_status
        || !ap_ssl_conn_is_ssl(r->connection)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (APR_SUCCESS
        != md_status_cert_status_json(&json, sc->mc->reg, sc->mc->status_live, sc->item->md,
                                      r->pool)) {
        return HTTP_NOT_FOUND;
    }
    r->status = HTTP_OK;
    send_json(r, json);
    ap_finalize_request_protocol(r);
    return DONE;
}

/* ---- server-status -----------------------------------------------------------------------------
 */

static const char *html_date(apr_time_t t, apr_pool_t *p)
{
    if (!t) {
        return "-";
    }
    return apr_psprintf(p, "<span title='%s'>%s</span>", md_time_rfc3339(t, p),
                        apr_pstrndup(p, md_time_rfc3339(t, p), 10));
}

/* The renewal column: activity or error of the job, from staging/job.json. */
static const char *renewal_text(md_reg_t *reg, const md_reg_item_t *item, int html, apr_pool_t *p)
{
    md_json_t *job = NULL;
    const char *detail, *next;
    long errors;

    if (APR_SUCCESS != md_job_load(&job, md_reg_store(reg), MD_SG_STAGING, item->md->name, p)) {
        return item->is_staged ? "ready for a graceful restart" : "";
    }
    if (md_json_getb(job, MD_KEY_FINISHED)) {
        return "ready for a graceful restart";
    }
    errors = md_json_getl(job, MD_KEY_ERRORS);
    detail = md_json_gets(job, MD_KEY_LAST, MD_KEY_DETAIL);
    next = md_json_gets(job, MD_KEY_NEXT_RUN);
    if (errors) {
        return apr_psprintf(p, "%ld errored attempts, next run %s: %s", errors,
                            next ? next : "when due",
                            html ? ap_escape_html(p, detail ? detail : "")
                                 : (detail ? detail : ""));
    }
    return apr_psprintf(p, "ongoing%s%s", next ? ", next run " : "", next ? next : "");
}

static void status_row(request_rec *r, md_mod_conf_t *mc, const md_reg_item_t *item)
{
    const md_t *md = item->md;
    md_json_t *certs = NULL;
    const char *fp;

    ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
               ap_escape_html(r->pool, md->name),
               ap_escape_html(r->pool, md_array_str_join(md->domains, " ", r->pool)),
               md_state_name(md->state), html_date(item->valid_until, r->pool),
               ap_escape_html(r->pool, md_renew_mode_name(md->renew_mode)));
    ap_rprintf(r, "<td>%s</td><td>renew-window[%s] ca=[%s]</td>",
               renewal_text(mc->reg, item, 1, r->pool),
               md->renew_window ? md_timeslice_format(md->renew_window, r->pool) : "-",
               ap_escape_html(r->pool, md->ca_url ? md->ca_url : "-"));
    fp = NULL;
    certs = mc->status_live ? apr_hash_get(mc->status_live, md->name, APR_HASH_KEY_STRING) : NULL;
    if (certs) {
        certs = md_json_getj(certs, MD_KEY_CERT);
    }
    if (certs) {
        fp = md_json_gets(certs,
                          md_pkey_spec_name(APR_ARRAY_IDX(md->pks, 0, const md_pkey_spec_t *)),
                          MD_KEY_SHA256_FINGERPRINT);
    }
    if (fp && mc->cert_check_url) {
        ap_rprintf(r, "<td><a href=\"%s%s\">%s</a></td></tr>\n",
                   ap_escape_html(r->pool, mc->cert_check_url), fp,
                   ap_escape_html(r->pool, mc->cert_check_name));
    }
    else {
        ap_rputs("<td>-</td></tr>\n", r);
    }
}

static void status_auto(request_rec *r, md_mod_conf_t *mc)
{
    const apr_array_header_t *items = md_reg_items(mc->reg);
    const md_reg_item_t *item;
    int i, ok = 0, renew = 0, errored = 0, ready = 0;
    long errors;
    apr_time_t nexp = 0;
    md_json_t *job;

    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        job = NULL;
        errors = 0;
        if (APR_SUCCESS
            == md_job_load(&job, md_reg_store(mc->reg), MD_SG_STAGING, item->md->name, r->pool)) {
            errors = md_json_getl(job, MD_KEY_ERRORS);
            ready += md_json_getb(job, MD_KEY_FINISHED);
        }
        ok += (item->md->state == MD_S_COMPLETE);
        renew += (item->reason != MD_RENEW_NOT_DUE);
        errored += (errors > 0);
        if (item->valid_until && (!nexp || item->valid_until < nexp)) {
            nexp = item->valid_until;
        }
    }
    ap_rprintf(r, "ManagedCertificatesTotal: %d\n", items->nelts);
    ap_rprintf(r, "ManagedCertificatesOK: %d\n", ok);
    ap_rprintf(r, "ManagedCertificatesRenew: %d\n", renew);
    ap_rprintf(r, "ManagedCertificatesErrored: %d\n", errored);
    ap_rprintf(r, "ManagedCertificatesReady: %d\n", ready);
    ap_rprintf(r, "ManagedCertificatesNextExpiry: %" APR_TIME_T_FMT "\n", apr_time_sec(nexp));
    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        ap_rprintf(r, "ManagedDomain-%s: status=%s valid-until=%s renewal=%s\n", item->md->name,
                   md_state_name(item->md->state),
                   item->valid_until ? md_time_rfc3339(item->valid_until, r->pool) : "-",
                   renewal_text(mc->reg, item, 0, r->pool));
    }
}

/* OCSP stapling (MDStapling): one row/line per stapled certificate, from the stapling registry.
 * 'domain' is the MD (absent for MDStapleOthers certificates), 'id' the certificate's SHA-1. */
static apr_array_header_t *ocsp_entries(md_mod_conf_t *mc, apr_pool_t *p)
{
    apr_array_header_t *entries = apr_array_make(p, 4, sizeof(md_json_t *));

    md_json_geta_(entries, mod_md_ocsp_status(mc, p), (const char *)NULL);
    return entries;
}

static const char *ocsp_str(md_json_t *e, const char *key, const char *key2)
{
    const char *v = key2 ? md_json_gets(e, key, key2) : md_json_gets(e, key);
    return v ? v : "-";
}

static void ocsp_auto(request_rec *r, const apr_array_header_t *entries)
{
    md_json_t *e;
    int i, good = 0, revoked = 0, errored = 0;

    for (i = 0; i < entries->nelts; ++i) {
        e = APR_ARRAY_IDX(entries, i, md_json_t *);
        good += !strcmp(ocsp_str(e, MD_KEY_STATUS, NULL), "good");
        revoked += !strcmp(ocsp_str(e, MD_KEY_STATUS, NULL), "revoked");
        errored += (md_json_getl(e, MD_KEY_ERRORS) > 0);
    }
    ap_rprintf(r, "ManagedStaplingsTotal: %d\n", entries->nelts);
    ap_rprintf(r, "ManagedStaplingsOK: %d\n", good);
    ap_rprintf(r, "ManagedStaplingsRevoked: %d\n", revoked);
    ap_rprintf(r, "ManagedStaplingsErrored: %d\n", errored);
    for (i = 0; i < entries->nelts; ++i) {
        e = APR_ARRAY_IDX(entries, i, md_json_t *);
        ap_rprintf(r,
                   "ManagedStapling-%s-%s: status=%s valid-until=%s next-run=%s errors=%ld "
                   "responder=%s\n",
                   ocsp_str(e, MD_KEY_DOMAIN, NULL), ocsp_str(e, MD_KEY_ID, NULL),
                   ocsp_str(e, MD_KEY_STATUS, NULL), ocsp_str(e, MD_KEY_VALID, MD_KEY_UNTIL),
                   ocsp_str(e, MD_KEY_NEXT_RUN, NULL), md_json_getl(e, MD_KEY_ERRORS),
                   ocsp_str(e, MD_KEY_RESPONDER, NULL));
    }
}

static void ocsp_table(request_rec *r, const apr_array_header_t *entries)
{
    md_json_t *e;
    const char *err;
    int i;

    ap_rputs("<h2>Managed Staplings</h2>\n<table class='md_ocsp_status'><thead><tr>"
             "<th>Domain</th><th>Certificate ID</th><th>OCSP Status</th><th>Valid until</th>"
             "<th>Next run</th><th>Errors</th><th>Responder</th></tr></thead><tbody>\n",
             r);
    for (i = 0; i < entries->nelts; ++i) {
        e = APR_ARRAY_IDX(entries, i, md_json_t *);
        err = md_json_gets(e, MD_KEY_LAST_ERROR);
        ap_rprintf(r,
                   "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                   "<td>%ld%s%s</td><td>%s</td></tr>\n",
                   ap_escape_html(r->pool, ocsp_str(e, MD_KEY_DOMAIN, NULL)),
                   ap_escape_html(r->pool, ocsp_str(e, MD_KEY_ID, NULL)),
                   ap_escape_html(r->pool, ocsp_str(e, MD_KEY_STATUS, NULL)),
                   ap_escape_html(r->pool, ocsp_str(e, MD_KEY_VALID, MD_KEY_UNTIL)),
                   ap_escape_html(r->pool, ocsp_str(e, MD_KEY_NEXT_RUN, NULL)),
                   md_json_getl(e, MD_KEY_ERRORS), err ? ": " : "",
                   err ? ap_escape_html(r->pool, err) : "",
                   ap_escape_html(r->pool, ocsp_str(e, MD_KEY_RESPONDER, NULL)));
    }
    ap_rputs("</tbody></table>\n", r);
}

static int md_status_hook(request_rec *r, int flags)
{
    md_srv_conf_t *sc = mod_md_config_get(r->server);
    md_mod_conf_t *mc = sc ? sc->mc : NULL;
    const apr_array_header_t *items, *ocsp;
    int i;

    if (!mc || !mc->reg || !mc->server_status) {
        return OK;
    }
    ocsp = ocsp_entries(mc, r->pool);
    if (flags & AP_STATUS_SHORT) {
        status_auto(r, mc);
        if (ocsp->nelts) {
            ocsp_auto(r, ocsp);
        }
        return OK;
    }
    items = md_reg_items(mc->reg);
    ap_rputs("<hr>\n<h2>Managed Domains</h2>\n<table class='md_status'><thead><tr>"
             "<th>Name</th><th>Domains</th><th>Status</th><th>Valid until</th><th>Renew</th>"
             "<th>Renewal</th><th>Configuration</th><th>Check</th></tr></thead><tbody>\n",
             r);
    for (i = 0; i < items->nelts; ++i) {
        status_row(r, mc, APR_ARRAY_IDX(items, i, const md_reg_item_t *));
    }
    ap_rputs("</tbody></table>\n", r);
    if (ocsp->nelts) {
        ocsp_table(r, ocsp);
    }
    return OK;
}

void mod_md_status_register_hooks(void)
{
    ap_hook_handler(md_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(md_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(md_cert_status_pr, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, md_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
