"""MDMessageCmd reasons that need special situations: 'renewing' vetoed by a non-zero exit (no
order at the CA, asked again later), 'expiring' for a certificate inside MDWarnWindow (a
short-lived self-made one in domains/), and a program that hangs (killed after 10 seconds, the
server goes on); 'installed' when a staged set goes live at a cold start (stop, then start),
where httpd's first configuration pass activates it. 'errored' and the repeated 'renewed' are in
test_710."""

import re

import pytest

import harness

EXPIRING = "expiring.msg.example.org"
VETOED = "veto.msg.example.org"

# records "<reason> <md>"; vetoes every renewal; hangs on 'expiring'
MSG_PROGRAM = """#!/bin/sh
echo "$*" >> {log}
case "$1" in
  renewing) echo "change freeze until Monday"; exit 3 ;;
  expiring) exec sleep 30 ;;
esac
exit 0
"""


@pytest.mark.expect_log("AH12603")
def test_720_veto_expiring_hanging(httpd, ca):
    log = httpd.root / "msg.log"
    prog = httpd.root / "msg.sh"
    prog.write_text(MSG_PROGRAM.format(log=log))
    prog.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    cert = harness.write_domain_set(httpd.store_dir / "domains" / EXPIRING, EXPIRING, -1, 3)
    # the certificate has 75% of its life left: not due for renewal (33%), but inside a warn
    # window of 100%
    httpd.write_config(f"MDRetryDelay 1s\nMDWarnWindow 100%\nMDMessageCmd {prog}\n"
                       + httpd.md_config({EXPIRING: [], VETOED: []}))
    ca_mark = ca.log_mark()
    httpd.start()

    # the veto: asked again later, and the CA never sees an order
    httpd.wait_log(r"AH12609: " + re.escape(VETOED) + r": MDMessageCmd vetoed", count=2,
                   timeout=30)
    # a veto is the program's answer, logged at info with its output, not as an error
    assert httpd.wait_log(r"\[md:info\].*AH12650: " + re.escape(VETOED) + r".*'renewing' said no.*"
                          r"change freeze until Monday.*exit code 3")
    assert not [ln for ln in ca.requests_since(ca_mark) if "order-plz" in ln]
    st, _, _ = httpd.curl(VETOED, insecure=True)
    assert st == 503

    # 'expiring' hangs, is killed after the timeout; the server goes on serving
    line = httpd.wait_log(r"AH12603: " + re.escape(EXPIRING) + r": MDMessageCmd .* for "
                          r"'expiring' ran longer than 10 seconds", timeout=30)[0]
    assert "was killed" in line
    assert httpd.wait_log(r"AH12608: " + re.escape(EXPIRING) + r": the certificate expires")
    assert httpd.peer_chain(EXPIRING).serial_number == cert.serial_number
    st, _, _ = httpd.curl(EXPIRING, insecure=True)
    assert st == 200

    calls = log.read_text().splitlines()
    assert calls.count(f"expiring {EXPIRING}") == 1
    assert f"renewing {EXPIRING}" not in calls   # not due
    assert calls.count(f"renewing {VETOED}") >= 2
    assert not [c for c in calls if c.startswith(("renewed", "errored"))]


INSTALLED = "cold.msg.example.org"


def test_720_installed_at_cold_start(httpd, ca):
    log = httpd.root / "msg.log"
    prog = httpd.root / "msg.sh"
    prog.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\nexit 0\n")
    prog.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    httpd.write_config(f"MDMessageCmd {prog}\n" + httpd.md_config({INSTALLED: []}))
    httpd.start()
    httpd.wait_md_ready([INSTALLED], timeout=120)
    httpd.wait_log(r"AH12602: .*'renewed' succeeded", timeout=30)
    httpd.stop()
    assert f"installed {INSTALLED}" not in log.read_text()
    # not a graceful restart: the first of httpd's two passes finds the staged set
    httpd.start()
    assert httpd.wait_log(r"AH12153: " + re.escape(INSTALLED) + r": activated")
    assert log.read_text().splitlines().count(f"installed {INSTALLED}") == 1
    httpd.verify_served(INSTALLED, ca.issuer_root)
