#!/usr/bin/python3
"""A small RFC 6960 OCSP responder for pebble's certificates, on 127.0.0.1 only.

It signs responses with pebble's intermediate (certificate and key from pebble's management
API: /intermediates/0 and /intermediate-keys/0) and asks pebble for each certificate's
revocation status (/cert-status-by-serial/<hex serial>). `openssl ocsp -port` is not used
because it listens on all interfaces.

    ocsp_responder.py --port N --mgmt https://127.0.0.1:M --cafile test-root.pem
                      [--validity SECONDS] [--log FILE]

Requests are POSTs of DER (RFC 6960 A.1.1) or GETs of base64 DER. Each answered request is
logged as one line "ocsp <serial> <status>" (flushed) so tests can count fetches.
"""

import argparse
import base64
import datetime
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

MAX_REQUEST = 64 * 1024


class Pebble:
    def __init__(self, mgmt_url, cafile):
        self.mgmt = mgmt_url.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.issuer = x509.load_pem_x509_certificate(self._get("/intermediates/0"))
        self.key = serialization.load_pem_private_key(self._get("/intermediate-keys/0"), None)

    def _get(self, path):
        with urllib.request.urlopen(self.mgmt + path, context=self.ctx, timeout=5) as r:
            return r.read()

    def status(self, serial):
        """(cert or None, 'good'|'revoked'|'unknown', revoked_at) for 'serial'."""
        try:
            data = json.loads(self._get(f"/cert-status-by-serial/{serial:x}"))
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None, "unknown", None
            raise
        data = {k.lower(): v for k, v in data.items()}
        cert = x509.load_pem_x509_certificate(data["certificate"].encode())
        if str(data.get("status", "")).lower() == "revoked":
            at = data.get("revokedat")
            when = datetime.datetime.utcnow()
            if at:
                try:
                    when = datetime.datetime.fromisoformat(at.replace("Z", "+00:00")[:26])
                    when = when.replace(tzinfo=None)
                except ValueError:
                    pass
            return cert, "revoked", when
        return cert, "good", None


def make_handler(pebble, validity, log):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def _answer(self, der):
            try:
                req = ocsp.load_der_ocsp_request(der)
            except ValueError:
                resp = ocsp.OCSPResponseBuilder.build_unsuccessful(
                    ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
                return self._send(resp)
            cert, status, revoked_at = pebble.status(req.serial_number)
            if cert is None:
                resp = ocsp.OCSPResponseBuilder.build_unsuccessful(
                    ocsp.OCSPResponseStatus.UNAUTHORIZED)
                print(f"ocsp {req.serial_number:x} unauthorized", file=log, flush=True)
                return self._send(resp)
            now = datetime.datetime.utcnow() - datetime.timedelta(seconds=5)
            cert_status = {"good": ocsp.OCSPCertStatus.GOOD,
                           "revoked": ocsp.OCSPCertStatus.REVOKED,
                           "unknown": ocsp.OCSPCertStatus.UNKNOWN}[status]
            # Debian 12's cryptography (38) has no add_response_by_hash: pebble gives the cert
            builder = ocsp.OCSPResponseBuilder().add_response(
                cert=cert, issuer=pebble.issuer, algorithm=hashes.SHA1(),
                cert_status=cert_status, this_update=now,
                next_update=now + datetime.timedelta(seconds=validity),
                revocation_time=revoked_at,
                revocation_reason=x509.ReasonFlags.unspecified if revoked_at else None,
            ).responder_id(ocsp.OCSPResponderEncoding.HASH, pebble.issuer)
            resp = builder.sign(pebble.key, hashes.SHA256())
            print(f"ocsp {req.serial_number:x} {status}", file=log, flush=True)
            return self._send(resp)

        def _send(self, resp):
            body = resp.public_bytes(serialization.Encoding.DER)
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0") or 0)
            if n <= 0 or n > MAX_REQUEST:
                self.send_error(400)
                return
            self._answer(self.rfile.read(n))

        def do_GET(self):
            b64 = urllib.parse.unquote(self.path.lstrip("/"))
            try:
                der = base64.b64decode(b64)
            except ValueError:
                self.send_error(400)
                return
            self._answer(der)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mgmt", required=True, help="pebble management API base URL")
    ap.add_argument("--cafile", required=True, help="root that signed pebble's TLS cert")
    ap.add_argument("--validity", type=int, default=3600, help="response lifetime (s)")
    args = ap.parse_args()
    pebble = Pebble(args.mgmt, args.cafile)
    server = ThreadingHTTPServer(("127.0.0.1", args.port),
                                 make_handler(pebble, args.validity, sys.stdout))
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
