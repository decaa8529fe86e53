/* md_time: durations and windows (see md_time.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <apr_date.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "md_time.h"

static const struct {
    const char *name;
    apr_interval_time_t factor;
} units[] = {
    { "ms", 1000 },
    { "s", APR_USEC_PER_SEC },
    { "mi", 60 * APR_USEC_PER_SEC },
    { "m", 60 * APR_USEC_PER_SEC },
    { "h", APR_USEC_PER_SEC *MD_SECS_PER_HOUR },
    { "d", APR_USEC_PER_SEC *(apr_interval_time_t)MD_SECS_PER_DAY },
};

#define MD_DURATION_MAX (100 * 365 * (apr_interval_time_t)MD_SECS_PER_DAY * APR_USEC_PER_SEC)

static apr_interval_time_t unit_factor(const char *unit)
{
    size_t i;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); ++i) {
        /* exact match: apr_strnatcasecmp would skip whitespace (" d") */
        if (!strcasecmp(unit, units[i].name)) {
            return units[i].factor;
        }
    }
    return 0;
}

apr_status_t md_duration_parse(apr_interval_time_t *ptimeout, const char *value,
                               const char *def_unit)
{
    char *endp;
    apr_int64_t n;
    apr_interval_time_t factor;

    if (!value || !*value || !apr_isdigit(*value)) {
        return APR_EINVAL;
    }
    errno = 0;
    n = apr_strtoi64(value, &endp, 10);
    if (errno || n < 0) {
        return APR_EINVAL;
    }
    factor = unit_factor(*endp ? endp : (def_unit ? def_unit : "s"));
    /* at most 100 years, checked before multiplying so that large values cannot overflow */
    if (!factor || n > MD_DURATION_MAX / factor) {
        return APR_EINVAL;
    }
    *ptimeout = (apr_interval_time_t)n * factor;
    return APR_SUCCESS;
}

const char *md_duration_format(apr_interval_time_t duration, apr_pool_t *p)
{
    static const struct {
        const char *name;
        apr_interval_time_t factor;
    } fmt[] = {
        { "d", APR_USEC_PER_SEC * (apr_interval_time_t)MD_SECS_PER_DAY },
        { "h", APR_USEC_PER_SEC * MD_SECS_PER_HOUR },
        { "mi", 60 * APR_USEC_PER_SEC },
        { "s", APR_USEC_PER_SEC },
    };
    size_t i;

    for (i = 0; i < sizeof(fmt) / sizeof(fmt[0]); ++i) {
        if (duration && duration % fmt[i].factor == 0) {
            return apr_psprintf(p, "%" APR_INT64_T_FMT "%s",
                                (apr_int64_t)(duration / fmt[i].factor), fmt[i].name);
        }
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT "ms", (apr_int64_t)(duration / 1000));
}

apr_status_t md_timeslice_parse(md_timeslice_t **pts, apr_pool_t *p, const char *val,
                                const char **perr)
{
    md_timeslice_t *ts = apr_pcalloc(p, sizeof(*ts));
    size_t len = val ? strlen(val) : 0;
    apr_interval_time_t d;

    *pts = NULL;
    if (len > 1 && val[len - 1] == '%') {
        char *endp;
        apr_int64_t n;
        errno = 0;
        n = apr_strtoi64(val, &endp, 10);
        if (!errno && endp == val + len - 1 && n >= 0 && n <= 100 && apr_isdigit(*val)) {
            ts->norm = 100;
            ts->len = (apr_interval_time_t)n;
            *pts = ts;
            return APR_SUCCESS;
        }
    }
    else if (APR_SUCCESS == md_duration_parse(&d, val, "d")) {
        ts->len = d;
        *pts = ts;
        return APR_SUCCESS;
    }
    if (perr) {
        *perr = apr_psprintf(p,
                             "'%s' is neither a duration (e.g. 21d, 12h, 30s) nor a "
                             "percentage from 0%% to 100%% (e.g. 33%%)",
                             val ? val : "");
    }
    return APR_EINVAL;
}

const char *md_timeslice_format(const md_timeslice_t *ts, apr_pool_t *p)
{
    if (ts->norm) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "%%", (apr_int64_t)(ts->len * 100 / ts->norm));
    }
    return md_duration_format(ts->len, p);
}

apr_interval_time_t md_timeperiod_length(const md_timeperiod_t *period)
{
    return (period->end > period->start) ? period->end - period->start : 0;
}

