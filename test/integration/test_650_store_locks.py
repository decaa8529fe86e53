"""MDStoreLocks: several Apache instances on one store directory (a cluster sharing it).

Two servers with the same MDs and 'MDStoreLocks on' start at once against pebble: each MD is
ordered once (the server that holds its lock renews it, the other one waits and then finds it
renewed: AH13406, or meets the busy lock and looks again later: AH13405), both log AH10059 and,
after a graceful restart, both serve the same new certificate (one of them activates the staged
set under the lock, the other finds it activated). Only the first server listens on the ports
pebble validates on; it answers the http-01 challenges of both from the shared store.
"""

import contextlib
import fcntl
import os
import pwd
import re
import shutil

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.is_stock(), reason="tests this module's locking")

NAMES = ["lock-a.example.org", "lock-b.example.org"]


def config(h, store, ca_ports):
    """The MDs on 'h', its store 'store'; http-01 requests of the CA arrive at ca_ports[0]."""
    body = (f"MDStoreDir {store}\nMDStoreLocks on\nMDRetryDelay 2s\nMDCAChallenges http-01\n"
            f"MDPortMap http:{ca_ports[0]}\n")
    for name in NAMES:
        body += f"MDomain {name}\n" + h.md_vhosts(name)
    return body


def orders(ca, mark):
    return [ln for ln in ca.requests_since(mark) if re.search(r"POST /order-plz", ln)]


@pytest.fixture
def cluster(scratch, ports, ca_factory):
    """A pebble without nonce rejects (so each order is one POST) and two servers on one store."""
    ca = ca_factory({"PEBBLE_WFE_NONCEREJECT": "0"})
    store = harness.make_scratch("md-shared-store-")
    other_ports = harness.free_ports(2)
    servers = []
    for i, (http, https) in enumerate([ports, other_ports]):
        root = scratch / f"cluster-{i}"
        shutil.rmtree(root, ignore_errors=True)
        h = harness.Httpd(root, http, https, ca=ca)
        h.write_config(config(h, store, ports))
        servers.append(h)
    yield ca, store, servers
    for h in servers:
        h.stop()
    for h in servers:
        bad = h.log_problems(since=0)
        assert not bad, "unexpected warnings/errors in error log:\n" + "\n".join(bad)
        harness.remove_scratch(h.root)
    harness.remove_scratch(store)


def test_650_one_renewal_per_md_both_serve(cluster):
    ca, store, servers = cluster
    mark = ca.log_mark()
    for h in servers:
        r = h.start()
        assert r.returncode == 0, r.stdout + r.stderr
    for h in servers:
        h.wait_md_ready(NAMES, timeout=180)
    got = orders(ca, mark)
    assert len(got) == len(NAMES), "orders at pebble:\n" + "\n".join(got)
    # the server that did not renew an MD either waited for the lock and found it renewed, or
    # met the busy lock and found it renewed at its next look
    texts = [h.log_text() for h in servers]
    for name in NAMES:
        assert sum(f"AH13406: {name}: renewed by another server" in t for t in texts) == 1, name
    assert (store / "locks" / f"{NAMES[0]}.lock").is_file()
    for h in servers:
        h.graceful()
    serials = []
    for h in servers:
        for name in NAMES:
            cert = h.peer_chain(name)
            assert not harness.is_self_signed(cert), f"{name} not renewed on {h.root}"
            serials.append((name, cert.serial_number))
    # the same certificate on both servers
    assert len(set(serials)) == len(NAMES), serials
    assert len(orders(ca, mark)) == len(NAMES)


def give_to_server_user(*paths):
    """As the module does as root: what the server's children use in the store is theirs."""
    if harness.IS_ROOT:
        user = pwd.getpwnam(harness.RUN_USER)
        for p in paths:
            os.chown(p, user.pw_uid, user.pw_gid)


@contextlib.contextmanager
def held_lock(httpd, lock_name):
    """Holds the store lock 'lock_name' of httpd's store (a write lock on locks/<name>.lock, as
    another server sharing the store would) while the block runs."""
    locks = httpd.store_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock_file = locks / f"{lock_name}.lock"
    lock_file.touch()
    give_to_server_user(locks, lock_file)
    with open(lock_file, "r+") as f:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def test_650_busy_lock_waits(httpd_factory, ca_factory):
    """While something else (here: this test, as another server would) holds an MD's lock longer
    than the wait, the server does not order; it says so (AH13405, info) and renews once the
    lock is free."""
    ca = ca_factory({"PEBBLE_WFE_NONCEREJECT": "0"})  # one POST per order
    httpd = httpd_factory(ca=ca)
    name = "lock-busy.example.org"
    mark = ca.log_mark()
    with held_lock(httpd, name):
        httpd.write_config(f"MDStoreLocks 1s\nMDRetryDelay 1s\nMDomain {name}\n"
                           + httpd.md_vhosts(name))
        httpd.start()
        httpd.wait_log(rf"AH13405: {name}: another server sharing the store renews it now",
                       timeout=30)
        assert not orders(ca, mark)
    httpd.wait_md_ready([name], timeout=120)
    assert len(orders(ca, mark)) == 1


def test_650_account_lock_busy(httpd):
    """While another server holds the store lock for making accounts (_new-account) longer than
    a job waits for it (30 seconds), the job says so (AH12240, debug) and makes an account of its
    own (which does no harm): the MD gets its certificate, no warning or error is logged. Takes
    about 35 seconds: the wait is fixed."""
    name = "acct-lock.example.org"
    with held_lock(httpd, "_new-account"):
        httpd.write_config(f"MDStoreLocks on\nMDomain {name}\n" + httpd.md_vhosts(name))
        httpd.start()
        httpd.wait_log(rf"AH12240: {re.escape(name)}: no store lock for making an account",
                       timeout=60)
        httpd.wait_md_ready([name], timeout=120)
    assert (httpd.store_dir / "staging" / name / "account.json").is_file()


# the store's errors about the two files (AH12100: not JSON; AH12210: no url)
@pytest.mark.expect_log("AH12100", "AH12210")
def test_650_corrupt_staged_account_ignored(httpd):
    """A job that needs an account looks for one another server made in the other MDs' staging
    directories (under the account lock): an account.json there that cannot be read is passed
    over (AH13500 names it), once, and the job makes its own account and gets its certificate."""
    name = "acct-corrupt.example.org"
    bad = {"bad-json.example.org": "{\"url\": \"https://ca/acct/1\", not json",
           "no-url.example.org": "{\"status\": \"valid\"}"}
    staging = httpd.store_dir / "staging"
    for other, text in bad.items():
        (staging / other).mkdir(parents=True)
        (staging / other / "account.json").write_text(text)
        give_to_server_user(staging, staging / other, staging / other / "account.json")
    # their MDs are renewed by hand: the staging of an MD not configured is removed at start
    others = "".join(f"<MDomain {other}>\n  MDRenewMode manual\n</MDomain>\n" for other in bad)
    httpd.write_config(f"MDStoreLocks on\n{others}MDomain {name}\n" + httpd.md_vhosts(name))
    httpd.start()
    httpd.wait_md_ready([name], timeout=120)
    log = httpd.error_log.read_text(errors="replace")
    for other in bad:
        lines = re.findall(rf"AH13500: {re.escape(name)}: the account staged for "
                           rf"{re.escape(other)} cannot be read: not used", log)
        assert len(lines) == 1, log[-3000:]
    assert (staging / name / "account.json").is_file()
    for other, text in bad.items():
        assert (staging / other / "account.json").read_text() == text  # left as it was
