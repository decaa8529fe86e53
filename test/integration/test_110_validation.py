"""Checks that need the whole configuration (issue 3). They run for 'apachectl -t' as well as at
start (httpd's check_config hook), before anything is written to the store; each message names
the file and line, the directive and the fix. Static certificate files (MDCertificateFile /
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


def test_110_name_in_two_mds(httpd):
    httpd.write_config("MDomain a.example.org b.example.org\nMDomain b.example.org\n")
    check_fails(httpd, ["AH12311", "b.example.org", str(httpd.conf_path),
                        f":{httpd.config_line_of('MDomain b.example.org')})"])


def test_110_wildcard_without_dns01(httpd):
    httpd.write_config("MDomain *.w.example.org\n")
    check_fails(httpd, ["AH12402", "*.w.example.org", "MDChallengeDns01",
                        f"{httpd.conf_path}:{httpd.config_line_of('MDomain *.w')}"])


def test_110_require_https_without_http_vhost(httpd):
    httpd.write_config("<MDomain r.example.org>\n  MDRequireHttps permanent\n</MDomain>\n"
                       + httpd.md_vhosts("r.example.org"))
    check_fails(httpd, ["AH12404", "MDRequireHttps", "<VirtualHost",
                        f"{httpd.conf_path}:{httpd.config_line_of('MDRequireHttps')}"])


def test_110_static_cert_without_key(httpd):
    cert, _, _ = make_cert(httpd.root, "s", ["s.example.org"])
    httpd.write_config(f"<MDomain s.example.org>\n  MDCertificateFile {cert}\n</MDomain>\n")
    check_fails(httpd, ["MDCertificateKeyFile", "s.example.org", str(httpd.conf_path)])


def test_110_static_key_not_matching(httpd):
    cert, _, _ = make_cert(httpd.root, "s", ["s.example.org"])
    _, other_key, _ = make_cert(httpd.root, "o", ["s.example.org"])
    httpd.write_config(f"<MDomain s.example.org>\n  MDCertificateFile {cert}\n"
                       f"  MDCertificateKeyFile {other_key}\n</MDomain>\n")
    check_fails(httpd, ["is not the key of", str(other_key), str(httpd.conf_path)])


def test_110_static_key_unreadable(httpd):
    cert, _, _ = make_cert(httpd.root, "s", ["s.example.org"])
    httpd.write_config(f"<MDomain s.example.org>\n  MDCertificateFile {cert}\n"
                       f"  MDCertificateKeyFile {httpd.root}/missing.pem\n</MDomain>\n")
    check_fails(httpd, ["MDCertificateKeyFile", "missing.pem", "not a readable file"])


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
