"""Challenge types and their selection: tls-alpn-01 with http mapped away, dns-01 through a
program that sets TXT records in pebble-challtestsrv (pebble's DNS server), a wildcard
certificate, a per-MD choice, a failing dns program and configurations where no challenge can
work. Every test that gets a certificate checks the names in it.

Pebble validates http-01 on the Apache's http port and tls-alpn-01 on its https port (the CA
fixture gets both). Each test uses its own names so that no authorization of another test helps.
"""

import os
import pwd
import re

import pytest

import harness

# The dns-01 program: "setup <domain> <value>" / "teardown <domain> [value]". It records each
# call into CALLS and sets or clears _acme-challenge.<domain> via challtestsrv's management API.
DNS_PROGRAM = r'''#!/usr/bin/python3
import json, sys, urllib.request
MGMT = "http://127.0.0.1:{mgmt_port}"
CALLS = "{calls}"
FAIL_SETUP = {fail_setup}

with open(CALLS, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
if len(sys.argv) < 3 or sys.argv[1] not in ("setup", "teardown"):
    sys.stderr.write("usage: setup DOMAIN VALUE | teardown DOMAIN [VALUE]\n")
    sys.exit(2)
if FAIL_SETUP and sys.argv[1] == "setup":
    sys.stderr.write("no API token for the DNS provider of " + sys.argv[2] + "\n")
    sys.exit(3)
host = "_acme-challenge." + sys.argv[2] + "."
if sys.argv[1] == "setup":
    path, body = "/set-txt", {{"host": host, "value": sys.argv[3]}}
else:
    path, body = "/clear-txt", {{"host": host}}
req = urllib.request.Request(MGMT + path, data=json.dumps(body).encode(), method="POST")
urllib.request.urlopen(req, timeout=5).read()
'''


def write_dns_program(h, ca, fail_setup=False):
    """Writes the program into the server root; returns (program path, calls log path)."""
    d = h.root / "dns"
    d.mkdir(exist_ok=True)
    calls = d / "calls.log"
    calls.write_text("")
    prog = d / "dns01.py"
    prog.write_text(DNS_PROGRAM.format(mgmt_port=ca.dns_mgmt_port, calls=calls,
                                       fail_setup=fail_setup))
    prog.chmod(0o755)
    if harness.IS_ROOT:
        pw = pwd.getpwnam(harness.RUN_USER)
        os.chown(calls, pw.pw_uid, pw.pw_gid)
    d.chmod(0o755)
    return prog, calls


def calls_of(path):
    return [ln.split() for ln in path.read_text().splitlines() if ln.strip()]


def vhost(h, name, aliases=(), protocols=None):
    text = h.md_vhosts(name, aliases)
    if protocols:
        text = text.replace("    SSLEngine on\n", f"    SSLEngine on\n    Protocols {protocols}\n")
    return text


def get_cert(h, names, ca):
    """After AH10059 and a graceful restart: the served certificate for names[0], verified
    against pebble's root; returns its sorted SANs."""
    h.graceful()
    h.verify_served(names[0], ca.issuer_root)
    return harness.cert_sans(h.peer_chain(names[0]))


def test_500_tls_alpn_01_without_http(httpd, ca):
    name = "alpn.challenge.example.org"
    httpd.write_config("MDPortMap http:-\n"
                       f"MDomain {name}\n"
                       + vhost(httpd, name, ["www.alpn.challenge.example.org"],
                               "http/1.1 acme-tls/1"))
    mark = httpd.log_size()
    httpd.start()
    # normal https on the same port is unaffected while the challenge runs: the fallback answers
    st, _, _ = httpd.curl(name, insecure=True)
    assert st == 503
    httpd.wait_md_ready([name], timeout=120, since=mark)
    text = httpd.log_text(mark)
    assert re.search(r"AH12500: " + re.escape(name) + r": tls-alpn-01 answer for "
                     + re.escape(name), text)
    assert re.search(r"AH12506: answering the tls-alpn-01 challenge for www\.alpn", text)
    assert "http-01 answer" not in text
    sans = get_cert(httpd, [name], ca)
    assert sans == sorted([name, "www.alpn.challenge.example.org"])
    # the answers are gone from the store
    assert not any((httpd.store_dir / "challenges").glob("*/acme-tls-alpn-01-*"))
    st, body, _ = httpd.curl(name, cacert=ca.issuer_root)
    assert st == 200 and "mod_md test" in body


