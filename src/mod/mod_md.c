/* mod_md: the module record and the glue to httpd.
 *
 * Start-up (post_config, in the parent, before mod_ssl's):
 *   1. complete each MD's settings from the global ones and the defaults
 *   2. assign virtual hosts to MDs by their names; ServerName/ServerAlias join their MD
 *   3. open the store, hand the child's directories to the server's User, sync the registry
 *      (activate staged sets, read certificates, make fallbacks)
 *   4. start the renewal watchdog (not in the dry run httpd makes at first start)
 * mod_ssl then asks for certificate files per vhost (ssl_add_cert_files, or the fallback with
 * its 503 answers). http-01 challenges are answered in post_read_request, before any access
 * control or redirect can get in the way.
 */
#include <string.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <ap_listen.h>
#include <unixd.h>

#include "md.h"
#include "md_http.h"
#include "md_log.h"
#include "md_util.h"
#include "md_version.h"
#include "md_reg.h"
#include "md_store_fs.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"
#include "mod_md_ocsp.h"

static void md_hooks(apr_pool_t *pool);

AP_DECLARE_MODULE(md) = { STANDARD20_MODULE_STUFF,
                          NULL,                     /* per-directory config */
                          NULL,                     /* merge per-directory */
                          mod_md_config_create_srv, /* per-server config */
                          mod_md_config_merge_srv,  /* merge per-server */
                          mod_md_cmds,              /* directives */
                          md_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
                          AP_MODULE_FLAG_ALWAYS_MERGE
#endif
};

#define ACME_CHALLENGE_PREFIX "/.well-known/acme-challenge/"
#define ACME_TOKEN_MAX        256

/* ---- logging of the core layers through httpd -------------------------------------------------
 */

static int log_is_level(void *baton, apr_pool_t *p, md_log_level_t level)
{
    server_rec *s = baton;

    (void)p;
    return APLOG_IS_LEVEL(s, (int)level);
}

static void log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                      const char *msg, void *baton, apr_pool_t *p)
{
    server_rec *s = baton;

    (void)p;
    ap_log_error_(file, line, APLOG_MODULE_INDEX, (int)level, rv, s, "%s", msg);
}

/* ---- 2. virtual hosts --------------------------------------------------------------------------
 */

static md_t *md_of_name(md_mod_conf_t *mc, const char *name)
{
    int i;

    for (i = 0; i < mc->mds->nelts; ++i) {
        md_t *md = APR_ARRAY_IDX(mc->mds, i, md_t *);
        if (md_contains(md, name)) {
            return md;
        }
    }
    return NULL;
}

/* The MD a vhost belongs to: the one that has its ServerName, else one that has an alias. */
static md_t *md_of_server(md_mod_conf_t *mc, server_rec *s)
{
    md_t *md = s->server_hostname ? md_of_name(mc, s->server_hostname) : NULL;
    int i;

    for (i = 0; !md && s->names && i < s->names->nelts; ++i) {
        md = md_of_name(mc, APR_ARRAY_IDX(s->names, i, const char *));
    }
    return md;
}

static apr_status_t join_name(md_mod_conf_t *mc, md_t *md, server_rec *s, const char *name,
                              apr_pool_t *p)
{
    md_t *other;
    const char *lname;

    if (!name || strchr(name, '*') || !md->transitive) {
        return APR_SUCCESS;
    }
    lname = md_util_str_tolower(name, p);
    other = md_of_name(mc, lname);
    if (other && other != md) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     APLOGNO(12310) "The virtual host defined at %s:%d (%s) has names of two "
                                    "Managed Domains: MDomain %s and MDomain %s (which has %s). "
                                    "Give the names of one vhost to one MDomain only.",
                     s->defn_name ? s->defn_name : "?", s->defn_line_number,
                     s->server_hostname ? s->server_hostname : "", md->name, other->name, lname);
        return APR_EINVAL;
    }
    if (!other && (md_util_is_ip(lname) || md_util_is_dns_name(lname, 0, 1))) {
        md_array_str_add_missing(md->domains, lname, p);
    }
    return APR_SUCCESS;
}

