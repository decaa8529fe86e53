/* md_names: an MD keeps its name when its first domain is removed.
 *
 * The configuration names an MD after its first domain. When an admin removes that domain, the
 * configured name changes although it is the same MD, and a fresh domains/<name>/ would mean a
 * new key, a new order and the old certificate unused. So at start-up, before the registry sync,
 * a configured MD whose name has no domains/<name>/ is matched to a stored MD (domains/<x>/md.json)
 * that shares domains with it and that no other configured MD claims; the configured MD then
 * takes the stored name (and so its certificates, staged set and account).
 *
 * The match is deterministic (the start-up runs it twice: dry run and real run): each configured
 * MD picks the stored MD sharing the most domains with it (on a tie the lexically smallest
 * name); when several configured MDs pick the same stored one, the one sharing the most domains
 * gets it (on a tie the one configured first) and the others pick again among the rest. The store
 * is listed only when some configured MD has no directory, so a start with thousands of existing
 * MDs stays one stat each.
 */
#ifndef md_names_h
#define md_names_h

#include <apr_hash.h>
#include <apr_tables.h>

#include "md.h"
#include "md_store.h"

/**
 * Pick the stored MD a configured MD should continue (pure decision).
 * @param md      the configured MD (its domains are compared)
 * @param stored  md_t* of the stored MDs (name and domains are used)
 * @param taken   names (const char* keys) that may not be picked: names of configured MDs and
 *                stored MDs already continued by an earlier configured MD
 * @return the index in 'stored', or -1 when no stored MD fits
 */
int md_names_pick(const md_t *md, const apr_array_header_t *stored, apr_hash_t *taken);

/**
 * Give each configured MD ('mds', md_t*) without domains/<name>/ the name of the stored MD it
 * continues (see above); md->name is replaced by a copy in the pool of 'mds'. Each rename is
 * logged at notice level. Store problems leave the names as configured.
 * @param store  the store to look in
 * @param mds    configured MDs, in configuration order
 * @param ptemp  scratch pool
 * @return APR_SUCCESS (a broken or missing store entry is no reason to fail the start)
 */
apr_status_t md_names_keep(md_store_t *store, apr_array_header_t *mds, apr_pool_t *ptemp);

#endif /* md_names_h */
