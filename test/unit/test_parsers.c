/* test_parsers: every parser of a store file with truncated and garbage input. A cut-off or
 * garbled file must give an error (never a crash, never a half-filled result): md.json,
 * account.json, job.json, md_store.json, PEM chains and keys. Also the in-place upgrade of
 * older stock store layouts (md_store.json version 1 and 2). */
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "md.h"
#include "md_json.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "md_acme_acct.h"
#include "md_job.h"
#include "unit.h"

static const char *read_text(const char *path)
{
    char *data = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(APR_SUCCESS, md_util_file_read(&data, &len, path, 1024 * 1024, unit_pool));
    return data;
}

static void write_text(const char *path, const char *text, apr_size_t len)
{
    ck_assert_int_eq(APR_SUCCESS, md_util_file_write_atomic(path, text, len, 0600, unit_pool));
}

static const char *md_json_text =
    "{\"name\": \"a.org\", \"domains\": [\"a.org\", \"www.a.org\"], "
    "\"contacts\": [\"mailto:x@a.org\"], \"ca\": {\"urls\": [\"https://ca/dir\"], "
    "\"proto\": \"ACME\"}, \"state\": 2, \"renew-mode\": 1, "
    "\"privkey\": {\"type\": \"RSA\", \"bits\": 2048}}";

/* Every prefix of md.json either fails to parse as JSON or fails md_from_json. */
START_TEST(parse_md_json_truncated)
{
    apr_size_t full = strlen(md_json_text), n;
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *err = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, md_json_text, full, &err));
    ck_assert_int_eq(APR_SUCCESS, md_from_json(&md, json, unit_pool, &err));
    ck_assert_int_eq(2, md->domains->nelts);
    for (n = 0; n < full; ++n) {
        json = NULL;
        err = NULL;
        if (APR_SUCCESS != md_json_readbuf(&json, unit_pool, md_json_text, n, &err)) {
            ck_assert_ptr_nonnull(err);
            continue;
        }
        ck_assert_msg(0, "a prefix of %d bytes parsed as JSON", (int)n);
    }
}
END_TEST

static const struct {
    const char *text;
    int ok;
} md_garbage[] = {
    { "[]", 0 },
    { "\"a.org\"", 0 },
    { "{}", 0 },
    { "{\"name\": 5, \"domains\": [\"a.org\"]}", 0 },
    { "{\"name\": \"\", \"domains\": [\"a.org\"]}", 0 },
    { "{\"name\": \"a.org\", \"domains\": \"a.org\"}", 0 },
    { "{\"name\": \"a.org\", \"domains\": [1, 2]}", 0 },
    { "{\"name\": \"a.org\", \"domains\": []}", 0 },
    { "{\"name\": \"a.org\", \"domains\": [\"a.org\"], \"privkey\": 7}", 0 },
    { "{\"name\": \"a.org\", \"domains\": [\"a.org\"], \"privkey\": {\"type\": \"DSA\"}}", 0 },
    { "{\"name\": \"a.org\", \"domains\": [\"a.org\"], \"renew-window\": \"soon\"}", 0 },
    /* wrong types of optional fields fall back to their defaults */
    { "{\"name\": \"a.org\", \"domains\": [\"a.org\"], \"state\": \"x\", \"contacts\": 3, "
      "\"ca\": 1, \"renew-mode\": [], \"must-staple\": \"yes\"}",
      1 },
    { "{\"name\": \"a.org\", \"domains\": [\"a.org\"], \"state\": 99}", 1 },
};

START_TEST(parse_md_json_garbage)
{
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *err = NULL;
    const char *text = md_garbage[_i].text;

    if (APR_SUCCESS != md_json_readbuf(&json, unit_pool, text, strlen(text), &err)) {
        /* not even a JSON object or array */
        ck_assert(!md_garbage[_i].ok);
        ck_assert_ptr_nonnull(err);
        return;
    }
    if (md_garbage[_i].ok) {
        ck_assert_int_eq(APR_SUCCESS, md_from_json(&md, json, unit_pool, &err));
        ck_assert_int_ge(md->state, MD_S_UNKNOWN);
        ck_assert_int_le(md->state, MD_S_MISSING_INFORMATION);
        ck_assert_int_eq(1, md->domains->nelts);
    }
    else {
        ck_assert_msg(APR_EINVAL == md_from_json(&md, json, unit_pool, &err), "accepted: %s", text);
        ck_assert_ptr_null(md);
        ck_assert_ptr_nonnull(err);
    }
}
END_TEST

