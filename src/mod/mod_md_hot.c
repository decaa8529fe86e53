/* mod_md_hot: renewed certificates served without a restart (see mod_md_hot.h).
 *
 * The life of a renewed set with MDActivation hot:
 *   1. the watchdog child stages it (the renewal), checks and loads it, serves it and announces
 *      it: slot[md].staged = a new sequence number, then version++ (mod_md_hot_publish)
 *      and the version it made: slot[md].announced (for the acks)
 *   2. every child sees the version change on its next handshake or watchdog tick, loads the
 *      announced sets from staging/, serves them and acks the version (refresh, ack)
 *   3. the parent, on its monitor hook, loads the set as well: children it forks from then on
 *      start with it (hot_monitor, first round after the announcement)
 *   4. once every running child acked the announcement (normally in the same round; a child
 *      that does not ack holds it back one round at most) it activates the set in the store as a
 *      restart would (md_reg_activate), marks the slot activated and sends MDMessageCmd
 *      'installed': the first round of the parent after the set was first served, as a rule
 * The watchdog child treats the MD as staged from 1 until 4 (mod_md_hot_pending), so no renewal
 * replaces staging/ under the parent's feet.
 *
 * Memory: a process keeps, per MD, the set it serves and the one before (status pages may still
 * read the older one's facts); a set is freed when it is two changes old and no handshake uses
 * it. Handshakes take a reference under a mutex held for a few instructions; when an MD never
 * changed, they take nothing at all.
 */
#include <string.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <mod_ssl.h>
#include <mpm_common.h>
#include <scoreboard.h>
#include <ap_mpm.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "md.h"
#include "md_hot.h"
#include "md_job.h"
#include "md_keys.h"
#include "md_ocsp.h"
#include "md_status.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_drive.h"
#include "mod_md_event.h"
#include "mod_md_hot.h"

APLOG_USE_MODULE(md);

/* mod_ssl's optional hook from mod_ssl_openssl.h (not shipped by Debian's apache2-dev): called in
 * the parent at post_config for every SSL_CTX mod_ssl set up, after its certificates are in. */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, init_server,
                          (server_rec * s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx))

#define PROTO_ACME_TLS_1 "acme-tls/1"

/* ---- shared memory ---------------------------------------------------------------------------
 */

typedef struct {
    volatile apr_uint32_t staged;    /* newest set announced by the watchdog child, 0: none */
    volatile apr_uint32_t activated; /* the one the parent activated in the store */
    volatile apr_uint32_t failed;    /* the one the parent could not load or activate */
    volatile apr_uint32_t announced; /* the version the announcement of 'ann_seq' made */
    volatile apr_uint32_t ann_seq;   /* the set 'announced' belongs to (written after it) */
} hot_slot_t;

/* What a child process has picked up, one per scoreboard process slot: a child that saw version
 * 'seen' serves every set announced up to it (or logged why it cannot). 'seen' is written before
 * 'pid', so a 'pid' the parent finds in the scoreboard vouches for the 'seen' next to it. */
typedef struct {
    volatile apr_uint32_t seen;
    volatile apr_uint32_t pid;
} hot_ack_t;

typedef struct {
    volatile apr_uint32_t next_seq; /* sequence numbers of announced sets */
    volatile apr_uint32_t version;  /* changes after every announcement */
    apr_uint32_t n;                 /* slots, one per MD in configuration order */
    apr_uint32_t n_acks;            /* acks, one per scoreboard process slot (ServerLimit) */
    hot_slot_t slots[1];            /* n of them, followed by the n_acks acks */
} hot_shm_t;

#define SHM_ACKS(shm) ((hot_ack_t *)(void *)&(shm)->slots[(shm)->n])

/* ---- per process -----------------------------------------------------------------------------
 */

typedef STACK_OF(X509) x509_stack_t;

/* A loaded set with a reference count: the MD's entry holds one, each handshake using it one. */
typedef struct {
    apr_pool_t *pool; /* owns everything; destroyed with the last reference */
    md_hot_set_t *set;
    x509_stack_t **chains; /* per pair: the intermediates, as SSL_use_cert_and_key takes them */
    volatile apr_uint32_t refs;
} hot_ref_t;

typedef struct {
    mod_md_hot_t *hot;
    apr_uint32_t index;
    md_reg_item_t *item;
    int had_cert;                  /* mod_ssl got a real certificate at start (else the fallback) */
    volatile apr_uint32_t has_cur; /* 'cur' was ever set (lets handshakes skip the mutex) */
    hot_ref_t *cur;                /* served instead of the SSL_CTX's certificates; under mutex */
    hot_ref_t *prev;               /* the one before, kept until the next change */
    apr_uint32_t loaded;           /* the slot's sequence number 'cur' (or a failure) is of */
    apr_time_t loaded_at;          /* parent: when it loaded it */
    int store_tries;               /* parent: failed store activations of 'loaded' */
} hot_entry_t;

