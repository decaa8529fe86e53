"""a2md against pebble: drive (and the module then serving what a2md got without a new order),
the drive's error cases (unknown MD, no contact, terms not accepted, unknown protocol, CA down),
the account commands (acme newreg|validate|agree|authz|delreg, account list|show|rollover),
revoke, and renew through a running server or here. JSON output is checked field by field.

Apache runs with our module to answer the http-01 challenges from the store (MDRenewMode manual
where the server must not renew by itself).
"""

import json
import os
import re
import subprocess
import time

import pytest
from cryptography import x509

import harness
from test_950_a2md_registry import A2MD, Result, out

pytestmark = [pytest.mark.skipif(not A2MD.is_file(), reason="build/a2md not built"),
              pytest.mark.skipif(harness.is_stock(), reason="a2md works on our store")]

STATUS = "<Location /md-status>\n  SetHandler md-status\n</Location>\n"


class A2:
    """a2md on a store with the test CA (its root for https, its directory as -a)."""

    def __init__(self, store, ca, ca_url=None):
        self.store = store
        self.ca = ca
        self.ca_url = ca_url or ca.directory_url

    def __call__(self, *args, json_out=True, ca_url=None):
        argv = [str(A2MD), "-d", str(self.store), "-C", str(self.ca.test_root),
                "-a", ca_url or self.ca_url]
        if json_out:
            argv.append("-j")
        return Result(subprocess.run(argv + list(args), capture_output=True, text=True,
                                     timeout=300))

    def prep(self, name, *more):
        """An MD with a contact that agreed to the CA's terms."""
        assert self("add", name, *more).rc == 0
        assert self("update", name, "contacts", "admin@example.org").rc == 0
        assert self("update", name, "agreement", "accepted").rc == 0

    def cert(self, name, group="domains", fname="pubcert.pem"):
        return x509.load_pem_x509_certificate((self.store / group / name / fname).read_bytes())


def manual_server(h, name="cfg951.example.org"):
    """A server that answers challenges from the store and renews nothing by itself."""
    h.write_config("MDRenewMode manual\n" + h.md_config({name: []}) + STATUS)
    h.start()
    return A2(h.store_dir, h.ca)


def orders_since(ca, mark):
    return [ln for ln in ca.requests_since(mark) if "order-plz" in ln]


# ---- drive, then the module serves it -----------------------------------------------------

def test_951_drive_then_serve(httpd, ca):
    h = httpd
    a = manual_server(h)
    name = "new951.example.org"
    dns = [name, "www.new951.example.org"]
    a.prep(*dns)
    r = a("drive", name)
    md = out(r)[0]
    assert md["name"] == name and md["domains"] == dns
    assert md["state"] == 2 and md["renew"] is False
    assert md["contacts"] == ["mailto:admin@example.org"]
    assert md["ca"]["url"] == ca.directory_url and md["ca"]["agreement"] == "accepted"
    acct = md["ca"]["account"]
    assert re.match(r"^ACME-127\.0\.0\.1-\d{4}$", acct), md
    ddir = h.store_dir / "domains" / name
    cert = a.cert(name)
    assert harness.cert_sans(cert) == sorted(dns)
    key = (ddir / "privkey.pem")
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert key.stat().st_mode & 0o777 == 0o600
    job = json.loads((ddir / "job.json").read_text())
    assert job["finished"] is True and job["errors"] == 0
    stored = json.loads((ddir / "md.json").read_text())
    assert stored["ca"]["account"] == acct and stored["state"] == 2
    assert "renew-window" not in stored  # md.json as the operator wrote it, plus the outcome
    account = json.loads((h.store_dir / "accounts" / acct / "account.json").read_text())
    assert account["registration"]["contact"] == ["mailto:admin@example.org"]
    assert not (h.store_dir / "staging" / name).exists()
    if harness.IS_ROOT:
        uid = (h.store_dir / "staging").stat().st_uid
        assert uid != 0
        for sub in ("challenges", "staging", "ocsp"):
            for root, dirs, files in os.walk(h.store_dir / sub):
                for n in dirs + files:
                    assert os.lstat(os.path.join(root, n)).st_uid == uid, (root, n)

    # not due: nothing happens
    mark = ca.log_mark()
    r = a("drive", name, json_out=False)
    assert r.rc == 0 and f"{name}: up-to-date: valid until" in r.stdout, r
    assert a.cert(name).serial_number == cert.serial_number
    assert not orders_since(ca, mark)
    # status and check see it
    st = out(a("status", name))[0]
    assert int(st["cert"]["rsa"]["serial"], 16) == cert.serial_number
    assert st["last-renewal"]["finished"] is True
    assert a("check").rc == 0

    # the module serves what a2md got, without ordering anything
    h.stop()
    h.write_config(h.md_config({name: dns[1:]}) + STATUS)
    mark = ca.log_mark()
    h.start()
    served = h.peer_chain(name)
    assert served.serial_number == cert.serial_number
    h.verify_served("www.new951.example.org", ca.issuer_root)
    time.sleep(3)  # the renewal watchdog has looked at it by now
    assert not orders_since(ca, mark)
    assert "AH10059" not in h.log_text()


