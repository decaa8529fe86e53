/* test_hot: loading and checking sets served without a restart (md_hot), MDActivationDelay's
 * time, and the OCSP registry taking renewed certificates while it runs (prime, retire). */
#include <string.h>

#include <openssl/x509v3.h>

#include <apr_strings.h>

#include "md.h"
#include "md_hot.h"
#include "md_ocsp.h"
#include "md_store_fs.h"
#include "md_time.h"
#include "unit.h"

#define DAY apr_time_from_sec(MD_SECS_PER_DAY)

static md_pkey_spec_t spec_p256 = { MD_PKEY_TYPE_EC, 0, "P-256" };
static md_pkey_spec_t spec_p384 = { MD_PKEY_TYPE_EC, 0, "P-384" };

static md_t *make_md(const char *names, int two_specs)
{
    md_t *md = md_create_empty(unit_pool);

    md->domains = unit_words(names);
    md->name = APR_ARRAY_IDX(md->domains, 0, const char *);
    md->pks = apr_array_make(unit_pool, 2, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = &spec_p256;
    if (two_specs) {
        APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = &spec_p384;
    }
    return md;
}

static md_store_t *open_store(void)
{
    md_store_t *store = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    return store;
}

/* A self-signed certificate for 'names' with 'cert_key', stored with 'key' as the set of one key
 * spec of 'md' in 'group'. */
static md_cert_t *store_pair(md_store_t *store, md_store_group_t group, const md_t *md,
                             const md_pkey_spec_t *spec, const char *names, md_pkey_t *cert_key,
                             md_pkey_t *key)
{
    apr_array_header_t *chain = apr_array_make(unit_pool, 1, sizeof(md_cert_t *));
    md_cert_t *cert = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&cert, "test", unit_words(names), cert_key,
                                                    30 * DAY, unit_pool));
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save(store, group, md->name, md_chain_filename(spec, unit_pool),
                                   MD_SV_CHAIN, chain, unit_pool));
    if (key) {
        ck_assert_int_eq(APR_SUCCESS,
                         md_store_save(store, group, md->name, md_pkey_filename(spec, unit_pool),
                                       MD_SV_PKEY, key, unit_pool));
    }
    return cert;
}

START_TEST(hot_loads_staged_set)
{
    md_store_t *store = open_store();
    md_t *md = make_md("a.example.org www.example.org", 1);
    md_cert_t *c1, *c2;
    md_hot_set_t *set = NULL, *again = NULL;
    const char *err = NULL;

    c1 = store_pair(store, MD_SG_STAGING, md, &spec_p256, "a.example.org www.example.org",
                    unit_key("P-256"), unit_key("P-256"));
    c2 = store_pair(store, MD_SG_STAGING, md, &spec_p384, "a.example.org www.example.org",
                    unit_key("P-384"), unit_key("P-384"));
    ck_assert_int_eq(APR_SUCCESS, md_hot_set_load(&set, &err, store, MD_SG_STAGING, md,
                                                  apr_time_now(), unit_pool));
    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(2, set->pairs->nelts);
    ck_assert_str_eq(md_cert_get_serial(c1, unit_pool), set->serial);
    ck_assert(md_cert_get_not_after(c1) == set->valid_until);
    ck_assert_str_eq(md_cert_get_serial(c2, unit_pool),
                     md_cert_get_serial(APR_ARRAY_IDX(set->pairs, 1, md_hot_pair_t *)->leaf,
                                        unit_pool));
    /* the live group is another place: nothing there */
    ck_assert_int_eq(APR_ENOENT, md_hot_set_load(&again, &err, store, MD_SG_DOMAINS, md,
                                                 apr_time_now(), unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_hot_set_load(&again, &err, store, MD_SG_STAGING, md,
                                                  apr_time_now(), unit_pool));
    ck_assert(md_hot_set_same(set, again, unit_pool));
}
END_TEST

/* What makes a set unusable, and the reason given. */
static const struct {
    const char *cert_names; /* the certificate's names */
    int key_kind;           /* 0: its own key, 1: another key, 2: no key file */
    int second_spec;        /* 0: none configured, 1: configured but missing */
    int expired;            /* checked after the certificate's end */
    apr_status_t rv;
    const char *reason;
} bad_cases[] = {
    { "a.example.org b.example.org", 0, 0, 0, APR_SUCCESS, NULL },
    { "a.example.org b.example.org", 1, 0, 0, APR_EINVAL, "does not match its key" },
    { "a.example.org b.example.org", 2, 0, 0, APR_EINVAL, "key is missing or unreadable" },
    { "a.example.org", 0, 0, 0, APR_EINVAL, "does not cover all names" },
    { "a.example.org b.example.org", 0, 0, 1, APR_EINVAL, "expired" },
    { "a.example.org b.example.org", 0, 1, 0, APR_EINVAL, "there is no secp384r1 certificate" },
};

START_TEST(hot_refuses_unusable_sets)
{
    md_store_t *store = open_store();
    md_t *md = make_md("a.example.org b.example.org", bad_cases[_i].second_spec);
    md_pkey_t *key = unit_key("P-256");
    md_pkey_t *other = unit_key("P-384");
    md_hot_set_t *set = NULL;
    const char *err = NULL;
    md_cert_t *cert;
    apr_time_t now = apr_time_now();

    cert = store_pair(store, MD_SG_STAGING, md, &spec_p256, bad_cases[_i].cert_names, key,
                      bad_cases[_i].key_kind == 2   ? NULL
                      : bad_cases[_i].key_kind == 1 ? other
                                                    : key);
    if (bad_cases[_i].expired) {
        now = md_cert_get_not_after(cert) + 1;
    }
    ck_assert_int_eq(bad_cases[_i].rv,
                     md_hot_set_load(&set, &err, store, MD_SG_STAGING, md, now, unit_pool));
    if (bad_cases[_i].reason) {
        ck_assert_ptr_null(set);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, bad_cases[_i].reason), "'%s' not in '%s'", bad_cases[_i].reason,
                      err);
    }
}
END_TEST

