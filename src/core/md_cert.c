/* md_cert: certificates, chains, CSRs and self-signed certificates of md_crypt.h, on OpenSSL 3.
 *
 * md_cert_t frees its X509 in a pool cleanup; temporary OpenSSL objects are freed at each
 * function's 'leave:' label. Failures of OpenSSL calls are logged by ossl_fail() naming the call
 * and the OpenSSL reason, then returned as APR_EGENERAL. Checks whether a certificate covers a
 * name allocate nothing, so they need no pool (they run for every name at start-up).
 */
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "md_log.h"
#include "md_ossl.h"
#include "md_util.h"
#include "md_time.h"
#include "md_crypt.h"

struct md_cert_t {
    apr_pool_t *p;
    X509 *x509;
};

#define MD_CN_MAX_LEN 64 /* ub-common-name (RFC 5280); longer first names go into SANs only */

/* ---- certificates --------------------------------------------------------------------------- */

static apr_status_t cert_cleanup(void *data)
{
    md_cert_t *cert = data;

    if (cert->x509) {
        X509_free(cert->x509);
        cert->x509 = NULL;
    }
    return APR_SUCCESS;
}

md_cert_t *md_cert_wrap(X509 *x509, apr_pool_t *p)
{
    md_cert_t *cert = apr_pcalloc(p, sizeof(*cert));

    cert->p = p;
    cert->x509 = x509;
    apr_pool_cleanup_register(p, cert, cert_cleanup, apr_pool_cleanup_null);
    return cert;
}

X509 *md_cert_get_X509(const md_cert_t *cert)
{
    return cert->x509;
}

/* Non-zero if only white space follows the last certificate: a file cut off in the start line
 * of a further block would otherwise pass for a shorter chain. */
static int ends_after_last_cert(const char *pem, apr_size_t len)
{
    static const char end_line[] = "-----END CERTIFICATE-----";
    const char *last = NULL, *s = pem, *hit;
    apr_size_t i;

    while (s < pem + len) {
        hit = memmem(s, (size_t)(pem + len - s), end_line, sizeof(end_line) - 1);
        if (!hit) {
            break;
        }
        last = hit;
        s = hit + sizeof(end_line) - 1;
    }
    if (!last) {
        return 0;
    }
    for (i = (apr_size_t)(last - pem) + sizeof(end_line) - 1; i < len; ++i) {
        if (!apr_isspace(pem[i])) {
            return 0;
        }
    }
    return 1;
}

apr_status_t md_chain_from_pem(apr_array_header_t **pchain, apr_pool_t *p, const char *pem,
                               apr_size_t len)
{
    apr_array_header_t *chain = apr_array_make(p, 3, sizeof(md_cert_t *));
    BIO *bio = NULL;
    X509 *x509;
    unsigned long err;
    apr_status_t rv = APR_SUCCESS;

    *pchain = NULL;
    if (len > INT_MAX) {
        return APR_EINVAL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) {
        rv = MD_OSSL_FAIL(p, "BIO_new_mem_buf");
        goto leave;
    }
    ERR_clear_error();
    x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    while (x509) {
        APR_ARRAY_PUSH(chain, md_cert_t *) = md_cert_wrap(x509, p);
        x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    }
    /* the loop ends at the end of input (no further start line) or on a broken block */
    err = ERR_peek_last_error();
    ERR_clear_error();
    if (err && !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p,
                      APLOGNO(12028) "PEM_read_bio_X509() failed after %d certificates",
                      chain->nelts);
        rv = APR_EINVAL;
        goto leave;
    }
    if (chain->nelts == 0) {
        rv = APR_ENOENT;
        goto leave;
    }
    if (!ends_after_last_cert(pem, len)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p,
                      APLOGNO(12752) "data after the last of %d certificates (cut off?)",
                      chain->nelts);
        rv = APR_EINVAL;
        goto leave;
    }
    *pchain = chain;
