/* test_time: durations, windows and their arithmetic in md_time. */
#include <string.h>

#include "md_time.h"
#include "unit.h"

#define SEC(n)  ((apr_interval_time_t)(n)*APR_USEC_PER_SEC)
#define DAYS(n) SEC((apr_int64_t)(n)*MD_SECS_PER_DAY)

static const struct {
    const char *s;
    const char *def_unit;
    apr_status_t rv;
    apr_interval_time_t expect;
} dur_cases[] = {
    { "30s", NULL, APR_SUCCESS, SEC(30) },
    { "12h", NULL, APR_SUCCESS, SEC(12 * 3600) },
    { "21d", NULL, APR_SUCCESS, DAYS(21) },
    { "21D", NULL, APR_SUCCESS, DAYS(21) },
    { "500ms", NULL, APR_SUCCESS, 500 * 1000 },
    { "90m", NULL, APR_SUCCESS, SEC(90 * 60) },
    { "5mi", NULL, APR_SUCCESS, SEC(5 * 60) },
    { "10", NULL, APR_SUCCESS, SEC(10) },
    { "10", "d", APR_SUCCESS, DAYS(10) },
    { "0", "s", APR_SUCCESS, 0 },
    { "36500d", NULL, APR_SUCCESS, DAYS(36500) },
    { "36501d", NULL, APR_EINVAL, 0 },
    { "3000000000d", NULL, APR_EINVAL, 0 }, /* would overflow */
    { "99999999999999999999", NULL, APR_EINVAL, 0 },
    { "", NULL, APR_EINVAL, 0 },
    { "-1d", NULL, APR_EINVAL, 0 },
    { "abc", NULL, APR_EINVAL, 0 },
    { "1.5d", NULL, APR_EINVAL, 0 },
    { "10x", NULL, APR_EINVAL, 0 },
    { "d", NULL, APR_EINVAL, 0 },
    { " 1d", NULL, APR_EINVAL, 0 },
    { "1 d", NULL, APR_EINVAL, 0 },
};

START_TEST(test_duration_parse)
{
    apr_interval_time_t t = -42;
    apr_status_t rv = md_duration_parse(&t, dur_cases[_i].s, dur_cases[_i].def_unit);

    ck_assert_msg(rv == dur_cases[_i].rv, "'%s': rv %d", dur_cases[_i].s, rv);
    if (APR_SUCCESS == rv) {
        ck_assert_msg(t == dur_cases[_i].expect, "'%s': %" APR_INT64_T_FMT, dur_cases[_i].s,
                      (apr_int64_t)t);
    }
}
END_TEST

static const struct {
    apr_interval_time_t d;
    const char *s;
} fmt_cases[] = {
    { DAYS(21), "21d" },       { SEC(12 * 3600), "12h" }, { SEC(30), "30s" },
    { 250 * 1000, "250ms" },   { SEC(90 * 60), "90mi" },  { DAYS(1) + SEC(1), "86401s" },
    { SEC(25 * 3600), "25h" },
};

START_TEST(test_duration_format)
{
    apr_interval_time_t back = 0;
    const char *s = md_duration_format(fmt_cases[_i].d, unit_pool);

    ck_assert_str_eq(fmt_cases[_i].s, s);
    ck_assert_int_eq(APR_SUCCESS, md_duration_parse(&back, s, NULL));
    ck_assert(back == fmt_cases[_i].d);
}
END_TEST

static const struct {
    const char *s;
    apr_status_t rv;
    apr_interval_time_t norm;
    apr_interval_time_t len;
    const char *formatted;
} ts_cases[] = {
    { "33%", APR_SUCCESS, 100, 33, "33%" },
    { "0%", APR_SUCCESS, 100, 0, "0%" },
    { "100%", APR_SUCCESS, 100, 100, "100%" },
    { "21d", APR_SUCCESS, 0, DAYS(21), "21d" },
    { "21", APR_SUCCESS, 0, DAYS(21), "21d" },
    { "30s", APR_SUCCESS, 0, SEC(30), "30s" },
    { "101%", APR_EINVAL, 0, 0, NULL },
    { "-5%", APR_EINVAL, 0, 0, NULL },
    { "%", APR_EINVAL, 0, 0, NULL },
    { "33.3%", APR_EINVAL, 0, 0, NULL },
    { "x%", APR_EINVAL, 0, 0, NULL },
    { "abc", APR_EINVAL, 0, 0, NULL },
    { "", APR_EINVAL, 0, 0, NULL },
    { "-21d", APR_EINVAL, 0, 0, NULL },
};

START_TEST(test_timeslice_parse)
{
    md_timeslice_t *ts = NULL;
    const char *err = NULL;
    apr_status_t rv = md_timeslice_parse(&ts, unit_pool, ts_cases[_i].s, &err);

    ck_assert_msg(rv == ts_cases[_i].rv, "'%s': rv %d", ts_cases[_i].s, rv);
    if (APR_SUCCESS != rv) {
        ck_assert_ptr_null(ts);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_nonnull(strstr(err, "33%"));
        return;
    }
    ck_assert(ts->norm == ts_cases[_i].norm);
    ck_assert(ts->len == ts_cases[_i].len);
    ck_assert_str_eq(ts_cases[_i].formatted, md_timeslice_format(ts, unit_pool));
}
END_TEST

