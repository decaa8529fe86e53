/* mod_md_config: directives and settings (see mod_md_config.h).
 *
 * Every directive checks its value where it is read. What the stock module refuses stops the
 * start with Apache's "Syntax error on line N of FILE:" followed by our message: the stock
 * module's phrase for the mistake (mod_md_config_values.h), then what was given and what is
 * accepted. What the stock module accepts is accepted here too, also when it cannot work (a
 * missing file, an address that is no email address): such a value is noted with
 * mod_md_config_warn() and logged as a warning at start-up.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>

#include "md.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_config_int.h"
#include "mod_md_config_values.h"
#include "mod_md_etcd.h"

extern module AP_MODULE_DECLARE_DATA md_module;

APLOG_USE_MODULE(md);

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
        mc->server_status = 0;
        mc->cert_status = 1;
        mc->lock_wait = apr_time_from_sec(MD_DEF_LOCK_WAIT_S);
        mc->warnings = apr_array_make(pconf, 5, sizeof(const char *));
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

md_mod_conf_t *mod_md_config_cmd_conf(cmd_parms *cmd)
{
    return get_mod_conf(cmd->pool);
}

/* The md_t that takes a per-MD setting: the open section's MD, else the global defaults. */
static md_t *setting_target(cmd_parms *cmd)
{
    return section_md ? section_md : mod_md_config_cmd_conf(cmd)->defaults;
}

md_t *mod_md_config_target(cmd_parms *cmd)
{
    return setting_target(cmd);
}

/* "file:line" of the directive being read. */
const char *mod_md_config_where(cmd_parms *cmd)
{
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

void mod_md_config_warn(md_mod_conf_t *mc, const char *msg)
{
    APR_ARRAY_PUSH(mc->warnings, const char *) = msg;
}

void mod_md_config_log_warnings(md_mod_conf_t *mc, server_rec *s, int at_check, int dry_run)
{
    int i;

    if (at_check ? !(dry_run || ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) : dry_run) {
        return;
    }
    for (i = 0; i < mc->warnings->nelts; ++i) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "%s",
                     APR_ARRAY_IDX(mc->warnings, i, const char *));
    }
}

/* Refused inside <Directory>, <Location>, <Files>, naming the section as the stock module does
 * (all three flags at once make httpd say "directory context" instead). */
static const char *not_in_dir(cmd_parms *cmd)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIRECTORY | NOT_IN_LOCATION);

    return err ? err : ap_check_cmd_context(cmd, NOT_IN_FILES);
}

/* A directive in a <VirtualHost> that applies to the whole server: the stock module takes it
 * from there as well. */
static void warn_in_vhost(cmd_parms *cmd)
{
    if (cmd->server->is_virtual) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12411) "%s at %s is inside a <VirtualHost>, but "
                                                       "it applies to the whole server; move "
                                                       "it to the server configuration",
                                        cmd->cmd->name, mod_md_config_where(cmd)));
    }
}

/* A server-wide setting: refused inside <MDomain>, as by the stock module. */
const char *mod_md_config_server_wide(cmd_parms *cmd)
{
    const char *err = not_in_dir(cmd);

    if (err) {
        return err;
    }
    if (section_md) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " " MD_VALUE_NOT_IN_SECTION,
                           ": it is a server-wide setting; move it out of <MDomain>", NULL);
    }
    warn_in_vhost(cmd);
    return NULL;
}

/* A server-wide setting that the stock module also takes from inside <MDomain> (for the whole
 * server, not for that MD). */
const char *mod_md_config_server_wide_anywhere(cmd_parms *cmd)
{
    const char *err = not_in_dir(cmd);

    if (err) {
        return err;
    }
    if (section_md) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12412) "%s at %s is inside <MDomain %s>, but it "
                                                       "applies to the whole server (all MDs); "
                                                       "move it out of <MDomain>",
                                        cmd->cmd->name, mod_md_config_where(cmd),
                                        section_md->name));
    }
    warn_in_vhost(cmd);
    return NULL;
}

/* ---- MDomain and its sections ------------------------------------------------------------------
 */

/* A name the store can keep files under (the first name is the MD's directory name). */
static int is_storable_name(const char *name)
{
    const char *s;

    if (!*name || strlen(name) > 253 || name[0] == '.') {
        return 0;
    }
    for (s = name; *s; ++s) {
        if (*s <= ' ' || *s > '~' || *s == '/' || *s == '\\') {
            return 0;
        }
    }
    return 1;
}

