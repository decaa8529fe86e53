/* md: the Managed Domain model (md_t) and its JSON form in md.json.
 *
 * An md_t is what the configuration says about one managed domain plus what the store knows
 * about it (account, state). It is a plain struct; copies are made with md_clone(). All strings
 * and arrays live in the pool the md was created in.
 */
#ifndef md_h
#define md_h

#include <apr_pools.h>
#include <apr_tables.h>

#include "md_json.h"
#include "md_time.h"
#include "md_crypt.h"

#define MD_UNSET (-1)

#define MD_TOS_ACCEPTED   "accepted"
#define MD_PROTO_ACME     "ACME"
#define MD_ACME_DEF_URL   "https://acme-v02.api.letsencrypt.org/directory"
/* how long a dns-01 program (MDChallengeDns01) may run before it is killed */
#define MD_DNS01_TIMEOUT_DEF apr_time_from_sec(10 * 60)

/* File names inside the store (as the stock module uses them). */
#define MD_FN_MD          "md.json"
#define MD_FN_JOB         "job.json"
#define MD_FN_PRIVKEY     "privkey.pem"
#define MD_FN_PUBCERT     "pubcert.pem"
#define MD_FN_ACCOUNT     "account.json"
#define MD_FN_ACCT_KEY    "account.pem"
#define MD_FN_ORDER       "order.json"
#define MD_FN_HTTP01      "acme-http-01.txt"
/* tls-alpn-01 answers: this prefix + md_pkey_filename()/md_chain_filename() of the key spec */
#define MD_FN_TLSALPN01_PREFIX "acme-tls-alpn-01-"
#define MD_FN_FALLBACK_PKEY "fallback-privkey.pem"
#define MD_FN_FALLBACK_CERT "fallback-pubcert.pem"
/* staging/<md>/: an operator asks a running server to renew the MD now (a2md renew) */
#define MD_FN_RENEW_REQUEST "renew-request.json"
/* accounts/<id>/: the next key during an account key rollover (a2md account rollover) */
#define MD_FN_ACCT_KEY_NEXT "account-next.pem"

typedef enum {
    MD_S_UNKNOWN = 0,   /* not known yet */
    MD_S_INCOMPLETE = 1,/* no usable certificate */
    MD_S_COMPLETE = 2,  /* a usable certificate, ok for now */
    MD_S_EXPIRED_DEPRECATED = 3, /* written by old stock versions; read as INCOMPLETE */
    MD_S_ERROR = 4,     /* the configuration or store is broken */
    MD_S_MISSING_INFORMATION = 5, /* e.g. no contact where the CA needs one */
} md_state_t;

typedef enum {
    MD_RENEW_DEFAULT = -1,
    MD_RENEW_MANUAL = 0,
    MD_RENEW_AUTO = 1,
    MD_RENEW_ALWAYS = 2,
} md_renew_mode_t;

typedef enum {
    MD_REQUIRE_UNSET = -1,
    MD_REQUIRE_OFF = 0,
    MD_REQUIRE_TEMPORARY = 1,
    MD_REQUIRE_PERMANENT = 2,
} md_require_t;

typedef struct md_t md_t;
struct md_t {
    const char *name;               /* the MD's name: its first domain when created */
    apr_array_header_t *domains;    /* const char*, lower case, certificate SANs */
    apr_array_header_t *contacts;   /* const char*, "mailto:..." */
    int renew_mode;                 /* md_renew_mode_t */
    int require_https;              /* md_require_t */
    int must_staple;                /* flag or MD_UNSET */
    int stapling;                   /* MDStapling: flag or MD_UNSET (written, never read) */
    int transitive;                 /* collect vhost names (MDMembers auto), or MD_UNSET */
    const md_timeslice_t *renew_window;
    const md_timeslice_t *warn_window;
    apr_array_header_t *pks;        /* md_pkey_spec_t*, at least one after config merge */

    const char *ca_url;             /* ACME directory URL in use: the first of ca_urls */
    apr_array_header_t *ca_urls;    /* const char*, MDCertificateAuthority's list of CAs in
                                     * order (stock: a failover list), NULL when not given */
    const char *ca_proto;           /* "ACME" */
    const char *ca_account;         /* account id in the store, may be NULL */
    const char *ca_agreement;       /* "accepted" or NULL */
    apr_array_header_t *ca_challenges; /* const char*, configured challenge types, may be empty */
    apr_array_header_t *cert_files; /* const char*, MDCertificateFile (static), may be empty */
    apr_array_header_t *pkey_files; /* const char*, MDCertificateKeyFile, same order */

