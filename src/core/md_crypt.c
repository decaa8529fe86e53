/* md_crypt: key specs, private keys, JWK and JWS signatures, digests on OpenSSL 3 EVP APIs (see
 * md_crypt.h; certificates, chains and CSRs are in md_cert.c).
 *
 * Ownership: md_pkey_t and md_cert_t free their OpenSSL object in a pool cleanup. Temporary
 * OpenSSL objects are freed at each function's 'leave:' label. Failures of OpenSSL calls are
 * logged by ossl_fail() naming the call and the OpenSSL reason, then returned as APR_EGENERAL.
 *
 * Encrypted private keys: PKCS#8 with AES-256-CBC (PBES2) under the raw pass bytes, which is what
 * the stock mod_md store writes for account keys (48 raw bytes of its store key as passphrase).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "md_log.h"
#include "md_ossl.h"
#include "md_util.h"
#include "md_keys.h"
#include "md_time.h"
#include "md_json.h"
#include "md_crypt.h"

struct md_pkey_t {
    apr_pool_t *p;
    EVP_PKEY *pkey;
    X509_PUBKEY **spki; /* md_pkey_get0_spki(), made on first use (a memo, so a pointer) */
};

#define MD_RSA_BITS_MAX 16384

/* ---- curves --------------------------------------------------------------------------------- */

typedef struct {
    const char *name;    /* accepted spelling (config, OpenSSL group name) */
    const char *curve;   /* our normalised name */
    const char *ossl;    /* name for key generation */
    const char *crv;     /* JWK "crv" (RFC 7518 6.2.1.1) */
    const char *alg;     /* JWS "alg" (RFC 7518 3.4) */
    unsigned int nbytes; /* size of R and S in a JWS signature */
} curve_info_t;

static const curve_info_t curves[] = {
    { "secp256r1", "secp256r1", "P-256", "P-256", "ES256", 32 },
    { "P-256", "secp256r1", "P-256", "P-256", "ES256", 32 },
    { "prime256v1", "secp256r1", "P-256", "P-256", "ES256", 32 },
    { "secp384r1", "secp384r1", "P-384", "P-384", "ES384", 48 },
    { "P-384", "secp384r1", "P-384", "P-384", "ES384", 48 },
};

static const curve_info_t *curve_lookup(const char *name)
{
    size_t i;

    for (i = 0; name && i < sizeof(curves) / sizeof(curves[0]); ++i) {
        if (!strcasecmp(name, curves[i].name)) {
            return &curves[i];
        }
    }
    return NULL;
}

static int pkey_is_rsa(const EVP_PKEY *pkey)
{
    return EVP_PKEY_is_a(pkey, "RSA");
}

/* The curve of an EC key, NULL for other keys or unsupported curves. */
static const curve_info_t *pkey_curve(const EVP_PKEY *pkey)
{
    char name[64];

    if (!EVP_PKEY_is_a(pkey, "EC")) {
        return NULL;
    }
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL)
        != 1) {
        ERR_clear_error();
        return NULL;
    }
    return curve_lookup(name);
}

/* ---- key specs ------------------------------------------------------------------------------ */

static const char *spec_accepted =
    "accepted are 'RSA' optionally followed by a number of bits (at least 2048) or 'rsa<bits>', "
    "'secp256r1' (also 'P-256', 'prime256v1') and 'secp384r1' (also 'P-384')";

static apr_status_t parse_rsa_bits(unsigned int *pbits, const char *word, apr_pool_t *p,
                                   const char **perr)
{
    char *endp = NULL;
    apr_int64_t n = apr_strtoi64(word, &endp, 10);

    if (!endp || *endp || endp == word) {
        *perr = apr_psprintf(p, "RSA key size '%s' is not a number", word);
        return APR_EINVAL;
    }
    if (n < MD_PKEY_RSA_BITS_MIN) {
        *perr = apr_psprintf(p, "RSA key size %s is too small, the minimum is %d bits", word,
                             MD_PKEY_RSA_BITS_MIN);
        return APR_EINVAL;
    }
    if (n > MD_RSA_BITS_MAX) {
        *perr = apr_psprintf(p, "RSA key size %s is too large, the maximum is %d bits", word,
                             MD_RSA_BITS_MAX);
        return APR_EINVAL;
    }
    *pbits = (unsigned int)n;
    return APR_SUCCESS;
}

