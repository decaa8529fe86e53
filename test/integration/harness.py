"""Integration test harness: a local ACME CA (pebble + pebble-challtestsrv) and Apache instances
running our mod_md (or Debian's stock one, for comparison), all on 127.0.0.1.

Used by the pytest suite (conftest.py), the demo (test/tools/demo.py) and the benchmark
(bench/startup.py). Only the Python standard library, python3-cryptography and curl are needed.

Environment:
  MD_MODULE        path of the mod_md.so to load (default: <repo>/build/mod_md.so);
                   "stock" is short for Debian's /usr/lib/apache2/modules/mod_md.so
  APACHE_BIN       apache2 binary (default /usr/sbin/apache2)
  APACHE_MODULES   directory of the other modules (default /usr/lib/apache2/modules)
  MD_TEST_KEEP     set to 1 to keep scratch directories for inspection
  MD_ASAN          set to 1 to test the ASan+UBSan build (make asan-integration): build-asan's
                   mod_md.so and a2md; Apache runs with libasan/libubsan preloaded, every
                   sanitizer report goes to a file in MD_ASAN_LOG_DIR (default: a fresh scratch
                   dir) and fails the test that was running (docs/robustness.md, Sanitizers)
"""

import base64
import contextlib
import datetime
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = Path(__file__).resolve().parents[2]
APACHE_BIN = os.environ.get("APACHE_BIN", "/usr/sbin/apache2")
APACHE_MODULES = Path(os.environ.get("APACHE_MODULES", "/usr/lib/apache2/modules"))
STOCK_MODULE = APACHE_MODULES / "mod_md.so"
IS_ROOT = os.geteuid() == 0
RUN_USER = "www-data"
ASAN = os.environ.get("MD_ASAN") == "1"
BUILD_DIR = REPO / ("build-asan" if ASAN else "build")
# the few time bounds the suite has are multiplied by this: the ASan build is several times
# slower in the handshakes and jobs they measure
TIME_FACTOR = 4 if ASAN else 1
A2MD = BUILD_DIR / "a2md"


# --------------------------------------------------------------------------------------------
# Sanitizers (MD_ASAN=1). The module is built with -fsanitize=address,undefined; Apache is not,
# so libasan must be the first library of the process: LD_PRELOAD for Apache only. The options
# go into os.environ so a2md and everything the tests start inherit them. Leak detection is off
# for Apache and a2md (httpd and APR leave their memory to the exit); bench/leaks.py measures
# leaks. Reports go to files, never to stderr, so a report cannot hide in a test's output.

def _sanitizer_setup():
    if not ASAN:
        return None
    d = Path(os.environ.get("MD_ASAN_LOG_DIR") or tempfile.mkdtemp(prefix="md-asan-"))
    d.mkdir(parents=True, exist_ok=True)
    d.chmod(0o1777)  # children run as www-data when the tests run as root
    os.environ["MD_ASAN_LOG_DIR"] = str(d)  # the same dir if this file is imported again
    os.environ["ASAN_OPTIONS"] = (f"detect_leaks=0:abort_on_error=1:log_path={d}/asan:"
                                  "detect_stack_use_after_return=0:allow_user_segv_handler=1:"
                                  # a false stack-buffer-overflow in ASan's own sigaltstack
                                  # teardown at thread exit (gcc 12, glibc 2.36)
                                  "use_sigaltstack=0")
    os.environ["UBSAN_OPTIONS"] = f"print_stacktrace=1:halt_on_error=1:log_path={d}/ubsan"
    return d


SANITIZER_DIR = _sanitizer_setup()
_sanitizer_seen = set()


def sanitizer_preload():
    """LD_PRELOAD value for an uninstrumented program loading the ASan module ('' without
    MD_ASAN): gcc's libasan and libubsan."""
    if not ASAN:
        return ""
    libs = []
    for lib in ("libasan.so", "libubsan.so"):
        r = subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True, text=True)
        path = r.stdout.strip()
        if not os.path.isabs(path):
            raise RuntimeError(f"MD_ASAN=1: gcc does not know {lib} (install gcc)")
        libs.append(path)
    return ":".join(libs)


def apache_env(module=None):
    """The environment for running Apache with 'module' (default: the module under test). The
    stock module is run without the sanitizer runtime: it is not ours to check."""
    env = dict(os.environ)
    if ASAN and (module is None or Path(module) != Path(STOCK_MODULE)):
        env["LD_PRELOAD"] = sanitizer_preload()
    return env


def new_sanitizer_reports():
    """The text of each sanitizer report file written since the last call (empty files are
    skipped). [] without MD_ASAN."""
    if SANITIZER_DIR is None:
        return []
    reports = []
    for f in sorted(SANITIZER_DIR.iterdir()):
        if f.name in _sanitizer_seen:
            continue
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        if not text.strip():
            continue  # being written: looked at again next time
        _sanitizer_seen.add(f.name)
        reports.append(f"{f}:\n{text}")
    return reports