struct mod_md_hot_t {
    md_mod_conf_t *mc;
    server_rec *s;
    hot_shm_t *shm; /* NULL in the dry run */
    hot_entry_t *entries;
    apr_uint32_t n;
    apr_hash_t *by_name;         /* MD name -> hot_entry_t* */
    apr_thread_mutex_t *mutex;   /* the entries' cur/prev */
    apr_thread_mutex_t *loading; /* one loader per process at a time */
    volatile apr_uint32_t seen;  /* the shm version this process looked at last */
    apr_uint32_t ack_pid;        /* the process 'ack_slot' was found for (children inherit it) */
    int ack_slot;                /* its scoreboard slot, the index of its ack */
};

/* The conn_config of a connection that was given an MD's fallback certificate points here. */
static int fallback_conn_mark;

static hot_entry_t *entry_of(const md_mod_conf_t *mc, const char *name)
{
    return (mc && mc->hot) ? apr_hash_get(mc->hot->by_name, name, APR_HASH_KEY_STRING) : NULL;
}

static apr_status_t free_stack(void *data)
{
    sk_X509_free(data);
    return APR_SUCCESS;
}

static hot_ref_t *ref_make(md_hot_set_t *set, apr_pool_t *pool)
{
    hot_ref_t *ref = apr_pcalloc(pool, sizeof(*ref));
    const md_hot_pair_t *pair;
    x509_stack_t *sk;
    int i, j;

    ref->pool = pool;
    ref->set = set;
    ref->refs = 1;
    ref->chains = apr_pcalloc(pool, (apr_size_t)set->pairs->nelts * sizeof(x509_stack_t *));
    for (i = 0; i < set->pairs->nelts; ++i) {
        pair = APR_ARRAY_IDX(set->pairs, i, const md_hot_pair_t *);
        sk = sk_X509_new_null();
        if (!sk) {
            return NULL;
        }
        apr_pool_cleanup_register(pool, sk, free_stack, apr_pool_cleanup_null);
        for (j = 1; j < pair->chain->nelts; ++j) {
            /* the X509s belong to the set's certificates, in the same pool */
            if (!sk_X509_push(sk, md_cert_get_X509(APR_ARRAY_IDX(pair->chain, j, md_cert_t *)))) {
                return NULL;
            }
        }
        ref->chains[i] = sk;
    }
    return ref;
}

static void ref_release(hot_ref_t *ref)
{
    if (ref && !apr_atomic_dec32(&ref->refs)) {
        apr_pool_destroy(ref->pool);
    }
}

static hot_ref_t *entry_acquire(hot_entry_t *entry)
{
    hot_ref_t *ref;

    if (!apr_atomic_read32(&entry->has_cur)) {
        return NULL;
    }
    apr_thread_mutex_lock(entry->hot->mutex);
    ref = entry->cur;
    if (ref) {
        apr_atomic_inc32(&ref->refs);
    }
    apr_thread_mutex_unlock(entry->hot->mutex);
    return ref;
}

static void entry_install(hot_entry_t *entry, hot_ref_t *ref)
{
    hot_ref_t *old;

    apr_thread_mutex_lock(entry->hot->mutex);
    old = entry->prev;
    entry->prev = entry->cur;
    entry->cur = ref;
    apr_thread_mutex_unlock(entry->hot->mutex);
    apr_atomic_set32(&entry->has_cur, 1);
    ref_release(old);
}

/* ---- what else follows the served certificate ------------------------------------------------
 */

/* The registry item as a restart would see it (status pages, renewal schedule). */
static void update_item(md_reg_item_t *item, const md_hot_set_t *set, apr_time_t now)
{
    md_t *md = item->md;
    const md_hot_pair_t *pair;
    md_renew_reason_t reason;
    apr_time_t at = 0, nb, na;
    int i;

    item->has_cert = 1;
    item->valid_from = set->valid_from;
    item->valid_until = set->valid_until;
    for (i = 0; i < set->pairs->nelts; ++i) {
        pair = APR_ARRAY_IDX(set->pairs, i, const md_hot_pair_t *);
        /* as the registry computes it at start (md_reg.c, load_current) */
        nb = md_cert_get_not_before(pair->leaf);
        na = md_cert_get_not_after(pair->leaf);
        reason = md_renew_due_spread(&at, md->name, nb, na, 1,
                                     md_renew_window_for(md->renew_window,
                                                         md->is_default_renew_window, nb, na),
                                     now);
        if (i == 0 || at < item->renew_at) {
            item->renew_at = at;
            item->reason = reason;
        }
    }
    if (md->state != MD_S_ERROR) {
        /* a served set has every key spec and covers all names: complete, as a restart says */
        md->state = MD_S_COMPLETE;
        md->state_descr = NULL;
    }
}

/* The status pages' facts of the live certificate (children cannot read domains/): a new
 * entry in the set's pool replaces the MD's value in the table. */
static void update_status(md_mod_conf_t *mc, const md_t *md, const md_hot_set_t *set,
                          apr_pool_t *pool)
{
    apr_array_header_t *leafs = apr_array_make(pool, set->pairs->nelts, sizeof(md_cert_t *));
    md_json_t *job = NULL;
    int i;

    if (!mc->status_live) {
        return;
    }
    for (i = 0; i < set->pairs->nelts; ++i) {
        APR_ARRAY_PUSH(leafs, const md_cert_t *) =
            APR_ARRAY_IDX(set->pairs, i, const md_hot_pair_t *)->leaf;
    }
    if (APR_SUCCESS != md_job_load(&job, mc->store, MD_SG_STAGING, md->name, pool)) {
        job = NULL;
    }
    apr_hash_set(mc->status_live, md->name, APR_HASH_KEY_STRING,
                 md_status_live_entry(md, leafs, job, pool));
}

