/* mod_md_status: md-status, md-metrics and certificate-status, and the registration of the
 * server-status part (mod_md_server_status.c); see mod_md_status.h. All of them read the registry
 * the parent set up and the store; none changes anything.
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
#include "md_keys.h"
#include "md_reg.h"
#include "md_status.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_metrics.h"
#include "mod_md_ocsp.h"
#include "mod_md_server_status.h"
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
static md_json_t *ocsp_of_md(md_json_t *all, const char *name, apr_pool_t *p)
{
    md_json_t *mine = md_json_create_array(p), *e;
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

static md_reg_item_t *item_of_domain(md_mod_conf_t *mc, const char *domain)
{
    const apr_array_header_t *items = md_reg_items(mc->reg);
    md_reg_item_t *item;
    int i;

    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, md_reg_item_t *);
        if (md_contains(item->md, domain)) {
            return item;
        }
    }
    return NULL;
}

static int md_status_handler(request_rec *r)
{
    md_mod_conf_t *mc;
    const char *name;
    md_reg_item_t *item;
    md_json_t *json, *ocsp;

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
        ocsp = mod_md_ocsp_status(mc, r->pool);
        json = md_status_all_json(mc->reg, mc->status_live, ocsp, r->pool);
        /* stapled certificates (MDStapling): responder, status, validity, next fetch */
        md_json_setj(ocsp, json, MD_KEY_OCSP);
        return send_json(r, json);
    }
    /* by MD name, or (as the stock module) by one of its domain names */
    item = md_reg_get(mc->reg, name);
    if (!item) {
        item = item_of_domain(mc, md_util_str_tolower(name, r->pool));
    }
    if (!item) {
        return HTTP_NOT_FOUND;
    }
    ocsp = mod_md_ocsp_status(mc, r->pool);
    json = md_status_md_json(mc->reg, mc->status_live, item, item->is_watched, ocsp, r->pool);
    md_json_setj(ocsp_of_md(ocsp, item->md->name, r->pool), json, MD_KEY_OCSP);
    return send_json(r, json);
}

/* ---- md-metrics --------------------------------------------------------------------------------
 */

static int md_metrics_handler(request_rec *r)
{
    md_mod_conf_t *mc;
    apr_uint32_t next_slot = 0;

    if (!r->handler || strcmp(r->handler, "md-metrics")) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    mc = mod_conf(r);
    return send_text(r, "text/plain; version=0.0.4; charset=utf-8",
                     mc ? md_status_metrics_text(mc->reg, mc->status_live, mod_md_metrics_get,
                                                 &next_slot, r->pool)
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

void mod_md_status_register_hooks(void)
{
    static const char *const before_ssl[] = { "mod_ssl.c", "mod_tls.c", NULL };

    ap_hook_handler(md_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(md_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* before mod_ssl's: it answers 503 for a host that has only the fallback certificate, and
     * the status is wanted most just then */
    ap_hook_post_read_request(md_cert_status_pr, NULL, before_ssl, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, mod_md_server_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