static md_store_t *open_store(const char *dir)
{
    md_store_t *store = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    return store;
}

static const char *acct_json_text =
    "{\"url\": \"https://ca/acct/1\", \"ca-url\": \"https://ca/dir\", \"status\": \"valid\", "
    "\"contact\": [\"mailto:x@a.org\"], \"orders\": \"https://ca/acct/1/orders\"}";

/* account.json: every prefix and some garbage are refused, no account is returned */
START_TEST(parse_account_json)
{
    static const char *garbage[] = {
        "",
        "[]",
        "null",
        "{}",
        "{\"url\": 5, \"ca-url\": \"https://ca/dir\"}",
        "{\"url\": \"https://ca/acct/1\"}",
        "{\"ca-url\": \"https://ca/dir\"}",
    };
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    const char *f = apr_pstrcat(unit_pool, dir, "/accounts/ACME-ca-0000", NULL);
    md_acme_acct_t *acct = NULL;
    apr_size_t full = strlen(acct_json_text), n, i;

    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(f, 0755, unit_pool));
    f = apr_pstrcat(unit_pool, f, "/account.json", NULL);
    write_text(f, acct_json_text, full);
    ck_assert_int_eq(APR_SUCCESS, md_acme_acct_load(&acct, NULL, store, MD_SG_ACCOUNTS,
                                                    "ACME-ca-0000", unit_pool));
    ck_assert_str_eq("https://ca/acct/1", acct->url);
    for (n = 0; n < full; ++n) {
        write_text(f, acct_json_text, n);
        acct = (md_acme_acct_t *)1;
        ck_assert_int_ne(APR_SUCCESS, md_acme_acct_load(&acct, NULL, store, MD_SG_ACCOUNTS,
                                                        "ACME-ca-0000", unit_pool));
        ck_assert_ptr_null(acct);
    }
    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); ++i) {
        write_text(f, garbage[i], strlen(garbage[i]));
        acct = (md_acme_acct_t *)1;
        ck_assert_msg(APR_SUCCESS
                          != md_acme_acct_load(&acct, NULL, store, MD_SG_ACCOUNTS, "ACME-ca-0000",
                                               unit_pool),
                      "accepted: %s", garbage[i]);
        ck_assert_ptr_null(acct);
    }
}
END_TEST

