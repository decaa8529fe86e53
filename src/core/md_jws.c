/* md_jws: flattened JWS JSON serialization for ACME requests (see md_jws.h).
 *
 * 1. protected header {"alg", "kid" | "jwk", "nonce", "url"} (RFC 8555 6.2), base64url
 * 2. payload, base64url ("" stays "" for POST-as-GET, RFC 8555 6.3)
 * 3. signature over "<protected>.<payload>" (RFC 7515 5.1), base64url
 * The message is never logged: it may carry an EAB or key change.
 * An external account binding (md_jws_eab) is the same form, MACed with HS256 (RFC 7518 3.2).
 */
#include <string.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_util.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_crypt.h"
#include "md_jws.h"

/* The flattened form of a protected header and payload (both JSON text) with its signature. */
static md_json_t *jws_make(const char **pinput, const char *prot_s, const char *payload,
                           apr_size_t len, apr_pool_t *p)
{
    md_json_t *msg = md_json_create(p);
    const char *prot64, *payload64;

    prot64 = md_util_base64url_encode((const unsigned char *)prot_s, strlen(prot_s), p);
    payload64 = md_util_base64url_encode((const unsigned char *)(payload ? payload : ""),
                                         payload ? len : 0, p);
    md_json_sets(prot64, msg, MD_KEY_PROTECTED);
    md_json_sets(payload64, msg, MD_KEY_PAYLOAD);
    *pinput = apr_pstrcat(p, prot64, ".", payload64, (const char *)NULL);
    return msg;
}

apr_status_t md_jws_eab(md_json_t **pmsg, const char *kid, const unsigned char *hmac_key,
                        apr_size_t key_len, const md_pkey_t *acct_key, const char *url,
                        apr_pool_t *p)
{
    md_json_t *prot = md_json_create(p), *jwk = NULL, *msg;
    const char *prot_s, *jwk_s, *input = NULL, *mac64 = NULL;
    apr_status_t rv;

    *pmsg = NULL;
    if (!kid || !hmac_key || !key_len || !url) {
        return APR_EINVAL;
    }
    rv = md_pkey_to_jwk(&jwk, acct_key, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_json_sets("HS256", prot, MD_KEY_ALG);
    md_json_sets(kid, prot, MD_KEY_KID);
    md_json_sets(url, prot, MD_KEY_URL);
    prot_s = md_json_writep(prot, p, MD_JSON_FMT_COMPACT);
    jwk_s = md_json_writep(jwk, p, MD_JSON_FMT_COMPACT);
    if (!prot_s || !jwk_s) {
        return APR_EGENERAL;
    }
    msg = jws_make(&input, prot_s, jwk_s, strlen(jwk_s), p);
    rv = md_crypt_hmac_sha256_64(&mac64, hmac_key, key_len, input, strlen(input), p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_json_sets(mac64, msg, MD_KEY_SIGNATURE);
    *pmsg = msg;
    return APR_SUCCESS;
}

apr_status_t md_jws_sign(md_json_t **pmsg, apr_pool_t *p, const char *payload, apr_size_t len,
                         const char *url, const char *nonce, const md_pkey_t *pkey, const char *kid)
{
    md_json_t *prot = md_json_create(p), *msg, *jwk = NULL;
    const char *alg = md_pkey_jws_alg(pkey);
    const char *prot_s, *sig64 = NULL, *input = NULL;
    apr_status_t rv;

    *pmsg = NULL;
    if (!alg || !url) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, APLOGNO(12030) "JWS: %s",
                      alg ? "no url given" : "key type not supported");
        return APR_EINVAL;
    }
    /* 1. */
    md_json_sets(alg, prot, MD_KEY_ALG);
    if (kid) {
        md_json_sets(kid, prot, MD_KEY_KID);
    }
    else {
        rv = md_pkey_to_jwk(&jwk, pkey, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        md_json_setj(jwk, prot, MD_KEY_JWK);
    }
    if (nonce) {
        md_json_sets(nonce, prot, MD_KEY_NONCE);
    }
    rv = md_json_sets(url, prot, MD_KEY_URL);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    prot_s = md_json_writep(prot, p, MD_JSON_FMT_COMPACT);
    if (!prot_s) {
        return APR_EGENERAL;
    }
    /* 2. */
    msg = jws_make(&input, prot_s, payload, len, p);
    /* 3. */
    rv = md_pkey_sign64(&sig64, pkey, input, strlen(input), p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_json_sets(sig64, msg, MD_KEY_SIGNATURE);
    *pmsg = msg;
    return APR_SUCCESS;
}
