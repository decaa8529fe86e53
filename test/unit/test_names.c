/* test_names: an MD keeps its stored name when its first domain is removed (md_names.c). */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_util.h"
#include "md_names.h"
#include "md_store_fs.h"
#include "unit.h"

/* An MD named after its first domain; 'domains' is space separated. */
static md_t *make_md(const char *domains)
{
    md_t *md = md_create_empty(unit_pool);
    char *list = apr_pstrdup(unit_pool, domains), *last = NULL, *d;

    for (d = apr_strtok(list, " ", &last); d; d = apr_strtok(NULL, " ", &last)) {
        APR_ARRAY_PUSH(md->domains, const char *) = d;
    }
    md->name = APR_ARRAY_IDX(md->domains, 0, const char *);
    return md;
}

static apr_array_header_t *md_list(const char *const *domain_lists, int n)
{
    apr_array_header_t *mds = apr_array_make(unit_pool, 5, sizeof(md_t *));
    int i;

    for (i = 0; i < n; ++i) {
        APR_ARRAY_PUSH(mds, md_t *) = make_md(domain_lists[i]);
    }
    return mds;
}

static void store_md(md_store_t *store, const char *domains)
{
    md_t *md = make_md(domains);

    ck_assert_int_eq(APR_SUCCESS, md_store_save_json(store, MD_SG_DOMAINS, md->name, MD_FN_MD,
                                                     md_to_json(md, unit_pool), unit_pool));
}

static const char *name_at(apr_array_header_t *mds, int i)
{
    return APR_ARRAY_IDX(mds, i, md_t *)->name;
}

START_TEST(names_pick_most_shared_then_smallest)
{
    static const char *const stored_lists[] = { "z.org a.org b.org", "y.org a.org", "x.org a.org",
                                                "c.org" };
    apr_array_header_t *stored = md_list(stored_lists, 4);
    apr_hash_t *taken = apr_hash_make(unit_pool);

    /* two shared domains beat one */
    ck_assert_int_eq(0, md_names_pick(make_md("a.org b.org"), stored, taken));
    /* a tie goes to the smallest stored name, whatever the listing order */
    ck_assert_int_eq(2, md_names_pick(make_md("a.org"), stored, taken));
    apr_hash_set(taken, "x.org", APR_HASH_KEY_STRING, "");
    ck_assert_int_eq(1, md_names_pick(make_md("a.org"), stored, taken));
    /* nothing shared, nothing picked */
    ck_assert_int_eq(-1, md_names_pick(make_md("d.org"), stored, taken));
}
END_TEST

START_TEST(names_keep_first_name_removed)
{
    md_store_t *store = NULL;
    static const char *const conf[] = { "www.a.org", "b.org", "new.org" };
    apr_array_header_t *mds;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    store_md(store, "a.org www.a.org");
    store_md(store, "b.org");
    mds = md_list(conf, 3);
    ck_assert_int_eq(APR_SUCCESS, md_names_keep(store, mds, unit_pool));
    ck_assert_str_eq("a.org", name_at(mds, 0));
    ck_assert_str_eq("b.org", name_at(mds, 1));
    ck_assert_str_eq("new.org", name_at(mds, 2));
    /* a second run (the real start after the dry run) gives the same names */
    mds = md_list(conf, 3);
    md_names_keep(store, mds, unit_pool);
    ck_assert_str_eq("a.org", name_at(mds, 0));
}
END_TEST

START_TEST(names_keep_respects_claims)
{
    md_store_t *store = NULL;
    /* a.org is configured again as an MD of its own: it owns domains/a.org */
    static const char *const conf1[] = { "www.a.org", "a.org" };
    /* two new MDs share the stored one: the larger overlap continues it */
    static const char *const conf2[] = { "www.a.org", "mail.a.org a.org" };
    static const char *const conf3[] = { "www.a.org", "mail.a.org" };
    apr_array_header_t *mds;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    store_md(store, "a.org www.a.org mail.a.org");
    mds = md_list(conf1, 2);
    md_names_keep(store, mds, unit_pool);
    ck_assert_str_eq("www.a.org", name_at(mds, 0));
    ck_assert_str_eq("a.org", name_at(mds, 1));

    mds = md_list(conf2, 2);
    md_names_keep(store, mds, unit_pool);
    ck_assert_str_eq("www.a.org", name_at(mds, 0));
    ck_assert_str_eq("a.org", name_at(mds, 1));
    /* on a tie, the one configured first */
    mds = md_list(conf3, 2);
    md_names_keep(store, mds, unit_pool);
    ck_assert_str_eq("a.org", name_at(mds, 0));
    ck_assert_str_eq("mail.a.org", name_at(mds, 1));
}
END_TEST

START_TEST(names_keep_ignores_broken_stored)
{
    md_store_t *store = NULL;
    static const char *const conf[] = { "www.a.org" };
    apr_array_header_t *mds;
    const char *fpath = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    store_md(store, "a.org www.a.org");
    ck_assert_int_eq(APR_SUCCESS, md_store_get_fname(&fpath, store, MD_SG_DOMAINS, "a.org",
                                                     MD_FN_MD, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(fpath, "{ not json", 10, 0600, unit_pool));
    mds = md_list(conf, 1);
    md_names_keep(store, mds, unit_pool);
    ck_assert_str_eq("www.a.org", name_at(mds, 0));
    /* the scan only reads: the broken file is still there for the MD's own sync */
    ck_assert_int_eq(APR_SUCCESS, md_util_is_file(fpath, unit_pool));
}
END_TEST

Suite *suite_names(void)
{
    Suite *s = suite_create("names");
    TCase *tc = unit_tcase("keep");

    tcase_add_test(tc, names_pick_most_shared_then_smallest);
    tcase_add_test(tc, names_keep_first_name_removed);
    tcase_add_test(tc, names_keep_respects_claims);
    tcase_add_test(tc, names_keep_ignores_broken_stored);
    suite_add_tcase(s, tc);
    return s;
}
