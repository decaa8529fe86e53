/* md_acme_admin: the operator's actions on ACME accounts (see md_acme_admin.h).
 *
 * Each action:
 *   1. opens a session with the CA (the account's, or the given one for a registration) and
 *      signs with the account (md_acme_session_open)
 *   2. sends one request to the account URL or a directory resource (RFC 8555 7.3, 7.3.3,
 *      7.3.6, 7.4.1)
 *   3. writes what changed into accounts/<id>
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"
#include "md_acme_order.h"
#include "md_acme_session.h"

#define ACCT_DEACTIVATED "deactivated"

/* ---- sessions (md_acme_session.h) ------------------------------------------------------------ */

apr_status_t md_acme_session_for_url(md_acme_t **pacme, md_acme_admin_t *admin, const char *ca_url,
                                     apr_pool_t *p)
{
    apr_status_t rv;

    *pacme = NULL;
    md_result_activity_printf(admin->result, "contacting the ACME CA at %s", ca_url);
    rv = md_acme_create(pacme, ca_url, admin->http_config, p);
    if (APR_SUCCESS != rv) {
        md_result_set(admin->result, rv, "setting up the HTTP client");
        return rv;
    }
    /* 1. */
    rv = md_acme_setup(*pacme, admin->result);
    if (APR_SUCCESS != rv) {
        *pacme = NULL;
    }
    return rv;
}

