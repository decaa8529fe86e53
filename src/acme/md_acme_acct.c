/* md_acme_acct: finding, checking, creating and installing ACME accounts (see md_acme_acct.h).
 *
 * The order in which a job looks for an account (md_acme_acct_obtain):
 *   1. the MD's own account (md->ca_account) in accounts/
 *   2. any valid account in accounts/ for the same CA
 *   3. the account in staging/<md>/ from an earlier attempt
 *   4. one this process created for the same CA (the shared cache: N MDs make one account)
 *   5. a new one: RSA 3072 key, newAccount with contacts and ToS agreement (RFC 8555 7.3)
 * Found accounts are checked with the CA (POST-as-GET of the account URL, RFC 8555 7.3, 6.3:
 * pebble refuses an empty update); one the CA
 * does not know or refuses is dropped for this job. Accounts from 3.-5. go to staging/<md>/;
 * md_acme_drive_install_account() moves them into accounts/ at activation.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_thread_mutex.h>

#include "md.h"
#include "md_log.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_jws.h"
#include "md_acme_acct.h"

#define MD_ACCT_STATUS_VALID "valid"
#define MD_EAB_KEY_MAX       1024

typedef struct {
    const char *ca_url;
    md_acme_acct_t *acct;
    md_pkey_t *pkey;
} md_acct_cache_entry_t;

struct md_acme_acct_cache_t {
    apr_pool_t *p;
    apr_thread_mutex_t *mutex;
    apr_array_header_t *entries; /* md_acct_cache_entry_t* */
    md_acme_share_t *share;      /* directories and nonces, NULL if it could not be made */
};

static apr_status_t cache_destroy(void *data)
{
    md_acme_acct_cache_t *cache = data;

    apr_pool_destroy(cache->p); /* and the share with it */
    return APR_SUCCESS;
}

apr_status_t md_acme_acct_cache_create(md_acme_acct_cache_t **pcache, apr_pool_t *p)
{
    md_acme_acct_cache_t *cache = apr_pcalloc(p, sizeof(*cache));
    apr_status_t rv;

    *pcache = NULL;
    /* The cache allocates from jobs' threads (under its mutex) */
    rv = md_util_shared_pool_create(&cache->p, &cache->mutex);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12209) "creating the pool and mutex of the account cache failed");
        return rv;
    }
    apr_pool_cleanup_register(p, cache, cache_destroy, apr_pool_cleanup_null);
    cache->entries = apr_array_make(cache->p, 5, sizeof(md_acct_cache_entry_t *));
    if (APR_SUCCESS != md_acme_share_create(&cache->share, cache->p)) {
        cache->share = NULL; /* every job then fetches its own directory and nonce */
    }
    *pcache = cache;
    return APR_SUCCESS;
}

md_acme_share_t *md_acme_acct_cache_share(md_acme_acct_cache_t *cache)
{
    return cache ? cache->share : NULL;
}

/* ---- account.json --------------------------------------------------------------------------- */

md_json_t *md_acme_acct_to_json(const md_acme_acct_t *acct, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    if (acct->id) {
        md_json_sets(acct->id, json, MD_KEY_ID);
    }
    md_json_sets(acct->url, json, MD_KEY_URL);
    md_json_sets(acct->ca_url, json, MD_KEY_CA_URL);
    md_json_sets(acct->status ? acct->status : MD_ACCT_STATUS_VALID, json, MD_KEY_STATUS);
    if (acct->registration) {
        md_json_setj(acct->registration, json, MD_KEY_REGISTRATION);
    }
    if (acct->agreement) {
        md_json_sets(acct->agreement, json, MD_KEY_AGREEMENT);
    }
    if (acct->contacts) {
        md_json_setsa(acct->contacts, json, MD_KEY_CONTACT);
    }
    if (acct->eab_kid && acct->eab_digest) {
        md_json_sets(acct->eab_kid, json, MD_KEY_EAB, MD_KEY_KID);
        md_json_sets(acct->eab_digest, json, MD_KEY_EAB, MD_KEY_HMAC_SHA256);
    }
    return json;
}

/* ---- external account binding --------------------------------------------------------------- */

/* The HMAC key's bytes (CAs hand it out base64url encoded; base64 is taken as well). The caller
 * cleanses them. -1 when it is not decodable or too long. */
