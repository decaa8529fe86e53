/* md_reg: the registry of managed domains: what the configuration wants, what the store has,
 * and what has to happen next.
 *
 * The parent process calls md_reg_sync() once per (re)start: it activates complete staged sets,
 * reads the current certificates, persists md.json and decides when each MD is due. Children
 * inherit the registry and drive renewals with md_reg_renew().
 */
#ifndef md_reg_h
#define md_reg_h

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>

#include "md.h"
#include "md_result.h"
#include "md_http.h"
#include "md_store.h"
#include "md_renew.h"
#include "md_acme_drive.h"

typedef struct md_reg_t md_reg_t;

/* What an MD without MDRenewWindow/MDWarnWindow uses (as the configuration's defaults). */
#define MD_REG_RENEW_WINDOW_DEF "33%"
#define MD_REG_WARN_WINDOW_DEF  "10%"

/* What the registry knows about one MD. Lives in the registry's pool. */
typedef struct md_reg_item_t md_reg_item_t;
struct md_reg_item_t {
    md_t *md;              /* the configured MD, with account and state from the store */
    int has_cert;          /* domains/<md> holds a certificate for at least one key spec */
    apr_time_t valid_from; /* of the current certificate (the first key spec's), 0 if none */
    apr_time_t valid_until;
    md_renew_reason_t reason; /* why (or why not) a renewal is due */
    apr_time_t renew_at;      /* when it is due (<= now when due) */
    int is_staged;            /* a complete staged set awaits the next restart */
    int is_watched;           /* mod_md renews it (renew mode, in use); set by the glue */
    int is_activated;         /* sync activated a staged set (MDMessageCmd 'installed') */
};

/** A new, empty registry on 'store', living in 'p'. */
apr_status_t md_reg_create(md_reg_t **preg, md_store_t *store, apr_pool_t *p);

/**
 * MDActivationDelay: a complete staged set is activated by md_reg_sync() only when its
 * certificate has been valid for 'delay' (0, the default: at once); until then it stays staged.
 */
void md_reg_set_activation_delay(md_reg_t *reg, apr_interval_time_t delay);

/**
 * MDStoreLocks: with 'on', renewals (md_reg_renew) and activations (md_reg_sync) of an MD hold
 * its lock in the store (md_store_lock), waiting up to 'wait' for another server that shares the
 * store to let go. Off by default.
 */
void md_reg_set_store_locks(md_reg_t *reg, int on, apr_interval_time_t wait);

/**
 * Give the registry a memo that outlives it (a hash in a pool of the process): facts learned from
 * stored certificates (validity, names, key match) are kept there under the version of their
 * files, so that later start-ups (httpd's second pass, graceful restarts) do not parse them again.
 * Without a memo everything is read each time.
 */
void md_reg_set_memo(md_reg_t *reg, apr_hash_t *memo);

/** The store of the registry. */
md_store_t *md_reg_store(md_reg_t *reg);

/**
 * Start-up synchronisation for the configured MDs ('mds', md_t*; they become the items' md):
 * activate complete staged sets, load current certificates, decide renewals (at 'now'), write
 * md.json where it changed and make sure MDs without a certificate have a fallback one.
 * Per-MD problems are logged and put into the MD's state; only a broken store fails the call.
 */
apr_status_t md_reg_sync(md_reg_t *reg, apr_array_header_t *mds, apr_time_t now, apr_pool_t *p,
                         apr_pool_t *ptemp);

/**
 * Activate the staged set of one MD while the server runs (MDActivation hot), exactly as
 * md_reg_sync() does at a restart: check it, move it into domains/ (the previous set into
 * archive/), read the new certificates into the item (which is then no longer staged, and
 * marked activated) and update md.json. Call in the parent (domains/ is only writable there),
 * after md_reg_sync(). APR_EINVAL when nothing was activated: no staged set, one that waits
 * for MDActivationDelay, an unusable one (logged and removed, as at a restart) or a store
 * failure (logged).
 */
apr_status_t md_reg_activate_running(md_reg_t *reg, md_reg_item_t *item, apr_time_t now,
                                     apr_pool_t *p);

/**
 * Remove what MDs that are no longer configured left behind: staging/<name> of unknown MDs and
 * challenges/<dns> of names no MD has. Call after md_reg_sync(). Always APR_SUCCESS (failures
 * to remove are harmless leftovers).
 */
apr_status_t md_reg_cleanup_stale(md_reg_t *reg, apr_pool_t *p);

