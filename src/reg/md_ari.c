/* md_ari: renewal information of an MD's certificates (see md_ari.h).
 *
 * One update, for each key spec whose live certificate has an ARI identifier:
 *   1. ask the MD's CAs in order (md_acme_ari_fetch)
 *   2. answered: keep the time chosen before when the window is the same, else choose a random
 *      time in it (md_renew_ari_pick); ask again after Retry-After (bounded, md_renew_ari_next)
 *   3. no CA offers ARI or knows the certificate: ask again in a day; a CA could not be asked:
 *      in an hour (or its Retry-After)
 *   4. save ari.json, log what changed
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_log.h"
#include "md_keys.h"
#include "md_time.h"
#include "md_util.h"
#include "md_renew.h"
#include "md_acme_ari.h"
#include "md_ari.h"

#define K_RENEW_AT    "renew-at"
#define K_NEXT_CHECK  "next-check"
#define K_CERTS       "certs"
#define K_ID          "ari-cert-id"
#define K_CA_URL      "ca-url"
#define K_WINDOW      "suggested-window"
#define K_START       "start"
#define K_END         "end"
#define K_EXPLANATION "explanation-url"
#define K_ERROR       "error"
#define K_RETRY_AFTER "retry-after"
#define NO_ARI        "no CA of the MD offers renewal information"

apr_status_t md_ari_load(md_json_t **pjson, md_store_t *store, const char *name, apr_pool_t *p)
{
    *pjson = NULL;
    return md_store_load_json(store, MD_SG_STAGING, name, MD_FN_ARI, pjson, p);
}

static const char *spec_name(const md_t *md, int i)
{
    return md_pkey_spec_name(APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *));
}

static const char *id_at(const md_reg_item_t *item, int i)
{
    return (item->ari_ids && i < item->ari_ids->nelts)
               ? APR_ARRAY_IDX(item->ari_ids, i, const char *)
               : NULL;
}

static int is_same_id(const md_json_t *entry, const char *id)
{
    const char *stored = md_json_gets(entry, K_ID);

    return stored && !strcmp(stored, id);
}

/* Non-zero when an entry says that no CA of the MD offers ARI at all. */
static int is_no_ari(const md_json_t *entry)
{
    const char *err = md_json_gets(entry, K_ERROR);

    return err && !strcmp(err, NO_ARI);
}

static apr_time_t min_set(apr_time_t a, apr_time_t b)
{
    return (!a || (b && b < a)) ? b : a;
}

/* Non-zero when the HTTP date 's' (whole seconds) is the time 't'. */
static int is_same_second(const char *s, apr_time_t t)
{
    return s && md_time_parse_any(s) == apr_time_from_sec(apr_time_sec(t));
}

/* 2. The renewal time for an answer: the earlier choice when 'old' (the previous entry of this
 * certificate) had the same window, else a new one. */
static apr_time_t choose(int *pis_new, const md_acme_ari_t *ari, const md_json_t *old, double r,
                         apr_time_t now)
{
    apr_time_t at = old ? md_time_parse_any(md_json_gets(old, K_RENEW_AT)) : 0;

    *pis_new = !(at && is_same_second(md_json_gets(old, K_WINDOW, K_START), ari->start)
                 && is_same_second(md_json_gets(old, K_WINDOW, K_END), ari->end));
    return *pis_new ? md_renew_ari_pick(ari->start, ari->end, r, now) : at;
}

/* 1. - 3. for the certificate 'id' of one key spec; its ari.json entry into 'entry'. *pnext is
 * when to ask again, *pis_ca whether the CA said so (Retry-After). */
static void update_one(apr_time_t *pat, apr_time_t *pnext, int *pis_ca, md_json_t *entry,
                       const md_reg_item_t *item, const char *id, const md_json_t *old,
                       const md_http_config_t *http_config, md_acme_acct_cache_t *cache, double r,
                       apr_time_t now, apr_pool_t *p)
{
    const md_t *md = item->md;
    md_result_t *result = md_result_make(md->name, p);
    md_acme_ari_t ari;
    apr_status_t rv;
    int is_new = 0;

    md_json_sets(id, entry, K_ID);
    *pis_ca = 0;
    rv = md_acme_ari_fetch(&ari, md_ca_urls(md, p), id, http_config, cache, result, p);
    if (APR_SUCCESS != rv) {
        *pat = 0;
        *pnext =
            APR_STATUS_IS_ENOTIMPL(rv) || APR_STATUS_IS_ENOENT(rv)
                ? now + MD_ARI_RETRY_MAX
                : md_renew_ari_next(result->ready_at ? result->ready_at : now + MD_ARI_RETRY_ERROR,
                                    now);
        md_json_sets(APR_STATUS_IS_ENOTIMPL(rv) ? NO_ARI
                     : APR_STATUS_IS_ENOENT(rv) ? "no CA of the MD knows the certificate"
                                                : md_result_to_text(result, p),
                     entry, K_ERROR);
        md_log_perror(MD_LOG_MARK, APR_STATUS_IS_ENOTIMPL(rv) ? MD_LOG_DEBUG : MD_LOG_INFO,
                      (APR_STATUS_IS_ENOTIMPL(rv) || APR_STATUS_IS_ENOENT(rv)) ? 0 : rv, p,
                      APLOGNO(12904) "%s: no renewal information for certificate %s: %s; "
                                     "asking again at %s",
                      md->name, id, md_json_gets(entry, K_ERROR), md_time_rfc3339(*pnext, p));
        return;
    }
    /* 2. */
    *pat = choose(&is_new, &ari, old, r, now);
    *pnext = md_renew_ari_next(ari.retry_after, now);
    *pis_ca = (ari.retry_after != 0);
    md_json_sets(ari.ca_url, entry, K_CA_URL);
    md_json_sets(md_time_http(ari.start, p), entry, K_WINDOW, K_START);
    md_json_sets(md_time_http(ari.end, p), entry, K_WINDOW, K_END);
    if (ari.explanation) {
        md_json_sets(ari.explanation, entry, K_EXPLANATION);
    }
    md_json_sets(md_time_http(*pat, p), entry, K_RENEW_AT);
    md_log_perror(MD_LOG_MARK, (is_new && *pat < item->renew_at) ? MD_LOG_INFO : MD_LOG_DEBUG, 0, p,
                  APLOGNO(12905) "%s: the CA suggests renewing certificate %s between %s and %s%s%s"
                                 " (ARI): renewal at %s%s; asking again at %s",
                  md->name, id, md_time_rfc3339(ari.start, p), md_time_rfc3339(ari.end, p),
                  ari.explanation ? ", explanation at " : "",
                  ari.explanation ? ari.explanation : "", md_time_rfc3339(*pat, p),
                  (*pat < item->renew_at) ? ", earlier than the renew window" : "",
                  md_time_rfc3339(*pnext, p));
}

