"""Checks that need the whole configuration (issue 3). They run for 'apachectl -t' as well as at
start (httpd's check_config hook), before anything is written to the store; each message names
the file and line, the directive and the fix. What the stock module (Debian's 2.6) starts with
starts here too, with a warning (issue 11): wildcards without dns-01, MDRequireHttps without an
http vhost, static files that do not fit, a vhost with names of two MDs on http. What it refuses
is refused: a name in two MDs (AH10038), an https vhost with names of two MDs (AH10238, when
mod_ssl asks for its certificate). Static certificate files (MDCertificateFile /
MDCertificateKeyFile) are served as they are. Nothing here talks to the CA.
"""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def make_cert(directory, stem, names, key=None):
    """A self-signed certificate for 'names' and its key as PEM files; returns their paths."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cpath, kpath = directory / f"{stem}.cert.pem", directory / f"{stem}.key.pem"
    cpath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kpath.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    return cpath, kpath, cert


def check_fails(httpd, needles):
    """'apachectl -t' and a start both refuse the config; the output has all 'needles'."""
    for r in (httpd.apachectl("-t"), httpd.start(wait=False)):
        out = r.stdout + r.stderr
        assert r.returncode != 0, out
        for n in needles:
            assert n in out, f"'{n}' not in:\n{out}"
    assert not httpd.running()
    assert not (httpd.store_dir / "domains").exists(), "the store was written to"


def check_warns(httpd, needles):
    """'apachectl -t' passes with a warning that has all 'needles'; the server starts and has
    the warning in its error log."""
    r = httpd.apachectl("-t")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    for n in needles:
        assert n in out, f"'{n}' not in:\n{out}"
    httpd.start()
    log = httpd.log_text()
    for n in needles:
        assert n in log, f"'{n}' not in the error log:\n{log}"


def test_110_name_in_two_mds(httpd):
    httpd.write_config("MDomain a.example.org b.example.org\nMDomain b.example.org\n")
    check_fails(httpd, ["AH10038", "two Managed Domains have an overlap in domain 'b.example.org'",
                        f"{httpd.conf_path}(line {httpd.config_line_of('MDomain b.example.org')})"])


@pytest.mark.expect_log("AH12402")
def test_110_wildcard_without_dns01(httpd):
    httpd.write_config("MDRenewMode manual\nMDomain *.w.example.org\n")
    check_warns(httpd, ["AH12402", "*.w.example.org", "MDChallengeDns01",
                        f"{httpd.conf_path}:{httpd.config_line_of('MDomain *.w')}"])


@pytest.mark.expect_log("AH12404")
def test_110_require_https_without_http_vhost(httpd):
    httpd.write_config("MDRenewMode manual\n<MDomain r.example.org>\n  MDRequireHttps permanent\n"
                       "</MDomain>\n" + httpd.md_vhosts("r.example.org"))
    check_warns(httpd, ["AH12404", "MDRequireHttps", "<VirtualHost",
                        f"{httpd.conf_path}:{httpd.config_line_of('MDRequireHttps')}"])


def test_110_static_cert_without_key(httpd):
    cert, _, _ = make_cert(httpd.root, "s", ["s.example.org"])
    httpd.write_config(f"<MDomain s.example.org>\n  MDCertificateFile {cert}\n</MDomain>\n")
    check_fails(httpd, ["The Managed Domain 's.example.org' needs one MDCertificateKeyFile for "
                        "each MDCertificateFile", str(httpd.conf_path)])


@pytest.mark.expect_log("AH12425")
def test_110_static_key_not_matching(httpd):
    """Without a vhost for the MD the stock module starts; so does this one, with a warning."""
    cert, _, _ = make_cert(httpd.root, "s", ["s.example.org"])
    _, other_key, _ = make_cert(httpd.root, "o", ["s.example.org"])
    httpd.write_config(f"<MDomain s.example.org>\n  MDCertificateFile {cert}\n"
                       f"  MDCertificateKeyFile {other_key}\n</MDomain>\n")
    check_warns(httpd, ["AH12425", "is not the key of", str(other_key)])


@pytest.mark.expect_log("AH12426", "AH12401")
def test_110_static_key_unreadable(httpd):
    cert, _, _ = make_cert(httpd.root, "s", ["s.example.org"])
    httpd.write_config(f"<MDomain s.example.org>\n  MDCertificateFile {cert}\n"
                       f"  MDCertificateKeyFile {httpd.root}/missing.pem\n</MDomain>\n")
    check_warns(httpd, ["AH12426", "MDCertificateKeyFile", "missing.pem",
                        "not a readable file"])


@pytest.mark.expect_log("AH12426", "AH12401")
def test_110_static_files_missing_with_vhost(httpd):
    """Served by a vhost, files that are not there stop the start in mod_ssl, as with the stock
    module; the warning said why first."""
    httpd.write_config("<MDomain m.example.org>\n  MDCertificateFile /nonexistent.pem\n"
                       "  MDCertificateKeyFile /nonexistent.key\n</MDomain>\n"
                       + httpd.md_vhosts("m.example.org"))
    r = httpd.start(wait=False)
    out = r.stdout + r.stderr + httpd.log_text()
    assert r.returncode != 0, out
    assert "AH12426" in out and "/nonexistent.pem" in out, out


@pytest.mark.expect_log("AH12310", "AH13400")
def test_110_http_vhost_with_two_mds(httpd):
    httpd.write_config("MDRenewMode manual\nMDomain a.example.org\nMDomain b.example.org\n"
                       f"<VirtualHost 127.0.0.1:{httpd.http_port}>\n  ServerName a.example.org\n"
                       "  ServerAlias b.example.org\n</VirtualHost>\n")
    check_warns(httpd, ["AH12310", "has names of two Managed Domains"])


@pytest.mark.expect_log("AH10238", "AH12310")
def test_110_https_vhost_with_two_mds(httpd):
    httpd.write_config("MDRenewMode manual\nMDomain a.example.org\nMDomain b.example.org\n"
                       + httpd.md_vhosts("a.example.org", ["b.example.org"]))
    r = httpd.start(wait=False)
    out = r.stdout + r.stderr + httpd.log_text()
    assert r.returncode != 0, out
    assert "AH10238: conflict: 2 MDs match Virtualhost a.example.org which uses SSL" in out, out
    assert not httpd.running()


@pytest.mark.expect_log("AH13400")
def test_110_vhost_without_ssl_engine(httpd):
    """A vhost on the https port without 'SSLEngine on': the MD's certificate would never be
    served. Only mod_ssl knows (it asks for the certificates of its vhosts), so the warning
    comes at start, not with 'apachectl -t'."""
    name = "plain.example.org"
    httpd.write_config(f"MDRenewMode manual\nMDomain {name}\n"
                       + httpd.md_vhosts(name).replace("    SSLEngine on\n", ""))
    httpd.start()
    httpd.wait_log(rf"AH13400: MD {name} \(.*\): none of its virtual hosts has 'SSLEngine on'")
    assert "AH13400" not in httpd.log_text().split("AH13400", 1)[1]  # once per start


@pytest.mark.expect_log("AH10105", "AH12404")
def test_110_require_https_without_ssl_vhost(httpd):
    """MDRequireHttps for an MD none of whose vhosts has SSLEngine: the stock module's AH10105."""
    name = "nossl.example.org"
    httpd.write_config(f"MDRenewMode manual\n<MDomain {name}>\n  MDRequireHttps temporary\n"
                       f"</MDomain>\n<VirtualHost 127.0.0.1:{httpd.https_port}>\n"
                       f"  ServerName {name}\n</VirtualHost>\n")
    httpd.start()
    httpd.wait_log(rf"AH10105: MD {name} does not match any VirtualHost with 'SSLEngine on', "
                   "but is configured to require https. This cannot work.")


