/* mod_md_etcd: the etcd store in the module (see mod_md_etcd.h).
 *
 * The watch, on the child that runs the module's watchdog:
 *   1. STARTING: a thread of its own runs md_store_etcd_watch()
 *   2. each certificate set another server staged or activated for one of our MDs is reported
 *      (watch_change()): with MDActivation hot the renewal scheduler serves it at once
 *      (mod_md_drive_renewed_elsewhere()), else it is logged and goes live at the next restart
 *   3. STOPPING: the thread is told to end (it does within a second) and joined
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_watchdog.h>

#include "md.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_util.h"
#include "md_version.h"
#include "md_store_fs.h"
#include "md_store_etcd.h"
#include "md_store_open.h"
#include "mod_md_config.h"
#include "mod_md_config_int.h"
#include "mod_md_config_values.h"
#include "mod_md_drive.h"
#include "mod_md_etcd.h"

APLOG_USE_MODULE(md);

#define CHALLENGE_KEEP     apr_time_from_sec(3)
#define CHALLENGE_KEEP_MAX 1000
#define WATCH_TICK         apr_time_from_sec(1)

/* ---- directives ------------------------------------------------------------------------------
 */

/* A server-wide directive of the etcd store: NULL with *pconf, or why it cannot be here. */
static const char *etcd_conf(md_store_etcd_conf_t **pconf, cmd_parms *cmd)
{
    md_mod_conf_t *mc = mod_md_config_cmd_conf(cmd);
    const char *err = mod_md_config_server_wide(cmd);

    if (err) {
        return err;
    }
    if (!mc->etcd) {
        mc->etcd = apr_pcalloc(cmd->pool, sizeof(*mc->etcd));
    }
    *pconf = mc->etcd;
    return NULL;
}

static const char *readable_file(const char **ppath, cmd_parms *cmd, const char *value)
{
    const char *path = ap_server_root_relative(cmd->pool, value);

    if (!path || APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a readable file", cmd->cmd->name, value);
    }
    *ppath = path;
    return NULL;
}

const char *mod_md_etcd_set_store(cmd_parms *cmd, void *dc, const char *endpoints,
                                  const char *prefix)
{
    md_store_etcd_conf_t *conf = NULL;
    const char *err = etcd_conf(&conf, cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (APR_SUCCESS
        != md_store_etcd_parse_endpoints(&conf->endpoints, endpoints, &err, cmd->pool)) {
        return apr_psprintf(cmd->pool, "MDStoreEtcd: %s", err);
    }
    if (prefix && (prefix[0] != '/' || strlen(prefix) < 2)) {
        return apr_psprintf(cmd->pool,
                            "MDStoreEtcd: the prefix '%s' must start with '/', e.g. "
                            "/mod_md",
                            prefix);
    }
    conf->prefix = prefix;
    return NULL;
}

const char *mod_md_etcd_set_ca(cmd_parms *cmd, void *dc, const char *file)
{
    md_store_etcd_conf_t *conf = NULL;
    const char *err = etcd_conf(&conf, cmd);

    (void)dc;
    return err ? err : readable_file(&conf->ca_file, cmd, file);
}

const char *mod_md_etcd_set_client_cert(cmd_parms *cmd, void *dc, const char *cert, const char *key)
{
    md_store_etcd_conf_t *conf = NULL;
    const char *err = etcd_conf(&conf, cmd);

    (void)dc;
    if (!err) {
        err = readable_file(&conf->cert_file, cmd, cert);
    }
    if (!err && key) {
        err = readable_file(&conf->key_file, cmd, key);
    }
    return err;
}

const char *mod_md_etcd_set_auth(cmd_parms *cmd, void *dc, const char *user, const char *pwfile)
{
    md_store_etcd_conf_t *conf = NULL;
    const char *err = etcd_conf(&conf, cmd);

    (void)dc;
    if (err) {
        return err;
    }
    conf->user = user;
    return readable_file(&conf->password_file, cmd, pwfile);
}

const char *mod_md_etcd_set_lock_ttl(cmd_parms *cmd, void *dc, const char *value)
{
    md_store_etcd_conf_t *conf = NULL;
    const char *err = etcd_conf(&conf, cmd);
    apr_interval_time_t d = 0;
    int negative = 0;

    (void)dc;
    if (err) {
        return err;
    }
    err = mod_md_value_duration(&d, &negative, value, "s", cmd->pool);
    if (err) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " ", err, NULL);
    }
    if (negative || d < apr_time_from_sec(2) || d > apr_time_from_sec(3600)) {
        return apr_psprintf(cmd->pool, "%s '%s': give 2 seconds to an hour", cmd->cmd->name, value);
    }
    conf->lock_ttl = d;
    return NULL;
}