apr_status_t md_ari_update(apr_time_t *pat, apr_time_t *pnext, md_store_t *store,
                           const md_reg_item_t *item, const md_http_config_t *http_config,
                           md_acme_acct_cache_t *cache, double r, apr_time_t now, apr_pool_t *p)
{
    const md_t *md = item->md;
    md_json_t *json = md_json_create(p), *old = NULL, *entry, *prev;
    apr_time_t at, next;
    const char *id;
    int i, asked = 0, offered = 0, is_ca = 0, is_ca_next = 0;

    *pat = 0;
    *pnext = 0;
    md_ari_load(&old, store, md->name, p);
    for (i = 0; i < md->pks->nelts; ++i) {
        id = id_at(item, i);
        if (!id) {
            continue;
        }
        entry = old ? md_json_getj(old, K_CERTS, spec_name(md, i)) : NULL;
        if (entry && !is_same_id(entry, id)) {
            entry = NULL; /* about the certificate before */
        }
        prev = entry;
        entry = md_json_create(p);
        update_one(&at, &next, &is_ca, entry, item, id, prev, http_config, cache, r, now, p);
        offered |= !is_no_ari(entry);
        md_json_setj(entry, json, K_CERTS, spec_name(md, i));
        *pat = min_set(*pat, at);
        if (next == min_set(*pnext, next)) {
            *pnext = next;
            is_ca_next = is_ca;
        }
        asked = 1;
    }
    if (!asked) {
        return APR_ENOENT;
    }
    if (!offered) {
        /* no CA of the MD has ARI: nothing to show, ask again in a day */
        md_store_remove(store, MD_SG_STAGING, md->name, MD_FN_ARI, p);
        return APR_SUCCESS;
    }
    /* 4. */
    if (*pat) {
        md_json_sets(md_time_http(*pat, p), json, K_RENEW_AT);
    }
    md_json_sets(md_time_http(*pnext, p), json, K_NEXT_CHECK);
    /* a CA's Retry-After binds a restarted server too; our own schedule does not */
    md_json_setb(is_ca_next, json, K_RETRY_AFTER);
    md_store_save_regenerable(store, MD_SG_STAGING, md->name, MD_FN_ARI, MD_SV_JSON, json, p);
    return APR_SUCCESS;
}

/* Non-zero when every certificate entry of 'json' is about the item's live certificate. */
static int is_current(const md_json_t *json, const md_reg_item_t *item)
{
    const char *id, *stored;
    int i, n = 0;

    for (i = 0; i < item->md->pks->nelts; ++i) {
        id = id_at(item, i);
        stored = md_json_gets(json, K_CERTS, spec_name(item->md, i), K_ID);
        if ((id || stored) && (!id || !stored || strcmp(id, stored) != 0)) {
            return 0;
        }
        n += (id != NULL);
    }
    return n > 0;
}

void md_ari_restore(md_store_t *store, md_reg_item_t *item, apr_pool_t *p)
{
    md_json_t *json = NULL;

    item->ari_at = 0;
    item->ari_next = 0;
    if (APR_SUCCESS != md_ari_load(&json, store, item->md->name, p)) {
        return;
    }
    if (item->md->ari_renewals == 0 || !is_current(json, item)) {
        md_store_remove(store, MD_SG_STAGING, item->md->name, MD_FN_ARI, p);
        return;
    }
    item->ari_at = md_time_parse_any(md_json_gets(json, K_RENEW_AT));
    if (md_json_getb(json, K_RETRY_AFTER)) {
        item->ari_next = md_time_parse_any(md_json_gets(json, K_NEXT_CHECK));
    }
}