/* OCSP stapling follows the served certificate: the new ones are primed (under the id mod_ssl
 * asks with, the SHA-1 of the DER), the replaced ones are no longer fetched. */
static void update_stapling(md_mod_conf_t *mc, const md_t *md, const md_hot_set_t *set,
                            apr_pool_t *ptemp)
{
    const md_hot_pair_t *pair;
    apr_array_header_t *two;
    unsigned char id[EVP_MAX_MD_SIZE];
    unsigned int id_len = 0;
    const char *pem = NULL;
    apr_size_t len = 0;
    int i;

    if (!mc->ocsp || !mod_md_config_stapling(mc, md)) {
        return;
    }
    md_ocsp_retire(mc->ocsp, md->name, apr_time_now());
    for (i = 0; i < set->pairs->nelts; ++i) {
        pair = APR_ARRAY_IDX(set->pairs, i, const md_hot_pair_t *);
        two = apr_array_make(ptemp, 2, sizeof(md_cert_t *));
        APR_ARRAY_PUSH(two, const md_cert_t *) = pair->leaf;
        if (pair->chain->nelts > 1) {
            APR_ARRAY_PUSH(two, const md_cert_t *) = APR_ARRAY_IDX(pair->chain, 1, md_cert_t *);
        }
        if (X509_digest(md_cert_get_X509(pair->leaf), EVP_sha1(), id, &id_len) != 1
            || APR_SUCCESS != md_chain_to_pem(&pem, &len, two, ptemp)) {
            continue;
        }
        md_ocsp_prime(mc->ocsp, (const char *)id, id_len, pem, md->name, ptemp);
    }
}

/* ---- loading ----------------------------------------------------------------------------------
 */

#define ERR_LEN 256

/* A new reference to the staged set of 'md', checked at 'now'. Touches nothing shared, so it
 * needs no lock. APR_ENOENT/APR_EINVAL as md_hot_set_load(), with the reason in 'err'. */
static apr_status_t load_ref(hot_ref_t **pref, char *err, mod_md_hot_t *hot, const md_t *md,
                             apr_time_t now)
{
    md_hot_set_t *set = NULL;
    const char *why = NULL;
    apr_pool_t *pool = NULL;
    apr_status_t rv;

    *pref = NULL;
    rv = apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    if (APR_SUCCESS != rv) {
        apr_cpystrn(err, "out of memory", ERR_LEN);
        return rv;
    }
    rv = md_hot_set_load(&set, &why, hot->mc->store, MD_SG_STAGING, md, now, pool);
    if (APR_STATUS_IS_ENOENT(rv) && hot->mc->etcd) {
        /* a store shared in etcd: another server of the fleet may have made it live meanwhile */
        rv = md_hot_set_load(&set, &why, hot->mc->store, MD_SG_DOMAINS, md, now, pool);
    }
    if (APR_SUCCESS == rv) {
        *pref = ref_make(set, pool);
        rv = *pref ? APR_SUCCESS : APR_ENOMEM;
    }
    if (APR_SUCCESS != rv) {
        apr_cpystrn(err, why ? why : "the staged set cannot be read", ERR_LEN);
        apr_pool_destroy(pool);
    }
    return rv;
}

/* Serve 'ref', announced as 'seq', in this process from now on. Call with 'loading' held. */
static void serve(hot_entry_t *entry, apr_uint32_t seq, hot_ref_t *ref, int is_parent)
{
    mod_md_hot_t *hot = entry->hot;
    md_t *md = entry->item->md;
    apr_time_t now = apr_time_now();

    entry->loaded = seq;
    entry->loaded_at = now;
    update_item(entry->item, ref->set, now);
    update_status(hot->mc, md, ref->set, ref->pool);
    update_stapling(hot->mc, md, ref->set, ref->pool);
    entry_install(entry, ref);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, hot->s,
                 APLOGNO(13005) "%s: %s serves the certificate with serial %s now", md->name,
                 is_parent ? "the parent (for the children it starts)" : "this child",
                 ref->set->serial);
}

/* Load the staged set of an entry, announced as 'seq', and serve it in this process. A set that
 * cannot be loaded is not tried again (the watchdog child had checked it: something changed it
 * since, and the next renewal brings a new one). Call with 'loading' held. */
static apr_status_t load_entry(hot_entry_t *entry, apr_uint32_t seq, int is_parent)
{
    mod_md_hot_t *hot = entry->hot;
    const char *name = entry->item->md->name;
    char err[ERR_LEN];
    hot_ref_t *ref = NULL;
    apr_status_t rv;

    rv = load_ref(&ref, err, hot, entry->item->md, apr_time_now());
    if (APR_SUCCESS != rv) {
        entry->loaded = seq;
        entry->loaded_at = apr_time_now();
        ap_log_error(APLOG_MARK, is_parent ? APLOG_ERR : APLOG_WARNING, rv, hot->s,
                     APLOGNO(13004) "%s: %s cannot pick up the renewed certificate: %s; %s "
                                    "serve the previous one until the next restart",
                     name, is_parent ? "the parent" : "this child", err,
                     is_parent ? "children started from now on" : "it will");
        return rv;
    }
    serve(entry, seq, ref, is_parent);
    return APR_SUCCESS;
}

