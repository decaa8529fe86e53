"""OCSP stapling (MDStapling): a pebble whose certificates name a local OCSP responder
(test/tools/ocsp_responder.py, signing with pebble's intermediate), two MDs get certificates,
and then: a good response is stapled (openssl s_client -status) and stored in the stock
format; with the responder stopped handshakes still get the stored response, also after a
restart; responses are renewed inside MDStaplingRenewWindow; MDStapleOthers decides about
static certificates (SSLCertificateFile); a certificate without responder URL is skipped with
one info line.

The tests share one server (module scope) and run in file order.
"""

import json
import re
import shutil
import subprocess
import time

import pytest

import harness

MD = "one.example.org"
STATIC = "static.example.org"


def s_client_status(h, name):
    """The OCSP part of 'openssl s_client -status' for SNI 'name': 'none' when nothing was
    stapled, else the cert status ('good', 'revoked', ...)."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{h.https_port}",
                        "-servername", name, "-status"],
                       input="", capture_output=True, text=True, timeout=20)
    out = r.stdout
    if "OCSP response: no response sent" in out:
        return "none"
    m = re.search(r"Cert Status: (\w+)", out)
    assert m, out
    return m.group(1)


def wait_status(h, name, want, timeout=30):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = s_client_status(h, name)
        if got == want:
            return got
        time.sleep(0.5)
    raise AssertionError(f"{name}: OCSP status {got!r}, not {want!r}, after {timeout}s:\n"
                         + h.log_tail())


def sha1_of(h, name):
    return h.peer_chain(name).fingerprint(harness.hashes.SHA1()).hex()


@pytest.fixture(scope="module")
def env(scratch, ports, module, ca_factory):
    responder = harness.OCSPResponder(scratch / "ocsp-800")
    ca = ca_factory({}, ocsp_url=responder.url)
    responder.start(ca)
    try:
        with harness.module_server(scratch / "httpd-800", ports, ca, module,
                                   expected=("AH12805",)) as h:
            h.stapling_conf = "MDStapling on\n"
            h.write_config(h.stapling_conf + h.md_config({MD: [], STATIC: []}))
            h.start()
            h.wait_md_ready([MD, STATIC], timeout=120)
            h.graceful()
            yield h, ca, responder
    finally:
        responder.stop()


def test_800_good_stapled(env):
    h, ca, responder = env
    assert wait_status(h, MD, "good") == "good"
    assert any(ln.endswith(" good") for ln in responder.answers())


def test_800_server_status(env):
    """server-status lists each stapled certificate (HTML table and ?auto lines)."""
    h, ca, responder = env
    wait_status(h, MD, "good")
    h.write_config(h.stapling_conf + h.md_config({MD: [], STATIC: []})
                   + f"LoadModule status_module {harness.APACHE_MODULES / 'mod_status.so'}\n"
                   "MDServerStatus on\n"
                   "<Location /server-status>\n  SetHandler server-status\n</Location>\n")
    h.graceful()
    status, body, _ = h.curl("localhost", "/server-status?auto", https=False)
    assert status == 200
    kv = dict(ln.split(": ", 1) for ln in body.splitlines() if ": " in ln)
    assert kv["ManagedStaplingsTotal"] == "2"
    assert kv["ManagedStaplingsOK"] == "2"
    assert kv["ManagedStaplingsErrored"] == "0"
    line = kv[f"ManagedStapling-{MD}-{sha1_of(h, MD)}"]
    assert line.startswith("status=good valid-until=20") and "errors=0" in line
    assert f"responder={responder.url}" in line
    # the stock module's keys, for the stapled certificate of the MD
    index = [k for k, v in kv.items()
             if re.fullmatch(r"ManagedStapling\[\d+\]CertificateID", k) and v == sha1_of(h, MD)]
    assert len(index) == 1
    prefix = index[0][:-len("CertificateID")]
    assert kv[prefix + "Domain"] == MD
    assert kv[prefix + "OCSPStatus"] == "good"
    assert kv[prefix + "ResponderURL"] == responder.url
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", kv[prefix + "StaplingValidUntil"])
    assert int(kv[prefix + "ActivityRefresh"]) >= 0
    status, body, _ = h.curl("localhost", "/server-status", https=False)
    assert status == 200
    assert "<h3>Managed Staplings</h3>" in body
    row = re.search(r'<tr class="\w+"><td>' + re.escape(MD) + r"</td><td>" + sha1_of(h, MD)
                    + r"</td>.*?</tr>", body).group(0)
    assert "<td>good</td>" in row and responder.url in row


def test_800_stored_in_stock_format(env):
    h, ca, responder = env
    wait_status(h, MD, "good")
    f = h.store_dir / "ocsp" / MD / f"ocsp-{sha1_of(h, MD)}.json"
    data = json.loads(f.read_text())
    assert data["status"] == "good"
    assert data["response"] and "=" not in data["response"]
    assert "GMT" in data["valid"]["from"] and "GMT" in data["valid"]["until"]


@pytest.mark.expect_log("AH12805")
def test_800_responder_down_still_stapled(env):
    h, ca, responder = env
    wait_status(h, MD, "good")
    responder.stop()
    try:
        t0 = time.monotonic()
        assert s_client_status(h, MD) == "good"
        down = time.monotonic() - t0
        # and after a restart from the store alone
        h.stop()
        h.start()
        assert s_client_status(h, MD) == "good"
        print(f"handshake with responder down: {down:.3f}s")
    finally:
        responder.start(ca)


def test_800_renewed_in_window(env):
    h, ca, responder = env
    # short-lived responses: renewed when a third of their 20s is left
    responder.stop()
    responder.validity = 20
    responder.start(ca)
    f = h.store_dir / "ocsp" / MD / f"ocsp-{sha1_of(h, MD)}.json"
    h.write_config("MDStapling on\nMDStaplingRenewWindow 33%\n"
                   + h.md_config({MD: [], STATIC: []}))
    # the stored response is an hour long: drop it so the first 20s one is fetched
    f.unlink()
    h.stop()
    h.start()
    n0 = len(responder.answers())
    deadline = time.monotonic() + 90
    contents = set()
    while time.monotonic() < deadline and len(contents) < 3:
        if f.exists():
            contents.add(json.loads(f.read_text())["response"])
        time.sleep(0.5)
    assert len(contents) >= 3, "responses were not renewed"
    assert len(responder.answers()) - n0 >= 3
    assert s_client_status(h, MD) == "good"


def test_800_staple_others(env):
    h, ca, responder = env
    # static.example.org becomes a plain vhost with the certificate files copied out
    conf = h.root / "conf"
    shutil.copy(h.store_dir / "domains" / STATIC / "pubcert.pem", conf / "static.pem")
    shutil.copy(h.store_dir / "domains" / STATIC / "privkey.pem", conf / "static.key")
    static_vhost = f"""<VirtualHost 127.0.0.1:{h.https_port}>
    ServerName {STATIC}
    SSLEngine on
    SSLCertificateFile {conf / 'static.pem'}
    SSLCertificateKeyFile {conf / 'static.key'}
</VirtualHost>
"""
    h.write_config("MDStapling on\nMDStapleOthers off\n" + h.md_config({MD: []})
                   + static_vhost)
    h.stop()
    h.start()
    wait_status(h, MD, "good")
    assert s_client_status(h, STATIC) == "none"
    assert not (h.store_dir / "ocsp" / "other").exists()
    h.write_config("MDStapling on\n" + h.md_config({MD: []}) + static_vhost)
    h.stop()
    h.start()
    wait_status(h, STATIC, "good")
    assert (h.store_dir / "ocsp" / "other" / f"ocsp-{sha1_of(h, STATIC)}.json").is_file()
