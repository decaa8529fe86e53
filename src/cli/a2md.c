/* a2md: the operator's command line for a mod_md store (docs/a2md.md, man page docs/a2md.1).
 *
 * Upstream's command line (options -a -C -d -h -j -p -q -t -v -V; add, update, drive, list,
 * store ..., acme ...) with the same text and -j JSON ({"status", "output", "description"}),
 * plus status, renew, revoke, account ... and check. This file:
 *   1. parses the global options
 *   2. finds the command (and sub-command), opens the store as it needs it: read-only commands
 *      never create or change a store, and a missing store is an error naming the path
 *   3. runs it, then gives what it wrote into the server child's directories back to the
 *      server's user (when run as root)
 *   4. with -j prints the JSON envelope
 * The commands live in a2md_reg.c, a2md_store.c, a2md_acme.c, a2md_ops.c, a2md_check.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "md_keys.h"
#include "md_util.h"
#include "md_version.h"
#include "md_store_fs.h"
#include "md_store_etcd.h"
#include "a2md.h"

/* options without a letter */
#define OPT_ETCD_PREFIX 300
#define OPT_ETCD_CA     301
#define OPT_ETCD_CERT   302
#define OPT_ETCD_KEY    303
#define OPT_ETCD_USER   304
#define OPT_ETCD_PWFILE 305

/* ---- logging --------------------------------------------------------------------------------- */

static int log_level_cb(void *baton, apr_pool_t *p, md_log_level_t level)
{
    const a2md_t *a2md = baton;

    (void)p;
    return level <= a2md->level;
}

static void log_print_cb(const char *file, int line, md_log_level_t level, apr_status_t rv,
                         const char *msg, void *baton, apr_pool_t *p)
{
    const a2md_t *a2md = baton;
    char buf[256];

    (void)p;
    if (a2md->level >= MD_LOG_DEBUG) {
        fprintf(stderr, "[%s] %s:%d: ", md_log_level_name(level), file, line);
    }
    else {
        fprintf(stderr, "a2md: [%s] ", md_log_level_name(level));
    }
    if (rv) {
        fprintf(stderr, "%s (%s)\n", msg, apr_strerror(rv, buf, sizeof(buf)));
    }
    else {
        fprintf(stderr, "%s\n", msg);
    }
}

apr_status_t a2md_fail(a2md_t *a2md, apr_status_t rv, const char *fmt, ...)
{
    const char *msg;
    va_list ap;

    va_start(ap, fmt);
    msg = apr_pvsprintf(a2md->p, fmt, ap);
    va_end(ap);
    fprintf(stderr, "a2md: %s\n", msg);
    return rv;
}

/* ---- output ---------------------------------------------------------------------------------- */

void a2md_note(a2md_t *a2md, const char *fmt, ...)
{
    FILE *f = a2md->output ? stderr : stdout;
    va_list ap;

    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}

void a2md_out_json(a2md_t *a2md, const md_json_t *json)
{
    if (a2md->output) {
        md_json_array_append(a2md->output, md_json_clone(json, a2md->p));
    }
}

void a2md_out_md(a2md_t *a2md, const md_t *md, const md_reg_item_t *item)
{
    md_json_t *json;

    if (a2md->output) {
        json = md_to_json(md, a2md->p);
        if (item) {
            md_json_setl((long)item->md->state, json, MD_KEY_STATE);
            md_json_setb(item->reason != MD_RENEW_NOT_DUE, json, MD_KEY_RENEW);
        }
        a2md_out_json(a2md, json);
        return;
    }
    printf("md: %s [%s]\n", md->name, md_array_str_join(md->domains, ", ", a2md->p));
}

apr_status_t a2md_registry(md_reg_t **preg, a2md_t *a2md)
{
    apr_status_t rv;

    rv = md_reg_create(preg, a2md->store, a2md->p);
    if (APR_SUCCESS == rv) {
        rv = md_reg_load_stored(*preg, apr_time_now(), a2md->p);
    }
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "reading the MDs of the store at %s failed", a2md->store_dir);
    }
    return rv;
}

