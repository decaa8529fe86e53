"""A fleet on one store in etcd (MDStoreEtcd): three Apache servers, a three member etcd cluster
over TLS with client certificates, one pebble. Everything runs on loopback ports and is stopped
by pid.

Pebble sends its validation requests to server C only (its httpPort is C's http port), and C
starts with MDInitialDelay 30m, so it never orders: every certificate is ordered by A or B and
validated through C, which reads the challenge answers from etcd. In order:
  1. 20 MDs: each ordered exactly once (pebble's newOrder requests, the servers' AH12222), C
     answered every challenge, C's watch saw every renewal (AH13127), and after a graceful
     restart all three serve the same certificate of every MD.
  2. kill -9 of the server that holds an MD's lock in the middle of its order: the lock's lease
     expires, the other server resumes the same order with the same account and finishes it.
  3. one etcd member down: no effect.
  4. the quorum lost: the servers restart and serve from their local copies, a renewal waits
     (retried) and completes once the quorum is back.
  5. MDActivation hot: a certificate one server renews is served by all three without a
     restart, and made live in etcd once.
  6. a2md migrate: file store -> etcd -> file store, byte for byte; no plain private key in
     etcd.
"""

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import harness
from etcd_cluster import ETCD_BIN, EtcdCluster

pytestmark = [
    pytest.mark.skipif(harness.is_stock(), reason="the etcd store is this module's"),
    pytest.mark.skipif(not os.path.exists(ETCD_BIN), reason="etcd-server not installed"),
]

PREFIX = "/fleet"
NAMES = [f"md{i:02d}.fleet.test" for i in range(20)]
A2MD = harness.A2MD


class Fleet:
    def __init__(self, scratch):
        self.dir = scratch / "fleet"
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.dir.chmod(0o755)
        self.etcd = EtcdCluster(self.dir / "etcd", n=3, tls=True)
        ports = harness.free_ports(6)
        self.servers = []
        # pebble validates at C: its http port
        self.ca = harness.CA(self.dir / "ca", ports[4], ports[5],
                             env={"PEBBLE_WFE_NONCEREJECT": "0"})
        for i, label in enumerate("abc"):
            self.servers.append(harness.Httpd(self.dir / label, ports[2 * i], ports[2 * i + 1],
                                              ca=self.ca))
        self.a, self.b, self.c = self.servers
        self.names = list(NAMES)
        self.extra = {}  # server -> extra configuration

    def config(self, h, names=None, extra="", sections=None):
        """'sections' maps an MD name to directives of its own (an <MDomain> section)."""
        body = self.etcd.directives(PREFIX)
        body += ("MDStoreEtcdLockTTL 3s\nMDStoreLocks 1s\nMDRetryDelay 1s\n"
                 "MDCAChallenges http-01\n")
        if h is self.c:
            body += "MDInitialDelay 30m\n"
        body += extra + self.extra.get(h, "")
        for name in (names if names is not None else self.names):
            if sections and name in sections:
                body += f"<MDomain {name}>\n{sections[name]}</MDomain>\n" + h.md_vhosts(name)
            else:
                body += f"MDomain {name}\n" + h.md_vhosts(name)
        h.write_config(body)

    def logs(self, since=None):
        since = since or {}
        return {h: h.log_text(since.get(h, 0)) for h in self.servers}

    def marks(self):
        return {h: h.log_size() for h in self.servers}

    def wait_ready(self, names, since=None, timeout=120.0, servers=None, hot=False):
        """Waits until each MD in 'names' got AH10059 (with 'hot' AH13000) on one of 'servers'
        (default A and B)."""
        servers = servers or (self.a, self.b)
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending and time.monotonic() < deadline:
            text = "".join(h.log_text((since or {}).get(h, 0)) for h in servers)
            rx = (r"AH13000: {}: renewed certificate staged" if hot
                  else r"AH10059: The Managed Domain {} ")
            pending = {n for n in pending if not re.search(rx.format(re.escape(n)), text)}
            time.sleep(0.3)
        assert not pending, (f"not renewed: {sorted(pending)}\n"
                             + "\n".join(h.log_tail(30) for h in servers))

    def served_serials(self, name, servers=None):
        out = {}
        for h in servers or self.servers:
            cert = h.peer_chain(name)
            assert not harness.is_self_signed(cert), f"{h.root.name} serves a fallback for {name}"
            out[h.root.name] = cert.serial_number
        return out

    def stored_serial(self, name):
        from cryptography import x509
        value = self.etcd.get_prefix(f"{PREFIX}/domains/{name}/pubcert.pem")
        body = value[f"{PREFIX}/domains/{name}/pubcert.pem"].split(b"\n", 1)[1]
        return x509.load_pem_x509_certificate(body).serial_number

    def accounts(self):
        keys = self.etcd.get_prefix(f"{PREFIX}/accounts/")
        return {k.split("/")[3] for k in keys}

    def a2md(self, store_dir, *args, prefix=PREFIX):
        return subprocess.run([str(A2MD), "-d", str(store_dir), *self.etcd.a2md_args(prefix),
                               *args], capture_output=True, text=True, timeout=120)


