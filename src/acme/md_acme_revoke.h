/* md_acme_revoke: revoking a certificate at its CA (RFC 8555 7.6), for the operator (a2md
 * revoke): when its key was compromised, or the certificate is no longer wanted.
 */
#ifndef md_acme_revoke_h
#define md_acme_revoke_h

#include <apr_pools.h>

#include "md_crypt.h"
#include "md_acme_admin.h"

/* Revocation reasons a subscriber may give (RFC 5280 5.3.1; CAs accept these) */
#define MD_REVOKE_UNSPECIFIED            0
#define MD_REVOKE_KEY_COMPROMISE         1
#define MD_REVOKE_AFFILIATION_CHANGED    3
#define MD_REVOKE_SUPERSEDED             4
#define MD_REVOKE_CESSATION_OF_OPERATION 5

/**
 * The reason code for 'name': its RFC 5280 name ("keyCompromise", case-insensitive, also with
 * '-' or '_' between the words) or number. APR_EINVAL for reasons a subscriber may not give
 * (cACompromise, certificateHold, ...) and for anything else. Pure.
 */
apr_status_t md_acme_revoke_reason_parse(int *preason, const char *name);

/** The RFC 5280 name of a reason code ("superseded"), "unknown" for others. */
const char *md_acme_revoke_reason_name(int reason);

/**
 * Revoke 'cert' at the CA with directory 'ca_url' for 'reason'. The request is signed by the
 * installed account accounts/<acct_id> when 'acct_id' is not NULL and that account exists (the
 * account that ordered it, or any account of the CA authorized for all its names); otherwise by
 * 'cert_key', the certificate's own key (a "jwk" request, which needs no account). APR_ENOENT
 * when neither is there; the CA's answer (e.g. alreadyRevoked, unauthorized) in admin->result.
 */
apr_status_t md_acme_revoke(md_acme_admin_t *admin, const char *ca_url, const char *acct_id,
                            const md_cert_t *cert, const md_pkey_t *cert_key, int reason,
                            apr_pool_t *p);

#endif /* md_acme_revoke_h */
