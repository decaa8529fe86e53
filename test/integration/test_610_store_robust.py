"""The store survives damage and crashes: nothing is lost, the live certificate keeps being
served, broken files are set aside (renamed *.broken-<time>, never deleted).

One server gets a certificate; then each test stops it, damages the store the way a crash, a
bad disk or a careless admin would, starts it again and checks what is served and kept.
"""

import json
import re
import shutil

import pytest

import harness

MD = "robust.example.org"


@pytest.fixture(scope="module")
def server(scratch, ports, module, ca):
    # the tests damage the store on purpose: each checks the log it expects itself
    with harness.module_server(scratch / "httpd-robust", ports, ca, module,
                               check_log=False) as h:
        h.write_config(h.md_config({MD: []}))
        h.start_and_issue([MD])
        h.serial = h.peer_chain(MD).serial_number
        h.mark_log_checked()
        yield h


@pytest.fixture
def restart(server):
    """Stops the server; the test damages the store and calls the returned function, which
    starts it again. Afterwards the log holds only the md warnings/errors the test expects."""
    server.stop()
    expected = []

    def start(*ids):
        expected.extend(ids)
        server.mark_log_checked()
        return server.start()
    yield start
    server.check_log(expected)


def live(server, name=MD):
    return server.store_dir / "domains" / name


def broken(path):
    return sorted(path.parent.glob(path.name + ".broken-*"))


@pytest.mark.skipif(harness.is_stock(), reason="our store handling")
def test_610_garbage_md_json(server, restart):
    f = live(server) / "md.json"
    f.write_text('{"name": "robust.exa')
    restart("AH12100", "AH12150", "AH12102")
    assert server.peer_chain(MD).serial_number == server.serial
    assert broken(f), "broken md.json not kept"
    assert json.loads(f.read_text())["name"] == MD, "md.json not regenerated"
    text = server.log_text()
    assert str(f) in text, "the error does not name the file"


@pytest.mark.skipif(harness.is_stock(), reason="our store handling")
def test_610_truncated_cert_restored_from_archive(server, restart):
    # an earlier set of the MD with the same (still valid) pair, as an activation leaves it
    arch = server.store_dir / "archive" / f"{MD}.7"
    arch.mkdir(mode=0o700)
    for fn in ("pubcert.pem", "privkey.pem", "md.json"):
        shutil.copy2(live(server) / fn, arch / fn)
    cert = live(server) / "pubcert.pem"
    cert.write_bytes(cert.read_bytes()[:300])
    restart("AH12100", "AH12700", "AH12102")
    assert server.peer_chain(MD).serial_number == server.serial
    assert broken(cert) and broken(live(server) / "privkey.pem")
    assert "AH12701" in server.log_text()
    assert str(cert) in server.log_text()
    shutil.rmtree(arch)


@pytest.mark.skipif(harness.is_stock(), reason="our store handling")
def test_610_garbage_key_gets_fallback_and_renews(server, restart, ca):
    key = live(server) / "privkey.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    mark = server.log_size()
    r = restart("AH12100", "AH12700", "AH12102")
    assert r.returncode == 0
    # never a mismatched pair to mod_ssl: the fallback is served until the new one is there
    assert harness.is_self_signed(server.peer_chain(MD))
    server.wait_md_ready([MD], since=mark, timeout=120)
    server.graceful()
    cert = server.peer_chain(MD)
    assert not harness.is_self_signed(cert)
    server.verify_served(MD, ca.issuer_root)
    server.serial = cert.serial_number
    # the activation moved the set with the broken key into the archive, where it is kept
    assert list((server.store_dir / "archive").glob(f"{MD}.*/privkey.pem.broken-*"))


@pytest.mark.skipif(harness.is_stock(), reason="our store handling")
def test_610_corrupt_store_key_stops_start(server, restart):
    f = server.store_dir / "md_store.json"
    good = f.read_bytes()
    f.write_text('{"store": {"version": 3.0}, "key": "tooshort"}')
    try:
        r = restart("AH12105", "AH12313", "AH12315")
        assert r.returncode != 0, "started with a broken md_store.json"
        text = server.log_text(0) + r.stderr
        assert re.search(r"md_store\.json is unusable .*holds the key that encrypts", text)
        assert f.read_text().startswith('{"store"'), "md_store.json was replaced"
    finally:
        f.write_bytes(good)
    assert server.start().returncode == 0
    assert server.peer_chain(MD).serial_number == server.serial


