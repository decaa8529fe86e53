/* mod_md_config_server: the server-wide directives (see mod_md_config_int.h).
 *
 * Store, CA connection (CA file, proxy and its CA file), port mapping, the renewal schedule,
 * store locks, monitoring, notification programs and the stapling globals. Like the per-MD ones,
 * they refuse what the stock module refuses, in its words, and note what it accepts but cannot
 * work as warnings.
 */
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "md.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_config_int.h"
#include "mod_md_config_values.h"

/* ---- server-wide settings ----------------------------------------------------------------------
 */

const char *mod_md_config_set_store_dir(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    mod_md_config_cmd_conf(cmd)->store_dir = value;
    return NULL;
}

/* A file read when talking to the CA or proxy: missing, the stock module starts all the same
 * and its requests fail later; so do ours, after a warning. */
static const char *set_tls_file(const char **ppath, cmd_parms *cmd, const char *value,
                                const char *purpose)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);
    const char *path;

    if (err) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, value);
    if (!path) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": '", value, "' is not a valid path", NULL);
    }
    if (APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12420) "%s at %s: '%s' is not a readable file; "
                                                       "give a PEM file with the root "
                                                       "certificates to trust %s, or requests "
                                                       "there fail",
                                        cmd->cmd->name, mod_md_config_where(cmd), path, purpose));
    }
    *ppath = path;
    return NULL;
}

const char *mod_md_config_set_ca_file(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return set_tls_file(&mod_md_config_cmd_conf(cmd)->ca_file, cmd, value,
                        "when talking to the CA (and OCSP responders)");
}

const char *mod_md_config_set_proxy_ca_file(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return set_tls_file(&mod_md_config_cmd_conf(cmd)->proxy_ca_file, cmd, value,
                        "for the https proxy of MDHttpProxy");
}

static const char *set_port_map(cmd_parms *cmd, const char *value)
{
    md_mod_conf_t *mc = mod_md_config_cmd_conf(cmd);
    int external = 0, local = 0;
    const char *err = mod_md_value_port_map(&external, &local, value, cmd->pool);

    if (err) {
        return err;
    }
    if (local < 0) {
        local = MD_PORT_UNMAPPED;
    }
    if (external == 80) {
        mc->local_80 = local;
    }
    else {
        mc->local_443 = local;
    }
    return NULL;
}

const char *mod_md_config_set_port_map(cmd_parms *cmd, void *dc, const char *v1, const char *v2)
{
    const char *err = mod_md_config_server_wide(cmd);

    (void)dc;
    if (!err) {
        err = set_port_map(cmd, v1);
    }
    if (!err && v2) {
        err = set_port_map(cmd, v2);
    }
    return err;
}

/* ---- issue 3: server-wide settings --------------------------------------------------------- */

const char *mod_md_config_http_proxy(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);

    (void)dc;
    if (!err) {
        err = mod_md_value_uri_problem(value, 1, cmd->pool);
        if (err) {
            return apr_psprintf(cmd->pool,
                                "MDHttpProxy '%s': %s; give the proxy's URL, e.g. "
                                "http://proxy.example.org:3128",
                                value, err);
        }
        mod_md_config_cmd_conf(cmd)->proxy_url = value;
    }
    return err;
}

const char *mod_md_config_base_server(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide(cmd);

    (void)dc;
    return err ? err : mod_md_config_flag(&mod_md_config_cmd_conf(cmd)->base_server, cmd, value);
}

const char *mod_md_config_match_names(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!apr_strnatcasecmp(value, "all")) {
        mod_md_config_cmd_conf(cmd)->match_all_names = 1;
    }
    else if (!apr_strnatcasecmp(value, "servernames")) {
        mod_md_config_cmd_conf(cmd)->match_all_names = 0;
    }
    else {
        return apr_psprintf(cmd->pool,
                            "MDMatchNames '%s': invalid argument, must be a 'all' or "
                            "'servernames': 'all' (ServerName and ServerAlias select the MD of a "
                            "vhost) or 'servernames' (only ServerName does)",
                            value);
    }
    return NULL;
}