const char *a2md_ca_url(a2md_t *a2md, const md_t *md)
{
    if (md->ca_url) {
        return md->ca_url;
    }
    if (a2md->ca_url) {
        return a2md->ca_url;
    }
    a2md_fail(a2md, APR_INCOMPLETE,
              "%s: no CA: give it with 'a2md update %s ca <directory url>' (or -a <url>)", md->name,
              md->name);
    return NULL;
}

int a2md_md_exists(a2md_t *a2md, const char *name)
{
    apr_time_t mtime;

    return APR_SUCCESS
           == md_store_get_modified(&mtime, a2md->store, MD_SG_DOMAINS, name, MD_FN_MD, a2md->p);
}

/* ---- usage ----------------------------------------------------------------------------------- */

static const apr_getopt_option_t main_opts[] = {
    { "acme", 'a', 1, "the directory URL of the ACME CA" },
    { "cafile", 'C', 1, "PEM file with the root certificates to trust for the CA" },
    { "dir", 'd', 1, "the store directory (MDStoreDir, e.g. /etc/apache2/md)" },
    { "etcd", 'e', 1, "the store on etcd: its endpoints (MDStoreEtcd), -d holds key and copy" },
    { "etcd-prefix", OPT_ETCD_PREFIX, 1, "the key prefix of the etcd store (/mod_md)" },
    { "etcd-ca", OPT_ETCD_CA, 1, "PEM roots to trust for https etcd endpoints" },
    { "etcd-cert", OPT_ETCD_CERT, 1, "client certificate (PEM) for etcd" },
    { "etcd-key", OPT_ETCD_KEY, 1, "its key, when not in the certificate file" },
    { "etcd-user", OPT_ETCD_USER, 1, "etcd user (etcd's user/password auth)" },
    { "etcd-password-file", OPT_ETCD_PWFILE, 1, "file with that user's password" },
    { "help", 'h', 0, "print this help" },
    { "json", 'j', 0, "print the result as JSON" },
    { "proxy", 'p', 1, "HTTP proxy URL for talking to the CA" },
    { "quiet", 'q', 0, "log less (repeatable)" },
    { "terms", 't', 1, "agree to the CA's terms of service ('accepted' or their URL)" },
    { "verbose", 'v', 0, "log more (repeatable)" },
    { "version", 'V', 0, "print the version" },
    { NULL, 0, 0, NULL },
};

static const a2md_cmd_t *main_tables[] = {
    a2md_reg_cmds, a2md_store_cmds, a2md_acme_cmds,    a2md_acct_cmds,
    a2md_ops_cmds, a2md_check_cmds, a2md_migrate_cmds, NULL,
};

static const a2md_cmd_t *find_cmd(const a2md_cmd_t *table, const char *name)
{
    for (; table && table->name; ++table) {
        if (!strcmp(table->name, name)) {
            return table;
        }
    }
    return NULL;
}

/* groups show their sub-commands */
static void print_table(FILE *f, const a2md_cmd_t *table)
{
    for (; table->name; ++table) {
        if (table->subs) {
            print_table(f, table->subs);
            continue;
        }
        fprintf(f, "    %s\n        %s\n", table->synopsis, table->description);
    }
}

static void print_usage(FILE *f)
{
    const apr_getopt_option_t *o;
    int i;

    fprintf(f, "usage: a2md [options] command [command options] [args]\n"
               "    look at and change the managed domains of a mod_md store\n"
               "options:\n");
    for (o = main_opts; o->name; ++o) {
        if (o->optch > 255) {
            fprintf(f, "       --%-8s %-4s %s\n", o->name, o->has_arg ? "arg" : "", o->description);
            continue;
        }
        fprintf(f, "  -%c | --%-8s %-4s %s\n", o->optch, o->name, o->has_arg ? "arg" : "",
                o->description);
    }
    fprintf(f, "commands:\n");
    for (i = 0; main_tables[i]; ++i) {
        print_table(f, main_tables[i]);
    }
    fprintf(f, "See 'man a2md' or docs/a2md.md.\n");
}

