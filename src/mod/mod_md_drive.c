/* mod_md_drive: the renewal scheduler (see mod_md_drive.h).
 *
 * Each watchdog tick (in the one child that runs the singleton watchdog):
 *   1. for every MD that wants renewing (renew mode, in use, due, not staged, not failed recently)
 *      or whose CA is to be asked for renewal information (ARI), and has no job running, push a
 *      job onto the thread pool. An MD is looked at every MDCheckInterval, more often for short
 *      certificates (md_renew_check_interval), and at its renewal time.
 *   2. a job asks the CA for renewal information (md_ari.h) when that is due, and renews its MD
 *      in a pool of its own when that is due, then records the outcome under the mutex:
 *      staged (log AH10059, nothing more to do until a restart) or failed (count it, log it, and
 *      schedule the next attempt with a growing, jittered delay that honours Retry-After)
 *   3. with MDActivation hot, a staged set is served at once (or when MDActivationDelay allows)
 *      by mod_md_hot_publish(); the MD counts as staged until the parent activated it in the
 *      store, then its renewals go on with the new certificate's dates
 * One slow MD or CA occupies one job thread; the others go on.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_pool.h>

#include <httpd.h>
#include <http_log.h>
#include <mod_watchdog.h>

#include "md.h"
#include "md_log.h"
#include "md_job.h"
#include "md_reg.h"
#include "md_renew.h"
#include "md_request.h"
#include "md_time.h"
#include "md_util.h"
#include "md_acme_drive.h"
#include "md_ari.h"
#include "md_version.h"
#include "mod_md_drive.h"
#include "mod_md_event.h"
#include "mod_md_hot.h"
#include "mod_md_metrics.h"

APLOG_USE_MODULE(md);

#define MD_WATCHDOG_NAME      "_md_renew_"
#define MD_WATCHDOG_EACH_NAME "_md_each_"
#define MD_TICK               apr_time_from_sec(1)
#define MD_RETRY_MAX          apr_time_from_sec(MD_SECS_PER_HOUR)
/* failed attempts in a row that are logged as warnings before they become errors */
#define MD_ERRORS_BEFORE_ERROR 3
/* how long a stopping child waits for its renewal jobs to end */
#define MD_STOP_WAIT apr_time_from_sec(10)

typedef struct md_job_t md_job_t;
typedef struct md_drive_t md_drive_t;

struct md_job_t {
    md_drive_t *drive;
    md_reg_item_t *item;
    const apr_array_header_t *challenges;
    int in_flight;
    int errors;
    apr_time_t next_run;    /* after a failure: the next attempt */
    apr_time_t next_check;  /* MDInitialDelay, then MDCheckInterval: when it is looked at again */
    int what;               /* DO_* flags: what the pushed job thread is to do */
    int vetoes;             /* 'renewing' vetoes (or MDStoreLocks waits) in a row */
    int renewed_pending;    /* 'renewed' not yet handled by the programs */
    int notify_errors;      /* failed 'renewed' calls in a row */
    apr_time_t next_notify; /* when to call them again */
    apr_time_t next_expiry_check;
    apr_time_t next_ari; /* when to ask the CA for renewal information (0: never) */
    /* CA failover (several MDCertificateAuthority): touched by the job's thread only */
    int ca_count;        /* CAs of the MD */
    int ca_start;        /* the one the next attempt starts at (0 for each new renewal) */
    int ca_errors;       /* failed attempts in a row there (MDRetryFailover) */
    apr_time_t *ca_wait; /* per CA: not asked before this (its Retry-After, a refusal) */
    apr_time_t request_seen; /* the last renewal request (a2md renew) taken, by its time */
    int hot_waiting;         /* MDActivation hot: a staged set waits to be served (3.) */
    apr_time_t hot_at;       /* ... not before this time (MDActivationDelay) */
    int hot_at_restart;      /* ... renewed by another server: live at the next restart */
};

struct md_drive_t {
    md_mod_conf_t *mc;
    server_rec *s;
    apr_pool_t *p;
    apr_array_header_t *jobs; /* md_job_t* */
    apr_thread_mutex_t *mutex;
    apr_thread_pool_t *tpool;
    md_acme_acct_cache_t *acct_cache;
    md_http_config_t http_config;
    volatile int stopping; /* the child is going away: jobs end at their next poll */
};

/* the drive of this server generation (set in the parent, inherited by the children) */
static md_drive_t *the_drive;
static int exit_wait_registered;


static int wants_renewal(const md_reg_item_t *item)
{
    const md_t *md = item->md;

    if (md->renew_mode == MD_RENEW_MANUAL || md->state == MD_S_ERROR) {
        return 0;
    }
    /* auto renews what a vhost serves from the store: not unused MDs, not static files */
    if (md->renew_mode == MD_RENEW_AUTO && (!md->is_used || md->cert_files->nelts)) {
        return 0;
    }
    return 1;
}

