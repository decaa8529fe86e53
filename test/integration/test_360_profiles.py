"""Certificate profiles (MDProfile, MDProfileMandatory) through test/tools/acme_front.py, which
adds meta.profiles to pebble's directory and records what each newOrder carries: a profile the CA
offers is ordered, also on renewal; one it does not offer is left out with a warning, or fails
the renewal with a clear error when mandatory (no order is sent then).
"""

import re

import pytest

import harness

PROFILES = {"classic": "the default", "shortlived": "6 days", "tlsserver": "45 days"}


@pytest.fixture
def front(ca):
    f = harness.FrontCA(ca, profiles=PROFILES)
    yield f
    f.stop()


def config(h, md, lines, extra_names=()):
    names = " ".join([md, *extra_names])
    return f"""MDRetryDelay 1s
<MDomain {names}>
  {lines}
</MDomain>
{h.md_vhosts(md)}"""


def orders_for(front, name):
    return [o for o in front.front.snapshot()["new_orders"]
            if name in [i["value"] for i in o["identifiers"]]]


def test_360_profile_ordered_and_kept(httpd, front):
    md = "profile.example.org"
    httpd.ca = front
    httpd.write_config(config(httpd, md, "MDProfile shortlived"))
    httpd.start_and_issue([md])
    assert [o.get("profile") for o in orders_for(front, md)] == ["shortlived"]
    assert not harness.is_self_signed(httpd.peer_chain(md))
    # a renewal (a name was added) orders the same profile
    mark = httpd.log_size()
    httpd.write_config(config(httpd, md, "MDProfile shortlived", [f"www.{md}"]))
    httpd.graceful()
    httpd.wait_md_ready([md], since=mark)
    assert [o.get("profile") for o in orders_for(front, md)] == ["shortlived", "shortlived"]


@pytest.mark.expect_log("AH12902")
def test_360_profile_not_offered(httpd, front):
    md = "noprofile.example.org"
    httpd.ca = front
    httpd.write_config(config(httpd, md, "MDProfile gold"))
    httpd.start_and_issue([md])
    line = httpd.wait_log(r"AH12902: " + re.escape(md))[0]
    assert "does not offer the certificate profile 'gold'" in line
    assert "classic, shortlived, tlsserver" in line
    assert [o.get("profile") for o in orders_for(front, md)] == [None]


@pytest.mark.expect_log("AH12902")
def test_360_ca_without_profiles(httpd, ca):
    front = harness.FrontCA(ca, profiles=None)
    try:
        md = "plainca.example.org"
        httpd.ca = front
        httpd.write_config(config(httpd, md, "MDProfile tlsserver"))
        httpd.start_and_issue([md])
        assert "offers no profiles" in httpd.wait_log(r"AH12902: ")[0]
        assert [o.get("profile") for o in orders_for(front, md)] == [None]
    finally:
        front.stop()


@pytest.mark.expect_log("AH12607")
def test_360_mandatory_not_offered(httpd, front):
    md = "mandatory.example.org"
    httpd.ca = front
    httpd.write_config(config(httpd, md, "MDProfile gold\n  MDProfileMandatory on"))
    httpd.start()
    line = httpd.wait_log(r"AH12607: " + re.escape(md) + r": renewal failed", timeout=60)[0]
    assert "does not offer the certificate profile 'gold' (MDProfile, MDProfileMandatory on)" \
        in line, line
    assert "next attempt in 1d" in line
    assert orders_for(front, md) == []
