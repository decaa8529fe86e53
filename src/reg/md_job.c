/* md_job: job.json of a renewal (see md_job.h). */
#include <string.h>

#include <apr_errno.h>
#include <apr_strings.h>

#include "md.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_log.h"
#include "md_time.h"
#include "md_job.h"

static void set_aside(md_store_t *store, const char *name, const char *why, apr_pool_t *p)
{
    const char *newname = NULL;

    md_store_set_aside(&newname, store, MD_SG_STAGING, name, MD_FN_JOB, p);
    md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p,
                  APLOGNO(12600) "%s: staging/%s/job.json %s, set aside as %s; the renewal "
                                 "starts a new record",
                  name, name, why, newname ? newname : "?");
}

apr_status_t md_job_load(md_json_t **pjob, md_store_t *store, md_store_group_t group,
                         const char *name, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    *pjob = NULL;
    rv = md_store_load_json(store, group, name, MD_FN_JOB, &json, p);
    if (APR_SUCCESS != rv) {
        return (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_EAGAIN(rv)) ? rv : APR_EINVAL;
    }
    if (!md_json_is_object(json)) {
        return APR_EINVAL;
    }
    *pjob = json;
    return APR_SUCCESS;
}

/* NULL while the store cannot be read (APR_EAGAIN): the record is left as it is. */
static md_json_t *load_job(md_store_t *store, const char *name, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    rv = md_job_load(&json, store, MD_SG_STAGING, name, p);
    if (APR_SUCCESS == rv) {
        return json;
    }
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return NULL;
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        set_aside(store, name, "is not a job record", p);
    }
    json = md_json_create(p);
    md_json_sets(name, json, MD_KEY_NAME);
    return json;
}

void md_job_describe_last(md_json_t *last, apr_pool_t *p)
{
    char buf[256];
    long status;

    if (!last || !md_json_is_object(last) || md_json_has_key(last, MD_KEY_STATUS_DESCRIPTION)) {
        return;
    }
    status = md_json_getl(last, MD_KEY_STATUS);
    if (status) {
        md_json_sets(apr_pstrdup(p, apr_strerror((apr_status_t)status, buf, sizeof(buf))), last,
                     MD_KEY_STATUS_DESCRIPTION);
    }
}

