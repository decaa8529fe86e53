/* md_reg: the registry of managed domains (see md_reg.h).
 *
 * Start-up (md_reg_sync): configured MDs whose first domain changed keep their stored name
 * (md_names.h), then each MD, in this order:
 *   1. read domains/<md>/md.json (a broken one is set aside) and take over the account
 *   2. activate a complete staged set (key matches certificate, names covered), or refuse it
 *   3. read the current certificates, one per key spec, and decide when to renew
 *   4. write md.json when it changed
 *   5. an MD without a certificate gets a fallback: a self-signed certificate for its names,
 *      signed with the one fallback key of the store (so start-up makes no key per MD)
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "md_hot.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"
#include "md_names.h"
#include "md_ari.h"
#include "md_reg.h"

#define FALLBACK_VALID    (apr_time_from_sec(14 * MD_SECS_PER_DAY))
#define FALLBACK_MIN_LEFT (apr_time_from_sec(MD_SECS_PER_DAY))
#define FALLBACK_ORG      "Apache Managed Domain Fallback"
#define MD_STATIC_MAX_LEN (1024 * 1024)

struct md_reg_t {
    apr_pool_t *p;
    md_store_t *store;
    apr_array_header_t *items; /* md_reg_item_t* */
    apr_hash_t *by_name;
    md_pkey_t *fallback_key; /* loaded on first need */
    int has_unflushed;       /* regenerable files were written, md_store_flush() is due */
    apr_interval_time_t activation_delay; /* MDActivationDelay */
    apr_hash_t *memo; /* cert_facts_t* by "<md>/<file>", may be NULL (md_reg_set_memo) */
    const md_json_t *stored_facts; /* in sync_one(): MD_KEY_CERT_FACTS of the MD's md.json */
    int is_readonly;  /* md_reg_load_stored(): look, never set aside or restore */
    int use_locks;    /* MDStoreLocks */
    apr_interval_time_t lock_wait;
    apr_time_t synced_at; /* when md_reg_sync() read the store */
};

/* What a start-up learns from a stored certificate and its key, remembered (md_reg_set_memo)
 * under the version of both files: a restart then parses no certificate it has seen before, which
 * keeps restarts of servers with thousands of MDs fast. The sync also keeps them in md.json
 * (MD_KEY_CERT_FACTS, by certificate file name), so that a cold start parses only what changed:
 * reading and checking a certificate and its key costs about a millisecond, a long time for
 * 10 000 MDs. */
typedef struct {
    const char *version;     /* md_store_get_version() of certificate and key, joined */
    const char *domains;     /* the names coverage was checked for, joined */
    md_reg_cert_info_t info; /* validity and what the status pages show */
    int covers_all;
    int is_usable; /* the key belongs to the certificate */
} cert_facts_t;

void md_reg_set_activation_delay(md_reg_t *reg, apr_interval_time_t delay)
{
    reg->activation_delay = delay;
}

void md_reg_set_store_locks(md_reg_t *reg, int on, apr_interval_time_t wait)
{
    reg->use_locks = on;
    reg->lock_wait = wait;
}

apr_status_t md_reg_create(md_reg_t **preg, md_store_t *store, apr_pool_t *p)
{
    md_reg_t *reg = apr_pcalloc(p, sizeof(*reg));

    reg->p = p;
    reg->store = store;
    reg->items = apr_array_make(p, 10, sizeof(md_reg_item_t *));
    reg->by_name = apr_hash_make(p);
    *preg = reg;
    return APR_SUCCESS;
}

md_store_t *md_reg_store(md_reg_t *reg)
{
    return reg->store;
}

md_reg_item_t *md_reg_get(md_reg_t *reg, const char *name)
{
    return apr_hash_get(reg->by_name, name, APR_HASH_KEY_STRING);
}

const apr_array_header_t *md_reg_items(md_reg_t *reg)
{
    return reg->items;
}

apr_time_t md_reg_item_due(const md_reg_item_t *item, md_renew_reason_t *preason, apr_time_t now)
{
    md_renew_reason_t reason = item->reason;
    apr_time_t at;

    if (reason == MD_RENEW_NOT_DUE && item->renew_at && now >= item->renew_at) {
        reason = MD_RENEW_WINDOW; /* the time decided at start-up has come */
    }
    at = md_renew_with_ari(&reason, item->renew_at, item->ari_at, now);

    if (preason) {
        *preason = reason;
    }
    return at;
}

static const md_pkey_spec_t *spec_at(const md_t *md, int i)
{
    return APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *);
}

/* ---- 1. stored md.json ------------------------------------------------------------------------
 */

/* The stored md.json, parsed; *pjson gets its JSON (NULL when there is none or it is broken). */
static md_t *load_stored_md(md_json_t **pjson, md_reg_t *reg, const char *name, apr_pool_t *p)
{
    md_json_t *json = NULL;
    md_t *stored = NULL;
    const char *err = NULL;
    apr_status_t rv;

    rv = md_store_load_json(reg->store, MD_SG_DOMAINS, name, MD_FN_MD, &json, p);
    if (APR_SUCCESS == rv) {
        rv = md_from_json(&stored, json, p, &err);
        if (APR_SUCCESS != rv) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                          APLOGNO(12150) "%s: domains/%s/md.json is not usable (%s)", name, name,
                          err ? err : "invalid");
        }
    }
    if (APR_SUCCESS != rv && !APR_STATUS_IS_ENOENT(rv)) {
        md_store_set_aside(NULL, reg->store, MD_SG_DOMAINS, name, MD_FN_MD, p);
        stored = NULL;
    }
    *pjson = stored ? json : NULL;
    return stored;
}

static void take_over_stored(md_t *md, const md_t *stored)
{
    if (!stored || md->ca_account) {
        return;
    }
    if (stored->ca_url && md->ca_url && !strcmp(stored->ca_url, md->ca_url)) {
        md->ca_account = stored->ca_account;
    }
}

/* ---- 2. staged sets ----------------------------------------------------------------------------
 */