def test_951_drive_errors(httpd, ca):
    h = httpd
    a = manual_server(h)
    r = a("drive", "nope951.example.org")
    assert r.rc == 1 and r.json["description"] == "No such file or directory"
    assert "managed domain not found: nope951.example.org" in r.stderr
    name = "err951.example.org"
    assert a("add", name).rc == 0
    r = a("drive", name)
    assert r.rc == 1 and "No contact information" in r.stderr, r
    assert a("update", name, "contacts", "admin@example.org").rc == 0
    # a fresh store has no account: a new one needs the terms agreed to
    r = a("drive", name)
    assert r.rc == 1 and "terms of service" in r.stderr, r
    assert a("update", name, "agreement", "accepted").rc == 0
    assert a("update", name, "ca", ca.directory_url, "FOO").rc == 0
    r = a("drive", name)
    assert r.rc == 1 and "Unknown CA protocol 'FOO'" in r.stderr, r
    # the CA is down
    down = f"http://127.0.0.1:{harness.free_port()}/directory"
    assert a("update", name, "ca", down, "ACME").rc == 0
    r = a("drive", name)
    assert r.rc == 1
    assert r.json == {"status": r.json["status"], "description": "Connection refused",
                      "output": []}
    assert r.json["status"] != 0
    # two failed attempts in a row: the terms, then the CA
    job = out(a("status", name))[0]["renewal"]
    assert job["errors"] == 2 and job["finished"] is False
    assert job["last"]["status"] == r.json["status"]
    assert "Couldn't connect to server" in job["last"]["detail"]
    txt = a("status", name, json_out=False).stdout
    assert "last error (2 in a row):" in txt and "Couldn't connect to server" in txt
    # the CA back, but through a proxy that is not there
    assert a("update", name, "ca", ca.directory_url).rc == 0
    r = a("-p", f"http://127.0.0.1:{harness.free_port()}", "drive", name)
    assert r.rc == 1 and r.json["description"] == "Connection refused", r
    # the CA back: the renewal succeeds and the record is clean
    md = out(a("drive", name))[0]
    assert md["state"] == 2
    job = json.loads((h.store_dir / "domains" / name / "job.json").read_text())
    assert job["errors"] == 0 and job["finished"] is True
    old = a.cert(name)
    # --force renews anyway, the old set is archived; --reset throws away a broken staging
    sdir = h.store_dir / "staging" / name
    sdir.mkdir(parents=True, exist_ok=True)
    (sdir / "order.json").write_text("{ not json")
    r = a("drive", "--force", "--reset", "-c", "http-01", name)
    assert r.rc == 0, r
    new = a.cert(name)
    assert new.serial_number != old.serial_number
    # archive/NAME.1 holds the set before the first certificate (md.json only)
    assert a.cert(f"{name}.2", group="archive").serial_number == old.serial_number
    assert a("drive", "-c").rc == 1  # an option without its value


# ---- accounts ---------------------------------------------------------------------------------

