#!/usr/bin/env bash
# Builds Tessera, creates the demo users and reviews (idempotent), and runs the server
# on 127.0.0.1:8000 with its data in ./tessera-data. Extra arguments go to `tessera serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin tessera
BIN="${CARGO_TARGET_DIR:-target}/release/tessera"
"$BIN" seed-demo
exec "$BIN" serve "$@"
