/* md_store_fs: the store in the file system (see md_store_fs.h for the layout).
 *
 * Values are files below <base>/<group>/<name>/<aspect>. Writes go through
 * md_util_file_write_atomic(), so every single file is replaced atomically.
 *
 * Activation of a staged set (md_store_activate), crash-safe:
 *   1. build tmp/<name>@new from staging/<name> (keys decrypted, 0600), then rename it to
 *      tmp/<name>@ready: a complete set, ready to go live
 *   2. rename domains/<name> to archive/<name>.N (when there is one)
 *   3. rename tmp/<name>@ready to domains/<name>
 *   4. remove staging/<name>
 * A crash after 1 leaves a complete tmp/<name>@ready; opening the store finishes 2 and 3
 * (recover_one). A crash before 1 completes leaves only a tmp/<name>@new, which is discarded,
 * while staging/<name> is still there for the next activation.
 * '@' cannot occur in a DNS name, so these names never clash with anything else in tmp/ (the
 * stock module keeps scratch copies of job.json in tmp/<name>/, which are not sets).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include <openssl/crypto.h>

#include "md.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"
#include "md_store_fs.h"

#define FS_STORE_JSON    "md_store.json"
#define FS_STORE_VERSION 3
#define FS_STORE_KLEN    MD_STORE_KEY_LEN
#define FS_TEXT_MAX      (1024 * 1024)
#define FS_SFX_NEW       "@new"
#define FS_SFX_READY     "@ready"
#define FS_TMP_STALE     apr_time_from_sec(24 * 3600)

typedef struct {
    md_store_t s; /* first member: a md_store_t* is a md_store_fs_t* */
    const char *base;
    unsigned char key[FS_STORE_KLEN];
} md_store_fs_t;

/* Directories the child process reads (and for some, writes) are world readable. */
static int group_is_shared(md_store_group_t group)
{
    return group == MD_SG_NONE || group == MD_SG_ACCOUNTS || group == MD_SG_CHALLENGES
           || group == MD_SG_STAGING || group == MD_SG_OCSP;
}

static apr_fileperms_t dir_perms(md_store_group_t group)
{
    if (group == MD_SG_OCSP) {
        return MD_FPROT_D_UALL_GREAD; /* as the stock module makes it */
    }
    return group_is_shared(group) ? MD_FPROT_D_UALL_WREAD : MD_FPROT_D_UONLY;
}

static apr_fileperms_t file_perms(md_store_group_t group, md_store_vtype_t vtype)
{
    if (vtype == MD_SV_PKEY && !md_store_group_is_encrypted(group)) {
        return MD_FPROT_F_UONLY;
    }
    if (group == MD_SG_NONE) {
        return MD_FPROT_F_UONLY;
    }
    return group_is_shared(group) ? MD_FPROT_F_UALL_WREAD : MD_FPROT_F_UONLY;
}

static const char *fs_path(md_store_fs_t *fs, md_store_group_t group, const char *name,
                           const char *aspect, apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return md_util_path_join(p, fs->base, aspect);
    }
    if (!aspect) {
        return md_util_path_join(p, fs->base, md_store_group_name(group), name);
    }
    return md_util_path_join(p, fs->base, md_store_group_name(group), name, aspect);
}

/* A name must be one path segment: no traversal out of the store through names from config
 * or CA answers. */
static int is_safe_segment(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static apr_status_t check_names(md_store_group_t group, const char *name, const char *aspect)
{
    if (group != MD_SG_NONE && !is_safe_segment(name)) {
        return APR_EINVAL;
    }
    if (aspect && !is_safe_segment(aspect)) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t load_file(md_store_fs_t *fs, const char *fpath, md_store_group_t group,
                              md_store_vtype_t vtype, void **pvalue, apr_pool_t *p)
{
    char *data = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_status_t rv;

    rv = md_util_file_read(&data, &len, fpath, FS_TEXT_MAX, p);
    if (APR_SUCCESS == rv) {
        rv = md_store_decode(pvalue, group, vtype, data, len, fs->key, &err, p);
    }
    if (APR_SUCCESS != rv && !APR_STATUS_IS_ENOENT(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12100) "store: %s cannot be read%s%s: move it away or repair it",
                      fpath, err ? ": " : "", err ? err : "");
    }
    return rv;
}

static apr_status_t fs_load(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, md_store_vtype_t vtype, void **pvalue,
                            apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    return load_file(fs, fs_path(fs, group, name, aspect, p), group, vtype, pvalue, p);
}

static apr_status_t ensure_dir(md_store_fs_t *fs, md_store_group_t group, const char *name,
                               apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return APR_SUCCESS;
    }
    return md_util_dir_make(fs_path(fs, group, name, NULL, p), dir_perms(group), p);
}

