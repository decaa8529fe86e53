/* test_renew: renewal and retry decisions (md_renew.c), from tables. */
#include <apr_strings.h>

#include "md_renew.h"
#include "unit.h"

#define DAY apr_time_from_sec(MD_SECS_PER_DAY)
#define NOW apr_time_from_sec(1800000000)

static const struct {
    const char *window;
    apr_time_t not_before, not_after;
    int covers;
    md_renew_reason_t reason;
    apr_time_t at; /* expected renew time, relative: -1 means "now" */
} due_cases[] = {
    /* no cert at all: due now */
    { "33%", 0, 0, 1, MD_RENEW_NO_CERT, -1 },
    /* 90 day cert, 10 days old: 33% window starts 29.7 days before the end */
    { "33%", NOW - 10 * DAY, NOW + 80 * DAY, 1, MD_RENEW_NOT_DUE, NOW + 80 * DAY - 297 * DAY / 10 },
    /* same, 70 days old: inside the window */
    { "33%", NOW - 70 * DAY, NOW + 20 * DAY, 1, MD_RENEW_WINDOW, NOW + 20 * DAY - 297 * DAY / 10 },
    /* names added: due now even though valid */
    { "33%", NOW - 10 * DAY, NOW + 80 * DAY, 0, MD_RENEW_NAMES_CHANGED, -1 },
    /* absolute window of 21 days */
    { "21d", NOW - 10 * DAY, NOW + 80 * DAY, 1, MD_RENEW_NOT_DUE, NOW + 59 * DAY },
    /* absolute window longer than the lifetime: due from the start */
    { "100d", NOW - 1 * DAY, NOW + 89 * DAY, 1, MD_RENEW_WINDOW, NOW - 1 * DAY },
    /* expired certificate */
    { "33%", NOW - 100 * DAY, NOW - 10 * DAY, 1, MD_RENEW_WINDOW, NOW - 10 * DAY - 297 * DAY / 10 },
};

START_TEST(renew_due_table)
{
    md_timeslice_t *ts = NULL;
    const char *err = NULL;
    apr_time_t at = 0, expect;
    md_renew_reason_t reason;

    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, due_cases[_i].window, &err));
    reason = md_renew_due(&at, due_cases[_i].not_before, due_cases[_i].not_after,
                          due_cases[_i].covers, ts, NOW);
    ck_assert_int_eq(due_cases[_i].reason, reason);
    expect = (due_cases[_i].at == -1) ? NOW : due_cases[_i].at;
    /* percentages are computed in whole microseconds: allow a second of rounding */
    ck_assert_int_le(expect - apr_time_from_sec(1), at);
    ck_assert_int_ge(expect + apr_time_from_sec(1), at);
}
END_TEST

#define HOUR apr_time_from_sec(MD_SECS_PER_HOUR)

/* Renewal jitter (md_renew_jitter): a tenth of the window at most, fixed per name. The expected
 * values are FNV-1a 64 of the name, its top 53 bits as a fraction of window/10, computed apart
 * (Python, same IEEE doubles). */
static const struct {
    const char *name;
    apr_interval_time_t window;
    apr_interval_time_t expect;
} jitter_cases[] = {
    { "example.org", 2566080000000LL, 239009178831LL },         /* 2.77 days of 2.97 */
    { "www.example.org", 2566080000000LL, 18284988418LL },      /* 5 hours */
    { "a", 2592000000000LL, 177582456247LL },                   /* 30 day window */
    { "md0.scale.example.org", 259200000000LL, 14532630613LL }, /* 3 day window: 4 hours */
    { "md1.scale.example.org", 259200000000LL, 4151198144LL },
    { "", 259200000000LL, 0 }, /* no name: none */
    { "example.org", 0, 0 },   /* no window: none */
};

START_TEST(renew_jitter_table)
{
    ck_assert_int_eq(jitter_cases[_i].expect,
                     md_renew_jitter(jitter_cases[_i].name, NOW, NOW + jitter_cases[_i].window));
}
END_TEST

