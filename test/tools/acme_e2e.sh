#!/usr/bin/env bash
# End-to-end check of the ACME client (a2md add/update/drive) against a local pebble CA.
#
#   test/tools/acme_e2e.sh [path/to/a2md]
#
# Starts, in a temp dir and on 127.0.0.1 only: pebble-challtestsrv (DNS: every name is
# 127.0.0.1), test/tools/http01_server.py (answers http-01 from the store) and pebble, then drives
# certificates for two MDs in parallel (one shared new account), one and several names, an EC
# key, RSA+EC, account reuse, 50% nonce rejection (with a fresh CA that no longer knows the
# installed account), the resume of a staged order, terms of service not accepted and a URL that
# is no ACME directory. Stops what it started (by pid) and exits non-zero on the first failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
A2MD="${1:-$TOP/build/a2md}"
PEBBLE="${PEBBLE:-/usr/bin/pebble}"
CHALLTESTSRV="${CHALLTESTSRV:-/usr/bin/pebble-challtestsrv}"
PY=/usr/bin/python3

[ -x "$A2MD" ] || { echo "acme_e2e: no a2md at $A2MD (make build/a2md)"; exit 1; }
[ -x "$PEBBLE" ] || { echo "acme_e2e: pebble not installed"; exit 1; }

TMP="$(mktemp -d /tmp/acme_e2e.XXXXXX)"
PIDS=()
PEBBLE_PID=""

cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}" $PEBBLE_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}" $PEBBLE_PID; do
        wait "$pid" 2>/dev/null || true
    done
    if [ $rc -ne 0 ]; then
        echo "acme_e2e: FAILED (logs kept in $TMP)"
    else
        rm -rf "$TMP"
    fi
    exit $rc
}
trap cleanup EXIT

fail() { echo "acme_e2e: FAIL: $*"; exit 1; }
ok() { echo "acme_e2e: ok: $*"; }

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port
    for _ in $(seq 1 100); do
        if $PY -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

ACME_PORT=$(free_port); MGMT_PORT=$(free_port); HTTP_PORT=$(free_port)
TLS_PORT=$(free_port); DNS_PORT=$(free_port); CTS_PORT=$(free_port)
STORE="$TMP/store"
mkdir -p "$STORE"

# ---- certificates for pebble's own https ---------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=acme_e2e test root" \
    -keyout "$TMP/root.key" -out "$TMP/root.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$TMP/server.key" -out "$TMP/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    > "$TMP/server.ext"
openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/root.pem" -CAkey "$TMP/root.key" \
    -CAcreateserial -days 2 -extfile "$TMP/server.ext" -out "$TMP/server.pem" >/dev/null 2>&1

cat > "$TMP/pebble.json" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$ACME_PORT",
    "managementListenAddress": "127.0.0.1:$MGMT_PORT",
    "certificate": "$TMP/server.pem",
    "privateKey": "$TMP/server.key",
    "httpPort": $HTTP_PORT,
    "tlsPort": $TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF
DIR_URL="https://127.0.0.1:$ACME_PORT/dir"

# ---- helpers --------------------------------------------------------------------------------------
"$CHALLTESTSRV" -dns01 "127.0.0.1:$DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
    -management "127.0.0.1:$CTS_PORT" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    > "$TMP/challtestsrv.log" 2>&1 &
PIDS+=($!)
$PY "$HERE/http01_server.py" "$HTTP_PORT" "$STORE" > "$TMP/http01.log" 2>&1 &
PIDS+=($!)
wait_port "$CTS_PORT" || fail "pebble-challtestsrv did not start"
wait_port "$HTTP_PORT" || fail "http01 server did not start"

PEBBLE_RUN=0
start_pebble() { # extra env assignments...
    PEBBLE_RUN=$((PEBBLE_RUN + 1))
    env PEBBLE_WFE_NONCEREJECT=0 "$@" "$PEBBLE" -config "$TMP/pebble.json" \
        -dnsserver "127.0.0.1:$DNS_PORT" > "$TMP/pebble.$PEBBLE_RUN.log" 2>&1 &
    PEBBLE_PID=$!
    wait_port "$ACME_PORT" || fail "pebble did not start"
}