/* The challenge types an MD may use: its MDCAChallenges list (no guessing), or those this server
 * can answer, in the order tls-alpn-01, http-01, dns-01. */
/* Why an MD has no challenge type, and what to configure (job error and start-up check). */
static const char no_challenge_hint[] =
    "no challenge type can be answered here: http-01 needs the http port (80, or what "
    "'MDPortMap http:' maps it to) to be a Listen port; tls-alpn-01 needs the https port listened "
    "on and 'Protocols ... acme-tls/1' in the MD's https vhost; dns-01 needs 'MDChallengeDns01 "
    "/path/to/program'. Or list the types that work with MDCAChallenges";

static const apr_array_header_t *select_challenges(const md_t *md, md_mod_conf_t *mc, apr_pool_t *p)
{
    apr_array_header_t *types;

    if (md->ca_challenges && md->ca_challenges->nelts) {
        return md->ca_challenges;
    }
    types = apr_array_make(p, 3, sizeof(const char *));
    if (mc->can_https && md->can_acme_tls_1) {
        APR_ARRAY_PUSH(types, const char *) = "tls-alpn-01";
    }
    if (mc->can_http) {
        APR_ARRAY_PUSH(types, const char *) = "http-01";
    }
    if (md->dns01_cmd) {
        APR_ARRAY_PUSH(types, const char *) = "dns-01";
    }
    return types;
}

static double jitter(void)
{
    return (double)rand() / ((double)RAND_MAX + 1.0);
}

/* MDActivation hot serves the job's renewed certificates (on, working, and the MD serves the
 * store's certificates, not MDCertificateFile). */
static int is_hot(const md_job_t *job)
{
    return mod_md_hot_manages(job->drive->mc, job->item);
}

static const char *ca_url_at(const md_job_t *job, int i, apr_pool_t *p)
{
    const apr_array_header_t *urls = md_ca_urls(job->item->md, p);

    return (i >= 0 && i < urls->nelts) ? APR_ARRAY_IDX(urls, i, const char *) : MD_ACME_DEF_URL;
}

/* The CAs of the next attempt, in order, starting at job->ca_start and leaving out those that
 * asked not to be asked yet (unless none is left); *pindex maps them to the MD's list. */
static const apr_array_header_t *attempt_cas(int **pindex, const md_job_t *job, apr_time_t now,
                                             apr_pool_t *p)
{
    const apr_array_header_t *all = md_ca_urls(job->item->md, p);
    apr_array_header_t *urls = apr_array_make(p, all->nelts + 1, sizeof(const char *));
    int i, k;

    *pindex = apr_pcalloc(p, sizeof(int) * (apr_size_t)(all->nelts + 1));
    for (i = 0; i < all->nelts; ++i) {
        k = (job->ca_start + i) % all->nelts;
        if (i == 0 || !job->ca_wait || job->ca_wait[k] <= now) {
            (*pindex)[urls->nelts] = k;
            APR_ARRAY_PUSH(urls, const char *) = APR_ARRAY_IDX(all, k, const char *);
        }
    }
    return urls;
}

/* After a failed attempt that ended at CA 'used' (-1: none reachable): where the next one starts
 * and when (at 'next_run', or soon when it goes to another CA, never before that CA's wait). */
static apr_time_t failover(md_job_t *job, md_retry_class_t cls, int used, const md_result_t *result,
                           apr_time_t next_run, apr_time_t now, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    int prev = (used >= 0) ? used : job->ca_start;
    int must_leave = (cls != MD_RETRY_TRANSIENT);
    const char *why;

    if (job->ca_count <= 1) {
        return next_run;
    }
    if (must_leave && used >= 0) {
        /* it limits us or refuses: not asked again before its Retry-After (or the delay) */
        job->ca_wait[used] = (result->ready_at > now) ? result->ready_at : next_run;
    }
    job->ca_start = md_renew_failover(&job->ca_errors, job->ca_start, used, job->ca_count,
                                      drive->mc->retry_failover, must_leave);
    if (job->ca_start != prev) {
        next_run = now + md_renew_retry_delay(1, drive->mc->retry_delay, MD_RETRY_MAX, jitter());
        why = (cls == MD_RETRY_RATE_LIMIT) ? "rate limited"
              : (cls == MD_RETRY_CONFIG)   ? "refused"
                                           : apr_psprintf(p, "failed %d times in a row "
                                                          "(MDRetryFailover)",
                                                          drive->mc->retry_failover);
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, drive->s,
                     APLOGNO(12909) "%s: the next attempt goes to the CA at %s (CA failover: %s "
                                    "at %s)",
                     job->item->md->name, ca_url_at(job, job->ca_start, p), why,
                     ca_url_at(job, prev, p));
        md_job_note(drive->mc->store, job->item->md->name, "failover",
                    apr_psprintf(p, "next attempt at %s", ca_url_at(job, job->ca_start, p)), 0, now,
                    p);
    }
    return (job->ca_wait[job->ca_start] > next_run) ? job->ca_wait[job->ca_start] : next_run;
}

