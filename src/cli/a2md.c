/* a2md: the command line tool to look at a mod_md store and to drive a renewal by hand.
 *
 *   a2md --version
 *   a2md -d STOREDIR list
 *   a2md -d STOREDIR [-C CAFILE] -a DIRECTORY_URL [-m MAIL] [--agree] [-k KEYSPEC]...
 *        [-c CHALLENGE]... drive NAME [NAME...] [+ NAME [NAME...]]...
 *        (each "+" starts another MD; several MDs are driven in parallel threads that share
 *        one account cache, as the module's jobs do)
 *   a2md -d STOREDIR activate NAME      install a staged account and make staging/NAME live
 *
 * Logs go to stderr: notice and above, -v info, -vv debug, -vvv and more trace levels.
 */
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "md.h"
#include "md_log.h"
#include "md_util.h"
#include "md_version.h"
#include "md_result.h"
#include "md_http.h"
#include "md_store.h"
#include "md_store_fs.h"
#include "md_acme_drive.h"

typedef struct {
    md_log_level_t level;
    const char *store_dir;
    const char *ca_file;
    const char *ca_url;
    const char *proxy;
    apr_array_header_t *contacts;   /* const char* */
    apr_array_header_t *pks;        /* md_pkey_spec_t* */
    apr_array_header_t *challenges; /* const char* */
    int agree;
    apr_interval_time_t timeout;
} a2md_opts_t;

static int log_level_cb(void *baton, apr_pool_t *p, md_log_level_t level)
{
    const a2md_opts_t *opts = baton;
    (void)p;
    return level <= opts->level;
}

static void log_print_cb(const char *file, int line, md_log_level_t level, apr_status_t rv,
                         const char *msg, void *baton, apr_pool_t *p)
{
    char buf[256];
    (void)baton;
    (void)p;
    if (rv) {
        fprintf(stderr, "[%s] %s:%d: (%d) %s: %s\n", md_log_level_name(level), file, line, rv,
                apr_strerror(rv, buf, sizeof(buf)), msg);
    }
    else {
        fprintf(stderr, "[%s] %s:%d: %s\n", md_log_level_name(level), file, line, msg);
    }
}

static void usage(const char *msg)
{
    if (msg) {
        fprintf(stderr, "a2md: %s\n", msg);
    }
    fprintf(stderr,
            "usage: a2md [options] command [args]\n"
            "  --version              print the version\n"
            "  -d, --dir DIR          the store directory\n"
            "  -a, --acme URL         the ACME directory URL\n"
            "  -C, --cafile FILE      PEM roots to trust for the CA\n"
            "  -p, --proxy URL        HTTP proxy\n"
            "  -m, --contact MAIL     contact mail address (repeatable)\n"
            "  -k, --key SPEC         key spec: RSA[-BITS] or a curve (repeatable)\n"
            "  -c, --challenge TYPE   challenge type (repeatable; default http-01)\n"
            "  -t, --timeout SECS     polling timeout\n"
            "      --agree            accept the CA's terms of service\n"
            "  -v                     more logging (repeat for more)\n"
            "commands:\n"
            "  list                   the MDs in domains/ and staging/\n"
            "  drive NAME [NAME...] [+ NAME...]...\n"
            "                         get a certificate for the names into staging/NAME;\n"
            "                         each + starts another MD, driven in parallel\n"
            "  activate NAME          install the staged account and activate staging/NAME\n");
}

/* ---- list ------------------------------------------------------------------------------- */

typedef struct {
    md_store_t *store;
    md_store_group_t group;
} list_ctx_t;

static const char *cert_until(md_store_t *store, md_store_group_t group, const md_t *md,
                              apr_pool_t *p)
{
    const md_pkey_spec_t *spec = NULL;
    apr_array_header_t *chain = NULL;

    if (md->pks && md->pks->nelts) {
        spec = APR_ARRAY_IDX(md->pks, 0, const md_pkey_spec_t *);
    }
    if (APR_SUCCESS
            != md_store_load(store, group, md->name, md_chain_filename(spec, p), MD_SV_CHAIN,
                             (void **)&chain, p)
        || !chain || chain->nelts < 1) {
        return "-";
    }
    return md_time_rfc3339(md_cert_get_not_after(APR_ARRAY_IDX(chain, 0, const md_cert_t *)), p);
}

static int list_md(void *baton, const char *name, apr_pool_t *ptemp)
{
    list_ctx_t *ctx = baton;
    md_json_t *json = NULL;
    md_t *md = NULL;
    const char *err = NULL;

    if (APR_SUCCESS != md_store_load_json(ctx->store, ctx->group, name, MD_FN_MD, &json, ptemp)
        || APR_SUCCESS != md_from_json(&md, json, ptemp, &err)) {
        printf("%-8s %-30s (no readable md.json%s%s)\n", md_store_group_name(ctx->group), name,
               err ? ": " : "", err ? err : "");
        return 1;
    }
    printf("%-8s %-30s %-10s valid-until %-22s %s\n", md_store_group_name(ctx->group), name,
           md_state_name(md->state), cert_until(ctx->store, ctx->group, md, ptemp),
           md->domains ? md_array_str_join(md->domains, ",", ptemp) : "");
    return 1;
}

