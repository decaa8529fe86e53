"""Secrets stay secret: after a full issuance at LogLevel md:trace8, no private key material
(the base64 lines of any key PEM in the store, decrypted or not, and the store key of
md_store.json) appears in the error log or in any store file other than the key files. When
Apache starts as root, the child user can write challenges/ and staging/ but cannot read the
keys in domains/.
"""

import base64
import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

import harness

MD = "secret.example.org"


@pytest.fixture(scope="module")
def server(scratch, ports, module, ca):
    with harness.module_server(scratch / "httpd-secrets", ports, ca, module) as h:
        h.write_config(h.md_config({MD: []}) + "\nLogLevel warn md:trace8\n")
        h.start_and_issue([MD])
        yield h


def secret_strings(store):
    """Base64 body lines of every private key in the store (as stored and, for encrypted ones,
    decrypted with the store key), and the store key itself."""
    out = set()
    store_key = json.loads((store / "md_store.json").read_text())["key"]
    out.add(store_key)
    raw_key = base64.urlsafe_b64decode(store_key + "=" * (-len(store_key) % 4))
    keyfiles = []
    for p in store.rglob("*.pem"):
        text = p.read_text(errors="replace")
        if "PRIVATE KEY" not in text:
            continue
        keyfiles.append(p)
        pw = raw_key if "ENCRYPTED" in text else None
        try:
            key = serialization.load_pem_private_key(text.encode(), password=pw)
        except (ValueError, TypeError):
            key = None
        pems = [text]
        if key is not None:
            pems.append(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode())
            pems.append(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()).decode())
        public = b""
        if key is not None:
            # a private key's encoding contains the public key too (an RSA key its modulus,
            # which account requests send as the JWK "n"): lines that are all public are not
            # secrets
            public = key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        for pem in pems:
            out.update(ln for ln in pem.splitlines() if ln and not ln.startswith("-----")
                       and len(ln) >= 40 and not is_public(ln, public))
    return out, keyfiles


def is_public(line, public_der):
    try:
        raw = base64.b64decode(line)
    except ValueError:
        return False
    return bool(public_der) and raw in public_der


def test_620_no_key_material_outside_key_files(server):
    store = server.store_dir
    secrets, keyfiles = secret_strings(store)
    assert len(keyfiles) >= 2 and len(secrets) > 10
    log = server.log_text(0)
    assert "AH10059" in log and "[md:trace" in log, "no md trace logging"
    leaks = [s for s in secrets if s in log]
    assert not leaks, f"key material in the error log: {leaks[:2]}"
    for p in store.rglob("*"):
        if not p.is_file() or p in keyfiles or p.name == "md_store.json":
            continue
        text = p.read_text(errors="replace")
        leaks = [s for s in secrets if s in text]
        assert not leaks, f"key material in {p}"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="needs root (User/Group www-data)")
def test_620_child_user_rights(server):
    store = server.store_dir

    def as_user(*argv):
        return subprocess.run(["runuser", "-u", harness.RUN_USER, "--", *argv],
                              capture_output=True, text=True).returncode

    assert as_user("cat", str(store / "domains" / MD / "privkey.pem")) != 0
    assert as_user("cat", str(store / "md_store.json")) != 0
    assert as_user("ls", str(store / "domains")) != 0
    for sub in ("challenges", "staging"):
        probe = store / sub / "probe-by-child"
        assert as_user("mkdir", str(probe)) == 0, sub
        probe.rmdir()
    # the child reads the (encrypted) account key to sign its requests
    acct = next((store / "accounts").iterdir())
    assert as_user("cat", str(acct / "account.pem")) == 0
    assert (store / "domains" / MD / "privkey.pem").stat().st_mode & 0o077 == 0
