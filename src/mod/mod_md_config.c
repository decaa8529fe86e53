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

#define MD_CONF_KEY             "mod_md_conf"
#define MD_DEF_STORE_DIR        "md"
#define MD_STATIC_MAX_LEN       (1024 * 1024)
#define MD_DEF_RETRY_DELAY_S    30
#define MD_DEF_CHECK_INTERVAL_S (12 * MD_SECS_PER_HOUR)
#define MD_DEF_CERT_CHECK_NAME  "crt.sh"
#define MD_DEF_CERT_CHECK_URL   "https://crt.sh?q="

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
        mc->match_all_names = 1;
        mc->retry_delay = apr_time_from_sec(MD_DEF_RETRY_DELAY_S);
        mc->check_interval = apr_time_from_sec(MD_DEF_CHECK_INTERVAL_S);
        mc->cert_check_name = MD_DEF_CERT_CHECK_NAME;
        mc->cert_check_url = MD_DEF_CERT_CHECK_URL;
        mc->server_status = 1;
        mc->cert_status = 1;
        mc->staple_others = MD_UNSET;
        mc->stapling_keep = -1;
        mc->retry_failover = MD_DEF_RETRY_FAILOVER;
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

md_t *mod_md_config_target(cmd_parms *cmd)
{
    return setting_target(cmd);
}

md_mod_conf_t *mod_md_config_mc(cmd_parms *cmd)
{
    return cmd_mod_conf(cmd);
}

static const char *global_only(cmd_parms *cmd);

const char *mod_md_config_global_only(cmd_parms *cmd)
{
    return global_only(cmd);
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
    /* an IPv6 address the way ACME identifiers and certificates spell it (RFC 5952) */
    md_array_str_add_missing(md->domains, md_util_ip_canonical(lname, cmd->pool), cmd->pool);
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

static const char *load_static_pair(cmd_parms *cmd, const md_t *md, int i)
{
    const char *cfile = APR_ARRAY_IDX(md->cert_files, i, const char *);
    const char *kfile = APR_ARRAY_IDX(md->pkey_files, i, const char *);
    apr_array_header_t *chain = NULL;
    md_pkey_t *pkey = NULL;
    char *pem = NULL;
    apr_size_t len = 0;

    if (APR_SUCCESS != md_util_file_read(&pem, &len, cfile, MD_STATIC_MAX_LEN, cmd->pool)
        || APR_SUCCESS != md_chain_from_pem(&chain, cmd->pool, pem, len)) {
        return apr_psprintf(cmd->pool,
                            "<MDomain %s>: MDCertificateFile %s holds no PEM certificate; give "
                            "the certificate (chain) file",
                            md->name, cfile);
    }
    if (APR_SUCCESS != md_util_file_read(&pem, &len, kfile, MD_STATIC_MAX_LEN, cmd->pool)
        || APR_SUCCESS != md_pkey_from_pem(&pkey, cmd->pool, pem, len, NULL, 0)) {
        return apr_psprintf(cmd->pool,
                            "<MDomain %s>: MDCertificateKeyFile %s holds no unencrypted PEM "
                            "private key; give the key file of %s",
                            md->name, kfile, cfile);
    }
    if (!md_cert_matches_key(APR_ARRAY_IDX(chain, 0, const md_cert_t *), pkey)) {
        return apr_psprintf(cmd->pool,
                            "<MDomain %s>: MDCertificateKeyFile %s is not the key of "
                            "MDCertificateFile %s; give each certificate file followed by its "
                            "own key file",
                            md->name, kfile, cfile);
    }
    return NULL;
}

/* MDCertificateFile and MDCertificateKeyFile come in pairs, each key matching its certificate. */
static const char *check_static_files(cmd_parms *cmd, const md_t *md)
{
    const char *err = NULL;
    int i;

    if (md->cert_files->nelts != md->pkey_files->nelts) {
        return apr_psprintf(cmd->pool,
                            "<MDomain %s>: %d MDCertificateFile but %d MDCertificateKeyFile; "
                            "give one MDCertificateKeyFile for each MDCertificateFile",
                            md->name, md->cert_files->nelts, md->pkey_files->nelts);
    }
    for (i = 0; i < md->cert_files->nelts && !err; ++i) {
        err = load_static_pair(cmd, md, i);
    }
    return err;
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
    if (!err) {
        err = check_static_files(cmd, md);
    }
    return err;
}

/* ---- per-MD settings ------------------------------------------------------------------------- */

static int is_http_url(const char *value, apr_pool_t *p)
{
    apr_uri_t uri;

    return APR_SUCCESS == apr_uri_parse(p, value, &uri) && uri.scheme && uri.hostname
           && (!apr_strnatcasecmp(uri.scheme, "https") || !apr_strnatcasecmp(uri.scheme, "http"));
}

/* Several CAs are tried in the order given (CA failover, docs/cas.md). */
static const char *md_config_set_ca(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_t *md = setting_target(cmd);
    apr_array_header_t *urls;
    int i;

    (void)dc;
    if (argc < 1) {
        return "MDCertificateAuthority: give the ACME directory URL of the CA, "
               "e.g. " MD_ACME_DEF_URL;
    }
    urls = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        if (!is_http_url(argv[i], cmd->pool)) {
            return apr_psprintf(cmd->pool,
                                "MDCertificateAuthority: '%s' is not an http(s) URL; give the "
                                "ACME directory URL of the CA, e.g. " MD_ACME_DEF_URL,
                                argv[i]);
        }
        md_array_str_add_missing(urls, argv[i], cmd->pool);
    }
    md->ca_urls = urls;
    md->ca_url = APR_ARRAY_IDX(urls, 0, const char *);
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
    static const char *const known[] = { "tls-alpn-01", "http-01", "dns-01", NULL };
    md_t *md = setting_target(cmd);
    int i;

    (void)dc;
    for (i = 0; known[i]; ++i) {
        if (!apr_strnatcasecmp(value, known[i])) {
            break;
        }
    }
    if (!known[i]) {
        return apr_psprintf(cmd->pool,
                            "MDCAChallenges: '%s' is not a challenge type; the known types are "
                            "tls-alpn-01, http-01 and dns-01",
                            value);
    }
    if (!md->ca_challenges) {
        md->ca_challenges = apr_array_make(cmd->pool, 3, sizeof(const char *));
    }
    md_array_str_add_missing(md->ca_challenges, known[i], cmd->pool);
    return NULL;
}