static void log_failure(md_job_t *job, md_result_t *result, apr_status_t rv, int errors,
                        md_retry_class_t cls, apr_time_t next_run, apr_time_t now, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    const md_t *md = job->item->md;
    const char *wait = md_duration_format(apr_time_from_sec(apr_time_sec(next_run - now)), p);
    const char *hint = md_renew_config_hint(result->problem);

    if (job->ca_count > 1) {
        wait = apr_pstrcat(p, wait, " at ", ca_url_at(job, job->ca_start, p), NULL);
    }
    if (cls == MD_RETRY_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, drive->s,
                     APLOGNO(12607) "%s: renewal failed with an error that needs a change of "
                                    "the configuration: %s; %s; next attempt in %s",
                     md->name, md_result_to_text(result, p),
                     hint ? hint : "see the detail for what to fix", wait);
    }
    else if (errors < MD_ERRORS_BEFORE_ERROR) {
        /* a CA hiccup that the next attempt may well fix */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, drive->s,
                     APLOGNO(12300) "%s: renewal failed (attempt %d): %s; next attempt in %s",
                     md->name, errors, md_result_to_text(result, p), wait);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, drive->s,
                     APLOGNO(12304) "%s: renewal failed %d times in a row, the last time with: "
                                    "%s; next attempt in %s",
                     md->name, errors, md_result_to_text(result, p), wait);
    }
}

static void job_done(md_job_t *job, md_result_t *result, apr_status_t rv, int used, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    const md_t *md = job->item->md;
    apr_time_t now = apr_time_now(), next_run = 0;
    int errors = (APR_SUCCESS == rv) ? 0 : job->errors + 1;
    md_retry_class_t cls = md_renew_retry_class(rv, result->problem);

    if (APR_STATUS_IS_EBUSY(rv)) {
        /* MDStoreLocks: another server renews it; not a failure of this one, it waits like
         * after a veto */
        apr_interval_time_t delay;

        apr_thread_mutex_lock(drive->mutex);
        job->vetoes++;
        delay = md_renew_retry_delay(job->vetoes, drive->mc->retry_delay, MD_RETRY_MAX, jitter());
        job->next_run = now + delay;
        apr_thread_mutex_unlock(drive->mutex);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, drive->s,
                     APLOGNO(13405) "%s: another server sharing the store renews it now "
                                    "(MDStoreLocks); looking again in %s",
                     md->name, md_duration_format(delay, p));
        return;
    }
    if (APR_SUCCESS != rv && drive->stopping) {
        /* not a failure: the child goes away, the next one continues the job (and its order) */
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, drive->s,
                     APLOGNO(12305) "%s: renewal interrupted by the server's restart or stop, "
                                    "it continues in the next child",
                     md->name);
        return;
    }
    if (errors) {
        next_run = md_renew_next_attempt_for(cls, errors, drive->mc->retry_delay, MD_RETRY_MAX,
                                             jitter(), result->ready_at, now);
        next_run = failover(job, cls, used, result, next_run, now, p);
        mod_md_metrics_inc(md->name, MD_METRIC_FAILURES);
    }
    else {
        /* the next renewal starts at the first CA again */
        job->ca_start = 0;
        job->ca_errors = 0;
        memset(job->ca_wait, 0, sizeof(apr_time_t) * (apr_size_t)job->ca_count);
    }
    /* while the job is still in flight, no other thread writes this MD's job.json */
    md_job_record(drive->mc->store, md->name, APR_SUCCESS == rv, errors, result, next_run, now, p);

    apr_thread_mutex_lock(drive->mutex);
    job->errors = errors;
    job->next_run = next_run;
    job->vetoes = 0;
    if (APR_SUCCESS == rv) {
        job->renewed_pending = 1;
        job->next_notify = 0;
        job->hot_waiting = is_hot(job);
        job->hot_at = 0;
    }
    apr_thread_mutex_unlock(drive->mutex);

    if (APR_SUCCESS == rv && is_hot(job)) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, drive->s,
                     APLOGNO(13000) "%s: renewed certificate staged; it goes live without a "
                                    "restart (MDActivation hot)",
                     md->name);
    }
    else if (APR_SUCCESS == rv) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, drive->s,
                     APLOGNO(10059) "The Managed Domain %s has been setup and changes will be "
                                    "activated on next (graceful) server restart.",
                     md->name);
    }
    else {
        log_failure(job, result, rv, errors, cls, next_run, now, p);
        mod_md_event_send_limited(drive->mc, drive->s, "errored", md->name, MD_EVENT_ERRORED_EVERY,
                                  p);
    }
}

