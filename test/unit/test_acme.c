/* test_acme: the ACME layer's pure decisions (Retry-After, poll delays, problem types, challenge
 * choice, order resumption) and account/order files in a store (no network). */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "md_acme.h"
#include "md_acme_acct.h"
#include "md_acme_authz.h"
#include "md_acme_order.h"
#include "unit.h"

#define MSEC(n) ((apr_interval_time_t)(n)*1000)
#define SEC(n)  apr_time_from_sec(n)

static apr_array_header_t *strs(const char *const *s)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 5, sizeof(const char *));
    for (; s && *s; ++s) {
        APR_ARRAY_PUSH(a, const char *) = *s;
    }
    return a;
}

START_TEST(test_retry_after)
{
    apr_table_t *h = apr_table_make(unit_pool, 2);
    apr_time_t now = SEC(1000000);

    ck_assert(md_acme_retry_after(h, now) == 0);
    apr_table_set(h, "retry-after", "30");
    ck_assert(md_acme_retry_after(h, now) == now + SEC(30));
    apr_table_set(h, "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
    ck_assert(md_acme_retry_after(h, apr_time_from_sec(1445412480 - 60))
              == apr_time_from_sec(1445412480));
    /* a hostile CA cannot postpone renewals for longer than 366 days, in either form */
    apr_table_set(h, "Retry-After", "99999999999");
    ck_assert(md_acme_retry_after(h, now) == now + SEC(366 * 24 * 3600));
    apr_table_set(h, "Retry-After", "Fri, 01 Jan 2100 00:00:00 GMT");
    ck_assert(md_acme_retry_after(h, now) == now + SEC(366 * 24 * 3600));
    apr_table_set(h, "Retry-After", "soon");
    ck_assert(md_acme_retry_after(h, now) == 0);
    apr_table_set(h, "Retry-After", "12abc");
    ck_assert(md_acme_retry_after(h, now) == 0);
}
END_TEST

static const struct {
    apr_interval_time_t last;
    apr_interval_time_t retry_in; /* -1: no Retry-After */
    apr_interval_time_t expect;
} delay_cases[] = {
    { 0, -1, MSEC(MD_ACME_POLL_FIRST_MS) },
    { MSEC(100), -1, MSEC(200) },
    { MSEC(1600), -1, SEC(2) },
    { SEC(2), -1, SEC(2) },
    { 0, SEC(5), SEC(5) },
    { 0, 0, SEC(1) },
    /* a long Retry-After is taken as it is: the caller ends the job and reschedules */
    { MSEC(100), SEC(3600), SEC(3600) },
    { MSEC(100), SEC(30), SEC(30) },
};

START_TEST(test_poll_delay)
{
    apr_time_t now = SEC(1000);
    apr_time_t ra = (delay_cases[_i].retry_in < 0) ? 0 : now + delay_cases[_i].retry_in;

    ck_assert_msg(md_acme_poll_delay(delay_cases[_i].last, ra, now) == delay_cases[_i].expect,
                  "case %d", _i);
}
END_TEST

static const struct {
    const char *type;
    int status;
    apr_status_t rv;
} problem_cases[] = {
    { "urn:ietf:params:acme:error:badNonce", 400, APR_EAGAIN },
    { "urn:ietf:params:acme:error:rateLimited", 429, APR_EAGAIN },
    { "urn:ietf:params:acme:error:accountDoesNotExist", 400, APR_ENOENT },
    { "urn:ietf:params:acme:error:unauthorized", 403, APR_EACCES },
    { "urn:ietf:params:acme:error:userActionRequired", 403, APR_INCOMPLETE },
    { "urn:ietf:params:acme:error:malformed", 400, APR_EINVAL },
    { "rateLimited", 429, APR_EAGAIN },
    { NULL, 503, APR_EAGAIN },
    { NULL, 404, APR_ENOENT },
    { NULL, 400, APR_EINVAL },
    { "urn:example:other", 500, APR_EAGAIN },
};

START_TEST(test_problem_status)
{
    ck_assert_int_eq(md_acme_problem_status(problem_cases[_i].type, problem_cases[_i].status),
                     problem_cases[_i].rv);
}
END_TEST

/* The first wanted type that is offered (and known) wins; the index is into 'offered'. */
START_TEST(test_authz_choose)
{
    static const char *offered1[] = { "dns-01", "http-01", "tls-alpn-01", NULL };
    static const char *offered2[] = { "dns-01", NULL };
    static const char *offered3[] = { "dns-01", "foo-01", NULL };
    static const char *wanted1[] = { "tls-alpn-01", "http-01", NULL };
    static const char *wanted2[] = { "dns-01", NULL };
    static const char *wanted3[] = { "http-01", "dns-01", NULL };
    static const char *wanted4[] = { "foo-01", "http-01", NULL };

    ck_assert_int_eq(md_acme_authz_choose(strs(offered1), strs(wanted1)), 2);
    ck_assert_int_eq(md_acme_authz_choose(strs(offered2), strs(wanted1)), -1);
    ck_assert_int_eq(md_acme_authz_choose(strs(offered1), strs(wanted2)), 0);
    ck_assert_int_eq(md_acme_authz_choose(strs(offered1), strs(wanted3)), 1);
    ck_assert_int_eq(md_acme_authz_choose(strs(offered2), strs(wanted3)), 0);
    ck_assert_int_eq(md_acme_authz_choose(strs(offered3), strs(wanted4)), -1);
    ck_assert_int_eq(md_acme_authz_choose(strs(offered1), strs(NULL)), -1);
}
END_TEST

static md_acme_order_t *sample_order(void)
{
    static const char *domains[] = { "a.example.org", "b.example.org", NULL };
    md_acme_order_t *order = apr_pcalloc(unit_pool, sizeof(*order));

    order->url = "https://ca.example/order/1";
    order->status = MD_ACME_ORDER_ST_PENDING;
    order->ca_url = "https://ca.example/dir";
    order->acct_url = "https://ca.example/acct/7";
    order->pkey_name = "rsa";
    order->domains = strs(domains);
    order->authz_urls = strs(NULL);
    APR_ARRAY_PUSH(order->authz_urls, const char *) = "https://ca.example/authz/1";
    order->finalize = "https://ca.example/order/1/finalize";
    order->triggered = strs(NULL);
    return order;
}

START_TEST(test_order_resumable)
{
    static const char *same[] = { "b.example.org", "A.example.org", NULL };
    static const char *other[] = { "a.example.org", NULL };
    md_acme_order_t *order = sample_order();
    const char *ca = "https://ca.example/dir", *acct = "https://ca.example/acct/7";

    ck_assert(md_acme_order_is_resumable(order, ca, acct, "rsa", NULL, strs(same)));
    ck_assert(!md_acme_order_is_resumable(order, ca, acct, "rsa", NULL, strs(other)));
    ck_assert(!md_acme_order_is_resumable(order, ca, acct, "secp256r1", NULL, strs(same)));
    ck_assert(!md_acme_order_is_resumable(order, ca, "https://ca.example/acct/8", "rsa", NULL,
                                          strs(same)));
    ck_assert(
        !md_acme_order_is_resumable(order, "https://other/dir", acct, "rsa", NULL, strs(same)));
    /* the profile must be the same: none and none, or the same name */
    ck_assert(!md_acme_order_is_resumable(order, ca, acct, "rsa", "shortlived", strs(same)));
    order->profile = "shortlived";
    ck_assert(md_acme_order_is_resumable(order, ca, acct, "rsa", "shortlived", strs(same)));
    ck_assert(!md_acme_order_is_resumable(order, ca, acct, "rsa", "tlsserver", strs(same)));
    ck_assert(!md_acme_order_is_resumable(order, ca, acct, "rsa", NULL, strs(same)));
    order->profile = NULL;
    order->status = MD_ACME_ORDER_ST_VALID;
    ck_assert(md_acme_order_is_resumable(order, ca, acct, "rsa", NULL, strs(same)));
    order->status = MD_ACME_ORDER_ST_INVALID;
    ck_assert(!md_acme_order_is_resumable(order, ca, acct, "rsa", NULL, strs(same)));
}
END_TEST

START_TEST(test_order_json)
{
    md_acme_order_t *order = sample_order(), *back = NULL;

    md_acme_order_add_triggered(order, "https://ca.example/chall/1");
    md_acme_order_add_triggered(order, "https://ca.example/chall/1");
    ck_assert_int_eq(order->triggered->nelts, 1);
    ck_assert_int_eq(APR_SUCCESS,
                     md_acme_order_from_json(&back, md_acme_order_to_json(order, unit_pool),
                                             unit_pool));
    ck_assert_str_eq(back->url, order->url);
    ck_assert_int_eq(back->status, MD_ACME_ORDER_ST_PENDING);
    ck_assert_str_eq(back->acct_url, order->acct_url);
    ck_assert_str_eq(back->pkey_name, "rsa");
    ck_assert(md_array_str_eq_set(back->domains, order->domains));
    ck_assert_int_eq(back->authz_urls->nelts, 1);
    ck_assert(md_acme_order_is_triggered(back, "https://ca.example/chall/1"));
    ck_assert(!md_acme_order_is_triggered(back, "https://ca.example/chall/2"));
    ck_assert_int_eq(md_acme_order_state_parse("processing"), MD_ACME_ORDER_ST_PROCESSING);
    ck_assert_int_eq(md_acme_order_state_parse("bogus"), MD_ACME_ORDER_ST_UNKNOWN);
}
END_TEST

/* One authorization per name ordered: a longer list from the CA is not taken (#15) */
START_TEST(test_order_authz_limit)
{
    static const char *two =
        "{\"status\": \"pending\", \"authorizations\": [\"https://ca/a1\", \"https://ca/a2\"]}";
    static const char *three = "{\"status\": \"pending\", \"authorizations\": "
                               "[\"https://ca/a1\", \"https://ca/a2\", \"https://ca/a3\"]}";
    md_acme_order_t *order = sample_order();
    md_json_t *json = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, three, strlen(three), NULL));
    md_acme_order_update_from(order, json, "test", unit_pool);
    ck_assert_int_eq(order->authz_urls->nelts, 1);
    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, two, strlen(two), NULL));
    md_acme_order_update_from(order, json, "test", unit_pool);
    ck_assert_int_eq(order->authz_urls->nelts, 2);
}
END_TEST

