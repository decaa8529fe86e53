/* mod_md_config: the module's directives, their values, and how MDs get their settings.
 *
 * Global values live in md_mod_conf_t (one per server configuration). Settings that may differ per
 * MD (CA, agreement, contact, challenges) are kept in an md_t: the global defaults in
 * mc->defaults, an MD's own values (from an <MDomain> section) in the MD itself; unset values are
 * MD_UNSET or NULL and are filled by mod_md_config_complete_md() at post_config.
 */
#ifndef mod_md_config_h
#define mod_md_config_h

#include <httpd.h>
#include <http_config.h>

#include "md.h"

struct md_reg_t;
struct md_reg_item_t;
struct md_store_t;

#define MD_PORT_UNMAPPED (-2) /* MDPortMap x:- : not reachable from outside */

typedef struct md_mod_conf_t md_mod_conf_t;
struct md_mod_conf_t {
    apr_array_header_t *mds;            /* md_t*, from MDomain / <MDomain> in configuration order */
    md_t *defaults;                     /* global values of per-MD settings */
    const char *store_dir;              /* MDStoreDir, relative to ServerRoot, default "md" */
    const char *ca_file;                /* MDCACertificateFile */
    int local_80;                       /* MDPortMap: local port for http (80 by default) */
    int local_443;                      /* MDPortMap: local port for https (443 by default) */
    const char *contact_email_defn;     /* where MDContactEmail was set, for messages */
    const char *proxy_url;              /* MDHttpProxy, NULL for none */
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
    int server_status;                 /* MDServerStatus, on by default */
    int cert_status;                   /* MDCertificateStatus, on by default */
    const char *notify_cmd;            /* MDNotifyCmd program, or NULL */
    const char *message_cmd;           /* MDMessageCmd program, or NULL */
    apr_array_header_t *message_args;  /* const char*, MDMessageCmd's optional args */
    int staple_others;                 /* MDStapleOthers, MD_UNSET until set (default on) */
    apr_interval_time_t stapling_keep; /* MDStaplingKeepResponse, -1 until set (7d) */
    const md_timeslice_t *stapling_window; /* MDStaplingRenewWindow, NULL until set (33%) */
    struct md_ocsp_reg_t *ocsp;            /* stapling registry, set at post_config */

    /* set up at post_config */
    struct md_store_t *store;
    struct md_reg_t *reg;
    int can_http; /* the http port (after MDPortMap) is listened on */
    int can_https;
    struct apr_hash_t *status_live; /* md_status_live_make(), for the status surfaces */
};

/* Per server (vhost) configuration. */
typedef struct md_srv_conf_t md_srv_conf_t;
struct md_srv_conf_t {
    md_mod_conf_t *mc;          /* shared by all servers of a configuration */
    md_t *assigned_md;          /* the MD this vhost belongs to, set at post_config */
    struct md_reg_item_t *item; /* its registry item, set after the store sync */
};

extern const command_rec mod_md_cmds[];

void *mod_md_config_create_srv(apr_pool_t *p, server_rec *s);
void *mod_md_config_merge_srv(apr_pool_t *p, void *basev, void *addv);

/** MDStapling of 'md', or the global one when 'md' is NULL (unset means off). */
int mod_md_config_stapling(const md_mod_conf_t *mc, const md_t *md);

/** The server's config record. */
md_srv_conf_t *mod_md_config_get(server_rec *s);

/**
 * The whole-configuration checks that 'apachectl -t' runs as well (called from the check_config
 * hook): complete every MD, assign vhosts, and refuse what cannot work (a name in two MDs,
 * wildcards without dns-01, static files that do not fit, MDRequireHttps without an http vhost).
 * Each problem is logged naming file, line, directive and the fix. APR_EINVAL on any problem.
 */
apr_status_t mod_md_config_check(md_mod_conf_t *mc, server_rec *base, apr_pool_t *p);

/**
 * Fill the unset settings of 'md' from the global values and the built-in defaults (CA URL,
 * agreement, contacts from MDContactEmail or the base server's ServerAdmin, key specs, windows).
 */
void mod_md_config_complete_md(md_t *md, md_mod_conf_t *mc, server_rec *base, apr_pool_t *p);

/* ---- for the directive handlers in mod_md_config_*.c ---------------------------------------- */

/** The md_t a per-MD directive sets: the open <MDomain>'s, else the server-wide defaults. */
md_t *mod_md_config_target(cmd_parms *cmd);
/** NULL when 'cmd' is at server level outside <MDomain>, else the error text. */
const char *mod_md_config_global_only(cmd_parms *cmd);
/** The module configuration that 'cmd' fills. */
md_mod_conf_t *mod_md_config_mc(cmd_parms *cmd);

/* MDExternalAccountBinding, MDProfile, MDProfileMandatory, MDRenewViaARI, MDRetryFailover
 * (mod_md_config_cas.c) */
const char *mod_md_config_set_eab(cmd_parms *cmd, void *dc, const char *v1, const char *v2);
const char *mod_md_config_set_profile(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_profile_mandatory(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_renew_via_ari(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_retry_failover(cmd_parms *cmd, void *dc, const char *value);
/** Fill the unset EAB, profile and ARI settings of 'md' from the server-wide ones 'g'. */
void mod_md_config_complete_cas(md_t *md, const md_t *g);

/* The default of MDRetryFailover, as in the stock module. */
#define MD_DEF_RETRY_FAILOVER 13

#endif /* mod_md_config_h */
