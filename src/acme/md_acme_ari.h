/* md_acme_ari: ACME Renewal Information (RFC 9773): asking a CA when a certificate should be
 * renewed. Part of the acme layer's public contract (with md_acme_drive.h).
 */
#ifndef md_acme_ari_h
#define md_acme_ari_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "md_result.h"
#include "md_http.h"
#include "md_acme_drive.h"

/* Larger answers are not renewal information */
#define MD_ACME_ARI_MAX_LEN (16 * 1024)

typedef struct md_acme_ari_t md_acme_ari_t;
struct md_acme_ari_t {
    const char *ca_url;      /* the directory URL of the CA that answered */
    apr_time_t start;        /* suggestedWindow.start */
    apr_time_t end;          /* suggestedWindow.end, after start */
    const char *explanation; /* explanationURL, NULL if none */
    apr_time_t retry_after;  /* Retry-After of the answer as an absolute time, 0 if none */
};

/**
 * Ask the CAs at 'ca_urls' (const char*, tried in this order) for the renewal information of the
 * certificate whose ARI identifier (RFC 9773 4.1) is 'cert_id': an unauthenticated GET of
 * <renewalInfo>/<cert_id>. The first CA whose directory names renewalInfo and that knows the
 * certificate answers into *ari (strings in 'p'). 'cache' (may be NULL) shares directories with
 * the renewal jobs. Returns APR_SUCCESS; APR_ENOTIMPL when none of the CAs offers ARI;
 * APR_ENOENT when none of those that do knows the certificate (HTTP 404); another error (with
 * 'result' saying why) when a CA could not be asked or answered something unusable.
 */
apr_status_t md_acme_ari_fetch(md_acme_ari_t *ari, const apr_array_header_t *ca_urls,
                               const char *cert_id, const md_http_config_t *http_config,
                               md_acme_acct_cache_t *cache, md_result_t *result, apr_pool_t *p);

#endif /* md_acme_ari_h */
