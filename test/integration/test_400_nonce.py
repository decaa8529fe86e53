"""Robustness: a CA that rejects half of all nonces (badNonce) still leads to a certificate.
Uses its own pebble with PEBBLE_WFE_NONCEREJECT=50."""

import pytest

NAME = "nonce.example.org"


@pytest.fixture(scope="module")
def nonce_ca(ca_factory):
    return ca_factory({"PEBBLE_WFE_NONCEREJECT": "50"})


def test_400_bad_nonces(httpd_factory, nonce_ca):
    h = httpd_factory(ca=nonce_ca)
    h.write_config(h.md_config({NAME: ["www.nonce.example.org"]}))
    h.start()
    h.wait_md_ready([NAME], timeout=120)
    h.graceful()
    peer = h.verify_served(NAME, nonce_ca.issuer_root)
    assert ("DNS", NAME) in peer["subjectAltName"]
    # pebble does not log each rejection; make sure the setting took effect
    assert nonce_ca.count_lines(r"Configured to reject 50% of good nonces") == 1