/* The scoreboard slot of process 'pid', -1 while the parent has not put it there. */
static int scoreboard_slot(const mod_md_hot_t *hot, apr_uint32_t pid)
{
    process_score *ps;
    apr_uint32_t i;

    for (i = 0; ap_scoreboard_image && i < hot->shm->n_acks; ++i) {
        ps = ap_get_scoreboard_process((int)i);
        if (ps && ps->pid > 0 && (apr_uint32_t)ps->pid == pid) {
            return (int)i;
        }
    }
    return -1;
}

/* 2. (end) Tell the parent that this child serves every set announced up to version 'seen'. The
 * child's ack is the one of its scoreboard slot, found once per process; until the parent has
 * put its pid there (right after the fork) it cannot ack, and does at its next look. */
static void ack(mod_md_hot_t *hot, apr_uint32_t seen)
{
    apr_uint32_t pid = (apr_uint32_t)getpid();
    hot_ack_t *acks;
    int slot;

    if (!hot->shm || !seen) {
        return;
    }
    if (hot->ack_pid != pid) {
        slot = scoreboard_slot(hot, pid);
        if (slot < 0) {
            return;
        }
        hot->ack_slot = slot;
        hot->ack_pid = pid;
    }
    acks = SHM_ACKS(hot->shm);
    if (apr_atomic_read32(&acks[hot->ack_slot].seen) != seen
        || apr_atomic_read32(&acks[hot->ack_slot].pid) != pid) {
        apr_atomic_set32(&acks[hot->ack_slot].seen, seen);
        apr_atomic_set32(&acks[hot->ack_slot].pid, pid);
    }
}

/* 2. In a child: load what was announced since the last look. Cheap when nothing changed (one
 * read of shared memory). When it changed, other handshakes of the process wait for the one that
 * loads (a few milliseconds, once per change): from the moment a process noticed a set, it
 * serves no other, and an MD's first certificate ends its 503s in one go. */
static void refresh(mod_md_hot_t *hot)
{
    apr_uint32_t v, seq, i;

    if (!hot->shm) {
        return;
    }
    v = apr_atomic_read32(&hot->shm->version);
    if (v == apr_atomic_read32(&hot->seen)) {
        return;
    }
    apr_thread_mutex_lock(hot->loading);
    if (v == apr_atomic_read32(&hot->seen)) {
        /* another thread loaded while this one waited */
        apr_thread_mutex_unlock(hot->loading);
        return;
    }
    for (i = 0; i < hot->n; ++i) {
        seq = apr_atomic_read32(&hot->shm->slots[i].staged);
        if (seq && seq != hot->entries[i].loaded) {
            load_entry(&hot->entries[i], seq, 0);
        }
    }
    apr_atomic_set32(&hot->seen, v);
    ack(hot, v);
    apr_thread_mutex_unlock(hot->loading);
}

static apr_status_t each_child_cb(int state, void *baton, apr_pool_t *ptemp)
{
    mod_md_hot_t *hot = baton;

    (void)ptemp;
    if (state == AP_WATCHDOG_STATE_STARTING || state == AP_WATCHDOG_STATE_RUNNING) {
        refresh(hot);
        /* an ack the scoreboard was not ready for at the first look (cheap when done) */
        apr_thread_mutex_lock(hot->loading);
        ack(hot, apr_atomic_read32(&hot->seen));
        apr_thread_mutex_unlock(hot->loading);
    }
    return APR_SUCCESS;
}

/* ---- handshakes -------------------------------------------------------------------------------
 */

static int is_acme_tls_1(const SSL *ssl)
{
    const unsigned char *alpn = NULL;
    unsigned int len = 0;

    SSL_get0_alpn_selected(ssl, &alpn, &len);
    return alpn && len == sizeof(PROTO_ACME_TLS_1) - 1
           && !memcmp(alpn, PROTO_ACME_TLS_1, sizeof(PROTO_ACME_TLS_1) - 1);
}

/* SSL_CTX_set_cert_cb of an MD vhost: runs once per full handshake, after the SNI switch. */
static int hot_cert_cb(SSL *ssl, void *arg)
{
    hot_entry_t *entry = arg;
    conn_rec *c = SSL_get_app_data(ssl);
    const md_hot_pair_t *pair;
    hot_ref_t *ref;
    int i;

    refresh(entry->hot);
    if (is_acme_tls_1(ssl)) {
        /* a tls-alpn-01 challenge: mod_ssl has put the challenge certificate in */
        return 1;
    }
    ref = entry_acquire(entry);
    if (!ref) {
        if (!entry->had_cert && c) {
            ap_set_module_config(c->conn_config, &md_module, &fallback_conn_mark);
        }
        return 1;
    }
    /* only the set's certificates: a key type the set does not have (the fallback's, or one
     * removed from MDPrivateKeys) must not be chosen over them */
    SSL_certs_clear(ssl);
    for (i = 0; i < ref->set->pairs->nelts; ++i) {
        pair = APR_ARRAY_IDX(ref->set->pairs, i, const md_hot_pair_t *);
        if (1
            != SSL_use_cert_and_key(ssl, md_cert_get_X509(pair->leaf),
                                    md_pkey_get_EVP_PKEY(pair->pkey), ref->chains[i], 1)) {
            /* cannot happen for a checked set; the handshake fails for lack of one then */
            ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                          APLOGNO(13012) "%s: SSL_use_cert_and_key() failed", ref->set->name);
        }
    }
    ref_release(ref);
    return 1;
}