    /* MDExternalAccountBinding (RFC 8555 7.3.4): key id and base64url HMAC key, NULL for none.
     * "none" as kid (in the configuration only) overrides a global binding. md.json stores the
     * kid, never the HMAC (it stays in the configuration, where the user put it). */
    const char *eab_kid;
    const char *eab_hmac;
    const char *profile;   /* MDProfile: the CA's certificate profile, NULL for none */
    int profile_mandatory; /* MDProfileMandatory: flag or MD_UNSET (off) */
    int ari_renewals;      /* MDRenewViaARI: flag or MD_UNSET (on) */
    /* Not persisted: MDRenewWindow was not configured, so renew_window is the default and the
     * certificate's lifetime decides (half of it left for 10 days or less, see md_renew.h). */
    int is_default_renew_window;

    const char *dns01_cmd;          /* MDChallengeDns01 program, NULL if none */
    int dns01_version;              /* MDChallengeDns01Version: 1, 2 or MD_UNSET */
    apr_interval_time_t dns01_timeout; /* MDChallengeDns01Timeout, 0 when not set (the default
                                        * MD_DNS01_TIMEOUT_DEF applies) */

    md_state_t state;
    const char *state_descr;        /* why the state is what it is, may be NULL */

    /* Not persisted: where the config defined it (for messages). */
    const char *defn_name;
    unsigned defn_line_number;
    int is_used;                    /* a vhost uses it (set by the glue) */
    int can_acme_tls_1;             /* a vhost of it on the https port allows acme-tls/1 */
    apr_array_header_t *acme_tls_1_domains; /* const char*, its names whose https vhost allows
                                             * acme-tls/1 (md.json "proto", as stock writes it) */
};

/** A new md with defaults unset, in 'p'. */
md_t *md_create_empty(apr_pool_t *p);
/** Deep copy into 'p'. */
md_t *md_clone(apr_pool_t *p, const md_t *src);

/** Non-zero if 'domain' is one of the md's domains (case-insensitive). */
int md_contains(const md_t *md, const char *domain);
/** The first domain of md2 also in md1, or NULL. */
const char *md_common_name(const md_t *md1, const md_t *md2);

/** md.json contents. */
md_json_t *md_to_json(const md_t *md, apr_pool_t *p);
/**
 * md.json contents for rewriting the file 'old' (may be NULL): fields of 'old' this module does
 * not own (written by other versions of mod_md) are carried over. In 'p'.
 */
md_json_t *md_to_json_keep(const md_t *md, const md_json_t *old, apr_pool_t *p);
/** Add the fields of the md.json 'old' this module does not own to 'json' (see above). */
void md_json_keep_foreign(md_json_t *json, const md_json_t *old, apr_pool_t *p);
/** Parse md.json. APR_EINVAL with *perr (in p) when required fields are missing or wrong. */
apr_status_t md_from_json(md_t **pmd, const md_json_t *json, apr_pool_t *p, const char **perr);

/** The CA URLs of the md in failover order: ca_urls, or ca_url alone (may be empty). */
const apr_array_header_t *md_ca_urls(const md_t *md, apr_pool_t *p);

/** Non-zero if the md has an external account binding (a kid that is not "none"). */
int md_has_eab(const md_t *md);

/** "incomplete", "ok", ... for logs and status. */
const char *md_state_name(md_state_t state);
const char *md_renew_mode_name(int mode);



/* Store file names of a key spec's key and chain: "privkey.pem"/"pubcert.pem" for RSA (and the
 * default), "privkey.<curve>.pem"/"pubcert.<curve>.pem" for EC keys, as the stock module names
 * them. In 'p'. */
const char *md_pkey_filename(const md_pkey_spec_t *spec, apr_pool_t *p);
const char *md_chain_filename(const md_pkey_spec_t *spec, apr_pool_t *p);

/* Store file names (in challenges/<domain>/) of the tls-alpn-01 answer for a key spec (NULL: the
 * default RSA): "acme-tls-alpn-01-privkey.pem" and "acme-tls-alpn-01-pubcert.pem", with the curve
 * before ".pem" for EC keys, as the stock module names them. In 'p'. */
const char *md_tls_alpn01_key_filename(const md_pkey_spec_t *spec, apr_pool_t *p);
const char *md_tls_alpn01_cert_filename(const md_pkey_spec_t *spec, apr_pool_t *p);
/** Non-zero if one of the md's domains is a wildcard ("*.example.org"). */
int md_has_wildcard(const md_t *md);

#endif /* md_h */
