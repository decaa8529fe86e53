/* fuzz_time: durations and percentages from the configuration and the store (md_duration_parse,
 * md_timeslice_parse: MDRenewWindow, MDWarnWindow, MDStaplingRenewWindow, ...), timestamps the CA
 * sends (RFC 3339: order expiry, ARI windows) and job.json holds (md_time_parse_any), the
 * Retry-After header (md_acme_retry_after) and MDPrivateKeys words (md_pkey_spec_parse).
 *
 * What parses must format back into something that parses to the same value. A mismatch aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "md_time.h"
#include "md_crypt.h"
#include "md_acme.h"
#include "fuzz.h"

static void must(int ok, const char *what, const char *s)
{
    if (!ok) {
        fprintf(stderr, "fuzz_time: %s: '%s'\n", what, s);
        abort();
    }
}

static void check_duration(const char *s, apr_pool_t *p)
{
    apr_interval_time_t d = 0, d2 = 0;
    md_timeslice_t *ts = NULL, *ts2 = NULL;
    const char *f, *err = NULL;

    if (APR_SUCCESS == md_duration_parse(&d, s, "d")) {
        must(d >= 0, "negative duration", s);
        f = md_duration_format(d, p);
        must(APR_SUCCESS == md_duration_parse(&d2, f, "s") && d2 == d,
             "duration does not survive its format", f);
    }
    if (APR_SUCCESS == md_timeslice_parse(&ts, p, s, &err)) {
        f = md_timeslice_format(ts, p);
        must(APR_SUCCESS == md_timeslice_parse(&ts2, p, f, &err) && ts2->norm == ts->norm
                 && ts2->len == ts->len,
             "window does not survive its format", f);
    }
}

static void check_times(const char *s, apr_pool_t *p)
{
    apr_table_t *headers = apr_table_make(p, 1);
    apr_time_t t;

    t = md_time_parse_rfc3339(s);
    if (t > 0) {
        md_time_rfc3339(t, p);
    }
    t = md_time_parse_any(s);
    if (t > 0) {
        md_time_http(t, p);
    }
    apr_table_set(headers, "Retry-After", s);
    md_acme_retry_after(headers, apr_time_from_sec(1700000000));
}

static void check_key_words(const char *s, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, s), *last = NULL, *w;
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    md_pkey_spec_t *spec = NULL;
    const char *err = NULL;
    apr_size_t at = 0, nused = 0;

    for (w = apr_strtok(copy, " \t", &last); w; w = apr_strtok(NULL, " \t", &last)) {
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    while (at < (apr_size_t)words->nelts) {
        if (APR_SUCCESS
            != md_pkey_spec_parse(&spec, &nused, (const char *const *)words->elts + at,
                                  (apr_size_t)words->nelts - at, p, &err)) {
            break;
        }
        must(nused >= 1 && nused <= 2, "key spec consumed no word", s);
        md_pkey_spec_format(spec, p);
        md_pkey_spec_to_json(spec, p);
        at += nused;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_str(data, size, p);

    check_duration(s, p);
    check_times(s, p);
    check_key_words(s, p);
    apr_pool_destroy(p);
    return 0;
}
