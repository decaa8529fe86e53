/* test_crypt: key specs, keys and PEM, JWK, CSRs, self-signed certs and chains of md_crypt. */
#include <string.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "md_util.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_crypt.h"
#include "unit.h"

/* ---- key specs ------------------------------------------------------------------------------ */

static const struct {
    const char *words; /* space separated */
    apr_status_t rv;
    apr_size_t nused;
    md_pkey_type_t type;
    unsigned int bits;
    const char *curve;
    const char *err_part; /* part of the message on failure */
} spec_cases[] = {
    { "RSA", APR_SUCCESS, 1, MD_PKEY_TYPE_RSA, 2048, NULL, NULL },
    { "rsa 4096", APR_SUCCESS, 2, MD_PKEY_TYPE_RSA, 4096, NULL, NULL },
    { "RSA 3072 secp256r1", APR_SUCCESS, 2, MD_PKEY_TYPE_RSA, 3072, NULL, NULL },
    { "RSA secp384r1", APR_SUCCESS, 1, MD_PKEY_TYPE_RSA, 2048, NULL, NULL },
    { "RSA 1024", APR_EINVAL, 0, MD_PKEY_TYPE_RSA, 0, NULL, "2048" },
    { "RSA 2048x", APR_EINVAL, 0, MD_PKEY_TYPE_RSA, 0, NULL, "not a number" },
    { "RSA -2048", APR_EINVAL, 0, MD_PKEY_TYPE_RSA, 0, NULL, "2048" },
    { "secp256r1", APR_SUCCESS, 1, MD_PKEY_TYPE_EC, 0, "secp256r1", NULL },
    { "P-256 RSA", APR_SUCCESS, 1, MD_PKEY_TYPE_EC, 0, "secp256r1", NULL },
    { "prime256v1", APR_SUCCESS, 1, MD_PKEY_TYPE_EC, 0, "secp256r1", NULL },
    { "secp384r1", APR_SUCCESS, 1, MD_PKEY_TYPE_EC, 0, "secp384r1", NULL },
    { "P-384", APR_SUCCESS, 1, MD_PKEY_TYPE_EC, 0, "secp384r1", NULL },
    { "DSA", APR_EINVAL, 0, MD_PKEY_TYPE_RSA, 0, NULL, "secp256r1" },
    { "2048", APR_EINVAL, 0, MD_PKEY_TYPE_RSA, 0, NULL, "RSA" },
};

START_TEST(test_spec_parse)
{
    apr_array_header_t *words = unit_words(spec_cases[_i].words);
    apr_size_t nused = 99;
    md_pkey_spec_t *spec = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = md_pkey_spec_parse(&spec, &nused, (const char *const *)words->elts,
                            (apr_size_t)words->nelts, unit_pool, &err);
    ck_assert_msg(rv == spec_cases[_i].rv, "'%s': rv %d", spec_cases[_i].words, rv);
    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(spec);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, spec_cases[_i].err_part) != NULL, "'%s': message '%s'",
                      spec_cases[_i].words, err);
        return;
    }
    ck_assert_uint_eq(spec_cases[_i].nused, nused);
    ck_assert_int_eq(spec_cases[_i].type, spec->type);
    if (spec->type == MD_PKEY_TYPE_RSA) {
        ck_assert_uint_eq(spec_cases[_i].bits, spec->bits);
    }
    else {
        ck_assert_str_eq(spec_cases[_i].curve, spec->curve);
    }
}
END_TEST