static apr_status_t assign_vhosts(md_mod_conf_t *mc, server_rec *base, apr_pool_t *p)
{
    server_rec *s;
    md_srv_conf_t *sc;
    md_t *md;
    apr_status_t rv = APR_SUCCESS;
    int i;

    for (s = base->next; s && APR_SUCCESS == rv; s = s->next) {
        md = md_of_server(mc, s);
        if (!md) {
            continue;
        }
        md->is_used = 1;
        rv = join_name(mc, md, s, s->server_hostname, p);
        for (i = 0; APR_SUCCESS == rv && s->names && i < s->names->nelts; ++i) {
            rv = join_name(mc, md, s, APR_ARRAY_IDX(s->names, i, const char *), p);
        }
        sc = mod_md_config_get(s);
        sc->assigned_md = md;
    }
    return rv;
}

static apr_status_t check_unique_names(md_mod_conf_t *mc, server_rec *base)
{
    int i, j, k;

    for (i = 0; i < mc->mds->nelts; ++i) {
        md_t *md = APR_ARRAY_IDX(mc->mds, i, md_t *);
        for (j = i + 1; j < mc->mds->nelts; ++j) {
            md_t *other = APR_ARRAY_IDX(mc->mds, j, md_t *);
            for (k = 0; k < other->domains->nelts; ++k) {
                const char *name = APR_ARRAY_IDX(other->domains, k, const char *);
                if (md_contains(md, name)) {
                    ap_log_error(APLOG_MARK, APLOG_ERR, 0, base,
                                 APLOGNO(12311) "The name %s is in two Managed Domains: "
                                                "MDomain %s (%s:%d) and MDomain %s (%s:%d). A "
                                                "name can belong to one MDomain only.",
                                 name, md->name, md->defn_name, md->defn_line_number, other->name,
                                 other->defn_name, other->defn_line_number);
                    return APR_EINVAL;
                }
            }
        }
    }
    return APR_SUCCESS;
}

static void attach_items(md_mod_conf_t *mc, server_rec *base)
{
    server_rec *s;
    md_srv_conf_t *sc;

    for (s = base->next; s; s = s->next) {
        sc = mod_md_config_get(s);
        if (sc->assigned_md) {
            sc->item = md_reg_get(mc->reg, sc->assigned_md->name);
        }
    }
}

static int is_listening(int port)
{
    ap_listen_rec *lr;

    for (lr = ap_listeners; lr; lr = lr->next) {
        if (lr->bind_addr && lr->bind_addr->port == port) {
            return 1;
        }
    }
    return 0;
}

/* ---- 3. store and registry ---------------------------------------------------------------------
 */

static apr_status_t setup_store(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    const char *path = ap_server_root_relative(p, mc->store_dir);
    apr_status_t rv;

    if (!path) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, APLOGNO(12312) "MDStoreDir %s: not a valid path",
                     mc->store_dir);
        return APR_EINVAL;
    }
    rv = md_store_fs_open(&mc->store, path, p);
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     APLOGNO(12313) "cannot open the store at %s (MDStoreDir)", path);
        return rv;
    }
    if (geteuid() == 0) {
        rv = md_store_fs_set_owner(mc->store, (long)ap_unixd_config.user_id,
                                   (long)ap_unixd_config.group_id, p);
    }
    return rv;
}

static int md_post_config(apr_pool_t *p, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    md_mod_conf_t *mc = sc->mc;
    int dry_run = (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG);
    apr_status_t rv;
    int i;

    (void)plog;
    md_log_set(log_is_level, log_print, s);
    mc->ocsp = NULL;
    if (!mc->mds->nelts && !mod_md_ocsp_wanted(mc)) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, APLOGNO(12314) "mod_md (v%s) managing %d domains",
                 MD_MODULE_VERSION, mc->mds->nelts);
    /* 1. */
    for (i = 0; i < mc->mds->nelts; ++i) {
        mod_md_config_complete_md(APR_ARRAY_IDX(mc->mds, i, md_t *), mc, s, p);
    }
    /* 2. */
    rv = check_unique_names(mc, s);
    if (APR_SUCCESS == rv) {
        rv = assign_vhosts(mc, s, p);
    }
    if (APR_SUCCESS != rv) {
        return !OK;
    }
    mc->can_http = mc->local_80 > 0 && is_listening(mc->local_80);
    mc->can_https = mc->local_443 > 0 && is_listening(mc->local_443);
    /* 3. */
    rv = md_http_global_init();
    if (APR_SUCCESS == rv) {
        rv = setup_store(mc, s, p);
    }
    if (APR_SUCCESS == rv) {
        rv = md_reg_create(&mc->reg, mc->store, p);
    }
    if (APR_SUCCESS == rv) {
        rv = md_reg_sync(mc->reg, mc->mds, apr_time_now(), p, ptemp);
    }
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     APLOGNO(12315) "setting up the Managed Domains failed; see the messages "
                                    "before this one");
        return !OK;
    }
    attach_items(mc, s);
    mod_md_ocsp_setup(mc, s, p);
    /* 4. */
    if (!dry_run) {
        mod_md_drive_start(mc, s, p);
        mod_md_ocsp_start(mc, s, p);
    }
    return OK;
}

