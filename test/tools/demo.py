#!/usr/bin/python3
"""The demo behind 'make demo': a local ACME CA (pebble), an Apache with our mod_md and
'MDomain demo.example.org' with 'MDActivation hot', all on free 127.0.0.1 ports in a scratch
directory.

Shows https answering 503 with the fallback certificate, then the first certificate served
without a restart (fetched with curl, verified against pebble's root), then a renewal
('MDRenewWindow 100%' makes the new certificate due again at once) served without a restart
while a client keeps connecting, with the parent's pid unchanged and the store updated as a
restart would. Stops everything it started and removes the scratch directory on exit
(MD_TEST_KEEP=1 keeps it). Exit status 0 on success.
"""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import harness  # noqa: E402

NAME = "demo.example.org"
TIMEOUT = 120


def say(msg):
    print(f"demo: {msg}", flush=True)


def relevant_log(httpd, n=30):
    lines = [ln for ln in httpd.log_text().splitlines()
             if "[md:" in ln and ":debug]" not in ln and ":trace" not in ln
             or ":error]" in ln or ":warn]" in ln or ":crit]" in ln or ":emerg]" in ln]
    return "\n".join(lines[-n:]) or httpd.log_tail(n)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def run(scratch):
    module = harness.module_path()
    if not module.is_file():
        say(f"module not found: {module} (run 'make' first)")
        return 1
    say(f"module: {module}")
    http_port, https_port = harness.free_ports(2)
    say("starting pebble-challtestsrv and pebble ...")
    ca = harness.CA(scratch / "ca", http_port, https_port)
    cleanup.append(ca.stop)
    ca.start()
    say(f"ACME CA at {ca.directory_url}")
    httpd = harness.Httpd(scratch / "httpd", http_port, https_port, ca=ca, module=module)
    cleanup.append(httpd.stop)
    httpd.write_config(f"MDActivation hot\nMDRenewWindow 100%\nMDCheckInterval 5s\n"
                       f"MDomain {NAME}\n" + httpd.md_vhosts(NAME))
    say(f"starting Apache (http 127.0.0.1:{http_port}, https 127.0.0.1:{https_port}), "
        f"ServerRoot {httpd.root}")
    r = httpd.start()
    if r.returncode != 0:
        say(f"apache2 failed to start:\n{r.stdout}{r.stderr}")
        return 1
    status, _, _ = httpd.curl(NAME, insecure=True)
    say(f"before the certificate: https://{NAME}/ answers {status} (fallback certificate)")
    pid = httpd.pid()

    if not wait_served(httpd, 1, "the certificate"):
        return 1
    say(f"certificate served without a restart (AH13001); parent pid {httpd.pid()} (was {pid})")
    if not fetch_verified(httpd, ca):
        return 1
    first = httpd.peer_chain(NAME).serial_number
    show_cert(httpd)

    say("renewing it (MDRenewWindow 100%: the new certificate is due again at once), "
        "while a client keeps making new connections ...")
    prober = harness.Prober(httpd.https_port, [NAME], ca.issuer_root).start()
    try:
        ok = wait_served(httpd, 2, "the renewal")
        time.sleep(1)
    finally:
        prober.stop()
    if not ok:
        return 1
    second = httpd.peer_chain(NAME).serial_number
    say(f"serial {first:X} -> {second:X}, parent pid {httpd.pid()} (was {pid}), no restart")
    say(f"the client made {prober.requests} requests during the renewal, "
        f"{len(prober.failures)} failed, and saw serials "
        f"{', '.join(f'{s:X}' for s in sorted(prober.serials(NAME)))}")
    if prober.failures or httpd.pid() != pid or second == first:
        print(relevant_log(httpd))
        return 1
    say("the parent puts the served certificate into the store as a restart would ...")
    try:
        httpd.wait_log(r"AH13006: " + re.escape(NAME) + ":", timeout=60, count=2)
    except TimeoutError:
        print(relevant_log(httpd))
        return 1
    say(f"store: domains/{NAME} holds it, archive/ the previous ones: "
        f"{sorted(p.name for p in (httpd.store_dir / 'archive').iterdir())}")
    say("success")
    return 0


def wait_served(httpd, count, what):
    """Waits until AH13001 (served without a restart) was logged 'count' times."""
    t0 = time.monotonic()
    next_report = 0.0
    while True:
        elapsed = time.monotonic() - t0
        hits = httpd.log_events(r"AH13001: " + re.escape(NAME) + ":")
        if len(hits) >= count:
            return True
        if elapsed > TIMEOUT:
            say(f"no {what} after {TIMEOUT}s. Error log (md lines, warnings, errors):")
            print(relevant_log(httpd))
            return False
        if elapsed >= next_report:
            say(f"waiting for {what} ... {int(elapsed)}s")
            next_report += 5
        time.sleep(0.25)


def fetch_verified(httpd, ca):
    argv = ["curl", "-sS", "--max-time", "15", "--resolve",
            f"{NAME}:{httpd.https_port}:127.0.0.1", "--cacert", str(ca.issuer_root), "-o",
            "/dev/null", "-w", "%{http_code}", f"https://{NAME}:{httpd.https_port}/"]
    say("$ " + " ".join(argv))
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0 or r.stdout.strip() != "200":
        say(f"request failed: {r.stdout} {r.stderr}")
        print(relevant_log(httpd))
        return False
    say(f"https://{NAME}/ answers {r.stdout.strip()}, certificate verified against pebble's root")
    return True


def show_cert(httpd):
    cert = httpd.peer_chain(NAME)
    pem = cert.public_bytes(harness.serialization.Encoding.PEM)
    r = subprocess.run(["openssl", "x509", "-noout", "-serial", "-subject", "-issuer", "-dates",
                        "-ext", "subjectAltName"], input=pem, capture_output=True)
    print(r.stdout.decode(), end="", flush=True)


cleanup = []


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    scratch = harness.make_scratch("md-demo-")
    rc = 1
    try:
        rc = run(scratch)
    except KeyboardInterrupt:
        say("interrupted")
        rc = 130
    except Exception as e:  # report and clean up
        say(f"failed: {e}")
        rc = 1
    finally:
        for stop in reversed(cleanup):
            try:
                stop()
            except Exception as e:
                say(f"cleanup: {e}")
        harness.remove_scratch(scratch)
    return rc


if __name__ == "__main__":
    sys.exit(main())