START_TEST(test_spec_json)
{
    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, 3072, NULL }, ec = { MD_PKEY_TYPE_EC, 0, "P-384" };
    md_pkey_spec_t def = { MD_PKEY_TYPE_DEFAULT, 0, NULL }, *back;
    md_json_t *json;

    json = md_pkey_spec_to_json(&rsa, unit_pool);
    ck_assert_str_eq("{\"type\":\"RSA\",\"bits\":3072}",
                     md_json_writep(json, unit_pool, MD_JSON_FMT_COMPACT));
    back = md_pkey_spec_from_json(json, unit_pool);
    ck_assert(md_pkey_spec_eq(&rsa, back));

    json = md_pkey_spec_to_json(&ec, unit_pool);
    ck_assert_str_eq("{\"type\":\"EC\",\"curve\":\"secp384r1\"}",
                     md_json_writep(json, unit_pool, MD_JSON_FMT_COMPACT));
    back = md_pkey_spec_from_json(json, unit_pool);
    ck_assert(md_pkey_spec_eq(&ec, back));
    ck_assert_str_eq("secp384r1", md_pkey_spec_name(back));
    ck_assert_str_eq("secp384r1", md_pkey_spec_format(back, unit_pool));

    json = md_pkey_spec_to_json(&def, unit_pool);
    back = md_pkey_spec_from_json(json, unit_pool);
    ck_assert_int_eq(MD_PKEY_TYPE_DEFAULT, back->type);
    ck_assert(md_pkey_spec_eq(&def, back));
    rsa.bits = 2048;
    ck_assert(md_pkey_spec_eq(&def, &rsa));
    ck_assert(!md_pkey_spec_eq(&def, &ec));
    ck_assert_str_eq("rsa", md_pkey_spec_name(&def));
    ck_assert_str_eq("RSA 2048", md_pkey_spec_format(&def, unit_pool));

    md_json_sets("EC", json, MD_KEY_TYPE);
    md_json_sets("brainpool", json, MD_KEY_CURVE);
    ck_assert_ptr_null(md_pkey_spec_from_json(json, unit_pool));
    md_json_sets("RSA", json, MD_KEY_TYPE);
    md_json_setl(1024, json, MD_KEY_BITS);
    ck_assert_ptr_null(md_pkey_spec_from_json(json, unit_pool));
}
END_TEST

/* ---- keys ----------------------------------------------------------------------------------- */

static const char *key_kinds[] = { "rsa", "P-256", "P-384" };

START_TEST(test_pem_plain)
{
    md_pkey_t *pkey = unit_key(key_kinds[_i]), *back = NULL;
    const char *pem = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_pem(&pem, &len, pkey, NULL, 0, unit_pool));
    ck_assert_uint_eq(strlen(pem), len);
    ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    ck_assert_int_eq(APR_SUCCESS, md_pkey_from_pem(&back, unit_pool, pem, len, NULL, 0));
    ck_assert_int_eq(1, EVP_PKEY_eq(md_pkey_get_EVP_PKEY(pkey), md_pkey_get_EVP_PKEY(back)));
    ck_assert_str_eq(md_pkey_type_name(pkey), md_pkey_type_name(back));
    ck_assert_str_eq((_i == 0) ? "RSA" : "EC", md_pkey_type_name(back));
    /* a plain key where an encrypted one is expected */
    ck_assert_int_eq(APR_EINVAL,
                     md_pkey_from_pem(&back, unit_pool, pem, len, (const unsigned char *)"x", 1));
}
END_TEST

START_TEST(test_pem_encrypted)
{
    md_pkey_t *pkey = unit_key(key_kinds[_i]), *back = NULL;
    unsigned char pass[48], wrong[48];
    const char *pem = NULL;
    apr_size_t len = 0;

    /* like the stock store key: 48 raw bytes, zero bytes included */
    ck_assert_int_eq(APR_SUCCESS, md_util_rand_bytes(pass, sizeof(pass)));
    pass[5] = 0;
    pass[0] = 0;
    /* PBKDF2's HMAC pads its key with zero bytes: a pass ending in 0x00 equals the same pass one
     * byte shorter, so the 'one byte short' check below needs a last byte that is not zero (with
     * a random one it failed once in about 200 runs) */
    pass[sizeof(pass) - 1] |= 0x01;
    memcpy(wrong, pass, sizeof(wrong));
    wrong[47] ^= 0x01;
    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_pem(&pem, &len, pkey, pass, sizeof(pass), unit_pool));
    ck_assert_ptr_nonnull(strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    ck_assert_int_eq(APR_SUCCESS, md_pkey_from_pem(&back, unit_pool, pem, len, pass, sizeof(pass)));
    ck_assert_int_eq(1, EVP_PKEY_eq(md_pkey_get_EVP_PKEY(pkey), md_pkey_get_EVP_PKEY(back)));

    back = NULL;
    ck_assert_int_eq(APR_EINVAL,
                     md_pkey_from_pem(&back, unit_pool, pem, len, wrong, sizeof(wrong)));
    ck_assert_ptr_null(back);
    ck_assert_int_eq(APR_EINVAL,
                     md_pkey_from_pem(&back, unit_pool, pem, len, pass, sizeof(pass) - 1));
    ck_assert_int_eq(APR_EINVAL, md_pkey_from_pem(&back, unit_pool, pem, len, NULL, 0));
    ck_assert_int_eq(APR_EINVAL, md_pkey_from_pem(&back, unit_pool, "garbage", 7, NULL, 0));
}
END_TEST

