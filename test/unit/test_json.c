/* test_json: paths, arrays, parsing and files of md_json. */
#include <string.h>

#include <apr_strings.h>

#include "md_util.h"
#include "md_json.h"
#include "unit.h"

START_TEST(test_get_set_paths)
{
    md_json_t *json = md_json_create(unit_pool);

    ck_assert(md_json_is_object(json));
    ck_assert_int_eq(APR_SUCCESS, md_json_sets("https://ca.test/dir", json, "ca", "url"));
    ck_assert_int_eq(APR_SUCCESS, md_json_setl(42, json, "ca", "n"));
    ck_assert_int_eq(APR_SUCCESS, md_json_setb(1, json, "flag"));
    ck_assert_str_eq("https://ca.test/dir", md_json_gets(json, "ca", "url"));
    ck_assert_int_eq(42, md_json_getl(json, "ca", "n"));
    ck_assert_int_eq(1, md_json_getb(json, "flag"));
    ck_assert(md_json_has_key(json, "ca", "url"));
    ck_assert(!md_json_has_key(json, "ca", "nope"));
    ck_assert(!md_json_has_key(json, "flag", "x"));

    /* missing paths and type mismatches give NULL / 0 */
    ck_assert_ptr_null(md_json_gets(json, "ca", "n"));
    ck_assert_ptr_null(md_json_gets(json, "x", "y", "z"));
    ck_assert_int_eq(0, md_json_getl(json, "ca", "url"));
    ck_assert_int_eq(0, md_json_getb(json, "nope"));

    /* overwrite and replace a non-object intermediate */
    ck_assert_int_eq(APR_SUCCESS, md_json_setl(7, json, "ca", "n"));
    ck_assert_int_eq(7, md_json_getl(json, "ca", "n"));
    ck_assert_int_eq(APR_SUCCESS, md_json_sets("v", json, "flag", "sub"));
    ck_assert_str_eq("v", md_json_gets(json, "flag", "sub"));

    ck_assert_int_eq(APR_SUCCESS, md_json_del(json, "ca", "n"));
    ck_assert(!md_json_has_key(json, "ca", "n"));
    ck_assert_int_eq(APR_SUCCESS, md_json_del(json, "ca", "n")); /* missing is fine */
    ck_assert_str_eq("{\"ca\":{\"url\":\"https://ca.test/dir\"},\"flag\":{\"sub\":\"v\"}}",
                     md_json_writep(json, unit_pool, MD_JSON_FMT_COMPACT));
}
END_TEST

START_TEST(test_strings_copied)
{
    md_json_t *json = md_json_create(unit_pool);
    const char *s;

    md_json_sets("first", json, "k");
    s = md_json_gets(json, "k");
    md_json_sets("second", json, "k");
    ck_assert_str_eq("first", s);
}
END_TEST

START_TEST(test_arrays)
{
    md_json_t *json = md_json_create(unit_pool), *arr = md_json_create_array(unit_pool);
    md_json_t *obj = md_json_create(unit_pool);
    apr_array_header_t *a = apr_array_make(unit_pool, 3, sizeof(const char *));
    apr_array_header_t *b = apr_array_make(unit_pool, 3, sizeof(const char *));
    apr_array_header_t *elts = apr_array_make(unit_pool, 3, sizeof(md_json_t *));

    APR_ARRAY_PUSH(a, const char *) = "a.org";
    APR_ARRAY_PUSH(a, const char *) = "b.org";
    ck_assert_int_eq(APR_SUCCESS, md_json_setsa(a, json, "domains"));
    ck_assert_int_eq(APR_SUCCESS, md_json_getsa(b, json, "domains"));
    ck_assert_int_eq(2, b->nelts);
    ck_assert_str_eq("b.org", APR_ARRAY_IDX(b, 1, const char *));
    ck_assert_int_eq(APR_ENOENT, md_json_getsa(b, json, "nope"));

    md_json_sets("x", obj, "name");
    ck_assert(md_json_is_array(arr));
    ck_assert_int_eq(APR_SUCCESS, md_json_array_append(arr, obj));
    md_json_sets("y", obj, "name"); /* appended a copy */
    ck_assert_int_eq(APR_SUCCESS, md_json_array_append(arr, obj));
    ck_assert_uint_eq(2, md_json_array_size(arr));
    ck_assert_int_eq(APR_EINVAL, md_json_array_append(obj, arr));
    ck_assert_int_eq(APR_SUCCESS, md_json_setj(arr, json, "list"));
    ck_assert_int_eq(APR_SUCCESS, md_json_geta(elts, json, "list"));
    ck_assert_int_eq(2, elts->nelts);
    ck_assert_str_eq("x", md_json_gets(APR_ARRAY_IDX(elts, 0, md_json_t *), "name"));
    ck_assert_str_eq("y", md_json_gets(APR_ARRAY_IDX(elts, 1, md_json_t *), "name"));
    ck_assert_int_eq(APR_ENOENT, md_json_geta(elts, json, "domains", "x"));
    ck_assert_uint_eq(0, md_json_array_size(json));
}
END_TEST

