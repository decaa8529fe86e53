/* mod_md_config_values: directive values as the stock module reads them (see the header).
 *
 * The phrases in quotes below are the stock module's; `strings mod_md.so` of Debian's 2.6.10
 * lists them and the side-by-side test (test/integration/test_150_stock_side_by_side.py) holds
 * both modules to them.
 */
#include <errno.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "md.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_config_values.h"

/* The CA names of the stock module and their ACME directories. */
static const struct {
    const char *name;
    const char *url;
} known_cas[] = {
    { "LetsEncrypt", "https://acme-v02.api.letsencrypt.org/directory" },
    { "LetsEncrypt-Test", "https://acme-staging-v02.api.letsencrypt.org/directory" },
    { "Buypass", "https://api.buypass.com/acme/directory" },
    { "Buypass-Test", "https://api.test4.buypass.no/acme/directory" },
};

const char *mod_md_value_flag(int *pflag, const char *value, apr_pool_t *p)
{
    if (!apr_strnatcasecmp(value, "on")) {
        *pflag = 1;
        return NULL;
    }
    if (!apr_strnatcasecmp(value, "off")) {
        *pflag = 0;
        return NULL;
    }
    return apr_psprintf(p, "unknown '%s', supported parameter values are 'on' and 'off'", value);
}

static int is_http_scheme(const char *scheme)
{
    return scheme && (!apr_strnatcasecmp(scheme, "http") || !apr_strnatcasecmp(scheme, "https"));
}

const char *mod_md_value_uri_problem(const char *value, int http_only, apr_pool_t *p)
{
    apr_uri_t uri;

    memset(&uri, 0, sizeof(uri));
    if (APR_SUCCESS != apr_uri_parse(p, value, &uri)) {
        return "not an uri";
    }
    if (!uri.scheme || !*uri.scheme) {
        return "missing uri scheme";
    }
    if (http_only && !is_http_scheme(uri.scheme)) {
        return "uri scheme must be http or https";
    }
    if (!apr_strnatcasecmp(uri.scheme, "mailto") || !apr_strnatcasecmp(uri.scheme, "urn")) {
        return NULL; /* no host part; the stock module takes them as URIs */
    }
    if (!uri.hostname) {
        return "missing hostname";
    }
    if (uri.port_str && *uri.port_str) {
        /* the stock module checks the number of a proxy, and of others only what APR made of
         * it (a port of 70000 wraps around, one of 65536 to 0) */
        apr_int64_t port = apr_strtoi64(uri.port_str, NULL, 10);
        if (http_only ? (port <= 0 || port > 65535) : !uri.port) {
            return "invalid port";
        }
    }
    if (*uri.hostname && !md_util_is_ip(uri.hostname) && !md_util_is_dns_name(uri.hostname, 0, 1)) {
        return "invalid hostname";
    }
    return NULL;
}

int mod_md_value_is_http_url(const char *value, apr_pool_t *p)
{
    apr_uri_t uri;

    memset(&uri, 0, sizeof(uri));
    return APR_SUCCESS == apr_uri_parse(p, value, &uri) && is_http_scheme(uri.scheme)
           && uri.hostname && *uri.hostname;
}

const char *mod_md_value_ca(const char **purl, const char **pwarn, const char *value, apr_pool_t *p)
{
    const char *problem;
    size_t i;

    for (i = 0; i < sizeof(known_cas) / sizeof(known_cas[0]); ++i) {
        if (!apr_strnatcasecmp(value, known_cas[i].name)) {
            *purl = known_cas[i].url;
            return NULL;
        }
    }
    problem = mod_md_value_uri_problem(value, 0, p);
    if (problem) {
        return apr_psprintf(p,
                            "The CA name '%s' is not known and it is not a URL either (%s). Known "
                            "CA names are: LetsEncrypt LetsEncrypt-Test Buypass Buypass-Test. "
                            "Give the ACME directory URL of the CA (e.g. " MD_ACME_DEF_URL
                            ") or one of these names; several values are CAs tried in this "
                            "order",
                            value, problem);
    }
    if (pwarn && !mod_md_value_is_http_url(value, p)) {
        *pwarn = "is not an http(s) URL with a host name: the module cannot reach a CA there";
    }
    *purl = value;
    return NULL;
}