def test_500_tls_alpn_01_ec_key_file_names(httpd, ca):
    """The challenge key follows the MD's first key type; the files carry its name."""
    name = "alpn-ec.challenge.example.org"
    httpd.write_config("MDPortMap http:-\n"
                       f"<MDomain {name}>\n  MDPrivateKeys secp256r1\n</MDomain>\n"
                       + vhost(httpd, name, protocols="acme-tls/1 http/1.1"))
    mark = httpd.log_size()
    httpd.start()
    httpd.wait_md_ready([name], timeout=120, since=mark)
    assert get_cert(httpd, [name], ca) == [name]


def test_500_dns_01(httpd, ca):
    name = "dns.challenge.example.org"
    prog, calls = write_dns_program(httpd, ca)
    httpd.write_config(f"<MDomain {name}>\n  MDCAChallenges dns-01\n"
                       f"  MDChallengeDns01 {prog}\n</MDomain>\n" + vhost(httpd, name))
    mark = httpd.log_size()
    httpd.start()
    httpd.wait_md_ready([name], timeout=120, since=mark)
    c = calls_of(calls)
    assert [x[:2] for x in c] == [["setup", name], ["teardown", name]]
    assert len(c[0]) == 3 and re.fullmatch(r"[A-Za-z0-9_-]{43}", c[0][2])
    assert len(c[1]) == 2   # version 1: no value on teardown
    assert get_cert(httpd, [name], ca) == [name]


def test_500_wildcard(httpd, ca):
    """*.x plus x: the CA offers only dns-01 for the wildcard, the plain name is validated by the
    preferred challenge that works here (http-01). Version 2 passes the value to teardown."""
    base = "wild.challenge.example.org"
    prog, calls = write_dns_program(httpd, ca)
    httpd.write_config(f"MDChallengeDns01 {prog}\nMDChallengeDns01Version 2\n"
                       f"MDomain {base} *.{base}\n" + vhost(httpd, base, ["a." + base]))
    mark = httpd.log_size()
    httpd.start()
    httpd.wait_md_ready([base], timeout=120, since=mark)
    c = calls_of(calls)
    assert [x[:2] for x in c] == [["setup", base], ["teardown", base]]
    assert c[0][2] == c[1][2]
    sans = get_cert(httpd, [base], ca)
    assert sans == sorted([base, "*." + base, "a." + base])
    # a name only the wildcard covers is served with it
    assert harness.cert_sans(httpd.peer_chain("a." + base)) == sans


def test_500_per_md_choice(httpd, ca):
    one, two = "pick1.challenge.example.org", "pick2.challenge.example.org"
    httpd.write_config(f"<MDomain {one}>\n  MDCAChallenges http-01\n</MDomain>\n"
                       + vhost(httpd, one, protocols="http/1.1 acme-tls/1")
                       + f"<MDomain {two}>\n  MDCAChallenges tls-alpn-01 http-01\n</MDomain>\n"
                       + vhost(httpd, two, protocols="http/1.1 acme-tls/1"))
    mark = httpd.log_size()
    httpd.start()
    httpd.wait_md_ready([one, two], timeout=120, since=mark)
    text = httpd.log_text(mark)
    assert re.search(r"AH12225: " + re.escape(one) + r": http-01 answer", text)
    assert not re.search(r"AH12500: " + re.escape(one), text)
    assert re.search(r"AH12500: " + re.escape(two) + r": tls-alpn-01 answer", text)
    assert not re.search(r"AH12225: " + re.escape(two), text)
    assert get_cert(httpd, [one], ca) == [one]
    assert harness.cert_sans(httpd.peer_chain(two)) == [two]


