/* test_jws: JWS signatures of md_jws/md_crypt, verified independently with OpenSSL. */
#include <string.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "md_util.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_crypt.h"
#include "md_jws.h"
#include "unit.h"

/* DER form of an R||S signature, as OpenSSL verifies it */
static unsigned char *raw_to_der(int *pderlen, const unsigned char *raw, apr_size_t rawlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
    BIGNUM *s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
    unsigned char *der = NULL, *copy;

    ck_assert_int_eq(1, ECDSA_SIG_set0(es, r, s));
    *pderlen = i2d_ECDSA_SIG(es, &der);
    ck_assert_int_gt(*pderlen, 0);
    copy = apr_pmemdup(unit_pool, der, (apr_size_t)*pderlen);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return copy;
}

/* Verify 'sig64' over 'input' with the public key of 'pkey'. */
static int verify(const md_pkey_t *pkey, const char *input, const char *sig64,
                  apr_size_t expect_rawlen)
{
    EVP_PKEY *evp = md_pkey_get_EVP_PKEY(pkey);
    const EVP_MD *md = (expect_rawlen == 96) ? EVP_sha384() : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    apr_ssize_t siglen = md_util_base64url_decode(&sig, sig64, unit_pool);
    int derlen = 0, rc;

    ck_assert(siglen > 0);
    if (expect_rawlen) {
        ck_assert_int_eq((apr_ssize_t)expect_rawlen, siglen);
        sig = raw_to_der(&derlen, sig, (apr_size_t)siglen);
        siglen = derlen;
    }
    ck_assert_int_eq(1, EVP_DigestVerifyInit(ctx, NULL, md, NULL, evp));
    rc = EVP_DigestVerify(ctx, sig, (size_t)siglen, (const unsigned char *)input, strlen(input));
    EVP_MD_CTX_free(ctx);
    return rc == 1;
}

static const struct {
    const char *kind;
    apr_size_t rawlen; /* 0 for RSA */
    const char *alg;
} kinds[] = { { "rsa", 0, "RS256" }, { "P-256", 64, "ES256" }, { "P-384", 96, "ES384" } };

START_TEST(test_sign64_verify)
{
    md_pkey_t *pkey = unit_key(kinds[_i].kind);
    const char *sig64 = NULL, *data = "eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ";
    int j;

    /* ECDSA R and S are often shorter than the field: repeat so padding gets exercised */
    for (j = 0; j < 20; ++j) {
        ck_assert_int_eq(APR_SUCCESS, md_pkey_sign64(&sig64, pkey, data, strlen(data), unit_pool));
        ck_assert(verify(pkey, data, sig64, kinds[_i].rawlen));
        ck_assert(!verify(pkey, "other", sig64, kinds[_i].rawlen));
        if (!kinds[_i].rawlen) {
            break; /* RSA is deterministic */
        }
    }
}
END_TEST

START_TEST(test_jws_sign)
{
    md_pkey_t *pkey = unit_key(kinds[_i].kind);
    static const char payload[] = "{\"termsOfServiceAgreed\":true}";
    md_json_t *msg = NULL, *prot = NULL, *jwk = NULL;
    const char *prot64, *payload64, *sig64, *err = NULL;
    unsigned char *dec = NULL;
    apr_ssize_t n;

    ck_assert_int_eq(APR_SUCCESS, md_jws_sign(&msg, unit_pool, payload, strlen(payload),
                                              "https://ca.test/new-acct", "nonce-1", pkey, NULL));
    prot64 = md_json_gets(msg, MD_KEY_PROTECTED);
    payload64 = md_json_gets(msg, MD_KEY_PAYLOAD);
    sig64 = md_json_gets(msg, MD_KEY_SIGNATURE);
    ck_assert_ptr_nonnull(prot64);
    ck_assert_ptr_nonnull(payload64);
    ck_assert_ptr_nonnull(sig64);

    n = md_util_base64url_decode(&dec, payload64, unit_pool);
    ck_assert_int_eq((apr_ssize_t)strlen(payload), n);
    ck_assert_str_eq(payload, (const char *)dec);

    n = md_util_base64url_decode(&dec, prot64, unit_pool);
    ck_assert(n > 0);
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_readbuf(&prot, unit_pool, (const char *)dec, (apr_size_t)n, &err));
    ck_assert_str_eq(kinds[_i].alg, md_json_gets(prot, MD_KEY_ALG));
    ck_assert_str_eq("nonce-1", md_json_gets(prot, MD_KEY_NONCE));
    ck_assert_str_eq("https://ca.test/new-acct", md_json_gets(prot, MD_KEY_URL));
    ck_assert(!md_json_has_key(prot, MD_KEY_KID));
    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_jwk(&jwk, pkey, unit_pool));
    ck_assert_str_eq(md_json_writep(jwk, unit_pool, MD_JSON_FMT_COMPACT),
                     md_json_writep(md_json_getj(prot, MD_KEY_JWK), unit_pool,
                                    MD_JSON_FMT_COMPACT));

    ck_assert(verify(pkey, apr_pstrcat(unit_pool, prot64, ".", payload64, (const char *)NULL),
                     sig64, kinds[_i].rawlen));
}
END_TEST

