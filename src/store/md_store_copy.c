/* md_store_copy: every group, every name in it, every aspect of a name (see md_store_copy.h). */
#include <string.h>

#include "md_log.h"
#include "md_store_copy.h"

typedef struct {
    md_store_t *to, *from;
    md_store_group_t group;
    const char *name; /* NULL for the top */
    md_store_copy_stats_t stats;
    apr_status_t rv;
} copy_ctx_t;

static int copy_aspect(void *baton, const char *aspect, apr_pool_t *ptemp)
{
    copy_ctx_t *ctx = baton;
    void *text = NULL;

    if (ctx->group == MD_SG_NONE && strcmp(aspect, "md_store.json") == 0) {
        return 1; /* the key stays where it is */
    }
    ctx->rv = md_store_load(ctx->from, ctx->group, ctx->name, aspect, MD_SV_TEXT, &text, ptemp);
    if (APR_SUCCESS == ctx->rv) {
        ctx->rv = md_store_save(ctx->to, ctx->group, ctx->name, aspect, MD_SV_TEXT, text, ptemp);
    }
    if (APR_SUCCESS != ctx->rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, ctx->rv, ptemp,
                      APLOGNO(13122) "copying %s/%s%s%s failed", md_store_group_name(ctx->group),
                      ctx->name ? ctx->name : "", ctx->name ? "/" : "", aspect);
        return 0;
    }
    ctx->stats.values++;
    return 1;
}

static int copy_name(void *baton, const char *name, apr_pool_t *ptemp)
{
    copy_ctx_t *ctx = baton;
    apr_status_t rv;

    ctx->name = name;
    rv = md_store_iter_aspects(copy_aspect, ctx, ctx->from, ctx->group, name, ptemp);
    if (APR_SUCCESS == ctx->rv && APR_SUCCESS != rv && !APR_STATUS_IS_EOF(rv)) {
        ctx->rv = rv;
    }
    ctx->stats.names++;
    return APR_SUCCESS == ctx->rv;
}

apr_status_t md_store_copy(md_store_copy_stats_t *stats, md_store_t *to, md_store_t *from,
                           apr_pool_t *p)
{
    copy_ctx_t ctx;
    apr_status_t rv;

    memset(&ctx, 0, sizeof(ctx));
    ctx.to = to;
    ctx.from = from;
    ctx.group = MD_SG_NONE;
    rv = md_store_iter_aspects(copy_aspect, &ctx, from, MD_SG_NONE, NULL, p);
    for (ctx.group = MD_SG_ACCOUNTS;
         APR_SUCCESS == rv && APR_SUCCESS == ctx.rv && ctx.group < MD_SG_COUNT; ++ctx.group) {
        if (ctx.group == MD_SG_TMP) {
            continue;
        }
        rv = md_store_iter_names(copy_name, &ctx, from, ctx.group, p);
    }
    if (APR_SUCCESS == rv || APR_STATUS_IS_EOF(rv)) {
        rv = ctx.rv;
    }
    if (APR_SUCCESS == rv) {
        rv = md_store_flush(to, p);
    }
    if (stats) {
        *stats = ctx.stats;
    }
    return rv;
}