leave:
    BIO_free(bio);
    return rv;
}

apr_status_t md_chain_to_pem(const char **ppem, apr_size_t *plen, const apr_array_header_t *chain,
                             apr_pool_t *p)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const md_cert_t *cert;
    apr_status_t rv = APR_SUCCESS;
    int i;

    *ppem = NULL;
    if (!bio) {
        return MD_OSSL_FAIL(p, "BIO_new");
    }
    for (i = 0; i < chain->nelts; ++i) {
        cert = APR_ARRAY_IDX(chain, i, const md_cert_t *);
        if (PEM_write_bio_X509(bio, cert->x509) != 1) {
            rv = MD_OSSL_FAIL(p, "PEM_write_bio_X509");
            goto leave;
        }
    }
    rv = md_ossl_bio_to_pool(ppem, plen, bio, 0, p);
leave:
    BIO_free(bio);
    return rv;
}

apr_time_t md_asn1_time_to_apr(const ASN1_TIME *t)
{
    struct tm tm;
    time_t secs;

    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return 0;
    }
    secs = timegm(&tm);
    return (secs == (time_t)-1) ? 0 : apr_time_from_sec(secs);
}

apr_time_t md_cert_get_not_before(const md_cert_t *cert)
{
    return md_asn1_time_to_apr(X509_get0_notBefore(cert->x509));
}

apr_time_t md_cert_get_not_after(const md_cert_t *cert)
{
    return md_asn1_time_to_apr(X509_get0_notAfter(cert->x509));
}

static GENERAL_NAMES *cert_sans(const md_cert_t *cert)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert->x509, NID_subject_alt_name, NULL, NULL);

    if (!names) {
        ERR_clear_error();
    }
    return names;
}

/* Lower-case string of a dNSName; NULL if it holds a NUL byte */
static const char *dns_name_str(const GENERAL_NAME *gn, apr_pool_t *p)
{
    const unsigned char *d = ASN1_STRING_get0_data(gn->d.dNSName);
    int n = ASN1_STRING_length(gn->d.dNSName);

    if (!d || n < 0 || memchr(d, 0, (size_t)n)) {
        return NULL;
    }
    return md_util_str_tolower(apr_pstrmemdup(p, (const char *)d, (apr_size_t)n), p);
}

static const char *ip_str(const GENERAL_NAME *gn, apr_pool_t *p)
{
    const unsigned char *d = ASN1_STRING_get0_data(gn->d.iPAddress);
    int n = ASN1_STRING_length(gn->d.iPAddress);
    char buf[INET6_ADDRSTRLEN];

    if (!d || (n != 4 && n != 16)) {
        return NULL;
    }
    if (!inet_ntop((n == 4) ? AF_INET : AF_INET6, d, buf, sizeof(buf))) {
        return NULL;
    }
    return apr_pstrdup(p, buf);
}

apr_status_t md_cert_get_alt_names(apr_array_header_t **pnames, const md_cert_t *cert,
                                   apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 5, sizeof(const char *));
    GENERAL_NAMES *sans = cert_sans(cert);
    const GENERAL_NAME *gn;
    const char *s;
    int i;

    for (i = 0; sans && i < sk_GENERAL_NAME_num(sans); ++i) {
        gn = sk_GENERAL_NAME_value(sans, i);
        s = NULL;
        if (gn->type == GEN_DNS) {
            s = dns_name_str(gn, p);
        }
        else if (gn->type == GEN_IPADD) {
            s = ip_str(gn, p);
        }
        if (s) {
            APR_ARRAY_PUSH(names, const char *) = s;
        }
    }
    GENERAL_NAMES_free(sans);
    *pnames = names;
    return APR_SUCCESS;
}

