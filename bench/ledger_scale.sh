#!/usr/bin/env bash
# Rotating-refresh throughput with an empty ledger and with a large one (default 10 M
# outstanding and 1 M blacklisted tokens), same binary, same run; then times
# `tessera flushexpiredtokens` on the large ledger with the server running.
#   bench/ledger_scale.sh [OUTSTANDING] [DURATION]
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/ledger_scale.sh …
#   BENCH_BIN=/path/to/tessera bench/ledger_scale.sh …   # another build, not rebuilt
# Needs wrk, and sqlite3 (or psql with DATABASE_URL); the large database takes a few GiB.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
ROWS="${1:-10000000}"
DURATION="${2:-8}"
if [ -z "${BENCH_BIN:-}" ]; then
    cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
fi
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera}"
WORK="$(mktemp -d)"
export TESSERA_ROTATE_REFRESH_TOKENS=true TESSERA_BLACKLIST_AFTER_ROTATION=true TESSERA_LOG=warn \
    TESSERA_LOGIN_FAILURES_PER_IP=0
PG_ADMIN="${DATABASE_URL:-}"
DBS=()
cleanup() {
    kill ${PID:-} 2>/dev/null || true
    for db in "${DBS[@]}"; do psql "${PG_ADMIN%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
# A data directory (and, with DATABASE_URL=postgres://…, a database of its own) seeded
# with the demo users: prints the database URL.
prepare() { # name
    mkdir -p "$WORK/$1"
    local url="sqlite://$WORK/$1/tessera.sqlite3"
    if [ -n "$PG_ADMIN" ]; then
        local db="tessera_scale_$1_$$"
        psql "${PG_ADMIN%/*}/postgres" -qc "CREATE DATABASE $db" >/dev/null
        DBS+=("$db")
        url="${PG_ADMIN%/*}/$db"
    fi
    (cd "$WORK/$1" && TESSERA_DATABASE_URL="$url" "$BIN" seed-demo >/dev/null)
    echo "$url"
}
EMPTY_URL=$(prepare empty)
LARGE_URL=$(prepare large)
echo "filling the ledger: $ROWS outstanding, $((ROWS / 10)) blacklisted, half of them expired" >&2
start=$(date +%s)
if [ -n "$PG_ADMIN" ]; then
    psql "$LARGE_URL" -q <<SQL
SET synchronous_commit = off;
INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti)
SELECT 'synthetic', '2026-01-01', CASE WHEN x % 2 = 0 THEN timestamptz '2000-01-01' ELSE '2099-01-01' END,
       NULL, lpad(to_hex(x), 32, '0') FROM generate_series(1, $ROWS) AS x;
INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id)
SELECT '2026-01-01', id FROM token_blacklist_outstandingtoken WHERE id % 10 = 0;
VACUUM ANALYZE;
SQL
    echo "filled in $(( $(date +%s) - start )) s; database $(psql "$LARGE_URL" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))")" >&2
else
    DB="$WORK/large/tessera.sqlite3"
    sqlite3 "$DB" <<SQL
PRAGMA synchronous=OFF;
INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti)
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
SELECT 'synthetic', '2026-01-01 00:00:00.000000',
       CASE WHEN x % 2 = 0 THEN '2000-01-01 00:00:00.000000' ELSE '2099-01-01 00:00:00.000000' END,
       NULL, printf('%032x', x) FROM c;
INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id)
SELECT '2026-01-01 00:00:00.000000', id FROM token_blacklist_outstandingtoken WHERE id % 10 = 0;
SQL
    echo "filled in $(( $(date +%s) - start )) s; database $(du -h "$DB" | cut -f1)" >&2
fi
run() { # dir url port
    local dir="$1" url="$2" port="$3"
    (cd "$dir" && TESSERA_DATABASE_URL="$url" exec "$BIN" serve --bind "127.0.0.1:$port" >/dev/null 2>&1) &
    PID=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/health/" && break; sleep 0.1; done
    "$SHARED/bench/bench.sh" --base "http://127.0.0.1:$port" --server-pid "$PID" --duration "$DURATION" \
        --scenarios refresh,me 2>&1 | grep -E "^(refresh|me) "
}
echo "== empty ledger"; run "$WORK/empty" "$EMPTY_URL" 18301; kill "$PID"; wait "$PID" 2>/dev/null || true
echo "== large ledger"; run "$WORK/large" "$LARGE_URL" 18302
echo "== flushexpiredtokens on the large ledger while the server serves (refresh meanwhile)"
( cd "$WORK/large" && TESSERA_DATABASE_URL="$LARGE_URL" /usr/bin/time -f "flush: %e s, max RSS %M KiB" "$BIN" flushexpiredtokens ) &
FLUSH=$!
"$SHARED/bench/bench.sh" --base "http://127.0.0.1:18302" --server-pid "$PID" --duration "$DURATION" \
    --scenarios refresh,me 2>&1 | grep -E "^(refresh|me) " | sed 's/^/during flush: /'
wait "$FLUSH"
kill "$PID"
