/* md_status: JSON and text of the status surfaces (see md_status.h).
 *
 * 1. certificates of a group (live or staged), per key spec
 * 2. one MD: md.json + certificates + schedule + job
 * 3. certificate-status (public: only the requested MD's certificate facts)
 * 4. metrics in the Prometheus text format
 */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "md.h"
#include "md_crypt.h"
#include "md_job.h"
#include "md_ari.h"
#include "md_keys.h"
#include "md_time.h"
#include "md_version.h"
#include "md_status.h"

static const md_pkey_spec_t *spec_of(const md_t *md, int i)
{
    return APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *);
}

/* The type name used as a key in md-status: "rsa" for RSA, the curve otherwise. */
static const char *key_type_name(const md_pkey_spec_t *spec)
{
    return md_pkey_spec_name(spec);
}

static void set_validity(md_json_t *json, apr_time_t from, apr_time_t until, apr_pool_t *p)
{
    md_json_sets(md_time_http(from, p), json, MD_KEY_VALID, MD_KEY_FROM);
    md_json_sets(md_time_http(until, p), json, MD_KEY_VALID, MD_KEY_UNTIL);
}

static md_json_t *info_json(const md_reg_cert_info_t *info, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    md_json_sets(info->issuer, json, MD_KEY_ISSUER_NAME);
    set_validity(json, info->not_before, info->not_after, p);
    md_json_sets(info->serial, json, MD_KEY_SERIAL);
    md_json_sets(info->sha256_fingerprint, json, MD_KEY_SHA256_FINGERPRINT);
    if (info->ari_cert_id) {
        md_json_sets(info->ari_cert_id, json, MD_KEY_ARI_CERT_ID);
    }
    return json;
}

static void info_of(md_reg_cert_info_t *info, const md_cert_t *cert, apr_pool_t *p)
{
    info->issuer = md_cert_get_issuer(cert, p);
    info->serial = md_cert_get_serial(cert, p);
    info->sha256_fingerprint = md_cert_get_sha256_fingerprint(cert, p);
    info->ari_cert_id = md_cert_get_ari_cert_id(cert, p);
    info->sha1 = md_cert_get_sha1_hex(cert, p);
    info->not_before = md_cert_get_not_before(cert);
    info->not_after = md_cert_get_not_after(cert);
}

/* The leaf certificate of a key spec in a group, or NULL. */
static const md_cert_t *load_leaf(md_store_t *store, md_store_group_t group, const md_t *md,
                                  const md_pkey_spec_t *spec, apr_pool_t *p)
{
    apr_array_header_t *chain = NULL;

    if (APR_SUCCESS
            != md_store_load(store, group, md->name, md_chain_filename(spec, p), MD_SV_CHAIN,
                             (void **)&chain, p)
        || !chain || !chain->nelts) {
        return NULL;
    }
    return APR_ARRAY_IDX(chain, 0, const md_cert_t *);
}

/* The entry of key spec 'i' in a "cert" object; the first one found also gives the validity at
 * the top. */
static void add_cert(md_json_t *json, md_json_t *ids, const md_t *md, int i,
                     const md_reg_cert_info_t *info, int is_first, apr_pool_t *p)
{
    md_json_setj(info_json(info, p), json, key_type_name(spec_of(md, i)));
    if (ids && info->sha1) {
        md_json_sets(info->sha1, ids, key_type_name(spec_of(md, i)));
    }
    if (is_first) {
        set_validity(json, info->not_before, info->not_after, p);
    }
}

/* 1. The "cert" object: one entry per key spec that has a certificate, and the validity of the
 * first of them at the top. The live ones come from the registry (no file is read when they did
 * not change), the others from the store. */
