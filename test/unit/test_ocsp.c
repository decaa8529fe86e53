/* test_ocsp: OCSP stapling decisions (md_ocsp.c) from tables, the responder URL of a
 * certificate without AIA, and the store clean-up of old responses. */
#include <apr_strings.h>

#include "md_crypt.h"
#include "md_ocsp.h"
#include "md_store_fs.h"
#include "unit.h"

#define HOUR apr_time_from_sec(MD_SECS_PER_HOUR)
#define T0   apr_time_from_sec(1800000000)

static const struct {
    const char *window;
    apr_interval_time_t life;
    apr_time_t at; /* relative to T0 */
} renew_cases[] = {
    { "33%", 72 * HOUR, 72 * HOUR - 72 * HOUR * 33 / 100 }, /* 3-day response: renew at ~48h */
    { "50%", 20 * HOUR, 10 * HOUR },
    { "1d", 72 * HOUR, 48 * HOUR },
    { "100%", 12 * HOUR, 0 },
    { "5d", 72 * HOUR, 0 }, /* window longer than the life: due from the start */
};

START_TEST(ocsp_renew_at_table)
{
    md_timeslice_t *ts = NULL;
    md_timeperiod_t valid;

    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, renew_cases[_i].window, NULL));
    valid.start = T0;
    valid.end = T0 + renew_cases[_i].life;
    ck_assert_int_eq(T0 + renew_cases[_i].at, md_ocsp_renew_at(&valid, ts));
}
END_TEST

/* md_ocsp_next_fetch: the renewal window, but never sooner than a tenth of the lifetime after
 * the last fetch (5 s .. 1 day); an expired response waits 5 s. Times relative to T0. */
#define SEC apr_time_from_sec(1)
static const struct {
    const char *window;
    apr_interval_time_t start, life; /* the response's validity */
    apr_interval_time_t fetched, now;
    apr_interval_time_t want;
} next_cases[] = {
    { "33%", 0, 72 * HOUR, HOUR, HOUR, 72 * HOUR - 72 * HOUR * 33 / 100 }, /* the window rules */
    { "100%", 0, 10 * HOUR, 0, 0, HOUR },        /* due at once: a tenth of the life later */
    { "100%", 0, 10 * HOUR, 0, 5 * HOUR, HOUR }, /* fetched long ago: due */
    { "5d", 0, 72 * HOUR, 2 * HOUR, 2 * HOUR, 2 * HOUR + 72 * HOUR / 10 }, /* window > life */
    { "100%", 0, 20 * SEC, 0, 0, 5 * SEC },                 /* short lives: at least 5 s */
    { "100%", 0, 30 * 24 * HOUR, 0, 0, 24 * HOUR },         /* long lives: at most a day */
    { "100%", -2 * HOUR, HOUR, 0, 0, 5 * SEC },             /* expired: 5 s after the fetch */
    { "100%", 0, 10 * HOUR, 3 * HOUR, 2 * HOUR, 3 * HOUR }, /* fetched "later": from now */
    { "33%", -5 * 24 * HOUR, 7 * 24 * HOUR, -5 * 24 * HOUR, 0,
      7 * 24 * HOUR * 67 / 100 - 5 * 24 * HOUR },
};

START_TEST(ocsp_next_fetch_table)
{
    md_timeslice_t *ts = NULL;
    md_timeperiod_t valid;
    apr_time_t got, fetched;

    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, next_cases[_i].window, NULL));
    valid.start = T0 + next_cases[_i].start;
    valid.end = valid.start + next_cases[_i].life;
    fetched = T0 + next_cases[_i].fetched;
    got = md_ocsp_next_fetch(&valid, ts, fetched, T0 + next_cases[_i].now);
    /* percent windows are cut in whole microseconds: allow for the rounding */
    ck_assert_msg(got - (T0 + next_cases[_i].want) < SEC && (T0 + next_cases[_i].want) - got < SEC,
                  "case %d: %" APR_TIME_T_FMT " s, not %" APR_TIME_T_FMT " s", _i,
                  apr_time_sec(got - T0), apr_time_sec(next_cases[_i].want));
}
END_TEST