apr_status_t md_pkey_spec_parse(md_pkey_spec_t **pspec, apr_size_t *pnused,
                                const char *const *words, apr_size_t nwords, apr_pool_t *p,
                                const char **perr)
{
    md_pkey_spec_t *spec = apr_pcalloc(p, sizeof(*spec));
    const curve_info_t *ci;
    const char *dummy = NULL;
    apr_status_t rv;

    *pspec = NULL;
    *pnused = 0;
    perr = perr ? perr : &dummy;
    if (nwords == 0 || !words[0]) {
        *perr = apr_psprintf(p, "no private key type given, %s", spec_accepted);
        return APR_EINVAL;
    }
    if (!strcasecmp("RSA", words[0])) {
        spec->type = MD_PKEY_TYPE_RSA;
        spec->bits = MD_PKEY_RSA_BITS_DEF;
        *pnused = 1;
        /* a following word that starts like a number is the size; anything else is the
         * next key spec */
        if (nwords > 1 && words[1]
            && ((words[1][0] >= '0' && words[1][0] <= '9') || words[1][0] == '-'
                || words[1][0] == '+')) {
            rv = parse_rsa_bits(&spec->bits, words[1], p, perr);
            if (APR_SUCCESS != rv) {
                *pnused = 0;
                return rv;
            }
            *pnused = 2;
        }
        *pspec = spec;
        return APR_SUCCESS;
    }
    /* "rsa3072" in one word, as the stock module also accepts it */
    if (!strncasecmp("RSA", words[0], 3) && words[0][3] >= '0' && words[0][3] <= '9') {
        spec->type = MD_PKEY_TYPE_RSA;
        rv = parse_rsa_bits(&spec->bits, words[0] + 3, p, perr);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        *pnused = 1;
        *pspec = spec;
        return APR_SUCCESS;
    }
    ci = curve_lookup(words[0]);
    if (!ci) {
        *perr = apr_psprintf(p, "unknown private key type '%s', %s", words[0], spec_accepted);
        return APR_EINVAL;
    }
    spec->type = MD_PKEY_TYPE_EC;
    spec->curve = ci->curve;
    *pnused = 1;
    *pspec = spec;
    return APR_SUCCESS;
}

const char *md_pkey_spec_name(const md_pkey_spec_t *spec)
{
    if (spec && spec->type == MD_PKEY_TYPE_EC) {
        const curve_info_t *ci = curve_lookup(spec->curve);
        return ci ? ci->curve : (spec->curve ? spec->curve : "ec");
    }
    return "rsa";
}

static unsigned int spec_rsa_bits(const md_pkey_spec_t *spec)
{
    return (spec && spec->type == MD_PKEY_TYPE_RSA && spec->bits) ? spec->bits
                                                                  : MD_PKEY_RSA_BITS_DEF;
}

const char *md_pkey_spec_format(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    if (spec && spec->type == MD_PKEY_TYPE_EC) {
        return md_pkey_spec_name(spec);
    }
    return apr_psprintf(p, "RSA %u", spec_rsa_bits(spec));
}

int md_pkey_spec_eq(const md_pkey_spec_t *s1, const md_pkey_spec_t *s2)
{
    int ec1 = s1 && s1->type == MD_PKEY_TYPE_EC;
    int ec2 = s2 && s2->type == MD_PKEY_TYPE_EC;

    if (ec1 != ec2) {
        return 0;
    }
    if (ec1) {
        return !strcmp(md_pkey_spec_name(s1), md_pkey_spec_name(s2));
    }
    return spec_rsa_bits(s1) == spec_rsa_bits(s2); /* the default is RSA 2048 */
}