static apr_ssize_t eab_key_decode(unsigned char **pkey, const char *hmac64, apr_pool_t *p)
{
    char *s = apr_pstrdup(p, hmac64), *c;
    apr_ssize_t n;

    for (c = s; *c; ++c) {
        *c = (*c == '+') ? '-' : (*c == '/') ? '_' : *c;
    }
    n = (strlen(s) > MD_EAB_KEY_MAX) ? -1 : md_util_base64url_decode(pkey, s, p);
    md_util_cleanse(s, strlen(s));
    return n;
}

const char *md_acme_eab_digest(const char *hmac64, apr_pool_t *p)
{
    unsigned char *key = NULL;
    apr_ssize_t n = hmac64 ? eab_key_decode(&key, hmac64, p) : -1;
    const char *digest = NULL;

    if (n > 0 && APR_SUCCESS != md_crypt_sha256_64(&digest, key, (apr_size_t)n, p)) {
        digest = NULL;
    }
    if (n > 0) {
        md_util_cleanse(key, (apr_size_t)n);
    }
    return digest;
}

int md_acme_acct_fits_eab(const md_acme_acct_t *acct, const md_t *md, apr_pool_t *p)
{
    const char *digest;

    if (!md_has_eab(md)) {
        return !acct->eab_kid;
    }
    if (!acct->eab_kid || !acct->eab_digest || strcmp(acct->eab_kid, md->eab_kid) != 0) {
        return 0;
    }
    digest = md_acme_eab_digest(md->eab_hmac, p);
    return digest && !strcmp(digest, acct->eab_digest);
}

/* The "externalAccountBinding" of a newAccount for 'md' and the account key 'pkey'. */
static apr_status_t eab_make(md_json_t **peab, const md_t *md, const md_pkey_t *pkey,
                             const char *url, md_result_t *result, apr_pool_t *p)
{
    unsigned char *key = NULL;
    apr_ssize_t n = eab_key_decode(&key, md->eab_hmac, p);
    apr_status_t rv;

    *peab = NULL;
    if (n <= 0) {
        /* APR_INCOMPLETE: only a change of the configuration helps */
        return md_result_printf(result, APR_INCOMPLETE,
                                "the HMAC key of MDExternalAccountBinding (kid %s) is not "
                                "base64url encoded; give it exactly as the CA issued it",
                                md->eab_kid);
    }
    rv = md_jws_eab(peab, md->eab_kid, key, (apr_size_t)n, pkey, url, p);
    md_util_cleanse(key, (apr_size_t)n);
    if (APR_SUCCESS != rv) {
        return md_result_set(result, rv, "computing the external account binding");
    }
    return APR_SUCCESS;
}

apr_status_t md_acme_acct_from_json(md_acme_acct_t **pacct, const md_json_t *json, apr_pool_t *p)
{
    md_acme_acct_t *acct = apr_pcalloc(p, sizeof(*acct));

    *pacct = NULL;
    acct->id = md_json_gets(json, MD_KEY_ID);
    acct->url = md_json_gets(json, MD_KEY_URL);
    acct->ca_url = md_json_gets(json, MD_KEY_CA_URL);
    acct->status = md_json_gets(json, MD_KEY_STATUS);
    acct->agreement = md_json_gets(json, MD_KEY_AGREEMENT);
    acct->contacts = apr_array_make(p, 3, sizeof(const char *));
    md_json_getsa(acct->contacts, json, MD_KEY_CONTACT);
    if (!acct->contacts->nelts) {
        md_json_getsa(acct->contacts, json, MD_KEY_REGISTRATION, MD_KEY_CONTACT);
    }
    acct->registration = md_json_getj(json, MD_KEY_REGISTRATION);
    if (!acct->url || !acct->ca_url) {
        return APR_EINVAL;
    }
    if (!acct->status) {
        acct->status = md_json_gets(json, MD_KEY_REGISTRATION, MD_KEY_STATUS);
    }
    acct->eab_kid = md_json_gets(json, MD_KEY_EAB, MD_KEY_KID);
    acct->eab_digest = md_json_gets(json, MD_KEY_EAB, MD_KEY_HMAC_SHA256);
    if (acct->eab_kid && !acct->eab_digest) {
        /* written by the stock module, which keeps the HMAC key itself */
        acct->eab_digest = md_acme_eab_digest(md_json_gets(json, MD_KEY_EAB, MD_KEY_HMAC), p);
    }
    *pacct = acct;
    return APR_SUCCESS;
}