static apr_status_t check_staged_spec(md_reg_t *reg, const md_t *md, const md_pkey_spec_t *spec,
                                      const char **perr, apr_pool_t *p)
{
    md_pkey_t *pkey = NULL;
    apr_array_header_t *chain = NULL;
    const md_cert_t *cert;
    apr_status_t rv;

    rv = md_store_load(reg->store, MD_SG_STAGING, md->name, md_chain_filename(spec, p), MD_SV_CHAIN,
                       (void **)&chain, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = md_store_load(reg->store, MD_SG_STAGING, md->name, md_pkey_filename(spec, p), MD_SV_PKEY,
                       (void **)&pkey, p);
    if (APR_SUCCESS != rv) {
        *perr = apr_psprintf(p, "the %s key is missing or unreadable", md_pkey_spec_name(spec));
        return APR_EINVAL;
    }
    cert = APR_ARRAY_IDX(chain, 0, const md_cert_t *);
    /* the same checks as before a set is served without a restart (no expiry: it is new) */
    return md_hot_check_pair(perr, cert, pkey, md, spec, 0, p);
}

apr_status_t md_reg_check_staged(md_reg_t *reg, const md_t *md, md_result_t *result, apr_pool_t *p)
{
    const char *err = NULL;
    md_json_t *json = NULL;
    apr_status_t rv;
    int i;

    rv = md_store_load_json(reg->store, MD_SG_STAGING, md->name, MD_FN_MD, &json, p);
    for (i = 0; APR_SUCCESS == rv && i < md->pks->nelts; ++i) {
        rv = check_staged_spec(reg, md, spec_at(md, i), &err, p);
    }
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return rv; /* the store cannot be read now (etcd away): nothing is known of it */
    }
    if (APR_SUCCESS != rv && !APR_STATUS_IS_ENOENT(rv)) {
        if (!err) {
            err = "its files cannot be read";
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12151) "%s: the staged certificate set is not usable: %s; the "
                                     "current certificate stays in use",
                      md->name, err);
        if (result) {
            md_result_printf(result, APR_EINVAL, "staged certificate not usable: %s", err);
        }
        rv = APR_EINVAL;
    }
    return rv;
}

/* Fields of the live md.json that this module does not own (written by another mod_md version)
 * are carried into the staged one before it goes live. Done here in the parent: the child that
 * staged the set cannot read domains/. Nothing to carry is fine. */
static void carry_foreign_fields(md_reg_t *reg, const char *name, apr_pool_t *p)
{
    md_json_t *live = NULL, *staged = NULL;
    md_t *smd = NULL;

    if (APR_SUCCESS != md_store_load_json(reg->store, MD_SG_DOMAINS, name, MD_FN_MD, &live, p)
        || APR_SUCCESS != md_store_load_json(reg->store, MD_SG_STAGING, name, MD_FN_MD, &staged, p)
        || APR_SUCCESS != md_from_json(&smd, staged, p, NULL)) {
        return;
    }
    staged = md_to_json_keep(smd, staged, p);
    md_json_keep_foreign(staged, live, p);
    md_store_save_json(reg->store, MD_SG_STAGING, name, MD_FN_MD, staged, p);
}

/* MDActivationDelay: a staged certificate goes live only once it has been valid that long, so
 * that clients with a clock behind do not see a certificate "from the future". */
static int activation_due(md_reg_t *reg, md_reg_item_t *item, apr_time_t now, apr_pool_t *p)
{
    const md_t *md = item->md;
    apr_array_header_t *chain = NULL;
    apr_time_t at;

    if (reg->activation_delay <= 0
        || APR_SUCCESS
               != md_store_load(reg->store, MD_SG_STAGING, md->name,
                                md_chain_filename(spec_at(md, 0), p), MD_SV_CHAIN, (void **)&chain,
                                p)) {
        return 1;
    }
    at = md_hot_live_at(md_cert_get_not_before(APR_ARRAY_IDX(chain, 0, const md_cert_t *)),
                        reg->activation_delay);
    if (at <= now) {
        return 1;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p,
                  APLOGNO(12400) "%s: the renewed certificate waits for MDActivationDelay %s: it "
                                 "goes live at the first restart after %s",
                  md->name, md_duration_format(reg->activation_delay, p), md_time_rfc3339(at, p));
    item->is_staged = 1;
    return 0;
}

/* A checked staged set goes live: its account is installed, the foreign fields of the live
 * md.json carried over, and the store switches the sets. */
static apr_status_t activate_checked(md_reg_t *reg, md_t *md, apr_pool_t *p)
{
    apr_status_t rv;

    rv = md_acme_drive_install_account(reg->store, md, p);
    if (APR_SUCCESS != rv && !APR_STATUS_IS_ENOENT(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                      APLOGNO(12152) "%s: the account of the staged set could not be installed",
                      md->name);
    }
    carry_foreign_fields(reg, md->name, p);
    /* renewal information is about the certificate that is now replaced */
    md_store_remove(reg->store, MD_SG_STAGING, md->name, MD_FN_ARI, p);
    rv = md_store_activate(reg->store, md->name, p);
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                      APLOGNO(12153) "%s: activated the renewed certificate", md->name);
    }
    return rv;
}

apr_status_t md_reg_activate_staged(md_reg_t *reg, md_t *md, md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;

    rv = md_reg_check_staged(reg, md, result, p);
    if (APR_STATUS_IS_ENOENT(rv) && result) {
        md_result_set(result, rv, "nothing complete is staged");
    }
    if (APR_SUCCESS == rv) {
        rv = activate_checked(reg, md, p);
        if (APR_SUCCESS != rv && result) {
            md_result_set(result, rv, "activating the staged set");
        }
    }
    return rv;
}

/* MDStoreLocks: the lock of a staged set that is to go live; NULL (with the set kept for the
 * next restart) while another server holds it, or when it was activated meanwhile. */
static md_store_lock_t *lock_staged(md_reg_t *reg, md_reg_item_t *item, apr_pool_t *p)
{
    md_store_lock_t *lock = NULL;
    apr_status_t rv = md_store_lock(&lock, reg->store, item->md->name, reg->lock_wait, p);

    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                      APLOGNO(13407) "%s: unable to obtain the store lock (MDStoreLocks), the "
                                     "renewed certificate remains inactive on this server until "
                                     "its next restart%s",
                      item->md->name,
                      APR_STATUS_IS_EBUSY(rv) ? ": another server sharing the store holds it" : "");
        item->is_staged = 1;
        return NULL;
    }
    if (!APR_STATUS_IS_ENOENT(md_reg_check_staged(reg, item->md, NULL, p))) {
        return lock;
    }
    md_store_unlock(lock); /* another server activated it while this one waited */
    return NULL;
}

/* Non-zero when a staged set was activated. */
static int activate_staged(md_reg_t *reg, md_reg_item_t *item, apr_time_t now, apr_pool_t *p)
{
    md_t *md = item->md;
    md_store_lock_t *lock = NULL;
    apr_status_t rv;

    rv = md_reg_check_staged(reg, md, NULL, p);
    if (APR_STATUS_IS_ENOENT(rv) || APR_STATUS_IS_EAGAIN(rv)) {
        return 0; /* nothing staged, a job still at work, or the store is away for now */
    }
    if (APR_SUCCESS == rv && !activation_due(reg, item, now, p)) {
        return 0;
    }
    if (APR_SUCCESS != rv) {
        /* unusable: drop it so that a fresh renewal starts; the live set is untouched */
        md_store_purge(reg->store, MD_SG_STAGING, md->name, p);
        return 0;
    }
    if (reg->use_locks) {
        lock = lock_staged(reg, item, p);
        if (!lock) {
            return 0;
        }
    }
    rv = activate_checked(reg, md, p);
    md_store_unlock(lock);
    return APR_SUCCESS == rv;
}

