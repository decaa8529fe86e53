/* md_ossl: what the files that call OpenSSL share: reporting a failed call, and copying a memory
 * BIO into a pool. Internal to the core's crypto files (and md_ocsp.c, which speaks OCSP through
 * OpenSSL itself).
 */
#ifndef md_ossl_h
#define md_ossl_h

#include <apr_pools.h>

#include "md_log.h"

struct bio_st;

/**
 * Log the failed OpenSSL 'call' at 'level' with the library's reason, clear its error queue and
 * return APR_EGENERAL. Use through MD_OSSL_FAIL() so the log names the caller's file and line.
 */
apr_status_t md_ossl_fail(const char *file, int line, md_log_level_t level, apr_pool_t *p,
                          const char *call);

#define MD_OSSL_FAIL(p, call) md_ossl_fail(MD_LOG_MARK, MD_LOG_ERR, (p), (call))

/**
 * Copy the contents of a memory BIO into 'p', NUL terminated (*plen may be NULL). With
 * 'is_secret' the copy is cleansed when 'p' is cleared.
 */
apr_status_t md_ossl_bio_to_pool(const char **pdata, apr_size_t *plen, struct bio_st *bio,
                                 int is_secret, apr_pool_t *p);

#endif /* md_ossl_h */