md_json_t *md_pkey_spec_to_json(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    switch (spec ? spec->type : MD_PKEY_TYPE_DEFAULT) {
        case MD_PKEY_TYPE_RSA:
            md_json_sets("RSA", json, MD_KEY_TYPE);
            md_json_setl((long)spec_rsa_bits(spec), json, MD_KEY_BITS);
            break;
        case MD_PKEY_TYPE_EC:
            md_json_sets("EC", json, MD_KEY_TYPE);
            md_json_sets(md_pkey_spec_name(spec), json, MD_KEY_CURVE);
            break;
        case MD_PKEY_TYPE_DEFAULT:
        default:
            md_json_sets("Default", json, MD_KEY_TYPE); /* as the stock module writes it */
            break;
    }
    return json;
}

md_pkey_spec_t *md_pkey_spec_from_json(const md_json_t *json, apr_pool_t *p)
{
    md_pkey_spec_t *spec = apr_pcalloc(p, sizeof(*spec));
    const char *type = md_json_gets(json, MD_KEY_TYPE);
    const curve_info_t *ci;
    long bits;

    if (!type) {
        return NULL;
    }
    if (!strcasecmp("Default", type)) {
        spec->type = MD_PKEY_TYPE_DEFAULT;
        return spec;
    }
    if (!strcasecmp("RSA", type)) {
        spec->type = MD_PKEY_TYPE_RSA;
        bits = md_json_getl(json, MD_KEY_BITS);
        if (bits == 0) {
            bits = MD_PKEY_RSA_BITS_DEF;
        }
        if (bits < MD_PKEY_RSA_BITS_MIN || bits > MD_RSA_BITS_MAX) {
            return NULL;
        }
        spec->bits = (unsigned int)bits;
        return spec;
    }
    if (!strcasecmp("EC", type)) {
        ci = curve_lookup(md_json_gets(json, MD_KEY_CURVE));
        if (!ci) {
            return NULL;
        }
        spec->type = MD_PKEY_TYPE_EC;
        spec->curve = ci->curve;
        return spec;
    }
    return NULL;
}

/* ---- private keys --------------------------------------------------------------------------- */

static apr_status_t pkey_cleanup(void *data)
{
    md_pkey_t *pkey = data;

    if (pkey->pkey) {
        EVP_PKEY_free(pkey->pkey);
        pkey->pkey = NULL;
    }
    if (pkey->spki) {
        X509_PUBKEY_free(*pkey->spki);
        *pkey->spki = NULL;
    }
    return APR_SUCCESS;
}

X509_PUBKEY *md_pkey_get0_spki(const md_pkey_t *pkey)
{
    if (!pkey || !pkey->pkey || !pkey->spki) {
        return NULL;
    }
    if (!*pkey->spki && X509_PUBKEY_set(pkey->spki, pkey->pkey) != 1) {
        ERR_clear_error();
        *pkey->spki = NULL;
    }
    return *pkey->spki;
}

md_pkey_t *md_pkey_wrap(EVP_PKEY *pkey, apr_pool_t *p)
{
    md_pkey_t *wrapped = apr_pcalloc(p, sizeof(*wrapped));

    wrapped->p = p;
    wrapped->pkey = pkey;
    wrapped->spki = apr_pcalloc(p, sizeof(*wrapped->spki));
    apr_pool_cleanup_register(p, wrapped, pkey_cleanup, apr_pool_cleanup_null);
    return wrapped;
}

md_pkey_t *md_pkey_share(const md_pkey_t *pkey, apr_pool_t *p)
{
    if (!EVP_PKEY_up_ref(pkey->pkey)) {
        return NULL;
    }
    return md_pkey_wrap(pkey->pkey, p);
}

EVP_PKEY *md_pkey_get_EVP_PKEY(const md_pkey_t *pkey)
{
    return pkey->pkey;
}

const char *md_pkey_type_name(const md_pkey_t *pkey)
{
    if (pkey_is_rsa(pkey->pkey)) {
        return "RSA";
    }
    if (EVP_PKEY_is_a(pkey->pkey, "EC")) {
        return "EC";
    }
    return "unknown";
}