/* ---- 3. current certificates -------------------------------------------------------------------
 */

/* A broken live pair (garbage or truncated certificate or key, or a key that does not match):
 * both files are set aside, never given to mod_ssl, and the newest archived pair of that key
 * type that is still valid for the MD's names is put back in their place. */
typedef struct {
    const char *prefix;     /* "<md>." */
    apr_array_header_t *ns; /* int, archive numbers */
} archive_scan_t;

static int collect_archive(void *baton, const char *name, apr_pool_t *ptemp)
{
    archive_scan_t *scan = baton;
    size_t plen = strlen(scan->prefix);
    char *endp = NULL;
    long n;

    (void)ptemp;
    if (strncmp(name, scan->prefix, plen) || !name[plen]) {
        return 1;
    }
    n = strtol(name + plen, &endp, 10);
    if (endp && !*endp && n > 0 && n < 100000) {
        APR_ARRAY_PUSH(scan->ns, int) = (int)n;
    }
    return 1;
}

static int cmp_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

static int pair_ok(const apr_array_header_t *chain, const md_pkey_t *pkey, const md_t *md,
                   apr_time_t now)
{
    const md_cert_t *cert = APR_ARRAY_IDX(chain, 0, const md_cert_t *);

    return md_cert_matches_key(cert, pkey) && md_cert_get_not_after(cert) > now
           && md_cert_covers_all(cert, md->domains);
}

static apr_array_header_t *restore_from_archive(md_reg_t *reg, const md_t *md, const char *cfile,
                                                const char *kfile, apr_time_t now, apr_pool_t *p)
{
    archive_scan_t scan = { apr_pstrcat(p, md->name, ".", NULL),
                            apr_array_make(p, 5, sizeof(int)) };
    apr_array_header_t *chain;
    md_pkey_t *pkey;
    const char *aname;
    int i;

    md_store_iter_names(collect_archive, &scan, reg->store, MD_SG_ARCHIVE, p);
    qsort(scan.ns->elts, (size_t)scan.ns->nelts, sizeof(int), cmp_desc);
    for (i = 0; i < scan.ns->nelts; ++i) {
        aname = apr_psprintf(p, "%s%d", scan.prefix, APR_ARRAY_IDX(scan.ns, i, int));
        chain = NULL;
        pkey = NULL;
        if (APR_SUCCESS
                != md_store_load(reg->store, MD_SG_ARCHIVE, aname, cfile, MD_SV_CHAIN,
                                 (void **)&chain, p)
            || APR_SUCCESS
                   != md_store_load(reg->store, MD_SG_ARCHIVE, aname, kfile, MD_SV_PKEY,
                                    (void **)&pkey, p)
            || !pair_ok(chain, pkey, md, now)) {
            continue;
        }
        if (APR_SUCCESS
                != md_store_save(reg->store, MD_SG_DOMAINS, md->name, kfile, MD_SV_PKEY, pkey, p)
            || APR_SUCCESS
                   != md_store_save(reg->store, MD_SG_DOMAINS, md->name, cfile, MD_SV_CHAIN, chain,
                                    p)) {
            return NULL;
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                      APLOGNO(12701) "%s: put the certificate and key of archive/%s back in use",
                      md->name, aname);
        return chain;
    }
    return NULL;
}

void md_reg_set_memo(md_reg_t *reg, apr_hash_t *memo)
{
    reg->memo = memo;
}

static const char *pair_version(md_reg_t *reg, md_store_group_t group, const char *name,
                                const char *cfile, md_store_group_t kgroup, const char *kname,
                                const char *kfile, apr_pool_t *p)
{
    const char *cv = NULL, *kv = NULL;

    if (APR_SUCCESS != md_store_get_version(&cv, reg->store, group, name, cfile, p)
        || APR_SUCCESS != md_store_get_version(&kv, reg->store, kgroup, kname, kfile, p)) {
        return NULL;
    }
    return apr_pstrcat(p, cv, "|", kv, NULL);
}

/* The remembered facts of 'key' if they are for this 'version' and these names, else NULL. */
static const cert_facts_t *facts_get(md_reg_t *reg, const char *key, const char *version,
                                     const md_t *md, apr_pool_t *p)
{
    const cert_facts_t *f;

    if (!reg->memo || !version) {
        return NULL;
    }
    f = apr_hash_get(reg->memo, key, APR_HASH_KEY_STRING);
    if (!f || strcmp(f->version, version)
        || strcmp(f->domains, md_array_str_join(md->domains, " ", p))) {
        return NULL;
    }
    return f;
}

/* md.json's record of one certificate's facts (MD_KEY_CERT_FACTS) */
#define FACT_VERSION  "version"
#define FACT_DOMAINS  "domains"
#define FACT_FROM     "not-before"
#define FACT_UNTIL    "not-after"
#define FACT_COVERS   "covers-all"

/* The text facts: how each is learned from a certificate and named in md.json. */
static const struct {
    const char *key;
    size_t offset; /* of the const char * in md_reg_cert_info_t */
    const char *(*get)(const md_cert_t *cert, apr_pool_t *p);
    int is_required; /* a stored record without it is not as this module writes them */
} text_facts[] = {
    { "issuer", offsetof(md_reg_cert_info_t, issuer), md_cert_get_issuer, 0 },
    { "serial", offsetof(md_reg_cert_info_t, serial), md_cert_get_serial, 1 },
    { "sha256", offsetof(md_reg_cert_info_t, sha256_fingerprint), md_cert_get_sha256_fingerprint,
      1 },
    { "ari-cert-id", offsetof(md_reg_cert_info_t, ari_cert_id), md_cert_get_ari_cert_id, 0 },
    { "sha1", offsetof(md_reg_cert_info_t, sha1), md_cert_get_sha1_hex, 1 },
};

static const char **text_fact(md_reg_cert_info_t *info, size_t i)
{
    return (const char **)(void *)((char *)info + text_facts[i].offset);
}

static const char *text_fact_of(const md_reg_cert_info_t *info, size_t i)
{
    return *(const char *const *)(const void *)((const char *)info + text_facts[i].offset);
}

