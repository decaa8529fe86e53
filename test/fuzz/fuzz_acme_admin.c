/* fuzz_acme_admin: the ACME responses that only the operator's commands read (a2md acme ...,
 * a2md revoke): account registration, validation, agreement to new terms, deactivation, key
 * roll-over, pre-authorization and revocation. The first input byte chooses the operation, the
 * rest is the script of HTTP responses (fuzz.h). An account of the CA and a certificate with its
 * key (fuzz_certs.h) are in the store for each input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md_crypt.h"
#include "md_util.h"
#include "md_store_fs.h"
#include "md_acme_acct.h"
#include "md_acme_admin.h"
#include "md_acme_keychange.h"
#include "md_acme_revoke.h"
#include "fuzz.h"
#include "fuzz_certs.h"

#define CA_URL  "https://ca.test/dir"
#define ACCT_ID "ACME-ca.test-0000"

static fuzz_setup_t *setup;
static md_pkey_t *key;
static md_cert_t *cert;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_array_header_t *chain = NULL;

    (void)argc;
    (void)argv;
    setup = fuzz_setup_store("acme_admin", NULL);
    if (APR_SUCCESS
            != md_pkey_from_pem(&key, setup->pool, fuzz_leaf_key_pem, sizeof(fuzz_leaf_key_pem) - 1,
                                NULL, 0)
        || APR_SUCCESS
               != md_chain_from_pem(&chain, setup->pool, fuzz_chain_pem,
                                    sizeof(fuzz_chain_pem) - 1)) {
        fuzz_setup_failed(setup);
    }
    cert = APR_ARRAY_IDX(chain, 0, md_cert_t *);
    return 0;
}

static void install_account(apr_pool_t *p)
{
    md_acme_acct_t acct;

    md_util_rm_recursive(md_util_path_join(p, setup->dir, "accounts"), p);
    memset(&acct, 0, sizeof(acct));
    acct.url = "https://ca.test/my-account/1";
    acct.ca_url = CA_URL;
    acct.status = "valid";
    acct.contacts = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(acct.contacts, const char *) = "mailto:admin@a.test";
    if (APR_SUCCESS != md_acme_acct_save(setup->store, MD_SG_ACCOUNTS, ACCT_ID, &acct, key, p)) {
        abort();
    }
}

static void run(int op, md_acme_admin_t *admin, apr_pool_t *p)
{
    apr_array_header_t *contacts = apr_array_make(p, 1, sizeof(const char *));
    const char *out = NULL;

    APR_ARRAY_PUSH(contacts, const char *) = "mailto:admin@a.test";
    switch (op % 8) {
        case 0:
            md_acme_admin_validate(admin, ACCT_ID, p);
            break;
        case 1:
            md_acme_admin_agree(admin, ACCT_ID, p);
            break;
        case 2:
            md_acme_admin_deactivate(admin, ACCT_ID, p);
            break;
        case 3:
            md_acme_keychange(admin, ACCT_ID, p);
            break;
        case 4:
            md_acme_admin_authz(&out, admin, ACCT_ID, "a.test", p);
            break;
        case 5:
            md_acme_admin_register(&out, admin, CA_URL, contacts, 1, p);
            break;
        case 6:
            md_acme_revoke(admin, CA_URL, ACCT_ID, cert, key, 1, p);
            break;
        default:
            md_acme_revoke(admin, CA_URL, NULL, cert, key, 4, p);
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_http_config_t config = { 0 };
    md_acme_admin_t admin;
    apr_pool_t *p;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    install_account(p);
    memset(&admin, 0, sizeof(admin));
    admin.store = setup->store;
    admin.http_config = &config;
    admin.result = md_result_make(NULL, p);
    fuzz_http_script(data + 1, size - 1);
    run(data[0], &admin, p);
    apr_pool_destroy(p);
    return 0;
}