/* 'renewed' goes to MDNotifyCmd/MDMessageCmd until they succeed. */
static void notify_renewed(md_job_t *job, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    apr_status_t rv;

    rv = mod_md_event_send(drive->mc, drive->s, "renewed", job->item->md->name, p);
    apr_thread_mutex_lock(drive->mutex);
    if (APR_SUCCESS == rv) {
        job->renewed_pending = 0;
        job->notify_errors = 0;
    }
    else {
        job->notify_errors++;
        job->next_notify = md_renew_next_attempt(job->notify_errors, drive->mc->retry_delay,
                                                 MD_RETRY_MAX, jitter(), 0, apr_time_now());
    }
    apr_thread_mutex_unlock(drive->mutex);
}

/* 'expiring' when the certificate is inside MDWarnWindow (at most once a day). */
static void check_expiring(md_job_t *job, apr_time_t now, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    md_reg_item_t *item = job->item;
    apr_time_t at;

    if (!item->valid_until || !item->md->warn_window) {
        return;
    }
    if (MD_RENEW_WINDOW
        == md_renew_due(&at, item->valid_from, item->valid_until, 1, item->md->warn_window, now)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, drive->s,
                     APLOGNO(12608) "%s: the certificate expires on %s (inside MDWarnWindow)",
                     item->md->name, md_time_http(item->valid_until, p));
        mod_md_event_send_limited(drive->mc, drive->s, "expiring", item->md->name,
                                  MD_EVENT_EXPIRING_EVERY, p);
    }
}

/* MDMessageCmd 'renewing': non-zero from the program vetoes this attempt. */
static int vetoed(md_job_t *job, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    apr_interval_time_t delay;

    if (!drive->mc->message_cmd
        || APR_SUCCESS
               == mod_md_event_send(drive->mc, drive->s, "renewing", job->item->md->name, p)) {
        return 0;
    }
    apr_thread_mutex_lock(drive->mutex);
    job->vetoes++;
    delay = md_renew_retry_delay(job->vetoes, drive->mc->retry_delay, MD_RETRY_MAX, jitter());
    job->next_run = apr_time_now() + delay;
    apr_thread_mutex_unlock(drive->mutex);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, drive->s,
                 APLOGNO(12609) "%s: MDMessageCmd vetoed the renewal ('renewing' did not return "
                                "0); asking again in %s",
                 job->item->md->name, md_duration_format(delay, p));
    return 1;
}

static void log_renewal_start(md_job_t *job, apr_pool_t *p)
{
    md_renew_reason_t reason;
    apr_time_t at;

    apr_thread_mutex_lock(job->drive->mutex);
    at = md_reg_item_due(job->item, &reason, apr_time_now());
    apr_thread_mutex_unlock(job->drive->mutex);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, job->drive->s,
                 APLOGNO(12906) "%s: renewing (%s, due at %s)%s", job->item->md->name,
                 job->errors ? "retry after a failure" : md_renew_reason_name(reason),
                 md_time_rfc3339(at, p),
                 (reason == MD_RENEW_ARI) ? ": the CA's renewal information asks for it" : "");
}

/* ARI: ask the CA about the MD's certificates, take the renewal time it suggests. */
static void ask_ari(md_job_t *job, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    apr_time_t at = 0, next = 0, now = apr_time_now();
    apr_status_t rv;

    rv = md_ari_update(&at, &next, drive->mc->store, job->item, &drive->http_config,
                       drive->acct_cache, jitter(), now, p);
    apr_thread_mutex_lock(drive->mutex);
    job->next_ari = (APR_SUCCESS == rv) ? next : 0;
    job->item->ari_at = at;
    if (at && at < job->next_check) {
        job->next_check = at; /* the renewal is looked at when the CA wants it */
    }
    apr_thread_mutex_unlock(drive->mutex);
}

static void renew(md_job_t *job, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    md_acme_driver_t driver;
    md_result_t *result;
    int *ca_index = NULL, used = -1;
    apr_status_t rv;

    if (vetoed(job, p)) {
        return;
    }
    log_renewal_start(job, p);
    mod_md_metrics_inc(job->item->md->name, MD_METRIC_RENEWALS);
    result = md_result_make(job->item->md->name, p);
    memset(&driver, 0, sizeof(driver));
    driver.http_config = &drive->http_config;
    driver.acct_cache = drive->acct_cache;
    driver.challenges = job->challenges;
    driver.result = result;
    driver.stop = &drive->stopping;
    driver.ca_urls = attempt_cas(&ca_index, job, apr_time_now(), p);
    if (!job->challenges->nelts) {
        /* APR_INCOMPLETE: configuration is missing, the long retry class */
        rv = md_result_set(result, APR_INCOMPLETE, no_challenge_hint);
        used = job->ca_start;
    }
    else {
        rv = md_reg_renew(drive->mc->reg, job->item, &driver, p);
        used = (driver.ca_used >= 0) ? ca_index[driver.ca_used] : -1;
    }
    if (APR_SUCCESS == rv && is_hot(job)) {
        /* md-status' "renewal": no restart awaited */
        md_result_set(result, APR_SUCCESS,
                      "certificate staged, it goes live without a restart (MDActivation hot)");
    }
    job_done(job, result, rv, used, p);
}