static const cert_facts_t *facts_put(md_reg_t *reg, const char *key, const char *version,
                                     const md_t *md, const md_cert_t *cert, int is_usable,
                                     apr_pool_t *p)
{
    apr_pool_t *mp = reg->memo ? apr_hash_pool_get(reg->memo) : p;
    cert_facts_t *f = apr_pcalloc(mp, sizeof(*f));
    size_t i;

    f->version = apr_pstrdup(mp, version ? version : "");
    f->domains = apr_pstrdup(mp, md_array_str_join(md->domains, " ", p));
    f->info.not_before = md_cert_get_not_before(cert);
    f->info.not_after = md_cert_get_not_after(cert);
    for (i = 0; i < sizeof(text_facts) / sizeof(text_facts[0]); ++i) {
        *text_fact(&f->info, i) = text_facts[i].get(cert, mp);
    }
    f->covers_all = md_cert_covers_all(cert, md->domains);
    f->is_usable = is_usable;
    if (reg->memo && version) {
        apr_hash_set(reg->memo, apr_pstrdup(mp, key), APR_HASH_KEY_STRING, f);
    }
    return f;
}

static md_json_t *facts_to_json(const cert_facts_t *f, apr_pool_t *p)
{
    md_json_t *j = md_json_create(p);
    size_t i;

    md_json_sets(f->version, j, FACT_VERSION);
    md_json_sets(f->domains, j, FACT_DOMAINS);
    md_json_setl((long)f->info.not_before, j, FACT_FROM);
    md_json_setl((long)f->info.not_after, j, FACT_UNTIL);
    for (i = 0; i < sizeof(text_facts) / sizeof(text_facts[0]); ++i) {
        if (text_fact_of(&f->info, i)) {
            md_json_sets(text_fact_of(&f->info, i), j, text_facts[i].key);
        }
    }
    md_json_setb(f->covers_all, j, FACT_COVERS);
    return j;
}

/* The facts md.json keeps for 'cfile' if they are for this 'version' and these names (and
 * complete), remembered as if just learned; else NULL. */
static const cert_facts_t *facts_stored(md_reg_t *reg, const char *key, const char *cfile,
                                        const char *version, const md_t *md, apr_pool_t *p)
{
    const md_json_t *j = reg->stored_facts ? md_json_getj(reg->stored_facts, cfile) : NULL;
    apr_pool_t *mp = reg->memo ? apr_hash_pool_get(reg->memo) : p;
    const char *v, *d, *s;
    cert_facts_t *f;
    size_t i;

    v = j ? md_json_gets(j, FACT_VERSION) : NULL;
    d = j ? md_json_gets(j, FACT_DOMAINS) : NULL;
    if (!v || !d || !version || strcmp(v, version)
        || strcmp(d, md_array_str_join(md->domains, " ", p))) {
        return NULL;
    }
    f = apr_pcalloc(mp, sizeof(*f));
    f->version = apr_pstrdup(mp, v);
    f->domains = apr_pstrdup(mp, d);
    f->info.not_before = (apr_time_t)md_json_getl(j, FACT_FROM);
    f->info.not_after = (apr_time_t)md_json_getl(j, FACT_UNTIL);
    if (f->info.not_before <= 0 || f->info.not_after <= f->info.not_before) {
        return NULL; /* not as this module writes them: learn them from the files */
    }
    for (i = 0; i < sizeof(text_facts) / sizeof(text_facts[0]); ++i) {
        s = md_json_gets(j, text_facts[i].key);
        if (!s && text_facts[i].is_required) {
            return NULL;
        }
        *text_fact(&f->info, i) = s ? apr_pstrdup(mp, s) : NULL;
    }
    f->covers_all = md_json_getb(j, FACT_COVERS);
    f->is_usable = 1;
    if (reg->memo) {
        apr_hash_set(reg->memo, apr_pstrdup(mp, key), APR_HASH_KEY_STRING, f);
    }
    return f;
}

/* The live chain of one key spec; NULL when there is none (or none usable). */
static apr_array_header_t *load_live_chain(md_reg_t *reg, const md_t *md,
                                           const md_pkey_spec_t *spec, apr_time_t now,
                                           apr_pool_t *p)
{
    const char *cfile = md_chain_filename(spec, p), *kfile = md_pkey_filename(spec, p);
    apr_array_header_t *chain = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    rv = md_store_load(reg->store, MD_SG_DOMAINS, md->name, cfile, MD_SV_CHAIN, (void **)&chain, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return NULL;
    }
    if (APR_SUCCESS == rv) {
        rv = md_store_load(reg->store, MD_SG_DOMAINS, md->name, kfile, MD_SV_PKEY, (void **)&pkey,
                           p);
    }
    if (APR_SUCCESS == rv
        && md_cert_matches_key(APR_ARRAY_IDX(chain, 0, const md_cert_t *), pkey)) {
        return chain;
    }
    if (reg->is_readonly) {
        return NULL; /* only looking: no usable certificate, the files stay as they are */
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_SUCCESS == rv ? APR_EINVAL : rv, p,
                  APLOGNO(12700) "%s: domains/%s/%s and %s are no usable pair (%s); both are set "
                                 "aside, an archived pair is used if one is still valid, else "
                                 "a new certificate is obtained",
                  md->name, md->name, cfile, kfile,
                  APR_SUCCESS == rv ? "the key does not match the certificate"
                                    : "a file is damaged");
    md_store_set_aside(NULL, reg->store, MD_SG_DOMAINS, md->name, cfile, p);
    md_store_set_aside(NULL, reg->store, MD_SG_DOMAINS, md->name, kfile, p);
    return restore_from_archive(reg, md, cfile, kfile, now, p);
}

/* MDCertificateFile: the static certificate is what the MD serves, so its validity counts. The
 * configuration check made sure the files exist and match; a file gone since is logged. */
static void load_static(md_reg_item_t *item, apr_pool_t *p)
{
    const md_t *md = item->md;
    apr_array_header_t *chain = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    if (!md->cert_files || !md->cert_files->nelts) {
        return;
    }
    rv = md_util_file_read(&pem, &len, APR_ARRAY_IDX(md->cert_files, 0, const char *),
                           MD_STATIC_MAX_LEN, p);
    if (APR_SUCCESS == rv) {
        rv = md_chain_from_pem(&chain, p, pem, len);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12401) "%s: cannot read the certificate of MDCertificateFile %s",
                      md->name, APR_ARRAY_IDX(md->cert_files, 0, const char *));
        return;
    }
    item->has_cert = 1;
    item->valid_from = md_cert_get_not_before(APR_ARRAY_IDX(chain, 0, const md_cert_t *));
    item->valid_until = md_cert_get_not_after(APR_ARRAY_IDX(chain, 0, const md_cert_t *));
}

/* The facts of the live certificate of one key spec, from the memo or from the files; NULL
 * when there is no (usable) certificate. */
