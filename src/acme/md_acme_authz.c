/* md_acme_authz: answering one authorization (see md_acme_authz.h).
 *
 *   1. POST-as-GET the authz; valid: nothing to do (CAs reuse authorizations)
 *   2. pending: choose a challenge (the first type of the driver's list that the CA offers)
 *   3. set up the answer from the key authorization token.thumbprint (RFC 8555 8.1):
 *      - http-01 (RFC 8555 8.3): into challenges/<domain>/acme-http-01.txt, where the server
 *        answers /.well-known/acme-challenge/<token> from
 *      - tls-alpn-01 (RFC 8737): a key and a self-signed certificate with the acmeIdentifier
 *        extension into challenges/<domain>/acme-tls-alpn-01-{privkey,pubcert}*.pem, which the
 *        server hands to mod_ssl for connections that negotiate "acme-tls/1"
 *      - dns-01 (RFC 8555 8.4): the MDChallengeDns01 program is run as
 *        'program setup <domain> <base64url(SHA-256(key authorization))>'
 *   4. POST {} to the challenge URL to have the CA validate (RFC 8555 7.5.1)
 *   5. poll the authz until valid or invalid (or the deadline), short delays first
 *   6. remove the answer again; for dns-01 'program teardown <domain> [value]' runs whatever the
 *      outcome (the value only with MDChallengeDns01Version 2)
 */
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "md.h"
#include "md_log.h"
#include "md_proc.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_acme_authz.h"

typedef struct {
    const char *url;
    const char *domain;
    const char *status;
    md_json_t *json;
} md_authz_t;

#define MD_DNS01_STDERR_MAX 1024 /* how much of the program's stderr goes into the error */
#define MD_TLSALPN01_VALID  apr_time_from_sec(7 * MD_SECS_PER_DAY)

static int can_answer(const char *type)
{
    return type
           && (!strcmp(type, MD_ACME_CHALLENGE_HTTP01) || !strcmp(type, MD_ACME_CHALLENGE_TLSALPN01)
               || !strcmp(type, MD_ACME_CHALLENGE_DNS01));
}

int md_acme_authz_choose(const apr_array_header_t *offered, const apr_array_header_t *wanted)
{
    const char *type;
    int i, idx;

    for (i = 0; wanted && i < wanted->nelts; ++i) {
        type = APR_ARRAY_IDX(wanted, i, const char *);
        if (!can_answer(type)) {
            continue;
        }
        idx = md_array_str_index(offered, type, 0, 1);
        if (idx >= 0) {
            return idx;
        }
    }
    return -1;
}

static int is_token(const char *s)
{
    const char *c;

    if (!s || !*s || strlen(s) > 256) {
        return 0;
    }
    for (c = s; *c; ++c) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
              || *c == '-' || *c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* The driver's list (or the MD's MDCAChallenges, or http-01), without dns-01 when there is no
 * program to set up the DNS record. */
static apr_array_header_t *wanted_types(const md_acme_driver_t *driver, apr_pool_t *p)
{
    const apr_array_header_t *list = driver->challenges;
    apr_array_header_t *types = apr_array_make(p, 3, sizeof(const char *));
    const char *type;
    int i;

    if (!list || !list->nelts) {
        list = driver->md->ca_challenges;
    }
    if (!list || !list->nelts) {
        APR_ARRAY_PUSH(types, const char *) = MD_ACME_CHALLENGE_HTTP01;
        return types;
    }
    for (i = 0; i < list->nelts; ++i) {
        type = APR_ARRAY_IDX(list, i, const char *);
        if (!strcmp(type, MD_ACME_CHALLENGE_DNS01) && !driver->md->dns01_cmd) {
            continue;
        }
        APR_ARRAY_PUSH(types, const char *) = type;
    }
    return types;
}

/* What to configure so that 'type' can be answered here. */
static const char *type_hint(const char *type)
{
    if (!strcmp(type, MD_ACME_CHALLENGE_HTTP01)) {
        return "http-01 needs the http port (80, or what 'MDPortMap http:' maps it to) to be a "
               "Listen port of this server";
    }
    if (!strcmp(type, MD_ACME_CHALLENGE_TLSALPN01)) {
        return "tls-alpn-01 needs the https port (443, or what 'MDPortMap https:' maps it to) "
               "to be a Listen port and 'Protocols ... acme-tls/1' in the MD's https vhost";
    }
    if (!strcmp(type, MD_ACME_CHALLENGE_DNS01)) {
        return "dns-01 needs 'MDChallengeDns01 /path/to/program' (wildcard names can only be "
               "validated this way)";
    }
    return "this module does not support it";
}