static const char *md_config_set_dns01_cmd(cmd_parms *cmd, void *dc, const char *value)
{
    const char *path = ap_server_root_relative(cmd->pool, value);

    (void)dc;
    if (!path || APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "MDChallengeDns01: '%s' is not a file; give the program that sets "
                            "up and tears down the DNS records of dns-01 challenges (absolute "
                            "or relative to ServerRoot)",
                            value);
    }
    setting_target(cmd)->dns01_cmd = path;
    return NULL;
}

static const char *md_config_set_dns01_version(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    if (!strcmp(value, "1")) {
        setting_target(cmd)->dns01_version = 1;
        return NULL;
    }
    if (!strcmp(value, "2")) {
        setting_target(cmd)->dns01_version = 2;
        return NULL;
    }
    return apr_psprintf(cmd->pool,
                        "MDChallengeDns01Version: '%s' is not a version; write 1 (teardown gets "
                        "the domain) or 2 (teardown gets the domain and the value)",
                        value);
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
        if (APR_SUCCESS
            != md_pkey_spec_parse(&spec, &used, (const char *const *)argv + i, (apr_size_t)argc - i,
                                  cmd->pool, &err)) {
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

/* ---- issue 3: membership, renewal, https, static files -------------------------------------- */

static const char *in_section_only(cmd_parms *cmd)
{
    if (!section_md) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " belongs inside a <MDomain name ...> section: it applies to that one "
                           "Managed Domain",
                           NULL);
    }
    return NULL;
}

