/* md: the Managed Domain model and its md.json form (see md.h).
 *
 * The JSON layout follows the stock module so both read each other's stores: numbers for
 * state, renew-mode and transitive, strings for the windows ("33%", "21d"), "privkey" as one
 * spec object or an array of them, "require-https" only when on.
 */
#include <string.h>

#include <apr_strings.h>

#include "md_log.h"
#include "md_util.h"
#include "md_keys.h"
#include "md_json.h"
#include "md_time.h"
#include "md_crypt.h"
#include "md.h"

md_t *md_create_empty(apr_pool_t *p)
{
    md_t *md = apr_pcalloc(p, sizeof(*md));

    md->domains = apr_array_make(p, 5, sizeof(const char *));
    md->contacts = apr_array_make(p, 5, sizeof(const char *));
    md->pks = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    md->ca_challenges = apr_array_make(p, 3, sizeof(const char *));
    md->cert_files = apr_array_make(p, 1, sizeof(const char *));
    md->pkey_files = apr_array_make(p, 1, sizeof(const char *));
    md->acme_tls_1_domains = apr_array_make(p, 2, sizeof(const char *));
    md->renew_mode = MD_RENEW_DEFAULT;
    md->require_https = MD_REQUIRE_UNSET;
    md->must_staple = MD_UNSET;
    md->stapling = MD_UNSET;
    md->transitive = MD_UNSET;
    md->dns01_version = MD_UNSET;
    md->profile_mandatory = MD_UNSET;
    md->ari_renewals = MD_UNSET;
    md->state = MD_S_UNKNOWN;
    return md;
}

