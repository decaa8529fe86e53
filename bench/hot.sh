#!/usr/bin/env bash
# make bench-hot: TLS handshakes/s with MDActivation hot vs graceful, side by side in one run,
# against a local pebble. See bench/hot.py for the cases and the environment variables
# (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CLIENTS, BENCH_KEYS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec /usr/bin/python3 bench/hot.py "$@"
