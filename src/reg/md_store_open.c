/* md_store_open: the configured store (see md_store_open.h).
 *
 *   1. the password, from its file (never from the configuration itself)
 *   2. a transport on the http client with the TLS settings for etcd
 *   3. the etcd client on it, then the store under the prefix
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include <openssl/crypto.h>

#include "md_log.h"
#include "md_util.h"
#include "md_http.h"
#include "md_http_transport.h"
#include "md_etcd.h"
#include "md_store_etcd.h"
#include "md_store_open.h"

#define ETCD_PORT_DEF        2379
#define ETCD_CONNECT_TIMEOUT apr_time_from_sec(2)
#define ETCD_TIMEOUT_DEF     apr_time_from_sec(3)
#define PASSWORD_MAX         1024
#define PEM_MAX              (256 * 1024)

static apr_status_t parse_endpoint(const char **purl, const char *word, apr_pool_t *p)
{
    apr_uri_t uri;
    const char *url = strstr(word, "://") ? word : apr_pstrcat(p, "http://", word, NULL);

    memset(&uri, 0, sizeof(uri));
    if (APR_SUCCESS != apr_uri_parse(p, url, &uri) || !uri.scheme || !uri.hostname
        || (strcmp(uri.scheme, "http") != 0 && strcmp(uri.scheme, "https") != 0)
        || (uri.path && *uri.path && strcmp(uri.path, "/") != 0) || uri.query) {
        return APR_EINVAL;
    }
    *purl = apr_psprintf(p, "%s://%s%s%s:%u", uri.scheme, strchr(uri.hostname, ':') ? "[" : "",
                         uri.hostname, strchr(uri.hostname, ':') ? "]" : "",
                         uri.port ? (unsigned)uri.port : (unsigned)ETCD_PORT_DEF);
    return APR_SUCCESS;
}

apr_status_t md_store_etcd_parse_endpoints(apr_array_header_t **pendpoints, const char *text,
                                           const char **perr, apr_pool_t *p)
{
    apr_array_header_t *eps = apr_array_make(p, 3, sizeof(const char *));
    char *list = apr_pstrdup(p, text), *word, *last = NULL;
    const char *url = NULL;

    *pendpoints = NULL;
    *perr = NULL;
    for (word = apr_strtok(list, ", ", &last); word; word = apr_strtok(NULL, ", ", &last)) {
        if (APR_SUCCESS != parse_endpoint(&url, word, p)) {
            *perr = apr_psprintf(p,
                                 "'%s' is not an etcd client URL (http://host:port or "
                                 "https://host:port)",
                                 word);
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(eps, const char *) = url;
    }
    if (!eps->nelts) {
        *perr = "no endpoint given";
        return APR_EINVAL;
    }
    *pendpoints = eps;
    return APR_SUCCESS;
}

static apr_status_t wipe(void *data)
{
    char *s = data;

    OPENSSL_cleanse(s, strlen(s));
    return APR_SUCCESS;
}

/* 1. A secret read here (in the parent, as root) is kept in memory, wiped with 'p': the server's
 * children talk to etcd too, but need not be able to read the files. */
static apr_status_t read_secret(const char **ptext, const char *fpath, const char *directive,
                                apr_pool_t *p)
{
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    rv = md_util_file_read(&data, &len, fpath, PEM_MAX, p);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, APLOGNO(13130) "%s: cannot read %s",
                      directive, fpath);
        return rv;
    }
    apr_pool_cleanup_register(p, data, wipe, apr_pool_cleanup_null);
    *ptext = data;
    return APR_SUCCESS;
}

static apr_status_t read_password(const char **ppw, const char *fpath, apr_pool_t *p)
{
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    rv = md_util_file_read(&data, &len, fpath, PASSWORD_MAX, p);
    if (APR_SUCCESS != rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      APLOGNO(13123) "MDStoreEtcdAuth: cannot read the password file %s", fpath);
        return rv;
    }
    len = strcspn(data, "\r\n");
    *ppw = apr_pstrmemdup(p, data, len);
    OPENSSL_cleanse(data, strlen(data));
    return APR_SUCCESS;
}

apr_status_t md_store_open_etcd(md_store_t **pstore, md_store_t *local,
                                const md_store_etcd_conf_t *conf, int flags, apr_pool_t *p)
{
    md_http_config_t hc;
    md_etcd_config_t ec;
    md_transport_t *transport = NULL;
    md_etcd_t *etcd = NULL;
    apr_status_t rv = APR_SUCCESS;

    *pstore = NULL;
    memset(&ec, 0, sizeof(ec));
    ec.endpoints = conf->endpoints;
    ec.user = conf->user;
    if (conf->user && conf->password_file) {
        rv = read_password(&ec.password, conf->password_file, p);
    }
    /* 2. */
    memset(&hc, 0, sizeof(hc));
    hc.user_agent = conf->user_agent;
    hc.ca_file = conf->ca_file;
    if (APR_SUCCESS == rv && conf->cert_file) {
        rv = read_secret(&hc.client_cert_pem, conf->cert_file, "MDStoreEtcdClientCertificate", p);
    }
    if (APR_SUCCESS == rv && conf->key_file) {
        rv = read_secret(&hc.client_key_pem, conf->key_file, "MDStoreEtcdClientCertificate", p);
    }
    hc.connect_timeout = ETCD_CONNECT_TIMEOUT;
    hc.timeout = conf->timeout > 0 ? conf->timeout : ETCD_TIMEOUT_DEF;
    if (APR_SUCCESS == rv) {
        rv = md_http_transport_make(&transport, &hc, p);
    }
    /* 3. */
    if (APR_SUCCESS == rv) {
        rv = md_etcd_create(&etcd, &ec, transport, p);
    }
    if (APR_SUCCESS == rv) {
        rv =
            md_store_etcd_open(pstore, etcd, conf->prefix ? conf->prefix : MD_STORE_ETCD_PREFIX_DEF,
                               conf->lock_ttl, local, flags, p);
    }
    return rv;
}