/* 3. Serve a staged set (on a job thread). An unusable one was removed: that renewal failed. */
static void hot_publish(md_job_t *job, apr_pool_t *p)
{
    md_drive_t *drive = job->drive;
    md_result_t *result = md_result_make(job->item->md->name, p);
    apr_time_t at = 0;
    apr_status_t rv;
    int failed;

    rv = mod_md_hot_publish(&at, drive->mc, job->item, result, apr_time_now(), p);
    failed = (APR_SUCCESS != rv && !APR_STATUS_IS_EAGAIN(rv) && !APR_STATUS_IS_ENOENT(rv));
    apr_thread_mutex_lock(drive->mutex);
    job->hot_at_restart = APR_STATUS_IS_ENOENT(rv);
    if (APR_STATUS_IS_EAGAIN(rv) && !job->hot_at) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, drive->s,
                     APLOGNO(13003) "%s: the renewed certificate waits for MDActivationDelay: "
                                    "it goes live at %s, without a restart",
                     job->item->md->name, md_time_rfc3339(at, p));
    }
    job->hot_waiting = APR_STATUS_IS_EAGAIN(rv);
    job->hot_at = at;
    if (failed) {
        job->item->is_staged = 0;
    }
    apr_thread_mutex_unlock(drive->mutex);
    if (failed) {
        job_done(job, result, APR_EINVAL, job->ca_start, p); /* the set its CA issued */
    }
}

/* What a job thread has to do now (read under the mutex). */
#define DO_RENEW   0x01
#define DO_NOTIFY  0x02
#define DO_EXPIRY  0x04
#define DO_PUBLISH 0x08
#define DO_ARI     0x10

/* What is due for a job at 'now' (called under the mutex). A renewal is looked at when
 * MDInitialDelay/MDCheckInterval say so and happens when the certificate is due; after a failure
 * (or a 'renewing' veto) the next attempt is the retry time. */
static int job_due(const md_job_t *job, apr_time_t now)
{
    int what = 0;

    if (job->item->is_watched && !job->item->is_staged) {
        /* after a failure or a veto the retry time rules, not MDCheckInterval */
        if ((job->errors || job->vetoes) ? (now >= job->next_run)
                                         : (now >= job->next_check && now >= job->next_run
                                            && now >= md_reg_item_due(job->item, NULL, now))) {
            what |= DO_RENEW;
        }
        else if (job->next_ari && now >= job->next_ari && !job->errors) {
            what |= DO_ARI;
        }
    }
    if (job->renewed_pending && now >= job->next_notify) {
        what |= DO_NOTIFY;
    }
    if (now >= job->next_expiry_check) {
        what |= DO_EXPIRY;
    }
    if (job->hot_waiting && now >= job->hot_at) {
        what |= DO_PUBLISH;
    }
    return what;
}

/* 3. With MDActivation hot, an MD is staged while its set waits to be served or for the parent to
 * activate it in the store; after that its renewals go on (called under the mutex). */
static void hot_reconcile(md_job_t *job)
{
    if (job->in_flight || !is_hot(job)) {
        return;
    }
    job->item->is_staged =
        job->hot_waiting || job->hot_at_restart || mod_md_hot_pending(job->drive->mc, job->item);
}

/* 2. runs on a job thread */
static void *APR_THREAD_FUNC job_run(apr_thread_t *thread, void *baton)
{
    md_job_t *job = baton;
    md_drive_t *drive = job->drive;
    apr_pool_t *p = NULL;
    apr_time_t now = apr_time_now();
    int what, publish;

    (void)thread;
    apr_thread_mutex_lock(drive->mutex);
    what = job->what;
    if (what & DO_EXPIRY) {
        job->next_expiry_check = now + apr_time_from_sec(MD_SECS_PER_HOUR);
    }
    apr_thread_mutex_unlock(drive->mutex);
    if (APR_SUCCESS != apr_pool_create_unmanaged_ex(&p, NULL, NULL)) {
        apr_thread_mutex_lock(drive->mutex);
        job->in_flight = 0;
        job->next_run = apr_time_now() + drive->mc->retry_delay;
        apr_thread_mutex_unlock(drive->mutex);
        return NULL;
    }
    if (what & DO_NOTIFY) {
        notify_renewed(job, p);
    }
    if ((what & DO_EXPIRY) && drive->mc->message_cmd) {
        check_expiring(job, now, p);
    }
    if (what & DO_ARI) {
        ask_ari(job, p);
    }
    if (what & DO_RENEW) {
        renew(job, p);
    }
    if (what & (DO_RENEW | DO_PUBLISH)) {
        /* a renewal that just staged a set serves it right away, not a tick later */
        apr_thread_mutex_lock(drive->mutex);
        publish = job->hot_waiting && job->hot_at <= apr_time_now();
        apr_thread_mutex_unlock(drive->mutex);
        if (publish) {
            hot_publish(job, p);
        }
    }
    apr_pool_destroy(p);
    apr_thread_mutex_lock(drive->mutex);
    job->in_flight = 0;
    apr_thread_mutex_unlock(drive->mutex);
    return NULL;
}