static const cert_facts_t *live_facts(md_reg_t *reg, const md_t *md, const md_pkey_spec_t *spec,
                                      apr_time_t now, apr_pool_t *p)
{
    const char *cfile = md_chain_filename(spec, p), *kfile = md_pkey_filename(spec, p);
    const char *key = apr_pstrcat(p, md->name, "/", cfile, NULL), *version;
    const cert_facts_t *f;
    apr_array_header_t *chain;

    version = pair_version(reg, MD_SG_DOMAINS, md->name, cfile, MD_SG_DOMAINS, md->name, kfile, p);
    f = facts_get(reg, key, version, md, p);
    if (!f) {
        f = facts_stored(reg, key, cfile, version, md, p);
    }
    if (f) {
        return f;
    }
    chain = load_live_chain(reg, md, spec, now, p);
    if (!chain) {
        return NULL;
    }
    /* the files may have been restored from the archive: take the version they have now */
    version = pair_version(reg, MD_SG_DOMAINS, md->name, cfile, MD_SG_DOMAINS, md->name, kfile, p);
    return facts_put(reg, key, version, md, APR_ARRAY_IDX(chain, 0, const md_cert_t *), 1, p);
}

apr_status_t md_reg_live_cert_info(md_reg_cert_info_t *info, md_reg_t *reg, const md_t *md,
                                   const md_pkey_spec_t *spec, apr_pool_t *p)
{
    const cert_facts_t *f = live_facts(reg, md, spec, apr_time_now(), p);

    if (!f) {
        return APR_ENOENT;
    }
    *info = f->info;
    return APR_SUCCESS;
}

/* Returns the facts of each key spec's live certificate (NULL where there is none), in 'p'. */
static const cert_facts_t **load_current(md_reg_t *reg, md_reg_item_t *item, apr_time_t now,
                                         apr_pool_t *p)
{
    md_t *md = item->md;
    const cert_facts_t *f, **all = apr_pcalloc(p, sizeof(*all) * (apr_size_t)(md->pks->nelts + 1));
    md_renew_reason_t reason;
    const char *descr = NULL;
    apr_time_t at;
    int i;

    item->reason = MD_RENEW_NOT_DUE;
    item->renew_at = 0;
    item->ari_ids = apr_array_make(reg->p, md->pks->nelts, sizeof(const char *));
    for (i = 0; i < md->pks->nelts; ++i) {
        f = all[i] = live_facts(reg, md, spec_at(md, i), now, p);
        APR_ARRAY_PUSH(item->ari_ids, const char *) =
            (f && f->info.ari_cert_id) ? apr_pstrdup(reg->p, f->info.ari_cert_id) : NULL;
        if (!f) {
            reason = md_renew_due(&at, 0, 0, 0, md->renew_window, now);
            if (!descr) {
                descr = apr_psprintf(reg->p, "certificate(%s) is missing",
                                     md_pkey_spec_name(spec_at(md, i)));
            }
        }
        else {
            if (!f->covers_all && !descr) {
                descr = apr_psprintf(reg->p, "certificate(%s) does not cover all domains.",
                                     md_pkey_spec_name(spec_at(md, i)));
            }
            if (!item->has_cert) {
                item->valid_from = f->info.not_before;
                item->valid_until = f->info.not_after;
            }
            item->has_cert = 1;
            reason = md_renew_due_spread(&at, md->name, f->info.not_before, f->info.not_after,
                                         f->covers_all,
                                         md_renew_window_for(md->renew_window,
                                                             md->is_default_renew_window,
                                                             f->info.not_before, f->info.not_after),
                                         now);
        }
        if (i == 0 || at < item->renew_at) {
            item->renew_at = at;
            item->reason = reason;
        }
    }
    load_static(item, p);
    if (md->cert_files && md->cert_files->nelts) {
        descr = item->has_cert ? NULL : descr;
    }
    if (md->state != MD_S_ERROR) {
        /* an error found in the configuration (set before the sync) stays. As in the stock
         * module, an MD lacking a certificate for a key type, or with one that misses names,
         * is incomplete, and "state-descr" says why in the stock module's words. */
        md->state = (item->has_cert && !descr) ? MD_S_COMPLETE : MD_S_INCOMPLETE;
        md->state_descr = (md->state == MD_S_INCOMPLETE) ? descr : NULL;
    }
    return all;
}

/* ---- 5. fallback -------------------------------------------------------------------------------
 */

static apr_status_t get_fallback_key(md_reg_t *reg, apr_pool_t *p)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "secp256r1" };
    apr_status_t rv;

    if (reg->fallback_key) {
        return APR_SUCCESS;
    }
    rv = md_store_load(reg->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY, MD_SV_PKEY,
                       (void **)&reg->fallback_key, reg->p);
    if (APR_SUCCESS == rv) {
        return rv;
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        md_store_set_aside(NULL, reg->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY, p);
    }
    rv = md_pkey_gen(&reg->fallback_key, reg->p, &spec);
    if (APR_SUCCESS == rv) {
        rv = md_store_save(reg->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY, MD_SV_PKEY,
                           reg->fallback_key, p);
    }
    return rv;
}

/* The key of an MD's fallback certificate: the stock module keeps one per MD in
 * domains/<md>/fallback-privkey.pem and pairs it with domains/<md>/fallback-pubcert.pem without
 * checking; when that file is there, we use it too, so the pair stays matched for both modules.
 * Otherwise the shared key at the top of the store. A broken per-MD key is set aside. */
static md_pkey_t *fallback_key_of(md_reg_t *reg, const md_t *md, apr_pool_t *p)
{
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    rv = md_store_load(reg->store, MD_SG_DOMAINS, md->name, MD_FN_FALLBACK_PKEY, MD_SV_PKEY,
                       (void **)&pkey, p);
    if (APR_SUCCESS == rv) {
        return pkey;
    }
    if (!APR_STATUS_IS_ENOENT(rv)) {
        md_store_set_aside(NULL, reg->store, MD_SG_DOMAINS, md->name, MD_FN_FALLBACK_PKEY, p);
    }
    return reg->fallback_key;
}

static const char *fallback_version(md_reg_t *reg, const md_t *md, apr_pool_t *p)
{
    const char *cv = NULL, *kv = NULL;

    if (APR_SUCCESS
        != md_store_get_version(&cv, reg->store, MD_SG_DOMAINS, md->name, MD_FN_FALLBACK_CERT, p)) {
        return NULL;
    }
    if (APR_SUCCESS
            != md_store_get_version(&kv, reg->store, MD_SG_DOMAINS, md->name, MD_FN_FALLBACK_PKEY,
                                    p)
        && APR_SUCCESS
               != md_store_get_version(&kv, reg->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY, p)) {
        kv = "-";
    }
    return apr_pstrcat(p, cv, "|", kv, NULL);
}

