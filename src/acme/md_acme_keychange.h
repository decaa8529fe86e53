/* md_acme_keychange: rolling an account over to a new key (RFC 8555 7.3.5), for the operator
 * (a2md account rollover): when the old key may be known to others, or by policy.
 */
#ifndef md_acme_keychange_h
#define md_acme_keychange_h

#include <apr_pools.h>

#include "md_json.h"
#include "md_crypt.h"
#include "md_acme_admin.h"

/**
 * The inner JWS of a key change: {"account": 'acct_url', "oldKey": JWK of 'old_key'} signed
 * with 'new_key', its protected header carrying "alg", the new key's "jwk" and "url" =
 * 'url' (the keyChange resource) but no nonce (RFC 8555 7.3.5). In 'p'.
 */
apr_status_t md_acme_keychange_inner(md_json_t **pjws, const char *url, const char *acct_url,
                                     const md_pkey_t *old_key, const md_pkey_t *new_key,
                                     apr_pool_t *p);

/**
 * Give accounts/<id> a new key (EC P-256): the CA is told with a key change signed by old and
 * new key, then account.pem is replaced. The new key is saved first (account-next.pem), so an
 * answer lost on the way leaves it there: the next call finds it, asks the CA which key it
 * knows and finishes or undoes the change. APR_ENOENT when there is no such account; the CA's
 * answer in admin->result.
 */
apr_status_t md_acme_keychange(md_acme_admin_t *admin, const char *id, apr_pool_t *p);

#endif /* md_acme_keychange_h */
