/* md_acme_session: sessions for the operator's actions on accounts and certificates
 * (md_acme_admin.c, md_acme_revoke.c, md_acme_keychange.c). Internal to src/acme.
 */
#ifndef md_acme_session_h
#define md_acme_session_h

#include <apr_pools.h>

#include "md_crypt.h"
#include "md_acme.h"
#include "md_acme_acct.h"
#include "md_acme_admin.h"

/**
 * A session with the CA at 'ca_url', its directory fetched (1. of md_acme_drive.h), not yet
 * signing with any key. Failures are in admin->result. In 'p'.
 */
apr_status_t md_acme_session_for_url(md_acme_t **pacme, md_acme_admin_t *admin, const char *ca_url,
                                     apr_pool_t *p);

/**
 * A session with the CA of the installed account accounts/<id>, signing with it: *pacct (its id
 * set) and *ppkey are the account and its key (both may be NULL when not wanted). APR_ENOENT
 * (recorded in admin->result) when there is no such account in the store.
 */
apr_status_t md_acme_session_open(md_acme_t **pacme, md_acme_acct_t **pacct, md_pkey_t **ppkey,
                                  md_acme_admin_t *admin, const char *id, apr_pool_t *p);

/**
 * The URL of resource 'name' ("revokeCert", "keyChange", "newAuthz") in the CA's directory, or
 * NULL (and APR_ENOTIMPL in admin->result when 'required') when the CA does not offer it.
 */
const char *md_acme_session_resource(md_acme_t *acme, md_acme_admin_t *admin, const char *name,
                                     int required);

#endif /* md_acme_session_h */
