/* mod_md_etcd: the shared store on etcd in the module (docs/etcd.md): its directives, opening it
 * at start-up, answering http-01 challenges from it, and the watch for certificates other servers
 * renewed.
 *
 *   MDStoreEtcd <endpoints> [<prefix>]           the store (MDStoreDir keeps key and local copy)
 *   MDStoreEtcdCACertificateFile <file>          roots to trust for https endpoints
 *   MDStoreEtcdClientCertificate <cert> [<key>]  client certificate for etcd's TLS
 *   MDStoreEtcdAuth <user> <password file>       etcd's user/password authentication
 *   MDStoreEtcdLockTTL <duration>                lease time of the MD locks (30s)
 */
#ifndef mod_md_etcd_h
#define mod_md_etcd_h

#include <httpd.h>
#include <http_config.h>

#include "md_store.h"
#include "mod_md_config.h"

/* The directives, for the module's command table. */
const char *mod_md_etcd_set_store(cmd_parms *cmd, void *dc, const char *endpoints,
                                  const char *prefix);
const char *mod_md_etcd_set_ca(cmd_parms *cmd, void *dc, const char *file);
const char *mod_md_etcd_set_client_cert(cmd_parms *cmd, void *dc, const char *cert,
                                        const char *key);
const char *mod_md_etcd_set_auth(cmd_parms *cmd, void *dc, const char *user, const char *pwfile);
const char *mod_md_etcd_set_lock_ttl(cmd_parms *cmd, void *dc, const char *value);

#define MOD_MD_ETCD_CMDS                                                                           \
    AP_INIT_TAKE12("MDStoreEtcd", mod_md_etcd_set_store, NULL, RSRC_CONF,                          \
                   "The store on etcd: client URLs of the cluster, and a key prefix"),             \
        AP_INIT_TAKE1("MDStoreEtcdCACertificateFile", mod_md_etcd_set_ca, NULL, RSRC_CONF,         \
                      "PEM file with the roots to trust for https etcd endpoints"),                \
        AP_INIT_TAKE12("MDStoreEtcdClientCertificate", mod_md_etcd_set_client_cert, NULL,          \
                       RSRC_CONF, "Client certificate (and key) files for etcd"),                  \
        AP_INIT_TAKE2("MDStoreEtcdAuth", mod_md_etcd_set_auth, NULL, RSRC_CONF,                    \
                      "etcd user and the file holding its password"),                              \
        AP_INIT_TAKE1("MDStoreEtcdLockTTL", mod_md_etcd_set_lock_ttl, NULL, RSRC_CONF,             \
                      "How long a crashed server's MD locks outlive it (30s)")

/**
 * With MDStoreEtcd: open the etcd store over the file store 'local' (MDStoreDir) into *pstore.
 * Without it, *pstore is 'local'. Errors are logged naming the directive to fix.
 */
apr_status_t mod_md_etcd_open(md_store_t **pstore, md_mod_conf_t *mc, md_store_t *local,
                              server_rec *s, apr_pool_t *p);

/**
 * The answer to the http-01 challenge 'token' of 'host' ("<token>.<thumbprint>", in 'p') from
 * the store. With etcd, answers are kept a few seconds per process, so that the CA's repeated
 * requests (several vantage points) cost one read; only an answer for the same token is reused.
 * APR_ENOENT: no such challenge pending.
 */
apr_status_t mod_md_etcd_challenge(const char **panswer, md_mod_conf_t *mc, const char *host,
                                   const char *token, apr_pool_t *p);

/**
 * With MDStoreEtcd: watch (on the module's watchdog child) for certificates that other servers
 * renew or activate: with MDActivation hot they are served here at once, else they are logged
 * and go live at the next graceful restart.
 */
apr_status_t mod_md_etcd_watch_start(md_mod_conf_t *mc, server_rec *s, apr_pool_t *p);

#endif /* mod_md_etcd_h */