/* What the status pages show of a live certificate (md-status "cert" entries). */
typedef struct md_reg_cert_info_t md_reg_cert_info_t;
struct md_reg_cert_info_t {
    const char *issuer;             /* issuer name, one line */
    const char *serial;             /* hex */
    const char *sha256_fingerprint; /* hex of the DER's SHA-256 */
    const char *ari_cert_id;        /* RFC 9773 identifier, NULL without authority key id */
    const char *sha1;               /* hex of the DER's SHA-1 (the OCSP stapling id) */
    apr_time_t not_before;
    apr_time_t not_after;
};

/**
 * The live certificate of key spec 'spec' of 'md' as the sync found it: from the memo when its
 * files did not change since (nothing is read), else from the files. APR_ENOENT when there is no
 * usable one. Strings live in 'p' or in the memo. Call after md_reg_sync().
 */
apr_status_t md_reg_live_cert_info(md_reg_cert_info_t *info, md_reg_t *reg, const md_t *md,
                                   const md_pkey_spec_t *spec, apr_pool_t *p);

/** The item of an MD by name, or NULL. */
md_reg_item_t *md_reg_get(md_reg_t *reg, const char *name);

/** All items (md_reg_item_t*), in configuration order. */
const apr_array_header_t *md_reg_items(md_reg_t *reg);

/**
 * The certificate chain and key files of the MD's current certificates, one pair per key spec
 * that has one; for an MD with MDCertificateFile/MDCertificateKeyFile, those files (all pairs).
 * APR_ENOENT if there is none.
 */
apr_status_t md_reg_get_cred_files(apr_array_header_t *cert_files, apr_array_header_t *key_files,
                                   md_reg_t *reg, const md_reg_item_t *item, apr_pool_t *p);

/** The fallback certificate and key files for an MD without certificate (made by sync). */
apr_status_t md_reg_get_fallback_files(const char **pcertfile, const char **pkeyfile, md_reg_t *reg,
                                       const md_reg_item_t *item, apr_pool_t *p);

/**
 * Check that the staged set of 'md' is complete and usable: md.json, and for every key spec a key
 * and a chain whose certificate matches the key and covers all the MD's names. APR_ENOENT if there
 * is no (complete) staged set, APR_EINVAL if it is unusable (logged, with the reason in 'result'
 * when not NULL).
 */
apr_status_t md_reg_check_staged(md_reg_t *reg, const md_t *md, md_result_t *result, apr_pool_t *p);

/**
 * Renew one MD: run the ACME drive into staging and check the staged set. On success the item is
 * marked staged. Blocking; call from a job thread with a pool of its own ('p').
 * With store locks (md_reg_set_store_locks) it holds the MD's lock meanwhile; APR_EBUSY when
 * another server sharing the store held it longer than the wait (it is renewing the MD: try
 * again later). When another server renewed the MD since this one read the store, nothing is
 * ordered: the result is a success whose set goes live at the next restart, like one's own.
 */
apr_status_t md_reg_renew(md_reg_t *reg, md_reg_item_t *item, md_acme_driver_t *driver,
                          apr_pool_t *p);

/**
 * For a2md, which has no configuration: fill the registry with the MDs stored in domains/ (by
 * name), each from its md.json with the defaults of md_reg_stored_defaults(), its certificates
 * read and its renewal decided at 'now' as md_reg_sync() does, but without writing anything: a
 * broken certificate or key counts as none and stays where it is, an expired certificate makes
 * the MD incomplete. MDs whose md.json is missing or unreadable are left out. From then on the
 * registry only looks (md_reg_live_cert_info() too). Fails only when domains/ cannot be read.
 */
apr_status_t md_reg_load_stored(md_reg_t *reg, apr_time_t now, apr_pool_t *ptemp);

/**
 * What a stored md.json may lack and the configuration would supply: a key spec (RSA 2048), the
 * renew and warn windows (MD_REG_RENEW_WINDOW_DEF, MD_REG_WARN_WINDOW_DEF). Allocates in 'p'.
 */
void md_reg_stored_defaults(md_t *md, apr_pool_t *p);

/**
 * Make the staged set of 'md' live now (a2md drive, which renews outside a server): check it
 * as md_reg_check_staged() does, install its account into accounts/ (md->ca_account gets the
 * id), carry the foreign fields of the live md.json over and switch the sets in the store (the
 * old one is archived). APR_ENOENT when nothing complete is staged, APR_EINVAL when the staged
 * set is unusable; the reason is in 'result' (may be NULL).
 */
apr_status_t md_reg_activate_staged(md_reg_t *reg, md_t *md, md_result_t *result, apr_pool_t *p);

#endif /* md_reg_h */
