"""CA failover (several MDCertificateAuthority URLs, MDRetryFailover) with two pebbles: a first CA
that is down is left at once, within the first attempt, and the certificate comes from the second
(also the renewal of a 6-day certificate that is due); the next renewal goes to the first CA
again. A first CA that answers but keeps failing is left after MDRetryFailover attempts in a
row, one that rate-limits at once (and is not asked again before its Retry-After).
"""

import re

import pytest

import harness


class TwoRoots:
    """What Httpd needs of its CA when it talks to two pebbles with test PKIs of their own:
    MDCACertificateFile gets both roots (the config names the CA URLs itself)."""

    def __init__(self, first, second, scratch):
        self.test_root = scratch / "two-roots.pem"
        self.test_root.write_text(first.test_root.read_text() + second.test_root.read_text())
        self.directory_url = second.directory_url


@pytest.fixture
def two_cas(ca_factory, httpd, scratch):
    """(first, second) pebbles; tests stop the first where they need it down. The test's server
    trusts both."""
    first, second = ca_factory({}), ca_factory({})
    httpd.ca = TwoRoots(first, second, scratch)
    return first, second


def config(h, md, urls, extra="", names=()):
    return f"""MDCertificateAuthority {' '.join(urls)}
MDRetryDelay 1s
{extra}
<MDomain {' '.join([md, *names])}>
</MDomain>
{h.md_vhosts(md)}"""


def new_orders(h, ca, since):
    """The orders the module made at 'ca' after log offset 'since' (counted by the module's
    log: pebble's lists a request again when it rejected its nonce)."""
    return re.findall(r"AH12222: .*: new order " + re.escape(f"https://127.0.0.1:{ca.port}/"),
                      h.log_text(since))


def issuer_is(h, md, ca):
    from cryptography import x509
    root = x509.load_pem_x509_certificate(ca.issuer_root.read_bytes())
    inter = x509.load_pem_x509_certificate(ca.intermediate_pem().encode())
    cert = h.peer_chain(md)
    return cert.issuer == inter.subject and inter.issuer == root.subject


@pytest.mark.expect_log("AH12908")
def test_390_first_ca_down(httpd, two_cas):
    first, second = two_cas
    first.stop()
    md = "failover.example.org"
    httpd.write_config(config(httpd, md, [first.directory_url, second.directory_url]))
    httpd.start_and_issue([md])
    log = httpd.log_text()
    assert re.search(r"AH12908: " + re.escape(md) + r": the CA at "
                     + re.escape(first.directory_url) + r" cannot be used now .* going on with "
                     r"the next of MDCertificateAuthority, " + re.escape(second.directory_url), log)
    # no retry chain: the first attempt got it
    assert "AH12300" not in log and "AH12304" not in log
    assert len(new_orders(httpd, second, 0)) == 1
    assert issuer_is(httpd, md, second)

    # the next renewal (a name is added) starts at the first CA again, which is back
    first.start()
    mark = httpd.log_size()
    httpd.write_config(config(httpd, md, [first.directory_url, second.directory_url],
                              names=[f"www.{md}"]))
    httpd.graceful()
    httpd.wait_md_ready([md], since=mark)
    httpd.graceful()
    assert len(new_orders(httpd, first, mark)) == 1 and new_orders(httpd, second, mark) == []
    assert issuer_is(httpd, md, first)


@pytest.mark.expect_log("AH12908")
def test_390_six_day_cert_renewed_via_second(httpd, two_cas):
    first, second = two_cas
    first.stop()
    md = "sixday.example.org"
    old = harness.write_domain_set(httpd.store_dir / "domains" / md, md, -3.5, 2.5)
    httpd.write_config(config(httpd, md, [first.directory_url, second.directory_url]))
    httpd.start()
    httpd.wait_md_ready([md])
    assert "AH12300" not in httpd.log_text()
    httpd.graceful()
    cert = httpd.peer_chain(md)
    assert cert.serial_number != old.serial_number
    assert issuer_is(httpd, md, second)


@pytest.mark.expect_log("AH12300", "AH12304")
def test_390_retry_failover_count(httpd, two_cas):
    first, second = two_cas
    front = harness.FrontCA(first, ari=False)
    try:
        front.front.add_rule("POST", "/order-plz", 500, "serverInternal", times=100)
        md = "failcount.example.org"
        httpd.write_config(config(httpd, md, [front.directory_url, second.directory_url],
                                  extra="MDRetryFailover 2"))
        httpd.start()
        httpd.wait_md_ready([md], timeout=60)
        log = httpd.log_text()
        assert len(re.findall(r"AH1230[04]: " + re.escape(md), log)) == 2, log
        assert re.search(r"AH12909: " + re.escape(md) + r": the next attempt goes to the CA at "
                         + re.escape(second.directory_url) + r" \(CA failover: failed 2 times in "
                         r"a row \(MDRetryFailover\) at " + re.escape(front.directory_url), log)
        httpd.graceful()
        assert issuer_is(httpd, md, second)
    finally:
        front.stop()


@pytest.mark.expect_log("AH12300")
def test_390_rate_limited_first(httpd, two_cas):
    first, second = two_cas
    front = harness.FrontCA(first, ari=False)
    try:
        front.front.add_rule("POST", "/order-plz", 429, "rateLimited", retry_after=3600)
        md = "ratelimit.example.org"
        httpd.write_config(config(httpd, md, [front.directory_url, second.directory_url]))
        httpd.start()
        httpd.wait_md_ready([md], timeout=60)
        log = httpd.log_text()
        assert re.search(r"AH12909: .*CA failover: rate limited", log), log
        assert len(re.findall(r"AH12300: " + re.escape(md), log)) == 1
        httpd.graceful()
        assert issuer_is(httpd, md, second)
    finally:
        front.stop()
