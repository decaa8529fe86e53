#!/usr/bin/python3
"""Start-up benchmark: our mod_md side by side with Debian's stock module, one local pebble.

Cases
  ready N=<n> <keys>   time from 'apache2 -k start' until AH10059 was logged for all N MDs
                       (certificates obtained in the background; the time stamp of the last
                       AH10059 line in the error log), keys RSA 2048 (default) and
                       'MDPrivateKeys secp256r1'
  start N=<m>          time from 'apache2 -k start' until the pid file exists and a request is
                       answered, with m fresh MDs (their CA never answers, nothing is issued)
  failover N=<f> up    'ready' with 'MDCertificateAuthority <pebble> <down>': the first CA up
  failover N=<f> down  'ready' with 'MDCertificateAuthority <down> <pebble>': the first CA down
                       (connection refused), the certificates must come from the second

Every run uses a fresh ServerRoot and store. Numbers are printed, never asserted.

Environment
  BENCH_N           MD counts for the 'ready' cases (default "1 10"; "1 10 50" for all)
  BENCH_START_MDS   MD count for the 'start' case (default 1000, 0 to skip)
  BENCH_KEYS        key settings to run (default "rsa ec")
  BENCH_TIMEOUT     seconds to wait for one 'ready' case (default 300)
  BENCH_REPEAT      runs of each 'ready' case, stock and ours taking turns; the table shows
                    the medians, the single runs are printed as they come (default 1)
  BENCH_FAILOVER    MD count for the 'failover' cases (default 50, 0 to skip)
  BENCH_FAILOVER_CONF  extra configuration lines for them (default none: the modules' defaults,
                    MDRetryFailover 13 and MDRetryDelay 5s; e.g. "MDRetryFailover 2")
  MD_MODULE         our module (default build/mod_md.so); STOCK_MD_MODULE the stock one
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "integration"))
import harness  # noqa: E402

KEYS = {"rsa": ("RSA 2048", ""), "ec": ("secp256r1", "MDPrivateKeys secp256r1\n")}


def md_names(n, tag):
    return [f"md{i}.{tag}.bench.example.org" for i in range(n)]


def config_body(h, names, extra=""):
    body = [extra]
    for name in names:
        body.append(f"MDomain {name}\n")
        body.append(h.md_vhosts(name))
    return "".join(body)


class Runner:
    def __init__(self, scratch, ports, ca):
        self.scratch = scratch
        self.ports = ports
        self.ca = ca
        self.count = 0

    def _httpd(self, module, ca):
        self.count += 1
        root = self.scratch / f"httpd-{self.count}"
        return harness.Httpd(root, self.ports[0], self.ports[1], ca=ca, module=module)

    def _done(self, h):
        h.stop()
        if os.environ.get("MD_TEST_KEEP") != "1":
            shutil.rmtree(h.root, ignore_errors=True)

    def ready(self, module, n, keys, timeout, extra=None):
        h = self._httpd(module, self.ca)
        names = md_names(n, f"r{self.count}")
        h.write_config(config_body(h, names, KEYS[keys][1] if extra is None else extra))
        try:
            t0 = time.time()
            r = h.start()
            if r.returncode != 0:
                print(f"    start failed: {(r.stdout + r.stderr).strip()}", flush=True)
                return "start failed"
            try:
                h.wait_md_ready(names, timeout=timeout)
            except TimeoutError:
                return "timeout"
            # the log's own time stamps: how often this script looks does not count
            return max(h.md_ready_times(names).values()) - t0
        finally:
            self._done(h)

    def failover(self, module, n, first_up, timeout):
        """'ready' with two CAs, the first (or the second) a port nobody listens on."""
        down = f"https://127.0.0.1:{harness.free_port()}/dir"
        urls = [self.ca.directory_url, down] if first_up else [down, self.ca.directory_url]
        extra = (f"MDCertificateAuthority {' '.join(urls)}\n"
                 + os.environ.get("BENCH_FAILOVER_CONF", "").replace("\\n", "\n") + "\n")
        return self.ready(module, n, "rsa", timeout, extra=extra)

    def baseline(self, module, n):
        h = self._httpd(module, None)
        h.write_config(static_body(h, md_names(n, f"b{self.count}"), self.scratch))
        try:
            t0 = time.monotonic()
            r = h.start(timeout=1200)
            if r.returncode != 0:
                return "start failed"
            return time.monotonic() - t0
        finally:
            self._done(h)

    def start(self, module, n):
        blackhole = harness.BlackholeCA(self.ca.test_root)
        h = self._httpd(module, blackhole)
        h.write_config(config_body(h, md_names(n, f"s{self.count}")))
        try:
            t0 = time.monotonic()
            r = h.start(timeout=1200)
            if r.returncode != 0:
                print(f"    start failed: {(r.stdout + r.stderr).strip()}", flush=True)
                return "start failed"
            return time.monotonic() - t0
        finally:
            self._done(h)
            blackhole.stop()


def static_body(h, names, certdir):
    """The same https vhosts with one static certificate each and no MDomain: the baseline."""
    cert, key = certdir / "cert.pem", certdir / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "30", "-subj", "/CN=bench"], check=True,
                       capture_output=True)
    parts = []
    for name in names:
        parts.append(f"""<VirtualHost 127.0.0.1:{h.https_port}>
    ServerName {name}
    SSLEngine on
    SSLCertificateFile {cert}
    SSLCertificateKeyFile {key}