static apr_status_t save_file(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, md_store_vtype_t vtype, const void *value,
                              int is_durable, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    const char *data = NULL, *fpath;
    apr_size_t len = 0;
    apr_status_t rv;

    rv = check_names(group, name, aspect);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    rv = md_store_encode(&data, &len, group, vtype, value, fs->key, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    rv = ensure_dir(fs, group, name, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    fpath = fs_path(fs, group, name, aspect, p);
    rv = md_util_file_write_atomic_ex(fpath, data, len, file_perms(group, vtype), is_durable, p);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12101) "store: writing %s failed, the previous file is kept", fpath);
    }
leave:
    return rv;
}

static apr_status_t fs_save(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, md_store_vtype_t vtype, const void *value,
                            apr_pool_t *p)
{
    return save_file(store, group, name, aspect, vtype, value, 1, p);
}

static apr_status_t fs_save_regenerable(md_store_t *store, md_store_group_t group, const char *name,
                                        const char *aspect, md_store_vtype_t vtype,
                                        const void *value, apr_pool_t *p)
{
    return save_file(store, group, name, aspect, vtype, value, 0, p);
}

static apr_status_t fs_flush(md_store_t *store, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;

    (void)p;
    return md_util_sync_fs(fs->base);
}

static apr_status_t fs_remove(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = apr_file_remove(fs_path(fs, group, name, aspect, p), p);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

static apr_status_t fs_purge(md_store_t *store, md_store_group_t group, const char *name,
                             apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    apr_status_t rv = check_names(group, name, NULL);

    if (APR_SUCCESS != rv || group == MD_SG_NONE) {
        return APR_EINVAL;
    }
    return md_util_rm_recursive(fs_path(fs, group, name, NULL, p), p);
}

typedef struct {
    md_store_name_cb *cb;
    void *baton;
    apr_filetype_e type; /* names are directories, aspects files */
} iter_ctx_t;

/* temporary files of atomic writes and set-aside files start with a '.' */
static apr_status_t iter_one(void *baton, const char *dpath, const char *name, apr_filetype_e type,
                             apr_pool_t *ptemp)
{
    iter_ctx_t *ctx = baton;

    (void)dpath;
    if (type != ctx->type || name[0] == '.') {
        return APR_SUCCESS;
    }
    return ctx->cb(ctx->baton, name, ptemp) ? APR_SUCCESS : APR_EOF;
}

static apr_status_t iter_dir(iter_ctx_t *ctx, const char *dpath, apr_pool_t *p)
{
    apr_status_t rv = md_util_dir_do(iter_one, ctx, dpath, p);

    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

static apr_status_t fs_iter_names(md_store_name_cb *cb, void *baton, md_store_t *store,
                                  md_store_group_t group, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    iter_ctx_t ctx = { cb, baton, APR_DIR };

    return iter_dir(&ctx, md_util_path_join(p, fs->base, md_store_group_name(group)), p);
}

static apr_status_t fs_iter_aspects(md_store_name_cb *cb, void *baton, md_store_t *store,
                                    md_store_group_t group, const char *name, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    iter_ctx_t ctx = { cb, baton, APR_REG };
    apr_status_t rv = check_names(group, name, NULL);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    return iter_dir(&ctx, fs_path(fs, group, name, NULL, p), p);
}

static apr_status_t fs_get_modified(apr_time_t *pmtime, md_store_t *store, md_store_group_t group,
                                    const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    apr_finfo_t finfo;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS == rv) {
        rv = apr_stat(&finfo, fs_path(fs, group, name, aspect, p), APR_FINFO_MTIME, p);
    }
    if (APR_SUCCESS == rv || APR_STATUS_IS_INCOMPLETE(rv)) {
        *pmtime = finfo.mtime;
        return APR_SUCCESS;
    }
    return rv;
}

static apr_status_t fs_get_fname(const char **pfname, md_store_t *store, md_store_group_t group,
                                 const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS == rv) {
        *pfname = fs_path(fs, group, name, aspect, p);
    }
    return rv;
}

