/* mod_md_server_status: the Managed Domains part of mod_status' server-status (see
 * mod_md_server_status.h).
 *
 * Both forms follow the stock module, built like there from each MD's md-status JSON: the HTML
 * "Managed Certificates" table (Domain, Names, Status, Valid, CA, Stapling, CheckAt, Activity)
 * and "Managed Staplings", and for '?auto' the same cells as "ManagedDomain[i]<Cell>: value"
 * lines (MDs sorted by name). Our own summary lines (ManagedCertificatesNextExpiry,
 * "ManagedDomain-<name>: ...", ManagedStaplingsRevoked, "ManagedStapling-<md>-<id>: ...")
 * follow the stock ones.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <mod_status.h>

#include "md.h"
#include "md_job.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_status.h"
#include "md_util.h"
#include "md_time.h"
#include "mod_md_config.h"
#include "mod_md_hot.h"
#include "mod_md_ocsp.h"
#include "mod_md_server_status.h"

typedef struct {
    request_rec *r;
    md_mod_conf_t *mc;
    int html;
    apr_time_t now;
    const char *prefix; /* "ManagedDomain[i]" for ?auto */
} srv_status_t;

static const char *esc(srv_status_t *st, const char *s)
{
    return ap_escape_html2(st->r->pool, s ? s : "", 1);
}

/* One "<prefix><label>: value" line of ?auto; line ends in the value (a CA's detail may have
 * some) become spaces, so each key stays on one line. */
static void auto_line(srv_status_t *st, const char *label, const char *value)
{
    char *v = apr_pstrdup(st->r->pool, value ? value : ""), *c;

    for (c = v; *c; ++c) {
        if (*c == '\n' || *c == '\r') {
            *c = ' ';
        }
    }
    ap_rprintf(st->r, "%s%s: %s\n", st->prefix, label, v);
}

static const char *date_only(apr_time_t t, apr_pool_t *p)
{
    return apr_pstrndup(p, md_time_rfc3339(t, p), 10);
}

/* The display name of a CA URL: the stock module's names for the CAs it knows, else the host. */
static const char *ca_name(const char *url, apr_pool_t *p)
{
    static const char *const known[][2] = {
        { "https://acme-v02.api.letsencrypt.org/directory", "LetsEncrypt" },
        { "https://acme-staging-v02.api.letsencrypt.org/directory", "LetsEncrypt-Test" },
        { "https://api.buypass.com/acme/directory", "Buypass" },
        { "https://api.test4.buypass.no/acme/directory", "Buypass-Test" },
    };
    apr_uri_t uri;
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); ++i) {
        if (!strcmp(url, known[i][0])) {
            return known[i][1];
        }
    }
    if (APR_SUCCESS == apr_uri_parse(p, url, &uri) && uri.hostname) {
        return uri.hostname;
    }
    return url;
}

static void cell_names(srv_status_t *st, md_json_t *mdj)
{
    apr_array_header_t *names = apr_array_make(st->r->pool, 5, sizeof(const char *));
    int i;

    md_json_getsa(names, mdj, MD_KEY_DOMAINS);
    if (st->html) {
        ap_rprintf(st->r, "<div style=\"max-width:400px;\">%s</div>",
                   esc(st, md_array_str_join(names, " ", st->r->pool)));
        return;
    }
    for (i = 0; i < names->nelts; ++i) {
        auto_line(st, apr_psprintf(st->r->pool, "Names[%d]", i),
                  APR_ARRAY_IDX(names, i, const char *));
    }
}

static void cell_status(srv_status_t *st, md_json_t *mdj)
{
    const char *s = "unknown", *descr;
    apr_time_t until;

    switch (md_json_getl(mdj, MD_KEY_STATE)) {
        case MD_S_INCOMPLETE:
            descr = md_json_gets(mdj, MD_KEY_STATE_DESCR);
            s = descr ? apr_pstrcat(st->r->pool, "incomplete: ", descr, NULL) : "incomplete";
            break;
        case MD_S_EXPIRED_DEPRECATED:
        case MD_S_COMPLETE:
            until = md_time_parse_any(md_json_gets(mdj, MD_KEY_CERT, MD_KEY_VALID, MD_KEY_UNTIL));
            s = (!until || until > st->now) ? "good" : "expired";
            break;
        case MD_S_ERROR:
            s = "error";
            break;
        case MD_S_MISSING_INFORMATION:
            s = "missing information";
            break;
        default:
            break;
    }
    if (st->html) {
        ap_rputs(esc(st, s), st->r);
    }
    else {
        auto_line(st, "Status", s);
    }
}