/* Rewriting account.json keeps the fields other versions wrote (the stock module's "orders") */
START_TEST(account_json_keeps_foreign_fields)
{
    md_store_t *store = open_store(unit_tmpdir());
    md_acme_acct_t *acct = NULL;
    md_json_t *json = NULL;

    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save(store, MD_SG_ACCOUNTS, "ACME-ca-0000", "account.json",
                                   MD_SV_TEXT,
                                   apr_pstrcat(unit_pool, "{\"x-future\": {\"a\": 1}, ",
                                               acct_json_text + 1, NULL),
                                   unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_acme_acct_load(&acct, NULL, store, MD_SG_ACCOUNTS,
                                                    "ACME-ca-0000", unit_pool));
    acct->status = "deactivated";
    ck_assert_int_eq(APR_SUCCESS, md_acme_acct_save(store, MD_SG_ACCOUNTS, "ACME-ca-0000", acct,
                                                    NULL, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_load_json(store, MD_SG_ACCOUNTS, "ACME-ca-0000",
                                                     "account.json", &json, unit_pool));
    ck_assert_str_eq("deactivated", md_json_gets(json, "status"));
    ck_assert_str_eq("https://ca/acct/1/orders", md_json_gets(json, "orders"));
    ck_assert_int_eq(1, md_json_getl(json, "x-future", "a"));
}
END_TEST

/* job.json: every prefix is "not a job record" (EINVAL), never "none" (ENOENT) or a record */
START_TEST(parse_job_json)
{
    static const char *text =
        "{\"name\": \"a.org\", \"finished\": false, \"errors\": 2, "
        "\"last\": {\"status\": 11, \"problem\": \"urn:x\", "
        "\"detail\": \"d\"}, \"next-run\": \"Mon, 01 Jan 2024 00:00:00 GMT\"}";
    static const char *garbage[] = { "[]", "3", "\"job\"", "null" };
    md_store_t *store = open_store(unit_tmpdir());
    md_json_t *job = NULL;
    apr_size_t full = strlen(text), n, i;
    apr_time_t next = 0;
    int errors = 0;

    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_STAGING, "a.org", "job.json",
                                                MD_SV_TEXT, text, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_job_load(&job, store, MD_SG_STAGING, "a.org", unit_pool));
    ck_assert_int_eq(2, md_json_getl(job, "errors"));
    for (n = 1; n < full; ++n) {
        ck_assert_int_eq(APR_SUCCESS,
                         md_store_save(store, MD_SG_STAGING, "a.org", "job.json", MD_SV_TEXT,
                                       apr_pstrndup(unit_pool, text, n), unit_pool));
        ck_assert_int_eq(APR_EINVAL, md_job_load(&job, store, MD_SG_STAGING, "a.org", unit_pool));
        ck_assert_ptr_null(job);
    }
    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); ++i) {
        md_store_save(store, MD_SG_STAGING, "a.org", "job.json", MD_SV_TEXT, garbage[i], unit_pool);
        ck_assert_int_eq(APR_EINVAL, md_job_load(&job, store, MD_SG_STAGING, "a.org", unit_pool));
    }
    /* wrong types inside a record: the job starts afresh */
    md_store_save(store, MD_SG_STAGING, "a.org", "job.json", MD_SV_TEXT,
                  "{\"name\": \"a.org\", \"errors\": \"many\", \"next-run\": 12}", unit_pool);
    md_job_restore(&errors, &next, store, "a.org", apr_time_from_sec(86400),
                   apr_time_from_sec(1700000000), unit_pool);
    ck_assert_int_eq(0, errors);
    ck_assert_int_eq(0, next);
}
END_TEST

/* md_store.json: every damage stops the open and leaves the file as it was */
static const char *bad_store_files[] = {
    "",
    "[]",
    "{\"store\": {\"version\": 3.0}}",
    "{\"store\": {\"version\": 3.0}, \"key\": 5}",
    "{\"store\": {\"version\": 3.0}, \"key\": \"c2hvcnQ\"}",
    "{\"store\": {\"version\": 3.0}, \"key\": \"!!!!not base64 at all, but long enough to be a "
    "key of 48 bytes!!!!\"}",
    "{\"store\": {\"version\": 4.0}, \"key\": "
    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
    "{\"store\": {\"version\": 4}, \"key\": "
    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
    "{\"store\": {\"version\": 3.0}, \"key\": "
    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
};

START_TEST(parse_store_file_garbage)
{
    const char *dir = unit_tmpdir();
    const char *f = apr_pstrcat(unit_pool, dir, "/md_store.json", NULL);
    const char *text = bad_store_files[_i];
    md_store_t *store = NULL;

    write_text(f, text, strlen(text));
    ck_assert_msg(APR_EINVAL == md_store_fs_open(&store, dir, unit_pool), "accepted: %s", text);
    ck_assert_ptr_null(store);
    ck_assert_str_eq(text, read_text(f));
}
END_TEST

