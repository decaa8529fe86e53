#!/usr/bin/python3
"""Hot activation benchmark: TLS handshakes/s with MDActivation hot against the same certificate
served the stock way, side by side in one run, on 127.0.0.1 against a local pebble.

Three Apaches run at the same time, on ports of their own, serving the same MD certificate
(one vhost, the default one on its port):
  graceful  MDActivation graceful: the certificate is in mod_ssl's SSL_CTX (no callback)
  hot-idle  MDActivation hot, no renewal since the start: the callback only reads the shared
            version counter
  hot       MDActivation hot after a renewal went live without a restart: every handshake takes
            the renewed set (a mutex for a few instructions, SSL_use_cert_and_key)
'hot' gets its certificate from pebble by hot activation (fallback -> first certificate); the
other two start from a copy of its store with MDRenewMode manual (they never talk to the CA).

bench/hot_cb.c measures the callback's OpenSSL work alone (what 'hot' adds to a handshake), in
CPU time, and the result is set against the server CPU time of a whole handshake: on a shared
machine the handshake rates vary by several percent from round to round, far more than the
callback costs, and this says how much of a difference is the callback's.

Each case runs BENCH_ROUNDS times for BENCH_SECONDS with BENCH_CLIENTS 'openssl s_time -new'
processes (full handshakes, no session reuse, TLS 1.3), the cases interleaved round by round so
that the machine's load hits all of them alike; the medians are printed with hot/graceful
ratios. Numbers are printed, never asserted (the target for 'hot' is a ratio of 0.98 or more).

Environment
  BENCH_ROUNDS   rounds (default 9)
  BENCH_SECONDS  seconds per case and round (default 4)
  BENCH_CLIENTS  parallel s_time processes (default 2)
  BENCH_KEYS     MDPrivateKeys (default "secp256r1": the cheapest handshake, where the
                 callback's share is largest; "RSA" for RSA 2048)
  MD_MODULE      our module (default build/mod_md.so)
  MD_TEST_KEEP=1 keep the scratch directory
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "integration"))
import harness  # noqa: E402

MD = "hot.bench.example.org"


def cpu_seconds(h):
    """CPU time (user + system) the server used so far: its parent, its running children and the
    children that already ended (reaped by the parent)."""
    tick = os.sysconf("SC_CLK_TCK")
    pid = h.pid()
    total = 0
    for p in [pid] + harness.Httpd._children(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        # utime, stime (and for the parent cutime, cstime): fields 14-17 of stat
        total += int(fields[11]) + int(fields[12])
        if p == pid:
            total += int(fields[13]) + int(fields[14])
    return total / tick


def s_time(h, seconds, clients):
    """'clients' parallel 'openssl s_time -new' runs against server 'h': (handshakes per second
    of wall time, handshakes per second of the server's CPU time)."""
    argv = ["openssl", "s_time", "-connect", f"127.0.0.1:{h.https_port}", "-new", "-time",
            str(seconds)]
    cpu0, t0 = cpu_seconds(h), time.monotonic()
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(clients)]
    n = 0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 60)
        m = re.search(r"(\d+) connections in (\d+) real seconds", out)
        if not m:
            raise RuntimeError(f"s_time: {out}")
        n += int(m.group(1))
    wall, cpu = time.monotonic() - t0, cpu_seconds(h) - cpu0
    return n / wall, (n / cpu if cpu > 0 else 0.0)


def server(scratch, label, ports, ca, body):
    h = harness.Httpd(scratch / label, ports[0], ports[1], ca=ca)
    h.write_config(body(h))
    return h


