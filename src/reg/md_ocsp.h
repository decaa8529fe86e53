/* md_ocsp: the OCSP stapling registry. It knows every certificate that gets stapled, fetches
 * and validates OCSP responses (RFC 6960) for them, keeps them in memory and in the store
 * (group MD_SG_OCSP: ocsp/<md name or "other">/ocsp-<sha1>.json, as the stock module names
 * them) and hands them to handshakes.
 *
 * Threads: the registry is set up in the parent at start-up (md_ocsp_prime), inherited by the
 * children and then used by request threads (md_ocsp_get_resp) and by the background fetcher
 * (md_ocsp_take_due, md_ocsp_fetch) at the same time; a mutex guards the tables and the response
 * data, so certificates renewed without a restart can be primed (and their predecessors
 * retired) while handshakes run. Only
 * one child fetches; the others see its results through the store: md_ocsp_get_resp re-reads a
 * response file when it changed, at most once a second per certificate, and never talks to a
 * responder.
 */
#ifndef md_ocsp_h
#define md_ocsp_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "md_json.h"
#include "md_time.h"
#include "md_http.h"
#include "md_store.h"

/* The store name of responses for certificates no MD manages (stock: "other"). */
#define MD_OCSP_OTHER "other"
/* Responses larger than this are refused. */
#define MD_OCSP_MAX_RESP (64 * 1024)
/* Backoff after failed fetches: base doubled per error, capped. */
#define MD_OCSP_RETRY_BASE apr_time_from_sec(5)
#define MD_OCSP_RETRY_MAX  apr_time_from_sec(MD_SECS_PER_HOUR)
/* Between two successful fetches for one certificate at least a tenth of the response's
 * lifetime passes, within these bounds, whatever MDStaplingRenewWindow says (a window of 100% or
 * longer than the lifetime would otherwise make every tick fetch). */
#define MD_OCSP_RENEW_GAP_MIN apr_time_from_sec(5)
#define MD_OCSP_RENEW_GAP_MAX apr_time_from_sec(MD_SECS_PER_DAY)
/* 'ocsp-errored' events are sent at most this often per certificate. */
#define MD_OCSP_ERR_NOTIFY_INTERVAL apr_time_from_sec(MD_SECS_PER_HOUR)

typedef enum {
    MD_OCSP_CERT_ST_UNKNOWN,
    MD_OCSP_CERT_ST_GOOD,
    MD_OCSP_CERT_ST_REVOKED,
} md_ocsp_cert_stat_t;

/** "good", "revoked", "unknown". */
const char *md_ocsp_cert_stat_name(md_ocsp_cert_stat_t stat);

typedef struct md_ocsp_reg_t md_ocsp_reg_t;
typedef struct md_ocsp_item_t md_ocsp_item_t;

/**
 * Hook point for notifications (MDMessageCmd, issue 5). Called from the fetching thread after
 * each fetch with 'event' "ocsp-renewed" (a new response was stored) or "ocsp-errored" (a fetch
 * failed; at most once per MD_OCSP_ERR_NOTIFY_INTERVAL per certificate). 'md_name' is the MD
 * (NULL for certificates no MD manages), 'id' the certificate's SHA-1 hex, 'detail' a human
 * description. All strings live in 'p', which is cleared after the call. Must not block long.
 */
typedef void md_ocsp_event_cb(void *baton, const char *event, const char *md_name, const char *id,
                              const char *detail, apr_pool_t *p);

/** Receives the DER response (NULL, 0 when there is none); the data is valid during the call. */
typedef void md_ocsp_copy_cb(const unsigned char *der, apr_size_t der_len, void *baton);

/**
 * A new registry in 'p' (in the parent, at post_config): responses are renewed when 'window'
 * of their validity is left (MDStaplingRenewWindow, copied).
 */
apr_status_t md_ocsp_reg_create(md_ocsp_reg_t **preg, md_store_t *store,
                                const md_timeslice_t *window, apr_pool_t *p);

/** Set the notification hook (NULL to remove). 'baton' must live as long as the registry. */
void md_ocsp_set_event_cb(md_ocsp_reg_t *reg, md_ocsp_event_cb *cb, void *baton);

/**
 * Take a certificate into stapling (mod_ssl's prime hook). 'pem' holds the certificate and
 * then its issuer; 'ext_id' (ext_id_len bytes) is the caller's key for later lookups. 'md_name'
 * is the MD managing the certificate or NULL. A stored response is loaded right away.
 * APR_ENOENT: the certificate names no OCSP responder (logged once at info) or has no issuer
 * in 'pem' (logged as warning): not stapled. APR_EINVAL: unparseable PEM.
 */