START_TEST(hot_same_sets)
{
    md_store_t *store = open_store();
    md_t *md = make_md("c.example.org", 0);
    md_hot_set_t *a = NULL, *b = NULL;
    const char *err = NULL;

    store_pair(store, MD_SG_STAGING, md, &spec_p256, "c.example.org", unit_key("P-256"),
               unit_key("P-256"));
    ck_assert_int_eq(APR_SUCCESS, md_hot_set_load(&a, &err, store, MD_SG_STAGING, md,
                                                  apr_time_now(), unit_pool));
    store_pair(store, MD_SG_STAGING, md, &spec_p256, "c.example.org", unit_key("P-256"),
               unit_key("P-256"));
    ck_assert_int_eq(APR_SUCCESS, md_hot_set_load(&b, &err, store, MD_SG_STAGING, md,
                                                  apr_time_now(), unit_pool));
    ck_assert(!md_hot_set_same(a, b, unit_pool));
    ck_assert(md_hot_set_same(b, b, unit_pool));
    ck_assert(!md_hot_set_same(a, NULL, unit_pool));
}
END_TEST

START_TEST(hot_live_at)
{
    apr_time_t nb = apr_time_from_sec(1700000000);

    ck_assert(md_hot_live_at(nb, 0) == 0);
    ck_assert(md_hot_live_at(nb, -1) == 0);
    ck_assert(md_hot_live_at(nb, DAY) == nb + DAY);
}
END_TEST

/* ---- OCSP: renewed certificates primed while the registry runs ---------------------------- */

static X509 *make_x509(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 30L * MD_SECS_PER_DAY);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    if (issuer) {
        X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_info_access, "OCSP;URI:http://127.0.0.1:9/");
        ck_assert_ptr_nonnull(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ck_assert_int_ne(0, X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()));
    return x;
}

/* PEM of a leaf (signed by a test issuer, naming a responder) and its issuer. */
static const char *leaf_pem(long serial)
{
    EVP_PKEY *ikey = md_pkey_get_EVP_PKEY(unit_key("P-384"));
    EVP_PKEY *lkey = md_pkey_get_EVP_PKEY(unit_key("P-256"));
    X509 *issuer = make_x509("test issuer", ikey, NULL, NULL, 1);
    X509 *leaf = make_x509("leaf", lkey, issuer, ikey, serial);
    apr_array_header_t *chain = apr_array_make(unit_pool, 2, sizeof(md_cert_t *));
    const char *pem = NULL;
    apr_size_t len = 0;

    APR_ARRAY_PUSH(chain, md_cert_t *) = md_cert_wrap(leaf, unit_pool);
    APR_ARRAY_PUSH(chain, md_cert_t *) = md_cert_wrap(issuer, unit_pool);
    ck_assert_int_eq(APR_SUCCESS, md_chain_to_pem(&pem, &len, chain, unit_pool));
    return pem;
}

static int count_copied;

static void count_copy(const unsigned char *der, apr_size_t der_len, void *baton)
{
    (void)der;
    (void)der_len;
    (void)baton;
    ++count_copied;
}