STOCK_CRASH = re.compile(r"AH00052: child pid \d+ exit signal Segmentation fault")

SANITIZER_LINE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                            r"\bruntime error: ")


def module_path():
    """The mod_md.so under test."""
    val = os.environ.get("MD_MODULE", "")
    if val == "stock":
        return STOCK_MODULE
    if val:
        p = Path(val)
        return p if p.is_absolute() else (REPO / p)
    return BUILD_DIR / "mod_md.so"


def is_stock(path=None):
    return Path(path or module_path()).resolve() == STOCK_MODULE.resolve()


_ports_handed_out = set()


def _ephemeral_low():
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _pick_port(taken=()):
    """A TCP port on 127.0.0.1 that is free now, below the kernel's ephemeral range and not
    handed out before by this process. A port the kernel picks (bind to 0) is an ephemeral one:
    by the time a server binds it, an outgoing connection of another process (etcd's members,
    Apache's children talking to pebble) may hold it, and the server cannot start (seen in
    test_670: "(98)Address already in use")."""
    low, high = 10000, _ephemeral_low() - 1
    for _ in range(2000 if high - low >= 1000 else 0):
        port = random.randint(low, high)
        if port in _ports_handed_out or port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))  # no room below the ephemeral range: let the kernel pick
        return s.getsockname()[1]


def free_port():
    """A currently free TCP port on 127.0.0.1 for a server to listen on (see _pick_port)."""
    return _pick_port()


