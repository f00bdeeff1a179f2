#!/usr/bin/env bash
# Tessera against the real Simple JWT, side by side in one run (../shared/bench/compare.sh):
# builds Tessera (release), seeds the demo users on a fresh data directory, starts it
# pinned to CPU 0 (the reference is pinned there too; wrk runs on CPU 1), runs every
# scenario A B A B, prints the ratios, and stops both.
#
#   bench/compare.sh [--rounds 3] [--duration 10] [--scenarios me,verify,...]
#   HASHER=pbkdf2_sha256 bench/compare.sh    # the reference's hasher and 1,000,000 iterations
#   DATABASE_URL=postgres://… bench/compare.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
PORT="${PORT:-18080}"
HASHER="${HASHER:-argon2}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
[ -x "/tmp/simplejwt-ref-venv/bin/gunicorn" ] || "$SHARED/reference/setup.sh" >&2
cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera"
WORK="$(mktemp -d)"
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
# The reference's configuration: rotation with blacklisting, access and sliding tokens.
export TESSERA_ROTATE_REFRESH_TOKENS=true TESSERA_BLACKLIST_AFTER_ROTATION=true \
    TESSERA_AUTH_TOKEN_CLASSES='["AccessToken","SlidingToken"]' TESSERA_LOG=warn \
    TESSERA_PASSWORD_HASHER="$HASHER" TESSERA_LOGIN_FAILURES_PER_IP=0
"$BIN" seed-demo >/dev/null
taskset -c 0 "$BIN" serve --bind "127.0.0.1:$PORT" >/dev/null &
PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health/" && break; sleep 0.1; done
"$SHARED/bench/compare.sh" --b-base "http://127.0.0.1:$PORT" --b-pid "$PID" --label-b tessera "$@"