static const char *md_config_member(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    const char *err = in_section_only(cmd);
    int i;

    (void)dc;
    if (err) {
        return err;
    }
    if (argc < 1) {
        return "MDMember: needs at least one domain name";
    }
    for (i = 0; i < argc && !err; ++i) {
        err = add_domain_name(cmd, section_md, argv[i]);
    }
    return err;
}

static const char *md_config_members(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    if (!apr_strnatcasecmp(value, "auto")) {
        setting_target(cmd)->transitive = 1;
    }
    else if (!apr_strnatcasecmp(value, "manual")) {
        setting_target(cmd)->transitive = 0;
    }
    else {
        return apr_psprintf(cmd->pool,
                            "MDMembers: '%s' is not known; write 'auto' (names of the virtual "
                            "hosts join the MD) or 'manual' (only the names given in MDomain "
                            "and MDMember)",
                            value);
    }
    return NULL;
}

static const char *md_config_renew_mode(cmd_parms *cmd, void *dc, const char *value)
{
    md_t *md = setting_target(cmd);

    (void)dc;
    if (!apr_strnatcasecmp(value, "auto")) {
        md->renew_mode = MD_RENEW_AUTO;
    }
    else if (!apr_strnatcasecmp(value, "always")) {
        md->renew_mode = MD_RENEW_ALWAYS;
    }
    else if (!apr_strnatcasecmp(value, "manual")) {
        md->renew_mode = MD_RENEW_MANUAL;
    }
    else {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a renew mode; write 'auto' (renew what a virtual "
                            "host uses), 'always' (renew every MD) or 'manual' (never renew)",
                            cmd->cmd->name, value);
    }
    return NULL;
}

static const char *set_window(const md_timeslice_t **pwindow, cmd_parms *cmd, const char *value)
{
    md_timeslice_t *ts = NULL;
    const char *err = NULL;

    if (APR_SUCCESS != md_timeslice_parse(&ts, cmd->pool, value, &err) || !ts) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a duration or percentage (%s); write e.g. '21d', "
                            "'12h', '30s' or '33%%'",
                            cmd->cmd->name, value, err ? err : "invalid");
    }
    *pwindow = ts;
    return NULL;
}

static const char *md_config_renew_window(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return set_window(&setting_target(cmd)->renew_window, cmd, value);
}

static const char *md_config_warn_window(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return set_window(&setting_target(cmd)->warn_window, cmd, value);
}

static const char *md_config_require_https(cmd_parms *cmd, void *dc, const char *value)
{
    md_mod_conf_t *mc = cmd_mod_conf(cmd);
    md_t *md = setting_target(cmd);

    (void)dc;
    if (!apr_strnatcasecmp(value, "off")) {
        md->require_https = MD_REQUIRE_OFF;
    }
    else if (!apr_strnatcasecmp(value, "temporary")) {
        md->require_https = MD_REQUIRE_TEMPORARY;
    }
    else if (!apr_strnatcasecmp(value, "permanent")) {
        md->require_https = MD_REQUIRE_PERMANENT;
    }
    else {
        return apr_psprintf(cmd->pool,
                            "MDRequireHttps: '%s' is not known; write 'off', 'temporary' (302 "
                            "redirects to https) or 'permanent' (301 redirects and HSTS)",
                            value);
    }
    if (md->require_https != MD_REQUIRE_OFF) {
        const char *at =
            apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
        if (section_md) {
            if (!mc->require_https_at) {
                mc->require_https_at = apr_table_make(cmd->pool, 5);
            }
            apr_table_set(mc->require_https_at, section_md->name, at);
        }
        else if (!mc->require_https_defn) {
            mc->require_https_defn = at;
        }
    }
    return NULL;
}

static const char *md_config_must_staple(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    setting_target(cmd)->must_staple = flag ? 1 : 0;
    return NULL;
}

static const char *md_config_protocol(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    if (apr_strnatcasecmp(value, MD_PROTO_ACME)) {
        return apr_psprintf(cmd->pool,
                            "MDCertificateProtocol: '%s' is not supported; the only protocol "
                            "is ACME",
                            value);
    }
    setting_target(cmd)->ca_proto = MD_PROTO_ACME;
    return NULL;
}

