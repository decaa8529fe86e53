"""Retry-After and rate limits through test/tools/acme_front.py: a short Retry-After on a refused
newOrder is waited for within the job (the order is asked again after it, no failure); a
rateLimited answer with a long one ends the job, md-status shows the next attempt at that time,
and the CA is not asked again before it, not even after a restart; a finalized order that the
CA says is still processing is polled after its Retry-After, within the job when it is short and
in a rescheduled attempt (resuming the order) when it is long.
"""

import datetime
import json
import re
import time

import pytest

import harness


@pytest.fixture
def front(ca):
    f = harness.FrontCA(ca, ari=False)
    yield f
    f.stop()


def config(h, md):
    return f"""MDRetryDelay 1s
<Location /md-status>
  SetHandler md-status
</Location>
MDomain {md}
{h.md_vhosts(md)}"""


def status_of(h, md):
    status, body, _ = h.curl("localhost", f"/md-status/{md}", https=False)
    assert status == 200, body
    return json.loads(body)


def times_of(f, method, prefix):
    return [t for t, m, path in f.front.snapshot()["requests"]
            if m == method and path.startswith(prefix)]


def http_date(s):
    return datetime.datetime.strptime(s, "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_395_short_retry_after_within_job(httpd, front):
    md = "ra-short.example.org"
    front.front.add_rule("POST", "/order-plz", 503, "serverInternal", retry_after=2)
    httpd.ca = front
    httpd.write_config(config(httpd, md))
    httpd.start_and_issue([md])
    log = httpd.log_text()
    assert "AH12300" not in log
    assert re.search(r"AH12910: " + re.escape(md) + r": .*/order-plz answered HTTP status 503 "
                     r"with Retry-After: asking again in", log), log
    refused, accepted = times_of(front, "POST", "/order-plz")[:2]
    assert accepted - refused >= 1.9


@pytest.mark.expect_log("AH12300")
def test_395_rate_limited_long(httpd, front):
    md = "ra-long.example.org"
    front.front.add_rule("POST", "/order-plz", 429, "rateLimited", retry_after=3600)
    httpd.ca = front
    httpd.write_config(config(httpd, md))
    t0 = time.time()
    httpd.start()
    line = httpd.wait_log(r"AH12300: " + re.escape(md) + r": renewal failed")[0]
    assert "rateLimited" in line and re.search(r"next attempt in (1h|3600s|359\ds)", line), line
    job = status_of(httpd, md)["renewal"]
    assert abs(http_date(job["next-run"]) - (t0 + 3600)) < 60, job
    assert job["last"]["problem"] == "urn:ietf:params:acme:error:rateLimited"
    time.sleep(3)  # MDRetryDelay 1s would have retried by now
    assert len(times_of(front, "POST", "/order-plz")) == 1
    # a restart keeps the CA's time
    httpd.graceful()
    time.sleep(3)
    assert len(times_of(front, "POST", "/order-plz")) == 1
    assert abs(http_date(status_of(httpd, md)["renewal"]["next-run"]) - (t0 + 3600)) < 60


def test_395_processing_polled_after_retry_after(httpd, front):
    md = "ra-poll.example.org"
    front.front.add_rewrite("POST", "/finalize-order/", "processing", retry_after=3)
    httpd.ca = front
    httpd.write_config(config(httpd, md))
    httpd.start_and_issue([md])
    assert "AH12300" not in httpd.log_text()
    fin = times_of(front, "POST", "/finalize-order/")[-1]
    polls = [t for t in times_of(front, "POST", "/my-order/") if t > fin]
    assert polls and polls[0] - fin >= 2.9, (fin, polls)


@pytest.mark.expect_log("AH12300")
def test_395_processing_long_retry_after_reschedules(httpd, front):
    md = "ra-poll-long.example.org"
    front.front.add_rewrite("POST", "/finalize-order/", "processing", retry_after=12)
    httpd.ca = front
    httpd.write_config(config(httpd, md))
    httpd.start()
    line = httpd.wait_log(r"AH12300: " + re.escape(md) + r": renewal failed")[0]
    assert "the CA asks to look again later" in line and "next attempt in 1" in line, line
    fin = times_of(front, "POST", "/finalize-order/")[-1]
    httpd.wait_md_ready([md], timeout=60)
    polls = [t for t in times_of(front, "POST", "/my-order/") if t > fin]
    assert polls[0] - fin >= 11.9, (fin, polls)
    # the attempt after the wait continued the order: one newOrder in all
    assert len(front.front.snapshot()["new_orders"]) == 1
    assert re.search(r"AH12234: " + re.escape(md) + r": resuming order", httpd.log_text())
