/* md_hot: certificate sets that a running server serves without a restart (MDActivation hot).
 *
 * A set is what one MD serves: per key spec of the MD, a certificate chain and its key. It is
 * read from the store (a staged set before it goes live, or the live one), checked as a restart
 * would check it (key belongs to the certificate, all names covered, not expired) and kept in
 * memory, so that handshakes only pick the objects up and never read or parse anything.
 * The decisions of hot activation that do not depend on httpd live here too, as pure functions.
 */
#ifndef md_hot_h
#define md_hot_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "md.h"
#include "md_crypt.h"
#include "md_store.h"

/* The certificate and key of one key spec. */
typedef struct md_hot_pair_t md_hot_pair_t;
struct md_hot_pair_t {
    const md_pkey_spec_t *spec;
    const md_cert_t *leaf;           /* first of 'chain' */
    const apr_array_header_t *chain; /* md_cert_t*, leaf first, then the intermediates */
    const md_pkey_t *pkey;
};

/* One MD's set; everything lives in the pool it was loaded into. */
typedef struct md_hot_set_t md_hot_set_t;
struct md_hot_set_t {
    const char *name;          /* the MD */
    apr_array_header_t *pairs; /* md_hot_pair_t*, in the order of the MD's key specs */
    apr_time_t valid_from;     /* of the first pair's certificate */
    apr_time_t valid_until;
    const char *serial; /* of the first pair's certificate, hex */
};

/**
 * Check that 'cert' and 'pkey' (of key spec 'spec') may serve 'md': the key belongs to the
 * certificate and the certificate covers all names of the MD; with 'now' > 0 also that it has
 * not expired at 'now'. APR_SUCCESS, or APR_EINVAL with *perr (in 'p') saying what is wrong.
 */
apr_status_t md_hot_check_pair(const char **perr, const md_cert_t *cert, const md_pkey_t *pkey,
                               const md_t *md, const md_pkey_spec_t *spec, apr_time_t now,
                               apr_pool_t *p);

/**
 * Read the set of 'md' from 'group' (MD_SG_STAGING for a renewed set, MD_SG_DOMAINS for the live
 * one) and check every pair with md_hot_check_pair() at 'now'. *pset lives in 'p' (give it a
 * pool of its own to free it with the set).
 * APR_ENOENT: there is no certificate for the first key spec (nothing to load).
 * APR_EINVAL: the set is not usable; *perr (in 'p') says why (a missing or unreadable key, a
 * certificate that does not match its key or misses a name, an expired one).
 */
apr_status_t md_hot_set_load(md_hot_set_t **pset, const char **perr, md_store_t *store,
                             md_store_group_t group, const md_t *md, apr_time_t now, apr_pool_t *p);

/**
 * Non-zero when 'a' and 'b' hold the same certificates, key spec by key spec (compared by their
 * SHA-256 fingerprints, computed in 'ptemp').
 */
int md_hot_set_same(const md_hot_set_t *a, const md_hot_set_t *b, apr_pool_t *ptemp);

/**
 * When a renewed certificate valid from 'not_before' may be served under MDActivationDelay
 * 'delay': 'not_before' + 'delay'; 0 (at once) when there is no delay.
 */
apr_time_t md_hot_live_at(apr_time_t not_before, apr_interval_time_t delay);

#endif /* md_hot_h */
