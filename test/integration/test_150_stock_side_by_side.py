"""Side by side with Debian's stock mod_md 2.6.10: the same configurations, both modules.

Every directive of the stock module has rows here, good values and bad ones. For each row both
modules read the same configuration: a configuration the stock module starts with must start
with this one too (where this module sees a problem, it says so with a warning: the AH id of the
row), and one the stock module refuses is refused with the stock module's phrase in this
module's message. The stock module's side is checked as well, so the table stays true to it.

Most rows are decided by 'apache2 -t'. Some mistakes the stock module finds only when it starts
(post_config: names in two MDs, a key file missing for a certificate file, an https vhost with
names of two MDs): those rows ('at start') start the server. Nothing talks to a CA (the CA URL
is a closed local port).

Rows marked with a difference are the documented ones (docs/differences.md): this module is more
lenient there. The directives of issue 12 (MDExternalAccountBinding, MDProfile, ...) have more
rows in test_155_cas_directives.py.
"""

import collections
import shutil
import tempfile
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.is_stock() or not harness.STOCK_MODULE.is_file(),
                                reason="compares our module with Debian's stock mod_md")

# Before each row: no renewal ever reaches a CA.
PRE = "MDCertificateAuthority https://127.0.0.1:9/dir\n"

Row = collections.namedtuple("Row", "body stock ours phrase warn note", defaults=(None,) * 3)
# stock/ours: "ok" (starts), "refuse" ('apache2 -t' refuses), "refuse-start" (only the start
# refuses); phrase: the stock module's words that both messages contain; warn: the AH id this
# module warns with; note: the documented difference.

SSL_VHOST_TWO_MDS = ("MDomain a.example.org\nMDomain b.example.org\n"
                     "<VirtualHost 127.0.0.1:@HTTPS@>\n ServerName a.example.org\n"
                     " ServerAlias b.example.org\n SSLEngine on\n</VirtualHost>")
HTTP_VHOST_TWO_MDS = ("MDomain a.example.org\nMDomain b.example.org\n"
                      "<VirtualHost 127.0.0.1:@HTTP@>\n ServerName a.example.org\n"
                      " ServerAlias b.example.org\n</VirtualHost>")
ONOFF = "supported parameter values are 'on' and 'off'"
NOT_IN_SECTION = "is not allowed inside an '<MDomainSet' context"