/* ---- opening ---------------------------------------------------------------------------------
 */

apr_status_t mod_md_etcd_open(md_store_t **pstore, md_mod_conf_t *mc, md_store_t *local,
                              server_rec *s, apr_pool_t *p)
{
    md_store_etcd_conf_t *conf = mc->etcd;
    apr_status_t rv;

    *pstore = local;
    if (!conf) {
        return APR_SUCCESS;
    }
    if (!conf->endpoints) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_EINVAL, s,
                     APLOGNO(13124) "MDStoreEtcdCACertificateFile, MDStoreEtcdClientCertificate, "
                                    "MDStoreEtcdAuth and MDStoreEtcdLockTTL need MDStoreEtcd "
                                    "with the endpoints of the cluster");
        return APR_EINVAL;
    }
    conf->user_agent = apr_psprintf(p, "mod_md/%s", MD_MODULE_VERSION);
    rv = md_store_open_etcd(pstore, local, conf, 0, p);
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     APLOGNO(13125) "cannot open the store in etcd (MDStoreEtcd %s %s); see the "
                                    "messages before this one",
                     apr_array_pstrcat(p, conf->endpoints, ','),
                     conf->prefix ? conf->prefix : MD_STORE_ETCD_PREFIX_DEF);
        *pstore = NULL;
        return rv;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 APLOGNO(13126) "the store is in %s; %s holds its key and the local copy",
                 md_store_etcd_describe(*pstore, p), md_store_fs_base(local));
    return APR_SUCCESS;
}

/* ---- http-01 answers -------------------------------------------------------------------------
 * Per process: host -> the last answer read, for CHALLENGE_KEEP. */

typedef struct {
    const char *answer; /* "<token>.<thumbprint>" */
    apr_time_t at;
} kept_answer_t;