def test_951_accounts(ca, tmp_path):
    a = A2(tmp_path / "md", ca)
    r = a("acme", "newreg", "x@not-forbidden.org", json_out=False)
    assert r.rc == 1 and "terms of service" in r.stderr, r
    for bad in ("no.at.char", "with blank@test.com", "missing.host@", "@missing.localpart.de",
                "double..dot@test.com", "double@at@test.com", "mehlto:xxx@not-forbidden.org"):
        assert a("-t", "accepted", "acme", "newreg", bad).rc == 1, bad
    r = a("-t", "accepted", "acme", "newreg", "x@not-forbidden.org", json_out=False)
    assert r.rc == 0, r
    m = re.match(r"^registered: (ACME-127\.0\.0\.1-\d{4})$", r.stdout.strip())
    assert m, r.stdout
    id1 = m.group(1)
    acct = json.loads((a.store / "accounts" / id1 / "account.json").read_text())
    assert acct["registration"]["contact"] == ["mailto:x@not-forbidden.org"]
    r = a("-t", "accepted", "acme", "newreg", "xx@not-forbidden.org", "mailto:aa@not-forbidden.org")
    acct2 = out(r)[0]
    id2 = acct2["id"]
    assert id2 != id1
    assert acct2["url"].startswith(f"https://127.0.0.1:{ca.port}/")
    assert acct2["ca-url"] == ca.directory_url
    assert acct2["status"] == "valid"
    assert acct2["contact"] == ["mailto:xx@not-forbidden.org", "mailto:aa@not-forbidden.org"]
    assert acct2["registration"]["status"] == "valid"
    # list and show
    listed = out(a("account", "list"), 2)
    assert [x["id"] for x in listed] == sorted([id1, id2])
    assert out(a("account", "show", id2))[0] == acct2
    txt = a("account", "list", json_out=False).stdout.splitlines()
    assert txt[0].split()[:3] == [id1, "valid", ca.directory_url]
    # validate, agree, authz
    r = a("acme", "validate", id1, json_out=False)
    assert r.rc == 0 and r.stdout.strip() == f"valid: {acct['url']}"
    r = a("acme", "agree", id1, json_out=False)
    assert r.rc == 0 and r.stdout.strip() == f"agreed terms-of-service: {acct['url']}"
    r = a("acme", "authz", id1, "z951.example.org", json_out=False)
    assert r.rc == 0
    assert re.match(rf"^authz: z951\.example\.org https://127\.0\.0\.1:{ca.port}/\S+$",
                    r.stdout.strip()), r.stdout
    az = out(a("acme", "authz", id1, "y951.example.org"))[0]
    assert az["domain"] == "y951.example.org" and az["url"].startswith("https://")
    assert a("acme", "validate", "ACME-127.0.0.1-1000").rc == 1
    # a wrong account URL: the CA does not know it
    path = a.store / "accounts" / id1 / "account.json"
    good = path.read_text()
    tampered = json.loads(good)
    tampered["url"] += "0"
    path.write_text(json.dumps(tampered))
    assert a("acme", "validate", id1).rc == 1
    path.write_text(good)
    # delreg: deactivated at the CA and gone from the store
    r = a("acme", "delreg", id1, json_out=False)
    assert r.rc == 0 and r.stdout.strip() == f"deleted: {acct['url']}"
    assert not (a.store / "accounts" / id1).exists()
    r = a("acme", "validate", id1)
    assert r.rc == 1 and "unknown account" in r.stderr
    assert a("acme", "delreg", id1).rc == 1
    assert [x["id"] for x in out(a("account", "list"))] == [id2]
    # the CA down
    down = f"http://127.0.0.1:{harness.free_port()}/dir"
    r = a("-t", "accepted", "acme", "newreg", "x@not-forbidden.org", ca_url=down)
    assert r.rc == 1 and r.json["description"] == "Connection refused"