/* The PKCS#8 structure must be what the stock module writes: PBES2 with AES-256-CBC. */
START_TEST(test_pem_encrypted_format)
{
    md_pkey_t *pkey = unit_key("P-256");
    static const unsigned char pass[] = "0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *pem = NULL;
    apr_size_t len = 0;
    BIO *bio;
    X509_SIG *p8 = NULL;
    const X509_ALGOR *alg = NULL;
    PKCS8_PRIV_KEY_INFO *p8inf;

    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_pem(&pem, &len, pkey, pass, 48, unit_pool));
    bio = BIO_new_mem_buf(pem, (int)len);
    p8 = PEM_read_bio_PKCS8(bio, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(p8);
    X509_SIG_get0(p8, &alg, NULL);
    ck_assert_int_eq(NID_pbes2, OBJ_obj2nid(alg->algorithm));
    p8inf = PKCS8_decrypt(p8, (const char *)pass, 48);
    ck_assert_ptr_nonnull(p8inf);
    PKCS8_PRIV_KEY_INFO_free(p8inf);
    X509_SIG_free(p8);
    BIO_free(bio);
}
END_TEST

/* RFC 7638 3.1 example key */
static const char *rfc7638_n =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
    "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

static md_pkey_t *rsa_from_n_e(const char *n64, const char *e64)
{
    unsigned char *n = NULL, *e = NULL;
    apr_ssize_t nlen = md_util_base64url_decode(&n, n64, unit_pool);
    apr_ssize_t elen = md_util_base64url_decode(&e, e64, unit_pool);
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL), *bn_e = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;

    ck_assert(nlen > 0 && elen > 0);
    ck_assert_int_eq(1, OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n));
    ck_assert_int_eq(1, OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e));
    params = OSSL_PARAM_BLD_to_param(bld);
    ck_assert_ptr_nonnull(params);
    ck_assert_int_eq(1, EVP_PKEY_fromdata_init(ctx));
    ck_assert_int_eq(1, EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params));
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn_n);
    BN_free(bn_e);
    return md_pkey_wrap(pkey, unit_pool);
}

START_TEST(test_jwk_thumbprint_rfc7638)
{
    md_pkey_t *pkey = rsa_from_n_e(rfc7638_n, "AQAB");
    md_json_t *jwk = NULL;
    const char *thumb = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_jwk(&jwk, pkey, unit_pool));
    ck_assert_str_eq("RSA", md_json_gets(jwk, MD_KEY_KTY));
    ck_assert_str_eq("AQAB", md_json_gets(jwk, MD_KEY_E));
    ck_assert_str_eq(rfc7638_n, md_json_gets(jwk, MD_KEY_N));
    ck_assert_int_eq(APR_SUCCESS, md_pkey_jwk_thumbprint(&thumb, pkey, unit_pool));
    ck_assert_str_eq("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", thumb);
    ck_assert_str_eq("RS256", md_pkey_jws_alg(pkey));
}
END_TEST

