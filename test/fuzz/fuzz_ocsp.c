/* fuzz_ocsp: OCSP responses from a responder. A certificate and its issuer (fuzz_certs.h) are
 * primed for stapling once; for each input md_ocsp_fetch() asks the responder, and the script of
 * HTTP responses (fuzz.h) answers: status, headers and the DER body come from the fuzzer. A
 * response that passes is stored and made current, so the registry's status JSON and a
 * handshake's copy of it run on it too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md_util.h"
#include "md_store_fs.h"
#include "md_ocsp.h"
#include "fuzz.h"
#include "fuzz_certs.h"

static md_ocsp_reg_t *reg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const md_timeslice_t window = { 100, 50 };
    fuzz_setup_t *setup = NULL;

    (void)argc;
    (void)argv;
    setup = fuzz_setup_store("ocsp", NULL);
    if (APR_SUCCESS != md_ocsp_reg_create(&reg, setup->store, &window, setup->pool)
        || APR_SUCCESS != md_ocsp_prime(reg, "ext", 3, fuzz_chain_pem, "a.test", setup->pool)) {
        fuzz_setup_failed(setup);
    }
    return 0;
}

static void copy_resp(const unsigned char *der, apr_size_t der_len, void *baton)
{
    (void)der;
    *(apr_size_t *)baton = der_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* far enough ahead that the certificate is always due */
    apr_time_t later = apr_time_now() + apr_time_from_sec(20 * 365 * 86400LL);
    md_http_config_t config = { 0 };
    apr_array_header_t *due;
    apr_size_t len = 0;
    apr_pool_t *p = fuzz_pool();

    fuzz_http_script(data, size);
    due = md_ocsp_take_due(reg, 1, later, p);
    if (due->nelts) {
        md_ocsp_fetch(APR_ARRAY_IDX(due, 0, md_ocsp_item_t *), &config, p);
    }
    md_ocsp_get_resp(reg, "ext", 3, copy_resp, &len, apr_time_now(), p);
    md_ocsp_status_json(reg, apr_time_now(), p);
    apr_pool_destroy(p);
    return 0;
}
