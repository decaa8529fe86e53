/* mod_md_config_values: how directive values are read, in the forms the stock mod_md 2.6 accepts.
 *
 * A drop-in replacement must accept what the stock module accepts and refuse what it refuses
 * with the words admins and their tools know. Each parser here returns NULL for a good value,
 * or the problem: the stock module's phrase for the same mistake first, then this module's
 * explanation of the fix. The strings live in 'p'. Values the stock module accepts although they
 * cannot work are accepted here too; the parser then says so through '*pwarn' (NULL when all is
 * well) and the caller logs it as a warning.
 */
#ifndef mod_md_config_values_h
#define mod_md_config_values_h

#include <apr_pools.h>
#include <apr_time.h>

#include "md_time.h"

/* The stock phrase for a directive that belongs outside of <MDomain>: "<name> is not allowed
 * inside an '<MDomainSet' context". */
#define MD_VALUE_NOT_IN_SECTION "is not allowed inside an '<MDomainSet' context"

/** 'on' or 'off' (any case) into *pflag. */
const char *mod_md_value_flag(int *pflag, const char *value, apr_pool_t *p);

/**
 * Why 'value' is not an absolute URI, in the stock module's words ("not an uri", "missing uri
 * scheme", "missing hostname", "invalid hostname"); with 'http_only' also "uri scheme must be http
 * or https". NULL when it is one. Only the reason, no explanation: callers add theirs.
 */
const char *mod_md_value_uri_problem(const char *value, int http_only, apr_pool_t *p);

/** Non-zero if 'value' is an http or https URL with a host name. */
int mod_md_value_is_http_url(const char *value, apr_pool_t *p);

/**
 * MDCertificateAuthority: a CA name the stock module knows (LetsEncrypt, LetsEncrypt-Test,
 * Buypass, Buypass-Test, any case) becomes its ACME directory URL; anything else must be an
 * absolute URI. *purl gets the URL; *pwarn (may be NULL) is set when the URI is not http(s).
 */
const char *mod_md_value_ca(const char **purl, const char **pwarn, const char *value,
                            apr_pool_t *p);

/**
 * One MDPortMap mapping "80:8080", "http:8080", "443:-": *pexternal gets 80 or 443, *plocal the
 * local port or -1 for '-' (not reachable).
 */
const char *mod_md_value_port_map(int *pexternal, int *plocal, const char *value, apr_pool_t *p);

/**
 * A duration ("30s", "5m", "12h", "1d", "250ms"; a number alone in 'def_unit'). A negative one,
 * which the stock module accepts, gives *pnegative = 1 and *pd = its amount (positive).
 */
const char *mod_md_value_duration(apr_interval_time_t *pd, int *pnegative, const char *value,
                                  const char *def_unit, apr_pool_t *p);

/**
 * A window (MDRenewWindow, MDWarnWindow, MDStaplingRenewWindow): a duration (days by default)
 * or a percentage of the lifetime. 'name' is the directive, for the message. Up to 100% is
 * accepted (the stock module stops at 99%). A negative duration is read as 0 and trailing text
 * after a percentage is ignored, with *pwarn saying so.
 */
const char *mod_md_value_window(md_timeslice_t **pts, const char **pwarn, const char *name,
                                const char *value, apr_pool_t *p);

#endif /* mod_md_config_values_h */
