"""MDMessageCmd for stapling: 'ocsp-renewed' when a response was fetched and stored,
'ocsp-errored' when fetching failed (the responder is gone), the latter at most once an hour.
Short-lived responses (20 s) make the module fetch again soon."""

import shutil
import time

import pytest

import harness

MD = "events.ocsp.example.org"

MSG_PROGRAM = """#!/bin/sh
echo "$*" >> {log}
exit 0
"""


def calls(log):
    return log.read_text().splitlines() if log.exists() else []


def wait_call(log, line, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in calls(log):
            return
        time.sleep(0.5)
    raise AssertionError(f"no '{line}' in {calls(log)} after {timeout}s")


@pytest.mark.expect_log("AH12805")
def test_840_ocsp_message_reasons(scratch, ports, module, ca_factory):
    responder = harness.OCSPResponder(scratch / "ocsp-840", validity=20)
    ca = ca_factory({}, ocsp_url=responder.url)
    responder.start(ca)
    root = scratch / "httpd-840"
    shutil.rmtree(root, ignore_errors=True)
    h = harness.Httpd(root, ports[0], ports[1], ca=ca, module=module)
    log = root / "msg.log"
    prog = root / "msg.sh"
    prog.write_text(MSG_PROGRAM.format(log=log))
    prog.chmod(0o755)
    # 'installed' runs as root in the parent, the others as the child's User
    log.touch()
    log.chmod(0o666)
    try:
        h.write_config(f"MDStapling on\nMDMessageCmd {prog}\n" + h.md_config({MD: []}))
        h.start()
        h.wait_md_ready([MD], timeout=120)
        h.graceful()
        # the first response of the new certificate
        wait_call(log, f"ocsp-renewed {MD}", timeout=60)
        # the responder goes away: the next fetch (a third of 20 s before the end) fails
        responder.stop()
        wait_call(log, f"ocsp-errored {MD}", timeout=60)
        time.sleep(15)
        # more failed fetches follow, but the message is sent once an hour at most
        assert calls(log).count(f"ocsp-errored {MD}") == 1, calls(log)
    finally:
        h.stop()
        responder.stop()
    bad = h.log_problems(expected=("AH12805",), since=0)
    assert not bad, "unexpected warnings/errors in error log:\n" + "\n".join(bad)
