/* md_acme_drive: one renewal of an MD from its ACME CA into staging/<md>/ (the numbered plan is
 * in md_acme_drive.h; the steps' code lives in md_acme*.c, one file per protocol object).
 *
 * Key specs: RFC 8555 lets an order be finalized only once, so each key spec of the MD gets its
 * own order. The CA reuses the authorizations of the first, so later orders are ready at once.
 * A spec whose key and chain are staged already (an earlier attempt) is skipped.
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_log.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_acme.h"
#include "md_acme_acct.h"
#include "md_acme_order.h"
#include "md_acme_authz.h"
#include "md_acme_finalize.h"
#include "md_acme_drive.h"

#define MD_ACME_DEF_POLL_TIMEOUT apr_time_from_sec(5 * 60)

static void event(md_acme_driver_t *driver, const char *type, const char *detail)
{
    if (driver->event_cb) {
        driver->event_cb(driver->event_baton, type, detail);
    }
}

static apr_time_t deadline_from_now(const md_acme_driver_t *driver)
{
    apr_interval_time_t timeout = driver->poll_timeout;
    return apr_time_now() + ((timeout > 0) ? timeout : MD_ACME_DEF_POLL_TIMEOUT);
}

/*
 * 3. The profile to order with (*pprofile NULL: none): the MD's when the CA lists it in
 * meta.profiles; else none with a warning, or, with MDProfileMandatory, APR_INCOMPLETE (only a
 * change of the configuration or the CA helps).
 */
static apr_status_t choose_profile(const char **pprofile, md_acme_t *acme, md_acme_driver_t *driver,
                                   apr_pool_t *p)
{
    const md_t *md = driver->md;
    const char *offered;

    *pprofile = NULL;
    if (!md->profile) {
        return APR_SUCCESS;
    }
    if (md_acme_has_profile(acme, md->profile)) {
        *pprofile = md->profile;
        return APR_SUCCESS;
    }
    offered = acme->profiles ? md_array_str_join(md_json_keys(acme->profiles, p), ", ", p) : "";
    if (md->profile_mandatory > 0) {
        return md_result_printf(driver->result, APR_INCOMPLETE,
                                "the CA at %s does not offer the certificate profile '%s' "
                                "(MDProfile, MDProfileMandatory on); it offers %s",
                                acme->url, md->profile, *offered ? offered : "no profiles");
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p,
                  APLOGNO(12902) "%s: the CA at %s does not offer the certificate profile '%s' "
                                 "(MDProfile; it offers %s): ordering without a profile; "
                                 "'MDProfileMandatory on' makes this an error",
                  md->name, acme->url, md->profile, *offered ? offered : "no profiles");
    return APR_SUCCESS;
}

/* 3. The ARI identifier of the certificate a new one for 'spec' replaces, when the CA takes it. */
static const char *replaces_of(const md_acme_t *acme, const md_pkey_spec_t *spec,
                               const md_acme_driver_t *driver)
{
    if (!acme->renewal_info || !driver->replaces || driver->md->ari_renewals == 0) {
        return NULL;
    }
    return apr_table_get(driver->replaces, md_pkey_spec_name(spec));
}

/* 3. The staged order when it can go on, else NULL. */
static md_acme_order_t *resumable_order(md_acme_t *acme, const md_pkey_spec_t *spec,
                                        const char *profile, md_acme_driver_t *driver,
                                        apr_pool_t *p)
{
    const md_t *md = driver->md;
    md_acme_order_t *order = NULL;
    md_result_t *tmp = md_result_make(md->name, p);

    if (APR_SUCCESS != md_acme_order_load(&order, driver->store, md->name, p)) {
        return NULL;
    }
    if (!md_acme_order_is_resumable(order, acme->url, acme->acct_url, md_pkey_spec_name(spec),
                                    profile, md->domains)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12232) "%s: staged order %s does not fit, not resumed", md->name,
                      order->url);
        return NULL;
    }
    if (APR_SUCCESS != md_acme_order_update(order, acme, tmp, p)
        || !md_acme_order_is_resumable(order, acme->url, acme->acct_url, md_pkey_spec_name(spec),
                                       profile, md->domains)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12233) "%s: staged order %s is no longer usable (%s)", md->name,
                      order->url,
                      (tmp->status != APR_SUCCESS) ? md_result_to_text(tmp, p)
                                                   : md_acme_order_state_name(order->status));
        return NULL;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, APLOGNO(12234) "%s: resuming order %s (%s)",
                  md->name, order->url, md_acme_order_state_name(order->status));
    event(driver, "progress", apr_psprintf(p, "resuming order %s", order->url));
    return order;
}

static int is_order_not_ready(const md_result_t *result)
{
    return result->status != APR_SUCCESS && result->problem
           && !strcmp(result->problem, MD_ACME_PROBLEM_PREFIX "orderNotReady");
}

