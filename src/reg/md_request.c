/* md_request: renewal requests through the store (see md_request.h). */
#include <apr_strings.h>

#include "md.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_time.h"
#include "md_request.h"

apr_status_t md_request_put(md_store_t *store, const char *name, apr_time_t now, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);

    md_json_sets(name, json, MD_KEY_NAME);
    md_json_sets(md_time_http(now, p), json, MD_KEY_WHEN);
    return md_store_save_json(store, MD_SG_STAGING, name, MD_FN_RENEW_REQUEST, json, p);
}

int md_request_is_pending(md_store_t *store, const char *name, apr_pool_t *p)
{
    apr_time_t mtime = 0;

    return APR_SUCCESS
           == md_store_get_modified(&mtime, store, MD_SG_STAGING, name, MD_FN_RENEW_REQUEST, p);
}

apr_status_t md_request_withdraw(md_store_t *store, const char *name, apr_pool_t *p)
{
    /* A server may take it between the look and the removal: then both renew, which costs one
     * order more and nothing else. */
    if (!md_request_is_pending(store, name, p)) {
        return APR_ENOENT;
    }
    return md_store_remove(store, MD_SG_STAGING, name, MD_FN_RENEW_REQUEST, p);
}

typedef struct {
    md_request_cb *cb;
    void *baton;
    md_store_t *store;
} scan_ctx_t;

static int scan_one(void *baton, const char *name, apr_pool_t *ptemp)
{
    scan_ctx_t *ctx = baton;
    apr_time_t mtime = 0;
    apr_status_t rv;

    if (APR_SUCCESS
            != md_store_get_modified(&mtime, ctx->store, MD_SG_STAGING, name, MD_FN_RENEW_REQUEST,
                                     ptemp)
        || !ctx->cb(ctx->baton, name, mtime)) {
        return 1;
    }
    rv = md_store_remove(ctx->store, MD_SG_STAGING, name, MD_FN_RENEW_REQUEST, ptemp);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, ptemp,
                      APLOGNO(13301) "%s: cannot remove the renewal request staging/%s/%s; "
                                     "give staging/ back to the server's User (a restart does)",
                      name, name, MD_FN_RENEW_REQUEST);
    }
    return 1;
}

void md_request_scan(md_request_cb *cb, void *baton, md_store_t *store, apr_pool_t *p)
{
    scan_ctx_t ctx = { cb, baton, store };

    md_store_iter_names(scan_one, &ctx, store, MD_SG_STAGING, p);
}
