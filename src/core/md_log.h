/* md_log: the core's logging, routed through a callback.
 *
 * The core never includes httpd headers. The glue (src/mod) installs a callback that forwards to
 * ap_log_perror(); the CLI and unit tests install one that writes to stderr. Levels follow httpd's
 * numbering so the glue passes them through unchanged.
 */
#ifndef md_log_h
#define md_log_h

#include <apr_pools.h>
#include <apr_errno.h>

#ifndef APLOGNO
#define APLOGNO(n) "AH" #n ": "
#endif

typedef enum {
    MD_LOG_EMERG,
    MD_LOG_ALERT,
    MD_LOG_CRIT,
    MD_LOG_ERR,
    MD_LOG_WARNING,
    MD_LOG_NOTICE,
    MD_LOG_INFO,
    MD_LOG_DEBUG,
    MD_LOG_TRACE1,
    MD_LOG_TRACE2,
    MD_LOG_TRACE3,
    MD_LOG_TRACE4,
    MD_LOG_TRACE5,
    MD_LOG_TRACE6,
    MD_LOG_TRACE7,
    MD_LOG_TRACE8,
} md_log_level_t;

#define MD_LOG_MARK __FILE__, __LINE__

/* Called for each message that passes md_log_is_level(). 'msg' is formatted already. */
typedef void md_log_print_cb(const char *file, int line, md_log_level_t level, apr_status_t rv,
                             const char *msg, void *baton, apr_pool_t *p);
/* Answers whether messages at 'level' are logged at all (to skip formatting). */
typedef int md_log_level_cb(void *baton, apr_pool_t *p, md_log_level_t level);

/**
 * Install the log sink. Without one, messages at NOTICE and above go to stderr.
 * @param level_cb  decides which levels are wanted, may be NULL (then: up to INFO)
 * @param print_cb  writes a message
 * @param baton     passed to both, owned by the caller, must outlive all logging
 */
void md_log_set(md_log_level_cb *level_cb, md_log_print_cb *print_cb, void *baton);

/** Answers non-zero when messages at 'level' are logged. */
int md_log_is_level(apr_pool_t *p, md_log_level_t level);

/** Log a message at 'level' with status 'rv' (0 for none). Formatting happens in 'p'. */
void md_log_perror(const char *file, int line, md_log_level_t level, apr_status_t rv, apr_pool_t *p,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/** Name of a level ("error", "debug", ...) for the stderr sink and the CLI. */
const char *md_log_level_name(md_log_level_t level);

#endif /* md_log_h */
