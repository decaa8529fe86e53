"""The start-up consistency check (AH12407): an MD whose renewal cannot succeed says so at the
start, in the log and in its state on md-status, instead of waiting for a renewal to fail.

Here: no contact address (no MDContactEmail, and a ServerAdmin without '@'). The check warns
only: the renewal is still tried, and a CA that needs no contact (pebble) issues.
"""

import json

import pytest

NAME = "nocontact.example.org"


@pytest.mark.expect_log("AH12407")
def test_134_no_contact(httpd):
    h = httpd
    h.write_config("ServerAdmin nobody\n"
                   f"MDomain {NAME}\n" + h.md_vhosts(NAME)
                   + "<Location /md-status>\n  SetHandler md-status\n</Location>\n")
    h.start()
    line = h.wait_log(rf"AH12407: {NAME}: ", timeout=30)[0]
    assert "[md:warn]" in line
    assert "no contact email for the CA account" in line
    assert "MDContactEmail" in line
    status, body, err = h.curl("localhost", f"/md-status/{NAME}", https=False)
    assert status == 200, (status, body, err)
    j = json.loads(body)
    assert j["name"] == NAME
    assert "MDContactEmail" in j["state-descr"]
    assert j["state-descr"].startswith("no contact email for the CA account")
    # the check only warns: a CA that needs no contact (pebble) still issues
    h.wait_md_ready([NAME], timeout=120)
