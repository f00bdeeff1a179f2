#!/usr/bin/env bash
# Runs the real Simple JWT (../shared/reference) and Tessera side by side with the same
# key, users and settings, and diffs their answers to the same requests
# (tools/compare_reference.py). Needs python3; installs the reference's venv on first use.
#
#   tools/compare-reference.sh            # ports 18000 (reference) and 18001 (tessera)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REF="${REF_DIR:-$ROOT/../shared/reference}"
REF_PORT="${REF_PORT:-18000}"
TES_PORT="${TES_PORT:-18001}"
WORK="$(mktemp -d)"
KEY="reference-only-insecure-signing-key-do-not-deploy"

cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera"

REF_RESET_DB=1 "$REF/setup.sh" >/dev/null
PORT="$REF_PORT" WORKERS=2 "$REF/run.sh" >/dev/null

export TESSERA_SIGNING_KEY="$KEY" TESSERA_ROTATE_REFRESH_TOKENS=true \
    TESSERA_BLACKLIST_AFTER_ROTATION=true TESSERA_LOG=warn \
    TESSERA_AUTH_TOKEN_CLASSES='["AccessToken","SlidingToken"]'
cd "$WORK"
"$BIN" seed-demo >/dev/null
"$BIN" serve --bind "127.0.0.1:$TES_PORT" >/dev/null &
TES_PID=$!
cleanup() { kill "$TES_PID" 2>/dev/null || true; PORT="$REF_PORT" "$REF/stop.sh" >/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$TES_PORT/api/health/" && break; sleep 0.1; done

python3 "$ROOT/tools/compare_reference.py" --key "$KEY" \
    --ref "http://127.0.0.1:$REF_PORT" --tessera "http://127.0.0.1:$TES_PORT"
