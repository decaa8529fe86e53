/* mod_md: the module record and the glue to httpd.
 *
 * Start-up (post_config, in the parent, before mod_ssl's):
 *   1. complete each MD's settings from the global ones and the defaults
 *   2. assign virtual hosts to MDs by their names; ServerName/ServerAlias join their MD
 *   3. open the store, hand the child's directories to the server's User, sync the registry
 *      (activate staged sets, read certificates, make fallbacks)
 *   4. start the renewal watchdog (not in the dry run httpd makes at first start)
 * mod_ssl then asks for certificate files per vhost (ssl_add_cert_files, or the fallback with
 * its 503 answers; with MDActivation hot the fallback comes as a regular file and mod_md_hot
 * answers the 503s, see mod_md_hot.h). http-01 challenges are answered in post_read_request,
 * before any access control or redirect can get in the way. tls-alpn-01 (RFC 8737): on a TLS
 * connection whose client offers ALPN "acme-tls/1", we propose that protocol (the vhost's
 * Protocols decides whether it is selected), accept the switch and mark the connection; mod_ssl
 * then asks ssl_answer_challenge for the certificate, which we load from challenges/<name>/.
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
#include "md_http01.h"
#include "md_log.h"
#include "md_util.h"
#include "md_version.h"
#include "md_reg.h"
#include "md_status.h"
#include "md_store_fs.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"
#include "mod_md_etcd.h"
#include "mod_md_event.h"
#include "mod_md_hot.h"
#include "mod_md_metrics.h"
#include "mod_md_status.h"
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

#define PROTO_ACME_TLS_1 "acme-tls/1"

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

/* The first MD (in configuration order) that has 'name': a look-up in mc->md_by_name, which
 * check_unique_names() builds (a scan of all MDs for each vhost made 10 000 MDs start in minutes
 * instead of seconds). */
static md_t *md_of_name(md_mod_conf_t *mc, const char *name, apr_pool_t *p)
{
    if (!name || !mc->md_by_name) {
        return NULL;
    }
    return apr_hash_get(mc->md_by_name, md_util_str_tolower(name, p), APR_HASH_KEY_STRING);
}

/* The MD with one of the specific IP addresses of <VirtualHost addr:port> (not "*"): how an MD
 * of IP addresses finds its vhost, as httpd's ServerName cannot be an IPv6 address. */
static md_t *md_of_address(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    server_addr_rec *sa;
    char *ip = NULL;
    md_t *md = NULL;

    for (sa = s->addrs; !md && sa; sa = sa->next) {
        if (sa->host_addr && APR_SUCCESS == apr_sockaddr_ip_get(&ip, sa->host_addr)
            && md_util_is_ip(ip) && strcmp(ip, "0.0.0.0") != 0 && strcmp(ip, "::") != 0) {
            md = md_of_name(mc, md_util_ip_canonical(ip, p), p);
        }
    }
    return md;
}

/* The MD a vhost belongs to: the one that has its ServerName, else one that has an alias, else
 * (*pby_address set) one that has its IP address. */
static md_t *md_of_server(int *pby_address, md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    md_t *md = s->server_hostname ? md_of_name(mc, s->server_hostname, p) : NULL;
    int i;

    for (i = 0; !md && mc->match_all_names && s->names && i < s->names->nelts; ++i) {
        md = md_of_name(mc, APR_ARRAY_IDX(s->names, i, const char *), p);
    }
    *pby_address = 0;
    if (!md) {
        md = md_of_address(mc, s, p);
        *pby_address = (md != NULL);
    }
    return md;
}