START_TEST(test_jwk_fields)
{
    static const struct {
        const char *crv;
        const char *alg;
        apr_size_t coord_len;
    } ec[] = { { NULL, "RS256", 0 }, { "P-256", "ES256", 43 }, { "P-384", "ES384", 64 } };
    md_pkey_t *pkey = unit_key(key_kinds[_i]);
    md_json_t *jwk = NULL;
    const char *thumb = NULL;
    unsigned char *raw = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_pkey_to_jwk(&jwk, pkey, unit_pool));
    ck_assert_str_eq(ec[_i].alg, md_pkey_jws_alg(pkey));
    if (_i == 0) {
        ck_assert_str_eq("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":",
                         apr_pstrndup(unit_pool,
                                      md_json_writep(jwk, unit_pool, MD_JSON_FMT_COMPACT), 28));
        ck_assert_int_eq(256,
                         md_util_base64url_decode(&raw, md_json_gets(jwk, MD_KEY_N), unit_pool));
    }
    else {
        ck_assert_str_eq("EC", md_json_gets(jwk, MD_KEY_KTY));
        ck_assert_str_eq(ec[_i].crv, md_json_gets(jwk, MD_KEY_CRV));
        ck_assert_uint_eq(ec[_i].coord_len, strlen(md_json_gets(jwk, MD_KEY_X)));
        ck_assert_uint_eq(ec[_i].coord_len, strlen(md_json_gets(jwk, MD_KEY_Y)));
        ck_assert_ptr_null(md_json_gets(jwk, MD_KEY_N));
    }
    ck_assert_int_eq(APR_SUCCESS, md_pkey_jwk_thumbprint(&thumb, pkey, unit_pool));
    ck_assert_uint_eq(43, strlen(thumb));
}
END_TEST

START_TEST(test_sha256_64)
{
    const char *d = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_crypt_sha256_64(&d, "abc", 3, unit_pool));
    ck_assert_str_eq("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", d);
}
END_TEST

/* ---- CSR ------------------------------------------------------------------------------------ */

static int has_ext(const STACK_OF(X509_EXTENSION) * exts, int nid)
{
    return X509v3_get_ext_by_NID(exts, nid, -1) >= 0;
}

static void check_csr(int must_staple, const char *kind)
{
    md_pkey_t *pkey = unit_key(kind);
    apr_array_header_t *domains = unit_words("a.example.org www.example.org 192.0.2.1 *.x.org");
    const char *csr64 = NULL;
    unsigned char *der = NULL;
    const unsigned char *q;
    apr_ssize_t n;
    X509_REQ *req;
    STACK_OF(X509_EXTENSION) * exts;
    X509_EXTENSION *ext;
    GENERAL_NAMES *sans;
    char cn[256];

    ck_assert_int_eq(APR_SUCCESS,
                     md_cert_req_create64(&csr64, domains, must_staple, pkey, unit_pool));
    ck_assert_ptr_null(strchr(csr64, '='));
    n = md_util_base64url_decode(&der, csr64, unit_pool);
    ck_assert(n > 0);
    q = der;
    req = d2i_X509_REQ(NULL, &q, (long)n);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(1, X509_REQ_verify(req, md_pkey_get_EVP_PKEY(pkey)));
    ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn,
                                               sizeof(cn)),
                     0);
    ck_assert_str_eq("a.example.org", cn);
    exts = X509_REQ_get_extensions(req);
    ck_assert_ptr_nonnull(exts);
    ck_assert_int_eq(must_staple, has_ext(exts, NID_tlsfeature));
    if (must_staple) {
        static const unsigned char expected[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
        ext = X509v3_get_ext(exts, X509v3_get_ext_by_NID(exts, NID_tlsfeature, -1));
        ck_assert_int_eq(5, ASN1_STRING_length(X509_EXTENSION_get_data(ext)));
        ck_assert_mem_eq(expected, ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)), 5);
    }
    ext = X509v3_get_ext(exts, X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1));
    ck_assert_ptr_nonnull(ext);
    sans = X509V3_EXT_d2i(ext);
    ck_assert_ptr_nonnull(sans);
    ck_assert_int_eq(4, sk_GENERAL_NAME_num(sans));
    ck_assert_int_eq(GEN_DNS, sk_GENERAL_NAME_value(sans, 0)->type);
    ck_assert_int_eq(GEN_DNS, sk_GENERAL_NAME_value(sans, 1)->type);
    ck_assert_int_eq(GEN_IPADD, sk_GENERAL_NAME_value(sans, 2)->type);
    ck_assert_int_eq(GEN_DNS, sk_GENERAL_NAME_value(sans, 3)->type);
    ck_assert_str_eq("*.x.org", (const char *)ASN1_STRING_get0_data(
                                    sk_GENERAL_NAME_value(sans, 3)->d.dNSName));
    GENERAL_NAMES_free(sans);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
}

