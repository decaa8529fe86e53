/* mod_md_config: directives and settings (see mod_md_config.h).
 *
 * Every directive checks its value where it is read: a wrong value stops the start with Apache's
 * "Syntax error on line N of FILE:" followed by our message, which names the directive, what was
 * given and what is accepted.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "md.h"
#include "md_util.h"
#include "mod_md_config.h"

extern module AP_MODULE_DECLARE_DATA md_module;

#define MD_CONF_KEY      "mod_md_conf"
#define MD_DEF_STORE_DIR "md"

/* The <MDomain> section being read, NULL outside of one. Config reading is single threaded. */
static md_t *section_md;

static md_mod_conf_t *get_mod_conf(apr_pool_t *pconf)
{
    md_mod_conf_t *mc = NULL;

    apr_pool_userdata_get((void **)&mc, MD_CONF_KEY, pconf);
    if (!mc) {
        mc = apr_pcalloc(pconf, sizeof(*mc));
        mc->mds = apr_array_make(pconf, 10, sizeof(md_t *));
        mc->defaults = md_create_empty(pconf);
        mc->store_dir = MD_DEF_STORE_DIR;
        mc->local_80 = 80;
        mc->local_443 = 443;
        mc->staple_others = MD_UNSET;
        mc->stapling_keep = -1;
        apr_pool_userdata_set(mc, MD_CONF_KEY, apr_pool_cleanup_null, pconf);
    }
    return mc;
}

void *mod_md_config_create_srv(apr_pool_t *p, server_rec *s)
{
    md_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    (void)s;
    sc->mc = get_mod_conf(p);
    return sc;
}

void *mod_md_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    md_srv_conf_t *add = addv, *nsc = apr_pcalloc(p, sizeof(*nsc));

    (void)basev;
    nsc->mc = add->mc;
    return nsc;
}

md_srv_conf_t *mod_md_config_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &md_module);
}

static md_mod_conf_t *cmd_mod_conf(cmd_parms *cmd)
{
    return get_mod_conf(cmd->pool);
}

/* The md_t that takes a per-MD setting: the open section's MD, else the global defaults. */
static md_t *setting_target(cmd_parms *cmd)
{
    return section_md ? section_md : cmd_mod_conf(cmd)->defaults;
}

static const char *global_only(cmd_parms *cmd)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) {
        return err;
    }
    if (section_md) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " is a server-wide setting and cannot be used inside <MDomain>", NULL);
    }
    return NULL;
}

/* ---- MDomain and its sections ------------------------------------------------------------------
 */

static const char *add_domain_name(cmd_parms *cmd, md_t *md, const char *name)
{
    const char *lname = md_util_str_tolower(name, cmd->pool);

    if (!md_util_is_ip(lname) && !md_util_is_dns_name(lname, 1, 1)) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a valid domain name or IP address (labels of "
                            "letters, digits and '-', separated by single dots; a leading "
                            "'*.' for a wildcard)",
                            cmd->cmd->name, name);
    }
    md_array_str_add_missing(md->domains, lname, cmd->pool);
    return NULL;
}

static const char *create_md(md_t **pmd, cmd_parms *cmd, int argc, char *const argv[])
{
    md_mod_conf_t *mc = cmd_mod_conf(cmd);
    md_t *md;
    const char *err;
    int i;

    if (argc < 1) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " needs at least one domain name", NULL);
    }
    md = md_create_empty(cmd->pool);
    for (i = 0; i < argc; ++i) {
        err = add_domain_name(cmd, md, argv[i]);
        if (err) {
            return err;
        }
    }
    md->name = APR_ARRAY_IDX(md->domains, 0, const char *);
    md->defn_name = cmd->directive->filename;
    md->defn_line_number = cmd->directive->line_num;
    APR_ARRAY_PUSH(mc->mds, md_t *) = md;
    *pmd = md;
    return NULL;
}

static const char *md_config_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_t *md = NULL;
    const char *err = global_only(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    return create_md(&md, cmd, argc, argv);
}

static const char *md_config_section(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *endp = ap_strrchr_c(arg, '>');
    apr_array_header_t *names;
    const char *args;
    char *word;
    md_t *md = NULL;
    const char *err = global_only(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!endp) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, "> section is missing its closing '>'", NULL);
    }
    args = apr_pstrndup(cmd->pool, arg, (apr_size_t)(endp - arg));
    names = apr_array_make(cmd->pool, 5, sizeof(char *));
    word = ap_getword_conf(cmd->pool, &args);
    while (*word) {
        APR_ARRAY_PUSH(names, char *) = word;
        word = ap_getword_conf(cmd->pool, &args);
    }
    err = create_md(&md, cmd, names->nelts, (char *const *)names->elts);
    if (err) {
        return err;
    }
    section_md = md;
    err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
    section_md = NULL;
    return err;
}

