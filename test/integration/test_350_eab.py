"""External Account Binding (RFC 8555 7.3.4, MDExternalAccountBinding) against a pebble that
requires it (externalAccountBindingRequired, externalAccountMACKeys): the right key (given in the
directive, and in a JSON file readable by root only) gets a certificate with an account bound
to the kid; a wrong key and no binding fail with an error that names the binding; a changed
binding makes a new account. The HMAC key appears in no log, status page or store file.
"""

import base64
import json
import os
import re

import pytest

import harness

KEYS = {
    "kid-1": base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("="),
    "kid-2": base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="),
}
WRONG = base64.urlsafe_b64encode(b"w" * 32).decode().rstrip("=")


@pytest.fixture(scope="module")
def eab_ca(scratch, ports):
    c = harness.CA(scratch / "ca-eab", ports[0], ports[1],
                   conf={"externalAccountBindingRequired": True,
                         "externalAccountMACKeys": KEYS}).start()
    yield c
    c.stop()


def status_of(h, md):
    status, body, _ = h.curl("localhost", f"/md-status/{md}", https=False)
    assert status == 200, body
    return body


def config(h, md, eab_line):
    return f"""MDRetryDelay 1s
<Location /md-status>
  SetHandler md-status
</Location>
<MDomain {md}>
  {eab_line}
</MDomain>
{h.md_vhosts(md)}"""


def store_texts(h):
    """(path, text) of every file of the store, for leak checks."""
    for root, _, files in os.walk(h.store_dir):
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                yield path, fh.read().decode(errors="replace")


def assert_no_hmac(h, md, hmacs):
    texts = [("error_log", h.log_text()), ("md-status", status_of(h, md)),
             *store_texts(h)]
    for where, text in texts:
        for hmac in hmacs:
            assert hmac not in text, f"HMAC key found in {where}"


def accounts(h):
    d = h.store_dir / "accounts"
    return [json.loads((p / "account.json").read_text())
            for p in sorted(d.iterdir())] if d.is_dir() else []


def test_350_right_key_then_changed_binding(httpd, eab_ca):
    md = "eab.example.org"
    httpd.ca = eab_ca
    httpd.write_config(config(httpd, md, f"MDExternalAccountBinding kid-1 {KEYS['kid-1']}"))
    httpd.start_and_issue([md])
    assert httpd.wait_log(r"AH12216: " + re.escape(md) + r": created account .* bound to the "
                          r"external account kid-1")
    accts = accounts(httpd)
    assert len(accts) == 1
    assert accts[0]["eab"]["kid"] == "kid-1"
    assert "hmac" not in accts[0]["eab"]
    stored = json.loads((httpd.store_dir / "domains" / md / "md.json").read_text())
    assert stored["eab"] == {"kid": "kid-1"}
    cert = httpd.peer_chain(md)
    assert not harness.is_self_signed(cert)
    assert_no_hmac(httpd, md, KEYS.values())

    # another binding: the next certificate (a name was added) is ordered with a new account
    mark = httpd.log_size()
    body = config(httpd, md, f"MDExternalAccountBinding kid-2 {KEYS['kid-2']}\n  MDMember "
                  f"www.{md}")
    httpd.write_config(body)
    httpd.graceful()
    httpd.wait_md_ready([md], since=mark)
    assert httpd.wait_log(r"AH12216: .* bound to the external account kid-2", since=mark)
    httpd.graceful()  # the new account is installed with the certificate
    assert sorted(a["eab"]["kid"] for a in accounts(httpd)) == ["kid-1", "kid-2"]
    assert_no_hmac(httpd, md, KEYS.values())


def test_350_json_file_root_only(httpd, eab_ca):
    md = "eab-file.example.org"
    keyfile = httpd.root / "conf" / "eab.json"
    keyfile.write_text(json.dumps({"kid": "kid-2", "hmac": KEYS["kid-2"]}))
    keyfile.chmod(0o600)
    httpd.ca = eab_ca
    httpd.write_config(config(httpd, md, f"MDExternalAccountBinding {keyfile}"))
    httpd.start_and_issue([md])
    assert [a["eab"]["kid"] for a in accounts(httpd)] == ["kid-2"]
    assert_no_hmac(httpd, md, [KEYS["kid-2"]])


@pytest.mark.expect_log("AH12607")
def test_350_wrong_key(httpd, eab_ca):
    md = "eab-wrong.example.org"
    httpd.ca = eab_ca
    httpd.write_config(config(httpd, md, f"MDExternalAccountBinding kid-1 {WRONG}"))
    httpd.start()
    line = httpd.wait_log(r"AH12607: " + re.escape(md) + r": renewal failed", timeout=60)[0]
    assert "the CA refused the external account binding (MDExternalAccountBinding, kid kid-1)" \
        in line, line
    assert "next attempt in 1d" in line, line
    job = json.loads(status_of(httpd, md))["renewal"]
    assert "external account binding" in job["last"]["detail"]
    assert accounts(httpd) == []
    assert_no_hmac(httpd, md, [WRONG])


@pytest.mark.expect_log("AH12607")
def test_350_no_binding(httpd, eab_ca):
    md = "eab-none.example.org"
    httpd.ca = eab_ca
    httpd.write_config(config(httpd, md, "MDExternalAccountBinding none"))
    mark = eab_ca.log_mark()
    httpd.start()
    line = httpd.wait_log(r"AH12607: " + re.escape(md) + r": renewal failed", timeout=60)[0]
    assert "requires an external account binding" in line, line
    assert "MDExternalAccountBinding" in line, line
    # decided from the CA's directory: no newAccount was sent
    assert not [r for r in eab_ca.requests_since(mark) if "/sign-me-up" in r]
    assert accounts(httpd) == []