/* Names the CA will refuse are taken as the stock module takes them, with a warning; only a
 * name that cannot be a file name in the store is left out. */
static void add_domain_name(cmd_parms *cmd, md_t *md, const char *name)
{
    const char *lname = md_util_str_tolower(name, cmd->pool);

    if (md_util_is_ip(lname) || md_util_is_dns_name(lname, 1, 1)) {
        /* an IPv6 address the way ACME identifiers and certificates spell it (RFC 5952) */
        md_array_str_add_missing(md->domains, md_util_ip_canonical(lname, cmd->pool), cmd->pool);
        return;
    }
    if (!is_storable_name(lname)) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12410) "%s at %s: '%s' is not a domain name and "
                                                       "cannot be stored either; it is left out",
                                        cmd->cmd->name, mod_md_config_where(cmd), name));
        return;
    }
    mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                       apr_psprintf(cmd->pool,
                                    APLOGNO(12409) "%s at %s: '%s' is not a valid domain name "
                                                   "or IP address (labels of letters, digits and "
                                                   "'-', separated by single dots; a leading '*.' "
                                                   "for a wildcard): a CA will not certify it",
                                    cmd->cmd->name, mod_md_config_where(cmd), name));
    md_array_str_add_missing(md->domains, lname, cmd->pool);
}

static const char *create_md(md_t **pmd, cmd_parms *cmd, int argc, char *const argv[])
{
    md_mod_conf_t *mc = mod_md_config_cmd_conf(cmd);
    md_t *md;
    int i;

    if (argc < 1) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " needs at least one domain name (the MD's name and first name in "
                           "its certificate)",
                           NULL);
    }
    md = md_create_empty(cmd->pool);
    for (i = 0; i < argc; ++i) {
        add_domain_name(cmd, md, argv[i]);
    }
    md->defn_name = cmd->directive->filename;
    md->defn_line_number = cmd->directive->line_num;
    if (md->domains->nelts) {
        md->name = APR_ARRAY_IDX(md->domains, 0, const char *);
        APR_ARRAY_PUSH(mc->mds, md_t *) = md;
    }
    else {
        /* all names left out: its settings are read but belong to no MD */
        md->name = "(no name)";
    }
    *pmd = md;
    return NULL;
}

static const char *md_config_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_t *md = NULL;
    const char *err = mod_md_config_server_wide(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    return create_md(&md, cmd, argc, argv);
}

/* A pair that cannot be used makes mod_ssl fail at start-up when a vhost serves the MD; the
 * stock module leaves that to mod_ssl, so it is only a warning here. */
static const char *static_pair_problem(cmd_parms *cmd, const md_t *md, int i)
{
    const char *cfile = APR_ARRAY_IDX(md->cert_files, i, const char *);
    const char *kfile = APR_ARRAY_IDX(md->pkey_files, i, const char *);
    apr_array_header_t *chain = NULL;
    md_pkey_t *pkey = NULL;
    char *pem = NULL;
    apr_size_t len = 0;

    if (APR_SUCCESS != md_util_is_file(cfile, cmd->pool)
        || APR_SUCCESS != md_util_is_file(kfile, cmd->pool)) {
        return NULL; /* a missing file had its warning */
    }
    if (APR_SUCCESS != md_util_file_read(&pem, &len, cfile, MD_STATIC_MAX_LEN, cmd->pool)
        || APR_SUCCESS != md_chain_from_pem(&chain, cmd->pool, pem, len)) {
        return apr_psprintf(cmd->pool,
                            APLOGNO(12423) "<MDomain %s>: MDCertificateFile %s holds no PEM "
                                           "certificate; give the certificate (chain) file",
                            md->name, cfile);
    }
    if (APR_SUCCESS != md_util_file_read(&pem, &len, kfile, MD_STATIC_MAX_LEN, cmd->pool)
        || APR_SUCCESS != md_pkey_from_pem(&pkey, cmd->pool, pem, len, NULL, 0)) {
        return apr_psprintf(cmd->pool,
                            APLOGNO(12424) "<MDomain %s>: MDCertificateKeyFile %s holds no "
                                           "unencrypted PEM private key; give the key file of %s",
                            md->name, kfile, cfile);
    }
    if (!md_cert_matches_key(APR_ARRAY_IDX(chain, 0, const md_cert_t *), pkey)) {
        return apr_psprintf(cmd->pool,
                            APLOGNO(12425) "<MDomain %s>: MDCertificateKeyFile %s is not the key "
                                           "of MDCertificateFile %s; give each certificate file "
                                           "followed by its own key file",
                            md->name, kfile, cfile);
    }
    return NULL;
}

