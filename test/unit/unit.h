/* unit: shared declarations of the Check unit tests.
 *
 * Each test_<module>.c defines one suite constructor, declared here and added to the runner in
 * test_main.c. Tests get a fresh pool 'unit_pool' from the checked fixture unit_setup/
 * unit_teardown (add it to every TCase). Temp directories from unit_tmpdir() are removed when
 * the pool is destroyed.
 */
#ifndef unit_h
#define unit_h

#include <check.h>

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_crypt.h"

/* The pool of the running test: created by unit_setup(), destroyed by unit_teardown(). */
extern apr_pool_t *unit_pool;

void unit_setup(void);
void unit_teardown(void);

/* A new empty directory under $TMPDIR (or /tmp), removed with unit_pool. */
const char *unit_tmpdir(void);

/*
 * A private key for tests, in unit_pool: "rsa" (2048), "P-256" or "P-384". Generated once per
 * process and reloaded from a cached PEM afterwards, to keep the suite fast (also under
 * valgrind with CK_FORK=no).
 */
md_pkey_t *unit_key(const char *kind);

/* The space separated words of 's' as an array of strings, in unit_pool ("" gives none). */
apr_array_header_t *unit_words(const char *s);

/* A TCase with the fixture and a generous timeout (key generation under valgrind is slow). */
TCase *unit_tcase(const char *name);

Suite *suite_util(void);
Suite *suite_json(void);
Suite *suite_crypt(void);
Suite *suite_jws(void);
Suite *suite_time(void);
Suite *suite_md(void);
Suite *suite_store(void);
Suite *suite_store_lock(void);
Suite *suite_etcd(void);
Suite *suite_renew(void);
Suite *suite_ocsp(void);
Suite *suite_acme(void);
Suite *suite_job(void);
Suite *suite_parsers(void);
Suite *suite_names(void);
Suite *suite_admin(void);
Suite *suite_status(void);
Suite *suite_hot(void);
Suite *suite_proc(void);

#endif /* unit_h */