md_timeperiod_t md_timeperiod_slice_before_end(const md_timeperiod_t *period,
                                               const md_timeslice_t *ts)
{
    md_timeperiod_t r;
    apr_interval_time_t len;

    if (ts->norm) {
        /* divide first: lifetimes in microseconds times 100 would still fit, but be safe */
        len = md_timeperiod_length(period) / ts->norm * ts->len;
    }
    else {
        len = ts->len;
    }
    r.end = period->end;
    r.start = period->end - len;
    if (r.start < period->start) {
        r.start = period->start;
    }
    return r;
}

int md_timeperiod_has_started(const md_timeperiod_t *period, apr_time_t now)
{
    return now >= period->start;
}

const char *md_time_rfc3339(apr_time_t t, apr_pool_t *p)
{
    apr_time_exp_t exp;
    apr_time_exp_gmt(&exp, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", exp.tm_year + 1900, exp.tm_mon + 1,
                        exp.tm_mday, exp.tm_hour, exp.tm_min, exp.tm_sec);
}

/* Exactly 'n' decimal digits at *ps, advancing it; -1 if there are fewer. */
static int take_digits(const char **ps, int n)
{
    int v = 0;

    for (; n > 0; --n, ++*ps) {
        if (!apr_isdigit(**ps)) {
            return -1;
        }
        v = v * 10 + (**ps - '0');
    }
    return v;
}

/* 'n' digits followed by 'sep' (0 for none) at *ps, checked to lie in [lo, hi]; -1 if not. */
static int take_field(const char **ps, int n, char sep, int lo, int hi)
{
    int v = take_digits(ps, n);

    if (v < lo || v > hi) {
        return -1;
    }
    if (sep) {
        if (**ps != sep) {
            return -1;
        }
        ++*ps;
    }
    return v;
}

/* Seconds east of UTC of an RFC 3339 zone ("Z", "+02:00", "-0530"; none is taken as UTC, as
 * before); -1 if malformed. */
static int parse_zone(const char *z, long *poffset)
{
    int zh, zm, sign;

    *poffset = 0;
    if (!*z) {
        return 0;
    }
    if (*z == 'Z' || *z == 'z') {
        return z[1] ? -1 : 0;
    }
    if (*z != '+' && *z != '-') {
        return -1;
    }
    sign = (*z == '-') ? -1 : 1;
    ++z;
    zh = take_field(&z, 2, 0, 0, 23);
    if (*z == ':') {
        ++z;
    }
    zm = take_field(&z, 2, 0, 0, 59);
    if (zh < 0 || zm < 0 || *z) {
        return -1;
    }
    *poffset = sign * (zh * 3600L + zm * 60L);
    return 0;
}

apr_time_t md_time_parse_rfc3339(const char *s)
{
    struct tm tm;
    long offset = 0;
    time_t tt;

    if (!s) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = take_field(&s, 4, '-', 0, 9999) - 1900;
    tm.tm_mon = take_field(&s, 2, '-', 1, 12) - 1;
    tm.tm_mday = take_field(&s, 2, 'T', 1, 31);
    tm.tm_hour = take_field(&s, 2, ':', 0, 23);
    tm.tm_min = take_field(&s, 2, ':', 0, 59);
    tm.tm_sec = take_field(&s, 2, 0, 0, 60);
    if (tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0
        || tm.tm_sec < 0) {
        return 0; /* a field was malformed or out of range */
    }
    if (*s == '.') { /* fractions are ignored */
        ++s;
        while (apr_isdigit(*s)) {
            ++s;
        }
    }
    if (parse_zone(s, &offset) != 0) {
        return 0;
    }
    tt = timegm(&tm);
    if (tt == (time_t)-1 || tt - offset <= 0) {
        return 0; /* nothing a CA or the store sends is before 1970: that is garbage, too */
    }
    return apr_time_from_sec(tt - offset);
}

const char *md_time_http(apr_time_t t, apr_pool_t *p)
{
    char *buf = apr_pcalloc(p, APR_RFC822_DATE_LEN);

    apr_rfc822_date(buf, t);
    return buf;
}

apr_time_t md_time_parse_any(const char *s)
{
    apr_time_t t;

    if (!s || !*s) {
        return 0;
    }
    t = apr_date_parse_rfc(s);
    if (t > 0) {
        return t;
    }
    return md_time_parse_rfc3339(s);
}
