/* md_acme_revoke: certificate revocation (see md_acme_revoke.h).
 *
 *   1. a session with the CA, signing with the account (kid) or the certificate's key (jwk)
 *   2. POST {"certificate": base64url(DER), "reason": n} to the directory's revokeCert
 *      (RFC 8555 7.6); 200 means revoked
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "md_keys.h"
#include "md_log.h"
#include "md_acme_session.h"
#include "md_acme_revoke.h"

static const struct {
    int code;
    const char *name;
} reasons[] = {
    { MD_REVOKE_UNSPECIFIED, "unspecified" },
    { MD_REVOKE_KEY_COMPROMISE, "keyCompromise" },
    { MD_REVOKE_AFFILIATION_CHANGED, "affiliationChanged" },
    { MD_REVOKE_SUPERSEDED, "superseded" },
    { MD_REVOKE_CESSATION_OF_OPERATION, "cessationOfOperation" },
};

/* "key-compromise", "key_compromise" and "keycompromise" all mean "keyCompromise" */
static int name_matches(const char *name, const char *canonical)
{
    const char *s = name, *c = canonical;

    while (*s && *c) {
        if (*s == '-' || *s == '_') {
            ++s;
            continue;
        }
        if (apr_tolower(*s) != apr_tolower(*c)) {
            return 0;
        }
        ++s;
        ++c;
    }
    return !*s && !*c;
}

apr_status_t md_acme_revoke_reason_parse(int *preason, const char *name)
{
    apr_size_t i;

    for (i = 0; name && i < sizeof(reasons) / sizeof(reasons[0]); ++i) {
        if (name_matches(name, reasons[i].name)
            || (apr_isdigit(name[0]) && !name[1] && name[0] - '0' == reasons[i].code)) {
            *preason = reasons[i].code;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

const char *md_acme_revoke_reason_name(int reason)
{
    apr_size_t i;

    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); ++i) {
        if (reasons[i].code == reason) {
            return reasons[i].name;
        }
    }
    return "unknown";
}

/* 1. */
static apr_status_t open_signer(md_acme_t **pacme, int *puse_jwk, md_acme_admin_t *admin,
                                const char *ca_url, const char *acct_id, const md_pkey_t *cert_key,
                                apr_pool_t *p)
{
    md_json_t *acct = NULL;
    apr_status_t rv;

    *puse_jwk = 0;
    if (acct_id && APR_SUCCESS == md_acme_admin_account_json(&acct, admin->store, acct_id, p)) {
        return md_acme_session_open(pacme, NULL, NULL, admin, acct_id, p);
    }
    if (!cert_key) {
        md_result_set(admin->result, APR_ENOENT,
                      "neither the account nor the certificate's key is there to sign the "
                      "revocation");
        return APR_ENOENT;
    }
    rv = md_acme_session_for_url(pacme, admin, ca_url, p);
    if (APR_SUCCESS == rv) {
        md_acme_set_account(*pacme, NULL, cert_key);
        *puse_jwk = 1;
    }
    return rv;
}

apr_status_t md_acme_revoke(md_acme_admin_t *admin, const char *ca_url, const char *acct_id,
                            const md_cert_t *cert, const md_pkey_t *cert_key, int reason,
                            apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_acme_resp_t *resp = NULL;
    md_json_t *payload = md_json_create(p);
    const char *url, *der64 = NULL;
    int use_jwk = 0;
    apr_status_t rv;

    rv = md_cert_to_der64(&der64, cert, p);
    if (APR_SUCCESS != rv) {
        return md_result_set(admin->result, rv, "encoding the certificate");
    }
    rv = open_signer(&acme, &use_jwk, admin, ca_url, acct_id, cert_key, p);
    if (APR_SUCCESS != rv) {
        return rv;
    }
    url = md_acme_session_resource(acme, admin, MD_KEY_REVOKE_CERT, 1);
    if (!url) {
        return admin->result->status;
    }
    /* 2. */
    md_json_sets(der64, payload, MD_KEY_CERTIFICATE);
    md_json_setl(reason, payload, MD_KEY_REASON);
    md_result_activity_printf(admin->result, "revoking the certificate with serial %s (%s)",
                              md_cert_get_serial(cert, p), md_acme_revoke_reason_name(reason));
    rv = md_acme_post(&resp, acme, url, payload, use_jwk, NULL, admin->result, p);
    if (APR_SUCCESS == rv) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p,
                      APLOGNO(13312) "revoked the certificate with serial %s at %s (%s, signed "
                                     "with %s)",
                      md_cert_get_serial(cert, p), acme->url, md_acme_revoke_reason_name(reason),
                      use_jwk ? "the certificate's key" : acct_id);
    }
    return rv;
}
