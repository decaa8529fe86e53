#!/usr/bin/env bash
# make bench-leaks: RSS of the watchdog child and the parent over 1000 watchdog passes (renewals
# and OCSP fetches included) and 50 graceful restarts. See bench/leaks.py (BENCH_PASSES etc).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec nice /usr/bin/python3 bench/leaks.py "$@"
