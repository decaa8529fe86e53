/* test_md: the md_t model, md.json round trips and store file names. */
#include <string.h>

#include <apr_strings.h>

#include "md_util.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_time.h"
#include "md_crypt.h"
#include "md.h"
#include "unit.h"

static md_pkey_spec_t *spec_make(md_pkey_type_t type, unsigned int bits, const char *curve)
{
    md_pkey_spec_t *spec = apr_pcalloc(unit_pool, sizeof(*spec));

    spec->type = type;
    spec->bits = bits;
    spec->curve = curve;
    return spec;
}

static md_t *full_md(void)
{
    md_t *md = md_create_empty(unit_pool);
    md_timeslice_t *ts = NULL;

    md->name = "example.org";
    APR_ARRAY_PUSH(md->domains, const char *) = "example.org";
    APR_ARRAY_PUSH(md->domains, const char *) = "www.example.org";
    APR_ARRAY_PUSH(md->contacts, const char *) = "mailto:admin@example.org";
    md->renew_mode = MD_RENEW_ALWAYS;
    md->require_https = MD_REQUIRE_PERMANENT;
    md->must_staple = 1;
    md->transitive = 0;
    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, "33%", NULL));
    md->renew_window = ts;
    ck_assert_int_eq(APR_SUCCESS, md_timeslice_parse(&ts, unit_pool, "10d", NULL));
    md->warn_window = ts;
    APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec_make(MD_PKEY_TYPE_EC, 0, "secp256r1");
    APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec_make(MD_PKEY_TYPE_RSA, 3072, NULL);
    md->ca_url = "https://acme.test/dir";
    md->ca_proto = MD_PROTO_ACME;
    md->ca_account = "ACME-acme.test-0000";
    md->ca_agreement = MD_TOS_ACCEPTED;
    APR_ARRAY_PUSH(md->ca_challenges, const char *) = "http-01";
    md->state = MD_S_COMPLETE;
    return md;
}

static void assert_md_eq(const md_t *a, const md_t *b)
{
    int i;

    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(md_array_str_join(a->domains, " ", unit_pool),
                     md_array_str_join(b->domains, " ", unit_pool));
    ck_assert_str_eq(md_array_str_join(a->contacts, " ", unit_pool),
                     md_array_str_join(b->contacts, " ", unit_pool));
    ck_assert_int_eq(a->renew_mode, b->renew_mode);
    ck_assert_int_eq(a->require_https, b->require_https);
    ck_assert_int_eq(a->must_staple, b->must_staple);
    ck_assert_int_eq(a->transitive, b->transitive);
    ck_assert_str_eq(md_timeslice_format(a->renew_window, unit_pool),
                     md_timeslice_format(b->renew_window, unit_pool));
    ck_assert_str_eq(md_timeslice_format(a->warn_window, unit_pool),
                     md_timeslice_format(b->warn_window, unit_pool));
    ck_assert_int_eq(a->pks->nelts, b->pks->nelts);
    for (i = 0; i < a->pks->nelts; ++i) {
        ck_assert(md_pkey_spec_eq(APR_ARRAY_IDX(a->pks, i, const md_pkey_spec_t *),
                                  APR_ARRAY_IDX(b->pks, i, const md_pkey_spec_t *)));
    }
    ck_assert_str_eq(a->ca_url, b->ca_url);
    ck_assert_str_eq(a->ca_proto, b->ca_proto);
    ck_assert_str_eq(a->ca_account, b->ca_account);
    ck_assert_str_eq(a->ca_agreement, b->ca_agreement);
    ck_assert_str_eq(md_array_str_join(a->ca_challenges, " ", unit_pool),
                     md_array_str_join(b->ca_challenges, " ", unit_pool));
    ck_assert_int_eq(a->state, b->state);
}