static apr_status_t join_name(md_mod_conf_t *mc, md_t *md, server_rec *s, const char *name,
                              apr_pool_t *p)
{
    md_t *other;
    const char *lname;

    if (!name || strchr(name, '*')) {
        return APR_SUCCESS;
    }
    lname = md_util_str_tolower(name, p);
    if (!md->transitive) {
        if (!md_contains(md, lname)) {
            /* MDMembers manual: the name stays out, clients asking for it will see a mismatch */
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         APLOGNO(10040) "Virtual Host %s:%d matches Managed Domain '%s', but the "
                                        "name/alias %s itself is not managed. A requested MD "
                                        "certificate will not match ServerName. Add it with "
                                        "MDMember or set MDMembers auto.",
                         s->defn_name ? s->defn_name : "?", s->defn_line_number, md->name, lname);
        }
        return APR_SUCCESS;
    }
    other = md_of_name(mc, lname, p);
    if (other && other != md) {
        /* the stock module starts with it, and refuses only when mod_ssl asks for the vhost's
         * certificate (md_add_cert_files) */
        mod_md_config_get(s)->other_md = other;
        mod_md_config_warn(
            mc, apr_psprintf(p,
                             APLOGNO(12310) "The virtual host defined at %s:%d (%s) has names "
                                            "of two Managed Domains: MDomain %s and MDomain %s "
                                            "(which has %s). It belongs to %s; with 'SSLEngine "
                                            "on' it cannot start. Give the names of one vhost "
                                            "to one MDomain only.",
                             s->defn_name ? s->defn_name : "?", s->defn_line_number,
                             s->server_hostname ? s->server_hostname : "", md->name, other->name,
                             lname, md->name));
        return APR_SUCCESS;
    }
    if (!other && (md_util_is_ip(lname) || md_util_is_dns_name(lname, 0, 1))) {
        md_array_str_add_missing(md->domains, lname, p);
        apr_hash_set(mc->md_by_name, lname, APR_HASH_KEY_STRING, md);
    }
    return APR_SUCCESS;
}

/* A vhost on the https port (after MDPortMap) whose Protocols allow acme-tls/1. mod_ssl offers
 * no way to ask whether SSLEngine is on, so a vhost on that port is taken to be https. */
static int serves_acme_tls_1(const md_mod_conf_t *mc, server_rec *s)
{
    server_addr_rec *sa;

    if (mc->local_443 <= 0 || !ap_is_allowed_protocol(NULL, NULL, s, PROTO_ACME_TLS_1)) {
        return 0;
    }
    for (sa = s->addrs; sa; sa = sa->next) {
        if (sa->host_port == mc->local_443
            || (sa->host_addr && sa->host_addr->port == mc->local_443)) {
            return 1;
        }
    }
    return 0;
}

/* The vhost's names that are names of 'md' can answer tls-alpn-01 (md.json "proto"). */
static void add_acme_tls_1_names(md_t *md, server_rec *s, apr_pool_t *p)
{
    const char *name;
    int i;

    for (i = -1; i < (s->names ? s->names->nelts : 0); ++i) {
        name = (i < 0) ? s->server_hostname : APR_ARRAY_IDX(s->names, i, const char *);
        name = name ? md_util_str_tolower(name, p) : NULL;
        if (name && md_contains(md, name)) {
            md_array_str_add_missing(md->acme_tls_1_domains, name, p);
        }
    }
}

/* A wildcard name can only be validated by dns-01: without a program the MD cannot work. */
static apr_status_t assign_vhosts(md_mod_conf_t *mc, server_rec *base, apr_pool_t *p)
{
    server_rec *s;
    md_srv_conf_t *sc;
    md_t *md;
    apr_status_t rv = APR_SUCCESS;
    int i, by_address = 0;

    /* MDBaseServer on: the server outside all vhosts takes part like a vhost */
    for (s = mc->base_server ? base : base->next; s && APR_SUCCESS == rv; s = s->next) {
        md = md_of_server(&by_address, mc, s, p);
        if (!md) {
            continue;
        }
        md->is_used = 1;
        /* a vhost found by its address: its names (perhaps the base server's) are not the MD's */
        if (!by_address) {
            rv = join_name(mc, md, s, s->server_hostname, p);
            for (i = 0; APR_SUCCESS == rv && s->names && i < s->names->nelts; ++i) {
                rv = join_name(mc, md, s, APR_ARRAY_IDX(s->names, i, const char *), p);
            }
        }
        if (serves_acme_tls_1(mc, s)) {
            md->can_acme_tls_1 = 1;
            add_acme_tls_1_names(md, s, p);
        }
        sc = mod_md_config_get(s);
        sc->assigned_md = md;
    }
    return rv;
}

