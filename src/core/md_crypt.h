/* md_crypt: keys, certificates, CSRs and digests on OpenSSL 3 (EVP only).
 *
 * md_pkey_t wraps EVP_PKEY and md_cert_t wraps X509; both register a pool cleanup when created,
 * so callers never free them. Every OpenSSL failure is logged naming the failing call and returned
 * as an apr_status_t (APR_EGENERAL unless said otherwise). Private key material is never logged.
 */
#ifndef md_crypt_h
#define md_crypt_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "md_json.h"

struct evp_pkey_st;
struct x509_st;

/* ---- key specifications ------------------------------------------------------------------- */

typedef enum {
    MD_PKEY_TYPE_DEFAULT, /* RSA 2048 */
    MD_PKEY_TYPE_RSA,
    MD_PKEY_TYPE_EC,
} md_pkey_type_t;

#define MD_PKEY_RSA_BITS_DEF 2048
#define MD_PKEY_RSA_BITS_MIN 2048

typedef struct md_pkey_spec_t md_pkey_spec_t;
struct md_pkey_spec_t {
    md_pkey_type_t type;
    unsigned int bits; /* RSA only */
    const char *curve; /* EC only: "secp256r1", "secp384r1" (also "P-256", "P-384") */
};

/**
 * Parse one key spec from MDPrivateKeys words: "RSA" ["bits"] or a curve name ("secp256r1",
 * "secp384r1", "P-256", "P-384"). *pnused gets how many words were consumed (1 or 2). On
 * APR_EINVAL *perr says what is accepted (in 'p').
 */
apr_status_t md_pkey_spec_parse(md_pkey_spec_t **pspec, apr_size_t *pnused,
                                const char *const *words, apr_size_t nwords, apr_pool_t *p,
                                const char **perr);

/** Short name used in file names and status: "rsa" for RSA, the curve name for EC. */
const char *md_pkey_spec_name(const md_pkey_spec_t *spec);
/** Human/config form: "RSA 2048", "secp256r1". */
const char *md_pkey_spec_format(const md_pkey_spec_t *spec, apr_pool_t *p);
/** Non-zero if both specs describe the same key type and size. */
int md_pkey_spec_eq(const md_pkey_spec_t *s1, const md_pkey_spec_t *s2);
/** JSON of a spec: {"type":"RSA","bits":2048} or {"type":"EC","curve":"secp256r1"}. */
md_json_t *md_pkey_spec_to_json(const md_pkey_spec_t *spec, apr_pool_t *p);
/** Read a spec from JSON as written by md_pkey_spec_to_json; NULL if unusable. */
md_pkey_spec_t *md_pkey_spec_from_json(const md_json_t *json, apr_pool_t *p);

/* ---- private keys --------------------------------------------------------------------------- */

typedef struct md_pkey_t md_pkey_t;

/** Generate a key for 'spec' (NULL: default RSA 2048). */
apr_status_t md_pkey_gen(md_pkey_t **ppkey, apr_pool_t *p, const md_pkey_spec_t *spec);

/**
 * Load a PEM private key. With 'pass' (length pass_len > 0) the PEM must be encrypted with it;
 * without, it must be plain. APR_EINVAL for bad PEM or a wrong pass.
 */
apr_status_t md_pkey_from_pem(md_pkey_t **ppkey, apr_pool_t *p, const char *pem, apr_size_t len,
                              const unsigned char *pass, apr_size_t pass_len);

/**
 * PEM of the private key (PKCS#8). With a pass it is encrypted with AES-256-CBC under that pass.
 * The returned buffer lives in 'p' and is cleansed when 'p' is cleared.
 */
apr_status_t md_pkey_to_pem(const char **ppem, apr_size_t *plen, const md_pkey_t *pkey,
                            const unsigned char *pass, apr_size_t pass_len, apr_pool_t *p);

/** Wrap an EVP_PKEY, taking over the caller's reference. */
md_pkey_t *md_pkey_wrap(struct evp_pkey_st *pkey, apr_pool_t *p);
/**
 * The same key for another pool, without a copy: a new reference that 'p' releases. Keys are
 * never changed once made, so threads may sign with shared references at the same time.
 * NULL when OpenSSL refuses the reference.
 */
