/* mod_md_config_int: what the files of the configuration share, nobody else.
 *
 * mod_md_config.c reads <MDomain> sections and the per-MD settings and holds the directive table;
 * mod_md_config_server.c reads the server-wide directives. Both check a directive's place and
 * value with the helpers here and note what works differently than written as warnings
 * (mod_md_config_warn()). Strings live in cmd->pool.
 */
#ifndef mod_md_config_int_h
#define mod_md_config_int_h

#include <httpd.h>
#include <http_config.h>

#include "md_time.h"
#include "mod_md_config.h"

#define MD_DEF_LOCK_WAIT_S 5 /* MDStoreLocks on: as long as the stock module waits */

/** The module configuration a directive is read into. */
md_mod_conf_t *mod_md_config_cmd_conf(cmd_parms *cmd);

/** "file:line" of the directive being read. */
const char *mod_md_config_where(cmd_parms *cmd);

/**
 * A server-wide directive: refused inside <MDomain> (the stock module's phrase), noted with a
 * warning inside <VirtualHost> (it applies to the whole server there too). NULL when it may be
 * read.
 */
const char *mod_md_config_server_wide(cmd_parms *cmd);

/** Like mod_md_config_server_wide(), for those the stock module also takes inside <MDomain>:
 * there they get a warning (they apply to all MDs). */
const char *mod_md_config_server_wide_anywhere(cmd_parms *cmd);

/** An on|off value into *pflag; the error names the directive. */
const char *mod_md_config_flag(int *pflag, cmd_parms *cmd, const char *value);

/** A window (duration or percentage) into *pwindow; oddities the stock module accepts are noted
 * as warnings. */
const char *mod_md_config_window(const md_timeslice_t **pwindow, cmd_parms *cmd, const char *value);

/* The server-wide directives (mod_md_config_server.c), each a command_rec function. */
const char *mod_md_config_set_store_dir(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_ca_file(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_proxy_ca_file(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_port_map(cmd_parms *cmd, void *dc, const char *v1, const char *v2);
const char *mod_md_config_http_proxy(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_base_server(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_match_names(cmd_parms *cmd, void *dc, const char *value);
/** MDRetryDelay, MDInitialDelay, MDCheckInterval, MDActivationDelay: cmd->info is the offset of
 * the field in md_mod_conf_t. */
const char *mod_md_config_duration(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_cert_check(cmd_parms *cmd, void *dc, const char *name, const char *url);
const char *mod_md_config_store_locks(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_server_status(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_cert_status(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_notify_cmd(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_message_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *mod_md_config_set_staple_others(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_stapling_keep(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_stapling_window(cmd_parms *cmd, void *dc, const char *value);
/** MDActivation graceful|hot (docs/activation.md) */
const char *mod_md_config_set_activation(cmd_parms *cmd, void *dc, const char *value);

#endif /* mod_md_config_int_h */