def orders(ca, mark):
    return [ln for ln in ca.requests_since(mark) if "POST /order-plz" in ln]


def new_order_lines(fleet, name, since=None):
    rx = re.compile(r"AH12222: " + re.escape(name) + r": new order ")
    return [ln for text in fleet.logs(since).values() for ln in text.splitlines() if rx.search(ln)]


def kill_tree(pid):
    """SIGKILL 'pid' and all its descendants (found by pid, nothing by name)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(harness.Httpd._children(p))
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(harness.Httpd._pid_alive(p) for p in pids):
        time.sleep(0.05)


@pytest.fixture(scope="module")
def fleet(scratch):
    f = Fleet(scratch)
    try:
        f.etcd.start()
        f.ca.start()
        yield f
    finally:
        for h in f.servers:
            h.stop()
        f.etcd.stop()
        f.ca.stop()
    for h in f.servers:
        bad = h.log_problems(expected=getattr(h, "expected", ()), since=0)
        assert not bad, f"unexpected warnings/errors in {h.root.name}:\n" + "\n".join(bad)
    harness.remove_scratch(f.dir)


def test_670_each_md_ordered_once_served_everywhere(fleet):
    mark = fleet.ca.log_mark()
    for h in fleet.servers:
        fleet.config(h)
    r = fleet.c.start()
    assert r.returncode == 0, r.stderr
    # the key file goes to every server of the fleet
    for h in (fleet.a, fleet.b):
        h.store_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(fleet.c.store_dir / "md_store.json", h.store_dir / "md_store.json")
        r = h.start()
        assert r.returncode == 0, r.stderr
    fleet.wait_ready(NAMES)
    # each MD ordered exactly once, by A or B
    assert len(orders(fleet.ca, mark)) == len(NAMES)
    for name in NAMES:
        assert len(new_order_lines(fleet, name)) == 1, name
    logs = fleet.logs()
    assert "AH12222" not in logs[fleet.c]
    # pebble reached C only: C answered every challenge from etcd, A and B none
    for name in NAMES:
        assert f"answering the http-01 challenge for {name}" in logs[fleet.c], name
    assert "AH12318" not in logs[fleet.a] + logs[fleet.b]
    # C's watch saw the renewals of the others
    for name in NAMES:
        assert re.search(r"AH13127: " + re.escape(name) + ": another server", logs[fleet.c]), name
    # no private key in the clear in etcd
    for key, value in fleet.etcd.get_prefix(PREFIX + "/").items():
        assert b"BEGIN PRIVATE KEY" not in value and b"BEGIN EC PRIVATE KEY" not in value, key
    for h in fleet.servers:
        h.graceful()
    for name in NAMES:
        serials = fleet.served_serials(name)
        assert set(serials.values()) == {fleet.stored_serial(name)}, (name, serials)
    # A and B started at once on an empty store: one account for the fleet (made under the
    # store lock, the other server found it in the first one's staging)
    assert len(fleet.accounts()) == 1, fleet.accounts()
    assert len([ln for ln in fleet.ca.requests_since(mark) if "POST /sign-me-up" in ln]) == 1


def test_670_kill_lock_holder_mid_order(fleet, scratch):
    name = "kill.fleet.test"
    prog_dir = harness.make_scratch("md-hang-")
    marker = prog_dir / "marker"
    prog = prog_dir / "hang.sh"
    prog.write_text(f"#!/bin/sh\necho $$ > {marker}\nexec sleep 300\n")
    prog.chmod(0o755)
    os.chmod(prog_dir, 0o777)
    accounts = fleet.accounts()
    marks = fleet.marks()
    hang = None
    try:
        # A orders it and hangs in the dns-01 setup, holding the MD's lock
        fleet.config(fleet.a, NAMES + [name], extra=f"MDChallengeDns01 {prog}\n",
                     sections={name: "  MDCAChallenges dns-01\n"})
        fleet.a.graceful()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not marker.exists():
            time.sleep(0.1)
        assert marker.exists(), fleet.a.log_tail()
        time.sleep(0.2)
        hang = int(marker.read_text().split()[0])
        holder = fleet.etcd.get_prefix(f"{PREFIX}/locks/{name}")
        assert holder, "A holds no lock"
        # B wants it too and finds the lock busy
        for h in (fleet.b, fleet.c):
            fleet.config(h, NAMES + [name])
            h.graceful()
        fleet.b.wait_log(r"AH13405: " + re.escape(name) + ": another server", timeout=30,
                         since=marks[fleet.b])
        kill_tree(fleet.a.pid())
        kill_tree(hang)
        # the lease runs out (3s), B resumes the order and finishes
        fleet.wait_ready([name], since=marks, servers=(fleet.b,), timeout=90)
    finally:
        if hang:
            kill_tree(hang)
        harness.remove_scratch(prog_dir)
    assert len(new_order_lines(fleet, name, since=marks)) == 1
    assert fleet.accounts() == accounts
    fleet.a.pid_file.unlink(missing_ok=True)
    fleet.config(fleet.a, NAMES + [name])
    assert fleet.a.start().returncode == 0
    for h in (fleet.b, fleet.c):
        h.graceful()
    serials = fleet.served_serials(name)
    assert set(serials.values()) == {fleet.stored_serial(name)}, serials
    fleet.names.append(name)


def test_670_one_member_down(fleet):
    name = "one-down.fleet.test"
    marks = fleet.marks()
    fleet.etcd.stop_member(0)
    try:
        for h in fleet.servers:
            fleet.config(h, fleet.names + [name])
            h.graceful()
        fleet.wait_ready([name], since=marks)
        for h in fleet.servers:
            h.graceful()
        assert len(set(fleet.served_serials(name).values())) == 1
        for h in fleet.servers:
            assert "AH13105" not in h.log_text(marks[h])
    finally:
        fleet.etcd.start_member(0)
        fleet.etcd.wait_healthy()
    fleet.names.append(name)


def test_670_quorum_lost_serve_wait_resume(fleet):
    name = "quorum.fleet.test"
    for h in fleet.servers:
        # AH13451: C may be asked for an answer before its client reached etcd again
        h.expected = ("AH13105", "AH12300", "AH12304", "AH13451")
    before = {n: fleet.served_serials(n, servers=[fleet.a])["a"] for n in NAMES[:3]}
    marks = fleet.marks()
    fleet.etcd.stop_member(0)
    fleet.etcd.stop_member(1)
    try:
        # the servers restart without etcd and serve what they have
        for h in fleet.servers:
            fleet.config(h, fleet.names + [name])
            h.graceful()
        for n, serial in before.items():
            for h in fleet.servers:
                assert h.peer_chain(n).serial_number == serial
        # the renewal of the new MD waits for etcd
        fleet.a.wait_log(r"AH13105: etcd: no endpoint", timeout=30, since=marks[fleet.a])
        time.sleep(3)
        assert not new_order_lines(fleet, name, since=marks)
    finally:
        fleet.etcd.start_member(0)
        fleet.etcd.start_member(1)
        fleet.etcd.wait_healthy()
    fleet.wait_ready([name], since=marks, timeout=120)
    for h in fleet.servers:
        h.graceful()
    assert len(set(fleet.served_serials(name).values())) == 1
    fleet.names.append(name)


def test_670_hot_activation_across_the_fleet(fleet):
    """MDActivation hot on every server: a certificate A or B renews is served by all three
    without a restart (the others learn of it through their watch of etcd, AH13132), and one
    parent makes it the live set in etcd while the others see that it is (AH13131)."""
    name = "hot.fleet.test"
    for h in fleet.servers:
        h.expected = getattr(h, "expected", ()) + ("AH13407",)
    marks = fleet.marks()
    # C first: it runs (and watches) before A or B can renew, so it learns of the certificate
    # through etcd, not at its restart
    for h in (fleet.c, fleet.a, fleet.b):
        fleet.config(h, fleet.names + [name], extra="MDActivation hot\n")
        h.graceful()
    fleet.wait_ready([name], since=marks, hot=True)
    deadline = time.monotonic() + 30
    while True:
        served = {h.root.name: h.peer_chain(name) for h in fleet.servers}
        if not any(harness.is_self_signed(c) for c in served.values()):
            break
        assert time.monotonic() < deadline, {k: c.issuer for k, c in served.items()}
        time.sleep(0.5)
    assert len({c.serial_number for c in served.values()}) == 1
    assert re.search(r"AH13132: " + re.escape(name), fleet.c.log_text(marks[fleet.c]))
    # the parents: one activates it in etcd (AH12153: with AH13006 in its monitor round, or
    # alone when that server's graceful restart came after the set was staged and it activated
    # it at start, as without hot), the others find it live there (AH13131)
    activated = r"AH12153: "
    deadline = time.monotonic() + 60
    while True:
        logs = fleet.logs(marks)
        done = [h for h in fleet.servers
                if re.search(r"(?:" + activated + r"|AH13131: )" + re.escape(name), logs[h])]
        if len(done) == 3:
            break
        assert time.monotonic() < deadline, "\n".join(h.log_tail(20) for h in fleet.servers)
        time.sleep(0.5)
    assert fleet.stored_serial(name) == next(iter(served.values())).serial_number
    assert sum(len(re.findall(r"(?:" + activated + r")" + re.escape(name), t))
               for t in logs.values()) == 1
    fleet.names.append(name)


def test_670_migrate_round_trip(fleet, scratch):
    d1 = harness.make_scratch("md-export-")
    d2 = harness.make_scratch("md-reimport-")
    try:
        for d in (d1, d2):
            shutil.copy(fleet.a.store_dir / "md_store.json", d / "md_store.json")
        r = fleet.a2md(d1, "migrate", "from-etcd")
        assert r.returncode == 0, r.stderr
        files1 = tree(d1)
        assert any(k.startswith("domains/md00.fleet.test/privkey") for k in files1), files1.keys()
        assert any(k.startswith("accounts/") for k in files1)
        r = fleet.a2md(d1, "migrate", "to-etcd", prefix="/roundtrip")
        assert r.returncode == 0, r.stderr
        # into a prefix that has a store already: refused
        r = fleet.a2md(d1, "migrate", "to-etcd", prefix="/roundtrip")
        assert r.returncode != 0 and "already holds" in r.stderr
        r = fleet.a2md(d2, "migrate", "from-etcd", prefix="/roundtrip")
        assert r.returncode == 0, r.stderr
        files2 = tree(d2)
        assert files1 == files2
        for key, value in fleet.etcd.get_prefix("/roundtrip/").items():
            assert b"BEGIN PRIVATE KEY" not in value, key
        # a2md reads the store in etcd
        r = fleet.a2md(d2, "list", prefix="/roundtrip")
        assert r.returncode == 0 and "md00.fleet.test" in r.stdout, r.stderr
    finally:
        harness.remove_scratch(d1)
        harness.remove_scratch(d2)


def tree(d):
    """{relative path: bytes} of the files of a store, md_store.json and tmp/ aside."""
    out = {}
    for p in Path(d).rglob("*"):
        rel = p.relative_to(d).as_posix()
        if p.is_file() and rel != "md_store.json" and not rel.startswith("tmp/"):
            out[rel] = p.read_bytes()
    return out