static apr_status_t certs_json(md_json_t **pjson, md_json_t *ids, md_reg_t *reg, md_store_t *store,
                               md_store_group_t group, const md_t *md, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);
    md_reg_cert_info_t info;
    const md_cert_t *cert;
    int i, found = 0;

    *pjson = NULL;
    for (i = 0; md->pks && i < md->pks->nelts; ++i) {
        if (reg) {
            if (APR_SUCCESS != md_reg_live_cert_info(&info, reg, md, spec_of(md, i), p)) {
                continue;
            }
        }
        else {
            cert = load_leaf(store, group, md, spec_of(md, i), p);
            if (!cert) {
                continue;
            }
            info_of(&info, cert, p);
        }
        add_cert(json, ids, md, i, &info, !found, p);
        found = 1;
    }
    if (!found) {
        return APR_ENOENT;
    }
    *pjson = json;
    return APR_SUCCESS;
}

/* The text of a live entry: 'certs' and their 'ids' (when 'certs'), 'job' as the last renewal
 * (when given). Built in 'ptemp', the text in 'p'. */
static const char *entry_text(md_json_t *certs, md_json_t *ids, md_json_t *job, apr_pool_t *p,
                              apr_pool_t *ptemp)
{
    md_json_t *entry = md_json_create(ptemp);

    if (certs) {
        md_json_setj(certs, entry, MD_KEY_CERT);
        md_json_setj(ids, entry, MD_KEY_ID);
    }
    if (job) {
        md_json_setj(job, entry, MD_KEY_LAST_RENEWAL);
    }
    return md_json_writep(entry, p, MD_JSON_FMT_COMPACT);
}

const char *md_status_live_entry(const md_t *md, const apr_array_header_t *leafs, md_json_t *job,
                                 apr_pool_t *p)
{
    md_json_t *json, *ids;
    md_reg_cert_info_t info;
    const md_cert_t *cert;
    const char *text;
    apr_pool_t *ptemp;
    int i, found = 0;

    /* built in a scratch pool: only the text stays in 'p' */
    if (APR_SUCCESS != apr_pool_create(&ptemp, p)) {
        return NULL;
    }
    json = md_json_create(ptemp);
    ids = md_json_create(ptemp);
    for (i = 0; md->pks && i < md->pks->nelts && i < leafs->nelts; ++i) {
        cert = APR_ARRAY_IDX(leafs, i, const md_cert_t *);
        if (cert) {
            info_of(&info, cert, ptemp);
            add_cert(json, ids, md, i, &info, !found, ptemp);
            found = 1;
        }
    }
    text = entry_text(found ? json : NULL, ids, job, p, ptemp);
    apr_pool_destroy(ptemp);
    return text;
}

apr_status_t md_status_certs_json(md_json_t **pjson, md_store_t *store, md_store_group_t group,
                                  const md_t *md, apr_pool_t *p)
{
    return certs_json(pjson, NULL, NULL, store, group, md, p);
}

/* The entries are kept as text: as parsed JSON each would cost several times its size, in every
 * process, for every MD (with 10 000 MDs tens of megabytes). Parsed into 'p' when asked for. */
static md_json_t *live_entry(apr_hash_t *live, const md_t *md, apr_pool_t *p)
{
    const char *text = live ? apr_hash_get(live, md->name, APR_HASH_KEY_STRING) : NULL;
    md_json_t *entry = NULL;

    if (!text || APR_SUCCESS != md_json_readbuf(&entry, p, text, strlen(text), NULL)) {
        return NULL;
    }
    return entry;
}

static md_json_t *live_of(apr_hash_t *live, const md_t *md, const char *key, apr_pool_t *p)
{
    md_json_t *entry = live_entry(live, md, p);

    return entry ? md_json_getj(entry, key) : NULL;
}