START_TEST(test_jws_kid_empty_payload)
{
    md_pkey_t *pkey = unit_key(kinds[_i].kind);
    md_json_t *msg = NULL, *prot = NULL;
    const char *prot64, *err = NULL;
    unsigned char *dec = NULL;
    apr_ssize_t n;

    /* POST-as-GET (RFC 8555 6.3) */
    ck_assert_int_eq(APR_SUCCESS, md_jws_sign(&msg, unit_pool, "", 0, "https://ca.test/order/1",
                                              "n2", pkey, "https://ca.test/acct/7"));
    ck_assert_str_eq("", md_json_gets(msg, MD_KEY_PAYLOAD));
    prot64 = md_json_gets(msg, MD_KEY_PROTECTED);
    n = md_util_base64url_decode(&dec, prot64, unit_pool);
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_readbuf(&prot, unit_pool, (const char *)dec, (apr_size_t)n, &err));
    ck_assert_str_eq("https://ca.test/acct/7", md_json_gets(prot, MD_KEY_KID));
    ck_assert(!md_json_has_key(prot, MD_KEY_JWK));
    ck_assert(verify(pkey, apr_pstrcat(unit_pool, prot64, ".", (const char *)NULL),
                     md_json_gets(msg, MD_KEY_SIGNATURE), kinds[_i].rawlen));
}
END_TEST

/* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" */
START_TEST(test_hmac_sha256_rfc4231)
{
    const char *mac64 = NULL;
    unsigned char *mac = NULL;
    apr_ssize_t n;
    const char *data = "what do ya want for nothing?";

    ck_assert_int_eq(APR_SUCCESS, md_crypt_hmac_sha256_64(&mac64, (const unsigned char *)"Jefe", 4,
                                                          data, strlen(data), unit_pool));
    n = md_util_base64url_decode(&mac, mac64, unit_pool);
    ck_assert_int_eq(32, n);
    ck_assert_str_eq("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                     md_util_hex(mac, (apr_size_t)n, 0, unit_pool));
}
END_TEST

/* The part 'key' ("protected", "payload") of a flattened JWS, decoded as JSON. */
static md_json_t *jws_part(const md_json_t *msg, const char *key)
{
    unsigned char *raw = NULL;
    md_json_t *json = NULL;
    apr_ssize_t n = md_util_base64url_decode(&raw, md_json_gets(msg, key), unit_pool);

    ck_assert(n > 0);
    ck_assert_int_eq(APR_SUCCESS,
                     md_json_readbuf(&json, unit_pool, (const char *)raw, (apr_size_t)n, NULL));
    return json;
}

/* RFC 8555 7.3.4: HS256 over "protected.payload", the payload the account's JWK */
START_TEST(test_eab)
{
    md_pkey_t *pkey = unit_key("P-256");
    const unsigned char key[] = "an-hmac-key-of-32-bytes-length!!";
    md_json_t *msg = NULL, *prot, *payload, *jwk = NULL;
    const char *input, *mac64 = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_jws_eab(&msg, "kid-1", key, 32, pkey,
                                             "https://ca.example/new-acct", unit_pool));
    prot = jws_part(msg, MD_KEY_PROTECTED);
    ck_assert_str_eq("HS256", md_json_gets(prot, MD_KEY_ALG));
    ck_assert_str_eq("kid-1", md_json_gets(prot, MD_KEY_KID));
    ck_assert_str_eq("https://ca.example/new-acct", md_json_gets(prot, MD_KEY_URL));
    ck_assert(!md_json_has_key(prot, MD_KEY_NONCE));
    payload = jws_part(msg, MD_KEY_PAYLOAD);
    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_jwk(&jwk, pkey, unit_pool));
    ck_assert_str_eq(md_json_writep(jwk, unit_pool, MD_JSON_FMT_COMPACT),
                     md_json_writep(payload, unit_pool, MD_JSON_FMT_COMPACT));
    input = apr_pstrcat(unit_pool, md_json_gets(msg, MD_KEY_PROTECTED), ".",
                        md_json_gets(msg, MD_KEY_PAYLOAD), NULL);
    ck_assert_int_eq(APR_SUCCESS,
                     md_crypt_hmac_sha256_64(&mac64, key, 32, input, strlen(input), unit_pool));
    ck_assert_str_eq(mac64, md_json_gets(msg, MD_KEY_SIGNATURE));
    ck_assert_int_eq(APR_EINVAL, md_jws_eab(&msg, "kid-1", key, 0, pkey, "https://x/", unit_pool));
}
END_TEST

Suite *suite_jws(void)
{
    Suite *s = suite_create("jws");
    TCase *tc = unit_tcase("jws");

    tcase_add_loop_test(tc, test_sign64_verify, 0, 3);
    tcase_add_loop_test(tc, test_jws_sign, 0, 3);
    tcase_add_loop_test(tc, test_jws_kid_empty_payload, 0, 3);
    tcase_add_test(tc, test_hmac_sha256_rfc4231);
    tcase_add_test(tc, test_eab);
    suite_add_tcase(s, tc);
    return s;
}
