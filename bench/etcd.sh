#!/usr/bin/env bash
# make bench-etcd: a fleet of three servers on a store in etcd next to one server on the file
# store (bench/etcd.py: BENCH_ETCD_N, BENCH_KEYS, BENCH_REPEAT).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec /usr/bin/python3 bench/etcd.py "$@"
