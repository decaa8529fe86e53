/* md_acme_admin: what an operator does with ACME accounts outside a renewal (a2md acme ...,
 * a2md account ...): register one, ask the CA about it, agree to new terms of service,
 * deactivate it, ask for an authorization. Next to md_acme_drive.h this is the ACME layer's
 * public contract; md_acme_revoke.h and md_acme_keychange.h add revocation and key rollover.
 *
 * Accounts are addressed by their id in accounts/ (account.json, account.pem). Each call opens
 * its own session with the account's CA, in the pool it is given.
 */
#ifndef md_acme_admin_h
#define md_acme_admin_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_json.h"
#include "md_result.h"
#include "md_http.h"
#include "md_store.h"

typedef struct md_acme_admin_t md_acme_admin_t;
struct md_acme_admin_t {
    md_store_t *store;
    const md_http_config_t *http_config;
    md_result_t *result; /* why a call failed: the CA's problem, or what could not be done */
};

/** The ids of the accounts in accounts/, sorted (const char*, in 'p'). */
apr_array_header_t *md_acme_admin_account_ids(md_store_t *store, apr_pool_t *p);

/**
 * accounts/<id>/account.json (it holds no secret: the key is in account.pem). APR_ENOENT if there
 * is no such account, APR_EINVAL if the file is unusable. In 'p'.
 */
apr_status_t md_acme_admin_account_json(md_json_t **pjson, md_store_t *store, const char *id,
                                        apr_pool_t *p);

/**
 * Register a new account (RFC 8555 7.3) at the CA with directory 'ca_url' with 'contacts' (const
 * char*, URIs such as "mailto:admin@example.org") and, with 'agree', the agreement to the CA's
 * terms of service; install it into accounts/ under a new id (*pid, in 'p'). APR_INCOMPLETE when
 * the CA has terms of service and 'agree' is not set (nothing is sent then).
 */
apr_status_t md_acme_admin_register(const char **pid, md_acme_admin_t *admin, const char *ca_url,
                                    const apr_array_header_t *contacts, int agree, apr_pool_t *p);

/**
 * Ask the CA about accounts/<id> (POST-as-GET of the account URL, RFC 8555 7.3). APR_SUCCESS when
 * the CA knows it and it is valid. APR_ENOENT: no such account in the store, or the CA does not
 * know it; APR_EACCES: the CA refuses it (deactivated, revoked, wrong key); transport errors as
 * they come. The store is not changed.
 */
apr_status_t md_acme_admin_validate(md_acme_admin_t *admin, const char *id, apr_pool_t *p);

/**
 * Tell the CA that the account agrees to its current terms of service (RFC 8555 7.3.3) and note
 * them in account.json. Errors as md_acme_admin_validate().
 */
apr_status_t md_acme_admin_agree(md_acme_admin_t *admin, const char *id, apr_pool_t *p);

/**
 * Deactivate the account at the CA (RFC 8555 7.3.6: it can never be used again) and remove
 * accounts/<id> from the store. MDs naming it get another account at their next renewal.
 * Errors as md_acme_admin_validate(); the store keeps the account when the CA refused.
 */
apr_status_t md_acme_admin_deactivate(md_acme_admin_t *admin, const char *id, apr_pool_t *p);

/**
 * A new authorization of the account for 'domain': pre-authorization (RFC 8555 7.4.1) where the
 * CA offers newAuthz, else the authorization of a new order for that one name. *purl gets its
 * URL (in 'p'). Nothing is answered: the authorization stays pending.
 */
apr_status_t md_acme_admin_authz(const char **purl, md_acme_admin_t *admin, const char *id,
                                 const char *domain, apr_pool_t *p);

#endif /* md_acme_admin_h */
