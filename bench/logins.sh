#!/usr/bin/env bash
# Argon2id logins against what the machine allows: first the hashing ceiling (verifies/s
# on 1 and on all cores, `examples/hash_throughput.rs`), then POST /api/token/ from 4
# connections against Tessera on all cores, ROUNDS times; prints logins/s and their share
# of cores / one-hash-time.
#
#   bench/logins.sh [ROUNDS] [SECONDS]                 # default 3 rounds of 10 s
#   HASHER=pbkdf2_sha256 bench/logins.sh               # the reference's hasher
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
ROUNDS="${1:-3}"
DURATION="${2:-10}"
HASHER="${HASHER:-argon2}"
PORT="${PORT:-18086}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
cargo build --release -p tessera-core --example hash_throughput \
    --manifest-path "$ROOT/Cargo.toml" >&2
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
WORK="$(mktemp -d)"
trap 'kill ${PID:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$TARGET/examples/hash_throughput" "$HASHER" 5 | tee "$WORK/ceiling"
cd "$WORK"
export TESSERA_LOG=warn TESSERA_LOGIN_FAILURES_PER_IP=0 TESSERA_PASSWORD_HASHER="$HASHER"
"$TARGET/tessera" seed-demo >/dev/null
"$TARGET/tessera" serve --bind "127.0.0.1:$PORT" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health/" && break; sleep 0.1; done
SCENARIOS="$(for _ in $(seq "$ROUNDS"); do printf login,; done)"
SCENARIOS="${SCENARIOS%,}"
"$SHARED/bench/bench.sh" --base "http://127.0.0.1:$PORT" --server-pid "$PID" \
    --duration "$DURATION" --scenarios "$SCENARIOS" | tee "$WORK/logins"
python3 - "$WORK/ceiling" "$WORK/logins" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.split() and l.split()[0].isdigit()]
one_ms = float(rows[0][2])
cores = int(rows[-1][0])
ceiling = cores * 1000 / one_ms
rates = [float(l.split()[3]) for l in open(sys.argv[2]) if l.startswith("login ")]
m = statistics.median(rates)
print(f"one hash {one_ms:.2f} ms, {cores} cores: ceiling {ceiling:.1f}/s; "
      f"logins {m:.1f}/s (median of {len(rates)}: {', '.join(f'{r:.1f}' for r in rates)}) "
      f"= {100 * m / ceiling:.1f} % of cores / one-hash-time")
PY
