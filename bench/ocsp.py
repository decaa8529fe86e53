#!/usr/bin/python3
"""OCSP stapling benchmark: our mod_md side by side with Debian's stock module in the same run,
one local pebble whose certificates name a local OCSP responder (test/tools/ocsp_responder.py).

For each module, one MD gets a certificate, then on 127.0.0.1 only:
  off        handshakes/s with 'MDStapling off' (the client asks for a staple, gets none)
  on         handshakes/s with 'MDStapling on' for the same certificate, staple present
  hang+store handshake latency after a restart while the responder hangs (accepts, never
             answers): the staple comes from the store
  hang+none  the same without a stored response: nothing to staple, the handshake must not
             wait for the responder

Every case is a bounded loop of BENCH_HANDSHAKES full handshakes (no session reuse) from one
client thread (pyOpenSSL, status_request sent), after a short warm-up. Numbers are printed,
never asserted.

Environment
  BENCH_HANDSHAKES  handshakes per case (default 300)
  MD_MODULE         our module (default build/mod_md.so); STOCK_MD_MODULE the stock one
  MD_TEST_KEEP=1    keep the scratch directory
"""

import os
import shutil
import socket
import statistics
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "integration"))
import harness  # noqa: E402

MD = "ocsp.bench.example.org"
WARMUP = 10


def handshake(port, name):
    """One full TLS handshake with SNI 'name' asking for a staple. Returns (seconds, stapled)."""
    dt, der = harness.staple_handshake(port, name)
    return dt, der is not None


def run_loop(port, n):
    """n handshakes: dict with rate (/s), median and max latency (ms), stapled count."""
    for _ in range(WARMUP):
        handshake(port, MD)
    times, stapled = [], 0
    t0 = time.perf_counter()
    for _ in range(n):
        dt, st = handshake(port, MD)
        times.append(dt)
        stapled += st
    total = time.perf_counter() - t0
    return {"rate": n / total, "median": statistics.median(times) * 1000,
            "max": max(times) * 1000, "stapled": stapled, "n": n}


def first_handshake(port):
    """Latency (ms) of the first handshake after a start, and whether it was stapled."""
    dt, st = handshake(port, MD)
    return dt * 1000, st


def wait_stapled(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if handshake(port, MD)[1]:
            return True
        time.sleep(0.5)
    return False


class Hanging:
    """A listener on the responder's port that accepts connections and never answers."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)

    def close(self):
        self.sock.close()


def bench_module(label, module, scratch, ports, ca, responder, n):
    root = scratch / f"httpd-{label}"
    h = harness.Httpd(root, ports[0], ports[1], ca=ca, module=module)
    res = {}
    md_conf = h.md_config({MD: []})
    try:
        h.write_config("MDStapling on\n" + md_conf)
        h.start()
        h.wait_md_ready([MD], timeout=180)
        h.graceful()
        if not wait_stapled(h.https_port):
            print(f"    [{label}] no staple after 60s, skipped", flush=True)
            return res
        print(f"... [{label}] stapling on", flush=True)
        res["on"] = run_loop(h.https_port, n)
        h.write_config("MDStapling off\n" + md_conf)
        h.stop()
        h.start()
        print(f"... [{label}] stapling off", flush=True)
        res["off"] = run_loop(h.https_port, n)

        responder.stop()
        hang = Hanging(responder.port)
        try:
            h.write_config("MDStapling on\n" + md_conf)
            h.stop()
            h.start()
            print(f"... [{label}] responder hangs, stored response", flush=True)
            res["first+store"] = first_handshake(h.https_port)
            res["hang+store"] = run_loop(h.https_port, n)
            h.stop()
            shutil.rmtree(h.store_dir / "ocsp", ignore_errors=True)
            h.start()
            print(f"... [{label}] responder hangs, no stored response", flush=True)
            res["first+none"] = first_handshake(h.https_port)
            res["hang+none"] = run_loop(h.https_port, n)
        finally:
            hang.close()
            responder.start(ca)
    finally:
        h.stop()
        if os.environ.get("MD_TEST_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)
    return res


def ratio(o, s):
    return f"{o / s:7.2f}" if isinstance(o, float) and isinstance(s, float) and s > 0 else \
        f"{'-':>7}"


def cell(v):
    return f"{v:12.1f}" if isinstance(v, float) else f"{v:>12}"


def print_table(results):
    s, o = results.get("stock", {}), results.get("ours", {})
    rows = []
    for case, what in (("off", "handshakes/s"), ("on", "handshakes/s"),
                       ("hang+store", "handshakes/s"), ("hang+none", "handshakes/s")):
        rows.append((f"{case} {what}", s.get(case, {}).get("rate", "n/a"),
                     o.get(case, {}).get("rate", "n/a")))
    for case in ("on", "hang+store", "hang+none"):
        for k in ("median", "max"):
            rows.append((f"{case} {k} ms", s.get(case, {}).get(k, "n/a"),
                         o.get(case, {}).get(k, "n/a")))
    for case in ("first+store", "first+none"):
        rows.append((f"{case} 1st handshake ms", s[case][0] if case in s else "n/a",
                     o[case][0] if case in o else "n/a"))
    print()
    print(f"{'case':32} {'stock':>12} {'ours':>12} {'ratio':>7}")
    for title, sv, ov in rows:
        print(f"{title:32} {cell(sv)} {cell(ov)} {ratio(ov, sv)}")
    print()
    for label, r in (("stock", s), ("ours", o)):
        if "on" in r and "off" in r:
            print(f"{label:5}: stapling on/off handshake rate {r['on']['rate'] / r['off']['rate']:.2f}"
                  f"; stapled: on {r['on']['stapled']}/{r['on']['n']}, off "
                  f"{r['off']['stapled']}/{r['off']['n']}, hang+store "
                  f"{r['hang+store']['stapled']}/{r['hang+store']['n']}, hang+none "
                  f"{r['hang+none']['stapled']}/{r['hang+none']['n']}")
    print("\nratio = ours / stock. One client thread on a shared machine: expect noise.")


def main():
    n = int(os.environ.get("BENCH_HANDSHAKES", "300"))
    modules = harness.compared_modules()
    scratch = harness.make_scratch("md-bench-ocsp-")
    ports = tuple(harness.free_ports(2))
    responder = harness.OCSPResponder(scratch / "ocsp")
    ca = harness.CA(scratch / "ca", ports[0], ports[1], env={"PEBBLE_WFE_NONCEREJECT": "0"},
                    ocsp_url=responder.url)
    results = {}
    try:
        ca.start()
        responder.start(ca)
        for label, path in modules.items():
            if path is not None:
                results[label] = bench_module(label, path, scratch, ports, ca, responder, n)
    finally:
        responder.stop()
        ca.stop()
        harness.remove_scratch(scratch)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
