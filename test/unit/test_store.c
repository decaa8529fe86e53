/* test_store: the file system store (md_store_fs.c): key file, permissions, encryption,
 * traversal, activation and its crash recovery. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "md.h"
#include "md_json.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "unit.h"

static const char *read_text(const char *path)
{
    char *data = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(APR_SUCCESS, md_util_file_read(&data, &len, path, 1024 * 1024, unit_pool));
    return data;
}

static int file_mode(const char *path)
{
    struct stat st;

    ck_assert_int_eq(0, stat(path, &st));
    return (int)(st.st_mode & 07777);
}

static md_store_t *open_store(const char *dir)
{
    md_store_t *store = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    return store;
}

START_TEST(store_creates_key_file)
{
    const char *dir = unit_tmpdir();
    const char *fpath = apr_pstrcat(unit_pool, dir, "/md_store.json", NULL);
    md_json_t *json = NULL;
    unsigned char *key = NULL;

    open_store(dir);
    ck_assert_int_eq(0600, file_mode(fpath));
    ck_assert_int_eq(APR_SUCCESS, md_json_readf(&json, unit_pool, fpath, NULL));
    ck_assert_int_eq(3, md_json_getl(json, "store", "version"));
    ck_assert_int_eq(48, md_util_base64url_decode(&key, md_json_gets(json, "key"), unit_pool));
    ck_assert_int_eq(0700, file_mode(apr_pstrcat(unit_pool, dir, "/domains", NULL)));
    ck_assert_int_eq(0755, file_mode(apr_pstrcat(unit_pool, dir, "/challenges", NULL)));
}
END_TEST

START_TEST(store_refuses_broken_key_file)
{
    const char *dir = unit_tmpdir();
    const char *fpath = apr_pstrcat(unit_pool, dir, "/md_store.json", NULL);
    md_store_t *store = NULL;

    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(fpath, "{\"key\": 12", 10, 0600, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_store_fs_open(&store, dir, unit_pool));
    ck_assert_ptr_null(store);
    /* never silently replaced: the broken file is still there as it was */
    ck_assert_str_eq("{\"key\": 12", read_text(fpath));
}
END_TEST

START_TEST(store_encrypts_account_and_staging_keys)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    md_pkey_t *pkey = unit_key("P-256"), *loaded = NULL;
    const char *f;

    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_ACCOUNTS, "ACME-x-0000", "account.pem",
                                                MD_SV_PKEY, pkey, unit_pool));
    f = apr_pstrcat(unit_pool, dir, "/accounts/ACME-x-0000/account.pem", NULL);
    ck_assert_ptr_nonnull(strstr(read_text(f), "ENCRYPTED PRIVATE KEY"));

    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_DOMAINS, "a.org", "privkey.pem",
                                                MD_SV_PKEY, pkey, unit_pool));
    f = apr_pstrcat(unit_pool, dir, "/domains/a.org/privkey.pem", NULL);
    ck_assert_ptr_null(strstr(read_text(f), "ENCRYPTED"));
    ck_assert_int_eq(0600, file_mode(f));

    /* a second open of the same store reads the same key and decrypts */
    store = open_store(dir);
    ck_assert_int_eq(APR_SUCCESS, md_store_load(store, MD_SG_ACCOUNTS, "ACME-x-0000", "account.pem",
                                                MD_SV_PKEY, (void **)&loaded, unit_pool));
    ck_assert_str_eq(md_pkey_jws_alg(loaded), "ES256");
}
END_TEST