START_TEST(test_json_round_trip)
{
    md_t *md = full_md(), *back = NULL;
    md_json_t *json = md_to_json(md, unit_pool), *reread = NULL;
    const char *err = NULL, *text;
    apr_size_t n;

    ck_assert_str_eq("example.org", md_json_gets(json, MD_KEY_NAME));
    ck_assert_str_eq("33%", md_json_gets(json, MD_KEY_RENEW_WINDOW));
    ck_assert_str_eq("10d", md_json_gets(json, MD_KEY_WARN_WINDOW));
    ck_assert_str_eq("permanent", md_json_gets(json, MD_KEY_REQUIRE_HTTPS));
    ck_assert(md_json_getb(json, MD_KEY_MUST_STAPLE));
    ck_assert_int_eq(MD_S_COMPLETE, md_json_getl(json, MD_KEY_STATE));
    ck_assert_int_eq(MD_RENEW_ALWAYS, md_json_getl(json, MD_KEY_RENEW_MODE));
    ck_assert_str_eq("https://acme.test/dir", md_json_gets(json, MD_KEY_CA, MD_KEY_URL));
    ck_assert_str_eq("[\"http-01\"]",
                     md_json_writep(md_json_getj(json, MD_KEY_CA, MD_KEY_CHALLENGES), unit_pool,
                                    MD_JSON_FMT_COMPACT));
    ck_assert(md_json_is_array(md_json_getj(json, MD_KEY_PKEY)));

    /* through text, as the store does */
    text = md_json_writep(json, unit_pool, MD_JSON_FMT_INDENT);
    n = strlen(text);
    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&reread, unit_pool, text, n, &err));
    ck_assert_int_eq(APR_SUCCESS, md_from_json(&back, reread, unit_pool, &err));
    assert_md_eq(md, back);
}
END_TEST

START_TEST(test_json_single_spec_and_defaults)
{
    md_t *md = md_create_empty(unit_pool), *back = NULL;
    md_json_t *json;
    const char *err = NULL;

    md->name = "a.org";
    APR_ARRAY_PUSH(md->domains, const char *) = "a.org";
    APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec_make(MD_PKEY_TYPE_EC, 0, "secp384r1");
    md->require_https = MD_REQUIRE_OFF;
    json = md_to_json(md, unit_pool);
    ck_assert(md_json_is_object(md_json_getj(json, MD_KEY_PKEY)));
    ck_assert_str_eq("secp384r1", md_json_gets(json, MD_KEY_PKEY, MD_KEY_CURVE));
    ck_assert(!md_json_has_key(json, MD_KEY_REQUIRE_HTTPS));
    ck_assert(!md_json_has_key(json, MD_KEY_RENEW_WINDOW));
    ck_assert(!md_json_getb(json, MD_KEY_MUST_STAPLE));

    ck_assert_int_eq(APR_SUCCESS, md_from_json(&back, json, unit_pool, &err));
    ck_assert_int_eq(1, back->pks->nelts);
    ck_assert_str_eq("secp384r1", APR_ARRAY_IDX(back->pks, 0, md_pkey_spec_t *)->curve);
    ck_assert_int_eq(MD_REQUIRE_OFF, back->require_https);
    ck_assert_ptr_null(back->renew_window);
    ck_assert_ptr_null(back->ca_url);
    ck_assert_int_eq(0, back->must_staple);
    ck_assert_int_eq(MD_UNSET, back->transitive);
}
END_TEST

