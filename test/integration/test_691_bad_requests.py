"""Bad challenge requests (issue #15, item 5). Two MDs, X and Y, each with a pending http-01
answer in the store (written by the test, as a renewal job would: challenges/<name>/
acme-http-01.txt holds "<token>.<thumbprint>"). The CA never answers (a black hole), so no job
changes them.

- http-01: only the exact token of a host's own pending answer is answered. Paths with '../',
  '%2e%2e', '%00', a 10 kB token, another MD's token on this MD's host, or this MD's token on
  a host that is no MD: never an answer, never a file of the store. (The stock module, run with
  MD_MODULE=stock, answers any well-formed token on a host with that host's own answer; never
  another host's.)
- tls-alpn-01: a handshake that asks for acme-tls/1 for a name the module does not manage (or
  one without a pending challenge) gets no challenge certificate, and acme-tls/1 is not
  negotiated (the stock module negotiates it and then serves HTTP over it).
"""

import socket
import ssl

import pytest
from cryptography import x509

import harness

X, Y = "bad-x.example.org", "bad-y.example.org"
TOKEN_X = "Xtok-" + "a" * 38
TOKEN_Y = "Ytok-" + "b" * 38
THUMB = "T" * 43
ACME_ID_OID = "1.3.6.1.5.5.7.1.31"
PREFIX = "/.well-known/acme-challenge/"


@pytest.fixture
def server(blackhole, httpd):
    httpd.ca = blackhole
    (httpd.root / "htdocs" / "secret.txt").write_text("docroot-secret\n")
    vhosts = "".join(httpd.md_vhosts(n).replace(
        "    SSLEngine on\n", "    SSLEngine on\n    Protocols http/1.1 acme-tls/1\n")
        for n in (X, Y))
    httpd.write_config(f"MDomain {X}\nMDomain {Y}\n" + vhosts)
    for name, token in ((X, TOKEN_X), (Y, TOKEN_Y)):
        d = httpd.store_dir / "challenges" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "acme-http-01.txt").write_text(f"{token}.{THUMB}")
    httpd.start()
    for d in [httpd.store_dir] + list(httpd.store_dir.rglob("*")):
        d.chmod(0o755 if d.is_dir() else 0o644)
    return httpd


def raw_get(h, host, path):
    """(status, body) of a GET sent as written (no client-side normalization)."""
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", h.http_port), timeout=10) as s:
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


def test_691_http01_only_pending_answers(server):
    h = server
    # the pending answers themselves (the test can see an answer)
    assert raw_get(h, X, PREFIX + TOKEN_X) == (200, f"{TOKEN_X}.{THUMB}".encode())
    assert raw_get(h, Y, PREFIX + TOKEN_Y) == (200, f"{TOKEN_Y}.{THUMB}".encode())
    bad = [
        (X, PREFIX + TOKEN_Y),                      # Y's token on X's host
        (Y, PREFIX + TOKEN_X),                      # X's token on Y's host
        ("other.example.org", PREFIX + TOKEN_X),    # no MD
        ("localhost", PREFIX + TOKEN_X),
        (X, PREFIX + TOKEN_X + "x"),
        (X, PREFIX + TOKEN_X[:-1]),
        (X, PREFIX + TOKEN_X + "/"),
        (X, PREFIX + TOKEN_X + "%00"),
        (X, PREFIX + TOKEN_X + "%00.txt"),
        (X, PREFIX + "%00" + TOKEN_X),
        (X, PREFIX + TOKEN_X + "/../" + TOKEN_X),
        (X, PREFIX + "../" + TOKEN_X),
        (X, PREFIX + "../../secret.txt"),
        (X, PREFIX + "%2e%2e/%2e%2e/secret.txt"),
        (X, PREFIX + "%2e%2e%2f%2e%2e%2fsecret.txt"),
        (X, PREFIX + "..%2f..%2fmd%2fchallenges%2f" + X + "%2facme-http-01.txt"),
        (X, PREFIX + "../../../md/challenges/" + X + "/acme-http-01.txt"),
        (X, PREFIX + "%2E%2E%5C" + TOKEN_X),
        (X, PREFIX + "a" * 10240),
        (X, PREFIX + TOKEN_X + "a" * 10240),
        (X, PREFIX),
        (X, PREFIX + "."),
        (X + ".", PREFIX + TOKEN_Y),
        (X.upper(), PREFIX + TOKEN_Y),
    ]
    for host, path in bad:
        status, body = raw_get(h, host, path)
        if harness.is_stock() and THUMB.encode() in body and host.lower().rstrip(".") in (X, Y):
            # the stock module answers any token on a host with that host's own pending answer
            own = TOKEN_X if host.lower().startswith(X) else TOKEN_Y
            assert body == f"{own}.{THUMB}".encode(), (host, path, status)
            continue
        assert THUMB.encode() not in body, (host, path, status)
        assert status != 200 or body == b"docroot-secret\n", (host, path, status)
    # an upper case host is the same host: its own token is answered
    assert raw_get(h, X.upper(), PREFIX + TOKEN_X)[0] == 200
    h.check_log()


def alpn_probe(h, name):
    """Handshake asking only for acme-tls/1 with SNI 'name': None when refused, else (ALPN
    protocol, has acmeIdentifier, what a request on the connection got)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["acme-tls/1"])
    try:
        with socket.create_connection(("127.0.0.1", h.https_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                cert = x509.load_der_x509_certificate(s.getpeercert(binary_form=True))
                has_id = any(e.oid.dotted_string == ACME_ID_OID for e in cert.extensions)
                proto = s.selected_alpn_protocol()
                try:
                    s.sendall(f"GET /secret.txt HTTP/1.1\r\nHost: {name}\r\n\r\n".encode())
                    got = s.recv(4096)
                except (OSError, ssl.SSLError):
                    got = b""
                return proto, has_id, got
    except (ssl.SSLError, ConnectionError):
        return None


def test_691_tls_alpn01_refused(server):
    for name in ["not-managed.example.org", X, X.upper(), "localhost", "127.0.0.1",
                 "1.0.0.127.in-addr.arpa", "a" * 63 + ".example.org"]:
        r = alpn_probe(server, name)
        if r is not None:
            proto, has_id, got = r
            assert not has_id, (name, r)
            if not harness.is_stock():
                assert proto != "acme-tls/1", (name, r)
    # a name without SNI
    r = alpn_probe(server, None)
    assert r is None or (not r[1] and (harness.is_stock() or r[0] != "acme-tls/1")), r
