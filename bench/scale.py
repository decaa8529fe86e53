#!/usr/bin/python3
"""Scale benchmark (issue #15): 10 000 MDs next to the same 10 000 vhosts without MDs.

Cases, each in a fresh ServerRoot with our module loaded, on 127.0.0.1 only:
  baseline   BENCH_MDS https vhosts and no MDomain, each serving statically (SSLCertificateFile,
             SSLCertificateKeyFile) the same certificate and key files the populated case has
             in its store: the server as it was with another ACME client
  fresh      the same vhosts, each its own MDomain, an empty store; the CA accepts connections
             and never answers, so nothing is issued (every MD starts on its fallback
             certificate)
  populated  the same MDs with a store that holds a live certificate for each: made here by a
             local test CA (python3-cryptography), as after a mass issuance 30 days ago that
             took BENCH_ISSUE_HOURS hours (default 2), valid 90 days, so nothing is due; the
             server was started once before (md.json of each MD written), as a store is after
             the module ran

For each: start (from 'apache2 -k start' until the pid file is there and the server answers) and
for the MD cases the module's store sync in it (AH12319 of each pass: timed inside the process,
so less at the mercy of a busy machine than the whole start),
the parent's RSS after the start, one graceful restart (until the new generation answers), the
parent's RSS after it; for the MD cases the time of 'GET /md-status' (all MDs, the median of
three) and of 'GET /md-status/<one MD>'. Then the hourly histogram of the populated MDs'
'renew-at' (md-status): with the renewal jitter (md_renew.h) the renewals of the mass issuance
spread over many hours instead of coming back to the CA in the BENCH_ISSUE_HOURS it took.

Numbers are printed, never asserted. Target of issue #15: start-up adds < 10 s and < 50 MiB
over the baseline.

Environment
  BENCH_MDS          number of MDs / vhosts (default 10000)
  BENCH_ISSUE_HOURS  hours the simulated mass issuance took (default 2)
  BENCH_CASES        cases to run (default "baseline fresh populated")
  MD_MODULE          the module (default build/mod_md.so)
  MD_TEST_KEEP=1     keep the scratch directory
"""

import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "integration"))
import harness  # noqa: E402
from leaks import rss_kib  # noqa: E402

STATUS = "<Location /md-status>\n  SetHandler md-status\n</Location>\n"


def md_names(n):
    return [f"md{i}.scale.bench.example.org" for i in range(n)]


def md_body(h, names):
    parts = [STATUS, "MDStoreLocks off\n"]
    for name in names:
        parts.append(f"MDomain {name}\n")
        parts.append(h.md_vhosts(name))
    return "".join(parts)


def make_certs(certs, names, issue_hours):
    """<certs>/<name>/pubcert.pem (leaf + issuer) and privkey.pem for each name, issued by a local
    test CA 30 days ago, the issuance spread over 'issue_hours' hours, valid 90 days: the files
    the populated store holds and the baseline's vhosts serve statically."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mod_md scale bench CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=60))
          .not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    certs.mkdir(parents=True)
    os.chmod(certs, 0o700)
    start = now - datetime.timedelta(days=30)
    for i, name in enumerate(names):
        key = ec.generate_private_key(ec.SECP256R1())
        nb = start + datetime.timedelta(seconds=issue_hours * 3600 * i / len(names))
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(nb).not_valid_after(nb + datetime.timedelta(days=90))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        d = certs / name
        d.mkdir()
        d.chmod(0o700)
        (d / "pubcert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
        kf = d / "privkey.pem"
        kf.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
        kf.chmod(0o600)


def populate(store, certs):
    """The store after a mass issuance: domains/<md>/ with the certificates of make_certs()."""
    domains = store / "domains"
    domains.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(certs, domains)


def static_certs_body(h, names, certs):
    """The baseline: the same https vhosts serving the same certificate files statically (as
    with another ACME client), no MDomain."""
    parts = []
    for name in names:
        parts.append(f"""<VirtualHost 127.0.0.1:{h.https_port}>
    ServerName {name}
    SSLEngine on
    SSLCertificateFile {certs / name / "pubcert.pem"}
    SSLCertificateKeyFile {certs / name / "privkey.pem"}
</VirtualHost>
""")
    return "".join(parts)


def get_time(h, path):
    """Seconds 'GET path' took on the http port (curl's time_total) and the body size."""
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} "
                        "%{size_download}", f"http://127.0.0.1:{h.http_port}{path}"],
                       capture_output=True, text=True)
    code, secs, size = r.stdout.split()
    if code != "200":
        raise RuntimeError(f"GET {path}: {code}")
    return float(secs), int(size)


def sync_ms(h, since):
    """The module's own share of a start: the milliseconds of each store sync (AH12319, both
    passes httpd makes at a start), from the error log since 'since'."""
    return [int(m) for m in re.findall(r"AH12319: store synced for \d+ domains in (\d+) ms",
                                       h.log_text(since))]


