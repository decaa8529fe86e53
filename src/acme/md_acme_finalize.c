/* md_acme_finalize: from a ready order to a certificate chain (see md_acme_finalize.h).
 *
 *   1. ready: a fresh key for the spec, saved (encrypted) into staging/<md>/ before the CSR goes
 *      out, so a restarted job still has it; processing/valid: the staged key
 *   2. POST {"csr": ...} to the order's finalize URL (once per order, RFC 8555 7.4)
 *   3. poll the order until valid
 *   4. POST-as-GET the certificate URL (application/pem-certificate-chain, RFC 8555 7.4.2)
 *   5. check key and names, save the chain into staging/<md>/
 */
#include <string.h>

#include <apr_strings.h>

#include "md.h"
#include "md_log.h"
#include "md_keys.h"
#include "md_util.h"
#include "md_acme_finalize.h"

#define CT_PEM_CHAIN "application/pem-certificate-chain"
/* Certificates a chain may have, the leaf included. A CA's chain has two to four; each one
 * more is sent in every TLS handshake, so a CA that sends hundreds is refused, not served. */
#define MD_CHAIN_MAX 10

static apr_status_t load_staged_key(md_pkey_t **ppkey, md_acme_driver_t *driver,
                                    const md_pkey_spec_t *spec, apr_pool_t *p)
{
    return md_store_load(driver->store, MD_SG_STAGING, driver->md->name, md_pkey_filename(spec, p),
                         MD_SV_PKEY, (void **)ppkey, p);
}

int md_acme_finalize_is_staged(md_acme_driver_t *driver, const md_pkey_spec_t *spec, apr_pool_t *p)
{
    md_pkey_t *pkey = NULL;
    apr_array_header_t *chain = NULL;
    const md_cert_t *leaf;

    if (APR_SUCCESS != load_staged_key(&pkey, driver, spec, p)
        || APR_SUCCESS
               != md_store_load(driver->store, MD_SG_STAGING, driver->md->name,
                                md_chain_filename(spec, p), MD_SV_CHAIN, (void **)&chain, p)
        || !chain || chain->nelts < 1) {
        return 0;
    }
    leaf = APR_ARRAY_IDX(chain, 0, const md_cert_t *);
    return md_cert_matches_key(leaf, pkey) && md_cert_covers_all(leaf, driver->md->domains)
           && md_cert_get_not_after(leaf) > apr_time_now();
}

/* 1. + 2. */
static apr_status_t send_csr(md_pkey_t **ppkey, md_acme_t *acme, md_acme_order_t *order,
                             const md_pkey_spec_t *spec, md_acme_driver_t *driver, apr_pool_t *p)
{
    const md_t *md = driver->md;
    md_acme_resp_t *resp = NULL;
    md_pkey_t *pkey = NULL;
    md_json_t *payload;
    const char *csr = NULL;
    apr_status_t rv;

    md_result_activity_printf(driver->result, "finalizing the order for %s key",
                              md_pkey_spec_name(spec));
    rv = md_pkey_gen(&pkey, p, spec);
    if (APR_SUCCESS != rv) {
        return md_result_printf(driver->result, rv, "generating a %s key",
                                md_pkey_spec_format(spec, p));
    }
    rv = md_store_save(driver->store, MD_SG_STAGING, md->name, md_pkey_filename(spec, p),
                       MD_SV_PKEY, pkey, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(driver->result, rv, "saving the new key into staging");
    }
    rv = md_cert_req_create64(&csr, md->domains, md->must_staple == 1, pkey, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(driver->result, rv, "creating the CSR");
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(12408) "%s: finalizing the order with a %s CSR for %s%s", md->name,
                  md_pkey_spec_name(spec), md_array_str_join(md->domains, ", ", p),
                  md->must_staple == 1 ? " with the TLS Feature status_request (MDMustStaple)"
                                       : "");
    payload = md_json_create(p);
    md_json_sets(csr, payload, MD_KEY_CSR);
    rv = md_acme_post(&resp, acme, order->finalize, payload, 0, NULL, driver->result, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    if (resp->json) {
        md_acme_order_update_from(order, resp->json, "finalized", p);
    }
    if (order->status == MD_ACME_ORDER_ST_READY) {
        /* the CA must have moved on; make sure a restart does not finalize twice */
        order->status = MD_ACME_ORDER_ST_PROCESSING;
    }
    order->retry_after = md_acme_retry_after(resp->headers, apr_time_now());
    md_acme_order_save(driver->store, md->name, order, p);
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(12229) "%s: finalized order %s with a %s key, now %s", md->name,
                  order->url, md_pkey_spec_name(spec), md_acme_order_state_name(order->status));
    *ppkey = pkey;
    return APR_SUCCESS;
}