/* Every write replaces the file (a new inode through rename), so device, inode, size and
 * modification time identify a version. */
static apr_status_t fs_get_version(const char **pversion, md_store_t *store, md_store_group_t group,
                                   const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    apr_finfo_t finfo;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = apr_stat(&finfo, fs_path(fs, group, name, aspect, p),
                  APR_FINFO_DEV | APR_FINFO_INODE | APR_FINFO_SIZE | APR_FINFO_MTIME, p);
    if (APR_SUCCESS != rv && !APR_STATUS_IS_INCOMPLETE(rv)) {
        return rv;
    }
    *pversion =
        apr_psprintf(p, "%lu:%lu:%" APR_OFF_T_FMT ":%" APR_TIME_T_FMT, (unsigned long)finfo.device,
                     (unsigned long)finfo.inode, finfo.size, finfo.mtime);
    return APR_SUCCESS;
}

static apr_status_t fs_set_aside(const char **pnewname, md_store_t *store, md_store_group_t group,
                                 const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    const char *from, *to;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    from = fs_path(fs, group, name, aspect, p);
    to = apr_psprintf(p, "%s.broken-%" APR_TIME_T_FMT, from, apr_time_sec(apr_time_now()));
    rv = apr_file_rename(from, to, p);
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p,
                      APLOGNO(12102) "store: set %s aside as %s, it will be regenerated where "
                                     "possible",
                      from, to);
        if (pnewname) {
            *pnewname = to;
        }
    }
    return rv;
}

static int cmp_int_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

/* ---- activation ------------------------------------------------------------------------------ */