static const char *static_file(const char **ppath, cmd_parms *cmd, const char *value)
{
    const char *err = in_section_only(cmd);
    const char *path;

    if (err) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, value);
    if (!path || APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a readable file; give the path of a PEM file "
                            "(relative to ServerRoot or absolute)",
                            cmd->cmd->name, value);
    }
    *ppath = path;
    return NULL;
}

static const char *md_config_cert_file(cmd_parms *cmd, void *dc, const char *value)
{
    const char *path = NULL, *err = static_file(&path, cmd, value);

    (void)dc;
    if (!err) {
        APR_ARRAY_PUSH(section_md->cert_files, const char *) = path;
    }
    return err;
}

static const char *md_config_key_file(cmd_parms *cmd, void *dc, const char *value)
{
    const char *path = NULL, *err = static_file(&path, cmd, value);

    (void)dc;
    if (!err) {
        APR_ARRAY_PUSH(section_md->pkey_files, const char *) = path;
    }
    return err;
}

/* ---- issue 3: server-wide settings --------------------------------------------------------- */

static const char *md_config_http_proxy(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!is_http_url(value, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "MDHttpProxy: '%s' is not an http(s) URL; give the proxy's URL, "
                            "e.g. http://proxy.example.org:3128",
                            value);
    }
    cmd_mod_conf(cmd)->proxy_url = value;
    return NULL;
}

static const char *md_config_base_server(cmd_parms *cmd, void *dc, int flag)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (!err) {
        cmd_mod_conf(cmd)->base_server = flag ? 1 : 0;
    }
    return err;
}

static const char *md_config_match_names(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!apr_strnatcasecmp(value, "all")) {
        cmd_mod_conf(cmd)->match_all_names = 1;
    }
    else if (!apr_strnatcasecmp(value, "servernames")) {
        cmd_mod_conf(cmd)->match_all_names = 0;
    }
    else {
        return apr_psprintf(cmd->pool,
                            "MDMatchNames: '%s' is not known; write 'all' (ServerName and "
                            "ServerAlias select the MD of a vhost) or 'servernames' (only "
                            "ServerName does)",
                            value);
    }
    return NULL;
}

/* The duration directives, told apart by the offset of their field in md_mod_conf_t. */
static const char *md_config_duration(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd);
    apr_interval_time_t d = 0;
    apr_size_t offset = (apr_size_t)cmd->info;

    (void)dc;
    if (err) {
        return err;
    }
    if (APR_SUCCESS != md_duration_parse(&d, value, "s")) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a duration; write e.g. '30s', '5m', '12h' or '1d'",
                            cmd->cmd->name, value);
    }
    if (d <= 0 && offset == APR_OFFSETOF(md_mod_conf_t, check_interval)) {
        return "MDCheckInterval: must be longer than 0s";
    }
    *(apr_interval_time_t *)((char *)cmd_mod_conf(cmd) + offset) = d;
    return NULL;
}

static const char *md_config_cert_check(cmd_parms *cmd, void *dc, const char *name, const char *url)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!is_http_url(url, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an http(s) URL; write the link text and the URL "
                            "the certificate's SHA-256 fingerprint is appended to, e.g. "
                            "'crt.sh https://crt.sh?q='",
                            cmd->cmd->name, url);
    }
    cmd_mod_conf(cmd)->cert_check_name = name;
    cmd_mod_conf(cmd)->cert_check_url = url;
    return NULL;
}

#define MD_DURATION_CMD(name, field, help)                                                         \
    AP_INIT_TAKE1(name, md_config_duration, (void *)APR_OFFSETOF(md_mod_conf_t, field), RSRC_CONF, \
                  help)

/* ---- monitoring and events (docs/monitoring.md) ---------------------------------------------- */

static const char *md_config_set_server_status(cmd_parms *cmd, void *dc, int flag)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (!err) {
        cmd_mod_conf(cmd)->server_status = flag;
    }
    return err;
}

