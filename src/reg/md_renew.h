/* md_renew: pure decisions about when to renew and when to retry.
 *
 * No I/O, no clock: every function takes 'now' (or the inputs it needs) so unit tests check the
 * decisions from tables.
 */
#ifndef md_renew_h
#define md_renew_h

#include <apr_time.h>
#include <apr_tables.h>

#include "md.h"

/* Why a renewal is due (or not). */
typedef enum {
    MD_RENEW_NOT_DUE,       /* valid and outside the window: renew at the returned time */
    MD_RENEW_NO_CERT,       /* no certificate (for at least one key spec) */
    MD_RENEW_NAMES_CHANGED, /* the certificate does not cover all the MD's names */
    MD_RENEW_WINDOW,        /* inside the renew window */
    MD_RENEW_ARI,           /* the CA's renewal information (RFC 9773) asks for it earlier */
} md_renew_reason_t;

/**
 * When should the MD's certificate be renewed? 'not_before'/'not_after' are the validity of the
 * certificate (0 when there is none), 'covers_all' whether its names cover the MD's names.
 * *pat gets the time the renewal is due (<= now when due already).
 */
md_renew_reason_t md_renew_due(apr_time_t *pat, apr_time_t not_before, apr_time_t not_after,
                               int covers_all, const md_timeslice_t *window, apr_time_t now);

/* Renewals are spread (issue #15): an MD renews up to a tenth of its renew window earlier than
 * the window says, by a fraction that a hash of its name picks. Never later: the window stays
 * the least lifetime left at renewal. */
#define MD_RENEW_JITTER_DIV 10

/**
 * How much earlier than 'window_start' the MD 'name' renews a certificate whose renew window
 * runs from 'window_start' to 'not_after': a fraction in [0, 1/MD_RENEW_JITTER_DIV) of the
 * window's length, the same for the same name on every server and after every restart (FNV-1a
 * of the name), so many MDs issued in the same hour renew spread over many hours. 0 for an empty
 * name or window.
 */
apr_interval_time_t md_renew_jitter(const char *name, apr_time_t window_start,
                                    apr_time_t not_after);

/**
 * md_renew_due() for the MD 'name', the renewal time moved earlier by md_renew_jitter() (not
 * before 'not_before'): MD_RENEW_WINDOW from then on. Other reasons are as md_renew_due() says.
 */
md_renew_reason_t md_renew_due_spread(apr_time_t *pat, const char *name, apr_time_t not_before,
                                      apr_time_t not_after, int covers_all,
                                      const md_timeslice_t *window, apr_time_t now);

/* Certificates valid this long or shorter are renewed when half their lifetime is left (with the
 * default window), as certbot, lego and Caddy do: a 6-day certificate then has 3 days left. */
#define MD_RENEW_SHORT_LIFETIME apr_time_from_sec(10 * MD_SECS_PER_DAY)

/**
 * The renew window that applies to a certificate valid from 'not_before' to 'not_after':
 * 'window' when it was configured (MDRenewWindow, 'is_default' 0); with the default window, half
 * the lifetime for certificates of MD_RENEW_SHORT_LIFETIME or less, else 'window' (33%). The
 * result is 'window' or a static slice.
 */
const md_timeslice_t *md_renew_window_for(const md_timeslice_t *window, int is_default,
                                          apr_time_t not_before, apr_time_t not_after);

/**
 * How often a certificate valid from 'not_before' to 'not_after' is looked at: 'configured'
 * (MDCheckInterval), but at most a 48th of its lifetime (3 hours for a 6-day certificate) and at
 * least a minute. 'configured' alone when there is no certificate (not_after 0).
 */
apr_interval_time_t md_renew_check_interval(apr_interval_time_t configured, apr_time_t not_before,
                                            apr_time_t not_after);

/**
 * The next time an MD is looked at after a look at 'now': an 'interval' later, or at 'due_at'
 * (its renewal time, 0 for none) when that comes first.
 */
apr_time_t md_renew_next_look(apr_time_t now, apr_interval_time_t interval, apr_time_t due_at);

/* ARI (RFC 9773): how often the CA is asked again about a certificate. A CA's Retry-After is
 * honoured within [MD_ARI_RETRY_MIN, MD_ARI_RETRY_MAX]; without one, MD_ARI_RETRY_DEFAULT. */
#define MD_ARI_RETRY_MIN     apr_time_from_sec(60)
#define MD_ARI_RETRY_MAX     apr_time_from_sec(MD_SECS_PER_DAY)
#define MD_ARI_RETRY_DEFAULT apr_time_from_sec(6 * MD_SECS_PER_HOUR)

