/* test_admin: what the operator's commands decide without a network: names, contacts and URLs
 * (md_reg_admin.c), revocation reasons (md_acme_revoke.c), the inner JWS of a key change
 * (md_acme_keychange.c), and the read-only store (md_store_fs.c) they look through. */
#include <string.h>

#include <apr_strings.h>

#include "md_util.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_store_fs.h"
#include "md_reg_admin.h"
#include "md_request.h"
#include "md_acme_revoke.h"
#include "md_acme_keychange.h"
#include "unit.h"

static const struct {
    const char *args;    /* space separated */
    const char *domains; /* expected, NULL: refused */
} domain_cases[] = {
    { "www.example.org example.org", "www.example.org example.org" },
    { "A.Example.ORG a.example.org b.example.org A.example.org", "a.example.org b.example.org" },
    { "test-x.com test-zzz.com test-aaa.com", "test-x.com test-zzz.com test-aaa.com" },
    { "*.wildcard.com", "*.wildcard.com" },
    { "xn--kller-jua.punycode.de", "xn--kller-jua.punycode.de" },
    { "192.0.2.7 ok.example.org", "192.0.2.7 ok.example.org" },
    { "tld", NULL },
    { "ok.example.org invalid.*.wildcard.com", NULL },
    { "k\xc3\xb6ller.idn.com", NULL },
    { "-bad.example.org", NULL },
    { "", NULL },
};

START_TEST(admin_domains_table)
{
    apr_array_header_t *args = unit_words(domain_cases[_i].args), *domains = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = md_reg_admin_domains(&domains, (const char *const *)args->elts, args->nelts, &err,
                              unit_pool);
    if (!domain_cases[_i].domains) {
        ck_assert_int_eq(APR_EINVAL, rv);
        ck_assert_ptr_nonnull(err);
        return;
    }
    ck_assert_int_eq(APR_SUCCESS, rv);
    ck_assert_str_eq(domain_cases[_i].domains, md_array_str_join(domains, " ", unit_pool));
}
END_TEST

static const struct {
    const char *arg;
    const char *contact; /* NULL: refused */
} contact_cases[] = {
    { "admin@example.org", "mailto:admin@example.org" },
    { "first.last+tag@mail.example.org", "mailto:first.last+tag@mail.example.org" },
    { "mailto:test@greenbytes.de", "mailto:test@greenbytes.de" },
    { "wrong://schema@test.com", "wrong://schema@test.com" },
    { "no.at.char", NULL },
    { "with blank@test.com", NULL },
    { "missing.host@", NULL },
    { "@missing.localpart.de", NULL },
    { "double..dot@test.com", NULL },
    { ".lead@test.com", NULL },
    { "double@at@test.com", NULL },
    { "user@tld", NULL },
    { "", NULL },
};

START_TEST(admin_contact_table)
{
    const char *contact = NULL, *err = NULL;
    apr_status_t rv = md_reg_admin_contact(&contact, contact_cases[_i].arg, &err, unit_pool);

    if (!contact_cases[_i].contact) {
        ck_assert_int_eq(APR_EINVAL, rv);
        ck_assert_ptr_nonnull(err);
        return;
    }
    ck_assert_int_eq(APR_SUCCESS, rv);
    ck_assert_str_eq(contact_cases[_i].contact, contact);
}
END_TEST

static const struct {
    const char *url;
    int ok;
} url_cases[] = {
    { "https://acme-v02.api.letsencrypt.org/directory", 1 },
    { "http://localhost.com:9999", 1 },
    { "https://127.0.0.1:14000/dir", 1 },
    { "https://[::1]:8443/dir", 1 },
    { "https://user@ca.example.org:443/dir", 1 },
    { "data:text/plain,Do%20what%20thou%20wilt", 1 },
    { "no.schema/path", 0 },
    { "http://white space/path", 0 },
    { "http://bad.port:-1/path", 0 },
    { "http://bad.port:70000/path", 0 },
    { "http://:80/path", 0 },
    { "https://", 0 },
    { "accepted", 0 },
    { "", 0 },
};

