"""MDActivation hot: renewed certificates are served without a restart.

- a fresh MD (MDStoreLocks on): the fallback (503) is replaced by its first certificate without
  a restart; one round of the parent later the set is live in the store (domains/, staging/ gone), MDMessageCmd
  'installed' ran once, md-status shows the served certificate
- a graceful restart before the parent put the served set into the store activates the same
  set, once; while the CA does not answer, https answers 503 (also on resumed TLS sessions)
- 20 MDs renewed (MDRenewWindow 100% makes every certificate due, MDCheckInterval spaces the
  renewals): a client that keeps making new verified connections sees each new serial within
  2 seconds of the time the renewal staged it, no request fails, the parent's pid and the
  configuration generation stay the same
- under load: 20 client threads during 5 activations, no request fails
- a renewed set that turns out unusable (its certificate replaced by one for another key while
  MDActivationDelay holds it back) is refused with the reason; the previous certificate stays
- OCSP stapling follows the served certificate: a new certificate never gets the previous one's
  response, and gets its own
"""

import re
import shutil
import time

import pytest

from cryptography.x509 import ocsp

import harness

STATUS_MOD = harness.APACHE_MODULES / "mod_status.so"
# the parent activates a served set in the store on its monitor hook, every ten seconds or so
STORE_WAIT = 60
STAGED = r"AH13000: (\S+): renewed certificate staged"
SERVED = r"AH13001: (\S+): the renewed certificate \(serial ([0-9A-F]+),"
PARENT_LOADED = r"AH13005: (\S+): the parent "
HELD_BACK = r"AH13015: (\S+): "
STORED = r"AH13006: (\S+): the served certificate is now the live"
# the parent's monitor hook runs about every ten seconds
ROUND = 10


def hot_config(h, names, extra=""):
    return (f"LoadModule status_module {STATUS_MOD}\n"
            "<Location /server-status>\n  SetHandler server-status\n</Location>\n"
            "<Location /md-status>\n  SetHandler md-status\n</Location>\n"
            f"MDActivation hot\n{extra}" + h.md_config({n: [] for n in names}))


def generation(h):
    status, body, _ = h.curl("localhost", "/server-status?auto", https=False)
    assert status == 200, body
    m = re.search(r"ParentServerConfigGeneration: (\d+)", body)
    assert m, body
    return int(m.group(1))


def recorder(h):
    log = h.root / "msg.log"
    prog = h.root / "msg.sh"
    prog.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\nexit 0\n")
    prog.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    return prog, log


def wait_served(h, names, timeout=120, since=0, count=1):
    """Waits until AH13001 (served without a restart) was logged 'count' times for each name."""
    deadline = time.monotonic() + timeout
    while True:
        got = {}
        for _, m in h.log_events(SERVED, since):
            got[m.group(1)] = got.get(m.group(1), 0) + 1
        missing = [n for n in names if got.get(n, 0) < count]
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"AH13001 x{count} missing for {missing}:\n{h.log_tail()}")
        time.sleep(0.2)


def switch_delays(h, prober, since):
    """For every set served after log offset 'since': seconds from the time the renewal staged
    it (AH13000) until the prober first got its serial (None when it never did)."""
    staged = h.log_events(STAGED, since)
    delays = []
    for t_served, m in h.log_events(SERVED, since):
        name, serial = m.group(1), int(m.group(2), 16)
        t_staged = max(t for t, s in staged if s.group(1) == name and t <= t_served)
        seen = prober.first_seen(name, serial)
        delays.append((name, serial, None if seen is None else seen - t_staged))
    return delays


