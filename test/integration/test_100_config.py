"""Configuration: directive values are checked when the config is read, as the stock module
(Debian's mod_md 2.6) checks them.

- BAD: what the stock module refuses stops the start with Apache's "AH00526: Syntax error on line
  N of FILE:", a message that names the directive and contains the stock module's phrase.
- WARNED: what the stock module accepts although it cannot work (or works differently than
  written) starts, with a warning carrying the row's AH id: on the console of 'apachectl -t' and
  the first start-up pass, and in the error log of the running server.
- GOOD: starts without a word.
Nothing here talks to the CA. test_150_stock_side_by_side.py runs both modules on such rows.
"""

import pytest

import harness

ONOFF = "supported parameter values are 'on' and 'off'"

BAD = [
    # (config lines, directive the message must name, the stock module's phrase)
    ("MDPortMap garbage", "MDPortMap", "no ':' after first port number"),
    ("MDPortMap http:99999", "MDPortMap", "invalid number for port map, must be in ]0,65535]"),
    ("MDPortMap http:abc", "MDPortMap", "invalid number for port map"),
    ("MDPortMap ftp:21", "MDPortMap", "no ':' after first port number"),
    ("MDPortMap 8080:80", "MDPortMap", "mapped port number must be 80 or 443"),
    ("MDChallengeDns01Version 3", "MDChallengeDns01Version",
     "Only versions `1` and `2` are supported"),
    ("MDMember www.example.org", "MDMember", 'unknown value, use "auto|manual"'),
    ("MDMembers sometimes", "MDMembers", 'unknown value, use "auto|manual"'),
    ("MDRenewMode often", "MDRenewMode", "unknown MDDriveMode often"),
    ("MDDriveMode often", "MDDriveMode", "unknown MDDriveMode often"),
    ("MDRenewWindow soon", "MDRenewWindow", "has unrecognized format"),
    ("MDRenewWindow 120%", "MDRenewWindow", "a length of 100% or more is not allowed."),
    ("MDRenewWindow -10%", "MDRenewWindow", "percent must be less than 100"),
    ("MDWarnWindow 1.5d", "MDWarnWindow", "has unrecognized format"),
    ("MDRequireHttps always", "MDRequireHttps",
     "supported parameter values are 'temporary' and 'permanent'"),
    ("MDMustStaple maybe", "MDMustStaple", ONOFF),
    ("MDBaseServer perhaps", "MDBaseServer", ONOFF),
    ("MDServerStatus maybe", "MDServerStatus", ONOFF),
    ("MDCertificateStatus 1", "MDCertificateStatus", ONOFF),
    ("MDStapling yes", "MDStapling", ONOFF),
    ("MDStapleOthers no", "MDStapleOthers", ONOFF),
    ("MDCertificateFile /etc/hostname", "MDCertificateFile",
     "is only valid inside a '<MDomainSet' context"),
    ("MDHttpProxy proxy.example.org", "MDHttpProxy", "missing uri scheme"),
    ("MDHttpProxy ftp://proxy.example.org", "MDHttpProxy", "scheme must be http or https"),
    ("MDHttpProxy http://proxy.example.org:0", "MDHttpProxy", "invalid port"),
    ("MDMatchNames some", "MDMatchNames", "invalid argument, must be a 'all' or 'servernames'"),
    ("MDRetryDelay soon", "MDRetryDelay", "unrecognized duration format"),
    ("MDRetryDelay 0s", "MDRetryDelay", "minimum delay must be greater than 0"),
    ("MDInitialDelay 5x", "MDInitialDelay", "unrecognized duration format"),
    ("MDInitialDelay -5s", "MDInitialDelay", "initial delay must not be negative"),
    ("MDCheckInterval 0s", "MDCheckInterval", "check interval cannot be less than one second"),
    ("MDActivationDelay later", "MDActivationDelay", "unrecognized duration format"),
    ("MDCertificateCheck crt.sh", "MDCertificateCheck", "takes two arguments"),
    ("MDPrivateKeys", "MDPrivateKeys", "needs to specify the private key type"),
    ("MDPrivateKeys RSA 1024", "MDPrivateKeys", "must be 2048 or higher"),
    ("MDPrivateKeys rsa1024", "MDPrivateKeys", "must be 2048 or higher"),
    ("MDPrivateKeys RSA 2048 RSA 4096", "MDPrivateKeys",
     "two keys of type 'RSA' are not possible."),
    ("MDPrivateKeys secp384r1 secp384r1", "MDPrivateKeys",
     "two keys of type 'secp384r1' are not possible."),
    ("MDCertificateAuthority yes", "MDCertificateAuthority", "The CA name 'yes' is not known"),
    ("MDCertificateAuthority letsencrypt yes", "MDCertificateAuthority",
     "The CA name 'yes' is not known and it is not a URL either (missing uri scheme)"),
    ("MDCertificateAuthority http:/x", "MDCertificateAuthority", "(missing hostname)"),
    ("MDStoreLocks maybe", "MDStoreLocks", "neither 'on', 'off' or a duration specified"),
    ("MDStaplingKeepResponse soon", "MDStaplingKeepResponse", "has unrecognized format"),
    ("MDStaplingRenewWindow 150%", "MDStaplingRenewWindow",
     "a length of 100% or more is not allowed."),
    ("MDHttpProxyCACertificateFile /a.pem /b.pem", "MDHttpProxyCACertificateFile",
     "takes one argument"),
    ("MDomain", "MDomain", "needs at least one domain name"),
    ("<MDomain>\n</MDomain>", "<MDomain", "section must specify a unique domain name"),
    ("<MDomain a.example.org\n</MDomain>", "<MDomain", "directive missing closing '>'"),
    ("<MDomain a.example.org>\n  MDStoreLocks on\n</MDomain>", "MDStoreLocks",
     "is not allowed inside an '<MDomainSet' context"),
    ("<MDomain a.example.org>\n  MDPortMap http:8080\n</MDomain>", "MDPortMap",
     "is not allowed inside an '<MDomainSet' context"),
    ("<MDomain s.example.org>\n  MDCertificateFile /etc/hostname\n</MDomain>",
     "MDCertificateFile", "needs one MDCertificateKeyFile for each MDCertificateFile"),
    ("<Directory />\n  MDRequireHttps permanent\n</Directory>", "MDRequireHttps",
     "cannot occur within <Directory> section"),
]

