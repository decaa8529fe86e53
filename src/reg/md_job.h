/* md_job: the record of an MD's renewal job, job.json.
 *
 * The job thread writes it into staging/<md>/ after each attempt (the child may write there); at
 * activation it moves with the staged set into domains/<md>/, so the live set carries the log of
 * the renewal that produced it. It never contains secrets: only statuses, problem types, details
 * and times.
 *
 * The format is the stock module's, so md-status consumers and both modules read each other's
 * files: { "name", "finished", "notified", "notified-renewed", "errors", "last-run", "next-run",
 * "valid-from", "last": { "status", "status-description", "problem", "detail", "activity",
 * "valid-from" },
 * "log": { "entries": [ { "when", "type", "detail" }, ... newest first ] } } with HTTP dates.
 */
#ifndef md_job_h
#define md_job_h

#include <apr_pools.h>
#include <apr_time.h>

#include "md_json.h"
#include "md_result.h"
#include "md_store.h"

/* Entries of the job log kept, newest first: as many as the stock module keeps, so neither
 * module cuts the entries of the other (one stock attempt writes a dozen). */
#define MD_JOB_LOG_MAX 128

/**
 * Record an attempt of 'name' in staging/<name>/job.json: whether it finished (a complete
 * staged set), the number of errors in a row, the result of the attempt and the next run (0 for
 * none). The log keeps the newest MD_JOB_LOG_MAX entries. A missing or broken job.json starts a
 * new record (a broken one is set aside first, with a warning).
 */
apr_status_t md_job_record(md_store_t *store, const char *name, int finished, int errors,
                           const md_result_t *result, apr_time_t next_run, apr_time_t now,
                           apr_pool_t *p);

/**
 * Add one entry to the log of staging/<name>/job.json (creating the file when missing), e.g.
 * type "message-renewed" when MDMessageCmd was called. 'detail' may be NULL. With 'notified'
 * set, also mark the job as notified ("notified", "notified-renewed").
 */
apr_status_t md_job_note(md_store_t *store, const char *name, const char *type, const char *detail,
                         int notified, apr_time_t now, apr_pool_t *p);

/**
 * Load job.json of 'name' from 'group' (staging or domains) into *pjob (in 'p'). APR_ENOENT if
 * there is none, APR_EINVAL if it is not a job record, APR_EAGAIN while the store cannot be read
 * (a store in etcd that is away).
 */
apr_status_t md_job_load(md_json_t **pjob, md_store_t *store, md_store_group_t group,
                         const char *name, apr_pool_t *p);

/**
 * Complete a job's "last" result object as the stock module writes it: a failed status (not 0)
 * gets its "status-description" (the system's text for it) when it has none. In place.
 */
void md_job_describe_last(md_json_t *last, apr_pool_t *p);

/**
 * For a (re)started server: the errors in a row and the next run recorded in staging/<name>/
 * job.json of an unfinished job, so the job continues where it was (*pnext_run 0: run when due).
 * A corrupt or stale file (another MD's, a time that cannot be read) is set aside with a
 * warning and the job starts afresh. A next run later than 'now' + 'max_wait' is cut to that,
 * unless the last attempt was rate limited (the CA's Retry-After is kept).
 */
void md_job_restore(int *perrors, apr_time_t *pnext_run, md_store_t *store, const char *name,
                    apr_interval_time_t max_wait, apr_time_t now, apr_pool_t *p);

#endif /* md_job_h */