apr_status_t md_ocsp_prime(md_ocsp_reg_t *reg, const char *ext_id, apr_size_t ext_id_len,
                           const char *pem, const char *md_name, apr_pool_t *ptemp);

/* How long a retired item stays for handshakes that started with its certificate. */
#define MD_OCSP_RETIRED_KEEP apr_time_from_sec(60)

/**
 * The certificates of MD 'md_name' were replaced at 'now' while the server runs (MDActivation
 * hot): their items are no longer fetched, shown in the status or reported as revoked.
 * Handshakes still get their responses for MD_OCSP_RETIRED_KEEP (a connection may have started
 * with the old certificate); priming one of them again meanwhile brings it back. After that the
 * item and its memory are freed (by the next md_ocsp_retire() or md_ocsp_take_due() once no
 * fetch uses it), so renewals without restarts do not grow the process.
 */
void md_ocsp_retire(md_ocsp_reg_t *reg, const char *md_name, apr_time_t now);

/**
 * The response for a primed certificate, for a handshake: calls 'cb' once, with the response
 * when one is known and not expired at 'now', else with NULL. Reads only memory and, when the
 * response may have been renewed by the fetching child, the store file.
 * APR_ENOENT when 'ext_id' was not primed (cb not called).
 */
apr_status_t md_ocsp_get_resp(md_ocsp_reg_t *reg, const char *ext_id, apr_size_t ext_id_len,
                              md_ocsp_copy_cb *cb, void *baton, apr_time_t now, apr_pool_t *ptemp);

/** How many certificates are stapled. */
int md_ocsp_count(md_ocsp_reg_t *reg);

/**
 * The items whose fetch is due at 'now' and not already running, at most 'max' of them; they
 * are marked in flight until md_ocsp_fetch() returns. Array of md_ocsp_item_t* in 'p'.
 */
apr_array_header_t *md_ocsp_take_due(md_ocsp_reg_t *reg, int max, apr_time_t now, apr_pool_t *p);

/**
 * Fetch a new response for 'item' from its responder (POST, through 'http_config', i.e. the
 * proxy of MDHttpProxy), validate it against the issuer, store it and make it current. On
 * failure the item's error count grows and its next attempt is backed off. Blocking: call from a
 * worker thread with a pool of its own. Returns the outcome (also kept as the item's last error).
 */
apr_status_t md_ocsp_fetch(md_ocsp_item_t *item, const md_http_config_t *http_config,
                           apr_pool_t *p);

/** Names of MDs (const char*, in 'p') whose current response says "revoked". */
apr_array_header_t *md_ocsp_revoked_mds(md_ocsp_reg_t *reg, apr_pool_t *p);

/**
 * The status of all stapled certificates at 'now', for md-status/server-status: an array of
 * objects { "id": sha1 hex, "domain": MD name (absent for others), "responder": url,
 * "status": "good"|"revoked"|"unknown", "valid": {"from","until"} (RFC 3339, absent without a
 * response), "next-run": RFC 3339 time of the next fetch, "errors": failed fetches in a row,
 * "last-run" and "last": {"status"} of this process's last fetch (absent before one),
 * "last-error": text of the last failure (absent when the last fetch worked) }. In 'p'.
 */
md_json_t *md_ocsp_status_json(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *p);

/**
 * Remove stored responses (ocsp-*.json in the store's ocsp group) whose validity ended more than
 * 'keep' before 'now' (MDStaplingKeepResponse), at start-up. Unreadable files count as old.
 */
apr_status_t md_ocsp_remove_old(md_store_t *store, apr_interval_time_t keep, apr_time_t now,
                                apr_pool_t *p);

/* ---- pure decisions (unit tested) ---------------------------------------------------------- */

/** When to fetch a new response for one valid over 'valid': the start of 'window' before its end.
 */
apr_time_t md_ocsp_renew_at(const md_timeperiod_t *valid, const md_timeslice_t *window);

/**
 * When to fetch again after a response valid over 'valid' was obtained at 'fetched' (the time
 * of the fetch or of its store file; 0: unknown, counts as 'now'): at md_ocsp_renew_at(), but
 * not before 'fetched' plus a tenth of the response's lifetime (MD_OCSP_RENEW_GAP_MIN..MAX);
 * an expired response only waits MD_OCSP_RENEW_GAP_MIN after 'fetched'.
 */
apr_time_t md_ocsp_next_fetch(const md_timeperiod_t *valid, const md_timeslice_t *window,
                              apr_time_t fetched, apr_time_t now);

/** Non-zero if an 'ocsp-errored' event may be sent at 'now' after the last one at 'last' (0: none).
 */
int md_ocsp_may_notify_error(apr_time_t last, apr_time_t now);

#endif /* md_ocsp_h */