START_TEST(store_rejects_traversal)
{
    md_store_t *store = open_store(unit_tmpdir());
    md_json_t *json = md_json_create(unit_pool);
    void *value = NULL;

    ck_assert_int_eq(APR_EINVAL,
                     md_store_save_json(store, MD_SG_DOMAINS, "..", "x.json", json, unit_pool));
    ck_assert_int_eq(APR_EINVAL,
                     md_store_save_json(store, MD_SG_DOMAINS, "a/b", "x.json", json, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_store_load(store, MD_SG_CHALLENGES, "a.org", "../../x",
                                               MD_SV_TEXT, &value, unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_store_load(store, MD_SG_CHALLENGES, "a.org", "none.txt",
                                               MD_SV_TEXT, &value, unit_pool));
}
END_TEST

static void stage_set(md_store_t *store, const char *name, const char *marker)
{
    md_json_t *json = md_json_create(unit_pool);

    md_json_sets(marker, json, "name");
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(store, MD_SG_STAGING, name, "md.json", json, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_STAGING, name, "privkey.pem",
                                                MD_SV_PKEY, unit_key("P-256"), unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_STAGING, name, "order.json",
                                                MD_SV_JSON, json, unit_pool));
}

START_TEST(store_activation_archives_previous)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    md_json_t *json = NULL;
    const char *f;

    stage_set(store, "a.org", "first");
    ck_assert_int_eq(APR_SUCCESS, md_store_activate(store, "a.org", unit_pool));
    stage_set(store, "a.org", "second");
    ck_assert_int_eq(APR_SUCCESS, md_store_activate(store, "a.org", unit_pool));

    ck_assert_int_eq(APR_SUCCESS, md_store_load_json(store, MD_SG_DOMAINS, "a.org", "md.json",
                                                     &json, unit_pool));
    ck_assert_str_eq("second", md_json_gets(json, "name"));
    f = apr_pstrcat(unit_pool, dir, "/archive/a.org.1/md.json", NULL);
    ck_assert_ptr_nonnull(strstr(read_text(f), "first"));
    /* the live key is plain and private, job files stay out of the live set */
    f = apr_pstrcat(unit_pool, dir, "/domains/a.org/privkey.pem", NULL);
    ck_assert_ptr_null(strstr(read_text(f), "ENCRYPTED"));
    ck_assert_int_eq(0600, file_mode(f));
    ck_assert_int_eq(APR_ENOENT,
                     md_util_is_file(apr_pstrcat(unit_pool, dir, "/domains/a.org/order.json", NULL),
                                     unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_util_is_dir(apr_pstrcat(unit_pool, dir, "/staging/a.org", NULL),
                                                unit_pool));
}
END_TEST

START_TEST(store_archive_is_bounded)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    const char *f;
    int i;

    /* a gap in the numbers (e.g. an admin removed one) does not reuse low numbers */
    ck_assert_int_eq(APR_SUCCESS,
                     md_util_dir_make(apr_pstrcat(unit_pool, dir, "/archive/a.org.3", NULL), 0700,
                                      unit_pool));
    for (i = 0; i < MD_STORE_ARCHIVE_KEEP + 3; ++i) {
        stage_set(store, "a.org", apr_psprintf(unit_pool, "set%d", i));
        ck_assert_int_eq(APR_SUCCESS, md_store_activate(store, "a.org", unit_pool));
    }
    /* archived: the dir .3, then sets 0..11 as .4...15 (the first activation archives
     * nothing); the newest KEEP (.6 to .15) remain */
    for (i = 1; i <= MD_STORE_ARCHIVE_KEEP + 6; ++i) {
        f = apr_psprintf(unit_pool, "%s/archive/a.org.%d", dir, i);
        ck_assert_int_eq((i >= 6 && i <= MD_STORE_ARCHIVE_KEEP + 5) ? APR_SUCCESS : APR_ENOENT,
                         md_util_is_dir(f, unit_pool));
    }
    f = apr_psprintf(unit_pool, "%s/archive/a.org.%d/md.json", dir, MD_STORE_ARCHIVE_KEEP + 5);
    ck_assert_ptr_nonnull(strstr(read_text(f), apr_psprintf(unit_pool, "set%d",
                                                            MD_STORE_ARCHIVE_KEEP + 1)));
}
END_TEST