apr_status_t md_acme_session_open(md_acme_t **pacme, md_acme_acct_t **pacct, md_pkey_t **ppkey,
                                  md_acme_admin_t *admin, const char *id, apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    *pacme = NULL;
    rv = md_acme_acct_load(&acct, &pkey, admin->store, MD_SG_ACCOUNTS, id, p);
    if (APR_SUCCESS != rv) {
        if (APR_STATUS_IS_ENOENT(rv)) {
            md_result_printf(admin->result, rv, "unknown account: %s (no accounts/%s)", id, id);
        }
        else {
            md_result_printf(admin->result, rv, "account %s cannot be read", id);
        }
        return rv;
    }
    acct->id = apr_pstrdup(p, id);
    rv = md_acme_session_for_url(pacme, admin, acct->ca_url, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_acme_set_account(*pacme, acct->url, pkey);
    if (pacct) {
        *pacct = acct;
    }
    if (ppkey) {
        *ppkey = pkey;
    }
    return APR_SUCCESS;
}

const char *md_acme_session_resource(md_acme_t *acme, md_acme_admin_t *admin, const char *name,
                                     int required)
{
    const char *url = md_json_gets(acme->directory, name);

    if (!url && required) {
        md_result_printf(admin->result, APR_ENOTIMPL, "the CA at %s does not offer '%s'", acme->url,
                         name);
    }
    return url;
}

/* ---- inspecting ------------------------------------------------------------------------------ */

apr_array_header_t *md_acme_admin_account_ids(md_store_t *store, apr_pool_t *p)
{
    return md_acme_acct_ids(store, p);
}

apr_status_t md_acme_admin_account_json(md_json_t **pjson, md_store_t *store, const char *id,
                                        apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL;
    apr_status_t rv;

    *pjson = NULL;
    rv = md_acme_acct_load(&acct, NULL, store, MD_SG_ACCOUNTS, id, p);
    if (APR_SUCCESS == rv) {
        acct->id = id;
        *pjson = md_acme_acct_to_json(acct, p);
    }
    return rv;
}

/* ---- register -------------------------------------------------------------------------------- */

apr_status_t md_acme_admin_register(const char **pid, md_acme_admin_t *admin, const char *ca_url,
                                    const apr_array_header_t *contacts, int agree, apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_acme_acct_t *acct = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    *pid = NULL;
    rv = md_acme_session_for_url(&acme, admin, ca_url, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (acme->tos && !agree) {
        return md_result_printf(admin->result, APR_INCOMPLETE,
                                "the CA requires you to agree to its terms of service (%s): "
                                "read them and give -t accepted (or -t <that url>)",
                                acme->tos);
    }
    /* 2. */
    rv = md_acme_acct_new(&acct, &pkey, acme, contacts, agree, admin->result, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* 3. */
    acct->id = md_acme_acct_free_id(admin->store, acme->url, p);
    if (!acct->id) {
        return md_result_printf(admin->result, APR_EGENERAL, "no free account id for %s",
                                acme->url);
    }
    rv = md_acme_acct_save(admin->store, MD_SG_ACCOUNTS, acct->id, acct, pkey, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(admin->result, rv, "saving the new account");
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p,
                  APLOGNO(13310) "registered account %s at %s as %s", acct->url, acme->url,
                  acct->id);
    *pid = acct->id;
    return APR_SUCCESS;
}

/* ---- the account URL ------------------------------------------------------------------------- */

/* 2. POST 'payload' (NULL: POST-as-GET) to the account URL; the CA's account object into
 * *preg. A refused account (unauthorized, not found) is APR_EACCES/APR_ENOENT, as is one that
 * is not "valid" any more. */
static apr_status_t post_account(md_json_t **preg, md_acme_t *acme, md_acme_acct_t *acct,
                                 const md_json_t *payload, md_acme_admin_t *admin, apr_pool_t *p)
{
    md_acme_resp_t *resp = NULL;
    const char *status;
    apr_status_t rv;

    *preg = NULL;
    rv = md_acme_post(&resp, acme, acct->url, payload, 0, NULL, admin->result, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    status = resp->json ? md_json_gets(resp->json, MD_KEY_STATUS) : NULL;
    if (!payload && status && strcmp(status, "valid") != 0) {
        return md_result_printf(admin->result, APR_EACCES, "account %s is %s at the CA", acct->id,
                                status);
    }
    *preg = resp->json;
    return APR_SUCCESS;
}

apr_status_t md_acme_admin_validate(md_acme_admin_t *admin, const char *id, apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_acme_acct_t *acct = NULL;
    md_json_t *reg = NULL;
    apr_status_t rv;

    rv = md_acme_session_open(&acme, &acct, NULL, admin, id, p);
    if (APR_SUCCESS == rv) {
        md_result_activity_printf(admin->result, "asking the CA about account %s", id);
        rv = post_account(&reg, acme, acct, NULL, admin, p);
    }
    return rv;
}

apr_status_t md_acme_admin_agree(md_acme_admin_t *admin, const char *id, apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_acme_acct_t *acct = NULL;
    md_json_t *payload = md_json_create(p), *reg = NULL;
    apr_status_t rv;

    rv = md_acme_session_open(&acme, &acct, NULL, admin, id, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_json_setb(1, payload, MD_KEY_TOS_AGREED);
    if (acct->contacts && acct->contacts->nelts) {
        /* the contacts as they are: some CAs (pebble) take an update without a field they
         * know to change for an empty one and refuse it */
        md_json_setsa(acct->contacts, payload, MD_KEY_CONTACT);
    }
    md_result_activity_printf(admin->result, "agreeing to the terms of service for %s", id);
    rv = post_account(&reg, acme, acct, payload, admin, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    acct->agreement = acme->tos ? acme->tos : MD_TOS_ACCEPTED;
    if (reg) {
        acct->registration = reg;
    }
    rv = md_acme_acct_save(admin->store, MD_SG_ACCOUNTS, id, acct, NULL, p);
    if (APR_SUCCESS != rv) {
        md_result_set(admin->result, rv, "saving the account");
    }
    return rv;
}

apr_status_t md_acme_admin_deactivate(md_acme_admin_t *admin, const char *id, apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_acme_acct_t *acct = NULL;
    md_json_t *payload = md_json_create(p), *reg = NULL;
    apr_status_t rv;

    rv = md_acme_session_open(&acme, &acct, NULL, admin, id, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_json_sets(ACCT_DEACTIVATED, payload, MD_KEY_STATUS);
    md_result_activity_printf(admin->result, "deactivating account %s", id);
    rv = post_account(&reg, acme, acct, payload, admin, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* 3. the CA will never accept it again: keeping it would only make jobs try it */
    rv = md_store_purge(admin->store, MD_SG_ACCOUNTS, id, p);
    if (APR_SUCCESS != rv) {
        md_result_printf(admin->result, rv, "removing accounts/%s after its deactivation", id);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, APLOGNO(13311) "deactivated account %s (%s)", id,
                  acct->url);
    return rv;
}

/* ---- authorizations -------------------------------------------------------------------------- */

apr_status_t md_acme_admin_authz(const char **purl, md_acme_admin_t *admin, const char *id,
                                 const char *domain, apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_acme_resp_t *resp = NULL;
    md_acme_order_t *order = NULL;
    apr_array_header_t *domains = apr_array_make(p, 1, sizeof(const char *));
    md_json_t *payload = md_json_create(p);
    const char *new_authz;
    apr_status_t rv;

    *purl = NULL;
    rv = md_acme_session_open(&acme, NULL, NULL, admin, id, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    new_authz = md_acme_session_resource(acme, admin, MD_KEY_NEW_AUTHZ, 0);
    if (!new_authz) {
        /* no pre-authorization: a new order for the name brings a pending authorization */
        APR_ARRAY_PUSH(domains, const char *) = domain;
        rv = md_acme_order_register(&order, acme, domains, "rsa", NULL, NULL, admin->result, p);
        if (APR_SUCCESS == rv) {
            *purl = APR_ARRAY_IDX(order->authz_urls, 0, const char *);
        }
        return rv;
    }
    md_json_sets(md_util_is_ip(domain) ? "ip" : "dns", payload, MD_KEY_IDENTIFIER, MD_KEY_TYPE);
    md_json_sets(domain, payload, MD_KEY_IDENTIFIER, MD_KEY_VALUE);
    md_result_activity_printf(admin->result, "asking for an authorization of %s", domain);
    rv = md_acme_post(&resp, acme, new_authz, payload, 0, NULL, admin->result, p);
    if (APR_SUCCESS == rv && !resp->location) {
        rv = md_result_set(admin->result, APR_EINVAL, "the CA answered newAuthz without Location");
    }
    if (APR_SUCCESS == rv) {
        *purl = apr_pstrdup(p, resp->location);
    }
    return rv;
}