START_TEST(test_csr)
{
    check_csr(_i % 2, key_kinds[_i / 2]);
}
END_TEST

START_TEST(test_csr_long_cn)
{
    md_pkey_t *pkey = unit_key("P-256");
    apr_array_header_t *domains =
        unit_words("a234567890123456789012345678901234567890123456789012345678901234567890.example.org");
    const char *csr64 = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_cert_req_create64(&csr64, domains, 0, pkey, unit_pool));
    ck_assert_int_eq(APR_EINVAL, md_cert_req_create64(&csr64, unit_words(""), 0, pkey, unit_pool));
}
END_TEST

/* ---- certificates --------------------------------------------------------------------------- */

START_TEST(test_self_signed)
{
    md_pkey_t *pkey = unit_key(key_kinds[_i]), *other = unit_key((_i == 1) ? "P-384" : "P-256");
    apr_array_header_t *domains = unit_words("a.example.org b.example.org 127.0.0.1");
    apr_array_header_t *alt = NULL;
    md_cert_t *cert = NULL;
    apr_time_t now = apr_time_now();
    BASIC_CONSTRAINTS *bc;
    const char *subject, *serial;

    ck_assert_int_eq(APR_SUCCESS,
                     md_cert_self_sign(&cert, "Apache Managed Domain Fallback", domains, pkey,
                                       apr_time_from_sec(14 * 24 * 3600), unit_pool));
    ck_assert(md_cert_covers_all(cert, domains));
    ck_assert(md_cert_covers_domain(cert, "B.Example.Org"));
    ck_assert(!md_cert_covers_domain(cert, "c.example.org"));
    ck_assert(md_cert_matches_key(cert, pkey));
    ck_assert(!md_cert_matches_key(cert, other));
    ck_assert_int_eq(2, X509_get_version(md_cert_get_X509(cert)));
    ck_assert_int_eq(1, X509_verify(md_cert_get_X509(cert), md_pkey_get_EVP_PKEY(pkey)));
    /* as written to the store and read back (the public key is copied from the key's encoding
     * when made, so only the read one has it decoded) */
    {
        apr_array_header_t *chain = apr_array_make(unit_pool, 1, sizeof(md_cert_t *)), *back;
        const char *pem;
        apr_size_t len;

        APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
        ck_assert_int_eq(APR_SUCCESS, md_chain_to_pem(&pem, &len, chain, unit_pool));
        ck_assert_int_eq(APR_SUCCESS, md_chain_from_pem(&back, unit_pool, pem, len));
        ck_assert(md_cert_matches_key(APR_ARRAY_IDX(back, 0, md_cert_t *), pkey));
        ck_assert(!md_cert_matches_key(APR_ARRAY_IDX(back, 0, md_cert_t *), other));
        ck_assert_int_eq(1, X509_verify(md_cert_get_X509(APR_ARRAY_IDX(back, 0, md_cert_t *)),
                                        md_pkey_get_EVP_PKEY(pkey)));
        ck_assert_int_eq(1, X509_check_private_key(md_cert_get_X509(APR_ARRAY_IDX(back, 0,
                                                                                md_cert_t *)),
                                                   md_pkey_get_EVP_PKEY(pkey)));
    }

    ck_assert(md_cert_get_not_before(cert) <= now);
    ck_assert(md_cert_get_not_before(cert) >= now - apr_time_from_sec(2 * 24 * 3600));
    ck_assert(md_cert_get_not_after(cert) > now + apr_time_from_sec(13 * 24 * 3600));
    ck_assert(md_cert_get_not_after(cert) <= now + apr_time_from_sec(14 * 24 * 3600 + 60));

    ck_assert_int_eq(APR_SUCCESS, md_cert_get_alt_names(&alt, cert, unit_pool));
    ck_assert_str_eq("a.example.org b.example.org 127.0.0.1",
                     md_array_str_join(alt, " ", unit_pool));

    bc = X509_get_ext_d2i(md_cert_get_X509(cert), NID_basic_constraints, NULL, NULL);
    ck_assert_ptr_nonnull(bc);
    ck_assert_int_eq(0, bc->ca);
    BASIC_CONSTRAINTS_free(bc);

    subject = md_cert_get_subject(cert, unit_pool);
    ck_assert_str_eq("CN=a.example.org,O=Apache Managed Domain Fallback", subject);
    /* the issuer as the stock module shows it in md-status: OpenSSL's one-line form */
    ck_assert_str_eq("/O=Apache Managed Domain Fallback/CN=a.example.org",
                     md_cert_get_issuer(cert, unit_pool));
    /* no authority key identifier, no ARI id */
    ck_assert_ptr_null(md_cert_get_ari_cert_id(cert, unit_pool));
    serial = md_cert_get_serial(cert, unit_pool);
    ck_assert_ptr_nonnull(serial);
    ck_assert(strlen(serial) >= 16);
    ck_assert_uint_eq(64, strlen(md_cert_get_sha256_fingerprint(cert, unit_pool)));
}
END_TEST