WARNED = [
    # (config lines, the AH id of the warning): the stock module starts with these
    ("MDCertificateAgreement yes", "AH12414"),
    ("MDContactEmail not-an-address", "AH12415"),
    ("MDCAChallenges foo-01", "AH12416"),
    ("MDChallengeDns01 /nonexistent/dns-hook", "AH12417"),
    ("MDomain bad..name", "AH12409"),
    ("MDomain _acme.example.org", "AH12409"),
    ("MDomain ../evil a.example.org", "AH12410"),
    ("MDomain *.wild.example.org", "AH12402"),
    ("MDPrivateKeys DSA", "AH12418"),
    ("MDPrivateKeys RSA 99999", "AH12418"),
    ("MDPrivateKeys secp256r1 P-256", "AH12419"),
    ("MDWarnWindow -3d", "AH12421"),
    ("MDRenewWindow 5%d", "AH12421"),
    ("MDActivationDelay -1d", "AH12427"),
    ("MDCertificateProtocol SCEP", "AH12422"),
    ("MDCertificateCheck crt.sh not-a-url", "AH12428"),
    ("MDCertificateAuthority ftp://ca.example.org/dir", "AH12413"),
    ("MDCertificateAuthority", "AH12432"),
    ("MDCACertificateFile /nonexistent.pem", "AH12420"),
    ("MDHttpProxyCACertificateFile /nonexistent.pem", "AH12420"),
    ("MDNotifyCmd /nonexistent/cmd", "AH12430"),
    ("MDMessageCmd /nonexistent/cmd", "AH12430"),
    ("MDMessageCmd", "AH12431"),
    ("MDStoreLocks -5s", "AH12429"),
    ("MDStaplingKeepResponse 10%", "AH12433"),
    ("<MDomain s.example.org>\n  MDCertificateFile /nonexistent.pem\n"
     "  MDCertificateKeyFile /nonexistent.key\n</MDomain>", "AH12426"),
    ("<MDomain s.example.org>\n  MDCertificateFile /etc/hostname\n"
     "  MDCertificateKeyFile /etc/hostname\n</MDomain>", "AH12423"),
    ("<MDomain a.example.org>\n  MDHttpProxy http://127.0.0.1:3128\n</MDomain>", "AH12412"),
    ("<MDomain a.example.org>\n  MDServerStatus on\n</MDomain>", "AH12412"),
    ("<VirtualHost 127.0.0.1:8000>\n  MDStoreDir md-x\n</VirtualHost>", "AH12411"),
    ("<VirtualHost 127.0.0.1:8000>\n  MDomain v.example.org\n</VirtualHost>", "AH12411"),
]