/* The lower bounds the stock module sets on the durations: its words, or NULL. */
static const char *duration_bound(apr_size_t offset, apr_interval_time_t d, int negative)
{
    if (offset == APR_OFFSETOF(md_mod_conf_t, retry_delay) && (negative || d <= 0)) {
        return "minimum delay must be greater than 0";
    }
    if (offset == APR_OFFSETOF(md_mod_conf_t, check_interval)
        && (negative || d < apr_time_from_sec(1))) {
        return "check interval cannot be less than one second";
    }
    if (offset == APR_OFFSETOF(md_mod_conf_t, initial_delay) && negative && d > 0) {
        return "initial delay must not be negative";
    }
    return NULL;
}

/* The duration directives, told apart by the offset of their field in md_mod_conf_t. */
const char *mod_md_config_duration(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide(cmd);
    apr_interval_time_t d = 0;
    apr_size_t offset = (apr_size_t)cmd->info;
    int negative = 0;

    (void)dc;
    if (err) {
        return err;
    }
    err = mod_md_value_duration(&d, &negative, value, "s", cmd->pool);
    if (err) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " ", err, NULL);
    }
    err = duration_bound(offset, d, negative);
    if (err) {
        return apr_psprintf(cmd->pool, "%s '%s': %s", cmd->cmd->name, value, err);
    }
    if (negative && d > 0) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12427) "%s at %s: the negative duration '%s' is "
                                                       "read as 0",
                                        cmd->cmd->name, mod_md_config_where(cmd), value));
        d = 0;
    }
    *(apr_interval_time_t *)((char *)mod_md_config_cmd_conf(cmd) + offset) = d;
    return NULL;
}

const char *mod_md_config_cert_check(cmd_parms *cmd, void *dc, const char *name, const char *url)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!mod_md_value_is_http_url(url, cmd->pool)) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12428) "%s at %s: '%s' is not an http(s) URL, "
                                                       "the server-status link will not work; "
                                                       "write the link text and the URL the "
                                                       "certificate's SHA-256 fingerprint is "
                                                       "appended to, e.g. 'crt.sh "
                                                       "https://crt.sh?q='",
                                        cmd->cmd->name, mod_md_config_where(cmd), url));
    }
    mod_md_config_cmd_conf(cmd)->cert_check_name = name;
    mod_md_config_cmd_conf(cmd)->cert_check_url = url;
    return NULL;
}

/* MDStoreLocks on|off|<duration>: 'on' waits 5 seconds for a lock, a duration that long; 0 is
 * off, as in the stock module. */
const char *mod_md_config_store_locks(cmd_parms *cmd, void *dc, const char *value)
{
    md_mod_conf_t *mc = mod_md_config_cmd_conf(cmd);
    const char *err = mod_md_config_server_wide(cmd);
    apr_interval_time_t wait = 0;
    int flag = 0, negative = 0;

    (void)dc;
    if (err) {
        return err;
    }
    if (!mod_md_value_flag(&flag, value, cmd->pool)) {
        mc->store_locks = flag;
        return NULL;
    }
    if (mod_md_value_duration(&wait, &negative, value, "s", cmd->pool)) {
        return apr_psprintf(cmd->pool,
                            "MDStoreLocks '%s': neither 'on', 'off' or a duration specified; "
                            "write 'on' (wait up to %ds for a lock), 'off' or how long to wait, "
                            "e.g. '30s'",
                            value, MD_DEF_LOCK_WAIT_S);
    }
    if (negative && wait > 0) {
        mod_md_config_warn(mc, apr_psprintf(cmd->pool,
                                            APLOGNO(12429) "MDStoreLocks at %s: the negative "
                                                           "duration '%s' means: locks on, no "
                                                           "waiting for them",
                                            mod_md_config_where(cmd), value));
        wait = 0;
        negative = 2; /* on, with no wait */
    }
    mc->store_locks = (wait > 0 || negative);
    mc->lock_wait = wait;
    return NULL;
}

/* ---- monitoring and events (docs/monitoring.md) ---------------------------------------------- */

const char *mod_md_config_set_server_status(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);

    (void)dc;
    return err ? err : mod_md_config_flag(&mod_md_config_cmd_conf(cmd)->server_status, cmd, value);
}