static apr_status_t cmd_list(md_store_t *store, apr_pool_t *p)
{
    list_ctx_t ctx;
    apr_status_t rv;

    ctx.store = store;
    ctx.group = MD_SG_DOMAINS;
    rv = md_store_iter_names(list_md, &ctx, store, MD_SG_DOMAINS, p);
    if (APR_SUCCESS == rv || APR_STATUS_IS_ENOENT(rv)) {
        ctx.group = MD_SG_STAGING;
        rv = md_store_iter_names(list_md, &ctx, store, MD_SG_STAGING, p);
    }
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

/* ---- drive ------------------------------------------------------------------------------ */

static void print_event(void *baton, const char *type, const char *detail)
{
    (void)baton;
    printf("event %s: %s\n", type, detail ? detail : "");
    fflush(stdout);
}

static md_t *make_md(const a2md_opts_t *opts, const char *const *names, int nnames, apr_pool_t *p)
{
    md_t *md = md_create_empty(p);
    md_pkey_spec_t *spec;
    int i;

    md->name = apr_pstrdup(p, names[0]);
    md->domains = apr_array_make(p, nnames, sizeof(const char *));
    for (i = 0; i < nnames; ++i) {
        md_array_str_add_missing(md->domains, md_util_str_tolower(names[i], p), p);
    }
    md->contacts = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; i < opts->contacts->nelts; ++i) {
        APR_ARRAY_PUSH(md->contacts, const char *) =
            apr_pstrcat(p, "mailto:", APR_ARRAY_IDX(opts->contacts, i, const char *), NULL);
    }
    md->ca_url = opts->ca_url;
    md->ca_proto = MD_PROTO_ACME;
    md->ca_agreement = opts->agree ? MD_TOS_ACCEPTED : NULL;
    md->ca_challenges = opts->challenges;
    md->pks = opts->pks;
    if (!md->pks->nelts) {
        spec = apr_pcalloc(p, sizeof(*spec));
        spec->type = MD_PKEY_TYPE_DEFAULT;
        spec->bits = MD_PKEY_RSA_BITS_DEF;
        APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec;
    }
    return md;
}

typedef struct {
    md_store_t *store;
    const a2md_opts_t *opts;
    const md_http_config_t *http_config;
    md_acme_acct_cache_t *cache;
    md_t *md;
    apr_pool_t *p;
    apr_status_t rv;
} drive_job_t;

static apr_status_t drive_one(drive_job_t *job)
{
    md_acme_driver_t driver;
    md_result_t *result = md_result_make(job->md->name, job->p);
    apr_pool_t *p = job->p;
    apr_status_t rv;

    memset(&driver, 0, sizeof(driver));
    driver.store = job->store;
    driver.md = job->md;
    driver.http_config = job->http_config;
    driver.acct_cache = job->cache;
    driver.challenges = job->opts->challenges;
    driver.result = result;
    driver.event_cb = print_event;
    driver.poll_timeout = job->opts->timeout;
    rv = md_acme_drive_renew(&driver, p);
    if (APR_SUCCESS == rv) {
        printf("%s: ok: %s\n", job->md->name, md_result_to_text(result, p));
    }
    else {
        printf("%s: failed (%d) while %s: %s\n", job->md->name, rv,
               result->activity ? result->activity : "starting", md_result_to_text(result, p));
        if (result->ready_at) {
            printf("%s: retry after %s\n", job->md->name, md_time_rfc3339(result->ready_at, p));
        }
    }
    fflush(stdout);
    return rv;
}

static void *APR_THREAD_FUNC drive_thread(apr_thread_t *thread, void *baton)
{
    drive_job_t *job = baton;
    job->rv = drive_one(job);
    apr_thread_exit(thread, job->rv);
    return NULL;
}

/* The names up to a "+" form one MD; several MDs are driven in parallel threads that share one
 * account cache, as the module's jobs do. */
static apr_array_header_t *make_jobs(md_store_t *store, const a2md_opts_t *opts,
                                     const md_http_config_t *http_config,
                                     md_acme_acct_cache_t *cache, const char *const *names,
                                     int nnames, apr_pool_t *p)
{
    apr_array_header_t *jobs = apr_array_make(p, 2, sizeof(drive_job_t *));
    drive_job_t *job;
    int i, start = 0;

    for (i = 0; i <= nnames; ++i) {
        if (i < nnames && strcmp("+", names[i]) != 0) {
            continue;
        }
        if (i > start) {
            job = apr_pcalloc(p, sizeof(*job));
            job->store = store;
            job->opts = opts;
            job->http_config = http_config;
            job->cache = cache;
            apr_pool_create(&job->p, p);
            job->md = make_md(opts, names + start, i - start, job->p);
            APR_ARRAY_PUSH(jobs, drive_job_t *) = job;
        }
        start = i + 1;
    }
    return jobs;
}