apr_status_t md_acme_acct_load(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_store_t *store,
                               md_store_group_t group, const char *name, apr_pool_t *p)
{
    md_json_t *json = NULL;
    apr_status_t rv;

    *pacct = NULL;
    rv = md_store_load_json(store, group, name, MD_FN_ACCOUNT, &json, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    rv = md_acme_acct_from_json(pacct, json, p);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                      APLOGNO(12210) "%s/%s/%s: account without url or ca-url, ignored",
                      md_store_group_name(group), name, MD_FN_ACCOUNT);
        goto leave;
    }
    if (ppkey) {
        *ppkey = NULL;
        rv = md_store_load(store, group, name, MD_FN_ACCT_KEY, MD_SV_PKEY, (void **)ppkey, p);
        if (APR_SUCCESS != rv) {
            *pacct = NULL;
        }
    }
leave:
    return rv;
}

/* With 'is_copy' the account is saved durably elsewhere already (by the job that created it):
 * this copy is written like a regenerable file, without flushing it to disk on its own. */
static apr_status_t acct_save(md_store_t *store, md_store_group_t group, const char *name,
                              const md_acme_acct_t *acct, const md_pkey_t *pkey, int is_copy,
                              apr_pool_t *p)
{
    md_json_t *json = NULL, *old = NULL;
    apr_status_t rv = APR_SUCCESS;

    /* key first: an account.json is only ever found with its key */
    if (pkey) {
        rv = is_copy ? md_store_save_regenerable(store, group, name, MD_FN_ACCT_KEY, MD_SV_PKEY,
                                                 pkey, p)
                     : md_store_save(store, group, name, MD_FN_ACCT_KEY, MD_SV_PKEY, pkey, p);
    }
    if (APR_SUCCESS == rv) {
        json = md_acme_acct_to_json(acct, p);
        /* fields other versions wrote (the stock module's "orders") survive a rewrite */
        if (APR_SUCCESS == md_store_load_json(store, group, name, MD_FN_ACCOUNT, &old, p)) {
            md_json_copy_missing(json, old, NULL);
        }
        rv = is_copy
                 ? md_store_save_regenerable(store, group, name, MD_FN_ACCOUNT, MD_SV_JSON, json, p)
                 : md_store_save_json(store, group, name, MD_FN_ACCOUNT, json, p);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, APLOGNO(12211) "saving account %s/%s",
                      md_store_group_name(group), name);
    }
    return rv;
}

apr_status_t md_acme_acct_save(md_store_t *store, md_store_group_t group, const char *name,
                               const md_acme_acct_t *acct, const md_pkey_t *pkey, apr_pool_t *p)
{
    return acct_save(store, group, name, acct, pkey, 0, p);
}

const char *md_acme_acct_id_make(const char *ca_url, int n, apr_pool_t *p)
{
    apr_uri_t uri;
    const char *host = "unknown";

    if (APR_SUCCESS == apr_uri_parse(p, ca_url, &uri) && uri.hostname && *uri.hostname) {
        host = uri.hostname;
    }
    return apr_psprintf(p, "ACME-%s-%04d", host, n);
}

/* ---- checking with the CA ------------------------------------------------------------------- */

/*
 * Check a stored account with the CA. APR_SUCCESS: usable, 'acme' signs with it. APR_ENOENT: the
 * CA does not know it, refuses it or says it is no longer valid (drop it). Others: the CA could
 * not be asked (the job fails).
 */