static const char *md_config_set_cert_status(cmd_parms *cmd, void *dc, int flag)
{
    const char *err = global_only(cmd);

    (void)dc;
    if (!err) {
        cmd_mod_conf(cmd)->cert_status = flag;
    }
    return err;
}

static const char *check_program(cmd_parms *cmd, const char *value, const char **ppath)
{
    const char *path = ap_server_root_relative(cmd->pool, value);

    if (!path || APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a file; give the path of an executable program "
                            "(relative paths are taken from ServerRoot)",
                            cmd->cmd->name, value);
    }
    *ppath = path;
    return NULL;
}

static const char *md_config_set_notify_cmd(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = global_only(cmd), *path = NULL;

    (void)dc;
    if (!err) {
        err = check_program(cmd, value, &path);
    }
    if (!err) {
        cmd_mod_conf(cmd)->notify_cmd = path;
    }
    return err;
}

static const char *md_config_set_message_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_mod_conf_t *mc = cmd_mod_conf(cmd);
    const char *err = global_only(cmd), *path = NULL;
    int i;

    (void)dc;
    if (!err && argc < 1) {
        err = "MDMessageCmd: give the path of a program, optionally followed by arguments";
    }
    if (!err) {
        err = check_program(cmd, argv[0], &path);
    }
    if (err) {
        return err;
    }
    mc->message_cmd = path;
    mc->message_args = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 1; i < argc; ++i) {
        APR_ARRAY_PUSH(mc->message_args, const char *) = argv[i];
    }
    return NULL;
}

/* ---- stapling ----------------------------------------------------------------------------- */

