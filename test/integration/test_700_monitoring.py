"""Monitoring surfaces and events: md-status (all and one MD), server-status (HTML and ?auto),
/.httpd/certificate-status, md-metrics, and MDMessageCmd/MDNotifyCmd with a program that records
its calls. One server (module scope): it gets a certificate, then a graceful restart installs it.
"""

import json
import re

import pytest
from cryptography.hazmat.primitives import hashes

import harness

MD = "mon.example.org"
ALIAS = "www.mon.example.org"
STATUS_MOD = harness.APACHE_MODULES / "mod_status.so"


def write_recorder(root, log, exit_code=0, veto_renewing=False):
    prog = root / "msg.sh"
    veto = 'if [ "$2" = renewing ]; then exit 3; fi\n' if veto_renewing else ""
    prog.write_text(f"#!/bin/sh\necho \"$(id -u) $*\" >> {log}\n{veto}exit {exit_code}\n")
    prog.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    return prog


def status_config(h, extra=""):
    return f"""LoadModule status_module {STATUS_MOD}
MDServerStatus on
{h.md_config({MD: [ALIAS]})}
<Location /md-status>
  SetHandler md-status
</Location>
<Location /md-metrics>
  SetHandler md-metrics
</Location>
<Location /server-status>
  SetHandler server-status
</Location>
MDServerStatus on
{extra}
"""


@pytest.fixture(scope="module")
def server(scratch, ports, module, ca):
    root = scratch / "httpd-monitor"
    with harness.module_server(root, ports, ca, module) as h:
        h.msg_log = root / "msg.log"
        prog = write_recorder(root, h.msg_log)
        h.write_config(status_config(h, f"MDMessageCmd {prog} extra-arg\nMDNotifyCmd {prog}\n"))
        h.start()
        h.wait_md_ready([MD], timeout=120)
        h.staged_status = get_json(h, f"/md-status/{MD}")
        h.wait_log(r"AH12602: .*MDMessageCmd .* for 'renewed' succeeded", timeout=30)
        h.graceful()
        yield h


def get_json(h, path, https=False):
    name = MD if https else "localhost"
    status, body, err = h.curl(name, path, https=https, insecure=True)
    assert status == 200, (path, status, body, err)
    return json.loads(body)


def test_700_md_status_all(server):
    j = get_json(server, "/md-status")
    assert "version" in j
    mds = j["managed-domains"]
    assert [m["name"] for m in mds] == [MD]
    m = mds[0]
    assert sorted(m["domains"]) == sorted([MD, ALIAS])
    assert m["state"] == 2
    assert m["renew-mode"] == 1
    assert m["renew-window"] and m["warn-window"]
    assert m["ca"]["urls"] == [server.ca.directory_url]
    assert m["ca"]["account"]
    assert m["contacts"] == ["mailto:admin@example.org"]
    assert m["watched"] is True
    assert "renew-at" in m
    cert = server.peer_chain(MD)
    rsa = m["cert"]["rsa"]
    assert int(rsa["serial"], 16) == cert.serial_number
    assert rsa["sha256-fingerprint"] == cert.fingerprint(hashes.SHA256()).hex()
    assert rsa["valid"]["until"] == cert.not_valid_after.strftime("%a, %d %b %Y %H:%M:%S GMT")
    # the job that produced the certificate went live with it (its log in the view of one MD)
    assert "log" not in m["last-renewal"]
    log = get_json(server, f"/md-status/{MD}")["last-renewal"]["log"]["entries"]
    assert log[0]["type"].startswith("message-") or log[0]["type"] == "finished"
    whens = [e["when"] for e in log]
    assert all(re.match(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", w) for w in whens)


def test_700_md_status_during_staging(server):
    j = server.staged_status
    assert j["name"] == MD
    r = j["renewal"]
    assert r["finished"] is True and r["errors"] == 0
    assert r["last"]["status"] == 0
    types = [e["type"] for e in r["log"]["entries"]]
    assert "finished" in types
    assert "rsa" in r["cert"]


def test_700_md_status_one_and_unknown(server):
    j = get_json(server, f"/md-status/{MD}")
    assert j["name"] == MD
    # as with the stock module, a domain name of the MD finds it too
    assert get_json(server, f"/md-status/{ALIAS}")["name"] == MD
    status, _, _ = server.curl("localhost", "/md-status/unknown.example.org", https=False)
    assert status == 404


def test_700_certificate_status(server):
    j = get_json(server, "/.httpd/certificate-status", https=True)
    cert = server.peer_chain(MD)
    assert int(j["serial"], 16) == cert.serial_number
    assert j["sha256-fingerprint"] == cert.fingerprint(hashes.SHA256()).hex()
    assert j["valid-until"] == cert.not_valid_after.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert "renewal" not in j
    # nothing about other domains, not on http
    assert MD not in json.dumps(j) and "domains" not in j
    status, _, _ = server.curl("localhost", "/.httpd/certificate-status", https=False)
    assert status == 404


def test_700_server_status_auto(server):
    status, body, _ = server.curl("localhost", "/server-status?auto", https=False)
    assert status == 200
    kv = dict(ln.split(": ", 1) for ln in body.splitlines() if ": " in ln)
    assert kv["ManagedCertificatesTotal"] == "1"
    assert kv["ManagedCertificatesOK"] == "1"
    assert kv["ManagedCertificatesErrored"] == "0"
    assert f"ManagedDomain-{MD}" in kv
    # the stock module's keys (test_660 compares them with the stock module's own output)
    fp = server.peer_chain(MD).fingerprint(hashes.SHA256()).hex()
    assert kv["ManagedDomain[0]Domain"] == MD
    assert kv["ManagedDomain[0]Names[1]"] == ALIAS
    assert kv["ManagedDomain[0]Status"] == "good"
    assert kv["ManagedDomain[0]CheckAtFingerprint"] == fp
    assert int(kv["ManagedDomain[0]ActivityRenew"]) > 0
    assert kv["ManagedStaplingsTotal"] == "0"


def test_700_server_status_html(server):
    status, body, _ = server.curl("localhost", "/server-status", https=False)
    assert status == 200
    assert "<h3>Managed Certificates</h3>" in body
    fp = server.peer_chain(MD).fingerprint(hashes.SHA256()).hex()
    assert f'href="https://crt.sh?q={fp}"' in body
    row = re.search(r'<tr class="even"><td>' + re.escape(MD) + r"</td>.*?</tr>", body,
                    re.S).group(0)
    assert ALIAS in row and "<td>good</td>" in row
    assert "Managed Staplings" not in body  # no MDStapling: no such table (test_800 has one)


def parse_metrics(text):
    out = {}
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)\{([^}]*)\} (-?\d+)$', ln)
        assert m, ln
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        out[(m.group(1), labels.get("md"), labels.get("key"))] = int(m.group(3))
    return out


