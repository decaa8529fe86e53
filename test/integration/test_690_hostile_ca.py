"""A hostile CA (issue #15, item 4): one Apache with one MD per misbehaviour of
test/tools/hostile_ca.py (each MD has its own CA: a front in front of pebble that answers with
invalid JSON, a 200 MB body, 16 MB of headers, a body at 1 byte/s, a redirect loop, 500 for ever, JSON nested
100000 deep, a directory without newOrder, challenge tokens with '../' or '/', a chain of 10000
or of 100 extra certificates) and one MD at the real pebble.

For each hostile CA: that MD's renewal fails with a log line naming the cause (AH12300), the
MD is served with its fallback certificate (503), the good MD gets its certificate, the server
keeps answering, and the watchdog child's peak RSS stays far below the 200 MB body (response
bodies are capped at 1 MiB, docs/robustness.md). The slow body ends at the client's 60 s
request timeout.
"""

import re
import sys

import pytest

import harness

sys.path.insert(0, str(harness.REPO / "test" / "tools"))
from hostile_ca import HostileFront  # noqa: E402

# mode -> what the failure line must say
CAUSES = {
    "invalid-json": r"/dir is not an ACME directory \(no JSON object: unexpected token",
    "huge-body": r"GET \S+/dir: response body larger than 1048576 bytes",
    "huge-headers": r"GET \S+/dir: response headers larger than 262144 bytes",
    "slow-body": r"GET \S+/dir: Operation timed out after 6\d{4} milliseconds",
    "redirect-loop": r"/dir is not an ACME directory \(HTTP status 302\)",
    "error-500": r"the ACME CA at \S+/dir answered HTTP status 500",
    "deep-json": r"/dir is not an ACME directory \(no JSON object: maximum parsing depth",
    "no-neworder": r"/dir is not an ACME directory \(it lacks newNonce, newAccount or newOrder",
    "token-dotdot": r"the CA sent an invalid http-01 token for token-dotdot\.\S+ \(RFC 8555 "
                    r"8\.1: base64url",
    "token-slash": r"the CA sent an invalid http-01 token for token-slash\.\S+ \(RFC 8555 "
                   r"8\.1: base64url",
    "long-chain": r"POST \S+/certZ/\S+: response body larger than 1048576 bytes",
    "many-certs": r"comes in a chain of 102 certificates, more than the 10",
}
GOOD = "good.hostile.example.org"
RSS_LIMIT_KB = 150 * 1024


def md_name(mode):
    return f"{mode}.hostile.example.org"


@pytest.fixture
def fronts(ca):
    started = {m: HostileFront(m, ca.port, ca.cert, ca.key).start() for m in CAUSES}
    yield started
    for f in started.values():
        f.stop()


def peak_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1])
    except FileNotFoundError:
        pass
    return 0


@pytest.mark.expect_log("AH12300")
def test_690_hostile_cas(httpd, ca, fronts):
    conf = "MDRetryDelay 10m\n"
    for mode, front in fronts.items():
        name = md_name(mode)
        conf += (f"<MDomain {name}>\n  MDCertificateAuthority {front.directory_url}\n"
                 f"</MDomain>\n" + httpd.md_vhosts(name))
    conf += f"MDomain {GOOD}\n" + httpd.md_vhosts(GOOD)
    httpd.write_config(conf)
    httpd.start()
    httpd.wait_md_ready([GOOD])
    lines = {}
    for mode in CAUSES:
        name = md_name(mode)
        lines[mode] = httpd.wait_log(r"AH12300: " + re.escape(name) + r": renewal failed",
                                     timeout=150)[0]
        print(mode, lines[mode][:600])
    peaks = {pid: peak_rss_kb(pid) for pid in [httpd.pid()] + httpd._children(httpd.pid())}
    print("peak RSS (kB)", peaks)
    assert max(peaks.values()) < RSS_LIMIT_KB, peaks
    for mode, cause in CAUSES.items():
        assert re.search(cause, lines[mode]), (mode, lines[mode][:600])
        st, _, _ = httpd.curl(md_name(mode), insecure=True)
        assert st == 503, mode
    # the server serves on: the good MD after a restart, the others with their fallback
    httpd.graceful()
    httpd.verify_served(GOOD, ca.issuer_root)
    assert fronts["huge-body"].bytes_sent < 64 * 1024 * 1024
    assert fronts["huge-headers"].bytes_sent < 8 * 1024 * 1024
    # 500 for ever: the job gave up, it did not hammer the CA
    assert len(fronts["error-500"].snapshot()["requests"]) < 10
    # nothing of the hostile CAs reached a served certificate or the store's domains
    for mode in CAUSES:
        for group in ("domains", "staging"):
            assert not list((httpd.store_dir / group).glob(f"{md_name(mode)}/pubcert*")), mode
