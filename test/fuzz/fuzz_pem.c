/* fuzz_pem: PEM certificate chains (pubcert*.pem, a CA's certificate download, MDCertificateFile)
 * and private keys (privkey*.pem, plain and encrypted: account.pem), and what the module reads
 * from a parsed certificate: names, validity, serial, the OCSP responder URL, the ARI id.
 *
 * The first input byte chooses: even = chain, odd = key (and with bit 1 set, an encrypted one
 * with the pass "fuzz"). A parsed chain written back must parse again to as many certificates.
 */
#include <stdio.h>
#include <stdlib.h>

#include "md_crypt.h"
#include "fuzz.h"

static void check_cert(const md_cert_t *cert, apr_pool_t *p)
{
    apr_array_header_t *names = NULL;
    const char *url = NULL, *der64 = NULL;

    md_cert_get_alt_names(&names, cert, p);
    md_cert_get_not_before(cert);
    md_cert_get_not_after(cert);
    md_cert_get_serial(cert, p);
    md_cert_get_sha256_fingerprint(cert, p);
    md_cert_get_ocsp_responder_url(&url, cert, p);
    md_cert_get_subject(cert, p);
    md_cert_get_issuer(cert, p);
    md_cert_get_ari_cert_id(cert, p);
    md_cert_covers_domain(cert, "a.test");
    md_cert_covers_domain(cert, "*.a.test");
    md_cert_to_der64(&der64, cert, p);
}

static void check_chain(const char *pem, apr_size_t len, apr_pool_t *p)
{
    apr_array_header_t *chain = NULL, *chain2 = NULL;
    const char *out = NULL;
    apr_size_t olen = 0;
    int i;

    if (APR_SUCCESS != md_chain_from_pem(&chain, p, pem, len)) {
        return;
    }
    for (i = 0; i < chain->nelts; ++i) {
        check_cert(APR_ARRAY_IDX(chain, i, const md_cert_t *), p);
    }
    if (APR_SUCCESS == md_chain_to_pem(&out, &olen, chain, p)
        && (APR_SUCCESS != md_chain_from_pem(&chain2, p, out, olen)
            || chain2->nelts != chain->nelts)) {
        fprintf(stderr, "fuzz_pem: a chain written back does not parse the same\n");
        abort();
    }
}

static void check_key(const char *pem, apr_size_t len, int encrypted, apr_pool_t *p)
{
    static const unsigned char pass[] = "fuzz";
    md_pkey_t *pkey = NULL;
    const char *out = NULL;
    apr_size_t olen = 0;

    if (APR_SUCCESS
        == md_pkey_from_pem(&pkey, p, pem, len, encrypted ? pass : NULL, encrypted ? 4 : 0)) {
        md_pkey_type_name(pkey);
        md_pkey_to_pem(&out, &olen, pkey, NULL, 0, p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *pem;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    pem = fuzz_str(data + 1, size - 1, p);
    if (data[0] & 1) {
        check_key(pem, size - 1, data[0] & 2, p);
    }
    else {
        check_chain(pem, size - 1, p);
    }
    apr_pool_destroy(p);
    return 0;
}