static int fallback_usable(md_reg_t *reg, const md_t *md, const md_pkey_t *pkey, apr_time_t now,
                           apr_pool_t *p)
{
    const char *key = apr_pstrcat(p, md->name, "/" MD_FN_FALLBACK_CERT, NULL);
    const char *version = fallback_version(reg, md, p);
    apr_array_header_t *chain = NULL;
    const md_cert_t *cert;
    const cert_facts_t *f;

    if (!version) {
        return 0;
    }
    f = facts_get(reg, key, version, md, p);
    if (!f) {
        if (APR_SUCCESS
            != md_store_load(reg->store, MD_SG_DOMAINS, md->name, MD_FN_FALLBACK_CERT, MD_SV_CHAIN,
                             (void **)&chain, p)) {
            return 0;
        }
        cert = APR_ARRAY_IDX(chain, 0, const md_cert_t *);
        f = facts_put(reg, key, version, md, cert, md_cert_matches_key(cert, pkey), p);
    }
    return f->info.not_after - now > FALLBACK_MIN_LEFT && f->covers_all && f->is_usable;
}

static apr_status_t ensure_fallback(md_reg_t *reg, const md_t *md, apr_time_t now, apr_pool_t *p)
{
    apr_array_header_t *chain;
    md_cert_t *cert = NULL;
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    rv = get_fallback_key(reg, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    pkey = fallback_key_of(reg, md, p);
    if (fallback_usable(reg, md, pkey, now, p)) {
        goto leave;
    }
    rv = md_cert_self_sign(&cert, FALLBACK_ORG, md->domains, pkey, FALLBACK_VALID, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    chain = apr_array_make(p, 1, sizeof(md_cert_t *));
    APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
    rv = md_store_save_regenerable(reg->store, MD_SG_DOMAINS, md->name, MD_FN_FALLBACK_CERT,
                                   MD_SV_CHAIN, chain, p);
    reg->has_unflushed = 1;
    if (APR_SUCCESS == rv) {
        /* remembered, so the second start-up pass and later restarts need not parse it */
        facts_put(reg, apr_pstrcat(p, md->name, "/" MD_FN_FALLBACK_CERT, NULL),
                  fallback_version(reg, md, p), md, cert, 1, p);
    }
leave:
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12154) "%s: cannot make the fallback certificate", md->name);
    }
    return rv;
}

apr_status_t md_reg_get_fallback_files(const char **pcertfile, const char **pkeyfile, md_reg_t *reg,
                                       const md_reg_item_t *item, apr_pool_t *p)
{
    apr_status_t rv;

    rv = md_store_get_fname(pcertfile, reg->store, MD_SG_DOMAINS, item->md->name,
                            MD_FN_FALLBACK_CERT, p);
    if (APR_SUCCESS == rv) {
        /* the per-MD key (see fallback_key_of), when there is one */
        rv = md_store_get_fname(pkeyfile, reg->store, MD_SG_DOMAINS, item->md->name,
                                MD_FN_FALLBACK_PKEY, p);
        if (APR_SUCCESS == rv && APR_SUCCESS != md_util_is_file(*pkeyfile, p)) {
            rv = md_store_get_fname(pkeyfile, reg->store, MD_SG_NONE, NULL, MD_FN_FALLBACK_PKEY, p);
        }
    }
    if (APR_SUCCESS == rv) {
        rv = md_util_is_file(*pcertfile, p);
    }
    return rv;
}

apr_status_t md_reg_get_cred_files(apr_array_header_t *cert_files, apr_array_header_t *key_files,
                                   md_reg_t *reg, const md_reg_item_t *item, apr_pool_t *p)
{
    const md_t *md = item->md;
    const char *cfile, *kfile;
    int i, n = 0;

    if (md->cert_files && md->cert_files->nelts) {
        /* static files are served as they are, even when MDRenewMode always renews in the store */
        for (i = 0; i < md->cert_files->nelts && i < md->pkey_files->nelts; ++i) {
            APR_ARRAY_PUSH(cert_files, const char *) =
                APR_ARRAY_IDX(md->cert_files, i, const char *);
            APR_ARRAY_PUSH(key_files, const char *) =
                APR_ARRAY_IDX(md->pkey_files, i, const char *);
        }
        return APR_SUCCESS;
    }

    for (i = 0; i < md->pks->nelts; ++i) {
        if (APR_SUCCESS
                != md_store_get_fname(&cfile, reg->store, MD_SG_DOMAINS, md->name,
                                      md_chain_filename(spec_at(md, i), p), p)
            || APR_SUCCESS
                   != md_store_get_fname(&kfile, reg->store, MD_SG_DOMAINS, md->name,
                                         md_pkey_filename(spec_at(md, i), p), p)
            || APR_SUCCESS != md_util_is_file(cfile, p)
            || APR_SUCCESS != md_util_is_file(kfile, p)) {
            continue;
        }
        APR_ARRAY_PUSH(cert_files, const char *) = cfile;
        APR_ARRAY_PUSH(key_files, const char *) = kfile;
        ++n;
    }
    return n ? APR_SUCCESS : APR_ENOENT;
}

/* ---- sync --------------------------------------------------------------------------------------
 */

/* For md.json: the facts of the MD's live certificates as load_current() learned them ('all',
 * by certificate file name), NULL when there are none. Without a memo (a2md) the facts 'old'
 * holds stay as they are: they are checked against the files' versions when read. */
static md_json_t *facts_of(md_reg_t *reg, const md_t *md, const cert_facts_t **all,
                           const md_json_t *old, apr_pool_t *p)
{
    md_json_t *json = NULL;
    const cert_facts_t *f;
    int i;

    if (!reg->memo) {
        return old ? md_json_getj(old, MD_KEY_CERT_FACTS) : NULL;
    }
    for (i = 0; i < md->pks->nelts; ++i) {
        f = all[i];
        if (f && f->version[0]) {
            json = json ? json : md_json_create(p);
            md_json_setj(facts_to_json(f, p), json, md_chain_filename(spec_at(md, i), p));
        }
    }
    return json;
}

static int same_json(const md_json_t *a, const md_json_t *b, apr_pool_t *p)
{
    if (!a || !b) {
        return !a && !b;
    }
    return !strcmp(md_json_writep(a, p, MD_JSON_FMT_COMPACT),
                   md_json_writep(b, p, MD_JSON_FMT_COMPACT));
}

/* 'old' is the md.json on disk (NULL if none): what other mod_md versions wrote there is kept.
 * 'facts' (may be NULL) go into MD_KEY_CERT_FACTS. */