def test_700_metrics(server):
    status, body, _ = server.curl("localhost", "/md-metrics", https=False)
    assert status == 200
    assert "# TYPE mod_md_cert_expiry_timestamp_seconds gauge" in body
    m = parse_metrics(body)
    cert = server.peer_chain(MD)
    expiry = int(cert.not_valid_after.replace(tzinfo=__import__("datetime").timezone.utc)
                 .timestamp())
    assert m[("mod_md_cert_expiry_timestamp_seconds", MD, "rsa")] == expiry
    start = int(cert.not_valid_before.replace(tzinfo=__import__("datetime").timezone.utc)
                .timestamp())
    assert m[("mod_md_cert_valid_from_timestamp_seconds", MD, "rsa")] == start
    assert start < m[("mod_md_renewal_due_timestamp_seconds", MD, None)] < expiry
    assert m[("mod_md_renewal_staged", MD, None)] == 0
    assert m[("mod_md_state", MD, None)] == 2
    assert m[("mod_md_renewal_errors", MD, None)] == 0
    # counted in the watchdog child and request children before the graceful restart
    assert m[("mod_md_renewals_total", MD, None)] >= 1
    assert m[("mod_md_challenge_answers_total", MD, None)] >= 2
    assert m[("mod_md_renewal_failures_total", MD, None)] == 0


def test_700_messages(server):
    calls = server.msg_log.read_text().splitlines()
    args = [c.split(" ", 1)[1] for c in calls]
    assert f"extra-arg renewing {MD}" in args
    assert MD in args  # MDNotifyCmd
    assert f"extra-arg renewed {MD}" in args
    assert args.count(f"extra-arg renewed {MD}") == 1
    assert f"extra-arg installed {MD}" in args
    if harness.IS_ROOT:
        installed = [c for c in calls if c.endswith(f"installed {MD}")]
        assert installed[0].split(" ")[0] == "0", "installed must run as root"
        renewed = [c for c in calls if c.endswith(f"renewed {MD}")]
        assert renewed[0].split(" ")[0] != "0"


def test_700_certificate_status_renewal(server):
    """Last (it changes the server): MDRenewWindow 100% makes the live certificate due, the
    renewal is staged, and certificate-status shows it under 'renewal' next to the live one."""
    live = server.peer_chain(MD)
    conf = server.conf_path.read_text()
    server.conf_path.write_text(conf.replace(f"MDomain {MD}\n",
                                             f"MDomain {MD}\nMDRenewWindow 100%\n"))
    mark = server.log_size()
    server.graceful()
    server.wait_md_ready([MD], timeout=120, since=mark)
    j = get_json(server, "/.httpd/certificate-status", https=True)
    assert int(j["serial"], 16) == live.serial_number
    staged = harness.x509.load_pem_x509_certificate(
        (server.store_dir / "staging" / MD / "pubcert.pem").read_bytes())
    assert staged.serial_number != live.serial_number
    r = j["renewal"]
    assert int(r["serial"], 16) == staged.serial_number
    assert r["cert"]["rsa"]["serial"] == r["serial"]  # where the stock module shows it
    assert r["sha256-fingerprint"] == staged.fingerprint(hashes.SHA256()).hex()
    assert r["valid-until"] == staged.not_valid_after.strftime("%a, %d %b %Y %H:%M:%S GMT")
    # md-status has it in the job, server-status says it waits for a restart
    assert get_json(server, f"/md-status/{MD}")["renewal"]["cert"]["rsa"]["serial"] == r["serial"]
    status, body, _ = server.curl("localhost", "/server-status?auto", https=False)
    assert "ManagedCertificatesReady: 1" in body