typedef struct {
    unsigned char *der;
    apr_size_t len;
} staple_t;

static void copy_staple(const unsigned char *der, apr_size_t der_len, void *baton)
{
    staple_t *st = baton;

    if (der && der_len) {
        st->der = OPENSSL_malloc(der_len);
        if (st->der) {
            memcpy(st->der, der, der_len);
            st->len = der_len;
        }
    }
}

/* The OCSP status callback of an MD vhost whose SSL_CTX has none (its start-up certificate was
 * the fallback, or could not be stapled): the served certificate's response, as mod_ssl's
 * callback would get it from this module. */
static int hot_status_cb(SSL *ssl, void *arg)
{
    hot_entry_t *entry = arg;
    conn_rec *c = SSL_get_app_data(ssl);
    X509 *x = SSL_get_certificate(ssl);
    unsigned char id[EVP_MAX_MD_SIZE];
    unsigned int id_len = 0;
    staple_t st = { NULL, 0 };

    if (!c || !x || !entry->hot->mc->ocsp || X509_digest(x, EVP_sha1(), id, &id_len) != 1
        || APR_SUCCESS
               != md_ocsp_get_resp(entry->hot->mc->ocsp, (const char *)id, id_len, copy_staple, &st,
                                   apr_time_now(), c->pool)
        || !st.der) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    SSL_set_tlsext_status_ocsp_resp(ssl, st.der, (long)st.len);
    return SSL_TLSEXT_ERR_OK;
}

/* mod_ssl's init_server (parent, every start-up pass): the callbacks go on each MD vhost's
 * SSL_CTX. */
static int hot_init_server(server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    int (*status_cb)(SSL *, void *) = NULL;
    hot_entry_t *entry;

    (void)p;
    if (is_proxy || !sc || !sc->assigned_md || !ctx) {
        return DECLINED;
    }
    entry = entry_of(sc->mc, sc->assigned_md->name);
    if (!entry) {
        return DECLINED;
    }
    SSL_CTX_set_cert_cb(ctx, hot_cert_cb, entry);
    SSL_CTX_get_tlsext_status_cb(ctx, &status_cb);
    if (mod_md_config_stapling(sc->mc, sc->assigned_md)) {
        if (!status_cb) {
            SSL_CTX_set_tlsext_status_cb(ctx, hot_status_cb);
            SSL_CTX_set_tlsext_status_arg(ctx, entry);
        }
    }
    else if (status_cb) {
        /* mod_ssl's own stapling knows only the certificates it loaded at start */
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     APLOGNO(13014) "%s: SSLUseStapling staples only the certificates loaded at "
                                    "start: one renewed without a restart is stapled after the "
                                    "next restart. 'MDStapling on' staples it at once",
                     sc->assigned_md->name);
    }
    return OK;
}

/* A connection that was given the fallback certificate gets 503 for every request, as mod_ssl
 * answers for fallbacks (ACME http-01 answers come before, on plain http). So does one that
 * resumed a session (no certificate callback) while this process has no certificate for the MD:
 * mod_ssl would only serve requests of a compatible vhost on it. */
static int hot_fallback_pr(request_rec *r)
{
    conn_rec *c = r->connection->master ? r->connection->master : r->connection;
    md_srv_conf_t *sc;
    hot_entry_t *entry;

    if (ap_get_module_config(c->conn_config, &md_module) == &fallback_conn_mark) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    sc = mod_md_config_get(r->server);
    if (!sc || !sc->mc->hot || !sc->assigned_md || !ap_ssl_conn_is_ssl(c)) {
        return DECLINED;
    }
    entry = entry_of(sc->mc, sc->assigned_md->name);
    if (entry && !entry->had_cert && !apr_atomic_read32(&entry->has_cur)) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return DECLINED;
}

/* ---- 1. the watchdog child ---------------------------------------------------------------------
 */