static apr_status_t cmd_drive(md_store_t *store, const a2md_opts_t *opts, const char *const *names,
                              int nnames, apr_pool_t *p)
{
    md_http_config_t http_config;
    md_acme_acct_cache_t *cache = NULL;
    apr_array_header_t *jobs, *threads;
    apr_thread_t *thread = NULL;
    drive_job_t *job;
    apr_status_t rv, trv;
    int i;

    if (nnames < 1) {
        usage("drive needs at least one name");
        return APR_EINVAL;
    }
    if (!opts->ca_url) {
        usage("drive needs the ACME directory URL (-a)");
        return APR_EINVAL;
    }
    memset(&http_config, 0, sizeof(http_config));
    http_config.user_agent = "a2md/" MD_MODULE_VERSION;
    http_config.ca_file = opts->ca_file;
    http_config.proxy_url = opts->proxy;
    rv = md_acme_acct_cache_create(&cache, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    jobs = make_jobs(store, opts, &http_config, cache, names, nnames, p);
    if (jobs->nelts == 1) {
        return drive_one(APR_ARRAY_IDX(jobs, 0, drive_job_t *));
    }
    threads = apr_array_make(p, jobs->nelts, sizeof(apr_thread_t *));
    for (i = 0; i < jobs->nelts; ++i) {
        job = APR_ARRAY_IDX(jobs, i, drive_job_t *);
        rv = apr_thread_create(&thread, NULL, drive_thread, job, p);
        if (APR_SUCCESS != rv) {
            job->rv = drive_one(job);
            thread = NULL;
        }
        APR_ARRAY_PUSH(threads, apr_thread_t *) = thread;
    }
    rv = APR_SUCCESS;
    for (i = 0; i < jobs->nelts; ++i) {
        thread = APR_ARRAY_IDX(threads, i, apr_thread_t *);
        job = APR_ARRAY_IDX(jobs, i, drive_job_t *);
        if (thread) {
            apr_thread_join(&trv, thread);
        }
        if (APR_SUCCESS != job->rv) {
            rv = job->rv;
        }
    }
    return rv;
}

/* ---- activate --------------------------------------------------------------------------- */

static apr_status_t cmd_activate(md_store_t *store, const char *name, apr_pool_t *p)
{
    md_json_t *json = NULL;
    md_t *md = NULL;
    apr_status_t rv;

    rv = md_store_load_json(store, MD_SG_STAGING, name, MD_FN_MD, &json, p);
    if (APR_SUCCESS == rv) {
        rv = md_from_json(&md, json, p, NULL);
    }
    if (APR_SUCCESS != rv) {
        fprintf(stderr, "a2md: %s: nothing usable staged\n", name);
        return rv;
    }
    rv = md_acme_drive_install_account(store, md, p);
    if (APR_SUCCESS == rv) {
        printf("%s: account %s\n", name, md->ca_account);
    }
    else if (!APR_STATUS_IS_ENOENT(rv)) {
        return rv;
    }
    rv = md_store_activate(store, name, p);
    if (APR_SUCCESS == rv) {
        printf("%s: activated\n", name);
    }
    return rv;
}

/* ---- main ------------------------------------------------------------------------------- */

enum { OPT_VERSION = 256, OPT_AGREE };

static const apr_getopt_option_t options[] = {
    { "version", OPT_VERSION, 0, "print the version" },
    { "agree", OPT_AGREE, 0, "accept the terms of service" },
    { "dir", 'd', 1, "store directory" },
    { "acme", 'a', 1, "ACME directory URL" },
    { "cafile", 'C', 1, "CA roots" },
    { "proxy", 'p', 1, "proxy" },
    { "contact", 'm', 1, "contact" },
    { "key", 'k', 1, "key spec" },
    { "challenge", 'c', 1, "challenge type" },
    { "timeout", 't', 1, "poll timeout" },
    { "verbose", 'v', 0, "more logging" },
    { "help", 'h', 0, "help" },
    { NULL, 0, 0, NULL },
};

static apr_status_t add_key_spec(a2md_opts_t *opts, const char *arg, apr_pool_t *p)
{
    md_pkey_spec_t *spec = NULL;
    const char *words[2];
    const char *err = NULL;
    const char *dash = strchr(arg, '-');
    apr_size_t nused = 0, nwords = 1;
    apr_status_t rv;

    /* "RSA-4096" for "RSA 4096"; curves like "P-256" keep their dash */
    if (dash && !strncasecmp(arg, "RSA-", 4)) {
        words[0] = "RSA";
        words[1] = dash + 1;
        nwords = 2;
    }
    else {
        words[0] = arg;
    }
    rv = md_pkey_spec_parse(&spec, &nused, words, nwords, p, &err);
    if (APR_SUCCESS != rv || nused != nwords) {
        fprintf(stderr, "a2md: bad key spec '%s': %s\n", arg, err ? err : "not understood");
        return APR_EINVAL;
    }
    APR_ARRAY_PUSH(opts->pks, md_pkey_spec_t *) = spec;
    return APR_SUCCESS;
}

static apr_status_t parse_opts(a2md_opts_t *opts, apr_getopt_t *os, int *pversion, apr_pool_t *p)
{
    const char *arg = NULL;
    apr_interval_time_t t;
    int opt;
    apr_status_t rv;

    for (;;) {
        rv = apr_getopt_long(os, options, &opt, &arg);
        if (APR_EOF == rv) {
            return APR_SUCCESS;
        }
        if (APR_SUCCESS != rv) {
            usage(NULL);
            return APR_EINVAL;
        }
        switch (opt) {
            case OPT_VERSION:
                *pversion = 1;
                break;
            case OPT_AGREE:
                opts->agree = 1;
                break;
            case 'd':
                opts->store_dir = arg;
                break;
            case 'a':
                opts->ca_url = arg;
                break;
            case 'C':
                opts->ca_file = arg;
                break;
            case 'p':
                opts->proxy = arg;
                break;
            case 'm':
                APR_ARRAY_PUSH(opts->contacts, const char *) = arg;
                break;
            case 'k':
                if (APR_SUCCESS != add_key_spec(opts, arg, p)) {
                    return APR_EINVAL;
                }
                break;
            case 'c':
                APR_ARRAY_PUSH(opts->challenges, const char *) = arg;
                break;
            case 't':
                if (APR_SUCCESS != md_duration_parse(&t, arg, "s")) {
                    usage("bad timeout");
                    return APR_EINVAL;
                }
                opts->timeout = t;
                break;
            case 'v':
                if (opts->level < MD_LOG_TRACE8) {
                    opts->level = (md_log_level_t)(opts->level + 1);
                }
                break;
            default:
                usage(NULL);
                return APR_EINVAL;
        }
    }
}

static int run(int argc, const char *const *argv, apr_pool_t *p)
{
    a2md_opts_t opts;
    apr_getopt_t *os = NULL;
    md_store_t *store = NULL;
    const char *cmd;
    int version = 0;
    apr_status_t rv;

    memset(&opts, 0, sizeof(opts));
    opts.level = MD_LOG_NOTICE;
    opts.contacts = apr_array_make(p, 2, sizeof(const char *));
    opts.pks = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    opts.challenges = apr_array_make(p, 2, sizeof(const char *));
    apr_getopt_init(&os, p, argc, argv);
    if (APR_SUCCESS != parse_opts(&opts, os, &version, p)) {
        return 2;
    }
    md_log_set(log_level_cb, log_print_cb, &opts);
    if (version) {
        printf("a2md (mod_md) %s\n", MD_MODULE_VERSION);
        return 0;
    }
    if (os->ind >= argc) {
        usage("no command given");
        return 2;
    }
    cmd = argv[os->ind];
    if (!opts.store_dir) {
        usage("no store directory given (-d)");
        return 2;
    }
    if (!opts.challenges->nelts) {
        APR_ARRAY_PUSH(opts.challenges, const char *) = "http-01";
    }
    rv = md_store_fs_open(&store, opts.store_dir, p);
    if (APR_SUCCESS != rv) {
        fprintf(stderr, "a2md: opening the store at %s failed\n", opts.store_dir);
        return 1;
    }
    if (!strcmp("list", cmd)) {
        rv = cmd_list(store, p);
    }
    else if (!strcmp("drive", cmd)) {
        rv = md_http_global_init();
        if (APR_SUCCESS == rv) {
            rv = cmd_drive(store, &opts, argv + os->ind + 1, argc - os->ind - 1, p);
        }
    }
    else if (!strcmp("activate", cmd) && os->ind + 1 < argc) {
        rv = cmd_activate(store, argv[os->ind + 1], p);
    }
    else {
        usage(apr_psprintf(p, "unknown command or missing arguments: %s", cmd));
        return 2;
    }
    return (APR_SUCCESS == rv) ? 0 : 1;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool = NULL;
    int rc;

    if (APR_SUCCESS != apr_app_initialize(&argc, &argv, NULL)) {
        fprintf(stderr, "a2md: apr_app_initialize() failed\n");
        return 1;
    }
    apr_pool_create(&pool, NULL);
    rc = run(argc, argv, pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
