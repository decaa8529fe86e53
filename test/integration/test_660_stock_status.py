"""md-status and server-status field by field against Debian's stock mod_md (#11).

Both modules run, one after the other, on the same configuration in each state of an MD: no
certificate yet (the CA does not answer), a renewal staged (before the graceful restart), complete
(after it), renewal errors (the CA refuses connections) and an expired certificate in the store.
In each state:
- every field of the stock module's md-status JSON (all MDs and one MD) is in ours, with the same
  JSON type; ours may have more, but only the additions docs/monitoring.md lists (OURS_ONLY);
- every key of the stock module's server-status?auto is in ours (ours adds a few lines of its own);
- the server-status page has the "Managed Certificates" table with a row for the MD;
- /.httpd/certificate-status has every stock field too (and a few of ours).
Values are not compared: times, serials, ports and the wording of details differ.
Skipped when the suite itself runs against the stock module.
"""

import json
import re
import shutil
import time

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.is_stock() or not harness.STOCK_MODULE.is_file(),
                                reason="needs our module and Debian's stock mod_md")

MD = "status.example.org"
ALIAS = "www.status.example.org"
STATUS_MOD = harness.APACHE_MODULES / "mod_status.so"
STATES = ("nocert", "staged", "complete", "error", "expired")

# Fields only this module shows (path prefixes in one MD's md-status; docs/monitoring.md).
OURS_ONLY = (
    "/state-name",           # the state as a word
    "/renew-reason",         # why (not) due
    "/last-renewal",         # the job that produced the live certificate
    "/ocsp",                 # the MD's stapling entries (all MDs: the whole list)
    "/ca/url",               # the CA in use; stock shows it only once an account exists
    "/renewal/last/activity",  # our job records say what was done last in every state
    "/renewal/last/detail",
    "/renewal/log/entries[]/detail",
)


class RefusedCA:
    """A CA URL on a loopback port nobody listens on: every renewal attempt fails at once."""

    def __init__(self, test_root):
        self.port = harness.free_port()
        self.test_root = test_root

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"


def config(h):
    return (f"LoadModule status_module {STATUS_MOD}\n"
            "MDServerStatus on\n"
            + h.md_config({MD: [ALIAS]})
            + "<Location /md-status>\n  SetHandler md-status\n</Location>\n"
            "<Location /server-status>\n  SetHandler server-status\n</Location>\n")


def get(h, path):
    status, body, err = h.curl("localhost", path, https=False)
    assert status == 200, (path, status, body, err)
    return body


def observe(h):
    status, body, err = h.curl(MD, "/.httpd/certificate-status", insecure=True)
    assert status == 200, (status, body, err)
    return {"all": json.loads(get(h, "/md-status")),
            "one": json.loads(get(h, f"/md-status/{MD}")),
            "auto": get(h, "/server-status?auto"),
            "html": get(h, "/server-status"),
            "cert-status": json.loads(body)}