/* MDCertificateFile and MDCertificateKeyFile come in pairs, each key matching its certificate:
 * without a key for each certificate the stock module does not start (AH10170). */
static const char *check_static_files(cmd_parms *cmd, const md_t *md)
{
    const char *problem = NULL;
    int i;

    if (md->cert_files->nelts != md->pkey_files->nelts) {
        return apr_psprintf(cmd->pool,
                            APLOGNO(10170) "The Managed Domain '%s' needs one "
                                           "MDCertificateKeyFile for each MDCertificateFile. It "
                                           "has %d MDCertificateFile and %d "
                                           "MDCertificateKeyFile; give each certificate file "
                                           "followed by its key file",
                            md->name, md->cert_files->nelts, md->pkey_files->nelts);
    }
    for (i = 0; i < md->cert_files->nelts; ++i) {
        problem = static_pair_problem(cmd, md, i);
        if (problem) {
            mod_md_config_warn(mod_md_config_cmd_conf(cmd), problem);
        }
    }
    return NULL;
}

static const char *md_config_section(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *endp = ap_strrchr_c(arg, '>');
    apr_array_header_t *names;
    const char *args;
    char *word;
    md_t *md = NULL;
    const char *err = mod_md_config_server_wide(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!endp) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           "> directive missing closing '>': write <MDomain name ...>", NULL);
    }
    args = apr_pstrndup(cmd->pool, arg, (apr_size_t)(endp - arg));
    names = apr_array_make(cmd->pool, 5, sizeof(char *));
    word = ap_getword_conf(cmd->pool, &args);
    while (*word) {
        APR_ARRAY_PUSH(names, char *) = word;
        word = ap_getword_conf(cmd->pool, &args);
    }
    if (!names->nelts) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           "> section must specify a unique domain name: write <MDomain name "
                           "...> with the MD's names",
                           NULL);
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

/* MDCertificateAuthority: names and URLs; several of them are the stock module's list of CAs
 * to fail over to (kept in md.json as "urls"); the first one is used. */
static const char *md_config_set_ca(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_t *md = setting_target(cmd);
    apr_array_header_t *urls;
    const char *url = NULL, *warn = NULL, *err;
    int i;

    (void)dc;
    if (argc < 1) {
        /* the stock module takes this as "no change" */
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12432) "MDCertificateAuthority at %s has no "
                                                       "value and is ignored; give the CA's "
                                                       "ACME directory URL or name",
                                        mod_md_config_where(cmd)));
        return NULL;
    }
    urls = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        err = mod_md_value_ca(&url, &warn, argv[i], cmd->pool);
        if (err) {
            return apr_pstrcat(cmd->pool, "MDCertificateAuthority: ", err, NULL);
        }
        if (warn) {
            mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                               apr_psprintf(cmd->pool,
                                            APLOGNO(12413) "MDCertificateAuthority at %s: '%s' "
                                                           "%s",
                                            mod_md_config_where(cmd), argv[i], warn));
            warn = NULL;
        }
        APR_ARRAY_PUSH(urls, const char *) = url;
    }
    md->ca_urls = urls;
    md->ca_url = APR_ARRAY_IDX(urls, 0, const char *);
    return NULL;
}

/* 'accepted' states agreement; older configurations give the URL of the terms of service, which
 * does too. Anything else is kept as it is (the stock module keeps it and the CA then finds the
 * terms not accepted). */