/* "from"/"until" of a {"from","until"} object (HTTP dates) under 'label' (Valid, StaplingValid). */
static void cell_validity(srv_status_t *st, md_json_t *valid, const char *label)
{
    const char *sfrom = valid ? md_json_gets(valid, MD_KEY_FROM) : NULL;
    const char *suntil = valid ? md_json_gets(valid, MD_KEY_UNTIL) : NULL;
    apr_time_t from = md_time_parse_any(sfrom), until = md_time_parse_any(suntil);
    apr_pool_t *p = st->r->pool;

    if (!st->html) {
        if (from > st->now) {
            auto_line(st, apr_pstrcat(p, label, "From", NULL), date_only(from, p));
        }
        if (until) {
            auto_line(st, apr_pstrcat(p, label, "Until", NULL), date_only(until, p));
        }
        return;
    }
    if (from > st->now) {
        ap_rprintf(st->r, "from <span title='%s' style='white-space: nowrap;'>%s</span> ",
                   esc(st, sfrom), date_only(from, p));
    }
    if (until) {
        ap_rprintf(st->r, "until <span title='%s' style='white-space: nowrap;'>%s</span>",
                   esc(st, sfrom ? apr_pstrcat(p, sfrom, " - ", suntil, NULL) : suntil),
                   date_only(until, p));
    }
}

static void url_with_name(srv_status_t *st, const char *label, const char *url, int i)
{
    const char *name = ca_name(url, st->r->pool);
    const char *n = i ? apr_psprintf(st->r->pool, "%d", i) : "";

    if (st->html) {
        ap_rprintf(st->r, "%s<a href='%s'>%s</a>", i ? " " : "", esc(st, url), esc(st, name));
        return;
    }
    auto_line(st, apr_pstrcat(st->r->pool, label, "Name", n, NULL), name);
    auto_line(st, apr_pstrcat(st->r->pool, label, "URL", n, NULL), url);
}

/* The CA in use ("url"), or each configured one ("urls") when none is in use yet. */
static void cell_ca(srv_status_t *st, md_json_t *mdj)
{
    apr_array_header_t *urls = apr_array_make(st->r->pool, 2, sizeof(const char *));
    const char *url = md_json_gets(mdj, MD_KEY_CA, MD_KEY_URL);
    int i;

    if (url) {
        url_with_name(st, "CA", url, 0);
        return;
    }
    md_json_getsa(urls, mdj, MD_KEY_CA, MD_KEY_URLS);
    for (i = 0; i < urls->nelts; ++i) {
        url_with_name(st, "CA", APR_ARRAY_IDX(urls, i, const char *), i);
    }
}

static void cell_stapling(srv_status_t *st, md_json_t *mdj)
{
    if (!md_json_getb(mdj, MD_KEY_STAPLING)) {
        return;
    }
    if (st->html) {
        ap_rputs("on", st->r);
    }
    else {
        auto_line(st, "Stapling", "on");
    }
}

/* MDCertificateCheck: a link per certificate with its SHA-256 fingerprint. */
static void cell_check_at(srv_status_t *st, md_json_t *mdj, const md_t *md)
{
    const char *key, *fp;
    int i;

    if (!st->mc->cert_check_name || !st->mc->cert_check_url) {
        return;
    }
    for (i = 0; i < md->pks->nelts; ++i) {
        key = md_pkey_spec_name(APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *));
        fp = md_json_gets(mdj, MD_KEY_CERT, key, MD_KEY_SHA256_FINGERPRINT);
        if (!fp) {
            continue;
        }
        if (st->html) {
            ap_rprintf(st->r, "<a href=\"%s%s\">%s[%s]</a><br>", esc(st, st->mc->cert_check_url),
                       esc(st, fp), esc(st, st->mc->cert_check_name), esc(st, key));
            continue;
        }
        auto_line(st, "CheckAtType", key);
        auto_line(st, "CheckAtName", st->mc->cert_check_name);
        auto_line(st, "CheckAtURL", apr_pstrcat(st->r->pool, st->mc->cert_check_url, fp, NULL));
        auto_line(st, "CheckAtFingerprint", fp);
    }
}

/* A point in time relative to now: seconds for ?auto, a rough span (or the date when days
 * away) with the exact time as title in HTML. */
