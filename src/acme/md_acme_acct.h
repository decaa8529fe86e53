/* md_acme_acct: ACME accounts (RFC 8555 7.3): their account.json form, where a job finds one,
 * and how a new one is made. Internal to src/acme.
 */
#ifndef md_acme_acct_h
#define md_acme_acct_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_json.h"
#include "md_crypt.h"
#include "md_store.h"
#include "md_acme.h"
#include "md_acme_drive.h"

/* Account keys are RSA of this size, as the stock module makes them: it signs account requests
 * with RS256 only, so an account with another key type would leave it unable to renew after a
 * switch back (#11). */
#define MD_ACCT_KEY_BITS 3072

typedef struct md_acme_acct_t md_acme_acct_t;
struct md_acme_acct_t {
    const char *id;               /* id in accounts/, NULL when not installed there */
    const char *url;              /* the account URL at the CA (the JWS "kid") */
    const char *ca_url;           /* the CA's directory URL */
    const char *status;           /* "valid", "deactivated", "revoked" */
    const char *agreement;        /* the terms of service agreed to, may be NULL */
    apr_array_header_t *contacts; /* const char* */
    md_json_t *registration;      /* the CA's account object, may be NULL */
    /* The external account binding it was created with (NULL: none): the key id and the
     * base64url SHA-256 of the HMAC key. account.json keeps both as "eab": {"kid",
     * "hmac-sha256"}, never the HMAC key itself. */
    const char *eab_kid;
    const char *eab_digest;
};

/* The store lock (md_store_lock()) under which servers sharing a store make new accounts: not a
 * DNS name, so no MD has it. */
#define MD_ACCT_LOCK_NAME "_new-account"

/* Where a job got its account from. */
typedef enum {
    MD_ACCT_FROM_ACCOUNTS, /* accounts/<id>: installed, acct->id set */
    MD_ACCT_FROM_STAGING,  /* staging/<md>/ of an earlier attempt */
    MD_ACCT_FROM_CACHE,    /* created by another job of this process */
    MD_ACCT_FROM_NEW,      /* created now */
} md_acme_acct_origin_t;

/** account.json of 'acct', in 'p'. */
md_json_t *md_acme_acct_to_json(const md_acme_acct_t *acct, apr_pool_t *p);

/** Read account.json. APR_EINVAL when the url or ca-url is missing. */
apr_status_t md_acme_acct_from_json(md_acme_acct_t **pacct, const md_json_t *json, apr_pool_t *p);

/**
 * Load account.json and account.pem from (group, name). APR_ENOENT if there is none; 'pkey'
 * may be NULL to skip the key. Results live in 'p'.
 */
apr_status_t md_acme_acct_load(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_store_t *store,
                               md_store_group_t group, const char *name, apr_pool_t *p);

/** Save account.json (and account.pem when 'pkey' is given) under (group, name). */
apr_status_t md_acme_acct_save(md_store_t *store, md_store_group_t group, const char *name,
                               const md_acme_acct_t *acct, const md_pkey_t *pkey, apr_pool_t *p);

/** What the sessions of the cache's process share per CA (directory, nonces); may be NULL. */
md_acme_share_t *md_acme_acct_cache_share(md_acme_acct_cache_t *cache);

/**
 * 2. Find or create the account for the driver's MD (the order of md_acme_drive.h), check it
 * with the CA and make 'acme' sign with it. Accounts not yet installed are saved into
 * staging/<md>/. *porigin says where the account came from. Results live in 'p'.
 * APR_INCOMPLETE when the CA has terms of service the MD did not accept.
 */
apr_status_t md_acme_acct_obtain(md_acme_acct_t **pacct, md_acme_acct_origin_t *porigin,
                                 md_acme_t *acme, md_acme_driver_t *driver, apr_pool_t *p);

/**
 * The base64url SHA-256 of an EAB HMAC key given base64url (or base64) encoded; NULL when it is
 * not decodable. In 'p'; the decoded key is cleansed.
 */
const char *md_acme_eab_digest(const char *hmac64, apr_pool_t *p);

/**
 * Non-zero if 'acct' may be used for 'md' as far as the external account binding goes: an MD
 * without binding takes accounts without one, an MD with one only accounts made with the same
 * kid and HMAC key (a changed binding makes a new account).
 */
int md_acme_acct_fits_eab(const md_acme_acct_t *acct, const md_t *md, apr_pool_t *p);

/**
 * newAccount (RFC 8555 7.3) at the session's CA with a new EC P-256 key, the 'contacts' (const
 * char*, URIs) and, with 'agree', the agreement to the terms of service. On success 'acme' signs
 * with the new account; *pacct (not installed, id NULL) and *ppkey live in 'p'. Failures are
 * recorded in 'result' (statuses as md_acme_post()).
 */
apr_status_t md_acme_acct_new(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_acme_t *acme,
                              const apr_array_header_t *contacts, int agree, md_result_t *result,
                              apr_pool_t *p);

/**
 * md_acme_acct_new() with the external account binding of 'eab_md' (RFC 8555 7.3.4; may be NULL
 * or an MD without binding: none). A binding the CA refuses is APR_INCOMPLETE with a detail
 * naming MDExternalAccountBinding; an HMAC key that is not base64url is APR_INCOMPLETE too.
 */
apr_status_t md_acme_acct_new_bound(md_acme_acct_t **pacct, md_pkey_t **ppkey, md_acme_t *acme,
                                    const apr_array_header_t *contacts, int agree,
                                    const md_t *eab_md, md_result_t *result, apr_pool_t *p);

/** The ids of the accounts in accounts/ (const char*), sorted. In 'p'. */
apr_array_header_t *md_acme_acct_ids(md_store_t *store, apr_pool_t *p);

/** The first id not used in accounts/ for an account of 'ca_url', NULL if all are (10000). */
const char *md_acme_acct_free_id(md_store_t *store, const char *ca_url, apr_pool_t *p);

/** The id for a new account of 'ca_url' with sequence number 'n': "ACME-<host>-NNNN". */
const char *md_acme_acct_id_make(const char *ca_url, int n, apr_pool_t *p);

#endif /* md_acme_acct_h */
