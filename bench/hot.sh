#!/usr/bin/env bash
# make bench-hot: TLS handshakes/s with MDActivation hot vs graceful, side by side in one run,
# against a local pebble, and instructions per handshake under callgrind (with the stock module).
# See bench/hot.py for the cases and the environment variables
# (BENCH_ROUNDS, BENCH_SECONDS, BENCH_CLIENTS, BENCH_KEYS, BENCH_CALLGRIND, BENCH_CG_CONNS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh valgrind
exec /usr/bin/python3 bench/hot.py "$@"
