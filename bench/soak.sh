#!/usr/bin/env bash
# Builds Tessera (release), starts it on a fresh data directory with the demo users and
# rotation on, runs bench/soak.py against it for DURATION seconds (default 60), stops it.
#   bench/soak.sh [DURATION]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DURATION="${1:-60}"
PORT="${PORT:-18090}"
cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera"
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
export TESSERA_ROTATE_REFRESH_TOKENS=true TESSERA_BLACKLIST_AFTER_ROTATION=true TESSERA_LOG=warn \
    TESSERA_LOGIN_FAILURES_PER_IP=0
"$BIN" seed-demo >/dev/null
"$BIN" serve --bind "127.0.0.1:$PORT" >/dev/null &
PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health/" && break; sleep 0.1; done
python3 "$ROOT/bench/soak.py" --base "http://127.0.0.1:$PORT" --duration "$DURATION" --pid "$PID"
