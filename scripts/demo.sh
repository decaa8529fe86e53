#!/usr/bin/env bash
# make demo: get a certificate for demo.example.org from a local pebble CA with our mod_md.
# Everything runs on 127.0.0.1 in a scratch directory and is stopped again on exit.
# MD_MODULE=stock runs the same demo with Debian's mod_md.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
if [ -z "${MD_MODULE:-}" ] && [ ! -f build/mod_md.so ]; then
    make all
fi
exec /usr/bin/python3 test/tools/demo.py "$@"
