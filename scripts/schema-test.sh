#!/usr/bin/env bash
# The OpenAPI document against the running server: `tessera serve` (the binary the
# tests built) on a fresh data directory, or on PostgreSQL with DATABASE_URL, in the
# default (bearer) mode and in the cookie mode; the served /api/schema/ checked by an
# independent validator (openapi-spec-validator), then schemathesis (a property-based
# fuzzer reading the schema) sends generated requests to every operation: no 5xx, every
# status code, content type and body as the schema says.
#
#   scripts/schema-test.sh [path/to/tessera]
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/schema-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(realpath "${1:-${CARGO_TARGET_DIR:-target}/debug/tessera}")"
VENV="${SCHEMA_TEST_VENV:-${TMPDIR:-/tmp}/tessera-schemathesis}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'schemathesis>=4,<5' 'openapi-spec-validator>=0.7'
fi
WORK="$(mktemp -d)"
PID=""
DB=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    [ -n "$DB" ] && psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

run() { # name, then TESSERA_ settings
    local name="$1"; shift
    local dir="$WORK/$name" url=""
    mkdir -p "$dir"
    if [ -n "${DATABASE_URL:-}" ]; then
        DB="tessera_schema_${name}_$$"
        psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE $DB" >/dev/null
        url="${DATABASE_URL%/*}/$DB"
    fi
    export TESSERA_DATABASE_URL="${url:-sqlite://$dir/tessera.sqlite3}" TESSERA_LOG=warn
    (cd "$dir" && env "$@" "$BIN" seed-demo >/dev/null)
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    (cd "$dir" && exec env "$@" "$BIN" serve --bind "127.0.0.1:$port" >"$dir/server.log" 2>&1) &
    PID=$!
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/api/health/" && break; sleep 0.1; done
    local base="http://127.0.0.1:$port"
    curl -sf "$base/api/schema/" -o "$dir/schema.json"
    "$VENV/bin/openapi-spec-validator" "$dir/schema.json"
    local token
    token=$(curl -sf -H 'Content-Type: application/json' \
        -d '{"username":"alice","password":"alice-pass"}' "$base/api/token/" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
    echo "schemathesis: $name ($TESSERA_DATABASE_URL)"
    # From the scratch directory: schemathesis keeps a cache where it runs.
    (cd "$dir" && "$VENV/bin/schemathesis" run "$base/api/schema/" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --header "Authorization: Bearer $token" --max-examples "${SCHEMA_TEST_EXAMPLES:-40}" \
        --seed 1 --no-color)
    if grep -E 'panicked' "$dir/server.log"; then
        echo "the server panicked" >&2
        exit 1
    fi
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    if [ -n "$DB" ]; then
        psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null; DB=""
    fi
}

run bearer TESSERA_ROTATE_REFRESH_TOKENS=true TESSERA_BLACKLIST_AFTER_ROTATION=true
run cookie TESSERA_AUTH_COOKIE_MODE=refresh TESSERA_AUTH_COOKIE_SECURE=false
echo "schema test: the document validates, and the server answered as it says"
