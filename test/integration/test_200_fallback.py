"""Start-up without a certificate: the start never waits for the CA, the MD is served with a
self-signed fallback certificate, https requests get 503, and the http-01 challenge path only
answers known tokens.

The CA here is a black hole (accepts TCP, never answers), so the background job cannot finish
while the test looks at the server.
"""

import os
import ssl
import time

import pytest

import harness

NAME = "fallback.example.org"
ALIAS = "www.fallback.example.org"


@pytest.fixture
def server(blackhole, httpd_factory):
    # the blackhole (conftest) outlives the server, or the module would log a connection abort
    h = httpd_factory(ca=blackhole)
    h.write_config(h.md_config({NAME: [ALIAS]}))
    t0 = time.monotonic()
    h.start()
    h.start_seconds = time.monotonic() - t0
    yield h
    h.stop()


def test_200_start_is_quick(server):
    # the start must not wait for the (unresponsive) CA
    assert server.start_seconds < 10


def test_200_https_503_with_fallback_cert(server, ca):
    for name in (NAME, ALIAS):
        status, _, err = server.curl(name, insecure=True)
        assert status == 503, err
        cert = server.peer_chain(name)
        assert harness.is_self_signed(cert), cert.issuer
        assert NAME in harness.cert_sans(cert)
        with pytest.raises(ssl.SSLError):
            server.verify_served(name, ca.issuer_root)


def test_200_http_still_served(server):
    status, body, _ = server.curl(NAME, https=False)
    assert status == 200
    assert "mod_md test" in body


def test_200_store_created(server):
    store = server.store_dir
    assert (store / "md_store.json").is_file()
    assert (store / "domains" / NAME / "fallback-pubcert.pem").is_file()
    assert ((store / "fallback-privkey.pem").is_file()
            or (store / "domains" / NAME / "fallback-privkey.pem").is_file())
    assert (store / "domains" / NAME / "md.json").is_file()
    for sub in ("accounts", "challenges", "domains", "staging"):
        assert (store / sub).is_dir(), sub


@pytest.mark.parametrize("path", [
    "/.well-known/acme-challenge/unknowntoken",
    "/.well-known/acme-challenge/",
    "/.well-known/acme-challenge/../../md/md_store.json",
    "/.well-known/acme-challenge/..%2f..%2fmd_store.json",
    "/.well-known/acme-challenge/%2e%2e/%2e%2e/md_store.json",
    "/.well-known/acme-challenge/..",
    "/.well-known/acme-challenge/a/../b",
])
def test_200_challenge_path_404(server, path):
    key = (server.store_dir / "md_store.json").read_text()
    for name in (NAME, ALIAS, "unknown.example.org"):
        status, body, err = server.curl(name, path, https=False)
        assert status == 404, f"{name}{path}: {status} {err}"
        assert key not in body


def test_200_store_dir_relative_to_server_root(blackhole, httpd_factory):
    h = httpd_factory(ca=blackhole)
    h.write_config("MDStoreDir md-custom\n" + h.md_config({NAME: []}))
    h.start()
    try:
        _check_custom_store(h)
    finally:
        h.stop()


def _check_custom_store(h):
    assert (h.root / "md-custom" / "md_store.json").is_file()
    assert not h.store_dir.exists()
    status, _, _ = h.curl(NAME, insecure=True)
    assert status == 503


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership only changes when started as root")
def test_200_store_dirs_owned_by_run_user(server):
    import pwd
    uid = pwd.getpwnam(harness.RUN_USER).pw_uid
    for sub in ("challenges", "staging"):
        assert (server.store_dir / sub).stat().st_uid == uid, sub