apr_status_t a2md_usage(a2md_t *a2md, const char *msg)
{
    const a2md_cmd_t *cmd = a2md->cmd;

    if (msg) {
        a2md_fail(a2md, APR_EINVAL, "%s", msg);
    }
    if (!cmd) {
        print_usage(stderr);
        return APR_EINVAL;
    }
    fprintf(stderr, "usage: a2md [options] %s\n    %s\n", cmd->synopsis, cmd->description);
    if (cmd->subs) {
        fprintf(stderr, "sub-commands:\n");
        print_table(stderr, cmd->subs);
    }
    return APR_EINVAL;
}

apr_status_t a2md_cmd_opts(a2md_t *a2md, const apr_getopt_option_t *opts, a2md_opt_fn *fn,
                           void *baton)
{
    apr_getopt_t *os = NULL;
    const char *arg = NULL;
    int opt;
    apr_status_t rv;

    /* the command's name is the word before its arguments: getopt skips it as "argv[0]" */
    apr_getopt_init(&os, a2md->p, a2md->argc + 1, a2md->argv - 1);
    for (;;) {
        rv = apr_getopt_long(os, opts, &opt, &arg);
        if (APR_EOF == rv) {
            break;
        }
        if (APR_SUCCESS != rv || APR_SUCCESS != fn(a2md, baton, opt, arg)) {
            return a2md_usage(a2md, "bad option");
        }
    }
    a2md->argv = a2md->argv - 1 + os->ind;
    a2md->argc = a2md->argc + 1 - os->ind;
    return APR_SUCCESS;
}

/* ---- 1. global options ----------------------------------------------------------------------- */

static apr_status_t main_opt(a2md_t *a2md, int opt, const char *arg, int *phelp, int *pversion)
{
    switch (opt) {
        case 'a':
            a2md->ca_url = arg;
            break;
        case 'C':
            a2md->ca_file = arg;
            break;
        case 'd':
            a2md->store_dir = arg;
            break;
        case 'e':
            a2md->etcd = arg;
            break;
        case OPT_ETCD_PREFIX:
            a2md->etcd_conf.prefix = arg;
            break;
        case OPT_ETCD_CA:
            a2md->etcd_conf.ca_file = arg;
            break;
        case OPT_ETCD_CERT:
            a2md->etcd_conf.cert_file = arg;
            break;
        case OPT_ETCD_KEY:
            a2md->etcd_conf.key_file = arg;
            break;
        case OPT_ETCD_USER:
            a2md->etcd_conf.user = arg;
            break;
        case OPT_ETCD_PWFILE:
            a2md->etcd_conf.password_file = arg;
            break;
        case 'h':
            *phelp = 1;
            break;
        case 'j':
            a2md->output = md_json_create_array(a2md->p);
            break;
        case 'p':
            a2md->proxy = arg;
            break;
        case 'q':
            if (a2md->level > MD_LOG_EMERG) {
                a2md->level = (md_log_level_t)(a2md->level - 1);
            }
            break;
        case 't':
            a2md->tos = arg;
            break;
        case 'v':
            if (a2md->level < MD_LOG_TRACE8) {
                a2md->level = (md_log_level_t)(a2md->level + 1);
            }
            break;
        case 'V':
            *pversion = 1;
            break;
        default:
            return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* ---- 2. the store ---------------------------------------------------------------------------- */

static apr_status_t count_entry(void *baton, const char *dpath, const char *name,
                                apr_filetype_e type, apr_pool_t *ptemp)
{
    (void)dpath;
    (void)name;
    (void)type;
    (void)ptemp;
    ++*(int *)baton;
    return APR_SUCCESS;
}

/* A new store only where there is nothing: a directory with files but without md_store.json may
 * be a store whose key file was lost, and a new key would make its encrypted keys unreadable. */
static apr_status_t may_create(a2md_t *a2md)
{
    int n = 0;

    md_util_dir_do(count_entry, &n, a2md->store_dir, a2md->p);
    if (n) {
        return a2md_fail(a2md, APR_EEXIST,
                         "%s is not empty but has no md_store.json: not a store, or one that lost "
                         "its key file (restore it from a backup; a new one would make the "
                         "encrypted keys in it unreadable)",
                         a2md->store_dir);
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, a2md->p,
                  APLOGNO(13330) "creating a new store at %s", a2md->store_dir);
    return APR_SUCCESS;
}

/* --etcd: the etcd store over the file store in -d (its key and local copy). */
static apr_status_t open_etcd(a2md_t *a2md, int needs)
{
    const char *err = NULL;
    apr_status_t rv;

    rv = md_store_etcd_parse_endpoints(&a2md->etcd_conf.endpoints, a2md->etcd, &err, a2md->p);
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "--etcd %s: %s", a2md->etcd, err);
    }
    a2md->etcd_conf.user_agent = "a2md/" MD_MODULE_VERSION;
    rv = md_http_global_init();
    if (APR_SUCCESS == rv) {
        rv = md_store_open_etcd(&a2md->store, a2md->local, &a2md->etcd_conf,
                                (needs & A2MD_STORE_READ) ? MD_STORE_ETCD_READONLY : 0, a2md->p);
    }
    if (APR_STATUS_IS_ENOENT(rv)) {
        return a2md_fail(a2md, rv, "no store in etcd %s under %s", a2md->etcd,
                         a2md->etcd_conf.prefix ? a2md->etcd_conf.prefix
                                                : MD_STORE_ETCD_PREFIX_DEF);
    }
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "cannot open the store in etcd %s", a2md->etcd);
    }
    return APR_SUCCESS;
}

