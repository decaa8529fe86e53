#!/usr/bin/env bash
# make bench-ocsp: TLS handshakes/s with OCSP stapling on vs off, and handshake latency with the
# OCSP responder hanging, our mod_md vs Debian's, against a local pebble and responder.
# See bench/ocsp.py for the cases and the environment variables (BENCH_HANDSHAKES etc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec /usr/bin/python3 bench/ocsp.py "$@"