/* Copy one staged file into the new set; keys are decrypted and written 0600. */
static apr_status_t copy_staged_file(md_store_fs_t *fs, const char *name, const char *fname,
                                     const char *dest_dir, apr_pool_t *p)
{
    const char *src = fs_path(fs, MD_SG_STAGING, name, fname, p);
    const char *dest = md_util_path_join(p, dest_dir, fname);
    md_pkey_t *pkey = NULL;
    const char *data = NULL;
    apr_size_t len = 0;
    char *raw = NULL;
    apr_status_t rv;

    if (!strncmp(fname, "privkey", 7) && strstr(fname, ".pem")) {
        rv = load_file(fs, src, MD_SG_STAGING, MD_SV_PKEY, (void **)&pkey, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        rv = md_pkey_to_pem(&data, &len, pkey, NULL, 0, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        return md_util_file_write_atomic(dest, data, len, MD_FPROT_F_UONLY, p);
    }
    rv = md_util_file_read(&raw, &len, src, FS_TEXT_MAX, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    return md_util_file_write_atomic(dest, raw, len, MD_FPROT_F_UONLY, p);
}

typedef struct {
    md_store_fs_t *fs;
    const char *name;
    const char *building;
} tmp_set_ctx_t;

static apr_status_t copy_into_set(void *baton, const char *dpath, const char *fname,
                                  apr_filetype_e type, apr_pool_t *ptemp)
{
    tmp_set_ctx_t *ctx = baton;

    (void)dpath;
    if (type != APR_REG || fname[0] == '.' || md_store_is_job_file(fname)) {
        return APR_SUCCESS;
    }
    return copy_staged_file(ctx->fs, ctx->name, fname, ctx->building, ptemp);
}

static apr_status_t build_tmp_set(md_store_fs_t *fs, const char *name, const char *building,
                                  apr_pool_t *p)
{
    tmp_set_ctx_t ctx = { fs, name, building };
    apr_status_t rv;

    rv = md_util_rm_recursive(building, p);
    if (APR_SUCCESS == rv) {
        rv = md_util_dir_make(building, MD_FPROT_D_UONLY, p);
    }
    if (APR_SUCCESS == rv) {
        rv = md_util_dir_do(copy_into_set, &ctx, fs_path(fs, MD_SG_STAGING, name, NULL, p), p);
    }
    return rv;
}

typedef struct {
    const char *name;
    apr_array_header_t *ns;
} archive_ctx_t;

static apr_status_t collect_number(void *baton, const char *dpath, const char *entry,
                                   apr_filetype_e type, apr_pool_t *ptemp)
{
    archive_ctx_t *ctx = baton;
    size_t nlen = strlen(ctx->name);
    char *endp = NULL;
    long n;

    (void)dpath;
    (void)ptemp;
    if (type != APR_DIR || strncmp(entry, ctx->name, nlen) || entry[nlen] != '.') {
        return APR_SUCCESS;
    }
    n = strtol(entry + nlen + 1, &endp, 10);
    if (endp && !*endp && n > 0 && n < INT32_MAX) {
        APR_ARRAY_PUSH(ctx->ns, int) = (int)n;
    }
    return APR_SUCCESS;
}

/* Numbers N of the archive/<name>.N directories, highest first. */
static apr_array_header_t *archive_numbers(md_store_fs_t *fs, const char *name, apr_pool_t *p)
{
    archive_ctx_t ctx = { name, apr_array_make(p, 10, sizeof(int)) };

    md_util_dir_do(collect_number, &ctx,
                   md_util_path_join(p, fs->base, md_store_group_name(MD_SG_ARCHIVE)), p);
    qsort(ctx.ns->elts, (size_t)ctx.ns->nelts, sizeof(int), cmp_int_desc);
    return ctx.ns;
}

/* The archive policy: the newest MD_STORE_ARCHIVE_KEEP sets of each MD are kept, older ones
 * removed after an activation. */
static void prune_archive(md_store_fs_t *fs, const char *name, apr_pool_t *p)
{
    apr_array_header_t *ns = archive_numbers(fs, name, p);
    const char *path;
    int i;

    for (i = MD_STORE_ARCHIVE_KEEP; i < ns->nelts; ++i) {
        path = apr_psprintf(p, "%s/%s/%s.%d", fs->base, md_store_group_name(MD_SG_ARCHIVE), name,
                            APR_ARRAY_IDX(ns, i, int));
        md_util_rm_recursive(path, p);
    }
}

/* domains/<name> becomes archive/<name>.N, N one above the highest there (the stock module
 * counts the same way, from 1). */
static apr_status_t archive_current(md_store_fs_t *fs, const char *name, apr_pool_t *p)
{
    const char *cur = fs_path(fs, MD_SG_DOMAINS, name, NULL, p);
    const char *adir = md_util_path_join(p, fs->base, md_store_group_name(MD_SG_ARCHIVE));
    apr_array_header_t *ns;
    int n;
    apr_status_t rv;

    if (APR_SUCCESS != md_util_is_dir(cur, p)) {
        return APR_SUCCESS;
    }
    rv = md_util_dir_make(adir, dir_perms(MD_SG_ARCHIVE), p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    ns = archive_numbers(fs, name, p);
    n = ns->nelts ? APR_ARRAY_IDX(ns, 0, int) + 1 : 1;
    rv = apr_file_rename(cur, apr_psprintf(p, "%s/%s.%d", adir, name, n), p);
    if (APR_SUCCESS == rv) {
        prune_archive(fs, name, p);
    }
    return rv;
}

/* 2. and 3. of the plan: tmp/<name> is complete, make it live. */
static apr_status_t switch_live(md_store_fs_t *fs, const char *name, apr_pool_t *p)
{
    const char *ready = fs_path(fs, MD_SG_TMP, apr_pstrcat(p, name, FS_SFX_READY, NULL), NULL, p);
    const char *live = fs_path(fs, MD_SG_DOMAINS, name, NULL, p);
    apr_status_t rv;

    rv = md_util_dir_make(md_util_path_join(p, fs->base, "domains"), dir_perms(MD_SG_DOMAINS), p);
    if (APR_SUCCESS == rv) {
        rv = archive_current(fs, name, p);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_file_rename(ready, live, p);
    }
    return rv;
}

static apr_status_t fs_activate(md_store_t *store, const char *name, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    const char *ready, *building;
    apr_status_t rv = check_names(MD_SG_STAGING, name, NULL);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    ready = fs_path(fs, MD_SG_TMP, apr_pstrcat(p, name, FS_SFX_READY, NULL), NULL, p);
    building = fs_path(fs, MD_SG_TMP, apr_pstrcat(p, name, FS_SFX_NEW, NULL), NULL, p);
    rv = md_util_dir_make(md_util_path_join(p, fs->base, "tmp"), dir_perms(MD_SG_TMP), p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    /* 1. */
    rv = build_tmp_set(fs, name, building, p);
    if (APR_SUCCESS == rv) {
        rv = md_util_rm_recursive(ready, p);
    }
    if (APR_SUCCESS == rv) {
        rv = apr_file_rename(building, ready, p);
    }
    if (APR_SUCCESS != rv) {
        md_util_rm_recursive(building, p);
        goto leave;
    }
    /* 2., 3. */
    rv = switch_live(fs, name, p);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    /* 4. */
    rv = md_util_rm_recursive(fs_path(fs, MD_SG_STAGING, name, NULL, p), p);
leave:
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12103) "%s: activating the staged certificate failed, the current "
                                     "one stays in use",
                      name);
    }
    return rv;
}

static int has_suffix(const char *s, const char *sfx)
{
    size_t len = strlen(s), slen = strlen(sfx);

    return len > slen && !strcmp(s + len - slen, sfx);
}

/* Scratch directories the stock module leaves in tmp/<name>/ (copies of job.json while it
 * writes them) are removed once nothing touched them for FS_TMP_STALE: the stock module is
 * not running on the same store then, so they are leftovers of an interrupted write. */
static void remove_if_stale(const char *path, apr_pool_t *ptemp)
{
    apr_finfo_t finfo;

    if (APR_SUCCESS != apr_stat(&finfo, path, APR_FINFO_MTIME | APR_FINFO_TYPE, ptemp)
        || finfo.filetype != APR_DIR || apr_time_now() - finfo.mtime < FS_TMP_STALE) {
        return;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp,
                  APLOGNO(12753) "store: removing the stale scratch directory %s", path);
    md_util_rm_recursive(path, ptemp);
}

/* Finish activations a crash interrupted: a complete tmp/<name>@ready means steps 2-3 are due,
 * a tmp/<name>@new is an unfinished step 1. Other entries of tmp/ are removed when stale. */
static int recover_one(void *baton, const char *dname, apr_pool_t *ptemp)
{
    md_store_fs_t *fs = baton;
    const char *path = fs_path(fs, MD_SG_TMP, dname, NULL, ptemp);
    const char *name;
    apr_status_t rv;

    if (has_suffix(dname, FS_SFX_NEW)) {
        md_util_rm_recursive(path, ptemp);
        return 1;
    }
    if (!has_suffix(dname, FS_SFX_READY)) {
        remove_if_stale(path, ptemp);
        return 1;
    }
    name = apr_pstrndup(ptemp, dname, strlen(dname) - strlen(FS_SFX_READY));
    rv = switch_live(fs, name, ptemp);
    if (APR_SUCCESS == rv) {
        md_util_rm_recursive(fs_path(fs, MD_SG_STAGING, name, NULL, ptemp), ptemp);
    }
    md_log_perror(MD_LOG_MARK, APR_SUCCESS == rv ? MD_LOG_NOTICE : MD_LOG_ERR, rv, ptemp,
                  APLOGNO(12104) "%s: finished an interrupted activation", name);
    return 1;
}

/* ---- opening -----------------------------------------------------------------------------------
 */

static apr_status_t create_store_file(md_store_fs_t *fs, const char *fpath, apr_pool_t *p)
{
    md_json_t *json = md_json_create(p);
    const char *key64;
    apr_status_t rv;

    rv = md_util_rand_bytes(fs->key, sizeof(fs->key));
    if (APR_SUCCESS != rv) {
        return rv;
    }
    key64 = md_util_base64url_encode(fs->key, sizeof(fs->key), p);
    md_json_setl(FS_STORE_VERSION, json, MD_KEY_STORE, MD_KEY_VERSION);
    md_json_sets(key64, json, MD_KEY_KEY);
    rv = md_json_writef(json, p, fpath, MD_FPROT_F_UONLY);
    /* the encoded key is secret too; it lives in our pool, so wiping it is ours to do */
    OPENSSL_cleanse((void *)(uintptr_t)key64, strlen(key64));
    return rv;
}

/* ---- upgrading older stock layouts ------------------------------------------------------------
 * Store version 1 (stock mod_md 1.x; its md_store.json may lack a version) kept a set's key as
 * pkey.pem and its certificate and chain as cert.pem and chain.pem. Version 2 brought
 * privkey.pem and pubcert.pem (the certificate followed by its chain); version 3 differs from 2
 * only in md_store.json. The upgrade happens in place as the stock module does it: pkey.pem is
 * renamed to privkey.pem (unless that exists), pubcert.pem is written from cert.pem and
 * chain.pem where it is missing (both stay), md_store.json is rewritten last, so an interrupted
 * upgrade is simply done again at the next start.
 */
typedef struct {
    md_store_fs_t *fs;
    md_store_group_t group;
    apr_status_t rv;
    const char *failed; /* the directory that could not be upgraded, in 'p' */
    apr_pool_t *p;
} upgrade_ctx_t;

static apr_status_t upgrade_pkey(const char *dir, apr_pool_t *p)
{
    const char *from = md_util_path_join(p, dir, "pkey.pem");
    const char *to = md_util_path_join(p, dir, MD_FN_PRIVKEY);

    if (APR_SUCCESS != md_util_is_file(from, p) || APR_SUCCESS == md_util_is_file(to, p)) {
        return APR_SUCCESS;
    }
    return apr_file_rename(from, to, p);
}

/* Read a PEM file and check it holds certificates only; ENOENT if absent. */
static apr_status_t read_certs_text(char **ptext, apr_size_t *plen, const char *fpath,
                                    apr_pool_t *p)
{
    apr_array_header_t *chain = NULL;
    apr_status_t rv;

    rv = md_util_file_read(ptext, plen, fpath, FS_TEXT_MAX, p);
    if (APR_SUCCESS == rv) {
        rv = md_chain_from_pem(&chain, p, *ptext, *plen);
    }
    return rv;
}

static apr_status_t upgrade_pubcert(const char *dir, apr_pool_t *p)
{
    const char *fpubcert = md_util_path_join(p, dir, MD_FN_PUBCERT);
    char *cert = NULL, *chain = NULL;
    apr_size_t cert_len = 0, chain_len = 0;
    const char *text;
    apr_status_t rv;

    if (APR_SUCCESS == md_util_is_file(fpubcert, p)) {
        return APR_SUCCESS;
    }
    rv = read_certs_text(&cert, &cert_len, md_util_path_join(p, dir, "cert.pem"), p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return APR_SUCCESS; /* no certificate in this set */
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = read_certs_text(&chain, &chain_len, md_util_path_join(p, dir, "chain.pem"), p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        chain = NULL;
        rv = APR_SUCCESS;
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    text = apr_pstrcat(p, cert, (cert_len && cert[cert_len - 1] != '\n') ? "\n" : "",
                       chain ? chain : "", NULL);
    return md_util_file_write_atomic(fpubcert, text, strlen(text), MD_FPROT_F_UONLY, p);
}

static int upgrade_one(void *baton, const char *dname, apr_pool_t *ptemp)
{
    upgrade_ctx_t *ctx = baton;
    const char *dir = fs_path(ctx->fs, ctx->group, dname, NULL, ptemp);
    apr_status_t rv;

    rv = upgrade_pkey(dir, ptemp);
    if (APR_SUCCESS == rv && (ctx->group == MD_SG_DOMAINS || ctx->group == MD_SG_ARCHIVE)) {
        rv = upgrade_pubcert(dir, ptemp);
    }
    if (APR_SUCCESS != rv) {
        ctx->rv = rv;
        ctx->failed = apr_pstrdup(ctx->p, dir);
        return 0;
    }
    return 1;
}

static apr_status_t upgrade_store(md_store_fs_t *fs, md_json_t *json, double version,
                                  const char *fpath, apr_pool_t *p)
{
    upgrade_ctx_t ctx = { fs, MD_SG_ACCOUNTS, APR_SUCCESS, NULL, p };
    apr_status_t rv = APR_SUCCESS;

    for (ctx.group = MD_SG_ACCOUNTS; APR_SUCCESS == rv && ctx.group < MD_SG_COUNT; ++ctx.group) {
        if (ctx.group == MD_SG_TMP) {
            continue;
        }
        rv = fs_iter_names(upgrade_one, &ctx, &fs->s, ctx.group, p);
        if (APR_SUCCESS == rv) {
            rv = ctx.rv;
        }
    }
    if (APR_SUCCESS == rv) {
        md_json_del(json, MD_KEY_VERSION); /* a top level field of version 2 */
        md_json_setl(FS_STORE_VERSION, json, MD_KEY_STORE, MD_KEY_VERSION);
        rv = md_json_writef(json, p, fpath, MD_FPROT_F_UONLY);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12751) "store: upgrading %s from version %.1f to %d failed%s%s; "
                                     "nothing was removed, the upgrade is tried again at the next "
                                     "start",
                      fs->base, version, FS_STORE_VERSION, ctx.failed ? " at " : "",
                      ctx.failed ? ctx.failed : "");
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                  APLOGNO(12750) "store: upgraded %s from version %.1f to %d", fs->base, version,
                  FS_STORE_VERSION);
    return APR_SUCCESS;
}

/* With 'may_upgrade' zero (a read-only store) an older layout is an error instead. */
static apr_status_t read_store_file(md_store_fs_t *fs, const char *fpath, int may_upgrade,
                                    apr_pool_t *p)
{
    md_json_t *json = NULL;
    const char *key64, *err = NULL;
    unsigned char *key = NULL;
    apr_ssize_t klen;
    double version;
    apr_status_t rv;

    rv = md_json_readf(&json, p, fpath, &err);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    if (!md_json_is_object(json)) {
        err = "it is not a JSON object";
        rv = APR_EINVAL;
        goto leave;
    }
    /* the stock module writes the version as a real (3.0); none at all means version 1 */
    version = md_json_getn(json, 0.0, MD_KEY_STORE, MD_KEY_VERSION);
    if (version <= 0.0) {
        version = 1.0;
    }
    if (version > FS_STORE_VERSION) {
        err = apr_psprintf(p, "store version %.1f is newer than this module's (%d)", version,
                           FS_STORE_VERSION);
        rv = APR_EINVAL;
        goto leave;
    }
    key64 = md_json_gets(json, MD_KEY_KEY);
    klen = key64 ? md_util_base64url_decode(&key, key64, p) : -1;
    if (klen != FS_STORE_KLEN) {
        err = "it has no valid 48-byte key";
        rv = APR_EINVAL;
        goto leave;
    }
    memcpy(fs->key, key, FS_STORE_KLEN);
    OPENSSL_cleanse(key, (size_t)klen);
    if (version < FS_STORE_VERSION && !may_upgrade) {
        err = apr_psprintf(p, "store version %.1f needs an upgrade to %d, which the server or a "
                              "writing a2md command makes; it is not done when only reading",
                           version, FS_STORE_VERSION);
        rv = APR_EINVAL;
        goto leave;
    }
    if (version < FS_STORE_VERSION) {
        /* errors are logged there; the store is not usable in a half old layout */
        rv = upgrade_store(fs, json, version, fpath, p);
        return rv;
    }
leave:
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12105) "store: %s is unusable (%s). It holds the key that encrypts "
                                     "the account and staged keys; restore it from a backup, or "
                                     "move the whole store away to start over",
                      fpath, err ? err : "unreadable");
    }
    return rv;
}