/* ---- per-MD settings ------------------------------------------------------------------------- */

static int is_http_url(const char *value, apr_pool_t *p)
{
    apr_uri_t uri;

    return APR_SUCCESS == apr_uri_parse(p, value, &uri) && uri.scheme && uri.hostname
           && (!apr_strnatcasecmp(uri.scheme, "https") || !apr_strnatcasecmp(uri.scheme, "http"));
}

static const char *md_config_set_ca(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    if (!is_http_url(value, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "MDCertificateAuthority: '%s' is not an http(s) URL; give the ACME "
                            "directory URL of the CA, e.g. " MD_ACME_DEF_URL,
                            value);
    }
    setting_target(cmd)->ca_url = value;
    return NULL;
}

static const char *md_config_set_agreement(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    /* Older configurations give the URL of the terms of service: that, too, states agreement. */
    if (apr_strnatcasecmp(value, MD_TOS_ACCEPTED) && !is_http_url(value, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "MDCertificateAgreement: '%s' is not accepted; write "
                            "'MDCertificateAgreement accepted' to accept the CA's terms of "
                            "service",
                            value);
    }
    setting_target(cmd)->ca_agreement = MD_TOS_ACCEPTED;
    return NULL;
}

static const char *md_config_set_contact(cmd_parms *cmd, void *dc, const char *value)
{
    md_t *md = setting_target(cmd);
    const char *at = strchr(value, '@');

    (void)dc;
    if (!strncmp(value, "mailto:", 7)) {
        value += 7;
        at = strchr(value, '@');
    }
    if (!at || at == value || !at[1] || strpbrk(value, " \t,;<>")) {
        return apr_psprintf(cmd->pool,
                            "MDContactEmail: '%s' is not an email address (like "
                            "admin@example.org)",
                            value);
    }
    md->contacts = apr_array_make(cmd->pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->contacts, const char *) = apr_pstrcat(cmd->pool, "mailto:", value, NULL);
    return NULL;
}

static const char *md_config_set_challenges(cmd_parms *cmd, void *dc, const char *value)
{
    md_t *md = setting_target(cmd);

    (void)dc;
    if (!apr_strnatcasecmp(value, "tls-alpn-01") || !apr_strnatcasecmp(value, "dns-01")) {
        return apr_psprintf(cmd->pool,
                            "MDCAChallenges: '%s' is not supported by this build yet; use "
                            "http-01",
                            value);
    }
    if (apr_strnatcasecmp(value, "http-01")) {
        return apr_psprintf(cmd->pool,
                            "MDCAChallenges: '%s' is not a challenge type; the known type is "
                            "http-01",
                            value);
    }
    if (!md->ca_challenges) {
        md->ca_challenges = apr_array_make(cmd->pool, 3, sizeof(const char *));
    }
    md_array_str_add_missing(md->ca_challenges, "http-01", cmd->pool);
    return NULL;
}

static const char *md_config_set_pkeys(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_t *md = setting_target(cmd);
    apr_array_header_t *specs;
    md_pkey_spec_t *spec = NULL;
    apr_size_t used = 0, i = 0;
    const char *err = NULL;
    int j;

    (void)dc;
    if (argc < 1) {
        return "MDPrivateKeys: needs at least one key type, e.g. 'RSA 2048' or 'secp256r1'";
    }
    specs = apr_array_make(cmd->pool, argc, sizeof(md_pkey_spec_t *));
    while (i < (apr_size_t)argc) {
        if (APR_SUCCESS != md_pkey_spec_parse(&spec, &used, (const char *const *)argv + i,
                                              (apr_size_t)argc - i, cmd->pool, &err)) {
            return apr_pstrcat(cmd->pool, "MDPrivateKeys: ", err, NULL);
        }
        for (j = 0; j < specs->nelts; ++j) {
            if (!strcmp(md_pkey_spec_name(APR_ARRAY_IDX(specs, j, md_pkey_spec_t *)),
                        md_pkey_spec_name(spec))) {
                return apr_psprintf(cmd->pool,
                                    "MDPrivateKeys: '%s' is given twice; list each key type "
                                    "once (one certificate is made per key type)",
                                    md_pkey_spec_format(spec, cmd->pool));
            }
        }
        APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
        i += used;
    }
    md->pks = specs;
    return NULL;
}

/* ---- server-wide settings ----------------------------------------------------------------------
 */

static const char *md_config_set_store_dir(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!*value) {
        return "MDStoreDir: needs a directory path (relative to ServerRoot or absolute)";
    }
    cmd_mod_conf(cmd)->store_dir = value;
    return NULL;
}

