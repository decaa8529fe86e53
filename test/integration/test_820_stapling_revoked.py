"""OCSP stapling of a revoked certificate: pebble revokes the MD's certificate (ACME revokeCert,
RFC 8555 7.6, signed with the certificate's key), the local responder then answers "revoked".
The module logs the error (AH12806), md-status shows "revoked" under "ocsp", `openssl s_client
-status` shows the revoked staple, and a renewal of the ACME-managed certificate starts at once
(AH12810, then AH10059 for the new certificate) although MDCheckInterval is long; after a
graceful restart the new certificate is served with a "good" staple.
"""

import json
import re

import pytest

import harness
from test_800_stapling import s_client_status, wait_status

MD = "revoked.example.org"

pytestmark = pytest.mark.skipif(harness.is_stock(),
                                reason="log ids and the renewal on revocation are ours")


def md_status(h):
    status, body, err = h.curl("localhost", f"/md-status/{MD}", https=False)
    assert status == 200, (status, body, err)
    return json.loads(body)


@pytest.mark.expect_log("AH12806")
def test_820_revoked(httpd_factory, ca_factory, scratch):
    responder = harness.OCSPResponder(scratch / "ocsp-820", validity=20)
    ca = ca_factory({}, ocsp_url=responder.url)
    responder.start(ca)
    try:
        h = httpd_factory(ca=ca, name="httpd-820")
        # a long check interval: the renewal after the revocation must not wait for it
        h.write_config("MDStapling on\nMDCheckInterval 1d\n" + h.md_config({MD: []})
                       + "<Location /md-status>\n  SetHandler md-status\n</Location>\n")
        h.start()
        h.wait_md_ready([MD], timeout=120)
        h.graceful()
        wait_status(h, MD, "good")
        old = h.peer_chain(MD)
        domain = h.store_dir / "domains" / MD
        mark = h.log_size()
        ca.revoke((domain / "pubcert.pem").read_text(), (domain / "privkey.pem").read_text())

        # the next response (renewed within the 20s lifetime) says revoked
        wait_status(h, MD, "revoked", timeout=60)
        assert any(ln == f"ocsp {old.serial_number:x} revoked" for ln in responder.answers())
        h.wait_log(rf"\[md:error\].*AH12806: {re.escape(MD)}: .* is REVOKED", since=mark)
        entries = md_status(h)["ocsp"]
        assert [e["status"] for e in entries] == ["revoked"], entries

        # the renewal starts at once and gets a new certificate
        h.wait_log(rf"AH12810: {re.escape(MD)}: certificate revoked, renewal is due now",
                   since=mark, timeout=30)
        h.wait_md_ready([MD], timeout=120, since=mark)
        h.graceful()
        new = h.peer_chain(MD)
        assert new.serial_number != old.serial_number
        wait_status(h, MD, "good", timeout=60)
        assert s_client_status(h, MD) == "good"
    finally:
        responder.stop()
