"""pytest fixtures for the mod_md integration tests.

One pebble CA (with pebble-challtestsrv as its DNS server) is shared by the whole session. Every
Apache instance of the session listens on the same two loopback ports, because pebble validates
http-01 on one fixed port (its "httpPort"); tests therefore run one Apache at a time.

Set MD_MODULE=stock to run the suite against Debian's mod_md for comparison.
"""

import os
import shutil

import pytest

import harness


def pytest_configure(config):
    config.addinivalue_line("markers", "expect_log(*ids): AH ids of md warnings/errors that "
                                       "the test expects (not a failure)")


def pytest_report_header(config):
    return f"mod_md under test: {harness.module_path()}" + \
        (" (Debian stock)" if harness.is_stock() else "") + \
        (f", sanitizer reports in {harness.SANITIZER_DIR}" if harness.ASAN else "")


@pytest.fixture(autouse=True)
def sanitizer_check():
    """With MD_ASAN=1: a sanitizer report written while a test ran (by Apache, a2md or anything
    else) fails that test."""
    yield
    reports = harness.new_sanitizer_reports()
    assert not reports, "sanitizer reports:\n" + "\n".join(reports)


def pytest_sessionfinish(session, exitstatus):
    """Reports written after the last test's check (module fixtures stopping servers) fail the
    session."""
    reports = harness.new_sanitizer_reports()
    if reports:
        print("\nsanitizer reports after the last test:\n" + "\n".join(reports))
        session.exitstatus = 1


@pytest.fixture(scope="session")
def module():
    path = harness.module_path()
    if not path.is_file():
        pytest.fail(f"module not built: {path} (run 'make' first, or set MD_MODULE)")
    for tool in ("pebble", "pebble-challtestsrv", "curl", harness.APACHE_BIN):
        if shutil.which(tool) is None and not os.path.exists(tool):
            pytest.fail(f"{tool} not found (run scripts/install-deps.sh)")
    return path


@pytest.fixture(scope="session")
def scratch():
    d = harness.make_scratch("md-itest-")
    yield d
    harness.remove_scratch(d)


@pytest.fixture(scope="session")
def ports():
    """(http, https) ports of every Apache in this session."""
    return tuple(harness.free_ports(2))


def _start_ca(path, ports, env=None, ocsp_url="", conf=None):
    return harness.CA(path, ports[0], ports[1], env=env, ocsp_url=ocsp_url, conf=conf).start()


@pytest.fixture(scope="session")
def ca(scratch, ports):
    """The shared pebble. Its default nonce rejection (5%) stays on: the module must cope."""
    c = _start_ca(scratch / "ca", ports)
    yield c
    c.stop()


@pytest.fixture(scope="session")
def ca_factory(scratch, ports):
    """Starts extra pebble instances with special settings, e.g. {"PEBBLE_WFE_NONCEREJECT": "50"}
    (environment) or conf={"certificateValidityPeriod": 60} (pebble's config file). They validate
    on the same Apache ports as the shared one."""
    started = []
    counter = [0]

    def make(env, ocsp_url="", conf=None):
        counter[0] += 1
        c = _start_ca(scratch / f"ca-{counter[0]}", ports, env=env, ocsp_url=ocsp_url, conf=conf)
        started.append(c)
        return c
    yield make
    for c in started:
        c.stop()


class HttpdFactory:
    def __init__(self, scratch, ports, module, ca):
        self.scratch = scratch
        self.ports = ports
        self.module = module
        self.ca = ca
        self.servers = []
        self.count = 0

    def __call__(self, ca=None, name=None):
        self.count += 1
        root = self.scratch / (name or f"httpd-{self.count}")
        if root.exists():
            shutil.rmtree(root)
        h = harness.Httpd(root, self.ports[0], self.ports[1], ca=ca or self.ca,
                          module=self.module)
        self.servers.append(h)
        return h

    def stop_all(self):
        for h in self.servers:
            h.stop()


def _expected_ids(request):
    ids = []
    for m in request.node.iter_markers("expect_log"):
        ids.extend(m.args)
    return ids


@pytest.fixture
def httpd_factory(scratch, ports, module, ca, request):
    """Makes Apache instances (each in a fresh ServerRoot) for one test; stops them afterwards
    and fails the test on unexpected md warnings/errors in their logs."""
    f = HttpdFactory(scratch, ports, module, ca)
    yield f
    f.stop_all()
    expected = _expected_ids(request)
    for h in f.servers:
        h.check_log(expected)
    for h in f.servers:
        if os.environ.get("MD_TEST_KEEP") != "1":
            shutil.rmtree(h.root, ignore_errors=True)


@pytest.fixture
def blackhole(ca, httpd_factory):
    """A CA that accepts connections and never answers (harness.BlackholeCA), for one test: an
    MD stays without certificate (fallback) and nothing is logged. It outlives the test's
    Apache instances whatever order a test names its fixtures in: its teardown stops them first,
    since a server whose job still waits on the connection logs an abort when it closes."""
    bh = harness.BlackholeCA(ca.test_root)
    yield bh
    httpd_factory.stop_all()
    bh.stop()


@pytest.fixture
def httpd(httpd_factory):
    """One Apache for this test, configured against the shared pebble (not started yet)."""
    return httpd_factory()
