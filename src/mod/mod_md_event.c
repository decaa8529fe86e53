/* mod_md_event: running MDNotifyCmd / MDMessageCmd (see mod_md_event.h).
 *
 * 1. build argv (no shell, so names and args are never interpreted)
 * 2. start the program with stdout and stderr on one pipe
 * 3. read its output (bounded) and watch for its exit, until the deadline
 * 4. kill it when it is still running at the deadline
 */
#include <signal.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <httpd.h>
#include <http_log.h>

#include "md.h"
#include "md_job.h"
#include "mod_md_event.h"

APLOG_USE_MODULE(md);

#define OUTPUT_MAX 4096

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

/* 3. + 4. Reads the program's output until it has exited and its output is drained, or until
 * the deadline, when it is killed. The end of the output alone does not say that the program is
 * done: another job thread may fork at the same moment, and its child then inherits this pipe's
 * write end (and keeps it open as long as it runs). So the loop also asks whether the process
 * exited, with short read timeouts in between. */
#define POLL_STEP apr_time_from_msec(50)

static int append_output(apr_file_t *rd, char *buf, apr_size_t *plen, apr_interval_time_t wait)
{
    char sink[512];
    apr_size_t n;
    apr_status_t rv;

    apr_file_pipe_timeout_set(rd, wait);
    if (*plen < OUTPUT_MAX) {
        n = OUTPUT_MAX - *plen;
        rv = apr_file_read(rd, buf + *plen, &n);
        *plen += (APR_SUCCESS == rv) ? n : 0;
    }
    else {
        n = sizeof(sink);
        rv = apr_file_read(rd, sink, &n);
    }
    if (APR_SUCCESS == rv) {
        return 1;
    }
    return APR_STATUS_IS_TIMEUP(rv) ? 0 : -1; /* -1: EOF, the pipe will not block again */
}

static apr_status_t await_program(const char **poutput, apr_proc_t *proc, apr_file_t *rd,
                                  apr_time_t deadline, int *pcode, apr_exit_why_e *pwhy,
                                  apr_pool_t *p)
{
    char *buf = apr_pcalloc(p, OUTPUT_MAX + 1);
    apr_size_t len = 0;
    apr_time_t now;
    apr_status_t rv = APR_TIMEUP;
    int exited = 0, got;

    for (;;) {
        now = apr_time_now();
        if (now >= deadline) {
            break;
        }
        got = append_output(rd, buf, &len,
                            (deadline - now) < POLL_STEP ? (deadline - now) : POLL_STEP);
        if (got > 0) {
            continue;
        }
        if (exited) {
            break; /* exited and nothing more to read right now */
        }
        if (APR_STATUS_IS_CHILD_DONE(apr_proc_wait(proc, pcode, pwhy, APR_NOWAIT))) {
            exited = 1; /* one more round to drain what it wrote last */
        }
        else if (got < 0) {
            apr_sleep(apr_time_from_msec(20)); /* output closed, the program still runs */
        }
    }
    if (!exited) {
        apr_proc_kill(proc, SIGKILL);
        apr_proc_wait(proc, pcode, pwhy, APR_WAIT);
    }
    else {
        rv = APR_SUCCESS;
    }
    buf[len] = '\0';
    *poutput = buf;
    return rv;
}

static apr_status_t run_program(const char **poutput, const char *const *argv, apr_pool_t *p)
{
    apr_procattr_t *attr = NULL;
    apr_file_t *rd = NULL, *wr = NULL;
    apr_proc_t proc;
    apr_exit_why_e why = APR_PROC_EXIT;
    apr_time_t deadline = apr_time_now() + MD_EVENT_TIMEOUT;
    int code = 0;
    apr_status_t rv;

    *poutput = "";
    /* 2. */
    rv = apr_file_pipe_create_ex(&rd, &wr, APR_WRITE_BLOCK, p);
    if (APR_SUCCESS == rv) {
        rv = apr_procattr_create(&attr, p);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_procattr_io_set(attr, APR_NO_FILE, APR_NO_PIPE, APR_NO_PIPE);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_procattr_child_out_set(attr, wr, NULL);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_procattr_child_err_set(attr, wr, NULL);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM);
    }
    if (APR_SUCCESS == rv) {
        memset(&proc, 0, sizeof(proc));
        rv = apr_proc_create(&proc, argv[0], argv, NULL, attr, p);
    }
    if (wr) {
        apr_file_close(wr);
    }
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    rv = await_program(poutput, &proc, rd, deadline, &code, &why, p);
    if (APR_SUCCESS == rv && (why != APR_PROC_EXIT || code != 0)) {
        rv = APR_EGENERAL;
        *poutput = apr_psprintf(p, "%s (%s %d)", *poutput,
                                why == APR_PROC_EXIT ? "exit code" : "signal", code);
    }
leave:
    if (rd) {
        apr_file_close(rd);
    }
    return rv;
}

static apr_status_t run_logged(server_rec *s, const char *directive, const char *const *argv,
                               const char *reason, const char *name, apr_pool_t *p)
{
    const char *output = "";
    apr_status_t rv = run_program(&output, argv, p);

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