static const char *md_config_set_stapling(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    setting_target(cmd)->stapling = flag ? 1 : 0;
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
    AP_INIT_TAKE_ARGV("MDCertificateAuthority", md_config_set_ca, NULL, RSRC_CONF,
                      "The URL(s) of the ACME CA's directory, tried in this order"),
    AP_INIT_TAKE1("MDCertificateAgreement", md_config_set_agreement, NULL, RSRC_CONF,
                  "'accepted' to accept the CA's terms of service"),
    AP_INIT_TAKE1("MDContactEmail", md_config_set_contact, NULL, RSRC_CONF,
                  "The email address the CA registers for the account"),
    AP_INIT_ITERATE("MDCAChallenges", md_config_set_challenges, NULL, RSRC_CONF,
                    "The ACME challenge types to use, in order of preference"),
    AP_INIT_TAKE1("MDChallengeDns01", md_config_set_dns01_cmd, NULL, RSRC_CONF,
                  "The program that sets up and tears down dns-01 challenge records"),
    AP_INIT_TAKE1("MDChallengeDns01Version", md_config_set_dns01_version, NULL, RSRC_CONF,
                  "1 (default) or 2: with 2, teardown also gets the challenge value"),
    AP_INIT_TAKE_ARGV("MDPrivateKeys", md_config_set_pkeys, NULL, RSRC_CONF,
                      "Key types of the certificates: 'RSA [bits]', 'secp256r1', 'secp384r1'"),
    AP_INIT_TAKE1("MDStoreDir", md_config_set_store_dir, NULL, RSRC_CONF,
                  "The directory of the store (relative to ServerRoot)"),
    AP_INIT_TAKE1("MDCACertificateFile", md_config_set_ca_file, NULL, RSRC_CONF,
                  "PEM file with the roots to trust when talking to the CA"),
    AP_INIT_TAKE12("MDPortMap", md_config_set_port_map, NULL, RSRC_CONF,
                   "Where the CA's http and https requests arrive locally"),
    AP_INIT_TAKE_ARGV("MDMember", md_config_member, NULL, RSRC_CONF,
                      "Further names of the <MDomain> (also names no vhost has)"),
    AP_INIT_TAKE1("MDMembers", md_config_members, NULL, RSRC_CONF,
                  "'auto': vhost names join the MD, 'manual': only the names given"),
    AP_INIT_TAKE1("MDRenewMode", md_config_renew_mode, NULL, RSRC_CONF,
                  "When certificates are renewed: auto, always or manual"),
    AP_INIT_TAKE1("MDDriveMode", md_config_renew_mode, NULL, RSRC_CONF,
                  "Older name of MDRenewMode"),
    AP_INIT_TAKE1("MDRenewWindow", md_config_renew_window, NULL, RSRC_CONF,
                  "How long before expiry to renew: a duration or a percentage"),
    AP_INIT_TAKE1("MDWarnWindow", md_config_warn_window, NULL, RSRC_CONF,
                  "How long before expiry to warn: a duration or a percentage"),
    AP_INIT_TAKE1("MDRequireHttps", md_config_require_https, NULL, RSRC_CONF,
                  "Redirect http to https: off, temporary or permanent (with HSTS)"),
    AP_INIT_FLAG("MDMustStaple", md_config_must_staple, NULL, RSRC_CONF,
                 "Ask for the OCSP Must-Staple flag in new certificates"),
    AP_INIT_TAKE1("MDCertificateProtocol", md_config_protocol, NULL, RSRC_CONF,
                  "The protocol to talk to the CA: ACME"),
    AP_INIT_TAKE1("MDCertificateFile", md_config_cert_file, NULL, RSRC_CONF,
                  "A static certificate (chain) file for the <MDomain>"),
    AP_INIT_TAKE1("MDCertificateKeyFile", md_config_key_file, NULL, RSRC_CONF,
                  "The key file of the MDCertificateFile given before it"),
    AP_INIT_TAKE1("MDHttpProxy", md_config_http_proxy, NULL, RSRC_CONF,
                  "The URL of a proxy for all traffic to the CA"),
    AP_INIT_FLAG("MDBaseServer", md_config_base_server, NULL, RSRC_CONF,
                 "Whether the server outside all vhosts may belong to an MD"),
    AP_INIT_TAKE1("MDMatchNames", md_config_match_names, NULL, RSRC_CONF,
                  "Which vhost names select its MD: all or servernames"),
    MD_DURATION_CMD("MDRetryDelay", retry_delay, "The delay before the first retry"),
    MD_DURATION_CMD("MDInitialDelay", initial_delay, "The delay before the first check"),
    MD_DURATION_CMD("MDCheckInterval", check_interval, "The time between checks"),
    MD_DURATION_CMD("MDActivationDelay", activation_delay,
                    "How long a renewed certificate must be valid before it goes live"),
    AP_INIT_TAKE2("MDCertificateCheck", md_config_cert_check, NULL, RSRC_CONF,
                  "Link text and URL of a certificate monitor for server-status"),
    AP_INIT_TAKE2("MDCertificateMonitor", md_config_cert_check, NULL, RSRC_CONF,
                  "Older name of MDCertificateCheck"),
    AP_INIT_FLAG("MDServerStatus", md_config_set_server_status, NULL, RSRC_CONF,
                 "Whether server-status shows the Managed Domains section"),
    AP_INIT_FLAG("MDCertificateStatus", md_config_set_cert_status, NULL, RSRC_CONF,
                 "Whether managed https hosts answer /.httpd/certificate-status"),
    AP_INIT_TAKE1("MDNotifyCmd", md_config_set_notify_cmd, NULL, RSRC_CONF,
                  "A program called with the MD name when its certificate was renewed"),
    AP_INIT_TAKE_ARGV("MDMessageCmd", md_config_set_message_cmd, NULL, RSRC_CONF,
                      "A program (and args) called with a reason and the MD name on events"),
    AP_INIT_FLAG("MDStapling", md_config_set_stapling, NULL, RSRC_CONF,
                 "Staple OCSP responses for all certificates, or those of one MDomain"),
    AP_INIT_FLAG("MDStapleOthers", md_config_set_staple_others, NULL, RSRC_CONF,
                 "With MDStapling on: also staple certificates this module does not manage"),
    AP_INIT_TAKE1("MDStaplingKeepResponse", md_config_set_stapling_keep, NULL, RSRC_CONF,
                  "How long expired OCSP responses are kept in the store"),
    AP_INIT_TAKE1("MDStaplingRenewWindow", md_config_set_stapling_window, NULL, RSRC_CONF,
                  "When to renew OCSP responses: '33%' or a duration before they expire"),
    /* today's CAs (mod_md_config_cas.c, docs/cas.md) */
    AP_INIT_TAKE12("MDExternalAccountBinding", mod_md_config_set_eab, NULL, RSRC_CONF,
                   "The external account binding the CA gave: 'KID HMAC', a JSON file, or none"),
    AP_INIT_TAKE1("MDProfile", mod_md_config_set_profile, NULL, RSRC_CONF,
                  "The name of the CA's certificate profile to order"),
    AP_INIT_TAKE1("MDProfileMandatory", mod_md_config_set_profile_mandatory, NULL, RSRC_CONF,
                  "on: fail when the CA does not offer the MDProfile; off: order without it"),
    AP_INIT_TAKE1("MDRenewViaARI", mod_md_config_set_renew_via_ari, NULL, RSRC_CONF,
                  "on|off: renew when the CA's renewal information (RFC 9773) says so"),
    AP_INIT_TAKE1("MDRetryFailover", mod_md_config_set_retry_failover, NULL, RSRC_CONF,
                  "The failed attempts in a row before the next CA is tried"),
    AP_INIT_TAKE1(NULL, NULL, NULL, RSRC_CONF, NULL),
};

