"""scripts/install-module.sh, run into a DESTDIR (never into the real system here)."""

import os
import subprocess

import harness

SCRIPT = harness.REPO / "scripts" / "install-module.sh"


def run(action, destdir, module_so):
    env = dict(os.environ, DESTDIR=str(destdir), MODULE_SO=str(module_so))
    return subprocess.run(["bash", str(SCRIPT), action], env=env, capture_output=True, text=True)


def test_900_install_uninstall(tmp_path):
    so = tmp_path / "fake_mod_md.so"
    so.write_bytes(b"\x7fELF fake module")
    dest = tmp_path / "root"
    r = run("install", dest, so)
    assert r.returncode == 0, r.stderr
    mod = dest / "usr/local/lib/apache2/modules/mod_md.so"
    load = dest / "etc/apache2/mods-available/md_ng.load"
    assert mod.read_bytes() == so.read_bytes()
    assert mod.stat().st_mode & 0o777 == 0o644
    lines = [ln for ln in load.read_text().splitlines() if not ln.startswith("#")]
    # the LoadModule line names the final path, without DESTDIR
    assert lines == ["LoadModule md_module /usr/local/lib/apache2/modules/mod_md.so"]
    assert "# Conflicts: md" in load.read_text()
    # nothing of the apache2 package is touched
    assert not (dest / "usr/lib/apache2").exists()
    assert not (dest / "etc/apache2/mods-available/md.load").exists()

    # installing again (an update) works
    assert run("install", dest, so).returncode == 0

    # enabled (a2enmod's symlink), then uninstalled: all gone
    enabled = dest / "etc/apache2/mods-enabled"
    enabled.mkdir(parents=True)
    (enabled / "md_ng.load").symlink_to("../mods-available/md_ng.load")
    r = run("uninstall", dest, so)
    assert r.returncode == 0, r.stderr
    assert not mod.exists() and not load.exists()
    assert not os.path.lexists(enabled / "md_ng.load")


def test_900_usage(tmp_path):
    r = run("bogus", tmp_path, tmp_path / "x.so")
    assert r.returncode == 2
    r = run("install", tmp_path, tmp_path / "missing.so")
    assert r.returncode != 0
    assert "not found" in r.stderr
