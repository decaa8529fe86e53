/* mod_md_config: the module's directives, their values, and how MDs get their settings.
 *
 * Global values live in md_mod_conf_t (one per server configuration). Settings that may differ per
 * MD (CA, agreement, contact, challenges) are kept in an md_t: the global defaults in
 * mc->defaults, an MD's own values (from an <MDomain> section) in the MD itself; unset values are
 * MD_UNSET or NULL and are filled by mod_md_config_complete_md() at post_config.
 */
#ifndef mod_md_config_h
#define mod_md_config_h

#include <apr_hash.h>
#include <httpd.h>
#include <http_config.h>

#include "md.h"

struct md_reg_t;
struct md_reg_item_t;
struct md_store_t;
struct md_store_etcd_conf_t;

#define MD_PORT_UNMAPPED (-2) /* MDPortMap x:- : not reachable from outside */

/* MDActivation: how a renewed certificate goes live */
#define MD_ACTIVATION_GRACEFUL 0 /* at the next (graceful) restart, as the stock module */
#define MD_ACTIVATION_HOT      1 /* at once, in every child, without a restart */

typedef struct md_mod_conf_t md_mod_conf_t;
struct md_mod_conf_t {
    apr_array_header_t *mds;            /* md_t*, from MDomain / <MDomain> in configuration order */
    apr_hash_t *md_by_name;             /* lower-case domain -> first md_t* in 'mds' that has it;
                                         * built by the configuration check (mod_md.c) */
    md_t *defaults;                     /* global values of per-MD settings */
    const char *store_dir;              /* MDStoreDir, relative to ServerRoot, default "md" */
    struct md_store_etcd_conf_t *etcd;  /* MDStoreEtcd*: the store on etcd, NULL for none */
    const char *ca_file;                /* MDCACertificateFile */
    int local_80;                       /* MDPortMap: local port for http (80 by default) */
    int local_443;                      /* MDPortMap: local port for https (443 by default) */
    const char *contact_email_defn;     /* where MDContactEmail was set, for messages */
    const char *proxy_url;              /* MDHttpProxy, NULL for none */
    const char *proxy_ca_file;          /* MDHttpProxyCACertificateFile, NULL for the system's */
    int store_locks;                    /* MDStoreLocks: renewals and activations take the MD's
                                         * lock in the store (off by default) */
    apr_interval_time_t lock_wait;      /* MDStoreLocks: how long to wait for such a lock */
    int base_server;                    /* MDBaseServer: the base server may belong to an MD */
    int match_all_names;                /* MDMatchNames all (1) or servernames (0) */
    apr_interval_time_t retry_delay;    /* MDRetryDelay: first retry after a failure */
    apr_interval_time_t initial_delay;  /* MDInitialDelay: first check after start */
    apr_interval_time_t check_interval; /* MDCheckInterval: between checks of an MD */
    apr_interval_time_t activation_delay; /* MDActivationDelay: staged cert age to go live */
    int retry_failover;                   /* MDRetryFailover: errors in a row before the next CA */
    const char *cert_check_name;       /* MDCertificateCheck/Monitor: link text on server-status */
    const char *cert_check_url;        /* ... and URL the certificate's SHA-256 is appended to */
    const char *require_https_defn;    /* file:line of the first MDRequireHttps, for messages */
    apr_table_t *require_https_at;     /* MD name -> file:line of its own MDRequireHttps */
    int server_status;                 /* MDServerStatus, off by default (as in stock) */
    int cert_status;                   /* MDCertificateStatus, on by default */
    const char *notify_cmd;            /* MDNotifyCmd program, or NULL */
    const char *message_cmd;           /* MDMessageCmd program, or NULL */
    apr_array_header_t *message_args;  /* const char*, MDMessageCmd's optional args */
    int staple_others;                 /* MDStapleOthers, MD_UNSET until set (default on) */
    apr_interval_time_t stapling_keep; /* MDStaplingKeepResponse, -1 until set (7d) */
    const md_timeslice_t *stapling_window; /* MDStaplingRenewWindow, NULL until set (33%) */
    struct md_ocsp_reg_t *ocsp;            /* stapling registry, set at post_config */
    apr_array_header_t *warnings; /* const char*: what the stock module accepts but cannot work
                                   * (or works differently), logged by mod_md_config_log_warnings */

