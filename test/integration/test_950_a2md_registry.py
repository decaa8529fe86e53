"""a2md without a CA: upstream's registry and store commands (add, update, list, store ...)
with their text and -j JSON checked field by field, input checks, and the operator's promises:
a missing store is an error naming the path (never created by a command that only looks),
read-only commands change nothing, status and check read live sets as they are.
"""

import hashlib
import json
import os
import re
import subprocess

import pytest

import harness

A2MD = harness.A2MD
CA_URL = "https://ca.example.org/directory"
EMPTY = {"status": 0, "output": []}

pytestmark = pytest.mark.skipif(not A2MD.is_file(), reason="build/a2md not built")


class Result:
    def __init__(self, p):
        self.rc = p.returncode
        self.stdout = p.stdout
        self.stderr = p.stderr
        try:
            self.json = json.loads(p.stdout)
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def a2md(store, *args, json_out=True, ca=CA_URL):
    argv = [str(A2MD), "-d", str(store)]
    if ca:
        argv += ["-a", ca]
    if json_out:
        argv.append("-j")
    return Result(subprocess.run(argv + list(args), capture_output=True, text=True))


def out(r, n=1):
    assert r.rc == 0, r
    assert r.json["status"] == 0, r
    assert len(r.json["output"]) == n, r
    return r.json["output"]


def tree(path):
    """Every file and directory below 'path' with its mode, owner and content digest."""
    snap = {}
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            digest = ""
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            snap[p] = (st.st_mode, st.st_uid, st.st_mtime_ns, digest)
    return snap


@pytest.fixture
def store(tmp_path):
    return tmp_path / "md"


# ---- usage ----------------------------------------------------------------------------------

def test_950_version_and_help(store):
    r = a2md(store, "-V", json_out=False)
    assert r.rc == 0
    assert re.match(r"^version: \d+\.\d+\.\d+(-\w+)?$", r.stdout.strip()), r
    r = a2md(store, "-h", json_out=False)
    assert r.rc == 0
    for cmd in ("add ", "update ", "drive ", "list ", "store add", "acme newreg", "status",
                "renew ", "revoke ", "account rollover", "check"):
        assert cmd in r.stdout, cmd
    for opt in ("-a |", "-C |", "-d |", "-h |", "-j |", "-p |", "-q |", "-t |", "-v |", "-V |"):
        assert opt in r.stdout, opt
    r = a2md(store, "frobnicate")
    assert r.rc == 1 and "unknown command: frobnicate" in r.stderr
    r = a2md(store, "store", "frobnicate")
    assert r.rc == 1 and "unknown sub-command" in r.stderr
    assert not store.exists()


# ---- a missing store ---------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["list"], ["list", "x.example.org"], ["status"], ["check"], ["store", "list"],
    ["account", "list"], ["account", "show", "ACME-x-0000"], ["update", "x.example.org"],
    ["drive"], ["store", "remove", "x.example.org"], ["store", "update", "x.example.org"],
    ["renew", "x.example.org"], ["revoke", "x.example.org"],
    ["account", "rollover", "x.example.org"], ["acme", "delreg", "ACME-x-0000"],
    ["acme", "validate", "ACME-x-0000"],
])
def test_950_missing_store(tmp_path, args):
    typo = tmp_path / "typo" / "md"
    r = a2md(typo, *args)
    assert r.rc == 1, r
    assert r.json == {"status": 2, "description": "No such file or directory", "output": []}
    assert f"no store at {typo}" in r.stderr
    assert not typo.exists() and not typo.parent.exists()


def test_950_no_store_dir_given(tmp_path):
    r = Result(subprocess.run([str(A2MD), "list"], capture_output=True, text=True,
                              cwd=str(tmp_path)))
    assert r.rc == 1 and "needs the store directory: -d DIR" in r.stderr
    assert list(tmp_path.iterdir()) == []


# ---- add / list -------------------------------------------------------------------------------

