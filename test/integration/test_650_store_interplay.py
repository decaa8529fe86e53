"""Store interplay with Debian's stock mod_md (#11), each checked against the stock module itself:

1. Challenge answers that another program put into challenges/<name>/ are served as the stock
   module serves them: http-01 and tls-alpn-01, for names of an MD and for names no MDomain
   lists; a name without an answer goes on to the other handlers (a webroot), one of an MD gets
   404. The same requests go to both modules and must get the same answers.
2. job.json written by either module is read by the other: an unfinished job with errors goes on
   counting where the other left it, and its log keeps the other's entries.
3. Back to stock, renewals included: on a store this module set up (RSA account key, directories
   owned as the stock module leaves them), the stock module renews the MD and orders a new one
   with the existing account: no new account, a bounded number of account requests, no error
   lines. Then ours renews again on that store, again without a new account.
Skipped when the suite itself runs against the stock module.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import harness

pytestmark = pytest.mark.skipif(harness.is_stock() or not harness.STOCK_MODULE.is_file(),
                                reason="needs our module and Debian's stock mod_md")

ONE = "one.interplay.example.org"
WWW = "www.one.interplay.example.org"
OTHER = "other.interplay.example.org"    # an http vhost, no MD
NOHOST = "nohost.interplay.example.org"  # neither vhost nor MD
TWO = "two.interplay.example.org"


class RefusedCA:
    """A CA URL on a loopback port nobody listens on: every renewal attempt fails at once."""

    def __init__(self, test_root):
        self.port = harness.free_port()
        self.test_root = test_root

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"


def modules(module):
    return (("stock", harness.STOCK_MODULE), ("ours", module))


# ---- 1. challenge answers -----------------------------------------------------------------

def challenge_config(h):
    return (f"Protocols http/1.1 acme-tls/1\n"
            f"MDomain {ONE} {WWW}\n" + h.md_vhosts(ONE, [WWW])
            + f"<VirtualHost 127.0.0.1:{h.http_port}>\n  ServerName {OTHER}\n"
              f"  DocumentRoot \"{h.root / 'htdocs'}\"\n</VirtualHost>\n")


def put(h, name, fname, data):
    """As another program would: a file in challenges/<name>/, readable by the server."""
    d = h.store_dir / "challenges" / name
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o755)
    (d / fname).write_bytes(data)
    (d / fname).chmod(0o644)


def put_tls_alpn(h, name):
    """A self-signed certificate for 'name' under the default tls-alpn-01 file names."""
    key = rsa.generate_private_key(65537, 2048)
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    now = harness.datetime.datetime.now(harness.datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - harness.datetime.timedelta(hours=1))
         .not_valid_after(now + harness.datetime.timedelta(days=1))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
         .sign(key, harness.hashes.SHA256()))
    put(h, name, "acme-tls-alpn-01-pubcert.pem", c.public_bytes(serialization.Encoding.PEM))
    put(h, name, "acme-tls-alpn-01-privkey.pem",
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()))
    return c.serial_number


def alpn_serial(h, name):
    """Serial of the certificate served for SNI 'name' with ALPN acme-tls/1, asking for an RSA
    signature (as the CAs' Go clients prefer); None when the handshake fails."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{h.https_port}",
                        "-servername", name, "-alpn", "acme-tls/1",
                        "-sigalgs", "rsa_pss_rsae_sha256:RSA+SHA256"],
                       input="", capture_output=True, text=True, timeout=20)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", r.stdout, re.S)
    if not m or "ALPN protocol: acme-tls/1" not in r.stdout:
        return None
    return x509.load_pem_x509_certificate(m.group(0).encode()).serial_number


HTTP_CASES = (
    ("GET", ONE, "tokA"),        # an MD's name, answer in the store
    ("HEAD", ONE, "tokA"),
    ("POST", ONE, "tokA"),       # 501, as stock
    ("GET", WWW, "tokW"),        # an MD's name without an answer: 404
    ("GET", OTHER, "tokB"),      # a vhost that no MD has
    ("GET", NOHOST, "tokN"),     # neither vhost nor MD
    ("GET", "unknown.interplay.example.org", "tokC"),  # no answer: on to the webroot
)


# The one difference (docs/differences.md): the stock module answers any token with the file,
# this module only the token the file is for; another token of a name that is not an MD of
# this module goes on to the webroot, as a name without an answer does.
OURS_DIFFERENT = (("GET", OTHER, "tokC"),)


def http_answers(h):
    out = {}
    for method, host, token in HTTP_CASES + OURS_DIFFERENT:
        extra = ["-I"] if method == "HEAD" else ["-X", method]
        status, body, _ = h.curl(host, f"/.well-known/acme-challenge/{token}", https=False,
                                 extra=extra)
        out[(method, host, token)] = (status, body if status == 200 and method != "HEAD"
                                      else "")
    return out