static const char *md_config_set_agreement(cmd_parms *cmd, void *dc, const char *value)
{
    md_t *md = setting_target(cmd);

    (void)dc;
    if (!apr_strnatcasecmp(value, MD_TOS_ACCEPTED) || mod_md_value_is_http_url(value, cmd->pool)) {
        md->ca_agreement = MD_TOS_ACCEPTED;
        return NULL;
    }
    mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                       apr_psprintf(cmd->pool,
                                    APLOGNO(12414) "MDCertificateAgreement at %s: '%s' does not "
                                                   "accept the CA's terms of service, accounts "
                                                   "cannot be made; write "
                                                   "'MDCertificateAgreement accepted'",
                                    mod_md_config_where(cmd), value));
    md->ca_agreement = value;
    return NULL;
}

static const char *md_config_set_contact(cmd_parms *cmd, void *dc, const char *value)
{
    md_t *md = setting_target(cmd);
    const char *addr = strncmp(value, "mailto:", 7) ? value : value + 7;
    const char *at = strchr(addr, '@');

    (void)dc;
    if (!at || at == addr || !at[1] || strpbrk(addr, " \t,;<>")) {
        /* the stock module sends it to the CA as it is, which refuses it */
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12415) "MDContactEmail at %s: '%s' is not an "
                                                       "email address (like admin@example.org); "
                                                       "the CA will refuse it",
                                        mod_md_config_where(cmd), addr));
    }
    md->contacts = apr_array_make(cmd->pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->contacts, const char *) = apr_pstrcat(cmd->pool, "mailto:", addr, NULL);
    return NULL;
}

static void add_challenge(cmd_parms *cmd, md_t *md, const char *value)
{
    static const char *const known[] = { "tls-alpn-01", "http-01", "dns-01", NULL };
    const char *type = md_util_str_tolower(value, cmd->pool);
    int i;

    for (i = 0; known[i]; ++i) {
        if (!strcmp(type, known[i])) {
            break;
        }
    }
    if (!known[i]) {
        /* kept in the list as the stock module keeps it: no CA offers it, it is never used */
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12416) "MDCAChallenges at %s: '%s' is not a "
                                                       "challenge type this module answers "
                                                       "(tls-alpn-01, http-01, dns-01); it is "
                                                       "never used",
                                        mod_md_config_where(cmd), value));
    }
    md_array_str_add_missing(md->ca_challenges, type, cmd->pool);
}

/* The challenge types in order of preference; none at all (the stock module takes that) leaves
 * the choice to the module, as when the directive is not there. */
static const char *md_config_set_challenges(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_t *md = setting_target(cmd);
    int i;

    (void)dc;
    md->ca_challenges = apr_array_make(cmd->pool, 3, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        add_challenge(cmd, md, argv[i]);
    }
    return NULL;
}

static const char *md_config_set_dns01_cmd(cmd_parms *cmd, void *dc, const char *value)
{
    const char *path = ap_server_root_relative(cmd->pool, value);

    (void)dc;
    if (!path) {
        return apr_pstrcat(cmd->pool, "MDChallengeDns01: '", value, "' is not a valid path", NULL);
    }
    if (APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12417) "MDChallengeDns01 at %s: '%s' is not a "
                                                       "file; dns-01 challenges fail until the "
                                                       "program that sets up and tears down "
                                                       "their DNS records is there (absolute or "
                                                       "relative to ServerRoot)",
                                        mod_md_config_where(cmd), path));
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
                        "MDChallengeDns01Version: Only versions `1` and `2` are supported, not "
                        "'%s': 1 (teardown gets the domain) or 2 (teardown gets the domain and "
                        "the value)",
                        value);
}

static const char *md_config_set_dns01_timeout(cmd_parms *cmd, void *dc, const char *value)
{
    apr_interval_time_t d = 0;
    int negative = 0;
    const char *err = mod_md_value_duration(&d, &negative, value, "s", cmd->pool);

    (void)dc;
    if (err) {
        return apr_pstrcat(cmd->pool, "MDChallengeDns01Timeout: ", err, NULL);
    }
    if (negative || d < apr_time_from_sec(1)) {
        return apr_psprintf(cmd->pool,
                            "MDChallengeDns01Timeout: '%s' is too short; give the dns-01 "
                            "program at least one second (e.g. '2m')",
                            value);
    }
    setting_target(cmd)->dns01_timeout = d;
    return NULL;
}

/* What a key spec is called in the stock module's duplicate check: "RSA" for all RSA sizes, an
 * EC curve as written. */
