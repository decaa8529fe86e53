/* mod_md_check: the checks that need the whole configuration (see mod_md_config_check() and
 * mod_md_config_check_ssl() in mod_md_config.h).
 *
 * They run in httpd's check_config hook: after all files are read and the vhosts are set up, for
 * 'apachectl -t' as well as before every (re)start, and before post_config writes anything to
 * the store. (httpd 2.4's test_config hook runs only for -t, and post_config not at all for -t.)
 * Checks of a single directive's value are made where it is read (mod_md_config.c) and show up
 * as Apache's "Syntax error on line N of FILE". What the stock module starts with is not refused
 * here: such problems become warnings (mod_md_config_warn). Only mod_ssl knows which vhosts have
 * 'SSLEngine on': that check runs after it, in post_config.
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

/* The stock module starts and fails at renewal. */
static void check_wildcards(md_mod_conf_t *mc, const md_t *md, apr_pool_t *p)
{
    int i;

    if (md->cert_files->nelts || can_dns01(mc, md)) {
        return;
    }
    for (i = 0; i < md->domains->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(md->domains, i, const char *);
        if (!strncmp(name, "*.", 2)) {
            mod_md_config_warn(
                mc, apr_psprintf(p,
                                 APLOGNO(12402) "MDomain %s (%s:%d): the wildcard name %s can "
                                                "only be certified over the dns-01 challenge, "
                                                "which this server cannot answer: renewals will "
                                                "fail; configure MDChallengeDns01, or give the "
                                                "names without wildcard, or use "
                                                "MDCertificateFile",
                                 md->name, md->defn_name, md->defn_line_number, name));
            return;
        }
    }
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

/* The stock module does not check this at all: no http vhost, no redirect. */
static void check_require_https(md_mod_conf_t *mc, const md_t *md, server_rec *base, apr_pool_t *p)
{
    server_rec *s;
    const md_srv_conf_t *sc;
    const char *defn;

    if (md->require_https <= MD_REQUIRE_OFF) {
        return;
    }
    for (s = base; mc->local_80 > 0 && s; s = s->next) {
        sc = mod_md_config_get(s);
        if (sc && sc->assigned_md == md && (s == base || serves_http(s, mc->local_80))) {
            return;
        }
    }
    defn = mc->require_https_at ? apr_table_get(mc->require_https_at, md->name) : NULL;
    if (!defn) {
        /* inherited from the server-wide setting: that one may well fit other MDs */
        mod_md_config_warn(
            mc, apr_psprintf(p,
                             APLOGNO(12403) "MDomain %s (%s:%d): MDRequireHttps (%s) has no "
                                            "effect: no <VirtualHost> for port %d has its names; "
                                            "add one so http requests can be redirected",
                             md->name, md->defn_name, md->defn_line_number,
                             mc->require_https_defn ? mc->require_https_defn : "?", mc->local_80));
        return;
    }
    mod_md_config_warn(
        mc, apr_psprintf(p,
                         APLOGNO(12404) "MDomain %s: MDRequireHttps at %s has no effect: no "
                                        "<VirtualHost> for the http port %d has the MD's names, "
                                        "http requests are not redirected; add a <VirtualHost "
                                        "*:%d> with ServerName %s, or remove MDRequireHttps",
                         md->name, defn, mc->local_80, mc->local_80, md->name));
}

apr_status_t mod_md_config_check(md_mod_conf_t *mc, server_rec *base, apr_pool_t *p)
{
    int i;

    for (i = 0; i < mc->mds->nelts; ++i) {
        const md_t *md = APR_ARRAY_IDX(mc->mds, i, const md_t *);
        check_wildcards(mc, md, p);
        check_require_https(mc, md, base, p);
    }
    return APR_SUCCESS;
}

/* The MDs of which a vhost has 'SSLEngine on' (md_t* -> md_t*): one pass over the vhosts, not
 * one per MD (10 000 MDs). */
static apr_hash_t *mds_with_ssl(server_rec *base, apr_pool_t *p)
{
    apr_hash_t *mds = apr_hash_make(p);
    const md_srv_conf_t *sc;
    server_rec *s;

    for (s = base; s; s = s->next) {
        sc = mod_md_config_get(s);
        if (sc && sc->assigned_md && sc->is_ssl) {
            apr_hash_set(mds, &sc->assigned_md, sizeof(sc->assigned_md), sc->assigned_md);
        }
    }
    return mds;
}

void mod_md_config_check_ssl(md_mod_conf_t *mc, server_rec *base, apr_pool_t *ptemp)
{
    apr_hash_t *with_ssl = mds_with_ssl(base, ptemp);
    const md_t *md;
    int i;

    for (i = 0; i < mc->mds->nelts; ++i) {
        md = APR_ARRAY_IDX(mc->mds, i, const md_t *);
        if (!md->is_used || md->cert_files->nelts || apr_hash_get(with_ssl, &md, sizeof(md))) {
            continue;
        }
        if (md->require_https > MD_REQUIRE_OFF) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base,
                         APLOGNO(10105) "MD %s does not match any VirtualHost with 'SSLEngine "
                                        "on', but is configured to require https. This cannot "
                                        "work. Its http requests are redirected to an https "
                                        "server that does not serve its certificate: add "
                                        "'SSLEngine on' to the <VirtualHost> of its names on "
                                        "port 443",
                         md->name);
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base,
                     APLOGNO(13400) "MD %s (%s:%d): none of its virtual hosts has 'SSLEngine "
                                    "on', its certificate is obtained but not served; add "
                                    "'SSLEngine on' to the <VirtualHost> of its names on port "
                                    "443 (or load mod_ssl)",
                     md->name, md->defn_name, md->defn_line_number);
    }
}
