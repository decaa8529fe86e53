"""The directives of today's CAs (MDExternalAccountBinding, MDProfile, MDProfileMandatory,
MDRenewViaARI, MDRetryFailover, several MDCertificateAuthority URLs): values are checked as the
stock module checks them, refusals carry its phrase, and md.json stores them under its field
names. Where Debian's stock module is installed, it runs on the same configurations: it must take
the same start/refuse decision and write the same md.json values (except the HMAC key, which this
module never writes into the store). Nothing here talks to a CA.
"""

import json
import time

import pytest

import harness

HAVE_STOCK = harness.STOCK_MODULE.is_file() and not harness.is_stock()
CA_URL = "https://127.0.0.1:9/dir"  # never contacted: MDRenewMode manual


def eab_files(root):
    files = {
        "eab.json": '{"kid": "kid-f", "hmac": "c2VjcmV0"}',
        "nokid.json": '{"hmac": "c2VjcmV0"}',
        "nohmac.json": '{"kid": "kid-f"}',
        "bad.json": "not json",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    return root


BAD = [
    # (config, the stock module's phrase the message must contain)
    ("MDExternalAccountBinding a b c", "takes 1-2 arguments"),
    ("MDExternalAccountBinding", "takes 1-2 arguments"),
    ("MDExternalAccountBinding {root}/missing.json", "file not found: {root}/missing.json"),
    ("MDExternalAccountBinding {root}/bad.json", "error reading JSON file {root}/bad.json"),
    ("MDExternalAccountBinding {root}/nokid.json",
     "JSON does not contain 'kid' element in file {root}/nokid.json"),
    ("MDExternalAccountBinding {root}/nohmac.json",
     "JSON does not contain 'hmac' element in file {root}/nohmac.json"),
    ("MDProfile", "takes one argument"),
    ("MDProfile a b", "takes one argument"),
    ("MDProfileMandatory maybe", "unknown 'maybe', supported parameter values are 'on' and 'off'"),
    ("MDRenewViaARI yes", "unknown 'yes', supported parameter values are 'on' and 'off'"),
    ("MDRetryFailover 0", "invalid argument, must be a number > 0"),
    ("MDRetryFailover -2", "invalid argument, must be a number > 0"),
    ("MDRetryFailover many", "invalid argument, must be a number > 0"),
    ("<MDomain x.example.org>\nMDRetryFailover 3\n</MDomain>", "MDRetryFailover"),
]

GOOD = [
    "MDExternalAccountBinding kid-1 aGVsbG8",
    "MDExternalAccountBinding none",
    "MDExternalAccountBinding NONE",
    "MDExternalAccountBinding {root}/eab.json",
    "<MDomain x.example.org>\nMDExternalAccountBinding kid-2 aGVsbG8\n</MDomain>",
    "MDProfile shortlived",
    "<MDomain x.example.org>\nMDProfile tlsserver\nMDProfileMandatory on\n</MDomain>",
    "MDProfileMandatory off",
    "MDRenewViaARI off",
    "MDRenewViaARI ON",
    "MDRetryFailover 1",
    "MDRetryFailover 100000",
    "MDCertificateAuthority https://127.0.0.1:9/dir https://127.0.0.1:10/dir",
]


def server(scratch, ports, module, name):
    root = scratch / name
    h = harness.Httpd(root, ports[0], ports[1], ca=None, module=module)
    eab_files(root / "conf")
    return h


def run_t(h, body):
    h.write_config(f"MDCertificateAuthority {CA_URL}\n"
                   + body.format(root=h.root / "conf") + "\n")
    return h.apachectl("-t")


def modules():
    mods = [("ours", harness.module_path())]
    if HAVE_STOCK:
        mods.append(("stock", harness.STOCK_MODULE))
    return mods


@pytest.mark.parametrize("body,phrase", BAD)
def test_155_refused(scratch, ports, module, body, phrase):
    for label, path in modules():
        h = server(scratch, ports, path, f"httpd-155-bad-{label}")
        r = run_t(h, body)
        out = r.stdout + r.stderr
        assert r.returncode != 0, (label, out)
        assert phrase.format(root=h.root / "conf") in out, (label, out)


@pytest.mark.parametrize("body", GOOD)
def test_155_accepted(scratch, ports, module, body):
    for label, path in modules():
        h = server(scratch, ports, path, f"httpd-155-good-{label}")
        r = run_t(h, body)
        assert r.returncode == 0, (label, r.stdout + r.stderr)


MDS = """MDRenewMode manual
MDProfile tlsserver
MDExternalAccountBinding kid-g aGVsbG8
MDomain a.example.org
<MDomain b.example.org>
  MDExternalAccountBinding {root}/eab.json
  MDProfile shortlived
  MDProfileMandatory on
</MDomain>
<MDomain c.example.org>
  MDExternalAccountBinding none
  MDRenewViaARI off
</MDomain>
"""
FIELDS = ("eab", "profile", "profile-mandatory", "ari-renewals")


def stored_fields(scratch, ports, label, path):
    h = server(scratch, ports, path, f"httpd-155-json-{label}")
    run_t(h, MDS)  # writes the config
    h.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
                (h.store_dir / "domains" / n / "md.json").exists() for n in "abc"):
            time.sleep(0.1)
    finally:
        h.stop()
    out = {}
    for n in ("a", "b", "c"):
        md = json.loads((h.store_dir / "domains" / f"{n}.example.org" / "md.json").read_text())
        out[n] = {k: md.get(k) for k in FIELDS}
    text = h.log_text()
    return out, text


def test_155_md_json_fields(scratch, ports, module):
    ours, log = stored_fields(scratch, ports, "ours", harness.module_path())
    assert ours == {
        "a": {"eab": {"kid": "kid-g"}, "profile": "tlsserver", "profile-mandatory": False,
              "ari-renewals": True},
        "b": {"eab": {"kid": "kid-f"}, "profile": "shortlived", "profile-mandatory": True,
              "ari-renewals": True},
        "c": {"eab": None, "profile": "tlsserver", "profile-mandatory": False,
              "ari-renewals": False},
    }
    assert "aGVsbG8" not in log and "c2VjcmV0" not in log
    if HAVE_STOCK:
        stock, _ = stored_fields(scratch, ports, "stock", harness.STOCK_MODULE)
        for n in ours:
            # the stock module keeps the HMAC key in md.json too; this module never does
            if stock[n]["eab"]:
                assert stock[n]["eab"].pop("hmac")
            assert stock[n] == ours[n], n