def test_500_guess_prefers_tls_alpn_01(httpd, ca):
    """Without MDCAChallenges, with http and acme-tls/1 both possible: tls-alpn-01 first."""
    name = "guess.challenge.example.org"
    httpd.write_config(f"MDomain {name}\n" + vhost(httpd, name, protocols="http/1.1 acme-tls/1"))
    mark = httpd.log_size()
    httpd.start()
    httpd.wait_md_ready([name], timeout=120, since=mark)
    text = httpd.log_text(mark)
    assert re.search(r"AH12500: " + re.escape(name), text)
    assert not re.search(r"AH12225: " + re.escape(name), text)
    assert get_cert(httpd, [name], ca) == [name]


@pytest.mark.expect_log("AH12300")
def test_500_dns_program_fails(httpd, ca):
    name = "dnsfail.challenge.example.org"
    prog, calls = write_dns_program(httpd, ca, fail_setup=True)
    httpd.write_config(f"<MDomain {name}>\n  MDCAChallenges dns-01\n"
                       f"  MDChallengeDns01 {prog}\n</MDomain>\n" + vhost(httpd, name))
    mark = httpd.log_size()
    httpd.start()
    line = httpd.wait_log(r"AH12300: " + re.escape(name) + r": renewal failed", since=mark)[0]
    assert "exited with 3" in line
    assert "no API token for the DNS provider of " + name in line
    # teardown ran after the failed setup
    assert [x[:2] for x in calls_of(calls)][:2] == [["setup", name], ["teardown", name]]
    st, _, _ = httpd.curl(name, insecure=True)
    assert st == 503


@pytest.mark.expect_log("AH12607", "AH12407")
def test_500_no_usable_challenge(httpd):
    """A configuration problem: the start-up check says so (AH12407) and the failed attempt is
    logged as needing a configuration change, retried only a day later (AH12607)."""
    name = "none.challenge.example.org"
    httpd.write_config("MDPortMap http:-\n" f"MDomain {name}\n" + vhost(httpd, name))
    mark = httpd.log_size()
    httpd.start()
    line = httpd.wait_log(r"AH12607: " + re.escape(name) + r": renewal failed", since=mark)[0]
    assert "next attempt in 1d" in line
    assert "no challenge type can be answered here" in line
    for hint in ("MDPortMap http:", "acme-tls/1", "MDChallengeDns01", "MDCAChallenges"):
        assert hint in line


@pytest.mark.expect_log("AH12300")
def test_500_offered_not_usable(httpd, ca):
    """A wildcard with MDCAChallenges http-01: the CA offers only dns-01; the error says what
    is offered, what is usable and what to configure."""
    base = "offer.challenge.example.org"
    prog, _ = write_dns_program(httpd, ca)
    httpd.write_config(f"<MDomain {base} *.{base}>\n  MDCAChallenges http-01\n"
                       f"  MDChallengeDns01 {prog}\n</MDomain>\n" + vhost(httpd, base))
    mark = httpd.log_size()
    httpd.start()
    line = httpd.wait_log(r"AH12300: " + re.escape(base) + r": renewal failed", since=mark)[0]
    assert "no usable challenge: the CA offers dns-01" in line
    assert "usable here (as MDCAChallenges sets): http-01" in line
    assert "dns-01 needs 'MDChallengeDns01" in line


@pytest.mark.expect_log("AH12402", "AH12300")
def test_500_wildcard_without_dns_program(httpd):
    """A wildcard needs dns-01: without a program the configuration check warns (apachectl -t
    and the start), naming the MDomain and what to configure; the server starts, as the stock
    module does (issue 11), and the renewal fails saying the same."""
    base = "nodns.challenge.example.org"
    httpd.write_config(f"MDomain {base} *.{base}\n" + vhost(httpd, base))
    r = httpd.apachectl("-t")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "AH12402" in out and "MDChallengeDns01" in out and base in out
    httpd.start()
    line = httpd.wait_log(r"AH12300: " + re.escape(base) + r": renewal failed")[0]
    assert "dns-01 needs 'MDChallengeDns01" in line