/* ---- completing an MD at post_config -------------------------------------------------------- */

void mod_md_config_complete_md(md_t *md, md_mod_conf_t *mc, server_rec *base, apr_pool_t *p)
{
    const md_t *g = mc->defaults;
    const char *err = NULL;
    md_timeslice_t *ts = NULL;

    if (!md->ca_url) {
        md->ca_url = g->ca_url ? g->ca_url : MD_ACME_DEF_URL;
        md->ca_urls = g->ca_url ? g->ca_urls : NULL;
    }
    if (!md->ca_proto) {
        md->ca_proto = g->ca_proto ? g->ca_proto : MD_PROTO_ACME;
    }
    if (!md->ca_agreement) {
        md->ca_agreement = g->ca_agreement;
    }
    if (!md->ca_challenges || !md->ca_challenges->nelts) {
        md->ca_challenges = g->ca_challenges;
    }
    if (!md->dns01_cmd) {
        md->dns01_cmd = g->dns01_cmd;
    }
    if (md->dns01_version == MD_UNSET) {
        md->dns01_version = (g->dns01_version == MD_UNSET) ? 1 : g->dns01_version;
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
        md->renew_window = g->renew_window;
    }
    if (!md->renew_window) {
        md_timeslice_parse(&ts, p, "33%", &err);
        md->renew_window = ts;
        md->is_default_renew_window = 1;
    }
    if (!md->warn_window) {
        md->warn_window = g->warn_window;
    }
    if (!md->warn_window) {
        md_timeslice_parse(&ts, p, "10%", &err);
        md->warn_window = ts;
    }
    if (md->renew_mode == MD_RENEW_DEFAULT) {
        md->renew_mode = (g->renew_mode != MD_RENEW_DEFAULT) ? g->renew_mode : MD_RENEW_AUTO;
    }
    if (md->transitive == MD_UNSET) {
        md->transitive = (g->transitive != MD_UNSET) ? g->transitive : 1;
    }
    if (md->require_https == MD_REQUIRE_UNSET) {
        md->require_https =
            (g->require_https != MD_REQUIRE_UNSET) ? g->require_https : MD_REQUIRE_OFF;
    }
    if (md->must_staple == MD_UNSET) {
        md->must_staple = (g->must_staple != MD_UNSET) ? g->must_staple : 0;
    }
    mod_md_config_complete_cas(md, g);
}

int mod_md_config_stapling(const md_mod_conf_t *mc, const md_t *md)
{
    if (md && md->stapling != MD_UNSET) {
        return md->stapling;
    }
    return mc->defaults->stapling == 1;
}