START_TEST(test_timeslice_null)
{
    md_timeslice_t *ts = NULL;
    const char *err = NULL;

    ck_assert_int_eq(APR_EINVAL, md_timeslice_parse(&ts, unit_pool, NULL, &err));
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(test_slice_percent)
{
    md_timeperiod_t cert, renew;
    md_timeslice_t ts = { 100, 33 };
    apr_time_t start = apr_time_from_sec(1700000000);

    /* a 90 day certificate renews at 33% before its end: 29.7 days */
    cert.start = start;
    cert.end = start + DAYS(90);
    renew = md_timeperiod_slice_before_end(&cert, &ts);
    ck_assert(renew.end == cert.end);
    ck_assert(renew.start == cert.end - SEC(2566080)); /* 29.7 * 86400 */
    ck_assert(md_timeperiod_length(&renew) == SEC(2566080));
    ck_assert(!md_timeperiod_has_started(&renew, cert.end - DAYS(30)));
    ck_assert(md_timeperiod_has_started(&renew, cert.end - DAYS(29)));
    ck_assert(md_timeperiod_has_started(&renew, renew.start));
    ck_assert(!md_timeperiod_has_started(&renew, renew.start - 1));
}
END_TEST

static const struct {
    apr_interval_time_t window;
    apr_interval_time_t expect_len;
} abs_cases[] = {
    { DAYS(30), DAYS(30) },
    { DAYS(90), DAYS(90) },
    { DAYS(120), DAYS(90) }, /* larger than the lifetime: the whole period */
    { 0, 0 },
};

START_TEST(test_slice_absolute)
{
    md_timeperiod_t cert, renew;
    md_timeslice_t ts = { 0, abs_cases[_i].window };

    cert.start = apr_time_from_sec(1700000000);
    cert.end = cert.start + DAYS(90);
    renew = md_timeperiod_slice_before_end(&cert, &ts);
    ck_assert(renew.end == cert.end);
    ck_assert(renew.start >= cert.start);
    ck_assert(md_timeperiod_length(&renew) == abs_cases[_i].expect_len);
}
END_TEST

START_TEST(test_period_length)
{
    md_timeperiod_t p = { 100, 50 };

    ck_assert(md_timeperiod_length(&p) == 0);
    p.end = 150;
    ck_assert(md_timeperiod_length(&p) == 50);
}
END_TEST

static const struct {
    const char *s;
    apr_int64_t secs; /* 0: not parseable */
} rfc3339_cases[] = {
    { "2026-11-29T14:50:58Z", 1795963858 },
    { "2026-11-29T14:50:58.123456Z", 1795963858 },
    { "2026-11-29T16:50:58+02:00", 1795963858 },
    { "2026-11-29T09:20:58-0530", 1795963858 },
    { "2026-11-29T14:50:58", 1795963858 },
    { "1970-01-01T00:00:00Z", 0 },
    /* before 1970: no time a CA or the store means (found by fuzz_ari: an ARI window in 1013) */
    { "1013-12-20T00:00:00.123456789+02:00", 0 },
    { "1969-12-31T23:59:59Z", 0 },
    { "1970-01-01T00:30:00+01:00", 0 },
    { "2026-13-29T14:50:58Z", 0 },
    { "2026-11-29 14:50:58Z", 0 },
    { "2026-11-29T14:50:58Zjunk", 0 },
    { "yesterday", 0 },
    { "", 0 },
};

START_TEST(test_rfc3339)
{
    apr_time_t t = md_time_parse_rfc3339(rfc3339_cases[_i].s);

    ck_assert_msg(t == apr_time_from_sec(rfc3339_cases[_i].secs), "'%s': %" APR_INT64_T_FMT,
                  rfc3339_cases[_i].s, (apr_int64_t)apr_time_sec(t));
    if (t) {
        ck_assert_str_eq("2026-11-29T14:50:58Z", md_time_rfc3339(t, unit_pool));
    }
}
END_TEST

Suite *suite_time(void)
{
    Suite *s = suite_create("time");
    TCase *tc = unit_tcase("time");

    tcase_add_loop_test(tc, test_duration_parse, 0,
                        (int)(sizeof(dur_cases) / sizeof(dur_cases[0])));
    tcase_add_loop_test(tc, test_duration_format, 0,
                        (int)(sizeof(fmt_cases) / sizeof(fmt_cases[0])));
    tcase_add_loop_test(tc, test_timeslice_parse, 0, (int)(sizeof(ts_cases) / sizeof(ts_cases[0])));
    tcase_add_test(tc, test_timeslice_null);
    tcase_add_test(tc, test_slice_percent);
    tcase_add_loop_test(tc, test_slice_absolute, 0,
                        (int)(sizeof(abs_cases) / sizeof(abs_cases[0])));
    tcase_add_test(tc, test_period_length);
    tcase_add_loop_test(tc, test_rfc3339, 0,
                        (int)(sizeof(rfc3339_cases) / sizeof(rfc3339_cases[0])));
    suite_add_tcase(s, tc);
    return s;
}
