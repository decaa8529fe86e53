"""The etcd store with etcd's user/password authentication (MDStoreEtcdAuth, a2md --etcd-user):
one etcd member (plain http on a loopback port) whose user 'apache' may use the prefix /auth
only. A server renews an MD there (locks and leases under auth) and serves it; a2md reads the
store; a wrong password, no user, or a prefix outside the user's role are refused with a message
that names MDStoreEtcdAuth. A server with another key file than the store was made with does
not start (AH13114); bad MDStoreEtcd* values stop 'apachectl -t'.
"""

import os
import subprocess

import pytest

import harness
from etcd_cluster import ETCD_BIN, EtcdCluster

pytestmark = [
    pytest.mark.skipif(harness.is_stock(), reason="the etcd store is this module's"),
    pytest.mark.skipif(not os.path.exists(ETCD_BIN), reason="etcd-server not installed"),
]

A2MD = harness.A2MD
NAME = "auth.etcd.test"


@pytest.fixture(scope="module")
def etcd_auth(scratch):
    d = scratch / "etcd-auth"
    cluster = EtcdCluster(d, n=1, tls=False).start()
    try:
        for args in (["user", "add", "root:rootpw"], ["user", "add", "apache:apachepw"],
                     ["role", "add", "md"],
                     ["role", "grant-permission", "md", "--prefix=true", "readwrite", "/auth/"],
                     ["user", "grant-role", "apache", "md"], ["auth", "enable"]):
            r = cluster.etcdctl(*args)
            assert r.returncode == 0, r.stderr
        pw = d / "apache.pw"
        pw.write_text("apachepw\n")
        pw.chmod(0o600)
        wrong = d / "wrong.pw"
        wrong.write_text("nope\n")
        yield cluster, pw, wrong
    finally:
        cluster.stop()


def a2md(store_dir, cluster, *args, user="apache", pwfile=None, prefix="/auth"):
    argv = [str(A2MD), "-d", str(store_dir), "--etcd", cluster.endpoints, "--etcd-prefix", prefix]
    if user:
        argv += ["--etcd-user", user, "--etcd-password-file", str(pwfile)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60)


def test_671_renew_and_serve_with_auth(etcd_auth, httpd):
    cluster, pw, _ = etcd_auth
    httpd.write_config(cluster.directives("/auth") + f"MDStoreEtcdAuth apache {pw}\n"
                       + "MDStoreEtcdLockTTL 5s\n" + httpd.md_config({NAME: []}))
    assert httpd.start().returncode == 0
    httpd.wait_md_ready([NAME], timeout=60)
    httpd.graceful()
    cert = httpd.peer_chain(NAME)
    assert not harness.is_self_signed(cert)
    # the lock key was the server's, with a lease: gone once it let go
    r = cluster.etcdctl("get", "--prefix", "/auth/locks/", user="apache:apachepw")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    r = a2md(httpd.store_dir, cluster, "list", pwfile=pw)
    assert r.returncode == 0 and NAME in r.stdout, r.stderr


def test_671_refused_with_the_fix(etcd_auth, scratch):
    cluster, pw, wrong = etcd_auth
    d = harness.make_scratch("md-auth-store-")
    try:
        r = a2md(d, cluster, "add", "x.etcd.test", pwfile=wrong)
        assert r.returncode != 0
        assert "AH13102" in r.stderr and "MDStoreEtcdAuth" in r.stderr, r.stderr
        r = a2md(d, cluster, "add", "x.etcd.test", user=None)
        assert r.returncode != 0 and "MDStoreEtcdAuth" in r.stderr, r.stderr
        r = a2md(d, cluster, "add", "x.etcd.test", pwfile=pw, prefix="/other")
        assert r.returncode != 0 and "permission denied" in r.stderr, r.stderr
    finally:
        harness.remove_scratch(d)


@pytest.mark.expect_log("AH13114", "AH13125", "AH12315")
def test_671_other_key_refused(etcd_auth, httpd):
    """A server whose md_store.json holds another key than the store in etcd was made with does
    not start (it would write what the others cannot read), and says which file to copy."""
    cluster, pw, _ = etcd_auth
    d = harness.make_scratch("md-other-key-")
    try:
        r = a2md(d, cluster, "add", NAME, pwfile=pw, prefix="/auth/keytest")
        assert r.returncode == 0, r.stderr
    finally:
        harness.remove_scratch(d)
    httpd.write_config(cluster.directives("/auth/keytest") + f"MDStoreEtcdAuth apache {pw}\n"
                       + httpd.md_config({NAME: []}))
    r = httpd.start(wait=False)
    assert r.returncode != 0 or not httpd.running()
    line = httpd.wait_log(r"AH13114", timeout=10)[0]
    assert "md_store.json" in line and "copy" in line


@pytest.mark.parametrize("directives, phrase", [
    ("MDStoreEtcd ftp://127.0.0.1:2379\n", "is not an etcd client URL"),
    ("MDStoreEtcd 127.0.0.1:2379 mod_md\n", "must start with '/'"),
    ("MDStoreEtcd 127.0.0.1:2379\nMDStoreEtcdLockTTL 1s\n", "give 2 seconds to an hour"),
    ("MDStoreEtcd 127.0.0.1:2379\nMDStoreEtcdCACertificateFile /nonexistent/ca.pem\n",
     "is not a readable file"),
])
def test_671_directives_refused(httpd, directives, phrase):
    httpd.write_config(directives + httpd.md_config({NAME: []}))
    r = httpd.apachectl("-t")
    assert r.returncode != 0 and phrase in r.stderr, r.stderr
