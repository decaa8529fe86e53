#!/usr/bin/python3
"""A small ACME front for tests: an HTTPS proxy on 127.0.0.1 in front of pebble that adds what
Debian's pebble 2.4.0 lacks and lets a test see and steer what the client sends.

- The directory gets "renewalInfo" (ACME Renewal Information, RFC 9773) unless ari is off, and
  "meta.profiles" when profiles are set.
- GET <renewalInfo>/<certID> answers the suggested window the test chose for that certificate
  (or the default window), with an optional Retry-After; every request is recorded.
- newOrder payloads that pebble accepts are decoded and recorded (identifiers, "profile",
  "replaces"); an order for a profile the front does not offer is refused with invalidProfile,
  as a CA would.
- Rules inject ACME problems with Retry-After (e.g. a rateLimited answer to the next newOrder),
  or rewrite pebble's answer to say an object is still "processing" with a Retry-After (pebble
  itself never asks a client to wait).
- Everything else goes to pebble unchanged. The Host header is passed on, so pebble writes the
  front's address into every URL it returns and all later requests come through the front too.

Only the Python standard library is used. Use it from a test:

    front = AcmeFront(upstream_port=ca.port, cert=ca.cert, key=ca.key).start()
    ... MDCertificateAuthority front.directory_url ...
    front.set_window(cert_id, start, end)   # datetimes
    front.stop()

or stand-alone (runs until interrupted):

    acme_front.py --upstream 14000 --cert cert.pem --key key.pem [--port N] [--profiles a,b]
"""

import argparse
import base64
import datetime
import http.client
import http.server
import json
import ssl
import threading
import time

HOP_HEADERS = {"connection", "transfer-encoding", "content-length", "keep-alive"}
RENEWAL_INFO_PATH = "/renewal-info/"