/* A port number in ]0,65535], or NULL. */
static int parse_port(const char *s, const char **pend)
{
    char *endp = NULL;
    apr_int64_t n;

    if (!apr_isdigit(*s)) {
        *pend = s;
        return 0;
    }
    errno = 0;
    n = apr_strtoi64(s, &endp, 10);
    *pend = endp;
    return (errno || n <= 0 || n > 65535) ? 0 : (int)n;
}

const char *mod_md_value_port_map(int *pexternal, int *plocal, const char *value, apr_pool_t *p)
{
    static const char hint[] = "; write http:PORT or https:PORT (also 80:PORT, 443:PORT) with "
                               "the local port the CA's requests arrive at, or '-' when they "
                               "cannot arrive (e.g. 'MDPortMap http:8080 https:-')";
    const char *colon = strchr(value, ':'), *end = NULL;
    apr_size_t elen = colon ? (apr_size_t)(colon - value) : 0;

    if (colon && elen == 4 && !strncasecmp(value, "http", 4)) {
        *pexternal = 80;
    }
    else if (colon && elen == 5 && !strncasecmp(value, "https", 5)) {
        *pexternal = 443;
    }
    else {
        *pexternal = parse_port(value, &end);
        if (!colon || end != colon) {
            return apr_pstrcat(p, "MDPortMap '", value, "': no ':' after first port number", hint,
                               NULL);
        }
        if (*pexternal != 80 && *pexternal != 443) {
            return apr_pstrcat(p, "MDPortMap '", value, "': mapped port number must be 80 or 443",
                               hint, NULL);
        }
    }
    if (!strcmp(colon + 1, "-")) {
        *plocal = -1;
        return NULL;
    }
    *plocal = parse_port(colon + 1, &end);
    if (!*plocal || *end) {
        return apr_pstrcat(p, "MDPortMap '", value,
                           "': invalid number for port map, must be in ]0,65535]", hint, NULL);
    }
    return NULL;
}

const char *mod_md_value_duration(apr_interval_time_t *pd, int *pnegative, const char *value,
                                  const char *def_unit, apr_pool_t *p)
{
    int negative = (value[0] == '-');

    if (APR_SUCCESS != md_duration_parse(pd, value + negative, def_unit)) {
        return apr_psprintf(p,
                            "unrecognized duration format: '%s'; write a number with a unit, "
                            "e.g. '30s', '5m', '12h', '1d' or '250ms'",
                            value);
    }
    *pnegative = negative;
    return NULL;
}

const char *mod_md_value_window(md_timeslice_t **pts, const char **pwarn, const char *name,
                                const char *value, apr_pool_t *p)
{
    static const char hint[] = "; write a duration (e.g. '21d', '12h') or a percentage of the "
                               "certificate's lifetime (e.g. '33%')";
    char *endp = NULL;
    apr_int64_t n;
    const char *err = NULL;

    *pwarn = NULL;
    if (APR_SUCCESS == md_timeslice_parse(pts, p, value, &err)) {
        return NULL;
    }
    errno = 0;
    n = apr_strtoi64(value, &endp, 10);
    if (!errno && endp != value && *endp == '%') {
        /* a percentage, as the stock module reads it: what follows the '%' is ignored */
        if (n < 0) {
            return apr_psprintf(p, "%s percent must be less than 100: '%s' is negative%s", name,
                                value, hint);
        }
        if (n > 100) {
            return apr_psprintf(p, "%s a length of 100%% or more is not allowed. ('%s'%s)", name,
                                value, hint);
        }
        *pwarn = apr_psprintf(p, "'%s' is read as %d%%, the text after the '%%' is ignored", value,
                              (int)n);
        md_timeslice_parse(pts, p, apr_psprintf(p, "%d%%", (int)n), NULL);
        return NULL;
    }
    if (value[0] == '-' && APR_SUCCESS == md_timeslice_parse(pts, p, value + 1, NULL)
        && !(*pts)->norm) {
        *pwarn = apr_psprintf(p, "the negative duration '%s' is read as 0", value);
        (*pts)->len = 0;
        return NULL;
    }
    return apr_psprintf(p, "%s has unrecognized format: '%s'%s", name, value, hint);
}