/* Builds mc->md_by_name; a name in two MDs stops the start. */
static apr_status_t check_unique_names(md_mod_conf_t *mc, server_rec *base, apr_pool_t *p)
{
    md_t *md, *other;
    const char *name;
    int j, k;

    mc->md_by_name = apr_hash_make(p);
    for (j = 0; j < mc->mds->nelts; ++j) {
        other = APR_ARRAY_IDX(mc->mds, j, md_t *);
        for (k = 0; k < other->domains->nelts; ++k) {
            name = md_util_str_tolower(APR_ARRAY_IDX(other->domains, k, const char *), p);
            md = apr_hash_get(mc->md_by_name, name, APR_HASH_KEY_STRING);
            if (!md) {
                apr_hash_set(mc->md_by_name, name, APR_HASH_KEY_STRING, other);
            }
            else if (md != other) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, base,
                             APLOGNO(10038) "two Managed Domains have an overlap in domain "
                                            "'%s', first definition in %s(line %d), second "
                                            "in %s(line %d): MDomain %s and MDomain %s. A "
                                            "name can belong to one MDomain only.",
                             name, md->defn_name, md->defn_line_number, other->defn_name,
                             other->defn_line_number, md->name, other->name);
                return APR_EINVAL;
            }
        }
    }
    return APR_SUCCESS;
}

static void attach_items(md_mod_conf_t *mc, server_rec *base)
{
    server_rec *s;
    md_srv_conf_t *sc;

    for (s = base; s; s = s->next) {
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

/* With MDStoreEtcd the store is in etcd, and MDStoreDir holds its key and the local copy. */
static apr_status_t setup_store(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    const char *path = ap_server_root_relative(p, mc->store_dir);
    md_store_t *local = NULL;
    apr_status_t rv;

    if (!path) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, APLOGNO(12312) "MDStoreDir %s: not a valid path",
                     mc->store_dir);
        return APR_EINVAL;
    }
    rv = md_store_fs_open(&local, path, p);
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     APLOGNO(12313) "cannot open the store at %s (MDStoreDir)", path);
        return rv;
    }
    if (geteuid() == 0) {
        /* the group stays as it is, as with the stock module (which leaves root's group) */
        rv = md_store_fs_set_owner(local, (long)ap_unixd_config.user_id, -1L, p);
    }
    if (APR_SUCCESS == rv && mc->store_locks && !mc->etcd) {
        rv = md_store_fs_locks_prepare(local, p);
    }
    if (APR_SUCCESS == rv) {
        rv = mod_md_etcd_open(&mc->store, mc, local, s, p);
    }
    return rv;
}

/* Names of the MDs activated by httpd's first start-up pass, which runs no programs: the
 * second pass, in the same process, sends their 'installed'. */
static apr_hash_t *activated_before(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_hash_t *names = NULL;

    apr_pool_userdata_get((void **)&names, "mod_md_activated", pp);
    if (!names) {
        names = apr_hash_make(pp);
        apr_pool_userdata_set(names, "mod_md_activated", apr_pool_cleanup_null, pp);
    }
    return names;
}

/* MDMessageCmd 'installed' for the MDs whose staged set this start activated (in this pass or
 * in the first one): in the parent, still with root's privileges (the admin may copy the key
 * elsewhere). In the first pass the names are only noted. */
static void send_installed(md_mod_conf_t *mc, server_rec *s, int dry_run, apr_pool_t *ptemp)
{
    const apr_array_header_t *items = md_reg_items(mc->reg);
    apr_hash_t *before = activated_before(s);
    const md_reg_item_t *item;
    const char *name;
    int i;

    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        name = item->md->name;
        if (dry_run) {
            if (item->is_activated) {
                name = apr_pstrdup(apr_hash_pool_get(before), name);
                apr_hash_set(before, name, APR_HASH_KEY_STRING, name);
            }
        }
        else if (item->is_activated || apr_hash_get(before, name, APR_HASH_KEY_STRING)) {
            mod_md_event_send(mc, s, "installed", name, ptemp);
        }
    }
    if (!dry_run) {
        apr_hash_clear(before);
    }
}

/* Runs for 'apachectl -t' as well as at every (re)start, after the whole configuration is read
 * and before anything is written: steps 1 and 2 and the checks that need the whole
 * configuration. The error log is not open yet, so messages go to stderr. */