/* 4. + 5. */
static apr_status_t fetch_chain(md_acme_t *acme, md_acme_order_t *order, const md_pkey_t *pkey,
                                const md_pkey_spec_t *spec, md_acme_driver_t *driver, apr_pool_t *p)
{
    const md_t *md = driver->md;
    md_acme_resp_t *resp = NULL;
    apr_array_header_t *chain = NULL;
    const md_cert_t *leaf;
    apr_status_t rv;

    if (!order->certificate) {
        return md_result_printf(driver->result, APR_EINVAL,
                                "order %s is valid but names no certificate", order->url);
    }
    md_result_activity_printf(driver->result, "downloading the certificate for %s key",
                              md_pkey_spec_name(spec));
    rv = md_acme_post(&resp, acme, order->certificate, NULL, 0, CT_PEM_CHAIN, driver->result, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    rv = md_chain_from_pem(&chain, p, resp->body, resp->body_len);
    if (APR_SUCCESS != rv || !chain || chain->nelts < 1) {
        return md_result_printf(driver->result, APR_EINVAL,
                                "the certificate from %s is no PEM chain", order->certificate);
    }
    if (chain->nelts > MD_CHAIN_MAX) {
        return md_result_printf(driver->result, APR_EINVAL,
                                "the certificate from %s comes in a chain of %d certificates, "
                                "more than the %d a server sends in its handshakes; the CA is "
                                "broken or hostile",
                                order->certificate, chain->nelts, MD_CHAIN_MAX);
    }
    leaf = APR_ARRAY_IDX(chain, 0, const md_cert_t *);
    if (!md_cert_matches_key(leaf, pkey)) {
        return md_result_printf(driver->result, APR_EINVAL,
                                "the certificate from %s does not match the %s key",
                                order->certificate, md_pkey_spec_name(spec));
    }
    if (!md_cert_covers_all(leaf, md->domains)) {
        return md_result_printf(driver->result, APR_EINVAL,
                                "the certificate from %s does not cover all of %s",
                                order->certificate, md_array_str_join(md->domains, ", ", p));
    }
    rv = md_store_save(driver->store, MD_SG_STAGING, md->name, md_chain_filename(spec, p),
                       MD_SV_CHAIN, chain, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(driver->result, rv, "saving the certificate chain into staging");
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p,
                  APLOGNO(12230) "%s: got a %s certificate (%d in chain), valid until %s", md->name,
                  md_pkey_spec_name(spec), chain->nelts,
                  md_time_rfc3339(md_cert_get_not_after(leaf), p));
    if (driver->event_cb) {
        driver->event_cb(driver->event_baton, "certificate-issued",
                         apr_psprintf(p, "%s certificate, serial %s", md_pkey_spec_name(spec),
                                      md_cert_get_serial(leaf, p)));
    }
    return APR_SUCCESS;
}

apr_status_t md_acme_finalize(md_acme_t *acme, md_acme_order_t *order, const md_pkey_spec_t *spec,
                              md_acme_driver_t *driver, apr_time_t deadline, apr_pool_t *p)
{
    md_pkey_t *pkey = NULL;
    apr_status_t rv;

    if (order->status == MD_ACME_ORDER_ST_READY) {
        rv = send_csr(&pkey, acme, order, spec, driver, p);
    }
    else {
        rv = load_staged_key(&pkey, driver, spec, p);
        if (APR_SUCCESS != rv) {
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                          APLOGNO(12231) "%s: order %s is %s, but its %s key is not staged",
                          driver->md->name, order->url, md_acme_order_state_name(order->status),
                          md_pkey_spec_name(spec));
            return APR_ENOENT;
        }
    }
    if (APR_SUCCESS != rv) {
        return rv;
    }
    /* 3. */
    rv = md_acme_order_await(order, acme, MD_ACME_ORDER_ST_VALID, deadline, driver->result, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    return fetch_chain(acme, order, pkey, spec, driver, p);
}
