#!/usr/bin/env bash
# make bench: start-up and time-to-certificate, our mod_md vs Debian's, against a local pebble.
# See bench/startup.py for the cases and the environment variables (BENCH_N="1 10 50" etc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec /usr/bin/python3 bench/startup.py "$@"