/* 10000 names with the same window: every tenth of the spread gets 10% of them (+-20%) */
START_TEST(renew_jitter_spreads)
{
    int buckets[10] = { 0 }, i, b;
    apr_interval_time_t j, window = 100 * DAY;

    for (i = 0; i < 10000; ++i) {
        j = md_renew_jitter(apr_psprintf(unit_pool, "md%d.example.org", i), NOW, NOW + window);
        ck_assert_int_ge(j, 0);
        ck_assert_int_lt(j, window / MD_RENEW_JITTER_DIV);
        b = (int)(j / (window / MD_RENEW_JITTER_DIV / 10));
        buckets[b]++;
    }
    for (b = 0; b < 10; ++b) {
        ck_assert_int_ge(buckets[b], 800);
        ck_assert_int_le(buckets[b], 1200);
    }
}
END_TEST

/* md_renew_due_spread: earlier by the jitter, due from then on, never before not_before, and
 * the reasons that renew at once untouched */
START_TEST(renew_due_spread)
{
    md_timeslice_t *ts = NULL;
    const char *err = NULL;
    apr_time_t at = 0, plain = 0, nb = NOW - 10 * DAY, na = NOW + 80 * DAY;
    apr_interval_time_t j;

    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, "33%", &err));
    md_renew_due(&plain, nb, na, 1, ts, NOW);
    j = md_renew_jitter("example.org", plain, na);
    ck_assert_int_gt(j, 0);
    ck_assert_int_eq(MD_RENEW_NOT_DUE, md_renew_due_spread(&at, "example.org", nb, na, 1, ts, NOW));
    ck_assert_int_eq(plain - j, at);
    /* one second after the jittered time: due, although the plain window is still ahead */
    ck_assert_int_eq(MD_RENEW_WINDOW,
                     md_renew_due_spread(&at, "example.org", nb, na, 1, ts, plain - j + 1000000));
    ck_assert_int_eq(MD_RENEW_NOT_DUE, md_renew_due(&at, nb, na, 1, ts, plain - j + 1000000));
    /* names changed / no certificate: now, no jitter */
    ck_assert_int_eq(MD_RENEW_NAMES_CHANGED,
                     md_renew_due_spread(&at, "example.org", nb, na, 0, ts, NOW));
    ck_assert_int_eq(NOW, at);
    ck_assert_int_eq(MD_RENEW_NO_CERT, md_renew_due_spread(&at, "example.org", 0, 0, 1, ts, NOW));
    ck_assert_int_eq(NOW, at);
    /* a window of the whole lifetime: not before not_before */
    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, "100%", &err));
    md_renew_due_spread(&at, "example.org", nb, na, 1, ts, NOW);
    ck_assert_int_eq(nb, at);
}
END_TEST

/* Renewal timing by lifetime: the default window is 1/3 (33%) of the lifetime left, half of it
 * for certificates of 10 days or less; a configured window always wins. */
static const struct {
    const char *window;
    int is_default;
    apr_interval_time_t lifetime;
    apr_interval_time_t left_at_renewal; /* lifetime left when the renewal is due */
} short_cases[] = {
    { "33%", 1, 90 * DAY, 90 * DAY * 33 / 100 },     /* 29.7 days */
    { "33%", 1, 45 * DAY, 45 * DAY * 33 / 100 },     /* Let's Encrypt tlsserver: 14.85 days */
    { "33%", 1, 11 * DAY, 11 * DAY * 33 / 100 },     /* just above 10 days */
    { "33%", 1, 10 * DAY, 5 * DAY },                 /* 10 days: half */
    { "33%", 1, 160 * HOUR, 80 * HOUR },             /* shortlived: 3 days 8 h left */
    { "33%", 1, 6 * HOUR, 3 * HOUR },                /* very short */
    { "33%", 0, 160 * HOUR, 160 * HOUR * 33 / 100 }, /* configured 33% wins */
    { "2d", 0, 160 * HOUR, 2 * DAY },                /* configured duration wins */
    { "5d", 0, 90 * DAY, 5 * DAY },
};

START_TEST(renew_short_lifetimes)
{
    md_timeslice_t *ts = NULL;
    const char *err = NULL;
    apr_time_t at = 0, nb = NOW - apr_time_from_sec(60), na = nb + short_cases[_i].lifetime;
    const md_timeslice_t *w;

    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, short_cases[_i].window, &err));
    w = md_renew_window_for(ts, short_cases[_i].is_default, nb, na);
    md_renew_due(&at, nb, na, 1, w, NOW);
    ck_assert_int_le(na - short_cases[_i].left_at_renewal - apr_time_from_sec(1), at);
    ck_assert_int_ge(na - short_cases[_i].left_at_renewal + apr_time_from_sec(1), at);
}
END_TEST