def test_951_rollover_and_revoke(httpd, ca):
    a = manual_server(httpd)
    name = "rv951.example.org"
    a.prep(name)
    acct = out(a("drive", name))[0]["ca"]["account"]
    adir = a.store / "accounts" / acct
    old_key = (adir / "account.pem").read_bytes()
    url = json.loads((adir / "account.json").read_text())["url"]
    r = a("account", "rollover", name)
    assert out(r)[0]["id"] == acct
    new_key = (adir / "account.pem").read_bytes()
    assert new_key != old_key and b"ENCRYPTED" in new_key
    assert not (adir / "account-next.pem").exists()
    assert json.loads((adir / "account.json").read_text())["url"] == url
    assert a("acme", "validate", acct).rc == 0
    # the CA no longer takes the old key
    (adir / "account.pem").write_bytes(old_key)
    assert a("acme", "validate", acct).rc == 1
    (adir / "account.pem").write_bytes(new_key)
    # renewing with the new key
    cert1 = a.cert(name)
    assert a("drive", "--force", name).rc == 0
    cert2 = a.cert(name)
    assert cert2.serial_number != cert1.serial_number
    # revoke with the account
    r = a("revoke", "--reason", "keyCompromise", name)
    rev = out(r)[0]
    assert rev["name"] == name and rev["reason"] == "keyCompromise"
    assert int(rev["serial"], 16) == cert2.serial_number
    assert "served until it is replaced: a2md renew" in r.stderr
    assert ca.cert_status(cert2.serial_number)["status"].lower() == "revoked"
    assert ca.cert_status(cert1.serial_number)["status"].lower() == "valid"
    r = a("revoke", name)
    assert r.rc == 1 and "revoking failed" in r.stderr  # already revoked
    assert a("revoke", "--reason", "cACompromise", name).rc == 1
    # revoke with the certificate's own key, when the MD has no account
    assert a("drive", "--force", name).rc == 0
    cert3 = a.cert(name)
    assert a("update", name, "account").rc == 0
    r = a("-v", "revoke", "--reason", "superseded", name, json_out=False)
    assert r.rc == 0, r
    m = re.search(rf"{name}: revoked the certificate with serial ([0-9A-F]+) \(superseded\)",
                  r.stdout)
    assert m and int(m.group(1), 16) == cert3.serial_number, r.stdout
    assert "signed with the certificate's key" in r.stderr
    assert ca.cert_status(cert3.serial_number)["status"].lower() == "revoked"
    assert a("add", "nocert951.example.org").rc == 0
    r = a("revoke", "nocert951.example.org")
    assert r.rc == 1 and "no certificate to revoke" in r.stderr
    assert a("account", "rollover", "nope951.example.org").rc == 1


# ---- renew -------------------------------------------------------------------------------------

def test_951_renew(httpd, ca):
    h = httpd
    srv = "srv951.example.org"
    h.write_config(h.md_config({srv: []}) + STATUS)
    h.start_and_issue([srv])
    a = A2(h.store_dir, ca)
    old = h.peer_chain(srv)
    # the running server takes the request and renews
    mark = h.log_size()
    r = a("renew", "--wait", srv, json_out=False)
    assert r.rc == 0, r
    assert f"{srv}: the running server renews it now" in r.stdout
    assert f"{srv}: renewed by the server" in r.stdout
    h.wait_log(rf"AH13320: {re.escape(srv)}: renewal requested \(a2md renew\): renewing now",
               since=mark)
    h.wait_md_ready([srv], since=mark)
    assert not (h.store_dir / "staging" / srv / "renew-request.json").exists()
    r = a("renew", srv, json_out=False)
    assert r.rc == 0 and "staged already" in r.stdout
    h.graceful()
    assert h.peer_chain(srv).serial_number != old.serial_number
    # an MD no server renews (this one's configuration does not have it): renewed here
    loc = "loc951.example.org"
    a.prep(loc)
    r = a("renew", loc)
    md = out(r)[0]
    assert md["name"] == loc and md["state"] == 2
    assert "no running server took the renewal request, renewing here" in r.stderr
    assert not (h.store_dir / "staging" / loc).exists()
    first = a.cert(loc)
    r = a("renew", "--local", loc, json_out=False)
    assert r.rc == 0 and f"{loc}: renewed;" in r.stdout
    assert a.cert(loc).serial_number != first.serial_number
    r = a("renew", "nope951.example.org")
    assert r.rc == 1 and r.json["description"] == "No such file or directory"


@pytest.mark.skipif(not harness.STOCK_MODULE.is_file(), reason="Debian's mod_md not installed")
def test_951_stock_serves_a2md_store(httpd, httpd_factory, ca):
    """The stock module, too, serves what a2md got without ordering again, and a2md reads the
    store the stock module wrote."""
    a = manual_server(httpd)
    name = "stock951.example.org"
    a.prep(name, "www." + name)
    assert a("drive", name).rc == 0
    cert = a.cert(name)
    httpd.stop()
    stock = harness.Httpd(httpd.root, httpd.http_port, httpd.https_port, ca=ca,
                          module=harness.STOCK_MODULE)
    httpd_factory.servers.append(stock)
    stock.write_config(stock.md_config({name: ["www." + name]}))
    mark = ca.log_mark()
    stock.start()
    assert stock.peer_chain(name).serial_number == cert.serial_number
    time.sleep(3)
    assert not orders_since(ca, mark)
    stock.stop()
    st = out(a("status", name))[0]
    assert st["state"] == 2 and st["renew-reason"] == "not due"
    assert int(st["cert"]["rsa"]["serial"], 16) == cert.serial_number
    assert a("check").rc == 0
