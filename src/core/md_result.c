/* md_result: outcome of job work (see md_result.h). */
#include <stdarg.h>

#include <apr_strings.h>

#include "md_result.h"

md_result_t *md_result_make(const char *md_name, apr_pool_t *p)
{
    md_result_t *result = apr_pcalloc(p, sizeof(*result));
    result->p = p;
    result->md_name = md_name ? apr_pstrdup(p, md_name) : NULL;
    return result;
}

void md_result_reset(md_result_t *result)
{
    result->status = APR_SUCCESS;
    result->problem = NULL;
    result->detail = NULL;
    result->ready_at = 0;
}

void md_result_activity_set(md_result_t *result, const char *activity)
{
    result->activity = activity ? apr_pstrdup(result->p, activity) : NULL;
}

void md_result_activity_printf(md_result_t *result, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    result->activity = apr_pvsprintf(result->p, fmt, ap);
    va_end(ap);
}

apr_status_t md_result_set(md_result_t *result, apr_status_t rv, const char *detail)
{
    result->status = rv;
    if (detail) {
        result->detail = apr_pstrdup(result->p, detail);
    }
    if (APR_SUCCESS == rv) {
        result->problem = NULL;
    }
    return rv;
}

apr_status_t md_result_printf(md_result_t *result, apr_status_t rv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    result->detail = apr_pvsprintf(result->p, fmt, ap);
    va_end(ap);
    result->status = rv;
    return rv;
}

apr_status_t md_result_problem_set(md_result_t *result, apr_status_t rv, const char *problem,
                                   const char *detail)
{
    result->status = rv;
    result->problem = problem ? apr_pstrdup(result->p, problem) : NULL;
    result->detail = detail ? apr_pstrdup(result->p, detail) : NULL;
    return rv;
}

void md_result_assign(md_result_t *dest, const md_result_t *src)
{
    dest->status = src->status;
    dest->problem = src->problem ? apr_pstrdup(dest->p, src->problem) : NULL;
    dest->detail = src->detail ? apr_pstrdup(dest->p, src->detail) : NULL;
    dest->ready_at = src->ready_at;
}

const char *md_result_to_text(const md_result_t *result, apr_pool_t *p)
{
    char buf[256];
    const char *detail = result->detail;

    if (!detail) {
        detail =
            (APR_SUCCESS == result->status) ? "ok" : apr_strerror(result->status, buf, sizeof(buf));
    }
    if (result->problem) {
        return apr_psprintf(p, "%s (%s)", detail, result->problem);
    }
    return apr_pstrdup(p, detail);
}
