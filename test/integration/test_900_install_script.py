"""scripts/install-module.sh, run into a DESTDIR (never into the real system here), and the
module beside Debian's stock mod_md: a2enmod (run on a scratch configuration directory) refuses
to enable ours while the stock one is enabled; the other way round a2enmod cannot know, and the
start stops with a clear message instead of the stock module silently winning."""

import os
import shutil
import subprocess

import pytest

import harness

SCRIPT = harness.REPO / "scripts" / "install-module.sh"


def run(action, destdir, module_so, a2md=None):
    env = dict(os.environ, DESTDIR=str(destdir), MODULE_SO=str(module_so),
               A2MD_BIN=str(a2md or harness.A2MD))
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
    lines = [ln for ln in load.read_text().splitlines() if ln.startswith("LoadModule")]
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


def scratch_apache(tmp_path, module_so):
    """Our module installed (without DESTDIR) into a scratch Apache configuration directory that
    also has Debian's md.load; returns (confdir, env for a2enmod/a2dismod)."""
    etc = tmp_path / "etc"
    (etc / "mods-available").mkdir(parents=True)
    (etc / "mods-enabled").mkdir()
    shutil.copy("/etc/apache2/mods-available/md.load", etc / "mods-available" / "md.load")
    env = dict(os.environ, MODULE_SO=str(module_so), A2MD_BIN=str(harness.A2MD),
               MODULE_DIR=str(tmp_path / "modules"),
               APACHE_ETC=str(etc), BIN_DIR=str(tmp_path / "bin"), MAN_DIR=str(tmp_path / "man"))
    r = subprocess.run(["bash", str(SCRIPT), "install"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    a2env = dict(os.environ, APACHE_CONFDIR=str(etc), APACHE_ENVVARS=str(etc / "envvars"),
                 APACHE_STATE_DIRECTORY=str(tmp_path / "state"))
    return etc, a2env


def a2(cmd, name, env):
    return subprocess.run([cmd, "-q", name], env=env, capture_output=True, text=True)


def config_test(tmp_path, etc):
    """'apache2 -t' of a small configuration that includes mods-enabled/*.load like Debian's."""
    mods = "\n".join(f"LoadModule {n} {harness.APACHE_MODULES / f}"
                     for n, f in harness.BASE_MODULES if n != "ssl_module")
    conf = tmp_path / "apache2.conf"
    conf.write_text(f"ServerRoot {tmp_path}\nPidFile {tmp_path}/httpd.pid\n"
                    f"ErrorLog {tmp_path}/error_log\n{mods}\nListen 127.0.0.1:{harness.free_port()}"
                    f"\nServerName localhost\nIncludeOptional {etc}/mods-enabled/*.load\n")
    return subprocess.run([harness.APACHE_BIN, "-t", "-f", str(conf)], capture_output=True,
                          text=True, env=harness.apache_env())


@pytest.mark.skipif(not shutil.which("a2enmod") or not harness.STOCK_MODULE.is_file(),
                    reason="needs a2enmod and Debian's stock mod_md")
def test_900_conflicts_with_stock_module(tmp_path):
    so = harness.module_path()
    if harness.is_stock() or not so.is_file():
        pytest.skip("needs our built module")
    etc, env = scratch_apache(tmp_path, so)
    # stock enabled: ours is refused by a2enmod ('Conflicts: md')
    assert a2("a2enmod", "md", env).returncode == 0
    r = a2("a2enmod", "md_ng", env)
    assert r.returncode != 0
    assert "Module md is enabled - cannot proceed due to conflicts" in r.stdout + r.stderr
    assert not os.path.lexists(etc / "mods-enabled" / "md_ng.load")
    # switched to ours as the .load file says: the configuration loads our module
    assert a2("a2dismod", "md", env).returncode == 0
    assert a2("a2enmod", "md_ng", env).returncode == 0
    r = config_test(tmp_path, etc)
    assert r.returncode == 0, r.stdout + r.stderr
    # then the stock one enabled beside it: a2enmod cannot see the conflict, the start stops
    assert a2("a2enmod", "md", env).returncode == 0
    r = config_test(tmp_path, etc)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "the stock module (md) and this one (md_ng) are both enabled" in out
    assert "a2dismod md" in out
