/* mod_md_event: running MDNotifyCmd / MDMessageCmd (see mod_md_event.h).
 *
 * 1. build argv (no shell, so names and args are never interpreted)
 * 2. start the program with stdout and stderr on one pipe
 * 3. read its output (bounded) and watch for its exit, until the deadline
 * 4. kill it when it is still running at the deadline
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <httpd.h>
#include <http_log.h>

#include "md.h"
#include "md_job.h"
#include "md_proc.h"
#include "mod_md_event.h"

APLOG_USE_MODULE(md);

static apr_pool_t *limit_pool;
static apr_thread_mutex_t *limit_mutex;
static apr_hash_t *last_sent; /* "reason name" -> apr_time_t* */

void mod_md_event_child_init(apr_pool_t *pchild)
{
    if (APR_SUCCESS != apr_pool_create(&limit_pool, pchild)) {
        return;
    }
    if (APR_SUCCESS
        != apr_thread_mutex_create(&limit_mutex, APR_THREAD_MUTEX_DEFAULT, limit_pool)) {
        limit_mutex = NULL;
        return;
    }
    last_sent = apr_hash_make(limit_pool);
}

static apr_status_t run_logged(server_rec *s, const char *directive, const char *const *argv,
                               const char *reason, const char *name, apr_pool_t *p)
{
    md_proc_opts_t opts;
    md_proc_result_t res;
    const char *output;
    apr_status_t rv;

    memset(&opts, 0, sizeof(opts));
    opts.timeout = MD_EVENT_TIMEOUT;
    opts.output_max = MD_EVENT_OUTPUT_MAX;
    rv = md_proc_run(&res, argv, &opts, p);
    output = res.output;
    if (APR_EGENERAL == rv) {
        output = apr_psprintf(p, "%s%s (%s)", output, res.is_truncated ? "[...]" : "",
                              md_proc_describe(&res, &opts, p));
    }

    if (APR_SUCCESS == rv) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, APLOGNO(12602) "%s: %s %s for '%s' succeeded",
                     name, directive, argv[0], reason);
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     APLOGNO(12603) "%s: %s %s for '%s' ran longer than %d seconds and was "
                                    "killed; a program must not block. Output: %s",
                     name, directive, argv[0], reason, (int)apr_time_sec(MD_EVENT_TIMEOUT), output);
    }
    else if (APR_EGENERAL == rv && !strcmp("renewing", reason)) {
        /* a non-zero exit is how the program vetoes a renewal: its answer, not a failure */
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     APLOGNO(12650) "%s: %s %s for '%s' said no. Output: %s", name, directive,
                     argv[0], reason, output);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     APLOGNO(12604) "%s: %s %s for '%s' failed. Output: %s", name, directive,
                     argv[0], reason, output);
    }
    return rv;
}

apr_status_t mod_md_event_send(md_mod_conf_t *mc, server_rec *s, const char *reason,
                               const char *name, apr_pool_t *p)
{
    apr_array_header_t *argv;
    apr_status_t rv = APR_SUCCESS, rv2;
    int i;

    /* 1. */
    if (!strcmp("renewed", reason) && mc->notify_cmd) {
        const char *nargv[3];
        nargv[0] = mc->notify_cmd;
        nargv[1] = name;
        nargv[2] = NULL;
        rv = run_logged(s, "MDNotifyCmd", nargv, reason, name, p);
    }
    if (mc->message_cmd) {
        argv = apr_array_make(p, 5, sizeof(const char *));
        APR_ARRAY_PUSH(argv, const char *) = mc->message_cmd;
        for (i = 0; mc->message_args && i < mc->message_args->nelts; ++i) {
            APR_ARRAY_PUSH(argv, const char *) = APR_ARRAY_IDX(mc->message_args, i, const char *);
        }
        APR_ARRAY_PUSH(argv, const char *) = reason;
        APR_ARRAY_PUSH(argv, const char *) = name;
        APR_ARRAY_PUSH(argv, const char *) = NULL;
        rv2 = run_logged(s, "MDMessageCmd", (const char *const *)argv->elts, reason, name, p);
        if (APR_SUCCESS == rv) {
            rv = rv2;
        }
    }
    /* 'installed' runs in the parent at start-up: no job record to add to */
    if ((mc->message_cmd || mc->notify_cmd) && mc->store && strcmp("installed", reason)) {
        md_job_note(mc->store, name, apr_pstrcat(p, "message-", reason, NULL),
                    APR_SUCCESS == rv ? NULL : "the program failed, see the error log",
                    APR_SUCCESS == rv && !strcmp("renewed", reason), apr_time_now(), p);
    }
    return rv;
}

apr_status_t mod_md_event_send_limited(md_mod_conf_t *mc, server_rec *s, const char *reason,
                                       const char *name, apr_interval_time_t every, apr_pool_t *p)
{
    const char *key;
    apr_time_t *last, now = apr_time_now();
    int due = 1;

    if (!mc->message_cmd) {
        return APR_SUCCESS;
    }
    if (limit_mutex) {
        key = apr_pstrcat(p, reason, " ", name, NULL);
        apr_thread_mutex_lock(limit_mutex);
        last = apr_hash_get(last_sent, key, APR_HASH_KEY_STRING);
        if (last && now - *last < every) {
            due = 0;
        }
        else {
            if (!last) {
                last = apr_palloc(limit_pool, sizeof(*last));
                apr_hash_set(last_sent, apr_pstrdup(limit_pool, key), APR_HASH_KEY_STRING, last);
            }
            *last = now;
        }
        apr_thread_mutex_unlock(limit_mutex);
    }
    if (!due) {
        return APR_EAGAIN;
    }
    return mod_md_event_send(mc, s, reason, name, p);
}

apr_status_t mod_md_event_ocsp(server_rec *s, const char *name, int is_ok, apr_pool_t *p)
{
    md_srv_conf_t *sc = mod_md_config_get(s);

    if (!sc || !sc->mc) {
        return APR_SUCCESS;
    }
    if (is_ok) {
        return mod_md_event_send(sc->mc, s, "ocsp-renewed", name, p);
    }
    return mod_md_event_send_limited(sc->mc, s, "ocsp-errored", name, MD_EVENT_ERRORED_EVERY, p);
}