/* 1. An MD is looked at (called under the mutex): when is the next look? */
static void look(md_job_t *job, apr_time_t now)
{
    md_drive_t *drive = job->drive;
    md_renew_reason_t reason;
    apr_time_t due = md_reg_item_due(job->item, &reason, now);
    apr_interval_time_t interval =
        md_renew_check_interval(drive->mc->check_interval, job->item->valid_from,
                                job->item->valid_until);

    job->next_check = md_renew_next_look(now, interval, due);
    if (APLOG_IS_LEVEL(drive->s, APLOG_DEBUG)) {
        apr_pool_t *p = NULL;

        apr_pool_create(&p, drive->p);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, drive->s,
                     APLOGNO(12907) "%s: looked at: renewal %s at %s, next look at %s (every %s)",
                     job->item->md->name, md_renew_reason_name(reason), md_time_rfc3339(due, p),
                     md_time_rfc3339(job->next_check, p), md_duration_format(interval, p));
        apr_pool_destroy(p);
    }
}

/* A renewal request of the operator (a2md renew, md_request.h) for a watched MD: due now, also
 * when a failure made it wait. One that is running or staged already is taken as it is. */
static int take_request(void *baton, const char *name, apr_time_t requested)
{
    md_drive_t *drive = baton;
    md_job_t *job = NULL;
    apr_time_t now = apr_time_now();
    const char *what = NULL;
    int i;

    apr_thread_mutex_lock(drive->mutex);
    for (i = 0; i < drive->jobs->nelts; ++i) {
        job = APR_ARRAY_IDX(drive->jobs, i, md_job_t *);
        if (!strcmp(job->item->md->name, name)) {
            break;
        }
        job = NULL;
    }
    if (job && job->item->is_watched && job->request_seen != requested) {
        job->request_seen = requested;
        if (job->item->is_staged) {
            what = (is_hot(job) && !job->hot_at_restart)
                       ? "a renewed certificate is served already (MDActivation hot)"
                       : "a renewed certificate is staged already, it goes live at the next "
                         "restart";
        }
        else if (job->in_flight) {
            what = "a renewal is running already";
        }
        else {
            job->item->renew_at = now;
            job->next_check = now;
            job->next_run = now;
            job->vetoes = 0;
            what = "renewing now";
        }
    }
    apr_thread_mutex_unlock(drive->mutex);
    if (what) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, drive->s,
                     APLOGNO(13320) "%s: renewal requested (a2md renew): %s", name, what);
    }
    return what != NULL;
}

/* 1. */
static void schedule(md_drive_t *drive, apr_time_t now)
{
    md_job_t *job;
    int i;

    apr_thread_mutex_lock(drive->mutex);
    for (i = 0; i < drive->jobs->nelts; ++i) {
        job = APR_ARRAY_IDX(drive->jobs, i, md_job_t *);
        if (job->in_flight) {
            continue;
        }
        hot_reconcile(job);
        if (!job->errors && job->item->is_watched && now >= job->next_check) {
            /* looked at now: whether due or not, the next look is an interval away (shorter for
             * short certificates), or at the renewal time when that comes first */
            job->what = job_due(job, now);
            look(job, now);
        }
        else {
            job->what = job_due(job, now);
        }
        if (!job->what) {
            continue;
        }
        job->in_flight = 1;
        if (APR_SUCCESS != apr_thread_pool_push(drive->tpool, job_run, job, 0, drive)) {
            job->in_flight = 0;
        }
    }
    apr_thread_mutex_unlock(drive->mutex);
}

/* The child is going away (graceful restart, stop): ask running jobs to stop and wait for them
 * (a while at most), so that no job thread is left using memory the exiting process frees. A job
 * stopped this way is continued by the next child (its order is kept in staging). */
static void wait_for_jobs(md_drive_t *drive)
{
    apr_time_t until = apr_time_now() + MD_STOP_WAIT;
    int i, running = 1;

    drive->stopping = 1;
    while (running && apr_time_now() < until) {
        running = 0;
        apr_thread_mutex_lock(drive->mutex);
        for (i = 0; i < drive->jobs->nelts; ++i) {
            running += APR_ARRAY_IDX(drive->jobs, i, md_job_t *)->in_flight;
        }
        apr_thread_mutex_unlock(drive->mutex);
        if (running) {
            apr_sleep(apr_time_from_msec(20));
        }
    }
}

