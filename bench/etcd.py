#!/usr/bin/python3
"""Fleet benchmark: N MDs on three Apache servers sharing a store in etcd (MDStoreEtcd, a three
member cluster over TLS) next to one Apache with the file store, one local pebble each.

For each case the clock starts with 'apache2 -k start' (the three servers of the fleet at once,
with the fleet's key file given to each beforehand) and stops when every server serves every
MD's certificate (a TLS handshake per name and server after a graceful restart of
all of them). Printed with it: when the last MD was staged (its AH10059, by the log's time
stamps), how many orders pebble got, and the start-up sync of the store (AH12319) of a restart.
Numbers are printed, never asserted.

Environment
  BENCH_ETCD_N      number of MDs (default 100)
  BENCH_KEYS        'ec' (secp256r1, default: the store's share is what is measured) or 'rsa'
  BENCH_TIMEOUT     seconds to wait for all MDs (default 600)
  BENCH_REPEAT      runs of each case, taking turns (default 1)
  MD_MODULE         the module (default build/mod_md.so)
"""

import base64
import json
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "integration"))
import harness  # noqa: E402
from etcd_cluster import EtcdCluster  # noqa: E402

KEYS = {"ec": "MDPrivateKeys secp256r1\n", "rsa": ""}


def body(h, names, extra):
    parts = [extra]
    for name in names:
        parts.append(f"MDomain {name}\n" + h.md_vhosts(name))
    return "".join(parts)


def ready_at(servers, names, since, timeout):
    """Seconds since the epoch of the last AH10059 of 'names' over 'servers'."""
    deadline = time.monotonic() + timeout
    while True:
        times = {}
        for h in servers:
            for n, t in h.md_ready_times(names, since=since.get(h, 0)).items():
                times[n] = min(t, times.get(n, t))
        if len(times) == len(names):
            return max(times.values())
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(names) - len(times)} MDs not ready")
        time.sleep(0.5)


def serve_all(servers, names, timeout=120):
    deadline = time.monotonic() + timeout
    for h in servers:
        for name in names:
            while harness.is_self_signed(h.peer_chain(name)):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{h.root.name} does not serve {name}")
                time.sleep(0.2)


def sync_ms(h, since):
    m = re.findall(r"AH12319: store synced for \d+ domains in (\d+) ms", h.log_text(since))
    return int(m[-1]) if m else -1


def orders(ca, mark):
    return len([ln for ln in ca.requests_since(mark) if "POST /order-plz" in ln])


def write_key_file(store_dir, key):
    """The fleet's md_store.json, as the first server would make it (see docs/etcd.md)."""
    store_dir.mkdir(parents=True, exist_ok=True)
    path = store_dir / "md_store.json"
    path.write_text(json.dumps({"store": {"version": 3},
                                "key": base64.urlsafe_b64encode(key).rstrip(b"=").decode()}))
    path.chmod(0o600)


def start_all(servers):
    errors = []

    def start(h):
        r = h.start(timeout=120)
        if r.returncode != 0:
            errors.append(r.stdout + r.stderr)
    threads = [threading.Thread(target=start, args=(h,)) for h in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("\n".join(errors))


def run_fleet(scratch, n, keys, timeout, run):
    d = scratch / f"fleet-{run}"
    etcd = EtcdCluster(d / "etcd", n=3, tls=True).start()
    ports = harness.free_ports(6)
    ca = harness.CA(d / "ca", ports[0], ports[1], env={"PEBBLE_WFE_NONCEREJECT": "0"}).start()
    servers = [harness.Httpd(d / f"s{i}", ports[2 * i], ports[2 * i + 1], ca=ca)
               for i in range(3)]
    names = [f"md{i}.f{run}.bench.example.org" for i in range(n)]
    try:
        for h in servers:
            h.write_config(etcd.directives("/bench") + "MDStoreLocks 2s\nMDRetryDelay 2s\n"
                           + body(h, names, KEYS[keys]))
        key = os.urandom(48)
        for h in servers:
            write_key_file(h.store_dir, key)
        mark = ca.log_mark()
        t0 = time.time()
        start_all(servers)
        staged = ready_at(servers, names, {}, timeout) - t0
        marks = {h: h.log_size() for h in servers}
        for h in servers:
            h.graceful(timeout=180)
        serve_all(servers, names)
        served = time.time() - t0
        return {"staged": staged, "served": served, "orders": orders(ca, mark),
                "sync_ms": max(sync_ms(h, marks[h]) for h in servers)}
    finally:
        for h in servers:
            h.stop()
        ca.stop()
        etcd.stop()
        harness.remove_scratch(d)


def run_single(scratch, n, keys, timeout, run):
    d = scratch / f"single-{run}"
    d.mkdir(parents=True)
    ports = harness.free_ports(2)
    ca = harness.CA(d / "ca", ports[0], ports[1], env={"PEBBLE_WFE_NONCEREJECT": "0"}).start()
    h = harness.Httpd(d / "s", ports[0], ports[1], ca=ca)
    names = [f"md{i}.s{run}.bench.example.org" for i in range(n)]
    try:
        h.write_config(body(h, names, KEYS[keys]))
        mark = ca.log_mark()
        t0 = time.time()
        r = h.start()
        if r.returncode != 0:
            raise RuntimeError(r.stdout + r.stderr)
        staged = ready_at([h], names, {}, timeout) - t0
        since = h.log_size()
        h.graceful(timeout=120)
        serve_all([h], names)
        served = time.time() - t0
        return {"staged": staged, "served": served, "orders": orders(ca, mark),
                "sync_ms": sync_ms(h, since)}
    finally:
        h.stop()
        ca.stop()
        harness.remove_scratch(d)


def main():
    n = int(os.environ.get("BENCH_ETCD_N", "100"))
    keys = os.environ.get("BENCH_KEYS", "ec").split()[0]
    timeout = float(os.environ.get("BENCH_TIMEOUT", "600"))
    repeat = int(os.environ.get("BENCH_REPEAT", "1"))
    scratch = harness.make_scratch("md-bench-etcd-")
    results = {"file store, 1 server": [], "etcd store, 3 servers": []}
    try:
        for run in range(repeat):
            for label, fn in (("file store, 1 server", run_single),
                              ("etcd store, 3 servers", run_fleet)):
                r = fn(scratch, n, keys, timeout, run)
                print(f"  {label}: staged {r['staged']:.2f}s, served everywhere "
                      f"{r['served']:.2f}s, {r['orders']} orders, restart sync "
                      f"{r['sync_ms']} ms", flush=True)
                results[label].append(r)
    finally:
        harness.remove_scratch(scratch)
    print(f"\n{n} MDs, keys {keys}, medians of {repeat} run(s):\n")
    print("| case | all staged s | served everywhere s | orders | restart sync ms |")
    print("|------|-------------:|--------------------:|-------:|----------------:|")
    for label, rs in results.items():
        def med(k):
            return statistics.median(r[k] for r in rs)
        print(f"| {label} | {med('staged'):.2f} | {med('served'):.2f} | {med('orders'):.0f} | "
              f"{med('sync_ms'):.0f} |")


if __name__ == "__main__":
    main()