static apr_status_t authz_fetch(md_authz_t *authz, md_acme_t *acme, md_result_t *result,
                                apr_time_t *pretry_after, apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    apr_status_t rv;

    rv = md_acme_get_json(&authz->json, &resp, acme, authz->url, result, p);
    if (pretry_after) {
        *pretry_after = resp ? md_acme_retry_after(resp->headers, apr_time_now()) : 0;
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    authz->status = md_json_gets(authz->json, MD_KEY_STATUS);
    authz->domain = md_json_gets(authz->json, MD_KEY_IDENTIFIER, MD_KEY_VALUE);
    if (!authz->status || !authz->domain) {
        return md_result_printf(result, APR_EINVAL, "authz %s lacks status or identifier",
                                authz->url);
    }
    return APR_SUCCESS;
}

/* An authz that is not valid: the problem of its (first failed) challenge into the result. */
static apr_status_t authz_failed(const md_authz_t *authz, md_result_t *result, apr_pool_t *p)
{
    apr_array_header_t *chs = apr_array_make(p, 5, sizeof(md_json_t *));
    const md_json_t *ch, *err = NULL;
    apr_status_t rv = APR_EINVAL;
    int i;

    md_json_geta(chs, authz->json, MD_KEY_CHALLENGES);
    for (i = 0; i < chs->nelts && !err; ++i) {
        ch = APR_ARRAY_IDX(chs, i, const md_json_t *);
        err = md_json_getj(ch, MD_KEY_ERROR);
    }
    if (err) {
        md_result_problem_set(result, rv, md_json_gets(err, MD_KEY_TYPE),
                              apr_psprintf(p, "%s: %s", authz->domain,
                                           md_json_gets(err, MD_KEY_DETAIL)));
    }
    else {
        md_result_printf(result, rv, "authorization for %s is %s", authz->domain, authz->status);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, APLOGNO(12224) "%s: authz %s failed: %s",
                  result->md_name ? result->md_name : "", authz->url, md_result_to_text(result, p));
    return rv;
}

static void setup_event(const md_authz_t *authz, const char *type, md_acme_driver_t *driver,
                        apr_pool_t *p)
{
    if (driver->event_cb) {
        driver->event_cb(driver->event_baton, "challenge-setup",
                         apr_psprintf(p, "%s: %s", authz->domain, type));
    }
}

/* 3. http-01 */
static apr_status_t setup_http01(const md_authz_t *authz, const char *key_authz,
                                 md_acme_driver_t *driver, apr_pool_t *p)
{
    apr_status_t rv;

    /* an answer lives as long as its challenge: it need not survive a crash of the machine */
    rv = md_store_save_regenerable(driver->store, MD_SG_CHALLENGES, authz->domain, MD_FN_HTTP01,
                                   MD_SV_TEXT, key_authz, p);
    if (APR_SUCCESS != rv) {
        return md_result_printf(driver->result, rv, "saving the http-01 answer for %s",
                                authz->domain);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(12225) "%s: http-01 answer for %s set up", driver->md->name,
                  authz->domain);
    return APR_SUCCESS;
}

/* 3. tls-alpn-01: a fresh key of the MD's first key type and the challenge certificate */
static apr_status_t setup_tls_alpn01(const md_authz_t *authz, const char *key_authz,
                                     md_acme_driver_t *driver, apr_pool_t *p)
{
    const md_pkey_spec_t *spec = NULL;
    apr_array_header_t *chain;
    md_pkey_t *pkey = NULL;
    md_cert_t *cert = NULL;
    apr_status_t rv;

    if (driver->md->pks && driver->md->pks->nelts) {
        spec = APR_ARRAY_IDX(driver->md->pks, 0, const md_pkey_spec_t *);
    }
    rv = md_pkey_gen(&pkey, p, spec);
    if (APR_SUCCESS != rv) {
        return md_result_printf(driver->result, rv, "creating the tls-alpn-01 key for %s",
                                authz->domain);
    }
    rv = md_cert_make_tls_alpn_01(&cert, authz->domain, key_authz, pkey, MD_TLSALPN01_VALID, p);
    if (APR_SUCCESS != rv) {
        return md_result_printf(driver->result, rv, "creating the tls-alpn-01 certificate for %s",
                                authz->domain);
    }
    chain = apr_array_make(p, 1, sizeof(md_cert_t *));
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    rv = md_store_save_regenerable(driver->store, MD_SG_CHALLENGES, authz->domain,
                                   md_tls_alpn01_key_filename(spec, p), MD_SV_PKEY, pkey, p);
    if (APR_SUCCESS == rv) {
        rv = md_store_save_regenerable(driver->store, MD_SG_CHALLENGES, authz->domain,
                                       md_tls_alpn01_cert_filename(spec, p), MD_SV_CHAIN, chain, p);
    }
    if (APR_SUCCESS != rv) {
        return md_result_printf(driver->result, rv, "saving the tls-alpn-01 answer for %s",
                                authz->domain);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(12500) "%s: tls-alpn-01 answer for %s set up", driver->md->name,
                  authz->domain);
    return APR_SUCCESS;
}

/* Run the dns-01 program with 'argv' (NULL terminated; argv[1] is "setup" or "teardown", argv[2]
 * the domain): stdin closed, stdout to /dev/null, stderr (MD_DNS01_STDERR_MAX bytes of it) into
 * the error detail, killed when it runs longer than MDChallengeDns01Timeout. */
static apr_status_t run_dns01(const char *const *argv, md_acme_driver_t *driver, apr_pool_t *p)
{
    md_proc_opts_t opts;
    md_proc_result_t res;
    const char *err;
    apr_status_t rv;

    memset(&opts, 0, sizeof(opts));
    opts.timeout =
        (driver->md->dns01_timeout > 0) ? driver->md->dns01_timeout : MD_DNS01_TIMEOUT_DEF;
    opts.output_max = MD_DNS01_STDERR_MAX;
    opts.is_stderr_only = 1;
    opts.has_env = 1;
    rv = md_proc_run(&res, argv, &opts, p);
    if (APR_SUCCESS != rv && APR_EGENERAL != rv && APR_TIMEUP != rv) {
        return md_result_printf(driver->result, rv,
                                "cannot run the dns-01 program %s for %s %s; check the path "
                                "given to MDChallengeDns01 and that the server's user may "
                                "execute it",
                                argv[0], argv[1], argv[2]);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, APLOGNO(12501) "%s: dns-01 program %s %s %s: %s",
                  driver->md->name, argv[0], argv[1], argv[2], md_proc_describe(&res, &opts, p));
    err = apr_pstrcat(p, res.output, res.is_truncated ? "[...]" : "", NULL);
    if (res.is_timed_out) {
        return md_result_printf(driver->result, APR_TIMEUP,
                                "the dns-01 program '%s %s %s' ran longer than %d seconds "
                                "(MDChallengeDns01Timeout) and was killed%s%s",
                                argv[0], argv[1], argv[2], (int)apr_time_sec(opts.timeout),
                                *err ? ": " : "", err);
    }
    if (APR_SUCCESS != rv) {
        return md_result_printf(driver->result, APR_EGENERAL,
                                "the dns-01 program '%s %s %s' %s %d%s%s", argv[0], argv[1],
                                argv[2],
                                (res.why == APR_PROC_EXIT) ? "exited with" : "was killed by signal",
                                res.code, *err ? ": " : " (no message on stderr)", err);
    }
    return APR_SUCCESS;
}

/* 3. dns-01: the TXT value is base64url(SHA-256(key authorization)) (RFC 8555 8.4) */
static apr_status_t dns01_value(const char **pvalue, const char *key_authz,
                                md_acme_driver_t *driver, apr_pool_t *p)
{
    apr_status_t rv = md_crypt_sha256_64(pvalue, key_authz, strlen(key_authz), p);

    if (APR_SUCCESS != rv) {
        md_result_set(driver->result, rv, "computing the dns-01 value");
    }
    return rv;
}

static apr_status_t setup_dns01(const md_authz_t *authz, const char *value,
                                md_acme_driver_t *driver, apr_pool_t *p)
{
    const char *argv[5];
    apr_status_t rv;

    argv[0] = driver->md->dns01_cmd;
    argv[1] = "setup";
    argv[2] = authz->domain;
    argv[3] = value;
    argv[4] = NULL;
    rv = run_dns01(argv, driver, p);
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12502) "%s: dns-01 record for %s set up", driver->md->name,
                      authz->domain);
    }
    return rv;
}

