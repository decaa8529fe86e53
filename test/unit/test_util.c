/* test_util: base64url, hex, names, string arrays and file helpers of md_util. */
#include <string.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <apr_file_info.h>

#include "md_util.h"
#include "unit.h"

/* RFC 4648 10 test vectors, in base64url without padding */
static const struct {
    const char *plain;
    const char *enc;
} b64_vectors[] = {
    { "", "" },           { "f", "Zg" },          { "fo", "Zm8" },          { "foo", "Zm9v" },
    { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
};

START_TEST(test_b64url_vectors)
{
    const char *plain = b64_vectors[_i].plain;
    unsigned char *dec = NULL;
    apr_ssize_t n;

    ck_assert_str_eq(b64_vectors[_i].enc, md_util_base64url_encode((const unsigned char *)plain,
                                                                   strlen(plain), unit_pool));
    n = md_util_base64url_decode(&dec, b64_vectors[_i].enc, unit_pool);
    ck_assert_int_eq(n, (apr_ssize_t)strlen(plain));
    ck_assert_mem_eq(dec, plain, strlen(plain));
    ck_assert_int_eq(dec[n], 0);
}
END_TEST

START_TEST(test_b64url_alphabet)
{
    static const unsigned char data[] = { 0xfb, 0xff, 0xbf, 0x00, 0x10 };
    unsigned char *dec = NULL;
    const char *enc = md_util_base64url_encode(data, sizeof(data), unit_pool);

    /* standard base64 would be "+/+/ABA=" */
    ck_assert_str_eq("-_-_ABA", enc);
    ck_assert_int_eq(5, md_util_base64url_decode(&dec, enc, unit_pool));
    ck_assert_mem_eq(data, dec, sizeof(data));
    /* padding is tolerated */
    ck_assert_int_eq(1, md_util_base64url_decode(&dec, "Zg==", unit_pool));
    ck_assert_int_eq('f', dec[0]);
}
END_TEST

static const char *b64_invalid[] = { "Zm9v!", "Z", "Zm9vY", "+/8", "Zm 9v", "Zg=a", "é" };

START_TEST(test_b64url_invalid)
{
    unsigned char *dec = NULL;

    ck_assert_int_eq(-1, md_util_base64url_decode(&dec, b64_invalid[_i], unit_pool));
}
END_TEST

START_TEST(test_hex)
{
    static const unsigned char data[] = { 0x00, 0xab, 0xff, 0x10 };

    ck_assert_str_eq("00abff10", md_util_hex(data, sizeof(data), 0, unit_pool));
    ck_assert_str_eq("00:ab:ff:10", md_util_hex(data, sizeof(data), ':', unit_pool));
    ck_assert_str_eq("", md_util_hex(data, 0, ':', unit_pool));
}
END_TEST

START_TEST(test_path_join)
{
    ck_assert_str_eq("a/b/c", md_util_path_join(unit_pool, "a", "b", "c"));
    ck_assert_str_eq("/x", md_util_path_join(unit_pool, "/x"));
}
END_TEST

static const struct {
    const char *name;
    int wildcard;
    int single;
    int expect;
} dns_cases[] = {
    { "example.org", 0, 0, 1 },
    { "a-b.c.example.org", 0, 0, 1 },
    { "EXAMPLE.org", 0, 0, 1 },
    { "localhost", 0, 0, 0 },
    { "localhost", 0, 1, 1 },
    { "*.example.org", 0, 0, 0 },
    { "*.example.org", 1, 0, 1 },
    { "a.*.example.org", 1, 0, 0 },
    { "-a.example.org", 0, 0, 0 },
    { "a-.example.org", 0, 0, 0 },
    { "a..example.org", 0, 0, 0 },
    { "example.org.", 0, 0, 0 },
    { ".example.org", 0, 0, 0 },
    { "exa mple.org", 0, 0, 0 },
    { "exa_mple.org", 0, 0, 0 },
    { "1.2.3.4", 0, 1, 0 },
    { "::1", 0, 1, 0 },
    { "", 0, 1, 0 },
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", 0, 0, 1 },  /* 63 */
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", 0, 0, 0 }, /* 64 */
};

START_TEST(test_dns_name)
{
    ck_assert_msg(dns_cases[_i].expect
                      == md_util_is_dns_name(dns_cases[_i].name, dns_cases[_i].wildcard,
                                             dns_cases[_i].single),
                  "md_util_is_dns_name('%s', %d, %d) != %d", dns_cases[_i].name,
                  dns_cases[_i].wildcard, dns_cases[_i].single, dns_cases[_i].expect);
}
END_TEST

START_TEST(test_dns_name_length)
{
    char name[300];
    int i;

    /* 4 labels of 63 plus 3 dots = 255 > 253 */
    for (i = 0; i < 255; ++i) {
        name[i] = (i % 64 == 63) ? '.' : 'a';
    }
    name[255] = '\0';
    ck_assert(!md_util_is_dns_name(name, 0, 0));
    name[251] = '\0'; /* 251 chars, last label 59 */
    ck_assert(md_util_is_dns_name(name, 0, 0));
}
END_TEST

START_TEST(test_is_ip)
{
    ck_assert(md_util_is_ip("127.0.0.1"));
    ck_assert(md_util_is_ip("::1"));
    ck_assert(md_util_is_ip("2001:db8::42"));
    ck_assert(!md_util_is_ip("example.org"));
    ck_assert(!md_util_is_ip("1.2.3"));
    ck_assert(!md_util_is_ip("256.1.1.1"));
    ck_assert(!md_util_is_ip(NULL));
}
END_TEST

START_TEST(test_arrays)
{
    apr_array_header_t *a = unit_words("a.org B.org c.org"), *b = unit_words("c.org a.org b.ORG");
    apr_array_header_t *m, *c;

    ck_assert_int_eq(1, md_array_str_index(a, "b.org", 0, 0));
    ck_assert_int_eq(-1, md_array_str_index(a, "b.org", 0, 1));
    ck_assert_int_eq(-1, md_array_str_index(a, "a.org", 1, 0));
    ck_assert(md_array_str_eq_set(a, b));
    ck_assert(!md_array_str_eq_set(a, unit_words("a.org b.org")));
    m = md_array_str_minus(a, unit_words("b.org"), unit_pool);
    ck_assert_str_eq("a.org,c.org", md_array_str_join(m, ",", unit_pool));
    c = md_array_str_clone(unit_pool, a);
    ck_assert_int_eq(3, c->nelts);
    ck_assert_ptr_ne(APR_ARRAY_IDX(c, 0, const char *), APR_ARRAY_IDX(a, 0, const char *));
    ck_assert(!md_array_str_add_missing(c, "C.ORG", unit_pool));
    ck_assert(md_array_str_add_missing(c, "d.org", unit_pool));
    ck_assert_int_eq(4, c->nelts);
    ck_assert_str_eq("", md_array_str_join(unit_words(""), ",", unit_pool));
    ck_assert_str_eq("abc.org", md_util_str_tolower("AbC.Org", unit_pool));
}
END_TEST

static int dir_entries(const char *dpath)
{
    apr_dir_t *dir = NULL;
    apr_finfo_t finfo;
    int n = 0;

    ck_assert_int_eq(APR_SUCCESS, apr_dir_open(&dir, dpath, unit_pool));
    while (APR_SUCCESS == apr_dir_read(&finfo, APR_FINFO_NAME, dir)) {
        if (strcmp(finfo.name, ".") && strcmp(finfo.name, "..")) {
            ++n;
        }
    }
    apr_dir_close(dir);
    return n;
}

START_TEST(test_write_atomic)
{
    const char *dir = unit_tmpdir();
    const char *fpath = md_util_path_join(unit_pool, dir, "key.pem");
    char *data = NULL;
    apr_size_t len = 0;
    struct stat st;

    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(fpath, "secret\n", 7, MD_FPROT_F_UONLY, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_file_read(&data, &len, fpath, 1000, unit_pool));
    ck_assert_uint_eq(7, len);
    ck_assert_str_eq("secret\n", data);
    ck_assert_int_eq(0, stat(fpath, &st));
    ck_assert_int_eq(0600, st.st_mode & 07777);
    ck_assert_int_eq(1, dir_entries(dir));

    /* replace, with other permissions */
    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(fpath, "new", 3, MD_FPROT_F_UALL_WREAD, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_file_read(&data, &len, fpath, 1000, unit_pool));
    ck_assert_str_eq("new", data);
    ck_assert_int_eq(0, stat(fpath, &st));
    ck_assert_int_eq(0644, st.st_mode & 07777);
    ck_assert_int_eq(1, dir_entries(dir));

    /* empty content */
    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(fpath, "", 0, MD_FPROT_F_UONLY, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_file_read(&data, &len, fpath, 1000, unit_pool));
    ck_assert_uint_eq(0, len);
    ck_assert_str_eq("", data);
}
END_TEST

START_TEST(test_write_atomic_fail)
{
    const char *dir = unit_tmpdir();
    const char *missing = md_util_path_join(unit_pool, dir, "nodir", "f.json");
    const char *sub = md_util_path_join(unit_pool, dir, "sub");
    const char *inner = md_util_path_join(unit_pool, sub, "x");

    ck_assert_int_ne(APR_SUCCESS,
                     md_util_file_write_atomic(missing, "x", 1, MD_FPROT_F_UONLY, unit_pool));
    ck_assert_int_eq(0, dir_entries(dir));

    /* rename over a non-empty directory fails after the temp file was written */
    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(sub, MD_FPROT_D_UONLY, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(inner, "x", 1, MD_FPROT_F_UONLY, unit_pool));
    ck_assert_int_ne(APR_SUCCESS,
                     md_util_file_write_atomic(sub, "x", 1, MD_FPROT_F_UONLY, unit_pool));
    ck_assert_int_eq(1, dir_entries(dir));
    ck_assert_int_eq(APR_SUCCESS, md_util_is_dir(sub, unit_pool));
}
END_TEST

START_TEST(test_files)
{
    const char *dir = unit_tmpdir();
    const char *deep = md_util_path_join(unit_pool, dir, "a", "b", "c");
    const char *f = md_util_path_join(unit_pool, deep, "f.txt");
    char *data = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(deep, MD_FPROT_D_UONLY, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_dir_make(deep, MD_FPROT_D_UONLY, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_is_dir(deep, unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_util_is_file(f, unit_pool));
    ck_assert_int_eq(APR_ENOENT, md_util_file_read(&data, &len, f, 100, unit_pool));
    ck_assert_int_eq(APR_SUCCESS,
                     md_util_file_write_atomic(f, "0123456789", 10, MD_FPROT_F_UONLY, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_is_file(f, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_util_is_dir(f, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_util_is_file(deep, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_util_file_read(&data, &len, f, 9, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_util_file_read(&data, &len, f, 10, unit_pool));

    ck_assert_int_eq(APR_SUCCESS, md_util_rm_recursive(md_util_path_join(unit_pool, dir, "a"),
                                                       unit_pool));
    ck_assert_int_eq(0, dir_entries(dir));
    ck_assert_int_eq(APR_SUCCESS, md_util_rm_recursive(deep, unit_pool)); /* missing is fine */
}
END_TEST

START_TEST(test_rand)
{
    unsigned char a[32], b[32];

    ck_assert_int_eq(APR_SUCCESS, md_util_rand_bytes(a, sizeof(a)));
    ck_assert_int_eq(APR_SUCCESS, md_util_rand_bytes(b, sizeof(b)));
    ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

/* the shared pool is independent of every other pool: it survives the one used around it */
START_TEST(test_shared_pool)
{
    apr_pool_t *sp = NULL, *tmp = NULL;
    apr_thread_mutex_t *mutex = NULL;
    char *s;

    apr_pool_create(&tmp, unit_pool);
    ck_assert_int_eq(APR_SUCCESS, md_util_shared_pool_create(&sp, &mutex));
    ck_assert_ptr_nonnull(sp);
    ck_assert_ptr_nonnull(mutex);
    ck_assert_ptr_null(apr_pool_parent_get(sp));
    ck_assert_int_eq(APR_SUCCESS, apr_thread_mutex_lock(mutex));
    s = apr_pstrdup(sp, "kept");
    ck_assert_int_eq(APR_SUCCESS, apr_thread_mutex_unlock(mutex));
    apr_pool_destroy(tmp);
    ck_assert_str_eq("kept", s);
    apr_pool_destroy(sp);
}
END_TEST

/* RFC 8738 6 and RFC 5952 */
static const struct {
    const char *in, *ip;
} arpa_cases[] = {
    { "1.0.0.127.in-addr.arpa", "127.0.0.1" },
    { "10.2.0.192.IN-ADDR.ARPA", "192.0.2.10" },
    { "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", "::1" },
    { "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa",
      "4321:0:1:2:3:4:567:89ab" },
    { "0.0.127.in-addr.arpa", NULL },
    { "1.0.0.0.127.in-addr.arpa", NULL },
    { "1.0.0.256.in-addr.arpa", NULL },
    { "x.0.0.127.in-addr.arpa", NULL },
    { "1.0.0.0.ip6.arpa", NULL },
    { "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", NULL },
    { "www.example.org", NULL },
    { "in-addr.arpa", NULL },
};

START_TEST(test_ip_from_arpa)
{
    const char *ip = md_util_ip_from_arpa(arpa_cases[_i].in, unit_pool);

    if (arpa_cases[_i].ip) {
        ck_assert_ptr_nonnull(ip);
        ck_assert_str_eq(arpa_cases[_i].ip, ip);
    }
    else {
        ck_assert_ptr_null(ip);
    }
}
END_TEST

START_TEST(test_ip_canonical)
{
    ck_assert_str_eq("::1", md_util_ip_canonical("0:0:0:0:0:0:0:1", unit_pool));
    ck_assert_str_eq("2001:db8::1", md_util_ip_canonical("2001:DB8:0:0::1", unit_pool));
    ck_assert_str_eq("192.0.2.1", md_util_ip_canonical("192.0.2.1", unit_pool));
    ck_assert_str_eq("a.example.org", md_util_ip_canonical("a.example.org", unit_pool));
}
END_TEST

Suite *suite_util(void)
{
    Suite *s = suite_create("util");
    TCase *tc = unit_tcase("util");

    tcase_add_loop_test(tc, test_b64url_vectors, 0,
                        (int)(sizeof(b64_vectors) / sizeof(b64_vectors[0])));
    tcase_add_test(tc, test_b64url_alphabet);
    tcase_add_loop_test(tc, test_b64url_invalid, 0,
                        (int)(sizeof(b64_invalid) / sizeof(b64_invalid[0])));
    tcase_add_test(tc, test_hex);
    tcase_add_test(tc, test_path_join);
    tcase_add_loop_test(tc, test_dns_name, 0, (int)(sizeof(dns_cases) / sizeof(dns_cases[0])));
    tcase_add_test(tc, test_dns_name_length);
    tcase_add_test(tc, test_is_ip);
    tcase_add_loop_test(tc, test_ip_from_arpa, 0, sizeof(arpa_cases) / sizeof(arpa_cases[0]));
    tcase_add_test(tc, test_ip_canonical);
    tcase_add_test(tc, test_arrays);
    tcase_add_test(tc, test_write_atomic);
    tcase_add_test(tc, test_write_atomic_fail);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_rand);
    tcase_add_test(tc, test_shared_pool);
    suite_add_tcase(s, tc);
    return s;
}