static int md_check_config(apr_pool_t *p, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    md_mod_conf_t *mc = sc->mc;
    int dry_run = (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG);
    apr_status_t rv;
    int i;

    (void)plog;
    (void)ptemp;
    md_log_set(log_is_level, log_print, s);
    mc->ocsp = NULL;
    if (!mc->mds->nelts && !mod_md_ocsp_wanted(mc)) {
        mod_md_config_log_warnings(mc, s, 1, dry_run);
        return OK;
    }
    /* 1. */
    for (i = 0; i < mc->mds->nelts; ++i) {
        md_t *md = APR_ARRAY_IDX(mc->mds, i, md_t *);
        mod_md_config_complete_md(md, mc, s, p);
        /* the effective value, as the stock module shows it in md.json and md-status */
        md->stapling = mod_md_config_stapling(mc, md);
    }
    /* 2. */
    rv = check_unique_names(mc, s, p);
    if (APR_SUCCESS == rv) {
        rv = assign_vhosts(mc, s, p);
    }
    mc->can_http = mc->local_80 > 0 && is_listening(mc->local_80);
    mc->can_https = mc->local_443 > 0 && is_listening(mc->local_443);
    if (APR_SUCCESS == rv) {
        rv = mod_md_config_check(mc, s, p);
    }
    mod_md_config_log_warnings(mc, s, 1, dry_run);
    return (APR_SUCCESS == rv) ? OK : !OK;
}

/* OCSP stapling events go to MDMessageCmd as "ocsp-renewed" / "ocsp-errored" (rate limited
 * there); responses of certificates outside any MD have no name to report. */
static void ocsp_event(void *baton, const char *event, const char *md_name, const char *id,
                       const char *detail, apr_pool_t *p)
{
    (void)id;
    (void)detail;
    if (md_name) {
        mod_md_event_ocsp(baton, md_name, !strcmp(event, "ocsp-renewed"), p);
    }
}

/* The registry's memo of certificate facts lives as long as the process, across httpd's two
 * start-up passes and graceful restarts; it is only touched in the parent, single threaded. */
static apr_hash_t *process_memo(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_hash_t *memo = NULL;

    apr_pool_userdata_get((void **)&memo, "mod_md_memo", pp);
    if (!memo) {
        memo = apr_hash_make(pp);
        apr_pool_userdata_set(memo, "mod_md_memo", apr_pool_cleanup_null, pp);
    }
    return memo;
}

static int md_post_config(apr_pool_t *p, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    md_mod_conf_t *mc = sc->mc;
    int dry_run = (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG);
    apr_status_t rv;

    (void)plog;
    md_log_set(log_is_level, log_print, s);
    mod_md_config_log_warnings(mc, s, 0, dry_run);
    if (!mc->mds->nelts) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, APLOGNO(12314) "mod_md (v%s) managing %d domains",
                 MD_MODULE_VERSION, mc->mds->nelts);
    /* 1. and 2. ran in md_check_config */
    /* 3. */
    rv = md_http_global_init();
    if (APR_SUCCESS == rv) {
        rv = setup_store(mc, s, p);
    }
    if (APR_SUCCESS == rv) {
        rv = md_reg_create(&mc->reg, mc->store, p);
    }
    if (APR_SUCCESS == rv) {
        md_reg_set_memo(mc->reg, process_memo(s));
        /* servers sharing a store in etcd always take turns (MDStoreLocks sets the wait) */
        md_reg_set_store_locks(mc->reg, mc->store_locks || mc->etcd, mc->lock_wait);
    }
    if (APR_SUCCESS == rv) {
        apr_time_t t0 = apr_time_now();
        md_reg_set_activation_delay(mc->reg, mc->activation_delay);
        rv = md_reg_sync(mc->reg, mc->mds, t0, p, ptemp);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s,
                     APLOGNO(12319) "store synced for %d domains in %" APR_TIME_T_FMT " ms%s",
                     mc->mds->nelts, apr_time_as_msec(apr_time_now() - t0),
                     dry_run ? " (dry run)" : "");
    }
    if (APR_SUCCESS == rv && !mc->etcd) {
        /* not in a store other servers share: what looks stale here may be theirs */
        md_reg_cleanup_stale(mc->reg, ptemp);
    }
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     APLOGNO(12315) "setting up the Managed Domains failed; see the messages "
                                    "before this one");
        return !OK;
    }
    attach_items(mc, s);
    mod_md_hot_setup(mc, s, dry_run, p);
    mod_md_metrics_init(mc, s);
    if (!dry_run) {
        /* for the status pages of the children (they cannot read domains/); not needed in the
         * first pass httpd makes at start, which serves no requests */
        mc->status_live = md_status_live_make(mc->reg, p);
    }
    mod_md_ocsp_set_event_cb(ocsp_event, s);
    mod_md_ocsp_setup(mc, s, p);
    /* 4. */
    send_installed(mc, s, dry_run, ptemp);
    if (!dry_run) {
        mod_md_drive_start(mc, s, p);
        mod_md_ocsp_start(mc, s, p);
        mod_md_etcd_watch_start(mc, s, p);
    }
    return OK;
}

