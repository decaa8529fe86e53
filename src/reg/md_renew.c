/* md_renew: renewal and retry decisions (see md_renew.h). */
#include <string.h>

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

apr_interval_time_t md_renew_jitter(const char *name, apr_time_t window_start, apr_time_t not_after)
{
    apr_uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
    apr_interval_time_t spread;
    const unsigned char *c;

    if (!name || !*name || not_after <= window_start) {
        return 0;
    }
    for (c = (const unsigned char *)name; *c; ++c) {
        h ^= *c;
        h *= 1099511628211ULL;
    }
    spread = (not_after - window_start) / MD_RENEW_JITTER_DIV;
    /* the hash's top 53 bits as a fraction in [0, 1): exact in a double */
    return (apr_interval_time_t)((double)(h >> 11) / 9007199254740992.0 * (double)spread);
}

md_renew_reason_t md_renew_due_spread(apr_time_t *pat, const char *name, apr_time_t not_before,
                                      apr_time_t not_after, int covers_all,
                                      const md_timeslice_t *window, apr_time_t now)
{
    md_renew_reason_t reason;
    apr_time_t at;

    reason = md_renew_due(pat, not_before, not_after, covers_all, window, now);
    if (reason != MD_RENEW_NOT_DUE && reason != MD_RENEW_WINDOW) {
        return reason;
    }
    at = *pat - md_renew_jitter(name, *pat, not_after);
    *pat = (at < not_before) ? not_before : at;
    return (now >= *pat) ? MD_RENEW_WINDOW : MD_RENEW_NOT_DUE;
}

const md_timeslice_t *md_renew_window_for(const md_timeslice_t *window, int is_default,
                                          apr_time_t not_before, apr_time_t not_after)
{
    static const md_timeslice_t half = { 100, 50 };

    if (is_default && not_after > not_before && not_after - not_before <= MD_RENEW_SHORT_LIFETIME) {
        return &half;
    }
    return window;
}

apr_interval_time_t md_renew_check_interval(apr_interval_time_t configured, apr_time_t not_before,
                                            apr_time_t not_after)
{
    apr_interval_time_t limit;

    if (!not_after || not_after <= not_before) {
        return configured;
    }
    limit = (not_after - not_before) / 48;
    if (limit < apr_time_from_sec(60)) {
        limit = apr_time_from_sec(60);
    }
    return (configured > limit) ? limit : configured;
}

apr_time_t md_renew_next_look(apr_time_t now, apr_interval_time_t interval, apr_time_t due_at)
{
    apr_time_t next = now + interval;

    return (due_at > now && due_at < next) ? due_at : next;
}

apr_time_t md_renew_ari_pick(apr_time_t start, apr_time_t end, double r, apr_time_t now)
{
    apr_time_t at;

    if (!start || end <= start) {
        return 0;
    }
    if (r < 0.0 || r >= 1.0) {
        r = 0.5;
    }
    at = start + (apr_time_t)((double)(end - start) * r);
    return (at < now) ? now : at;
}

apr_time_t md_renew_ari_next(apr_time_t retry_after, apr_time_t now)
{
    apr_interval_time_t wait = retry_after ? retry_after - now : MD_ARI_RETRY_DEFAULT;

    if (wait < MD_ARI_RETRY_MIN) {
        wait = MD_ARI_RETRY_MIN;
    }
    if (wait > MD_ARI_RETRY_MAX) {
        wait = MD_ARI_RETRY_MAX;
    }
    return now + wait;
}

