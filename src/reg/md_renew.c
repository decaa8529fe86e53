/* md_renew: renewal and retry decisions (see md_renew.h). */
#include "md_renew.h"

md_renew_reason_t md_renew_due(apr_time_t *pat, apr_time_t not_before, apr_time_t not_after,
                               int covers_all, const md_timeslice_t *window, apr_time_t now)
{
    md_timeperiod_t valid, renew;

    *pat = now;
    if (!not_after) {
        return MD_RENEW_NO_CERT;
    }
    if (!covers_all) {
        return MD_RENEW_NAMES_CHANGED;
    }
    valid.start = not_before;
    valid.end = not_after;
    renew = md_timeperiod_slice_before_end(&valid, window);
    *pat = renew.start;
    return (now >= renew.start) ? MD_RENEW_WINDOW : MD_RENEW_NOT_DUE;
}

const char *md_renew_reason_name(md_renew_reason_t reason)
{
    switch (reason) {
        case MD_RENEW_NOT_DUE:
            return "not due";
        case MD_RENEW_NO_CERT:
            return "no certificate yet";
        case MD_RENEW_NAMES_CHANGED:
            return "the certificate does not cover all names";
        case MD_RENEW_WINDOW:
            return "renew window reached";
    }
    return "unknown";
}

apr_interval_time_t md_renew_retry_delay(int errors, apr_interval_time_t base,
                                         apr_interval_time_t max, double jitter)
{
    apr_interval_time_t delay = base;
    int i;

    for (i = 1; i < errors && delay < max; ++i) {
        delay *= 2;
    }
    if (jitter < 0.0 || jitter >= 1.0) {
        jitter = 0.5;
    }
    delay = (apr_interval_time_t)((double)delay * (0.75 + 0.5 * jitter));
    return (delay > max) ? max : delay;
}

apr_time_t md_renew_next_attempt(int errors, apr_interval_time_t base, apr_interval_time_t max,
                                 double jitter, apr_time_t ready_at, apr_time_t now)
{
    apr_time_t next = now + md_renew_retry_delay(errors, base, max, jitter);
    return (ready_at > next) ? ready_at : next;
}