static struct {
    pid_t pid;
    apr_pool_t *pool; /* unmanaged, of the process in 'pid' */
    apr_hash_t *answers;
} kept;
static pthread_mutex_t kept_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Under kept_mutex: the table of this process (a forked child does not use its parent's). */
static int kept_ready(void)
{
    if (kept.pool && kept.pid == getpid()) {
        return 1;
    }
    if (APR_SUCCESS != apr_pool_create_unmanaged_ex(&kept.pool, NULL, NULL)) {
        kept.pool = NULL;
        return 0;
    }
    kept.answers = apr_hash_make(kept.pool);
    kept.pid = getpid();
    return 1;
}

static const char *kept_get(const char *host, const char *token, apr_pool_t *p)
{
    const kept_answer_t *k;
    const char *answer = NULL;
    apr_size_t tlen = strlen(token);

    pthread_mutex_lock(&kept_mutex);
    if (kept_ready()) {
        k = apr_hash_get(kept.answers, host, APR_HASH_KEY_STRING);
        if (k && apr_time_now() - k->at < CHALLENGE_KEEP && strncmp(k->answer, token, tlen) == 0
            && k->answer[tlen] == '.') {
            answer = apr_pstrdup(p, k->answer);
        }
    }
    pthread_mutex_unlock(&kept_mutex);
    return answer;
}

static void kept_put(const char *host, const char *answer)
{
    kept_answer_t *k;

    pthread_mutex_lock(&kept_mutex);
    if (kept_ready()) {
        if (apr_hash_count(kept.answers) >= CHALLENGE_KEEP_MAX) {
            apr_pool_clear(kept.pool);
            kept.answers = apr_hash_make(kept.pool);
        }
        k = apr_palloc(kept.pool, sizeof(*k));
        k->answer = apr_pstrdup(kept.pool, answer);
        k->at = apr_time_now();
        apr_hash_set(kept.answers, apr_pstrdup(kept.pool, host), APR_HASH_KEY_STRING, k);
    }
    pthread_mutex_unlock(&kept_mutex);
}

apr_status_t mod_md_etcd_challenge(const char **panswer, md_mod_conf_t *mc, const char *host,
                                   const char *token, apr_pool_t *p)
{
    void *value = NULL;
    apr_status_t rv;

    *panswer = mc->etcd ? kept_get(host, token, p) : NULL;
    if (*panswer) {
        return APR_SUCCESS;
    }
    rv = md_store_load(mc->store, MD_SG_CHALLENGES, host, MD_FN_HTTP01, MD_SV_TEXT, &value, p);
    if (APR_SUCCESS == rv) {
        *panswer = value;
        if (mc->etcd) {
            kept_put(host, value);
        }
    }
    return rv;
}

/* ---- the watch -------------------------------------------------------------------------------
 */

typedef struct {
    md_mod_conf_t *mc;
    server_rec *s;
    apr_pool_t *pool; /* unmanaged: the watchdog clears its own pools */
    apr_thread_t *thread;
    volatile int stop;
} etcd_watch_t;

/* 2. */
static int watch_change(void *baton, md_store_group_t group, const char *name, apr_pool_t *ptemp)
{
    etcd_watch_t *w = baton;
    md_reg_item_t *item;

    (void)ptemp;
    if (w->stop) {
        return 0;
    }
    item = name ? md_reg_get(w->mc->reg, name) : NULL;
    if (!item) {
        return 1; /* a tick, or not an MD of this server */
    }
    /* MDActivation hot: the renewal scheduler serves it at once, as a set it staged itself */
    if (mod_md_drive_renewed_elsewhere(item->md->name)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                     APLOGNO(13132) "%s: another server sharing the store %s a renewed "
                                    "certificate; it is served here without a restart "
                                    "(MDActivation hot)",
                     item->md->name, group == MD_SG_STAGING ? "obtained" : "activated");
    }
    else if (group == MD_SG_STAGING) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                     APLOGNO(13127) "%s: another server sharing the store renewed the "
                                    "certificate; it goes live here at the next graceful restart",
                     item->md->name);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                     APLOGNO(13128) "%s: another server sharing the store activated a renewed "
                                    "certificate; this server serves it after its next graceful "
                                    "restart",
                     item->md->name);
    }
    return 1;
}

static void *APR_THREAD_FUNC watch_main(apr_thread_t *thread, void *data)
{
    etcd_watch_t *w = data;
    apr_pool_t *p = NULL;

    if (APR_SUCCESS == apr_pool_create(&p, apr_thread_pool_get(thread))) {
        md_store_etcd_watch(w->mc->store, watch_change, w, p);
        apr_pool_destroy(p);
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* 1. and 3. */
static apr_status_t watch_cb(int state, void *baton, apr_pool_t *ptemp)
{
    etcd_watch_t *w = baton;
    apr_status_t rv = APR_SUCCESS, trv;

    (void)ptemp;
    if (state == AP_WATCHDOG_STATE_STARTING && !w->thread) {
        w->stop = 0;
        rv = apr_pool_create_unmanaged_ex(&w->pool, NULL, NULL);
        if (APR_SUCCESS == rv) {
            rv = apr_thread_create(&w->thread, NULL, watch_main, w, w->pool);
        }
        if (APR_SUCCESS != rv) {
            w->thread = NULL;
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, w->s,
                         APLOGNO(13129) "cannot start the watch of the etcd store: certificates "
                                        "other servers renew are not noticed before a restart");
        }
    }
    else if (state == AP_WATCHDOG_STATE_STOPPING && w->thread) {
        w->stop = 1;
        apr_thread_join(&trv, w->thread);
        w->thread = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t mod_md_etcd_watch_start(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    etcd_watch_t *w;

    if (!mc->etcd) {
        return APR_SUCCESS;
    }
    w = apr_pcalloc(p, sizeof(*w));
    w->mc = mc;
    w->s = s;
    return mod_md_watchdog_add(w, watch_cb, WATCH_TICK, p);
}
