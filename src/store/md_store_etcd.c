/* md_store_etcd: the store on etcd v3 (see md_store_etcd.h for the layout and the rules).
 *
 * Reading a value:
 *   1. get its key from etcd; open the body (sealed values) and parse it as the file store does
 *   2. for a mirrored group, bring the local copy up to date: write it when it differs, remove
 *      it when etcd has no such value
 *   3. while etcd is not available, a mirrored group is read from the local copy instead, any
 *      other group fails with APR_EAGAIN (try later)
 * Writing a value: make the bytes as the file store would, seal them when they hold a plain
 * private key, put them (guarded by the MD's lock when this process holds it, see
 * md_store_etcd_int.h), then write the local copy. While etcd is away, mirrored groups are
 * written to the local copy only (etcd's value wins again once it is back).
 */
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>

#include <openssl/crypto.h>

#include "md.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_seal.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "md_store_etcd.h"
#include "md_store_etcd_int.h"

#define ETCD_STORE_VERSION 3
#define VALUE_MAGIC        "md1 "
#define VALUE_MAX          (1024 * 1024)
#define FNAME_FRESH        apr_time_from_sec(5)
#define TOP_DIR            "top"
#define STORE_JSON         "store.json"
#define FS_STORE_JSON      "md_store.json"

int md_store_etcd_has_copy(const md_store_etcd_t *es, md_store_group_t group)
{
    return (group == MD_SG_NONE || group == MD_SG_DOMAINS || group == MD_SG_OCSP)
           && es->opener == getpid();
}

/* ---- keys ------------------------------------------------------------------------------------
 */

static int is_safe_segment(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static apr_status_t check_names(md_store_group_t group, const char *name, const char *aspect)
{
    if ((int)group < 0 || group >= MD_SG_COUNT || group == MD_SG_TMP) {
        return APR_EINVAL;
    }
    if (group != MD_SG_NONE && !is_safe_segment(name)) {
        return APR_EINVAL;
    }
    if (aspect && !is_safe_segment(aspect)) {
        return APR_EINVAL;
    }
    if (group == MD_SG_NONE && aspect && strcmp(aspect, FS_STORE_JSON) == 0) {
        return APR_EINVAL; /* the store key stays on the servers */
    }
    return APR_SUCCESS;
}

const char *md_store_etcd_key(md_store_etcd_t *es, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return apr_pstrcat(p, es->prefix, "/" TOP_DIR "/", aspect, NULL);
    }
    return apr_pstrcat(p, es->prefix, "/", md_store_group_name(group), "/", name, "/", aspect,
                       NULL);
}

const char *md_store_etcd_dir(md_store_etcd_t *es, md_store_group_t group, const char *name,
                              apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return apr_pstrcat(p, es->prefix, "/" TOP_DIR "/", NULL);
    }
    if (!name) {
        return apr_pstrcat(p, es->prefix, "/", md_store_group_name(group), "/", NULL);
    }
    return apr_pstrcat(p, es->prefix, "/", md_store_group_name(group), "/", name, "/", NULL);
}

const char *md_store_etcd_lock_key(md_store_etcd_t *es, const char *name, apr_pool_t *p)
{
    return apr_pstrcat(p, es->prefix, "/locks/", name, NULL);
}

/* ---- values ----------------------------------------------------------------------------------
 */

/* A private key in PEM that is not encrypted: it gets sealed. */
static int is_plain_key(const char *data, apr_size_t len)
{
    return memmem(data, len, "PRIVATE KEY-----", 16) != NULL
           && memmem(data, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) == NULL;
}

apr_status_t md_store_etcd_value_make(const char **pvalue, apr_size_t *plen, md_store_etcd_t *es,
                                      const char *data, apr_size_t len, apr_pool_t *p)
{
    const char *body = data, *head;
    apr_size_t blen = len, hlen;
    char *value;
    int is_sealed = is_plain_key(data, len);
    apr_status_t rv;

    if (is_sealed) {
        rv = md_seal(&body, data, len, es->key, MD_STORE_KEY_LEN, p);
        if (APR_SUCCESS != rv) {
            return rv;
        }
        blen = strlen(body);
    }
    head = apr_psprintf(p, VALUE_MAGIC "%" APR_TIME_T_FMT " %s %s\n", apr_time_now(),
                        is_sealed ? "s" : "p", es->origin);
    hlen = strlen(head);
    value = apr_palloc(p, hlen + blen + 1);
    memcpy(value, head, hlen);
    memcpy(value + hlen, body, blen);
    value[hlen + blen] = '\0';
    *pvalue = value;
    *plen = hlen + blen;
    return APR_SUCCESS;
}

