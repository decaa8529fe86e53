/* md_time: durations, time periods and the renew/warn window arithmetic.
 *
 * Pure functions: everything that depends on "now" takes it as a parameter so unit tests can
 * check the decisions from tables.
 */
#ifndef md_time_h
#define md_time_h

#include <apr_pools.h>
#include <apr_time.h>

#define MD_SECS_PER_HOUR (60 * 60)
#define MD_SECS_PER_DAY  (24 * MD_SECS_PER_HOUR)

/* A span of time [start, end). */
typedef struct {
    apr_time_t start;
    apr_time_t end;
} md_timeperiod_t;

/*
 * A window before the end of a period: either a fixed length ('len', when norm is 0) or a
 * fraction of the period's length ('len' / 'norm', e.g. 33/100 for "33%").
 */
typedef struct {
    apr_interval_time_t norm; /* 0 for absolute, else the denominator */
    apr_interval_time_t len;  /* absolute length, or the numerator */
} md_timeslice_t;

/**
 * Parse a duration such as "30s", "12h", "21d", "500ms", "90m" or a plain number (taken in
 * 'def_unit': "s", "d", ...). Answers APR_EINVAL for anything else, negative values included.
 */
apr_status_t md_duration_parse(apr_interval_time_t *ptimeout, const char *value,
                               const char *def_unit);

/** Format a duration in the shortest exact unit ("21d", "12h", "30s", "250ms"); in 'p'. */
const char *md_duration_format(apr_interval_time_t duration, apr_pool_t *p);

/**
 * Parse a window: a duration (default unit days) or a percentage "33%" (0-100).
 * On APR_EINVAL, *perr (if not NULL) says what is accepted, in 'p'.
 */
apr_status_t md_timeslice_parse(md_timeslice_t **pts, apr_pool_t *p, const char *val,
                                const char **perr);

/** Format a window as the config would write it ("33%", "21d"); in 'p'. */
const char *md_timeslice_format(const md_timeslice_t *ts, apr_pool_t *p);

/** The part of 'period' that 'ts' covers at its end. */
md_timeperiod_t md_timeperiod_slice_before_end(const md_timeperiod_t *period,
                                               const md_timeslice_t *ts);

/** Non-zero when 'now' is at or after the period's start (also after its end). */
int md_timeperiod_has_started(const md_timeperiod_t *period, apr_time_t now);

/** Length of the period, 0 when end <= start. */
apr_interval_time_t md_timeperiod_length(const md_timeperiod_t *period);

/** RFC 3339 / ISO 8601 UTC timestamp "2026-11-29T14:50:58Z"; in 'p'. */
const char *md_time_rfc3339(apr_time_t t, apr_pool_t *p);

/** Parse an RFC 3339 timestamp as the CA sends them (fractions ignored). 0 if not parseable or
 * not after 1970-01-01T00:00:00Z. */
apr_time_t md_time_parse_rfc3339(const char *s);

/** HTTP date (RFC 1123) "Sun, 29 Nov 2026 15:20:39 GMT", as the stock module writes times into
 * job.json and md-status; in 'p'. */
const char *md_time_http(apr_time_t t, apr_pool_t *p);

/** Parse a time in job.json: an HTTP date, or RFC 3339 (written by earlier versions). 0 if not
 * parseable. */
apr_time_t md_time_parse_any(const char *s);

#endif /* md_time_h */
