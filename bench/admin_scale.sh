#!/usr/bin/env bash
# The admin page at scale: fills a database with USERS users (100,000) and TOKENS
# outstanding tokens (10,000,000; one session each, issued a second apart, every tenth
# blacklisted, the oldest tenth expired), starts the release `tessera serve` on it, signs in as staff and prints the
# time of every admin page (the median of 5 requests, over real HTTP on loopback).
#
#   bench/admin_scale.sh                       # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/admin_scale.sh
#   USERS=10000 TOKENS=1000000 bench/admin_scale.sh     # smaller
#
# Set CARGO_TARGET_DIR to reuse a release build. Needs sqlite3 or psql, and curl.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
USERS="${USERS:-100000}"
TOKENS="${TOKENS:-10000000}"
PORT="${PORT:-8931}"
WORK="$(mktemp -d)"
DB=""
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "$DB" ] && psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && cargo build --release --bin tessera -q)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera"
export TESSERA_LOG=warn TESSERA_SIGNING_KEY="admin-scale-bench-key-0123456789abcdef"
if [ -n "${DATABASE_URL:-}" ]; then
    DB="tessera_admin_bench_$$"
    psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE $DB" >/dev/null
    export TESSERA_DATABASE_URL="${DATABASE_URL%/*}/$DB"
    KIND=postgres
else
    export TESSERA_DATABASE_URL="sqlite://$WORK/tessera.sqlite3"
    KIND=sqlite
fi
cd "$WORK"
"$BIN" migrate >/dev/null
echo 'bench-root-pass-1' | "$BIN" createsuperuser --username root --password-stdin >/dev/null

echo "filling $KIND: $USERS users, $TOKENS tokens (one session each; 10% blacklisted, the oldest 10% expired)"
start=$(date +%s)
if [ "$KIND" = sqlite ]; then
    sqlite3 "$WORK/tessera.sqlite3" <<SQL
PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS)
INSERT INTO auth_user (password, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name)
SELECT 'pbkdf2_sha256\$1\$salt\$aGFzaA==', 0, 'user' || i, '', 'user' || i || '@example.com', 0, i % 50 <> 0, '2026-01-01 00:00:00', '' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TOKENS)
INSERT INTO tessera_token_family (id, user_id, created_at, revoked_at, user_key)
SELECT printf('%032x', i), 2 + (i % $USERS), '2026-06-01 00:00:00', NULL, CAST(2 + (i % $USERS) AS text) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TOKENS)
INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti)
SELECT 'eyJhbGciOiJIUzI1NiJ9.e30', datetime('2026-06-01', '+' || i || ' seconds'),
       CASE WHEN i <= $TOKENS / 10 THEN datetime('2026-01-01', '+' || i || ' seconds')
            ELSE datetime('2036-01-01', '+' || i || ' seconds') END,
       2 + (i % $USERS), printf('%032x', i) FROM n;
INSERT INTO tessera_token (token_id, family_id) SELECT id, printf('%032x', id) FROM token_blacklist_outstandingtoken WHERE id <= $TOKENS;
INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id)
SELECT '2026-06-02 00:00:00', id FROM token_blacklist_outstandingtoken WHERE id % 10 = 5;
COMMIT;
ANALYZE;
SQL
else
    psql "$TESSERA_DATABASE_URL" -q <<SQL
INSERT INTO auth_user (password, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name)
SELECT 'pbkdf2_sha256\$1\$salt\$aGFzaA==', false, 'user' || i, '', 'user' || i || '@example.com', false, i % 50 <> 0, '2026-01-01', '' FROM generate_series(1, $USERS) i;
INSERT INTO tessera_token_family (id, user_id, created_at, revoked_at, user_key)
SELECT lpad(to_hex(i), 32, '0'), 2 + (i % $USERS), '2026-06-01', NULL, (2 + (i % $USERS))::text FROM generate_series(1, $TOKENS) i;
INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti)
SELECT 'eyJhbGciOiJIUzI1NiJ9.e30', timestamptz '2026-06-01' + i * interval '1 second',
       CASE WHEN i <= $TOKENS / 10 THEN timestamptz '2026-01-01' + i * interval '1 second'
            ELSE timestamptz '2036-01-01' + i * interval '1 second' END,
       2 + (i % $USERS), lpad(to_hex(i), 32, '0') FROM generate_series(1, $TOKENS) i;
INSERT INTO tessera_token (token_id, family_id) SELECT id, lpad(to_hex(id), 32, '0') FROM token_blacklist_outstandingtoken WHERE id <= $TOKENS;
INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id)
SELECT '2026-06-02', id FROM token_blacklist_outstandingtoken WHERE id % 10 = 5;
VACUUM ANALYZE;
SQL
fi
echo "filled in $(( $(date +%s) - start )) s"

"$BIN" serve --bind "127.0.0.1:$PORT" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health/" && break; sleep 0.1; done
BASE="http://localhost:$PORT"
curl -s -c "$WORK/jar" -o /dev/null -H 'Sec-Fetch-Site: same-origin' \
    -d 'username=root&password=bench-root-pass-1' "$BASE/admin/login/"

# A user in the middle, and a token id deep in the ledger.
MID_USER=$(( USERS / 2 + 2 ))
MID_JTI=$(printf '%032x' $(( TOKENS / 2 + 1 )))
DEEP=$(( TOKENS / 2 ))
time_page() { # label path
    local times=()
    for _ in 1 2 3 4 5; do
        local code t
        read -r code t < <(curl -s -b "$WORK/jar" -o /dev/null -w '%{http_code} %{time_total}\n' "$BASE$2")
        [ "$code" = 200 ] || { echo "$1: HTTP $code" >&2; return 1; }
        times+=("$t")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk -v l="$1" '{printf "| %-44s | %7.1f ms |\n", l, $1 * 1000}'
}
echo
echo "admin pages on $KIND, $USERS users, $TOKENS outstanding tokens (median of 5)"
echo "| page | time |"
echo "| --- | ---: |"
time_page "users, first page" "/admin/users/"
time_page "users, page after id $(( USERS / 2 ))" "/admin/users/?after=$(( USERS / 2 ))"
time_page "users, search 'user4242'" "/admin/users/?q=user4242"
time_page "users, inactive only" "/admin/users/?active=no"
time_page "a user's page (sessions)" "/admin/users/$MID_USER/"
time_page "tokens, newest" "/admin/tokens/"
time_page "tokens, deep keyset page" "/admin/tokens/?order=newest&after=$DEEP:$DEEP"
time_page "tokens, blacklisted" "/admin/tokens/?state=blacklisted"
time_page "tokens, live" "/admin/tokens/?state=live"
time_page "tokens, expired" "/admin/tokens/?state=expired"
time_page "tokens, soonest expiry first" "/admin/tokens/?order=expires-first"
time_page "tokens of one user" "/admin/tokens/?user=user4242"
time_page "tokens, by jti" "/admin/tokens/?jti=$MID_JTI"
time_page "flush page (counts expired rows)" "/admin/tokens/flush/"
time_page "audit log" "/admin/audit/"
time_page "audit log, one actor" "/admin/audit/?q=root"
