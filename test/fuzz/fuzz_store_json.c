/* fuzz_store_json: the JSON files of the store, as their readers take them: md.json
 * (md_from_json, with the key specs), account.json (md_acme_acct_from_json), order.json
 * (md_acme_order_from_json) and job.json's "last" result (md_job_describe_last).
 *
 * What a reader accepts must survive its writer: md.json, account.json and order.json written
 * back from a parsed object must parse again (a store the module cannot read after its own
 * write would stop renewals). A failure there aborts (a finding, not a parse error).
 */
#include <stdio.h>
#include <stdlib.h>

#include "md.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_acme_acct.h"
#include "md_acme_order.h"
#include "md_job.h"
#include "fuzz.h"

static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_store_json: %s\n", what);
        abort();
    }
}

static void check_md(const md_json_t *json, apr_pool_t *p)
{
    md_t *md = NULL, *md2 = NULL;
    const char *err = NULL;
    md_json_t *out;

    if (APR_SUCCESS != md_from_json(&md, json, p, &err)) {
        return;
    }
    out = md_to_json_keep(md, json, p);
    must(APR_SUCCESS == md_from_json(&md2, out, p, &err), "md.json written back does not parse");
    must(md2->domains->nelts == md->domains->nelts, "md.json written back lost domains");
}

static void check_acct_order(const md_json_t *json, apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL, *acct2 = NULL;
    md_acme_order_t *order = NULL, *order2 = NULL;

    if (APR_SUCCESS == md_acme_acct_from_json(&acct, json, p)) {
        must(APR_SUCCESS == md_acme_acct_from_json(&acct2, md_acme_acct_to_json(acct, p), p),
             "account.json written back does not parse");
    }
    if (APR_SUCCESS == md_acme_order_from_json(&order, json, p)) {
        must(APR_SUCCESS == md_acme_order_from_json(&order2, md_acme_order_to_json(order, p), p),
             "order.json written back does not parse");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    md_json_t *json = NULL, *last;
    const char *err = NULL;

    if (APR_SUCCESS == md_json_readbuf(&json, p, (const char *)data, size, &err)) {
        check_md(json, p);
        check_acct_order(json, p);
        md_pkey_spec_from_json(json, p);
        last = md_json_getj(json, MD_KEY_LAST);
        md_job_describe_last(last ? last : json, p);
        md_json_writep(json, p, MD_JSON_FMT_INDENT);
    }
    apr_pool_destroy(p);
    return 0;
}
