/* md_jws: JSON Web Signatures in the flattened JSON serialization, as ACME requests need them
 * (RFC 7515, RFC 8555 6.2).
 */
#ifndef md_jws_h
#define md_jws_h

#include <apr_pools.h>

#include "md_json.h"
#include "md_crypt.h"

/**
 * Sign 'payload' (len bytes; len 0 with "" gives the empty payload of a POST-as-GET) for a
 * request to 'url' with 'nonce'. The protected header carries "alg", "nonce", "url" and either
 * "kid" (when 'kid' is not NULL) or the public "jwk". *pmsg gets
 * {"protected": ..., "payload": ..., "signature": ...}, in 'p'.
 */
apr_status_t md_jws_sign(md_json_t **pmsg, apr_pool_t *p, const char *payload, apr_size_t len,
                         const char *url, const char *nonce, const md_pkey_t *pkey,
                         const char *kid);

/**
 * The externalAccountBinding of a newAccount request (RFC 8555 7.3.4): a JWS whose protected
 * header is {"alg": "HS256", "kid": 'kid', "url": 'url'} (the newAccount URL), whose payload is
 * the JWK of 'acct_key', MACed with the 'key_len' bytes of 'hmac_key'. *pmsg in 'p'. The
 * HMAC key is neither copied nor logged.
 */
apr_status_t md_jws_eab(md_json_t **pmsg, const char *kid, const unsigned char *hmac_key,
                        apr_size_t key_len, const md_pkey_t *acct_key, const char *url,
                        apr_pool_t *p);

#endif /* md_jws_h */