apr_hash_t *md_status_live_make(md_reg_t *reg, apr_pool_t *p)
{
    const apr_array_header_t *items = md_reg_items(reg);
    apr_hash_t *live = apr_hash_make(p);
    const md_reg_item_t *item;
    md_json_t *ids, *cert = NULL, *job = NULL;
    apr_pool_t *ptemp = NULL;
    int i, has_cert, has_job;

    /* what is read goes into a scratch pool; only the entry's text is kept (in 'p'), and only
     * for an MD that has something to show */
    if (APR_SUCCESS != apr_pool_create(&ptemp, p)) {
        return live;
    }
    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        ids = md_json_create(ptemp);
        has_cert = APR_SUCCESS == certs_json(&cert, ids, reg, NULL, MD_SG_DOMAINS, item->md, ptemp);
        has_job = APR_SUCCESS
                  == md_job_load(&job, md_reg_store(reg), MD_SG_DOMAINS, item->md->name, ptemp);
        if (has_cert || has_job) {
            apr_hash_set(live, item->md->name, APR_HASH_KEY_STRING,
                         entry_text(has_cert ? cert : NULL, ids, has_job ? job : NULL, p, ptemp));
        }
        apr_pool_clear(ptemp);
    }
    apr_pool_destroy(ptemp);
    return live;
}

/* The stapling entry of 'ocsp' (md_ocsp_status_json()) with certificate id 'sha1', or NULL. */
static md_json_t *ocsp_entry(md_json_t *ocsp, const char *sha1, apr_pool_t *p)
{
    apr_array_header_t *entries = apr_array_make(p, 4, sizeof(md_json_t *));
    md_json_t *e;
    const char *id;
    int i;

    if (!ocsp || !sha1) {
        return NULL;
    }
    md_json_geta_(entries, ocsp, (const char *)NULL);
    for (i = 0; i < entries->nelts; ++i) {
        e = APR_ARRAY_IDX(entries, i, md_json_t *);
        id = md_json_gets(e, MD_KEY_ID);
        if (id && !strcmp(id, sha1)) {
            return e;
        }
    }
    return NULL;
}

static void set_http_time(md_json_t *to, const char *rfc3339, apr_pool_t *p, const char *key,
                          const char *key2)
{
    apr_time_t t = rfc3339 ? md_time_parse_any(rfc3339) : 0;

    if (t) {
        md_json_sets_(md_time_http(t, p), to, key, key2, (const char *)NULL);
    }
}

static const char *ocsp_str(md_json_t *json, const char *key)
{
    const char *s = md_json_gets(json, MD_KEY_VALID, key);
    return s ? s : "-";
}

/* A stapling entry in the shape the stock module puts it under cert.<key>.ocsp: "status",
 * "valid" {"from", "until"} and "renewal", the fetch job (HTTP dates). */
static md_json_t *ocsp_cert_json(md_json_t *e, const char *name, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p), *job = md_json_create(p);
    long errors = md_json_getl(e, MD_KEY_ERRORS);
    const char *err = md_json_gets(e, MD_KEY_LAST_ERROR);

    md_json_sets(md_json_gets(e, MD_KEY_STATUS), json, MD_KEY_STATUS);
    set_http_time(json, md_json_gets(e, MD_KEY_VALID, MD_KEY_FROM), p, MD_KEY_VALID, MD_KEY_FROM);
    set_http_time(json, md_json_gets(e, MD_KEY_VALID, MD_KEY_UNTIL), p, MD_KEY_VALID, MD_KEY_UNTIL);
    md_json_sets(name, job, MD_KEY_NAME);
    md_json_setb(errors == 0 && md_json_has_key(e, MD_KEY_VALID), job, MD_KEY_FINISHED);
    md_json_setb(0, job, MD_KEY_NOTIFIED);
    md_json_setb(0, job, MD_KEY_NOTIFIED_RENEWED);
    set_http_time(job, md_json_gets(e, MD_KEY_LAST_RUN), p, MD_KEY_LAST_RUN, NULL);
    set_http_time(job, md_json_gets(e, MD_KEY_NEXT_RUN), p, MD_KEY_NEXT_RUN, NULL);
    md_json_setl(errors, job, MD_KEY_ERRORS);
    md_json_setl(md_json_getl(e, MD_KEY_LAST, MD_KEY_STATUS), job, MD_KEY_LAST, MD_KEY_STATUS);
    md_json_sets(err ? err
                     : apr_psprintf(p, "certificate status is %s, valid %s - %s",
                                    md_json_gets(json, MD_KEY_STATUS), ocsp_str(json, MD_KEY_FROM),
                                    ocsp_str(json, MD_KEY_UNTIL)),
                 job, MD_KEY_LAST, MD_KEY_DETAIL);
    md_json_sets(apr_psprintf(p, "fetching the OCSP status of certificate %s",
                              md_json_gets(e, MD_KEY_ID)),
                 job, MD_KEY_LAST, MD_KEY_ACTIVITY);
    md_job_describe_last(md_json_getj(job, MD_KEY_LAST), p);
    md_json_setj(job, json, MD_KEY_RENEWAL);
    return json;
}

