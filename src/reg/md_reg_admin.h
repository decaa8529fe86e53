/* md_reg_admin: managed domains as an operator edits them in the store, without a configuration
 * (a2md add, update, store ...). What the configuration checks for MDomain is checked here too:
 * valid names (no name in two MDs), usable contacts and URLs. The MD's md.json in domains/ is
 * what gets written; fields other mod_md versions wrote there are kept.
 */
#ifndef md_reg_admin_h
#define md_reg_admin_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md.h"
#include "md_json.h"
#include "md_store.h"

/**
 * The names of a new or changed MD from what the operator typed: lower case, duplicates dropped,
 * the order kept. Each must be a DNS name with at least two labels (a wildcard only as the whole
 * first label; internationalized names in their xn-- form) or an IP address. APR_EINVAL with
 * *perr (in 'p') naming the first bad one or saying that there is none. Pure.
 */
apr_status_t md_reg_admin_domains(apr_array_header_t **pdomains, const char *const *args, int nargs,
                                  const char **perr, apr_pool_t *p);

/**
 * A contact as ACME wants it: an address "user@host" becomes "mailto:user@host", a URI (it has a
 * scheme) is taken as it is. APR_EINVAL with *perr for a malformed address (no or several '@',
 * empty or dotted-twice local part, host no DNS name, blanks). Pure.
 */
apr_status_t md_reg_admin_contact(const char **pcontact, const char *arg, const char **perr,
                                  apr_pool_t *p);

/**
 * Check a URL given for a CA directory or terms of service: a scheme, no blanks, and for URLs
 * with an authority ("scheme://") a host and, if given, a port in 1-65535. APR_EINVAL with *perr.
 * Pure.
 */
apr_status_t md_reg_admin_url(const char *url, const char **perr, apr_pool_t *p);

/**
 * The MD stored as domains/<name>/md.json, as written (no defaults added); *pjson (may be NULL)
 * gets the JSON as read. APR_ENOENT if there is none, APR_EINVAL if it is unusable (logged).
 */
apr_status_t md_reg_admin_load(md_t **pmd, md_json_t **pjson, md_store_t *store, const char *name,
                               apr_pool_t *p);

/**
 * All MDs in domains/ with a usable md.json (md_t*, as written), sorted by name. In 'p'.
 */
apr_array_header_t *md_reg_admin_load_all(md_store_t *store, apr_pool_t *p);

/**
 * Another stored MD that has one of the names of 'md' (the MD stored under md->name itself does
 * not count): APR_SUCCESS with *pother and *pdomain set (in 'p'), APR_ENOENT when there is none.
 */
apr_status_t md_reg_admin_overlap(const md_t **pother, const char **pdomain, md_store_t *store,
                                  const md_t *md, apr_pool_t *p);

/**
 * The stored MD whose name is 'name' or, failing that, the one that has 'name' among its
 * domains. APR_ENOENT if none.
 */
apr_status_t md_reg_admin_find(md_t **pmd, md_store_t *store, const char *name, apr_pool_t *p);

/**
 * Write 'md' as domains/<md->name>/md.json, durably. 'old' (may be NULL) is the JSON it replaces:
 * the fields of it this module does not own are kept.
 */
apr_status_t md_reg_admin_save(md_store_t *store, const md_t *md, const md_json_t *old,
                               apr_pool_t *p);

#endif /* md_reg_admin_h */