apr_status_t mod_md_hot_publish(apr_time_t *plive_at, md_mod_conf_t *mc, md_reg_item_t *item,
                                md_result_t *result, apr_time_t now, apr_pool_t *p)
{
    hot_entry_t *entry = entry_of(mc, item->md->name);
    mod_md_hot_t *hot = entry ? entry->hot : NULL;
    char err[ERR_LEN];
    hot_ref_t *ref = NULL;
    hot_slot_t *slot;
    apr_time_t live_at;
    apr_uint32_t seq, announced;
    apr_status_t rv;

    *plive_at = 0;
    if (!hot || !hot->shm) {
        return APR_ENOTIMPL;
    }
    /* loaded before the lock is taken: handshakes of this child never wait for the files */
    rv = load_ref(&ref, err, hot, item->md, now);
    if (APR_STATUS_IS_ENOENT(rv)) {
        /* nothing staged here: another server sharing the store (MDStoreLocks) renewed it */
        return rv;
    }
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, hot->s,
                     APLOGNO(13002) "%s: the renewed certificate cannot be served: %s; the "
                                    "current certificate stays in use and a new one is requested",
                     item->md->name, err);
        md_result_printf(result, APR_EINVAL, "staged certificate not usable: %s", err);
        md_store_purge(mc->store, MD_SG_STAGING, item->md->name, p);
        return APR_EINVAL;
    }
    live_at = md_hot_live_at(ref->set->valid_from, mc->activation_delay);
    if (live_at > now) {
        ref_release(ref);
        *plive_at = live_at;
        return APR_EAGAIN;
    }
    apr_thread_mutex_lock(hot->loading);
    if (entry->cur && md_hot_set_same(entry->cur->set, ref->set, p)) {
        /* served already (MDStoreEtcd: another server's renewal, reported twice) */
        apr_thread_mutex_unlock(hot->loading);
        ref_release(ref);
        return APR_SUCCESS;
    }
    seq = apr_atomic_inc32(&hot->shm->next_seq) + 1;
    serve(entry, seq, ref, 0);
    slot = &hot->shm->slots[entry->index];
    /* a child that sees the new version reads the slots after it, and finds 'seq': the parent
     * knows that a child whose ack says 'announced' (or later) loaded it */
    apr_atomic_set32(&slot->staged, seq);
    announced = apr_atomic_inc32(&hot->shm->version) + 1;
    apr_atomic_set32(&slot->announced, announced);
    apr_atomic_set32(&slot->ann_seq, seq);
    apr_thread_mutex_unlock(hot->loading);
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, hot->s,
                 APLOGNO(13001) "%s: the renewed certificate (serial %s, valid until %s) is "
                                "served from now on, without a restart",
                 item->md->name, ref->set->serial, md_time_rfc3339(ref->set->valid_until, p));
    return APR_SUCCESS;
}

int mod_md_hot_manages(const md_mod_conf_t *mc, const md_reg_item_t *item)
{
    hot_entry_t *entry = entry_of(mc, item->md->name);

    return entry && entry->hot->shm;
}

int mod_md_hot_pending(const md_mod_conf_t *mc, const md_reg_item_t *item)
{
    hot_entry_t *entry = entry_of(mc, item->md->name);
    hot_slot_t *slot;
    apr_uint32_t seq;

    if (!entry || !entry->hot->shm) {
        return 0;
    }
    slot = &entry->hot->shm->slots[entry->index];
    seq = apr_atomic_read32(&slot->staged);
    return seq && seq != apr_atomic_read32(&slot->activated)
           && seq != apr_atomic_read32(&slot->failed);
}

int mod_md_hot_served(const md_mod_conf_t *mc, const char *name)
{
    hot_entry_t *entry = entry_of(mc, name);
    apr_uint32_t seq;

    if (!entry || !entry->hot->shm) {
        return 0;
    }
    refresh(entry->hot);
    seq = apr_atomic_read32(&entry->hot->shm->slots[entry->index].staged);
    return seq && apr_atomic_read32(&entry->has_cur) && entry->loaded == seq
           && seq != apr_atomic_read32(&entry->hot->shm->slots[entry->index].failed);
}

/* ---- 3. and 4. the parent ----------------------------------------------------------------------
 */

/* MDStoreEtcd: the set this parent serves is live in the store already (another server of the
 * fleet activated it). */
static int is_live_elsewhere(hot_entry_t *entry, apr_time_t now, apr_pool_t *ptemp)
{
    md_hot_set_t *live = NULL;
    const char *why = NULL;

    return entry->hot->mc->etcd && entry->cur
           && APR_SUCCESS
                  == md_hot_set_load(&live, &why, entry->hot->mc->store, MD_SG_DOMAINS,
                                     entry->item->md, now, ptemp)
           && md_hot_set_same(entry->cur->set, live, ptemp);
}

static void activate_in_store(hot_entry_t *entry, hot_slot_t *slot, apr_uint32_t seq,
                              apr_time_t now, apr_pool_t *ptemp)
{
    mod_md_hot_t *hot = entry->hot;
    const char *name = entry->item->md->name;

    if (APR_SUCCESS != md_reg_activate_running(hot->mc->reg, entry->item, now, ptemp)) {
        if (is_live_elsewhere(entry, now, ptemp)) {
            apr_atomic_set32(&slot->activated, seq);
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, hot->s,
                         APLOGNO(13131) "%s: another server sharing the store made the served "
                                        "certificate the live set in the store",
                         name);
            return;
        }
        if (++entry->store_tries < MD_HOT_STORE_TRIES
            && APR_SUCCESS == md_reg_check_staged(hot->mc->reg, entry->item->md, NULL, ptemp)) {
            /* still staged and usable (MDStoreLocks: another server held the lock): next round */
            return;
        }
        apr_atomic_set32(&slot->failed, seq);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, hot->s,
                     APLOGNO(13007) "%s: the renewed certificate is served, but activating it "
                                    "in the store failed (see the messages before); the next "
                                    "restart tries again",
                     name);
        return;
    }
    apr_atomic_set32(&slot->activated, seq);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, hot->s,
                 APLOGNO(13006) "%s: the served certificate is now the live set in the store "
                                "(domains/%s, the previous one in archive/)",
                 name, name);
    /* as at a restart: in the parent, with its rights */
    mod_md_event_send(hot->mc, hot->s, "installed", name, ptemp);
}