md_pkey_t *md_pkey_share(const md_pkey_t *pkey, apr_pool_t *p);
struct evp_pkey_st *md_pkey_get_EVP_PKEY(const md_pkey_t *pkey);
/**
 * The key's public half as an X.509 SubjectPublicKeyInfo, made on first use and kept with the
 * key: X509_set_pubkey() encodes the key anew each time (about 0.4 ms with OpenSSL 3.0), which
 * was most of the cost of making 10 000 fallback certificates. NULL on failure. The first use
 * of one md_pkey_t must not be concurrent.
 */
struct X509_pubkey_st *md_pkey_get0_spki(const md_pkey_t *pkey);

/** "RSA", "EC" */
const char *md_pkey_type_name(const md_pkey_t *pkey);

/** The public key as a JWK (RFC 7517): RSA {e,kty,n}, EC {crv,kty,x,y}. */
apr_status_t md_pkey_to_jwk(md_json_t **pjwk, const md_pkey_t *pkey, apr_pool_t *p);

/** RFC 7638 JWK thumbprint: base64url(SHA-256(canonical JWK)). */
apr_status_t md_pkey_jwk_thumbprint(const char **pthumb, const md_pkey_t *pkey, apr_pool_t *p);

/** JWS "alg" for the key: RS256 for RSA, ES256 for P-256, ES384 for P-384. */
const char *md_pkey_jws_alg(const md_pkey_t *pkey);

/**
 * JWS signature (RFC 7515/7518) over 'data' with the key's alg, base64url encoded. ECDSA
 * signatures are converted from DER to the fixed-size R||S form.
 */
apr_status_t md_pkey_sign64(const char **psig64, const md_pkey_t *pkey, const void *data,
                            apr_size_t len, apr_pool_t *p);

/* ---- certificates --------------------------------------------------------------------------- */

typedef struct md_cert_t md_cert_t;

/** Wrap an X509, taking over the caller's reference. */
md_cert_t *md_cert_wrap(struct x509_st *x509, apr_pool_t *p);
struct x509_st *md_cert_get_X509(const md_cert_t *cert);

/**
 * Parse all PEM certificates in 'pem' into an array of md_cert_t* (leaf first, as in
 * pubcert.pem). APR_ENOENT if there is none, APR_EINVAL for garbage.
 */
apr_status_t md_chain_from_pem(apr_array_header_t **pchain, apr_pool_t *p, const char *pem,
                               apr_size_t len);
/** PEM of all certificates in 'chain' (md_cert_t*), concatenated; in 'p'. */
apr_status_t md_chain_to_pem(const char **ppem, apr_size_t *plen, const apr_array_header_t *chain,
                             apr_pool_t *p);

apr_time_t md_cert_get_not_before(const md_cert_t *cert);
apr_time_t md_cert_get_not_after(const md_cert_t *cert);

/** dNSName (lower case) and iPAddress SANs of the certificate into a new array. */
apr_status_t md_cert_get_alt_names(apr_array_header_t **pnames, const md_cert_t *cert,
                                   apr_pool_t *p);

/** Non-zero if the cert's SANs cover 'domain' (a "*.x.org" SAN covers "a.x.org"). */
int md_cert_covers_domain(const md_cert_t *cert, const char *domain);
/** Non-zero if every name in 'domains' is covered. */
int md_cert_covers_all(const md_cert_t *cert, const apr_array_header_t *domains);

/** Non-zero if the certificate's public key is the one of 'pkey'. */
int md_cert_matches_key(const md_cert_t *cert, const md_pkey_t *pkey);

/** Serial number as upper-case hex; in 'p'. */
const char *md_cert_get_serial(const md_cert_t *cert, apr_pool_t *p);
/** SHA-256 of the DER certificate as lower-case hex; in 'p'. */
const char *md_cert_get_sha256_fingerprint(const md_cert_t *cert, apr_pool_t *p);
/** SHA-1 of the DER certificate as lower-case hex (the stapling id, as the stock module's
 * ocsp/<md>/ocsp-<sha1>.json file names use it); in 'p'. NULL on failure (logged). */
