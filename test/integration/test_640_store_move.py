"""MDStoreDir relative to ServerRoot or absolute; a store moved as the specification describes
(change the configuration, move the directory, restart) keeps serving its certificate without a
new order; a store in the older stock layout (version 1: pkey.pem, cert.pem + chain.pem, no
version in md_store.json) is upgraded in place, again without a new order.

One server gets a certificate in a store given relative to ServerRoot; the tests then stop it,
change the store and start it again.
"""

import json
import re
import shutil

import pytest

import harness

MD = "moved.example.org"


def ca_writes(ca, mark):
    return [ln for ln in ca.requests_since(mark)
            if re.search(r"POST /(sign-me-up|order-plz|finalize-order|chalZ)", ln)]


@pytest.fixture(scope="module")
def server(scratch, ports, module, ca):
    root = scratch / "httpd-move"
    # the tests move and damage the store: each checks the log it expects itself
    with harness.module_server(root, ports, ca, module, check_log=False) as h:
        h.store_dir = root / "stores" / "first"
        h.write_config("MDStoreDir stores/first\n" + h.md_config({MD: []}))
        h.start_and_issue([MD])
        h.serial = h.peer_chain(MD).serial_number
        h.mark_log_checked()
        yield h
    harness.remove_scratch(scratch / "moved-store")


def test_640_relative_store_dir(server):
    assert (server.root / "stores" / "first" / "domains" / MD / "pubcert.pem").is_file()
    assert not (server.root / "md").exists(), "the default store was used"


def test_640_moved_store(server, scratch, ca):
    target = scratch / "moved-store" / "md"
    shutil.rmtree(target.parent, ignore_errors=True)
    target.parent.mkdir(parents=True)
    # as the specification says: configuration first, then move the directory, then restart
    server.stop()
    server.write_config(f"MDStoreDir {target}\n" + server.md_config({MD: []}))
    shutil.move(str(server.store_dir), str(target))
    server.store_dir = target
    mark = ca.log_mark()
    server.mark_log_checked()
    server.start()
    assert server.peer_chain(MD).serial_number == server.serial
    assert (target / "domains" / MD / "privkey.pem").stat().st_mode & 0o777 == 0o600
    assert not (server.root / "stores" / "first").exists()
    server.check_log([])
    assert not ca_writes(ca, mark), "new order after the move"


def make_v1(store):
    """Turn a current store into the layout of the stock module's store version 1."""
    for d in [store / "domains" / MD] + sorted((store / "archive").glob(MD + ".*")):
        if not (d / "pubcert.pem").exists():
            continue
        (d / "privkey.pem").rename(d / "pkey.pem")
        pem = (d / "pubcert.pem").read_text()
        end = "-----END CERTIFICATE-----\n"
        cut = pem.index(end) + len(end)
        (d / "cert.pem").write_text(pem[:cut])
        (d / "chain.pem").write_text(pem[cut:])
        (d / "pubcert.pem").unlink()
    f = store / "md_store.json"
    data = json.loads(f.read_text())
    data.pop("store", None)
    f.write_text(json.dumps(data))


def test_640_upgrade_v1_store(server, ca):
    server.stop()
    make_v1(server.store_dir)
    mark = ca.log_mark()
    server.mark_log_checked()
    server.start()
    assert server.peer_chain(MD).serial_number == server.serial
    live = server.store_dir / "domains" / MD
    assert (live / "privkey.pem").is_file() and not (live / "pkey.pem").exists()
    assert (live / "pubcert.pem").read_text().count("BEGIN CERTIFICATE") >= 2
    assert (live / "cert.pem").is_file(), "the old files are kept"
    data = json.loads((server.store_dir / "md_store.json").read_text())
    assert int(data["store"]["version"]) == 3
    if not harness.is_stock():
        assert "AH12750" in server.log_text()
    server.check_log([])
    assert not ca_writes(ca, mark), "new order after the upgrade"