/* 6. dns-01: a failing teardown is logged, it does not change the outcome */
static void teardown_dns01(const char *domain, const char *value, md_acme_driver_t *driver,
                           apr_pool_t *p)
{
    md_result_t *tmp = md_result_make(driver->md->name, p);
    md_acme_driver_t td = *driver;
    const char *argv[5];

    td.result = tmp;
    argv[0] = driver->md->dns01_cmd;
    argv[1] = "teardown";
    argv[2] = domain;
    argv[3] = (driver->md->dns01_version == 2) ? value : NULL;
    argv[4] = NULL;
    if (APR_SUCCESS != run_dns01(argv, &td, p)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, tmp->status, p,
                      APLOGNO(12503) "%s: dns-01 teardown for %s failed: %s", driver->md->name,
                      domain, md_result_to_text(tmp, p));
    }
}

/* 3. */
static apr_status_t setup_answer(const char **pdns_value, const md_authz_t *authz, const char *type,
                                 const md_json_t *ch, md_acme_t *acme, md_acme_driver_t *driver,
                                 apr_pool_t *p)
{
    const char *token = md_json_gets(ch, MD_KEY_TOKEN);
    const char *thumb = NULL, *key_authz;
    apr_status_t rv;

    if (!is_token(token)) {
        return md_result_printf(driver->result, APR_EINVAL,
                                "the CA sent an invalid %s token for %s (RFC 8555 8.1: base64url "
                                "characters only, here at most 256 of them); it is not used",
                                type, authz->domain);
    }
    rv = md_pkey_jwk_thumbprint(&thumb, acme->acct_key, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(driver->result, rv, "computing the account key thumbprint");
    }
    key_authz = apr_pstrcat(p, token, ".", thumb, NULL);
    setup_event(authz, type, driver, p);
    if (!strcmp(type, MD_ACME_CHALLENGE_TLSALPN01)) {
        return setup_tls_alpn01(authz, key_authz, driver, p);
    }
    if (!strcmp(type, MD_ACME_CHALLENGE_DNS01)) {
        rv = dns01_value(pdns_value, key_authz, driver, p);
        return (APR_SUCCESS == rv) ? setup_dns01(authz, *pdns_value, driver, p) : rv;
    }
    return setup_http01(authz, key_authz, driver, p);
}

