"""A real etcd cluster on loopback ports for the etcd store tests (and bench/etcd.py).

EtcdCluster(workdir, n=3, tls=True) starts n members of Debian's etcd 3.4 (etcd-server), each
with its own data directory, clients on https://127.0.0.1:<port> (TLS with a test CA, client
certificates required) or http. Members are stopped and started again by pid. get_prefix() reads
keys through the same JSON gateway the module uses.
"""

import base64
import datetime
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import harness

ETCD_BIN = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL_BIN = shutil.which("etcdctl") or "/usr/bin/etcdctl"


def _cert(subject_cn, key, issuer_name, issuer_key, is_ca=False, sans=(), eku=()):
    now = datetime.datetime.utcnow() - datetime.timedelta(minutes=5)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
         .issuer_name(issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_etcd_pki(directory, client_owner=None):
    """ca.pem, server.pem/server-key.pem (127.0.0.1) and client.pem/client-key.pem in
    'directory'. Returns a dict of their paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd test CA")])
    ca = _cert("etcd test CA", ca_key, ca_name, ca_key, is_ca=True)
    files = {"ca": d / "ca.pem"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, sans, eku in (
            ("server", [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.DNSName("localhost")],
             [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            ("client", [], [ExtendedKeyUsageOID.CLIENT_AUTH])):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(f"etcd test {name}", key, ca_name, ca_key, sans=sans, eku=eku)
        files[name] = d / f"{name}.pem"
        files[f"{name}-key"] = d / f"{name}-key.pem"
        files[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{name}-key"].write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        files[f"{name}-key"].chmod(0o600)
    for p in files.values():
        p.chmod(0o644 if not p.name.endswith("-key.pem") else 0o600)
    return files


class EtcdCluster:
    def __init__(self, workdir, n=3, tls=True):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self.n = n
        self.tls = tls
        ports = harness.free_ports(2 * n)
        self.client_ports = ports[:n]
        self.peer_ports = ports[n:]
        self.pki = make_etcd_pki(self.dir / "pki") if tls else None
        self.procs = [None] * n
        self.scheme = "https" if tls else "http"

    # ---- addresses

    def url(self, i):
        return f"{self.scheme}://127.0.0.1:{self.client_ports[i]}"

    @property
    def endpoints(self):
        return ",".join(self.url(i) for i in range(self.n))

    def _cluster_arg(self):
        return ",".join(f"m{i}=http://127.0.0.1:{self.peer_ports[i]}" for i in range(self.n))

    # ---- members

    def _argv(self, i):
        argv = [ETCD_BIN, "--name", f"m{i}", "--data-dir", str(self.dir / f"m{i}"),
                "--listen-client-urls", self.url(i), "--advertise-client-urls", self.url(i),
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-cluster", self._cluster_arg(), "--initial-cluster-state", "new",
                "--initial-cluster-token", f"mdtest-{os.getpid()}",
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--log-level", "warn"]
        if self.tls:
            argv += ["--cert-file", str(self.pki["server"]),
                     "--key-file", str(self.pki["server-key"]),
                     "--trusted-ca-file", str(self.pki["ca"]), "--client-cert-auth"]
        return argv

    def start_member(self, i):
        self.procs[i] = harness.Proc(f"etcd-m{i}", self._argv(i), self.dir / f"m{i}.log")

    def stop_member(self, i):
        if self.procs[i] is not None:
            self.procs[i].stop()
            self.procs[i] = None

    def start(self, timeout=30.0):
        for i in range(self.n):
            self.start_member(i)
        self.wait_healthy(timeout)
        return self

    def stop(self):
        for i in range(self.n):
            self.stop_member(i)

    def wait_healthy(self, timeout=30.0):
        """Waits until a member that runs answers a linearizable read (the cluster has a
        leader and a quorum)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for i in range(self.n):
                if self.procs[i] is None:
                    continue
                try:
                    self.call("/v3/kv/range", {"key": _b64("health")}, member=i, timeout=2)
                    return
                except Exception as e:  # not yet
                    last = e
            time.sleep(0.2)
        raise RuntimeError(f"etcd cluster not healthy after {timeout}s: {last}\n"
                           + "\n".join((self.dir / f"m{i}.log").read_text(errors="replace")[-2000:]
                                       for i in range(self.n)))

    # ---- the JSON gateway

    def _ctx(self):
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=str(self.pki["ca"]))
        ctx.load_cert_chain(str(self.pki["client"]), str(self.pki["client-key"]))
        return ctx

    def call(self, path, body, member=None, timeout=5):
        members = [member] if member is not None else [i for i in range(self.n)
                                                      if self.procs[i] is not None]
        last = None
        for i in members:
            req = urllib.request.Request(self.url(i) + path, data=json.dumps(body).encode(),
                                         method="POST")
            try:
                with urllib.request.urlopen(req, context=self._ctx(), timeout=timeout) as r:
                    return json.loads(r.read())
            except (urllib.error.URLError, OSError) as e:
                last = e
        raise RuntimeError(f"etcd {path}: {last}")

    def get_prefix(self, prefix):
        """{key: value bytes} of all keys starting with 'prefix'."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        resp = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(end)})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", ""))
                for kv in resp.get("kvs", [])}

    def etcdctl(self, *args, user=None):
        argv = [ETCDCTL_BIN, "--endpoints", self.endpoints]
        if self.tls:
            argv += ["--cacert", str(self.pki["ca"]), "--cert", str(self.pki["client"]),
                     "--key", str(self.pki["client-key"])]
        if user:
            argv += ["--user", user]
        env = dict(os.environ, ETCDCTL_API="3")
        return subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                              timeout=30)

    def directives(self, prefix):
        """The module's configuration for this cluster and 'prefix'."""
        lines = [f"MDStoreEtcd {self.endpoints} {prefix}"]
        if self.tls:
            lines.append(f"MDStoreEtcdCACertificateFile {self.pki['ca']}")
            lines.append(f"MDStoreEtcdClientCertificate {self.pki['client']} "
                         f"{self.pki['client-key']}")
        return "\n".join(lines) + "\n"

    def a2md_args(self, prefix):
        args = ["--etcd", self.endpoints, "--etcd-prefix", prefix]
        if self.tls:
            args += ["--etcd-ca", str(self.pki["ca"]), "--etcd-cert", str(self.pki["client"]),
                     "--etcd-key", str(self.pki["client-key"])]
        return args


def _b64(text):
    return base64.b64encode(text.encode()).decode()
