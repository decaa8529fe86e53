/* md_seal: AES-256-GCM of stored values under a key derived from the store key (see md_seal.h).
 *
 *   sealed = base64url( iv[12] | ciphertext | tag[16] ), AAD = the format label
 * The label is also the HKDF info, so a later format gets other keys and cannot be confused
 * with this one.
 */
#include <string.h>

#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "md_log.h"
#include "md_util.h"
#include "md_seal.h"

#define SEAL_LABEL    "mod_md sealed value v1"
#define KEY_ID_LABEL  "mod_md store key id v1"
#define SEAL_IV_LEN   12
#define SEAL_TAG_LEN  16
#define SEAL_KEY_LEN  32
#define KEY_ID_LEN    18
#define SEAL_KEY_MIN  32
#define SEAL_DATA_MAX (16 * 1024 * 1024)

static apr_status_t derive(unsigned char *out, size_t outlen, const unsigned char *key,
                           apr_size_t klen, const char *label)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t len = outlen;
    int ok;

    if (!ctx) {
        return APR_EGENERAL;
    }
    ok = EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0
         && EVP_PKEY_CTX_set1_hkdf_key(ctx, key, (int)klen) > 0
         && EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)label, (int)strlen(label)) > 0
         && EVP_PKEY_derive(ctx, out, &len) > 0 && len == outlen;
    EVP_PKEY_CTX_free(ctx);
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

typedef struct {
    void *data;
    apr_size_t len;
} secret_t;

static apr_status_t wipe(void *baton)
{
    secret_t *secret = baton;

    OPENSSL_cleanse(secret->data, secret->len);
    return APR_SUCCESS;
}

/* One GCM pass: 'enc' 1 seals, 0 opens (then 'tag' is checked). */
static apr_status_t gcm(unsigned char *out, const unsigned char *in, int inlen,
                        const unsigned char *iv, unsigned char *tag, int enc,
                        const unsigned char *dkey)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0, ok;

    if (!ctx) {
        return APR_EGENERAL;
    }
    ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) > 0
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_IV_LEN, NULL) > 0
         && EVP_CipherInit_ex(ctx, NULL, NULL, dkey, iv, enc) > 0
         && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)SEAL_LABEL,
                             (int)strlen(SEAL_LABEL))
                > 0
         && EVP_CipherUpdate(ctx, out, &n, in, inlen) > 0;
    if (ok && !enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) > 0;
    }
    ok = ok && EVP_CipherFinal_ex(ctx, out + n, &m) > 0;
    if (ok && enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) > 0;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok ? APR_SUCCESS : (enc ? APR_EGENERAL : APR_EINVAL);
}

apr_status_t md_seal(const char **psealed, const void *data, apr_size_t len,
                     const unsigned char *key, apr_size_t klen, apr_pool_t *p)
{
    unsigned char dkey[SEAL_KEY_LEN];
    unsigned char *buf;
    apr_status_t rv;

    *psealed = NULL;
    if (klen < SEAL_KEY_MIN || len > SEAL_DATA_MAX) {
        return APR_EINVAL;
    }
    buf = apr_palloc(p, SEAL_IV_LEN + len + SEAL_TAG_LEN);
    rv = derive(dkey, sizeof(dkey), key, klen, SEAL_LABEL);
    if (APR_SUCCESS == rv && RAND_bytes(buf, SEAL_IV_LEN) != 1) {
        rv = APR_EGENERAL;
    }
    if (APR_SUCCESS == rv) {
        rv = gcm(buf + SEAL_IV_LEN, data, (int)len, buf, buf + SEAL_IV_LEN + len, 1, dkey);
    }
    OPENSSL_cleanse(dkey, sizeof(dkey));
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(13100) "sealing a value: AES-256-GCM (EVP_Cipher*) failed");
        return rv;
    }
    *psealed = md_util_base64url_encode(buf, SEAL_IV_LEN + len + SEAL_TAG_LEN, p);
    return *psealed ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t md_seal_open(char **pdata, apr_size_t *plen, const char *sealed, apr_size_t slen,
                          const unsigned char *key, apr_size_t klen, apr_pool_t *p)
{
    unsigned char dkey[SEAL_KEY_LEN];
    unsigned char *raw = NULL;
    apr_ssize_t rlen;
    apr_size_t clen;
    char *out;
    secret_t *secret;
    apr_status_t rv;

    *pdata = NULL;
    *plen = 0;
    if (klen < SEAL_KEY_MIN || slen > 2 * SEAL_DATA_MAX) {
        return APR_EINVAL;
    }
    rlen = md_util_base64url_decode(&raw, apr_pstrmemdup(p, sealed, slen), p);
    if (rlen < SEAL_IV_LEN + SEAL_TAG_LEN) {
        return APR_EINVAL;
    }
    clen = (apr_size_t)rlen - SEAL_IV_LEN - SEAL_TAG_LEN;
    out = apr_palloc(p, clen + 1);
    rv = derive(dkey, sizeof(dkey), key, klen, SEAL_LABEL);
    if (APR_SUCCESS == rv) {
        rv = gcm((unsigned char *)out, raw + SEAL_IV_LEN, (int)clen, raw, raw + SEAL_IV_LEN + clen,
                 0, dkey);
    }
    OPENSSL_cleanse(dkey, sizeof(dkey));
    if (APR_SUCCESS != rv) {
        OPENSSL_cleanse(out, clen);
        return rv;
    }
    out[clen] = '\0';
    secret = apr_palloc(p, sizeof(*secret));
    secret->data = out;
    secret->len = clen;
    apr_pool_cleanup_register(p, secret, wipe, apr_pool_cleanup_null);
    *pdata = out;
    *plen = clen;
    return APR_SUCCESS;
}

const char *md_seal_key_id(const unsigned char *key, apr_size_t klen, apr_pool_t *p)
{
    unsigned char id[KEY_ID_LEN];

    if (klen < SEAL_KEY_MIN || APR_SUCCESS != derive(id, sizeof(id), key, klen, KEY_ID_LABEL)) {
        return NULL;
    }
    return md_util_base64url_encode(id, sizeof(id), p);
}