def test_950_add_and_list(store):
    r = a2md(store, "add", "www.example.org", "example.org", "mail.example.org")
    assert "creating a new store" in r.stderr
    md = out(r)[0]
    assert md["name"] == "www.example.org"
    assert md["domains"] == ["www.example.org", "example.org", "mail.example.org"]
    assert md["contacts"] == []
    assert md["ca"]["url"] == CA_URL
    assert md["ca"]["urls"] == [CA_URL]
    assert md["ca"]["proto"] == "ACME"
    assert "account" not in md["ca"] and "agreement" not in md["ca"]
    assert md["state"] == 1
    assert md["renew"] is True
    stored = json.loads((store / "domains" / "www.example.org" / "md.json").read_text())
    assert stored["domains"] == md["domains"] and stored["ca"]["url"] == CA_URL
    # list shows the same
    assert a2md(store, "list").json == r.json
    # a second MD; list sorts by name, list NAME also by one of its domains
    r2 = a2md(store, "add", "b.example.net")
    assert len(out(r2)) == 1
    names = [m["name"] for m in out(a2md(store, "list"), 2)]
    assert names == ["b.example.net", "www.example.org"]
    assert out(a2md(store, "list", "mail.example.org"))[0]["name"] == "www.example.org"
    r = a2md(store, "list", "nope.example.org")
    assert r.rc == 1 and r.json["description"] == "No such file or directory"
    assert "managed domain not found: nope.example.org" in r.stderr
    # text output as upstream's
    r = a2md(store, "list", json_out=False)
    assert r.stdout.splitlines() == [
        "md: b.example.net [b.example.net]",
        "md: www.example.org [www.example.org, example.org, mail.example.org]"]


def test_950_add_without_ca(store):
    md = out(a2md(store, "add", "noca.example.org", ca=None))[0]
    assert md["ca"] == {"proto": "ACME"}


def test_950_add_checks(store):
    assert a2md(store, "add", "test-100.com", "test-101.com").rc == 0
    for bad in ("tld", "white sp.ace", "invalid.*.wildcard.com", "k\u00f6ller.idn.com"):
        r = a2md(store, "add", bad)
        assert r.rc == 1, bad
        assert a2md(store, "add", "test-200.de", bad).rc == 1, bad
    for url in ("no.schema/path", "http://white space/path", "http://bad.port:-1/path"):
        assert a2md(store, "add", "url.example.org", ca=url).rc == 1, url
    # the same name twice, a name of another MD in any position
    assert a2md(store, "add", "test-100.com").rc == 1
    r = a2md(store, "add", "greenbytes2.de", "test-100.com")
    assert r.rc == 1 and "belongs to the MD test-100.com" in r.stderr
    assert a2md(store, "add", "greenbytes2.de", "test-101.com").rc == 1
    assert a2md(store, "add", "test-101.com").rc == 1
    # allowed: a subdomain, duplicates collapse, order kept, punycode, a wildcard
    assert a2md(store, "add", "sub.test-100.com").rc == 0
    md = out(a2md(store, "add", "d1.org", "d2.org", "d1.org", "D2.org"))[0]
    assert md["domains"] == ["d1.org", "d2.org"]
    md = out(a2md(store, "add", "test-x.com", "test-zzz.com", "test-aaa.com"))[0]
    assert md["domains"] == ["test-x.com", "test-zzz.com", "test-aaa.com"]
    assert a2md(store, "add", "xn--kller-jua.punycode.de").rc == 0
    assert a2md(store, "add", "*.wildcard.com").rc == 0
    assert a2md(store, "add").rc == 1


# ---- update -------------------------------------------------------------------------------

NAME1, NAME2 = "greenbytes2.de", "test-100.com"


@pytest.fixture
def two(store):
    assert a2md(store, "add", NAME1, "www.greenbytes2.de", "mail.greenbytes2.de").rc == 0
    assert a2md(store, "add", NAME2, "test-101.com", "test-102.com").rc == 0
    return store