/* MDCheckInterval 12h: looked at every lifetime/48 (>= 1 min), never less often than configured */
static const struct {
    apr_interval_time_t configured, lifetime, expect;
} interval_cases[] = {
    { 12 * HOUR, 90 * DAY, 12 * HOUR },
    { 12 * HOUR, 45 * DAY, 12 * HOUR },
    { 12 * HOUR, 160 * HOUR, 160 * HOUR / 48 }, /* 3h20m */
    { 12 * HOUR, 6 * DAY, 3 * HOUR },
    { 1 * HOUR, 6 * DAY, 1 * HOUR },
    { 12 * HOUR, 10 * 60 * APR_USEC_PER_SEC, 60 * APR_USEC_PER_SEC },
    { 12 * HOUR, 0, 12 * HOUR }, /* no certificate */
};

START_TEST(check_interval_table)
{
    apr_time_t nb = interval_cases[_i].lifetime ? NOW : 0;
    apr_time_t na = interval_cases[_i].lifetime ? NOW + interval_cases[_i].lifetime : 0;

    ck_assert_int_eq(interval_cases[_i].expect,
                     md_renew_check_interval(interval_cases[_i].configured, nb, na));
}
END_TEST

START_TEST(next_look)
{
    /* the renewal time comes before the next interval: look then */
    ck_assert_int_eq(NOW + HOUR, md_renew_next_look(NOW, 3 * HOUR, NOW + HOUR));
    ck_assert_int_eq(NOW + 3 * HOUR, md_renew_next_look(NOW, 3 * HOUR, NOW + 5 * HOUR));
    ck_assert_int_eq(NOW + 3 * HOUR, md_renew_next_look(NOW, 3 * HOUR, 0));
    ck_assert_int_eq(NOW + 3 * HOUR, md_renew_next_look(NOW, 3 * HOUR, NOW - HOUR));
}
END_TEST

/* ARI (RFC 9773): a random time in the suggested window, now when that is past; the window only
 * counts when it is earlier than the renew window */
static const struct {
    apr_time_t start, end;
    double r;
    apr_time_t window_at;
    apr_time_t expect;
    md_renew_reason_t reason; /* with MD_RENEW_NOT_DUE before */
} ari_cases[] = {
    { NOW - DAY, NOW - HOUR, 0.5, NOW + 30 * DAY, NOW, MD_RENEW_ARI }, /* past: now */
    { NOW - DAY, NOW + DAY, 0.75, NOW + 30 * DAY, NOW + DAY / 2, MD_RENEW_NOT_DUE },
    { NOW - DAY, NOW + DAY, 0.25, NOW + 30 * DAY, NOW, MD_RENEW_ARI }, /* picked in past */
    { NOW + DAY, NOW + 3 * DAY, 0.0, NOW + 30 * DAY, NOW + DAY, MD_RENEW_NOT_DUE },
    { NOW + DAY, NOW + 3 * DAY, 0.5, NOW + 30 * DAY, NOW + 2 * DAY, MD_RENEW_NOT_DUE },
    { NOW + 40 * DAY, NOW + 42 * DAY, 0.5, NOW + 30 * DAY, NOW + 30 * DAY, MD_RENEW_NOT_DUE },
    { NOW + DAY, NOW + DAY, 0.5, NOW + 30 * DAY, NOW + 30 * DAY, MD_RENEW_NOT_DUE }, /* empty */
    { NOW + DAY, NOW, 0.5, NOW + 30 * DAY, NOW + 30 * DAY, MD_RENEW_NOT_DUE },       /* inverted */
};

START_TEST(ari_table)
{
    md_renew_reason_t reason = MD_RENEW_NOT_DUE;
    apr_time_t ari_at =
        md_renew_ari_pick(ari_cases[_i].start, ari_cases[_i].end, ari_cases[_i].r, NOW);
    apr_time_t at = md_renew_with_ari(&reason, ari_cases[_i].window_at, ari_at, NOW);

    ck_assert_int_eq(ari_cases[_i].expect, at);
    ck_assert_int_eq(ari_cases[_i].reason, reason);
}
END_TEST