static void activity_time(srv_status_t *st, const char *label, apr_time_t t)
{
    apr_interval_time_t delta = (t > st->now) ? t - st->now : st->now - t;

    if (!st->html) {
        auto_line(st, apr_pstrcat(st->r->pool, "Activity", label, NULL),
                  apr_psprintf(st->r->pool, "%" APR_TIME_T_FMT, apr_time_sec(t - st->now)));
    }
    else if (delta >= apr_time_from_sec(4 * 24 * 3600)) {
        ap_rprintf(st->r, "%s <span title='%s' style='white-space: nowrap;'>%s</span>",
                   !strcmp(label, "NextRun") ? "Next run" : label, md_time_http(t, st->r->pool),
                   date_only(t, st->r->pool));
    }
    else {
        ap_rprintf(st->r, "%s <span title='%s'>%s%s%s</span>",
                   !strcmp(label, "NextRun") ? "Next run" : label, md_time_http(t, st->r->pool),
                   t > st->now ? "in " : "", md_duration_format(delta, st->r->pool),
                   t > st->now ? "" : " ago");
    }
}

/* The renewal job ("renewal" of md-status). ?auto: LastStatus/LastProblem for a failed last
 * attempt (stock prints "(null)" for no problem type; so do we), Finished, NewStaged or
 * LastDetail, NextRun. */
static void activity_job(srv_status_t *st, md_json_t *job, const md_t *md)
{
    char buf[256];
    long status = md_json_getl(job, MD_KEY_LAST, MD_KEY_STATUS);
    int finished = md_json_getb(job, MD_KEY_FINISHED), staged = 0;
    const char *problem = md_json_gets(job, MD_KEY_LAST, MD_KEY_PROBLEM);
    const char *detail = md_json_gets(job, MD_KEY_LAST, MD_KEY_DETAIL), *err, *line = "";
    apr_time_t next = md_time_parse_any(md_json_gets(job, MD_KEY_NEXT_RUN));
    int i;

    for (i = 0; i < md->pks->nelts; ++i) {
        staged +=
            md_json_has_key(job, MD_KEY_CERT,
                            md_pkey_spec_name(APR_ARRAY_IDX(md->pks, i, const md_pkey_spec_t *)));
    }
    err = status ? apr_strerror((apr_status_t)status, buf, sizeof(buf)) : NULL;
    if (!st->html) {
        if (err) {
            auto_line(st, "ActivityLastStatus", err);
            auto_line(st, "ActivityLastProblem", problem ? problem : "(null)");
        }
        auto_line(st, "ActivityFinished", finished ? "yes" : "no");
        if (finished) {
            auto_line(st, "ActivityNewStaged", apr_psprintf(st->r->pool, "%d", staged));
        }
        else if (detail) {
            auto_line(st, "ActivityLastDetail", detail);
        }
    }
    else {
        if (err) {
            line = apr_psprintf(st->r->pool, " Error[%s]: %s", err, problem ? problem : "");
        }
        if (finished && staged && mod_md_hot_served(st->mc, md->name)) {
            /* MDActivation hot: live already, the job stays until the store activation */
            line = apr_psprintf(st->r->pool, "%s  finished, %d new certificate%s served.", line,
                                staged, staged > 1 ? "s" : "");
        }
        else if (finished) {
            line = staged ? apr_psprintf(st->r->pool, "%s  finished, %d new certificate%s staged.",
                                         line, staged, staged > 1 ? "s" : "")
                          : apr_pstrcat(st->r->pool, line, "  finished successfully.", NULL);
        }
        else if (detail) {
            line = apr_pstrcat(st->r->pool, line, " ", detail, NULL);
        }
        ap_rputs(esc(st, line), st->r);
    }
    if (next > st->now && !finished) {
        if (st->html) {
            ap_rputs("\n", st->r);
        }
        activity_time(st, "NextRun", next);
    }
    else if (st->html && *line) {
        ap_rputs("\nOngoing...", st->r);
    }
}

static void cell_activity(srv_status_t *st, md_json_t *mdj, const md_t *md)
{
    md_json_t *job = md_json_getj(mdj, MD_KEY_RENEWAL);
    apr_time_t at = md_time_parse_any(md_json_gets(mdj, MD_KEY_RENEW_AT));
    const char *s = NULL;

    if (job) {
        activity_job(st, job, md);
        return;
    }
    if (at > st->now) {
        activity_time(st, "Renew", at);
        return;
    }
    if (at) {
        s = "Pending";
    }
    else if (md_json_getl(mdj, MD_KEY_RENEW_MODE) == MD_RENEW_MANUAL) {
        s = "Manual renew";
    }
    if (s && st->html) {
        ap_rputs(s, st->r);
    }
    else if (s) {
        auto_line(st, "Activity", s);
    }
}

