/* mod_md_ocsp: OCSP stapling glue (see mod_md_ocsp.h).
 *
 *   1. post_config (parent): create the registry, clean old responses from the store
 *   2. mod_ssl's post_config primes every certificate of every vhost: ours (MDStapling of its
 *      MD) and static ones (global MDStapling and MDStapleOthers); the registry loads what the
 *      store has
 *   3. each watchdog tick (the one child): push due fetches onto the thread pool (a new
 *      certificate is due at once), and start a renewal of MDs whose certificate is revoked
 *   4. handshakes (every child): md_ocsp_get_resp, memory or store only
 */
#include <apr_optional.h>
#include <apr_strings.h>
#include <stdlib.h>

#include <apr_atomic.h>
#include <apr_thread_pool.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_ssl.h>
#include <mod_watchdog.h>

#include "md.h"
#include "md_reg.h"
#include "mod_md_drive.h"
#include "mod_md_ocsp.h"

APLOG_USE_MODULE(md);

/* the renewal watchdog's name: one child, one thread for both */
#define MD_OCSP_TICK     apr_time_from_sec(1)
#define MD_DEF_KEEP      apr_time_from_sec(7 * MD_SECS_PER_DAY)

typedef struct {
    md_mod_conf_t *mc;
    server_rec *s;
    apr_pool_t *p;
    apr_thread_pool_t *tpool;
    md_http_config_t http_config;
    volatile apr_uint32_t in_flight; /* fetches queued or running */
} ocsp_drive_t;

/* The fetcher of this process (the child running the watchdog), for the exit handler. */
static ocsp_drive_t *running_drive;

/* At process exit, before OpenSSL and APR are torn down (see mod_md_drive.c): let running
 * fetches end (they are bounded by the HTTP timeouts), a few seconds at most. */
static void wait_at_exit(void)
{
    apr_time_t until = apr_time_now() + apr_time_from_sec(10);

    while (running_drive && apr_atomic_read32(&running_drive->in_flight)
           && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(20));
    }
}

/* One fetch, in its own unmanaged pool (the task lives there): freed when the fetch ends. */
typedef struct {
    apr_pool_t *p;
    ocsp_drive_t *drive;
    md_ocsp_item_t *item;
} ocsp_task_t;

static md_ocsp_event_cb *event_cb;
static void *event_baton;

void mod_md_ocsp_set_event_cb(md_ocsp_event_cb *cb, void *baton)
{
    event_cb = cb;
    event_baton = baton;
}

int mod_md_ocsp_wanted(const md_mod_conf_t *mc)
{
    int i;

    if (mod_md_config_stapling(mc, NULL)) {
        return 1;
    }
    for (i = 0; i < mc->mds->nelts; ++i) {
        if (mod_md_config_stapling(mc, APR_ARRAY_IDX(mc->mds, i, const md_t *))) {
            return 1;
        }
    }
    return 0;
}

/* 1. */
apr_status_t mod_md_ocsp_setup(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    md_timeslice_t *window = NULL;
    apr_status_t rv;

    mc->ocsp = NULL;
    if (!mod_md_ocsp_wanted(mc)) {
        return APR_SUCCESS;
    }
    if (!mc->stapling_window) {
        md_timeslice_parse(&window, p, "33%", NULL);
        mc->stapling_window = window;
    }
    md_ocsp_remove_old(mc->store, mc->stapling_keep >= 0 ? mc->stapling_keep : MD_DEF_KEEP,
                       apr_time_now(), p);
    rv = md_ocsp_reg_create(&mc->ocsp, mc->store, mc->stapling_window, p);
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     APLOGNO(12809) "cannot set up OCSP stapling, certificates are not stapled");
        return rv;
    }
    md_ocsp_set_event_cb(mc->ocsp, event_cb, event_baton);
    return APR_SUCCESS;
}

/* 2. */
static int md_ocsp_prime_hook(server_rec *s, apr_pool_t *p, const char *id, apr_size_t id_len,
                              const char *pem)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    md_mod_conf_t *mc = sc ? sc->mc : NULL;
    const md_t *md;

    if (!mc || !mc->ocsp) {
        return DECLINED;
    }
    md = sc->assigned_md;
    if (md ? !mod_md_config_stapling(mc, md)
           : (!mod_md_config_stapling(mc, NULL) || mc->staple_others == 0)) {
        return DECLINED;
    }
    if (APR_SUCCESS != md_ocsp_prime(mc->ocsp, id, id_len, pem, md ? md->name : NULL, p)) {
        return DECLINED;
    }
    return OK;
}

/* 4. */
static int md_ocsp_get_resp_hook(server_rec *s, conn_rec *c, const char *id, apr_size_t id_len,
                                 ap_ssl_ocsp_copy_resp *cb, void *userdata)
{
    md_srv_conf_t *sc = mod_md_config_get(s);

    if (!sc || !sc->mc->ocsp) {
        return DECLINED;
    }
    if (APR_SUCCESS
        != md_ocsp_get_resp(sc->mc->ocsp, id, id_len, cb, userdata, apr_time_now(), c->pool)) {
        return DECLINED;
    }
    return OK;
}