static apr_status_t acct_check(md_acme_t *acme, md_acme_acct_t *acct, const md_pkey_t *pkey,
                               const char *where, md_acme_driver_t *driver, apr_pool_t *p)
{
    md_result_t *tmp = md_result_make(driver->md->name, p);
    md_acme_resp_t *resp = NULL;
    const char *status;
    apr_status_t rv;

    if (strcmp(acct->ca_url, acme->url) != 0) {
        return APR_ENOENT;
    }
    if (acct->status && strcmp(acct->status, MD_ACCT_STATUS_VALID) != 0) {
        return APR_ENOENT;
    }
    if (!md_acme_acct_fits_eab(acct, driver->md, p)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12901) "%s: account %s (%s) was not made with the MD's external "
                                     "account binding (%s), not used",
                      driver->md->name, acct->id ? acct->id : acct->url, where,
                      md_has_eab(driver->md) ? driver->md->eab_kid : "none");
        return APR_ENOENT;
    }
    md_acme_set_account(acme, acct->url, pkey);
    rv = md_acme_post(&resp, acme, acct->url, NULL, 0, NULL, tmp, p);
    if (APR_ENOENT == rv || APR_EACCES == rv || (resp && resp->status == 403)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                      APLOGNO(12212) "%s: account %s (%s) not usable at the CA: %s, dropped",
                      driver->md->name, acct->url, where, md_result_to_text(tmp, p));
        rv = APR_ENOENT;
        goto leave;
    }
    if (APR_SUCCESS != rv || !resp) {
        md_result_assign(driver->result, tmp);
        goto leave;
    }
    status = resp->json ? md_json_gets(resp->json, MD_KEY_STATUS) : NULL;
    if (status && strcmp(status, MD_ACCT_STATUS_VALID) != 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12213) "%s: account %s (%s) is %s at the CA, dropped",
                      driver->md->name, acct->url, where, status);
        rv = APR_ENOENT;
        goto leave;
    }
    if (resp->json) {
        acct->registration = resp->json;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, APLOGNO(12214) "%s: using account %s (%s)",
                  driver->md->name, acct->id ? acct->id : acct->url, where);
leave:
    if (APR_SUCCESS != rv) {
        md_acme_set_account(acme, NULL, NULL);
    }
    return rv;
}

/* ---- 1. + 2. accounts/ ---------------------------------------------------------------------- */

static int collect_name(void *baton, const char *name, apr_pool_t *ptemp)
{
    apr_array_header_t *names = baton;
    (void)ptemp;
    APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(names->pool, name);
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

apr_array_header_t *md_acme_acct_ids(md_store_t *store, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 10, sizeof(const char *));

    md_store_iter_names(collect_name, names, store, MD_SG_ACCOUNTS, p);
    if (names->nelts > 1) {
        qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_names);
    }
    return names;
}

static apr_status_t try_installed(md_acme_acct_t **pacct, md_acme_t *acme, const char *id,
                                  md_acme_driver_t *driver, apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    rv = md_acme_acct_load(&acct, &pkey, driver->store, MD_SG_ACCOUNTS, id, p);
    if (APR_SUCCESS != rv) {
        return APR_ENOENT;
    }
    acct->id = apr_pstrdup(p, id);
    rv = acct_check(acme, acct, pkey, "accounts", driver, p);
    if (APR_SUCCESS == rv) {
        *pacct = acct;
    }
    return rv;
}

static apr_status_t find_installed(md_acme_acct_t **pacct, md_acme_t *acme,
                                   md_acme_driver_t *driver, apr_pool_t *p)
{
    const md_t *md = driver->md;
    apr_array_header_t *names;
    const char *id;
    apr_status_t rv;
    int i;

    if (md->ca_account) {
        rv = try_installed(pacct, acme, md->ca_account, driver, p);
        if (APR_ENOENT != rv) {
            return rv;
        }
    }
    names = md_acme_acct_ids(driver->store, p);
    for (i = 0; i < names->nelts; ++i) {
        id = APR_ARRAY_IDX(names, i, const char *);
        if (md->ca_account && !strcmp(id, md->ca_account)) {
            continue;
        }
        rv = try_installed(pacct, acme, id, driver, p);
        if (APR_ENOENT != rv) {
            return rv;
        }
    }
    return APR_ENOENT;
}

/* ---- 3. staging/<md> ------------------------------------------------------------------------ */

static apr_status_t find_staged(md_acme_acct_t **pacct, md_acme_t *acme, md_acme_driver_t *driver,
                                apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    rv = md_acme_acct_load(&acct, &pkey, driver->store, MD_SG_STAGING, driver->md->name, p);
    if (APR_SUCCESS != rv) {
        return APR_ENOENT;
    }
    acct->id = NULL;
    rv = acct_check(acme, acct, pkey, "staging", driver, p);
    if (APR_SUCCESS == rv) {
        *pacct = acct;
    }
    else if (APR_ENOENT == rv) {
        md_store_remove(driver->store, MD_SG_STAGING, driver->md->name, MD_FN_ACCOUNT, p);
        md_store_remove(driver->store, MD_SG_STAGING, driver->md->name, MD_FN_ACCT_KEY, p);
    }
    return rv;
}

/* ---- 5. a new account ----------------------------------------------------------------------- */