apr_status_t md_pkey_gen(md_pkey_t **ppkey, apr_pool_t *p, const md_pkey_spec_t *spec)
{
    EVP_PKEY *evp = NULL;
    const curve_info_t *ci;

    *ppkey = NULL;
    if (spec && spec->type == MD_PKEY_TYPE_EC) {
        ci = curve_lookup(spec->curve);
        if (!ci) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                          APLOGNO(12021) "unsupported curve '%s' for key generation",
                          spec->curve ? spec->curve : "(none)");
            return APR_EINVAL;
        }
        evp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", ci->ossl);
    }
    else {
        evp = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)spec_rsa_bits(spec));
    }
    if (!evp) {
        return MD_OSSL_FAIL(p, "EVP_PKEY_Q_keygen");
    }
    *ppkey = md_pkey_wrap(evp, p);
    return APR_SUCCESS;
}

typedef struct {
    const unsigned char *pass;
    apr_size_t len;
    int called;
} pass_ctx_t;

/* PEM password callback: hands out the raw pass bytes; without a pass it refuses, so OpenSSL
 * never prompts on a terminal. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    pass_ctx_t *ctx = u;

    (void)rwflag;
    ctx->called = 1;
    if (!ctx->pass || ctx->len == 0 || size < 0 || ctx->len > (apr_size_t)size) {
        return -1;
    }
    memcpy(buf, ctx->pass, ctx->len);
    return (int)ctx->len;
}

apr_status_t md_pkey_from_pem(md_pkey_t **ppkey, apr_pool_t *p, const char *pem, apr_size_t len,
                              const unsigned char *pass, apr_size_t pass_len)
{
    pass_ctx_t ctx;
    BIO *bio = NULL;
    EVP_PKEY *evp = NULL;
    apr_status_t rv = APR_SUCCESS;

    *ppkey = NULL;
    ctx.pass = pass_len ? pass : NULL;
    ctx.len = pass ? pass_len : 0;
    ctx.called = 0;
    if (len > INT_MAX) {
        return APR_EINVAL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        rv = MD_OSSL_FAIL(p, "BIO_new_mem_buf");
        goto leave;
    }
    evp = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &ctx);
    if (!evp) {
        /* bad PEM or a wrong pass: the caller's concern, not an OpenSSL malfunction */
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p,
                      APLOGNO(12022) "PEM_read_bio_PrivateKey() failed (%s)",
                      ctx.pass ? "bad PEM or wrong pass" : "bad or encrypted PEM");
        ERR_clear_error();
        rv = APR_EINVAL;
        goto leave;
    }
    if (ctx.pass && !ctx.called) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p,
                      APLOGNO(12023) "private key is not encrypted although a pass was given");
        EVP_PKEY_free(evp);
        rv = APR_EINVAL;
        goto leave;
    }
    *ppkey = md_pkey_wrap(evp, p);
leave:
    BIO_free(bio);
    return rv;
}

apr_status_t md_pkey_to_pem(const char **ppem, apr_size_t *plen, const md_pkey_t *pkey,
                            const unsigned char *pass, apr_size_t pass_len, apr_pool_t *p)
{
    BIO *bio = NULL;
    apr_status_t rv = APR_SUCCESS;
    int ok;

    *ppem = NULL;
    if (pass && pass_len > INT_MAX) {
        return APR_EINVAL;
    }
    /* secure memory BIO: its buffers are cleansed when freed */
    bio = BIO_new(BIO_s_secmem());
    if (!bio) {
        rv = MD_OSSL_FAIL(p, "BIO_new");
        goto leave;
    }
    if (pass && pass_len > 0) {
        ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey->pkey, EVP_aes_256_cbc(), (const char *)pass,
                                           (int)pass_len, NULL, NULL);
    }
    else {
        ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey->pkey, NULL, NULL, 0, NULL, NULL);
    }
    if (!ok) {
        rv = MD_OSSL_FAIL(p, "PEM_write_bio_PKCS8PrivateKey");
        goto leave;
    }
    rv = md_ossl_bio_to_pool(ppem, plen, bio, 1, p);
leave:
    BIO_free(bio);
    return rv;
}

