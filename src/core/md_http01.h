/* md_http01: which requests ask for an http-01 answer (RFC 8555 8.3), without httpd.
 *
 * A CA validating http-01 fetches http://<domain>/.well-known/acme-challenge/<token>. The glue
 * (src/mod/mod_md.c) hands the request's path and Host here and answers from the store's
 * challenges/<host>/acme-http-01.txt only for what md_http01_parse() accepts: the host is used
 * as a directory name in the store and the token compared with the stored answer, so both are
 * checked here strictly (and fuzzed: test/fuzz/fuzz_http01.c).
 */
#ifndef md_http01_h
#define md_http01_h

#include <apr_pools.h>

#define MD_HTTP01_PATH_PREFIX "/.well-known/acme-challenge/"
/* Longer tokens are no ACME tokens (those of RFC 8555 have at least 128 bits, base64url) */
#define MD_HTTP01_TOKEN_MAX 256

/** Non-zero if 'path' (may be NULL) lies under /.well-known/acme-challenge/. */
int md_http01_is_challenge_path(const char *path);

/**
 * Take apart an http-01 request for 'path' at 'hostname' (the Host of the request, may be NULL).
 * APR_SUCCESS: *ptoken is the token (a pointer into 'path': 1 to MD_HTTP01_TOKEN_MAX characters
 * of [A-Za-z0-9_-]) and *phost the host name in lower case (in 'p'), a DNS name (a single label
 * allowed) or an IP address. APR_ENOENT: 'path' is not under the prefix. APR_EINVAL: the token
 * or the host are unfit; the request is not one to answer.
 */
apr_status_t md_http01_parse(const char **ptoken, const char **phost, const char *path,
                             const char *hostname, apr_pool_t *p);

/** Non-zero if the stored 'answer' is the key authorization for 'token' ("<token>.<...>"). */
int md_http01_answer_fits(const char *answer, const char *token);

#endif /* md_http01_h */