/* After mod_ssl's post_config: it has asked for the certificates of its vhosts by now. */
static int md_post_config_after_ssl(apr_pool_t *p, apr_pool_t *plog, apr_pool_t *ptemp,
                                    server_rec *s)
{
    md_mod_conf_t *mc = mod_md_config_get(s)->mc;

    (void)p;
    (void)plog;
    if (mc->mds->nelts && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        mod_md_config_check_ssl(mc, s, ptemp);
    }
    return OK;
}

/* ---- mod_ssl -----------------------------------------------------------------------------------
 */

/* mod_ssl (and mod_tls) ask for the certificates of every vhost with 'SSLEngine on': that is
 * how this module learns which vhosts are https (md_post_config_after_ssl). */
static int md_add_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                             apr_array_header_t *key_files)
{
    md_srv_conf_t *sc = mod_md_config_get(s);

    if (sc) {
        sc->is_ssl = 1;
    }
    if (sc && sc->other_md && sc->assigned_md) {
        /* no certificate can fit: mod_ssl stops the start, as with the stock module */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     APLOGNO(10238) "conflict: 2 MDs match Virtualhost %s which uses SSL, "
                                    "however there can be at most 1. Its names are in MDomain "
                                    "%s and MDomain %s; give the names of one vhost to one "
                                    "MDomain only",
                     s->server_hostname, sc->assigned_md->name, sc->other_md->name);
        return DECLINED;
    }
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
    if (APR_SUCCESS == md_reg_get_cred_files(cert_files, key_files, sc->mc->reg, sc->item, p)
        || mod_md_hot_add_fallback(s, sc, cert_files, key_files, p)) {
        return OK;
    }
    return DECLINED;
}

static int md_add_fallback_cert_files(server_rec *s, apr_pool_t *p, apr_array_header_t *cert_files,
                                      apr_array_header_t *key_files)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    const char *cfile = NULL, *kfile = NULL;

    if (!sc || !sc->item || !sc->mc->reg || sc->item->has_cert || sc->other_md) {
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

static void count_challenge(md_mod_conf_t *mc, const char *host, apr_pool_t *p)
{
    md_t *md = md_of_name(mc, host, p);

    if (md) {
        mod_md_metrics_inc(md->name, MD_METRIC_CHALLENGES);
    }
}

/* Whether the answers for 'md' come from this module alone (as in the stock module): an MD it
 * renews itself. For any other name (no MD, MDRenewMode manual, MDCertificateFile in auto mode)
 * another ACME client may answer from its webroot, so a request without an answer in the store
 * goes on to the other handlers. */
static int owns_http_challenges(const md_t *md)
{
    return md && md->renew_mode != MD_RENEW_MANUAL
           && !(md->cert_files && md->cert_files->nelts && md->renew_mode == MD_RENEW_AUTO);
}

/* Whether reading the answer to a 'type' challenge for 'name' failed only for now: APR_EAGAIN
 * from MDStoreEtcd while etcd is not reachable. The one place that decides it for http-01 and
 * tls-alpn-01: logged as a warning naming the cause (not as a file that the server cannot
 * read), with the name's MD (or the name: another program may answer for names of no MD). The
 * caller refuses the answer for now (503, no acme-tls/1): the CA's validation fails and the
 * renewal is retried. */
static int answer_unreadable_now(apr_status_t rv, md_mod_conf_t *mc, const char *type,
                                 const char *name, conn_rec *c)
{
    const md_t *md;

    if (!APR_STATUS_IS_EAGAIN(rv)) {
        return 0;
    }
    md = md_of_name(mc, name, c->pool);
    ap_log_cerror(APLOG_MARK, APLOG_WARNING, rv, c,
                  APLOGNO(13451) "%s: cannot read the %s answer for %s now: the store (etcd) is "
                                 "not reachable; the renewal is retried",
                  md ? md->name : name, type, name);
    return 1;
}

static int send_http_answer(request_rec *r, md_mod_conf_t *mc, const char *host, const char *answer)
{
    apr_size_t alen = strlen(answer);

    /* as the stock module: another method than GET on a pending answer gets 501 */
    if (r->method_number != M_GET) {
        return HTTP_NOT_IMPLEMENTED;
    }
    while (alen && (answer[alen - 1] == '\n' || answer[alen - 1] == '\r')) {
        --alen;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  APLOGNO(12318) "answering the http-01 challenge for %s", host);
    count_challenge(mc, host, r->pool);
    r->status = HTTP_OK;
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, (apr_off_t)alen);
    if (!r->header_only) {
        ap_rwrite(answer, (int)alen, r);
    }
    ap_finalize_request_protocol(r);
    return DONE;
}