def test_950_update_domains(two):
    s = two
    r = a2md(s, "update", NAME1, "domains", "foo.de", "bar.de")
    md = out(r)[0]
    assert md["name"] == NAME1 and md["domains"] == ["foo.de", "bar.de"]
    assert md["state"] == 1 and md["ca"]["url"] == CA_URL
    assert out(a2md(s, "list", NAME1))[0] == md
    assert a2md(s, "update", NAME1, "domains").rc == 1
    assert a2md(s, "update", NAME1, "domains", "tld").rc == 1
    assert a2md(s, "update", NAME1, "domains", NAME1, NAME2).rc == 1
    md = out(a2md(s, "update", NAME1, "domains", NAME1, NAME1, NAME1))[0]
    assert md["domains"] == [NAME1]
    assert out(a2md(s, "update", NAME1, "domains", "*.wildcard.com"))[0]["name"] == NAME1
    r = a2md(s, "update", "nope.example.org", "domains", "nope.example.org")
    assert r.rc == 1 and "managed domain not found: nope.example.org" in r.stderr


def test_950_update_ca_account_agreement(two):
    s = two
    md = out(a2md(s, "update", NAME1, "ca", "http://localhost.com:9999"))[0]
    assert md["ca"]["url"] == "http://localhost.com:9999" and md["ca"]["proto"] == "ACME"
    md = out(a2md(s, "update", NAME1, "ca", CA_URL, "FOO"))[0]
    assert md["ca"] == {"url": CA_URL, "urls": [CA_URL], "proto": "FOO"}
    for url in ("no.schema/path", "http://white space/path", "http://bad.port:-1/path"):
        assert a2md(s, "update", NAME1, "ca", url).rc == 1, url
    md = out(a2md(s, "update", NAME1, "account", "test.account.id", "ignored.id"))[0]
    assert md["ca"]["account"] == "test.account.id"
    md = out(a2md(s, "update", NAME1, "account"))[0]
    assert "account" not in md["ca"]
    tos = "data:text/plain,Do%20what%20thou%20wilt"
    md = out(a2md(s, "update", NAME1, "agreement", tos, "http://invalid.tos/"))[0]
    assert md["ca"]["agreement"] == tos
    assert out(a2md(s, "update", NAME1, "agreement", "accepted"))[0]["ca"]["agreement"] == \
        "accepted"
    assert "agreement" not in out(a2md(s, "update", NAME1, "agreement"))[0]["ca"]
    for url in ("no.schema/path", "http://white space/path", "http://bad.port:-1/path"):
        assert a2md(s, "update", NAME1, "agreement", url).rc == 1, url
    # -a changes the CA of the MD updated
    r = a2md(s, "update", NAME2, ca="https://other.example.org/dir")
    assert out(r)[0]["ca"]["url"] == "https://other.example.org/dir"
    r = a2md(s, "update", NAME1, "colour", "blue")
    assert r.rc == 1 and "unknown update aspect: colour" in r.stderr


def test_950_update_contacts_privkeys(two):
    s = two
    md = out(a2md(s, "update", NAME1, "contacts", "test@greenbytes.de"))[0]
    assert md["contacts"] == ["mailto:test@greenbytes.de"] and md["state"] == 1
    md = out(a2md(s, "update", NAME1, "contacts", "xxx@greenbytes.de", "aaa@greenbytes.de"))[0]
    assert md["contacts"] == ["mailto:xxx@greenbytes.de", "mailto:aaa@greenbytes.de"]
    assert a2md(s, "update", NAME1, "contacts").rc == 1
    for bad in ("no.at.char", "with blank@test.com", "missing.host@", "@missing.localpart.de",
                "double..dot@test.com", "double@at@test.com"):
        assert a2md(s, "update", NAME1, "contacts", bad).rc == 1, bad
    for uri in ("mailto:test@greenbytes.de", "wrong://schema@test.com"):
        assert out(a2md(s, "update", NAME1, "contacts", uri))[0]["contacts"] == [uri]
    md = out(a2md(s, "update", NAME1, "privkeys", "secp384r1", "RSA", "3072"))[0]
    assert md["privkey"] == [{"type": "EC", "curve": "secp384r1"},
                             {"type": "RSA", "bits": 3072}]
    assert a2md(s, "update", NAME1, "privkeys", "RSA", "1024").rc == 1
    assert a2md(s, "update", NAME1, "privkeys").rc == 1


