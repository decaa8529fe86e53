/* md_acme_keychange: account key rollover (see md_acme_keychange.h).
 *
 *   1. a session signing with the account's current key; an account-next.pem left by an
 *      interrupted rollover is sorted out first (does the CA know the account by that key?)
 *   2. generate the new key and save it as account-next.pem (encrypted, durable)
 *   3. POST to keyChange: outer JWS signed with the old key (kid), its payload the inner JWS
 *      signed with the new key (RFC 8555 7.3.5)
 *   4. on success the new key replaces account.pem and account-next.pem goes; when the CA
 *      refused, account-next.pem goes; when the answer was lost, it stays for step 1 of the
 *      next call
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_jws.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_acme_acct.h"
#include "md_acme_session.h"
#include "md_acme_keychange.h"

apr_status_t md_acme_keychange_inner(md_json_t **pjws, const char *url, const char *acct_url,
                                     const md_pkey_t *old_key, const md_pkey_t *new_key,
                                     apr_pool_t *p)
{
    md_json_t *payload = md_json_create(p), *old_jwk = NULL;
    const char *data;
    apr_status_t rv;

    *pjws = NULL;
    rv = md_pkey_to_jwk(&old_jwk, old_key, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_json_sets(acct_url, payload, MD_KEY_ACCOUNT);
    md_json_setj(old_jwk, payload, MD_KEY_OLD_KEY);
    data = md_json_writep(payload, p, MD_JSON_FMT_COMPACT);
    if (!data) {
        return APR_EGENERAL;
    }
    return md_jws_sign(pjws, p, data, strlen(data), url, NULL, new_key, NULL);
}

/* Does the CA know the account by 'key'? (POST-as-GET of the account URL) */
static int ca_knows_key(md_acme_t *acme, const md_acme_acct_t *acct, const md_pkey_t *key,
                        apr_pool_t *p)
{
    md_result_t *tmp = md_result_make(NULL, p);
    md_acme_resp_t *resp = NULL;

    md_acme_set_account(acme, acct->url, key);
    return APR_SUCCESS == md_acme_post(&resp, acme, acct->url, NULL, 0, NULL, tmp, p);
}

static apr_status_t install_key(md_acme_admin_t *admin, const char *id, const md_pkey_t *key,
                                apr_pool_t *p)
{
    apr_status_t rv;

    rv = md_store_save(admin->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY, MD_SV_PKEY, key, p);
    if (APR_SUCCESS != rv) {
        return md_result_printf(admin->result, rv,
                                "the CA knows account %s by its new key now, but saving it as "
                                "account.pem failed: accounts/%s/%s holds it, do not remove it",
                                id, id, MD_FN_ACCT_KEY_NEXT);
    }
    md_store_remove(admin->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY_NEXT, p);
    return APR_SUCCESS;
}

/* 1. An account-next.pem of an earlier, interrupted rollover: finish it when the CA took the new
 * key (APR_EEXIST: done, nothing more to do), else drop it. */
static apr_status_t resolve_next(md_acme_t *acme, md_acme_acct_t *acct, const md_pkey_t *old_key,
                                 md_acme_admin_t *admin, apr_pool_t *p)
{
    md_pkey_t *next = NULL;
    apr_status_t rv;

    if (APR_SUCCESS
        != md_store_load(admin->store, MD_SG_ACCOUNTS, acct->id, MD_FN_ACCT_KEY_NEXT, MD_SV_PKEY,
                         (void **)&next, p)) {
        return APR_SUCCESS;
    }
    if (ca_knows_key(acme, acct, next, p)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                      APLOGNO(13313) "account %s: an earlier key rollover went through at the "
                                     "CA, installing its key",
                      acct->id);
        rv = install_key(admin, acct->id, next, p);
        return (APR_SUCCESS == rv) ? APR_EEXIST : rv;
    }
    md_acme_set_account(acme, acct->url, old_key);
    md_store_remove(admin->store, MD_SG_ACCOUNTS, acct->id, MD_FN_ACCT_KEY_NEXT, p);
    return APR_SUCCESS;
}

/* 3. */
static apr_status_t post_key_change(md_acme_t *acme, const char *url, md_acme_acct_t *acct,
                                    const md_pkey_t *old_key, const md_pkey_t *new_key,
                                    md_acme_admin_t *admin, apr_pool_t *p)
{
    md_json_t *inner = NULL;
    md_acme_resp_t *resp = NULL;
    apr_status_t rv;

    rv = md_acme_keychange_inner(&inner, url, acct->url, old_key, new_key, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(admin->result, rv, "signing the key change with the new key");
    }
    md_acme_set_account(acme, acct->url, old_key);
    md_result_activity_printf(admin->result, "rolling account %s over to a new key", acct->id);
    return md_acme_post(&resp, acme, url, inner, 0, NULL, admin->result, p);
}

apr_status_t md_acme_keychange(md_acme_admin_t *admin, const char *id, apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_acme_acct_t *acct = NULL;
    md_pkey_t *old_key = NULL, *new_key = NULL;
    md_pkey_spec_t spec = { MD_PKEY_TYPE_RSA, MD_ACCT_KEY_BITS, NULL }; /* as new accounts */
    const char *url;
    apr_status_t rv;

    /* 1. */
    rv = md_acme_session_open(&acme, &acct, &old_key, admin, id, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    url = md_acme_session_resource(acme, admin, MD_KEY_KEY_CHANGE, 1);
    if (!url) {
        return admin->result->status;
    }
    rv = resolve_next(acme, acct, old_key, admin, p);
    if (APR_SUCCESS != rv) {
        return APR_STATUS_IS_EEXIST(rv) ? APR_SUCCESS : rv;
    }
    /* 2. */
    rv = md_pkey_gen(&new_key, p, &spec);
    if (APR_SUCCESS == rv) {
        rv = md_store_save(admin->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY_NEXT, MD_SV_PKEY,
                           new_key, p);
    }
    if (APR_SUCCESS != rv) {
        return md_result_set(admin->result, rv, "making and saving the new account key");
    }
    /* 3. */
    rv = post_key_change(acme, url, acct, old_key, new_key, admin, p);
    /* 4. */
    if (APR_SUCCESS == rv) {
        rv = install_key(admin, id, new_key, p);
    }
    else if (admin->result->problem || APR_STATUS_IS_ECONNREFUSED(rv)) {
        /* the CA refused, or never got it: the old key stays the account's */
        md_store_remove(admin->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY_NEXT, p);
    }
    else {
        md_result_printf(admin->result, rv,
                         "%s; the CA may have taken the new key: run the rollover again, it "
                         "finds accounts/%s/%s and finishes or undoes the change",
                         admin->result->detail ? admin->result->detail : "no answer", id,
                         MD_FN_ACCT_KEY_NEXT);
    }
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                      APLOGNO(13314) "account %s (%s) rolled over to a new key", id, acct->url);
    }
    return rv;
}