/* 4. + 5. for one order */
static apr_status_t drive_order(md_acme_t *acme, md_acme_order_t *order, const md_pkey_spec_t *spec,
                                md_acme_driver_t *driver, apr_pool_t *p)
{
    const char *url;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (order->status == MD_ACME_ORDER_ST_PENDING) {
        apr_pool_create(&ptemp, p);
        for (i = 0; i < order->authz_urls->nelts; ++i) {
            url = APR_ARRAY_IDX(order->authz_urls, i, const char *);
            apr_pool_clear(ptemp);
            rv = md_acme_authz_respond(acme, order, url, driver, deadline_from_now(driver), ptemp);
            if (APR_SUCCESS != rv) {
                break;
            }
        }
        apr_pool_destroy(ptemp);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        /* All authorizations are valid, so the order is ready (RFC 8555 7.1.6): finalize at
         * once instead of asking. A CA that lags behind answers orderNotReady; then wait. */
        order->status = MD_ACME_ORDER_ST_READY;
        rv = md_acme_finalize(acme, order, spec, driver, deadline_from_now(driver), p);
        if (!is_order_not_ready(driver->result)) {
            return rv;
        }
        md_result_reset(driver->result);
        order->status = MD_ACME_ORDER_ST_PENDING;
        rv = md_acme_order_await(order, acme, MD_ACME_ORDER_ST_READY, deadline_from_now(driver),
                                 driver->result, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
    }
    switch (order->status) {
        case MD_ACME_ORDER_ST_READY:
        case MD_ACME_ORDER_ST_PROCESSING:
        case MD_ACME_ORDER_ST_VALID:
            return md_acme_finalize(acme, order, spec, driver, deadline_from_now(driver), p);
        default:
            return md_acme_order_problem(order, APR_EINVAL, driver->result);
    }
}

/* 3. - 5. for one key spec */
static apr_status_t obtain_for_spec(md_acme_t *acme, const md_pkey_spec_t *spec,
                                    const char *profile, md_acme_driver_t *driver, apr_pool_t *p)
{
    const md_t *md = driver->md;
    md_acme_order_t *order;
    apr_status_t rv;
    int resumed;

    order = resumable_order(acme, spec, profile, driver, p);
    resumed = (order != NULL);
    for (;;) {
        if (!order) {
            rv = md_acme_order_register(&order, acme, md->domains, md_pkey_spec_name(spec), profile,
                                        replaces_of(acme, spec, driver), driver->result, p);
            if (APR_SUCCESS != rv) {
                return rv;
            }
            rv = md_acme_order_save(driver->store, md->name, order, p);
            if (APR_SUCCESS != rv) {
                return md_result_set(driver->result, rv, "saving the order into staging");
            }
            event(driver, "order-created", order->url);
        }
        rv = drive_order(acme, order, spec, driver, p);
        if (APR_ENOENT == rv && resumed) {
            /* the resumed order lost its key or a resource at the CA: start over once */
            order = NULL;
            resumed = 0;
            md_result_reset(driver->result);
            continue;
        }
        break;
    }
    if (APR_SUCCESS == rv) {
        md_acme_order_remove(driver->store, md->name, p);
    }
    return rv;
}

static const apr_array_header_t *key_specs(const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *specs;
    md_pkey_spec_t *spec;

    if (md->pks && md->pks->nelts) {
        return md->pks;
    }
    specs = apr_array_make(p, 1, sizeof(md_pkey_spec_t *));
    spec = apr_pcalloc(p, sizeof(*spec));
    spec->type = MD_PKEY_TYPE_DEFAULT;
    spec->bits = MD_PKEY_RSA_BITS_DEF;
    APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
    return specs;
}

/* 6. */
static apr_status_t save_md(md_acme_driver_t *driver, const md_acme_acct_t *acct,
                            md_acme_acct_origin_t origin, md_acme_t *acme, apr_pool_t *p)
{
    md_t *smd = md_clone(p, driver->md);
    apr_status_t rv;

    smd->ca_url = acme->url;
    smd->ca_account = (origin == MD_ACCT_FROM_ACCOUNTS) ? acct->id : NULL;
    rv = md_store_save_json(driver->store, MD_SG_STAGING, smd->name, MD_FN_MD, md_to_json(smd, p),
                            p);
    if (APR_SUCCESS != rv) {
        return md_result_set(driver->result, rv, "saving md.json into staging");
    }
    md_acme_order_remove(driver->store, smd->name, p);
    return APR_SUCCESS;
}

static apr_status_t check_md(const md_acme_driver_t *driver)
{
    const md_t *md = driver->md;

    if (!md || !md->name || !md->domains || !md->domains->nelts) {
        return md_result_set(driver->result, APR_EINVAL, "the MD has no name or domains");
    }
    if (!driver->store) {
        return md_result_set(driver->result, APR_EINVAL, "no store to stage the result in");
    }
    if (md->ca_proto && apr_strnatcasecmp(md->ca_proto, MD_PROTO_ACME)) {
        /* APR_INCOMPLETE: the configuration must change */
        return md_result_set(driver->result, APR_INCOMPLETE,
                             apr_psprintf(driver->result->p,
                                          "MDCertificateProtocol %s is not supported, the only "
                                          "protocol is ACME",
                                          md->ca_proto));
    }
    return APR_SUCCESS;
}

static const apr_array_header_t *default_urls(apr_pool_t *p)
{
    apr_array_header_t *urls = apr_array_make(p, 1, sizeof(const char *));

    APR_ARRAY_PUSH(urls, const char *) = MD_ACME_DEF_URL;
    return urls;
}

/* 2. - 6. at the CA of 'acme' (its directory is there) */
static apr_status_t renew_at(md_acme_t *acme, md_acme_driver_t *driver, apr_pool_t *ptemp)
{
    const md_t *md = driver->md;
    const apr_array_header_t *specs;
    const md_pkey_spec_t *spec;
    const char *profile = NULL;
    md_acme_acct_t *acct = NULL;
    md_acme_acct_origin_t origin = MD_ACCT_FROM_NEW;
    apr_pool_t *pspec = NULL;
    apr_status_t rv;
    int i;

    /* 2. */
    rv = md_acme_acct_obtain(&acct, &origin, acme, driver, ptemp);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    event(driver, "progress",
          apr_psprintf(ptemp, "using account %s", acct->id ? acct->id : acct->url));
    /* 3. - 5. */
    rv = choose_profile(&profile, acme, driver, ptemp);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    specs = key_specs(md, ptemp);
    apr_pool_create(&pspec, ptemp);
    for (i = 0; i < specs->nelts && APR_SUCCESS == rv; ++i) {
        spec = APR_ARRAY_IDX(specs, i, const md_pkey_spec_t *);
        apr_pool_clear(pspec);
        if (md_acme_finalize_is_staged(driver, spec, pspec)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, pspec,
                          APLOGNO(12235) "%s: %s key and certificate are staged already", md->name,
                          md_pkey_spec_name(spec));
            continue;
        }
        rv = obtain_for_spec(acme, spec, profile, driver, pspec);
    }
    apr_pool_destroy(pspec);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* 6. */
    return save_md(driver, acct, origin, acme, ptemp);
}