@pytest.mark.skipif(harness.is_stock(), reason="our activation layout")
def test_610_crash_during_activation(server, restart):
    """A crash between archiving the live set and renaming the new one into place leaves no
    domains/<md> at all; the next start finishes the activation."""
    store = server.store_dir
    ready = store / "tmp" / f"{MD}@ready"
    shutil.copytree(live(server), ready)
    nums = [int(p.name.rsplit(".", 1)[1]) for p in (store / "archive").glob(f"{MD}.*")]
    shutil.move(str(live(server)), str(store / "archive" / f"{MD}.{max(nums, default=0) + 1}"))
    partial = store / "tmp" / "other.example.org@new"
    partial.mkdir(mode=0o700)
    restart()
    assert server.peer_chain(MD).serial_number == server.serial
    assert not ready.exists() and not partial.exists()
    assert (live(server) / "pubcert.pem").is_file()
    assert re.search(rf"AH12104: {re.escape(MD)}: finished an interrupted activation",
                     server.log_text())


def test_610_stale_leftovers_removed(server, restart):
    store = server.store_dir
    gone = "gone.example.org"
    (store / "staging" / gone).mkdir()
    (store / "staging" / gone / "job.json").write_text("{}")
    (store / "challenges" / gone).mkdir()
    (store / "challenges" / gone / "acme-http-01.txt").write_text("x.y")
    (store / "domains" / gone).mkdir()
    (store / "domains" / gone / "md.json").write_text("{}")
    restart()
    assert not (store / "staging" / gone).exists()
    assert not (store / "challenges" / gone).exists()
    # the live set of an MD that is no longer configured is kept (it may come back)
    assert (store / "domains" / gone / "md.json").exists()
    shutil.rmtree(store / "domains" / gone)


@pytest.mark.skipif(harness.is_stock(), reason="our memo of certificate facts")
def test_610_cert_facts_follow_the_files(server, restart):
    """md.json keeps what the sync learned of the live certificate, under the version of its
    files: a cold start takes it from there instead of parsing the files again, and a changed
    file is read again."""
    server.write_config(server.md_config({MD: []})
                        + "<Location /md-status>\n  SetHandler md-status\n</Location>\n")
    restart()
    f = live(server) / "md.json"
    facts = json.loads(f.read_text())["mod_md-cert-facts"]["pubcert.pem"]
    serial = f"{server.serial:X}"
    assert facts["serial"].lstrip("0") == serial, facts

    def shown_certs():
        status, body, _ = server.curl("localhost", f"/md-status/{MD}", https=False)
        assert status == 200, body
        return json.loads(body)["cert"]

    # the facts are what a cold start shows: a changed record (same file versions) is believed
    server.stop()
    md = json.loads(f.read_text())
    md["mod_md-cert-facts"]["pubcert.pem"]["serial"] = "0BADF00D"
    f.write_text(json.dumps(md))
    assert server.start().returncode == 0
    certs = shown_certs()
    assert any(v.get("serial") == "0BADF00D" for v in certs.values() if isinstance(v, dict)), certs
    # a certificate file that changed (here only its time) is parsed again
    server.stop()
    cert = live(server) / "pubcert.pem"
    cert.touch()
    assert server.start().returncode == 0
    certs = shown_certs()
    assert any(v.get("serial", "").lstrip("0") == serial for v in certs.values()
               if isinstance(v, dict)), certs
    facts = json.loads(f.read_text())["mod_md-cert-facts"]["pubcert.pem"]
    assert facts["serial"].lstrip("0") == serial
    assert server.peer_chain(MD).serial_number == server.serial
    # a damaged record under the right versions (wrong types, a missing field, a time span
    # that cannot be) is not believed: the files are read again and the record written anew
    for damage in ({"serial": 5}, {"not-after": "soon"}, {"sha1": None},
                   {"not-before": facts["not-after"]}, {"sha256": ["x"]}):
        server.stop()
        md = json.loads(f.read_text())
        rec = dict(facts, **damage)
        md["mod_md-cert-facts"]["pubcert.pem"] = {k: v for k, v in rec.items() if v is not None}
        f.write_text(json.dumps(md))
        assert server.start().returncode == 0
        assert json.loads(f.read_text())["mod_md-cert-facts"]["pubcert.pem"] == facts, damage
        certs = shown_certs()
        assert any(v.get("serial", "").lstrip("0") == serial for v in certs.values()
                   if isinstance(v, dict)), (damage, certs)
        server.check_log()