/* For each offered type that is not usable here: what to configure. */
static const char *offer_hints(const apr_array_header_t *offered, const apr_array_header_t *wanted,
                               apr_pool_t *p)
{
    const char *hints = "", *type;
    int i;

    for (i = 0; i < offered->nelts; ++i) {
        type = APR_ARRAY_IDX(offered, i, const char *);
        if (md_array_str_index(wanted, type, 0, 1) < 0) {
            hints = apr_pstrcat(p, hints, *hints ? "; " : "", type_hint(type), NULL);
        }
    }
    return hints;
}

/* 2. */
static apr_status_t choose(const md_json_t **pch, const md_authz_t *authz, md_acme_driver_t *driver,
                           apr_pool_t *p)
{
    apr_array_header_t *chs = apr_array_make(p, 5, sizeof(md_json_t *));
    apr_array_header_t *offered = apr_array_make(p, 5, sizeof(const char *));
    const apr_array_header_t *wanted = wanted_types(driver, p);
    const char *type;
    int i, idx;

    md_json_geta(chs, authz->json, MD_KEY_CHALLENGES);
    for (i = 0; i < chs->nelts; ++i) {
        type = md_json_gets(APR_ARRAY_IDX(chs, i, const md_json_t *), MD_KEY_TYPE);
        APR_ARRAY_PUSH(offered, const char *) = type ? type : "";
    }
    idx = md_acme_authz_choose(offered, wanted);
    if (idx < 0) {
        md_result_printf(driver->result, APR_EINVAL,
                         "%s: no usable challenge: the CA offers %s; usable here%s: %s. %s",
                         authz->domain, md_array_str_join(offered, ", ", p),
                         (driver->md->ca_challenges && driver->md->ca_challenges->nelts)
                             ? " (as MDCAChallenges sets)"
                             : "",
                         wanted->nelts ? md_array_str_join(wanted, ", ", p) : "none",
                         offer_hints(offered, wanted, p));
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p, APLOGNO(12226) "%s: %s",
                      driver->md->name, driver->result->detail);
        return APR_EINVAL;
    }
    *pch = APR_ARRAY_IDX(chs, idx, const md_json_t *);
    return APR_SUCCESS;
}