/* Does one SAN cover 'domain'? Allocation free, so md_cert_covers_domain needs no pool. */
static int san_covers(const GENERAL_NAME *gn, const char *domain, const unsigned char *ip,
                      int iplen)
{
    const ASN1_STRING *s;
    const char *d, *dot;
    apr_size_t n;

    if (gn->type == GEN_IPADD) {
        s = gn->d.iPAddress;
        return iplen > 0 && ASN1_STRING_length(s) == iplen
               && !memcmp(ASN1_STRING_get0_data(s), ip, (size_t)iplen);
    }
    if (gn->type != GEN_DNS || iplen > 0 || ASN1_STRING_length(gn->d.dNSName) < 0) {
        return 0;
    }
    d = (const char *)ASN1_STRING_get0_data(gn->d.dNSName);
    n = (apr_size_t)ASN1_STRING_length(gn->d.dNSName);
    if (!d || memchr(d, 0, n)) {
        return 0;
    }
    if (strlen(domain) == n && !strncasecmp(domain, d, n)) {
        return 1;
    }
    /* "*.x.org" covers exactly one more label: "a.x.org", not "x.org" nor "a.b.x.org" */
    dot = strchr(domain, '.');
    if (n > 2 && d[0] == '*' && d[1] == '.' && dot && dot != domain && domain[0] != '*') {
        return strlen(dot + 1) == n - 2 && !strncasecmp(dot + 1, d + 2, n - 2);
    }
    return 0;
}

int md_cert_covers_domain(const md_cert_t *cert, const char *domain)
{
    GENERAL_NAMES *sans;
    unsigned char ip[16];
    int iplen = 0, i, covered = 0;

    if (!domain || !*domain) {
        return 0;
    }
    if (inet_pton(AF_INET, domain, ip) == 1) {
        iplen = 4;
    }
    else if (inet_pton(AF_INET6, domain, ip) == 1) {
        iplen = 16;
    }
    sans = cert_sans(cert);
    for (i = 0; sans && !covered && i < sk_GENERAL_NAME_num(sans); ++i) {
        covered = san_covers(sk_GENERAL_NAME_value(sans, i), domain, ip, iplen);
    }
    GENERAL_NAMES_free(sans);
    return covered;
}