stop_pebble() {
    if [ -n "$PEBBLE_PID" ]; then
        kill "$PEBBLE_PID" 2>/dev/null || true
        wait "$PEBBLE_PID" 2>/dev/null || true
        PEBBLE_PID=""
    fi
}

RUN=0
a2() { # a2md with the store, the test root and the CA
    "$A2MD" -d "$STORE" -C "$TMP/root.pem" -a "$DIR_URL" "$@"
}

prep() { # name [domain...]: an MD with a contact that agreed to the terms of service
    a2 add "$@" > /dev/null || fail "add $*"
    a2 update "$1" contacts admin@example.org > /dev/null || fail "update $1 contacts"
    a2 update "$1" agreement accepted > /dev/null || fail "update $1 agreement"
}

drive() { # name... ; extra drive options in DRIVE_OPTS
    RUN=$((RUN + 1))
    LOG="$TMP/a2md.$RUN.log"
    # shellcheck disable=SC2086
    if ! a2 -vv drive ${DRIVE_OPTS:-} "$@" > "$LOG" 2>&1; then
        tail -30 "$LOG"
        return 1
    fi
}

check_live() { # name pubcert-file domains...
    local name=$1 cert=$2; shift 2
    local f="$STORE/domains/$name/$cert"
    [ -f "$f" ] || fail "$name: no $f"
    [ ! -d "$STORE/staging/$name" ] || fail "$name: staging/$name left behind"
    for d in "$@"; do
        openssl x509 -in "$f" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$d" \
            || fail "$name: certificate does not cover $d"
    done
    [ "$(grep -c 'BEGIN CERTIFICATE' "$f")" -ge 2 ] || fail "$name: $cert holds no chain"
}

# ---- 1. two MDs in parallel share one new account (the cache); several names --------------------
start_pebble PEBBLE_VA_NOSLEEP=1
prep multi.example.org www.multi.example.org a.multi.example.org
prep multi2.example.org
drive multi.example.org multi2.example.org || fail "drive two MDs"
check_live multi.example.org pubcert.pem multi.example.org www.multi.example.org \
    a.multi.example.org
check_live multi2.example.org pubcert.pem multi2.example.org
[ "$(grep -c 'created account' "$LOG")" = 1 ] || fail "parallel MDs did not share one account"
[ "$(ls "$STORE/accounts")" = "ACME-127.0.0.1-0000" ] \
    || fail "expected one installed account, got: $(ls "$STORE/accounts")"
grep -q "ca-url" "$STORE/accounts/ACME-127.0.0.1-0000/account.json" || fail "account.json lacks ca-url"
for n in multi.example.org multi2.example.org; do
    grep -q "ACME-127.0.0.1-0000" "$STORE/domains/$n/md.json" || fail "$n: md.json lacks the account"
done
grep -q "BEGIN PRIVATE KEY" "$STORE/domains/multi.example.org/privkey.pem" \
    || fail "live key is not a plain PEM"
[ "$(stat -c %a "$STORE/domains/multi.example.org/privkey.pem")" = 600 ] || fail "live key not 0600"
[ ! -f "$STORE/domains/multi.example.org/account.pem" ] || fail "account key went to domains/"
[ -z "$(ls -A "$STORE/challenges")" ] || fail "challenge answers left behind"
ok "two MDs in parallel with one account, several names"

# ---- 2. the installed account is used again; list ------------------------------------------------
prep one.example.org
drive one.example.org || fail "drive one name"
check_live one.example.org pubcert.pem one.example.org
grep -q "using account ACME-127.0.0.1-0000" "$LOG" || fail "installed account not used"
a2 list > "$TMP/list.log" 2>&1 || fail "list"
grep -q "md: one.example.org \[one.example.org\]" "$TMP/list.log" || fail "list misses one.example.org"
ok "account reuse, list"

