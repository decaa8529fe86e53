/* test_main: runs all unit test suites (Check). Set MD_UNIT_LOG=1 to see core log output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "md_log.h"
#include "md_util.h"
#include "md_crypt.h"
#include "unit.h"

apr_pool_t *unit_pool;

static int log_level(void *baton, apr_pool_t *p, md_log_level_t level)
{
    (void)baton;
    (void)p;
    (void)level;
    return getenv("MD_UNIT_LOG") != NULL;
}

static void log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                      const char *msg, void *baton, apr_pool_t *p)
{
    (void)baton;
    (void)p;
    fprintf(stderr, "[%s] %s:%d (%d) %s\n", md_log_level_name(level), file, line, rv, msg);
}

void unit_setup(void)
{
    ck_assert_int_eq(APR_SUCCESS, apr_pool_create(&unit_pool, NULL));
}

void unit_teardown(void)
{
    apr_pool_destroy(unit_pool);
    unit_pool = NULL;
}

static apr_status_t tmpdir_cleanup(void *data)
{
    apr_pool_t *p = NULL;

    if (APR_SUCCESS == apr_pool_create(&p, NULL)) {
        md_util_rm_recursive(data, p);
        apr_pool_destroy(p);
    }
    return APR_SUCCESS;
}

apr_array_header_t *unit_words(const char *s)
{
    apr_array_header_t *a = apr_array_make(unit_pool, 5, sizeof(const char *));
    char *last = NULL;
    char *tok = apr_strtok(apr_pstrdup(unit_pool, s), " ", &last);

    while (tok) {
        APR_ARRAY_PUSH(a, const char *) = tok;
        tok = apr_strtok(NULL, " ", &last);
    }
    return a;
}

const char *unit_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = apr_pstrcat(unit_pool, (base && *base) ? base : "/tmp", "/md-unit-XXXXXX",
                             (const char *)NULL);

    ck_assert_ptr_nonnull(mkdtemp(path));
    apr_pool_cleanup_register(unit_pool, path, tmpdir_cleanup, apr_pool_cleanup_null);
    return path;
}

md_pkey_t *unit_key(const char *kind)
{
    static char *cache[3];
    static apr_size_t cache_len[3];
    md_pkey_spec_t spec = { MD_PKEY_TYPE_RSA, 2048, NULL };
    md_pkey_t *pkey = NULL;
    const char *pem = NULL;
    apr_size_t len = 0;
    int i = 0;

    if (!strcmp(kind, "P-256") || !strcmp(kind, "P-384")) {
        i = (kind[2] == '2') ? 1 : 2;
        spec.type = MD_PKEY_TYPE_EC;
        spec.curve = (i == 1) ? "secp256r1" : "secp384r1";
    }
    if (!cache[i]) {
        ck_assert_int_eq(APR_SUCCESS, md_pkey_gen(&pkey, unit_pool, &spec));
        ck_assert_int_eq(APR_SUCCESS, md_pkey_to_pem(&pem, &len, pkey, NULL, 0, unit_pool));
        cache[i] = malloc(len + 1);
        ck_assert_ptr_nonnull(cache[i]);
        memcpy(cache[i], pem, len + 1);
        cache_len[i] = len;
        return pkey;
    }
    ck_assert_int_eq(APR_SUCCESS,
                     md_pkey_from_pem(&pkey, unit_pool, cache[i], cache_len[i], NULL, 0));
    return pkey;
}

TCase *unit_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, unit_setup, unit_teardown);
    tcase_set_timeout(tc, 120);
    return tc;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    atexit(apr_terminate);
    md_log_set(log_level, log_print, NULL);

    sr = srunner_create(suite_util());
    srunner_add_suite(sr, suite_json());
    srunner_add_suite(sr, suite_crypt());
    srunner_add_suite(sr, suite_jws());
    srunner_add_suite(sr, suite_time());
    srunner_add_suite(sr, suite_md());
    srunner_add_suite(sr, suite_store());
    srunner_add_suite(sr, suite_store_lock());
    srunner_add_suite(sr, suite_etcd());
    srunner_add_suite(sr, suite_renew());
    srunner_add_suite(sr, suite_ocsp());
    srunner_add_suite(sr, suite_acme());
    srunner_add_suite(sr, suite_job());
    srunner_add_suite(sr, suite_parsers());
    srunner_add_suite(sr, suite_names());
    srunner_add_suite(sr, suite_admin());
    srunner_add_suite(sr, suite_status());
    srunner_add_suite(sr, suite_hot());
    srunner_add_suite(sr, suite_proc());
    /* further suites: declare in unit.h and add a line here */

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