START_TEST(parse_store_file_truncated)
{
    const char *dir = unit_tmpdir();
    const char *f = apr_pstrcat(unit_pool, dir, "/md_store.json", NULL);
    md_store_t *store = NULL;
    const char *text;
    apr_size_t full, n;

    open_store(dir);
    text = read_text(f);
    full = strlen(text);
    /* the last bytes are white space and the closing brace; cut anywhere before it */
    for (n = 0; n + 2 < full; ++n) {
        write_text(f, text, n);
        ck_assert_int_eq(APR_EINVAL, md_store_fs_open(&store, dir, unit_pool));
        ck_assert_ptr_null(store);
        ck_assert_uint_eq(n, strlen(read_text(f)));
    }
}
END_TEST

static void chain_pem(const char **ppem, apr_size_t *plen)
{
    apr_array_header_t *chain = apr_array_make(unit_pool, 2, sizeof(md_cert_t *));
    md_cert_t *c1 = NULL, *c2 = NULL;
    const char *pem = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&c1, NULL, unit_words("leaf.org"), unit_key("P-256"),
                                                    apr_time_from_sec(3600), unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&c2, NULL, unit_words("ca.org"), unit_key("P-256"),
                                                    apr_time_from_sec(3600), unit_pool));
    APR_ARRAY_PUSH(chain, md_cert_t *) = c1;
    APR_ARRAY_PUSH(chain, md_cert_t *) = c2;
    ck_assert_int_eq(APR_SUCCESS, md_chain_to_pem(&pem, plen, chain, unit_pool));
    *ppem = apr_pstrdup(unit_pool, pem);
}

/* A cut-off chain is an error, except at the end of a certificate, where it is a shorter chain
 * (PEM cannot tell) */
START_TEST(parse_chain_truncated)
{
    apr_size_t full = 0, n, first_end;
    const char *pem = NULL, *end;
    apr_array_header_t *chain = NULL;
    apr_status_t rv;

    chain_pem(&pem, &full);
    end = strstr(pem, "-----END CERTIFICATE-----");
    first_end = full - strlen(end) + strlen("-----END CERTIFICATE-----");
    for (n = 0; n < full; ++n) {
        chain = NULL;
        rv = md_chain_from_pem(&chain, unit_pool, apr_pstrndup(unit_pool, pem, n), n);
        if (n >= first_end && n <= first_end + 1) {
            ck_assert_int_eq(APR_SUCCESS, rv);
            ck_assert_int_eq(1, chain->nelts);
        }
        else if (n >= full - 1) {
            ck_assert_int_eq(APR_SUCCESS, rv);
            ck_assert_int_eq(2, chain->nelts);
        }
        else {
            ck_assert_msg(APR_SUCCESS != rv, "a chain cut at %d of %d bytes was accepted", (int)n,
                          (int)full);
            ck_assert_ptr_null(chain);
        }
    }
}
END_TEST

/* A cut-off key never loads, plain or encrypted */
START_TEST(parse_pkey_truncated)
{
    static const unsigned char pass[48] = { 1, 2, 3 };
    const char *pem = NULL;
    apr_size_t full = 0, n;
    md_pkey_t *pkey = NULL;
    int encrypted = _i;

    ck_assert_int_eq(APR_SUCCESS,
                     md_pkey_to_pem(&pem, &full, unit_key("P-256"), encrypted ? pass : NULL,
                                    encrypted ? sizeof(pass) : 0, unit_pool));
    for (n = 0; n + 1 < full; ++n) {
        pkey = NULL;
        ck_assert_msg(APR_EINVAL
                          == md_pkey_from_pem(&pkey, unit_pool, apr_pstrndup(unit_pool, pem, n), n,
                                              encrypted ? pass : NULL,
                                              encrypted ? sizeof(pass) : 0),
                      "a key cut at %d of %d bytes was accepted", (int)n, (int)full);
        ck_assert_ptr_null(pkey);
    }
    ck_assert_int_eq(APR_SUCCESS,
                     md_pkey_from_pem(&pkey, unit_pool, pem, full, encrypted ? pass : NULL,
                                      encrypted ? sizeof(pass) : 0));
}
END_TEST

static const char *old_key64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v";

static const char *mkdirs(const char *dir, const char *sub)
{
    const char *path = apr_pstrcat(unit_pool, dir, "/", sub, NULL);

    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(path, 0700, unit_pool));
    return path;
}