static apr_array_header_t *mailto_contacts(const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *contacts = apr_array_make(p, 3, sizeof(const char *));
    const char *c;
    int i;

    for (i = 0; md->contacts && i < md->contacts->nelts; ++i) {
        c = APR_ARRAY_IDX(md->contacts, i, const char *);
        if (!c || !*c) {
            continue;
        }
        if (!strchr(c, ':')) {
            c = apr_pstrcat(p, "mailto:", c, NULL);
        }
        APR_ARRAY_PUSH(contacts, const char *) = c;
    }
    return contacts;
}

/* Why a CA refused a newAccount with an external account binding: say so and name the directive
 * (APR_INCOMPLETE: a configuration error). Other problems (rate limits, 5xx) stay as they are. */
static apr_status_t eab_refused(apr_status_t rv, const md_t *md, md_result_t *result, apr_pool_t *p)
{
    if (!md || !md_has_eab(md) || APR_STATUS_IS_EAGAIN(rv) || !result->problem) {
        return rv;
    }
    return md_result_problem_set(
        result, APR_INCOMPLETE, result->problem,
        apr_psprintf(p,
                     "the CA refused the external account binding (MDExternalAccountBinding, "
                     "kid %s): %s; check the key id and HMAC key the CA gave you",
                     md->eab_kid, result->detail ? result->detail : "no detail"));
}

apr_status_t md_acme_acct_new(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_acme_t *acme,
                              const apr_array_header_t *contacts, int agree, md_result_t *result,
                              apr_pool_t *p)
{
    return md_acme_acct_new_bound(pacct, ppkey, acme, contacts, agree, NULL, result, p);
}

apr_status_t md_acme_acct_new_bound(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_acme_t *acme,
                                    const apr_array_header_t *contacts, int agree,
                                    const md_t *eab_md, md_result_t *result, apr_pool_t *p)
{
    md_pkey_spec_t spec;
    md_pkey_t *pkey = NULL;
    md_acme_acct_t *acct;
    md_acme_resp_t *resp = NULL;
    md_json_t *payload, *eab = NULL;
    apr_status_t rv;

    memset(&spec, 0, sizeof(spec));
    spec.type = MD_PKEY_TYPE_RSA;
    spec.bits = MD_ACCT_KEY_BITS;
    rv = md_pkey_gen(&pkey, p, &spec);
    if (APR_SUCCESS != rv) {
        md_result_set(result, rv, "generating an account key");
        return rv;
    }
    acct = apr_pcalloc(p, sizeof(*acct));
    acct->ca_url = acme->url;
    acct->contacts = md_array_str_clone(p, contacts);
    acct->agreement = (acme->tos && agree) ? acme->tos : NULL;
    payload = md_json_create(p);
    if (acct->contacts->nelts) {
        md_json_setsa(acct->contacts, payload, MD_KEY_CONTACT);
    }
    if (agree) {
        md_json_setb(1, payload, MD_KEY_TOS_AGREED);
    }
    if (eab_md && md_has_eab(eab_md)) {
        rv = eab_make(&eab, eab_md, pkey, acme->new_account, result, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        md_json_setj(eab, payload, MD_KEY_EAB_BINDING);
        acct->eab_kid = eab_md->eab_kid;
        acct->eab_digest = md_acme_eab_digest(eab_md->eab_hmac, p);
    }
    md_result_activity_printf(result, "creating an account at %s", acme->url);
    md_acme_set_account(acme, NULL, pkey);
    rv = md_acme_post(&resp, acme, acme->new_account, payload, 1, NULL, result, p);
    if (APR_SUCCESS != rv) {
        rv = eab_refused(rv, eab_md, result, p);
        goto leave;
    }
    if (!resp->location) {
        rv = APR_EINVAL;
        md_result_set(result, rv, "the CA answered newAccount without a Location");
        goto leave;
    }
    acct->url = apr_pstrdup(p, resp->location);
    acct->registration = resp->json;
    acct->status = resp->json ? md_json_gets(resp->json, MD_KEY_STATUS) : NULL;
    if (!acct->status) {
        acct->status = MD_ACCT_STATUS_VALID;
    }
    md_acme_set_account(acme, acct->url, pkey);
    *pacct = acct;
    *ppkey = pkey;
leave:
    if (APR_SUCCESS != rv) {
        md_acme_set_account(acme, NULL, NULL);
    }
    return rv;
}

static apr_status_t acct_create(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_acme_t *acme,
                                md_acme_driver_t *driver, apr_pool_t *p)
{
    const md_t *md = driver->md;
    int accepted = md->ca_agreement && !strcmp(md->ca_agreement, MD_TOS_ACCEPTED);
    apr_status_t rv;

    if (acme->tos && !accepted) {
        rv = md_result_printf(driver->result, APR_INCOMPLETE,
                              "the CA requires you to accept its terms of service (%s); "
                              "please read them and configure 'MDCertificateAgreement accepted'",
                              acme->tos);
    }
    else if (acme->eab_required && !md_has_eab(md)) {
        rv = md_result_problem_set(
            driver->result, APR_INCOMPLETE, MD_ACME_PROBLEM_PREFIX "externalAccountRequired",
            apr_psprintf(driver->result->p,
                         "the CA at %s requires an external account binding for new accounts: "
                         "get a key id and HMAC key from the CA and configure "
                         "'MDExternalAccountBinding KID HMAC'",
                         acme->url));
    }
    else {
        rv = md_acme_acct_new_bound(pacct, ppkey, acme, mailto_contacts(md, p), accepted, md,
                                    driver->result, p);
        if (APR_SUCCESS == rv) {
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p,
                          APLOGNO(12216) "%s: created account %s at %s%s%s", md->name,
                          (*pacct)->url, acme->url,
                          (*pacct)->eab_kid ? " bound to the external account " : "",
                          (*pacct)->eab_kid ? (*pacct)->eab_kid : "");
        }
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, APLOGNO(12215) "%s: %s", md->name,
                  driver->result->detail);
    return rv;
}

