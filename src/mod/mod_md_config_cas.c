/* mod_md_config_cas: the directives of today's CAs (see mod_md_config.h): external account
 * binding, certificate profiles, ARI and CA failover.
 *
 * Values are checked as the stock module checks them, and its error phrases come first in each
 * message (admins and tools grep for them), followed by what to write instead. The stock module
 * accepts these directives in <VirtualHost> too; they then set the server-wide value, as the other
 * per-MD settings do here.
 */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "md.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_config_int.h"


#define MD_EAB_FILE_MAX (64 * 1024)
#define MD_EAB_HINT                                                                                \
    "write the key id and HMAC key the CA gave you ('MDExternalAccountBinding KID HMAC'), a "      \
    "JSON file with them ({\"kid\": \"...\", \"hmac\": \"...\"}, may be readable by root only), "  \
    "or 'none'"

/* Read {"kid": .., "hmac": ..} from 'path'; the raw text (it holds the HMAC) is cleansed. */
static const char *eab_from_file(cmd_parms *cmd, md_t *md, const char *value)
{
    const char *path = ap_server_root_relative(cmd->pool, value);
    md_json_t *json = NULL;
    char *data = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    if (!path || APR_SUCCESS != md_util_is_file(path, cmd->temp_pool)) {
        return apr_psprintf(cmd->pool, "MDExternalAccountBinding: file not found: %s; %s",
                            path ? path : value, MD_EAB_HINT);
    }
    rv = md_util_file_read(&data, &len, path, MD_EAB_FILE_MAX, cmd->temp_pool);
    if (APR_SUCCESS == rv) {
        rv = md_json_readbuf(&json, cmd->pool, data, len, NULL);
        md_util_cleanse(data, len);
    }
    if (APR_SUCCESS != rv || !md_json_is_object(json)) {
        return apr_psprintf(cmd->pool,
                            "MDExternalAccountBinding: error reading JSON file %s; it must hold "
                            "one JSON object {\"kid\": \"...\", \"hmac\": \"...\"}",
                            path);
    }
    md->eab_kid = md_json_gets(json, MD_KEY_KID);
    md->eab_hmac = md_json_gets(json, MD_KEY_HMAC);
    if (!md->eab_kid || !*md->eab_kid) {
        return apr_psprintf(cmd->pool,
                            "MDExternalAccountBinding: JSON does not contain 'kid' element in "
                            "file %s; add the key id the CA gave you as \"kid\"",
                            path);
    }
    if (!md->eab_hmac || !*md->eab_hmac) {
        return apr_psprintf(cmd->pool,
                            "MDExternalAccountBinding: JSON does not contain 'hmac' element in "
                            "file %s; add the HMAC key the CA gave you as \"hmac\"",
                            path);
    }
    md->eab_kid = apr_pstrdup(cmd->pool, md->eab_kid);
    md->eab_hmac = apr_pstrdup(cmd->pool, md->eab_hmac);
    return NULL;
}

const char *mod_md_config_set_eab(cmd_parms *cmd, void *dc, const char *v1, const char *v2)
{
    md_t *md = mod_md_config_target(cmd);

    (void)dc;
    md->eab_kid = NULL;
    md->eab_hmac = NULL;
    if (v2) {
        md->eab_kid = v1;
        md->eab_hmac = v2;
        return NULL;
    }
    if (!apr_strnatcasecmp(v1, "none")) {
        md->eab_kid = "none";
        return NULL;
    }
    return eab_from_file(cmd, md, v1);
}

const char *mod_md_config_set_profile(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    if (!*value) {
        return "MDProfile: needs the name of a profile the CA offers, e.g. 'tlsserver'";
    }
    mod_md_config_target(cmd)->profile = value;
    return NULL;
}

const char *mod_md_config_set_profile_mandatory(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return mod_md_config_flag(&mod_md_config_target(cmd)->profile_mandatory, cmd, value);
}

const char *mod_md_config_set_renew_via_ari(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return mod_md_config_flag(&mod_md_config_target(cmd)->ari_renewals, cmd, value);
}

const char *mod_md_config_set_retry_failover(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err = mod_md_config_server_wide(cmd);
    apr_int64_t n;
    char *end = NULL;
    int count;

    (void)dc;
    if (err) {
        return err;
    }
    n = apr_strtoi64(value, &end, 10);
    if (end == value || n <= 0) {
        return apr_psprintf(cmd->pool,
                            "MDRetryFailover: '%s': invalid argument, must be a number > 0 (the "
                            "failed attempts in a row before the next CA of "
                            "MDCertificateAuthority is tried, e.g. 13)",
                            value);
    }
    count = (n > INT_MAX) ? INT_MAX : (int)n;
    if (*end) {
        /* the stock module reads the leading digits only: start as it does, but say so */
        mod_md_config_warn(mod_md_config_cmd_conf(cmd),
                           apr_psprintf(cmd->pool,
                                        APLOGNO(12900) "MDRetryFailover '%s' at %s: only the "
                                                       "number %d is read, the rest is ignored",
                                        value, mod_md_config_where(cmd), count));
    }
    mod_md_config_cmd_conf(cmd)->retry_failover = count;
    return NULL;
}

void mod_md_config_complete_cas(md_t *md, const md_t *g)
{
    if (!md->eab_kid) {
        md->eab_kid = g->eab_kid;
        md->eab_hmac = g->eab_hmac;
    }
    if (!md_has_eab(md)) {
        md->eab_kid = NULL;
        md->eab_hmac = NULL;
    }
    if (!md->profile) {
        md->profile = g->profile;
    }
    if (md->profile_mandatory == MD_UNSET) {
        md->profile_mandatory = (g->profile_mandatory != MD_UNSET) ? g->profile_mandatory : 0;
    }
    if (md->ari_renewals == MD_UNSET) {
        md->ari_renewals = (g->ari_renewals != MD_UNSET) ? g->ari_renewals : 1;
    }
}