def _b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rfc3339(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AcmeFront:
    def __init__(self, upstream_port, cert, key, port=0, ari=True, profiles=None):
        self.upstream_port = upstream_port
        self.cert = str(cert)
        self.key = str(key)
        self.port = port
        self.ari = ari
        self.profiles = dict(profiles) if profiles else None
        self.lock = threading.Lock()
        self.windows = {}            # certID -> (start, end, explanationURL or None)
        self.default_window = None   # (start, end, explanationURL) for unknown certIDs
        self.ari_retry_after = None  # seconds (int) or None: Retry-After on renewalInfo answers
        self.rules = []              # injected answers, see add_rule()
        self.rewrites = []           # rewritten answers, see add_rewrite()
        self.requests = []           # (time, method, path)
        self.ari_gets = []           # (time, certID)
        self.new_orders = []         # decoded newOrder payloads
        self._server = None
        self._thread = None

    # ---- control

    @property
    def directory_url(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def set_window(self, cert_id, start, end, explanation=None):
        with self.lock:
            self.windows[cert_id] = (start, end, explanation)

    def set_default_window(self, start, end, explanation=None):
        with self.lock:
            self.default_window = (start, end, explanation)

    def add_rule(self, method, path, status, problem, detail="injected by the test front",
                 retry_after=None, times=1):
        """The next 'times' requests 'method' to a path starting with 'path' are answered with
        'status' and the ACME problem 'problem' (the name after urn:ietf:params:acme:error:)."""
        with self.lock:
            self.rules.append({"method": method, "path": path, "status": status,
                               "problem": problem, "detail": detail,
                               "retry_after": retry_after, "times": times})

    def add_rewrite(self, method, path, status, retry_after, times=1):
        """Pebble's answers to the next 'times' requests 'method' to a path starting with 'path'
        say "status": 'status' (without "certificate") and carry Retry-After: 'retry_after'."""
        with self.lock:
            self.rewrites.append({"method": method, "path": path, "status": status,
                                  "retry_after": retry_after, "times": times})

    def take_rewrite(self, method, path):
        with self.lock:
            for rw in self.rewrites:
                if rw["times"] > 0 and rw["method"] == method and path.startswith(rw["path"]):
                    rw["times"] -= 1
                    return dict(rw)
        return None

    def snapshot(self):
        with self.lock:
            return {"requests": list(self.requests), "ari_gets": list(self.ari_gets),
                    "new_orders": list(self.new_orders)}

    def handler_base(self):
        """The request handler class; a front with other answers (hostile_ca.py) returns a
        subclass of _Handler."""
        return _Handler

    def start(self):
        front = self

        class Handler(self.handler_base()):
            owner = front
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- answers (called on the server's threads)

    def take_rule(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule["times"] > 0 and rule["method"] == method \
                        and path.startswith(rule["path"]):
                    rule["times"] -= 1
                    return dict(rule)
        return None

    def window_for(self, cert_id):
        with self.lock:
            self.ari_gets.append((time.time(), cert_id))
            return self.windows.get(cert_id, self.default_window), self.ari_retry_after


class _Handler(http.server.BaseHTTPRequestHandler):
    owner = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self.route("GET")

    def do_HEAD(self):
        self.route("HEAD")

    def do_POST(self):
        self.route("POST")

    def reply(self, status, body=b"", headers=(), ctype="application/json"):
        """'headers': (name, value) pairs."""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body or status != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self, method):
        front = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with front.lock:
            front.requests.append((time.time(), method, self.path))
        rule = front.take_rule(method, self.path)
        if rule:
            return self.problem(rule["status"], rule["problem"], rule["detail"],
                                rule["retry_after"])
        if method == "GET" and self.path.startswith(RENEWAL_INFO_PATH):
            return self.renewal_info(self.path[len(RENEWAL_INFO_PATH):])
        order = None
        if method == "POST" and self.path.startswith("/order-plz"):
            order, refused = self.check_order(body)
            if refused:
                return self.problem(400, "invalidProfile", refused)
        status, headers, data = self.forward(method, body)
        if order is not None and status == 201:
            with front.lock:  # accepted ones only: a badNonce retry sends the same order again
                front.new_orders.append(order)
        if 200 <= status < 300:
            rw = front.take_rewrite(method, self.path)
            if rw:
                data, headers = self.rewrite(rw, data, headers)
        if method == "GET" and self.path == "/dir" and status == 200:
            data = self.directory(data)
        ctype = next((v for k, v in headers if k.lower() == "content-type"), "application/json")
        self.reply(status, data, [(k, v) for k, v in headers if k.lower() != "content-type"],
                   ctype=ctype)

    @staticmethod
    def rewrite(rw, data, headers):
        obj = json.loads(data)
        obj["status"] = rw["status"]
        obj.pop("certificate", None)
        headers = [(k, v) for k, v in headers if k.lower() != "retry-after"]
        headers.append(("Retry-After", str(rw["retry_after"])))
        return json.dumps(obj).encode(), headers

    def problem(self, status, problem, detail, retry_after=None):
        headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
        body = json.dumps({"type": f"urn:ietf:params:acme:error:{problem}", "detail": detail,
                           "status": status}).encode()
        self.reply(status, body, headers, ctype="application/problem+json")

    def directory(self, data):
        front = self.owner
        d = json.loads(data)
        if front.ari:
            d["renewalInfo"] = f"https://127.0.0.1:{front.port}{RENEWAL_INFO_PATH}".rstrip("/")
        if front.profiles:
            d.setdefault("meta", {})["profiles"] = front.profiles
        return json.dumps(d).encode()

    def renewal_info(self, cert_id):
        window, retry_after = self.owner.window_for(cert_id)
        if not self.owner.ari or window is None:
            return self.problem(404, "malformed", f"no renewal information for {cert_id}")
        start, end, explanation = window
        info = {"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)}}
        if explanation:
            info["explanationURL"] = explanation
        headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
        self.reply(200, json.dumps(info).encode(), headers)

    def check_order(self, body):
        """The decoded newOrder payload and the reason to refuse it (or None)."""
        try:
            payload = json.loads(_b64u_decode(json.loads(body)["payload"]))
        except (ValueError, KeyError):
            return None, None
        profile = payload.get("profile")
        if profile and profile not in (self.owner.profiles or {}):
            return payload, f"profile '{profile}' is not offered"
        return payload, None

    def forward(self, method, body):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.owner.upstream_port, context=ctx,
                                           timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            conn.request(method, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_HEADERS]
            return resp.status, out, data
        finally:
            conn.close()


def add_front_args(ap):
    """Adds the options every front run stand-alone takes (this one's and hostile_ca.py's):
    pebble's port, the TLS pair to serve with and the front's own port (0: any free one)."""
    ap.add_argument("--upstream", type=int, required=True, help="pebble's port on 127.0.0.1")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port", type=int, default=0)


def serve_until_interrupted(front):
    """Starts 'front', prints its directory URL (a starting script reads it) and serves until
    interrupted (SIGINT), then stops it."""
    front.start()
    print(front.directory_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        front.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_front_args(ap)
    ap.add_argument("--profiles", default="", help="comma separated profile names to offer")
    ap.add_argument("--no-ari", action="store_true")
    args = ap.parse_args()
    profiles = {p: f"the {p} profile" for p in args.profiles.split(",") if p}
    serve_until_interrupted(AcmeFront(args.upstream, args.cert, args.key, port=args.port,
                                      ari=not args.no_ari, profiles=profiles))


if __name__ == "__main__":
    main()
