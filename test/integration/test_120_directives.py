"""What the server does for each directive of issue 3, against pebble.

- MDMember: a name no vhost has goes into the certificate
- MDMembers manual: a vhost's ServerAlias stays out of it (AH10040 warns)
- MDRenewMode manual / always (and MDDriveMode): which MDs are renewed
- MDWarnWindow / MDRenewWindow: stored in md.json; a window covering the whole lifetime renews
- MDRequireHttps temporary / permanent: 302 / 301 to the same https URL, challenges excluded,
  HSTS on https responses of a permanent MD
- MDMustStaple: the issued certificate carries the TLS Feature (status_request)
- MDCertificateAuthority with several CAs: the first one is used, all are kept in md.json
- MDHttpProxy: all CA traffic goes through the proxy
- MDHttpProxyCACertificateFile: an https proxy is trusted with these roots (and only then)
- MDRetryDelay, MDInitialDelay, MDCheckInterval: the scheduler uses them
- MDActivationDelay: a renewed certificate waits in staging
- MDMatchNames servernames: an alias no longer selects the MD
"""

import json
import re
import select
import socket
import socketserver
import ssl
import threading

import pytest
from cryptography import x509

import harness


def http_vhost(h, name, aliases=()):
    alias = f"    ServerAlias {' '.join(aliases)}\n" if aliases else ""
    return (f"<VirtualHost 127.0.0.1:{h.http_port}>\n    ServerName {name}\n{alias}"
            f"</VirtualHost>\n")


def get_cert(h, name, extra=(), names=None):
    """Waits for the MD's certificate, restarts gracefully, returns the served certificate."""
    h.wait_md_ready([name], timeout=120)
    h.graceful()
    return h.peer_chain(names[0] if names else name)


def md_json(h, name):
    return json.loads((h.store_dir / "domains" / name / "md.json").read_text())


def test_120_member_name_without_vhost(httpd):
    name = "member.example.org"
    httpd.write_config(f"<MDomain {name}>\n  MDMember mail.{name}\n</MDomain>\n"
                       + httpd.md_vhosts(name))
    httpd.start()
    cert = get_cert(httpd, name)
    assert harness.cert_sans(cert) == sorted([name, f"mail.{name}"])


@pytest.mark.expect_log("AH10040")
def test_120_members_manual_keeps_alias_out(httpd):
    name = "manual.example.org"
    httpd.write_config(f"<MDomain {name}>\n  MDMembers manual\n</MDomain>\n"
                       + httpd.md_vhosts(name, [f"www.{name}"]))
    httpd.start()
    cert = get_cert(httpd, name)
    assert harness.cert_sans(cert) == [name]


def test_120_renew_modes(httpd):
    """manual: never renewed; always: renewed although no vhost uses it; auto: renewed."""
    httpd.write_config(
        "<MDomain manual.example.org>\n  MDRenewMode manual\n</MDomain>\n"
        + httpd.md_vhosts("manual.example.org")
        + "<MDomain always.example.org>\n  MDDriveMode always\n</MDomain>\n"
        + "MDomain unused.example.org\n"
        + "MDomain auto.example.org\n" + httpd.md_vhosts("auto.example.org"))
    httpd.start()
    httpd.wait_md_ready(["always.example.org", "auto.example.org"], timeout=120)
    text = httpd.log_text()
    assert "AH12405: manual.example.org: not renewed by this server (MDRenewMode manual)" in text
    assert "AH12405: unused.example.org: not renewed by this server (MDRenewMode auto, used " \
           "by no vhost)" in text
    for n in ("manual.example.org", "unused.example.org"):
        assert not (httpd.store_dir / "staging" / n).exists()
        assert not (httpd.store_dir / "domains" / n / "job.json").exists()


def test_120_windows(httpd):
    """The windows go into md.json; a renew window of 100% makes a valid certificate due."""
    name = "window.example.org"
    httpd.write_config(f"<MDomain {name}>\n  MDWarnWindow 20%\n  MDRenewWindow 30d\n</MDomain>\n"
                       + httpd.md_vhosts(name))
    httpd.start()
    first = get_cert(httpd, name)
    j = md_json(httpd, name)
    assert j["warn-window"] == "20%" and j["renew-window"] == "30d"
    # pebble's certificates live for years: 30d is not due, 100% is
    assert re.search(rf"AH12155: {name}: ok, renewal not due at", httpd.log_text())
    httpd.write_config(f"<MDomain {name}>\n  MDRenewWindow 100%\n</MDomain>\n"
                       + httpd.md_vhosts(name))
    mark = httpd.log_size()
    httpd.graceful()
    httpd.wait_md_ready([name], timeout=120, since=mark)
    httpd.graceful()
    assert httpd.peer_chain(name).serial_number != first.serial_number


