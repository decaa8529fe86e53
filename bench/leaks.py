#!/usr/bin/python3
"""Leak benchmark (issue #15): does memory grow with watchdog passes and graceful restarts?

One local pebble issuing short-lived certificates (BENCH_CERT_SECS, default 120 s) that name a
local OCSP responder (test/tools/ocsp_responder.py, responses valid BENCH_OCSP_SECS, default
60 s), one Apache with our module and 20 MDs (BENCH_MDS), 'MDCheckInterval 1s',
'MDActivation hot' (renewed certificates go live without a restart, so the MDs keep renewing)
and 'MDStapling on' (staples keep being fetched).

  passes    the watchdog's passes (one a second): the RSS of the child that runs the watchdog
            (found by the pid in its AH12907 log lines) and of the parent, sampled every
            BENCH_PASSES/50 passes; growth = the mean of the last three samples minus the mean
            of the first three after the warm-up (BENCH_WARMUP passes, default 300: each MD
            renewed about five times; the watchdog child's malloc arenas settle over the first
            few hundred passes)
  restarts  BENCH_RESTARTS graceful restarts (default 50): the parent's RSS after each; growth =
            the mean of the last three minus the mean of restarts 3 to 5

A pass is one look at md0 (AH12907); renewals made live (AH12153) and OCSP responses fetched
(the responder's log) are counted. Numbers are printed, never asserted; the target of issue #15
is < 1 MiB growth for each.

Environment
  BENCH_PASSES    watchdog passes to measure after the warm-up (default 1000)
  BENCH_WARMUP    passes before the first sample (default 300)
  BENCH_RESTARTS  graceful restarts (default 50, 0 to skip)
  BENCH_CERT_SECS lifetime of pebble's certificates (default 120: renewed about every minute)
  BENCH_OCSP_SECS validity of the OCSP responses (default 60)
  BENCH_STAPLING  MDStapling (default on)
  BENCH_ACTIVATION  MDActivation (default hot)
  MD_MODULE       the module (default build/mod_md.so)
  MD_TEST_KEEP=1  keep the scratch directory
"""

import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "integration"))
import harness  # noqa: E402


def rss_kib(pid):
    """VmRSS of 'pid' in KiB, None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def mean(values):
    return sum(values) / len(values) if values else 0.0


def growth(samples, first=slice(0, 3)):
    """Mean of the last three samples minus the mean of the 'first' ones, in KiB."""
    return mean(samples[-3:]) - mean(samples[first])


def watchdog_pid(h, since=0):
    """The pid of the child that logs the watchdog's looks (AH12907) most recently."""
    pids = re.findall(r"\[pid (\d+)(?::tid \d+)?\][^\n]*AH12907", h.log_text(since))
    return int(pids[-1]) if pids else None


def looks(h, name):
    return len(re.findall(rf"AH12907: {re.escape(name)}: looked at", h.log_text()))


def run_passes(h, names, responder, passes, warmup, every):
    # MDActivation hot: each MD's first certificate goes live without a restart (AH12153)
    for name in names:
        h.wait_log(r"AH12153: " + re.escape(name) + r": activated", timeout=300)
    # the first renewal of each: what a pass does from then on has been done once
    target = looks(h, names[0]) + warmup
    while looks(h, names[0]) < target:
        time.sleep(1)
    parent = h.pid()
    child = watchdog_pid(h)
    start = looks(h, names[0])
    mark = h.log_size()
    ocsp0 = len(responder.answers())
    samples = []  # (pass, child KiB, parent KiB)
    t0 = time.monotonic()
    while True:
        done = looks(h, names[0]) - start
        c = watchdog_pid(h, mark) or child
        if c != child:
            print(f"    watchdog moved from child {child} to {c} at pass {done}", flush=True)
            child = c
        samples.append((done, rss_kib(child), rss_kib(parent)))
        print(f"    pass {done:5}: watchdog child {samples[-1][1]} KiB, parent "
              f"{samples[-1][2]} KiB", flush=True)
        if done >= passes:
            break
        time.sleep(every)
    text = h.log_text(mark)
    renewals = len(re.findall(r"AH12153", text))
    return {"passes": samples[-1][0], "seconds": time.monotonic() - t0,
            "child": [s[1] for s in samples if s[1]], "parent": [s[2] for s in samples if s[2]],
            "renewals": renewals, "ocsp": len(responder.answers()) - ocsp0}


