/* md_request: an operator's request that a running server renew an MD now (a2md renew).
 *
 * The request travels through the store: staging/<md>/renew-request.json, which the server's
 * child may read and remove. a2md writes it; the renewal watchdog of a running server looks for
 * requests at every tick, takes those it can act on (it removes them) and starts the renewal.
 * A request that nobody takes within a few seconds means that no running server renews the MD:
 * a2md withdraws it and renews by itself. The request never goes live with a staged set.
 */
#ifndef md_request_h
#define md_request_h

#include <apr_pools.h>
#include <apr_time.h>

#include "md_store.h"

/** Ask for a renewal of 'name' now: write the request (at 'now'). */
apr_status_t md_request_put(md_store_t *store, const char *name, apr_time_t now, apr_pool_t *p);

/** Non-zero while the request for 'name' is there (not taken, not withdrawn). */
int md_request_is_pending(md_store_t *store, const char *name, apr_pool_t *p);

/**
 * Take back the request for 'name'. APR_SUCCESS: it was still there and is gone now;
 * APR_ENOENT: it was gone already (a server took it). Other errors from the store.
 */
apr_status_t md_request_withdraw(md_store_t *store, const char *name, apr_pool_t *p);

/* Called for each pending request; return non-zero to take it (it is then removed). */
typedef int md_request_cb(void *baton, const char *name, apr_time_t requested);

/**
 * For the server: call 'cb' for each pending request (names in staging/ only, so the cost is a
 * look at the MDs that have something staged) and remove those it takes.
 */
void md_request_scan(md_request_cb *cb, void *baton, md_store_t *store, apr_pool_t *p);

#endif /* md_request_h */