apr_time_t md_renew_with_ari(md_renew_reason_t *preason, apr_time_t window_at, apr_time_t ari_at,
                             apr_time_t now)
{
    if (!ari_at || ari_at >= window_at) {
        return window_at;
    }
    if (ari_at <= now) {
        *preason = MD_RENEW_ARI;
    }
    return ari_at;
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
        case MD_RENEW_ARI:
            return "the CA's renewal information (ARI) suggests it";
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

#define ACME_ERR "urn:ietf:params:acme:error:"

static const struct {
    const char *type; /* after ACME_ERR */
    const char *hint;
} config_problems[] = {
    { "badCSR", "the CA refused the CSR: check the MDomain names and MDPrivateKeys" },
    { "rejectedIdentifier", "the CA will not issue for one of the names: check the MDomain "
                            "names (and MDMember/ServerAlias) against the CA's policy" },
    { "unsupportedIdentifier", "the CA does not support one of the names (an IP address or "
                               "wildcard?): check the MDomain names or MDCAChallenges" },
    { "caa", "a CAA DNS record of one of the names does not allow this CA: fix the CAA record or "
             "use another MDCertificateAuthority" },
    { "userActionRequired", "the CA wants a person to act (e.g. accept new terms of service): "
                            "visit the CA's website, then restart" },
    { "invalidContact", "the CA refused the contact address: check MDContactEmail / "
                        "ServerAdmin" },
    { "unsupportedContact", "the CA refused the contact address: check MDContactEmail / "
                            "ServerAdmin" },
    { "externalAccountRequired", "the CA needs an external account binding: configure "
                                 "MDExternalAccountBinding" },
    { "badPublicKey", "the CA does not accept the key type: check MDPrivateKeys" },
};

static int problem_is(const char *problem, const char *type)
{
    size_t plen = sizeof(ACME_ERR) - 1;

    return problem && !strncmp(problem, ACME_ERR, plen) && !strcmp(problem + plen, type);
}

md_retry_class_t md_renew_retry_class(apr_status_t status, const char *problem)
{
    size_t i;

    if (APR_STATUS_IS_INCOMPLETE(status)) {
        return MD_RETRY_CONFIG;
    }
    if (problem_is(problem, "rateLimited")) {
        return MD_RETRY_RATE_LIMIT;
    }
    for (i = 0; i < sizeof(config_problems) / sizeof(config_problems[0]); ++i) {
        if (problem_is(problem, config_problems[i].type)) {
            return MD_RETRY_CONFIG;
        }
    }
    return MD_RETRY_TRANSIENT;
}

const char *md_renew_retry_class_name(md_retry_class_t cls)
{
    switch (cls) {
        case MD_RETRY_TRANSIENT:
            return "transient";
        case MD_RETRY_RATE_LIMIT:
            return "rate-limit";
        case MD_RETRY_CONFIG:
            return "config";
    }
    return "unknown";
}

const char *md_renew_config_hint(const char *problem)
{
    size_t i;

    for (i = 0; i < sizeof(config_problems) / sizeof(config_problems[0]); ++i) {
        if (problem_is(problem, config_problems[i].type)) {
            return config_problems[i].hint;
        }
    }
    return NULL;
}

apr_time_t md_renew_next_attempt_for(md_retry_class_t cls, int errors, apr_interval_time_t base,
                                     apr_interval_time_t max, double jitter, apr_time_t ready_at,
                                     apr_time_t now)
{
    apr_time_t next;

    switch (cls) {
        case MD_RETRY_CONFIG:
            next = now + MD_RETRY_CONFIG_DELAY;
            return (ready_at > next) ? ready_at : next;
        case MD_RETRY_RATE_LIMIT:
            if (ready_at > now) {
                return ready_at;
            }
            break;
        case MD_RETRY_TRANSIENT:
            break;
    }
    return md_renew_next_attempt(errors, base, max, jitter, ready_at, now);
}

int md_renew_failover(int *perrors, int current, int used, int n, int retry_failover,
                      int is_rate_limited)
{
    if (n <= 1) {
        ++*perrors;
        return 0;
    }
    if (used >= 0 && used < n && used != current) {
        /* the CA the attempt started at could not be reached: the one that answered counts */
        current = used;
        *perrors = 0;
    }
    ++*perrors;
    if (is_rate_limited || *perrors >= retry_failover) {
        *perrors = 0;
        return (current + 1) % n;
    }
    return current;
}