def test_950_update_keeps_foreign_fields(two):
    path = two / "domains" / NAME1 / "md.json"
    stored = json.loads(path.read_text())
    stored["ari-renewals"] = True
    stored["ca"]["eab"] = {"kid": "k1"}
    path.write_text(json.dumps(stored))
    assert a2md(two, "update", NAME1, "contacts", "a@b.org").rc == 0
    stored = json.loads(path.read_text())
    assert stored["ari-renewals"] is True and stored["ca"]["eab"] == {"kid": "k1"}
    assert stored["contacts"] == ["mailto:a@b.org"]


# ---- store ... ------------------------------------------------------------------------------

def test_950_store_commands(store):
    dns = ["greenbytes2.de", "www.greenbytes2.de", "mail.greenbytes2.de"]
    r = a2md(store, "store", "add", *dns)
    md = out(r)[0]
    assert md["name"] == dns[0] and md["domains"] == dns and md["contacts"] == []
    assert md["ca"]["url"] == CA_URL and md["ca"]["proto"] == "ACME"
    assert md["state"] == 0 and "renew" not in md
    assert a2md(store, "store", "add", dns[0]).rc == 1
    assert a2md(store, "store", "list").json == r.json
    assert a2md(store, "store", "update", dns[0]).json == r.json
    md = out(a2md(store, "store", "update", dns[0], "domains", dns[0], "x.greenbytes2.de"))[0]
    assert md["domains"] == [dns[0], "x.greenbytes2.de"]
    md = out(a2md(store, "store", "update", dns[0], ca="https://foo.com/"))[0]
    assert md["ca"]["urls"][0] == "https://foo.com/"
    assert a2md(store, "store", "update", dns[0], "domains").rc == 1
    assert a2md(store, "store", "update", "nope.org").rc == 1
    # remove, also a missing one (with -f without error)
    assert a2md(store, "store", "add", "test000-301.com").rc == 0
    assert a2md(store, "store", "remove", "test000-301.com").json == EMPTY
    assert [m["name"] for m in out(a2md(store, "store", "list"))] == [dns[0]]
    r = a2md(store, "store", "remove", "test000-302.com")
    assert r.rc == 1
    assert r.json == {"status": 2, "description": "No such file or directory", "output": []}
    assert a2md(store, "store", "remove", "-f", "test000-303.com").json == EMPTY
    assert a2md(store, "store", "remove").rc == 1


# ---- status, check and read-only promises -----------------------------------------------------