static apr_status_t save_if_changed(md_reg_t *reg, const md_t *md, const md_t *stored,
                                    const md_json_t *old, md_json_t *facts, apr_pool_t *p)
{
    md_json_t *json = md_to_json(md, p);

    if (stored && same_json(json, md_to_json(stored, p), p)
        && same_json(facts, old ? md_json_getj(old, MD_KEY_CERT_FACTS) : NULL, p)) {
        return APR_SUCCESS;
    }
    if (old) {
        json = md_to_json_keep(md, old, p);
    }
    if (facts) {
        md_json_setj(facts, json, MD_KEY_CERT_FACTS);
    }
    /* md.json is made from the configuration (and the account id, which is kept in
     * accounts/ too): regenerable, so thousands of MDs cost one flush, not thousands */
    reg->has_unflushed = 1;
    return md_store_save_regenerable(reg->store, MD_SG_DOMAINS, md->name, MD_FN_MD, MD_SV_JSON,
                                     json, p);
}

static apr_status_t sync_one(md_reg_t *reg, md_t *md, apr_time_t now, apr_pool_t *ptemp)
{
    md_reg_item_t *item = apr_pcalloc(reg->p, sizeof(*item));
    md_renew_reason_t reason;
    apr_time_t due_at;
    md_json_t *stored_json = NULL;
    md_t *stored;
    const cert_facts_t **facts;
    apr_status_t rv;

    item->md = md;
    APR_ARRAY_PUSH(reg->items, md_reg_item_t *) = item;
    apr_hash_set(reg->by_name, md->name, APR_HASH_KEY_STRING, item);

    /* 1. */
    stored = load_stored_md(&stored_json, reg, md->name, ptemp);
    take_over_stored(md, stored);
    /* 2. */
    item->is_activated = activate_staged(reg, item, now, ptemp);
    /* a store in etcd writes the local copy of the new set without flushing it */
    reg->has_unflushed |= item->is_activated;
    /* the account id came from the stored md.json or the activation, both read in ptemp: the
     * status pages show it for the life of the registry */
    if (md->ca_account) {
        md->ca_account = apr_pstrdup(reg->p, md->ca_account);
    }
    /* 3. */
    reg->stored_facts = stored_json ? md_json_getj(stored_json, MD_KEY_CERT_FACTS) : NULL;
    facts = load_current(reg, item, now, ptemp);
    reg->stored_facts = NULL;
    md_ari_restore(reg->store, item, ptemp);
    due_at = md_reg_item_due(item, &reason, now);
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp, APLOGNO(12155) "%s: %s, renewal %s at %s",
                  md->name, md_state_name(md->state), md_renew_reason_name(reason),
                  md_time_rfc3339(due_at, ptemp));
    /* 4. a failed write (e.g. a full disk) leaves the old md.json, logged by the store; the MD
     * still works from the configuration, so the start goes on */
    if (item->is_activated) {
        /* the staged md.json went live (with the foreign fields carried over) */
        stored_json = NULL;
        md_store_load_json(reg->store, MD_SG_DOMAINS, md->name, MD_FN_MD, &stored_json, ptemp);
    }
    save_if_changed(reg, md, stored, stored_json, facts_of(reg, md, facts, stored_json, ptemp),
                    ptemp);
    rv = APR_SUCCESS;
    /* 5. */
    if (APR_SUCCESS == rv && !item->has_cert) {
        rv = ensure_fallback(reg, md, now, ptemp);
    }
    return rv;
}

/* Regenerable writes (md.json, fallbacks) are made durable together, once. */
static void flush_written(md_reg_t *reg, apr_pool_t *p)
{
    apr_status_t rv;

    if (!reg->has_unflushed) {
        return;
    }
    reg->has_unflushed = 0;
    rv = md_store_flush(reg->store, p);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p,
                      APLOGNO(12156) "store: flushing the written files to disk failed");
    }
}

apr_status_t md_reg_sync(md_reg_t *reg, apr_array_header_t *mds, apr_time_t now, apr_pool_t *p,
                         apr_pool_t *ptemp)
{
    apr_pool_t *pmd;
    apr_status_t rv = APR_SUCCESS, rv2;
    int i;

    (void)p;
    reg->synced_at = now;
    md_names_keep(reg->store, mds, ptemp);
    rv2 = apr_pool_create(&pmd, ptemp);
    if (APR_SUCCESS != rv2) {
        return rv2;
    }
    for (i = 0; i < mds->nelts; ++i) {
        rv2 = sync_one(reg, APR_ARRAY_IDX(mds, i, md_t *), now, pmd);
        if (APR_SUCCESS != rv2) {
            rv = rv2;
        }
        apr_pool_clear(pmd);
    }
    apr_pool_destroy(pmd);
    flush_written(reg, ptemp);
    return rv;
}

apr_status_t md_reg_activate_running(md_reg_t *reg, md_reg_item_t *item, apr_time_t now,
                                     apr_pool_t *p)
{
    md_json_t *stored_json = NULL;
    md_t *stored;
    const cert_facts_t **facts;

    /* as sync_one() does at a restart: 2., 3. and 4. */
    if (!activate_staged(reg, item, now, p)) {
        return APR_EINVAL;
    }
    item->is_activated = 1;
    item->is_staged = 0;
    item->has_cert = 0;
    facts = load_current(reg, item, now, p);
    stored = load_stored_md(&stored_json, reg, item->md->name, p);
    save_if_changed(reg, item->md, stored, stored_json,
                    facts_of(reg, item->md, facts, stored_json, p), p);
    flush_written(reg, p);
    return APR_SUCCESS;
}

/* ---- stored MDs, read only (a2md) -------------------------------------------------------------
 */