static const char *md_config_set_ca_file(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd), *path;

    (void)dc;
    if (err) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, value);
    if (!path || APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "MDCACertificateFile: '%s' is not a readable file; give a PEM file "
                            "with the root certificates to trust when talking to the CA",
                            value);
    }
    cmd_mod_conf(cmd)->ca_file = path;
    return NULL;
}

static const char *set_port_map(cmd_parms *cmd, const char *value)
{
    md_mod_conf_t *mc = cmd_mod_conf(cmd);
    const char *colon = strchr(value, ':');
    const char *ext, *local;
    char *endp;
    apr_int64_t port = MD_PORT_UNMAPPED;

    if (!colon) {
        goto bad;
    }
    ext = apr_pstrndup(cmd->pool, value, (apr_size_t)(colon - value));
    local = colon + 1;
    if (strcmp(local, "-")) {
        port = apr_strtoi64(local, &endp, 10);
        if (*endp || endp == local || port < 1 || port > 65535) {
            goto bad;
        }
    }
    if (!strcmp(ext, "80") || !apr_strnatcasecmp(ext, "http")) {
        mc->local_80 = (int)port;
        return NULL;
    }
    if (!strcmp(ext, "443") || !apr_strnatcasecmp(ext, "https")) {
        mc->local_443 = (int)port;
        return NULL;
    }
bad:
    return apr_psprintf(cmd->pool,
                        "MDPortMap: '%s' is not a port mapping; write http:PORT or https:PORT "
                        "(also 80:PORT, 443:PORT) with the local port the CA's requests arrive "
                        "at, or '-' when they cannot arrive (e.g. 'MDPortMap http:8080 https:-')",
                        value);
}

static const char *md_config_set_port_map(cmd_parms *cmd, void *dc, const char *v1, const char *v2)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (!err) {
        err = set_port_map(cmd, v1);
    }
    if (!err && v2) {
        err = set_port_map(cmd, v2);
    }
    return err;
}

/* ---- stapling ----------------------------------------------------------------------------- */

static const char *md_config_set_stapling(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    setting_target(cmd)->stapling = flag ? 1 : 0;
    return NULL;
}

static const char *md_config_set_must_staple(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    setting_target(cmd)->must_staple = flag ? 1 : 0;
    return NULL;
}

static const char *md_config_set_staple_others(cmd_parms *cmd, void *dc, int flag)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (!err) {
        cmd_mod_conf(cmd)->staple_others = flag ? 1 : 0;
    }
    return err;
}

static const char *md_config_set_stapling_keep(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd);
    apr_interval_time_t keep = 0;

    (void)dc;
    if (err) {
        return err;
    }
    if (APR_SUCCESS != md_duration_parse(&keep, value, "d")) {
        return apr_psprintf(cmd->pool,
                            "MDStaplingKeepResponse: '%s' is not a duration; write e.g. 7d, "
                            "12h or 30m",
                            value);
    }
    cmd_mod_conf(cmd)->stapling_keep = keep;
    return NULL;
}

static const char *md_config_set_stapling_window(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd);
    md_timeslice_t *ts = NULL;
    const char *perr = NULL;

    (void)dc;
    if (err) {
        return err;
    }
    if (APR_SUCCESS != md_timeslice_parse(&ts, cmd->pool, value, &perr)) {
        return apr_psprintf(cmd->pool, "MDStaplingRenewWindow: '%s': %s", value,
                            perr ? perr : "write a percentage like 33% or a duration like 2d");
    }
    cmd_mod_conf(cmd)->stapling_window = ts;
    return NULL;
}

