#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the demo need. Idempotent: does
# nothing when everything is there already. Needs root (or sudo) only when something is missing.
# Extra packages only some targets need are given as arguments (bench-hot: valgrind).
set -euo pipefail

PKGS=(apache2 apache2-dev libssl-dev libcurl4-openssl-dev libjansson-dev check pkg-config
      pebble python3-pytest python3-cryptography python3-openssl curl openssl make gcc
      etcd-server etcd-client clang-14 libclang-rt-14-dev)
# clang-14 and libclang-rt-14-dev (libFuzzer, ASan and UBSan runtimes): `make fuzz`
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The apache2 package starts a system Apache on port 80, etcd-server a system etcd on
# 127.0.0.1:2379; our tests and the demo use their own instances on free ports, so we leave the
# system services as the admin configured them.