/* ---- mod_ssl -----------------------------------------------------------------------------------
 */

static int md_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                             apr_array_header_t *key_files)
{
    md_srv_conf_t *sc = mod_md_config_get(s);

    if (!sc || !sc->item || !sc->mc->reg) {
        return DECLINED;
    }
    if (cert_files->nelts) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     APLOGNO(12316) "Init: (%s) You configured certificate/key files on this "
                                    "host, but it is covered by a Managed Domain. You need to "
                                    "remove these directives for the Managed Domain to take "
                                    "over.",
                     s->server_hostname);
        return DECLINED;
    }
    if (APR_SUCCESS == md_reg_get_cred_files(cert_files, key_files, sc->mc->reg, sc->item, p)) {
        return OK;
    }
    return DECLINED;
}

static int md_add_fallback_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                                      apr_array_header_t *key_files)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    const char *cfile = NULL, *kfile = NULL;

    if (!sc || !sc->item || !sc->mc->reg || sc->item->has_cert) {
        return DECLINED;
    }
    if (APR_SUCCESS != md_reg_get_fallback_files(&cfile, &kfile, sc->mc->reg, sc->item, p)) {
        return DECLINED;
    }
    APR_ARRAY_PUSH(cert_files, const char *) = cfile;
    APR_ARRAY_PUSH(key_files, const char *) = kfile;
    return OK;
}

/* ---- http-01 -----------------------------------------------------------------------------------
 */

static int is_token(const char *s)
{
    apr_size_t n = 0;

    for (; *s; ++s, ++n) {
        if (!apr_isalnum(*s) && *s != '-' && *s != '_') {
            return 0;
        }
    }
    return n > 0 && n <= ACME_TOKEN_MAX;
}

static int md_http_challenge_pr(request_rec *r)
{
    md_srv_conf_t *sc;
    const char *path = r->parsed_uri.path, *token, *host;
    const char *answer = NULL;
    void *value = NULL;
    apr_size_t tlen, alen;
    apr_status_t rv;

    if (!path || strncmp(path, ACME_CHALLENGE_PREFIX, sizeof(ACME_CHALLENGE_PREFIX) - 1)) {
        return DECLINED;
    }
    sc = mod_md_config_get(r->server);
    if (!sc || !sc->mc->store || r->method_number != M_GET) {
        return DECLINED;
    }
    token = path + sizeof(ACME_CHALLENGE_PREFIX) - 1;
    host = r->hostname ? md_util_str_tolower(r->hostname, r->pool) : NULL;
    if (!is_token(token) || !host || (!md_util_is_dns_name(host, 0, 1) && !md_util_is_ip(host))) {
        return HTTP_NOT_FOUND;
    }
    rv = md_store_load(sc->mc->store, MD_SG_CHALLENGES, host, MD_FN_HTTP01, MD_SV_TEXT, &value,
                       r->pool);
    answer = value;
    tlen = strlen(token);
    if (APR_SUCCESS != rv || strncmp(answer, token, tlen) || answer[tlen] != '.') {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      APLOGNO(12317) "no pending http-01 challenge for token %s at %s", token,
                      host);
        return HTTP_NOT_FOUND;
    }
    alen = strlen(answer);
    while (alen && (answer[alen - 1] == '\n' || answer[alen - 1] == '\r')) {
        --alen;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  APLOGNO(12318) "answering the http-01 challenge for %s", host);
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, (apr_off_t)alen);
    if (!r->header_only) {
        ap_rwrite(answer, (int)alen, r);
    }
    ap_finalize_request_protocol(r);
    return DONE;
}

/* ---- hooks -------------------------------------------------------------------------------------
 */

static void md_hooks(apr_pool_t *pool)
{
    static const char *const before_ssl[] = { "mod_ssl.c", "mod_tls.c", NULL };

    (void)pool;
    ap_hook_post_config(md_post_config, NULL, before_ssl, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(md_http_challenge_pr, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_cert_files(md_add_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_fallback_cert_files(md_add_fallback_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    mod_md_ocsp_register_hooks();
}