static md_store_fs_t *fs_make(const char *path, apr_pool_t *p)
{
    md_store_fs_t *fs = apr_pcalloc(p, sizeof(*fs));

    fs->s.load = fs_load;
    fs->s.save = fs_save;
    fs->s.remove = fs_remove;
    fs->s.purge = fs_purge;
    fs->s.iter_names = fs_iter_names;
    fs->s.activate = fs_activate;
    fs->s.get_fname = fs_get_fname;
    fs->s.set_aside = fs_set_aside;
    fs->s.save_regenerable = fs_save_regenerable;
    fs->s.flush = fs_flush;
    fs->s.get_version = fs_get_version;
    fs->s.iter_aspects = fs_iter_aspects;
    fs->s.get_modified = fs_get_modified;
    fs->s.lock = md_store_fs_lock;
    fs->s.unlock = md_store_fs_unlock;
    fs->s.lock_stamp = md_store_fs_lock_stamp;
    fs->base = apr_pstrdup(p, path);
    return fs;
}

apr_status_t md_store_fs_open(md_store_t **pstore, const char *path, apr_pool_t *p)
{
    md_store_fs_t *fs = fs_make(path, p);
    const char *fpath;
    md_store_group_t g;
    apr_status_t rv;

    *pstore = NULL;
    rv = md_util_dir_make(fs->base, MD_FPROT_D_UALL_WREAD, p);
    for (g = MD_SG_ACCOUNTS; APR_SUCCESS == rv && g < MD_SG_COUNT; ++g) {
        rv = md_util_dir_make(md_util_path_join(p, fs->base, md_store_group_name(g)), dir_perms(g),
                              p);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12106) "store: cannot create the directories of %s", path);
        return rv;
    }
    fpath = md_util_path_join(p, fs->base, FS_STORE_JSON);
    rv = md_util_is_file(fpath, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        rv = create_store_file(fs, fpath, p);
    }
    else if (APR_SUCCESS == rv) {
        rv = read_store_file(fs, fpath, 1, p);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    fs_iter_names(recover_one, fs, &fs->s, MD_SG_TMP, p);
    *pstore = &fs->s;
    return APR_SUCCESS;
}