/* md.json as the stock module writes it */
START_TEST(test_json_stock)
{
    static const char text[] =
        "{\"name\":\"Example.org\",\"domains\":[\"Example.org\",\"www.example.org\"],"
        "\"contacts\":[],\"transitive\":1,"
        "\"ca\":{\"account\":\"ACME-x-0000\",\"proto\":\"ACME\","
        "\"urls\":[\"https://acme-v02.api.letsencrypt.org/directory\"]},"
        "\"privkey\":{\"type\":\"Default\"},\"state\":3,\"renew-mode\":1,"
        "\"renew-window\":\"33%\",\"warn-window\":\"10%\",\"require-https\":\"temporary\","
        "\"must-staple\":false,\"stapling\":false}";
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *err = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, text, strlen(text), &err));
    ck_assert_int_eq(APR_SUCCESS, md_from_json(&md, json, unit_pool, &err));
    ck_assert_str_eq("Example.org", md->name);
    ck_assert_str_eq("example.org", APR_ARRAY_IDX(md->domains, 0, const char *));
    ck_assert_int_eq(MD_S_INCOMPLETE, md->state); /* deprecated "expired" */
    ck_assert_int_eq(MD_RENEW_AUTO, md->renew_mode);
    ck_assert_int_eq(1, md->transitive);
    ck_assert_int_eq(MD_REQUIRE_TEMPORARY, md->require_https);
    ck_assert_str_eq(MD_ACME_DEF_URL, md->ca_url);
    ck_assert_int_eq(MD_PKEY_TYPE_DEFAULT, APR_ARRAY_IDX(md->pks, 0, md_pkey_spec_t *)->type);
    ck_assert_str_eq("10%", md_timeslice_format(md->warn_window, unit_pool));
    ck_assert(md_contains(md, "WWW.example.org"));
}
END_TEST

/* The fields of today's CAs as the stock module writes them: read back, written with the kid of
 * the binding only (an HMAC the stock module left is not carried over) and the CA list. */
START_TEST(test_json_stock_cas)
{
    static const char text[] =
        "{\"name\":\"a.org\",\"domains\":[\"a.org\"],"
        "\"ca\":{\"urls\":[\"https://ca1/dir\",\"https://ca2/dir\"]},"
        "\"eab\":{\"kid\":\"kid-1\",\"hmac\":\"c2VjcmV0\"},\"profile\":\"shortlived\","
        "\"profile-mandatory\":true,\"ari-renewals\":false,\"ari-extra\":1}";
    md_json_t *json = NULL, *out;
    md_t *md = NULL;
    apr_array_header_t *urls;
    const char *err = NULL, *written;

    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, text, strlen(text), &err));
    ck_assert_int_eq(APR_SUCCESS, md_from_json(&md, json, unit_pool, &err));
    ck_assert_str_eq("https://ca1/dir", md->ca_url);
    ck_assert_int_eq(2, md_ca_urls(md, unit_pool)->nelts);
    ck_assert_str_eq("kid-1", md->eab_kid);
    ck_assert_ptr_null(md->eab_hmac);
    ck_assert_str_eq("shortlived", md->profile);
    ck_assert_int_eq(1, md->profile_mandatory);
    ck_assert_int_eq(0, md->ari_renewals);
    out = md_to_json_keep(md, json, unit_pool);
    written = md_json_writep(out, unit_pool, MD_JSON_FMT_COMPACT);
    ck_assert_ptr_null(strstr(written, "c2VjcmV0"));
    ck_assert_str_eq("kid-1", md_json_gets(out, "eab", "kid"));
    urls = apr_array_make(unit_pool, 2, sizeof(const char *));
    md_json_getsa(urls, out, "ca", "urls");
    ck_assert_int_eq(2, urls->nelts);
    ck_assert_str_eq("https://ca2/dir", APR_ARRAY_IDX(urls, 1, const char *));
    ck_assert_int_eq(1, (int)md_json_has_key(out, "ari-extra"));
    ck_assert_int_eq(0, md_json_getb(out, "ari-renewals"));
    ck_assert_int_eq(1, md_json_getb(out, "profile-mandatory"));
}
END_TEST

static const struct {
    const char *text;
    const char *err_part;
} bad_cases[] = {
    { "{\"domains\":[\"a.org\"]}", "name" },
    { "{\"name\":\"\",\"domains\":[\"a.org\"]}", "name" },
    { "{\"name\":\"a.org\"}", "domains" },
    { "{\"name\":\"a.org\",\"domains\":[]}", "domains" },
    { "{\"name\":\"a.org\",\"domains\":\"a.org\"}", "domains" },
    { "{\"name\":\"a.org\",\"domains\":[\"a.org\"],\"renew-window\":\"soon\"}", "renew-window" },
    { "{\"name\":\"a.org\",\"domains\":[\"a.org\"],\"privkey\":{\"type\":\"DSA\"}}", "privkey" },
    { "[]", "name" },
};