apr_status_t md_store_etcd_value_read(char **pdata, apr_size_t *plen, apr_time_t *pmtime,
                                      const char **porigin, md_store_etcd_t *es,
                                      const md_etcd_kv_t *kv, apr_pool_t *p)
{
    const char *value = kv->value, *nl, *flag = "p", *origin = "";
    apr_size_t vlen = kv->len;
    char **words = NULL;
    apr_time_t mtime = 0;
    apr_size_t hlen = 0;
    apr_status_t rv = APR_SUCCESS;

    /* a value without our header (put there by hand) is taken as it is */
    nl = memchr(value, '\n', vlen);
    if (vlen > 4 && !memcmp(value, VALUE_MAGIC, 4) && nl) {
        hlen = (apr_size_t)(nl - value) + 1;
        apr_tokenize_to_argv(apr_pstrmemdup(p, value, hlen - 1), &words, p);
        if (words[1]) {
            mtime = (apr_time_t)apr_atoi64(words[1]);
            flag = words[2] ? words[2] : "p";
            origin = (words[2] && words[3]) ? words[3] : "";
        }
    }
    if (strcmp(flag, "s") == 0) {
        rv = md_seal_open(pdata, plen, value + hlen, vlen - hlen, es->key, MD_STORE_KEY_LEN, p);
        if (APR_SUCCESS != rv) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                          APLOGNO(13108) "store: etcd %s cannot be opened with the key of this "
                                         "server's md_store.json: the key files of the servers "
                                         "differ, or the value was altered",
                          kv->key);
            return APR_EINVAL;
        }
    }
    else {
        *pdata = apr_pstrmemdup(p, value + hlen, vlen - hlen);
        *plen = vlen - hlen;
    }
    if (pmtime) {
        *pmtime = mtime;
    }
    if (porigin) {
        *porigin = origin;
    }
    return rv;
}

/* 1. The body of (group, name, aspect) from etcd. */
static apr_status_t get_body(char **pdata, apr_size_t *plen, apr_time_t *pmtime,
                             md_store_etcd_t *es, md_store_group_t group, const char *name,
                             const char *aspect, apr_pool_t *p)
{
    const char *key = md_store_etcd_key(es, group, name, aspect, p);
    md_etcd_kv_t *kv = NULL;
    apr_status_t rv;

    rv = md_etcd_get(&kv, es->etcd, key, 0, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (kv->len > VALUE_MAX) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      APLOGNO(13109) "store: etcd %s is larger than %d bytes", key, VALUE_MAX);
        return APR_EINVAL;
    }
    return md_store_etcd_value_read(pdata, plen, pmtime, NULL, es, kv, p);
}

/* ---- 2. the local copy -----------------------------------------------------------------------
 * Failures are only traced: the copy is a convenience (a child process of the server may not
 * write the parent's directories), etcd holds the truth. */

static void mirror_write(md_store_etcd_t *es, md_store_group_t group, const char *name,
                         const char *aspect, const char *data, apr_size_t len, apr_pool_t *p)
{
    void *old = NULL;
    apr_status_t rv;

    if (APR_SUCCESS == md_store_load(es->local, group, name, aspect, MD_SV_TEXT, &old, p)
        && strlen(old) == len && !memcmp(old, data, len)) {
        return;
    }
    rv = md_store_save_regenerable(es->local, group, name, aspect, MD_SV_TEXT,
                                   apr_pstrmemdup(p, data, len), p);
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE2, rv, p, "store: local copy of %s/%s/%s updated",
                  md_store_group_name(group), name ? name : "", aspect);
}