static const char *const md_columns[] = { "Domain", "Names",    "Status",  "Valid",
                                          "CA",     "Stapling", "CheckAt", "Activity" };

static void md_row(srv_status_t *st, const md_reg_item_t *item, md_json_t *ocsp, int index)
{
    md_json_t *mdj = md_status_md_json(st->mc->reg, st->mc->status_live, item, item->is_watched,
                                       ocsp, st->r->pool);
    int c;

    if (!st->html) {
        st->prefix = apr_psprintf(st->r->pool, "ManagedDomain[%d]", index);
    }
    else {
        ap_rprintf(st->r, "<tr class=\"%s\">", (index % 2) ? "odd" : "even");
    }
    for (c = 0; c < (int)(sizeof(md_columns) / sizeof(md_columns[0])); ++c) {
        if (st->html) {
            ap_rputs("<td>", st->r);
        }
        switch (c) {
            case 0:
                if (st->html) {
                    ap_rputs(esc(st, item->md->name), st->r);
                }
                else {
                    auto_line(st, "Domain", item->md->name);
                }
                break;
            case 1:
                cell_names(st, mdj);
                break;
            case 2:
                cell_status(st, mdj);
                break;
            case 3:
                cell_validity(st, md_json_getj(mdj, MD_KEY_CERT, MD_KEY_VALID), "Valid");
                break;
            case 4:
                cell_ca(st, mdj);
                break;
            case 5:
                cell_stapling(st, mdj);
                break;
            case 6:
                cell_check_at(st, mdj, item->md);
                break;
            default:
                cell_activity(st, mdj, item->md);
                break;
        }
        if (st->html) {
            ap_rputs("</td>", st->r);
        }
    }
    if (st->html) {
        ap_rputs("</tr>\n", st->r);
    }
}

/* The renewal column of our own ?auto lines: activity or error of the job. */
static const char *renewal_text(md_mod_conf_t *mc, const md_reg_item_t *item, apr_pool_t *p)
{
    md_json_t *job = NULL;
    const char *detail, *next;
    long errors;

    if (mod_md_hot_served(mc, item->md->name)) {
        /* MDActivation hot: live already, the job stays until the store activation */
        return "served without a restart";
    }
    if (APR_SUCCESS
        != md_job_load(&job, md_reg_store(mc->reg), MD_SG_STAGING, item->md->name, p)) {
        return item->is_staged ? "ready for a graceful restart" : "";
    }
    if (md_json_getb(job, MD_KEY_FINISHED)) {
        return "ready for a graceful restart";
    }
    errors = md_json_getl(job, MD_KEY_ERRORS);
    detail = md_json_gets(job, MD_KEY_LAST, MD_KEY_DETAIL);
    next = md_json_gets(job, MD_KEY_NEXT_RUN);
    if (errors) {
        return apr_psprintf(p, "%ld errored attempts, next run %s: %s", errors,
                            next ? next : "when due", detail ? detail : "");
    }
    return apr_psprintf(p, "ongoing%s%s", next ? ", next run " : "", next ? next : "");
}

static void certificates_summary(request_rec *r, md_mod_conf_t *mc, const apr_array_header_t *items)
{
    const md_reg_item_t *item;
    int i, ok = 0, renew = 0, errored = 0, ready = 0;
    apr_time_t nexp = 0;
    md_json_t *job;

    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        job = NULL;
        if (APR_SUCCESS
            == md_job_load(&job, md_reg_store(mc->reg), MD_SG_STAGING, item->md->name, r->pool)) {
            errored += (md_json_getl(job, MD_KEY_ERRORS) > 0);
            /* ready for a restart; not one served already (MDActivation hot) */
            ready += md_json_getb(job, MD_KEY_FINISHED) && !mod_md_hot_served(mc, item->md->name);
        }
        ok += (item->md->state == MD_S_COMPLETE);
        renew += (item->reason != MD_RENEW_NOT_DUE);
        if (item->valid_until && (!nexp || item->valid_until < nexp)) {
            nexp = item->valid_until;
        }
    }
    ap_rprintf(r, "ManagedCertificatesTotal: %d\n", items->nelts);
    ap_rprintf(r, "ManagedCertificatesOK: %d\n", ok);
    ap_rprintf(r, "ManagedCertificatesRenew: %d\n", renew);
    ap_rprintf(r, "ManagedCertificatesErrored: %d\n", errored);
    ap_rprintf(r, "ManagedCertificatesReady: %d\n", ready);
    ap_rprintf(r, "ManagedCertificatesNextExpiry: %" APR_TIME_T_FMT "\n", apr_time_sec(nexp));
}

