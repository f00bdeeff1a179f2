#!/usr/bin/env bash
# Two Tessera instances on one PostgreSQL database, load spread over both: one wrk per
# instance at the same time (../shared/bench/bench.sh), nothing pinned (two cores hold
# both servers, PostgreSQL and the load generators). Prints each instance's figures and
# the sum per scenario.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/two_instances.sh [SECONDS] [SCENARIOS]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
DURATION="${1:-8}"
SCENARIOS="${2:-me,verify,refresh}"
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server (its postgres database)}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
if [ -z "${BENCH_BIN:-}" ]; then
    cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
fi
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera}"
WORK="$(mktemp -d)"
DB="tessera_two_$$"
ADMIN="${DATABASE_URL%/*}/postgres"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
psql "$ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
export TESSERA_DATABASE_URL="${DATABASE_URL%/*}/$DB" TESSERA_LOG=warn \
    TESSERA_ROTATE_REFRESH_TOKENS=true TESSERA_BLACKLIST_AFTER_ROTATION=true \
    TESSERA_LOGIN_FAILURES_PER_IP=0 TESSERA_SIGNING_KEY="a-shared-bench-signing-key-of-32-bytes-or-more"
cd "$WORK"
"$BIN" seed-demo >/dev/null
for port in 18101 18102; do
    "$BIN" serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/health/" && break; sleep 0.1; done
done
"$SHARED/bench/bench.sh" --base http://127.0.0.1:18101 --server-pid "${PIDS[0]}" \
    --duration "$DURATION" --scenarios "$SCENARIOS" --connections 8 >one.txt 2>&1 &
W1=$!
"$SHARED/bench/bench.sh" --base http://127.0.0.1:18102 --server-pid "${PIDS[1]}" \
    --duration "$DURATION" --scenarios "$SCENARIOS" --connections 8 >two.txt 2>&1 &
W2=$!
wait "$W1" "$W2"
echo "== instance 1"; grep -E '^(me|verify|refresh|health|login)' one.txt || cat one.txt
echo "== instance 2"; grep -E '^(me|verify|refresh|health|login)' two.txt || cat two.txt
python3 - one.txt two.txt <<'PY'
import sys
tot = {}
for f in sys.argv[1:]:
    for line in open(f):
        p = line.split()
        if len(p) > 3 and p[0] in ("health", "me", "verify", "refresh", "login"):
            try:
                tot[p[0]] = tot.get(p[0], 0.0) + float(p[3])
            except ValueError:
                pass
for k, v in tot.items():
    print(f"{k:<8} both instances together: {v:,.0f} 2xx/s")
PY
