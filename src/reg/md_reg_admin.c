/* md_reg_admin: editing stored MDs without a configuration (see md_reg_admin.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "md_log.h"
#include "md_util.h"
#include "md_reg_admin.h"

apr_status_t md_reg_admin_domains(apr_array_header_t **pdomains, const char *const *args, int nargs,
                                  const char **perr, apr_pool_t *p)
{
    apr_array_header_t *domains = apr_array_make(p, nargs > 0 ? nargs : 1, sizeof(const char *));
    const char *d;
    int i;

    *pdomains = NULL;
    for (i = 0; i < nargs; ++i) {
        d = md_util_str_tolower(args[i], p);
        if (!md_util_is_dns_name(d, 1, 0) && !md_util_is_ip(d)) {
            *perr = apr_psprintf(p,
                                 "'%s' is no DNS name (at least two labels, a wildcard only "
                                 "as the whole first label, international names as xn--...) "
                                 "and no IP address",
                                 args[i]);
            return APR_EINVAL;
        }
        md_array_str_add_missing(domains, d, p);
    }
    if (!domains->nelts) {
        *perr = "at least one domain name is needed";
        return APR_EINVAL;
    }
    *pdomains = domains;
    return APR_SUCCESS;
}

/* The length of the URI scheme at the start of 's' (RFC 3986 3.1) when a ':' follows, else 0. */
static apr_size_t scheme_len(const char *s)
{
    apr_size_t i = 1;

    if (!apr_isalpha(s[0])) {
        return 0;
    }
    while (apr_isalnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.') {
        ++i;
    }
    return (s[i] == ':') ? i : 0;
}

static int has_blank(const char *s)
{
    for (; *s; ++s) {
        if (apr_isspace(*s) || apr_iscntrl(*s)) {
            return 1;
        }
    }
    return 0;
}

static int local_part_ok(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (!len || s[0] == '.' || s[len - 1] == '.') {
        return 0;
    }
    for (i = 0; i < len; ++i) {
        if (s[i] == '@' || (s[i] == '.' && s[i + 1] == '.')) {
            return 0;
        }
    }
    return 1;
}

apr_status_t md_reg_admin_contact(const char **pcontact, const char *arg, const char **perr,
                                  apr_pool_t *p)
{
    const char *at;

    *pcontact = NULL;
    if (!arg || !*arg || has_blank(arg)) {
        *perr = apr_psprintf(p, "'%s' is no contact address: empty or with blanks", arg ? arg : "");
        return APR_EINVAL;
    }
    if (scheme_len(arg)) {
        *pcontact = arg; /* a URI: the CA decides whether it supports the scheme */
        return APR_SUCCESS;
    }
    at = strchr(arg, '@');
    if (!at || strchr(at + 1, '@') || !local_part_ok(arg, (apr_size_t)(at - arg))
        || !md_util_is_dns_name(at + 1, 0, 0)) {
        *perr = apr_psprintf(p, "'%s' is no email address (user@host.domain)", arg);
        return APR_EINVAL;
    }
    *pcontact = apr_pstrcat(p, "mailto:", arg, NULL);
    return APR_SUCCESS;
}

static int port_ok(const char *s)
{
    apr_int64_t n;
    char *end = NULL;

    if (!s || !apr_isdigit(*s)) {
        return 0;
    }
    n = apr_strtoi64(s, &end, 10);
    return end && !*end && n > 0 && n < 65536;
}

/* The port of the authority "[user@]host[:port]" at 'auth' (up to the path) as written, or NULL
 * when none is given. */
static const char *authority_port(const char *auth, apr_pool_t *p)
{
    const char *end, *colon;
    char *hostport;

    end = auth + strcspn(auth, "/?#");
    hostport = apr_pstrndup(p, auth, (apr_size_t)(end - auth));
    if (strchr(hostport, '@')) {
        hostport = strrchr(hostport, '@') + 1;
    }
    colon = strrchr(hostport, ':');
    if (!colon || (hostport[0] == '[' && strchr(colon, ']'))) {
        return NULL;
    }
    return colon + 1;
}