ROWS = {
    # ---- MDomain, <MDomain>, <MDomainSet>, MDMember(s)
    "mdomain": Row("MDomain a.example.org www.a.example.org", "ok", "ok"),
    "mdomain-none": Row("MDomain", "refuse", "refuse", "needs at least one domain name"),
    "mdomain-bad-name": Row("MDomain bad..name", "ok", "ok", warn="AH12409"),
    "mdomain-wildcard": Row("MDomain *.w.example.org", "ok", "ok", warn="AH12402"),
    "mdomain-in-vhost": Row("<VirtualHost 127.0.0.1:@HTTP@>\n MDomain b.example.org\n"
                            "</VirtualHost>", "ok", "ok", warn="AH12411"),
    "mdomain-in-section": Row("<MDomain a.example.org>\n MDomain b.example.org\n</MDomain>",
                              "refuse", "refuse", NOT_IN_SECTION),
    "section": Row("<MDomain a.example.org>\n MDMember www.a.example.org\n"
                   " MDMembers manual\n</MDomain>", "ok", "ok"),
    "section-old-name": Row("<MDomainSet a.example.org>\n MDMember b.example.org\n"
                            "</MDomainSet>", "ok", "ok"),
    "section-no-name": Row("<MDomain>\n</MDomain>", "refuse", "refuse",
                           "section must specify a unique domain name"),
    "section-no-close": Row("<MDomain a.example.org\n</MDomain>", "refuse", "refuse",
                            "directive missing closing '>'"),
    "names-in-two-mds": Row("MDomain a.example.org b.example.org\nMDomain b.example.org",
                            "refuse-start", "refuse",
                            "two Managed Domains have an overlap in domain 'b.example.org'"),
    "http-vhost-two-mds": Row(HTTP_VHOST_TWO_MDS, "ok", "ok", warn="AH12310"),
    "ssl-vhost-two-mds": Row(SSL_VHOST_TWO_MDS, "refuse-start", "refuse-start",
                             "conflict: 2 MDs match Virtualhost a.example.org which uses SSL"),
    "member-top-auto": Row("MDMember auto", "ok", "ok"),
    "member-top-name": Row("MDMember www.example.org", "refuse", "refuse",
                           'unknown value, use "auto|manual"'),
    "members-bad": Row("MDMembers sometimes", "refuse", "refuse",
                       'unknown value, use "auto|manual"'),
    # ---- CA, agreement, contact, challenges, protocol
    "ca-name": Row("MDCertificateAuthority letsencrypt", "ok", "ok"),
    "ca-list": Row("MDCertificateAuthority LetsEncrypt-Test https://127.0.0.1:9/dir "
                   "BUYPASS-test", "ok", "ok"),
    "ca-not-known": Row("MDCertificateAuthority yes", "refuse", "refuse",
                        "The CA name 'yes' is not known"),
    "ca-bad-host": Row("MDCertificateAuthority https://exa_mple.org/dir", "refuse", "refuse",
                       "is not known and it is not a URL either (invalid hostname)"),
    "ca-bad-port": Row("MDCertificateAuthority https://h.example.org:0/dir", "refuse",
                       "refuse", "is not known and it is not a URL either (invalid port)"),
    "ca-not-http": Row("MDCertificateAuthority ftp://a.example.org/dir", "ok", "ok",
                       warn="AH12413"),
    "agreement": Row("MDCertificateAgreement accepted", "ok", "ok"),
    "agreement-other": Row("MDCertificateAgreement yes", "ok", "ok", warn="AH12414"),
    "agreement-none": Row("MDCertificateAgreement", "refuse", "refuse", "takes one argument"),
    "contact": Row("MDContactEmail admin@example.org", "ok", "ok"),
    "contact-no-email": Row("MDContactEmail notanemail", "ok", "ok", warn="AH12415"),
    "contact-two": Row("MDContactEmail a@b.org c@d.org", "refuse", "refuse",
                       "takes one argument"),
    "challenges": Row("MDCAChallenges http-01 tls-alpn-01", "ok", "ok"),
    "challenges-unknown": Row("MDCAChallenges foo-01", "ok", "ok", warn="AH12416"),
    "dns01-missing": Row("MDChallengeDns01 /nonexistent/dns-hook", "ok", "ok",
                         warn="AH12417"),
    "dns01-version": Row("MDChallengeDns01Version 2", "ok", "ok"),
    "dns01-version-bad": Row("MDChallengeDns01Version 3", "refuse", "refuse",
                             "Only versions `1` and `2` are supported"),
    "dns01-version-in-section": Row("<MDomain a.example.org>\n MDChallengeDns01Version 2\n"
                                    "</MDomain>", "refuse", "ok", NOT_IN_SECTION,
                                    note="per MD here (docs/differences.md)"),
    "protocol": Row("MDCertificateProtocol ACME", "ok", "ok"),
    "protocol-other": Row("MDCertificateProtocol SCEP", "ok", "ok", warn="AH12422"),
    # ---- keys
    "keys": Row("MDPrivateKeys RSA 4096 secp384r1", "ok", "ok"),
    "keys-default": Row("MDPrivateKeys Default", "ok", "ok"),
    "keys-none": Row("MDPrivateKeys", "refuse", "refuse", "needs to specify the private key type"),
    "keys-small": Row("MDPrivateKeys RSA 1024", "refuse", "refuse", "must be 2048 or higher"),
    "keys-rsa-twice": Row("MDPrivateKeys RSA 2048 RSA 4096", "refuse", "refuse",
                          "two keys of type 'RSA' are not possible"),
    "keys-unknown": Row("MDPrivateKeys DSA", "ok", "ok", warn="AH12418"),
    "keys-same-curve": Row("MDPrivateKeys secp256r1 P-256", "ok", "ok", warn="AH12419"),
    # ---- renewal: modes and windows
    "renew-mode": Row("MDRenewMode always\nMDDriveMode manual", "ok", "ok"),
    "renew-mode-bad": Row("MDRenewMode often", "refuse", "refuse", "unknown MDDriveMode often"),
    "renew-window": Row("MDRenewWindow 21d", "ok", "ok"),
    "renew-window-bad": Row("MDRenewWindow soon", "refuse", "refuse", "has unrecognized format"),
    "renew-window-over": Row("MDRenewWindow 120%", "refuse", "refuse",
                             "a length of 100% or more is not allowed."),
    "renew-window-full": Row("MDRenewWindow 100%", "refuse", "ok",
                             "a length of 100% or more is not allowed.",
                             note="100% is accepted here (docs/differences.md)"),
    "warn-window-negative": Row("MDWarnWindow -3d", "ok", "ok", warn="AH12421"),
    "require-https": Row("MDRequireHttps temporary", "ok", "ok"),
    "require-https-bad": Row("MDRequireHttps always", "refuse", "refuse",
                             "supported parameter values are 'temporary' and 'permanent'"),
    "require-https-no-http-vhost": Row("<MDomain r.example.org>\n MDRequireHttps permanent\n"
                                       "</MDomain>\n<VirtualHost 127.0.0.1:@HTTPS@>\n"
                                       " ServerName r.example.org\n SSLEngine on\n"
                                       "</VirtualHost>", "ok", "ok", warn="AH12404"),
    "require-https-in-dir": Row("<Directory />\n MDRequireHttps permanent\n</Directory>",
                                "refuse", "refuse", "cannot occur within <Directory> section"),
    "must-staple": Row("MDMustStaple ON", "ok", "ok"),
    "must-staple-bad": Row("MDMustStaple maybe", "refuse", "refuse", ONOFF),
    # ---- static certificates
    "static-missing-files": Row("<MDomain s.example.org>\n MDCertificateFile /nonexistent.pem\n"
                                " MDCertificateKeyFile /nonexistent.key\n</MDomain>", "ok",
                                "ok", warn="AH12426"),
    "static-no-key": Row("<MDomain s.example.org>\n MDCertificateFile /etc/hostname\n"
                         "</MDomain>", "refuse-start", "refuse",
                         "needs one MDCertificateKeyFile for each MDCertificateFile"),
    "static-outside-section": Row("MDCertificateFile /etc/hostname", "refuse", "refuse",
                                  "is only valid inside a '<MDomainSet' context"),
    # ---- store, locks, connection to the CA
    "store-dir": Row("MDStoreDir md-other", "ok", "ok"),
    "store-dir-in-vhost": Row("<VirtualHost 127.0.0.1:@HTTP@>\n MDStoreDir md-x\n"
                              "</VirtualHost>", "ok", "ok", warn="AH12411"),
    "store-dir-in-section": Row("<MDomain a.example.org>\n MDStoreDir x\n</MDomain>", "refuse",
                                "refuse", NOT_IN_SECTION),
    "store-locks": Row("MDStoreLocks on", "ok", "ok"),
    "store-locks-duration": Row("MDStoreLocks 10s", "ok", "ok"),
    "store-locks-off": Row("MDStoreLocks off", "ok", "ok"),
    "store-locks-bad": Row("MDStoreLocks maybe", "refuse", "refuse",
                           "neither 'on', 'off' or a duration specified"),
    "store-locks-in-section": Row("<MDomain a.example.org>\n MDStoreLocks on\n</MDomain>",
                                  "refuse", "refuse", NOT_IN_SECTION),
    "ca-file-missing": Row("MDCACertificateFile /nonexistent.pem", "ok", "ok", warn="AH12420"),
    "ca-file-in-section": Row("<MDomain a.example.org>\n MDCACertificateFile /etc/hostname\n"
                              "</MDomain>", "ok", "ok", warn="AH12412"),
    "proxy": Row("MDHttpProxy http://127.0.0.1:3128", "ok", "ok"),
    "proxy-no-scheme": Row("MDHttpProxy proxy.example.org", "refuse", "refuse",
                           "missing uri scheme"),
    "proxy-scheme": Row("MDHttpProxy ftp://proxy.example.org", "refuse", "refuse",
                        "uri scheme must be http or https"),
    "proxy-port": Row("MDHttpProxy http://proxy.example.org:65536", "refuse", "refuse",
                      "invalid port"),
    "proxy-in-section": Row("<MDomain a.example.org>\n MDHttpProxy http://127.0.0.1:3128\n"
                            "</MDomain>", "ok", "ok", warn="AH12412"),
    "proxy-ca": Row("MDHttpProxyCACertificateFile /etc/ssl/certs/ca-certificates.crt", "ok",
                    "ok"),
    "proxy-ca-missing": Row("MDHttpProxyCACertificateFile /nonexistent.pem", "ok", "ok",
                            warn="AH12420"),
    "proxy-ca-two": Row("MDHttpProxyCACertificateFile /a.pem /b.pem", "refuse", "refuse",
                        "takes one argument"),
    "port-map": Row("MDPortMap http:8080 https:-", "ok", "ok"),
    "port-map-no-colon": Row("MDPortMap garbage", "refuse", "refuse",
                             "no ':' after first port number"),
    "port-map-mapped": Row("MDPortMap 8080:80", "refuse", "refuse",
                           "mapped port number must be 80 or 443"),
    "port-map-number": Row("MDPortMap http:99999", "refuse", "refuse",
                           "invalid number for port map, must be in ]0,65535]"),
    "port-map-upper": Row("MDPortMap HTTP:8080", "refuse", "ok",
                          "no ':' after first port number",
                          note="any case of http/https here (docs/differences.md)"),
    "base-server": Row("MDBaseServer on", "ok", "ok"),
    "base-server-bad": Row("MDBaseServer perhaps", "refuse", "refuse", ONOFF),
    "match-names": Row("MDMatchNames servernames", "ok", "ok"),
    "match-names-bad": Row("MDMatchNames some", "refuse", "refuse",
                           "invalid argument, must be a 'all' or 'servernames'"),
    # ---- schedule
    "retry-delay": Row("MDRetryDelay 5s", "ok", "ok"),
    "retry-delay-zero": Row("MDRetryDelay 0s", "refuse", "refuse",
                            "minimum delay must be greater than 0"),
    "initial-delay": Row("MDInitialDelay 0", "ok", "ok"),
    "initial-delay-negative": Row("MDInitialDelay -5s", "refuse", "refuse",
                                  "initial delay must not be negative"),
    "check-interval": Row("MDCheckInterval 1h", "ok", "ok"),
    "check-interval-short": Row("MDCheckInterval 500ms", "refuse", "refuse",
                                "check interval cannot be less than one second"),
    "activation-delay-negative": Row("MDActivationDelay -1d", "ok", "ok", warn="AH12427"),
    "activation-delay-bad": Row("MDActivationDelay later", "refuse", "refuse",
                                "unrecognized duration format"),
    # ---- monitoring and programs
    "cert-check": Row("MDCertificateCheck crt.sh https://crt.sh?q=", "ok", "ok"),
    "cert-check-not-url": Row("MDCertificateCheck crt.sh not-a-url", "ok", "ok",
                              warn="AH12428"),
    "cert-check-one-arg": Row("MDCertificateCheck crt.sh", "refuse", "refuse",
                              "takes two arguments"),
    "server-status": Row("MDServerStatus on", "ok", "ok"),
    "server-status-bad": Row("MDServerStatus maybe", "refuse", "refuse", ONOFF),
    "cert-status": Row("MDCertificateStatus off", "ok", "ok"),
    "cert-status-bad": Row("MDCertificateStatus maybe", "refuse", "refuse", ONOFF),
    "notify-missing": Row("MDNotifyCmd /nonexistent/cmd", "ok", "ok", warn="AH12430"),
    "notify-in-section": Row("<MDomain a.example.org>\n MDNotifyCmd /bin/true\n</MDomain>",
                             "refuse", "refuse", NOT_IN_SECTION),
    "message-cmd": Row("MDMessageCmd /bin/true arg", "ok", "ok"),
    "message-cmd-empty": Row("MDMessageCmd", "ok", "ok", warn="AH12431"),
    # ---- stapling
    "stapling": Row("MDStapling on\nMDStapleOthers off", "ok", "ok"),
    "stapling-bad": Row("MDStapling maybe", "refuse", "refuse", ONOFF),
    "staple-others-bad": Row("MDStapleOthers maybe", "refuse", "refuse", ONOFF),
    "stapling-keep": Row("MDStaplingKeepResponse 7d", "ok", "ok"),
    "stapling-keep-bad": Row("MDStaplingKeepResponse soon", "refuse", "refuse",
                             "has unrecognized format"),
    "stapling-keep-percent": Row("MDStaplingKeepResponse 10%", "ok", "ok", warn="AH12433"),
    "stapling-window": Row("MDStaplingRenewWindow 33%", "ok", "ok"),
    "stapling-window-over": Row("MDStaplingRenewWindow 150%", "refuse", "refuse",
                                "a length of 100% or more is not allowed."),
    # ---- issue 12 (refused values: test_155_cas_directives.py)
    "eab-none": Row("MDExternalAccountBinding none", "ok", "ok"),
    "eab-kid-hmac": Row("MDExternalAccountBinding kid-1 dGVzdGhtYWM", "ok", "ok"),
    "profile": Row("MDProfile classic", "ok", "ok"),
    "profile-mandatory": Row("MDProfileMandatory on", "ok", "ok"),
    "profile-mandatory-bad": Row("MDProfileMandatory maybe", "refuse", "refuse",
                                 "supported parameter values are 'on' and 'off'"),
    "renew-via-ari": Row("MDRenewViaARI off", "ok", "ok"),
    "retry-failover": Row("MDRetryFailover 13", "ok", "ok"),
    "retry-failover-bad": Row("MDRetryFailover 0", "refuse", "refuse",
                              "invalid argument, must be a number > 0"),
}


