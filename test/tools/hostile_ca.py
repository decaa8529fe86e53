#!/usr/bin/python3
"""A hostile ACME CA for tests: test/tools/acme_front.py (an HTTPS proxy on 127.0.0.1 in front of
pebble) that misbehaves in one way, its 'mode':

- invalid-json    the directory is not JSON (it ends in the middle of an object)
- huge-body       the directory is 200 MB long (sent until the client hangs up)
- huge-headers    the directory comes with 16 MB of headers (2000 lines of 8 kB)
- slow-body       the directory arrives at one byte per second
- redirect-loop   the directory redirects to itself
- error-500       every request is answered with 500 (an HTML page), for ever
- deep-json       the directory is JSON arrays nested 100000 deep
- no-neworder     the directory has no "newOrder"
- token-dotdot    challenges carry the token "../../../../etc/passwd"
- token-slash     challenges carry the token "abc/def"
- long-chain      the certificate comes with 10000 more certificates (about 13 MB)
- many-certs      the certificate comes with 100 more certificates (fits the body limit)

Everything else goes to pebble (acme_front.py). Only the Python standard library is used:

    front = HostileFront("deep-json", upstream_port=ca.port, cert=ca.cert, key=ca.key).start()
    ... MDCertificateAuthority front.directory_url ...
    front.stop()

or stand-alone: hostile_ca.py MODE --upstream 14000 --cert cert.pem --key key.pem [--port N]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_front import AcmeFront, _Handler, add_front_args, serve_until_interrupted  # noqa: E402

MODES = ("invalid-json", "huge-body", "huge-headers", "slow-body", "redirect-loop", "error-500", "deep-json",
         "no-neworder", "token-dotdot", "token-slash", "long-chain", "many-certs")
HUGE = 200 * 1024 * 1024
DEPTH = 100000
TOKENS = {"token-dotdot": "../../../../etc/passwd", "token-slash": "abc/def"}
EXTRA_CERTS = {"long-chain": 10000, "many-certs": 100}


class HostileFront(AcmeFront):
    def __init__(self, mode, upstream_port, cert, key, port=0):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode}, one of {', '.join(MODES)}")
        super().__init__(upstream_port, cert, key, port=port, ari=False)
        self.mode = mode
        self.bytes_sent = 0  # of the huge and slow bodies

    def handler_base(self):
        return _HostileHandler

    def start(self):
        super().start()
        # a client that hangs up in the middle of a huge answer is the point, not an error
        self._server.handle_error = lambda request, client_address: None
        return self


class _HostileHandler(_Handler):
    def route(self, method):
        front = self.owner
        mode = front.mode
        length = int(self.headers.get("Content-Length") or 0)
        if mode == "error-500":
            if length:
                self.rfile.read(length)
            with front.lock:
                front.requests.append((time.time(), method, self.path))
            return self.reply(500, b"<html><body>Internal Server Error</body></html>\n",
                              ctype="text/html")
        if self.path == "/dir" and method == "GET" and mode in DIRECTORY_ANSWERS:
            with front.lock:
                front.requests.append((time.time(), method, self.path))
            return DIRECTORY_ANSWERS[mode](self)
        return super().route(method)

    # pebble's answers, changed on their way to the client
    def forward(self, method, body):
        status, headers, data = super().forward(method, body)
        mode = self.owner.mode
        if status >= 300:
            return status, headers, data
        if mode == "no-neworder" and self.path == "/dir":
            d = json.loads(data)
            d.pop("newOrder", None)
            data = json.dumps(d).encode()
        elif mode in TOKENS and self.path.startswith("/authZ/"):
            authz = json.loads(data)
            for ch in authz.get("challenges", []):
                ch["token"] = TOKENS[mode]
            data = json.dumps(authz).encode()
        elif mode in EXTRA_CERTS and self.path.startswith("/certZ/"):
            text = data.decode()
            last = text[text.rindex("-----BEGIN CERTIFICATE-----"):]
            if not last.endswith("\n"):
                last += "\n"
            data = (text + ("\n" if not text.endswith("\n") else "")
                    + last * EXTRA_CERTS[mode]).encode()
        return status, headers, data

    # the broken directories
    def invalid_json(self):
        self.reply(200, b'{"newNonce": "https://127.0.0.1/nonce", "newAccount": ')

    def deep_json(self):
        self.reply(200, b"[" * DEPTH + b"]" * DEPTH)

    def redirect_loop(self):
        self.reply(302, b"", [("Location", self.owner.directory_url)], ctype="text/plain")

    def huge_body(self):
        self.stream(HUGE, b"{" + b" " * 65535, 0)

    def huge_headers(self):
        self.send_response_only(200)
        self.flush_headers()
        try:
            for i in range(2000):
                self.wfile.write(f"X-Pad-{i}: {'a' * 8000}\r\n".encode())
                with self.owner.lock:
                    self.owner.bytes_sent += 8000
            self.wfile.write(b"Content-Length: 2\r\n\r\n{}")
        except OSError:
            pass
        self.close_connection = True

    def slow_body(self):
        self.stream(3600, b" ", 1.0)

    def stream(self, total, chunk, delay):
        """Sends a 200 with Content-Length 'total', 'chunk' after 'chunk' with 'delay' seconds
        in between, until all is sent or the client is gone."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        try:
            while sent < total:
                part = chunk[:total - sent]
                self.wfile.write(part)
                self.wfile.flush()
                sent += len(part)
                with self.owner.lock:
                    self.owner.bytes_sent += len(part)
                if delay:
                    time.sleep(delay)
        except OSError:
            pass
        self.close_connection = True


DIRECTORY_ANSWERS = {
    "invalid-json": _HostileHandler.invalid_json,
    "deep-json": _HostileHandler.deep_json,
    "redirect-loop": _HostileHandler.redirect_loop,
    "huge-body": _HostileHandler.huge_body,
    "huge-headers": _HostileHandler.huge_headers,
    "slow-body": _HostileHandler.slow_body,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=MODES)
    add_front_args(ap)
    args = ap.parse_args()
    serve_until_interrupted(HostileFront(args.mode, args.upstream, args.cert, args.key,
                                         port=args.port))


if __name__ == "__main__":
    main()