@pytest.fixture(scope="module")
def challenges(scratch, ports, module, ca):
    """{module label: (http answers, {name: (placed serial, served serial)})}."""
    blackhole = harness.BlackholeCA(ca.test_root)
    result = {}
    try:
        for label, mod in modules(module):
            root = scratch / f"httpd-650-chal-{label}"
            shutil.rmtree(root, ignore_errors=True)
            h = harness.Httpd(root, ports[0], ports[1], ca=blackhole, module=mod)
            h.write_config(challenge_config(h))
            webroot = h.root / "htdocs" / ".well-known" / "acme-challenge"
            webroot.mkdir(parents=True)
            (webroot / "tokC").write_text("from the webroot")
            os.system(f"chmod -R a+rX {h.root / 'htdocs'}")
            try:
                h.start()
                put(h, ONE, "acme-http-01.txt", b"tokA.answer-of-one")
                put(h, OTHER, "acme-http-01.txt", b"tokB.answer-of-other")
                put(h, NOHOST, "acme-http-01.txt", b"tokN.answer-of-nohost")
                alpn = {}
                for name in (ONE, OTHER, NOHOST):
                    placed = put_tls_alpn(h, name)
                    alpn[name] = (placed, alpn_serial(h, name))
                result[label] = (http_answers(h), alpn, h)
            finally:
                h.stop()
            if label == "ours":
                h.check_log()
    finally:
        blackhole.stop()
    yield result
    for label in result:
        harness.remove_scratch(result[label][2].root)


def test_650_http01_as_stock(challenges):
    stock, ours = challenges["stock"][0], challenges["ours"][0]
    assert stock[("GET", ONE, "tokA")] == (200, "tokA.answer-of-one")  # the test means something
    assert stock[("GET", "unknown.interplay.example.org", "tokC")] == (200, "from the webroot")
    for case in HTTP_CASES:
        assert ours[case] == stock[case], case
    assert stock[OURS_DIFFERENT[0]] == (200, "tokB.answer-of-other")
    assert ours[OURS_DIFFERENT[0]] == (200, "from the webroot")


def test_650_tls_alpn01_as_stock(challenges):
    for name in (ONE, OTHER, NOHOST):
        placed, served = challenges["stock"][1][name]
        assert served == placed, f"stock: {name}"
        placed, served = challenges["ours"][1][name]
        assert served == placed, f"ours: {name}"


# ---- 2. job.json ---------------------------------------------------------------------------

def job_of(h):
    try:
        return json.loads((h.store_dir / "staging" / ONE / "job.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_job(h, errors, timeout=60):
    """job.json once it records at least 'errors' failed attempts in a row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = job_of(h)
        if job and job.get("errors", 0) >= errors and job.get("last", {}).get("status"):
            return job
        time.sleep(0.3)
    raise TimeoutError(f"job.json has not {errors} errors:\n{job_of(h)}\n{h.log_tail()}")


def md_status_renewal(h, timeout=20):
    """The "renewal" of md-status/ONE once the module shows one."""
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = h.curl("localhost", f"/md-status/{ONE}", https=False)
        assert status == 200, body
        renewal = json.loads(body).get("renewal")
        if renewal or time.monotonic() > deadline:
            assert renewal, body
            return renewal
        time.sleep(0.3)


def test_650_job_json_both_ways(scratch, ports, module, ca):
    """ours -> stock -> ours on one store, the CA refusing connections: each module shows the
    other's job in md-status and goes on counting its errors; the log keeps all entries."""
    root = scratch / "httpd-650-job"
    shutil.rmtree(root, ignore_errors=True)
    refused = RefusedCA(ca.test_root)
    h = harness.Httpd(root, ports[0], ports[1], ca=refused, module=module)

    def switch(mod):
        h.module = mod
        h.write_config("MDRetryDelay 2s\n" + h.md_config({ONE: []})
                       + "<Location /md-status>\n  SetHandler md-status\n</Location>\n")

    switch(module)
    ours_log = []
    try:
        mark = h.log_size()
        h.start()
        wait_job(h, 1)
        h.stop()
        first = job_of(h)  # as the stop left it
        ours_log.append(h.log_text(mark))
        # the stock module shows our job as it is and continues it
        switch(harness.STOCK_MODULE)
        h.start()
        shown = md_status_renewal(h)
        assert shown["errors"] >= first["errors"]
        assert shown["log"]["entries"][-len(first["log"]["entries"]):] == \
            first["log"]["entries"]
        assert shown["last"]["status"] == 111
        wait_job(h, first["errors"] + 1)
        h.stop()
        stock_job = job_of(h)
        assert stock_job["log"]["entries"][-len(first["log"]["entries"]):] == \
            first["log"]["entries"], "our entries lost"
        # ours continues the stock module's job: errors go on, the stock entries stay
        switch(module)
        mark = h.log_size()
        h.start()
        shown = md_status_renewal(h)
        assert shown["errors"] >= stock_job["errors"]
        assert shown["last"]["status-description"] == "Connection refused"
        ours_job = wait_job(h, stock_job["errors"] + 1)
        h.stop()
        ours_log.append(h.log_text(mark))
        stock_types = {e["type"] for e in stock_job["log"]["entries"]}
        assert "renewal-error" in stock_types, json.dumps(stock_job, indent=1)
        assert stock_types <= {e["type"] for e in ours_job["log"]["entries"]}
        for key, val in stock_job.items():
            if key not in ("errors", "last", "last-run", "next-run", "log"):
                assert ours_job.get(key) == val, key
    finally:
        h.stop()
    # our module's runs logged the refused connections only (the stock module's lines in
    # between are its own business)
    bad = [ln for text in ours_log for ln in text.splitlines()
           if re.search(r"\[md:(warn|error|crit)\]", ln)
           and not re.search(r"AH1230[04]", ln)]
    assert not bad, "\n".join(bad)
    harness.remove_scratch(root)


# ---- 3. back to stock, renewals included ---------------------------------------------------

def store_key(store):
    k = json.loads((store / "md_store.json").read_text())["key"]
    return base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))