def free_ports(n):
    """n distinct free ports (see _pick_port)."""
    ports = []
    for _ in range(n):
        ports.append(_pick_port(ports))
    return ports


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def make_scratch(prefix):
    """A scratch directory that the unprivileged Apache user can traverse."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


def remove_scratch(path):
    if os.environ.get("MD_TEST_KEEP") == "1":
        print(f"keeping {path}")
        return
    shutil.rmtree(path, ignore_errors=True)


def compared_modules():
    """For benchmarks: {"stock": path, "ours": path}, a path None when its module is missing
    (STOCK_MODULE or STOCK_MD_MODULE, and module_path()); printed as found."""
    stock = Path(os.environ.get("STOCK_MD_MODULE", str(STOCK_MODULE)))
    ours = module_path()
    modules = {"stock": stock if stock.is_file() else None,
               "ours": ours if ours.is_file() else None}
    for label, path in modules.items():
        print(f"{label:5}: {path or 'not found, skipped'}", flush=True)
    return modules


@contextlib.contextmanager
def module_server(root, ports, ca, module, expected=(), check_log=True):
    """An Apache in a fresh ServerRoot 'root' for a module-scoped fixture: stopped at the end
    (also when setting it up fails), its error log checked for md warnings and errors whose AH id
    is not in 'expected' (unless 'check_log' is false), and 'root' removed (kept with
    MD_TEST_KEEP=1)."""
    shutil.rmtree(root, ignore_errors=True)
    h = Httpd(root, ports[0], ports[1], ca=ca, module=module)
    try:
        yield h
    finally:
        h.stop()
    bad = h.log_problems(expected=expected, since=0) if check_log else []
    bad += new_sanitizer_reports()
    remove_scratch(root)
    assert not bad, "unexpected warnings/errors in error log:\n" + "\n".join(bad)


# --------------------------------------------------------------------------------------------
# Test PKI: a small root that signs pebble's own TLS certificate. MDCACertificateFile points to
# the root, so the module verifies the CA's https endpoint like it would in production.

def _write_key(path, key):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def make_test_pki(directory):
    """Writes test-root.pem, pebble-cert.pem and pebble-key.pem into 'directory'.
    Returns (root_pem_path, cert_path, key_path)."""
    directory = Path(directory)
    now = datetime.datetime.utcnow() - datetime.timedelta(minutes=5)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mod_md test root")])
    root = (x509.CertificateBuilder()
            .subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(root_name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    root_path = directory / "test-root.pem"
    cert_path = directory / "pebble-cert.pem"
    key_path = directory / "pebble-key.pem"
    root_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    _write_key(key_path, leaf_key)
    return root_path, cert_path, key_path


# --------------------------------------------------------------------------------------------
# Processes

class Proc:
    """A background process with its output in a log file; stopped by pid."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def _b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jws_jwk(key, url, nonce, payload):
    """A flattened JWS (RFC 7515) of 'payload' with the public key embedded as "jwk", as RFC 8555
    7.6 allows for revocation with the certificate's key. RSA (RS256) or P-256 (ES256)."""
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
    if isinstance(key, rsa.RSAPrivateKey):
        nums = key.public_key().public_numbers()
        jwk = {"e": _b64u(nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")),
               "kty": "RSA",
               "n": _b64u(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big"))}
        alg = "RS256"
    else:
        nums = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        jwk = {"crv": "P-256" if size == 32 else "P-384", "kty": "EC",
               "x": _b64u(nums.x.to_bytes(size, "big")), "y": _b64u(nums.y.to_bytes(size, "big"))}
        alg = "ES256" if size == 32 else "ES384"
    protected = _b64u(json.dumps({"alg": alg, "jwk": jwk, "nonce": nonce, "url": url}).encode())
    body = _b64u(json.dumps(payload).encode())
    signing_input = f"{protected}.{body}".encode()
    if alg == "RS256":
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        h = hashes.SHA256() if alg == "ES256" else hashes.SHA384()
        r, s = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(h)))
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return json.dumps({"protected": protected, "payload": body,
                       "signature": _b64u(sig)}).encode()


class CA:
    """pebble-challtestsrv (a DNS server that answers 127.0.0.1 for every name) and pebble.

    'http_port'/'tls_port' are where pebble sends http-01 / tls-alpn-01 validation requests: the
    ports of the Apache under test. 'env' adds PEBBLE_* settings (e.g. PEBBLE_WFE_NONCEREJECT),
    'conf' settings of pebble's config file (e.g. {"externalAccountBindingRequired": True,
    "externalAccountMACKeys": {kid: hmac}} or {"certificateValidityPeriod": seconds})."""

    def __init__(self, workdir, http_port, tls_port, env=None, ocsp_url="", conf=None):
        self.ocsp_url = ocsp_url
        self.extra_conf = dict(conf or {})
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self.http_port = http_port
        self.tls_port = tls_port
        self.extra_env = dict(env or {})
        self.port, self.mgmt_port, self.dns_port, self.dns_mgmt_port = free_ports(4)
        self.test_root, self.cert, self.key = make_test_pki(self.dir)
        self.issuer_root = self.dir / "pebble-issuer-root.pem"
        self.pebble = None
        self.challtestsrv = None
        self._log_marks = {}

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def log_path(self):
        return self.dir / "pebble.log"

    def _ssl_ctx(self):
        return ssl.create_default_context(cafile=str(self.test_root))

    def start(self, timeout=20.0):
        conf = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": str(self.cert),
            "privateKey": str(self.key),
            "httpPort": self.http_port,
            "tlsPort": self.tls_port,
            "ocspResponderURL": self.ocsp_url,
            "externalAccountBindingRequired": False,
        }}
        conf["pebble"].update(self.extra_conf)
        conf_path = self.dir / "pebble-config.json"
        conf_path.write_text(json.dumps(conf, indent=2))
        self.challtestsrv = Proc("pebble-challtestsrv", [
            "pebble-challtestsrv",
            "-dns01", f"127.0.0.1:{self.dns_port}",
            "-http01", "", "-https01", "", "-tlsalpn01", "",
            "-management", f"127.0.0.1:{self.dns_mgmt_port}",
            "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
            self.dir / "challtestsrv.log")
        if not wait_port(self.dns_mgmt_port, timeout):
            self.stop()
            raise RuntimeError("pebble-challtestsrv did not start:\n"
                               + self.challtestsrv.output())
        env = dict(os.environ)
        env.setdefault("PEBBLE_VA_NOSLEEP", "1")
        env.update(self.extra_env)
        self.pebble = Proc("pebble", [
            "pebble", "-config", str(conf_path),
            "-dnsserver", f"127.0.0.1:{self.dns_port}"],
            self.log_path, env=env, cwd=str(self.dir))
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.pebble.alive():
                break
            try:
                with urllib.request.urlopen(self.directory_url, context=self._ssl_ctx(),
                                            timeout=2) as r:
                    json.loads(r.read())
                pem = self._mgmt_get("/roots/0")
                self.issuer_root.write_text(pem)
                return self
            except Exception as e:  # not up yet
                last = e
                time.sleep(0.1)
        out = self.pebble.output()
        self.stop()
        raise RuntimeError(f"pebble did not start ({last}):\n{out}")

    def _mgmt_get(self, path):
        url = f"https://127.0.0.1:{self.mgmt_port}{path}"
        with urllib.request.urlopen(url, context=self._ssl_ctx(), timeout=5) as r:
            return r.read().decode()

    def revoke(self, cert_pem, key_pem, reason=0):
        """Revokes a certificate at pebble with ACME revokeCert (RFC 8555 7.6), the JWS signed
        with the certificate's own key (an embedded "jwk"). Retries on badNonce (pebble rejects
        some nonces on purpose). Raises RuntimeError when pebble refuses."""
        cert = x509.load_pem_x509_certificate(cert_pem if isinstance(cert_pem, bytes)
                                              else cert_pem.encode())
        key = serialization.load_pem_private_key(key_pem if isinstance(key_pem, bytes)
                                                 else key_pem.encode(), None)
        ctx = self._ssl_ctx()
        with urllib.request.urlopen(self.directory_url, context=ctx, timeout=5) as r:
            directory = json.loads(r.read())
        req = urllib.request.Request(directory["newNonce"], method="HEAD")
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            nonce = r.headers["Replay-Nonce"]
        payload = {"certificate": _b64u(cert.public_bytes(serialization.Encoding.DER)),
                   "reason": reason}
        last = None
        for _ in range(10):
            body = _jws_jwk(key, directory["revokeCert"], nonce, payload)
            req = urllib.request.Request(directory["revokeCert"], data=body, method="POST",
                                         headers={"Content-Type": "application/jose+json"})
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                last = e.read().decode(errors="replace")
                nonce = e.headers.get("Replay-Nonce") or nonce
                if "badNonce" not in last:
                    break
        raise RuntimeError(f"pebble refused to revoke serial {cert.serial_number:x}: {last}")

    def intermediate_pem(self):
        return self._mgmt_get("/intermediates/0")

    def cert_status(self, serial):
        """pebble's view of the certificate with 'serial' (an int): its management API's answer
        with lower-case keys ("status": "Valid"/"Revoked", "revokedat", ...), None if unknown."""
        try:
            data = json.loads(self._mgmt_get(f"/cert-status-by-serial/{serial:x}"))
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise
        return {k.lower(): v for k, v in data.items()}

    def stop(self):
        for p in (self.pebble, self.challtestsrv):
            if p is not None:
                p.stop()

    # Pebble logs one line per ACME request it handles; tests use that to prove that the
    # module did (or did not) talk to the CA during a time window.
    def log_mark(self):
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def requests_since(self, mark):
        """ACME request lines pebble logged after 'mark' (excluding management API calls)."""
        with open(self.log_path, "rb") as f:
            f.seek(mark)
            text = f.read().decode(errors="replace")
        return [ln for ln in text.splitlines()
                if re.search(r"\b(GET|POST|HEAD)\s+/", ln) and "/roots/" not in ln
                and "/intermediates/" not in ln]

    def count_lines(self, pattern):
        return len(re.findall(pattern, self.pebble.output() if self.pebble else ""))


class OCSPResponder:
    """test/tools/ocsp_responder.py for a pebble 'ca' on a fixed loopback port, so it can be
    stopped and started again at the same URL (the one pebble writes into certificates)."""

    def __init__(self, workdir, port=None, validity=3600):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.validity = validity
        self.proc = None
        self.ca = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log_path(self):
        return self.dir / "ocsp.log"

    def start(self, ca, timeout=10.0):
        self.ca = ca
        self.proc = Proc("ocsp", [
            "/usr/bin/python3", str(REPO / "test" / "tools" / "ocsp_responder.py"),
            "--port", str(self.port), "--mgmt", f"https://127.0.0.1:{ca.mgmt_port}",
            "--cafile", str(ca.test_root), "--validity", str(self.validity)], self.log_path)
        if not wait_port(self.port, timeout):
            out = self.proc.output()
            self.stop()
            raise RuntimeError("OCSP responder did not start:\n" + out)
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def answers(self):
        """Lines "ocsp <serial> <status>" of the responses given so far."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        return [ln for ln in text.splitlines() if ln.startswith("ocsp ")]


class BlackholeCA:
    """A 'CA' that accepts TCP connections and never answers: the module's background job
    hangs there, so an MD stays without certificate (fallback) without errors being logged
    while a test looks at it. Has the attributes Httpd needs from a CA."""

    def __init__(self, test_root):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.test_root = test_root

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def stop(self):
        self.sock.close()


class FrontCA:
    """pebble behind test/tools/acme_front.py (renewalInfo, profiles, injected problems): has
    the attributes Httpd needs from a CA, and the front itself as .front. Stop it with stop()."""

    def __init__(self, ca, ari=True, profiles=None):
        import sys
        sys.path.insert(0, str(REPO / "test" / "tools"))
        from acme_front import AcmeFront
        self.ca = ca
        self.test_root = ca.test_root
        self.issuer_root = ca.issuer_root
        self.front = AcmeFront(ca.port, ca.cert, ca.key, ari=ari, profiles=profiles).start()

    @property
    def directory_url(self):
        return self.front.directory_url

    def stop(self):
        self.front.stop()


def ari_cert_id(cert):
    """RFC 9773 4.1 identifier of a certificate (cryptography x509.Certificate)."""
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    serial = cert.serial_number
    der = serial.to_bytes((serial.bit_length() + 8) // 8, "big")  # DER: sign bit clear
    return f"{_b64u(aki.key_identifier)}.{_b64u(der)}"


# --------------------------------------------------------------------------------------------
# Apache

LOG_LINE = re.compile(r"^\[(?P<time>[^\]]+)\] \[(?P<module>[^:\]]*):(?P<level>[a-z0-9]+)\]"
                      r"(?P<rest>.*)$")
AH_ID = re.compile(r"\bAH(\d{5})\b")

# Modules loaded from APACHE_MODULES; core, so, watchdog, http_core, log_config, logio,
# version and unixd are compiled into Debian's apache2 (apache2 -l).
BASE_MODULES = [
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_host_module", "mod_authz_host.so"),
    ("mime_module", "mod_mime.so"),
    ("dir_module", "mod_dir.so"),
    ("alias_module", "mod_alias.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("ssl_module", "mod_ssl.so"),
]


def _compiled_in():
    try:
        out = subprocess.run([APACHE_BIN, "-l"], capture_output=True, text=True).stdout
    except OSError:
        return set()
    return {ln.strip() for ln in out.splitlines() if ln.strip().endswith(".c")}


class Httpd:
    """One Apache instance in its own ServerRoot (a scratch dir), listening on 127.0.0.1 only.

    Write a configuration with write_config(body) (body = the MD directives and vhosts; the
    helpers md_vhosts()/md_config() produce the usual ones), then start(), graceful(), stop().
    """

    def __init__(self, root, http_port, https_port, ca=None, module=None):
        self.root = Path(root)
        self.http_port = http_port
        self.https_port = https_port
        self.ca = ca
        self.module = Path(module) if module else module_path()
        for sub in ("logs", "run", "htdocs", "conf"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        (self.root / "htdocs").chmod(0o755)
        (self.root / "htdocs" / "index.html").write_text("<html><body>mod_md test</body></html>\n")
        (self.root / "htdocs" / "index.html").chmod(0o644)
        self.conf_path = self.root / "conf" / "httpd.conf"
        self.error_log = self.root / "logs" / "error_log"
        self.pid_file = self.root / "run" / "httpd.pid"
        self.store_dir = self.root / "md"
        self._log_checked = 0
        self._stock_spans = []   # (from, to) offsets of the error log the stock module wrote
        self._stock_from = None  # offset where the running stock server's part began

    # ---- configuration

    def base_config(self):
        mods = "\n".join(f"LoadModule {n} {APACHE_MODULES / f}" for n, f in BASE_MODULES)
        builtin = _compiled_in()
        if "mod_watchdog.c" not in builtin:
            mods += f"\nLoadModule watchdog_module {APACHE_MODULES / 'mod_watchdog.so'}"
        if "mod_unixd.c" not in builtin:
            mods += f"\nLoadModule unixd_module {APACHE_MODULES / 'mod_unixd.so'}"
        if "mod_log_config.c" not in builtin:
            mods += f"\nLoadModule log_config_module {APACHE_MODULES / 'mod_log_config.so'}"
        user = f"User {RUN_USER}\nGroup {RUN_USER}\n" if IS_ROOT else ""
        ca = ""
        if self.ca is not None:
            ca = (f"MDCertificateAuthority {self.ca.directory_url}\n"
                  f"MDCACertificateFile {self.ca.test_root}\n")
        return f"""# generated by test/integration/harness.py
ServerRoot "{self.root}"
DefaultRuntimeDir "{self.root}/run"
PidFile "{self.pid_file}"
Mutex file:{self.root}/run default
ErrorLog "{self.error_log}"
LogLevel warn md:debug
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog "{self.root}/logs/access_log" common
{mods}
LoadModule md_module {self.module}
{user}
Listen 127.0.0.1:{self.http_port}
Listen 127.0.0.1:{self.https_port}
ServerName localhost
ServerAdmin admin@example.org
TypesConfig /etc/mime.types
DocumentRoot "{self.root}/htdocs"
DirectoryIndex index.html
<Directory />
    Require all granted
</Directory>
Timeout 10
StartServers 1
ServerLimit 4
ThreadsPerChild 25
MaxRequestWorkers 100
MinSpareThreads 25
MaxSpareThreads 75
GracefulShutdownTimeout 5
SSLRandomSeed startup builtin
SSLSessionCache "shmcb:{self.root}/run/ssl_scache(512000)"

MDCertificateAgreement accepted
MDPortMap http:{self.http_port} https:{self.https_port}
{ca}"""

    def md_vhosts(self, name, aliases=(), docroot=None):
        """An https vhost for an MD name (ServerName + ServerAlias); http is the base server."""
        alias = f"    ServerAlias {' '.join(aliases)}\n" if aliases else ""
        return f"""<VirtualHost 127.0.0.1:{self.https_port}>
    ServerName {name}
{alias}    SSLEngine on
    DocumentRoot "{docroot or (self.root / 'htdocs')}"
</VirtualHost>
"""

    def md_config(self, domains):
        """Config body for several MDs: 'domains' maps an MD name to its aliases (a list)."""
        parts = []
        for name, aliases in domains.items():
            parts.append(f"MDomain {name}\n")
            parts.append(self.md_vhosts(name, aliases))
        return "".join(parts)

    def write_config(self, body="", base=True):
        text = (self.base_config() if base else "") + "\n" + body + "\n"
        self.conf_path.write_text(text)
        return self.conf_path

    def config_line_of(self, needle):
        """1-based line number of the first config line containing 'needle'."""
        for i, ln in enumerate(self.conf_path.read_text().splitlines(), 1):
            if needle in ln:
                return i
        return None

    # ---- control

    def apachectl(self, *args, timeout=60):
        return subprocess.run([APACHE_BIN, "-f", str(self.conf_path), *args],
                              capture_output=True, text=True, timeout=timeout,
                              cwd=str(self.root), env=apache_env(self.module))

    def pid(self):
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    @staticmethod
    def _pid_alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # a zombie (not yet reaped) counts as gone
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ", 1)[1][0] != "Z"
        except (FileNotFoundError, IndexError):
            return False

    def start(self, wait=True, timeout=30.0):
        """Runs 'apache2 -k start'. Returns the CompletedProcess (check .returncode for config
        errors); with wait, also waits until the server answers on its http port."""
        self.pid_file.unlink(missing_ok=True)
        self._end_stock_span()
        if Path(self.module) == Path(STOCK_MODULE):
            self._stock_from = self.log_size()
        r = self.apachectl("-k", "start", timeout=max(60.0, timeout))
        if r.returncode != 0:
            return r
        # the detached parent writes its pid file shortly after; stop() needs it
        deadline = time.monotonic() + max(10.0, timeout)
        while self.pid() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if not wait:
            return r
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() and self._answers():
                return r
            time.sleep(0.05)
        raise RuntimeError(f"apache did not come up in {timeout}s: {r.stdout}{r.stderr}\n"
                           + self.log_tail())

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=1) as s:
                s.sendall(b"HEAD / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                return s.recv(12).startswith(b"HTTP/")
        except OSError:
            return False

    def graceful(self, timeout=30.0):
        """'apache2 -k graceful', then waits until the new generation logs that it runs."""
        mark = self.log_size()
        r = self.apachectl("-k", "graceful")
        if r.returncode != 0:
            raise RuntimeError(f"graceful failed: {r.stdout}{r.stderr}")
        self.wait_log(r"resuming normal operations", timeout=timeout, since=mark)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._answers():
            time.sleep(0.05)
        return r

    @staticmethod
    def _children(pid):
        kids = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(") ", 1)[-1].split()
            if len(fields) > 1 and fields[1] == str(pid):
                kids.append(int(d.name))
        return kids

    def stop(self, timeout=30.0):
        """'apache2 -k stop', then waits until the parent and its children are gone (killing
        them by pid if they outlive 'timeout')."""
        pid = self.pid()
        if pid is None:
            self._end_stock_span()
            return
        pids = [pid] + self._children(pid)
        self.apachectl("-k", "stop")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(self._pid_alive(p) for p in pids):
            time.sleep(0.05)
        for p in pids:
            if self._pid_alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.pid_file.unlink(missing_ok=True)
        self._end_stock_span()

    def running(self):
        pid = self.pid()
        return pid is not None and self._pid_alive(pid)

    # ---- error log

    def log_size(self):
        try:
            return self.error_log.stat().st_size
        except FileNotFoundError:
            return 0

    def log_text(self, since=0):
        try:
            with open(self.error_log, "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def wait_log(self, pattern, timeout=60.0, since=0, count=1):
        """Waits until 'pattern' (regex) appears 'count' times in the error log after offset
        'since'. Returns the matching lines; raises TimeoutError with the log tail otherwise."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            hits = [ln for ln in self.log_text(since).splitlines() if rx.search(ln)]
            if len(hits) >= count:
                return hits
            if time.monotonic() >= deadline:
                raise TimeoutError(f"'{pattern}' x{count} not in error log after {timeout}s "
                                   f"({len(hits)} found). Log tail:\n{self.log_tail()}")
            time.sleep(0.2)

    def start_and_issue(self, names, timeout=120.0):
        """Starts the server, waits until every MD in 'names' has its certificate and restarts
        gracefully so they are served. Stops the server when that fails. Returns the seconds from
        the start until all were ready."""
        self.start()
        t0 = time.monotonic()
        try:
            self.wait_md_ready(names, timeout=timeout)
            ready = time.monotonic() - t0
            self.graceful()
        except Exception:
            self.stop()
            raise
        return ready

    def wait_md_ready(self, names, timeout=120.0, since=0):
        """Waits for AH10059 ("has been setup and changes will be activated on next (graceful)
        server restart") for each MD in 'names'."""
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending:
            text = self.log_text(since)
            for name in list(pending):
                if re.search(r"AH10059: The Managed Domain " + re.escape(name) + r" has been setup",
                             text):
                    pending.discard(name)
            if not pending:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no AH10059 for {sorted(pending)} after {timeout}s. "
                                   f"Log tail:\n{self.log_tail()}")
            time.sleep(0.2)

    def md_ready_times(self, names, since=0):
        """Wall-clock times (seconds since the epoch, from the error log's own time stamps) at
        which AH10059 was logged for each MD in 'names' that has it."""
        times = {}
        for when, m in self.log_events(r"AH10059: The Managed Domain (\S+) ", since):
            if m.group(1) in names and m.group(1) not in times:
                times[m.group(1)] = when
        return times

    def log_events(self, pattern, since=0):
        """(time, match) for each error log line after offset 'since' that 'pattern' (regex)
        matches; time is the line's own time stamp in seconds since the epoch."""
        rx = re.compile(pattern)
        events = []
        for ln in self.log_text(since).splitlines():
            m = rx.search(ln)
            t = re.match(r"\[\w+ (\w+ +\d+ [\d:.]+) (\d+)\]", ln)
            if m and t:
                when = datetime.datetime.strptime(f"{t.group(1)} {t.group(2)}",
                                                  "%b %d %H:%M:%S.%f %Y")
                events.append((when.timestamp(), m))
        return events

    def _end_stock_span(self):
        if self._stock_from is not None:
            self._stock_spans.append((self._stock_from, self.log_size()))
            self._stock_from = None

    def _stock_crashes(self):
        """The lines of the stock module's parts of the error log that say one of its children
        died of SIGSEGV (see log_problems)."""
        spans = self._stock_spans + ([(self._stock_from, self.log_size())]
                                     if self._stock_from is not None else [])
        lines = set()
        for start, end in spans:
            text = self.log_text(start)[:end - start]
            lines.update(ln for ln in text.splitlines() if STOCK_CRASH.search(ln))
        return lines

    def log_problems(self, expected=(), since=None, modules=("md",)):
        """Lines at [error]/[warn] (or worse) from 'modules' after 'since' (default: since the
        last check) whose AH id is not in 'expected'."""
        start = self._log_checked if since is None else since
        tolerated = self._stock_crashes()
        bad = []
        for ln in self.log_text(start).splitlines():
            # a child that crashed (AH00052 "exit signal Segmentation fault") is always a problem,
            # except a child of Debian's stock module: its children now and then die with SIGSEGV
            # when Apache stops or restarts while its watchdog job runs (a known upstream problem,
            # icing/mod_md#293, the order of watchdog and OpenSSL shut-down); such a line is
            # tolerated in the parts of the log the stock module wrote, and only there
            if ln in tolerated:
                continue
            if "exit signal" in ln or "AH00060" in ln or SANITIZER_LINE.search(ln):
                bad.append(ln)
                continue
            m = LOG_LINE.match(ln)
            if not m or m.group("module") not in modules:
                continue
            if m.group("level") not in ("warn", "error", "crit", "alert", "emerg"):
                continue
            ids = {f"AH{i}" for i in AH_ID.findall(ln)}
            if ids & set(expected):
                continue
            bad.append(ln)
        return bad

    def check_log(self, expected=()):
        """Asserts no unexpected md warnings/errors since the last check."""
        bad = self.log_problems(expected) + new_sanitizer_reports()
        self._log_checked = self.log_size()
        assert not bad, "unexpected warnings/errors in error log:\n" + "\n".join(bad)

    def mark_log_checked(self):
        self._log_checked = self.log_size()

    # ---- requests

    def curl(self, name, path="/", https=True, cacert=None, insecure=False, extra=()):
        """Fetches https://name:port/path with curl, resolving 'name' to 127.0.0.1.
        Returns (status, body, stderr); status 0 when the request failed (TLS error etc)."""
        port = self.https_port if https else self.http_port
        scheme = "https" if https else "http"
        argv = ["curl", "-s", "-S", "--max-time", "15", "-o", "-", "-w", "\n%{http_code}",
                "--resolve", f"{name}:{port}:127.0.0.1", "--path-as-is"]
        if https:
            if insecure:
                argv.append("-k")
            elif cacert:
                argv += ["--cacert", str(cacert)]
        argv += list(extra)
        argv.append(f"{scheme}://{name}:{port}{path}")
        r = subprocess.run(argv, capture_output=True, text=True)
        body, _, code = r.stdout.rpartition("\n")
        try:
            status = int(code)
        except ValueError:
            status = 0
        return status, body, r.stderr

    def peer_chain(self, name, port=None):
        """Connects with SNI 'name' to 127.0.0.1 and returns the served certificate (x509)
        without verifying it."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port or self.https_port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=name) as t:
                der = t.getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der)

    def stapled(self, name, port=None):
        """One full TLS handshake with SNI 'name' that asks for OCSP stapling (status_request).
        Returns the stapled OCSP response (DER bytes) or None when none was sent."""
        return staple_handshake(port or self.https_port, name)[1]

    def verify_served(self, name, cafile, port=None):
        """Connects with SNI 'name', verifying the chain against 'cafile' and the host name.
        Returns the leaf certificate as a dict (ssl.getpeercert()); raises ssl.SSLError."""
        ctx = ssl.create_default_context(cafile=str(cafile))
        with socket.create_connection(("127.0.0.1", port or self.https_port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=name) as t:
                return t.getpeercert()


def cert_sans(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return sorted(ext.value.get_values_for_type(x509.DNSName))


def cert_issuer_cn(cert):
    attrs = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else cert.issuer.rfc4514_string()


def is_self_signed(cert):
    return cert.issuer == cert.subject


def write_domain_set(domain_dir, name, valid_from_days, valid_until_days, rsa_key=False):
    """Puts a self-signed EC (or RSA 2048) certificate for 'name' (a name or a list of them) and
    its key into a store's domains/<md>/, as a live set the module then serves: valid from
    'valid_from_days' to 'valid_until_days' (relative to now, negative for the past). Returns
    the certificate."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    names = [name] if isinstance(name, str) else list(name)
    key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(
        ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=valid_from_days))
            .not_valid_after(now + datetime.timedelta(days=valid_until_days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    domain_dir.mkdir(parents=True)
    os.chmod(domain_dir.parent, 0o700)
    os.chmod(domain_dir, 0o700)
    (domain_dir / "pubcert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile = domain_dir / "privkey.pem"
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    os.chmod(keyfile, 0o600)
    return cert


def staple_handshake(port, name):
    """One full TLS handshake to 127.0.0.1:port with SNI 'name' asking for an OCSP staple
    (pyOpenSSL; Python's ssl module cannot). Returns (seconds, DER staple or None)."""
    dt, staple, _ = staple_and_cert(port, name)
    return dt, staple


def staple_and_cert(port, name):
    """staple_handshake() that also returns the served certificate: (seconds, DER staple or
    None, x509 certificate)."""
    import struct
    from OpenSSL import SSL
    got = []

    def on_ocsp(conn, data, _):
        got.append(data)
        return True
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_ocsp_client_callback(on_ocsp)
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(None)  # pyOpenSSL wants a blocking socket; bound it in the kernel
        tv = struct.pack("ll", 10, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        conn = SSL.Connection(ctx, s)
        conn.set_tlsext_host_name(name.encode())
        conn.request_ocsp()
        conn.set_connect_state()
        conn.do_handshake()
        dt = time.perf_counter() - t0
        cert = conn.get_peer_certificate().to_cryptography()
        conn.shutdown()
    return dt, (got[0] if got and got[0] else None), cert


def https_get(port, name, ctx, timeout=10):
    """GET / over a new TLS connection to 127.0.0.1:port with SNI and Host 'name', verified with
    the ssl.SSLContext 'ctx'. Returns (HTTP status, serial number of the served certificate)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with ctx.wrap_socket(s, server_hostname=name) as t:
            der = t.getpeercert(binary_form=True)
            t.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while len(data) < 65536:
                chunk = t.recv(4096)
                if not chunk:
                    break
                data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, x509.load_der_x509_certificate(der).serial_number


class Prober:
    """Clients that keep making new TLS connections (full handshakes, verified against 'cafile'
    and the host name) with a GET / to the MD names 'names', from 'threads' threads, until
    stop(). Records what was served: 'seen' holds (time, name, serial) of every request answered
    200, 'failures' (time, name, what) of every other outcome (a TLS error, another status)."""

    def __init__(self, port, names, cafile, threads=1):
        import threading
        self.port = port
        self.names = list(names)
        self.cafile = str(cafile)
        self.seen = []
        self.failures = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(threads)]

    def _run(self, offset):
        ctx = ssl.create_default_context(cafile=self.cafile)
        i = offset
        while not self._stop.is_set():
            name = self.names[i % len(self.names)]
            i += 1
            try:
                status, serial = https_get(self.port, name, ctx)
                what = None if status == 200 else f"status {status}"
            except (OSError, ssl.SSLError, ValueError, IndexError) as e:
                serial, what = None, f"{type(e).__name__}: {e}"
            with self._lock:
                if what is None:
                    self.seen.append((time.time(), name, serial))
                else:
                    self.failures.append((time.time(), name, what))

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    @property
    def requests(self):
        with self._lock:
            return len(self.seen) + len(self.failures)

    def first_seen(self, name, serial, after=0.0):
        """When 'serial' was first served for 'name' (after 'after'), or None."""
        with self._lock:
            times = [t for t, n, s in self.seen if n == name and s == serial and t >= after]
        return min(times) if times else None

    def serials(self, name):
        with self._lock:
            return {s for _, n, s in self.seen if n == name}