static const char *dup_or_null(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

static const md_timeslice_t *ts_clone(apr_pool_t *p, const md_timeslice_t *ts)
{
    return ts ? apr_pmemdup(p, ts, sizeof(*ts)) : NULL;
}

static apr_array_header_t *pks_clone(apr_pool_t *p, const apr_array_header_t *pks)
{
    apr_array_header_t *r = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    md_pkey_spec_t *spec;
    int i;

    for (i = 0; pks && i < pks->nelts; ++i) {
        spec = apr_pmemdup(p, APR_ARRAY_IDX(pks, i, const md_pkey_spec_t *), sizeof(*spec));
        spec->curve = dup_or_null(p, spec->curve);
        APR_ARRAY_PUSH(r, md_pkey_spec_t *) = spec;
    }
    return r;
}

md_t *md_clone(apr_pool_t *p, const md_t *src)
{
    md_t *md = apr_pmemdup(p, src, sizeof(*md));

    md->name = dup_or_null(p, src->name);
    md->domains = md_array_str_clone(p, src->domains);
    md->contacts = md_array_str_clone(p, src->contacts);
    md->renew_window = ts_clone(p, src->renew_window);
    md->warn_window = ts_clone(p, src->warn_window);
    md->pks = pks_clone(p, src->pks);
    md->ca_url = dup_or_null(p, src->ca_url);
    md->ca_urls = src->ca_urls ? md_array_str_clone(p, src->ca_urls) : NULL;
    md->eab_kid = dup_or_null(p, src->eab_kid);
    md->eab_hmac = dup_or_null(p, src->eab_hmac);
    md->profile = dup_or_null(p, src->profile);
    md->ca_proto = dup_or_null(p, src->ca_proto);
    md->ca_account = dup_or_null(p, src->ca_account);
    md->ca_agreement = dup_or_null(p, src->ca_agreement);
    md->ca_challenges = md_array_str_clone(p, src->ca_challenges);
    md->cert_files = md_array_str_clone(p, src->cert_files);
    md->pkey_files = md_array_str_clone(p, src->pkey_files);
    md->acme_tls_1_domains = md_array_str_clone(p, src->acme_tls_1_domains);
    md->dns01_cmd = dup_or_null(p, src->dns01_cmd);
    md->state_descr = dup_or_null(p, src->state_descr);
    md->defn_name = dup_or_null(p, src->defn_name);
    return md;
}

const apr_array_header_t *md_ca_urls(const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *urls;

    if (md->ca_urls && md->ca_urls->nelts) {
        return md->ca_urls;
    }
    urls = apr_array_make(p, 1, sizeof(const char *));
    if (md->ca_url) {
        APR_ARRAY_PUSH(urls, const char *) = md->ca_url;
    }
    return urls;
}

int md_has_eab(const md_t *md)
{
    return md->eab_kid && *md->eab_kid && strcmp(md->eab_kid, "none") != 0;
}

int md_has_wildcard(const md_t *md)
{
    int i;

    for (i = 0; md->domains && i < md->domains->nelts; ++i) {
        if (!strncmp(APR_ARRAY_IDX(md->domains, i, const char *), "*.", 2)) {
            return 1;
        }
    }
    return 0;
}

int md_contains(const md_t *md, const char *domain)
{
    return md_array_str_index(md->domains, domain, 0, 0) >= 0;
}

const char *md_common_name(const md_t *md1, const md_t *md2)
{
    const char *d;
    int i;

    if (!md1 || !md2 || !md1->domains || !md2->domains) {
        return NULL;
    }
    for (i = 0; i < md2->domains->nelts; ++i) {
        d = APR_ARRAY_IDX(md2->domains, i, const char *);
        if (md_contains(md1, d)) {
            return d;
        }
    }
    return NULL;
}

/* ---- md.json -------------------------------------------------------------------------------- */

static md_json_t *pks_to_json(const apr_array_header_t *pks, apr_pool_t *p)
{
    md_json_t *arr;
    int i;

    if (pks->nelts == 1) {
        return md_pkey_spec_to_json(APR_ARRAY_IDX(pks, 0, const md_pkey_spec_t *), p);
    }
    arr = md_json_create_array(p);
    for (i = 0; i < pks->nelts; ++i) {
        md_json_array_append(arr,
                             md_pkey_spec_to_json(APR_ARRAY_IDX(pks, i, const md_pkey_spec_t *),
                                                  p));
    }
    return arr;
}

/* The fields of the features of today's CAs, named as the stock module writes them: "eab" with
 * the kid only (the HMAC is a secret and stays in the configuration), "profile",
 * "profile-mandatory" and "ari-renewals" (both always, as booleans). */
static void cas_to_json(md_json_t *json, const md_t *md)
{
    if (md_has_eab(md)) {
        md_json_sets(md->eab_kid, json, MD_KEY_EAB, MD_KEY_KID);
    }
    if (md->profile) {
        md_json_sets(md->profile, json, MD_KEY_PROFILE);
    }
    md_json_setb(md->profile_mandatory > 0, json, MD_KEY_PROFILE_MANDATORY);
    md_json_setb(md->ari_renewals != 0, json, MD_KEY_ARI_RENEWALS);
}

md_json_t *md_to_json(const md_t *md, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    md_json_sets(md->name, json, MD_KEY_NAME);
    md_json_setsa(md->domains, json, MD_KEY_DOMAINS);
    md_json_setsa(md->contacts, json, MD_KEY_CONTACTS);
    md_json_setl(md->transitive, json, MD_KEY_TRANSITIVE);
    if (md->ca_url) {
        /* stock 2.x reads "url", newer ones the list "urls" (all configured CAs, in order):
         * write both */
        md_json_sets(md->ca_url, json, MD_KEY_CA, MD_KEY_URL);
        md_json_setsa(md_ca_urls(md, p), json, MD_KEY_CA, MD_KEY_URLS);
    }
    if (md->ca_proto) {
        md_json_sets(md->ca_proto, json, MD_KEY_CA, MD_KEY_PROTO);
    }
    if (md->ca_account) {
        md_json_sets(md->ca_account, json, MD_KEY_CA, MD_KEY_ACCOUNT);
    }
    if (md->ca_agreement) {
        md_json_sets(md->ca_agreement, json, MD_KEY_CA, MD_KEY_AGREEMENT);
    }
    if (md->ca_challenges && md->ca_challenges->nelts > 0) {
        md_json_setsa(md->ca_challenges, json, MD_KEY_CA, MD_KEY_CHALLENGES);
    }
    /* the stock module writes no "privkey" for the default key type */
    if (md->pks && md->pks->nelts > 0
        && !(md->pks->nelts == 1
             && APR_ARRAY_IDX(md->pks, 0, const md_pkey_spec_t *)->type == MD_PKEY_TYPE_DEFAULT)) {
        md_json_setj(pks_to_json(md->pks, p), json, MD_KEY_PKEY);
    }
    md_json_setl((long)md->state, json, MD_KEY_STATE);
    md_json_setl(md->renew_mode, json, MD_KEY_RENEW_MODE);
    if (md->renew_window) {
        md_json_sets(md_timeslice_format(md->renew_window, p), json, MD_KEY_RENEW_WINDOW);
    }
    if (md->warn_window) {
        md_json_sets(md_timeslice_format(md->warn_window, p), json, MD_KEY_WARN_WINDOW);
    }
    if (md->require_https == MD_REQUIRE_TEMPORARY) {
        md_json_sets("temporary", json, MD_KEY_REQUIRE_HTTPS);
    }
    else if (md->require_https == MD_REQUIRE_PERMANENT) {
        md_json_sets("permanent", json, MD_KEY_REQUIRE_HTTPS);
    }
    md_json_setb(md->must_staple > 0, json, MD_KEY_MUST_STAPLE);
    /* as the stock module: the names that can answer tls-alpn-01, and MDStapling */
    md_json_setsa(md->acme_tls_1_domains ? md->acme_tls_1_domains
                                         : apr_array_make(p, 1, sizeof(const char *)),
                  json, MD_KEY_PROTO, MD_KEY_ACME_TLS_1);
    md_json_setb(md->stapling > 0, json, MD_KEY_STAPLING);
    cas_to_json(json, md);
    return json;
}

/* Fields of md.json this module owns: when it rewrites the file, it decides about these. Any
 * other field (written by the stock module for features this one lacks, e.g. "ari-renewals") is
 * carried over unchanged, so switching back loses nothing. */
static const char *const owned_top[] = {
    MD_KEY_NAME,
    MD_KEY_DOMAINS,
    MD_KEY_CONTACTS,
    MD_KEY_TRANSITIVE,
    MD_KEY_CA,
    MD_KEY_PKEY,
    MD_KEY_STATE,
    MD_KEY_RENEW_MODE,
    MD_KEY_RENEW_WINDOW,
    MD_KEY_WARN_WINDOW,
    MD_KEY_REQUIRE_HTTPS,
    MD_KEY_MUST_STAPLE,
    MD_KEY_PROTO,
    MD_KEY_STAPLING,
    MD_KEY_EAB, /* owned, so that an HMAC the stock module wrote here is not carried over */
    MD_KEY_PROFILE,
    MD_KEY_PROFILE_MANDATORY,
    MD_KEY_ARI_RENEWALS,
    MD_KEY_CERT_FACTS, /* written anew by the sync (md_reg.c), never carried over */
    NULL,
};
static const char *const owned_ca[] = {
    MD_KEY_URL,       MD_KEY_URLS,       MD_KEY_PROTO, MD_KEY_ACCOUNT,
    MD_KEY_AGREEMENT, MD_KEY_CHALLENGES, NULL,
};

md_json_t *md_to_json_keep(const md_t *md, const md_json_t *old, apr_pool_t *p)
{
    md_json_t *json = md_to_json(md, p);

    md_json_keep_foreign(json, old, p);
    return json;
}

void md_json_keep_foreign(md_json_t *json, const md_json_t *old, apr_pool_t *p)
{
    md_json_t *oca, *nca;

    if (!old || !md_json_is_object(old)) {
        return;
    }
    md_json_copy_missing(json, old, owned_top);
    oca = md_json_getj(old, MD_KEY_CA);
    if (oca && md_json_is_object(oca)) {
        nca = md_json_getj(json, MD_KEY_CA);
        if (!nca) {
            md_json_setj(md_json_create(p), json, MD_KEY_CA);
            nca = md_json_getj(json, MD_KEY_CA);
        }
        md_json_copy_missing(nca, oca, owned_ca);
    }
}

static apr_status_t pks_from_json(md_t *md, const md_json_t *json, apr_pool_t *p, const char **perr)
{
    apr_array_header_t *elts = apr_array_make(p, 2, sizeof(md_json_t *));
    md_json_t *pj = md_json_getj(json, MD_KEY_PKEY);
    md_pkey_spec_t *spec;
    int i;

    if (!pj) {
        return APR_SUCCESS;
    }
    if (md_json_is_array(pj)) {
        md_json_geta(elts, json, MD_KEY_PKEY);
    }
    else {
        APR_ARRAY_PUSH(elts, md_json_t *) = pj;
    }
    for (i = 0; i < elts->nelts; ++i) {
        spec = md_pkey_spec_from_json(APR_ARRAY_IDX(elts, i, const md_json_t *), p);
        if (!spec) {
            *perr = apr_psprintf(p, "md %s: unusable '%s' entry", md->name, MD_KEY_PKEY);
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec;
    }
    return APR_SUCCESS;
}

static apr_status_t window_from_json(const md_timeslice_t **pts, const md_json_t *json,
                                     const char *key, const char *name, apr_pool_t *p,
                                     const char **perr)
{
    md_timeslice_t *ts = NULL;
    const char *s = md_json_gets(json, key);
    const char *err = NULL;

    if (!s) {
        return APR_SUCCESS;
    }
    if (APR_SUCCESS != md_timeslice_parse(&ts, p, s, &err)) {
        *perr = apr_psprintf(p, "md %s: bad '%s': %s", name, key, err ? err : s);
        return APR_EINVAL;
    }
    *pts = ts;
    return APR_SUCCESS;
}

static void ca_from_json(md_t *md, const md_json_t *json, apr_pool_t *p)
{
    apr_array_header_t *urls;

    urls = apr_array_make(p, 2, sizeof(const char *));
    md_json_getsa(urls, json, MD_KEY_CA, MD_KEY_URLS);
    md->ca_urls = (urls->nelts > 0) ? urls : NULL;
    md->ca_url = md_json_gets(json, MD_KEY_CA, MD_KEY_URL);
    if (!md->ca_url) { /* newer stock versions only list "urls" */
        md->ca_url = (urls->nelts > 0) ? APR_ARRAY_IDX(urls, 0, const char *) : NULL;
    }
    md->ca_proto = md_json_gets(json, MD_KEY_CA, MD_KEY_PROTO);
    md->ca_account = md_json_gets(json, MD_KEY_CA, MD_KEY_ACCOUNT);
    md->ca_agreement = md_json_gets(json, MD_KEY_CA, MD_KEY_AGREEMENT);
    md_json_getsa(md->ca_challenges, json, MD_KEY_CA, MD_KEY_CHALLENGES);
}

static void options_from_json(md_t *md, const md_json_t *json)
{
    const char *s;
    long state;

    state = md_json_getl(json, MD_KEY_STATE);
    if (state == MD_S_EXPIRED_DEPRECATED) {
        state = MD_S_INCOMPLETE;
    }
    md->state = (state >= MD_S_UNKNOWN && state <= MD_S_MISSING_INFORMATION) ? (md_state_t)state
                                                                             : MD_S_UNKNOWN;
    md->renew_mode = md_json_has_key(json, MD_KEY_RENEW_MODE)
                         ? (int)md_json_getl(json, MD_KEY_RENEW_MODE)
                         : MD_RENEW_DEFAULT;
    if (md->renew_mode < MD_RENEW_DEFAULT || md->renew_mode > MD_RENEW_ALWAYS) {
        md->renew_mode = MD_RENEW_DEFAULT;
    }
    md->transitive = md_json_has_key(json, MD_KEY_TRANSITIVE)
                         ? (int)md_json_getl(json, MD_KEY_TRANSITIVE)
                         : MD_UNSET;
    s = md_json_gets(json, MD_KEY_REQUIRE_HTTPS);
    md->require_https = (s && !strcmp(s, "temporary"))   ? MD_REQUIRE_TEMPORARY
                        : (s && !strcmp(s, "permanent")) ? MD_REQUIRE_PERMANENT
                                                         : MD_REQUIRE_OFF;
    md->must_staple = md_json_has_key(json, MD_KEY_MUST_STAPLE)
                          ? md_json_getb(json, MD_KEY_MUST_STAPLE)
                          : MD_UNSET;
    md->stapling =
        md_json_has_key(json, MD_KEY_STAPLING) ? md_json_getb(json, MD_KEY_STAPLING) : MD_UNSET;
    md_json_getsa(md->acme_tls_1_domains, json, MD_KEY_PROTO, MD_KEY_ACME_TLS_1);
    md->eab_kid = md_json_gets(json, MD_KEY_EAB, MD_KEY_KID); /* the HMAC is not read */
    md->profile = md_json_gets(json, MD_KEY_PROFILE);
    md->profile_mandatory = md_json_has_key(json, MD_KEY_PROFILE_MANDATORY)
                                ? md_json_getb(json, MD_KEY_PROFILE_MANDATORY)
                                : MD_UNSET;
    md->ari_renewals = md_json_has_key(json, MD_KEY_ARI_RENEWALS)
                           ? md_json_getb(json, MD_KEY_ARI_RENEWALS)
                           : MD_UNSET;
}

apr_status_t md_from_json(md_t **pmd, const md_json_t *json, apr_pool_t *p, const char **perr)
{
    md_t *md = md_create_empty(p);
    const char *dummy = NULL, *d;
    apr_status_t rv;
    int i;

    *pmd = NULL;
    perr = perr ? perr : &dummy;
    md->name = md_json_gets(json, MD_KEY_NAME);
    if (!md->name || !*md->name) {
        *perr = apr_psprintf(p, "md.json has no '%s'", MD_KEY_NAME);
        return APR_EINVAL;
    }
    md->name = apr_pstrdup(p, md->name);
    md_json_getsa(md->domains, json, MD_KEY_DOMAINS);
    if (md->domains->nelts == 0) {
        *perr = apr_psprintf(p, "md %s: md.json has no '%s'", md->name, MD_KEY_DOMAINS);
        return APR_EINVAL;
    }
    for (i = 0; i < md->domains->nelts; ++i) {
        d = APR_ARRAY_IDX(md->domains, i, const char *);
        APR_ARRAY_IDX(md->domains, i, const char *) = md_util_str_tolower(d, p);
    }
    md_json_getsa(md->contacts, json, MD_KEY_CONTACTS);
    ca_from_json(md, json, p);
    options_from_json(md, json);
    rv = window_from_json(&md->renew_window, json, MD_KEY_RENEW_WINDOW, md->name, p, perr);
    if (APR_SUCCESS == rv) {
        rv = window_from_json(&md->warn_window, json, MD_KEY_WARN_WINDOW, md->name, p, perr);
    }
    if (APR_SUCCESS == rv) {
        rv = pks_from_json(md, json, p, perr);
    }
    if (APR_SUCCESS == rv) {
        *pmd = md;
    }
    return rv;
}

const char *md_state_name(md_state_t state)
{
    switch (state) {
        case MD_S_UNKNOWN:
            return "unknown";
        case MD_S_INCOMPLETE:
            return "incomplete";
        case MD_S_COMPLETE:
            return "ok";
        case MD_S_EXPIRED_DEPRECATED:
            return "expired";
        case MD_S_ERROR:
            return "error";
        case MD_S_MISSING_INFORMATION:
            return "missing information";
        default:
            return "invalid";
    }
}

const char *md_renew_mode_name(int mode)
{
    switch (mode) {
        case MD_RENEW_MANUAL:
            return "manual";
        case MD_RENEW_AUTO:
            return "auto";
        case MD_RENEW_ALWAYS:
            return "always";
        case MD_RENEW_DEFAULT:
            return "default";
        default:
            return "invalid";
    }
}

static const char *spec_filename(const char *prefix, const md_pkey_spec_t *spec, apr_pool_t *p)
{
    if (spec && spec->type == MD_PKEY_TYPE_EC) {
        return apr_pstrcat(p, prefix, ".", md_pkey_spec_name(spec), ".pem", (const char *)NULL);
    }
    return apr_pstrcat(p, prefix, ".pem", (const char *)NULL);
}

const char *md_pkey_filename(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    return spec_filename("privkey", spec, p);
}

const char *md_chain_filename(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    return spec_filename("pubcert", spec, p);
}

const char *md_tls_alpn01_key_filename(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    return apr_pstrcat(p, MD_FN_TLSALPN01_PREFIX, md_pkey_filename(spec, p), (const char *)NULL);
}

const char *md_tls_alpn01_cert_filename(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    return apr_pstrcat(p, MD_FN_TLSALPN01_PREFIX, md_chain_filename(spec, p), (const char *)NULL);
}