const char *md_cert_get_sha1_hex(const md_cert_t *cert, apr_pool_t *p);

/** The DER encoding of the certificate, base64url encoded (RFC 8555 7.6 revokeCert); in 'p'. */
apr_status_t md_cert_to_der64(const char **pder64, const md_cert_t *cert, apr_pool_t *p);

/**
 * The OCSP responder URL from the certificate's Authority Information Access extension
 * (RFC 5280 4.2.2.1), the first one when there are several; in 'p'. APR_ENOENT if the
 * certificate names none (Let's Encrypt certificates since 2025, for example).
 */
apr_status_t md_cert_get_ocsp_responder_url(const char **purl, const md_cert_t *cert,
                                            apr_pool_t *p);

/** An ASN1_TIME (UTCTime or GeneralizedTime) as apr time; 0 when NULL or unparseable. */
struct asn1_string_st;
apr_time_t md_asn1_time_to_apr(const struct asn1_string_st *t);

/** RFC 2253 one-line subject; in 'p'. */
const char *md_cert_get_subject(const md_cert_t *cert, apr_pool_t *p);
/** Issuer in OpenSSL's one-line form ("/C=US/O=Example/CN=CA 1"), as the stock module shows
 * it in md-status; in 'p', NULL on failure. */
const char *md_cert_get_issuer(const md_cert_t *cert, apr_pool_t *p);
/**
 * The certificate's ARI identifier (RFC 9773 4.1): base64url of the authority key identifier's
 * keyIdentifier, ".", base64url of the serial number's DER content octets. In 'p'; NULL when
 * the certificate has no authority key identifier (self-signed ones often have none).
 */
const char *md_cert_get_ari_cert_id(const md_cert_t *cert, apr_pool_t *p);

/**
 * A DER CSR for 'domains' (first one the CN, all as dNSName SANs; IP literals as iPAddress SANs),
 * signed with 'pkey', base64url encoded as RFC 8555 7.4 wants it. With 'must_staple' it carries
 * the TLS Feature extension (status_request).
 */
apr_status_t md_cert_req_create64(const char **pcsr64, const apr_array_header_t *domains,
                                  int must_staple, const md_pkey_t *pkey, apr_pool_t *p);

/**
 * A self-signed certificate for 'domains' (first is CN), valid from now - 1 day for 'valid_for',
 * signed with 'pkey', with the given issuer/subject organisation 'org' (e.g. "Apache Managed
 * Domain Fallback").
 */
apr_status_t md_cert_self_sign(md_cert_t **pcert, const char *org,
                               const apr_array_header_t *domains, const md_pkey_t *pkey,
                               apr_interval_time_t valid_for, apr_pool_t *p);

/* id-pe-acmeIdentifier (RFC 8737 6.1) */
#define MD_OID_ACME_IDENTIFIER "1.3.6.1.5.5.7.1.31"

/**
 * The tls-alpn-01 challenge certificate (RFC 8737 3): self-signed for 'domain' (CN and the only
 * dNSName SAN) with the public key of 'pkey', valid from now - 1 day for 'valid_for', carrying the
 * critical id-pe-acmeIdentifier extension with the SHA-256 of 'key_authz' (the key authorization
 * "token.thumbprint"). In 'p'. APR_EINVAL for missing arguments.
 */
apr_status_t md_cert_make_tls_alpn_01(md_cert_t **pcert, const char *domain, const char *key_authz,
                                      const md_pkey_t *pkey, apr_interval_time_t valid_for,
                                      apr_pool_t *p);

/** base64url(HMAC-SHA256(key, data)) (RFC 2104), for the HS256 JWS of RFC 7518 3.2. */
apr_status_t md_crypt_hmac_sha256_64(const char **pmac64, const unsigned char *key,
                                     apr_size_t key_len, const void *data, apr_size_t len,
                                     apr_pool_t *p);

/** base64url(SHA-256(data)). */
apr_status_t md_crypt_sha256_64(const char **pdigest64, const void *data, apr_size_t len,
                                apr_pool_t *p);

#endif /* md_crypt_h */