int md_cert_covers_all(const md_cert_t *cert, const apr_array_header_t *domains)
{
    int i;

    for (i = 0; i < domains->nelts; ++i) {
        if (!md_cert_covers_domain(cert, APR_ARRAY_IDX(domains, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

/* Whether two SubjectPublicKeyInfo encode the same key. */
static int same_spki(X509_PUBKEY *a, X509_PUBKEY *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la, lb, same;

    if (!a || !b) {
        return 0;
    }
    la = i2d_X509_PUBKEY(a, &da);
    lb = i2d_X509_PUBKEY(b, &db);
    same = la > 0 && la == lb && !memcmp(da, db, (size_t)la);
    OPENSSL_free(da);
    OPENSSL_free(db);
    ERR_clear_error();
    return same;
}

int md_cert_matches_key(const md_cert_t *cert, const md_pkey_t *pkey)
{
    const EVP_PKEY *pub = X509_get0_pubkey(cert->x509);
    int rc;

    if (!pkey || !md_pkey_get_EVP_PKEY(pkey)) {
        return 0;
    }
    if (!pub) {
        /* made here with set_pubkey(): nothing decoded, compare the encodings */
        ERR_clear_error();
        return same_spki(X509_get_X509_PUBKEY(cert->x509), md_pkey_get0_spki(pkey));
    }
    rc = EVP_PKEY_eq(pub, md_pkey_get_EVP_PKEY(pkey));
    ERR_clear_error();
    return rc == 1;
}

const char *md_cert_get_serial(const md_cert_t *cert, apr_pool_t *p)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->x509), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    const char *s = hex ? apr_pstrdup(p, hex) : NULL;

    if (!s) {
        MD_OSSL_FAIL(p, "BN_bn2hex");
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return s;
}

static const char *cert_digest_hex(const md_cert_t *cert, const EVP_MD *md_type, apr_pool_t *p)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (X509_digest(cert->x509, md_type, md, &n) != 1) {
        MD_OSSL_FAIL(p, "X509_digest");
        return NULL;
    }
    return md_util_hex(md, n, 0, p);
}

const char *md_cert_get_sha256_fingerprint(const md_cert_t *cert, apr_pool_t *p)
{
    return cert_digest_hex(cert, EVP_sha256(), p);
}

const char *md_cert_get_sha1_hex(const md_cert_t *cert, apr_pool_t *p)
{
    return cert_digest_hex(cert, EVP_sha1(), p);
}

apr_status_t md_cert_to_der64(const char **pder64, const md_cert_t *cert, apr_pool_t *p)
{
    unsigned char *der = NULL;
    int n;

    *pder64 = NULL;
    n = i2d_X509(cert->x509, &der);
    if (n <= 0) {
        return MD_OSSL_FAIL(p, "i2d_X509");
    }
    *pder64 = md_util_base64url_encode(der, (apr_size_t)n, p);
    OPENSSL_free(der);
    return APR_SUCCESS;
}

/* RFC 5280 4.2.2.1: the first id-ad-ocsp accessLocation that is a URI. */
apr_status_t md_cert_get_ocsp_responder_url(const char **purl, const md_cert_t *cert, apr_pool_t *p)
{
    AUTHORITY_INFO_ACCESS *aia = NULL;
    const ACCESS_DESCRIPTION *ad;
    const char *url = NULL;
    int i, crit = 0;

    aia = X509_get_ext_d2i(cert->x509, NID_info_access, &crit, NULL);
    for (i = 0; aia && !url && i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
        ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) == NID_ad_OCSP && ad->location->type == GEN_URI
            && ad->location->d.uniformResourceIdentifier->length > 0) {
            url = apr_pstrndup(p,
                               (const char *)ASN1_STRING_get0_data(
                                   ad->location->d.uniformResourceIdentifier),
                               (apr_size_t)ASN1_STRING_length(
                                   ad->location->d.uniformResourceIdentifier));
        }
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    ERR_clear_error();
    *purl = url;
    return url ? APR_SUCCESS : APR_ENOENT;
}

static const char *name_rfc2253(const X509_NAME *name, apr_pool_t *p)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *s = NULL;

    if (!bio) {
        MD_OSSL_FAIL(p, "BIO_new");
        return NULL;
    }
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        MD_OSSL_FAIL(p, "X509_NAME_print_ex");
    }
    else if (APR_SUCCESS != md_ossl_bio_to_pool(&s, NULL, bio, 0, p)) {
        s = NULL;
    }
    BIO_free(bio);
    return s;
}

const char *md_cert_get_subject(const md_cert_t *cert, apr_pool_t *p)
{
    return name_rfc2253(X509_get_subject_name(cert->x509), p);
}

const char *md_cert_get_issuer(const md_cert_t *cert, apr_pool_t *p)
{
    char *s = X509_NAME_oneline(X509_get_issuer_name(cert->x509), NULL, 0);
    const char *r = s ? apr_pstrdup(p, s) : NULL;

    if (!s) {
        MD_OSSL_FAIL(p, "X509_NAME_oneline");
    }
    OPENSSL_free(s);
    return r;
}

const char *md_cert_get_ari_cert_id(const md_cert_t *cert, apr_pool_t *p)
{
    const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(cert->x509);
    unsigned char *der = NULL;
    const unsigned char *q;
    const char *id = NULL;
    long clen = 0;
    int len, tag = 0, xclass = 0;

    if (!kid || ASN1_STRING_length(kid) <= 0) {
        ERR_clear_error();
        return NULL;
    }
    /* the serial's content octets: its DER encoding without tag and length (keeps the leading
     * zero byte of a serial whose high bit is set) */
    len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert->x509), &der);
    q = der;
    if (len <= 0 || (ASN1_get_object(&q, &clen, &tag, &xclass, len) & 0x80) || clen <= 0
        || q + clen > der + len) {
        MD_OSSL_FAIL(p, "i2d_ASN1_INTEGER");
    }
    else {
        id = apr_pstrcat(p,
                         md_util_base64url_encode(ASN1_STRING_get0_data(kid),
                                                  (apr_size_t)ASN1_STRING_length(kid), p),
                         ".", md_util_base64url_encode(q, (apr_size_t)clen, p), NULL);
    }
    OPENSSL_free(der);
    return id;
}