static apr_status_t open_store(a2md_t *a2md, int needs)
{
    const char *fpath;
    apr_status_t rv;

    if (!(needs & (A2MD_STORE_READ | A2MD_STORE_WRITE | A2MD_STORE_CREATE)) || a2md->store) {
        return APR_SUCCESS;
    }
    if (!a2md->store_dir) {
        return a2md_fail(a2md, APR_EINVAL, "%s needs the store directory: -d DIR", a2md->cmd->name);
    }
    fpath = md_util_path_join(a2md->p, a2md->store_dir, "md_store.json");
    rv = md_util_is_file(fpath, a2md->p);
    if (APR_SUCCESS != rv && !(needs & A2MD_STORE_CREATE)) {
        return a2md_fail(a2md, APR_ENOENT,
                         "no store at %s (%s is missing): check -d, or point it at the server's "
                         "MDStoreDir",
                         a2md->store_dir, fpath);
    }
    if (needs & A2MD_STORE_READ) {
        rv = md_store_fs_open_readonly(&a2md->store, a2md->store_dir, a2md->p);
    }
    else {
        if (APR_SUCCESS != rv && APR_SUCCESS != may_create(a2md)) {
            return APR_EEXIST;
        }
        rv = md_store_fs_open(&a2md->store, a2md->store_dir, a2md->p);
        a2md->is_writable = 1;
    }
    if (APR_SUCCESS != rv) {
        return a2md_fail(a2md, rv, "cannot open the store at %s", a2md->store_dir);
    }
    a2md->local = a2md->store;
    return a2md->etcd ? open_etcd(a2md, needs) : APR_SUCCESS;
}

/* 3. What a command (run as root) wrote into challenges/, staging/ or ocsp/ must stay writable
 * for the server's child: they go to the owner of staging/, whom the server made their owner. */
void a2md_give_back(a2md_t *a2md)
{
    apr_finfo_t finfo;
    const char *staging;

    if (!a2md->is_writable || geteuid() != 0) {
        return;
    }
    staging = md_util_path_join(a2md->p, a2md->store_dir, "staging");
    if (APR_SUCCESS != apr_stat(&finfo, staging, APR_FINFO_OWNER, a2md->p) || finfo.user == 0) {
        return;
    }
    md_store_fs_set_owner(a2md->local, (long)finfo.user, (long)finfo.group, a2md->p);
}

