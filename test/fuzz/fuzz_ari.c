/* fuzz_ari: ACME Renewal Information (RFC 9773). The input is a script of HTTP responses
 * (fuzz.h): md_acme_ari_fetch() asks two CAs in turn, each for its directory and then for the
 * renewalInfo of a certificate, so the directory, the renewalInfo document (suggestedWindow,
 * explanationURL), its status and Retry-After come from the fuzzer. A window it takes must be
 * one: start before end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "md_result.h"
#include "md_acme_ari.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    apr_array_header_t *urls = apr_array_make(p, 2, sizeof(const char *));
    md_http_config_t config = { 0 };
    md_result_t *result = md_result_make("a.test", p);
    md_acme_ari_t ari;

    APR_ARRAY_PUSH(urls, const char *) = "https://ca.test/dir";
    APR_ARRAY_PUSH(urls, const char *) = "https://ca2.test/dir";
    fuzz_http_script(data, size);
    if (APR_SUCCESS
            == md_acme_ari_fetch(&ari, urls, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", &config, NULL,
                                 result, p)
        && !(ari.start > 0 && ari.end > ari.start)) {
        fprintf(stderr, "fuzz_ari: a window that is none was taken\n");
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