static void stage_account(md_store_t *store, const char *md_name, const char *url)
{
    md_acme_acct_t acct;

    memset(&acct, 0, sizeof(acct));
    acct.url = url;
    acct.ca_url = "https://ca.example:14000/dir";
    acct.status = "valid";
    acct.contacts = strs(NULL);
    APR_ARRAY_PUSH(acct.contacts, const char *) = "mailto:admin@example.org";
    ck_assert_int_eq(APR_SUCCESS, md_acme_acct_save(store, MD_SG_STAGING, md_name, &acct,
                                                    unit_key("P-256"), unit_pool));
}

START_TEST(test_acct_install)
{
    md_store_t *store = NULL;
    md_acme_acct_t *acct = NULL;
    md_pkey_t *pkey = NULL;
    md_t *md = md_create_empty(unit_pool);

    ck_assert_str_eq(md_acme_acct_id_make("https://ca.example:14000/dir", 3, unit_pool),
                     "ACME-ca.example-0003");
    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    md->name = "a.example.org";
    ck_assert_int_eq(APR_ENOENT, md_acme_drive_install_account(store, md, unit_pool));

    stage_account(store, "a.example.org", "https://ca.example/acct/1");
    ck_assert_int_eq(APR_SUCCESS, md_acme_drive_install_account(store, md, unit_pool));
    ck_assert_str_eq(md->ca_account, "ACME-ca.example-0000");
    ck_assert_int_eq(APR_ENOENT, md_acme_acct_load(&acct, NULL, store, MD_SG_STAGING,
                                                   "a.example.org", unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_acme_acct_load(&acct, &pkey, store, MD_SG_ACCOUNTS,
                                                    "ACME-ca.example-0000", unit_pool));
    ck_assert_str_eq(acct->url, "https://ca.example/acct/1");
    ck_assert_str_eq(acct->ca_url, "https://ca.example:14000/dir");
    ck_assert_str_eq(acct->id, "ACME-ca.example-0000");
    ck_assert_ptr_nonnull(pkey);

    /* the same account staged by another MD is not installed twice */
    md->name = "b.example.org";
    stage_account(store, "b.example.org", "https://ca.example/acct/1");
    ck_assert_int_eq(APR_SUCCESS, md_acme_drive_install_account(store, md, unit_pool));
    ck_assert_str_eq(md->ca_account, "ACME-ca.example-0000");

    /* another account gets the next id */
    md->name = "c.example.org";
    stage_account(store, "c.example.org", "https://ca.example/acct/2");
    ck_assert_int_eq(APR_SUCCESS, md_acme_drive_install_account(store, md, unit_pool));
    ck_assert_str_eq(md->ca_account, "ACME-ca.example-0001");
}
END_TEST

/* account.json as the stock module writes it (with the HMAC key) and as we write it (with its
 * digest): which MDs may use the account */
static const struct {
    const char *acct_eab;   /* the "eab" object of account.json, NULL for none */
    const char *kid, *hmac; /* the MD's binding, NULL for none */
    int fits;
} eab_cases[] = {
    { NULL, NULL, NULL, 1 },
    { NULL, "kid-1", "a2V5LTE", 0 },
    { "{\"kid\":\"kid-1\",\"hmac\":\"a2V5LTE\"}", NULL, NULL, 0 },
    { "{\"kid\":\"kid-1\",\"hmac\":\"a2V5LTE\"}", "kid-1", "a2V5LTE", 1 },
    { "{\"kid\":\"kid-1\",\"hmac\":\"a2V5LTE=\"}", "kid-1", "a2V5LTE", 1 },
    { "{\"kid\":\"kid-1\",\"hmac\":\"a2V5LTE\"}", "kid-1", "a2V5LTI", 0 },
    { "{\"kid\":\"kid-1\",\"hmac\":\"a2V5LTE\"}", "kid-2", "a2V5LTE", 0 },
    { "{\"kid\":\"kid-1\",\"hmac-sha256\":\"DIGEST\"}", "kid-1", "a2V5LTE", 1 },
    { "{\"kid\":\"kid-1\",\"hmac-sha256\":\"DIGEST\"}", "kid-1", "a2V5LTI", 0 },
};

START_TEST(test_acct_eab_fits)
{
    const char *digest = md_acme_eab_digest("a2V5LTE", unit_pool);
    const char *text = "{\"url\":\"https://ca/acct/1\",\"ca-url\":\"https://ca/dir\"}";
    md_json_t *json = NULL, *eab = NULL;
    md_acme_acct_t *acct = NULL;
    md_t *md = md_create_empty(unit_pool);

    ck_assert_ptr_nonnull(digest);
    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, text, strlen(text), NULL));
    if (eab_cases[_i].acct_eab) {
        text = eab_cases[_i].acct_eab;
        if (strstr(text, "DIGEST")) {
            text = apr_psprintf(unit_pool, "{\"kid\":\"kid-1\",\"hmac-sha256\":\"%s\"}", digest);
        }
        ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&eab, unit_pool, text, strlen(text), NULL));
        md_json_setj(eab, json, "eab");
    }
    ck_assert_int_eq(APR_SUCCESS, md_acme_acct_from_json(&acct, json, unit_pool));
    md->eab_kid = eab_cases[_i].kid;
    md->eab_hmac = eab_cases[_i].hmac;
    ck_assert_int_eq(eab_cases[_i].fits, md_acme_acct_fits_eab(acct, md, unit_pool));
    /* what we write back keeps the kid and the digest, never the key */
    text = md_json_writep(md_acme_acct_to_json(acct, unit_pool), unit_pool, MD_JSON_FMT_COMPACT);
    ck_assert_ptr_null(strstr(text, "a2V5LT"));
    if (eab_cases[_i].acct_eab) {
        ck_assert_ptr_nonnull(strstr(text, digest));
    }
}
END_TEST

Suite *suite_acme(void)
{
    Suite *s = suite_create("acme");
    TCase *tc = unit_tcase("acme");

    tcase_add_test(tc, test_retry_after);
    tcase_add_loop_test(tc, test_poll_delay, 0, sizeof(delay_cases) / sizeof(delay_cases[0]));
    tcase_add_loop_test(tc, test_problem_status, 0,
                        sizeof(problem_cases) / sizeof(problem_cases[0]));
    tcase_add_test(tc, test_authz_choose);
    tcase_add_test(tc, test_order_resumable);
    tcase_add_test(tc, test_order_json);
    tcase_add_test(tc, test_order_authz_limit);
    tcase_add_test(tc, test_acct_install);
    tcase_add_loop_test(tc, test_acct_eab_fits, 0, sizeof(eab_cases) / sizeof(eab_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}