# ---- 3. EC key, and RSA + EC -------------------------------------------------------------------------
prep ec.example.org
a2 update ec.example.org privkeys secp256r1 > /dev/null || fail "update privkeys"
drive ec.example.org || fail "drive EC"
check_live ec.example.org pubcert.secp256r1.pem ec.example.org
openssl x509 -in "$STORE/domains/ec.example.org/pubcert.secp256r1.pem" -noout -text \
    | grep -q "id-ecPublicKey" || fail "EC certificate has no EC key"
prep both.example.org
a2 update both.example.org privkeys RSA secp384r1 > /dev/null || fail "update privkeys"
drive both.example.org || fail "drive RSA+EC"
check_live both.example.org pubcert.pem both.example.org
check_live both.example.org pubcert.secp384r1.pem both.example.org
ok "EC and RSA+EC key specs"

# ---- 4. a new CA rejecting half the nonces; the installed account is unknown there ---------------
stop_pebble
start_pebble PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=50
prep nonce.example.org nonce2.example.org
# Each request is retried on badNonce; at 50% a job still fails now and then, and is run again
# as the module's job would be, continuing the staged order.
NONCE_OK=0
for attempt in 1 2 3 4; do
    if drive nonce.example.org; then
        NONCE_OK=1
        break
    fi
    grep -q "badNonce" "$LOG" || fail "drive with 50% bad nonces failed otherwise"
    echo "acme_e2e: note: job failed on bad nonces (attempt $attempt), running it again"
    [ $attempt = 1 ] && cp "$LOG" "$TMP/nonce-first.log"
done
[ $NONCE_OK = 1 ] || fail "drive with 50% bad nonces"
check_live nonce.example.org pubcert.pem nonce.example.org nonce2.example.org
grep -q "not usable at the CA" "$TMP"/a2md.*.log || fail "unknown account not detected"
grep -q "bad nonce for" "$TMP"/a2md.*.log || fail "no bad nonce retried at 50% rejection"
ok "bad nonces, unknown account replaced"

# ---- 5. resume: poll timeout while the CA sleeps, then continue the staged order -------------------
stop_pebble
start_pebble PEBBLE_VA_SLEEPTIME=3 PEBBLE_AUTHZREUSE=0
RESUMED=0
for i in 1 2 3 4 5; do
    name="resume$i.example.org"
    prep "$name"
    if DRIVE_OPTS="--timeout 200ms" drive "$name"; then
        continue # the CA was quick this time
    fi
    grep -q "polling timed out" "$LOG" || fail "$name: unexpected failure"
    [ -f "$STORE/staging/$name/order.json" ] || fail "$name: no order.json after timeout"
    drive "$name" || fail "$name: resumed drive"
    grep -q "resuming order" "$LOG" || fail "$name: order not resumed"
    check_live "$name" pubcert.pem "$name"
    RESUMED=1
    break
done
[ $RESUMED = 1 ] || fail "never got a poll timeout to test resuming"
ok "resume of a staged order"

# ---- 6. terms of service not accepted ------------------------------------------------------------
stop_pebble
start_pebble PEBBLE_VA_NOSLEEP=1
RUN=$((RUN + 1))
a2 add tos.example.org > /dev/null && a2 update tos.example.org contacts admin@example.org \
    > /dev/null || fail "add tos"
if a2 drive tos.example.org > "$TMP/a2md.$RUN.log" 2>&1; then
    fail "drive without accepting the terms of service succeeded"
fi
grep -q "terms of service" "$TMP/a2md.$RUN.log" || fail "no terms of service hint"
ok "terms of service must be accepted"

# ---- 7. not an ACME directory ------------------------------------------------------------------------
RUN=$((RUN + 1))
prep bad.example.org
a2 update bad.example.org ca "https://127.0.0.1:$ACME_PORT/nonce-plz" > /dev/null \
    || fail "update ca"
if a2 drive bad.example.org > "$TMP/a2md.$RUN.log" 2>&1; then
    fail "drive against a non-directory succeeded"
fi
grep -q "not an ACME directory" "$TMP/a2md.$RUN.log" || fail "no clear error for a non-directory"
ok "not an ACME directory"

echo "acme_e2e: all passed"