/* RFC 9773 4.1, its example: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:
 * C8:D4 and serial 0x87654321 (DER content 00 87 65 43 21, the leading zero kept) give
 * "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" */
START_TEST(test_ari_cert_id_rfc9773)
{
    static const unsigned char kid[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
                                         0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0,
                                         0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
    X509 *x = X509_new();
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    md_pkey_t *pkey = unit_key("P-256");
    md_cert_t *cert;

    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(akid);
    ck_assert_int_eq(1, ASN1_INTEGER_set_uint64(serial, 0x87654321u));
    ck_assert_int_eq(1, X509_set_serialNumber(x, serial));
    akid->keyid = ASN1_OCTET_STRING_new();
    ck_assert_int_eq(1, ASN1_OCTET_STRING_set(akid->keyid, kid, (int)sizeof(kid)));
    ck_assert_int_eq(1, X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0));
    ck_assert_int_eq(1, X509_set_pubkey(x, md_pkey_get_EVP_PKEY(pkey)));
    ck_assert(X509_sign(x, md_pkey_get_EVP_PKEY(pkey), EVP_sha256()) > 0);
    cert = md_cert_wrap(x, unit_pool);
    ck_assert_str_eq("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
                     md_cert_get_ari_cert_id(cert, unit_pool));
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER_free(serial);
}
END_TEST

/* RFC 8737 3: one dNSName SAN, critical id-pe-acmeIdentifier = OCTET STRING(SHA-256(key authz)) */
START_TEST(test_tls_alpn_01_cert)
{
    static const unsigned char expected[] = { 0x04, 0x20 };
    md_pkey_t *pkey = unit_key("P-256");
    apr_array_header_t *alt = NULL;
    md_cert_t *cert = NULL;
    const char *ka = "tok-en_1.thumbprint";
    unsigned char digest[32];
    unsigned int dlen = 0;
    ASN1_OBJECT *oid = OBJ_txt2obj(MD_OID_ACME_IDENTIFIER, 1);
    X509_EXTENSION *ext;
    const ASN1_OCTET_STRING *val;
    int idx;

    ck_assert_int_eq(APR_EINVAL, md_cert_make_tls_alpn_01(&cert, "a.example.org", "", pkey,
                                                          apr_time_from_sec(3600), unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_cert_make_tls_alpn_01(&cert, "a.example.org", ka, pkey,
                                                           apr_time_from_sec(3600), unit_pool));
    ck_assert(md_cert_matches_key(cert, pkey));
    ck_assert_int_eq(1, X509_verify(md_cert_get_X509(cert), md_pkey_get_EVP_PKEY(pkey)));
    ck_assert_int_eq(APR_SUCCESS, md_cert_get_alt_names(&alt, cert, unit_pool));
    ck_assert_str_eq("a.example.org", md_array_str_join(alt, " ", unit_pool));
    idx = X509_get_ext_by_OBJ(md_cert_get_X509(cert), oid, -1);
    ASN1_OBJECT_free(oid);
    ck_assert_int_ge(idx, 0);
    ext = X509_get_ext(md_cert_get_X509(cert), idx);
    ck_assert_int_eq(1, X509_EXTENSION_get_critical(ext));
    val = X509_EXTENSION_get_data(ext);
    ck_assert_int_eq(34, ASN1_STRING_length(val));
    ck_assert_mem_eq(expected, ASN1_STRING_get0_data(val), 2);
    ck_assert_int_eq(1, EVP_Digest(ka, strlen(ka), digest, &dlen, EVP_sha256(), NULL));
    ck_assert_mem_eq(digest, ASN1_STRING_get0_data(val) + 2, 32);
}
END_TEST

START_TEST(test_self_signed_many_ec)
{
    md_pkey_t *pkey = unit_key("P-256");
    apr_array_header_t *domains = unit_words("a.example.org");
    md_cert_t *c1 = NULL, *c2 = NULL;
    int i;

    /* start-up makes one per MD; make sure it is cheap and serials differ */
    for (i = 0; i < 50; ++i) {
        ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&c2, NULL, domains, pkey,
                                                        apr_time_from_sec(3600), unit_pool));
        if (!c1) {
            c1 = c2;
        }
    }
    ck_assert_str_ne(md_cert_get_serial(c1, unit_pool), md_cert_get_serial(c2, unit_pool));
    ck_assert_str_eq("CN=a.example.org", md_cert_get_subject(c2, unit_pool));
}
END_TEST