const char *mod_md_config_set_cert_status(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);

    (void)dc;
    return err ? err : mod_md_config_flag(&mod_md_config_cmd_conf(cmd)->cert_status, cmd, value);
}

/* The stock module takes a program that is not there and fails when it calls it; this one
 * warns at start-up. */
static void check_program(cmd_parms *cmd, const char *value, const char **ppath)
{
    const char *path = ap_server_root_relative(cmd->pool, value);

    if (!path || APR_SUCCESS != md_util_is_file(path, cmd->pool)) {
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12430) "%s at %s: '%s' is not a file, calling it "
                                                       "will fail; give the path of an "
                                                       "executable program (relative paths are "
                                                       "taken from ServerRoot)",
                                        cmd->cmd->name, mod_md_config_where(cmd), value));
    }
    *ppath = path ? path : value;
}

const char *mod_md_config_set_notify_cmd(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide(cmd), *path = NULL;

    (void)dc;
    if (!err) {
        check_program(cmd, value, &path);
        mod_md_config_cmd_conf(cmd)->notify_cmd = path;
    }
    return err;
}

const char *mod_md_config_set_message_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_mod_conf_t *mc = mod_md_config_cmd_conf(cmd);
    const char *err = mod_md_config_server_wide(cmd), *path = NULL;
    int i;

    (void)dc;
    if (err) {
        return err;
    }
    if (argc < 1) {
        mod_md_config_warn(mc, apr_psprintf(cmd->pool,
                                            APLOGNO(12431) "MDMessageCmd at %s has no program "
                                                           "and is ignored; give the path of a "
                                                           "program, optionally followed by "
                                                           "arguments",
                                            mod_md_config_where(cmd)));
        return NULL;
    }
    check_program(cmd, argv[0], &path);
    mc->message_cmd = path;
    mc->message_args = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 1; i < argc; ++i) {
        APR_ARRAY_PUSH(mc->message_args, const char *) = argv[i];
    }
    return NULL;
}

const char *mod_md_config_set_staple_others(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);

    (void)dc;
    return err ? err : mod_md_config_flag(&mod_md_config_cmd_conf(cmd)->staple_others, cmd, value);
}

const char *mod_md_config_set_stapling_keep(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);
    const md_timeslice_t *ts = NULL;

    (void)dc;
    if (!err) {
        /* read like a window, as the stock module does; only a duration makes sense */
        err = mod_md_config_window(&ts, cmd, value);
    }
    if (err) {
        return err;
    }
    if (ts->norm) {
        /* the stock module takes it; a share of nothing in particular */
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12433) "MDStaplingKeepResponse at %s: '%s' is a "
                                                       "percentage, which means nothing here; "
                                                       "the default (7d) is used. Write how long "
                                                       "to keep responses, e.g. 7d, 12h or 30m",
                                        mod_md_config_where(cmd), value));
        return NULL;
    }
    mod_md_config_cmd_conf(cmd)->stapling_keep = ts->len;
    return NULL;
}

const char *mod_md_config_set_stapling_window(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide_anywhere(cmd);

    (void)dc;
    return err ? err
               : mod_md_config_window(&mod_md_config_cmd_conf(cmd)->stapling_window, cmd, value);
}

/* ---- activation of renewed certificates (docs/activation.md) ------------------------------- */

const char *mod_md_config_set_activation(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide(cmd);

    (void)dc;
    if (err) {
        return err;
    }
    if (!apr_strnatcasecmp(value, "graceful")) {
        mod_md_config_cmd_conf(cmd)->activation = MD_ACTIVATION_GRACEFUL;
    }
    else if (!apr_strnatcasecmp(value, "hot")) {
        mod_md_config_cmd_conf(cmd)->activation = MD_ACTIVATION_HOT;
    }
    else {
        return apr_psprintf(cmd->pool,
                            "MDActivation: '%s' is not known; write 'graceful' (a renewed "
                            "certificate is served after the next graceful restart, the default) "
                            "or 'hot' (served without a restart)",
                            value);
    }
    return NULL;
}