/* http-01 (RFC 8555 8.3): the answer is challenges/<host>/acme-http-01.txt, put there by our
 * renewal job or by another program (the stock module's tools drive orders elsewhere and leave
 * the answering to the running server), for any host name, MD or not. */
static int md_http_challenge_pr(request_rec *r)
{
    md_srv_conf_t *sc;
    const char *path = r->parsed_uri.path, *token, *host;
    const char *answer = NULL;
    const md_t *md;
    apr_status_t rv;

    if (!md_http01_is_challenge_path(path)) {
        return DECLINED;
    }
    sc = mod_md_config_get(r->server);
    if (!sc || !sc->mc->store) {
        return DECLINED;
    }
    /* the token and host are checked in md_http01.c (fuzzed there) */
    if (APR_SUCCESS != md_http01_parse(&token, &host, path, r->hostname, r->pool)) {
        return DECLINED;
    }
    md = md_of_name(sc->mc, host, r->pool);
    if (md && md->ca_challenges && md->ca_challenges->nelts
        && md_array_str_index(md->ca_challenges, "http-01", 0, 0) < 0) {
        /* the MD is validated otherwise: someone else may answer http-01 for its names */
        return DECLINED;
    }
    rv = mod_md_etcd_challenge(&answer, sc->mc, host, token, r->pool);
    if (APR_SUCCESS == rv && md_http01_answer_fits(answer, token)) {
        return send_http_answer(r, sc->mc, host, answer);
    }
    if (!owns_http_challenges(md)) {
        return DECLINED;
    }
    if (answer_unreadable_now(rv, sc->mc, "http-01", host, r->connection)) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (APR_SUCCESS != rv && !APR_STATUS_IS_ENOENT(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      APLOGNO(13450) "%s: cannot read the http-01 answer for %s from the store "
                                     "(challenges/%s/%s): check that the server's User can read it",
                      md->name, host, host, MD_FN_HTTP01);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                  APLOGNO(12317) "no pending http-01 challenge for token %s at %s", token, host);
    return HTTP_NOT_FOUND;
}

/* ---- MDRequireHttps ----------------------------------------------------------------------------
 */

#define MD_HSTS_HEADER "Strict-Transport-Security"
#define MD_HSTS_VALUE  "max-age=15768000"

/* http requests of an MD with MDRequireHttps go to the same URL on https (port 443, the only
 * one a redirect can promise); https responses of a 'permanent' MD carry HSTS. Challenges were
 * answered before this runs (same hook, earlier), and their path is left alone anyway. */
static int md_require_https_pr(request_rec *r)
{
    md_srv_conf_t *sc = mod_md_config_get(r->server);
    const md_t *md = sc ? sc->assigned_md : NULL;
    const char *path = r->parsed_uri.path, *url;

    if (!md || md->require_https <= MD_REQUIRE_OFF || !sc->mc->can_https) {
        return DECLINED;
    }
    if (ap_ssl_conn_is_ssl(r->connection)) {
        if (md->require_https == MD_REQUIRE_PERMANENT) {
            apr_table_set(r->err_headers_out, MD_HSTS_HEADER, MD_HSTS_VALUE);
        }
        return DECLINED;
    }
    if (!r->hostname || !path || md_http01_is_challenge_path(path)) {
        return DECLINED;
    }
    url = apr_pstrcat(r->pool, "https://", r->hostname, path, r->parsed_uri.query ? "?" : "",
                      r->parsed_uri.query ? r->parsed_uri.query : "", NULL);
    apr_table_setn(r->headers_out, "Location", url);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "%s: MDRequireHttps redirect to %s", md->name,
                  url);
    if (r->method_number == M_GET || r->method_number == M_OPTIONS || r->header_only) {
        return (md->require_https == MD_REQUIRE_PERMANENT) ? HTTP_MOVED_PERMANENTLY
                                                           : HTTP_MOVED_TEMPORARILY;
    }
    /* keep the method and body: 308/307 */
    return (md->require_https == MD_REQUIRE_PERMANENT) ? HTTP_PERMANENT_REDIRECT
                                                       : HTTP_TEMPORARY_REDIRECT;
}

