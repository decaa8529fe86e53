#!/usr/bin/python3
"""Answer ACME http-01 challenges from a mod_md store, for tests against pebble.

    http01_server.py PORT STOREDIR

Serves GET /.well-known/acme-challenge/<token> on 127.0.0.1:PORT with the content of the file
STOREDIR/challenges/*/acme-http-01.txt that starts with "<token>."; 404 for everything else.
"""
import glob
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/.well-known/acme-challenge/"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def find_answer(store_dir, token):
    for fpath in glob.glob(os.path.join(store_dir, "challenges", "*", "acme-http-01.txt")):
        try:
            with open(fpath, "r", encoding="ascii") as f:
                content = f.read(4096).strip()
        except (OSError, UnicodeDecodeError):
            continue
        if content.startswith(token + "."):
            return content
    return None


class Handler(BaseHTTPRequestHandler):
    store_dir = "."

    def do_GET(self):
        answer = None
        if self.path.startswith(PREFIX):
            token = self.path[len(PREFIX):]
            if TOKEN_RE.match(token):
                answer = find_answer(self.store_dir, token)
        if answer is None:
            self.send_error(404)
            return
        body = answer.encode("ascii")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("http01: " + (fmt % args) + "\n")


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    Handler.store_dir = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
