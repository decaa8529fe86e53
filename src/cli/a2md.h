/* a2md: what the command files of the a2md tool share (a2md.c is the entry).
 *
 * A command gets the tool's context: the global options, the store (opened as the command
 * needs it), its own words in argc/argv and, with -j, the "output" array its results go into.
 * Results go to stdout (text, or the JSON envelope at the end); problems to stderr.
 */
#ifndef a2md_h
#define a2md_h

#include <apr_getopt.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "md.h"
#include "md_json.h"
#include "md_log.h"
#include "md_http.h"
#include "md_result.h"
#include "md_store.h"
#include "md_reg.h"
#include "md_store_open.h"

/* What a command needs opened before it runs */
#define A2MD_STORE_READ   0x01 /* an existing store, read only: nothing is created or changed */
#define A2MD_STORE_WRITE  0x02 /* an existing store, to change */
#define A2MD_STORE_CREATE 0x04 /* a store to change, created when there is none */
#define A2MD_HTTP         0x08 /* talks to a CA */

typedef struct a2md_t a2md_t;
struct a2md_t {
    apr_pool_t *p;
    const char *store_dir; /* -d */
    const char *ca_url;    /* -a */
    const char *ca_file;   /* -C */
    const char *proxy;     /* -p */
    const char *tos;       /* -t: the terms of service agreed to ("accepted" or their URL) */
    md_log_level_t level;  /* -q / -v */
    md_json_t *output;     /* -j: the "output" array; NULL for text output */
    const char *etcd;      /* --etcd: the endpoints of the etcd store, NULL for none */
    md_store_etcd_conf_t etcd_conf; /* --etcd-*: how to reach it */
    md_store_t *store;              /* the file store in -d, or with --etcd the etcd store */
    md_store_t *local;              /* the file store in -d */
    int is_writable;                /* the store was opened to change it */
    md_http_config_t http_config;
    apr_interval_time_t poll_timeout; /* drive --timeout: how long to poll the CA, 0: default */
    const struct a2md_cmd_t *cmd;     /* the command running (the sub-command, once found) */
    int argc;                         /* the command's words after its name (and its options) */
    const char *const *argv;
};

typedef apr_status_t a2md_cmd_fn(a2md_t *a2md);

typedef struct a2md_cmd_t a2md_cmd_t;
struct a2md_cmd_t {
    const char *name; /* NULL ends a table */
    int needs;        /* A2MD_* */
    a2md_cmd_fn *fn;  /* NULL for a group of sub-commands */
    const a2md_cmd_t *subs;
    const char *synopsis;
    const char *description;
};

/* The command tables of the files (a2md.c dispatches). */
extern const a2md_cmd_t a2md_reg_cmds[];     /* add, update, list, drive */
extern const a2md_cmd_t a2md_store_cmds[];   /* store add|remove|list|update */
extern const a2md_cmd_t a2md_acme_cmds[];    /* acme newreg|delreg|agree|authz|validate */
extern const a2md_cmd_t a2md_acct_cmds[];    /* account list|show|rollover */
extern const a2md_cmd_t a2md_ops_cmds[];     /* status, renew, revoke */
extern const a2md_cmd_t a2md_check_cmds[];   /* check */
extern const a2md_cmd_t a2md_migrate_cmds[]; /* migrate */

/** Print why the command fails ("a2md: ...") to stderr; returns 'rv'. */
apr_status_t a2md_fail(a2md_t *a2md, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * A line about what happened ("NAME: renewed; ..."): to stdout, or with -j (where stdout holds
 * the JSON only) to stderr.
 */
void a2md_note(a2md_t *a2md, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Usage of the command 'cmd' to stderr with 'msg'; returns APR_EINVAL. */
apr_status_t a2md_usage(a2md_t *a2md, const char *msg);

/* Called for each option of a command; APR_EINVAL for a bad one. */
typedef apr_status_t a2md_opt_fn(a2md_t *a2md, void *baton, int opt, const char *arg);

/**
 * Parse the command's own options ('opts', ended by a NULL name) from its words; afterwards
 * argc/argv hold the words after them. A bad option prints the usage: APR_EINVAL.
 */
apr_status_t a2md_cmd_opts(a2md_t *a2md, const apr_getopt_option_t *opts, a2md_opt_fn *fn,
                           void *baton);

/** With -j append 'json' to the output array (the array keeps a copy); else nothing. */
void a2md_out_json(a2md_t *a2md, const md_json_t *json);

/**
 * Print a stored MD as upstream's a2md does: with -j its md.json into the output, with 'item'
 * (may be NULL) the state as the store has it and "renew": whether it is due; as text
 * "md: <name> [<domain>, ...]".
 */
void a2md_out_md(a2md_t *a2md, const md_t *md, const md_reg_item_t *item);

/**
 * A registry of the stored MDs as they are now (md_reg_load_stored). In 'a2md->p'. Failures are
 * reported.
 */
apr_status_t a2md_registry(md_reg_t **preg, a2md_t *a2md);

/** The CA directory for 'md': its own, else -a; NULL (reported) when there is none. */
const char *a2md_ca_url(a2md_t *a2md, const md_t *md);

/**
 * Renew the stored MDs 'mds' (md_t*, as written) here, in parallel, and activate what they get
 * (the 'drive' command; 'renew' when no server takes the request). Not due ones are skipped
 * unless 'force'; with 'reset' their staging area is cleared first; 'challenge' (may be NULL)
 * overrides the challenge types. APR_SUCCESS when all succeeded.
 */
apr_status_t a2md_drive_mds(a2md_t *a2md, const apr_array_header_t *mds, int force, int reset,
                            const char *challenge);

/**
 * When run as root: give what was written into challenges/, staging/ and ocsp/ to the owner of
 * staging/ (the server's User, made their owner by the server), so that its child can go on
 * writing there. Nothing for read-only stores or when staging/ belongs to root.
 */
void a2md_give_back(a2md_t *a2md);

/** Non-zero when 'arg' names a stored MD (quietly). */
int a2md_md_exists(a2md_t *a2md, const char *name);

#endif /* a2md_h */
