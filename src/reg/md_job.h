/* md_job: the record of an MD's renewal job, job.json.
 *
 * The job thread writes it into staging/<md>/ after each attempt (the child may write there); at
 * activation it moves with the staged set into domains/<md>/, so the live set carries the log of
 * the renewal that produced it. It never contains secrets: only statuses, problem types, details
 * and times.
 */
#ifndef md_job_h
#define md_job_h

#include <apr_pools.h>
#include <apr_time.h>

#include "md_result.h"
#include "md_store.h"

/* Entries of the job log kept, newest first. */
#define MD_JOB_LOG_MAX 20

/**
 * Record an attempt of 'name' in staging/<name>/job.json: whether it finished (a complete
 * staged set), the number of errors in a row, the result of the attempt and the next run (0 for
 * none). The log keeps the newest MD_JOB_LOG_MAX entries. A missing or broken job.json starts a
 * new record (a broken one is set aside first).
 */
apr_status_t md_job_record(md_store_t *store, const char *name, int finished, int errors,
                           const md_result_t *result, apr_time_t next_run, apr_time_t now,
                           apr_pool_t *p);

#endif /* md_job_h */
