/* md_job: job.json of a renewal (see md_job.h). */
#include "md.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_time.h"
#include "md_job.h"

static md_json_t *load_job(md_store_t *store, const char *name, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    rv = md_store_load_json(store, MD_SG_STAGING, name, MD_FN_JOB, &json, p);
    if (APR_SUCCESS == rv && md_json_is_object(json)) {
        return json;
    }
    if (APR_SUCCESS == rv || !APR_STATUS_IS_ENOENT(rv)) {
        md_store_set_aside(NULL, store, MD_SG_STAGING, name, MD_FN_JOB, p);
    }
    return md_json_create(p);
}

static md_json_t *result_json(const md_result_t *result, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    md_json_setl((long)result->status, json, MD_KEY_STATUS);
    if (result->problem) {
        md_json_sets(result->problem, json, MD_KEY_PROBLEM);
    }
    if (result->detail) {
        md_json_sets(result->detail, json, MD_KEY_DETAIL);
    }
    if (result->activity) {
        md_json_sets(result->activity, json, MD_KEY_ACTIVITY);
    }
    return json;
}

static md_json_t *new_log(const md_json_t *job, const md_result_t *result, apr_time_t now,
                          apr_pool_t *p)
{
    md_json_t *log = md_json_create_array(p), *entry = md_json_create(p);
    apr_array_header_t *old = apr_array_make(p, MD_JOB_LOG_MAX, sizeof(md_json_t *));
    int i;

    md_json_sets(md_time_rfc3339(now, p), entry, MD_KEY_WHEN);
    md_json_sets(APR_SUCCESS == result->status ? "progress" : "error", entry, MD_KEY_TYPE);
    md_json_sets(md_result_to_text(result, p), entry, MD_KEY_DETAIL);
    md_json_array_append(log, entry);
    md_json_geta(old, job, MD_KEY_LOG);
    for (i = 0; i < old->nelts && i + 1 < MD_JOB_LOG_MAX; ++i) {
        md_json_array_append(log, APR_ARRAY_IDX(old, i, md_json_t *));
    }
    return log;
}

apr_status_t md_job_record(md_store_t *store, const char *name, int finished, int errors,
                           const md_result_t *result, apr_time_t next_run, apr_time_t now,
                           apr_pool_t *p)
{
    md_json_t *job = load_job(store, name, p);

    md_json_sets(name, job, MD_KEY_NAME);
    md_json_setb(finished, job, MD_KEY_FINISHED);
    md_json_setl(errors, job, MD_KEY_ERRORS);
    md_json_setj(result_json(result, p), job, MD_KEY_LAST);
    md_json_sets(md_time_rfc3339(now, p), job, MD_KEY_LAST_RUN);
    if (next_run) {
        md_json_sets(md_time_rfc3339(next_run, p), job, MD_KEY_NEXT_RUN);
    }
    else {
        md_json_del(job, MD_KEY_NEXT_RUN);
    }
    md_json_setj(new_log(job, result, now, p), job, MD_KEY_LOG);
    return md_store_save_json(store, MD_SG_STAGING, name, MD_FN_JOB, job, p);
}
