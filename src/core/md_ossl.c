/* md_ossl: see md_ossl.h */
#include <string.h>

#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "md_ossl.h"

apr_status_t md_ossl_fail(const char *file, int line, md_log_level_t level, apr_pool_t *p,
                          const char *call)
{
    char buf[256];
    unsigned long e = ERR_peek_last_error();

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
    }
    else {
        apr_cpystrn(buf, "no OpenSSL error reported", sizeof(buf));
    }
    md_log_perror(file, line, level, APR_EGENERAL, p, APLOGNO(12020) "%s() failed: %s", call,
                  buf);
    ERR_clear_error();
    return APR_EGENERAL;
}

typedef struct {
    char *buf;
    apr_size_t len;
} secret_buf_t;

static apr_status_t secret_cleanse(void *data)
{
    secret_buf_t *sb = data;

    OPENSSL_cleanse(sb->buf, sb->len);
    return APR_SUCCESS;
}

apr_status_t md_ossl_bio_to_pool(const char **pdata, apr_size_t *plen, BIO *bio, int is_secret,
                                 apr_pool_t *p)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    secret_buf_t *sb;
    char *buf;

    if (n < 0 || (n > 0 && !data)) {
        return MD_OSSL_FAIL(p, "BIO_get_mem_data");
    }
    buf = apr_palloc(p, (apr_size_t)n + 1);
    if (n > 0) {
        memcpy(buf, data, (apr_size_t)n);
    }
    buf[n] = '\0';
    if (is_secret) {
        sb = apr_palloc(p, sizeof(*sb));
        sb->buf = buf;
        sb->len = (apr_size_t)n;
        apr_pool_cleanup_register(p, sb, secret_cleanse, apr_pool_cleanup_null);
    }
    *pdata = buf;
    if (plen) {
        *plen = (apr_size_t)n;
    }
    return APR_SUCCESS;
}