GOOD = [
    "MDomain a.example.org",
    "MDomain a.example.org www.a.example.org b.example.org",
    "MDCertificateAgreement accepted",
    "MDCertificateAgreement https://ca.example.org/terms",
    "MDContactEmail admin@example.org",
    "MDContactEmail mailto:admin@example.org",
    "MDStoreDir md-other",
    "MDPortMap http:8080",
    "MDPortMap 80:8080 443:8443",
    "MDPortMap http:- https:8443",
    "MDCAChallenges http-01",
    "MDCAChallenges tls-alpn-01 http-01 dns-01",
    "MDCAChallenges",
    "MDChallengeDns01 /bin/true",
    "MDChallengeDns01Version 2",
    "MDCertificateAuthority https://127.0.0.1:14000/dir",
    "MDCertificateAuthority letsencrypt",
    "MDCertificateAuthority LETSENCRYPT-TEST",
    "MDCertificateAuthority Buypass",
    "MDCertificateAuthority buypass-test https://127.0.0.1:14000/dir LetsEncrypt",
    "<MDomain a.example.org>\n  MDMember mail.a.example.org\n  MDRenewMode manual\n</MDomain>",
    "<MDomainSet a.example.org>\n  MDMembers manual\n  MDRequireHttps off\n</MDomainSet>",
    "<MDomain a.example.org>\n  MDMember manual\n</MDomain>",
    "MDMember auto",
    "MDMembers manual",
    "MDRenewMode always",
    "MDDriveMode auto",
    "MDRenewWindow 21d",
    "MDRenewWindow 33%",
    "MDWarnWindow 30s",
    "MDRequireHttps off",
    "MDMustStaple on",
    "MDMustStaple OFF",
    "MDCertificateProtocol ACME",
    "MDHttpProxy http://127.0.0.1:3128",
    "MDHttpProxy https://127.0.0.1:3129",
    "MDHttpProxyCACertificateFile /etc/ssl/certs/ca-certificates.crt",
    "MDBaseServer off",
    "MDMatchNames servernames",
    "MDRetryDelay 5s",
    "MDInitialDelay 1m",
    "MDCheckInterval 6h",
    "MDActivationDelay 1d",
    "MDCertificateCheck crt.sh https://crt.sh?q=",
    "MDCertificateMonitor other https://example.org/check?fp=",
    "MDServerStatus On",
    "MDCertificateStatus off",
    "MDStapling on",
    "MDStapleOthers off",
    "MDStaplingKeepResponse 7d",
    "MDStaplingRenewWindow 2d",
    "MDPrivateKeys Default",
    "MDPrivateKeys RSA 3072 secp384r1",
    "MDStoreLocks on",
    "MDStoreLocks off",
    "MDStoreLocks 30s",
    "MDStoreLocks 0",
]