static void mirror_remove(md_store_etcd_t *es, md_store_group_t group, const char *name,
                          const char *aspect, apr_pool_t *p)
{
    md_store_remove(es->local, group, name, aspect, p);
}

/* ---- the store's functions -------------------------------------------------------------------
 */

static apr_status_t es_load(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, md_store_vtype_t vtype, void **pvalue,
                            apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    char *data = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* 1. */
    rv = get_body(&data, &len, NULL, es, group, name, aspect, p);
    if (APR_STATUS_IS_EAGAIN(rv) && md_store_etcd_has_copy(es, group)) {
        /* 3. */
        return md_store_load(es->local, group, name, aspect, vtype, pvalue, p);
    }
    /* 2. */
    if (md_store_etcd_has_copy(es, group) && !es->is_readonly) {
        if (APR_SUCCESS == rv) {
            mirror_write(es, group, name, aspect, data, len, p);
        }
        else if (APR_STATUS_IS_ENOENT(rv)) {
            mirror_remove(es, group, name, aspect, p);
        }
    }
    if (APR_SUCCESS == rv) {
        rv = md_store_decode(pvalue, group, vtype, data, len, es->key, &err, p);
        if (APR_SUCCESS != rv) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                          APLOGNO(13110) "store: etcd %s cannot be read%s%s: set it aside or "
                                         "repair it (etcdctl)",
                          md_store_etcd_key(es, group, name, aspect, p), err ? ": " : "",
                          err ? err : "");
        }
    }
    return rv;
}

int md_store_etcd_guard(md_etcd_txn_t *txn, md_store_etcd_t *es, md_store_group_t group,
                        const char *name, apr_pool_t *p)
{
    apr_int64_t rev = 0;

    if ((group != MD_SG_STAGING && group != MD_SG_DOMAINS) || !name
        || !md_store_etcd_holds(&rev, es, name)) {
        return 0;
    }
    md_etcd_txn_if_created(txn, md_store_etcd_lock_key(es, name, p), rev);
    return 1;
}

apr_status_t md_store_etcd_lost_lock(md_store_etcd_t *es, const char *name, const char *what,
                                     apr_pool_t *p)
{
    md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EBUSY, p,
                  APLOGNO(13111) "%s: %s not done: this server's lock of the MD in etcd %s ended "
                                 "(its lease expired) and another server may hold it now",
                  name, what, es->prefix);
    return APR_EBUSY;
}

/* One change of etcd in a transaction guarded by the MD's lock when this process holds it.
 * 'value' NULL deletes ('is_prefix': everything under the key). */
