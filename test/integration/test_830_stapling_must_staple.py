"""MDMustStaple on with MDStapling on: once a response exists, every handshake that asks for
one gets it stapled (many handshakes over fresh connections, so all children and threads), also
after a restart and a graceful restart while the responder is down (from the store).

Pebble does not copy the TLS Feature (must-staple) from the CSR into the certificate (Let's
Encrypt did); that the CSR asks for it is tested in test_120. Here the test reports whether the
served certificate has it and checks the staple either way: the module staples the same for both.
"""

import pytest
from cryptography import x509
from cryptography.x509 import ocsp

import harness
from test_800_stapling import wait_status

MD = "muststaple.example.org"
HANDSHAKES = 40


def check_all_stapled(h, cert, n):
    """n handshakes, each with a stapled response about 'cert' that says good."""
    for i in range(n):
        der = h.stapled(MD)
        assert der is not None, f"handshake {i + 1} of {n}: no OCSP response stapled"
        resp = ocsp.load_der_ocsp_response(der)
        assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert resp.serial_number == cert.serial_number
        assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD


@pytest.mark.expect_log("AH12805")
def test_830_must_staple_every_handshake(httpd_factory, ca_factory, scratch):
    responder = harness.OCSPResponder(scratch / "ocsp-830")
    ca = ca_factory({}, ocsp_url=responder.url)
    responder.start(ca)
    try:
        h = httpd_factory(ca=ca, name="httpd-830")
        h.write_config(f"MDStapling on\n<MDomain {MD}>\n  MDMustStaple on\n</MDomain>\n"
                       + h.md_vhosts(MD))
        h.start()
        h.wait_md_ready([MD], timeout=120)
        h.graceful()
        wait_status(h, MD, "good")
        cert = h.peer_chain(MD)
        try:
            feature = cert.extensions.get_extension_for_class(x509.TLSFeature).value
            print(f"certificate TLS Feature: {list(feature)}")
        except x509.ExtensionNotFound:
            print("pebble did not copy the TLS Feature into the certificate")
        check_all_stapled(h, cert, HANDSHAKES)

        responder.stop()
        h.stop()
        h.start()
        check_all_stapled(h, cert, HANDSHAKES)
        h.graceful()
        check_all_stapled(h, cert, HANDSHAKES)
    finally:
        responder.stop()