/* ---- tls-alpn-01 -------------------------------------------------------------------------------
 */

/* The conn_config entry of a connection that switched to acme-tls/1 points here. */
static int acme_tls_conn_mark;

static int is_acme_tls_conn(const conn_rec *c)
{
    return ap_get_module_config(c->conn_config, &md_module) == &acme_tls_conn_mark;
}


static int md_protocol_switch(conn_rec *c, request_rec *r, server_rec *s, const char *protocol)
{
    (void)s;
    if (r || !protocol || strcmp(protocol, PROTO_ACME_TLS_1)) {
        return DECLINED;
    }
    ap_set_module_config(c->conn_config, &md_module, &acme_tls_conn_mark);
    /* the CA only looks at the certificate: no requests on this connection */
    c->keepalive = AP_CONN_CLOSE;
    return DONE;
}

static const char *md_protocol_get(const conn_rec *c)
{
    return is_acme_tls_conn(c) ? PROTO_ACME_TLS_1 : NULL;
}

/* The challenge key and certificate PEMs for 'name' and one key spec (NULL: the default file
 * names), in c->pool. APR_ENOENT when there are none. */
static apr_status_t load_tls_alpn01_spec(const char **pcert_pem, const char **pkey_pem,
                                         md_mod_conf_t *mc, const char *name,
                                         const md_pkey_spec_t *spec, conn_rec *c)
{
    apr_array_header_t *chain = NULL;
    md_pkey_t *pkey = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    rv =
        md_store_load(mc->store, MD_SG_CHALLENGES, name, md_tls_alpn01_cert_filename(spec, c->pool),
                      MD_SV_CHAIN, (void **)&chain, c->pool);
    if (APR_SUCCESS == rv) {
        rv = md_store_load(mc->store, MD_SG_CHALLENGES, name,
                           md_tls_alpn01_key_filename(spec, c->pool), MD_SV_PKEY, (void **)&pkey,
                           c->pool);
    }
    if (APR_SUCCESS == rv) {
        rv = md_chain_to_pem(pcert_pem, &len, chain, c->pool);
    }
    if (APR_SUCCESS == rv) {
        rv = md_pkey_to_pem(pkey_pem, &len, pkey, NULL, 0, c->pool);
    }
    return rv;
}

/* The challenge answer for 'name': the files of the MD's key types (our renewal job writes the
 * first), then those of the global MDPrivateKeys (where the stock module looks, also for names
 * of no MD: another program may have put them there), then the default file names. */
static apr_status_t load_tls_alpn01(const char **pcert_pem, const char **pkey_pem,
                                    md_mod_conf_t *mc, const char *name, conn_rec *c)
{
    md_t *md = md_of_name(mc, name, c->pool);
    const apr_array_header_t *lists[2];
    apr_status_t rv;
    int l, i;

    lists[0] = md ? md->pks : NULL;
    lists[1] = mc->defaults ? mc->defaults->pks : NULL;
    for (l = 0; l < 2; ++l) {
        for (i = 0; lists[l] && i < lists[l]->nelts; ++i) {
            rv = load_tls_alpn01_spec(pcert_pem, pkey_pem, mc, name,
                                      APR_ARRAY_IDX(lists[l], i, const md_pkey_spec_t *), c);
            if (!APR_STATUS_IS_ENOENT(rv)) {
                return rv;
            }
        }
    }
    return load_tls_alpn01_spec(pcert_pem, pkey_pem, mc, name, NULL, c);
}

/* acme-tls/1 only for a name with a pending tls-alpn-01 challenge (RFC 8737 3: the server
 * answers with the challenge certificate): for any other name the protocol is not proposed, so
 * the handshake cannot end in an acme-tls/1 connection with the name's usual certificate (and
 * HTTP served over it). mod_ssl asks after the SNI callback, so the name is known here. */