/* 3. runs on a pool thread */
static void *APR_THREAD_FUNC fetch_run(apr_thread_t *thread, void *baton)
{
    ocsp_task_t *task = baton;
    ocsp_drive_t *drive = task->drive;

    (void)thread;
    md_ocsp_fetch(task->item, &drive->http_config, task->p);
    apr_pool_destroy(task->p);
    apr_atomic_dec32(&drive->in_flight);
    return NULL;
}

static void trigger_renewals(ocsp_drive_t *drive, apr_time_t now, apr_pool_t *ptemp)
{
    apr_array_header_t *names = md_ocsp_revoked_mds(drive->mc->ocsp, ptemp);
    const char *name;
    int i;

    for (i = 0; i < names->nelts; ++i) {
        name = APR_ARRAY_IDX(names, i, const char *);
        /* the renewal scheduler runs on this watchdog too; it looks at the MD on its next tick,
         * MDCheckInterval does not apply. Repeated ticks find it due and do nothing. */
        if (mod_md_drive_renew_now(name, now)) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, drive->s,
                         APLOGNO(12810) "%s: certificate revoked, renewal is due now", name);
        }
    }
}

static void schedule(ocsp_drive_t *drive, apr_time_t now, apr_pool_t *ptemp)
{
    apr_array_header_t *due;
    ocsp_task_t *task;
    apr_pool_t *p;
    int i;

    trigger_renewals(drive, now, ptemp);
    due = md_ocsp_take_due(drive->mc->ocsp, md_ocsp_count(drive->mc->ocsp), now, ptemp);
    for (i = 0; i < due->nelts; ++i) {
        /* not from drive->p: that would grow with every fetch of a long running server */
        p = NULL;
        if (APR_SUCCESS != apr_pool_create_unmanaged_ex(&p, NULL, NULL)) {
            continue; /* the item stays taken: out of memory is not recovered from here */
        }
        task = apr_pcalloc(p, sizeof(*task));
        task->p = p;
        task->drive = drive;
        task->item = APR_ARRAY_IDX(due, i, md_ocsp_item_t *);
        apr_atomic_inc32(&drive->in_flight);
        if (APR_SUCCESS != apr_thread_pool_push(drive->tpool, fetch_run, task, 0, drive)) {
            apr_pool_destroy(p);
            apr_atomic_dec32(&drive->in_flight);
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, drive->s,
                         APLOGNO(12811) "cannot queue an OCSP fetch");
        }
    }
}

static apr_status_t ocsp_cb(int state, void *baton, apr_pool_t *ptemp)
{
    ocsp_drive_t *drive = baton;
    apr_status_t rv;

    switch (state) {
        case AP_WATCHDOG_STATE_STARTING:
            rv = apr_pool_create_unmanaged_ex(&drive->p, NULL, NULL);
            if (APR_SUCCESS == rv) {
                rv = apr_thread_pool_create(&drive->tpool, 0, MD_OCSP_MAX_PARALLEL, drive->p);
            }
            if (APR_SUCCESS != rv) {
                ap_log_error(APLOG_MARK, APLOG_ERR, rv, drive->s,
                             APLOGNO(12812) "cannot start the OCSP fetcher, responses will not "
                                            "be renewed");
                drive->tpool = NULL;
                break;
            }
            if (!running_drive) {
                atexit(wait_at_exit);
            }
            running_drive = drive;
            break;
        case AP_WATCHDOG_STATE_RUNNING:
            if (drive->tpool && drive->mc->ocsp) {
                schedule(drive, apr_time_now(), ptemp);
            }
            break;
        case AP_WATCHDOG_STATE_STOPPING:
        default:
            break;
    }
    return APR_SUCCESS;
}

apr_status_t mod_md_ocsp_start(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    ocsp_drive_t *drive;
    apr_status_t rv;

    if (!mc->ocsp) {
        return APR_SUCCESS;
    }
    drive = apr_pcalloc(p, sizeof(*drive));
    drive->mc = mc;
    drive->s = s;
    mod_md_http_config(&drive->http_config, mc, p); /* MDHttpProxy: responders too */
    rv = mod_md_watchdog_add(drive, ocsp_cb, MD_OCSP_TICK, p);
    if (APR_STATUS_IS_ENOTIMPL(rv)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     APLOGNO(12813) "mod_watchdog is not loaded: OCSP responses will not be "
                                    "fetched; load mod_watchdog (LoadModule watchdog_module ...)");
    }
    else if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     APLOGNO(12814) "cannot register the OCSP fetcher on the watchdog");
    }
    return rv;
}

md_json_t *mod_md_ocsp_status(md_mod_conf_t *mc, apr_pool_t *p)
{
    if (!mc->ocsp) {
        return md_json_create_array(p);
    }
    return md_ocsp_status_json(mc->ocsp, apr_time_now(), p);
}

void mod_md_ocsp_register_hooks(void)
{
    ap_hook_ssl_ocsp_prime_hook(md_ocsp_prime_hook, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_ocsp_get_resp_hook(md_ocsp_get_resp_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