/* The live "cert" object of an MD, with each stapled certificate's OCSP state added as the
 * stock module shows it; in 'p'. */
static md_json_t *certs_with_ocsp(md_json_t *entry, const md_t *md, md_json_t *ocsp,
                                  apr_pool_t *p)
{
    md_json_t *certs = entry ? md_json_getj(entry, MD_KEY_CERT) : NULL;
    md_json_t *ids = entry ? md_json_getj(entry, MD_KEY_ID) : NULL, *e;
    const char *key;
    int i;

    if (!certs) {
        return md_json_create(p);
    }
    for (i = 0; ids && i < md->pks->nelts; ++i) {
        key = key_type_name(spec_of(md, i));
        e = ocsp_entry(ocsp, md_json_gets(ids, key), p);
        if (e && md_json_getj(certs, key)) {
            md_json_setj(ocsp_cert_json(e, md->name, p), certs, key, MD_KEY_OCSP);
        }
    }
    return certs;
}

/* 2. */
md_json_t *md_status_md_json(md_reg_t *reg, apr_hash_t *live, const md_reg_item_t *item,
                             int watched, md_json_t *ocsp, apr_pool_t *p)
{
    md_store_t *store = md_reg_store(reg);
    const md_t *md = item->md;
    md_json_t *json = md_to_json(md, p), *certs = NULL, *job = NULL, *ari = NULL;
    md_json_t *entry = live_entry(live, md, p);
    md_renew_reason_t reason = item->reason;
    apr_time_t renew_at = item->renew_at;

    if (md->state_descr) {
        md_json_sets(md->state_descr, json, MD_KEY_STATE_DESCR);
    }
    md_json_sets(md_state_name(md->state), json, MD_KEY_STATE_NAME);
    md_json_setj(certs_with_ocsp(entry, md, ocsp, p), json, MD_KEY_CERT);
    if (md->ari_renewals != 0 && APR_SUCCESS == md_ari_load(&ari, store, md->name, p)) {
        /* the process that asks the CA wrote it: its renewal time counts when earlier */
        md_json_setj(ari, json, MD_KEY_ARI);
        renew_at = md_renew_with_ari(&reason, renew_at,
                                     md_time_parse_any(md_json_gets(ari, MD_KEY_RENEW_AT)),
                                     apr_time_now());
    }
    if (renew_at) {
        md_json_sets(md_time_http(renew_at, p), json, MD_KEY_RENEW_AT);
    }
    md_json_sets(md_renew_reason_name(reason), json, MD_KEY_RENEW_REASON);
    md_json_setb(watched, json, MD_KEY_WATCHED);
    if (reason != MD_RENEW_NOT_DUE) {
        md_json_setb(1, json, MD_KEY_RENEW);
    }
    if (APR_SUCCESS == md_job_load(&job, store, MD_SG_STAGING, md->name, p)) {
        /* as stock: "cert" is there, empty while nothing is staged */
        if (APR_SUCCESS != md_status_certs_json(&certs, store, MD_SG_STAGING, md, p)) {
            certs = md_json_create(p);
        }
        md_json_setj(certs, job, MD_KEY_CERT);
        md_job_describe_last(md_json_getj(job, MD_KEY_LAST), p);
        md_json_setj(job, json, MD_KEY_RENEWAL);
    }
    job = entry ? md_json_getj(entry, MD_KEY_LAST_RENEWAL) : NULL;
    if (job) {
        md_json_setj(job, json, MD_KEY_LAST_RENEWAL);
    }
    return json;
}

