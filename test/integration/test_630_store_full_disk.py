"""A store on a full disk: writes fail, the old files stay intact and the server keeps serving
its certificate. The store is a small tmpfs (needs root to mount)."""

import json
import os
import subprocess

import pytest

import harness

MD = "full.example.org"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or harness.is_stock(),
                                reason="mounting a tmpfs needs root")


@pytest.mark.expect_log("AH12101", "AH12001")
def test_630_full_disk_keeps_old_files(httpd, ca):
    store = httpd.store_dir
    store.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(store)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr}")
    try:
        httpd.write_config(httpd.md_config({MD: []}))
        httpd.start()
        httpd.wait_md_ready([MD], timeout=120)
        httpd.graceful()
        serial = httpd.peer_chain(MD).serial_number
        httpd.stop()
        mdjson = store / "domains" / MD / "md.json"
        before = mdjson.read_bytes()
        # fill the disk
        subprocess.run(["dd", "if=/dev/zero", f"of={store}/filler", "bs=64k"],
                       capture_output=True)
        # a changed MD wants its md.json rewritten
        httpd.write_config(httpd.md_config({MD: []}) + "\nMDContactEmail other@example.org\n")
        r = httpd.start()
        assert r.returncode == 0, r.stderr
        assert httpd.peer_chain(MD).serial_number == serial
        assert mdjson.read_bytes() == before
        json.loads(before)
        assert "AH12101" in httpd.log_text()
        assert not [p for p in (store / "domains" / MD).iterdir() if p.name.startswith(".")], \
            "temporary files left behind"
        httpd.stop()
        # room again: the next start writes it
        (store / "filler").unlink()
        httpd.start()
        assert json.loads(mdjson.read_text())["contacts"] == ["mailto:other@example.org"]
    finally:
        httpd.stop()
        subprocess.run(["umount", str(store)], capture_output=True)