/* 4. + 5. under the cache lock, so concurrent jobs for the same CA create one account */
static apr_status_t cached_or_new(md_acme_acct_t **pacct, md_acme_acct_origin_t *porigin,
                                  md_acme_t *acme, md_acme_driver_t *driver, apr_pool_t *p)
{
    md_acme_acct_cache_t *cache = driver->acct_cache;
    md_acct_cache_entry_t *entry = NULL;
    md_acme_acct_t *acct = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;
    int i;

    if (!cache) {
        rv = acct_create(pacct, &pkey, acme, driver, p);
        *porigin = MD_ACCT_FROM_NEW;
        goto save;
    }
    apr_thread_mutex_lock(cache->mutex);
    for (i = 0; i < cache->entries->nelts; ++i) {
        entry = APR_ARRAY_IDX(cache->entries, i, md_acct_cache_entry_t *);
        if (!strcmp(entry->ca_url, acme->url)
            && md_acme_acct_fits_eab(entry->acct, driver->md, p)) {
            break;
        }
        entry = NULL;
    }
    if (entry) {
        /* copy into the job's pool: the cache's pool is only touched under the lock */
        rv = md_acme_acct_from_json(&acct, md_acme_acct_to_json(entry->acct, p), p);
        if (APR_SUCCESS == rv && !(pkey = md_pkey_share(entry->pkey, p))) {
            rv = APR_ENOMEM;
        }
        apr_thread_mutex_unlock(cache->mutex);
        if (APR_SUCCESS != rv) {
            return md_result_set(driver->result, rv, "copying the cached account");
        }
        md_acme_set_account(acme, acct->url, pkey);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12217) "%s: using account %s created by another job",
                      driver->md->name, acct->url);
        *pacct = acct;
        *porigin = MD_ACCT_FROM_CACHE;
        goto save;
    }
    rv = acct_create(pacct, &pkey, acme, driver, p);
    if (APR_SUCCESS == rv) {
        entry = apr_pcalloc(cache->p, sizeof(*entry));
        entry->ca_url = apr_pstrdup(cache->p, acme->url);
        /* the clone puts the JSON, and so every string read from it, into the cache's pool:
         * the job's pool is gone when other jobs use the entry */
        rv = md_acme_acct_from_json(&entry->acct,
                                    md_json_clone(md_acme_acct_to_json(*pacct, p), cache->p),
                                    cache->p);
        if (APR_SUCCESS == rv && (entry->pkey = md_pkey_share(pkey, cache->p)) != NULL) {
            APR_ARRAY_PUSH(cache->entries, md_acct_cache_entry_t *) = entry;
        }
        rv = APR_SUCCESS; /* the account exists; failing to cache it costs a second one at most */
    }
    apr_thread_mutex_unlock(cache->mutex);
    *porigin = MD_ACCT_FROM_NEW;