static const char *spec_word(const md_pkey_spec_t *spec, const char *word)
{
    return (spec->type == MD_PKEY_TYPE_EC) ? word : "RSA";
}

/* One key spec from the words of MDPrivateKeys: *pspec NULL when it is left out. Like the stock
 * module, an RSA size below 2048 is refused; a word that is no key type this module makes (the
 * stock module takes it for an EC curve and fails at renewal) or an RSA size OpenSSL cannot
 * make is left out with a warning. */
static const char *read_key_spec(md_pkey_spec_t **pspec, apr_size_t *pused, cmd_parms *cmd,
                                 char *const *words, apr_size_t n)
{
    const char *perr = NULL, *bits = NULL;

    *pused = 1;
    if (!apr_strnatcasecmp(words[0], "Default")) {
        *pspec = apr_pcalloc(cmd->pool, sizeof(md_pkey_spec_t));
        (*pspec)->type = MD_PKEY_TYPE_DEFAULT;
        (*pspec)->bits = MD_PKEY_RSA_BITS_DEF;
        return NULL;
    }
    if (APR_SUCCESS
        == md_pkey_spec_parse(pspec, pused, (const char *const *)words, n, cmd->pool, &perr)) {
        return NULL;
    }
    *pspec = NULL;
    *pused = 1;
    if (!apr_strnatcasecmp(words[0], "RSA") && n > 1) {
        bits = words[1];
        *pused = 2;
    }
    else if (!strncasecmp(words[0], "rsa", 3)) {
        bits = words[0] + 3;
    }
    if (bits && apr_strtoi64(bits, NULL, 10) < MD_PKEY_RSA_BITS_MIN) {
        return apr_psprintf(cmd->pool,
                            "MDPrivateKeys: RSA key size %s must be %d or higher in order to be "
                            "considered safe.",
                            bits, MD_PKEY_RSA_BITS_MIN);
    }
    mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                       apr_psprintf(cmd->pool,
                                    APLOGNO(12418) "MDPrivateKeys at %s: '%s' is left out: %s",
                                    mod_md_config_where(cmd),
                                    (*pused == 2)
                                        ? apr_pstrcat(cmd->pool, words[0], " ", words[1], NULL)
                                        : words[0],
                                    perr));
    return NULL;
}

static const char *md_config_set_pkeys(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_t *md = setting_target(cmd);
    apr_array_header_t *specs, *words;
    md_pkey_spec_t *spec = NULL;
    apr_size_t used = 0, i;
    const char *err;
    int j;

    (void)dc;
    if (argc < 1) {
        return "MDPrivateKeys needs to specify the private key type, e.g. 'RSA 2048' or "
               "'secp256r1' (one certificate is made for each type given)";
    }
    specs = apr_array_make(cmd->pool, argc, sizeof(md_pkey_spec_t *));
    words = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < (apr_size_t)argc; i += used) {
        err = read_key_spec(&spec, &used, cmd, argv + i, (apr_size_t)argc - i);
        if (err) {
            return err;
        }
        if (!spec) {
            continue;
        }
        if (md_array_str_index(words, spec_word(spec, argv[i]), 0, 0) >= 0) {
            return apr_psprintf(cmd->pool,
                                "MDPrivateKeys: two keys of type '%s' are not possible. One "
                                "certificate is made per key type: list each type once",
                                spec_word(spec, argv[i]));
        }
        APR_ARRAY_PUSH(words, const char *) = spec_word(spec, argv[i]);
        for (j = 0; j < specs->nelts; ++j) {
            if (!strcmp(md_pkey_spec_name(APR_ARRAY_IDX(specs, j, md_pkey_spec_t *)),
                        md_pkey_spec_name(spec))) {
                break;
            }
        }
        if (j < specs->nelts) {
            mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                               apr_psprintf(cmd->pool,
                                            APLOGNO(12419) "MDPrivateKeys at %s: '%s' is the "
                                                           "same key type as one before it and "
                                                           "is left out",
                                            mod_md_config_where(cmd), argv[i]));
            continue;
        }
        APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
    }
    md->pks = specs;
    return NULL;
}

/* ---- issue 3: membership, renewal, https, static files -------------------------------------- */

static const char *in_section_only(cmd_parms *cmd)
{
    if (!section_md) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " is only valid inside a '<MDomainSet' context, not here: put it in "
                           "the <MDomain name ...> section of the Managed Domain it belongs to",
                           NULL);
    }
    return NULL;
}