static void put(const char *dir, const char *fname, const char *text)
{
    write_text(apr_pstrcat(unit_pool, dir, "/", fname, NULL), text, strlen(text));
}

static int exists(const char *dir, const char *fname)
{
    return APR_SUCCESS == md_util_is_file(apr_pstrcat(unit_pool, dir, "/", fname, NULL), unit_pool);
}

/* A version 1 store of the stock module: pkey.pem, cert.pem and chain.pem in the sets, no
 * version in md_store.json. Opening upgrades it in place to privkey.pem and pubcert.pem. */
START_TEST(upgrade_store_v1)
{
    const char *dir = unit_tmpdir(), *live, *arch, *stage, *pem = NULL, *key_pem = NULL, *cut;
    apr_size_t len = 0, klen = 0;
    apr_array_header_t *chain = NULL;
    md_pkey_t *pkey = NULL;
    md_json_t *json = NULL;
    md_store_t *store = NULL;
    void *value = NULL;

    chain_pem(&pem, &len);
    cut = strstr(pem, "-----END CERTIFICATE-----") + strlen("-----END CERTIFICATE-----\n");
    ck_assert_int_eq(APR_SUCCESS,
                     md_pkey_to_pem(&key_pem, &klen, unit_key("P-256"), NULL, 0, unit_pool));
    put(dir, "md_store.json", apr_pstrcat(unit_pool, "{\"key\": \"", old_key64, "\"}", NULL));
    live = mkdirs(dir, "domains/a.org");
    put(live, "md.json", "{\"name\": \"a.org\", \"domains\": [\"a.org\"]}");
    put(live, "pkey.pem", key_pem);
    put(live, "cert.pem", apr_pstrndup(unit_pool, pem, (apr_size_t)(cut - pem)));
    put(live, "chain.pem", cut);
    arch = mkdirs(dir, "archive/a.org.1");
    put(arch, "pkey.pem", key_pem);
    put(arch, "cert.pem", apr_pstrndup(unit_pool, pem, (apr_size_t)(cut - pem)));
    stage = mkdirs(dir, "staging/b.org");
    put(stage, "pkey.pem", "staged key");

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    ck_assert(!exists(live, "pkey.pem"));
    ck_assert(exists(live, "cert.pem") && exists(live, "chain.pem")); /* nothing removed */
    ck_assert_int_eq(APR_SUCCESS, md_store_load(store, MD_SG_DOMAINS, "a.org", "privkey.pem",
                                                MD_SV_PKEY, (void **)&pkey, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_load(store, MD_SG_DOMAINS, "a.org", "pubcert.pem",
                                                MD_SV_CHAIN, (void **)&chain, unit_pool));
    ck_assert_int_eq(2, chain->nelts);
    ck_assert_int_eq(APR_SUCCESS, md_store_load(store, MD_SG_ARCHIVE, "a.org.1", "pubcert.pem",
                                                MD_SV_CHAIN, (void **)&chain, unit_pool));
    ck_assert_int_eq(1, chain->nelts);
    ck_assert(exists(arch, "privkey.pem"));
    ck_assert_int_eq(APR_SUCCESS, md_store_load(store, MD_SG_STAGING, "b.org", "privkey.pem",
                                                MD_SV_TEXT, &value, unit_pool));
    ck_assert_str_eq("staged key", value);
    /* md_store.json: version 3, the same key */
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_readf(&json, unit_pool,
                                   apr_pstrcat(unit_pool, dir, "/md_store.json", NULL), NULL));
    ck_assert_int_eq(3, (int)md_json_getn(json, 0.0, "store", "version"));
    ck_assert_str_eq(old_key64, md_json_gets(json, "key"));
    /* a second open finds nothing to do */
    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
}
END_TEST

/* A damaged cert.pem stops the upgrade: the store is not opened, nothing is lost, and the
 * upgrade runs again once the file is repaired. */