/* At process exit: the exit path of a child does not always stop the watchdog thread first,
 * and OpenSSL and APR are torn down by earlier-registered exit handlers. Registered after them,
 * this runs before them and keeps job threads from working on freed state. Only the child that
 * runs the watchdog has job threads (a tpool). */
static void wait_at_exit(void)
{
    if (the_drive && the_drive->tpool) {
        wait_for_jobs(the_drive);
    }
}

static apr_status_t drive_cb(int state, void *baton, apr_pool_t *ptemp)
{
    md_drive_t *drive = baton;
    apr_status_t rv = APR_SUCCESS;

    switch (state) {
        case AP_WATCHDOG_STATE_STARTING:
            /* the job threads must not depend on pools the watchdog clears, so they get an
             * unmanaged pool of their own that lives as long as the process */
            rv = md_util_shared_pool_create(&drive->p, &drive->mutex);
            if (APR_SUCCESS == rv) {
                rv = apr_thread_pool_create(&drive->tpool, 0, MD_DRIVE_MAX_JOBS, drive->p);
            }
            if (APR_SUCCESS == rv) {
                rv = md_acme_acct_cache_create(&drive->acct_cache, drive->p);
            }
            if (APR_SUCCESS != rv) {
                ap_log_error(APLOG_MARK, APLOG_ERR, rv, drive->s,
                             APLOGNO(12301) "cannot start the renewal scheduler");
                drive->tpool = NULL;
                break;
            }
            if (!exit_wait_registered) {
                atexit(wait_at_exit);
                exit_wait_registered = 1;
            }
            /* the first look right away, not a tick later */
            schedule(drive, apr_time_now());
            break;
        case AP_WATCHDOG_STATE_RUNNING:
            if (drive->tpool) {
                md_request_scan(take_request, drive, drive->mc->store, ptemp);
                schedule(drive, apr_time_now());
            }
            break;
        case AP_WATCHDOG_STATE_STOPPING:
            if (drive->tpool) {
                wait_for_jobs(drive);
            }
            break;
        default:
            break;
    }
    return APR_SUCCESS;
}

/* The consistency check at start-up: problems that would make every renewal fail go into the
 * MD's state at once (for the status pages) instead of showing up after the first attempt. */
static void check_renewable(md_job_t *job, server_rec *s)
{
    md_t *md = job->item->md;

    if (!job->challenges->nelts) {
        md->state_descr = no_challenge_hint;
    }
    else if (!md->contacts->nelts) {
        md->state_descr = "no contact email for the CA account: set MDContactEmail (or a "
                          "ServerAdmin with an email address)";
    }
    else {
        return;
    }
    if (!job->item->has_cert) {
        md->state = MD_S_MISSING_INFORMATION;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, APLOGNO(12407) "%s: %s", md->name,
                 md->state_descr);
}

/* When the CA is first asked for renewal information: at the first look, or later when a run
 * before said so (its Retry-After survives restarts); 0 when ARI is off or there is nothing to
 * ask about. */
static apr_time_t ari_first(const md_reg_item_t *item, apr_time_t first_look)
{
    int i;

    if (item->md->ari_renewals == 0 || !item->ari_ids) {
        return 0;
    }
    for (i = 0; i < item->ari_ids->nelts; ++i) {
        if (APR_ARRAY_IDX(item->ari_ids, i, const char *)) {
            return (item->ari_next > first_look) ? item->ari_next : first_look;
        }
    }
    return 0;
}

int mod_md_drive_renew_now(const char *name, apr_time_t now)
{
    md_drive_t *drive = the_drive;
    md_job_t *job;
    int i, done = 0;

    if (!drive || !drive->mutex) {
        return 0;
    }
    apr_thread_mutex_lock(drive->mutex);
    for (i = 0; i < drive->jobs->nelts; ++i) {
        job = APR_ARRAY_IDX(drive->jobs, i, md_job_t *);
        if (strcmp(job->item->md->name, name) || !job->item->is_watched || job->item->is_staged
            || job->in_flight || job->errors
            || (job->item->renew_at <= now && job->next_check <= now)) {
            continue;
        }
        job->item->renew_at = now;
        job->next_check = now;
        done = 1;
    }
    apr_thread_mutex_unlock(drive->mutex);
    return done;
}

int mod_md_drive_renewed_elsewhere(const char *name)
{
    md_drive_t *drive = the_drive;
    md_job_t *job;
    int i, done = 0;

    if (!drive || !drive->mutex) {
        return 0;
    }
    apr_thread_mutex_lock(drive->mutex);
    for (i = 0; i < drive->jobs->nelts; ++i) {
        job = APR_ARRAY_IDX(drive->jobs, i, md_job_t *);
        if (strcmp(job->item->md->name, name) != 0 || job->in_flight || !is_hot(job)) {
            continue;
        }
        /* 3. served by the next tick; meanwhile no renewal of this server starts */
        job->hot_waiting = 1;
        job->hot_at = 0;
        job->hot_at_restart = 0;
        job->item->is_staged = 1;
        done = 1;
    }
    apr_thread_mutex_unlock(drive->mutex);
    return done;
}

