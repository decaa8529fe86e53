"""scripts/install-module.sh, run into a DESTDIR (never into the real system here)."""

import os
import subprocess

import harness

SCRIPT = harness.REPO / "scripts" / "install-module.sh"


def run(action, destdir, module_so, a2md=None):
    env = dict(os.environ, DESTDIR=str(destdir), MODULE_SO=str(module_so),
               A2MD_BIN=str(a2md or harness.REPO / "build" / "a2md"))
    return subprocess.run(["bash", str(SCRIPT), action], env=env, capture_output=True, text=True)


def test_900_install_uninstall(tmp_path):
    so = tmp_path / "fake_mod_md.so"
    so.write_bytes(b"\x7fELF fake module")
    tool = tmp_path / "fake_a2md"
    tool.write_bytes(b"\x7fELF fake a2md")
    dest = tmp_path / "root"
    r = run("install", dest, so, tool)
    assert r.returncode == 0, r.stderr
    mod = dest / "usr/local/lib/apache2/modules/mod_md.so"
    load = dest / "etc/apache2/mods-available/md_ng.load"
    assert mod.read_bytes() == so.read_bytes()
    assert mod.stat().st_mode & 0o777 == 0o644
    a2md = dest / "usr/local/bin/a2md"
    man = dest / "usr/local/share/man/man1/a2md.1"
    assert a2md.read_bytes() == tool.read_bytes()
    assert a2md.stat().st_mode & 0o777 == 0o755
    assert man.read_bytes() == (harness.REPO / "docs" / "a2md.1").read_bytes()
    assert man.stat().st_mode & 0o777 == 0o644
    lines = [ln for ln in load.read_text().splitlines() if not ln.startswith("#")]
    # the LoadModule line names the final path, without DESTDIR
    assert lines == ["LoadModule md_module /usr/local/lib/apache2/modules/mod_md.so"]
    assert "# Conflicts: md" in load.read_text()
    # nothing of the apache2 package is touched
    assert not (dest / "usr/lib/apache2").exists()
    assert not (dest / "etc/apache2/mods-available/md.load").exists()

    # installing again (an update) works
    assert run("install", dest, so, tool).returncode == 0

    # enabled (a2enmod's symlink), then uninstalled: all gone
    enabled = dest / "etc/apache2/mods-enabled"
    enabled.mkdir(parents=True)
    (enabled / "md_ng.load").symlink_to("../mods-available/md_ng.load")
    r = run("uninstall", dest, so, tool)
    assert r.returncode == 0, r.stderr
    assert not mod.exists() and not load.exists()
    assert not a2md.exists() and not man.exists()
    assert not os.path.lexists(enabled / "md_ng.load")


def test_900_usage(tmp_path):
    r = run("bogus", tmp_path, tmp_path / "x.so")
    assert r.returncode == 2
    r = run("install", tmp_path, tmp_path / "missing.so")
    assert r.returncode != 0
    assert "not found" in r.stderr
    so = tmp_path / "x.so"
    so.write_bytes(b"x")
    r = run("install", tmp_path / "root", so, tmp_path / "missing-a2md")
    assert r.returncode != 0
    assert "missing-a2md not found" in r.stderr