START_TEST(hot_ocsp_prime_and_retire)
{
    md_store_t *store = open_store();
    md_timeslice_t *window = NULL;
    md_ocsp_reg_t *reg = NULL;
    apr_time_t now = apr_time_now();
    const char *old = leaf_pem(100);

    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&window, unit_pool, "33%", NULL));
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_reg_create(&reg, store, window, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_prime(reg, "old", 3, old, "m.org", unit_pool));
    ck_assert_int_eq(1, md_ocsp_take_due(reg, 10, now, unit_pool)->nelts);
    /* renewed: the old one retired, the new one primed and due at once */
    md_ocsp_retire(reg, "m.org", now);
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_prime(reg, "new", 3, leaf_pem(101), "m.org", unit_pool));
    ck_assert_int_eq(2, md_ocsp_count(reg));
    ck_assert_int_eq(1, md_ocsp_take_due(reg, 10, now, unit_pool)->nelts);
    ck_assert_int_eq(1, (int)md_json_array_size(md_ocsp_status_json(reg, now, unit_pool)));
    /* handshakes that started with the old certificate still get an answer (none yet) */
    count_copied = 0;
    ck_assert_int_eq(APR_SUCCESS,
                     md_ocsp_get_resp(reg, "old", 3, count_copy, NULL, now, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_ocsp_get_resp(reg, "new", 3, count_copy, NULL, now, unit_pool));
    ck_assert_int_eq(2, count_copied);
    ck_assert_int_eq(APR_ENOENT,
                     md_ocsp_get_resp(reg, "none", 4, count_copy, NULL, now, unit_pool));
    /* priming a retired certificate again brings it back */
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_prime(reg, "old", 3, old, "m.org", unit_pool));
    ck_assert_int_eq(2, (int)md_json_array_size(md_ocsp_status_json(reg, now, unit_pool)));
}
END_TEST

/* Retired items are freed MD_OCSP_RETIRED_KEEP after their retirement, unless a fetch uses
 * them: 100 renewals without a restart leave two items, not 101 (issue #15, leaks). */
START_TEST(hot_ocsp_retired_freed)
{
    md_store_t *store = open_store();
    md_timeslice_t *window = NULL;
    md_ocsp_reg_t *reg = NULL;
    apr_time_t now = apr_time_now(), later = now + MD_OCSP_RETIRED_KEEP;
    char ext[16];
    int i;

    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&window, unit_pool, "33%", NULL));
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_reg_create(&reg, store, window, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_prime(reg, "c0", 2, leaf_pem(200), "m.org", unit_pool));
    /* a fetch of c0 runs while it is retired: kept until it is done */
    ck_assert_int_eq(1, md_ocsp_take_due(reg, 10, now, unit_pool)->nelts);
    md_ocsp_retire(reg, "m.org", now);
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_prime(reg, "c1", 2, leaf_pem(201), "m.org", unit_pool));
    ck_assert_int_eq(1, md_ocsp_take_due(reg, 10, later, unit_pool)->nelts);
    ck_assert_int_eq(2, md_ocsp_count(reg));
    /* c1 is in flight now too; retired within the grace time: both stay, c0's answer too */
    md_ocsp_retire(reg, "m.org", later);
    ck_assert_int_eq(APR_SUCCESS, md_ocsp_prime(reg, "c2", 2, leaf_pem(202), "m.org", unit_pool));
    ck_assert_int_eq(3, md_ocsp_count(reg));
    count_copied = 0;
    ck_assert_int_eq(APR_SUCCESS,
                     md_ocsp_get_resp(reg, "c1", 2, count_copy, NULL, later, unit_pool));
    ck_assert_int_eq(1, count_copied);
    /* renewals without fetches: each retirement frees what was retired a grace time before */
    for (i = 3; i < 103; ++i) {
        later += MD_OCSP_RETIRED_KEEP;
        md_ocsp_retire(reg, "m.org", later);
        apr_snprintf(ext, sizeof(ext), "c%d", i);
        ck_assert_int_eq(APR_SUCCESS, md_ocsp_prime(reg, ext, strlen(ext), leaf_pem(200 + i),
                                                    "m.org", unit_pool));
    }
    /* c0 and c1 (in flight), the one retired last (grace time) and the current one */
    ck_assert_int_eq(4, md_ocsp_count(reg));
    ck_assert_int_eq(APR_ENOENT,
                     md_ocsp_get_resp(reg, "c50", 3, count_copy, NULL, later, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_ocsp_get_resp(reg, "c102", 4, count_copy, NULL, later, unit_pool));
}
END_TEST

Suite *suite_hot(void)
{
    Suite *s = suite_create("hot");
    TCase *tc = unit_tcase("hot");

    tcase_add_test(tc, hot_loads_staged_set);
    tcase_add_loop_test(tc, hot_refuses_unusable_sets, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, hot_same_sets);
    tcase_add_test(tc, hot_live_at);
    tcase_add_test(tc, hot_ocsp_prime_and_retire);
    tcase_add_test(tc, hot_ocsp_retired_freed);
    suite_add_tcase(s, tc);
    return s;
}