START_TEST(store_recovers_interrupted_activation)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    md_json_t *json = md_json_create(unit_pool), *loaded = NULL;
    const char *tmpset = apr_pstrcat(unit_pool, dir, "/tmp/b.org@ready", NULL);
    const char *partial = apr_pstrcat(unit_pool, dir, "/tmp/c.org@new", NULL);
    const char *stock_tmp = apr_pstrcat(unit_pool, dir, "/tmp/d.org", NULL);
    md_json_t *dlive = md_json_create(unit_pool);

    /* a crash after step 2: the live set was archived, the complete new one waits in tmp/ */
    md_json_sets("new", json, "name");
    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(tmpset, 0700, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_writef(json, unit_pool,
                                    apr_pstrcat(unit_pool, tmpset, "/md.json", NULL), 0600));
    /* and a crash during step 1 of another MD */
    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(partial, 0700, unit_pool));
    /* the stock module's scratch copy of a job.json is no set: domains/d.org stays live */
    md_json_sets("live", dlive, "name");
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(store, MD_SG_DOMAINS, "d.org", "md.json", dlive, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(stock_tmp, 0700, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_writef(json, unit_pool,
                                    apr_pstrcat(unit_pool, stock_tmp, "/job.json", NULL), 0600));

    store = open_store(dir);
    ck_assert_int_eq(APR_SUCCESS, md_store_load_json(store, MD_SG_DOMAINS, "b.org", "md.json",
                                                     &loaded, unit_pool));
    ck_assert_str_eq("new", md_json_gets(loaded, "name"));
    ck_assert_int_eq(APR_ENOENT, md_util_is_dir(tmpset, unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_util_is_dir(partial, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_load_json(store, MD_SG_DOMAINS, "d.org", "md.json",
                                                     &loaded, unit_pool));
    ck_assert_str_eq("live", md_json_gets(loaded, "name"));
    ck_assert_int_eq(APR_ENOENT, md_util_is_dir(apr_pstrcat(unit_pool, dir, "/archive/d.org.1",
                                                            NULL),
                                                unit_pool));
}
END_TEST

START_TEST(store_sets_aside)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    md_json_t *json = md_json_create(unit_pool);
    const char *newname = NULL;

    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(store, MD_SG_DOMAINS, "a.org", "md.json", json, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_set_aside(&newname, store, MD_SG_DOMAINS, "a.org",
                                                     "md.json", unit_pool));
    ck_assert_ptr_nonnull(strstr(newname, "md.json.broken-"));
    ck_assert_int_eq(APR_SUCCESS, md_util_is_file(newname, unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_store_load_json(store, MD_SG_DOMAINS, "a.org", "md.json", &json,
                                                    unit_pool));
}
END_TEST

static int collect_aspect(void *baton, const char *name, apr_pool_t *ptemp)
{
    apr_array_header_t *names = baton;

    (void)ptemp;
    APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(names->pool, name);
    return names->nelts < 10;
}

static int stop_at_first(void *baton, const char *name, apr_pool_t *ptemp)
{
    (void)name;
    (void)ptemp;
    ++*(int *)baton;
    return 0;
}

/* aspects are the values under a name: no temporary files, no directories */
START_TEST(store_iterates_aspects)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = open_store(dir);
    md_json_t *json = md_json_create(unit_pool);
    apr_array_header_t *names = apr_array_make(unit_pool, 5, sizeof(const char *));
    const char *base = apr_pstrcat(unit_pool, dir, "/ocsp/x", NULL);
    int calls = 0;

    ck_assert_int_eq(APR_SUCCESS, md_store_iter_aspects(collect_aspect, names, store, MD_SG_OCSP,
                                                        "x", unit_pool));
    ck_assert_int_eq(0, names->nelts);
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(store, MD_SG_OCSP, "x", "a.json", json, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_store_save_json(store, MD_SG_OCSP, "x", "b.json", json, unit_pool));
    ck_assert_int_eq(0, mkdir(apr_pstrcat(unit_pool, base, "/sub", NULL), 0700));
    ck_assert_int_eq(APR_SUCCESS, md_util_file_write_atomic(apr_pstrcat(unit_pool, base,
                                                                        "/.a.json.tmp.x", NULL),
                                                            "{}", 2, MD_FPROT_F_UONLY, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_iter_aspects(collect_aspect, names, store, MD_SG_OCSP,
                                                        "x", unit_pool));
    ck_assert_int_eq(2, names->nelts);
    ck_assert_int_ne(strcmp(APR_ARRAY_IDX(names, 0, const char *),
                            APR_ARRAY_IDX(names, 1, const char *)),
                     0);
    ck_assert_int_eq(0, strcmp("a.json", APR_ARRAY_IDX(names, 0, const char *))
                            * strcmp("a.json", APR_ARRAY_IDX(names, 1, const char *)));
    ck_assert_int_eq(APR_SUCCESS, md_store_iter_aspects(stop_at_first, &calls, store, MD_SG_OCSP,
                                                        "x", unit_pool));
    ck_assert_int_eq(1, calls);
    ck_assert_int_eq(APR_EINVAL, md_store_iter_aspects(collect_aspect, names, store, MD_SG_OCSP,
                                                       "..", unit_pool));
}
END_TEST

START_TEST(store_knows_when_written)
{
    md_store_t *store = open_store(unit_tmpdir());
    apr_time_t before = apr_time_now(), mtime = 0;

    ck_assert_int_eq(APR_ENOENT, md_store_get_modified(&mtime, store, MD_SG_OCSP, "x", "a.json",
                                                       unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save_json(store, MD_SG_OCSP, "x", "a.json",
                                                     md_json_create(unit_pool), unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_get_modified(&mtime, store, MD_SG_OCSP, "x", "a.json",
                                                        unit_pool));
    ck_assert_int_ge(mtime, before - apr_time_from_sec(2));
    ck_assert_int_le(mtime, apr_time_now() + apr_time_from_sec(2));
    ck_assert_int_eq(APR_EINVAL, md_store_get_modified(&mtime, store, MD_SG_OCSP, "x", "../a",
                                                       unit_pool));
}
END_TEST

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = unit_tcase("fs");

    tcase_add_test(tc, store_creates_key_file);
    tcase_add_test(tc, store_refuses_broken_key_file);
    tcase_add_test(tc, store_encrypts_account_and_staging_keys);
    tcase_add_test(tc, store_rejects_traversal);
    tcase_add_test(tc, store_activation_archives_previous);
    tcase_add_test(tc, store_archive_is_bounded);
    tcase_add_test(tc, store_recovers_interrupted_activation);
    tcase_add_test(tc, store_sets_aside);
    tcase_add_test(tc, store_iterates_aspects);
    tcase_add_test(tc, store_knows_when_written);
    suite_add_tcase(s, tc);
    return s;
}