def test_750_fresh_md_replaces_fallback(httpd, ca):
    name = "fresh.hot.example.org"
    prog, log = recorder(httpd)
    # with the store locks of shared stores on: renewal and activation take the MD's lock
    httpd.write_config(hot_config(httpd, [name], f"MDMessageCmd {prog}\nMDStoreLocks on\n"
                                                 "MDServerStatus on\n"))
    httpd.start()
    pid, gen = httpd.pid(), generation(httpd)
    assert httpd.wait_log(r"AH13009: " + re.escape(name) + r": no certificate yet")
    status, _, _ = httpd.curl(name, insecure=True)
    if status == 503:
        assert harness.is_self_signed(httpd.peer_chain(name))
    wait_served(httpd, [name])
    # served, before or after the parent put it into the store: never "ready for a graceful
    # restart" (the job stays in staging/ until the store activation)
    status, body, _ = httpd.curl("localhost", "/server-status?auto", https=False)
    stored_yet = bool(httpd.log_events(STORED))
    assert status == 200 and "ready for a graceful restart" not in body, body
    line = [ln for ln in body.splitlines() if ln.startswith(f"ManagedDomain-{name}:")]
    assert line, body
    line = line[0]
    assert line.endswith("renewal=" if stored_yet else "renewal=served without a restart"), line
    assert "ManagedCertificatesReady: 0" in body
    # the first certificate, verified, and no more 503
    served = httpd.verify_served(name, ca.issuer_root)
    assert served["subjectAltName"] == (("DNS", name),)
    status, _, _ = httpd.curl(name, cacert=ca.issuer_root)
    assert status == 200
    # the store: activated by the parent as at a restart, 'installed' sent once
    httpd.wait_log(r"AH13006: " + re.escape(name) + r": the served certificate is now the live",
                   timeout=STORE_WAIT)
    assert httpd.wait_log(r"AH12153: " + re.escape(name) + r": activated the renewed")
    assert not (httpd.store_dir / "staging" / name).exists()
    stored = harness.x509.load_pem_x509_certificate(
        (httpd.store_dir / "domains" / name / "pubcert.pem").read_bytes())
    assert stored.serial_number == httpd.peer_chain(name).serial_number
    assert log.read_text().splitlines().count(f"installed {name}") == 1
    # 'installed' (sent right after AH13006) in the parent's first round after the first serve:
    # the round that loaded the set, unless a child had not confirmed it yet (then the next one)
    t_served = httpd.log_events(SERVED)[0][0]
    t_loaded = [t for t, m in httpd.log_events(PARENT_LOADED) if m.group(1) == name][0]
    t_stored = [t for t, m in httpd.log_events(STORED) if m.group(1) == name][0]
    rounds = 1 + (t_stored - t_loaded > ROUND / 2)
    assert t_loaded - t_served < 2 * ROUND
    assert rounds == 1 or httpd.log_events(HELD_BACK)
    assert t_stored - t_loaded < 2 * ROUND
    print(f"\n'installed' {t_stored - t_served:.1f}s after the first serve, {rounds} round(s) of "
          f"the parent; server-status right after the serve: {line}")
    # the status page shows the served certificate
    st = harness.json.loads(httpd.curl("localhost", f"/md-status/{name}", https=False)[1])
    assert int(st["cert"]["rsa"]["serial"], 16) == stored.serial_number
    assert st["state"] == 2
    # no restart happened
    assert httpd.pid() == pid and generation(httpd) == gen
    assert not httpd.log_events(r"AH00493|AH00492")


def test_750_20_mds_renewed(httpd, ca):
    names = [f"md{i:02d}.hot.example.org" for i in range(20)]
    httpd.write_config(hot_config(httpd, names, "MDRenewWindow 100%\nMDCheckInterval 30s\n"))
    httpd.start()
    pid, gen = httpd.pid(), generation(httpd)
    wait_served(httpd, names, timeout=180)
    mark = httpd.log_size()
    prober = harness.Prober(httpd.https_port, names, ca.issuer_root, threads=2).start()
    try:
        # each MD is renewed once more, with the prober watching
        wait_served(httpd, names, timeout=180, since=mark)
        time.sleep(3)
    finally:
        prober.stop()
    delays = switch_delays(httpd, prober, mark)
    assert len(delays) >= 20
    # the target is 2 s; the figure includes the time until the prober (2 threads
    # taking the 20 names in turn) asks for the name again, which on a loaded 2-core machine
    # can take seconds: printed, and asserted with room (every set seen, none later than 10 s)
    never = [d for d in delays if d[2] is None]
    assert not never, f"new serials never seen: {never}"
    seen = sorted(d[2] for d in delays)
    assert seen[-1] <= 10.0 * harness.TIME_FACTOR, f"new serials seen late: {delays}"
    assert prober.failures == [], f"{len(prober.failures)} of {prober.requests} failed"
    assert prober.requests > 200
    assert httpd.pid() == pid and generation(httpd) == gen
    assert not httpd.log_events(r"AH00493|AH00492")
    # the server's part: from staged (AH13000) to served by every child (AH13001 is logged after
    # the announcement; children take it on their next handshake)
    staged = httpd.log_events(STAGED, mark)
    server = [t - max(ts for ts, ms in staged if ms.group(1) == m.group(1) and ts <= t)
              for t, m in httpd.log_events(SERVED, mark)]
    within = sum(1 for d in seen if d <= 2.0)
    print(f"\n{len(delays)} renewals: new serial seen by the client {seen[len(seen) // 2]:.2f}s "
          f"(median) / {seen[-1]:.2f}s (max) after staging, {within} of {len(seen)} within 2s; "
          f"served {max(server):.3f}s (max) after staging; {prober.requests} requests, 0 failed, "
          f"parent pid and generation unchanged")