static int md_protocol_propose(conn_rec *c, request_rec *r, server_rec *s,
                               const apr_array_header_t *offers, apr_array_header_t *proposals)
{
    md_srv_conf_t *sc;
    const char *sni, *name, *ip, *cert_pem = NULL, *key_pem = NULL;
    apr_status_t rv;

    if (r || !offers || !ap_ssl_conn_is_ssl(c)
        || !ap_array_str_contains(offers, PROTO_ACME_TLS_1)) {
        return DECLINED;
    }
    sc = mod_md_config_get(c->base_server);
    sni = ap_ssl_var_lookup(c->pool, s, c, NULL, "SSL_TLS_SNI");
    name = (sni && *sni) ? md_util_str_tolower(sni, c->pool) : NULL;
    if (!sc || !sc->mc->store || !name || !md_util_is_dns_name(name, 0, 1)) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                      APLOGNO(13230) "acme-tls/1 asked for without a usable server name (SNI): "
                                     "not offered");
        return DECLINED;
    }
    ip = md_util_ip_from_arpa(name, c->pool);
    rv = load_tls_alpn01(&cert_pem, &key_pem, sc->mc, ip ? ip : name, c);
    if (answer_unreadable_now(rv, sc->mc, "tls-alpn-01", ip ? ip : name, c)) {
        return DECLINED; /* not offered: the handshake fails for now */
    }
    if (APR_SUCCESS != rv) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                      APLOGNO(13231) "acme-tls/1 asked for %s, which has no pending tls-alpn-01 "
                                     "challenge: not offered",
                      name);
        return DECLINED;
    }
    APR_ARRAY_PUSH(proposals, const char *) = PROTO_ACME_TLS_1;
    return OK;
}

static int md_answer_challenge(conn_rec *c, const char *servername, const char **pcert_pem,
                               const char **pkey_pem)
{
    md_srv_conf_t *sc;
    const char *name, *ip;
    apr_status_t rv;

    if (!servername || !is_acme_tls_conn(c)) {
        return DECLINED;
    }
    sc = mod_md_config_get(c->base_server);
    name = md_util_str_tolower(servername, c->pool);
    if (!sc || !sc->mc->store || !md_util_is_dns_name(name, 0, 1)) {
        return DECLINED;
    }
    /* RFC 8738 6: the validation of an IP identifier names it by its reverse-DNS name */
    ip = md_util_ip_from_arpa(name, c->pool);
    rv = load_tls_alpn01(pcert_pem, pkey_pem, sc->mc, ip ? ip : name, c);
    if (answer_unreadable_now(rv, sc->mc, "tls-alpn-01", ip ? ip : name, c)) {
        /* etcd went away since acme-tls/1 was proposed: mod_ssl sends the usual certificate,
         * which the CA's validation refuses */
        return DECLINED;
    }
    if (APR_SUCCESS != rv) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, rv, c,
                      APLOGNO(12505) "no pending tls-alpn-01 challenge for %s%s%s%s", name,
                      ip ? " (" : "", ip ? ip : "", ip ? ")" : "");
        return DECLINED;
    }
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                  APLOGNO(12506) "answering the tls-alpn-01 challenge for %s%s%s%s", name,
                  ip ? " (" : "", ip ? ip : "", ip ? ")" : "");
    return OK;
}

/* ---- hooks -------------------------------------------------------------------------------------
 */

static void md_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    mod_md_event_child_init(pchild);
}

static void md_hooks(apr_pool_t *pool)
{
    static const char *const before_ssl[] = { "mod_ssl.c", "mod_tls.c", NULL };

    (void)pool;
    ap_hook_check_config(md_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(md_post_config, NULL, before_ssl, APR_HOOK_MIDDLE);
    ap_hook_post_config(md_post_config_after_ssl, before_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(md_http_challenge_pr, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(md_require_https_pr, NULL, NULL, APR_HOOK_LAST);
    ap_hook_ssl_add_cert_files(md_add_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_add_fallback_cert_files(md_add_fallback_cert_files, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_propose(md_protocol_propose, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_switch(md_protocol_switch, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_get(md_protocol_get, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_answer_challenge(md_answer_challenge, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(md_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    mod_md_status_register_hooks();
    mod_md_ocsp_register_hooks();
    mod_md_hot_register_hooks();
}
