/* hot_cb: the OpenSSL work that mod_md's certificate callback adds to a handshake once an MD's
 * certificate was renewed without a restart (src/mod/mod_md_hot.c, hot_cert_cb): clear the
 * certificates the SSL got from its SSL_CTX, then hand it the renewed certificate, key and chain
 * (SSL_certs_clear, SSL_use_cert_and_key). Measured alone, in CPU time per call, against
 * SSL_new + SSL_free; bench/hot.py relates it to the server CPU time of a whole handshake.
 *
 * Usage: hot_cb [EC|RSA] [iterations]. Prints "<extra microseconds per handshake>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static double cpu_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A certificate for 'key', signed by 'issuer_key' (self-signed without 'issuer'). */
static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *issuer_key, X509 *issuer, const char *cn)
{
    X509 *x = X509_new();

    if (!x) {
        return NULL;
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    X509_set_pubkey(x, key);
    if (!X509_sign(x, issuer_key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int main(int argc, char **argv)
{
    int is_rsa = argc > 1 && !strcmp(argv[1], "RSA");
    long i, n = argc > 2 ? strtol(argv[2], NULL, 10) : 200000;
    EVP_PKEY *ca_key = EVP_EC_gen("P-384");
    EVP_PKEY *key = is_rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    X509 *ca = NULL, *leaf = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    double t0, base, with_cb;
    SSL *ssl;

    if (ca_key && key) {
        ca = make_cert(ca_key, ca_key, NULL, "hot_cb issuer");
        leaf = make_cert(key, ca_key, ca, "hot_cb leaf");
    }
    if (!ca || !leaf || !chain || !ctx || n <= 0 || !sk_X509_push(chain, ca)
        || !SSL_CTX_use_certificate(ctx, leaf) || !SSL_CTX_use_PrivateKey(ctx, key)) {
        fprintf(stderr, "hot_cb: set-up failed\n");
        return 1;
    }
    t0 = cpu_now();
    for (i = 0; i < n; ++i) {
        ssl = SSL_new(ctx);
        SSL_free(ssl);
    }
    base = (cpu_now() - t0) / (double)n;
    t0 = cpu_now();
    for (i = 0; i < n; ++i) {
        ssl = SSL_new(ctx);
        SSL_certs_clear(ssl);
        if (1 != SSL_use_cert_and_key(ssl, leaf, key, chain, 1)) {
            fprintf(stderr, "hot_cb: SSL_use_cert_and_key failed\n");
            return 1;
        }
        SSL_free(ssl);
    }
    with_cb = (cpu_now() - t0) / (double)n;
    printf("%.3f\n", (with_cb - base) * 1e6);
    return 0;
}