static void status_certificates(srv_status_t *st, md_json_t *ocsp)
{
    apr_array_header_t *items = md_status_items_sorted(st->mc->reg, st->r->pool);
    const md_reg_item_t *item;
    int i;

    if (!st->html) {
        certificates_summary(st->r, st->mc, items);
    }
    else if (items->nelts) {
        ap_rputs("<hr>\n<h3>Managed Certificates</h3>\n<table class='md_status'><thead><tr>\n",
                 st->r);
        for (i = 0; i < (int)(sizeof(md_columns) / sizeof(md_columns[0])); ++i) {
            ap_rprintf(st->r, "<th class=\"%s\">%s</th>", md_columns[i], md_columns[i]);
        }
        ap_rputs("</tr>\n</thead><tbody>", st->r);
    }
    for (i = 0; i < items->nelts; ++i) {
        md_row(st, APR_ARRAY_IDX(items, i, const md_reg_item_t *), ocsp, i);
    }
    if (st->html) {
        if (items->nelts) {
            ap_rputs("</tbody>\n</table>\n", st->r);
        }
        return;
    }
    for (i = 0; i < items->nelts; ++i) {
        item = APR_ARRAY_IDX(items, i, const md_reg_item_t *);
        ap_rprintf(st->r, "ManagedDomain-%s: status=%s valid-until=%s renewal=%s\n", item->md->name,
                   md_state_name(item->md->state),
                   item->valid_until ? md_time_rfc3339(item->valid_until, st->r->pool) : "-",
                   renewal_text(st->mc, item, st->r->pool));
    }
}

/* OCSP stapling (MDStapling): one row/line group per stapled certificate, from the stapling
 * registry. 'domain' is the MD (absent for MDStapleOthers certificates), 'id' the
 * certificate's SHA-1. */
static const char *ocsp_str(md_json_t *e, const char *key, const char *key2)
{
    const char *v = key2 ? md_json_gets(e, key, key2) : md_json_gets(e, key);
    return v ? v : "-";
}

static void staplings_summary(request_rec *r, const apr_array_header_t *entries)
{
    md_json_t *e;
    int i, good = 0, revoked = 0, errored = 0;

    for (i = 0; i < entries->nelts; ++i) {
        e = APR_ARRAY_IDX(entries, i, md_json_t *);
        good += !strcmp(ocsp_str(e, MD_KEY_STATUS, NULL), "good");
        revoked += !strcmp(ocsp_str(e, MD_KEY_STATUS, NULL), "revoked");
        errored += (md_json_getl(e, MD_KEY_ERRORS) > 0);
    }
    ap_rprintf(r, "ManagedStaplingsTotal: %d\n", entries->nelts);
    ap_rprintf(r, "ManagedStaplingsOK: %d\n", good);
    /* the stock module puts the revoked count under this name */
    ap_rprintf(r, "ManagedStaplingsRenew: %d\n", revoked);
    ap_rprintf(r, "ManagedStaplingsErrored: %d\n", errored);
    ap_rprintf(r, "ManagedStaplingsRevoked: %d\n", revoked);
}

/* The "valid" of a stapling entry as HTTP dates, like md-status's. */
static md_json_t *http_validity(md_json_t *e, apr_pool_t *p)
{
    md_json_t *v = md_json_create(p);
    apr_time_t from = md_time_parse_any(md_json_gets(e, MD_KEY_VALID, MD_KEY_FROM));
    apr_time_t until = md_time_parse_any(md_json_gets(e, MD_KEY_VALID, MD_KEY_UNTIL));

    if (from) {
        md_json_sets(md_time_http(from, p), v, MD_KEY_FROM);
    }
    if (until) {
        md_json_sets(md_time_http(until, p), v, MD_KEY_UNTIL);
    }
    return v;
}

static const char *const ocsp_columns[] = { "Domain",        "CertificateID", "OCSPStatus",
                                            "StaplingValid", "Responder",     "Activity" };

