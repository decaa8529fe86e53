/* md_proc: running a program the admin configured (MDNotifyCmd, MDMessageCmd, the dns-01
 * program of MDChallengeDns01) safely: no shell, bounded in time and in the output kept.
 *
 * The program gets its argv as given (no shell: a name like "a;touch /tmp/x" is one argument,
 * never a command), stdin closed, its output on a pipe. What it writes beyond the limit is read
 * and dropped (so the program never blocks on a full pipe); control characters in the kept part
 * are replaced by '?' so that the text fits on one log line. A program still running at the
 * deadline is killed (SIGKILL) and reaped.
 */
#ifndef md_proc_h
#define md_proc_h

#include <apr_pools.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

typedef struct md_proc_opts_t md_proc_opts_t;
struct md_proc_opts_t {
    apr_interval_time_t timeout; /* how long the program may run (> 0) */
    apr_size_t output_max;       /* bytes of output kept (> 0) */
    int is_stderr_only;          /* keep only stderr, stdout goes to /dev/null; else both */
    int has_env;                 /* the program inherits the environment (else an empty one) */
};

typedef struct md_proc_result_t md_proc_result_t;
struct md_proc_result_t {
    const char *output; /* what it wrote (at most output_max bytes, one line), never NULL */
    int is_truncated;   /* it wrote more than output_max bytes */
    int is_timed_out;   /* it ran past the deadline and was killed */
    int code;           /* exit code, or the signal that ended it */
    apr_exit_why_e why; /* APR_PROC_EXIT, APR_PROC_SIGNAL, ... */
};

/**
 * Run argv[0] (a path, NULL terminated 'argv') as 'opts' says, wait for it to end or kill it at
 * the deadline. '*pres' is filled in (output in 'p') also on failure.
 * @return APR_SUCCESS: it exited with 0; APR_TIMEUP: killed at the deadline; APR_EGENERAL: it
 *         exited with another code or by a signal; other: it could not be started.
 */
apr_status_t md_proc_run(md_proc_result_t *pres, const char *const *argv,
                         const md_proc_opts_t *opts, apr_pool_t *p);

/**
 * "exit code 3", "signal 9" or "killed after N seconds" for a result, in 'p'.
 */
const char *md_proc_describe(const md_proc_result_t *res, const md_proc_opts_t *opts,
                             apr_pool_t *p);

#endif /* md_proc_h */