/* 'auto' or 'manual' into md->transitive; non-zero if 'value' is one of them. */
static int set_members(md_t *md, const char *value)
{
    if (!apr_strnatcasecmp(value, "auto")) {
        md->transitive = 1;
        return 1;
    }
    if (!apr_strnatcasecmp(value, "manual")) {
        md->transitive = 0;
        return 1;
    }
    return 0;
}

/* Names of the <MDomain>. Like in the stock module, MDMember also takes 'auto' or 'manual' as
 * MDMembers does, and outside of <MDomain> only those. */
static const char *md_config_member(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    int i;

    (void)dc;
    if (argc < 1) {
        return "MDMember needs at least one domain name";
    }
    if (argc == 1 && set_members(setting_target(cmd), argv[0])) {
        return NULL;
    }
    if (!section_md) {
        return apr_psprintf(cmd->pool,
                            "MDMember '%s': unknown value, use \"auto|manual\": outside of "
                            "<MDomain> it sets MDMembers; names go inside a <MDomain name ...> "
                            "section",
                            argv[0]);
    }
    for (i = 0; i < argc; ++i) {
        add_domain_name(cmd, section_md, argv[i]);
    }
    return NULL;
}

static const char *md_config_members(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    if (!set_members(setting_target(cmd), value)) {
        return apr_psprintf(cmd->pool,
                            "MDMembers '%s': unknown value, use \"auto|manual\": 'auto' (names "
                            "of the virtual hosts join the MD) or 'manual' (only the names given "
                            "in MDomain and MDMember)",
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
                            "%s: unknown MDDriveMode %s; write 'auto' (renew what a virtual host "
                            "uses), 'always' (renew every MD) or 'manual' (never renew)",
                            cmd->cmd->name, value);
    }
    return NULL;
}

const char *mod_md_config_window(const md_timeslice_t **pwindow, cmd_parms *cmd, const char *value)
{
    md_timeslice_t *ts = NULL;
    const char *warn = NULL;
    const char *err = mod_md_value_window(&ts, &warn, cmd->cmd->name, value, cmd->pool);

    if (err) {
        return err;
    }
    if (warn) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool, APLOGNO(12421) "%s at %s: %s", cmd->cmd->name,
                                        mod_md_config_where(cmd), warn));
    }
    *pwindow = ts;
    return NULL;
}

static const char *md_config_renew_window(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return mod_md_config_window(&setting_target(cmd)->renew_window, cmd, value);
}

static const char *md_config_warn_window(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return mod_md_config_window(&setting_target(cmd)->warn_window, cmd, value);
}

static const char *md_config_require_https(cmd_parms *cmd, void *dc, const char *value)
{
    md_mod_conf_t *mc = mod_md_config_cmd_conf(cmd);
    md_t *md = setting_target(cmd);
    const char *err = not_in_dir(cmd);

    (void)dc;
    if (err) {
        return err;
    }
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
                            "MDRequireHttps: unknown '%s', supported parameter values are "
                            "'temporary' and 'permanent' (and 'off'): 'temporary' redirects http "
                            "to https (302), 'permanent' also sends HSTS (301)",
                            value);
    }
    if (md->require_https != MD_REQUIRE_OFF) {
        if (section_md) {
            if (!mc->require_https_at) {
                mc->require_https_at = apr_table_make(cmd->pool, 5);
            }
            apr_table_set(mc->require_https_at, section_md->name, mod_md_config_where(cmd));
        }
        else if (!mc->require_https_defn) {
            mc->require_https_defn = mod_md_config_where(cmd);
        }
    }
    return NULL;
}

/* An on|off directive: its value into *pflag. */
const char *mod_md_config_flag(int *pflag, cmd_parms *cmd, const char *value)
{
    const char *err = mod_md_value_flag(pflag, value, cmd->pool);

    return err ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL) : NULL;
}

static const char *md_config_must_staple(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return mod_md_config_flag(&setting_target(cmd)->must_staple, cmd, value);
}

