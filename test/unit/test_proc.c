/* Unit tests of md_proc: running a configured program without a shell, bounded in time and
 * output. The programs are /bin/sh and /bin/echo, given their arguments directly. */
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "md_proc.h"
#include "unit.h"

static md_proc_opts_t opts_of(apr_interval_time_t timeout, apr_size_t max, int stderr_only)
{
    md_proc_opts_t o;

    memset(&o, 0, sizeof(o));
    o.timeout = timeout;
    o.output_max = max;
    o.is_stderr_only = stderr_only;
    return o;
}

typedef struct {
    const char *script; /* for /bin/sh -c */
    int stderr_only;
    apr_size_t max;
    apr_status_t rv;
    int code;
    const char *output;
    int is_truncated;
} proc_case_t;

static const proc_case_t proc_cases[] = {
    { "echo hello", 0, 100, APR_SUCCESS, 0, "hello", 0 },
    { "echo failing; exit 3", 0, 100, APR_EGENERAL, 3, "failing", 0 },
    { "echo out; echo err >&2", 1, 100, APR_SUCCESS, 0, "err", 0 },
    { "echo out; echo err >&2", 0, 100, APR_SUCCESS, 0, "out err", 0 },
    { "printf 'a\\033[31mb\\r\\nc\\n'", 0, 100, APR_SUCCESS, 0, "a?[31mb? c", 0 },
    { "printf '0123456789abcdef'", 0, 10, APR_SUCCESS, 0, "0123456789", 1 },
    /* far more than a pipe holds: the program is not blocked, the rest is dropped */
    { "head -c 1000000 /dev/zero | tr '\\0' x", 0, 5, APR_SUCCESS, 0, "xxxxx", 1 },
    { "kill -9 $$", 0, 100, APR_EGENERAL, 9, "", 0 },
};

START_TEST(test_proc_cases)
{
    const proc_case_t *c = &proc_cases[_i];
    const char *argv[] = { "/bin/sh", "-c", c->script, NULL };
    md_proc_opts_t o = opts_of(apr_time_from_sec(30), c->max, c->stderr_only);
    md_proc_result_t res;
    apr_status_t rv = md_proc_run(&res, argv, &o, unit_pool);

    ck_assert_int_eq(rv, c->rv);
    ck_assert_int_eq(res.code, c->code);
    ck_assert_str_eq(res.output, c->output);
    ck_assert_int_eq(res.is_truncated, c->is_truncated);
    ck_assert_int_eq(res.is_timed_out, 0);
}
END_TEST

START_TEST(test_proc_no_shell)
{
    const char *dir = unit_tmpdir();
    const char *marker = apr_pstrcat(unit_pool, dir, "/injected", NULL);
    const char *arg = apr_pstrcat(unit_pool, "a;touch ", marker, " $(touch ", marker, ")", NULL);
    const char *argv[] = { "/bin/echo", arg, NULL };
    md_proc_opts_t o = opts_of(apr_time_from_sec(30), 4096, 0);
    md_proc_result_t res;
    apr_finfo_t finfo;

    ck_assert_int_eq(md_proc_run(&res, argv, &o, unit_pool), APR_SUCCESS);
    ck_assert_str_eq(res.output, arg);
    ck_assert_int_ne(apr_stat(&finfo, marker, APR_FINFO_TYPE, unit_pool), APR_SUCCESS);
}
END_TEST

START_TEST(test_proc_timeout)
{
    const char *argv[] = { "/bin/sh", "-c", "echo started; exec sleep 60", NULL };
    md_proc_opts_t o = opts_of(apr_time_from_msec(300), 100, 0);
    md_proc_result_t res;
    apr_time_t start = apr_time_now();

    ck_assert_int_eq(md_proc_run(&res, argv, &o, unit_pool), APR_TIMEUP);
    ck_assert_int_eq(res.is_timed_out, 1);
    ck_assert_str_eq(res.output, "started");
    /* killed, not waited for: far less than the program's 60 seconds */
    ck_assert(apr_time_now() - start < apr_time_from_sec(30));
    ck_assert_str_eq(md_proc_describe(&res, &o, unit_pool), "killed after 0 seconds");
}
END_TEST

START_TEST(test_proc_not_there)
{
    const char *argv[] = { "/nonexistent/program", "x", NULL };
    md_proc_opts_t o = opts_of(apr_time_from_sec(5), 100, 0);
    md_proc_result_t res;
    apr_status_t rv = md_proc_run(&res, argv, &o, unit_pool);

    /* a start error, not an exit code */
    ck_assert(APR_STATUS_IS_ENOENT(rv));
    ck_assert_str_eq(res.output, "");
}
END_TEST

Suite *suite_proc(void)
{
    Suite *s = suite_create("proc");
    TCase *tc = unit_tcase("proc");

    tcase_add_loop_test(tc, test_proc_cases, 0, sizeof(proc_cases) / sizeof(proc_cases[0]));
    tcase_add_test(tc, test_proc_no_shell);
    tcase_add_test(tc, test_proc_timeout);
    tcase_add_test(tc, test_proc_not_there);
    suite_add_tcase(s, tc);
    return s;
}
