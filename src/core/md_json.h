/* md_json: JSON values owned by an APR pool (a thin layer over jansson).
 *
 * An md_json_t holds one reference to a jansson value and drops it when its pool is cleared, so
 * callers never free anything. Key paths are variadic: the macros below append the terminating
 * NULL, e.g. md_json_gets(json, MD_KEY_CA, MD_KEY_URL). Strings returned by getters live in the
 * pool of the md_json_t they were read from (copied, so they survive later changes).
 * JSON field names only come from md_keys.h.
 */
#ifndef md_json_h
#define md_json_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_file_info.h>

struct json_t;

typedef struct md_json_t md_json_t;
struct md_json_t {
    apr_pool_t *p;
    struct json_t *j;
};

/* Longest JSON accepted from a file or the network. */
#define MD_JSON_MAX_LEN (1024 * 1024)

typedef enum {
    MD_JSON_FMT_COMPACT,
    MD_JSON_FMT_INDENT,
} md_json_fmt_t;

/** A new empty object / array in 'p'. */
md_json_t *md_json_create(apr_pool_t *p);
md_json_t *md_json_create_array(apr_pool_t *p);

/** Wrap a jansson value, taking over the caller's reference. */
md_json_t *md_json_wrap(struct json_t *j, apr_pool_t *p);

/** Deep copy into 'p'. */
md_json_t *md_json_clone(const md_json_t *json, apr_pool_t *p);

/* Getters: NULL / 0 when the path does not exist or has another type. */
const char *md_json_gets_(const md_json_t *json, ...) __attribute__((sentinel));
long md_json_getl_(const md_json_t *json, ...) __attribute__((sentinel));
int md_json_getb_(const md_json_t *json, ...) __attribute__((sentinel));
/* A number, integer or real (the stock module writes e.g. versions as 3.0); 'dflt' if none. */
double md_json_getn_(const md_json_t *json, double dflt, ...) __attribute__((sentinel));
int md_json_has_key_(const md_json_t *json, ...) __attribute__((sentinel));
/** The value at the path, shared (not copied) with 'json'; lives as long as json->p. */
md_json_t *md_json_getj_(const md_json_t *json, ...) __attribute__((sentinel));
/** Strings of an array at the path appended to 'a' (const char *, copied into a->pool). */
apr_status_t md_json_getsa_(apr_array_header_t *a, const md_json_t *json, ...)
    __attribute__((sentinel));
/** Elements of an array at the path as md_json_t* (shared) into 'a'. APR_ENOENT if none. */
apr_status_t md_json_geta_(apr_array_header_t *a, const md_json_t *json, ...)
    __attribute__((sentinel));

/* Setters create intermediate objects as needed. */
apr_status_t md_json_sets_(const char *value, md_json_t *json, ...) __attribute__((sentinel));
apr_status_t md_json_setl_(long value, md_json_t *json, ...) __attribute__((sentinel));
apr_status_t md_json_setb_(int value, md_json_t *json, ...) __attribute__((sentinel));
/** Set a deep copy of 'value' (NULL sets JSON null). */
apr_status_t md_json_setj_(const md_json_t *value, md_json_t *json, ...) __attribute__((sentinel));
/** Set an array of the strings in 'a'. */
apr_status_t md_json_setsa_(const apr_array_header_t *a, md_json_t *json, ...)
    __attribute__((sentinel));
apr_status_t md_json_del_(md_json_t *json, ...) __attribute__((sentinel));

#define md_json_gets(json, ...)     md_json_gets_(json, __VA_ARGS__, (const char *)NULL)
#define md_json_getl(json, ...)     md_json_getl_(json, __VA_ARGS__, (const char *)NULL)
#define md_json_getb(json, ...)     md_json_getb_(json, __VA_ARGS__, (const char *)NULL)
#define md_json_getn(json, d, ...)  md_json_getn_(json, d, __VA_ARGS__, (const char *)NULL)
#define md_json_has_key(json, ...)  md_json_has_key_(json, __VA_ARGS__, (const char *)NULL)
#define md_json_getj(json, ...)     md_json_getj_(json, __VA_ARGS__, (const char *)NULL)
#define md_json_getsa(a, json, ...) md_json_getsa_(a, json, __VA_ARGS__, (const char *)NULL)
#define md_json_geta(a, json, ...)  md_json_geta_(a, json, __VA_ARGS__, (const char *)NULL)
#define md_json_sets(v, json, ...)  md_json_sets_(v, json, __VA_ARGS__, (const char *)NULL)
#define md_json_setl(v, json, ...)  md_json_setl_(v, json, __VA_ARGS__, (const char *)NULL)
#define md_json_setb(v, json, ...)  md_json_setb_(v, json, __VA_ARGS__, (const char *)NULL)
#define md_json_setj(v, json, ...)  md_json_setj_(v, json, __VA_ARGS__, (const char *)NULL)
#define md_json_setsa(a, json, ...) md_json_setsa_(a, json, __VA_ARGS__, (const char *)NULL)
#define md_json_del(json, ...)      md_json_del_(json, __VA_ARGS__, (const char *)NULL)

/**
 * Copy (deep) each member of the object 'from' that 'json' does not have and whose name is not
 * in the NULL-terminated list 'skip' (may be NULL) into the object 'json'. Keeps fields written
 * by other versions when a file is rewritten. APR_EINVAL if either is not an object.
 */
apr_status_t md_json_copy_missing(md_json_t *json, const md_json_t *from, const char *const *skip);

/** Append a deep copy of 'value' to the array 'json'. */
apr_status_t md_json_array_append(md_json_t *json, const md_json_t *value);
/** The member names of the object 'json' (none when it is no object), copied into 'p'. */
apr_array_header_t *md_json_keys(const md_json_t *json, apr_pool_t *p);
/** Number of elements if 'json' is an array, else 0. */
apr_size_t md_json_array_size(const md_json_t *json);
/** Non-zero if the value is an object / array / string. */
int md_json_is_object(const md_json_t *json);
int md_json_is_array(const md_json_t *json);

/** Serialize; the string lives in 'p'. Keys keep their insertion order. */
const char *md_json_writep(const md_json_t *json, apr_pool_t *p, md_json_fmt_t fmt);

/**
 * Parse 'len' bytes. APR_EINVAL for invalid JSON or more than MD_JSON_MAX_LEN bytes; when 'perr'
 * is not NULL it gets jansson's message with line and column, in 'p'.
 */
apr_status_t md_json_readbuf(md_json_t **pjson, apr_pool_t *p, const char *data, apr_size_t len,
                             const char **perr);

/** Read and parse a file (at most MD_JSON_MAX_LEN). APR_ENOENT if missing, APR_EINVAL if bad. */
apr_status_t md_json_readf(md_json_t **pjson, apr_pool_t *p, const char *fpath, const char **perr);

/** Write atomically (md_util_file_write_atomic) as indented JSON with 'perms'. */
apr_status_t md_json_writef(const md_json_t *json, apr_pool_t *p, const char *fpath,
                            apr_fileperms_t perms);

#endif /* md_json_h */
