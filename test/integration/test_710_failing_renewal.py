"""A renewal that fails, read through every surface, and the CA coming back: md-status (errors,
problem, detail, next run), md-metrics (failures), staging/<md>/job.json (log), MDMessageCmd
('errored' at most once an hour, 'renewed' repeated until the program succeeds). Then a restart
in the middle of a job: the order is resumed (one newOrder at pebble), the error count and next
run survive in job.json.
"""

import email.utils
import json
import re

import pytest

import harness
from test_500_challenges import write_dns_program, vhost
from test_700_monitoring import parse_metrics

MD = "fail.monitor.example.org"

# records "<reason> <md>"; 'renewed' fails until the flag file exists (the first call makes it)
MSG_PROGRAM = """#!/bin/sh
echo "$*" >> {log}
if [ "$1" = renewed ] && [ ! -e {flag} ]; then
  touch {flag}
  echo "mail server down"
  exit 1
fi
exit 0
"""


def write_msg_program(h):
    log, flag = h.root / "msg.log", h.root / "msg.flag"
    prog = h.root / "msg.sh"
    prog.write_text(MSG_PROGRAM.format(log=log, flag=flag))
    prog.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    h.root.chmod(0o777)
    return prog, log


def config(h, prog):
    return f"""MDRetryDelay 1s
MDMessageCmd {prog}
<Location /md-status>
  SetHandler md-status
</Location>
<Location /md-metrics>
  SetHandler md-metrics
</Location>
{h.md_config({MD: []})}"""


def get_json(h, path):
    status, body, err = h.curl("localhost", path, https=False)
    assert status == 200, (path, status, body, err)
    return json.loads(body)


def metrics(h):
    status, body, _ = h.curl("localhost", "/md-metrics", https=False)
    assert status == 200
    return parse_metrics(body)


@pytest.mark.expect_log("AH12300", "AH12304")
def test_710_ca_unreachable_then_back(httpd, ca):
    closed = harness.free_port()   # nothing listens there: connection refused
    httpd.ca = harness.BlackholeCA(ca.test_root)
    httpd.ca.stop()
    httpd.ca.port = closed
    prog, msg_log = write_msg_program(httpd)
    httpd.write_config(config(httpd, prog))
    httpd.start()
    httpd.wait_log(r"AH12300: " + re.escape(MD) + r": renewal failed \(attempt 2\)", timeout=60)

    j = get_json(httpd, f"/md-status/{MD}")
    r = j["renewal"]
    assert r["finished"] is False
    assert r["errors"] >= 2
    assert r["last"]["status"] != 0
    assert f"127.0.0.1:{closed}" in r["last"]["detail"]
    # no CA answered, so there is no ACME problem document, only the connection error
    assert "problem" not in r["last"]
    assert "Couldn't connect" in r["last"]["detail"]
    assert r["last"]["activity"].startswith("contacting the ACME CA")
    assert re.match(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", r["next-run"])
    assert r["log"]["entries"][0]["type"] in ("error", "message-errored")
    assert any(e["type"] == "error" for e in r["log"]["entries"])

    m = metrics(httpd)
    assert m[("mod_md_renewal_failures_total", MD, None)] >= 2
    assert m[("mod_md_renewal_errors", MD, None)] >= 2
    assert m[("mod_md_renewals_total", MD, None)] >= 2

    job = json.loads((httpd.store_dir / "staging" / MD / "job.json").read_text())
    assert job["name"] == MD and job["errors"] >= 2 and "next-run" in job
    assert job["log"]["entries"]

    calls = msg_log.read_text().splitlines()
    assert calls.count(f"renewing {MD}") >= 2
    assert calls.count(f"errored {MD}") == 1, calls  # at most once an hour

    # the CA is back: reconfigure, graceful, the retry succeeds
    mark = httpd.log_size()
    httpd.ca = ca
    httpd.write_config(config(httpd, prog))
    httpd.graceful()
    httpd.wait_md_ready([MD], timeout=120, since=mark)
    # 'renewed' is repeated until the program exits 0
    httpd.wait_log(r"AH12602: " + re.escape(MD) + r": MDMessageCmd .* for 'renewed' succeeded",
                   since=mark, timeout=60)
    assert len(httpd.wait_log(r"AH12604: " + re.escape(MD) + r": MDMessageCmd .* 'renewed' failed"
                              r".*mail server down", since=mark)) == 1
    r = get_json(httpd, f"/md-status/{MD}")["renewal"]
    assert r["finished"] is True and r["errors"] == 0 and r["last"]["status"] == 0
    assert "rsa" in r["cert"]
    assert metrics(httpd)[("mod_md_renewal_errors", MD, None)] == 0
    calls = msg_log.read_text().splitlines()
    assert calls.count(f"renewed {MD}") == 2
    httpd.graceful()
    httpd.verify_served(MD, ca.issuer_root)
    httpd.mark_log_checked()


def new_orders(httpd, name):
    """Orders the module created for 'name' (its AH12222 "new order" lines). pebble's own log is
    no good for counting: a request it rejects for a bad nonce (5 % at random) is sent again."""
    return re.findall(r"AH12222: " + re.escape(name) + r": new order (\S+)", httpd.log_text())


@pytest.mark.expect_log("AH12300")
def test_710_restart_mid_job(httpd, ca):
    name = "resume.monitor.example.org"
    prog, calls = write_dns_program(httpd, ca, fail_setup=True)
    conf = (f"<MDomain {name}>\n  MDCAChallenges dns-01\n  MDChallengeDns01 {prog}\n"
            f"</MDomain>\nMDRetryDelay 1h\n" + vhost(httpd, name))
    httpd.write_config(conf)
    httpd.start()
    httpd.wait_log(r"AH12300: " + re.escape(name) + r": renewal failed", timeout=60)
    httpd.stop()
    job_path = httpd.store_dir / "staging" / name / "job.json"
    before = json.loads(job_path.read_text())
    assert before["errors"] == 1 and before["next-run"]
    assert len(new_orders(httpd, name)) == 1
    assert (httpd.store_dir / "staging" / name / "order.json").exists()

    # the restarted server knows the error count and waits for the next run
    mark = httpd.log_size()
    httpd.start()
    httpd.wait_log(r"AH\d+: " + re.escape(name) + r": .*1 error", since=mark, timeout=10)
    after = json.loads(job_path.read_text())
    assert after["errors"] == 1 and after["next-run"] == before["next-run"]

    # the program is fixed and the hour has passed (next-run moved to now): the job continues
    # with the staged order
    httpd.stop()
    write_dns_program(httpd, ca)
    after["next-run"] = email.utils.formatdate(usegmt=True)
    job_path.write_text(json.dumps(after))
    mark = httpd.log_size()
    httpd.start()
    httpd.wait_md_ready([name], timeout=120, since=mark)
    assert re.search(r"resuming order", httpd.log_text(mark))
    assert len(new_orders(httpd, name)) == 1, new_orders(httpd, name)
    httpd.graceful()
    httpd.verify_served(name, ca.issuer_root)
