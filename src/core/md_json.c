/* md_json: pool-owned JSON values over jansson (see md_json.h).
 *
 * Every md_json_t holds exactly one jansson reference, dropped by a cleanup on its pool. Paths
 * are walked key by key through objects; setters create missing intermediate objects and
 * replace non-object intermediates.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include <jansson.h>

#include "md_log.h"
#include "md_util.h"
#include "md_json.h"

/* Path walks use a fixed maximum depth: our files never nest deeper than a few levels. */
#define MD_JSON_MAX_PATH 16

static apr_status_t json_pool_cleanup(void *data)
{
    md_json_t *json = data;

    if (json->j) {
        json_decref(json->j);
        json->j = NULL;
    }
    return APR_SUCCESS;
}

/* jansson only returns NULL from constructors when out of memory; we do what APR does then. */
static json_t *oom_check(json_t *j)
{
    if (!j) {
        abort();
    }
    return j;
}

md_json_t *md_json_wrap(json_t *j, apr_pool_t *p)
{
    md_json_t *json = apr_pcalloc(p, sizeof(*json));

    json->p = p;
    json->j = j;
    apr_pool_cleanup_register(p, json, json_pool_cleanup, apr_pool_cleanup_null);
    return json;
}

md_json_t *md_json_create(apr_pool_t *p)
{
    return md_json_wrap(oom_check(json_object()), p);
}

md_json_t *md_json_create_array(apr_pool_t *p)
{
    return md_json_wrap(oom_check(json_array()), p);
}

md_json_t *md_json_clone(const md_json_t *json, apr_pool_t *p)
{
    return md_json_wrap(oom_check(json_deep_copy(json->j)), p);
}

/* ---- paths ---------------------------------------------------------------------------------- */

/* A key path as given to the variadic functions. */
typedef struct {
    const char *keys[MD_JSON_MAX_PATH];
    int n;
    int too_long;
} json_path_t;

/*
 * Collect the NULL terminated keys after the parameter 'last_param' into 'path'. A macro, so
 * va_start/va_end stay in the variadic function itself (no va_list crosses a call).
 */
#define PATH_COLLECT(path, last_param)                                                             \
    do {                                                                                           \
        va_list ap_;                                                                               \
        const char *k_;                                                                            \
        (path).n = 0;                                                                              \
        (path).too_long = 0;                                                                       \
        va_start(ap_, last_param);                                                                 \
        k_ = va_arg(ap_, const char *);                                                            \
        while (k_) {                                                                               \
            if ((path).n < MD_JSON_MAX_PATH) {                                                     \
                (path).keys[(path).n++] = k_;                                                      \
            }                                                                                      \
            else {                                                                                 \
                (path).too_long = 1;                                                               \
            }                                                                                      \
            k_ = va_arg(ap_, const char *);                                                        \
        }                                                                                          \
        va_end(ap_);                                                                               \
    } while (0)

/* The value at 'path' below 'j' (the first 'n' keys), or NULL. Borrowed reference. */
static json_t *walk_n(json_t *j, const json_path_t *path, int n)
{
    int i;

    if (path->too_long) {
        return NULL;
    }
    for (i = 0; j && i < n; ++i) {
        j = json_is_object(j) ? json_object_get(j, path->keys[i]) : NULL;
    }
    return j;
}

static json_t *walk(json_t *j, const json_path_t *path)
{
    return walk_n(j, path, path->n);
}

/*
 * The parent object of the path's last key, creating (or replacing non-object) intermediates.
 * NULL when the path is empty or too long.
 */
static json_t *walk_create(json_t *j, const json_path_t *path)
{
    json_t *child;
    int i;

    if (path->n == 0 || path->too_long || !json_is_object(j)) {
        return NULL;
    }
    for (i = 0; i < path->n - 1; ++i) {
        child = json_object_get(j, path->keys[i]);
        if (!json_is_object(child)) {
            child = oom_check(json_object());
            if (json_object_set_new(j, path->keys[i], child) != 0) {
                return NULL;
            }
        }
        j = child;
    }
    return j;
}

