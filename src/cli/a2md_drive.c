/* a2md_drive: renewing MDs here, outside a server (a2md drive, and a2md renew when no running
 * server takes the request).
 *
 * For each MD (md_t as stored):
 *   1. assess it like the server would (md_reg_load_stored): not due and not forced, it is
 *      skipped; an MD in error, with an unknown protocol, without CA or without contact fails
 *   2. renew it into staging/ with the ACME drive, all MDs in parallel threads sharing one
 *      account cache as the server's jobs do (an MD is driven with the defaults the
 *      configuration would give it, and agrees to the terms when its md.json or -t says so)
 *   3. record the attempt in job.json, check the staged set and make it live (the account is
 *      installed, the old set archived), then write md.json as it was plus the account and
 *      state; a running server serves the new certificate after its next (graceful) restart
 */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "md_job.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_reg_admin.h"
#include "md_acme_drive.h"
#include "a2md.h"

typedef struct {
    a2md_t *a2md;
    const md_t *stored; /* as written in md.json */
    md_t *md;           /* what the drive works with */
    md_acme_acct_cache_t *cache;
    apr_array_header_t *challenges;
    md_result_t *result;
    apr_pool_t *p; /* the job's own (unmanaged) pool: the job may run on a thread */
    apr_status_t rv;
} drive_job_t;

static void log_event(void *baton, const char *type, const char *detail)
{
    drive_job_t *job = baton;

    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, job->p, APLOGNO(13331) "%s: %s: %s", job->md->name,
                  type, detail ? detail : "");
}

/* 1. APR_EEXIST: not due, nothing to do. */
static apr_status_t assess(drive_job_t *job, md_reg_t *reg, int force)
{
    a2md_t *a2md = job->a2md;
    const md_reg_item_t *item = md_reg_get(reg, job->stored->name);
    md_t *md;

    if (!item) {
        return a2md_fail(a2md, APR_ENOENT, "managed domain not found: %s", job->stored->name);
    }
    md = job->md = item->md;
    if (md->state == MD_S_ERROR) {
        return a2md_fail(a2md, APR_EINVAL,
                         "%s: is in error state: the server's error log says why, or run this "
                         "command with -vv",
                         md->name);
    }
    if (md->ca_proto && strcmp(md->ca_proto, MD_PROTO_ACME) != 0) {
        return a2md_fail(a2md, APR_ENOTIMPL, "%s: Unknown CA protocol '%s' (only %s is known)",
                         md->name, md->ca_proto, MD_PROTO_ACME);
    }
    if (!force && item->reason == MD_RENEW_NOT_DUE) {
        a2md_note(a2md, "%s: up-to-date: valid until %s, renewal due at %s (--force renews now)",
                  md->name, md_time_rfc3339(item->valid_until, a2md->p),
                  md_time_rfc3339(item->renew_at, a2md->p));
        return APR_EEXIST;
    }
    if (!md->contacts->nelts && !md->ca_account) {
        return a2md_fail(a2md, APR_INCOMPLETE,
                         "%s: No contact information for a new CA account: give one with "
                         "'a2md update %s contacts admin@example.org'",
                         md->name, md->name);
    }
    md->ca_url = a2md_ca_url(a2md, md);
    return md->ca_url ? APR_SUCCESS : APR_INCOMPLETE;
}

static apr_status_t prepare(drive_job_t *job, md_reg_t *reg, int force, int reset,
                            const char *challenge)
{
    a2md_t *a2md = job->a2md;
    md_t *md;
    apr_status_t rv;

    rv = assess(job, reg, force);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md = job->md;
    /* the operator agreed: in md.json ('update NAME agreement ...') or with -t */
    md->ca_agreement = (md->ca_agreement || a2md->tos) ? MD_TOS_ACCEPTED : NULL;
    job->challenges = apr_array_make(a2md->p, 2, sizeof(const char *));
    if (challenge) {
        APR_ARRAY_PUSH(job->challenges, const char *) = challenge;
    }
    else if (md->ca_challenges->nelts) {
        job->challenges = md->ca_challenges;
    }
    else {
        APR_ARRAY_PUSH(job->challenges, const char *) = "http-01";
    }
    if (reset) {
        md_store_purge(a2md->store, MD_SG_STAGING, md->name, a2md->p);
    }
    rv = apr_pool_create_unmanaged_ex(&job->p, NULL, NULL);
    if (APR_SUCCESS == rv) {
        job->result = md_result_make(md->name, job->p);
    }
    return rv;
}

/* 2. */
static void drive_one(drive_job_t *job)
{
    md_acme_driver_t driver;

    memset(&driver, 0, sizeof(driver));
    driver.store = job->a2md->store;
    driver.md = job->md;
    driver.http_config = &job->a2md->http_config;
    driver.acct_cache = job->cache;
    driver.challenges = job->challenges;
    driver.result = job->result;
    driver.event_cb = log_event;
    driver.event_baton = job;
    driver.poll_timeout = job->a2md->poll_timeout;
    job->rv = md_acme_drive_renew(&driver, job->p);
}