def wait_errors(h, timeout=60):
    """md-status of the MD once its renewal recorded a failed attempt."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        one = json.loads(get(h, f"/md-status/{MD}"))
        if one.get("renewal", {}).get("errors", 0) >= 1:
            return
        time.sleep(0.3)
    raise TimeoutError("no failed renewal attempt recorded:\n" + h.log_tail())


def run_states(root, ports, ca, module):
    """{state: observations} for one module."""
    out = {}
    blackhole = harness.BlackholeCA(ca.test_root)
    try:
        for state, the_ca in (("nocert", blackhole), ("error", RefusedCA(ca.test_root)),
                              ("expired", blackhole), ("staged", ca)):
            h = harness.Httpd(root / state, ports[0], ports[1], ca=the_ca, module=module)
            try:
                h.write_config(config(h))
                if state == "expired":
                    harness.write_domain_set(h.store_dir / "domains" / MD, [MD, ALIAS], -100, -10,
                                             rsa_key=True)
                h.start()
                if state == "error":
                    wait_errors(h)
                elif state == "staged":
                    h.wait_md_ready([MD], timeout=120)
                out[state] = observe(h)
                if state == "staged":
                    h.graceful()
                    out["complete"] = observe(h)
                    out["complete"]["md.json"] = json.loads(
                        (h.store_dir / "domains" / MD / "md.json").read_text())
            finally:
                h.stop()
            out[state]["log"] = h
    finally:
        blackhole.stop()
    return out


@pytest.fixture(scope="module")
def observed(scratch, ports, module, ca):
    root = scratch / "httpd-660"
    shutil.rmtree(root, ignore_errors=True)
    result = {"stock": run_states(root / "stock", ports, ca, harness.STOCK_MODULE),
              "ours": run_states(root / "ours", ports, ca, module)}
    # our module: only the failures the 'error' state provokes (the CA refuses connections)
    bad = []
    for state in ("nocert", "error", "expired", "staged"):
        h = result["ours"][state]["log"]
        bad += h.log_problems(expected=("AH12300",), since=0)
    assert not bad, "unexpected warnings/errors in error log:\n" + "\n".join(bad)
    yield result
    harness.remove_scratch(root)


def fields(j, pre=""):
    """{path: JSON type} of every node; list elements share the path "<list>[]"."""
    if isinstance(j, dict):
        out = {pre or "/": "object"}
        for k, v in j.items():
            out.update(fields(v, f"{pre}/{k}"))
        return out
    if isinstance(j, list):
        out = {pre: "array"}
        for v in j:
            out.update(fields(v, pre + "[]"))
        return out
    return {pre: {bool: "bool", int: "int", float: "real", str: "string"}.get(type(j), "null")}


def compare(stock, ours, strip=""):
    """(missing or retyped stock fields, our fields that are not in OURS_ONLY)."""
    fs = {p[len(strip):] or "/": t for p, t in fields(stock).items() if p.startswith(strip)}
    fo = {p[len(strip):] or "/": t for p, t in fields(ours).items() if p.startswith(strip)}
    missing = sorted(f"{p} ({t}, ours: {fo.get(p)})" for p, t in fs.items() if fo.get(p) != t)
    extra = sorted(p for p in fo if p not in fs and not p.startswith(OURS_ONLY))
    return missing, extra


@pytest.mark.parametrize("state", STATES)
def test_660_md_status_one(observed, state):
    missing, extra = compare(observed["stock"][state]["one"], observed["ours"][state]["one"])
    assert not missing, f"{state}: stock fields missing or of another type: {missing}"
    assert not extra, f"{state}: fields not documented as ours: {extra}"


@pytest.mark.parametrize("state", STATES)
def test_660_md_status_all(observed, state):
    stock, ours = observed["stock"][state]["all"], observed["ours"][state]["all"]
    assert set(stock) <= set(ours)
    assert [m["name"] for m in ours["managed-domains"]] == [MD]
    missing, extra = compare(stock, ours, strip="/managed-domains[]")
    assert not missing, f"{state}: stock fields missing or of another type: {missing}"
    assert not extra, f"{state}: fields not documented as ours: {extra}"


# certificate-status: ours adds the first certificate's facts at the top, and the same for the
# staged one in "renewal" (docs/monitoring.md)
CERT_STATUS_OURS_ONLY = ("/valid-from", "/valid-until", "/serial", "/sha256-fingerprint",
                         "/renewal/valid", "/renewal/rsa", "/renewal/serial",
                         "/renewal/sha256-fingerprint")


@pytest.mark.parametrize("state", STATES)
def test_660_certificate_status(observed, state):
    stock, ours = observed["stock"][state]["cert-status"], observed["ours"][state]["cert-status"]
    fs, fo = fields(stock), fields(ours)
    missing = sorted(p for p, t in fs.items() if fo.get(p) != t)
    extra = sorted(p for p in fo if p not in fs and not p.startswith(CERT_STATUS_OURS_ONLY))
    assert not missing, f"{state}: stock fields missing or of another type: {missing}"
    assert not extra, f"{state}: fields not documented as ours: {extra}"


def auto_keys(text):
    return [ln.split(":", 1)[0] for ln in text.splitlines() if ln.startswith("Managed")]


@pytest.mark.parametrize("state", STATES)
def test_660_server_status_auto(observed, state):
    stock = auto_keys(observed["stock"][state]["auto"])
    ours = auto_keys(observed["ours"][state]["auto"])
    assert "ManagedDomain[0]Domain" in stock  # the comparison means something
    assert [k for k in stock if k not in ours] == []
    # ours adds its summary lines only
    assert {k for k in ours if k not in stock} <= {
        "ManagedCertificatesNextExpiry", f"ManagedDomain-{MD}", "ManagedStaplingsRevoked"}
    kv = dict(ln.split(": ", 1) for ln in observed["ours"][state]["auto"].splitlines()
              if ln.startswith("ManagedDomain[0]"))
    skv = dict(ln.split(": ", 1) for ln in observed["stock"][state]["auto"].splitlines()
               if ln.startswith("ManagedDomain[0]"))
    # the values that do not depend on timing or ports are the same
    for key in ("ManagedDomain[0]Domain", "ManagedDomain[0]Names[0]", "ManagedDomain[0]Names[1]",
                "ManagedDomain[0]Status", "ManagedDomain[0]CAName", "ManagedDomain[0]Activity",
                "ManagedDomain[0]ActivityFinished", "ManagedDomain[0]ActivityLastStatus"):
        assert kv.get(key) == skv.get(key), key


@pytest.mark.parametrize("state", STATES)
def test_660_server_status_html(observed, state):
    for which in ("stock", "ours"):
        html = observed[which][state]["html"]
        assert "<h3>Managed Certificates</h3>" in html, which
        head = re.search(r"<table class='md_status'><thead><tr>\s*(.*?)</tr>", html, re.S)
        assert re.findall(r"<th[^>]*>(\w+)</th>", head.group(1)) == [
            "Domain", "Names", "Status", "Valid", "CA", "Stapling", "CheckAt", "Activity"], which
        assert re.search(r'<tr class="even"><td>' + re.escape(MD) + "</td>", html), which


def test_660_account_after_activation(observed):
    """The account the MD uses shows in md-status once the renewed set is live (it once showed
    an empty string: the id was read from a pool freed after the start)."""
    for which in ("stock", "ours"):
        complete = observed[which]["complete"]
        account = complete["md.json"]["ca"]["account"]
        assert re.fullmatch(r"ACME-127\.0\.0\.1-\d{4}", account)
        assert complete["one"]["ca"]["account"] == account, which
        assert complete["all"]["managed-domains"][0]["ca"]["account"] == account, which


def test_660_ari_cert_id(observed):
    """ari-cert-id (RFC 9773 4.1) of the live certificate: base64url of the authority key
    identifier, ".", base64url of the serial number, as the stock module shows it."""
    for which in ("stock", "ours"):
        rsa = observed[which]["complete"]["one"]["cert"]["rsa"]
        pem = (observed[which]["staged"]["log"].store_dir / "domains" / MD / "pubcert.pem")
        cert = harness.x509.load_pem_x509_certificate(pem.read_bytes())
        aki = cert.extensions.get_extension_for_class(harness.x509.AuthorityKeyIdentifier)
        kid, serial = rsa["ari-cert-id"].split(".")
        assert kid == harness._b64u(aki.value.key_identifier), which
        raw = harness.base64.urlsafe_b64decode(serial + "=" * (-len(serial) % 4))
        assert int.from_bytes(raw, "big") == cert.serial_number, which
        assert int(rsa["serial"], 16) == cert.serial_number, which