def run(module, body, start):
    """(refused, output) of the configuration 'body' with 'module': 'apache2 -t', or a real
    start (stopped again) with 'start'."""
    root = Path(tempfile.mkdtemp(prefix="md-side-"))
    root.chmod(0o755)
    http, https = harness.free_ports(2)
    h = harness.Httpd(root, http, https, module=module)
    try:
        h.write_config(PRE + body.replace("@HTTP@", str(http)).replace("@HTTPS@", str(https)))
        if not start:
            r = h.apachectl("-t")
            return r.returncode != 0, r.stdout + r.stderr
        r = h.start(wait=False)
        refused = r.returncode != 0
        h.stop()
        return refused, r.stdout + r.stderr + h.log_text()
    finally:
        h.stop()
        shutil.rmtree(root, ignore_errors=True)


def params():
    out = []
    for rid, row in ROWS.items():
        out.append(pytest.param(rid, row, id=rid))
    return out


def test_150_table_size():
    assert len(ROWS) >= 40
    for rid, row in ROWS.items():
        refuses = {m: getattr(row, m) != "ok" for m in ("stock", "ours")}
        # the same decision, except for the documented differences
        assert refuses["stock"] == refuses["ours"] or row.note, rid


# Debian 12's stock module differs with the apache2-bin build: 2.4.71 (with bookworm-security)
# knows MDHttpProxyCACertificateFile and takes MDHttpProxy inside <MDomain>; 2.4.68 (a fresh
# bookworm without the security updates) knows neither and refuses both. This module does what
# the newer one does; with the older one these rows check only that it refuses them.
NEWER_STOCK_ROWS = {"proxy-in-section", "proxy-ca", "proxy-ca-missing", "proxy-ca-two"}