const command_rec mod_md_cmds[] = {
    AP_INIT_TAKE_ARGV("MDomain", md_config_mdomain, NULL, RSRC_CONF,
                      "A managed domain: a list of DNS names that go into one certificate"),
    AP_INIT_RAW_ARGS("<MDomain", md_config_section, NULL, RSRC_CONF,
                     "A managed domain with settings of its own"),
    AP_INIT_RAW_ARGS("<MDomainSet", md_config_section, NULL, RSRC_CONF,
                     "A managed domain with settings of its own (older name of <MDomain>)"),
    AP_INIT_TAKE1("MDCertificateAuthority", md_config_set_ca, NULL, RSRC_CONF,
                  "The URL of the ACME CA's directory"),
    AP_INIT_TAKE1("MDCertificateAgreement", md_config_set_agreement, NULL, RSRC_CONF,
                  "'accepted' to accept the CA's terms of service"),
    AP_INIT_TAKE1("MDContactEmail", md_config_set_contact, NULL, RSRC_CONF,
                  "The email address the CA registers for the account"),
    AP_INIT_ITERATE("MDCAChallenges", md_config_set_challenges, NULL, RSRC_CONF,
                    "The ACME challenge types to use, in order of preference"),
    AP_INIT_TAKE_ARGV("MDPrivateKeys", md_config_set_pkeys, NULL, RSRC_CONF,
                      "Key types of the certificates: 'RSA [bits]', 'secp256r1', 'secp384r1'"),
    AP_INIT_TAKE1("MDStoreDir", md_config_set_store_dir, NULL, RSRC_CONF,
                  "The directory of the store (relative to ServerRoot)"),
    AP_INIT_TAKE1("MDCACertificateFile", md_config_set_ca_file, NULL, RSRC_CONF,
                  "PEM file with the roots to trust when talking to the CA"),
    AP_INIT_TAKE12("MDPortMap", md_config_set_port_map, NULL, RSRC_CONF,
                   "Where the CA's http and https requests arrive locally"),
    AP_INIT_FLAG("MDStapling", md_config_set_stapling, NULL, RSRC_CONF,
                 "Staple OCSP responses for all certificates, or those of one MDomain"),
    AP_INIT_FLAG("MDStapleOthers", md_config_set_staple_others, NULL, RSRC_CONF,
                 "With MDStapling on: also staple certificates this module does not manage"),
    AP_INIT_TAKE1("MDStaplingKeepResponse", md_config_set_stapling_keep, NULL, RSRC_CONF,
                  "How long expired OCSP responses are kept in the store"),
    AP_INIT_TAKE1("MDStaplingRenewWindow", md_config_set_stapling_window, NULL, RSRC_CONF,
                  "When to renew OCSP responses: '33%' or a duration before they expire"),
    AP_INIT_FLAG("MDMustStaple", md_config_set_must_staple, NULL, RSRC_CONF,
                 "Request certificates with the OCSP Must-Staple extension"),
    AP_INIT_TAKE1(NULL, NULL, NULL, RSRC_CONF, NULL),
};

int mod_md_config_stapling(const md_mod_conf_t *mc, const md_t *md)
{
    if (md && md->stapling != MD_UNSET) {
        return md->stapling;
    }
    return mc->defaults->stapling == 1;
}

/* ---- completing an MD at post_config -------------------------------------------------------- */

void mod_md_config_complete_md(md_t *md, md_mod_conf_t *mc, server_rec *base, apr_pool_t *p)
{
    const md_t *g = mc->defaults;
    const char *err = NULL;
    md_timeslice_t *ts = NULL;

    if (!md->ca_url) {
        md->ca_url = g->ca_url ? g->ca_url : MD_ACME_DEF_URL;
    }
    if (!md->ca_proto) {
        md->ca_proto = MD_PROTO_ACME;
    }
    if (!md->ca_agreement) {
        md->ca_agreement = g->ca_agreement;
    }
    if (!md->ca_challenges || !md->ca_challenges->nelts) {
        md->ca_challenges = g->ca_challenges;
    }
    if (!md->contacts || !md->contacts->nelts) {
        md->contacts = g->contacts;
    }
    if ((!md->contacts || !md->contacts->nelts) && base->server_admin
        && strchr(base->server_admin, '@')) {
        md->contacts = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->contacts, const char *) =
            apr_pstrcat(p, "mailto:", base->server_admin, NULL);
    }
    if (!md->contacts) {
        md->contacts = apr_array_make(p, 1, sizeof(const char *));
    }
    if (!md->pks || !md->pks->nelts) {
        md->pks = g->pks;
    }
    if (!md->pks || !md->pks->nelts) {
        md_pkey_spec_t *spec = apr_pcalloc(p, sizeof(*spec));
        spec->type = MD_PKEY_TYPE_DEFAULT;
        spec->bits = MD_PKEY_RSA_BITS_DEF;
        md->pks = apr_array_make(p, 1, sizeof(md_pkey_spec_t *));
        APR_ARRAY_PUSH(md->pks, md_pkey_spec_t *) = spec;
    }
    if (!md->renew_window) {
        md_timeslice_parse(&ts, p, "33%", &err);
        md->renew_window = ts;
    }
    if (!md->warn_window) {
        md_timeslice_parse(&ts, p, "10%", &err);
        md->warn_window = ts;
    }
    if (md->renew_mode == MD_RENEW_DEFAULT) {
        md->renew_mode = MD_RENEW_AUTO;
    }
    if (md->transitive == MD_UNSET) {
        md->transitive = 1;
    }
    if (md->require_https == MD_REQUIRE_UNSET) {
        md->require_https = MD_REQUIRE_OFF;
    }
    if (md->must_staple == MD_UNSET) {
        md->must_staple = 0;
    }
}
