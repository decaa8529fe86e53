/* md_store_copy: copy all values of one store into another, byte for byte, through the store
 * interface (a2md migrate: a file store into etcd and back).
 *
 * Every value is read and written as text: both stores keep the bytes of the file store's
 * files (md_store_encode()), so keys encrypted with the store key stay encrypted as they are
 * (both stores must use the same key: the etcd store uses the one of its local file store).
 * md_store.json (the key itself) and tmp/ are not copied.
 */
#ifndef md_store_copy_h
#define md_store_copy_h

#include <apr_pools.h>

#include "md_store.h"

typedef struct md_store_copy_stats_t md_store_copy_stats_t;
struct md_store_copy_stats_t {
    int names;  /* names (MDs, accounts, ...) copied */
    int values; /* values (files) copied */
};

/**
 * Copy everything of 'from' into 'to' (existing values of the same name are replaced, others
 * in 'to' are left). Stops at the first value that cannot be read or written: the error is
 * logged naming it. 'stats' (may be NULL) gets what was copied.
 */
apr_status_t md_store_copy(md_store_copy_stats_t *stats, md_store_t *to, md_store_t *from,
                           apr_pool_t *p);

#endif /* md_store_copy_h */