static md_cert_t *wildcard_cert(void)
{
    md_cert_t *cert = NULL;

    ck_assert_int_eq(APR_SUCCESS,
                     md_cert_self_sign(&cert, NULL, unit_words("*.x.org plain.org 10.0.0.1 2001:db8::1"),
                                       unit_key("P-256"), apr_time_from_sec(3600), unit_pool));
    return cert;
}

static const struct {
    const char *domain;
    int covered;
} cover_cases[] = {
    { "a.x.org", 1 },       { "A.X.ORG", 1 },     { "*.x.org", 1 },   { "x.org", 0 },
    { "a.b.x.org", 0 },     { "ax.org", 0 },      { "plain.org", 1 }, { "a.plain.org", 0 },
    { "*.plain.org", 0 },   { "10.0.0.1", 1 },    { "10.0.0.2", 0 },  { "2001:db8::1", 1 },
    { "2001:DB8:0::1", 1 }, { "2001:db8::2", 0 }, { "", 0 },          { ".x.org", 0 },
};

START_TEST(test_covers_domain)
{
    md_cert_t *cert = wildcard_cert();

    ck_assert_msg(cover_cases[_i].covered == md_cert_covers_domain(cert, cover_cases[_i].domain),
                  "covers '%s' != %d", cover_cases[_i].domain, cover_cases[_i].covered);
}
END_TEST

START_TEST(test_chain_pem)
{
    apr_array_header_t *chain = apr_array_make(unit_pool, 2, sizeof(md_cert_t *)), *back = NULL;
    md_cert_t *c1 = NULL, *c2 = NULL;
    const char *pem = NULL, *pem2 = NULL;
    apr_size_t len = 0, len2 = 0;

    ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&c1, NULL, unit_words("leaf.org"), unit_key("P-256"),
                                                    apr_time_from_sec(3600), unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_cert_self_sign(&c2, NULL, unit_words("ca.org"), unit_key("P-384"),
                                                    apr_time_from_sec(3600), unit_pool));
    APR_ARRAY_PUSH(chain, md_cert_t *) = c1;
    APR_ARRAY_PUSH(chain, md_cert_t *) = c2;
    ck_assert_int_eq(APR_SUCCESS, md_chain_to_pem(&pem, &len, chain, unit_pool));
    ck_assert_uint_eq(strlen(pem), len);
    ck_assert_int_eq(APR_SUCCESS, md_chain_from_pem(&back, unit_pool, pem, len));
    ck_assert_int_eq(2, back->nelts);
    ck_assert_str_eq(md_cert_get_sha256_fingerprint(c1, unit_pool),
                     md_cert_get_sha256_fingerprint(APR_ARRAY_IDX(back, 0, md_cert_t *),
                                                    unit_pool));
    ck_assert_str_eq(md_cert_get_sha256_fingerprint(c2, unit_pool),
                     md_cert_get_sha256_fingerprint(APR_ARRAY_IDX(back, 1, md_cert_t *),
                                                    unit_pool));
    ck_assert_int_eq(APR_SUCCESS, md_chain_to_pem(&pem2, &len2, back, unit_pool));
    ck_assert_str_eq(pem, pem2);

    /* no certificate, garbage */
    ck_assert_int_eq(APR_ENOENT, md_chain_from_pem(&back, unit_pool, "", 0));
    ck_assert_int_eq(APR_ENOENT, md_chain_from_pem(&back, unit_pool, "hello\n", 6));
    pem2 = "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n";
    ck_assert_int_eq(APR_EINVAL, md_chain_from_pem(&back, unit_pool, pem2, strlen(pem2)));
    /* a good one followed by a broken one */
    pem2 = apr_pstrcat(unit_pool, pem, pem2, (const char *)NULL);
    ck_assert_int_eq(APR_EINVAL, md_chain_from_pem(&back, unit_pool, pem2, strlen(pem2)));
}
END_TEST