/* base64url of a BIGNUM key parameter, left padded with zeros to 'padlen' bytes when > 0 */
static apr_status_t bn_param64(const char **p64, const EVP_PKEY *pkey, const char *param,
                               int padlen, apr_pool_t *p)
{
    BIGNUM *bn = NULL;
    unsigned char *buf;
    apr_status_t rv = APR_SUCCESS;
    int n;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        rv = MD_OSSL_FAIL(p, "EVP_PKEY_get_bn_param");
        goto leave;
    }
    n = (padlen > 0) ? padlen : BN_num_bytes(bn);
    buf = apr_palloc(p, (apr_size_t)n + 1);
    if (BN_bn2binpad(bn, buf, n) < 0) {
        rv = MD_OSSL_FAIL(p, "BN_bn2binpad");
        goto leave;
    }
    *p64 = md_util_base64url_encode(buf, (apr_size_t)n, p);
leave:
    BN_free(bn);
    return rv;
}

apr_status_t md_pkey_to_jwk(md_json_t **pjwk, const md_pkey_t *pkey, apr_pool_t *p)
{
    md_json_t *jwk = md_json_create(p);
    const curve_info_t *ci;
    const char *a = NULL, *b = NULL;
    apr_status_t rv;

    *pjwk = NULL;
    /* members in lexicographic order, as RFC 7638 3.2 wants them for the thumbprint */
    if (pkey_is_rsa(pkey->pkey)) {
        rv = bn_param64(&a, pkey->pkey, OSSL_PKEY_PARAM_RSA_E, 0, p);
        if (APR_SUCCESS == rv) {
            rv = bn_param64(&b, pkey->pkey, OSSL_PKEY_PARAM_RSA_N, 0, p);
        }
        if (APR_SUCCESS != rv) {
            return rv;
        }
        md_json_sets(a, jwk, MD_KEY_E);
        md_json_sets("RSA", jwk, MD_KEY_KTY);
        md_json_sets(b, jwk, MD_KEY_N);
        *pjwk = jwk;
        return APR_SUCCESS;
    }
    ci = pkey_curve(pkey->pkey);
    if (!ci) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTIMPL, p,
                      APLOGNO(12024) "JWK: unsupported key type %s", md_pkey_type_name(pkey));
        return APR_ENOTIMPL;
    }
    rv = bn_param64(&a, pkey->pkey, OSSL_PKEY_PARAM_EC_PUB_X, (int)ci->nbytes, p);
    if (APR_SUCCESS == rv) {
        rv = bn_param64(&b, pkey->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, (int)ci->nbytes, p);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    md_json_sets(ci->crv, jwk, MD_KEY_CRV);
    md_json_sets("EC", jwk, MD_KEY_KTY);
    md_json_sets(a, jwk, MD_KEY_X);
    md_json_sets(b, jwk, MD_KEY_Y);
    *pjwk = jwk;
    return APR_SUCCESS;
}

apr_status_t md_pkey_jwk_thumbprint(const char **pthumb, const md_pkey_t *pkey, apr_pool_t *p)
{
    md_json_t *jwk = NULL;
    char *buf;
    size_t n;
    apr_status_t rv;
    const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;

    *pthumb = NULL;
    rv = md_pkey_to_jwk(&jwk, pkey, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* RFC 7638 3: required members only, sorted, no whitespace */
    n = json_dumpb(jwk->j, NULL, 0, flags);
    if (n == 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      APLOGNO(12025) "json_dumpb() failed for a JWK");
        return APR_EGENERAL;
    }
    buf = apr_palloc(p, n);
    if (json_dumpb(jwk->j, buf, n, flags) != n) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      APLOGNO(12026) "json_dumpb() failed for a JWK on second pass");
        return APR_EGENERAL;
    }
    return md_crypt_sha256_64(pthumb, buf, n, p);
}

const char *md_pkey_jws_alg(const md_pkey_t *pkey)
{
    const curve_info_t *ci;

    if (pkey_is_rsa(pkey->pkey)) {
        return "RS256";
    }
    ci = pkey_curve(pkey->pkey);
    return ci ? ci->alg : NULL;
}

