"""The programs the admin configures (issue #15, item 6): MDNotifyCmd, MDMessageCmd and the
dns-01 program of MDChallengeDns01 get their arguments without a shell (an argument like
`a;touch FILE` or `$(touch FILE)` reaches the program as it is and runs nothing), are killed
after their time limit (MDChallengeDns01Timeout for dns-01: a hanging program fails its MD's
renewal, not the server), and what they write reaches the log bounded in size and on one line
(4096 bytes of an event program's output, 1024 bytes of a dns-01 program's stderr).
"""

import json
import re

import pytest

import harness

# Records its argv as one JSON line, then writes a lot (with control characters) to stdout and
# stderr; fails for 'renewed' (so that the output is logged), succeeds otherwise.
EVENT_PROGRAM = r'''#!/usr/bin/python3
import json, sys
with open("{calls}", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
if "renewed" in sys.argv or len(sys.argv) == 2:
    sys.stdout.write("OUT-START\x1b[31m\r\n" + "o" * 100000 + "\n")
    sys.stdout.flush()
    sys.stderr.write("E" * 100000 + "\n")
    sys.exit(1)
sys.exit(0)
'''

# dns-01: 'setup' writes 100 kB to stderr (and its pid to a file), then hangs; 'teardown' works.
DNS_PROGRAM = r'''#!/usr/bin/python3
import json, os, sys, time
with open("{calls}", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
if sys.argv[1] == "setup":
    with open("{pidfile}", "w") as f:
        f.write(str(os.getpid()))
    sys.stdout.write("stdout is not kept\n" * 1000)
    sys.stderr.write("waiting for the DNS provider\n" + "e" * 100000 + "\n")
    sys.stderr.flush()
    time.sleep(3600)
'''


def write_program(h, name, text, **fmt):
    d = h.root / "progs"
    d.mkdir(exist_ok=True)
    d.chmod(0o777)
    prog = d / name
    prog.write_text(text.format(**fmt))
    prog.chmod(0o755)
    return prog


def calls_of(path):
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def md_lines(h, ident):
    return [ln for ln in h.log_text().splitlines() if ident in ln]


@pytest.mark.expect_log("AH12604")
def test_692_event_programs_no_shell_bounded_output(httpd, ca):
    name = "prog-event.example.org"
    d = httpd.root / "progs"
    calls = d / "calls.log"
    marker1, marker2 = d / "injected1", d / "injected2"
    prog = write_program(httpd, "event.py", EVENT_PROGRAM, calls=calls)
    calls.write_text("")
    calls.chmod(0o666)
    hostile1 = f"a;touch {marker1}"
    hostile2 = f"$(touch {marker2})`touch {marker2}`"
    httpd.write_config(f"MDNotifyCmd {prog}\n"
                       f"MDMessageCmd {prog} \"{hostile1}\" \"{hostile2}\"\n"
                       f"MDomain {name}\n" + httpd.md_vhosts(name))
    httpd.start()
    httpd.wait_md_ready([name])
    lines = httpd.wait_log(r"AH12604: " + re.escape(name) + r": MDMessageCmd .* for 'renewed' "
                           r"failed", timeout=30)
    notify = httpd.wait_log(r"AH12604: " + re.escape(name) + r": MDNotifyCmd .* for 'renewed' "
                            r"failed", timeout=30)
    # the arguments arrived as they were written, nothing ran them
    got = calls_of(calls)
    assert [name] in got, got
    assert [hostile1, hostile2, "renewing", name] in got, got
    assert [hostile1, hostile2, "renewed", name] in got, got
    assert not marker1.exists() and not marker2.exists()
    # the output: one line, at most 4096 bytes of it, control characters replaced, truncation
    # and exit code said
    for line in (lines[0], notify[0]):
        assert "OUT-START?[31m" in line, line[:300]
        assert "[...] (exit code 1)" in line, line[-200:]
        assert len(line) < 4096 + 600, len(line)
    text = httpd.log_text()
    assert "\x1b" not in text
    assert "o" * 5000 not in text and "E" * 100 not in text
    # the server kept serving with its new certificate after all
    httpd.graceful()
    httpd.verify_served(name, ca.issuer_root)


@pytest.mark.expect_log("AH12300")
def test_692_dns01_program_hangs(httpd, ca):
    name = "prog-dns-hang.example.org"
    other = "prog-dns-other.example.org"
    d = httpd.root / "progs"
    calls, pidfile = d / "calls.log", d / "setup.pid"
    prog = write_program(httpd, "dns.py", DNS_PROGRAM, calls=calls, pidfile=pidfile)
    calls.write_text("")
    calls.chmod(0o666)
    httpd.write_config(f"<MDomain {name}>\n  MDCAChallenges dns-01\n"
                       f"  MDChallengeDns01 {prog}\n  MDChallengeDns01Timeout 2s\n</MDomain>\n"
                       + httpd.md_vhosts(name)
                       + f"MDomain {other}\n" + httpd.md_vhosts(other))
    httpd.start()
    line = httpd.wait_log(r"AH12300: " + re.escape(name) + r": renewal failed", timeout=60)[0]
    assert re.search(r"the dns-01 program '\S+ setup " + re.escape(name) + r"' ran longer "
                     r"than 2 seconds \(MDChallengeDns01Timeout\) and was killed: waiting for "
                     r"the DNS provider e+\[\.\.\.\]", line), line
    assert "stdout is not kept" not in line
    assert len(line) < 1024 + 1000, len(line)
    # the program is gone, the teardown ran after it
    pid = int(pidfile.read_text())
    assert not harness.Httpd._pid_alive(pid)
    assert [c[0] for c in calls_of(calls)][:2] == ["setup", "teardown"]
    # the other MD got its certificate: one MD's program blocks nobody else
    httpd.wait_md_ready([other])
    st, _, _ = httpd.curl(name, insecure=True)
    assert st == 503


@pytest.mark.parametrize("value, phrase", [
    ("0s", "is too short"),
    ("-5m", "is too short"),
    ("500ms", "is too short"),
    ("soon", "unrecognized duration format"),
])
def test_692_dns01_timeout_bad_values(httpd, value, phrase):
    httpd.write_config(f"MDChallengeDns01Timeout {value}\n")
    r = httpd.apachectl("-t")
    assert r.returncode != 0
    assert "MDChallengeDns01Timeout" in r.stderr and phrase in r.stderr, r.stderr


def test_692_dns01_timeout_good_values(httpd):
    httpd.write_config("MDChallengeDns01Timeout 90s\n<MDomain t.example.org>\n"
                       "  MDChallengeDns01Timeout 30m\n</MDomain>\n"
                       + httpd.md_vhosts("t.example.org"))
    r = httpd.apachectl("-t")
    assert r.returncode == 0, r.stderr