def account_key(store):
    accounts = sorted((store / "accounts").iterdir())
    assert len(accounts) == 1, accounts
    pem = (accounts[0] / "account.pem").read_bytes()
    return accounts[0].name, serialization.load_pem_private_key(pem, store_key(store))


def layout(store):
    """(owner, group, mode) of the store's top-level entries."""
    out = {}
    for p in store.iterdir():
        st = p.lstat()
        out[p.name] = (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777))
    return out


def account_posts(ca, mark):
    reqs = ca.requests_since(mark)
    return ([ln for ln in reqs if "POST /sign-me-up" in ln],
            [ln for ln in reqs if "POST /my-account/" in ln], reqs)


def md_errors(h, since):
    return [ln for ln in h.log_text(since).splitlines() if re.search(r"\[md:(error|crit)\]", ln)]


def renew_config(h, window=True):
    return (("MDRenewWindow 1900d\n" if window else "")
            + h.md_config({ONE: [], TWO: []}))


def test_650_stock_renews_on_our_store(scratch, ports, module, ca):
    root = scratch / "httpd-650-back"
    shutil.rmtree(root, ignore_errors=True)
    h = harness.Httpd(root, ports[0], ports[1], ca=ca, module=module)
    try:
        # ours sets up the store: an account (RSA, as stock makes them) and ONE's certificate
        h.write_config(h.md_config({ONE: []}))
        h.start_and_issue([ONE])
        ours_serial = h.peer_chain(ONE).serial_number
        h.stop()
        h.check_log()
        ours_layout = layout(h.store_dir)
        account, key = account_key(h.store_dir)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048

        # the stock module renews ONE (due at once) and orders TWO with that account
        h.module = harness.STOCK_MODULE
        h.write_config(renew_config(h))
        mark, log_mark = ca.log_mark(), h.log_size()
        h.start()
        h.wait_md_ready([ONE, TWO], timeout=120, since=log_mark)
        time.sleep(2)  # an error loop would show in these seconds
        new_accounts, account_reqs, reqs = account_posts(ca, mark)
        assert not new_accounts, "the stock module registered a new account"
        assert len(account_reqs) <= 4, f"{len(account_reqs)} account requests"
        assert len(reqs) < 80, f"{len(reqs)} requests to the CA"
        assert not md_errors(h, log_mark)
        h.write_config(renew_config(h, window=False))
        h.graceful()
        assert h.peer_chain(ONE).serial_number != ours_serial
        h.verify_served(ONE, ca.issuer_root)
        h.verify_served(TWO, ca.issuer_root)
        assert [p.name for p in (h.store_dir / "accounts").iterdir()] == [account]
        # owners and modes were already what the stock module leaves once a certificate is
        # live (it starts a fresh store with 0750 directories and opens them to 0755 later)
        stock_layout = layout(h.store_dir)
        for name in ("accounts", "archive", "challenges", "domains", "ocsp", "staging", "tmp",
                     "md_store.json"):
            assert ours_layout.get(name) == stock_layout.get(name), name
        stock_serial = h.peer_chain(ONE).serial_number
        h.stop()
        h.mark_log_checked()  # the stock module's lines are not ours to judge

        # and ours renews on the store the stock module kept using: same account again
        h.module = module
        h.write_config(renew_config(h))
        mark, log_mark = ca.log_mark(), h.log_size()
        h.start()
        h.wait_md_ready([ONE, TWO], timeout=120, since=log_mark)
        time.sleep(2)
        new_accounts, account_reqs, reqs = account_posts(ca, mark)
        assert not new_accounts, "our module registered a new account"
        assert len(account_reqs) <= 4, f"{len(account_reqs)} account requests"
        assert len(reqs) < 80, f"{len(reqs)} requests to the CA"
        h.write_config(renew_config(h, window=False))
        h.graceful()
        assert h.peer_chain(ONE).serial_number not in (ours_serial, stock_serial)
        h.verify_served(ONE, ca.issuer_root)
        assert [p.name for p in (h.store_dir / "accounts").iterdir()] == [account]
    finally:
        h.stop()
    h.check_log()
    harness.remove_scratch(root)
