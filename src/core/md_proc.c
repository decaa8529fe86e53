/* md_proc: running a configured program (see md_proc.h).
 *
 * 1. start argv[0] without a shell, stdin closed, its output (stderr, or stdout and stderr) on
 *    one pipe whose write end the parent closes at once
 * 2. read the output (keep output_max bytes, drop the rest) and watch for the exit, until the
 *    deadline
 * 3. kill it when it still runs at the deadline, and reap it in any case
 * 4. make the kept output one printable line for the log
 */
#include <signal.h>
#include <string.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_proc.h"

/* 2. The end of the output alone does not say that the program is done: another thread of the
 * process may fork at the same moment, and its child then inherits this pipe's write end (and
 * keeps it open as long as it runs). So the loop also asks whether the process exited, with
 * short read timeouts in between. */
#define POLL_STEP apr_time_from_msec(50)

typedef struct {
    char *buf;
    apr_size_t len;
    apr_size_t max;
    int is_truncated;
} md_proc_out_t;

/* 1 when something was read, 0 on a read timeout, -1 at the end of the output. */
static int read_some(apr_file_t *rd, md_proc_out_t *out, apr_interval_time_t wait)
{
    char sink[512];
    apr_size_t n;
    apr_status_t rv;

    apr_file_pipe_timeout_set(rd, wait);
    if (out->len < out->max) {
        n = out->max - out->len;
        rv = apr_file_read(rd, out->buf + out->len, &n);
        out->len += (APR_SUCCESS == rv) ? n : 0;
    }
    else {
        n = sizeof(sink);
        rv = apr_file_read(rd, sink, &n);
        if (APR_SUCCESS == rv && n) {
            out->is_truncated = 1;
        }
    }
    if (APR_SUCCESS == rv) {
        return 1;
    }
    return APR_STATUS_IS_TIMEUP(rv) ? 0 : -1;
}

static apr_status_t await_exit(md_proc_result_t *pres, apr_proc_t *proc, apr_file_t *rd,
                               md_proc_out_t *out, apr_time_t deadline)
{
    apr_time_t now;
    int exited = 0, got;

    for (;;) {
        now = apr_time_now();
        if (now >= deadline) {
            break;
        }
        got = read_some(rd, out, (deadline - now) < POLL_STEP ? (deadline - now) : POLL_STEP);
        if (got > 0) {
            continue;
        }
        if (exited) {
            break; /* exited and nothing more to read right now */
        }
        if (APR_STATUS_IS_CHILD_DONE(apr_proc_wait(proc, &pres->code, &pres->why, APR_NOWAIT))) {
            exited = 1; /* one more round to drain what it wrote last */
        }
        else if (got < 0) {
            apr_sleep(apr_time_from_msec(20)); /* output closed, the program still runs */
        }
    }
    if (!exited) {
        /* 3. */
        pres->is_timed_out = 1;
        apr_proc_kill(proc, SIGKILL);
        apr_proc_wait(proc, &pres->code, &pres->why, APR_WAIT);
        return APR_TIMEUP;
    }
    return (pres->why == APR_PROC_EXIT && pres->code == 0) ? APR_SUCCESS : APR_EGENERAL;
}

/* 4. */
static const char *one_line(const md_proc_out_t *out, apr_pool_t *p)
{
    char *s = apr_pstrmemdup(p, out->buf, out->len);
    apr_size_t i, len = out->len;

    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r')) {
        s[--len] = '\0';
    }
    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            s[i] = (c == '\n' || c == '\t') ? ' ' : '?';
        }
    }
    return s;
}

static apr_status_t make_attr(apr_procattr_t **pattr, apr_file_t *wr, const md_proc_opts_t *opts,
                              apr_pool_t *p)
{
    apr_procattr_t *attr = NULL;
    apr_file_t *devnull = NULL;
    apr_status_t rv;

    rv = apr_procattr_create(&attr, p);
    if (APR_SUCCESS == rv) {
        rv = apr_procattr_io_set(attr, APR_NO_FILE, APR_NO_PIPE, APR_NO_PIPE);
    }
    if (APR_SUCCESS == rv && opts->is_stderr_only) {
        rv = apr_file_open(&devnull, "/dev/null", APR_FOPEN_WRITE, APR_FPROT_OS_DEFAULT, p);
        if (APR_SUCCESS == rv) {
            rv = apr_procattr_child_out_set(attr, devnull, NULL);
        }
    }
    else if (APR_SUCCESS == rv) {
        rv = apr_procattr_child_out_set(attr, wr, NULL);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_procattr_child_err_set(attr, wr, NULL);
    }
    if (APR_SUCCESS == rv) {
        /* a program that is not there or not executable fails here, not as exit code 255 */
        rv = apr_procattr_error_check_set(attr, 1);
    }
    if (APR_SUCCESS == rv) {
        /* never APR_SHELLCMD: the arguments reach the program as they are */
        rv = apr_procattr_cmdtype_set(attr, opts->has_env ? APR_PROGRAM_ENV : APR_PROGRAM);
    }
    *pattr = attr;
    return rv;
}

apr_status_t md_proc_run(md_proc_result_t *pres, const char *const *argv,
                         const md_proc_opts_t *opts, apr_pool_t *p)
{
    apr_procattr_t *attr = NULL;
    apr_file_t *rd = NULL, *wr = NULL;
    apr_proc_t proc;
    md_proc_out_t out;
    apr_time_t deadline = apr_time_now() + opts->timeout;
    apr_status_t rv;

    memset(pres, 0, sizeof(*pres));
    pres->output = "";
    pres->why = APR_PROC_EXIT;
    memset(&out, 0, sizeof(out));
    out.max = opts->output_max;
    out.buf = apr_palloc(p, out.max + 1);
    /* 1. */
    rv = apr_file_pipe_create_ex(&rd, &wr, APR_WRITE_BLOCK, p);
    if (APR_SUCCESS == rv) {
        rv = make_attr(&attr, wr, opts, p);
    }
    if (APR_SUCCESS == rv) {
        memset(&proc, 0, sizeof(proc));
        rv = apr_proc_create(&proc, argv[0], argv, NULL, attr, p);
    }
    if (wr) {
        apr_file_close(wr);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, rv, p, "cannot start %s", argv[0]);
        goto leave;
    }
    rv = await_exit(pres, &proc, rd, &out, deadline);
    pres->is_truncated = out.is_truncated;
    pres->output = one_line(&out, p);
leave:
    if (rd) {
        apr_file_close(rd);
    }
    return rv;
}

const char *md_proc_describe(const md_proc_result_t *res, const md_proc_opts_t *opts, apr_pool_t *p)
{
    if (res->is_timed_out) {
        return apr_psprintf(p, "killed after %d seconds", (int)apr_time_sec(opts->timeout));
    }
    if (res->why == APR_PROC_EXIT) {
        return apr_psprintf(p, "exit code %d", res->code);
    }
    return apr_psprintf(p, "signal %d", res->code);
}
