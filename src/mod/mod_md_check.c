/* mod_md_check: the checks that need the whole configuration (see mod_md_config_check() in
 * mod_md_config.h).
 *
 * They run in httpd's check_config hook: after all files are read and the vhosts are set up, for
 * 'apachectl -t' as well as before every (re)start, and before post_config writes anything to
 * the store. (httpd 2.4's test_config hook runs only for -t, and post_config not at all for -t.)
 * Checks of a single directive's value are made where it is read (mod_md_config.c) and show up
 * as Apache's "Syntax error on line N of FILE".
 */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "md.h"
#include "md_util.h"
#include "mod_md_config.h"

APLOG_USE_MODULE(md);

/* dns-01 can be answered when the MD (or the server, completed into the MD) has a program. */
static int can_dns01(const md_mod_conf_t *mc, const md_t *md)
{
    return (md->dns01_cmd != NULL) || (mc->defaults->dns01_cmd != NULL);
}

static apr_status_t check_wildcards(md_mod_conf_t *mc, const md_t *md, server_rec *base)
{
    int i;

    if (md->cert_files->nelts || can_dns01(mc, md)) {
        return APR_SUCCESS;
    }
    for (i = 0; i < md->domains->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(md->domains, i, const char *);
        if (!strncmp(name, "*.", 2)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, base,
                         APLOGNO(12402) "MDomain %s (%s:%d): the wildcard name %s can only be "
                                        "certified over the dns-01 challenge, which this server "
                                        "cannot answer; configure MDChallengeDns01, or give the "
                                        "names without wildcard, or use MDCertificateFile",
                         md->name, md->defn_name, md->defn_line_number, name);
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

/* Non-zero when 's' answers plain http on the (local) http port. */
static int serves_http(const server_rec *s, int port)
{
    const server_addr_rec *sa;

    for (sa = s->addrs; sa; sa = sa->next) {
        if (sa->host_port == port || sa->host_port == 0) {
            return 1;
        }
    }
    return 0;
}

static apr_status_t check_require_https(md_mod_conf_t *mc, const md_t *md, server_rec *base)
{
    server_rec *s;
    const md_srv_conf_t *sc;
    const char *defn;

    if (md->require_https <= MD_REQUIRE_OFF) {
        return APR_SUCCESS;
    }
    for (s = base; mc->local_80 > 0 && s; s = s->next) {
        sc = mod_md_config_get(s);
        if (sc && sc->assigned_md == md && (s == base || serves_http(s, mc->local_80))) {
            return APR_SUCCESS;
        }
    }
    defn = mc->require_https_at ? apr_table_get(mc->require_https_at, md->name) : NULL;
    if (!defn) {
        /* inherited from the server-wide setting: that one may well fit other MDs */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base,
                     APLOGNO(12403) "MDomain %s (%s:%d): MDRequireHttps (%s) has no effect: no "
                                    "<VirtualHost> for port %d has its names; add one so http "
                                    "requests can be redirected",
                     md->name, md->defn_name, md->defn_line_number,
                     mc->require_https_defn ? mc->require_https_defn : "?", mc->local_80);
        return APR_SUCCESS;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, base,
                 APLOGNO(12404) "MDomain %s: MDRequireHttps at %s cannot work: no <VirtualHost> "
                                "for the http port %d has the MD's names; add a <VirtualHost "
                                "*:%d> with ServerName %s, or remove MDRequireHttps",
                 md->name, defn, mc->local_80, mc->local_80, md->name);
    return APR_EINVAL;
}

apr_status_t mod_md_config_check(md_mod_conf_t *mc, server_rec *base, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    int i;

    (void)p;
    for (i = 0; i < mc->mds->nelts; ++i) {
        const md_t *md = APR_ARRAY_IDX(mc->mds, i, const md_t *);
        if (APR_SUCCESS != check_wildcards(mc, md, base)
            || APR_SUCCESS != check_require_https(mc, md, base)) {
            rv = APR_EINVAL;
        }
    }
    return rv;
}