save:
    if (APR_SUCCESS == rv) {
        /* the staged copy lets this MD install the account at activation even when the MD
         * of the job that created it does not go live; that job saved it durably */
        rv = acct_save(driver->store, MD_SG_STAGING, driver->md->name, *pacct, pkey,
                       *porigin == MD_ACCT_FROM_CACHE, p);
        if (APR_SUCCESS != rv) {
            md_result_set(driver->result, rv, "saving the account into staging");
        }
    }
    return rv;
}

/* ---- 4a. another server's new account (a shared store) ---------------------------------------
 *
 * A new account stays in staging/<md> until its MD goes live. Servers that share a store
 * (MDStoreLocks, MDStoreEtcd) make one account per CA: they look for a new account there, and
 * create one, under the store lock MD_ACCT_LOCK_NAME. */

static apr_status_t find_other_staged(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_acme_t *acme,
                                      md_acme_driver_t *driver, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 10, sizeof(const char *));
    md_acme_acct_t *acct;
    md_pkey_t *pkey;
    const char *name;
    apr_status_t rv;
    int i;

    md_store_iter_names(collect_name, names, driver->store, MD_SG_STAGING, p);
    if (names->nelts > 1) {
        qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_names);
    }
    for (i = 0; i < names->nelts; ++i) {
        name = APR_ARRAY_IDX(names, i, const char *);
        acct = NULL;
        pkey = NULL;
        if (!strcmp(name, driver->md->name)) {
            continue;
        }
        rv = md_acme_acct_load(&acct, &pkey, driver->store, MD_SG_STAGING, name, p);
        if (APR_SUCCESS != rv) {
            if (!APR_STATUS_IS_ENOENT(rv)) {
                /* the store said what is wrong with the file; here: what the job does */
                md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, p,
                              APLOGNO(13500) "%s: the account staged for %s cannot be read: "
                                             "not used, looking further",
                              driver->md->name, name);
            }
            continue;
        }
        acct->id = NULL;
        rv = acct_check(acme, acct, pkey, apr_pstrcat(p, "staging/", name, NULL), driver, p);
        if (APR_SUCCESS == rv) {
            *pacct = acct;
            *ppkey = pkey;
        }
        if (APR_ENOENT != rv) {
            return rv;
        }
    }
    return APR_ENOENT;
}

/* With a shared store: the lock for making an account, NULL when there is none to take or it
 * could not be had (then this job may make a second account, which does no harm). Found an
 * account that another server made meanwhile: *pacct and *ppkey. */
static md_store_lock_t *lock_new_account(md_acme_acct_t **pacct, md_pkey_t **ppkey,
                                         md_acme_t *acme, md_acme_driver_t *driver, apr_pool_t *p)
{
    md_store_lock_t *lock = NULL;
    apr_status_t rv;

    if (driver->acct_lock_wait <= 0) {
        return NULL;
    }
    rv = md_store_lock(&lock, driver->store, MD_ACCT_LOCK_NAME, driver->acct_lock_wait, p);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                      APLOGNO(12240) "%s: no store lock for making an account at %s; "
                                     "another server sharing the store may make one as well",
                      driver->md->name, acme->url);
        return NULL;
    }
    /* an MD went live with it (accounts/), or it waits in another MD's staging */
    rv = find_installed(pacct, acme, driver, p);
    if (APR_SUCCESS == rv) {
        *ppkey = NULL;
        return lock;
    }
    if (APR_SUCCESS == find_other_staged(pacct, ppkey, acme, driver, p)) {
        return lock;
    }
    *pacct = NULL;
    return lock;
}