def test_120_require_https(httpd):
    tmp, perm = "temp.example.org", "perm.example.org"
    httpd.write_config(
        f"<MDomain {tmp}>\n  MDRequireHttps temporary\n</MDomain>\n"
        + httpd.md_vhosts(tmp) + http_vhost(httpd, tmp)
        + f"<MDomain {perm}>\n  MDRequireHttps permanent\n</MDomain>\n"
        + httpd.md_vhosts(perm) + http_vhost(httpd, perm))
    httpd.start()
    for name, code in ((tmp, 302), (perm, 301)):
        status, _, _ = httpd.curl(name, "/a/b.html?x=1&y=2", https=False,
                                  extra=["-D", "-"])
        out = subprocess_headers(httpd, name, "/a/b.html?x=1&y=2")
        assert out["status"] == code, out
        assert out["location"] == f"https://{name}/a/b.html?x=1&y=2", out
        # challenges are never redirected
        out = subprocess_headers(httpd, name, "/.well-known/acme-challenge/abc")
        assert out["status"] == 404, out
    httpd.wait_md_ready([tmp, perm], timeout=120)
    httpd.graceful()
    for name, hsts in ((tmp, None), (perm, "max-age=15768000")):
        out = subprocess_headers(httpd, name, "/", https=True)
        assert out["status"] == 200
        assert out.get("strict-transport-security") == hsts, out


def subprocess_headers(h, name, path, https=False):
    import subprocess
    port = h.https_port if https else h.http_port
    scheme = "https" if https else "http"
    r = subprocess.run(["curl", "-s", "-k", "-o", "/dev/null", "-D", "-", "--resolve",
                        f"{name}:{port}:127.0.0.1", f"{scheme}://{name}:{port}{path}"],
                       capture_output=True, text=True)
    lines = r.stdout.splitlines()
    out = {"status": int(lines[0].split()[1])}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def test_120_must_staple(httpd):
    name = "staple.example.org"
    httpd.write_config(f"<MDomain {name}>\n  MDMustStaple on\n</MDomain>\n"
                       + httpd.md_vhosts(name))
    httpd.start()
    cert = get_cert(httpd, name)
    # the CSR asks for it; pebble (unlike Let's Encrypt) does not copy it into the certificate
    assert re.search(rf"AH12408: {name}: finalizing the order with a \S+ CSR for {name} with the "
                     r"TLS Feature status_request", httpd.log_text())
    try:
        ext = cert.extensions.get_extension_for_class(x509.TLSFeature)
        assert x509.TLSFeatureType.status_request in ext.value
    except x509.ExtensionNotFound:
        pass
    assert md_json(httpd, name)["must-staple"] is True


class ConnectProxy(socketserver.ThreadingTCPServer):
    """A tiny HTTP CONNECT proxy on 127.0.0.1 that counts the tunnels it opens."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.connects = []
        super().__init__(("127.0.0.1", 0), ConnectHandler)


class ConnectHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        if method != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        self.server.connects.append(target)
        host, port = target.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as up:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            socks = [self.request, up]
            while True:
                # a TLS socket may hold decrypted bytes that select() does not see
                r = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
                if not r:
                    r, _, _ = select.select(socks, [], [], 30)
                if not r:
                    return
                for s in r:
                    buf = s.recv(65536)
                    if not buf:
                        return
                    (up if s is self.request else self.request).sendall(buf)


class TlsConnectProxy(ConnectProxy):
    """The CONNECT proxy behind TLS: an 'https://' MDHttpProxy."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.handshake_errors = []
        super().__init__()

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(10)
            request.do_handshake()
            request.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            self.handshake_errors.append(str(e))
            return
        super().finish_request(request, client_address)


def test_120_ca_list_first_used(httpd, ca):
    """Several CAs (the failover list, test_390_failover.py): the first one gets the
    certificate; the list stays in md.json in order."""
    name = "calist.example.org"
    httpd.write_config(f"<MDomain {name}>\n  MDCertificateAuthority {ca.directory_url} "
                       f"https://127.0.0.1:9/dir letsencrypt\n</MDomain>\n"
                       + httpd.md_vhosts(name))
    httpd.start()
    cert = get_cert(httpd, name)
    assert not harness.is_self_signed(cert)
    assert md_json(httpd, name)["ca"]["urls"] == [
        ca.directory_url, "https://127.0.0.1:9/dir",
        "https://acme-v02.api.letsencrypt.org/directory"]


def test_120_http_proxy(httpd, ca):
    proxy = ConnectProxy()
    t = threading.Thread(target=proxy.serve_forever, daemon=True)
    t.start()
    try:
        name = "proxied.example.org"
        port = proxy.server_address[1]
        httpd.write_config(f"MDHttpProxy http://127.0.0.1:{port}\n" + httpd.md_config({name: []}))
        httpd.start()
        get_cert(httpd, name)
        ca_port = ca.directory_url.split(":")[2].split("/")[0]
        assert proxy.connects, "no request went through the proxy"
        assert all(c == f"127.0.0.1:{ca_port}" for c in proxy.connects), proxy.connects
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.expect_log("AH12300")
def test_120_retry_delay_and_schedule(httpd):
    """A CA that refuses connections: the first retry comes after MDRetryDelay (+-25%)."""
    closed = harness.free_port()
    httpd.write_config(f"MDCertificateAuthority https://127.0.0.1:{closed}/dir\n"
                       "MDRetryDelay 40s\nMDCheckInterval 3h\nMDInitialDelay 0s\n"
                       + httpd.md_config({"retry.example.org": []}))
    httpd.start()
    httpd.wait_log(r"AH12406: renewal checks of 1 Managed Domains start in 0m?s "
                   r"\(MDInitialDelay\), then every 3h \(MDCheckInterval\); a failure is retried "
                   r"after 40s")
    line = httpd.wait_log(r"AH12300: retry.example.org: renewal failed \(attempt 1\)")[0]
    secs = int(re.search(r"next attempt in (\d+)s", line).group(1))
    assert 29 <= secs <= 50, line


