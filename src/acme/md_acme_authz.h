/* md_acme_authz: ACME authorizations and their challenges (RFC 8555 7.5, 8). Internal to
 * src/acme. Answers http-01 (RFC 8555 8.3), tls-alpn-01 (RFC 8737) and dns-01 (RFC 8555 8.4).
 */
#ifndef md_acme_authz_h
#define md_acme_authz_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_json.h"
#include "md_acme.h"
#include "md_acme_order.h"
#include "md_acme_drive.h"

#define MD_ACME_CHALLENGE_HTTP01    "http-01"
#define MD_ACME_CHALLENGE_TLSALPN01 "tls-alpn-01"
#define MD_ACME_CHALLENGE_DNS01     "dns-01"

/**
 * Choose the challenge to answer: the first type of 'wanted' (const char*) that the authz
 * offers in 'offered' (const char*) and that this module can answer. -1 if none. Pure.
 */
int md_acme_authz_choose(const apr_array_header_t *offered, const apr_array_header_t *wanted);

/**
 * 4. Bring the authorization at 'url' to valid: skip when it is already, else set up the
 * answer of a chosen challenge, tell the CA and poll until valid, invalid or 'deadline'
 * (APR_EAGAIN). An invalid authz puts the challenge's problem into driver->result (APR_EINVAL).
 * The answer is removed from the store when done (not on a timeout: the CA may still come).
 * A challenge is triggered only once per order: 'order' remembers it in staging/<md>/order.json,
 * as CAs that keep a challenge "pending" while validating would start a second validation.
 */
apr_status_t md_acme_authz_respond(md_acme_t *acme, md_acme_order_t *order, const char *url,
                                   md_acme_driver_t *driver, apr_time_t deadline, apr_pool_t *p);

#endif /* md_acme_authz_h */