def measure(h, names):
    """start, RSS, md-status, graceful, RSS. Returns a dict."""
    res = {}
    mark = h.log_size()
    t0 = time.monotonic()
    r = h.start(timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"start failed: {r.stdout}{r.stderr}")
    res["start"] = time.monotonic() - t0
    if names:
        res["sync_ms"] = sync_ms(h, mark)
    time.sleep(2)
    res["rss"] = rss_kib(h.pid())
    if names:
        runs = [get_time(h, "/md-status") for _ in range(3)]
        res["status_all"] = statistics.median(t for t, _ in runs)
        res["status_size"] = runs[0][1]
        res["status_one"] = statistics.median(
            get_time(h, f"/md-status/{names[len(names) // 2]}")[0] for _ in range(3))
    t0 = time.monotonic()
    h.graceful(timeout=1800)
    res["graceful"] = time.monotonic() - t0
    time.sleep(2)
    res["rss_after"] = rss_kib(h.pid())
    return res


def histogram(h):
    """{hour (UTC, 'YYYY-mm-dd HH'): count} of the MDs' renew-at from md-status."""
    with_url = f"http://127.0.0.1:{h.http_port}/md-status"
    r = subprocess.run(["curl", "-s", with_url], capture_output=True, text=True)
    hours = {}
    for md in json.loads(r.stdout)["managed-domains"]:
        at = datetime.datetime.strptime(md["renew-at"], "%a, %d %b %Y %H:%M:%S GMT")
        key = at.strftime("%Y-%m-%d %H")
        hours[key] = hours.get(key, 0) + 1
    return hours


def main():
    n = int(os.environ.get("BENCH_MDS", "10000"))
    issue_hours = float(os.environ.get("BENCH_ISSUE_HOURS", "2"))
    cases = os.environ.get("BENCH_CASES", "baseline fresh populated").split()
    module = harness.module_path()
    print(f"module: {module}, {n} MDs", flush=True)
    scratch = harness.make_scratch("md-bench-scale-")
    ports = tuple(harness.free_ports(2))
    ca_dir = scratch / "ca"
    ca_dir.mkdir()
    test_root = harness.make_test_pki(ca_dir)[0]
    blackhole = harness.BlackholeCA(test_root)
    names = md_names(n)
    certs = scratch / "certs"
    results, hours = {}, None
    try:
        if "baseline" in cases or "populated" in cases:
            t0 = time.monotonic()
            make_certs(certs, names, issue_hours)
            print(f"    {n} certificates made in {time.monotonic() - t0:.0f} s", flush=True)
        for case in cases:
            root = scratch / case
            h = harness.Httpd(root, ports[0], ports[1], ca=blackhole, module=module)
            if case == "baseline":
                h.write_config(STATUS + static_certs_body(h, names, certs))
            else:
                h.write_config(md_body(h, names))
            if case == "populated":
                populate(h.store_dir, certs)
                # as the store is after the module ran once (md.json of each MD written)
                r = h.start(timeout=1800)
                if r.returncode != 0:
                    raise RuntimeError(f"start failed: {r.stdout}{r.stderr}")
                h.stop(timeout=120)
            print(f"... {case}", flush=True)
            try:
                results[case] = measure(h, [] if case == "baseline" else names)
                if case == "populated":
                    hours = histogram(h)
            finally:
                h.stop(timeout=120)
                bad = h.log_problems(since=0)
                if bad:
                    print(f"    {len(bad)} md warnings/errors, first: {bad[0]}")
                if os.environ.get("MD_TEST_KEEP") != "1":
                    shutil.rmtree(root, ignore_errors=True)
            print(f"    {results[case]}", flush=True)
    finally:
        blackhole.stop()
        harness.remove_scratch(scratch)

    print()
    print(f"{'case':11} {'start s':>8} {'RSS MiB':>8} {'graceful s':>11} {'RSS MiB':>8} "
          f"{'md-status s':>12} {'one MD s':>9}")
    base = results.get("baseline")
    for case, r in results.items():
        st = f"{r['status_all']:12.3f} {r['status_one']:9.4f}" if "status_all" in r else ""
        print(f"{case:11} {r['start']:8.2f} {r['rss'] / 1024:8.1f} {r['graceful']:11.2f} "
              f"{r['rss_after'] / 1024:8.1f} {st}")
    if base:
        for case, r in results.items():
            if case != "baseline":
                print(f"{case + ' - baseline':22} start {r['start'] - base['start']:+.2f} s, "
                      f"RSS {(r['rss'] - base['rss']) / 1024:+.1f} MiB, graceful "
                      f"{r['graceful'] - base['graceful']:+.2f} s, RSS after graceful "
                      f"{(r['rss_after'] - base['rss_after']) / 1024:+.1f} MiB")
    for case, r in results.items():
        if r.get("sync_ms"):
            print(f"store sync of {case} at the start (ms, per pass): {r['sync_ms']}")
    for case, r in results.items():
        if "status_size" in r:
            print(f"md-status of {case}: {r['status_size'] / 1e6:.1f} MB")
    if hours:
        print(f"\nrenew-at of the {n} populated MDs per hour (issued within {issue_hours:g} h; "
              f"without jitter they would all fall in {int(issue_hours) + 1} hours):")
        for k in sorted(hours):
            print(f"  {k}h  {hours[k]:6}  {'#' * (hours[k] * 60 // max(hours.values()))}")
        counts = list(hours.values())
        print(f"  {len(counts)} hours, at most {max(counts)} in one hour, mean "
              f"{statistics.mean(counts):.0f}")
    print("\nstart-up target of issue #15: < 10 s and < 50 MiB over the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