/* ---- CSR and self-signed certificates ------------------------------------------------------- */

/* SubjectAltName of 'domains': dNSName, or iPAddress for IP literals. NULL on failure. */
static GENERAL_NAMES *make_sans(const apr_array_header_t *domains, apr_pool_t *p)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = NULL;
    ASN1_STRING *s = NULL;
    const char *d;
    int i;

    for (i = 0; gens && i < domains->nelts; ++i) {
        d = APR_ARRAY_IDX(domains, i, const char *);
        gn = GENERAL_NAME_new();
        if (!gn) {
            goto fail;
        }
        if (md_util_is_ip(d)) {
            s = a2i_IPADDRESS(d);
        }
        else {
            s = ASN1_IA5STRING_new();
            if (s && ASN1_STRING_set(s, d, -1) != 1) {
                ASN1_IA5STRING_free(s);
                s = NULL;
            }
        }
        if (!s) {
            goto fail;
        }
        GENERAL_NAME_set0_value(gn, md_util_is_ip(d) ? GEN_IPADD : GEN_DNS, s);
        if (!sk_GENERAL_NAME_push(gens, gn)) {
            goto fail;
        }
    }
    if (!gens) {
        MD_OSSL_FAIL(p, "sk_GENERAL_NAME_new_null");
    }
    return gens;
fail:
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    MD_OSSL_FAIL(p, "GENERAL_NAME_new");
    return NULL;
}

/* A name with the first domain as CN (if it fits) and, when given, an organisation. */
static X509_NAME *make_name(const char *cn, const char *org, apr_pool_t *p)
{
    X509_NAME *name = X509_NAME_new();

    if (!name) {
        MD_OSSL_FAIL(p, "X509_NAME_new");
        return NULL;
    }
    if (org
        && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1,
                                      0)
               != 1) {
        goto fail;
    }
    if (cn && strlen(cn) <= MD_CN_MAX_LEN
        && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                      0)
               != 1) {
        goto fail;
    }
    return name;
fail:
    MD_OSSL_FAIL(p, "X509_NAME_add_entry_by_txt");
    X509_NAME_free(name);
    return NULL;
}

/* RFC 7633: TLS Feature extension with status_request(5), DER SEQUENCE { INTEGER 5 } */
static X509_EXTENSION *make_must_staple(apr_pool_t *p)
{
    static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;

    if (!os || ASN1_OCTET_STRING_set(os, der, (int)sizeof(der)) != 1) {
        MD_OSSL_FAIL(p, "ASN1_OCTET_STRING_set");
        goto leave;
    }
    ext = X509_EXTENSION_create_by_NID(NULL, NID_tlsfeature, 0, os);
    if (!ext) {
        MD_OSSL_FAIL(p, "X509_EXTENSION_create_by_NID");
    }
leave:
    ASN1_OCTET_STRING_free(os);
    return ext;
}