def test_750_under_load(httpd, ca):
    names = [f"load{i}.hot.example.org" for i in range(5)]
    httpd.write_config(hot_config(httpd, names, "MDRenewWindow 100%\nMDCheckInterval 20s\n"))
    httpd.start()
    pid, gen = httpd.pid(), generation(httpd)
    wait_served(httpd, names, timeout=120)
    mark = httpd.log_size()
    prober = harness.Prober(httpd.https_port, names, ca.issuer_root, threads=20).start()
    try:
        wait_served(httpd, names, timeout=120, since=mark)
        time.sleep(2)
    finally:
        prober.stop()
    activations = httpd.log_events(SERVED, mark)
    assert len(activations) >= 5
    assert prober.failures == [], f"{len(prober.failures)} of {prober.requests} failed: " \
                                  f"{prober.failures[:5]}"
    for name in names:
        assert len(prober.serials(name)) >= 2, name
    assert httpd.pid() == pid and generation(httpd) == gen
    assert not httpd.log_events(r"AH00493|AH00492")
    print(f"\n{len(activations)} activations, {prober.requests} requests by 20 threads, 0 failed")


def test_750_restart_before_store(httpd, ca):
    """A graceful restart right after a set was served, before the parent put it into the
    store: the restart activates it (the same certificate), 'installed' runs once."""
    name = "restart.hot.example.org"
    prog, log = recorder(httpd)
    httpd.write_config(hot_config(httpd, [name], f"MDMessageCmd {prog}\n"))
    httpd.start()
    wait_served(httpd, [name])
    served = httpd.peer_chain(name).serial_number
    mark = httpd.log_size()
    httpd.graceful()
    # the parent activates a served set in its first round after the serve, when every child
    # confirmed it: now and then that round falls before the restart, which then finds nothing
    # staged (the set is live in the store already)
    stored_before = len(httpd.log_events(STORED)) - len(httpd.log_events(STORED, mark))
    if not stored_before:
        assert httpd.wait_log(r"AH12153: " + re.escape(name) + r": activated", since=mark)
    assert httpd.peer_chain(name).serial_number == served
    # two rounds of the parent later: nothing activated twice, 'installed' once
    time.sleep(22)
    assert len(httpd.log_events(STORED)) == stored_before
    assert len(httpd.log_events(r"AH12153: ")) == 1
    assert log.read_text().splitlines().count(f"installed {name}") == 1
    assert httpd.peer_chain(name).serial_number == served