/* The stock module takes any protocol name and fails at renewal; so does this one. */
static const char *md_config_protocol(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    if (apr_strnatcasecmp(value, MD_PROTO_ACME)) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12422) "MDCertificateProtocol at %s: '%s' is not "
                                                       "supported, the only protocol is ACME: "
                                                       "certificates cannot be obtained",
                                        mod_md_config_where(cmd), value));
        setting_target(cmd)->ca_proto = value;
        return NULL;
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
    if (!path) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": '", value, "' is not a valid path", NULL);
    }
    if (APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        /* mod_ssl fails on it when a vhost serves the MD, as with the stock module */
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12426) "%s at %s: '%s' is not a readable file; "
                                                       "give the path of a PEM file (relative "
                                                       "to ServerRoot or absolute)",
                                        cmd->cmd->name, mod_md_config_where(cmd), path));
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

#define MD_DURATION_CMD(name, field, help)                                                         \
    AP_INIT_TAKE1(name, mod_md_config_duration, (void *)APR_OFFSETOF(md_mod_conf_t, field),        \
                  RSRC_CONF, help)

/* ---- stapling ----------------------------------------------------------------------------- */

static const char *md_config_set_stapling(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return mod_md_config_flag(&setting_target(cmd)->stapling, cmd, value);
}

