/* md_acme_finalize: finalizing an order with a CSR and downloading the certificate chain
 * (RFC 8555 7.4, 7.4.2). Internal to src/acme.
 */
#ifndef md_acme_finalize_h
#define md_acme_finalize_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_crypt.h"
#include "md_acme.h"
#include "md_acme_order.h"
#include "md_acme_drive.h"

/**
 * 5. For an order that is ready: generate a key for 'spec', save it into staging/<md>/, send the
 * CSR. For an order processing or valid already (a restarted job): use the staged key. Then poll
 * until valid (or 'deadline': APR_EAGAIN), download the chain, check that it matches the key and
 * covers the MD's domains, and save it into staging/<md>/.
 * APR_ENOENT: the order is beyond ready but its key is gone; use a new order.
 */
apr_status_t md_acme_finalize(md_acme_t *acme, md_acme_order_t *order, const md_pkey_spec_t *spec,
                              md_acme_driver_t *driver, apr_time_t deadline, apr_pool_t *p);

/**
 * Non-zero if staging/<md>/ holds a key and chain for 'spec' that belong together and cover
 * the MD's domains (done by an earlier attempt).
 */
int md_acme_finalize_is_staged(md_acme_driver_t *driver, const md_pkey_spec_t *spec, apr_pool_t *p);

#endif /* md_acme_finalize_h */