/* How many children of this generation that take new connections have not acked the
 * announcement of 'seq' in 'slot' (scoreboard and acks, see ack()). -1 when the announcement is
 * not complete yet (the watchdog child is writing it) or the scoreboard is not there. */
static int children_missing(mod_md_hot_t *hot, hot_slot_t *slot, apr_uint32_t seq)
{
    hot_ack_t *acks = SHM_ACKS(hot->shm);
    apr_uint32_t announced, i;
    process_score *ps;
    int gen = 0, missing = 0;

    announced = apr_atomic_read32(&slot->announced);
    if (apr_atomic_read32(&slot->ann_seq) != seq || !ap_scoreboard_image
        || APR_SUCCESS != ap_mpm_query(AP_MPMQ_GENERATION, &gen)) {
        return -1;
    }
    for (i = 0; i < hot->shm->n_acks; ++i) {
        ps = ap_get_scoreboard_process((int)i);
        if (!ps || ps->pid <= 0 || ps->generation != gen || ps->quiescing) {
            /* no child, or one of an older generation (another shared memory) or on its way out
             * (it accepts no new connection) */
            continue;
        }
        if (apr_atomic_read32(&acks[i].pid) != (apr_uint32_t)ps->pid
            || (apr_int32_t)(apr_atomic_read32(&acks[i].seen) - announced) < 0) {
            ++missing;
        }
    }
    return missing;
}

/* 4. The parent activates a set in the store (and sends 'installed') as soon as every child has
 * loaded it from staging/ (after that they could not: domains/ is the parent's): in the round it
 * saw the set, unless a child had not caught up yet. A child that does not ack (hung, or without
 * a watchdog) holds it back for MD_HOT_STORE_DELAY at most; it can no longer load the set then. */
static int may_activate(hot_entry_t *entry, hot_slot_t *slot, apr_uint32_t seq, apr_time_t now)
{
    int missing = children_missing(entry->hot, slot, seq);

    if (!missing) {
        return 1;
    }
    if (now - entry->loaded_at < MD_HOT_STORE_DELAY) {
        if (missing > 0) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, entry->hot->s,
                         APLOGNO(13015) "%s: %d child process(es) have not confirmed yet that "
                                        "they serve the renewed certificate; it goes into the "
                                        "store at the next round",
                         entry->item->md->name, missing);
        }
        return 0;
    }
    if (missing > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, entry->hot->s,
                     APLOGNO(13016) "%s: %d child process(es) did not confirm within %d s that "
                                    "they serve the renewed certificate; it goes into the store "
                                    "anyway",
                     entry->item->md->name, missing, (int)apr_time_sec(MD_HOT_STORE_DELAY));
    }
    return 1;
}

static int hot_monitor(apr_pool_t *p, server_rec *s)
{
    md_srv_conf_t *sc = mod_md_config_get(s);
    mod_md_hot_t *hot = sc ? sc->mc->hot : NULL;
    apr_pool_t *ptemp = NULL;
    hot_entry_t *entry;
    hot_slot_t *slot;
    apr_time_t now = apr_time_now();
    apr_uint32_t i, seq, loads = 0, stores = 0;
    apr_status_t rv;

    if (!hot || !hot->shm || APR_SUCCESS != apr_pool_create(&ptemp, p)) {
        return DECLINED;
    }
    /* the parent's loop does nothing else meanwhile (no child is started or stopped): a burst of
     * renewals is worked off over several rounds */
    for (i = 0; i < hot->n && loads < MD_HOT_LOADS_PER_ROUND && stores < MD_HOT_STORES_PER_ROUND;
         ++i) {
        entry = &hot->entries[i];
        slot = &hot->shm->slots[i];
        seq = apr_atomic_read32(&slot->staged);
        if (!seq || seq == apr_atomic_read32(&slot->activated)
            || seq == apr_atomic_read32(&slot->failed)) {
            continue;
        }
        if (entry->loaded != seq) {
            /* 3. (the parent has no other threads; the lock keeps load_entry's contract) */
            entry->store_tries = 0;
            apr_thread_mutex_lock(hot->loading);
            rv = load_entry(entry, seq, 1);
            apr_thread_mutex_unlock(hot->loading);
            ++loads;
            if (APR_SUCCESS != rv) {
                apr_atomic_set32(&slot->failed, seq);
                continue;
            }
        }
        if (may_activate(entry, slot, seq, now)) {
            /* 4. */
            activate_in_store(entry, slot, seq, now, ptemp);
            ++stores;
        }
        apr_pool_clear(ptemp);
    }
    apr_pool_destroy(ptemp);
    return OK;
}