const command_rec mod_md_cmds[] = {
    AP_INIT_TAKE_ARGV("MDomain", md_config_mdomain, NULL, RSRC_CONF,
                      "A managed domain: a list of DNS names that go into one certificate"),
    AP_INIT_RAW_ARGS("<MDomain", md_config_section, NULL, RSRC_CONF,
                     "A managed domain with settings of its own"),
    AP_INIT_RAW_ARGS("<MDomainSet", md_config_section, NULL, RSRC_CONF,
                     "A managed domain with settings of its own (older name of <MDomain>)"),
    AP_INIT_TAKE_ARGV("MDCertificateAuthority", md_config_set_ca, NULL, RSRC_CONF,
                      "The ACME CA's directory URL or name (LetsEncrypt, LetsEncrypt-Test, "
                      "Buypass, Buypass-Test); several are tried in order"),
    AP_INIT_TAKE1("MDCertificateAgreement", md_config_set_agreement, NULL, RSRC_CONF,
                  "'accepted' to accept the CA's terms of service"),
    AP_INIT_TAKE1("MDContactEmail", md_config_set_contact, NULL, RSRC_CONF,
                  "The email address the CA registers for the account"),
    AP_INIT_TAKE_ARGV("MDCAChallenges", md_config_set_challenges, NULL, RSRC_CONF,
                      "The ACME challenge types to use, in order of preference"),
    AP_INIT_TAKE1("MDChallengeDns01", md_config_set_dns01_cmd, NULL, RSRC_CONF,
                  "The program that sets up and tears down dns-01 challenge records"),
    AP_INIT_TAKE1("MDChallengeDns01Version", md_config_set_dns01_version, NULL, RSRC_CONF,
                  "1 (default) or 2: with 2, teardown also gets the challenge value"),
    AP_INIT_TAKE1("MDChallengeDns01Timeout", md_config_set_dns01_timeout, NULL, RSRC_CONF,
                  "How long the dns-01 program may run before it is killed (default 10m)"),
    AP_INIT_TAKE_ARGV("MDPrivateKeys", md_config_set_pkeys, NULL, RSRC_CONF,
                      "Key types of the certificates: 'RSA [bits]', 'secp256r1', 'secp384r1'"),
    AP_INIT_TAKE1("MDStoreDir", mod_md_config_set_store_dir, NULL, RSRC_CONF,
                  "The directory of the store (relative to ServerRoot)"),
    AP_INIT_TAKE1("MDCACertificateFile", mod_md_config_set_ca_file, NULL, RSRC_CONF,
                  "PEM file with the roots to trust when talking to the CA"),
    AP_INIT_TAKE1("MDHttpProxyCACertificateFile", mod_md_config_set_proxy_ca_file, NULL, RSRC_CONF,
                  "PEM file with the roots to trust for an https MDHttpProxy"),
    AP_INIT_TAKE1("MDStoreLocks", mod_md_config_store_locks, NULL, RSRC_CONF,
                  "on|off|<duration>: servers sharing the store take turns renewing an MD"),
    MOD_MD_ETCD_CMDS,
    AP_INIT_TAKE12("MDPortMap", mod_md_config_set_port_map, NULL, RSRC_CONF,
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
    AP_INIT_TAKE1("MDRequireHttps", md_config_require_https, NULL, RSRC_CONF | ACCESS_CONF,
                  "Redirect http to https: off, temporary or permanent (with HSTS)"),
    AP_INIT_TAKE1("MDMustStaple", md_config_must_staple, NULL, RSRC_CONF,
                  "Ask for the OCSP Must-Staple flag in new certificates"),
    AP_INIT_TAKE1("MDCertificateProtocol", md_config_protocol, NULL, RSRC_CONF,
                  "The protocol to talk to the CA: ACME"),
    AP_INIT_TAKE1("MDCertificateFile", md_config_cert_file, NULL, RSRC_CONF,
                  "A static certificate (chain) file for the <MDomain>"),
    AP_INIT_TAKE1("MDCertificateKeyFile", md_config_key_file, NULL, RSRC_CONF,
                  "The key file of the MDCertificateFile given before it"),
    AP_INIT_TAKE1("MDHttpProxy", mod_md_config_http_proxy, NULL, RSRC_CONF,
                  "The URL of a proxy for all traffic to the CA"),
    AP_INIT_TAKE1("MDBaseServer", mod_md_config_base_server, NULL, RSRC_CONF,
                  "Whether the server outside all vhosts may belong to an MD"),
    AP_INIT_TAKE1("MDMatchNames", mod_md_config_match_names, NULL, RSRC_CONF,
                  "Which vhost names select its MD: all or servernames"),
    MD_DURATION_CMD("MDRetryDelay", retry_delay, "The delay before the first retry"),
    MD_DURATION_CMD("MDInitialDelay", initial_delay, "The delay before the first check"),
    MD_DURATION_CMD("MDCheckInterval", check_interval, "The time between checks"),
    MD_DURATION_CMD("MDActivationDelay", activation_delay,
                    "How long a renewed certificate must be valid before it goes live"),
    AP_INIT_TAKE2("MDCertificateCheck", mod_md_config_cert_check, NULL, RSRC_CONF,
                  "Link text and URL of a certificate monitor for server-status"),
    AP_INIT_TAKE2("MDCertificateMonitor", mod_md_config_cert_check, NULL, RSRC_CONF,
                  "Older name of MDCertificateCheck"),
    AP_INIT_TAKE1("MDServerStatus", mod_md_config_set_server_status, NULL, RSRC_CONF,
                  "Whether server-status shows the Managed Domains section"),
    AP_INIT_TAKE1("MDCertificateStatus", mod_md_config_set_cert_status, NULL, RSRC_CONF,
                  "Whether managed https hosts answer /.httpd/certificate-status"),
    AP_INIT_TAKE1("MDNotifyCmd", mod_md_config_set_notify_cmd, NULL, RSRC_CONF,
                  "A program called with the MD name when its certificate was renewed"),
    AP_INIT_TAKE_ARGV("MDMessageCmd", mod_md_config_set_message_cmd, NULL, RSRC_CONF,
                      "A program (and args) called with a reason and the MD name on events"),
    AP_INIT_TAKE1("MDStapling", md_config_set_stapling, NULL, RSRC_CONF,
                  "Staple OCSP responses for all certificates, or those of one MDomain"),
    AP_INIT_TAKE1("MDStapleOthers", mod_md_config_set_staple_others, NULL, RSRC_CONF,
                  "With MDStapling on: also staple certificates this module does not manage"),
    AP_INIT_TAKE1("MDStaplingKeepResponse", mod_md_config_set_stapling_keep, NULL, RSRC_CONF,
                  "How long expired OCSP responses are kept in the store"),
    AP_INIT_TAKE1("MDStaplingRenewWindow", mod_md_config_set_stapling_window, NULL, RSRC_CONF,
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
    AP_INIT_TAKE1("MDActivation", mod_md_config_set_activation, NULL, RSRC_CONF,
                  "How renewed certificates go live: 'graceful' (at the next graceful "
                  "restart, the default) or 'hot' (at once, without a restart)"),
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
        md->ca_urls = g->ca_urls;
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
    if (md->dns01_timeout <= 0) {
        md->dns01_timeout = (g->dns01_timeout > 0) ? g->dns01_timeout : MD_DNS01_TIMEOUT_DEF;
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
