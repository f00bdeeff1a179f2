#!/usr/bin/env bash
# Two builds of Tessera side by side in one run: BEFORE (A) and AFTER (B), each with the
# reference's configuration on a fresh data directory (or the same DATABASE_URL scheme:
# each gets its own PostgreSQL database when DATABASE_URL is given), both pinned to CPU 0,
# wrk on CPU 1, scenarios alternated A B A B (../shared/bench/compare.sh with --a-base).
#
#   bench/before_after.sh BEFORE_BIN AFTER_BIN [compare.sh options: --rounds 2 --duration 8 …]
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/before_after.sh …
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
BEFORE="$1"; AFTER="$2"; shift 2
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
WORK="$(mktemp -d)"
PIDS=()
DBS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for db in "${DBS[@]}"; do psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
export TESSERA_ROTATE_REFRESH_TOKENS=true TESSERA_BLACKLIST_AFTER_ROTATION=true \
    TESSERA_AUTH_TOKEN_CLASSES='["AccessToken","SlidingToken"]' TESSERA_LOG=warn \
    TESSERA_PASSWORD_HASHER="${HASHER:-argon2}" TESSERA_LOGIN_FAILURES_PER_IP=0
start() { # name binary port
    mkdir -p "$WORK/$1"
    local url=""
    if [ -n "${DATABASE_URL:-}" ]; then
        local db="tessera_bench_$1_$$"
        psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE $db" >/dev/null
        DBS+=("$db")
        url="${DATABASE_URL%/*}/$db"
    fi
    (cd "$WORK/$1" && TESSERA_DATABASE_URL="${url:-sqlite://$WORK/$1/tessera.sqlite3}" "$2" seed-demo >/dev/null)
    (cd "$WORK/$1" && TESSERA_DATABASE_URL="${url:-sqlite://$WORK/$1/tessera.sqlite3}" \
        exec taskset -c 0 "$2" serve --bind "127.0.0.1:$3" >/dev/null 2>&1) &
    PIDS+=($!)
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$3/api/health/" && return; sleep 0.1; done
    echo "$1 did not start" >&2; exit 1
}
start before "$BEFORE" 18091
start after "$AFTER" 18092
"$SHARED/bench/compare.sh" --a-base http://127.0.0.1:18091 --a-pid "${PIDS[0]}" \
    --b-base http://127.0.0.1:18092 --b-pid "${PIDS[1]}" \
    --label-a before --label-b after --cpu 1 "$@"