/* 2. 'cmd' is the word at argv[0] */
static apr_status_t exec_cmd(a2md_t *a2md, const a2md_cmd_t *cmd)
{
    const a2md_cmd_t *sub;
    apr_status_t rv;

    a2md->cmd = cmd;
    a2md->argv++;
    a2md->argc--;
    if (cmd->subs) {
        if (a2md->argc < 1) {
            return a2md_usage(a2md, "a sub-command is missing");
        }
        sub = find_cmd(cmd->subs, a2md->argv[0]);
        if (!sub) {
            return a2md_usage(a2md, apr_psprintf(a2md->p, "unknown sub-command: %s %s", cmd->name,
                                                 a2md->argv[0]));
        }
        return exec_cmd(a2md, sub);
    }
    rv = open_store(a2md, cmd->needs);
    if (APR_SUCCESS == rv && (cmd->needs & A2MD_HTTP)) {
        rv = md_http_global_init();
    }
    if (APR_SUCCESS == rv) {
        rv = cmd->fn(a2md);
    }
    return rv;
}

static apr_status_t run_command(a2md_t *a2md)
{
    const a2md_cmd_t *cmd = NULL;
    int i;

    for (i = 0; !cmd && main_tables[i]; ++i) {
        cmd = find_cmd(main_tables[i], a2md->argv[0]);
    }
    if (!cmd) {
        return a2md_fail(a2md, APR_EINVAL, "unknown command: %s (see a2md -h)", a2md->argv[0]);
    }
    return exec_cmd(a2md, cmd);
}

/* ---- 4. -j ----------------------------------------------------------------------------------- */

static void print_envelope(a2md_t *a2md, apr_status_t rv)
{
    md_json_t *json = md_json_create(a2md->p);
    char buf[256];

    md_json_setl((long)rv, json, MD_KEY_STATUS);
    md_json_setj(a2md->output, json, MD_KEY_OUTPUT);
    if (APR_SUCCESS != rv) {
        /* exactly upstream's envelope (scripts compare it whole): the explanation of the
         * failure went to stderr */
        md_json_sets(apr_strerror(rv, buf, sizeof(buf)), json, MD_KEY_DESCRIPTION);
    }
    printf("%s\n", md_json_writep(json, a2md->p, MD_JSON_FMT_INDENT));
}

static apr_status_t run(a2md_t *a2md, int argc, const char *const *argv)
{
    apr_getopt_t *os = NULL;
    const char *arg = NULL;
    int opt, help = 0, version = 0;
    apr_status_t rv;

    /* 1. */
    apr_getopt_init(&os, a2md->p, argc, argv);
    for (;;) {
        rv = apr_getopt_long(os, main_opts, &opt, &arg);
        if (APR_EOF == rv) {
            break;
        }
        if (APR_SUCCESS != rv || APR_SUCCESS != main_opt(a2md, opt, arg, &help, &version)) {
            print_usage(stderr);
            return APR_EINVAL;
        }
    }
    if (help || version) {
        a2md->output = NULL; /* no JSON envelope for these */
        if (help) {
            print_usage(stdout);
        }
        else {
            printf("version: %s\n", MD_MODULE_VERSION);
        }
        return APR_SUCCESS;
    }
    a2md->argc = argc - os->ind;
    a2md->argv = argv + os->ind;
    if (a2md->argc < 1) {
        return a2md_usage(a2md, "a command is missing");
    }
    a2md->http_config.user_agent = "a2md/" MD_MODULE_VERSION;
    a2md->http_config.ca_file = a2md->ca_file;
    a2md->http_config.proxy_url = a2md->proxy;
    /* 2. */
    rv = run_command(a2md);
    /* 3. */
    a2md_give_back(a2md);
    return rv;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool = NULL;
    a2md_t a2md;
    apr_status_t rv;

    if (APR_SUCCESS != apr_app_initialize(&argc, &argv, NULL)) {
        fprintf(stderr, "a2md: apr_app_initialize() failed\n");
        return 1;
    }
    apr_pool_create(&pool, NULL);
    memset(&a2md, 0, sizeof(a2md));
    a2md.p = pool;
    a2md.level = MD_LOG_NOTICE;
    md_log_set(log_level_cb, log_print_cb, &a2md);
    rv = run(&a2md, argc, argv);
    if (a2md.output) {
        print_envelope(&a2md, rv);
    }
    fflush(stdout);
    apr_pool_destroy(pool);
    apr_terminate();
    return (APR_SUCCESS == rv) ? 0 : 1;
}
