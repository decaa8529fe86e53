#!/usr/bin/python3
"""The demo behind 'make demo': a local ACME CA (pebble), an Apache with our mod_md and
'MDomain demo.example.org', all on free 127.0.0.1 ports in a scratch directory.

Waits until the module reports the certificate (AH10059), restarts Apache gracefully, fetches
https://demo.example.org/ verified against pebble's root and prints the certificate. Stops
everything it started and removes the scratch directory on exit (MD_TEST_KEEP=1 keeps it).
Exit status 0 on success.
"""

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
    httpd.write_config(f"MDomain {NAME}\n" + httpd.md_vhosts(NAME))
    say(f"starting Apache (http 127.0.0.1:{http_port}, https 127.0.0.1:{https_port}), "
        f"ServerRoot {httpd.root}")
    r = httpd.start()
    if r.returncode != 0:
        say(f"apache2 failed to start:\n{r.stdout}{r.stderr}")
        return 1
    status, _, _ = httpd.curl(NAME, insecure=True)
    say(f"before the certificate: https://{NAME}/ answers {status} (fallback certificate)")

    t0 = time.monotonic()
    next_report = 0.0
    while True:
        elapsed = time.monotonic() - t0
        if "AH10059: The Managed Domain " + NAME in httpd.log_text():
            break
        if elapsed > TIMEOUT:
            say(f"no certificate after {TIMEOUT}s. Error log (md lines, warnings, errors):")
            print(relevant_log(httpd))
            return 1
        if elapsed >= next_report:
            say(f"waiting for the certificate ... {int(elapsed)}s")
            next_report += 5
        time.sleep(0.25)
    say(f"certificate obtained after {time.monotonic() - t0:.1f}s (AH10059), graceful restart")
    httpd.graceful()

    root = ca.issuer_root
    argv = ["curl", "-sS", "--max-time", "15", "--resolve", f"{NAME}:{https_port}:127.0.0.1",
            "--cacert", str(root), "-o", "/dev/null", "-w", "%{http_code}",
            f"https://{NAME}:{https_port}/"]
    say("$ " + " ".join(argv))
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0 or r.stdout.strip() != "200":
        say(f"request failed: {r.stdout} {r.stderr}")
        print(relevant_log(httpd))
        return 1
    say(f"https://{NAME}/ answers {r.stdout.strip()}, certificate verified against pebble's root")

    cert = httpd.peer_chain(NAME)
    pem = cert.public_bytes(harness.serialization.Encoding.PEM)
    r = subprocess.run(["openssl", "x509", "-noout", "-subject", "-issuer", "-dates", "-ext",
                        "subjectAltName"], input=pem, capture_output=True)
    print(r.stdout.decode(), end="", flush=True)
    say("success")
    return 0


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
