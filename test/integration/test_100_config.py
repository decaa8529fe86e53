"""Configuration: values of the issue-2 directives are checked when the config is read.

A bad value must stop the start with Apache's "AH00526: Syntax error on line N of FILE:" and a
message from the module that names the directive. Nothing here talks to the CA.
"""

import pytest

BAD = [
    # (config lines, directive the message must name)
    ("MDCertificateAgreement yes", "MDCertificateAgreement"),
    ("MDCertificateAgreement no", "MDCertificateAgreement"),
    ("MDPortMap garbage", "MDPortMap"),
    ("MDPortMap http:99999", "MDPortMap"),
    ("MDPortMap http:abc", "MDPortMap"),
    ("MDPortMap ftp:21", "MDPortMap"),
    ("MDCAChallenges foo-01", "MDCAChallenges"),
    ("MDChallengeDns01 /nonexistent/dns-hook", "MDChallengeDns01"),
    ("MDChallengeDns01Version 3", "MDChallengeDns01Version"),
    ("MDomain bad..name", "MDomain"),
    ("MDMember www.example.org", "MDMember"),
    ("MDMembers sometimes", "MDMembers"),
    ("MDRenewMode often", "MDRenewMode"),
    ("MDDriveMode often", "MDDriveMode"),
    ("MDRenewWindow soon", "MDRenewWindow"),
    ("MDRenewWindow 120%", "MDRenewWindow"),
    ("MDWarnWindow -3d", "MDWarnWindow"),
    ("MDRequireHttps always", "MDRequireHttps"),
    ("MDMustStaple maybe", "MDMustStaple"),
    ("MDCertificateProtocol SCEP", "MDCertificateProtocol"),
    ("MDCertificateFile /etc/hostname", "MDCertificateFile"),
    ("MDHttpProxy proxy.example.org", "MDHttpProxy"),
    ("MDBaseServer perhaps", "MDBaseServer"),
    ("MDMatchNames some", "MDMatchNames"),
    ("MDRetryDelay soon", "MDRetryDelay"),
    ("MDInitialDelay 5x", "MDInitialDelay"),
    ("MDCheckInterval 0s", "MDCheckInterval"),
    ("MDActivationDelay later", "MDActivationDelay"),
    ("MDCertificateCheck crt.sh", "MDCertificateCheck"),
    ("MDCertificateMonitor crt.sh not-a-url", "MDCertificateMonitor"),
    ("MDPrivateKeys DSA", "MDPrivateKeys"),
    ("MDPrivateKeys RSA 1024", "MDPrivateKeys"),
    ("<MDomain s.example.org>\n  MDCertificateFile /nonexistent.pem\n</MDomain>",
     "MDCertificateFile"),
]

GOOD = [
    "MDomain a.example.org",
    "MDomain a.example.org www.a.example.org b.example.org",
    "MDCertificateAgreement accepted",
    "MDContactEmail admin@example.org",
    "MDStoreDir md-other",
    "MDPortMap http:8080",
    "MDPortMap 80:8080 443:8443",
    "MDPortMap http:- https:8443",
    "MDCAChallenges http-01",
    "MDCAChallenges tls-alpn-01 http-01 dns-01",
    "MDChallengeDns01 /bin/true",
    "MDChallengeDns01Version 2",
    "MDCertificateAuthority https://127.0.0.1:14000/dir",
    "<MDomain a.example.org>\n  MDMember mail.a.example.org\n  MDRenewMode manual\n</MDomain>",
    "<MDomainSet a.example.org>\n  MDMembers manual\n  MDRequireHttps off\n</MDomainSet>",
    "MDMembers manual",
    "MDRenewMode always",
    "MDDriveMode auto",
    "MDRenewWindow 21d",
    "MDRenewWindow 33%",
    "MDWarnWindow 30s",
    "MDRequireHttps off",
    "MDMustStaple on",
    "MDCertificateProtocol ACME",
    "MDHttpProxy http://127.0.0.1:3128",
    "MDBaseServer off",
    "MDMatchNames servernames",
    "MDRetryDelay 5s",
    "MDInitialDelay 1m",
    "MDCheckInterval 6h",
    "MDActivationDelay 1d",
    "MDCertificateCheck crt.sh https://crt.sh?q=",
    "MDCertificateMonitor other https://example.org/check?fp=",
]


@pytest.mark.parametrize("line,directive", BAD, ids=[b[0] for b in BAD])
def test_100_bad_value_fails_start(httpd, line, directive):
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
    assert not httpd.running()


@pytest.mark.parametrize("line", GOOD)
def test_100_good_value_passes(httpd, line):
    httpd.write_config(line + "\n")
    r = httpd.apachectl("-t")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Syntax OK" in r.stdout + r.stderr