static int item_name_cmp(const void *a, const void *b)
{
    return strcmp((*(const md_reg_item_t *const *)a)->md->name,
                  (*(const md_reg_item_t *const *)b)->md->name);
}

apr_array_header_t *md_status_items_sorted(md_reg_t *reg, apr_pool_t *p)
{
    apr_array_header_t *items = apr_array_copy(p, md_reg_items(reg));

    qsort(items->elts, (size_t)items->nelts, sizeof(md_reg_item_t *), item_name_cmp);
    return items;
}

md_json_t *md_status_all_json(md_reg_t *reg, apr_hash_t *live, md_json_t *ocsp, apr_pool_t *p)
{
    const apr_array_header_t *items = md_status_items_sorted(reg, p);
    md_json_t *json = md_json_create(p), *list = md_json_create_array(p), *mdj;
    const md_reg_item_t *item;
    int i;

    md_json_sets(MD_MODULE_VERSION, json, MD_KEY_VERSION);
    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        mdj = md_status_md_json(reg, live, item, item->is_watched, ocsp, p);
        /* as the stock module: the job logs only in the view of one MD */
        md_json_del(mdj, MD_KEY_RENEWAL, MD_KEY_LOG);
        md_json_del(mdj, MD_KEY_LAST_RENEWAL, MD_KEY_LOG);
        md_json_array_append(list, mdj);
    }
    md_json_setj(list, json, MD_KEY_MANAGED_DOMAINS);
    return json;
}

/* 3. The public facts of each certificate as the stock module shows them: per key type
 * "valid", "serial", "sha256-fingerprint" ({} without a certificate), "valid" of the first at
 * the top; and ours: the first one's "valid-from", "valid-until", "serial",
 * "sha256-fingerprint" at the top. 'certs' is a "cert" object (md_status_certs_json) or NULL. */
static md_json_t *cert_status_of(md_json_t *certs, const md_t *md, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p), *c, *e, *first = NULL;
    const char *key;
    int i;

    for (i = 0; i < md->pks->nelts; ++i) {
        key = key_type_name(spec_of(md, i));
        c = certs ? md_json_getj(certs, key) : NULL;
        e = md_json_create(p);
        if (c) {
            md_json_setj(md_json_getj(c, MD_KEY_VALID), e, MD_KEY_VALID);
            md_json_sets(md_json_gets(c, MD_KEY_SERIAL), e, MD_KEY_SERIAL);
            md_json_sets(md_json_gets(c, MD_KEY_SHA256_FINGERPRINT), e, MD_KEY_SHA256_FINGERPRINT);
            first = first ? first : c;
        }
        md_json_setj(e, json, key);
    }
    if (first) {
        md_json_setj(md_json_getj(certs, MD_KEY_VALID), json, MD_KEY_VALID);
        md_json_sets(md_json_gets(first, MD_KEY_VALID, MD_KEY_FROM), json, MD_KEY_VALID_FROM);
        md_json_sets(md_json_gets(first, MD_KEY_VALID, MD_KEY_UNTIL), json, MD_KEY_VALID_UNTIL);
        md_json_sets(md_json_gets(first, MD_KEY_SERIAL), json, MD_KEY_SERIAL);
        md_json_sets(md_json_gets(first, MD_KEY_SHA256_FINGERPRINT), json,
                     MD_KEY_SHA256_FINGERPRINT);
    }
    return json;
}

apr_status_t md_status_cert_status_json(md_json_t **pjson, md_reg_t *reg, apr_hash_t *live,
                                        const md_t *md, apr_pool_t *p)
{
    md_store_t *store = md_reg_store(reg);
    md_json_t *json, *job = NULL, *staged = NULL, *renewal;

    json = cert_status_of(live_of(live, md, MD_KEY_CERT, p), md, p);
    /* while a renewal runs, as stock: "renewal" with the staged certificates under "cert" ({}
     * while none is staged), and ours: their public facts as above */
    if (APR_SUCCESS == md_job_load(&job, store, MD_SG_STAGING, md->name, p)) {
        if (APR_SUCCESS != md_status_certs_json(&staged, store, MD_SG_STAGING, md, p)) {
            staged = NULL;
        }
        renewal = staged ? cert_status_of(staged, md, p) : md_json_create(p);
        md_json_setj(staged ? staged : md_json_create(p), renewal, MD_KEY_CERT);
        md_json_setj(renewal, json, MD_KEY_RENEWAL);
    }
    *pjson = json;
    return APR_SUCCESS;
}