START_TEST(ari_retry_after_bounded)
{
    ck_assert_int_eq(NOW + MD_ARI_RETRY_DEFAULT, md_renew_ari_next(0, NOW));
    ck_assert_int_eq(NOW + 2 * HOUR, md_renew_ari_next(NOW + 2 * HOUR, NOW));
    ck_assert_int_eq(NOW + MD_ARI_RETRY_MIN, md_renew_ari_next(NOW + 1, NOW));
    ck_assert_int_eq(NOW + MD_ARI_RETRY_MIN, md_renew_ari_next(NOW - DAY, NOW));
    ck_assert_int_eq(NOW + MD_ARI_RETRY_MAX, md_renew_ari_next(NOW + 30 * DAY, NOW));
}
END_TEST

/* CA failover with 3 CAs and MDRetryFailover 3 */
static const struct {
    int errors, current, used, rate_limited;
    int expect, expect_errors;
} failover_cases[] = {
    { 0, 0, 0, 0, 0, 1 },                       /* first failure at the first CA: stay */
    { 1, 0, 0, 0, 0, 2 }, { 2, 0, 0, 0, 1, 0 }, /* third in a row: the next CA */
    { 2, 2, 2, 0, 0, 0 },                       /* the last CA wraps around to the first */
    { 0, 0, 1, 0, 1, 1 }, /* the first could not be reached, the second failed: count there */
    { 2, 0, 1, 0, 1, 1 }, { 0, 0, -1, 0, 0, 1 }, /* none could be reached: stay, counting */
    { 0, 0, 0, 1, 1, 0 },                        /* rate limited: the next CA at once */
    { 1, 1, 2, 1, 0, 0 },
};

START_TEST(failover_table)
{
    int errors = failover_cases[_i].errors;
    int next = md_renew_failover(&errors, failover_cases[_i].current, failover_cases[_i].used, 3, 3,
                                 failover_cases[_i].rate_limited);

    ck_assert_int_eq(failover_cases[_i].expect, next);
    ck_assert_int_eq(failover_cases[_i].expect_errors, errors);
}
END_TEST

START_TEST(failover_one_ca)
{
    int errors = 12;

    ck_assert_int_eq(0, md_renew_failover(&errors, 0, 0, 1, 13, 1));
    ck_assert_int_eq(13, errors);
}
END_TEST

START_TEST(retry_delay_grows_and_caps)
{
    apr_interval_time_t base = apr_time_from_sec(5), max = apr_time_from_sec(3600);

    /* jitter 0.5 is the unscaled value */
    ck_assert_int_eq(base, md_renew_retry_delay(1, base, max, 0.5));
    ck_assert_int_eq(2 * base, md_renew_retry_delay(2, base, max, 0.5));
    ck_assert_int_eq(8 * base, md_renew_retry_delay(4, base, max, 0.5));
    ck_assert_int_eq(max, md_renew_retry_delay(20, base, max, 0.5));
    ck_assert_int_eq(max, md_renew_retry_delay(1000, base, max, 0.99));
    /* jitter spreads by +-25 % */
    ck_assert_int_eq(base * 3 / 4, md_renew_retry_delay(1, base, max, 0.0));
    ck_assert_int_lt(md_renew_retry_delay(1, base, max, 0.99), base * 5 / 4 + 1);
}
END_TEST

START_TEST(retry_honours_retry_after)
{
    apr_interval_time_t base = apr_time_from_sec(5), max = apr_time_from_sec(3600);

    ck_assert_int_eq(NOW + base, md_renew_next_attempt(1, base, max, 0.5, 0, NOW));
    ck_assert_int_eq(NOW + 600 * APR_USEC_PER_SEC,
                     md_renew_next_attempt(1, base, max, 0.5, NOW + 600 * APR_USEC_PER_SEC, NOW));
    /* a Retry-After in the past does not shorten the back-off */
    ck_assert_int_eq(NOW + base, md_renew_next_attempt(1, base, max, 0.5, NOW - DAY, NOW));
}
END_TEST

static const struct {
    apr_status_t status;
    const char *problem;
    md_retry_class_t cls;
} class_cases[] = {
    { APR_EGENERAL, NULL, MD_RETRY_TRANSIENT },
    { APR_EAGAIN, "urn:ietf:params:acme:error:connection", MD_RETRY_TRANSIENT },
    { APR_EGENERAL, "urn:ietf:params:acme:error:serverInternal", MD_RETRY_TRANSIENT },
    { APR_EAGAIN, "urn:ietf:params:acme:error:rateLimited", MD_RETRY_RATE_LIMIT },
    { APR_EINVAL, "urn:ietf:params:acme:error:badCSR", MD_RETRY_CONFIG },
    { APR_EINVAL, "urn:ietf:params:acme:error:rejectedIdentifier", MD_RETRY_CONFIG },
    { APR_EINVAL, "urn:ietf:params:acme:error:userActionRequired", MD_RETRY_CONFIG },
    { APR_EINVAL, "urn:ietf:params:acme:error:caa", MD_RETRY_CONFIG },
    { APR_INCOMPLETE, NULL, MD_RETRY_CONFIG },
    { APR_EINVAL, "urn:ietf:params:acme:error:badCSRx", MD_RETRY_TRANSIENT },
    { APR_EINVAL, "urn:other:badCSR", MD_RETRY_TRANSIENT },
};