START_TEST(test_json_reject)
{
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *err = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, bad_cases[_i].text,
                                                  strlen(bad_cases[_i].text), &err));
    err = NULL;
    ck_assert_int_eq(APR_EINVAL, md_from_json(&md, json, unit_pool, &err));
    ck_assert_ptr_null(md);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, bad_cases[_i].err_part) != NULL, "message: %s", err);
    ck_assert_int_eq(APR_EINVAL, md_from_json(&md, json, unit_pool, NULL));
}
END_TEST

START_TEST(test_clone)
{
    md_t *md = full_md(), *copy;
    apr_pool_t *p2 = NULL;

    ck_assert_int_eq(APR_SUCCESS, apr_pool_create(&p2, unit_pool));
    copy = md_clone(p2, md);
    assert_md_eq(md, copy);
    ck_assert_ptr_ne(md->domains, copy->domains);
    ck_assert_ptr_ne(md->pks, copy->pks);
    APR_ARRAY_PUSH(copy->domains, const char *) = "x.org";
    ck_assert_int_eq(2, md->domains->nelts);
    ck_assert(md_contains(copy, "x.org"));
    ck_assert(!md_contains(md, "x.org"));
    apr_pool_destroy(p2);
    ck_assert_str_eq("www.example.org", APR_ARRAY_IDX(md->domains, 1, const char *));
}
END_TEST

START_TEST(test_common_name)
{
    md_t *a = full_md(), *b = md_create_empty(unit_pool);

    APR_ARRAY_PUSH(b->domains, const char *) = "other.org";
    ck_assert_ptr_null(md_common_name(a, b));
    APR_ARRAY_PUSH(b->domains, const char *) = "WWW.example.org";
    ck_assert_str_eq("WWW.example.org", md_common_name(a, b));
}
END_TEST

START_TEST(test_filenames)
{
    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, 4096, NULL }, def = { MD_PKEY_TYPE_DEFAULT, 0, NULL };
    md_pkey_spec_t ec = { MD_PKEY_TYPE_EC, 0, "secp384r1" }, p256 = { MD_PKEY_TYPE_EC, 0, "P-256" };

    ck_assert_str_eq(MD_FN_PRIVKEY, md_pkey_filename(&rsa, unit_pool));
    ck_assert_str_eq(MD_FN_PUBCERT, md_chain_filename(&rsa, unit_pool));
    ck_assert_str_eq("privkey.pem", md_pkey_filename(&def, unit_pool));
    ck_assert_str_eq("privkey.pem", md_pkey_filename(NULL, unit_pool));
    ck_assert_str_eq("privkey.secp384r1.pem", md_pkey_filename(&ec, unit_pool));
    ck_assert_str_eq("pubcert.secp384r1.pem", md_chain_filename(&ec, unit_pool));
    ck_assert_str_eq("privkey.secp256r1.pem", md_pkey_filename(&p256, unit_pool));
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq("ok", md_state_name(MD_S_COMPLETE));
    ck_assert_str_eq("incomplete", md_state_name(MD_S_INCOMPLETE));
    ck_assert_str_eq("auto", md_renew_mode_name(MD_RENEW_AUTO));
    ck_assert_str_eq("always", md_renew_mode_name(MD_RENEW_ALWAYS));
    ck_assert_str_eq("manual", md_renew_mode_name(MD_RENEW_MANUAL));
}
END_TEST

Suite *suite_md(void)
{
    Suite *s = suite_create("md");
    TCase *tc = unit_tcase("md");

    tcase_add_test(tc, test_json_round_trip);
    tcase_add_test(tc, test_json_single_spec_and_defaults);
    tcase_add_test(tc, test_json_stock);
    tcase_add_test(tc, test_json_stock_cas);
    tcase_add_loop_test(tc, test_json_reject, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_clone);
    tcase_add_test(tc, test_common_name);
    tcase_add_test(tc, test_filenames);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}