apr_status_t md_acme_acct_obtain(md_acme_acct_t **pacct, md_acme_acct_origin_t *porigin,
                                 md_acme_t *acme, md_acme_driver_t *driver, apr_pool_t *p)
{
    md_store_lock_t *lock;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    *pacct = NULL;
    md_result_activity_printf(driver->result, "finding an account at %s", acme->url);
    rv = find_installed(pacct, acme, driver, p);
    if (APR_ENOENT != rv) {
        *porigin = MD_ACCT_FROM_ACCOUNTS;
        if (APR_SUCCESS == rv) {
            /* a staged account of an earlier attempt must not be installed over this one */
            md_store_remove(driver->store, MD_SG_STAGING, driver->md->name, MD_FN_ACCOUNT, p);
            md_store_remove(driver->store, MD_SG_STAGING, driver->md->name, MD_FN_ACCT_KEY, p);
        }
        return rv;
    }
    rv = find_staged(pacct, acme, driver, p);
    if (APR_ENOENT != rv) {
        *porigin = MD_ACCT_FROM_STAGING;
        return rv;
    }
    lock = lock_new_account(pacct, &pkey, acme, driver, p);
    if (*pacct && !pkey) {
        *porigin = MD_ACCT_FROM_ACCOUNTS;
        rv = APR_SUCCESS;
    }
    else if (*pacct) {
        /* kept in this MD's staging too, so its activation installs it */
        *porigin = MD_ACCT_FROM_STAGING;
        rv = acct_save(driver->store, MD_SG_STAGING, driver->md->name, *pacct, pkey, 0, p);
        if (APR_SUCCESS != rv) {
            md_result_set(driver->result, rv, "saving the account into staging");
        }
    }
    else {
        rv = cached_or_new(pacct, porigin, acme, driver, p);
    }
    md_store_unlock(lock);
    return rv;
}

/* ---- installing at activation --------------------------------------------------------------- */

static apr_status_t find_same_url(const char **pid, md_store_t *store, const char *url,
                                  apr_pool_t *p)
{
    apr_array_header_t *names = md_acme_acct_ids(store, p);
    md_acme_acct_t *acct = NULL;
    const char *id;
    int i;

    for (i = 0; i < names->nelts; ++i) {
        id = APR_ARRAY_IDX(names, i, const char *);
        if (APR_SUCCESS == md_acme_acct_load(&acct, NULL, store, MD_SG_ACCOUNTS, id, p)
            && !strcmp(acct->url, url)) {
            *pid = id;
            return APR_SUCCESS;
        }
    }
    return APR_ENOENT;
}

const char *md_acme_acct_free_id(md_store_t *store, const char *ca_url, apr_pool_t *p)
{
    apr_array_header_t *names = md_acme_acct_ids(store, p);
    const char *id;
    int n;

    for (n = 0; n < 10000; ++n) {
        id = md_acme_acct_id_make(ca_url, n, p);
        if (md_array_str_index(names, id, 0, 1) < 0) {
            return id;
        }
    }
    return NULL;
}

static void update_staged_md(md_store_t *store, const char *name, const char *id, apr_pool_t *p)
{
    md_json_t *json = NULL;
    md_t *smd = NULL;

    if (APR_SUCCESS == md_store_load_json(store, MD_SG_STAGING, name, MD_FN_MD, &json, p)
        && APR_SUCCESS == md_from_json(&smd, json, p, NULL)) {
        smd->ca_account = id;
        md_store_save_json(store, MD_SG_STAGING, name, MD_FN_MD, md_to_json_keep(smd, json, p), p);
    }
}

apr_status_t md_acme_drive_install_account(md_store_t *store, md_t *md, apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL;
    md_pkey_t *pkey = NULL;
    const char *id = NULL;
    apr_status_t rv;

    rv = md_acme_acct_load(&acct, &pkey, store, MD_SG_STAGING, md->name, p);
    if (APR_SUCCESS != rv) {
        return (APR_ENOENT == rv) ? APR_ENOENT : rv;
    }
    rv = find_same_url(&id, store, acct->url, p);
    if (APR_SUCCESS != rv) {
        id = md_acme_acct_free_id(store, acct->ca_url, p);
        if (!id) {
            rv = APR_EGENERAL;
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                          APLOGNO(12218) "%s: no free account id for %s", md->name, acct->ca_url);
            return rv;
        }
        acct->id = id;
        rv = md_acme_acct_save(store, MD_SG_ACCOUNTS, id, acct, pkey, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p,
                      APLOGNO(12219) "%s: installed account %s as %s", md->name, acct->url, id);
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                      APLOGNO(12220) "%s: account %s is installed already as %s", md->name,
                      acct->url, id);
    }
    md->ca_account = apr_pstrdup(p, id);
    update_staged_md(store, md->name, md->ca_account, p);
    /* an account key has no business in domains/ once staging is activated */
    md_store_remove(store, MD_SG_STAGING, md->name, MD_FN_ACCT_KEY, p);
    md_store_remove(store, MD_SG_STAGING, md->name, MD_FN_ACCOUNT, p);
    return APR_SUCCESS;
}