def run_restarts(h, n):
    parent = h.pid()
    samples = []
    t0 = time.monotonic()
    for i in range(n):
        h.graceful(timeout=60)
        samples.append(rss_kib(parent))
        if i % 10 == 9:
            print(f"    restart {i + 1:3}: parent {samples[-1]} KiB", flush=True)
    assert h.pid() == parent, "the parent changed"
    return {"restarts": n, "seconds": time.monotonic() - t0, "parent": samples}


def main():
    n_mds = int(os.environ.get("BENCH_MDS", "20"))
    passes = int(os.environ.get("BENCH_PASSES", "1000"))
    warmup = int(os.environ.get("BENCH_WARMUP", "300"))
    restarts = int(os.environ.get("BENCH_RESTARTS", "50"))
    cert_secs = int(os.environ.get("BENCH_CERT_SECS", "120"))
    ocsp_secs = int(os.environ.get("BENCH_OCSP_SECS", "60"))
    module = harness.module_path()
    print(f"module: {module}", flush=True)
    scratch = harness.make_scratch("md-bench-leaks-")
    ports = tuple(harness.free_ports(2))
    responder = harness.OCSPResponder(scratch / "ocsp", validity=ocsp_secs)
    ca = harness.CA(scratch / "ca", ports[0], ports[1], env={"PEBBLE_WFE_NONCEREJECT": "0"},
                    ocsp_url=responder.url, conf={"certificateValidityPeriod": cert_secs})
    names = [f"md{i}.leaks.bench.example.org" for i in range(n_mds)]
    h = harness.Httpd(scratch / "httpd", ports[0], ports[1], ca=ca, module=module)
    res = rst = None
    try:
        ca.start()
        responder.start(ca)
        stapling = os.environ.get("BENCH_STAPLING", "on")
        activation = os.environ.get("BENCH_ACTIVATION", "hot")
        h.write_config(f"MDCheckInterval 1s\nMDActivation {activation}\nMDStapling {stapling}\n"
                       "MDPrivateKeys secp256r1\n" + h.md_config({n: [] for n in names}))
        r = h.start()
        if r.returncode != 0:
            print(f"start failed: {r.stdout}{r.stderr}")
            return 1
        print(f"... {passes} watchdog passes, {n_mds} MDs, certificates valid {cert_secs} s, "
              f"OCSP responses {ocsp_secs} s", flush=True)
        res = run_passes(h, names, responder, passes, warmup, max(1, passes // 50))
        if restarts:
            print(f"... {restarts} graceful restarts", flush=True)
            rst = run_restarts(h, restarts)
    finally:
        h.stop()
        responder.stop()
        ca.stop()
        problems = h.log_problems(since=0)
        if problems:
            print("md warnings/errors in the error log:\n" + "\n".join(problems[:20]))
        harness.remove_scratch(scratch)

    print()
    print(f"{'case':36} {'first KiB':>10} {'last KiB':>10} {'growth KiB':>11}")
    if res:
        for label, s in (("watchdog child", res["child"]), ("parent", res["parent"])):
            print(f"{label + ' over ' + str(res['passes']) + ' passes':36} {mean(s[:3]):10.0f} "
                  f"{mean(s[-3:]):10.0f} {growth(s):11.0f}")
        print(f"  ({res['seconds']:.0f} s, {res['renewals']} renewals, {res['ocsp']} OCSP "
              "responses fetched)")
    if rst:
        s = rst["parent"]
        print(f"{'parent over ' + str(rst['restarts']) + ' graceful restarts':36} "
              f"{mean(s[2:5]):10.0f} {mean(s[-3:]):10.0f} {growth(s, slice(2, 5)):11.0f}")
        print(f"  ({rst['seconds']:.0f} s)")
    print("\ngrowth = mean of the last three samples - mean of the first three after warm-up "
          "(target of issue #15: < 1024 KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