static int collect_stored_name(void *baton, const char *name, apr_pool_t *ptemp)
{
    apr_array_header_t *names = baton;

    (void)ptemp;
    APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(names->pool, name);
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void md_reg_stored_defaults(md_t *md, apr_pool_t *p)
{
    md_timeslice_t *ts = NULL;
    md_pkey_spec_t *spec;
    const char *err = NULL;

    if (!md->pks->nelts) {
        spec = apr_pcalloc(p, sizeof(*spec));
        spec->type = MD_PKEY_TYPE_DEFAULT;
        spec->bits = MD_PKEY_RSA_BITS_DEF;
        APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec;
    }
    if (!md->renew_window && APR_SUCCESS == md_timeslice_parse(&ts, p, MD_REG_RENEW_WINDOW_DEF,
                                                               &err)) {
        md->renew_window = ts;
    }
    if (!md->warn_window && APR_SUCCESS == md_timeslice_parse(&ts, p, MD_REG_WARN_WINDOW_DEF,
                                                              &err)) {
        md->warn_window = ts;
    }
}

static void load_one_stored(md_reg_t *reg, const char *name, apr_time_t now, apr_pool_t *ptemp)
{
    md_json_t *json = NULL;
    md_reg_item_t *item;
    md_t *md = NULL;

    if (APR_SUCCESS != md_store_load_json(reg->store, MD_SG_DOMAINS, name, MD_FN_MD, &json, ptemp)
        || APR_SUCCESS != md_from_json(&md, json, ptemp, NULL)) {
        return; /* no (usable) md.json: not an MD of this store ('a2md check' says why) */
    }
    md = md_clone(reg->p, md);
    md_reg_stored_defaults(md, reg->p);
    item = apr_pcalloc(reg->p, sizeof(*item));
    item->md = md;
    load_current(reg, item, now, ptemp);
    if (item->has_cert && item->valid_until <= now && md->state != MD_S_ERROR) {
        md->state = MD_S_INCOMPLETE; /* expired: not usable any more */
    }
    item->is_staged = (APR_SUCCESS == md_reg_check_staged(reg, md, NULL, ptemp));
    APR_ARRAY_PUSH(reg->items, md_reg_item_t *) = item;
    apr_hash_set(reg->by_name, md->name, APR_HASH_KEY_STRING, item);
}

apr_status_t md_reg_load_stored(md_reg_t *reg, apr_time_t now, apr_pool_t *ptemp)
{
    apr_array_header_t *names = apr_array_make(ptemp, 10, sizeof(const char *));
    apr_pool_t *pmd = NULL;
    apr_status_t rv;
    int i;

    reg->is_readonly = 1;
    rv = md_store_iter_names(collect_stored_name, names, reg->store, MD_SG_DOMAINS, ptemp);
    if (APR_SUCCESS != rv && !APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_str);
    rv = apr_pool_create(&pmd, ptemp);
    for (i = 0; APR_SUCCESS == rv && i < names->nelts; ++i) {
        load_one_stored(reg, APR_ARRAY_IDX(names, i, const char *), now, pmd);
        apr_pool_clear(pmd);
    }
    return rv;
}

/* ---- stale leftovers ---------------------------------------------------------------------------
 */

typedef struct {
    md_reg_t *reg;
    md_store_group_t group;
    apr_array_header_t *stale; /* const char* */
} stale_scan_t;

static int is_known_domain(md_reg_t *reg, const char *dns)
{
    int i;

    for (i = 0; i < reg->items->nelts; ++i) {
        if (md_contains(APR_ARRAY_IDX(reg->items, i, const md_reg_item_t *)->md, dns)) {
            return 1;
        }
    }
    return 0;
}

static int collect_stale(void *baton, const char *name, apr_pool_t *ptemp)
{
    stale_scan_t *scan = baton;
    int known = (scan->group == MD_SG_STAGING) ? md_reg_get(scan->reg, name) != NULL
                                               : is_known_domain(scan->reg, name);

    (void)ptemp;
    if (!known) {
        APR_ARRAY_PUSH(scan->stale, const char *) = apr_pstrdup(scan->stale->pool, name);
    }
    return 1;
}

apr_status_t md_reg_cleanup_stale(md_reg_t *reg, apr_pool_t *p)
{
    static const md_store_group_t groups[] = { MD_SG_STAGING, MD_SG_CHALLENGES };
    stale_scan_t scan;
    const char *name;
    size_t g;
    int i;

    for (g = 0; g < sizeof(groups) / sizeof(groups[0]); ++g) {
        scan.reg = reg;
        scan.group = groups[g];
        scan.stale = apr_array_make(p, 5, sizeof(const char *));
        md_store_iter_names(collect_stale, &scan, reg->store, groups[g], p);
        for (i = 0; i < scan.stale->nelts; ++i) {
            name = APR_ARRAY_IDX(scan.stale, i, const char *);
            md_store_purge(reg->store, groups[g], name, p);
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p,
                          APLOGNO(12702) "store: removed %s/%s, no configured MD needs it",
                          md_store_group_name(groups[g]), name);
        }
    }
    return APR_SUCCESS;
}

/* ---- renew -------------------------------------------------------------------------------------
 */

/* How long a job waits for another server sharing the store to finish making an account. */
#define MD_ACCT_LOCK_WAIT apr_time_from_sec(30)

/* MDStoreLocks: take the MD's lock. *pdone when another server renewed the MD after this one
 * read the store (its stamp is newer): then there is nothing to order. */
static apr_status_t lock_renewal(md_store_lock_t **plock, int *pdone, md_reg_t *reg,
                                 md_reg_item_t *item, md_result_t *result, apr_pool_t *p)
{
    const char *name = item->md->name;
    apr_status_t rv;

    *pdone = 0;
    rv = md_store_lock(plock, reg->store, name, reg->lock_wait, p);
    if (APR_STATUS_IS_EBUSY(rv)) {
        return md_result_set(result, rv,
                             apr_psprintf(result->p,
                                          "another server sharing the store renews %s: it held "
                                          "the lock longer than %s (MDStoreLocks)",
                                          name, md_duration_format(reg->lock_wait, result->p)));
    }
    if (APR_SUCCESS != rv) {
        return md_result_set(result, rv, "taking the MD's lock in the store (MDStoreLocks)");
    }
    if ((*plock)->stamp > reg->synced_at) {
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p,
                      APLOGNO(13406) "%s: renewed by another server sharing the store on %s, "
                                     "after this one read it; nothing to order, the new "
                                     "certificate goes live here at the next restart",
                      name, md_time_rfc3339((*plock)->stamp, p));
        *pdone = 1;
    }
    return APR_SUCCESS;
}

apr_status_t md_reg_renew(md_reg_t *reg, md_reg_item_t *item, md_acme_driver_t *driver,
                          apr_pool_t *p)
{
    md_store_lock_t *lock = NULL;
    apr_status_t rv;
    const char *id;
    int i;
    int done = 0;

    driver->store = reg->store;
    driver->md = item->md;
    /* the new certificates replace the live ones (RFC 9773 5) */
    driver->replaces = apr_table_make(p, 2);
    for (i = 0; item->ari_ids && i < item->ari_ids->nelts && i < item->md->pks->nelts; ++i) {
        id = APR_ARRAY_IDX(item->ari_ids, i, const char *);
        if (id) {
            apr_table_set(driver->replaces, md_pkey_spec_name(spec_at(item->md, i)), id);
        }
    }
    md_result_activity_printf(driver->result, "renewing %s", item->md->name);
    driver->acct_lock_wait = reg->use_locks ? MD_ACCT_LOCK_WAIT : 0;
    if (reg->use_locks) {
        rv = lock_renewal(&lock, &done, reg, item, driver->result, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
    }
    rv = done ? APR_SUCCESS : md_acme_drive_renew(driver, p);
    if (APR_SUCCESS == rv && lock && !done) {
        md_store_lock_stamp(lock, apr_time_now());
    }
    md_store_unlock(lock);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* The drive staged a complete set whose keys and certificates it checked in memory (or, for
     * a set staged earlier, after reading it): reading the files again here would only repeat
     * that. The parent checks the files once more before it activates them. */
    item->is_staged = 1;
    md_result_set(driver->result, APR_SUCCESS, "certificate staged, awaiting a restart");
    return rv;
}