static md_json_t *result_json(const md_result_t *result, int finished, apr_time_t now,
                              apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    md_json_setl((long)result->status, json, MD_KEY_STATUS);
    md_job_describe_last(json, p);
    if (finished) {
        md_json_sets(md_time_http(now, p), json, MD_KEY_VALID_FROM);
    }
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

/* Prepend an entry to the log; older versions wrote "log" as a plain array, read that too. */
static void log_add(md_json_t *job, const char *type, const char *detail, apr_time_t now,
                    apr_pool_t *p)
{
    md_json_t *log = md_json_create_array(p), *entry = md_json_create(p);
    apr_array_header_t *old = apr_array_make(p, MD_JOB_LOG_MAX, sizeof(md_json_t *));
    int i;

    md_json_sets(md_time_http(now, p), entry, MD_KEY_WHEN);
    md_json_sets(type, entry, MD_KEY_TYPE);
    if (detail) {
        md_json_sets(detail, entry, MD_KEY_DETAIL);
    }
    md_json_array_append(log, entry);
    if (APR_SUCCESS != md_json_geta(old, job, MD_KEY_LOG, MD_KEY_ENTRIES)) {
        md_json_geta(old, job, MD_KEY_LOG);
    }
    for (i = 0; i < old->nelts && i + 1 < MD_JOB_LOG_MAX; ++i) {
        md_json_array_append(log, APR_ARRAY_IDX(old, i, md_json_t *));
    }
    md_json_del(job, MD_KEY_LOG);
    md_json_setj(log, job, MD_KEY_LOG, MD_KEY_ENTRIES);
}

apr_status_t md_job_record(md_store_t *store, const char *name, int finished, int errors,
                           const md_result_t *result, apr_time_t next_run, apr_time_t now,
                           apr_pool_t *p)
{
    md_json_t *job = load_job(store, name, p);

    if (!job) {
        return APR_EAGAIN;
    }
    md_json_sets(name, job, MD_KEY_NAME);
    md_json_setb(finished, job, MD_KEY_FINISHED);
    if (!md_json_has_key(job, MD_KEY_NOTIFIED) || !finished) {
        md_json_setb(0, job, MD_KEY_NOTIFIED);
        md_json_setb(0, job, MD_KEY_NOTIFIED_RENEWED);
    }
    md_json_setl(errors, job, MD_KEY_ERRORS);
    md_json_setj(result_json(result, finished, now, p), job, MD_KEY_LAST);
    md_json_sets(md_time_http(now, p), job, MD_KEY_LAST_RUN);
    if (finished) {
        md_json_sets(md_time_http(now, p), job, MD_KEY_VALID_FROM);
    }
    if (next_run) {
        md_json_sets(md_time_http(next_run, p), job, MD_KEY_NEXT_RUN);
    }
    else {
        md_json_del(job, MD_KEY_NEXT_RUN);
    }
    log_add(job, APR_SUCCESS == result->status ? (finished ? "finished" : "progress") : "error",
            md_result_to_text(result, p), now, p);
    return md_store_save_regenerable(store, MD_SG_STAGING, name, MD_FN_JOB, MD_SV_JSON, job, p);
}

apr_status_t md_job_note(md_store_t *store, const char *name, const char *type, const char *detail,
                         int notified, apr_time_t now, apr_pool_t *p)
{
    md_json_t *job = load_job(store, name, p);

    if (!job) {
        return APR_EAGAIN;
    }
    log_add(job, type, detail, now, p);
    if (notified) {
        md_json_setb(1, job, MD_KEY_NOTIFIED);
        md_json_setb(1, job, MD_KEY_NOTIFIED_RENEWED);
    }
    return md_store_save_regenerable(store, MD_SG_STAGING, name, MD_FN_JOB, MD_SV_JSON, job, p);
}

void md_job_restore(int *perrors, apr_time_t *pnext_run, md_store_t *store, const char *name,
                    apr_interval_time_t max_wait, apr_time_t now, apr_pool_t *p)
{
    md_json_t *job = NULL;
    const char *jname, *next_s, *problem;
    apr_time_t next = 0;
    apr_status_t rv;

    *perrors = 0;
    *pnext_run = 0;
    rv = md_job_load(&job, store, MD_SG_STAGING, name, p);
    if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_EAGAIN(rv)) {
        return;
    }
    if (APR_SUCCESS != rv) {
        set_aside(store, name, "is not a job record", p);
        return;
    }
    jname = md_json_gets(job, MD_KEY_NAME);
    if (!jname || strcmp(jname, name)) {
        set_aside(store, name, "belongs to another Managed Domain", p);
        return;
    }
    next_s = md_json_gets(job, MD_KEY_NEXT_RUN);
    if (next_s) {
        next = md_time_parse_any(next_s);
        if (!next) {
            set_aside(store, name, "has an unreadable next-run time", p);
            return;
        }
    }
    if (md_json_getb(job, MD_KEY_FINISHED)) {
        return;
    }
    *perrors = (int)md_json_getl(job, MD_KEY_ERRORS);
    if (*perrors < 0 || *perrors > 1000) {
        *perrors = 0;
    }
    problem = md_json_gets(job, MD_KEY_LAST, MD_KEY_PROBLEM);
    if (problem && !strcmp(problem, "urn:ietf:params:acme:error:rateLimited")) {
        /* a CA that limits us is never asked again before its Retry-After, restart or not */
        max_wait = (next > now) ? next - now : 0;
    }
    *pnext_run = (next > now + max_wait) ? now + max_wait : next;
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(12601) "%s: continuing the renewal job (%d errors so far, next run %s)",
                  name, *perrors, *pnext_run ? md_time_http(*pnext_run, p) : "when due");
}