static apr_status_t csr_add_extensions(X509_REQ *req, const apr_array_header_t *domains,
                                       int must_staple, apr_pool_t *p)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    GENERAL_NAMES *sans = NULL;
    X509_EXTENSION *ext = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (!exts) {
        rv = MD_OSSL_FAIL(p, "sk_X509_EXTENSION_new_null");
        goto leave;
    }
    sans = make_sans(domains, p);
    if (!sans) {
        rv = APR_EGENERAL;
        goto leave;
    }
    if (X509V3_add1_i2d(&exts, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1) {
        rv = MD_OSSL_FAIL(p, "X509V3_add1_i2d");
        goto leave;
    }
    if (must_staple) {
        ext = make_must_staple(p);
        if (!ext || !sk_X509_EXTENSION_push(exts, ext)) {
            X509_EXTENSION_free(ext);
            rv = APR_EGENERAL;
            goto leave;
        }
    }
    if (X509_REQ_add_extensions(req, exts) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_REQ_add_extensions");
        goto leave;
    }
leave:
    GENERAL_NAMES_free(sans);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rv;
}

apr_status_t md_cert_req_create64(const char **pcsr64, const apr_array_header_t *domains,
                                  int must_staple, const md_pkey_t *pkey, apr_pool_t *p)
{
    X509_REQ *req = NULL;
    X509_NAME *name = NULL;
    unsigned char *der = NULL, *q;
    int n;
    apr_status_t rv = APR_SUCCESS;

    *pcsr64 = NULL;
    if (!domains || domains->nelts == 0) {
        return APR_EINVAL;
    }
    req = X509_REQ_new();
    if (!req || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_REQ_new");
        goto leave;
    }
    name = make_name(APR_ARRAY_IDX(domains, 0, const char *), NULL, p);
    if (!name) {
        rv = APR_EGENERAL;
        goto leave;
    }
    if (X509_REQ_set_subject_name(req, name) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_REQ_set_subject_name");
        goto leave;
    }
    rv = csr_add_extensions(req, domains, must_staple, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    if (X509_REQ_set_pubkey(req, md_pkey_get_EVP_PKEY(pkey)) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_REQ_set_pubkey");
        goto leave;
    }
    if (X509_REQ_sign(req, md_pkey_get_EVP_PKEY(pkey), EVP_sha256()) <= 0) {
        rv = MD_OSSL_FAIL(p, "X509_REQ_sign");
        goto leave;
    }
    n = i2d_X509_REQ(req, NULL);
    if (n <= 0) {
        rv = MD_OSSL_FAIL(p, "i2d_X509_REQ");
        goto leave;
    }
    der = apr_palloc(p, (apr_size_t)n);
    q = der;
    if (i2d_X509_REQ(req, &q) != n) {
        rv = MD_OSSL_FAIL(p, "i2d_X509_REQ");
        goto leave;
    }
    /* RFC 8555 7.4: base64url of the DER */
    *pcsr64 = md_util_base64url_encode(der, (apr_size_t)n, p);
leave:
    X509_NAME_free(name);
    X509_REQ_free(req);
    return rv;
}

/* Version, random 127-bit positive serial, names and validity of a self-signed cert */
static apr_status_t self_sign_basics(X509 *x, const char *org, const char *cn,
                                     apr_interval_time_t valid_for, apr_pool_t *p)
{
    BIGNUM *bn = BN_new();
    X509_NAME *name = NULL;
    apr_int64_t secs = apr_time_sec(valid_for);
    apr_status_t rv = APR_SUCCESS;

    if (X509_set_version(x, X509_VERSION_3) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_set_version");
        goto leave;
    }
    if (!bn || BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1
        || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
        rv = MD_OSSL_FAIL(p, "BN_rand");
        goto leave;
    }
    name = make_name(cn, org, p);
    if (!name) {
        rv = APR_EGENERAL;
        goto leave;
    }
    if (X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_set_subject_name");
        goto leave;
    }
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -(long)MD_SECS_PER_DAY)
        || !X509_time_adj_ex(X509_getm_notAfter(x), (int)(secs / MD_SECS_PER_DAY),
                             (long)(secs % MD_SECS_PER_DAY), NULL)) {
        rv = MD_OSSL_FAIL(p, "X509_time_adj_ex");
        goto leave;
    }
leave:
    X509_NAME_free(name);
    BN_free(bn);
    return rv;
}

