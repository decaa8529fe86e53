/* md_util: small helpers shared by all layers: base64url, paths, atomic file writes, names.
 *
 * All returned strings live in the pool passed last. Nothing here logs secrets.
 */
#ifndef md_util_h
#define md_util_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_file_info.h>
#include <apr_thread_mutex.h>

/* File permissions used by the store. */
#define MD_FPROT_F_UONLY      (APR_FPROT_UREAD | APR_FPROT_UWRITE)                   /* 0600 */
#define MD_FPROT_D_UONLY      (MD_FPROT_F_UONLY | APR_FPROT_UEXECUTE)                /* 0700 */
#define MD_FPROT_F_UALL_WREAD (MD_FPROT_F_UONLY | APR_FPROT_GREAD | APR_FPROT_WREAD) /* 0644 */
#define MD_FPROT_D_UALL_WREAD                                                                      \
    (MD_FPROT_D_UONLY | APR_FPROT_GREAD | APR_FPROT_GEXECUTE | APR_FPROT_WREAD                     \
     | APR_FPROT_WEXECUTE) /* 0755 */
#define MD_FPROT_D_UALL_GREAD (MD_FPROT_D_UONLY | APR_FPROT_GREAD | APR_FPROT_GEXECUTE) /* 0750 */

/**
 * A pool for state that the threads of a process share: unmanaged, with an allocator of its own,
 * living as long as the process, and a mutex that must be held whenever the pool is used.
 */
apr_status_t md_util_shared_pool_create(apr_pool_t **ppool, apr_thread_mutex_t **pmutex);

/** base64url without padding (RFC 4648 5, RFC 7515 2) of 'len' bytes of 'data'. */
const char *md_util_base64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *p);

/**
 * Decode base64url (padding tolerated). *pdata gets the bytes (NUL terminated for convenience,
 * terminator not counted). Returns the decoded length, or -1 on an invalid character.
 */
apr_ssize_t md_util_base64url_decode(unsigned char **pdata, const char *encoded, apr_pool_t *p);

/** Lower-case hex of 'len' bytes ("a1b2..."), optionally with 'sep' between bytes (0 for none). */
const char *md_util_hex(const unsigned char *data, apr_size_t len, char sep, apr_pool_t *p);

/** Join path segments with '/' (the macro ends the list). */
const char *md_util_path_join_(apr_pool_t *p, const char *first, ...) __attribute__((sentinel));
#define md_util_path_join(p, ...) md_util_path_join_(p, __VA_ARGS__, (const char *)NULL)

/**
 * Write 'len' bytes atomically to 'fpath' with permissions 'perms': a temporary file in the same
 * directory, write, fsync, chmod, rename over the target, fsync of the directory. A crash at any
 * point leaves the old file or the new one, never a torn one. On failure the temp file is removed
 * and the old file is untouched. Returns APR_SUCCESS or the failing call's status.
 */
apr_status_t md_util_file_write_atomic(const char *fpath, const void *data, apr_size_t len,
                                       apr_fileperms_t perms, apr_pool_t *p);

/**
 * As md_util_file_write_atomic(), but with 'is_durable' 0 it skips both fsyncs: readers still see
 * the old or the new file, but after a crash the new one may be lost or empty. For files that can
 * be regenerated; md_util_sync_fs() later makes a batch of them durable at once.
 */
apr_status_t md_util_file_write_atomic_ex(const char *fpath, const void *data, apr_size_t len,
                                          apr_fileperms_t perms, int is_durable, apr_pool_t *p);

/** Flush everything written to the file system that holds 'path' (syncfs). */
apr_status_t md_util_sync_fs(const char *path);

/**
 * Read a whole file of at most 'max_len' bytes. *pdata is NUL terminated. APR_ENOENT if it does
 * not exist, APR_EINVAL if larger than max_len.
 */
apr_status_t md_util_file_read(char **pdata, apr_size_t *plen, const char *fpath,
                               apr_size_t max_len, apr_pool_t *p);

/** Create a directory (and parents) with 'perms'; existing is fine. */
apr_status_t md_util_dir_make(const char *dpath, apr_fileperms_t perms, apr_pool_t *p);

/** APR_SUCCESS if a regular file / directory, APR_ENOENT if missing, else APR_EINVAL. */
apr_status_t md_util_is_file(const char *fpath, apr_pool_t *p);
apr_status_t md_util_is_dir(const char *dpath, apr_pool_t *p);

/*
 * Called for each entry of a directory but "." and "..": 'dpath' is the directory, 'name' the
 * entry, 'type' its file type; 'ptemp' is cleared after each call. APR_SUCCESS goes on, APR_EOF
 * ends the walk early (not an error), anything else ends it with that status.
 */
typedef apr_status_t md_util_dir_cb(void *baton, const char *dpath, const char *name,
                                    apr_filetype_e type, apr_pool_t *ptemp);

/** Walk the entries of 'dpath'. APR_ENOENT if it does not exist. */
apr_status_t md_util_dir_do(md_util_dir_cb *cb, void *baton, const char *dpath, apr_pool_t *p);

/** Remove a directory tree. Missing is fine. */
apr_status_t md_util_rm_recursive(const char *dpath, apr_pool_t *p);

/**
 * Non-zero if 'name' is a valid DNS name for a certificate: labels of [a-zA-Z0-9-] (1-63 chars,
 * not starting or ending with '-'), at least 2 labels unless 'allow_single_label', total <= 253,
 * optionally a leading "*." when 'allow_wildcard'. IP addresses are not DNS names.
 */
int md_util_is_dns_name(const char *name, int allow_wildcard, int allow_single_label);

/** Non-zero if 'name' is an IPv4 or IPv6 address literal. */
int md_util_is_ip(const char *name);

/** Lower-case copy. */
char *md_util_str_tolower(const char *s, apr_pool_t *p);

/** Index of 's' (case-insensitive) in an array of 'const char *', -1 if absent. */
int md_array_str_index(const apr_array_header_t *array, const char *s, int start,
                       int case_sensitive);

/** Non-zero if both arrays hold the same strings (case-insensitive), order ignored. */
int md_array_str_eq_set(const apr_array_header_t *a1, const apr_array_header_t *a2);

/** Strings of 'a1' not in 'a2' (case-insensitive), as a new array in 'p'. */
apr_array_header_t *md_array_str_minus(const apr_array_header_t *a1, const apr_array_header_t *a2,
                                       apr_pool_t *p);

/** Deep copy of an array of 'const char *'. */
apr_array_header_t *md_array_str_clone(apr_pool_t *p, const apr_array_header_t *array);

/** Add 's' unless present (case-insensitive). Returns non-zero if added. */
int md_array_str_add_missing(apr_array_header_t *array, const char *s, apr_pool_t *p);

/** Join strings with 'sep'; in 'p'. */
const char *md_array_str_join(const apr_array_header_t *array, const char *sep, apr_pool_t *p);

/** Fill 'buf' with 'len' cryptographically random bytes (RAND_bytes). */
apr_status_t md_util_rand_bytes(unsigned char *buf, apr_size_t len);

#endif /* md_util_h */