/* 5. */
static apr_status_t poll_authz(md_authz_t *authz, md_acme_t *acme, md_acme_driver_t *driver,
                               apr_time_t deadline, apr_pool_t *p)
{
    apr_interval_time_t delay = 0;
    apr_time_t retry_after = 0, now;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_create(&ptemp, p);
    while (!strcmp(authz->status, "pending")) {
        now = apr_time_now();
        delay = md_acme_poll_delay(delay, retry_after, now);
        if (md_acme_is_stopped(acme)) {
            rv = md_result_set(driver->result, APR_EAGAIN,
                               "stopped while polling: the server is shutting down");
            goto leave;
        }
        if (now + delay > deadline || delay > MD_ACME_WAIT_INLINE) {
            rv = md_result_printf(driver->result, APR_EAGAIN,
                                  "authorization for %s still pending (%s)", authz->domain,
                                  (delay > MD_ACME_WAIT_INLINE) ? "the CA asks to look again later"
                                                                : "polling timed out");
            driver->result->ready_at = now + delay;
            goto leave;
        }
        apr_sleep(delay);
        apr_pool_clear(ptemp);
        rv = authz_fetch(authz, acme, driver->result, &retry_after, ptemp);
        if (APR_SUCCESS != rv) {
            goto leave;
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "authz %s for %s: %s", authz->url,
                      authz->domain, authz->status);
    }
    if (strcmp(authz->status, "valid") != 0) {
        rv = authz_failed(authz, driver->result, p);
    }
leave:
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_acme_authz_respond(md_acme_t *acme, md_acme_order_t *order, const char *url,
                                   md_acme_driver_t *driver, apr_time_t deadline, apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    const md_json_t *ch = NULL;
    md_authz_t authz;
    const char *ch_url, *ch_status, *type = NULL, *domain = NULL, *dns_value = NULL;
    apr_status_t rv;

    memset(&authz, 0, sizeof(authz));
    authz.url = url;
    /* 1. */
    rv = authz_fetch(&authz, acme, driver->result, NULL, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    md_result_activity_printf(driver->result, "answering the authorization for %s", authz.domain);
    if (!strcmp(authz.status, "valid")) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, APLOGNO(12227) "%s: authz for %s is valid",
                      driver->md->name, authz.domain);
        goto leave;
    }
    if (strcmp(authz.status, "pending") != 0) {
        rv = authz_failed(&authz, driver->result, p);
        goto leave;
    }
    /* 2. */
    rv = choose(&ch, &authz, driver, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    ch_url = md_json_gets(ch, MD_KEY_URL);
    ch_status = md_json_gets(ch, MD_KEY_STATUS);
    type = md_json_gets(ch, MD_KEY_TYPE);
    if (!ch_url) {
        rv = md_result_printf(driver->result, APR_EINVAL, "challenge for %s without url",
                              authz.domain);
        goto leave;
    }
    /* 3. */
    domain = apr_pstrdup(p, authz.domain);
    rv = setup_answer(&dns_value, &authz, type, ch, acme, driver, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    /* 4. only once per order, also across restarts of the job */
    if ((!ch_status || !strcmp(ch_status, "pending"))
        && !md_acme_order_is_triggered(order, ch_url)) {
        rv = md_acme_post(&resp, acme, ch_url, md_json_create(p), 0, NULL, driver->result, p);
        if (APR_SUCCESS != rv) {
            goto leave;
        }
        md_acme_order_add_triggered(order, ch_url);
        md_acme_order_save(driver->store, driver->md->name, order, p);
    }
    /* 5. */
    rv = poll_authz(&authz, acme, driver, deadline, p);
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12228) "%s: authz for %s is valid now (%s)", driver->md->name, domain,
                      type);
    }
leave:
    /* 6. not on a timeout: the CA may still come for the answer, a later run polls again. The
     * DNS record goes in any case: a later run sets it up again. */
    if (domain && type && !strcmp(type, MD_ACME_CHALLENGE_DNS01)) {
        teardown_dns01(domain, dns_value, driver, p);
    }
    else if (domain && !APR_STATUS_IS_EAGAIN(rv)) {
        md_store_purge(driver->store, MD_SG_CHALLENGES, domain, p);
    }
    return rv;
}
