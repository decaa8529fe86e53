/* md_result: the outcome of work done for a job.
 *
 * A result carries a status, an optional ACME problem type (RFC 7807 / RFC 8555 6.7), a detail
 * text for humans and the current activity ("ordering", "polling authz for x.org"). Job code records
 * a problem where it is known (md_result_problem_set) and callers only add the activity. Results are
 * written into job.json and shown on status surfaces, so they must never contain secrets.
 */
#ifndef md_result_h
#define md_result_h

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_time.h>

typedef struct md_result_t md_result_t;
struct md_result_t {
    apr_pool_t *p;          /* the pool the strings live in */
    const char *md_name;    /* the MD this is for, may be NULL */
    apr_status_t status;    /* APR_SUCCESS or the failure */
    const char *problem;    /* ACME problem type URN, may be NULL */
    const char *detail;     /* human readable detail, may be NULL */
    const char *activity;   /* what was being done, may be NULL */
    apr_time_t ready_at;    /* earliest time a retry makes sense (Retry-After), 0 if unknown */
};

/** A new, successful result living in 'p'. */
md_result_t *md_result_make(const char *md_name, apr_pool_t *p);

/** Reset to success, clearing problem, detail and ready_at. The activity stays. */
void md_result_reset(md_result_t *result);

/** Set the current activity (copied). */
void md_result_activity_set(md_result_t *result, const char *activity);
void md_result_activity_printf(md_result_t *result, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Record status and detail (copied). Returns 'rv' so callers can write
 * 'return md_result_set(result, rv, "saving order");'. A NULL detail keeps the current one.
 */
apr_status_t md_result_set(md_result_t *result, apr_status_t rv, const char *detail);
apr_status_t md_result_printf(md_result_t *result, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Record an ACME problem: its type URN and detail (both copied). Returns 'rv'. */
apr_status_t md_result_problem_set(md_result_t *result, apr_status_t rv, const char *problem,
                                   const char *detail);

/** Copy status, problem, detail and ready_at of 'src' into 'dest'. */
void md_result_assign(md_result_t *dest, const md_result_t *src);

/** One line for logs: "detail (problem)" or the status text; lives in 'p'. */
const char *md_result_to_text(const md_result_t *result, apr_pool_t *p);

#endif /* md_result_h */