static void *APR_THREAD_FUNC drive_thread(apr_thread_t *thread, void *baton)
{
    drive_one(baton);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static void drive_all(apr_array_header_t *jobs, apr_pool_t *p)
{
    apr_array_header_t *threads = apr_array_make(p, jobs->nelts, sizeof(apr_thread_t *));
    apr_thread_t *thread = NULL;
    apr_status_t trv;
    int i;

    if (jobs->nelts == 1) {
        drive_one(APR_ARRAY_IDX(jobs, 0, drive_job_t *));
        return;
    }
    for (i = 0; i < jobs->nelts; ++i) {
        thread = NULL;
        if (APR_SUCCESS
            != apr_thread_create(&thread, NULL, drive_thread, APR_ARRAY_IDX(jobs, i, void *), p)) {
            drive_one(APR_ARRAY_IDX(jobs, i, drive_job_t *));
            thread = NULL;
        }
        APR_ARRAY_PUSH(threads, apr_thread_t *) = thread;
    }
    for (i = 0; i < threads->nelts; ++i) {
        thread = APR_ARRAY_IDX(threads, i, apr_thread_t *);
        if (thread) {
            apr_thread_join(&trv, thread);
        }
    }
}

/* 3. md.json as the operator wrote it, with what the renewal changed */
static apr_status_t write_md(drive_job_t *job, apr_pool_t *p)
{
    md_store_t *store = job->a2md->store;
    md_json_t *live_json = NULL;
    md_t *live = NULL, *md = md_clone(p, job->stored);
    apr_status_t rv;

    rv = md_reg_admin_load(&live, &live_json, store, md->name, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md->ca_account = live->ca_account;
    md->ca_url = live->ca_url;
    md->state = MD_S_COMPLETE;
    return md_reg_admin_save(store, md, live_json, p);
}

static int previous_errors(md_store_t *store, const char *name, apr_pool_t *p)
{
    md_json_t *job = NULL;

    return (APR_SUCCESS == md_job_load(&job, store, MD_SG_STAGING, name, p))
               ? (int)md_json_getl(job, MD_KEY_ERRORS)
               : 0;
}

static apr_status_t finish(drive_job_t *job, md_reg_t *reg)
{
    a2md_t *a2md = job->a2md;
    md_t *md = job->md;
    apr_time_t now = apr_time_now();
    apr_status_t rv = job->rv;

    if (APR_SUCCESS != rv) {
        md_job_record(a2md->store, md->name, 0, previous_errors(a2md->store, md->name, job->p) + 1,
                      job->result, 0, now, job->p);
        return a2md_fail(a2md, rv, "%s: renewal failed while %s: %s", md->name,
                         job->result->activity ? job->result->activity : "starting",
                         md_result_to_text(job->result, job->p));
    }
    md_job_record(a2md->store, md->name, 1, 0, job->result, 0, now, job->p);
    rv = md_reg_activate_staged(reg, md, job->result, job->p);
    if (APR_SUCCESS == rv) {
        rv = write_md(job, job->p);
    }
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "%s: the new certificate could not be made live: %s", md->name,
                         md_result_to_text(job->result, job->p));
    }
    a2md_note(a2md,
              "%s: renewed; the new certificate is live in the store, a running server uses it "
              "after its next (graceful) restart",
              md->name);
    return APR_SUCCESS;
}

/* The MDs renewed, as they are now, for -j. */
static void print_driven(a2md_t *a2md, const apr_array_header_t *jobs)
{
    md_reg_t *reg = NULL;
    const drive_job_t *job;
    md_t *md = NULL;
    int i;

    if (!a2md->output || APR_SUCCESS != a2md_registry(&reg, a2md)) {
        return;
    }
    for (i = 0; i < jobs->nelts; ++i) {
        job = APR_ARRAY_IDX(jobs, i, const drive_job_t *);
        if (APR_SUCCESS == job->rv
            && APR_SUCCESS
                   == md_reg_admin_load(&md, NULL, a2md->store, job->stored->name, a2md->p)) {
            a2md_out_md(a2md, md, md_reg_get(reg, md->name));
        }
    }
}

apr_status_t a2md_drive_mds(a2md_t *a2md, const apr_array_header_t *mds, int force, int reset,
                            const char *challenge)
{
    apr_array_header_t *jobs = apr_array_make(a2md->p, mds->nelts, sizeof(drive_job_t *));
    md_acme_acct_cache_t *cache = NULL;
    md_reg_t *reg = NULL;
    drive_job_t *job;
    apr_status_t rv, result = APR_SUCCESS;
    int i;

    rv = a2md_registry(&reg, a2md);
    if (APR_SUCCESS == rv) {
        rv = md_acme_acct_cache_create(&cache, a2md->p);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* 1. */
    for (i = 0; i < mds->nelts; ++i) {
        job = apr_pcalloc(a2md->p, sizeof(*job));
        job->a2md = a2md;
        job->stored = APR_ARRAY_IDX(mds, i, const md_t *);
        job->cache = cache;
        rv = prepare(job, reg, force, reset, challenge);
        if (APR_SUCCESS == rv) {
            APR_ARRAY_PUSH(jobs, drive_job_t *) = job;
        }
        else if (!APR_STATUS_IS_EEXIST(rv)) {
            result = rv;
        }
    }
    /* 2. */
    if (jobs->nelts) {
        drive_all(jobs, a2md->p);
    }
    /* 3. */
    for (i = 0; i < jobs->nelts; ++i) {
        job = APR_ARRAY_IDX(jobs, i, drive_job_t *);
        job->rv = finish(job, reg);
        if (APR_SUCCESS != job->rv && APR_SUCCESS == result) {
            result = job->rv;
        }
    }
    print_driven(a2md, jobs);
    for (i = 0; i < jobs->nelts; ++i) {
        apr_pool_destroy(APR_ARRAY_IDX(jobs, i, drive_job_t *)->p);
    }
    return result;
}