/**
 * The renewal time in the CA's suggested window [start, end] (RFC 9773 4.2): start + r * (end -
 * start) with 'r' in [0, 1) (random, chosen once per window so that many servers spread out), or
 * 'now' when that lies in the past. 0 when the window is empty or inverted.
 */
apr_time_t md_renew_ari_pick(apr_time_t start, apr_time_t end, double r, apr_time_t now);

/**
 * When to ask the CA again after an answer at 'now' with Retry-After 'retry_after' (an absolute
 * time, 0 for none): bounded to [MD_ARI_RETRY_MIN, MD_ARI_RETRY_MAX] from now, or
 * MD_ARI_RETRY_DEFAULT without one.
 */
apr_time_t md_renew_ari_next(apr_time_t retry_after, apr_time_t now);

/**
 * The renewal time with the CA's renewal information: 'ari_at' when it is set and earlier than
 * 'window_at', which is else kept. *preason becomes MD_RENEW_ARI when ARI decides and it is due
 * (ari_at <= now) or stays as it is.
 */
apr_time_t md_renew_with_ari(md_renew_reason_t *preason, apr_time_t window_at, apr_time_t ari_at,
                             apr_time_t now);

/** Text for a reason, for logs and status ("no certificate", "names changed", ...). */
const char *md_renew_reason_name(md_renew_reason_t reason);

/**
 * Delay before retry number 'errors' (1 = after the first failure): 'base' doubled per further
 * error, capped at 'max'. 'jitter' in [0, 1) spreads retries of many MDs: the delay is scaled
 * by (1 - 0.25 + 0.5 * jitter), i.e. +-25 %, and the cap still holds. A CA's 'ready_at'
 * (Retry-After), when later than the computed time, wins.
 */
apr_interval_time_t md_renew_retry_delay(int errors, apr_interval_time_t base,
                                         apr_interval_time_t max, double jitter);

/** The time of the next attempt after a failure at 'now'. */
apr_time_t md_renew_next_attempt(int errors, apr_interval_time_t base, apr_interval_time_t max,
                                 double jitter, apr_time_t ready_at, apr_time_t now);

/* How a failed renewal is retried. */
typedef enum {
    MD_RETRY_TRANSIENT,  /* connection, 5xx, bad nonce...: from the base delay, doubling, capped */
    MD_RETRY_RATE_LIMIT, /* the CA limits us: wait until its Retry-After */
    MD_RETRY_CONFIG,     /* only an admin can fix it (bad CSR, rejected name, ...): a day */
} md_retry_class_t;

/* How long a configuration error waits before the next attempt. */
#define MD_RETRY_CONFIG_DELAY apr_time_from_sec(24 * 60 * 60)

/**
 * The retry class of a failure: 'status' of the attempt and the ACME problem type URN it carried
 * ('problem', may be NULL). APR_INCOMPLETE (configuration missing) is a configuration error.
 */
md_retry_class_t md_renew_retry_class(apr_status_t status, const char *problem);

/** "transient", "rate-limit", "config". */
const char *md_renew_retry_class_name(md_retry_class_t cls);

/**
 * For a configuration error: what the admin should fix (a static text), or NULL when the
 * problem type gives no hint (the detail then says it).
 */
const char *md_renew_config_hint(const char *problem);

/**
 * The time of the next attempt after failure number 'errors' of class 'cls' at 'now':
 * transient: md_renew_next_attempt() with 'base', 'max' and 'jitter'; rate limit: 'ready_at'
 * (Retry-After) when known and later than now, else as transient; config: now +
 * MD_RETRY_CONFIG_DELAY (or 'ready_at' when later).
 */
apr_time_t md_renew_next_attempt_for(md_retry_class_t cls, int errors, apr_interval_time_t base,
                                     apr_interval_time_t max, double jitter, apr_time_t ready_at,
                                     apr_time_t now);

/**
 * CA failover (MDCertificateAuthority with 'n' CAs, MDRetryFailover 'retry_failover'): the CA
 * (index) the next attempt starts at, after a failed attempt that started at 'current' and ended
 * at 'used' (-1 when no CA could be reached; CAs that cannot be reached are skipped within an
 * attempt). *perrors counts the failures in a row at the CA the attempts start at: the same CA
 * until it failed 'retry_failover' times, or at once when it limits us ('is_rate_limited'),
 * then the next one (and *perrors starts again). Pure, for tests.
 */
int md_renew_failover(int *perrors, int current, int used, int n, int retry_failover,
                      int is_rate_limited);

#endif /* md_renew_h */