START_TEST(ocsp_next_fetch_no_busy_loop)
{
    md_timeslice_t *ts = NULL;
    md_timeperiod_t valid;
    apr_time_t now = T0, next;
    int fetches = 0;

    /* a window of 100% over an hour of a 1-hour response that the responder keeps giving out
     * (a cache): 1 s ticks, fetch whenever due */
    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, "100%", NULL));
    valid.start = T0 - 10 * 60 * SEC;
    valid.end = valid.start + HOUR;
    next = 0;
    for (now = T0; now < T0 + 40 * 60 * SEC; now += SEC) {
        if (now >= next) {
            ++fetches;
            next = md_ocsp_next_fetch(&valid, ts, now, now);
        }
    }
    /* one fetch per 6 minutes (a tenth of the life), not 2400 */
    ck_assert_int_eq(7, fetches);
}
END_TEST

START_TEST(ocsp_error_notify_hourly)
{
    ck_assert(md_ocsp_may_notify_error(0, T0));
    ck_assert(!md_ocsp_may_notify_error(T0, T0 + HOUR - 1));
    ck_assert(md_ocsp_may_notify_error(T0, T0 + HOUR));
}
END_TEST

START_TEST(ocsp_no_responder_url)
{
    md_pkey_t *pkey = NULL;
    md_cert_t *cert = NULL;
    const char *url = "x";
    apr_array_header_t *names = apr_array_make(unit_pool, 1, sizeof(const char *));

    APR_ARRAY_PUSH(names, const char *) = "a.example.org";
    ck_assert_int_eq(APR_SUCCESS, md_pkey_gen(&pkey, unit_pool, NULL));
    ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&cert, "test", names, pkey,
                                                    apr_time_from_sec(MD_SECS_PER_DAY), unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_cert_get_ocsp_responder_url(&url, cert, unit_pool));
    ck_assert_ptr_null(url);
    ck_assert_int_eq(40, (int)strlen(md_cert_get_sha1_hex(cert, unit_pool)));
}
END_TEST

START_TEST(ocsp_remove_old)
{
    md_store_t *store = NULL;
    md_json_t *old = md_json_create(unit_pool), *fresh = md_json_create(unit_pool);
    void *value = NULL;
    char buf[APR_RFC822_DATE_LEN];

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    apr_rfc822_date(buf, T0 - 8 * 24 * HOUR);
    md_json_sets(buf, old, "valid", "until");
    apr_rfc822_date(buf, T0 - 6 * 24 * HOUR);
    md_json_sets(buf, fresh, "valid", "until");
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(store, MD_SG_OCSP, "a", "ocsp-1.json", old, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(store, MD_SG_OCSP, "a", "ocsp-2.json", fresh, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_remove_old(store, 7 * 24 * HOUR, T0, unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_store_load(store, MD_SG_OCSP, "a", "ocsp-1.json", MD_SV_JSON,
                                               &value, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_load(store, MD_SG_OCSP, "a", "ocsp-2.json", MD_SV_JSON,
                                                &value, unit_pool));
}
END_TEST

Suite *suite_ocsp(void)
{
    Suite *s = suite_create("ocsp");
    TCase *tc = unit_tcase("stapling");

    tcase_add_loop_test(tc, ocsp_renew_at_table, 0, sizeof(renew_cases) / sizeof(renew_cases[0]));
    tcase_add_loop_test(tc, ocsp_next_fetch_table, 0, sizeof(next_cases) / sizeof(next_cases[0]));
    tcase_add_test(tc, ocsp_next_fetch_no_busy_loop);
    tcase_add_test(tc, ocsp_error_notify_hourly);
    tcase_add_test(tc, ocsp_no_responder_url);
    tcase_add_test(tc, ocsp_remove_old);
    suite_add_tcase(s, tc);
    return s;
}
