/* fuzz_acme: every ACME response the client reads, in the order a renewal reads them.
 *
 * The input is a script of HTTP responses (fuzz.h): md_acme_drive_renew() runs for an MD with
 * two CAs (failover) against it, so the directory (meta, profiles, renewalInfo), newNonce,
 * newAccount, newOrder, authorization, challenge, finalize and certificate answers, problem
 * documents and their subproblems, Retry-After, Location and Replay-Nonce headers all come from
 * the fuzzer. The store is a file store in a scratch directory, emptied for each input.
 *
 * An input that starts with '@' first gets an account installed in accounts/ for the first CA
 * (the rest is the script): the renewal then checks that account at the CA (POST-as-GET of the
 * account URL) instead of making a new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_json.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "md_acme_acct.h"
#include "md_acme_drive.h"
#include "fuzz.h"

static const char *md_text =
    "{\"name\": \"a.test\", \"domains\": [\"a.test\", \"www.a.test\"], "
    "\"contacts\": [\"mailto:admin@a.test\"], "
    "\"ca\": {\"urls\": [\"https://ca.test/dir\", \"https://ca2.test/dir\"], \"proto\": \"ACME\", "
    "\"agreement\": \"accepted\"}, "
    "\"privkey\": {\"type\": \"EC\", \"curve\": \"P-256\"}, \"renew-mode\": 1}";

static fuzz_setup_t *setup;
static md_t *md;
static md_pkey_t *acct_key;

#define ACCT_ID "ACME-ca.test-0000"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const curve[] = { "P-256" };
    md_pkey_spec_t *spec = NULL;
    md_json_t *json = NULL;
    const char *err = NULL;
    apr_size_t nused = 0;

    (void)argc;
    (void)argv;
    setup = fuzz_setup_store("acme", NULL);
    if (APR_SUCCESS != md_json_readbuf(&json, setup->pool, md_text, strlen(md_text), &err)
        || APR_SUCCESS != md_from_json(&md, json, setup->pool, &err)
        || APR_SUCCESS != md_pkey_spec_parse(&spec, &nused, curve, 1, setup->pool, &err)
        || APR_SUCCESS != md_pkey_gen(&acct_key, setup->pool, spec)) {
        fuzz_setup_failed(setup);
    }
    return 0;
}

static void clean_store(apr_pool_t *p)
{
    static const char *const dirs[] = { "staging", "challenges", "accounts" };
    apr_size_t i;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); ++i) {
        md_util_rm_recursive(md_util_path_join(p, setup->dir, dirs[i]), p);
    }
}

static void install_account(apr_pool_t *p)
{
    md_acme_acct_t acct;

    memset(&acct, 0, sizeof(acct));
    acct.url = "https://ca.test/my-account/1";
    acct.ca_url = "https://ca.test/dir";
    acct.status = "valid";
    acct.contacts = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(acct.contacts, const char *) = "mailto:admin@a.test";
    if (APR_SUCCESS
        != md_acme_acct_save(setup->store, MD_SG_ACCOUNTS, ACCT_ID, &acct, acct_key, p)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = { "http-01", "tls-alpn-01" };
    md_acme_driver_t driver;
    apr_array_header_t *challenges;
    apr_pool_t *p;

    p = fuzz_pool();
    challenges = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(challenges, const char *) = types[0];
    APR_ARRAY_PUSH(challenges, const char *) = types[1];
    memset(&driver, 0, sizeof(driver));
    driver.store = setup->store;
    driver.md = md;
    driver.challenges = challenges;
    driver.result = md_result_make(md->name, p);
    driver.poll_timeout = apr_time_from_sec(30);
    if (size && data[0] == '@') {
        install_account(p);
        ++data;
        --size;
    }
    fuzz_http_script(data, size);
    md_acme_drive_renew(&driver, p);
    clean_store(p);
    apr_pool_destroy(p);
    return 0;
}
