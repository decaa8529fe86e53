"""MDBaseServer: whether the server outside all <VirtualHost> sections belongs to an MD.

The base server's ServerName is the only user of the MD (no vhost has it), and MDRenewMode auto
renews only MDs that a server uses:
- MDBaseServer off (the default): the base server does not count, the MD is not renewed
- MDBaseServer on: the base server uses the MD, which gets its certificate
"""

import pytest
from cryptography import x509

import harness

NAME = "base.example.org"


def config(h, flag):
    return (f"ServerName {NAME}\n" + (f"MDBaseServer {flag}\n" if flag else "")
            + f"MDomain {NAME}\n")


def test_133_base_server_off(httpd):
    for flag in (None, "off"):
        httpd.write_config(config(httpd, flag))
        mark = httpd.log_size()
        if httpd.running():
            httpd.graceful()
        else:
            httpd.start()
        httpd.wait_log(rf"AH12405: {NAME}: not renewed by this server \(MDRenewMode auto, used "
                       r"by no vhost\)", timeout=30, since=mark)
        assert not (httpd.store_dir / "staging" / NAME).exists()
        assert not (httpd.store_dir / "domains" / NAME / "pubcert.pem").exists()


@pytest.mark.expect_log("AH13400")  # the base server here has no SSLEngine on
def test_133_base_server_on(httpd, ca):
    httpd.write_config(config(httpd, "on"))
    httpd.start()
    assert "AH12405" not in httpd.log_text()
    httpd.wait_md_ready([NAME], timeout=120)
    httpd.graceful()
    cert = x509.load_pem_x509_certificate(
        (httpd.store_dir / "domains" / NAME / "pubcert.pem").read_bytes())
    assert harness.cert_sans(cert) == [NAME]