START_TEST(retry_class_table)
{
    ck_assert_int_eq(class_cases[_i].cls,
                     md_renew_retry_class(class_cases[_i].status, class_cases[_i].problem));
}
END_TEST

START_TEST(retry_delay_by_class)
{
    apr_interval_time_t base = apr_time_from_sec(5), max = apr_time_from_sec(3600);
    apr_time_t later = NOW + 900 * APR_USEC_PER_SEC;

    /* transient: the doubling back-off */
    ck_assert_int_eq(NOW + 4 * base,
                     md_renew_next_attempt_for(MD_RETRY_TRANSIENT, 3, base, max, 0.5, 0, NOW));
    /* rate limit: exactly until Retry-After, even beyond the cap */
    ck_assert_int_eq(NOW + 2 * DAY, md_renew_next_attempt_for(MD_RETRY_RATE_LIMIT, 1, base, max,
                                                              0.5, NOW + 2 * DAY, NOW));
    ck_assert_int_eq(later,
                     md_renew_next_attempt_for(MD_RETRY_RATE_LIMIT, 9, base, max, 0.5, later, NOW));
    /* rate limit without Retry-After: as transient */
    ck_assert_int_eq(NOW + base,
                     md_renew_next_attempt_for(MD_RETRY_RATE_LIMIT, 1, base, max, 0.5, 0, NOW));
    /* configuration error: a day, whatever the base */
    ck_assert_int_eq(NOW + MD_RETRY_CONFIG_DELAY,
                     md_renew_next_attempt_for(MD_RETRY_CONFIG, 1, base, max, 0.5, 0, NOW));
    ck_assert_int_eq(NOW + MD_RETRY_CONFIG_DELAY,
                     md_renew_next_attempt_for(MD_RETRY_CONFIG, 1, 1, 2, 0.0, later, NOW));
    ck_assert_ptr_nonnull(md_renew_config_hint("urn:ietf:params:acme:error:caa"));
    ck_assert_ptr_null(md_renew_config_hint("urn:ietf:params:acme:error:connection"));
    ck_assert_str_eq("rate-limit", md_renew_retry_class_name(MD_RETRY_RATE_LIMIT));
}
END_TEST

Suite *suite_renew(void)
{
    Suite *s = suite_create("renew");
    TCase *tc = unit_tcase("decisions");

    tcase_add_loop_test(tc, renew_due_table, 0, sizeof(due_cases) / sizeof(due_cases[0]));
    tcase_add_loop_test(tc, renew_jitter_table, 0, sizeof(jitter_cases) / sizeof(jitter_cases[0]));
    tcase_add_test(tc, renew_jitter_spreads);
    tcase_add_test(tc, renew_due_spread);
    tcase_add_test(tc, retry_delay_grows_and_caps);
    tcase_add_test(tc, retry_honours_retry_after);
    tcase_add_loop_test(tc, retry_class_table, 0, sizeof(class_cases) / sizeof(class_cases[0]));
    tcase_add_test(tc, retry_delay_by_class);
    tcase_add_loop_test(tc, renew_short_lifetimes, 0, sizeof(short_cases) / sizeof(short_cases[0]));
    tcase_add_loop_test(tc, check_interval_table, 0,
                        sizeof(interval_cases) / sizeof(interval_cases[0]));
    tcase_add_test(tc, next_look);
    tcase_add_loop_test(tc, ari_table, 0, sizeof(ari_cases) / sizeof(ari_cases[0]));
    tcase_add_test(tc, ari_retry_after_bounded);
    tcase_add_loop_test(tc, failover_table, 0, sizeof(failover_cases) / sizeof(failover_cases[0]));
    tcase_add_test(tc, failover_one_ca);
    suite_add_tcase(s, tc);
    return s;
}
