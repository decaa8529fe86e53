/* md_log: forwards core messages to the installed sink (see md_log.h). */
#include <stdarg.h>
#include <stdio.h>

#include <apr_strings.h>

#include "md_log.h"

static md_log_level_cb *level_cb;
static md_log_print_cb *print_cb;
static void *log_baton;

static const char *level_names[] = {
    "emerg",  "alert",  "crit",   "error",  "warn",   "notice", "info",   "debug",
    "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
};

const char *md_log_level_name(md_log_level_t level)
{
    if ((int)level < 0 || (size_t)level >= sizeof(level_names) / sizeof(level_names[0])) {
        return "unknown";
    }
    return level_names[level];
}

void md_log_set(md_log_level_cb *plevel_cb, md_log_print_cb *pprint_cb, void *baton)
{
    level_cb = plevel_cb;
    print_cb = pprint_cb;
    log_baton = baton;
}

int md_log_is_level(apr_pool_t *p, md_log_level_t level)
{
    if (level_cb) {
        return level_cb(log_baton, p, level);
    }
    return level <= (print_cb ? MD_LOG_INFO : MD_LOG_NOTICE);
}

void md_log_perror(const char *file, int line, md_log_level_t level, apr_status_t rv, apr_pool_t *p,
                   const char *fmt, ...)
{
    va_list ap;
    const char *msg;
    char errbuf[256];

    if (!md_log_is_level(p, level)) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    if (print_cb) {
        print_cb(file, line, level, rv, msg, log_baton, p);
        return;
    }
    if (rv) {
        apr_strerror(rv, errbuf, sizeof(errbuf));
        fprintf(stderr, "[%s] (%d)%s: %s\n", md_log_level_name(level), rv, errbuf, msg);
    }
    else {
        fprintf(stderr, "[%s] %s\n", md_log_level_name(level), msg);
    }
}
