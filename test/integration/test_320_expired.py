"""An expired certificate keeps being served until its replacement is there: the module does not
throw anything away because a clock says so. The MD is due at once, gets a new certificate in the
background, and the graceful restart switches to it."""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAME = "expired.example.org"


def write_expired_set(domain_dir):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=90))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
            .sign(key, hashes.SHA256()))
    domain_dir.mkdir(parents=True)
    os.chmod(domain_dir.parent, 0o700)
    os.chmod(domain_dir, 0o700)
    (domain_dir / "pubcert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile = domain_dir / "privkey.pem"
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    os.chmod(keyfile, 0o600)
    return cert


def test_320_expired_cert_served_until_replaced(httpd, ca):
    expired = write_expired_set(httpd.store_dir / "domains" / NAME)
    httpd.write_config(httpd.md_config({NAME: []}))
    httpd.start()
    # served at once (not the fallback, no 503), although it is expired
    assert httpd.peer_chain(NAME).serial_number == expired.serial_number
    status, _, err = httpd.curl(NAME, insecure=True)
    assert status == 200, err
    # and renewed in the background
    httpd.wait_md_ready([NAME], timeout=120)
    assert httpd.peer_chain(NAME).serial_number == expired.serial_number
    httpd.graceful()
    httpd.verify_served(NAME, ca.issuer_root)
    assert httpd.peer_chain(NAME).serial_number != expired.serial_number
    # the expired set went to the archive, not away
    assert (httpd.store_dir / "archive" / f"{NAME}.1" / "pubcert.pem").read_bytes() == \
        expired.public_bytes(serialization.Encoding.PEM)