    /* set up at post_config */
    struct md_store_t *store;
    struct md_reg_t *reg;
    int can_http; /* the http port (after MDPortMap) is listened on */
    int can_https;
    struct apr_hash_t *status_live; /* md_status_live_make(), for the status surfaces */

    /* MDActivation (docs/activation.md, mod_md_hot.h) */
    int activation;           /* MD_ACTIVATION_GRACEFUL (the default) or MD_ACTIVATION_HOT */
    struct mod_md_hot_t *hot; /* the hot activation state, set at post_config (or NULL) */
};

/* Per server (vhost) configuration. */
typedef struct md_srv_conf_t md_srv_conf_t;
struct md_srv_conf_t {
    md_mod_conf_t *mc;          /* shared by all servers of a configuration */
    md_t *assigned_md;          /* the MD this vhost belongs to, set at post_config */
    md_t *other_md;             /* another MD that has names of this vhost (AH10238 if https) */
    struct md_reg_item_t *item; /* its registry item, set after the store sync */
    int is_ssl;                 /* mod_ssl (or mod_tls) asked for its certificates: the vhost
                                 * has 'SSLEngine on' */
};

extern const command_rec mod_md_cmds[];

void *mod_md_config_create_srv(apr_pool_t *p, server_rec *s);
void *mod_md_config_merge_srv(apr_pool_t *p, void *basev, void *addv);

/** MDStapling of 'md', or the global one when 'md' is NULL (unset means off). */
int mod_md_config_stapling(const md_mod_conf_t *mc, const md_t *md);

/** The server's config record. */
md_srv_conf_t *mod_md_config_get(server_rec *s);

/**
 * Note a problem of the configuration that does not stop the start (the stock module accepts
 * it): 'msg' (with its AH id, in a pool that lives as long as 'mc') is logged as a warning by
 * mod_md_config_log_warnings().
 */
void mod_md_config_warn(md_mod_conf_t *mc, const char *msg);

/**
 * Log the noted warnings: for 'apachectl -t' and the first start-up pass (their stderr is the
 * console) from check_config, and for every real (re)start from post_config, when the error log
 * is open. 'dry_run' is httpd's first start-up pass.
 */
void mod_md_config_log_warnings(md_mod_conf_t *mc, server_rec *s, int at_check, int dry_run);

/**
 * The whole-configuration checks that 'apachectl -t' runs as well (called from the check_config
 * hook): complete every MD, assign vhosts, refuse what the stock module refuses (a name in two
 * MDs) and warn about what cannot work although the stock module starts with it (wildcards
 * without dns-01, MDRequireHttps without an http vhost). Each problem is logged naming file,
 * line, directive and the fix. APR_EINVAL when the start must stop.
 */
apr_status_t mod_md_config_check(md_mod_conf_t *mc, server_rec *base, apr_pool_t *p);

/**
 * Fill the unset settings of 'md' from the global values and the built-in defaults (CA URL,
 * agreement, contacts from MDContactEmail or the base server's ServerAdmin, key specs, windows).
 */
void mod_md_config_complete_md(md_t *md, md_mod_conf_t *mc, server_rec *base, apr_pool_t *p);

/* The default of MDRetryFailover, as in the stock module. */
#define MD_DEF_RETRY_FAILOVER 13

/**
 * The start-up checks that need mod_ssl's view of the vhosts (post_config, after mod_ssl asked
 * for the certificates): an MD used by vhosts none of which has 'SSLEngine on' gets a warning
 * (its certificate would not be served), with MDRequireHttps the stock module's AH10105.
 * 'ptemp' for scratch.
 */
void mod_md_config_check_ssl(md_mod_conf_t *mc, server_rec *base, apr_pool_t *ptemp);

#endif /* mod_md_config_h */