/* Set 'val' (reference taken over) at the path. */
static apr_status_t set_at(md_json_t *json, json_t *val, const json_path_t *path)
{
    json_t *parent = walk_create(json->j, path);
    const char *last;

    if (!parent || path->n < 1) {
        json_decref(val);
        return APR_EINVAL;
    }
    last = path->keys[path->n - 1];
    if (json_object_set_new(parent, last, val) != 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, json->p,
                      APLOGNO(12010) "json_object_set_new() failed for key %s", last);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* ---- getters -------------------------------------------------------------------------------- */

const char *md_json_gets_(const md_json_t *json, ...)
{
    json_path_t path;
    json_t *j;

    PATH_COLLECT(path, json);
    j = walk(json->j, &path);
    return json_is_string(j) ? apr_pstrdup(json->p, json_string_value(j)) : NULL;
}

long md_json_getl_(const md_json_t *json, ...)
{
    json_path_t path;
    json_t *j;

    PATH_COLLECT(path, json);
    j = walk(json->j, &path);
    return json_is_integer(j) ? (long)json_integer_value(j) : 0;
}

double md_json_getn_(const md_json_t *json, double dflt, ...)
{
    json_path_t path;
    json_t *j;

    PATH_COLLECT(path, dflt);
    j = walk(json->j, &path);
    return json_is_number(j) ? json_number_value(j) : dflt;
}

int md_json_getb_(const md_json_t *json, ...)
{
    json_path_t path;
    json_t *j;

    PATH_COLLECT(path, json);
    j = walk(json->j, &path);
    if (json_is_integer(j)) {
        return json_integer_value(j) != 0;
    }
    return json_is_true(j);
}

int md_json_has_key_(const md_json_t *json, ...)
{
    json_path_t path;

    PATH_COLLECT(path, json);
    return walk(json->j, &path) != NULL;
}

md_json_t *md_json_getj_(const md_json_t *json, ...)
{
    json_path_t path;
    json_t *j;

    PATH_COLLECT(path, json);
    j = walk(json->j, &path);
    if (!j) {
        return NULL;
    }
    return md_json_wrap(json_incref(j), json->p);
}

apr_status_t md_json_getsa_(apr_array_header_t *a, const md_json_t *json, ...)
{
    json_path_t path;
    json_t *j, *e;
    size_t i;

    PATH_COLLECT(path, json);
    j = walk(json->j, &path);
    if (!json_is_array(j)) {
        return APR_ENOENT;
    }
    json_array_foreach(j, i, e)
    {
        if (json_is_string(e)) {
            APR_ARRAY_PUSH(a, const char *) = apr_pstrdup(a->pool, json_string_value(e));
        }
    }
    return APR_SUCCESS;
}

apr_status_t md_json_geta_(apr_array_header_t *a, const md_json_t *json, ...)
{
    json_path_t path;
    json_t *j, *e;
    size_t i;

    PATH_COLLECT(path, json);
    j = walk(json->j, &path);
    if (!json_is_array(j)) {
        return APR_ENOENT;
    }
    json_array_foreach(j, i, e)
    {
        APR_ARRAY_PUSH(a, md_json_t *) = md_json_wrap(json_incref(e), json->p);
    }
    return APR_SUCCESS;
}

/* ---- setters -------------------------------------------------------------------------------- */

apr_status_t md_json_sets_(const char *value, md_json_t *json, ...)
{
    json_path_t path;
    json_t *v;

    PATH_COLLECT(path, json);
    v = value ? json_string(value) : json_null();
    if (!v) {
        return APR_EINVAL; /* json_string() rejects invalid UTF-8 */
    }
    return set_at(json, v, &path);
}

apr_status_t md_json_setl_(long value, md_json_t *json, ...)
{
    json_path_t path;

    PATH_COLLECT(path, json);
    return set_at(json, oom_check(json_integer((json_int_t)value)), &path);
}

apr_status_t md_json_setb_(int value, md_json_t *json, ...)
{
    json_path_t path;

    PATH_COLLECT(path, json);
    return set_at(json, json_boolean(value), &path);
}

apr_status_t md_json_setj_(const md_json_t *value, md_json_t *json, ...)
{
    json_path_t path;
    json_t *v;

    PATH_COLLECT(path, json);
    v = (value && value->j) ? oom_check(json_deep_copy(value->j)) : json_null();
    return set_at(json, v, &path);
}

static int is_listed(const char *key, const char *const *names)
{
    for (; names && *names; ++names) {
        if (!strcmp(key, *names)) {
            return 1;
        }
    }
    return 0;
}

apr_status_t md_json_copy_missing(md_json_t *json, const md_json_t *from, const char *const *skip)
{
    const char *key;
    json_t *val;

    if (!json || !from || !json_is_object(json->j) || !json_is_object(from->j)) {
        return APR_EINVAL;
    }
    json_object_foreach (from->j, key, val) {
        if (is_listed(key, skip) || json_object_get(json->j, key)) {
            continue;
        }
        if (json_object_set_new(json->j, key, oom_check(json_deep_copy(val)))) {
            return APR_ENOMEM;
        }
    }
    return APR_SUCCESS;
}

static json_t *str_array(const apr_array_header_t *a)
{
    json_t *arr = oom_check(json_array());
    json_t *s;
    int i;

    for (i = 0; a && i < a->nelts; ++i) {
        s = json_string(APR_ARRAY_IDX(a, i, const char *));
        if (!s || json_array_append_new(arr, s) != 0) { /* _new() drops 's' on failure */
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

apr_status_t md_json_setsa_(const apr_array_header_t *a, md_json_t *json, ...)
{
    json_path_t path;
    json_t *arr;

    PATH_COLLECT(path, json);
    arr = str_array(a);
    if (!arr) {
        return APR_EINVAL;
    }
    return set_at(json, arr, &path);
}

apr_status_t md_json_del_(md_json_t *json, ...)
{
    json_path_t path;
    json_t *j;

    PATH_COLLECT(path, json);
    if (path.n == 0 || path.too_long) {
        return APR_EINVAL;
    }
    j = walk_n(json->j, &path, path.n - 1);
    if (json_is_object(j)) {
        json_object_del(j, path.keys[path.n - 1]); /* missing is fine */
    }
    return APR_SUCCESS;
}

apr_status_t md_json_array_append(md_json_t *json, const md_json_t *value)
{
    json_t *v;

    if (!json_is_array(json->j)) {
        return APR_EINVAL;
    }
    v = (value && value->j) ? oom_check(json_deep_copy(value->j)) : json_null();
    if (json_array_append_new(json->j, v) != 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, json->p,
                      APLOGNO(12011) "json_array_append_new() failed");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_size_t md_json_array_size(const md_json_t *json)
{
    return json_is_array(json->j) ? json_array_size(json->j) : 0;
}

int md_json_is_object(const md_json_t *json)
{
    return json && json_is_object(json->j);
}

apr_array_header_t *md_json_keys(const md_json_t *json, apr_pool_t *p)
{
    apr_array_header_t *keys = apr_array_make(p, 5, sizeof(const char *));
    const char *key;
    json_t *val;

    if (md_json_is_object(json)) {
        json_object_foreach(json->j, key, val)
        {
            (void)val;
            APR_ARRAY_PUSH(keys, const char *) = apr_pstrdup(p, key);
        }
    }
    return keys;
}

int md_json_is_array(const md_json_t *json)
{
    return json && json_is_array(json->j);
}

/* ---- serialization -------------------------------------------------------------------------- */

const char *md_json_writep(const md_json_t *json, apr_pool_t *p, md_json_fmt_t fmt)
{
    size_t flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER;
    size_t n, n2;
    char *buf;

    flags |= (fmt == MD_JSON_FMT_INDENT) ? JSON_INDENT(2) : JSON_COMPACT;
    n = json_dumpb(json->j, NULL, 0, flags);
    if (n == 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      APLOGNO(12012) "json_dumpb() failed");
        return NULL;
    }
    buf = apr_palloc(p, n + 1);
    n2 = json_dumpb(json->j, buf, n, flags);
    if (n2 != n) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      APLOGNO(12013) "json_dumpb() failed on second pass");
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

apr_status_t md_json_readbuf(md_json_t **pjson, apr_pool_t *p, const char *data, apr_size_t len,
                             const char **perr)
{
    json_error_t error;
    json_t *j;

    *pjson = NULL;
    if (len > MD_JSON_MAX_LEN) {
        if (perr) {
            *perr = apr_psprintf(p, "JSON of %" APR_SIZE_T_FMT " bytes exceeds the limit of %d",
                                 len, MD_JSON_MAX_LEN);
        }
        return APR_EINVAL;
    }
    j = json_loadb(data, len, 0, &error);
    if (!j) {
        if (perr) {
            *perr =
                apr_psprintf(p, "%s (line %d, column %d)", error.text, error.line, error.column);
        }
        return APR_EINVAL;
    }
    *pjson = md_json_wrap(j, p);
    return APR_SUCCESS;
}

apr_status_t md_json_readf(md_json_t **pjson, apr_pool_t *p, const char *fpath, const char **perr)
{
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    *pjson = NULL;
    rv = md_util_file_read(&data, &len, fpath, MD_JSON_MAX_LEN, p);
    if (APR_SUCCESS != rv) {
        if (perr) {
            *perr = (APR_EINVAL == rv)
                        ? apr_psprintf(p, "%s: larger than %d bytes", fpath, MD_JSON_MAX_LEN)
                        : apr_psprintf(p, "%s: cannot be read", fpath);
        }
        return rv;
    }
    rv = md_json_readbuf(pjson, p, data, len, perr);
    if (APR_SUCCESS != rv && perr && *perr) {
        *perr = apr_psprintf(p, "%s: %s", fpath, *perr);
    }
    return rv;
}

apr_status_t md_json_writef(const md_json_t *json, apr_pool_t *p, const char *fpath,
                            apr_fileperms_t perms)
{
    const char *s = md_json_writep(json, p, MD_JSON_FMT_INDENT);

    if (!s) {
        return APR_EINVAL;
    }
    return md_util_file_write_atomic(fpath, s, strlen(s), perms, p);
}
