"""Getting certificates: three MDs at once (one with a ServerAlias, one with two names in
MDomain) are set up in the background over http-01, AH10059 is logged for each, and after a
graceful restart every name is served with the new certificate and its chain, verified against
pebble's issuing root. Then the store's layout and permissions, and a second start that serves
from the store without talking to the CA.

The tests share one server (module scope) and run in file order.
"""

import base64
import json
import os
import pwd
import re
import time

import pytest

import harness

DOMAINS = {
    # MD name: (names in MDomain, aliases of its vhost)
    "one.example.org": ([], ["www.one.example.org"]),
    "two.example.org": ([], []),
    "three.example.org": (["alt.three.example.org"], []),
}


def all_names(md):
    """Names the certificate of 'md' must cover."""
    extra, aliases = DOMAINS[md]
    return sorted({md, *extra, *aliases})


def served_names(md):
    """Names a vhost answers for (ServerName, ServerAlias): what SNI can select."""
    _, aliases = DOMAINS[md]
    return [md, *aliases]


@pytest.fixture(scope="module")
def server(scratch, ports, module, ca):
    with harness.module_server(scratch / "httpd-issue", ports, ca, module) as h:
        body = []
        for md, (extra, aliases) in DOMAINS.items():
            body.append(f"MDomain {' '.join([md, *extra])}\n")
            body.append(h.md_vhosts(md, aliases))
        h.write_config("".join(body))
        h.ready_seconds = h.start_and_issue(DOMAINS.keys())
        yield h


def test_300_all_ready(server):
    # the fixture waited for AH10059 for each MD; it is logged once per MD
    text = server.log_text()
    for md in DOMAINS:
        hits = re.findall(r"AH10059: The Managed Domain " + re.escape(md) + r" has been setup "
                          r"and changes will be activated on next \(graceful\) server restart",
                          text)
        assert len(hits) == 1, (md, hits)


@pytest.mark.parametrize("name", [n for md in DOMAINS for n in served_names(md)])
def test_300_served_cert_verified(server, ca, name):
    md = next(m for m in DOMAINS if name in served_names(m))
    # verification against the root alone proves the intermediate was sent along
    peer = server.verify_served(name, ca.issuer_root)
    sans = sorted(v for k, v in peer["subjectAltName"] if k == "DNS")
    assert sans == all_names(md)
    cert = server.peer_chain(name)
    assert not harness.is_self_signed(cert)
    assert "Pebble" in harness.cert_issuer_cn(cert)


def test_300_https_200(server, ca):
    for md in DOMAINS:
        status, body, err = server.curl(md, cacert=ca.issuer_root)
        assert status == 200, err
        assert "mod_md test" in body


def test_300_store_layout(server):
    store = server.store_dir
    for f in ("md_store.json",):
        assert (store / f).is_file()
    for sub in ("accounts", "challenges", "domains", "staging", "archive"):
        assert (store / sub).is_dir(), sub
    for md in DOMAINS:
        d = store / "domains" / md
        for f in ("md.json", "privkey.pem", "pubcert.pem"):
            assert (d / f).is_file(), d / f
        # pubcert.pem holds the certificate and its chain
        assert (d / "pubcert.pem").read_text().count("BEGIN CERTIFICATE") >= 2
        assert "PRIVATE KEY" in (d / "privkey.pem").read_text()
        assert not (store / "staging" / md / "pubcert.pem").exists(), "staging not cleaned up"


def test_300_store_permissions(server):
    store = server.store_dir
    assert (store / "md_store.json").stat().st_mode & 0o777 == 0o600
    for md in DOMAINS:
        assert (store / "domains" / md / "privkey.pem").stat().st_mode & 0o777 == 0o600
    assert (store / "domains").stat().st_mode & 0o077 == 0, "domains/ open to others"


def test_300_store_key(server):
    data = json.loads((server.store_dir / "md_store.json").read_text())

    def strings(v):
        if isinstance(v, dict):
            for x in v.values():
                yield from strings(x)
        elif isinstance(v, list):
            for x in v:
                yield from strings(x)
        elif isinstance(v, str):
            yield v
    keys = []
    for s in strings(data):
        if re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", s):
            try:
                raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
            except ValueError:
                continue
            if len(raw) == 48:
                keys.append(s)
    assert len(keys) == 1, f"no 48-byte base64url key in md_store.json: {list(data)}"


def test_300_account_key_encrypted(server):
    accounts = [p for p in (server.store_dir / "accounts").iterdir() if p.is_dir()]
    assert len(accounts) == 1, accounts
    pems = list(accounts[0].glob("*.pem"))
    assert pems, f"no key file in {accounts[0]}"
    for pem in pems:
        text = pem.read_text()
        assert "ENCRYPTED PRIVATE KEY" in text
        assert "BEGIN PRIVATE KEY" not in text and "BEGIN RSA PRIVATE KEY" not in text
    # no contact configured: ServerAdmin is used
    blob = "".join(p.read_text(errors="replace") for p in accounts[0].iterdir() if p.is_file())
    assert "admin@example.org" in blob


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership only changes when started as root")
def test_300_store_owners(server):
    uid = pwd.getpwnam(harness.RUN_USER).pw_uid
    for sub in ("challenges", "staging"):
        assert (server.store_dir / sub).stat().st_uid == uid, sub
    # keys in domains/ stay with root
    for md in DOMAINS:
        assert (server.store_dir / "domains" / md / "privkey.pem").stat().st_uid == 0


def test_300_restart_serves_from_store(server, ca):
    """A fresh start with the store in place serves the certificates at once and does not
    sign up, order or finalize anything at the CA."""
    server.stop()
    mark = ca.log_mark()
    log_mark = server.log_size()
    server.start()
    for md in DOMAINS:
        for name in served_names(md):
            server.verify_served(name, ca.issuer_root)
    time.sleep(2)   # give the background job the chance to (wrongly) act
    acme = [ln for ln in ca.requests_since(mark)
            if re.search(r"POST /(sign-me-up|order-plz|finalize-order|chalZ)", ln)]
    assert not acme, "CA contacted after restart:\n" + "\n".join(acme)
    assert "AH10059" not in server.log_text(log_mark)