</VirtualHost>
""")
    return "".join(parts)


def median(values):
    """The median of the runs that gave a time; a failure's text when none did, 'n/a' for none."""
    times = sorted(v for v in values if isinstance(v, float))
    if times:
        return times[len(times) // 2]
    return values[0] if values else "n/a"


def fmt(v):
    return f"{v:12.2f}" if isinstance(v, float) else f"{v:>12}"


def main():
    ns = [int(x) for x in os.environ.get("BENCH_N", "1 10").split()]
    start_mds = int(os.environ.get("BENCH_START_MDS", "1000"))
    keys = os.environ.get("BENCH_KEYS", "rsa ec").split()
    timeout = float(os.environ.get("BENCH_TIMEOUT", "300"))
    repeat = max(1, int(os.environ.get("BENCH_REPEAT", "1")))
    modules = harness.compared_modules()

    failover_n = int(os.environ.get("BENCH_FAILOVER", "50"))
    cases = [(f"ready N={n} {KEYS[k][0]}", ("ready", n, k)) for k in keys for n in ns]
    if failover_n > 0:
        cases.append((f"failover N={failover_n} up", ("failover", failover_n, True)))
        cases.append((f"failover N={failover_n} down", ("failover", failover_n, False)))
    if start_mds > 0:
        cases.append((f"start N={start_mds}", ("start", start_mds, None)))
        cases.append((f"start N={start_mds} static", ("baseline", start_mds, None)))

    scratch = harness.make_scratch("md-bench-")
    ports = tuple(harness.free_ports(2))
    ca = harness.CA(scratch / "ca", ports[0], ports[1], env={"PEBBLE_WFE_NONCEREJECT": "0"})
    rows = []
    try:
        ca.start()
        runner = Runner(scratch, ports, ca)
        for title, (kind, n, k) in cases:
            runs = {label: [] for label in modules}
            # 'ready' cases run 'repeat' times, stock and ours taking turns; the median counts
            for _ in range(repeat if kind in ("ready", "failover") else 1):
                for label, path in modules.items():
                    if path is None:
                        continue
                    print(f"... {title} [{label}]", flush=True)
                    if kind == "ready":
                        runs[label].append(runner.ready(path, n, k, timeout))
                    elif kind == "failover":
                        runs[label].append(runner.failover(path, n, k, timeout))
                    elif kind == "baseline":
                        runs[label].append(runner.baseline(path, n))
                    else:
                        runs[label].append(runner.start(path, n))
            for label, values in runs.items():
                if len(values) > 1:
                    print(f"    {label}: " + " ".join(fmt(v).strip() for v in values), flush=True)
            rows.append((title, median(runs["stock"]), median(runs["ours"])))
    finally:
        ca.stop()
        harness.remove_scratch(scratch)

    print()
    print(f"{'case':28} {'stock s':>12} {'ours s':>12} {'ratio':>7}")
    for title, s, o in rows:
        ratio = f"{o / s:7.2f}" if isinstance(s, float) and isinstance(o, float) and s > 0 \
            else f"{'-':>7}"
        print(f"{title:28} {fmt(s)} {fmt(o)} {ratio}")
    starts = {t: (s_, o) for t, s_, o in rows if t.startswith("start")}
    if len(starts) == 2:
        (s1, o1), (s0, o0) = starts[f"start N={start_mds}"], starts[f"start N={start_mds} static"]
        if all(isinstance(v, float) for v in (s1, o1, s0, o0)):
            print(f"{'start: added by MDs':28} {s1 - s0:12.2f} {o1 - o0:12.2f} "
                  f"{(o1 - o0) / (s1 - s0) if s1 > s0 else 0:7.2f}")
    fo = {t: (s_, o) for t, s_, o in rows if t.startswith("failover")}
    if len(fo) == 2:
        (su, ou), (sd, od) = [fo[t] for t in sorted(fo, key=lambda t: not t.endswith("up"))]
        show = [f"{d - u:12.2f}" if isinstance(d, float) and isinstance(u, float) else f"{'-':>12}"
                for u, d in ((su, sd), (ou, od))]
        print(f"{'failover: down minus up':28} {show[0]} {show[1]}")
    print("\nratio = ours / stock (below 1: ours is faster). Medians of BENCH_REPEAT runs; "
          "expect noise.")
    print("'start N static' is the same vhosts with static certificates and no MDomain: the")
    print("difference is what the managed domains add to Apache's start.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