def test_120_initial_delay(httpd):
    name = "later.example.org"
    httpd.write_config("MDInitialDelay 1h\n" + httpd.md_config({name: []}))
    httpd.start()
    httpd.wait_log(r"AH12406: renewal checks of 1 Managed Domains start in 1h")


def test_120_activation_delay(httpd):
    name = "delay.example.org"
    httpd.write_config("MDActivationDelay 30d\n" + httpd.md_config({name: []}))
    httpd.start()
    httpd.wait_md_ready([name], timeout=120)
    mark = httpd.log_size()
    httpd.graceful()
    httpd.wait_log(rf"AH12400: {name}: the renewed certificate waits for MDActivationDelay 30d",
                   since=mark)
    assert harness.is_self_signed(httpd.peer_chain(name))
    assert (httpd.store_dir / "staging" / name / "pubcert.pem").is_file()
    # without the delay it goes live at the next restart
    httpd.write_config(httpd.md_config({name: []}))
    httpd.graceful()
    assert not harness.is_self_signed(httpd.peer_chain(name))


def test_120_match_names(httpd):
    """An http vhost whose alias is the MD's name: with 'all' it belongs to the MD (redirect),
    with 'servernames' it does not (served as is)."""
    name = "match.example.org"
    body = (f"<MDomain {name}>\n  MDRequireHttps temporary\n</MDomain>\n"
            + httpd.md_vhosts(name)
            + http_vhost(httpd, name)
            + http_vhost(httpd, "other.example.org", [f"alias.{name}"]))
    httpd.write_config(f"<MDomain {name}>\n  MDMember alias.{name}\n  MDRequireHttps temporary\n"
                       f"</MDomain>\n" + httpd.md_vhosts(name) + http_vhost(httpd, name)
                       + http_vhost(httpd, "other.example.org", [f"alias.{name}"]))
    httpd.start()
    assert subprocess_headers(httpd, f"alias.{name}", "/")["status"] == 302
    httpd.stop()
    httpd.write_config("MDMatchNames servernames\n" + body.replace(
        f"<MDomain {name}>\n", f"<MDomain {name}>\n  MDMember alias.{name}\n"))
    httpd.start()
    assert subprocess_headers(httpd, f"alias.{name}", "/")["status"] == 200


@pytest.fixture
def tls_proxy(httpd):
    """An https CONNECT proxy whose certificate (for 127.0.0.1) a root of its own signs; the
    root's file is where the server's User can read it."""
    pki = httpd.root / "proxy-pki"
    pki.mkdir()
    pki.chmod(0o755)
    root, cert, key = harness.make_test_pki(pki)
    proxy = TlsConnectProxy(cert, key)
    t = threading.Thread(target=proxy.serve_forever, daemon=True)
    t.start()
    yield proxy, root
    proxy.shutdown()
    proxy.server_close()


def test_120_https_proxy_ca_file(httpd, ca, tls_proxy):
    """MDHttpProxyCACertificateFile: the https proxy's certificate is verified with that file."""
    proxy, root = tls_proxy
    name = "tls-proxied.example.org"
    port = proxy.server_address[1]
    httpd.write_config(f"MDHttpProxy https://127.0.0.1:{port}\n"
                       f"MDHttpProxyCACertificateFile {root}\n" + httpd.md_config({name: []}))
    httpd.start()
    get_cert(httpd, name)
    ca_port = ca.directory_url.split(":")[2].split("/")[0]
    assert proxy.connects and all(c == f"127.0.0.1:{ca_port}" for c in proxy.connects)
    assert not proxy.handshake_errors, proxy.handshake_errors


@pytest.mark.expect_log("AH12300")
def test_120_https_proxy_untrusted(httpd, tls_proxy):
    """Without MDHttpProxyCACertificateFile the proxy's certificate is checked against the
    system's roots (not MDCACertificateFile): the renewal fails there, nothing is tunneled."""
    proxy, _ = tls_proxy
    name = "tls-untrusted.example.org"
    httpd.write_config(f"MDHttpProxy https://127.0.0.1:{proxy.server_address[1]}\n"
                       + httpd.md_config({name: []}))
    httpd.start()
    httpd.wait_log(rf"AH12300: {name}: renewal failed", timeout=60)
    assert not proxy.connects
    assert proxy.handshake_errors
