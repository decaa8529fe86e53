#!/usr/bin/env bash
# make bench-scale: 10 000 MDs next to 10 000 vhosts without MDs (start, RSS, graceful,
# md-status) and the hourly histogram of their renewal times. See bench/scale.py (BENCH_MDS etc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec nice /usr/bin/python3 bench/scale.py "$@"