START_TEST(test_key_gen_spec)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-384" };
    md_pkey_t *pkey = NULL;

    ck_assert_int_eq(APR_SUCCESS, md_pkey_gen(&pkey, unit_pool, &spec));
    ck_assert_str_eq("ES384", md_pkey_jws_alg(pkey));
    spec.curve = "brainpoolP256r1";
    ck_assert_int_eq(APR_EINVAL, md_pkey_gen(&pkey, unit_pool, &spec));
}
END_TEST

/* a shared reference outlives the pool of the key it came from and is the same key */
START_TEST(test_key_share)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    apr_pool_t *origin = NULL, *other = NULL;
    md_pkey_t *pkey = NULL, *shared;
    const char *thumb = NULL, *thumb2 = NULL, *sig = NULL;

    apr_pool_create(&origin, unit_pool);
    apr_pool_create(&other, unit_pool);
    ck_assert_int_eq(APR_SUCCESS, md_pkey_gen(&pkey, origin, &spec));
    ck_assert_int_eq(APR_SUCCESS, md_pkey_jwk_thumbprint(&thumb, pkey, other));
    shared = md_pkey_share(pkey, other);
    ck_assert_ptr_nonnull(shared);
    ck_assert_ptr_eq(md_pkey_get_EVP_PKEY(pkey), md_pkey_get_EVP_PKEY(shared));
    apr_pool_destroy(origin);
    ck_assert_int_eq(APR_SUCCESS, md_pkey_jwk_thumbprint(&thumb2, shared, other));
    ck_assert_str_eq(thumb, thumb2);
    ck_assert_int_eq(APR_SUCCESS, md_pkey_sign64(&sig, shared, "data", 4, other));
    ck_assert_ptr_nonnull(sig);
    apr_pool_destroy(other);
}
END_TEST

Suite *suite_crypt(void)
{
    Suite *s = suite_create("crypt");
    TCase *tc = unit_tcase("crypt");

    tcase_add_loop_test(tc, test_spec_parse, 0, (int)(sizeof(spec_cases) / sizeof(spec_cases[0])));
    tcase_add_test(tc, test_spec_json);
    tcase_add_loop_test(tc, test_pem_plain, 0, 3);
    tcase_add_loop_test(tc, test_pem_encrypted, 0, 3);
    tcase_add_test(tc, test_pem_encrypted_format);
    tcase_add_test(tc, test_jwk_thumbprint_rfc7638);
    tcase_add_loop_test(tc, test_jwk_fields, 0, 3);
    tcase_add_test(tc, test_sha256_64);
    tcase_add_loop_test(tc, test_csr, 0, 6);
    tcase_add_test(tc, test_csr_long_cn);
    tcase_add_loop_test(tc, test_self_signed, 0, 3);
    tcase_add_test(tc, test_self_signed_many_ec);
    tcase_add_test(tc, test_tls_alpn_01_cert);
    tcase_add_test(tc, test_ari_cert_id_rfc9773);
    tcase_add_loop_test(tc, test_covers_domain, 0,
                        (int)(sizeof(cover_cases) / sizeof(cover_cases[0])));
    tcase_add_test(tc, test_chain_pem);
    tcase_add_test(tc, test_key_gen_spec);
    tcase_add_test(tc, test_key_share);
    suite_add_tcase(s, tc);
    return s;
}