static apr_status_t write_guarded(md_store_etcd_t *es, md_store_group_t group, const char *name,
                                  const char *key, const char *value, apr_size_t len, int is_prefix,
                                  apr_pool_t *p)
{
    md_etcd_txn_t *txn = md_etcd_txn_make(p);
    int is_guarded, ok = 0;
    apr_status_t rv;

    rv = md_store_etcd_check_key(es, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    is_guarded = md_store_etcd_guard(txn, es, group, name, p);
    if (!is_guarded) {
        return value ? md_etcd_put(NULL, es->etcd, key, value, len, 0, p)
                     : md_etcd_delete(es->etcd, key, is_prefix, p);
    }
    if (value) {
        md_etcd_txn_put(txn, key, value, len, 0);
    }
    else {
        md_etcd_txn_delete(txn, key, is_prefix);
    }
    rv = md_etcd_txn_commit(&ok, NULL, NULL, es->etcd, txn, p);
    if (APR_SUCCESS == rv && !ok) {
        rv = md_store_etcd_lost_lock(es, name, apr_psprintf(p, "writing %s", key), p);
    }
    return rv;
}

static apr_status_t save_value(md_store_t *store, md_store_group_t group, const char *name,
                               const char *aspect, md_store_vtype_t vtype, const void *value,
                               int is_durable, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    const char *data = NULL, *stored = NULL, *key;
    apr_size_t len = 0, slen = 0;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = md_store_encode(&data, &len, group, vtype, value, es->key, p);
    if (APR_SUCCESS == rv) {
        rv = md_store_etcd_value_make(&stored, &slen, es, data, len, p);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    key = md_store_etcd_key(es, group, name, aspect, p);
    rv = write_guarded(es, group, name, key, stored, slen, 0, p);
    if (md_store_etcd_has_copy(es, group) && (APR_SUCCESS == rv || APR_STATUS_IS_EAGAIN(rv))) {
        if (APR_SUCCESS == rv) {
            mirror_write(es, group, name, aspect, data, len, p);
        }
        else {
            /* etcd is away: the local copy serves until it is back */
            rv = is_durable ? md_store_save(es->local, group, name, aspect, MD_SV_TEXT,
                                            apr_pstrmemdup(p, data, len), p)
                            : md_store_save_regenerable(es->local, group, name, aspect, MD_SV_TEXT,
                                                        apr_pstrmemdup(p, data, len), p);
        }
    }
    if (APR_SUCCESS != rv && !APR_STATUS_IS_EAGAIN(rv) && !APR_STATUS_IS_EBUSY(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(13112) "store: writing etcd %s failed, the previous value is kept",
                      key);
    }
    if (vtype == MD_SV_PKEY && data) {
        OPENSSL_cleanse((void *)(apr_uintptr_t)data, len);
    }
    return rv;
}

static apr_status_t es_save(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, md_store_vtype_t vtype, const void *value,
                            apr_pool_t *p)
{
    return save_value(store, group, name, aspect, vtype, value, 1, p);
}

/* etcd makes every write durable before it answers: both kinds of save are the same there */
static apr_status_t es_save_regenerable(md_store_t *store, md_store_group_t group, const char *name,
                                        const char *aspect, md_store_vtype_t vtype,
                                        const void *value, apr_pool_t *p)
{
    return save_value(store, group, name, aspect, vtype, value, 0, p);
}

static apr_status_t es_flush(md_store_t *store, apr_pool_t *p)
{
    return md_store_flush(((md_store_etcd_t *)store)->local, p);
}

static apr_status_t es_remove(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = write_guarded(es, group, name, md_store_etcd_key(es, group, name, aspect, p), NULL, 0, 0,
                       p);
    if (md_store_etcd_has_copy(es, group) && (APR_SUCCESS == rv || APR_STATUS_IS_EAGAIN(rv))) {
        rv = md_store_remove(es->local, group, name, aspect, p);
    }
    return rv;
}

static apr_status_t es_purge(md_store_t *store, md_store_group_t group, const char *name,
                             apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    apr_status_t rv = check_names(group, name, NULL);

    if (APR_SUCCESS != rv || group == MD_SG_NONE) {
        return APR_EINVAL;
    }
    rv = write_guarded(es, group, name, md_store_etcd_dir(es, group, name, p), NULL, 0, 1, p);
    if (md_store_etcd_has_copy(es, group) && (APR_SUCCESS == rv || APR_STATUS_IS_EAGAIN(rv))) {
        rv = md_store_purge(es->local, group, name, p);
    }
    return rv;
}

/* The segment of 'key' after 'dir', up to the next '/' (or the end), in 'p'; NULL if none. */
static const char *segment_after(const char *key, const char *dir, apr_pool_t *p)
{
    apr_size_t dlen = strlen(dir);
    const char *s, *slash;

    if (strncmp(key, dir, dlen) != 0) {
        return NULL;
    }
    s = key + dlen;
    slash = strchr(s, '/');
    return slash ? apr_pstrmemdup(p, s, (apr_size_t)(slash - s)) : apr_pstrdup(p, s);
}

/* Call 'cb' for each distinct first segment of the keys under 'dir'. */
static apr_status_t iter_segments(md_store_name_cb *cb, void *baton, md_store_etcd_t *es,
                                  const char *dir, apr_pool_t *p)
{
    apr_array_header_t *kvs = NULL;
    const char *seg, *last = NULL;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;
    int i;

    rv = md_etcd_get_prefix(&kvs, es->etcd, dir, 1, p);
    if (APR_SUCCESS == rv) {
        rv = apr_pool_create(&ptemp, p);
    }
    for (i = 0; APR_SUCCESS == rv && i < kvs->nelts; ++i) {
        seg = segment_after(APR_ARRAY_IDX(kvs, i, md_etcd_kv_t *)->key, dir, p);
        /* keys come sorted: the keys of one name follow each other */
        if (!seg || !*seg || seg[0] == '.' || (last && !strcmp(seg, last))) {
            continue;
        }
        last = seg;
        if (!cb(baton, seg, ptemp)) {
            break;
        }
        apr_pool_clear(ptemp);
    }
    if (ptemp) {
        apr_pool_destroy(ptemp);
    }
    return rv;
}

static apr_status_t es_iter_names(md_store_name_cb *cb, void *baton, md_store_t *store,
                                  md_store_group_t group, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    apr_status_t rv;

    if (group == MD_SG_NONE || group == MD_SG_TMP) {
        return APR_SUCCESS; /* no names there (tmp/ is the file store's scratch space) */
    }
    rv = iter_segments(cb, baton, es, md_store_etcd_dir(es, group, NULL, p), p);
    if (APR_STATUS_IS_EAGAIN(rv) && md_store_etcd_has_copy(es, group)) {
        rv = md_store_iter_names(cb, baton, es->local, group, p);
    }
    return rv;
}

static apr_status_t es_iter_aspects(md_store_name_cb *cb, void *baton, md_store_t *store,
                                    md_store_group_t group, const char *name, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    apr_status_t rv = check_names(group, name, NULL);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = iter_segments(cb, baton, es, md_store_etcd_dir(es, group, name, p), p);
    if (APR_STATUS_IS_EAGAIN(rv) && md_store_etcd_has_copy(es, group)) {
        rv = md_store_iter_aspects(cb, baton, es->local, group, name, p);
    }
    return rv;
}

static apr_status_t es_get_modified(apr_time_t *pmtime, md_store_t *store, md_store_group_t group,
                                    const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = get_body(&data, &len, pmtime, es, group, name, aspect, p);
    if (APR_STATUS_IS_EAGAIN(rv) && md_store_etcd_has_copy(es, group)) {
        rv = md_store_get_modified(pmtime, es->local, group, name, aspect, p);
    }
    return rv;
}

/* The revision of the last change identifies a version; "l" versions are of the local copy. */
static apr_status_t es_get_version(const char **pversion, md_store_t *store, md_store_group_t group,
                                   const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    md_etcd_kv_t *kv = NULL;
    const char *local = NULL;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = md_etcd_get(&kv, es->etcd, md_store_etcd_key(es, group, name, aspect, p), 1, p);
    if (APR_SUCCESS == rv) {
        *pversion = apr_psprintf(p, "e%" APR_INT64_T_FMT, kv->mod_rev);
    }
    else if (APR_STATUS_IS_EAGAIN(rv) && md_store_etcd_has_copy(es, group)) {
        rv = md_store_get_version(&local, es->local, group, name, aspect, p);
        *pversion = local ? apr_pstrcat(p, "l", local, NULL) : NULL;
    }
    return rv;
}

/* mod_ssl needs files: the value is brought into the local copy (unless that was done a moment
 * ago) and the local file named. While etcd is away the local copy is what there is. */
static apr_status_t es_get_fname(const char **pfname, md_store_t *store, md_store_group_t group,
                                 const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    char *data = NULL;
    apr_size_t len = 0;
    apr_time_t mtime;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (!md_store_etcd_has_copy(es, group)) {
        return APR_ENOTIMPL;
    }
    rv = md_store_get_fname(pfname, es->local, group, name, aspect, p);
    if (APR_SUCCESS != rv || es->is_readonly
        || (APR_SUCCESS == md_store_get_modified(&mtime, es->local, group, name, aspect, p)
            && apr_time_now() - mtime < FNAME_FRESH)) {
        return rv;
    }
    rv = get_body(&data, &len, NULL, es, group, name, aspect, p);
    if (APR_SUCCESS == rv) {
        mirror_write(es, group, name, aspect, data, len, p);
        OPENSSL_cleanse(data, len);
    }
    else if (APR_STATUS_IS_ENOENT(rv)) {
        mirror_remove(es, group, name, aspect, p);
    }
    return APR_SUCCESS;
}

static apr_status_t es_set_aside(const char **pnewname, md_store_t *store, md_store_group_t group,
                                 const char *name, const char *aspect, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;
    const char *key, *to;
    md_etcd_kv_t *kv = NULL;
    md_etcd_txn_t *txn;
    int ok = 0;
    apr_status_t rv = check_names(group, name, aspect);

    if (APR_SUCCESS == rv) {
        rv = md_store_etcd_check_key(es, p);
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    key = md_store_etcd_key(es, group, name, aspect, p);
    to = apr_psprintf(p, "%s.broken-%" APR_TIME_T_FMT, key, apr_time_sec(apr_time_now()));
    rv = md_etcd_get(&kv, es->etcd, key, 0, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    txn = md_etcd_txn_make(p);
    md_etcd_txn_if_modified(txn, key, kv->mod_rev);
    md_etcd_txn_put(txn, to, kv->value, kv->len, 0);
    md_etcd_txn_delete(txn, key, 0);
    rv = md_etcd_txn_commit(&ok, NULL, NULL, es->etcd, txn, p);
    if (APR_SUCCESS == rv && !ok) {
        rv = APR_EAGAIN; /* it changed meanwhile: look again */
    }
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p,
                      APLOGNO(13113) "store: set etcd %s aside as %s, it will be regenerated "
                                     "where possible",
                      key, to);
        if (md_store_etcd_has_copy(es, group)) {
            mirror_remove(es, group, name, aspect, p);
        }
        if (pnewname) {
            *pnewname = to;
        }
    }
    return rv;
}

/* ---- opening ---------------------------------------------------------------------------------
 */

static apr_status_t compare_key_id(md_store_etcd_t *es, const md_etcd_kv_t *kv, const char *mine,
                                   apr_pool_t *p)
{
    md_json_t *json = NULL;
    const char *theirs;

    if (APR_SUCCESS == md_json_readbuf(&json, p, kv->value, kv->len, NULL)
        && (theirs = md_json_gets(json, MD_KEY_ETCD_KEY_ID)) != NULL && !strcmp(theirs, mine)) {
        return APR_SUCCESS;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                  APLOGNO(13114) "store: the store in etcd %s (%s) was made with another key than "
                                 "the one in %s/md_store.json: every server of the fleet needs a "
                                 "copy of the same md_store.json (copy it from a server that "
                                 "uses this store, mode 0600, owned by root)",
                  es->prefix, md_etcd_endpoints(es->etcd), md_store_fs_base(es->local));
    return APR_EINVAL;
}

/* P/store.json is made when missing (only one server's attempt succeeds), then compared. */
static apr_status_t check_key(md_store_etcd_t *es, apr_pool_t *p)
{
    const char *key = apr_pstrcat(p, es->prefix, "/" STORE_JSON, NULL);
    const char *mine = md_seal_key_id(es->key, MD_STORE_KEY_LEN, p), *text;
    md_json_t *json = md_json_create(p);
    md_etcd_kv_t *kv = NULL;
    md_etcd_txn_t *txn;
    int ok = 0;
    apr_status_t rv;

    if (!mine) {
        return APR_EGENERAL;
    }
    rv = md_etcd_get(&kv, es->etcd, key, 0, p);
    if (APR_STATUS_IS_ENOENT(rv) && es->is_readonly) {
        return APR_ENOENT;
    }
    if (APR_STATUS_IS_ENOENT(rv)) {
        md_json_setl(ETCD_STORE_VERSION, json, MD_KEY_STORE, MD_KEY_VERSION);
        md_json_sets(mine, json, MD_KEY_ETCD_KEY_ID);
        text = md_json_writep(json, p, MD_JSON_FMT_INDENT);
        txn = md_etcd_txn_make(p);
        md_etcd_txn_if_created(txn, key, 0);
        md_etcd_txn_put(txn, key, text, strlen(text), 0);
        md_etcd_txn_else_get(txn, key);
        rv = md_etcd_txn_commit(&ok, NULL, &kv, es->etcd, txn, p);
        if (APR_SUCCESS == rv && ok) {
            md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                          APLOGNO(13115) "store: created the store in etcd %s (%s)", es->prefix,
                          md_etcd_endpoints(es->etcd));
            return APR_SUCCESS;
        }
        if (APR_SUCCESS == rv && !kv) {
            rv = APR_EAGAIN;
        }
    }
    if (APR_SUCCESS == rv) {
        rv = compare_key_id(es, kv, mine, p);
    }
    return rv;
}

apr_status_t md_store_etcd_check_key(md_store_etcd_t *es, apr_pool_t *p)
{
    int checked;
    apr_status_t rv;

    pthread_mutex_lock(&es->mutex);
    checked = es->is_key_checked;
    pthread_mutex_unlock(&es->mutex);
    if (checked) {
        return APR_SUCCESS;
    }
    rv = check_key(es, p);
    if (APR_SUCCESS == rv) {
        pthread_mutex_lock(&es->mutex);
        es->is_key_checked = 1;
        pthread_mutex_unlock(&es->mutex);
    }
    return rv;
}

static const char *make_origin(apr_pool_t *p)
{
    char host[256];

    if (gethostname(host, sizeof(host) - 1)) {
        apr_cpystrn(host, "localhost", sizeof(host));
    }
    host[sizeof(host) - 1] = '\0';
    return apr_psprintf(p, "%s:%ld", host, (long)getpid());
}

/* With the store's pool, in the process that took locks: the process's lock state goes too (its
 * locks are let go by their own pools' cleanups before). */
static apr_status_t store_cleanup(void *data)
{
    md_store_etcd_t *es = data;

    pthread_mutex_lock(&es->mutex);
    if (es->ls.pool && es->ls.pid == getpid() && !es->ls.keeper) {
        apr_pool_destroy(es->ls.pool);
        es->ls.pool = NULL;
    }
    pthread_mutex_unlock(&es->mutex);
    return APR_SUCCESS;
}

apr_status_t md_store_etcd_open(md_store_t **pstore, md_etcd_t *etcd, const char *prefix,
                                apr_interval_time_t lock_ttl, md_store_t *local, int flags,
                                apr_pool_t *p)
{
    md_store_etcd_t *es = apr_pcalloc(p, sizeof(*es));
    apr_size_t plen = strlen(prefix);
    apr_status_t rv;

    *pstore = NULL;
    while (plen && prefix[plen - 1] == '/') {
        --plen;
    }
    es->prefix = apr_pstrmemdup(p, prefix, plen);
    es->etcd = etcd;
    es->local = local;
    es->key = md_store_fs_key(local);
    es->origin = make_origin(p);
    es->opener = getpid();
    es->lock_ttl = lock_ttl > 0 ? lock_ttl : MD_STORE_ETCD_LOCK_TTL_DEF;
    es->is_readonly = (flags & MD_STORE_ETCD_READONLY) != 0;
    pthread_mutex_init(&es->mutex, NULL);
    es->s.load = es_load;
    es->s.save = es_save;
    es->s.remove = es_remove;
    es->s.purge = es_purge;
    es->s.iter_names = es_iter_names;
    es->s.activate = md_store_etcd_activate;
    es->s.get_fname = es_get_fname;
    es->s.set_aside = es_set_aside;
    es->s.save_regenerable = es_save_regenerable;
    es->s.flush = es_flush;
    es->s.get_version = es_get_version;
    es->s.iter_aspects = es_iter_aspects;
    es->s.get_modified = es_get_modified;
    es->s.lock = md_store_etcd_lock;
    es->s.unlock = md_store_etcd_unlock;
    es->s.lock_stamp = md_store_etcd_lock_stamp;
    if (es->is_readonly) {
        md_store_make_readonly(&es->s);
    }
    apr_pool_cleanup_register(p, es, store_cleanup, apr_pool_cleanup_null);
    rv = md_store_etcd_check_key(es, p);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        rv = APR_SUCCESS; /* checked before the first write; until then the local copy serves */
    }
    if (APR_SUCCESS == rv) {
        *pstore = &es->s;
    }
    return rv;
}

const char *md_store_etcd_describe(md_store_t *store, apr_pool_t *p)
{
    md_store_etcd_t *es = (md_store_etcd_t *)store;

    return apr_psprintf(p, "etcd %s %s", md_etcd_endpoints(es->etcd), es->prefix);
}
