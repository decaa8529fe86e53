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

Instructions (deterministic, BENCH_CALLGRIND=1, the default): wall-clock rates on a shared
2-core machine cannot show a difference of 2 %, so each case also runs as a single process
('apache2 -X') under valgrind's callgrind, which counts the instructions the server executes
while it handles connections made one at a time (a full TLS 1.3 handshake and a GET / each):
collected only inside ap_run_process_connection (the connection, not the start or the
watchdog), and of that the inclusive count of SSL_accept (the handshake, where the certificate
callback runs) and of the callback itself. Each case runs twice, with BENCH_CG_CONNS / 4 and
BENCH_CG_CONNS connections; the difference divided by the difference in connections is the
cost of one more connection (one-time set-ups in the first connection drop out). Printed per connection, side by side with
the stock module (Debian's mod_md.so serving the same certificate with its defaults), with the
ratios. The counts repeat to within about 0.01 % from run to run. Here 'hot' renews once at its
start (MDRenewWindow 100%, the single process is its own watchdog child) and is measured after
AH13001, serving the renewed set from the callback.

Each case runs BENCH_ROUNDS slices of BENCH_SECONDS with BENCH_CLIENTS 'openssl s_time -new'
processes (full handshakes, no session reuse, TLS 1.3), the cases taking turns slice by slice in
rotating order, so that the machine's other load hits all of them alike. Printed: handshakes per
second of wall time and per second of the server's CPU time (parent and children, from /proc),
summed over the slices, with the ratios to 'graceful'. Numbers are printed, never asserted (the
target for 'hot' is a ratio of 0.98 or more).

Environment
  BENCH_ROUNDS   slices per case (default 30)
  BENCH_SECONDS  seconds per slice (default 1)
  BENCH_CLIENTS  parallel s_time processes (default 2)
  BENCH_KEYS     MDPrivateKeys (default "secp256r1": the cheapest handshake, where the
                 callback's share is largest; "RSA" for RSA 2048)
  BENCH_CALLGRIND 0 to skip the instruction counts (default 1; they need valgrind)
  BENCH_CG_CONNS connections per case under callgrind (default 200)
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
    """'clients' parallel 'openssl s_time -new' runs against server 'h': (handshakes, wall
    seconds, seconds of the server's CPU time)."""
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
    return n, time.monotonic() - t0, cpu_seconds(h) - cpu0


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


CASES = ("graceful", "hot-idle", "hot")


def measure(servers, rounds, seconds, clients):
    """Short slices, the cases taking turns in rotating order, so that whatever else the machine
    does hits them alike. Per case a list of (handshakes, wall s, server CPU s)."""
    runs = {label: [] for label in CASES}
    for r in range(rounds):
        for k in range(len(CASES)):
            label = CASES[(r + k) % len(CASES)]
            runs[label].append(s_time(servers[label], seconds, clients))
        if (r + 1) % 5 == 0 or r + 1 == rounds:
            print(f"... {r + 1}/{rounds} rounds", flush=True)
    return runs


def report(runs, keys, clients, seconds, cb_us):
    total = {label: [sum(x[i] for x in v) for i in range(3)] for label, v in runs.items()}
    g_n, g_wall, g_cpu = total["graceful"]
    print()
    print(f"TLS handshakes, {keys}, {clients} clients, {len(runs['graceful'])} slices of "
          f"{seconds}s per case (taking turns)")
    print(f"{'case':10} {'handshakes':>10} {'per second':>11} {'ratio':>7} "
          f"{'per server CPU s':>17} {'ratio':>7}")
    for label in CASES:
        n, wall, cpu = total[label]
        rate, cap = n / wall, n / cpu
        print(f"{label:10} {n:10d} {rate:11.1f} {rate / (g_n / g_wall):7.3f} {cap:17.1f} "
              f"{cap / (g_n / g_cpu):7.3f}")
    for label in ("hot-idle", "hot"):
        paired = [(n / c) / (gn / gc) for (n, _, c), (gn, _, gc) in zip(runs[label],
                                                                          runs["graceful"])
                  if c > 0 and gc > 0]
        if len(paired) < 2:
            continue
        print(f"{label}: per server CPU s, ratio to graceful slice by slice: median "
              f"{statistics.median(paired):.3f}, quartiles "
              f"{' '.join(f'{q:.3f}' for q in statistics.quantiles(paired, n=4))}")
    per_hs = 1e6 * g_cpu / g_n
    print(f"the callback's OpenSSL work alone (bench/hot_cb.c): {cb_us:.2f} us per handshake, "
          f"{100 * cb_us / per_hs:.2f} % of the {per_hs:.0f} us of server CPU a handshake takes "
          f"(ratio {per_hs / (per_hs + cb_us):.4f})")
    print("\nratio = case / graceful, from the sums over all slices; target for 'hot': 0.98 or "
          "more.\n'per second' is the rate the clients saw; 'per server CPU s' divides the "
          "handshakes by\nthe CPU time the server spent on them, which varies less with the "
          "load of a shared machine.")


# ---- instructions under callgrind ------------------------------------------------------------

CG_CASES = ("stock", "graceful", "hot-idle", "hot")


def https_get(port, n):
    """'n' connections to 127.0.0.1:'port', one at a time: a full TLS handshake (no session
    reuse) and GET / each, answered 200."""
    ctx = harness.ssl.SSLContext(harness.ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = harness.ssl.CERT_NONE
    for _ in range(n):
        with harness.socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            with ctx.wrap_socket(s, server_hostname=MD) as t:
                t.sendall(f"GET / HTTP/1.1\r\nHost: {MD}\r\nConnection: close\r\n\r\n"
                          .encode())
                data = b""
                while True:
                    chunk = t.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if not data.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"unexpected answer: {data[:80]!r}")


def callgrind_run(h, conns, served=None):
    """Runs 'h' (configured) as 'apache2 -X' under callgrind, waits for its https port (and for
    the log line 'served', if given), makes 'conns' connections, stops it. Returns the
    instructions per connection: (whole connection, SSL_accept, the certificate callback)."""
    outdir = h.root / "callgrind"
    outdir.mkdir(exist_ok=True)
    out = outdir / "callgrind.out"
    # created by valgrind as root at the start, written at the end after the switch to User
    out.touch()
    out.chmod(0o666)
    outdir.chmod(0o777)
    if harness.IS_ROOT:
        shutil.chown(out, harness.RUN_USER, harness.RUN_USER)
    argv = ["valgrind", "--tool=callgrind", "--vgdb=no", f"--callgrind-out-file={out}",
            "--collect-atstart=no", "--toggle-collect=ap_run_process_connection",
            harness.APACHE_BIN, "-X", "-f", str(h.conf_path)]
    h.error_log.unlink(missing_ok=True)
    proc = subprocess.Popen(argv, cwd=str(h.root), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                harness.socket.create_connection(("127.0.0.1", h.https_port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"apache2 -X under callgrind did not start:\n"
                                       f"{h.log_tail()}")
                time.sleep(0.5)
        if served:
            h.wait_log(served, timeout=600)
        https_get(h.https_port, conns)
    finally:
        proc.terminate()
        log, _ = proc.communicate(timeout=300)
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
                         capture_output=True, text=True, check=True).stdout
    total = accept = cb = 0
    for ln in ann.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", ln)
        if not m:
            continue
        ir, where = int(m.group(1).replace(",", "")), m.group(2)
        if where == "PROGRAM":
            total = ir
        elif where.endswith(":SSL_accept"):
            accept = max(accept, ir)
        elif where.endswith(":hot_cert_cb"):
            cb = max(cb, ir)
    if not total or not accept:
        raise RuntimeError(f"no counts from callgrind:\n{log[-2000:]}")
    return total / conns, accept / conns, cb / conns


def callgrind_cases(scratch, servers, keys, conns):
    """The four cases, one after the other, each as a single process under callgrind: 'stock'
    (Debian's module, its defaults), 'graceful', 'hot-idle' and 'hot' (renews once at its start,
    measured after AH13001; on the ports pebble validates). Per case the counts of
    callgrind_run()."""
    stock = harness.STOCK_MODULE if harness.STOCK_MODULE.is_file() else None
    counts = {}
    for label in CG_CASES:
        if label == "stock":
            if not stock:
                print("stock module not found, its case skipped", flush=True)
                continue
            src = servers["graceful"]
            h = harness.Httpd(scratch / "cg-stock", src.http_port, src.https_port, module=stock)
            shutil.copytree(src.store_dir, h.store_dir, symlinks=True)
            body = f"MDPrivateKeys {keys}\nMDRenewMode manual\nLogLevel warn\n"
        else:
            h = servers[label]
            activation = "graceful" if label == "graceful" else "hot"
            renew = "auto\nMDRenewWindow 100%" if label == "hot" else "manual"
            body = (f"MDActivation {activation}\nMDPrivateKeys {keys}\nMDRenewMode {renew}\n"
                    f"LogLevel warn md:notice\n")
        h.write_config(body + h.md_config({MD: []}))
        # two runs, the difference per connection: what happens once (the first connection's
        # lazy set-ups in OpenSSL and Apache) drops out
        few = max(1, conns // 4)
        runs = []
        for n in (few, conns):
            print(f"... callgrind: {label}, {n} connections", flush=True)
            runs.append(callgrind_run(h, n, (r"AH13001: " + re.escape(MD))
                                      if label == "hot" else None))
        counts[label] = tuple((b * conns - a * few) / (conns - few)
                              for a, b in zip(runs[0], runs[1]))
    return counts


def report_callgrind(counts, keys, conns):
    if not counts:
        return
    print(f"\nInstructions per connection in the server (callgrind, apache2 -X, {keys}, "
          f"runs of {max(1, conns // 4)} and {conns} connections one at a time, full TLS 1.3 "
          f"handshake + GET / each; per connection = difference / {conns - max(1, conns // 4)})")
    print(f"{'case':10} {'handshake':>11} {'x graceful':>10} {'x stock':>8} "
          f"{'connection':>11} {'x graceful':>10} {'x stock':>8} {'callback':>9}")
    base = counts.get("graceful")
    stock = counts.get("stock")
    for label in CG_CASES:
        if label not in counts:
            continue
        total, accept, cb = counts[label]
        cols = [f"{accept:11,.0f}",
                f"{accept / base[1]:10.4f}" if base else f"{'':>10}",
                f"{accept / stock[1]:8.4f}" if stock else f"{'':>8}",
                f"{total:11,.0f}",
                f"{total / base[0]:10.4f}" if base else f"{'':>10}",
                f"{total / stock[0]:8.4f}" if stock else f"{'':>8}",
                f"{cb:9,.0f}"]
        print(f"{label:10} " + " ".join(cols))
    if base and "hot" in counts:
        print(f"handshakes per instruction, hot / graceful: {base[1] / counts['hot'][1]:.4f} "
              f"(the handshake), {base[0] / counts['hot'][0]:.4f} (the whole connection); "
              f"target 0.98 or more")
    print("handshake = SSL_accept with all it calls (the callback too); connection = all the "
          "server executes for\nthe connection (ap_run_process_connection); callback = "
          "hot_cert_cb with all it calls; x = ratio of counts.")


def main():
    rounds = int(os.environ.get("BENCH_ROUNDS", "30"))
    seconds = int(os.environ.get("BENCH_SECONDS", "1"))
    clients = int(os.environ.get("BENCH_CLIENTS", "2"))
    keys = os.environ.get("BENCH_KEYS", "secp256r1")
    use_cg = os.environ.get("BENCH_CALLGRIND", "1") != "0"
    if use_cg and not (shutil.which("valgrind") and shutil.which("callgrind_annotate")):
        print("valgrind not found (Debian package valgrind): no instruction counts", flush=True)
        use_cg = False
    cg_conns = int(os.environ.get("BENCH_CG_CONNS", "200"))
    counts = {}
    scratch = harness.make_scratch("md-bench-hot-")
    ports = tuple(harness.free_ports(2))
    ca = harness.CA(scratch / "ca", ports[0], ports[1], env={"PEBBLE_WFE_NONCEREJECT": "0"})
    servers = {}
    try:
        ca.start()
        print(f"... getting a certificate ({keys}) by hot activation", flush=True)
        servers = setup(scratch, ca, ports, keys)
        serials = {label: h.peer_chain(MD).serial_number for label, h in servers.items()}
        if len(set(serials.values())) != 1:
            raise RuntimeError(f"the servers do not serve the same certificate: {serials}")
        runs = measure(servers, rounds, seconds, clients)
        cb_us = callback_us(scratch, keys)
        if use_cg:
            for h in servers.values():
                h.stop()
            counts = callgrind_cases(scratch, servers, keys, cg_conns)
    finally:
        for h in servers.values():
            h.stop()
        ca.stop()
        harness.remove_scratch(scratch)
    report(runs, keys, clients, seconds, cb_us)
    report_callgrind(counts, keys, cg_conns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