START_TEST(admin_url_table)
{
    const char *err = NULL;
    apr_status_t rv = md_reg_admin_url(url_cases[_i].url, &err, unit_pool);

    ck_assert_msg((APR_SUCCESS == rv) == url_cases[_i].ok, "%s", url_cases[_i].url);
    if (!url_cases[_i].ok) {
        ck_assert_ptr_nonnull(err);
    }
}
END_TEST

static const struct {
    const char *name;
    int code; /* -1: refused */
} reason_cases[] = {
    { "unspecified", 0 },
    { "keyCompromise", 1 },
    { "key-compromise", 1 },
    { "KEY_COMPROMISE", 1 },
    { "affiliationChanged", 3 },
    { "superseded", 4 },
    { "cessationOfOperation", 5 },
    { "4", 4 },
    { "0", 0 },
    { "2", -1 },
    { "cACompromise", -1 },
    { "certificateHold", -1 },
    { "superseded2", -1 },
    { "", -1 },
};

START_TEST(revoke_reason_table)
{
    int code = -1;
    apr_status_t rv = md_acme_revoke_reason_parse(&code, reason_cases[_i].name);

    if (reason_cases[_i].code < 0) {
        ck_assert_int_eq(APR_EINVAL, rv);
        return;
    }
    ck_assert_int_eq(APR_SUCCESS, rv);
    ck_assert_int_eq(reason_cases[_i].code, code);
    ck_assert_int_eq(APR_SUCCESS,
                     md_acme_revoke_reason_parse(&code, md_acme_revoke_reason_name(code)));
    ck_assert_int_eq(reason_cases[_i].code, code);
}
END_TEST

static md_json_t *decode_json(const char *b64)
{
    unsigned char *dec = NULL;
    md_json_t *json = NULL;
    apr_ssize_t n = md_util_base64url_decode(&dec, b64, unit_pool);

    ck_assert(n > 0);
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_readbuf(&json, unit_pool, (const char *)dec, (apr_size_t)n, NULL));
    return json;
}

static const char *compact(const md_json_t *json)
{
    return md_json_writep(json, unit_pool, MD_JSON_FMT_COMPACT);
}

/* RFC 8555 7.3.5: the inner JWS is signed by the new key, names it as "jwk", has no nonce, the
 * keyChange URL, and a payload with the account URL and the old key */
START_TEST(keychange_inner_jws)
{
    md_pkey_t *old_key = unit_key("P-256"), *new_key = unit_key("rsa");
    md_json_t *jws = NULL, *prot, *payload, *jwk = NULL;
    const char *url = "https://ca.test/key-change", *acct = "https://ca.test/acct/7";

    ck_assert_int_eq(APR_SUCCESS,
                     md_acme_keychange_inner(&jws, url, acct, old_key, new_key, unit_pool));
    prot = decode_json(md_json_gets(jws, MD_KEY_PROTECTED));
    ck_assert_str_eq("RS256", md_json_gets(prot, MD_KEY_ALG));
    ck_assert_str_eq(url, md_json_gets(prot, MD_KEY_URL));
    ck_assert(!md_json_has_key(prot, MD_KEY_NONCE));
    ck_assert(!md_json_has_key(prot, MD_KEY_KID));
    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_jwk(&jwk, new_key, unit_pool));
    ck_assert_str_eq(compact(jwk), compact(md_json_getj(prot, MD_KEY_JWK)));
    payload = decode_json(md_json_gets(jws, MD_KEY_PAYLOAD));
    ck_assert_str_eq(acct, md_json_gets(payload, MD_KEY_ACCOUNT));
    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_jwk(&jwk, old_key, unit_pool));
    ck_assert_str_eq(compact(jwk), compact(md_json_getj(payload, MD_KEY_OLD_KEY)));
    ck_assert_ptr_nonnull(md_json_gets(jws, MD_KEY_SIGNATURE));
}
END_TEST

/* A read-only store reads what is there, creates and changes nothing, and a missing one is
 * APR_ENOENT without anything made. */