/* 1. - 6. at the CA 'url'; *pis_unreachable when it could not be reached */
static apr_status_t renew_with(int *pis_unreachable, const char *url, md_acme_driver_t *driver,
                               apr_pool_t *ptemp)
{
    md_acme_t *acme = NULL;
    apr_status_t rv;

    *pis_unreachable = 0;
    md_result_activity_printf(driver->result, "contacting the ACME CA at %s", url);
    rv = md_acme_create(&acme, url, driver->http_config, ptemp);
    if (APR_SUCCESS != rv) {
        return md_result_set(driver->result, rv, "setting up the HTTP client");
    }
    acme->stop = driver->stop;
    md_acme_set_share(acme, md_acme_acct_cache_share(driver->acct_cache));
    rv = md_acme_setup(acme, driver->result);
    if (APR_SUCCESS == rv) {
        rv = renew_at(acme, driver, ptemp);
    }
    /* a directory that is no ACME directory is as useless now as one that does not answer */
    *pis_unreachable = (APR_SUCCESS != rv) && (acme->is_unreachable || !acme->directory);
    return rv;
}

apr_status_t md_acme_drive_renew(md_acme_driver_t *driver, apr_pool_t *p)
{
    const md_t *md = driver->md;
    md_result_t *result = driver->result;
    const apr_array_header_t *urls;
    const char *url;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;
    int i, is_unreachable = 0;

    driver->ca_used = -1;
    rv = check_md(driver);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    apr_pool_create(&ptemp, p);
    urls = (driver->ca_urls && driver->ca_urls->nelts) ? driver->ca_urls : md_ca_urls(md, ptemp);
    if (!urls->nelts) {
        urls = default_urls(ptemp);
    }
    rv = APR_EINVAL;
    for (i = 0; i < urls->nelts; ++i) {
        url = APR_ARRAY_IDX(urls, i, const char *);
        md_result_reset(result);
        rv = renew_with(&is_unreachable, url, driver, ptemp);
        if (!is_unreachable || (driver->stop && *driver->stop)) {
            driver->ca_used = i;
            break;
        }
        if (i + 1 < urls->nelts) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                          APLOGNO(12908) "%s: the CA at %s cannot be used now (%s): going on "
                                         "with the next of MDCertificateAuthority, %s",
                          md->name, url, md_result_to_text(result, ptemp),
                          APR_ARRAY_IDX(urls, i + 1, const char *));
            event(driver, "failover", apr_psprintf(ptemp, "%s cannot be reached", url));
        }
    }
    if (APR_SUCCESS == rv) {
        md_result_activity_set(result, "certificates staged");
        md_result_set(result, APR_SUCCESS, "certificate(s) received and staged");
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12236) "%s: staged new certificate(s) for %s from %s", md->name,
                      md_array_str_join(md->domains, ", ", ptemp),
                      APR_ARRAY_IDX(urls, driver->ca_used, const char *));
    }
    else {
        if (APR_SUCCESS == result->status) {
            md_result_set(result, rv, NULL);
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                      APLOGNO(12237) "%s: renewal stopped while %s: %s", md->name,
                      result->activity ? result->activity : "starting",
                      md_result_to_text(result, ptemp));
    }
    apr_pool_destroy(ptemp);
    return rv;
}