def stock_is_older():
    return b"MDHttpProxyCACertificateFile" not in harness.STOCK_MODULE.read_bytes()


@pytest.mark.parametrize("rid,row", params())
def test_150_side_by_side(rid, row):
    ours = harness.module_path()
    stock_refused, stock_out = run(harness.STOCK_MODULE, row.body, row.stock == "refuse-start")
    if rid in NEWER_STOCK_ROWS and stock_is_older():
        assert stock_refused, f"stock module:\n{stock_out}"
    else:
        assert stock_refused == (row.stock != "ok"), f"stock module:\n{stock_out}"
        if row.stock != "ok" and row.phrase:
            assert row.phrase in stock_out, f"stock module:\n{stock_out}"
    ours_refused, ours_out = run(ours, row.body, row.ours == "refuse-start")
    assert ours_refused == (row.ours != "ok"), f"this module:\n{ours_out}"
    if row.ours != "ok":
        assert row.phrase in ours_out, f"stock phrase missing:\n{ours_out}"
    elif row.warn:
        assert row.warn in ours_out, f"no warning {row.warn}:\n{ours_out}"
    if row.stock == "ok" and row.ours == "ok" and not row.warn:
        assert "[md:warn]" not in ours_out and "[md:error]" not in ours_out, ours_out