static apr_status_t self_sign_extensions(X509 *x, const apr_array_header_t *domains, apr_pool_t *p)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    GENERAL_NAMES *sans = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (!bc) {
        rv = MD_OSSL_FAIL(p, "BASIC_CONSTRAINTS_new");
        goto leave;
    }
    bc->ca = 0;
    if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_add1_ext_i2d");
        goto leave;
    }
    sans = make_sans(domains, p);
    if (!sans) {
        rv = APR_EGENERAL;
        goto leave;
    }
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_add1_ext_i2d");
        goto leave;
    }
leave:
    GENERAL_NAMES_free(sans);
    BASIC_CONSTRAINTS_free(bc);
    return rv;
}

/* Valid from one day ago (clock skew) until now + 'valid_for'. */
static apr_status_t add_acme_identifier(X509 *x, const char *key_authz, apr_pool_t *p);

/* The public key of a certificate to be made: copied from the key's SubjectPublicKeyInfo
 * (md_pkey_get0_spki(), encoded once per key) instead of X509_set_pubkey(), which encodes it
 * anew each time. Such a certificate has no decoded public key in memory (X509_get0_pubkey() is
 * NULL) until it is read back; md_cert_matches_key() compares the encoded keys then. */
static apr_status_t set_pubkey(X509 *x, const md_pkey_t *pkey, apr_pool_t *p)
{
    X509_PUBKEY *spki = md_pkey_get0_spki(pkey);
    ASN1_OBJECT *alg = NULL, *aobj_copy = NULL;
    const ASN1_OBJECT *aobj = NULL;
    const unsigned char *pk = NULL;
    unsigned char *bits = NULL;
    X509_ALGOR *algor = NULL;
    const void *pval = NULL;
    void *param = NULL;
    int pklen = 0, ptype = V_ASN1_UNDEF;

    if (!spki || X509_PUBKEY_get0_param(&alg, &pk, &pklen, &algor, spki) != 1 || !algor
        || pklen <= 0) {
        return MD_OSSL_FAIL(p, "X509_PUBKEY_get0_param");
    }
    X509_ALGOR_get0(&aobj, &ptype, &pval, algor);
    if (ptype == V_ASN1_OBJECT) {
        param = OBJ_dup(pval);
    }
    else if (ptype == V_ASN1_SEQUENCE) {
        param = ASN1_STRING_dup(pval);
    }
    else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
        /* a kind of parameter not made here: let OpenSSL encode the key */
        return X509_set_pubkey(x, md_pkey_get_EVP_PKEY(pkey)) == 1
                   ? APR_SUCCESS
                   : MD_OSSL_FAIL(p, "X509_set_pubkey");
    }
    aobj_copy = OBJ_dup(aobj);
    bits = OPENSSL_memdup(pk, (size_t)pklen);
    if (!aobj_copy || !bits || (pval && ptype != V_ASN1_NULL && !param)
        || X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), aobj_copy, ptype, param, bits, pklen)
               != 1) {
        ASN1_OBJECT_free(aobj_copy);
        OPENSSL_free(bits);
        if (ptype == V_ASN1_OBJECT) {
            ASN1_OBJECT_free(param);
        }
        else {
            ASN1_STRING_free(param);
        }
        return MD_OSSL_FAIL(p, "X509_PUBKEY_set0_param");
    }
    return APR_SUCCESS;
}

/* A self-signed certificate for 'domains'; with 'key_authz' it also carries the critical
 * acmeIdentifier extension of a tls-alpn-01 answer (RFC 8737 3). */