void mod_md_http_config(md_http_config_t *hc, const md_mod_conf_t *mc, apr_pool_t *p)
{
    hc->user_agent = apr_psprintf(p, "mod_md/%s %s", MD_MODULE_VERSION, ap_get_server_banner());
    hc->ca_file = mc->ca_file;
    hc->proxy_url = mc->proxy_url;
    hc->proxy_ca_file = mc->proxy_ca_file;
}

static apr_status_t watchdog_add(const char *name, int singleton, void *baton,
                                 ap_watchdog_callback_fn_t *cb, apr_interval_time_t tick,
                                 apr_pool_t *p)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_cb;
    ap_watchdog_t *wd = NULL;
    apr_status_t rv;

    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_cb) {
        return APR_ENOTIMPL;
    }
    rv = get_instance(&wd, name, 0, singleton, p);
    if (APR_SUCCESS == rv) {
        rv = register_cb(wd, tick, baton, cb);
    }
    return rv;
}

apr_status_t mod_md_watchdog_add(void *baton, ap_watchdog_callback_fn_t *cb,
                                 apr_interval_time_t tick, apr_pool_t *p)
{
    return watchdog_add(MD_WATCHDOG_NAME, 1, baton, cb, tick, p);
}

apr_status_t mod_md_watchdog_add_each(void *baton, ap_watchdog_callback_fn_t *cb,
                                      apr_interval_time_t tick, apr_pool_t *p)
{
    return watchdog_add(MD_WATCHDOG_EACH_NAME, 0, baton, cb, tick, p);
}

apr_status_t mod_md_drive_start(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p)
{
    md_drive_t *drive;
    const apr_array_header_t *items = md_reg_items(mc->reg);
    md_reg_item_t *item;
    md_job_t *job;
    apr_status_t rv;
    int i;

    drive = apr_pcalloc(p, sizeof(*drive));
    drive->mc = mc;
    drive->s = s;
    drive->jobs = apr_array_make(p, items->nelts, sizeof(md_job_t *));
    mod_md_http_config(&drive->http_config, mc, p);
    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, md_reg_item_t *);
        item->is_watched = wants_renewal(item);
        if (!item->is_watched) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                         APLOGNO(12405) "%s: not renewed by this server (MDRenewMode %s%s%s)",
                         item->md->name, md_renew_mode_name(item->md->renew_mode),
                         item->md->is_used ? "" : ", used by no vhost",
                         item->md->cert_files->nelts ? ", static MDCertificateFile" : "");
            if (!mc->message_cmd) {
                continue;
            }
        }
        job = apr_pcalloc(p, sizeof(*job));
        job->drive = drive;
        job->item = item;
        job->challenges = select_challenges(item->md, mc, p);
        job->next_check = apr_time_now() + mc->initial_delay;
        /* a set a restart left staged (MDActivationDelay) is served when the delay is over */
        job->hot_waiting = is_hot(job) && item->is_staged;
        job->ca_count = md_ca_urls(item->md, p)->nelts;
        job->ca_wait = apr_pcalloc(p, sizeof(apr_time_t) * (apr_size_t)(job->ca_count + 1));
        if (item->is_watched) {
            check_renewable(job, s);
            /* a restarted server continues the job where it was */
            md_job_restore(&job->errors, &job->next_run, mc->store, item->md->name, MD_RETRY_MAX,
                           apr_time_now(), p);
            job->next_ari = ari_first(item, job->next_check);
        }
        APR_ARRAY_PUSH(drive->jobs, md_job_t *) = job;
    }
    the_drive = drive;
    if (!drive->jobs->nelts) {
        return APR_SUCCESS;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 APLOGNO(12406) "renewal checks of %d Managed Domains start in %s "
                                "(MDInitialDelay), then every %s (MDCheckInterval); a failure is "
                                "retried after %s (MDRetryDelay) and then less often",
                 drive->jobs->nelts, md_duration_format(mc->initial_delay, p),
                 md_duration_format(mc->check_interval, p), md_duration_format(mc->retry_delay, p));
    rv = mod_md_watchdog_add(drive, drive_cb, MD_TICK, p);
    if (APR_STATUS_IS_ENOTIMPL(rv)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     APLOGNO(12302) "mod_watchdog is not loaded: certificates will not be "
                                    "obtained or renewed; load mod_watchdog "
                                    "(LoadModule watchdog_module ...)");
    }
    else if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     APLOGNO(12303) "cannot register the renewal watchdog");
    }
    return rv;
}