/* 4. */
static const char *label(const char *s, apr_pool_t *p)
{
    /* label values escape backslash, quote and newline; MD names have none of these, but the
     * key type names come from the configuration */
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *o = out;

    for (; *s; ++s) {
        if (*s == '\\' || *s == '"') {
            *o++ = '\\';
        }
        else if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
            continue;
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

typedef struct {
    const char *name;
    const char *type;
    const char *help;
} metric_t;

static const metric_t metrics[] = {
    { "mod_md_cert_expiry_timestamp_seconds", "gauge",
      "When the current certificate expires (notAfter), per MD and key type" },
    { "mod_md_cert_valid_from_timestamp_seconds", "gauge",
      "When the current certificate became valid (notBefore), per MD and key type" },
    { "mod_md_renewal_due_timestamp_seconds", "gauge",
      "When the next renewal is due (renew window start, or the next retry)" },
    { "mod_md_renewal_errors", "gauge", "Failed renewal attempts in a row (0 after a success)" },
    { "mod_md_renewal_staged", "gauge", "1 when a renewed certificate awaits a graceful restart" },
    { "mod_md_state", "gauge",
      "State of the MD: 0 unknown, 1 incomplete, 2 complete, 4 error, 5 missing information" },
    { "mod_md_renewals_total", "counter", "Renewal attempts started since the server started" },
    { "mod_md_renewal_failures_total", "counter",
      "Renewal attempts that failed since the server started" },
    { "mod_md_challenge_answers_total", "counter",
      "http-01 challenge answers served since the server started" },
};

static void add_header(apr_array_header_t *out, const metric_t *m, apr_pool_t *p)
{
    APR_ARRAY_PUSH(out, const char *) =
        apr_psprintf(p, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
}

static void add_sample(apr_array_header_t *out, const metric_t *m, const char *md, const char *key,
                       apr_int64_t value, apr_pool_t *p)
{
    APR_ARRAY_PUSH(out, const char *) =
        key ? apr_psprintf(p, "%s{md=\"%s\",key=\"%s\"} %" APR_INT64_T_FMT "\n", m->name,
                           label(md, p), label(key, p), value)
            : apr_psprintf(p, "%s{md=\"%s\"} %" APR_INT64_T_FMT "\n", m->name, label(md, p), value);
}

/* The job's errors in a row and next run (from staging/job.json), 0 when none. */
static void job_facts(long *perrors, apr_time_t *pnext, md_store_t *store, const char *name,
                      apr_pool_t *p)
{
    md_json_t *job = NULL;

    *perrors = 0;
    *pnext = 0;
    if (APR_SUCCESS == md_job_load(&job, store, MD_SG_STAGING, name, p)) {
        *perrors = md_json_getl(job, MD_KEY_ERRORS);
        *pnext = md_time_parse_any(md_json_gets(job, MD_KEY_NEXT_RUN));
    }
}

/* Indexes into metrics[] */
enum { M_UNTIL, M_FROM, M_DUE, M_ERRORS, M_STAGED, M_STATE, M_RENEWALS, M_FAILURES, M_ANSWERS,
       M_COUNT };
_Static_assert(sizeof(metrics) / sizeof(metrics[0]) == M_COUNT, "a name for every metric");

/* One MD's values of every metric, learned once per request: its status entry parsed once,
 * its job.json read once, its counters looked up once. */
typedef struct {
    const md_reg_item_t *item;
    apr_int64_t *valid[2]; /* M_UNTIL, M_FROM: per key spec, in seconds */
    char *has_valid;       /* per key spec: the entry shows the certificate's validity */
    apr_int64_t value[M_COUNT];
} md_row_t;

static void row_of(md_row_t *row, md_reg_t *reg, apr_hash_t *live, const md_reg_item_t *item,
                   md_status_counters_fn *counters, void *baton, apr_pool_t *p, apr_pool_t *ptemp)
{
    int n = item->md->pks->nelts, k, w;
    md_status_counters_t c;
    md_json_t *certs = live_of(live, item->md, MD_KEY_CERT, ptemp);
    const char *t;
    apr_time_t next;
    long errors;

    row->item = item;
    row->has_valid = apr_pcalloc(p, (apr_size_t)n + 1);
    for (w = M_UNTIL; w <= M_FROM; ++w) {
        row->valid[w] = apr_pcalloc(p, sizeof(apr_int64_t) * ((apr_size_t)n + 1));
    }
    for (k = 0; certs && k < n; ++k) {
        for (w = M_UNTIL; w <= M_FROM; ++w) {
            t = md_json_gets(certs, key_type_name(spec_of(item->md, k)), MD_KEY_VALID,
                             w == M_FROM ? MD_KEY_FROM : MD_KEY_UNTIL);
            if (t) {
                row->valid[w][k] = apr_time_sec(md_time_parse_any(t));
                row->has_valid[k] |= (char)(1 << w);
            }
        }
    }
    job_facts(&errors, &next, md_reg_store(reg), item->md->name, ptemp);
    row->value[M_DUE] = apr_time_sec(next > item->renew_at ? next : item->renew_at);
    row->value[M_ERRORS] = errors;
    row->value[M_STAGED] =
        item->is_staged || APR_SUCCESS == md_reg_check_staged(reg, item->md, NULL, ptemp);
    row->value[M_STATE] = (apr_int64_t)item->md->state;
    memset(&c, 0, sizeof(c));
    if (counters) {
        counters(&c, baton, item->md->name);
    }
    row->value[M_RENEWALS] = (apr_int64_t)c.renewals;
    row->value[M_FAILURES] = (apr_int64_t)c.failures;
    row->value[M_ANSWERS] = (apr_int64_t)c.challenges;
}

/* The samples of metric 'm' (0 <= m < M_COUNT), one per MD or, for validity, per certificate */
static void add_samples(apr_array_header_t *out, const md_row_t *rows, int nrows, int m,
                        apr_pool_t *p)
{
    const metric_t *metric = &metrics[m];
    const md_t *md;
    int i, k;

    for (i = 0; i < nrows; ++i) {
        md = rows[i].item->md;
        for (k = 0; m <= M_FROM && k < md->pks->nelts; ++k) {
            if (rows[i].has_valid[k] & (1 << m)) {
                add_sample(out, metric, md->name, key_type_name(spec_of(md, k)),
                           rows[i].valid[m][k], p);
            }
        }
        if (m > M_FROM && m < M_COUNT) {
            add_sample(out, metric, md->name, NULL, rows[i].value[m], p);
        }
    }
}

const char *md_status_metrics_text(md_reg_t *reg, apr_hash_t *live, md_status_counters_fn *counters,
                                   void *baton, apr_pool_t *p)
{
    const apr_array_header_t *items = md_reg_items(reg);
    apr_array_header_t *out = apr_array_make(p, 64, sizeof(const char *));
    md_row_t *rows = apr_pcalloc(p, sizeof(*rows) * ((apr_size_t)items->nelts + 1));
    apr_pool_t *ptemp = NULL;
    int m, i;

    if (APR_SUCCESS != apr_pool_create(&ptemp, p)) {
        return "";
    }
    for (i = 0; i < items->nelts; ++i) {
        row_of(&rows[i], reg, live, APR_ARRAY_IDX(items, i, const md_reg_item_t *), counters,
               baton, p, ptemp);
        apr_pool_clear(ptemp);
    }
    apr_pool_destroy(ptemp);
    for (m = 0; m < M_COUNT; ++m) {
        add_header(out, &metrics[m], p);
        add_samples(out, rows, items->nelts, m, p);
    }
    return apr_array_pstrcat(p, out, '\0');
}
