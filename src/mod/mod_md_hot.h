/* mod_md_hot: renewed certificates served without a restart (MDActivation hot).
 *
 * Who does what (docs/activation.md has the whole story):
 * - every process keeps, per MD, the set it serves instead of the one mod_ssl loaded at start
 *   (certificates and keys in memory, loaded once per process and change). A certificate callback
 *   on each MD vhost's SSL_CTX (mod_ssl's 'init_server' hook hands them over) puts that set into
 *   each new handshake; without a change it does nothing.
 * - the child that renews (the watchdog child) checks a staged set, serves it itself and
 *   announces it in shared memory: one slot per MD with the sequence number of its newest set,
 *   and a version counter that changes with every announcement.
 * - every child compares the version with the one it knows on each handshake (one memory read)
 *   and once a second on a watchdog thread of its own; when it changed, it loads the announced
 *   sets from staging/ (the store key is in its memory) and serves them.
 * - every child acks the version it has loaded in shared memory (one ack per scoreboard slot).
 * - the parent looks at the slots on httpd's monitor hook (every ten seconds or so): it loads a new
 *   set too, so that children it starts later serve it from the start, and as soon as every child
 *   acked it (normally in the same round, else one round later at most) activates it in the
 *   store as a restart would (domains/, archive/) and sends MDMessageCmd 'installed'.
 * - an MD without certificate gets its fallback certificate as a regular one (so that mod_ssl
 *   does not answer 503 by itself, forever); this module answers 503 on connections that got the
 *   fallback, until the first real certificate is served.
 */
#ifndef mod_md_hot_h
#define mod_md_hot_h

#include <httpd.h>

#include "md_reg.h"
#include "md_result.h"
#include "mod_md_config.h"

typedef struct mod_md_hot_t mod_md_hot_t;

/* How often each child looks for renewed certificates besides its handshakes. */
#define MD_HOT_TICK apr_time_from_sec(1)
/* How long the parent waits at most, after loading a renewed set, for children that have not
 * acked it (they read it from staging/, which the store activation removes) before it activates
 * it in the store anyway. */
#define MD_HOT_STORE_DELAY apr_time_from_sec(5)
/* At most this many sets are loaded, and activated in the store (with MDMessageCmd 'installed'
 * each), per round of the parent: its loop starts and stops no children meanwhile. */
#define MD_HOT_LOADS_PER_ROUND  100
#define MD_HOT_STORES_PER_ROUND 20
/* Rounds the parent tries to activate a set that stays staged (MDStoreLocks: another server
 * holds the MD's lock) before it leaves it to the next restart. */
#define MD_HOT_STORE_TRIES 6

/**
 * Set up hot activation for 'mc' (post_config, in the parent, after the store sync and with the
 * items attached): the per-MD state, and (not in the dry run 'dry_run') the shared memory and
 * the watchdog of every child. Sets mc->hot; does nothing with MDActivation graceful. Without
 * shared memory it logs why and the server works as with 'graceful'.
 */
apr_status_t mod_md_hot_setup(md_mod_conf_t *mc, server_rec *s, int dry_run, apr_pool_t *p);

/**
 * ssl_add_cert_files for an MD without certificate: with MDActivation hot, its fallback files
 * are handed to mod_ssl as regular ones (503 answers come from this module, and end when the
 * first certificate is served). Pushes the files and returns 1, or returns 0 (not hot, or no
 * fallback files: mod_ssl then asks for them as fallback).
 */
int mod_md_hot_add_fallback(server_rec *s, md_srv_conf_t *sc, apr_array_header_t *cert_files,
                            apr_array_header_t *key_files, apr_pool_t *p);

/**
 * The renewal of 'item' staged a set (in the watchdog child, on a job thread): check it, serve
 * it in this process and announce it to all others.
 * APR_SUCCESS: served and announced (logged).
 * APR_EAGAIN: MDActivationDelay holds it back until *plive_at (logged once); call again then.
 * APR_EINVAL: the set is unusable; why is logged and in 'result', the staged set is removed so
 * that the next renewal starts afresh, and the current certificate stays in use.
 * APR_ENOENT: nothing is staged here (another server sharing the store renewed the MD and
 * activated its set, MDStoreLocks): it goes live at the next restart, as with 'graceful'.
 * APR_ENOTIMPL: not hot (or no shared memory).
 */
apr_status_t mod_md_hot_publish(apr_time_t *plive_at, md_mod_conf_t *mc, md_reg_item_t *item,
                                md_result_t *result, apr_time_t now, apr_pool_t *p);

/**
 * Non-zero when renewed certificates of 'item' are served without a restart: MDActivation hot
 * works (not in the dry run) and the MD serves the store's certificates (no MDCertificateFile).
 */
int mod_md_hot_manages(const md_mod_conf_t *mc, const md_reg_item_t *item);

/**
 * Non-zero while a set announced for 'item' waits for the parent to activate it in the store:
 * the MD counts as staged then (no new renewal overwrites staging/).
 */
int mod_md_hot_pending(const md_mod_conf_t *mc, const md_reg_item_t *item);

/**
 * Non-zero when this process serves the newest set announced for the MD 'name', a renewal that
 * went live without a restart (looks for announcements first): status pages say so instead of
 * "ready for a graceful restart" while its job stays in staging/ until the store activation.
 */
int mod_md_hot_served(const md_mod_conf_t *mc, const char *name);

/** The hooks: mod_ssl's init_server, the 503 answers, the parent's monitor. */
void mod_md_hot_register_hooks(void);

#endif /* mod_md_hot_h */