def test_950_states_status_check(store):
    name = "live.example.org"
    assert a2md(store, "add", name).rc == 0
    ddir = store / "domains" / name
    cert = harness.write_domain_set(ddir.parent / "tmpset", name, -10, 80)
    for f in ("pubcert.pem", "privkey.pem"):
        os.replace(ddir.parent / "tmpset" / f, ddir / f)
    (ddir.parent / "tmpset").rmdir()
    md = out(a2md(store, "list", name))[0]
    assert md["state"] == 2 and md["renew"] is False
    r = a2md(store, "status")
    st = out(r)[0]
    assert st["name"] == name and st["state"] == 2 and st["state-name"] == "ok"
    assert int(st["cert"]["rsa"]["serial"], 16) == cert.serial_number
    assert st["cert"]["valid"]["until"] == \
        cert.not_valid_after.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert st["renew-reason"] == "not due" and "renew-at" in st and "renew" not in st
    assert "watched" not in st
    txt = a2md(store, "status", json_out=False).stdout.splitlines()
    assert txt[0].split() == ["NAME", "STATE", "VALID", "UNTIL", "RENEW", "AT", "NEXT", "RUN",
                              "NAMES"]
    assert txt[1].split()[:2] == [name, "ok"]
    # check: all fine
    r = a2md(store, "check")
    assert r.rc == 0, r
    entries = {(e["name"], e["status"]) for e in r.json["output"]}
    assert (f"domains/{name}/pubcert.pem", "ok") in entries
    # read-only commands leave everything as it is, also a damaged store
    (ddir / ".privkey.pem.tmp.abc123").write_text("half")
    before = tree(store)
    for args in (["list"], ["status"], ["check"], ["store", "list"], ["account", "list"],
                 ["list", name], ["status", name]):
        a2md(store, *args)
        a2md(store, *args, json_out=False)
    assert tree(store) == before
    r = a2md(store, "check", json_out=False)
    assert r.rc == 0
    assert re.search(r"warning +domains/live.example.org/.privkey.pem.tmp.abc123: left over by "
                     r"an interrupted write", r.stdout), r.stdout
    # a key that does not belong to the certificate: an error, list says incomplete
    other = harness.write_domain_set(store / "other", "x.org", -1, 10)
    assert other
    os.replace(store / "other" / "privkey.pem", ddir / "privkey.pem")
    r = a2md(store, "check")
    assert r.rc == 1
    bad = [e for e in r.json["output"] if e["status"] == "error"]
    assert bad and bad[0]["name"] == f"domains/{name}/pubcert.pem"
    assert "does not belong to the key" in bad[0]["detail"]
    md = out(a2md(store, "list", name))[0]
    assert md["state"] == 1 and md["renew"] is True
    # half a set
    (ddir / "privkey.pem").unlink()
    r = a2md(store, "check", json_out=False)
    assert r.rc == 1 and "half a set: pubcert.pem is there without privkey.pem" in r.stdout
    # expired
    (store / "other").rename(store / "gone")
    exp_dir = store / "exp"
    harness.write_domain_set(exp_dir, name, -100, -10)
    for f in ("pubcert.pem", "privkey.pem"):
        os.replace(exp_dir / f, ddir / f)
    md = out(a2md(store, "list", name))[0]
    assert md["state"] == 1 and md["renew"] is True
    r = a2md(store, "check", json_out=False)
    assert r.rc == 0 and "the certificate expired on" in r.stdout


def test_950_check_permissions(store):
    if not harness.IS_ROOT:
        pytest.skip("needs root to own the store as root")
    assert a2md(store, "add", "perm.example.org").rc == 0
    (store / "challenges" / "perm.example.org").mkdir()
    r = a2md(store, "check", "--user", harness.RUN_USER)
    assert r.rc == 1
    errs = {e["name"] for e in r.json["output"] if e["status"] == "error"}
    assert {"challenges", "staging", "ocsp"} <= errs, r.json
    assert "accounts" not in errs
    subprocess.run(["chown", "-R", f"{harness.RUN_USER}:", str(store / "challenges"),
                    str(store / "staging"), str(store / "ocsp")], check=True)
    r = a2md(store, "check")
    assert r.rc == 0, r
    assert "permissions checked for www-data" in a2md(store, "check", json_out=False).stdout
    assert a2md(store, "check", "--user", "no-such-user-here").rc == 1


def test_950_no_new_key_over_a_store(tmp_path):
    """A directory with files but no md_store.json may be a store that lost its key file: no
    command puts a new key there (its encrypted keys would be unreadable for good)."""
    lost = tmp_path / "md"
    (lost / "accounts" / "ACME-x-0000").mkdir(parents=True)
    for args in (["add", "x.example.org"], ["store", "add", "x.example.org"]):
        r = a2md(lost, *args)
        assert r.rc == 1 and r.json["description"] == "File exists", r
        assert "not empty but has no md_store.json" in r.stderr
    assert sorted(p.name for p in lost.iterdir()) == ["accounts"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert a2md(empty, "add", "x.example.org").rc == 0
    assert (empty / "md_store.json").is_file()
