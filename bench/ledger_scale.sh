#!/usr/bin/env bash
# Rotating-refresh throughput with an empty ledger and with a large one (default 10 M
# outstanding and 1 M blacklisted tokens), same binary, same run; then times
# `tessera flushexpiredtokens` on the large ledger with the server running.
#   bench/ledger_scale.sh [OUTSTANDING] [DURATION]
# Needs sqlite3 and wrk; the large database takes a few GiB in a temporary directory.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
ROWS="${1:-10000000}"
DURATION="${2:-8}"
cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera"
WORK="$(mktemp -d)"
trap 'kill ${PID:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_ROTATE_REFRESH_TOKENS=true TESSERA_BLACKLIST_AFTER_ROTATION=true TESSERA_LOG=warn \
    TESSERA_LOGIN_FAILURES_PER_IP=0
mkdir -p "$WORK/empty" && (cd "$WORK/empty" && "$BIN" seed-demo >/dev/null)
cp -r "$WORK/empty" "$WORK/large"
DB="$WORK/large/tessera-data/tessera.sqlite3"
echo "filling the ledger: $ROWS outstanding, $((ROWS / 10)) blacklisted, half of them expired" >&2
start=$(date +%s)
sqlite3 "$DB" <<SQL
PRAGMA synchronous=OFF;
INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti, family_id)
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
SELECT 'synthetic', '2026-01-01 00:00:00.000000',
       CASE WHEN x % 2 = 0 THEN '2000-01-01 00:00:00.000000' ELSE '2099-01-01 00:00:00.000000' END,
       NULL, printf('%032x', x), NULL FROM c;
INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason)
SELECT '2026-01-01 00:00:00.000000', id, 'logout' FROM token_blacklist_outstandingtoken WHERE id % 10 = 0;
SQL
echo "filled in $(( $(date +%s) - start )) s; database $(du -h "$DB" | cut -f1)" >&2
run() {
    local dir="$1" port="$2"
    (cd "$dir" && exec "$BIN" serve --bind "127.0.0.1:$port" >/dev/null 2>&1) &
    PID=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/health/" && break; sleep 0.1; done
    "$SHARED/bench/bench.sh" --base "http://127.0.0.1:$port" --server-pid "$PID" --duration "$DURATION" \
        --scenarios refresh,me 2>&1 | grep -E "^(refresh|me) "
}
echo "== empty ledger"; run "$WORK/empty" 18301; kill "$PID"; wait "$PID" 2>/dev/null || true
echo "== large ledger"; run "$WORK/large" 18302
echo "== flushexpiredtokens on the large ledger while the server serves"
( cd "$WORK/large" && /usr/bin/time -f "flush: %e s, max RSS %M KiB" "$BIN" flushexpiredtokens )
kill "$PID"