/* ---- read-only -------------------------------------------------------------------------------
 * Every operation that would change the store fails: a read-only command that tried one would
 * be a bug, and it must show rather than alter the store. */

apr_status_t md_store_fs_open_readonly(md_store_t **pstore, const char *path, apr_pool_t *p)
{
    md_store_fs_t *fs = fs_make(path, p);
    const char *fpath = md_util_path_join(p, fs->base, FS_STORE_JSON);
    apr_status_t rv;

    *pstore = NULL;
    md_store_make_readonly(&fs->s);
    rv = md_util_is_file(fpath, p);
    if (APR_SUCCESS == rv) {
        rv = read_store_file(fs, fpath, 0, p);
    }
    if (APR_SUCCESS == rv) {
        *pstore = &fs->s;
    }
    return rv;
}

const char *md_store_fs_base(md_store_t *store)
{
    return ((md_store_fs_t *)store)->base;
}

const unsigned char *md_store_fs_key(md_store_t *store)
{
    return ((md_store_fs_t *)store)->key;
}

typedef struct {
    long uid;
    long gid;
} owner_t;

static apr_status_t chown_tree(const char *path, owner_t *owner, apr_pool_t *p);

static apr_status_t chown_entry(void *baton, const char *dpath, const char *name,
                                apr_filetype_e type, apr_pool_t *ptemp)
{
    (void)type;
    return chown_tree(md_util_path_join(ptemp, dpath, name), baton, ptemp);
}

