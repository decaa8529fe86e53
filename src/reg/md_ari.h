/* md_ari: ACME Renewal Information (RFC 9773) for the live certificates of an MD: asking the
 * CA, choosing the renewal time in its suggested window, and remembering both in
 * staging/<md>/ari.json (the process that asks may write there; status pages read it, and a
 * restarted server continues with it: same chosen time, Retry-After still honoured).
 *
 * ari.json (this module's own file): { "renew-at", "next-check" (HTTP dates), "retry-after"
 * (whether the CA's Retry-After set next-check), "certs": {
 * "<key type>": { "ari-cert-id", "ca-url", "suggested-window": {"start", "end"},
 * "explanation-url", "renew-at" } or { "ari-cert-id", "error" } } }. No secrets.
 */
#ifndef md_ari_h
#define md_ari_h

#include <apr_pools.h>
#include <apr_time.h>

#include "md_json.h"
#include "md_store.h"
#include "md_http.h"
#include "md_reg.h"
#include "md_acme_drive.h"

#define MD_FN_ARI "ari.json"

/* When to ask again after a CA could not be asked or answered nonsense (no Retry-After). */
#define MD_ARI_RETRY_ERROR apr_time_from_sec(MD_SECS_PER_HOUR)

/**
 * Ask the MD's CAs about each live certificate of 'item' that has an ARI identifier, choose the
 * renewal time in each suggested window (keeping the time chosen earlier for the same window;
 * 'r' in [0, 1) for a new choice) and save staging/<md>/ari.json. *pat gets the earliest renewal
 * time the CA suggests (0: none), *pnext when to ask again. Decisions are logged. Does not
 * change 'item' (the caller does, under its lock). APR_ENOENT when the item has no certificate
 * with an ARI identifier; else APR_SUCCESS, also when a CA could not be asked (said in ari.json
 * and the log).
 */
apr_status_t md_ari_update(apr_time_t *pat, apr_time_t *pnext, md_store_t *store,
                           const md_reg_item_t *item, const md_http_config_t *http_config,
                           md_acme_acct_cache_t *cache, double r, apr_time_t now, apr_pool_t *p);

/**
 * At start-up: take the renewal time and, when the CA's Retry-After set it, the next check from
 * staging/<md>/ari.json into 'item' when it is about the item's live certificates (else it is
 * stale and removed). Without a Retry-After, a restart asks the CA again at its first look.
 * Nothing when the MD has MDRenewViaARI off.
 */
void md_ari_restore(md_store_t *store, md_reg_item_t *item, apr_pool_t *p);

/** staging/<name>/ari.json for the status pages; APR_ENOENT if there is none. In 'p'. */
apr_status_t md_ari_load(md_json_t **pjson, md_store_t *store, const char *name, apr_pool_t *p);

#endif /* md_ari_h */