static apr_status_t make_self_signed(md_cert_t **pcert, const char *org,
                                     const apr_array_header_t *domains, const char *key_authz,
                                     const md_pkey_t *pkey, apr_interval_time_t valid_for,
                                     apr_pool_t *p)
{
    X509 *x = NULL;
    apr_status_t rv = APR_SUCCESS;

    *pcert = NULL;
    x = X509_new();
    if (!x) {
        rv = MD_OSSL_FAIL(p, "X509_new");
        goto leave;
    }
    rv = self_sign_basics(x, org, APR_ARRAY_IDX(domains, 0, const char *), valid_for, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    rv = set_pubkey(x, pkey, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    rv = self_sign_extensions(x, domains, p);
    if (APR_SUCCESS == rv && key_authz) {
        rv = add_acme_identifier(x, key_authz, p);
    }
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    if (X509_sign(x, md_pkey_get_EVP_PKEY(pkey), EVP_sha256()) <= 0) {
        rv = MD_OSSL_FAIL(p, "X509_sign");
        goto leave;
    }
    *pcert = md_cert_wrap(x, p);
    x = NULL;
leave:
    X509_free(x);
    return rv;
}

apr_status_t md_cert_self_sign(md_cert_t **pcert, const char *org,
                               const apr_array_header_t *domains, const md_pkey_t *pkey,
                               apr_interval_time_t valid_for, apr_pool_t *p)
{
    *pcert = NULL;
    if (!domains || domains->nelts == 0 || valid_for <= 0) {
        return APR_EINVAL;
    }
    return make_self_signed(pcert, org, domains, NULL, pkey, valid_for, p);
}

/* RFC 8737 3: the critical id-pe-acmeIdentifier extension, an OCTET STRING of the SHA-256 of the
 * key authorization. The extension's value is the DER of that OCTET STRING. */
static apr_status_t add_acme_identifier(X509 *x, const char *key_authz, apr_pool_t *p)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    unsigned char *der = NULL;
    ASN1_OCTET_STRING *inner = NULL, *outer = NULL;
    ASN1_OBJECT *oid = NULL;
    X509_EXTENSION *ext = NULL;
    apr_status_t rv = APR_SUCCESS;
    int n;

    if (EVP_Digest(key_authz, strlen(key_authz), digest, &dlen, EVP_sha256(), NULL) != 1) {
        rv = MD_OSSL_FAIL(p, "EVP_Digest");
        goto leave;
    }
    inner = ASN1_OCTET_STRING_new();
    if (!inner || ASN1_OCTET_STRING_set(inner, digest, (int)dlen) != 1) {
        rv = MD_OSSL_FAIL(p, "ASN1_OCTET_STRING_set");
        goto leave;
    }
    n = i2d_ASN1_OCTET_STRING(inner, &der);
    outer = ASN1_OCTET_STRING_new();
    if (n <= 0 || !outer || ASN1_OCTET_STRING_set(outer, der, n) != 1) {
        rv = MD_OSSL_FAIL(p, "i2d_ASN1_OCTET_STRING");
        goto leave;
    }
    oid = OBJ_txt2obj(MD_OID_ACME_IDENTIFIER, 1);
    if (!oid) {
        rv = MD_OSSL_FAIL(p, "OBJ_txt2obj");
        goto leave;
    }
    ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, outer);
    if (!ext || X509_add_ext(x, ext, -1) != 1) {
        rv = MD_OSSL_FAIL(p, "X509_add_ext");
        goto leave;
    }
leave:
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(outer);
    ASN1_OCTET_STRING_free(inner);
    OPENSSL_free(der);
    return rv;
}

apr_status_t md_cert_make_tls_alpn_01(md_cert_t **pcert, const char *domain, const char *key_authz,
                                      const md_pkey_t *pkey, apr_interval_time_t valid_for,
                                      apr_pool_t *p)
{
    apr_array_header_t *domains;

    *pcert = NULL;
    if (!domain || !*domain || !key_authz || !*key_authz || valid_for <= 0) {
        return APR_EINVAL;
    }
    domains = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(domains, const char *) = domain;
    return make_self_signed(pcert, "tls-alpn-01-challenge", domains, key_authz, pkey, valid_for, p);
}