START_TEST(test_getj_clone)
{
    md_json_t *json = md_json_create(unit_pool), *sub, *copy;

    md_json_sets("v", json, "a", "b");
    sub = md_json_getj(json, "a");
    ck_assert_ptr_nonnull(sub);
    ck_assert_str_eq("v", md_json_gets(sub, "b"));
    md_json_sets("w", sub, "b"); /* shared */
    ck_assert_str_eq("w", md_json_gets(json, "a", "b"));
    copy = md_json_clone(json, unit_pool);
    md_json_sets("z", copy, "a", "b"); /* independent */
    ck_assert_str_eq("w", md_json_gets(json, "a", "b"));
    ck_assert_ptr_null(md_json_getj(json, "nope"));
    ck_assert_int_eq(APR_SUCCESS, md_json_setj(NULL, json, "n"));
    ck_assert(md_json_has_key(json, "n"));
    ck_assert_ptr_null(md_json_gets(json, "n"));
}
END_TEST

START_TEST(test_readbuf)
{
    static const char text[] = "{\"name\": \"a.org\", \"n\": 3, \"l\": [\"x\"], \"t\": true}";
    md_json_t *json = NULL;
    const char *err = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_json_readbuf(&json, unit_pool, text, strlen(text), &err));
    ck_assert_str_eq("a.org", md_json_gets(json, "name"));
    ck_assert_int_eq(3, md_json_getl(json, "n"));
    ck_assert(md_json_getb(json, "t"));
    /* keys keep their order */
    ck_assert_str_eq("{\"name\":\"a.org\",\"n\":3,\"l\":[\"x\"],\"t\":true}",
                     md_json_writep(json, unit_pool, MD_JSON_FMT_COMPACT));
}
END_TEST

static const char *garbage[] = { "not json", "{\"a\": }", "{\"a\": 1", "", "[1,2,,]" };

START_TEST(test_readbuf_garbage)
{
    md_json_t *json = NULL;
    const char *err = NULL;

    ck_assert_int_eq(APR_EINVAL,
                     md_json_readbuf(&json, unit_pool, garbage[_i], strlen(garbage[_i]), &err));
    ck_assert_ptr_null(json);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "line") != NULL, "error without position: %s", err);
    ck_assert_int_eq(APR_EINVAL,
                     md_json_readbuf(&json, unit_pool, garbage[_i], strlen(garbage[_i]), NULL));
}
END_TEST

START_TEST(test_readbuf_too_large)
{
    md_json_t *json = NULL;
    const char *err = NULL;
    apr_size_t len = MD_JSON_MAX_LEN + 1;
    char *big = apr_palloc(unit_pool, len);

    memset(big, ' ', len);
    big[0] = '[';
    big[len - 1] = ']';
    ck_assert_int_eq(APR_EINVAL, md_json_readbuf(&json, unit_pool, big, len, &err));
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(test_files)
{
    const char *dir = unit_tmpdir();
    const char *f = md_util_path_join(unit_pool, dir, "md.json");
    const char *bad = md_util_path_join(unit_pool, dir, "bad.json");
    md_json_t *json = md_json_create(unit_pool), *back = NULL;
    const char *err = NULL;

    ck_assert_int_eq(APR_ENOENT, md_json_readf(&back, unit_pool, f, &err));
    md_json_sets("a.org", json, "name");
    md_json_setl(-1, json, "transitive");
    ck_assert_int_eq(APR_SUCCESS, md_json_writef(json, unit_pool, f, MD_FPROT_F_UONLY));
    ck_assert_int_eq(APR_SUCCESS, md_json_readf(&back, unit_pool, f, &err));
    ck_assert_str_eq("a.org", md_json_gets(back, "name"));
    ck_assert_int_eq(-1, md_json_getl(back, "transitive"));

    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(bad, "{oops", 5, MD_FPROT_F_UONLY, unit_pool));
    err = NULL;
    ck_assert_int_eq(APR_EINVAL, md_json_readf(&back, unit_pool, bad, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "bad.json"));
}
END_TEST

START_TEST(test_indent)
{
    md_json_t *json = md_json_create(unit_pool);
    const char *s;

    md_json_sets("b", json, "a");
    s = md_json_writep(json, unit_pool, MD_JSON_FMT_INDENT);
    ck_assert_str_eq("{\n  \"a\": \"b\"\n}", s);
}
END_TEST

Suite *suite_json(void)
{
    Suite *s = suite_create("json");
    TCase *tc = unit_tcase("json");

    tcase_add_test(tc, test_get_set_paths);
    tcase_add_test(tc, test_strings_copied);
    tcase_add_test(tc, test_arrays);
    tcase_add_test(tc, test_getj_clone);
    tcase_add_test(tc, test_readbuf);
    tcase_add_loop_test(tc, test_readbuf_garbage, 0, (int)(sizeof(garbage) / sizeof(garbage[0])));
    tcase_add_test(tc, test_readbuf_too_large);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_indent);
    suite_add_tcase(s, tc);
    return s;
}
