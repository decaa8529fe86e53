"""An expired certificate keeps being served until its replacement is there: the module does not
throw anything away because a clock says so. The MD is due at once, gets a new certificate in the
background, and the graceful restart switches to it."""


from cryptography.hazmat.primitives import serialization

import harness

NAME = "expired.example.org"


def test_320_expired_cert_served_until_replaced(httpd, ca):
    expired = harness.write_domain_set(httpd.store_dir / "domains" / NAME, NAME, -90, -1)
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
