"""Key types (MDPrivateKeys) and the checks on a staged set before it goes live.

- an EC-only MD gets an ECDSA certificate; an MD with RSA and EC gets one of each and a client
  that only offers ECDSA gets the EC one, a client that only offers RSA the RSA one
- a staged set whose key does not match its certificate is refused at the graceful restart: an
  error is logged and the fallback (or current) certificate stays in use
"""

import shutil
import socket
import ssl

import pytest

from cryptography.hazmat.primitives.asymmetric import ec, rsa

import harness


def served_key(h, name, sigalgs):
    """The public key of the certificate served for SNI 'name' to a TLS 1.2 client that offers
    only the given signature algorithms."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(sigalgs)
    with socket.create_connection(("127.0.0.1", h.https_port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=name) as t:
            der = t.getpeercert(binary_form=True)
    from cryptography import x509
    return x509.load_der_x509_certificate(der).public_key()


def test_310_ec_and_rsa_certificates(httpd, ca):
    httpd.write_config(
        "<MDomain ec.example.org>\n    MDPrivateKeys secp256r1\n</MDomain>\n"
        + httpd.md_vhosts("ec.example.org")
        + "<MDomain dual.example.org>\n    MDPrivateKeys RSA 2048 secp384r1\n</MDomain>\n"
        + httpd.md_vhosts("dual.example.org"))
    httpd.start()
    httpd.wait_md_ready(["ec.example.org", "dual.example.org"], timeout=120)
    httpd.graceful()

    ec_dir = httpd.store_dir / "domains" / "ec.example.org"
    assert (ec_dir / "pubcert.secp256r1.pem").is_file()
    assert not (ec_dir / "pubcert.pem").exists()
    key = httpd.peer_chain("ec.example.org").public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    httpd.verify_served("ec.example.org", ca.issuer_root)

    assert isinstance(served_key(httpd, "dual.example.org", "ECDHE-ECDSA-AES128-GCM-SHA256"),
                      ec.EllipticCurvePublicKey)
    assert isinstance(served_key(httpd, "dual.example.org", "ECDHE-RSA-AES128-GCM-SHA256"),
                      rsa.RSAPublicKey)


def test_310_bad_key_spec_fails_start(httpd):
    httpd.write_config("MDPrivateKeys RSA 1024\n" + httpd.md_config({"k.example.org": []}))
    r = httpd.apachectl("-t")
    assert r.returncode != 0
    assert "MDPrivateKeys" in r.stdout + r.stderr
    assert "2048" in r.stdout + r.stderr


@pytest.mark.expect_log("AH12151")
def test_310_staged_set_with_wrong_key_is_refused(httpd, ca):
    name = "staged.example.org"
    httpd.write_config(httpd.md_config({name: []}))
    httpd.start()
    httpd.wait_md_ready([name], timeout=120)
    staging = httpd.store_dir / "staging" / name
    # swap the staged key for one that does not belong to the certificate (same encryption)
    other = httpd.store_dir / "accounts"
    acct_key = next(other.glob("*/account.pem"), None)
    if acct_key is None:
        # a freshly made account sits in staging until activation
        acct_key = staging / "account.pem"
    shutil.copy(acct_key, staging / "privkey.pem")
    mark = httpd.log_size()
    httpd.graceful()
    text = httpd.log_text(since=mark)
    assert "AH12151" in text and "does not match its key" in text
    # still the fallback: the refused set did not go live
    status, _, _ = httpd.curl(name, insecure=True)
    assert status == 503
    assert harness.is_self_signed(httpd.peer_chain(name))
    assert not (httpd.store_dir / "domains" / name / "pubcert.pem").exists()
