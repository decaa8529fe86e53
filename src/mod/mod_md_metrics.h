/* mod_md_metrics: counters of renewal attempts, failures and http-01 challenge answers per MD,
 * shared by all processes of the server.
 *
 * Renewals run in the one child that has the watchdog, challenge answers are served by any
 * child, and md-metrics may be asked from any child: the counters live in anonymous shared
 * memory that the parent creates at start-up and the children inherit. The segment belongs to
 * the parent's process pool, so counters survive graceful restarts and start at zero when the
 * server starts (Prometheus handles counter resets).
 */
#ifndef mod_md_metrics_h
#define mod_md_metrics_h

#include <httpd.h>

#include "md_status.h"
#include "mod_md_config.h"

typedef enum {
    MD_METRIC_RENEWALS,
    MD_METRIC_FAILURES,
    MD_METRIC_CHALLENGES,
} md_metric_t;

/**
 * Make sure there is a counter slot for every MD of the configuration (post_config, parent).
 * Logs and returns the error when shared memory cannot be had; counting is then off.
 */
apr_status_t mod_md_metrics_init(md_mod_conf_t *mc, server_rec *s);

/** Count one event for MD 'name' (any process, any thread; no-op for an unknown name). */
void mod_md_metrics_inc(const char *name, md_metric_t which);

/** md_status_counters_fn over the shared counters. 'baton' is NULL or an apr_uint32_t, 0 at
 *  first, that speeds up lookups made in the order of the MDs (one per request and thread). */
void mod_md_metrics_get(md_status_counters_t *pc, void *baton, const char *name);

#endif /* mod_md_metrics_h */