@pytest.mark.parametrize("line,directive,phrase", BAD, ids=[b[0] for b in BAD])
def test_100_bad_value_fails_start(httpd, line, directive, phrase):
    httpd.write_config(line + "\n")
    lineno = httpd.config_line_of(line.split("\n")[-2] if "\n" in line else line)
    r = httpd.start(wait=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0, f"'{line}' was accepted:\n{out}"
    if "\n" in line:  # a section: the message names the line of the section or of its content
        assert f"of {httpd.conf_path}:" in out, out
    else:
        assert f"AH00526: Syntax error on line {lineno} of {httpd.conf_path}:" in out, out
    assert directive in out, f"message does not name {directive}:\n{out}"
    assert phrase in out, f"the stock module's phrase is missing:\n{out}"
    assert not httpd.running()


@pytest.mark.parametrize("line,ahid", WARNED, ids=[w[0] for w in WARNED])
def test_100_accepted_with_warning(httpd, line, ahid):
    httpd.write_config(line + "\n")
    r = httpd.apachectl("-t")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Syntax OK" in out and ahid in out, out
    assert f"[md:warn]" in out, out


@pytest.mark.parametrize("line", GOOD)
def test_100_good_value_passes(httpd, line):
    httpd.write_config(line + "\n")
    r = httpd.apachectl("-t")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Syntax OK" in out
    assert "[md:" not in out, out


@pytest.mark.expect_log("AH12415", "AH12409")
def test_100_warnings_in_error_log(httpd):
    """The warnings of the configuration reach the error log of the running server once per
    start, not only the console of the first start-up pass."""
    httpd.write_config("MDContactEmail not-an-address\nMDomain bad..name\n"
                       "MDRenewMode manual\n")
    httpd.start()
    log = httpd.log_text()
    assert log.count("AH12415: MDContactEmail at ") == 1, log
    assert log.count("AH12409: MDomain at ") == 1, log
    httpd.graceful()
    assert httpd.log_text().count("AH12415: MDContactEmail at ") == 2


def md_json(httpd, name):
    import json
    return json.loads((httpd.store_dir / "domains" / name / "md.json").read_text())


def test_100_ca_names_and_list_in_md_json(httpd):
    """MDCertificateAuthority: names (any case) become the stock module's URLs; several values
    are kept in order in md.json's ca.urls, as the stock module keeps them; the first is used."""
    httpd.write_config("MDRenewMode manual\nMDMember manual\n"
                       "<MDomain list.example.org>\n  MDCertificateAuthority LETSENCRYPT-test "
                       "https://127.0.0.1:9/dir buypass\n</MDomain>\n"
                       "<MDomain one.example.org>\n  MDCertificateAuthority buypass-TEST\n"
                       "  MDMember auto\n</MDomain>\n")
    httpd.start()
    ca = md_json(httpd, "list.example.org")["ca"]
    assert ca["urls"] == ["https://acme-staging-v02.api.letsencrypt.org/directory",
                          "https://127.0.0.1:9/dir", "https://api.buypass.com/acme/directory"]
    assert ca["url"] == ca["urls"][0]
    one = md_json(httpd, "one.example.org")
    assert one["ca"]["urls"] == ["https://api.test4.buypass.no/acme/directory"]
    # MDMember auto|manual is MDMembers (as in the stock module), also outside <MDomain>
    assert md_json(httpd, "list.example.org")["transitive"] == 0
    assert one["transitive"] == 1


def test_100_server_status_default_off(httpd):
    """MDServerStatus is off by default, as in the stock module: server-status shows no MD
    section until it is switched on."""
    status_mod = harness.APACHE_MODULES / "mod_status.so"
    base = (f"LoadModule status_module {status_mod}\nMDRenewMode manual\nMDomain s.example.org\n"
            "<Location /server-status>\n  SetHandler server-status\n</Location>\n")
    httpd.write_config(base)
    httpd.start()
    _, body, _ = httpd.curl("localhost", "/server-status?auto", https=False)
    assert "ManagedCertificatesTotal" not in body, body
    httpd.write_config(base + "MDServerStatus on\n")
    httpd.graceful()
    _, body, _ = httpd.curl("localhost", "/server-status?auto", https=False)
    assert "ManagedCertificatesTotal: 1" in body, body
