"""ACME Renewal Information (RFC 9773) through test/tools/acme_front.py, which adds renewalInfo to
pebble's directory and answers it with the window a test chooses: a window in the past renews
now (the new order names the certificate it replaces), a window far ahead changes nothing, the
Retry-After of the answer is honoured (also across a restart), a CA without ARI gets no
'replaces', and MDRenewViaARI off asks nothing. md-status shows what was decided.
"""

import datetime
import json
import re
import time

import pytest

import harness

NOW = datetime.datetime.now(datetime.timezone.utc)
FAR = (NOW + datetime.timedelta(days=4 * 365), NOW + datetime.timedelta(days=4 * 365 + 2))


@pytest.fixture
def front(ca):
    f = harness.FrontCA(ca)
    f.front.set_default_window(*FAR)
    yield f
    f.stop()


def config(h, md, extra="", names=()):
    return f"""MDRetryDelay 1s
<Location /md-status>
  SetHandler md-status
</Location>
<MDomain {" ".join([md, *names])}>
  {extra}
</MDomain>
{h.md_vhosts(md)}"""


def status_of(h, md):
    status, body, _ = h.curl("localhost", f"/md-status/{md}", https=False)
    assert status == 200, body
    return json.loads(body)


def orders_for(f, name):
    return [o for o in f.front.snapshot()["new_orders"]
            if name in [i["value"] for i in o["identifiers"]]]


def gets_for(f, cert_id):
    return [t for t, cid in f.front.snapshot()["ari_gets"] if cid == cert_id]


def wait_for(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise TimeoutError(what)


def issued(h, f, md, extra=""):
    h.ca = f
    h.write_config(config(h, md, extra))
    h.start_and_issue([md])
    cert = h.peer_chain(md)
    assert not harness.is_self_signed(cert)
    return cert, harness.ari_cert_id(cert)


def test_370_past_window_renews_now(httpd, front):
    md = "ari-past.example.org"
    cert, cid = issued(httpd, front, md)
    # the first certificate replaces nothing
    assert [o.get("replaces") for o in orders_for(front, md)] == [None]
    st = status_of(httpd, md)
    assert st["cert"]["rsa"]["ari-cert-id"] == cid
    # the child asked about the live certificate at its first look: a window far ahead
    wait_for(lambda: gets_for(front, cid), what="ARI request")
    st = wait_for(lambda: status_of(httpd, md).get("ari"), what="ari in md-status")
    assert st["certs"]["rsa"]["ari-cert-id"] == cid
    assert st["certs"]["rsa"]["ca-url"] == front.directory_url
    assert st["next-check"]

    front.front.set_window(cid, NOW - datetime.timedelta(days=2),
                           NOW - datetime.timedelta(days=1), "https://ca.example/incident")
    mark = httpd.log_size()
    httpd.graceful()   # asks again at once: the CA set no Retry-After to wait for
    httpd.wait_md_ready([md], since=mark)
    log = httpd.log_text(mark)
    assert re.search(r"AH12905: " + re.escape(md) + r": the CA suggests renewing certificate "
                     + re.escape(cid) + r" between .* explanation at https://ca.example/incident"
                     r".*earlier than the renew window", log), log
    assert re.search(r"AH12906: " + re.escape(md) + r": renewing \(the CA's renewal information "
                     r"\(ARI\) suggests it", log), log
    assert [o.get("replaces") for o in orders_for(front, md)] == [None, cid]
    httpd.graceful()
    assert httpd.peer_chain(md).serial_number != cert.serial_number


def test_370_far_window_no_renewal(httpd, front):
    md = "ari-far.example.org"
    cert, cid = issued(httpd, front, md)
    wait_for(lambda: gets_for(front, cid), what="ARI request")
    st = wait_for(lambda: (status_of(httpd, md) if "ari" in status_of(httpd, md) else None),
                  what="ari in md-status")
    # the renew window (33 % of pebble's 5 years) comes before the CA's window: it counts
    assert st["renew-reason"] == "not due"
    ari_at = datetime.datetime.strptime(st["ari"]["renew-at"], "%a, %d %b %Y %H:%M:%S GMT")
    renew_at = datetime.datetime.strptime(st["renew-at"], "%a, %d %b %Y %H:%M:%S GMT")
    assert renew_at < ari_at
    time.sleep(3)
    assert len(orders_for(front, md)) == 1
    assert "renewal" not in status_of(httpd, md)


def test_370_retry_after_honoured(httpd, front):
    md = "ari-retry.example.org"
    front.front.ari_retry_after = 3600
    cert, cid = issued(httpd, front, md)
    first = wait_for(lambda: gets_for(front, cid), what="ARI request")
    st = wait_for(lambda: status_of(httpd, md).get("ari"), what="ari in md-status")
    next_check = datetime.datetime.strptime(st["next-check"], "%a, %d %b %Y %H:%M:%S GMT")
    asked = datetime.datetime.utcfromtimestamp(first[0])
    assert 3590 <= (next_check - asked).total_seconds() <= 3610
    # a restart continues with it: no new request for an hour
    n = len(gets_for(front, cid))
    httpd.graceful()
    time.sleep(3)
    assert len(gets_for(front, cid)) == n


def test_370_ca_without_ari(httpd, ca):
    f = harness.FrontCA(ca, ari=False)
    try:
        md = "ari-none.example.org"
        cert, cid = issued(httpd, f, md)
        mark = httpd.log_size()
        httpd.write_config(config(httpd, md, names=[f"www.{md}"]))
        httpd.graceful()
        httpd.wait_md_ready([md], since=mark)
        assert [o.get("replaces") for o in orders_for(f, md)] == [None, None]
        assert f.front.snapshot()["ari_gets"] == []
        assert "ari" not in status_of(httpd, md)
    finally:
        f.stop()


def test_370_ari_off(httpd, front):
    md = "ari-off.example.org"
    front.front.set_default_window(NOW - datetime.timedelta(days=2),
                                   NOW - datetime.timedelta(days=1))
    cert, cid = issued(httpd, front, md, extra="MDRenewViaARI off")
    time.sleep(3)
    assert gets_for(front, cid) == []
    assert len(orders_for(front, md)) == 1
    st = status_of(httpd, md)
    assert "ari" not in st and "renewal" not in st
    # a renewal for another reason names no certificate it replaces
    mark = httpd.log_size()
    httpd.write_config(config(httpd, md, "MDRenewViaARI off", names=[f"www.{md}"]))
    httpd.graceful()
    httpd.wait_md_ready([md], since=mark)
    assert [o.get("replaces") for o in orders_for(front, md)] == [None, None]