static void ocsp_row(srv_status_t *st, md_json_t *e, int index)
{
    const char *domain = md_json_gets(e, MD_KEY_DOMAIN), *err = md_json_gets(e, MD_KEY_LAST_ERROR);
    const char *responder = md_json_gets(e, MD_KEY_RESPONDER);
    apr_time_t next = md_time_parse_any(md_json_gets(e, MD_KEY_NEXT_RUN));
    long errors = md_json_getl(e, MD_KEY_ERRORS);

    if (!st->html) {
        st->prefix = apr_psprintf(st->r->pool, "ManagedStapling[%d]", index);
        if (domain) {
            auto_line(st, "Domain", domain);
        }
        auto_line(st, "CertificateID", ocsp_str(e, MD_KEY_ID, NULL));
        auto_line(st, "OCSPStatus", ocsp_str(e, MD_KEY_STATUS, NULL));
        cell_validity(st, http_validity(e, st->r->pool), "StaplingValid");
        if (responder) {
            url_with_name(st, "Responder", responder, 0);
        }
        if (next) {
            activity_time(st, "Refresh", next);
        }
        return;
    }
    ap_rprintf(st->r, "<tr class=\"%s\"><td>%s</td><td>%s</td><td>%s</td><td>",
               (index % 2) ? "odd" : "even", esc(st, domain), esc(st, md_json_gets(e, MD_KEY_ID)),
               esc(st, md_json_gets(e, MD_KEY_STATUS)));
    cell_validity(st, http_validity(e, st->r->pool), "StaplingValid");
    ap_rputs("</td><td>", st->r);
    if (responder) {
        url_with_name(st, "Responder", responder, 0);
    }
    ap_rputs("</td><td>", st->r);
    if (next) {
        activity_time(st, "Refresh", next);
    }
    if (errors) {
        ap_rprintf(st->r, ": %ld errors%s%s", errors, err ? ": " : "", esc(st, err));
    }
    ap_rputs("</td></tr>\n", st->r);
}

static void status_staplings(srv_status_t *st, md_json_t *ocsp)
{
    apr_array_header_t *entries = apr_array_make(st->r->pool, 4, sizeof(md_json_t *));
    md_json_t *e;
    int i;

    md_json_geta_(entries, ocsp, (const char *)NULL);
    if (!st->html) {
        staplings_summary(st->r, entries);
    }
    else if (entries->nelts) {
        ap_rputs("<hr>\n<h3>Managed Staplings</h3>\n<table class='md_ocsp_status'><thead><tr>\n",
                 st->r);
        for (i = 0; i < (int)(sizeof(ocsp_columns) / sizeof(ocsp_columns[0])); ++i) {
            ap_rprintf(st->r, "<th class=\"%s\">%s</th>", ocsp_columns[i], ocsp_columns[i]);
        }
        ap_rputs("</tr>\n</thead><tbody>", st->r);
    }
    for (i = 0; i < entries->nelts; ++i) {
        ocsp_row(st, APR_ARRAY_IDX(entries, i, md_json_t *), i);
    }
    if (st->html) {
        if (entries->nelts) {
            ap_rputs("</tbody>\n</table>\n", st->r);
        }
        return;
    }
    for (i = 0; i < entries->nelts; ++i) {
        e = APR_ARRAY_IDX(entries, i, md_json_t *);
        ap_rprintf(st->r,
                   "ManagedStapling-%s-%s: status=%s valid-until=%s next-run=%s errors=%ld "
                   "responder=%s\n",
                   ocsp_str(e, MD_KEY_DOMAIN, NULL), ocsp_str(e, MD_KEY_ID, NULL),
                   ocsp_str(e, MD_KEY_STATUS, NULL), ocsp_str(e, MD_KEY_VALID, MD_KEY_UNTIL),
                   ocsp_str(e, MD_KEY_NEXT_RUN, NULL), md_json_getl(e, MD_KEY_ERRORS),
                   ocsp_str(e, MD_KEY_RESPONDER, NULL));
    }
}

int mod_md_server_status_hook(request_rec *r, int flags)
{
    md_srv_conf_t *sc = mod_md_config_get(r->server);
    md_mod_conf_t *mc = sc ? sc->mc : NULL;
    srv_status_t st;
    md_json_t *ocsp;

    if (!mc || !mc->reg || !mc->server_status) {
        return OK;
    }
    memset(&st, 0, sizeof(st));
    st.r = r;
    st.mc = mc;
    st.html = !(flags & AP_STATUS_SHORT);
    st.now = apr_time_now();
    ocsp = mod_md_ocsp_status(mc, r->pool);
    status_certificates(&st, ocsp);
    status_staplings(&st, ocsp);
    return OK;
}