def test_110_ssl_vhost_no_warning(httpd):
    """The usual: an https vhost with SSLEngine on gets no SSLEngine warning."""
    name = "ssl.example.org"
    httpd.write_config(f"MDRenewMode manual\nMDomain {name}\n" + httpd.md_vhosts(name))
    httpd.start()
    assert "AH13400" not in httpd.log_text()


@pytest.mark.expect_log("AH10040")
def test_110_members_manual_partial_cover_warns(httpd):
    httpd.write_config("<MDomain p.example.org>\n  MDMembers manual\n</MDomain>\n"
                       + httpd.md_vhosts("p.example.org", ["www.p.example.org"]))
    r = httpd.apachectl("-t")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "AH10040" in out and "www.p.example.org" in out and "MDMember" in out, out


def test_110_static_certificates_served(httpd):
    """Two pairs (RSA and EC) for one MD: both go to mod_ssl, a client gets the one it can use;
    nothing is renewed (MDRenewMode auto) and no fallback is made."""
    name = "static.example.org"
    rcert, rkey, rx = make_cert(httpd.root, "rsa", [name],
                                key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    ecert, ekey, ex = make_cert(httpd.root, "ec", [name])
    httpd.write_config(f"<MDomain {name}>\n  MDCertificateFile {rcert}\n"
                       f"  MDCertificateKeyFile {rkey}\n  MDCertificateFile {ecert}\n"
                       f"  MDCertificateKeyFile {ekey}\n</MDomain>\n" + httpd.md_vhosts(name))
    httpd.start()
    from test_310_keys_and_staging import served_key
    assert isinstance(served_key(httpd, name, "ECDHE-ECDSA-AES128-GCM-SHA256"),
                      ec.EllipticCurvePublicKey)
    assert served_key(httpd, name, "ECDHE-RSA-AES128-GCM-SHA256").public_numbers() == \
        rx.public_key().public_numbers()
    status, _, _ = httpd.curl(name, insecure=True)
    assert status == 200
    assert not (httpd.store_dir / "domains" / name / "fallback-pubcert.pem").exists()
    httpd.wait_log(rf"AH12405: {name}: not renewed by this server \(MDRenewMode auto, static")