static apr_status_t chown_tree(const char *path, owner_t *owner, apr_pool_t *p)
{
    if (lchown(path, (uid_t)owner->uid, (gid_t)owner->gid)) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (APR_SUCCESS != md_util_is_dir(path, p)) {
        return APR_SUCCESS;
    }
    return md_util_dir_do(chown_entry, owner, path, p);
}

apr_status_t md_store_fs_set_owner(md_store_t *store, long uid, long gid, apr_pool_t *p)
{
    md_store_fs_t *fs = (md_store_fs_t *)store;
    static const md_store_group_t child_groups[] = { MD_SG_CHALLENGES, MD_SG_STAGING, MD_SG_OCSP };
    owner_t owner = { uid, gid };
    apr_pool_t *ptemp;
    size_t i;
    apr_status_t rv;

    rv = apr_pool_create(&ptemp, p);
    for (i = 0; APR_SUCCESS == rv && i < sizeof(child_groups) / sizeof(child_groups[0]); ++i) {
        rv = chown_tree(md_util_path_join(ptemp, fs->base, md_store_group_name(child_groups[i])),
                        &owner, ptemp);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(12107) "store: cannot give challenges/, staging/ and ocsp/ of %s to "
                                     "the server's User (uid %ld)",
                      fs->base, uid);
    }
    apr_pool_destroy(ptemp);
    return rv;
}
