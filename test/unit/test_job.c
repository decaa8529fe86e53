/* test_job: job.json records (md_job.c). */
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "md.h"
#include "md_json.h"
#include "md_util.h"
#include "md_job.h"
#include "md_store_fs.h"
#include "unit.h"

#define NOW apr_time_from_sec(1800000000)
#define DAY_USEC apr_time_from_sec(86400)

START_TEST(job_records_attempts_newest_first)
{
    md_store_t *store = NULL;
    md_result_t *result = md_result_make("a.org", unit_pool);
    md_json_t *job = NULL;
    apr_array_header_t *log = apr_array_make(unit_pool, 5, sizeof(md_json_t *));
    int i;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    md_result_problem_set(result, APR_EINVAL, "urn:ietf:params:acme:error:connection",
                          "could not connect");
    ck_assert_int_eq(APR_SUCCESS, md_job_record(store, "a.org", 0, 1, result, NOW + 5000000, NOW,
                                                unit_pool));
    md_result_reset(result);
    md_result_set(result, APR_SUCCESS, "certificate staged");
    ck_assert_int_eq(APR_SUCCESS, md_job_record(store, "a.org", 1, 0, result, 0, NOW + 10000000,
                                                unit_pool));

    ck_assert_int_eq(APR_SUCCESS, md_store_load_json(store, MD_SG_STAGING, "a.org", "job.json",
                                                     &job, unit_pool));
    ck_assert(md_json_getb(job, "finished"));
    ck_assert_int_eq(0, md_json_getl(job, "errors"));
    ck_assert(!md_json_has_key(job, "next-run"));
    ck_assert_int_eq(APR_SUCCESS, md_json_geta(log, job, "log", "entries"));
    ck_assert_int_eq(2, log->nelts);
    ck_assert_str_eq("finished", md_json_gets(APR_ARRAY_IDX(log, 0, md_json_t *), "type"));
    ck_assert_ptr_nonnull(strstr(md_json_gets(APR_ARRAY_IDX(log, 1, md_json_t *), "detail"),
                                 "urn:ietf:params:acme:error:connection"));

    /* the log is bounded */
    for (i = 0; i < MD_JOB_LOG_MAX + 5; ++i) {
        md_job_record(store, "a.org", 0, i, result, 0, NOW, unit_pool);
    }
    md_store_load_json(store, MD_SG_STAGING, "a.org", "job.json", &job, unit_pool);
    log = apr_array_make(unit_pool, 5, sizeof(md_json_t *));
    md_json_geta(log, job, "log", "entries");
    ck_assert_int_eq(MD_JOB_LOG_MAX, log->nelts);
}
END_TEST

START_TEST(job_sets_broken_file_aside)
{
    const char *dir = unit_tmpdir();
    md_store_t *store = NULL;
    md_result_t *result = md_result_make("b.org", unit_pool);
    md_json_t *job = NULL;
    apr_dir_t *d = NULL;
    apr_finfo_t finfo;
    const char *path;
    int found = 0;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, dir, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_STAGING, "b.org", "job.json",
                                                MD_SV_TEXT, "{ not json", unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_job_record(store, "b.org", 0, 1, result, 0, NOW, unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_store_load_json(store, MD_SG_STAGING, "b.org", "job.json",
                                                     &job, unit_pool));
    ck_assert_int_eq(1, md_json_getl(job, "errors"));
    /* the broken file is kept for inspection */
    path = apr_pstrcat(unit_pool, dir, "/staging/b.org", NULL);
    ck_assert_int_eq(APR_SUCCESS, apr_dir_open(&d, path, unit_pool));
    while (APR_SUCCESS == apr_dir_read(&finfo, APR_FINFO_NAME, d)) {
        found |= (strstr(finfo.name, "job.json.broken-") != NULL);
    }
    apr_dir_close(d);
    ck_assert(found);
}
END_TEST

START_TEST(job_restore_continues_and_sets_aside)
{
    md_store_t *store = NULL;
    md_result_t *result = md_result_make("c.org", unit_pool);
    md_json_t *job = NULL;
    apr_time_t next = 0;
    int errors = -1;

    ck_assert_int_eq(APR_SUCCESS, md_store_fs_open(&store, unit_tmpdir(), unit_pool));
    /* nothing recorded: start afresh */
    md_job_restore(&errors, &next, store, "c.org", DAY_USEC, NOW, unit_pool);
    ck_assert_int_eq(0, errors);
    ck_assert_int_eq(0, next);
    /* an unfinished job with 3 errors continues (times have second precision in the file) */
    md_result_set(result, APR_EAGAIN, "CA unreachable");
    md_job_record(store, "c.org", 0, 3, result, NOW + apr_time_from_sec(60), NOW, unit_pool);
    md_job_restore(&errors, &next, store, "c.org", DAY_USEC, NOW, unit_pool);
    ck_assert_int_eq(3, errors);
    ck_assert_int_eq(NOW + apr_time_from_sec(60), next);
    /* a next run beyond max_wait is cut */
    md_job_restore(&errors, &next, store, "c.org", apr_time_from_sec(10), NOW, unit_pool);
    ck_assert_int_eq(NOW + apr_time_from_sec(10), next);
    /* ... unless the CA limited us: its Retry-After holds over restarts */
    md_result_problem_set(result, APR_EAGAIN, "urn:ietf:params:acme:error:rateLimited", "slow");
    md_job_record(store, "c.org", 0, 4, result, NOW + DAY_USEC, NOW, unit_pool);
    md_job_restore(&errors, &next, store, "c.org", apr_time_from_sec(10), NOW, unit_pool);
    ck_assert_int_eq(NOW + DAY_USEC, next);
    /* another MD's file is stale: set aside, fresh start */
    ck_assert_int_eq(APR_SUCCESS, md_store_save(store, MD_SG_STAGING, "c.org", "job.json",
                                                MD_SV_TEXT, "{\"name\":\"x.org\",\"errors\":5}",
                                                unit_pool));
    md_job_restore(&errors, &next, store, "c.org", DAY_USEC, NOW, unit_pool);
    ck_assert_int_eq(0, errors);
    ck_assert_int_eq(APR_ENOENT, md_job_load(&job, store, MD_SG_STAGING, "c.org", unit_pool));
    /* corrupt: set aside */
    md_store_save(store, MD_SG_STAGING, "c.org", "job.json", MD_SV_TEXT, "[1,2", unit_pool);
    md_job_restore(&errors, &next, store, "c.org", DAY_USEC, NOW, unit_pool);
    ck_assert_int_eq(0, errors);
}
END_TEST

Suite *suite_job(void)
{
    Suite *s = suite_create("job");
    TCase *tc = unit_tcase("record");

    tcase_add_test(tc, job_records_attempts_newest_first);
    tcase_add_test(tc, job_restore_continues_and_sets_aside);
    tcase_add_test(tc, job_sets_broken_file_aside);
    suite_add_tcase(s, tc);
    return s;
}