def test_750_fallback_503_also_resumed(blackhole, httpd_factory):
    """While the CA does not answer, https of the MD answers 503 with the fallback, also on a
    connection that resumes a TLS session (no certificate is sent then); http is served."""
    name = "waiting.hot.example.org"
    h = httpd_factory(ca=blackhole)
    h.write_config(hot_config(h, [name]))
    h.start()
    ctx = harness.ssl.SSLContext(harness.ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = harness.ssl.CERT_NONE
    session = None
    for attempt in range(2):
        with harness.socket.create_connection(("127.0.0.1", h.https_port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=name, session=session) as t:
                t.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\n"
                          f"Connection: close\r\n\r\n".encode())
                data = t.recv(4096)
                while data.count(b"\r\n\r\n") == 0:
                    data += t.recv(4096)
                assert data.startswith(b"HTTP/1.1 503"), data[:80]
                assert t.session_reused == (attempt == 1)
                session = t.session
    assert h.curl(name, https=False)[0] == 200
    # the certificate status is answered on the fallback, as with 'graceful'
    assert h.curl(name, "/.httpd/certificate-status", insecure=True)[0] == 200
    h.stop()


@pytest.mark.expect_log("AH13002", "AH12300")
def test_750_unusable_set_refused(httpd, ca):
    name = "refused.hot.example.org"
    old = harness.write_domain_set(httpd.store_dir / "domains" / name, name, -1, 30)
    # renewed at once (window 100%), held back 20s after the new certificate's start
    httpd.write_config(hot_config(httpd, [name], "MDRenewWindow 100%\nMDActivationDelay 20s\n"
                                                 "MDRetryDelay 1h\n"))
    httpd.start()
    assert httpd.peer_chain(name).serial_number == old.serial_number
    httpd.wait_log(r"AH13003: " + re.escape(name) + r": the renewed certificate waits for "
                   r"MDActivationDelay", timeout=120)
    # the staged certificate is replaced by one for another key
    other = harness.write_domain_set(httpd.root / "other" / name, name, -1, 30)
    staged = httpd.store_dir / "staging" / name / "pubcert.pem"
    shutil.copyfile(httpd.root / "other" / name / "pubcert.pem", staged)
    line = httpd.wait_log(r"AH13002: " + re.escape(name) + r": the renewed certificate cannot be "
                          r"served", timeout=60)[0]
    assert "does not match its key" in line
    assert other.serial_number != old.serial_number
    assert httpd.peer_chain(name).serial_number == old.serial_number
    status, _, _ = httpd.curl(name, insecure=True)
    assert status == 200
    assert not (httpd.store_dir / "staging" / name / "pubcert.pem").exists()
    assert not httpd.log_events(SERVED)


def test_750_stapling_follows(scratch, ports, module, ca_factory):
    name = "staple.hot.example.org"
    responder = harness.OCSPResponder(scratch / "ocsp-750")
    ca = ca_factory({}, ocsp_url=responder.url)
    responder.start(ca)
    try:
        with harness.module_server(scratch / "httpd-750", ports, ca, module) as h:
            h.write_config(hot_config(h, [name], "MDStapling on\nMDRenewWindow 100%\n"
                                                 "MDCheckInterval 20s\n"))
            h.start()
            wait_served(h, [name])
            # the first certificate replaced the fallback: this module's status callback
            first = staple_for(h, name, timeout=30)
            second = staple_after_renewal(h, name, first)
            # after a restart mod_ssl loaded the certificate and staples through its own status
            # callback (asking this module by the served certificate's id): a renewal served
            # without a restart is stapled with its own response there too
            h.graceful()
            served = staple_for(h, name, timeout=30)
            staple_after_renewal(h, name, served)
            assert second != first and served != first
    finally:
        responder.stop()


def staple_after_renewal(h, name, old):
    """Waits for the next renewal served without a restart; asserts that from then on handshakes
    get a new certificate with its own staple or none (never 'old', the serial served before,
    nor its staple), and that the staple comes. Returns the stapled serial."""
    mark = h.log_size()
    wait_served(h, [name], since=mark, timeout=120)
    new = int(h.log_events(SERVED, mark)[-1][1].group(2), 16)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, der, cert = harness.staple_and_cert(h.https_port, name)
        assert cert.serial_number != old
        if der:
            assert ocsp.load_der_ocsp_response(der).serial_number == cert.serial_number
            return cert.serial_number
        time.sleep(0.3)
    raise AssertionError(f"no staple for the renewed certificate {new:X}:\n{h.log_tail()}")


def staple_for(h, name, timeout):
    """Waits until a handshake gets a staple; asserts it is for the served certificate and
    returns that certificate's serial."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, der, cert = harness.staple_and_cert(h.https_port, name)
        if der:
            assert ocsp.load_der_ocsp_response(der).serial_number == cert.serial_number
            return cert.serial_number
        time.sleep(0.3)
    raise AssertionError(f"no staple for {name} after {timeout}s:\n{h.log_tail()}")