apr_status_t md_reg_admin_url(const char *url, const char **perr, apr_pool_t *p)
{
    apr_size_t slen = url ? scheme_len(url) : 0;
    apr_uri_t uri;
    const char *port;

    if (!slen || has_blank(url) || !url[slen + 1]) {
        *perr = apr_psprintf(p, "'%s' is no URL (scheme:..., without blanks)", url ? url : "");
        return APR_EINVAL;
    }
    if (strncmp(url + slen + 1, "//", 2) != 0) {
        return APR_SUCCESS; /* no authority, e.g. a data: URL as pebble's terms of service */
    }
    port = authority_port(url + slen + 3, p);
    if (APR_SUCCESS != apr_uri_parse(p, url, &uri) || !uri.hostname || !*uri.hostname
        || (port && !port_ok(port))) {
        *perr = apr_psprintf(p, "'%s' is no URL with a usable host and port", url);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t md_reg_admin_load(md_t **pmd, md_json_t **pjson, md_store_t *store, const char *name,
                               apr_pool_t *p)
{
    md_json_t *json = NULL;
    const char *err = NULL;
    apr_status_t rv;

    *pmd = NULL;
    rv = md_store_load_json(store, MD_SG_DOMAINS, name, MD_FN_MD, &json, p);
    if (APR_SUCCESS == rv) {
        rv = md_from_json(pmd, json, p, &err);
        if (APR_SUCCESS != rv) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                          APLOGNO(13300) "%s: domains/%s/md.json is not usable: %s", name, name,
                          err ? err : "invalid");
        }
    }
    if (pjson) {
        *pjson = (APR_SUCCESS == rv) ? json : NULL;
    }
    return rv;
}

static int collect_name(void *baton, const char *name, apr_pool_t *ptemp)
{
    apr_array_header_t *names = baton;

    (void)ptemp;
    APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(names->pool, name);
    return 1;
}

static int cmp_md_names(const void *a, const void *b)
{
    return strcmp((*(const md_t *const *)a)->name, (*(const md_t *const *)b)->name);
}

apr_array_header_t *md_reg_admin_load_all(md_store_t *store, apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 10, sizeof(const char *));
    apr_array_header_t *mds = apr_array_make(p, 10, sizeof(md_t *));
    md_json_t *json = NULL;
    md_t *md = NULL;
    int i;

    md_store_iter_names(collect_name, names, store, MD_SG_DOMAINS, p);
    for (i = 0; i < names->nelts; ++i) {
        /* quietly: a broken md.json is for 'a2md check' to report */
        if (APR_SUCCESS
                == md_store_load_json(store, MD_SG_DOMAINS, APR_ARRAY_IDX(names, i, const char *),
                                      MD_FN_MD, &json, p)
            && APR_SUCCESS == md_from_json(&md, json, p, NULL)) {
            APR_ARRAY_PUSH(mds, md_t *) = md;
        }
    }
    qsort(mds->elts, (size_t)mds->nelts, sizeof(md_t *), cmp_md_names);
    return mds;
}

apr_status_t md_reg_admin_overlap(const md_t **pother, const char **pdomain, md_store_t *store,
                                  const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *mds = md_reg_admin_load_all(store, p);
    const md_t *other;
    const char *common;
    int i;

    for (i = 0; i < mds->nelts; ++i) {
        other = APR_ARRAY_IDX(mds, i, const md_t *);
        common = md_common_name(other, md);
        if (strcmp(other->name, md->name) != 0 && common) {
            *pother = other;
            *pdomain = common;
            return APR_SUCCESS;
        }
    }
    return APR_ENOENT;
}

apr_status_t md_reg_admin_find(md_t **pmd, md_store_t *store, const char *name, apr_pool_t *p)
{
    apr_array_header_t *mds;
    md_t *md;
    int i;

    *pmd = NULL;
    if (APR_SUCCESS == md_reg_admin_load(pmd, NULL, store, name, p)) {
        return APR_SUCCESS;
    }
    mds = md_reg_admin_load_all(store, p);
    for (i = 0; i < mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mds, i, md_t *);
        if (md_contains(md, md_util_str_tolower(name, p))) {
            *pmd = md;
            return APR_SUCCESS;
        }
    }
    return APR_ENOENT;
}

apr_status_t md_reg_admin_save(md_store_t *store, const md_t *md, const md_json_t *old,
                               apr_pool_t *p)
{
    return md_store_save_json(store, MD_SG_DOMAINS, md->name, MD_FN_MD,
                              old ? md_to_json_keep(md, old, p) : md_to_json(md, p), p);
}