def callback_us(scratch, keys):
    """Microseconds of CPU the callback's OpenSSL calls add to a handshake (bench/hot_cb.c)."""
    exe = scratch / "hot_cb"
    src = Path(__file__).resolve().parent / "hot_cb.c"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(src), "-lssl", "-lcrypto"], check=True)
    out = subprocess.run([str(exe), "RSA" if keys.upper().startswith("RSA") else "EC"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def start(h):
    r = h.start()
    if r.returncode != 0:
        raise RuntimeError(f"apache2 did not start: {r.stdout}{r.stderr}")


def setup(scratch, ca, ports, keys):
    """The three servers, started; 'hot' got its certificate without a restart."""
    def md_body(activation, renew):
        def body(h):
            return (f"MDActivation {activation}\nMDPrivateKeys {keys}\nMDRenewMode {renew}\n"
                    f"LogLevel warn\n" + h.md_config({MD: []}))
        return body

    hot = server(scratch, "hot", ports, ca, md_body("hot", "auto"))
    start(hot)
    hot.wait_log(r"AH13001: " + re.escape(MD), timeout=180)
    # the parent activates it in the store one monitor round later
    hot.wait_log(r"AH12153: " + re.escape(MD), timeout=60)
    others = {}
    for label, activation in (("graceful", "graceful"), ("hot-idle", "hot")):
        h = server(scratch, label, harness.free_ports(2), None, md_body(activation, "manual"))
        shutil.copytree(hot.store_dir, h.store_dir, symlinks=True)
        start(h)
        others[label] = h
    return {"graceful": others["graceful"], "hot-idle": others["hot-idle"], "hot": hot}


def main():
    rounds = int(os.environ.get("BENCH_ROUNDS", "9"))
    seconds = int(os.environ.get("BENCH_SECONDS", "4"))
    clients = int(os.environ.get("BENCH_CLIENTS", "2"))
    keys = os.environ.get("BENCH_KEYS", "secp256r1")
    scratch = harness.make_scratch("md-bench-hot-")
    ports = tuple(harness.free_ports(2))
    ca = harness.CA(scratch / "ca", ports[0], ports[1], env={"PEBBLE_WFE_NONCEREJECT": "0"})
    servers = {}
    rates = {"graceful": [], "hot-idle": [], "hot": []}
    capacity = {"graceful": [], "hot-idle": [], "hot": []}
    try:
        ca.start()
        print(f"... getting a certificate ({keys}) by hot activation", flush=True)
        servers = setup(scratch, ca, ports, keys)
        serials = {label: h.peer_chain(MD).serial_number for label, h in servers.items()}
        if len(set(serials.values())) != 1:
            raise RuntimeError(f"the servers do not serve the same certificate: {serials}")
        for r in range(rounds):
            for label in (("graceful", "hot-idle", "hot") if r % 2 == 0
                          else ("hot", "hot-idle", "graceful")):
                rate, per_cpu = s_time(servers[label], seconds, clients)
                rates[label].append(rate)
                capacity[label].append(per_cpu)
            print(f"... round {r + 1}/{rounds}: " + ", ".join(
                f"{k} {v[-1]:.0f}/s ({capacity[k][-1]:.0f}/cpu-s)" for k, v in rates.items()),
                flush=True)
        cb_us = callback_us(scratch, keys)
    finally:
        for h in servers.values():
            h.stop()
        ca.stop()
        harness.remove_scratch(scratch)
    print()
    print(f"TLS handshakes, {keys}, {clients} clients x {seconds}s, medians of {rounds} rounds")
    print(f"{'case':10} {'per second':>11} {'ratio':>7} {'per server CPU s':>17} {'ratio':>7}")
    base_r, base_c = statistics.median(rates["graceful"]), statistics.median(capacity["graceful"])
    for label in rates:
        r, c = statistics.median(rates[label]), statistics.median(capacity[label])
        print(f"{label:10} {r:11.1f} {r / base_r:7.3f} {c:17.1f} {c / base_c:7.3f}")
    for label in ("hot-idle", "hot"):
        paired = [c / g for c, g in zip(capacity[label], capacity["graceful"]) if g > 0]
        print(f"{label}: per server CPU s, ratio to graceful round by round: median "
              f"{statistics.median(paired):.3f} ({' '.join(f'{x:.3f}' for x in paired)})")
    per_hs = 1e6 / base_c
    print(f"the callback's OpenSSL work alone (bench/hot_cb.c): {cb_us:.2f} us per handshake, "
          f"{100 * cb_us / per_hs:.2f} % of the {per_hs:.0f} us of server CPU a handshake takes "
          f"(ratio {per_hs / (per_hs + cb_us):.4f})")
    print("\nratio = case / graceful; target for 'hot': 0.98 or more. 'per second' is the rate the "
          "clients saw;\n'per server CPU s' divides the handshakes by the CPU time the server "
          "spent on them: it\nshows the cost of a handshake and varies less with the load of a "
          "shared machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