/* ---- set-up ------------------------------------------------------------------------------------
 */

static apr_status_t make_shm(mod_md_hot_t *hot, apr_pool_t *p)
{
    apr_size_t size;
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    int limit = 0;

    /* one ack per process the scoreboard can hold: ServerLimit does not change before the next
     * start, which makes a new segment */
    rv = ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit);
    if (APR_SUCCESS != rv || limit <= 0) {
        return (APR_SUCCESS != rv) ? rv : APR_EINVAL;
    }
    size = sizeof(hot_shm_t) + (apr_size_t)(hot->n ? hot->n - 1 : 0) * sizeof(hot_slot_t)
           + (apr_size_t)limit * sizeof(hot_ack_t);
    /* anonymous: only this parent and its children map it */
    rv = apr_shm_create(&shm, size, NULL, p);
    if (APR_SUCCESS == rv) {
        hot->shm = apr_shm_baseaddr_get(shm);
        memset(hot->shm, 0, size);
        hot->shm->n = hot->n;
        hot->shm->n_acks = (apr_uint32_t)limit;
    }
    return rv;
}

static void make_entries(mod_md_hot_t *hot, apr_pool_t *p)
{
    const apr_array_header_t *items = md_reg_items(hot->mc->reg);
    md_reg_item_t *item;
    hot_entry_t *entry;
    int i;

    hot->n = (apr_uint32_t)items->nelts;
    hot->entries = apr_pcalloc(p, (apr_size_t)(items->nelts ? items->nelts : 1) * sizeof(*entry));
    hot->by_name = apr_hash_make(p);
    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, md_reg_item_t *);
        entry = &hot->entries[i];
        entry->hot = hot;
        entry->index = (apr_uint32_t)i;
        entry->item = item;
        entry->had_cert = item->has_cert;
        if (!item->md->cert_files || !item->md->cert_files->nelts) {
            /* MDCertificateFile: the admin's files are served, nothing to activate */
            apr_hash_set(hot->by_name, item->md->name, APR_HASH_KEY_STRING, entry);
        }
    }
}

apr_status_t mod_md_hot_setup(md_mod_conf_t *mc, server_rec *s, int dry_run, apr_pool_t *p)
{
    mod_md_hot_t *hot;
    apr_status_t rv;

    mc->hot = NULL;
    if (mc->activation != MD_ACTIVATION_HOT || !mc->reg) {
        return APR_SUCCESS;
    }
    hot = apr_pcalloc(p, sizeof(*hot));
    hot->mc = mc;
    hot->s = s;
    make_entries(hot, p);
    rv = apr_thread_mutex_create(&hot->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (APR_SUCCESS == rv) {
        rv = apr_thread_mutex_create(&hot->loading, APR_THREAD_MUTEX_DEFAULT, p);
    }
    if (APR_SUCCESS == rv && !dry_run) {
        rv = make_shm(hot, p);
    }
    if (APR_SUCCESS != rv) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     APLOGNO(13011) "MDActivation hot: cannot set up shared memory or mutexes; "
                                    "renewed certificates go live at the next graceful restart");
        return rv;
    }
    mc->hot = hot;
    if (dry_run) {
        return APR_SUCCESS;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 APLOGNO(13010) "MDActivation hot: renewed certificates of %d Managed Domains go "
                                "live without a restart",
                 apr_hash_count(hot->by_name));
    rv = mod_md_watchdog_add_each(hot, each_child_cb, MD_HOT_TICK, p);
    if (APR_SUCCESS != rv && !APR_STATUS_IS_ENOTIMPL(rv)) {
        /* without mod_watchdog the renewal scheduler says what is lost; handshakes still look */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     APLOGNO(13013) "MDActivation hot: cannot register the watchdog of the "
                                    "children; idle children pick up renewed certificates at "
                                    "their next handshake");
    }
    return APR_SUCCESS;
}

int mod_md_hot_add_fallback(server_rec *s, md_srv_conf_t *sc, apr_array_header_t *cert_files,
                            apr_array_header_t *key_files, apr_pool_t *p)
{
    const char *cfile = NULL, *kfile = NULL;

    if (!sc->item || !entry_of(sc->mc, sc->item->md->name)
        || APR_SUCCESS != md_reg_get_fallback_files(&cfile, &kfile, sc->mc->reg, sc->item, p)) {
        return 0;
    }
    APR_ARRAY_PUSH(cert_files, const char *) = cfile;
    APR_ARRAY_PUSH(key_files, const char *) = kfile;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 APLOGNO(13009) "%s: no certificate yet, %s answers https with 503 until the "
                                "first one is served (without a restart, MDActivation hot)",
                 sc->item->md->name, s->server_hostname ? s->server_hostname : "the vhost");
    return 1;
}

void mod_md_hot_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ssl, init_server, hot_init_server, NULL, NULL, APR_HOOK_MIDDLE);
    /* last: /.httpd/certificate-status is answered also while the fallback is served */
    ap_hook_post_read_request(hot_fallback_pr, NULL, NULL, APR_HOOK_LAST);
    ap_hook_monitor(hot_monitor, NULL, NULL, APR_HOOK_MIDDLE);
}
