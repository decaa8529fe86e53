/* md_util: small helpers shared by all layers (see md_util.h).
 *
 * Atomic writes (md_util_file_write_atomic) follow this plan:
 *   1. create a temp file next to the target with a unique name (mkostemp, O_EXCL, mode 0600)
 *   2. write all bytes, fsync
 *   3. chmod to the wanted permissions
 *   4. rename over the target
 *   5. fsync the directory so the rename itself is durable
 * On any failure before 4 the temp file is removed and the old file stays as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_io.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "md_log.h"
#include "md_util.h"

/* ---- shared state --------------------------------------------------------------------------- */

apr_status_t md_util_shared_pool_create(apr_pool_t **ppool, apr_thread_mutex_t **pmutex)
{
    apr_pool_t *pool = NULL;
    apr_status_t rv;

    *ppool = NULL;
    *pmutex = NULL;
    rv = apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = apr_thread_mutex_create(pmutex, APR_THREAD_MUTEX_DEFAULT, pool);
    if (APR_SUCCESS != rv) {
        apr_pool_destroy(pool);
        return rv;
    }
    *ppool = pool;
    return APR_SUCCESS;
}

/* ---- base64url ------------------------------------------------------------------------------ */

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *md_util_base64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *p)
{
    char *enc = apr_palloc(p, ((len + 2) / 3) * 4 + 1);
    char *o = enc;
    apr_size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *o++ = b64url_chars[data[i] >> 2];
        *o++ = b64url_chars[((data[i] & 0x03) << 4) | (data[i + 1] >> 4)];
        *o++ = b64url_chars[((data[i + 1] & 0x0f) << 2) | (data[i + 2] >> 6)];
        *o++ = b64url_chars[data[i + 2] & 0x3f];
    }
    if (len - i == 1) {
        *o++ = b64url_chars[data[i] >> 2];
        *o++ = b64url_chars[(data[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        *o++ = b64url_chars[data[i] >> 2];
        *o++ = b64url_chars[((data[i] & 0x03) << 4) | (data[i + 1] >> 4)];
        *o++ = b64url_chars[(data[i + 1] & 0x0f) << 2];
    }
    *o = '\0';
    return enc;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

apr_ssize_t md_util_base64url_decode(unsigned char **pdata, const char *encoded, apr_pool_t *p)
{
    apr_size_t n = strlen(encoded), i, nout = 0;
    unsigned char *out;
    unsigned int acc = 0;
    int bits = 0, v;

    *pdata = NULL;
    while (n > 0 && encoded[n - 1] == '=') { /* padding tolerated */
        --n;
    }
    if (n % 4 == 1) {
        return -1; /* a single trailing character cannot encode a byte */
    }
    out = apr_palloc(p, (n * 3) / 4 + 1);
    for (i = 0; i < n; ++i) {
        v = b64url_value(encoded[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[nout++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    out[nout] = '\0';
    *pdata = out;
    return (apr_ssize_t)nout;
}

void md_util_cleanse(void *data, apr_size_t len)
{
    if (data && len) {
        OPENSSL_cleanse(data, len);
    }
}

const char *md_util_hex(const unsigned char *data, apr_size_t len, char sep, apr_pool_t *p)
{
    static const char digits[] = "0123456789abcdef";
    char *s = apr_palloc(p, len * 3 + 1);
    char *o = s;
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        if (sep && i > 0) {
            *o++ = sep;
        }
        *o++ = digits[data[i] >> 4];
        *o++ = digits[data[i] & 0x0f];
    }
    *o = '\0';
    return s;
}

const char *md_util_path_join_(apr_pool_t *p, const char *first, ...)
{
    va_list ap;
    const char *seg, *path = first;

    va_start(ap, first);
    seg = va_arg(ap, const char *);
    while (seg) {
        path = apr_pstrcat(p, path, "/", seg, (const char *)NULL);
        seg = va_arg(ap, const char *);
    }
    va_end(ap);
    return path;
}

/* ---- files ---------------------------------------------------------------------------------- */

static mode_t perms_to_mode(apr_fileperms_t perms)
{
    mode_t mode = 0;
    mode |= (perms & APR_FPROT_UREAD) ? S_IRUSR : 0;
    mode |= (perms & APR_FPROT_UWRITE) ? S_IWUSR : 0;
    mode |= (perms & APR_FPROT_UEXECUTE) ? S_IXUSR : 0;
    mode |= (perms & APR_FPROT_GREAD) ? S_IRGRP : 0;
    mode |= (perms & APR_FPROT_GWRITE) ? S_IWGRP : 0;
    mode |= (perms & APR_FPROT_GEXECUTE) ? S_IXGRP : 0;
    mode |= (perms & APR_FPROT_WREAD) ? S_IROTH : 0;
    mode |= (perms & APR_FPROT_WWRITE) ? S_IWOTH : 0;
    mode |= (perms & APR_FPROT_WEXECUTE) ? S_IXOTH : 0;
    return mode;
}

static apr_status_t write_all(int fd, const void *data, apr_size_t len)
{
    const char *buf = data;
    ssize_t n;

    while (len > 0) {
        n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return APR_FROM_OS_ERROR(errno);
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

static apr_status_t sync_dir(const char *dpath)
{
    apr_status_t rv = APR_SUCCESS;
    int fd = open(dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (fsync(fd) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(fd);
    return rv;
}

apr_status_t md_util_file_write_atomic(const char *fpath, const void *data, apr_size_t len,
                                       apr_fileperms_t perms, apr_pool_t *p)
{
    return md_util_file_write_atomic_ex(fpath, data, len, perms, 1, p);
}

apr_status_t md_util_file_write_atomic_ex(const char *fpath, const void *data, apr_size_t len,
                                          apr_fileperms_t perms, int is_durable, apr_pool_t *p)
{
    const char *slash = strrchr(fpath, '/');
    const char *dpath, *fname, *what = NULL;
    char *tmp;
    int fd = -1;
    apr_status_t rv = APR_SUCCESS;

    dpath = slash ? ((slash == fpath) ? "/" : apr_pstrmemdup(p, fpath, (apr_size_t)(slash - fpath)))
                  : ".";
    fname = slash ? slash + 1 : fpath;
    if (!*fname) {
        return APR_EINVAL;
    }
    /* 1. */
    tmp = apr_pstrcat(p, dpath, "/.", fname, ".tmp.XXXXXX", (const char *)NULL);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        what = "mkostemp";
        tmp = NULL;
        goto leave;
    }
    /* 2. */
    rv = write_all(fd, data, len);
    if (APR_SUCCESS != rv) {
        what = "write";
        goto leave;
    }
    if (is_durable && fsync(fd) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        what = "fsync";
        goto leave;
    }
    /* 3. */
    if (fchmod(fd, perms_to_mode(perms)) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        what = "fchmod";
        goto leave;
    }
    if (close(fd) != 0) {
        fd = -1;
        rv = APR_FROM_OS_ERROR(errno);
        what = "close";
        goto leave;
    }
    fd = -1;
    /* 4. */
    if (rename(tmp, fpath) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        what = "rename";
        goto leave;
    }
    tmp = NULL;
    /* 5. */
    rv = is_durable ? sync_dir(dpath) : APR_SUCCESS;
    if (APR_SUCCESS != rv) {
        what = "fsync of directory";
    }
leave:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp) {
        unlink(tmp);
    }
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, APLOGNO(12001) "writing %s: %s failed", fpath,
                      what ? what : "?");
    }
    return rv;
}

apr_status_t md_util_file_read(char **pdata, apr_size_t *plen, const char *fpath,
                               apr_size_t max_len, apr_pool_t *p)
{
    apr_file_t *f = NULL;
    apr_finfo_t finfo;
    apr_size_t n = 0;
    char *buf = NULL;
    apr_status_t rv;

    *pdata = NULL;
    if (plen) {
        *plen = 0;
    }
    rv = apr_file_open(&f, fpath, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (APR_SUCCESS != rv) {
        if (APR_STATUS_IS_ENOENT(rv)) {
            rv = APR_ENOENT;
        }
        goto leave;
    }
    rv = apr_file_info_get(&finfo, APR_FINFO_SIZE, f);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    if (finfo.size < 0 || (apr_size_t)finfo.size > max_len) {
        rv = APR_EINVAL;
        goto leave;
    }
    n = (apr_size_t)finfo.size;
    buf = apr_palloc(p, n + 1);
    if (n > 0) {
        rv = apr_file_read_full(f, buf, n, &n);
        if (APR_SUCCESS != rv) {
            goto leave;
        }
    }
    buf[n] = '\0';
    *pdata = buf;
    if (plen) {
        *plen = n;
    }
leave:
    if (f) {
        apr_file_close(f);
    }
    return rv;
}

apr_status_t md_util_dir_make(const char *dpath, apr_fileperms_t perms, apr_pool_t *p)
{
    return apr_dir_make_recursive(dpath, perms, p);
}

static apr_status_t check_type(const char *path, apr_filetype_e type, apr_pool_t *p)
{
    apr_finfo_t finfo;
    apr_status_t rv = apr_stat(&finfo, path, APR_FINFO_TYPE, p);

    if (APR_SUCCESS != rv) {
        return APR_STATUS_IS_ENOENT(rv) ? APR_ENOENT : rv;
    }
    return (finfo.filetype == type) ? APR_SUCCESS : APR_EINVAL;
}

apr_status_t md_util_is_file(const char *fpath, apr_pool_t *p)
{
    return check_type(fpath, APR_REG, p);
}

apr_status_t md_util_is_dir(const char *dpath, apr_pool_t *p)
{
    return check_type(dpath, APR_DIR, p);
}

apr_status_t md_util_dir_do(md_util_dir_cb *cb, void *baton, const char *dpath, apr_pool_t *p)
{
    apr_dir_t *dir = NULL;
    apr_finfo_t finfo;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;

    rv = apr_pool_create(&ptemp, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = apr_dir_open(&dir, dpath, ptemp);
    if (APR_SUCCESS != rv) {
        goto leave;
    }
    while (APR_SUCCESS == rv
           && APR_SUCCESS == apr_dir_read(&finfo, APR_FINFO_TYPE | APR_FINFO_NAME, dir)) {
        if (!strcmp(".", finfo.name) || !strcmp("..", finfo.name)) {
            continue;
        }
        rv = cb(baton, dpath, apr_pstrdup(ptemp, finfo.name), finfo.filetype, ptemp);
    }
    apr_dir_close(dir);
leave:
    apr_pool_destroy(ptemp);
    return APR_STATUS_IS_EOF(rv) ? APR_SUCCESS : rv;
}

static apr_status_t rm_entry(void *baton, const char *dpath, const char *name, apr_filetype_e type,
                             apr_pool_t *ptemp);

static apr_status_t rm_dir_contents(const char *dpath, apr_pool_t *p)
{
    return md_util_dir_do(rm_entry, NULL, dpath, p);
}

static apr_status_t rm_entry(void *baton, const char *dpath, const char *name, apr_filetype_e type,
                             apr_pool_t *ptemp)
{
    const char *path = md_util_path_join(ptemp, dpath, name);
    apr_status_t rv;

    (void)baton;
    if (type != APR_DIR) {
        return apr_file_remove(path, ptemp);
    }
    rv = rm_dir_contents(path, ptemp);
    return (APR_SUCCESS == rv) ? apr_dir_remove(path, ptemp) : rv;
}

apr_status_t md_util_rm_recursive(const char *dpath, apr_pool_t *p)
{
    apr_finfo_t finfo;
    apr_status_t rv = apr_stat(&finfo, dpath, APR_FINFO_TYPE | APR_FINFO_LINK, p);

    if (APR_SUCCESS != rv) {
        return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    if (finfo.filetype != APR_DIR) {
        return apr_file_remove(dpath, p);
    }
    rv = rm_dir_contents(dpath, p);
    if (APR_SUCCESS == rv) {
        rv = apr_dir_remove(dpath, p);
    }
    return rv;
}

/* ---- names ---------------------------------------------------------------------------------- */

int md_util_is_ip(const char *name)
{
    unsigned char buf[sizeof(struct in6_addr)];

    if (!name) {
        return 0;
    }
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

const char *md_util_ip_canonical(const char *name, apr_pool_t *p)
{
    unsigned char buf[sizeof(struct in6_addr)];
    char text[INET6_ADDRSTRLEN];

    if (name && inet_pton(AF_INET6, name, buf) == 1
        && inet_ntop(AF_INET6, buf, text, sizeof(text))) {
        return apr_pstrdup(p, text);
    }
    return name;
}

static int nibble_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* "x.x. ... .x.ip6.arpa": 32 single hex digit labels, least significant first */
static const char *ip6_from_arpa(const char *name, apr_size_t len, apr_pool_t *p)
{
    unsigned char addr[16];
    char text[INET6_ADDRSTRLEN];
    int i, v;

    if (len != 64 + sizeof("ip6.arpa") - 1) {
        return NULL;
    }
    memset(addr, 0, sizeof(addr));
    for (i = 0; i < 32; ++i) {
        v = nibble_value(name[2 * i]);
        if (v < 0 || name[2 * i + 1] != '.') {
            return NULL;
        }
        /* label i is nibble 31 - i of the address */
        addr[(31 - i) / 2] |= (unsigned char)((31 - i) % 2 ? v : v << 4);
    }
    if (!inet_ntop(AF_INET6, addr, text, sizeof(text))) {
        return NULL;
    }
    return apr_pstrdup(p, text);
}

const char *md_util_ip_from_arpa(const char *name, apr_pool_t *p)
{
    static const char v4[] = ".in-addr.arpa", v6[] = "ip6.arpa";
    apr_size_t len = name ? strlen(name) : 0;
    char *labels[4], *copy, *last = NULL, *l;
    const char *ip;
    int n = 0;

    if (len > sizeof(v6) - 1 && !strcasecmp(name + len - (sizeof(v6) - 1), v6)) {
        return ip6_from_arpa(name, len, p);
    }
    if (len <= sizeof(v4) - 1 || strcasecmp(name + len - (sizeof(v4) - 1), v4)) {
        return NULL;
    }
    copy = apr_pstrndup(p, name, len - (sizeof(v4) - 1));
    for (l = apr_strtok(copy, ".", &last); l && n < 4; l = apr_strtok(NULL, ".", &last)) {
        labels[n++] = l;
    }
    if (n != 4 || l) {
        return NULL;
    }
    ip = apr_pstrcat(p, labels[3], ".", labels[2], ".", labels[1], ".", labels[0], NULL);
    return md_util_is_ip(ip) ? ip : NULL;
}

int md_util_is_dns_name(const char *name, int allow_wildcard, int allow_single_label)
{
    const char *s = name;
    apr_size_t label_len = 0;
    int labels = 0;
    char last = 0;

    if (!name || !*name || strlen(name) > 253 || md_util_is_ip(name)) {
        return 0;
    }
    if (allow_wildcard && s[0] == '*' && s[1] == '.') {
        s += 2;
    }
    for (; *s; ++s) {
        if (*s == '.') {
            if (label_len == 0 || last == '-') {
                return 0;
            }
            ++labels;
            label_len = 0;
        }
        else if (apr_isalnum(*s) || *s == '-') {
            if (label_len == 0 && *s == '-') {
                return 0;
            }
            if (++label_len > 63) {
                return 0;
            }
        }
        else {
            return 0;
        }
        last = *s;
    }
    if (label_len == 0 || last == '-') {
        return 0; /* empty (trailing dot) or hyphenated last label */
    }
    ++labels;
    return labels >= 2 || allow_single_label;
}

char *md_util_str_tolower(const char *s, apr_pool_t *p)
{
    char *d = apr_pstrdup(p, s);
    char *c;

    for (c = d; *c; ++c) {
        *c = (char)apr_tolower(*c);
    }
    return d;
}

/* ---- string arrays -------------------------------------------------------------------------- */

int md_array_str_index(const apr_array_header_t *array, const char *s, int start,
                       int case_sensitive)
{
    int i;
    const char *e;

    if (!array || !s) {
        return -1;
    }
    for (i = (start > 0) ? start : 0; i < array->nelts; ++i) {
        e = APR_ARRAY_IDX(array, i, const char *);
        if (e && (case_sensitive ? !strcmp(e, s) : !strcasecmp(e, s))) {
            return i;
        }
    }
    return -1;
}

int md_array_str_eq_set(const apr_array_header_t *a1, const apr_array_header_t *a2)
{
    int i;
    int n1 = a1 ? a1->nelts : 0, n2 = a2 ? a2->nelts : 0;

    for (i = 0; i < n1; ++i) {
        if (md_array_str_index(a2, APR_ARRAY_IDX(a1, i, const char *), 0, 0) < 0) {
            return 0;
        }
    }
    for (i = 0; i < n2; ++i) {
        if (md_array_str_index(a1, APR_ARRAY_IDX(a2, i, const char *), 0, 0) < 0) {
            return 0;
        }
    }
    return 1;
}

apr_array_header_t *md_array_str_minus(const apr_array_header_t *a1, const apr_array_header_t *a2,
                                       apr_pool_t *p)
{
    apr_array_header_t *r = apr_array_make(p, 5, sizeof(const char *));
    const char *s;
    int i;

    for (i = 0; a1 && i < a1->nelts; ++i) {
        s = APR_ARRAY_IDX(a1, i, const char *);
        if (md_array_str_index(a2, s, 0, 0) < 0) {
            APR_ARRAY_PUSH(r, const char *) = apr_pstrdup(p, s);
        }
    }
    return r;
}

apr_array_header_t *md_array_str_clone(apr_pool_t *p, const apr_array_header_t *array)
{
    apr_array_header_t *r =
        apr_array_make(p, (array && array->nelts) ? array->nelts : 1, sizeof(const char *));
    const char *s;
    int i;

    for (i = 0; array && i < array->nelts; ++i) {
        s = APR_ARRAY_IDX(array, i, const char *);
        APR_ARRAY_PUSH(r, const char *) = s ? apr_pstrdup(p, s) : NULL;
    }
    return r;
}

int md_array_str_add_missing(apr_array_header_t *array, const char *s, apr_pool_t *p)
{
    if (md_array_str_index(array, s, 0, 0) >= 0) {
        return 0;
    }
    APR_ARRAY_PUSH(array, const char *) = apr_pstrdup(p, s);
    return 1;
}

const char *md_array_str_join(const apr_array_header_t *array, const char *sep, apr_pool_t *p)
{
    const char *r = "";
    int i;

    for (i = 0; array && i < array->nelts; ++i) {
        r = apr_pstrcat(p, r, (i > 0) ? sep : "", APR_ARRAY_IDX(array, i, const char *),
                        (const char *)NULL);
    }
    return r;
}

apr_status_t md_util_rand_bytes(unsigned char *buf, apr_size_t len)
{
    if (len > INT32_MAX) {
        return APR_EINVAL;
    }
    if (RAND_bytes(buf, (int)len) != 1) {
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t md_util_sync_fs(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    apr_status_t rv = APR_SUCCESS;

    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (syncfs(fd) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
    }
    close(fd);
    return rv;
}
