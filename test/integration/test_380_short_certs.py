"""Renewal timing for short certificates: with the default window a certificate is renewed when a
third of its lifetime is left, and when half is left for certificates valid 10 days or less; an
explicit MDRenewWindow wins; each MD up to a tenth of its window earlier (renewals spread). First with certificates the test makes and puts into the store as
the live sets (md-status shows the computed renewal time, only the due one is renewed), then end
to end with a pebble that issues 30-second certificates: the module renews each on time, by
itself, half way through its life.
"""

import datetime
import json
import re
import time

import harness

DAY = 24 * 3600
SETS = {
    # MD: (valid from, valid until in days from now, MD lines, seconds from now to renewal)
    "six-due.example.org": (-3.5, 2.5, "", None),             # half of 6 days left 0.5 days ago
    "six-later.example.org": (-1, 5, "", 2 * DAY),            # half left in 2 days
    "ninety.example.org": (-50, 40, "", 40 * DAY - 0.33 * 90 * DAY),
    "six-window.example.org": (-1, 5, "MDRenewWindow 2d", 3 * DAY),
}


def status_of(h, md):
    status, body, _ = h.curl("localhost", f"/md-status/{md}", https=False)
    assert status == 200, body
    return json.loads(body)


def http_date(s):
    return datetime.datetime.strptime(s, "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_380_made_short_sets(httpd):
    body = ["<Location /md-status>\n  SetHandler md-status\n</Location>\n"]
    for md, (_, _, lines, _) in SETS.items():
        body.append(f"<MDomain {md}>\n  {lines}\n</MDomain>\n{httpd.md_vhosts(md)}")
        nb, na, _, _ = SETS[md]
        harness.write_domain_set(httpd.store_dir / "domains" / md, md, nb, na)
    httpd.write_config("".join(body))
    t0 = time.time()
    httpd.start()
    httpd.wait_md_ready(["six-due.example.org"])
    for md, (_, _, _, due_in) in SETS.items():
        st = status_of(httpd, md)
        if due_in is None:
            assert st["renew-reason"] == "renew window reached", st
            continue
        assert st["renew-reason"] == "not due", (md, st)
        # renewals are spread: up to a tenth of the window earlier, never later (md_renew.h)
        jitter_max = (SETS[md][1] * DAY - due_in) / 10
        renew_at = http_date(st["renew-at"])
        assert t0 + due_in - jitter_max - 120 < renew_at < t0 + due_in + 120, (md, st["renew-at"])
        assert "renewal" not in st, md
    assert len(re.findall(r"AH10059", httpd.log_text())) == 1


def log_time(line):
    m = re.match(r"\[\w+ (\w+ +\d+ [\d:.]+) (\d+)\]", line)
    return datetime.datetime.strptime(f"{m.group(1)} {m.group(2)}",
                                      "%b %d %H:%M:%S.%f %Y").timestamp()


def test_380_thirty_second_certs_renewed_on_time(httpd, ca_factory):
    short = ca_factory({}, conf={"certificateValidityPeriod": 30})
    md = "thirty.example.org"
    httpd.ca = short
    httpd.write_config(httpd.md_config({md: []}))
    httpd.start_and_issue([md])
    first = httpd.peer_chain(md)
    nb = first.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp()
    na = first.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()
    assert na - nb <= 31
    mark = httpd.log_size()
    # nobody restarts or triggers anything: the module renews by itself half way through
    httpd.wait_md_ready([md], since=mark, timeout=60)
    start = httpd.wait_log(r"AH12906: " + re.escape(md) + r": renewing \(renew window reached",
                           since=mark)[0]
    # half way through, less the MD's renewal jitter (up to a tenth of the window: md_renew.h)
    half = (na - nb) / 2
    assert log_time(start) >= nb + half - half / 10 - 1, start
    httpd.graceful()
    second = httpd.peer_chain(md)
    assert second.serial_number != first.serial_number
    # the new certificate was there before the old one expired
    assert time.time() < na or second.not_valid_before.replace(
        tzinfo=datetime.timezone.utc).timestamp() < na