/* RFC 7518 3.4: the JWS form of an ECDSA signature is R || S, each left padded to 'n' bytes */
static apr_status_t ecdsa_der_to_raw(unsigned char **praw, const unsigned char *der,
                                     apr_size_t der_len, unsigned int n, apr_pool_t *p)
{
    ECDSA_SIG *es = NULL;
    const BIGNUM *r = NULL, *s = NULL;
    const unsigned char *q = der;
    unsigned char *raw = apr_palloc(p, 2 * (apr_size_t)n);
    apr_status_t rv = APR_SUCCESS;

    es = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
    if (!es) {
        rv = MD_OSSL_FAIL(p, "d2i_ECDSA_SIG");
        goto leave;
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, raw, (int)n) < 0 || BN_bn2binpad(s, raw + n, (int)n) < 0) {
        rv = MD_OSSL_FAIL(p, "BN_bn2binpad");
        goto leave;
    }
    *praw = raw;
leave:
    ECDSA_SIG_free(es);
    return rv;
}

apr_status_t md_pkey_sign64(const char **psig64, const md_pkey_t *pkey, const void *data,
                            apr_size_t len, apr_pool_t *p)
{
    EVP_MD_CTX *ctx = NULL;
    const EVP_MD *md = EVP_sha256();
    const curve_info_t *ci = NULL;
    unsigned char *sig = NULL, *raw = NULL;
    size_t siglen = 0;
    apr_status_t rv = APR_SUCCESS;

    *psig64 = NULL;
    if (!pkey_is_rsa(pkey->pkey)) {
        ci = pkey_curve(pkey->pkey);
        if (!ci) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTIMPL, p,
                          APLOGNO(12027) "JWS: unsupported key type %s", md_pkey_type_name(pkey));
            return APR_ENOTIMPL;
        }
        md = (ci->nbytes == 48) ? EVP_sha384() : EVP_sha256();
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        rv = MD_OSSL_FAIL(p, "EVP_MD_CTX_new");
        goto leave;
    }
    if (EVP_DigestSignInit(ctx, NULL, md, NULL, pkey->pkey) != 1) {
        rv = MD_OSSL_FAIL(p, "EVP_DigestSignInit");
        goto leave;
    }
    if (EVP_DigestSign(ctx, NULL, &siglen, data, len) != 1) {
        rv = MD_OSSL_FAIL(p, "EVP_DigestSign");
        goto leave;
    }
    sig = apr_palloc(p, siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, data, len) != 1) {
        rv = MD_OSSL_FAIL(p, "EVP_DigestSign");
        goto leave;
    }
    if (ci) {
        rv = ecdsa_der_to_raw(&raw, sig, siglen, ci->nbytes, p);
        if (APR_SUCCESS != rv) {
            goto leave;
        }
        *psig64 = md_util_base64url_encode(raw, 2 * (apr_size_t)ci->nbytes, p);
    }
    else {
        *psig64 = md_util_base64url_encode(sig, siglen, p);
    }
leave:
    EVP_MD_CTX_free(ctx);
    return rv;
}

apr_status_t md_crypt_sha256_64(const char **pdigest64, const void *data, apr_size_t len,
                                apr_pool_t *p)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    *pdigest64 = NULL;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1) {
        return MD_OSSL_FAIL(p, "EVP_Digest");
    }
    *pdigest64 = md_util_base64url_encode(md, n, p);
    return APR_SUCCESS;
}

apr_status_t md_crypt_hmac_sha256_64(const char **pmac64, const unsigned char *key,
                                     apr_size_t key_len, const void *data, apr_size_t len,
                                     apr_pool_t *p)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t n = 0;

    *pmac64 = NULL;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, len, mac, sizeof(mac),
                   &n)) {
        return MD_OSSL_FAIL(p, "EVP_Q_mac");
    }
    *pmac64 = md_util_base64url_encode(mac, n, p);
    OPENSSL_cleanse(mac, sizeof(mac));
    return APR_SUCCESS;
}
