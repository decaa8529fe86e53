/* md_status: the JSON and text that the status surfaces show (md-status, certificate-status,
 * server-status, md-metrics). Built from the registry items, the store (live and staged
 * certificates, job.json) and, for metrics, counters the caller keeps.
 *
 * Field names are the stock module's (md.json fields, "cert", "renew-at", "renewal" with the job),
 * so existing monitoring keeps working; our additions ("state-name", "renew-reason",
 * "last-renewal") only add keys. Nothing here contains secrets.
 */
#ifndef md_status_h
#define md_status_h

#include <apr_hash.h>
#include <apr_pools.h>

#include "md_json.h"
#include "md_reg.h"

/** Counters of one MD, kept by the caller (shared memory in the module). */
typedef struct md_status_counters_t md_status_counters_t;
struct md_status_counters_t {
    unsigned long renewals;   /* renewal attempts started (each orders or resumes an order) */
    unsigned long failures;   /* attempts that failed */
    unsigned long challenges; /* http-01 challenge answers served */
};

/** Fills *pc with the counters of MD 'name' (zeros when unknown). */
typedef void md_status_counters_fn(md_status_counters_t *pc, void *baton, const char *name);

/**
 * The certificates of 'md' in 'group' (domains or staging) as md-status shows them:
 * { "<key type>": { "issuer-name", "valid": {"from","until"}, "serial", "sha256-fingerprint",
 *   "ari-cert-id" (when the certificate has an authority key id) },
 *   "valid": { "from", "until" } (of the first key spec) }. APR_ENOENT when there is none.
 */
apr_status_t md_status_certs_json(md_json_t **pjson, md_store_t *store, md_store_group_t group,
                                  const md_t *md, apr_pool_t *p);

/**
 * An entry of md_status_live_make()'s table for certificates in memory (served without a
 * restart): 'leafs' holds one md_cert_t* (or NULL) per key spec of 'md', in its order; 'job' (may
 * be NULL) is the job.json that produced them. The entry's compact JSON text, in 'p'.
 */
const char *md_status_live_entry(const md_t *md, const apr_array_header_t *leafs, md_json_t *job,
                                apr_pool_t *p);

/**
 * What only the parent can read (domains/ is not readable by the server's User): the live
 * certificates ("cert", as md_status_certs_json, and "id": the SHA-1 of each, by key type) and
 * the job that produced them ("last-renewal") per MD name, as compact JSON text (const char *:
 * parsed JSON would cost several times as much memory in every process); no entry for an MD
 * that has neither. Made at start-up; the children inherit it. In 'p'.
 */
apr_hash_t *md_status_live_make(md_reg_t *reg, apr_pool_t *p);

/**
 * The md-status JSON of one item: md.json's fields plus "cert", "renew-at", "watched",
 * "renew", "renewal" (the staged job.json with the staged "cert", when there is a job) and our
 * additions; fields of stock features this module lacks ("profile-mandatory",
 * "ari-renewals") with the stock defaults. 'watched': whether mod_md renews it. 'ocsp': the
 * stapling status (md_ocsp_status_json(), may be NULL); a stapled certificate's entry is shown
 * under cert.<key>.ocsp as the stock module does.
 */
md_json_t *md_status_md_json(md_reg_t *reg, apr_hash_t *live, const md_reg_item_t *item,
                             int watched, md_json_t *ocsp, apr_pool_t *p);

/** The registry's items (md_reg_item_t*) sorted by MD name, as the stock module lists them;
 * the array is in 'p'. */
apr_array_header_t *md_status_items_sorted(md_reg_t *reg, apr_pool_t *p);

/** { "version", "managed-domains": [ ... ] } for all items, by name, without the job logs
 * (as the stock module). */
md_json_t *md_status_all_json(md_reg_t *reg, apr_hash_t *live, md_json_t *ocsp, apr_pool_t *p);

/**
 * /.httpd/certificate-status of an MD, as the stock module shows it: per key type "valid",
 * "serial", "sha256-fingerprint" ({} without a certificate), "valid" at the top, and while a
 * renewal job exists "renewal" with the staged certificates under "cert". Ours in addition: the
 * first certificate's "valid-from", "valid-until", "serial", "sha256-fingerprint" at the top
 * (and the same in "renewal" for the staged one). Always APR_SUCCESS.
 */
apr_status_t md_status_cert_status_json(md_json_t **pjson, md_reg_t *reg, apr_hash_t *live,
                                        const md_t *md, apr_pool_t *p);

/**
 * The Prometheus text exposition (format 0.0.4) of all items at 'now': per MD and key type
 * the certificate's expiry and start; per MD the next renewal time, the errors in a row, the
 * state, and the counters from 'counters' (may be NULL). In 'p'.
 */
const char *md_status_metrics_text(md_reg_t *reg, apr_hash_t *live,
                                   md_status_counters_fn *counters, void *baton, apr_pool_t *p);

#endif /* md_status_h */