START_TEST(upgrade_store_v1_damaged)
{
    const char *dir = unit_tmpdir(), *live, *pem = NULL, *f;
    apr_size_t len = 0;
    md_store_t *store = NULL;

    chain_pem(&pem, &len);
    f = apr_pstrcat(unit_pool, dir, "/md_store.json", NULL);
    put(dir, "md_store.json",
        apr_pstrcat(unit_pool, "{\"store\": {\"version\": 1.0}, \"key\": \"", old_key64, "\"}",
                    NULL));
    live = mkdirs(dir, "domains/a.org");
    put(live, "cert.pem", apr_pstrndup(unit_pool, pem, len / 3));
    ck_assert_int_ne(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    ck_assert_ptr_null(store);
    ck_assert(!exists(live, "pubcert.pem"));
    ck_assert_ptr_nonnull(strstr(read_text(f), "1.0"));
    put(live, "cert.pem", pem);
    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    ck_assert(exists(live, "pubcert.pem"));
}
END_TEST

/* Version 2 had the current layout; only md_store.json is rewritten. */
START_TEST(upgrade_store_v2)
{
    const char *dir = unit_tmpdir(), *live;
    md_store_t *store = NULL;
    md_json_t *json = NULL;

    put(dir, "md_store.json",
        apr_pstrcat(unit_pool, "{\"version\": 2.0, \"store\": {\"version\": 2.0}, \"key\": \"",
                    old_key64, "\"}", NULL));
    live = mkdirs(dir, "domains/a.org");
    put(live, "privkey.pem", "x");
    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_readf(&json, unit_pool,
                                   apr_pstrcat(unit_pool, dir, "/md_store.json", NULL), NULL));
    ck_assert_int_eq(3, (int)md_json_getn(json, 0.0, "store", "version"));
    ck_assert(!md_json_has_key(json, "version"));
    ck_assert_str_eq(old_key64, md_json_gets(json, "key"));
    ck_assert_str_eq("x", read_text(apr_pstrcat(unit_pool, live, "/privkey.pem", NULL)));
}
END_TEST

/* The stock module's leftover tmp/<name>/ directories are removed when stale */
START_TEST(store_removes_stale_tmp)
{
    const char *dir = unit_tmpdir(), *old, *fresh;

    open_store(dir);
    old = mkdirs(dir, "tmp/a.org");
    put(old, "job.json", "{}");
    fresh = mkdirs(dir, "tmp/b.org");
    ck_assert_int_eq(APR_SUCCESS,
                     apr_file_mtime_set(old, apr_time_now() - apr_time_from_sec(2 * 24 * 3600),
                                        unit_pool));
    open_store(dir);
    ck_assert_int_ne(APR_SUCCESS, md_util_is_dir(old, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_is_dir(fresh, unit_pool));
}
END_TEST

Suite *suite_parsers(void)
{
    Suite *s = suite_create("parsers");
    TCase *tc = unit_tcase("truncated-garbage");

    tcase_add_test(tc, parse_md_json_truncated);
    tcase_add_loop_test(tc, parse_md_json_garbage, 0,
                        (int)(sizeof(md_garbage) / sizeof(md_garbage[0])));
    tcase_add_test(tc, parse_account_json);
    tcase_add_test(tc, account_json_keeps_foreign_fields);
    tcase_add_test(tc, parse_job_json);
    tcase_add_loop_test(tc, parse_store_file_garbage, 0,
                        (int)(sizeof(bad_store_files) / sizeof(bad_store_files[0])));
    tcase_add_test(tc, parse_store_file_truncated);
    tcase_add_test(tc, parse_chain_truncated);
    tcase_add_loop_test(tc, parse_pkey_truncated, 0, 2);
    suite_add_tcase(s, tc);
    tc = unit_tcase("upgrade");
    tcase_add_test(tc, upgrade_store_v1);
    tcase_add_test(tc, upgrade_store_v1_damaged);
    tcase_add_test(tc, upgrade_store_v2);
    tcase_add_test(tc, store_removes_stale_tmp);
    suite_add_tcase(s, tc);
    return s;
}
