"""Drop-in compatibility of the store with Debian's stock mod_md (2.6), both directions.

The stock module gets certificates from pebble (one RSA MD, one MD with an EC and an RSA
certificate, written in its own file names); Apache is switched to our module over the same
configuration and store: the same certificates are served, the same account is used and pebble
sees no new account or order. Ours then renews one MD (a name is added) with that account, and
the stock module, switched back, serves the certificate ours got and keeps its own md.json
fields. Skipped when the suite itself runs against the stock module.
"""

import json
import re
import shutil
import socket
import ssl

import pytest

from cryptography import x509

import harness

pytestmark = pytest.mark.skipif(harness.is_stock() or not harness.STOCK_MODULE.is_file(),
                                reason="needs our module and Debian's stock mod_md")

ONE = "one.example.org"
TWO = "two.example.org"


def config(h, extra_one=()):
    return (f"MDomain {' '.join([ONE, *extra_one])}\n"
            + h.md_vhosts(ONE, ["www." + ONE, *extra_one])
            + f"<MDomain {TWO}>\n    MDPrivateKeys secp256r1 rsa2048\n</MDomain>\n"
            + h.md_vhosts(TWO))


def served(h, name, ciphers=None):
    """Serial of the certificate served for SNI 'name' (TLS 1.2 with 'ciphers' if given)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", h.https_port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=name) as t:
            return x509.load_der_x509_certificate(t.getpeercert(binary_form=True))


def serials(h):
    return {
        ONE: served(h, ONE).serial_number,
        TWO + "/ec": served(h, TWO, "ECDHE-ECDSA-AES128-GCM-SHA256").serial_number,
        TWO + "/rsa": served(h, TWO, "ECDHE-RSA-AES128-GCM-SHA256").serial_number,
    }


def stored_serials(store):
    out = {}
    for key, path in ((ONE, f"domains/{ONE}/pubcert.pem"),
                      (TWO + "/ec", f"domains/{TWO}/pubcert.secp256r1.pem"),
                      (TWO + "/rsa", f"domains/{TWO}/pubcert.pem")):
        out[key] = x509.load_pem_x509_certificate((store / path).read_bytes()).serial_number
    return out


def ca_writes(ca, mark):
    return [ln for ln in ca.requests_since(mark)
            if re.search(r"POST /(sign-me-up|order-plz|finalize-order|chalZ)", ln)]


def switch(h, module):
    h.stop()
    h.module = module
    h.write_config(config(h, h.extra_one))


@pytest.fixture(scope="module")
def server(scratch, ports, module, ca):
    root = scratch / "httpd-stock-switch"
    shutil.rmtree(root, ignore_errors=True)
    h = harness.Httpd(root, ports[0], ports[1], ca=ca, module=harness.STOCK_MODULE)
    h.extra_one = ()
    h.write_config(config(h))
    yield h
    h.stop()
    # the stock module, stopped while its background job talks to the CA, logs the aborted
    # connection (ECONNABORTED, 103) without an AH id: that is the stop, not a problem (a stock
    # child's SIGSEGV at a stop is tolerated by log_problems, see there)
    bad = [ln for ln in h.log_problems(since=0) if "(103)Software caused connection abort" not in ln]
    if not bad:
        shutil.rmtree(root, ignore_errors=True)
    assert not bad, "unexpected warnings/errors in error log:\n" + "\n".join(bad)


def test_600_stock_gets_certificates(server, ca):
    server.start()
    server.wait_md_ready([ONE, TWO], timeout=120)
    server.graceful()
    got = serials(server)
    assert got == stored_serials(server.store_dir)
    for name in (ONE, TWO):
        assert not harness.is_self_signed(served(server, name))
    server.stock_serials = got
    server.stock_md = {n: json.loads((server.store_dir / "domains" / n / "md.json").read_text())
                       for n in (ONE, TWO)}
    accounts = [p.name for p in (server.store_dir / "accounts").iterdir()]
    assert len(accounts) == 1
    server.account = accounts[0]


def test_600_ours_takes_over(server, ca, module):
    switch(server, module)
    mark = ca.log_mark()
    log_mark = server.log_size()
    server.start()
    assert serials(server) == server.stock_serials
    server.verify_served(ONE, ca.issuer_root)
    server.verify_served(TWO, ca.issuer_root)
    # let the background job run its (needless) course, then a restart for good measure
    server.graceful()
    assert serials(server) == server.stock_serials
    assert not ca_writes(ca, mark), "our module talked to the CA:\n" + "\n".join(
        ca_writes(ca, mark))
    assert "AH10059" not in server.log_text(log_mark)
    for n in (ONE, TWO):
        md = json.loads((server.store_dir / "domains" / n / "md.json").read_text())
        # fields only the stock module knows stay as they were
        for key, val in server.stock_md[n].items():
            if key not in ("privkey", "ca"):
                assert md.get(key) == val, (n, key)
        assert md["ca"]["account"] == server.account
        assert md["ca"]["urls"] == server.stock_md[n]["ca"]["urls"]
    assert not list((server.store_dir / "archive").glob(f"{ONE}.2")), "live set was archived"


def test_600_ours_renews_with_stock_account(server, ca, module):
    server.extra_one = ("new.one.example.org",)
    server.write_config(config(server, server.extra_one))
    mark = ca.log_mark()
    log_mark = server.log_size()
    server.graceful()
    server.wait_md_ready([ONE], since=log_mark, timeout=120)
    server.graceful()
    cert = served(server, "new.one.example.org")
    assert "new.one.example.org" in harness.cert_sans(cert)
    assert not any("sign-me-up" in ln for ln in ca.requests_since(mark)), "new account made"
    assert [p.name for p in (server.store_dir / "accounts").iterdir()] == [server.account]
    md = json.loads((server.store_dir / "domains" / ONE / "md.json").read_text())
    assert md["ca"]["account"] == server.account
    assert md.get("ari-renewals") == server.stock_md[ONE].get("ari-renewals")
    server.ours_serials = serials(server)


def test_600_stock_serves_ours(server, ca):
    switch(server, harness.STOCK_MODULE)
    mark = ca.log_mark()
    server.start()
    assert serials(server) == server.ours_serials
    server.verify_served("new.one.example.org", ca.issuer_root)
    server.graceful()
    assert serials(server) == server.ours_serials
    assert not ca_writes(ca, mark), "the stock module ordered again:\n" + "\n".join(
        ca_writes(ca, mark))
    server.stop()  # the ports are needed by the next test


def test_600_fallback_files_both_ways(blackhole, httpd_factory, module):
    """Without a certificate each module serves a fallback: ours (shared key at the top of the
    store), then the stock module over that store (its per-MD key in domains/<md>/), then ours
    again with the stock module's per-MD pair. Every start works and serves a matching pair."""
    name = "fb.example.org"
    h = httpd_factory(ca=blackhole)
    body = h.md_config({name: []})
    mddir = h.store_dir / "domains" / name
    for mod in (module, harness.STOCK_MODULE, module, harness.STOCK_MODULE):
        h.module = mod
        h.write_config(body)
        r = h.start()
        assert r.returncode == 0, r.stderr
        cert = h.peer_chain(name)
        assert harness.is_self_signed(cert)
        assert name in harness.cert_sans(cert)
        assert (mddir / "fallback-pubcert.pem").is_file()
        h.stop()
    # the stock module's per-MD key is used by ours, not replaced
    assert (mddir / "fallback-privkey.pem").is_file()
