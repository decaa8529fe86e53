/* test_status: the status views of a synced registry (md_status.c), over a file store. */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_crypt.h"
#include "md_reg.h"
#include "md_status.h"
#include "md_store.h"
#include "md_store_fs.h"
#include "unit.h"

#define MD_A "a.example.org"
#define MD_B "b.example.org"

static md_t *make_md(const char *name, md_pkey_type_t type, unsigned int bits, const char *curve)
{
    md_t *md = md_create_empty(unit_pool);
    md_pkey_spec_t *spec = apr_pcalloc(unit_pool, sizeof(*spec));

    md->name = name;
    APR_ARRAY_PUSH(md->domains, const char *) = name;
    spec->type = type;
    spec->bits = bits;
    spec->curve = curve;
    APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec;
    md_reg_stored_defaults(md, unit_pool); /* the renewal windows */
    return md;
}

typedef struct {
    int calls;
    const char *order;
} counted_t;

static void counters(md_status_counters_t *pc, void *baton, const char *name)
{
    counted_t *c = baton;

    c->calls++;
    c->order = c->order ? apr_pstrcat(unit_pool, c->order, " ", name, NULL) : name;
    pc->renewals = strlen(name);
    pc->failures = name[0] == 'a' ? 3 : 4;
    pc->challenges = 5;
}

/* The text between the HELP line of 'metric' and the next HELP line. */
static const char *samples_of(const char *text, const char *metric)
{
    const char *s = strstr(text, apr_pstrcat(unit_pool, "# HELP ", metric, " ", NULL)), *e;

    ck_assert_ptr_nonnull(s);
    e = strstr(s + 1, "# HELP ");
    return e ? apr_pstrndup(unit_pool, s, (apr_size_t)(e - s)) : s;
}

/* Asserts the samples of a per-MD 'metric': 'a' for MD a, 'b' for MD b. */
static void per_md(const char *text, const char *metric, long a, long b)
{
    const char *s = samples_of(text, metric);

    ck_assert_msg(strstr(s, apr_psprintf(unit_pool, "%s{md=\"" MD_A "\"} %ld\n", metric, a))
                      && strstr(s, apr_psprintf(unit_pool, "%s{md=\"" MD_B "\"} %ld\n", metric, b)),
                  "%s", s);
}

START_TEST(test_metrics_every_md_once)
{
    md_store_t *store = NULL;
    md_reg_t *reg = NULL;
    apr_array_header_t *mds = apr_array_make(unit_pool, 2, sizeof(md_t *));
    apr_array_header_t *chain = apr_array_make(unit_pool, 1, sizeof(md_cert_t *));
    md_t *a = make_md(MD_A, MD_PKEY_TYPE_RSA, 2048, NULL);
    md_pkey_t *key = unit_key("rsa");
    md_cert_t *cert = NULL;
    counted_t counted = { 0, NULL };
    const char *text, *s;
    char *want;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    /* MD a has a live certificate for its name, MD b none */
    ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&cert, "test", a->domains, key,
                                                    apr_time_from_sec(30 * 86400), unit_pool));
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_DOMAINS, MD_A, MD_FN_PRIVKEY,
                                                MD_SV_PKEY, key, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_DOMAINS, MD_A, MD_FN_PUBCERT,
                                                MD_SV_CHAIN, chain, unit_pool));
    APR_ARRAY_PUSH(mds, md_t *) = a;
    APR_ARRAY_PUSH(mds, md_t *) = make_md(MD_B, MD_PKEY_TYPE_EC, 0, "secp256r1");
    ck_assert_int_eq(APR_SUCCESS, md_reg_create(&reg, store, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_reg_sync(reg, mds, apr_time_now(), unit_pool, unit_pool));

    text = md_status_metrics_text(reg, md_status_live_make(reg, unit_pool), counters, &counted,
                                  unit_pool);
    /* the counters are asked once per MD, in the order of the MDs */
    ck_assert_int_eq(2, counted.calls);
    ck_assert_str_eq(MD_A " " MD_B, counted.order);

    s = samples_of(text, "mod_md_cert_expiry_timestamp_seconds");
    want = apr_psprintf(unit_pool, "{md=\"" MD_A "\",key=\"rsa\"} %" APR_TIME_T_FMT "\n",
                        apr_time_sec(md_cert_get_not_after(cert)));
    ck_assert_msg(strstr(s, want) != NULL, "%s", s);
    ck_assert_ptr_null(strstr(s, MD_B));
    s = samples_of(text, "mod_md_cert_valid_from_timestamp_seconds");
    want = apr_psprintf(unit_pool, "{md=\"" MD_A "\",key=\"rsa\"} %" APR_TIME_T_FMT "\n",
                        apr_time_sec(md_cert_get_not_before(cert)));
    ck_assert_msg(strstr(s, want) != NULL, "%s", s);
    per_md(text, "mod_md_state", 2, 1);
    per_md(text, "mod_md_renewal_errors", 0, 0);
    per_md(text, "mod_md_renewal_staged", 0, 0);
    per_md(text, "mod_md_renewals_total", 13, 13);
    per_md(text, "mod_md_renewal_failures_total", 3, 4);
    per_md(text, "mod_md_challenge_answers_total", 5, 5);
    /* without counters they are 0 */
    text = md_status_metrics_text(reg, md_status_live_make(reg, unit_pool), NULL, NULL, unit_pool);
    per_md(text, "mod_md_renewals_total", 0, 0);
}
END_TEST

Suite *suite_status(void)
{
    Suite *s = suite_create("status");
    TCase *tc = unit_tcase("metrics");

    tcase_add_test(tc, test_metrics_every_md_once);
    suite_add_tcase(s, tc);
    return s;
}