START_TEST(store_readonly)
{
    const char *dir = unit_tmpdir(), *missing = apr_pstrcat(unit_pool, dir, "/none", NULL);
    md_store_t *store = NULL, *ro = NULL;
    md_json_t *json = md_json_create(unit_pool), *back = NULL;

    ck_assert_int_eq(APR_ENOENT, md_store_fs_open_readonly(&ro, missing, unit_pool));
    ck_assert_ptr_null(ro);
    ck_assert_int_ne(APR_SUCCESS, md_util_is_dir(missing, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    md_json_sets("x.example.org", json, MD_KEY_NAME);
    ck_assert_int_eq(APR_SUCCESS, md_store_save_json(store, MD_SG_DOMAINS, "x.example.org",
                                                     MD_FN_MD, json, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open_readonly(&ro, dir, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_load_json(ro, MD_SG_DOMAINS, "x.example.org", MD_FN_MD,
                                                     &back, unit_pool));
    ck_assert_str_eq("x.example.org", md_json_gets(back, MD_KEY_NAME));
    ck_assert_int_eq(APR_EACCES, md_store_save_json(ro, MD_SG_DOMAINS, "y.example.org", MD_FN_MD,
                                                    json, unit_pool));
    ck_assert_int_eq(APR_EACCES,
                     md_store_remove(ro, MD_SG_DOMAINS, "x.example.org", MD_FN_MD, unit_pool));
    ck_assert_int_eq(APR_EACCES, md_store_purge(ro, MD_SG_DOMAINS, "x.example.org", unit_pool));
    ck_assert_int_eq(APR_EACCES, md_store_activate(ro, "x.example.org", unit_pool));
    ck_assert_int_eq(APR_EACCES, md_store_set_aside(NULL, ro, MD_SG_DOMAINS, "x.example.org",
                                                    MD_FN_MD, unit_pool));
    ck_assert_int_ne(APR_SUCCESS,
                     md_util_is_dir(apr_pstrcat(unit_pool, dir, "/domains/y.example.org", NULL),
                                    unit_pool));
}
END_TEST

typedef struct {
    int calls;
    int take;
} scan_t;

static int take_cb(void *baton, const char *name, apr_time_t requested)
{
    scan_t *s = baton;

    ck_assert_str_eq("r.example.org", name);
    ck_assert(requested > 0);
    s->calls++;
    return s->take;
}

/* a renewal request: pending until taken (then gone) or withdrawn; never goes live */
START_TEST(renew_request)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = NULL;
    scan_t s = { 0, 0 };

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    ck_assert(!md_request_is_pending(store, "r.example.org", unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_request_withdraw(store, "r.example.org", unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_request_put(store, "r.example.org", apr_time_now(), unit_pool));
    ck_assert(md_request_is_pending(store, "r.example.org", unit_pool));
    md_request_scan(take_cb, &s, store, unit_pool);
    ck_assert_int_eq(1, s.calls);
    ck_assert(md_request_is_pending(store, "r.example.org", unit_pool));
    s.take = 1;
    md_request_scan(take_cb, &s, store, unit_pool);
    ck_assert_int_eq(2, s.calls);
    ck_assert(!md_request_is_pending(store, "r.example.org", unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_request_withdraw(store, "r.example.org", unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_request_put(store, "r.example.org", apr_time_now(), unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_request_withdraw(store, "r.example.org", unit_pool));
    ck_assert(!md_request_is_pending(store, "r.example.org", unit_pool));
}
END_TEST

Suite *suite_admin(void)
{
    Suite *s = suite_create("admin");
    TCase *tc = unit_tcase("admin");

    tcase_add_loop_test(tc, admin_domains_table, 0,
                        (int)(sizeof(domain_cases) / sizeof(domain_cases[0])));
    tcase_add_loop_test(tc, admin_contact_table, 0,
                        (int)(sizeof(contact_cases) / sizeof(contact_cases[0])));
    tcase_add_loop_test(tc, admin_url_table, 0, (int)(sizeof(url_cases) / sizeof(url_cases[0])));
    tcase_add_loop_test(tc, revoke_reason_table, 0,
                        (int)(sizeof(reason_cases) / sizeof(reason_cases[0])));
    tcase_add_test(tc, keychange_inner_jws);
    tcase_add_test(tc, store_readonly);
    tcase_add_test(tc, renew_request);
    suite_add_tcase(s, tc);
    return s;
}
