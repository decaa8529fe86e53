/* md_keys: every JSON field name the module reads or writes (store files, status, ACME).
 * Names of store files follow the stock mod_md so both modules read each other's stores.
 */
#ifndef md_keys_h
#define md_keys_h

/* md.json */
#define MD_KEY_NAME          "name"
#define MD_KEY_DOMAINS       "domains"
#define MD_KEY_CONTACTS      "contacts"
#define MD_KEY_CA            "ca"
#define MD_KEY_URL           "url"
#define MD_KEY_URLS          "urls"
#define MD_KEY_PROTO         "proto"
#define MD_KEY_ACCOUNT       "account"
#define MD_KEY_AGREEMENT     "agreement"
#define MD_KEY_CHALLENGES    "challenges"
#define MD_KEY_STATE         "state"
#define MD_KEY_RENEW_MODE    "renew-mode"
#define MD_KEY_RENEW_WINDOW  "renew-window"
#define MD_KEY_WARN_WINDOW   "warn-window"
#define MD_KEY_PKEY          "privkey"
#define MD_KEY_TYPE          "type"
#define MD_KEY_BITS          "bits"
#define MD_KEY_CURVE         "curve"
#define MD_KEY_TRANSITIVE    "transitive"
#define MD_KEY_REQUIRE_HTTPS "require-https"
#define MD_KEY_MUST_STAPLE   "must-staple"
/* md.json fields the stock module writes (and shows in md-status) */
#define MD_KEY_ACME_TLS_1        "acme-tls/1"
#define MD_KEY_STAPLING          "stapling"
#define MD_KEY_EAB               "eab"
#define MD_KEY_HMAC              "hmac"
#define MD_KEY_PROFILE           "profile"
#define MD_KEY_PROFILE_MANDATORY "profile-mandatory"
#define MD_KEY_ARI_RENEWALS      "ari-renewals"

/* md_store.json */
#define MD_KEY_STORE   "store"
#define MD_KEY_VERSION "version"
#define MD_KEY_KEY     "key"

/* accounts/<id>/account.json */
#define MD_KEY_ID           "id"
#define MD_KEY_STATUS       "status"
#define MD_KEY_REGISTRATION "registration"
#define MD_KEY_ORDERS       "orders"
#define MD_KEY_TOS          "termsOfService"
#define MD_KEY_DISABLED     "disabled"
#define MD_KEY_CA_URL       "ca-url"

/* ACME protocol (RFC 8555) */
#define MD_KEY_NEW_NONCE      "newNonce"
#define MD_KEY_NEW_ACCOUNT    "newAccount"
#define MD_KEY_NEW_ORDER      "newOrder"
#define MD_KEY_META           "meta"
#define MD_KEY_CONTACT        "contact"
#define MD_KEY_TOS_AGREED     "termsOfServiceAgreed"
#define MD_KEY_ONLY_EXISTING  "onlyReturnExisting"
#define MD_KEY_IDENTIFIERS    "identifiers"
#define MD_KEY_VALUE          "value"
#define MD_KEY_AUTHORIZATIONS "authorizations"
#define MD_KEY_FINALIZE       "finalize"
#define MD_KEY_CERTIFICATE    "certificate"
#define MD_KEY_CSR            "csr"
#define MD_KEY_TOKEN          "token"
#define MD_KEY_IDENTIFIER     "identifier"
#define MD_KEY_WILDCARD       "wildcard"
#define MD_KEY_DETAIL         "detail"
#define MD_KEY_ERROR          "error"
#define MD_KEY_EXPIRES        "expires"
#define MD_KEY_SUBPROBLEMS    "subproblems"
#define MD_KEY_NEW_AUTHZ      "newAuthz"
#define MD_KEY_REASON         "reason"
#define MD_KEY_OLD_KEY        "oldKey"

/* JWS / JWK */
#define MD_KEY_ALG       "alg"
#define MD_KEY_KID       "kid"
#define MD_KEY_JWK       "jwk"
#define MD_KEY_NONCE     "nonce"
#define MD_KEY_PROTECTED "protected"
#define MD_KEY_PAYLOAD   "payload"
#define MD_KEY_SIGNATURE "signature"
#define MD_KEY_KTY       "kty"
#define MD_KEY_CRV       "crv"
#define MD_KEY_E         "e"
#define MD_KEY_N         "n"
#define MD_KEY_X         "x"
#define MD_KEY_Y         "y"

/* job.json */
#define MD_KEY_FINISHED         "finished"
#define MD_KEY_NOTIFIED         "notified"
#define MD_KEY_NOTIFIED_RENEWED "notified-renewed"
#define MD_KEY_ERRORS           "errors"
#define MD_KEY_LAST             "last"
#define MD_KEY_LAST_RUN         "last-run"
#define MD_KEY_NEXT_RUN         "next-run"
#define MD_KEY_VALID_FROM       "valid-from"
#define MD_KEY_LOG              "log"
#define MD_KEY_WHEN             "when"
#define MD_KEY_PROBLEM          "problem"
#define MD_KEY_ACTIVITY         "activity"
#define MD_KEY_ORDER            "order"

/* md-status, certificate-status, job.json (names as the stock module writes them) */
#define MD_KEY_MANAGED_DOMAINS    "managed-domains"
#define MD_KEY_CERT               "cert"
#define MD_KEY_VALID              "valid"
#define MD_KEY_FROM               "from"
#define MD_KEY_UNTIL              "until"
#define MD_KEY_VALID_UNTIL        "valid-until"
#define MD_KEY_SERIAL             "serial"
#define MD_KEY_SHA256_FINGERPRINT "sha256-fingerprint"
#define MD_KEY_ISSUER_NAME        "issuer-name"
#define MD_KEY_RENEW_AT           "renew-at"
#define MD_KEY_RENEW              "renew"
#define MD_KEY_RENEWAL            "renewal"
#define MD_KEY_WATCHED            "watched"
#define MD_KEY_STATE_DESCR        "state-descr"
#define MD_KEY_ENTRIES            "entries"
#define MD_KEY_ARI_CERT_ID        "ari-cert-id"
#define MD_KEY_STATUS_DESCRIPTION "status-description"
/* our additions to md-status (stock monitoring ignores them) */
#define MD_KEY_STATE_NAME   "state-name"
#define MD_KEY_RENEW_REASON "renew-reason"
#define MD_KEY_LAST_RENEWAL "last-renewal"
#define MD_KEY_RETRY_CLASS  "retry-class"
#define MD_KEY_ARI          "ari"         /* staging/<md>/ari.json, see md_ari.h */
#define MD_KEY_ARI_CERT_ID  "ari-cert-id" /* stock: RFC 9773 id of a "cert" entry */
/* ocsp/<md>/ocsp-<sha1>.json (stock format) and the OCSP status */
#define MD_KEY_RESPONSE   "response"
#define MD_KEY_OCSP       "ocsp"
#define MD_KEY_RESPONDER  "responder"
#define MD_KEY_DOMAIN     "domain"
#define MD_KEY_LAST_ERROR "last-error"

/* a2md -j: the envelope of every answer (as upstream's a2md) */
#define MD_KEY_OUTPUT      "output"
#define MD_KEY_DESCRIPTION "description"

/* httpd.json */
#define MD_KEY_PROTO_HTTP  "http"
#define MD_KEY_PROTO_HTTPS "https"

#endif /* md_keys_h */
