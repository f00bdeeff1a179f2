#!/usr/bin/env bash
# What authentication costs a protected route: GET /api/me/ against the same server's
# unauthenticated GET /api/health/, with the user check (the default) and with
# STATELESS_AUTHENTICATION (the token alone). Tessera pinned to CPU 0, wrk to CPU 1,
# health and me alternated ROUNDS times; prints the median of each and me/health.
#
#   bench/auth_overhead.sh [ROUNDS] [SECONDS]        # default 3 rounds of 5 s
#   BENCH_BIN=/path/to/tessera bench/auth_overhead.sh   # another build, not rebuilt
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
ROUNDS="${1:-3}"
DURATION="${2:-5}"
PORT="${PORT:-18085}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
if [ -z "${BENCH_BIN:-}" ]; then
    cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
fi
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/tessera}"
WORK="$(mktemp -d)"
trap 'kill ${PID:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
# The reference's claims (username, email), so the token is as long as a real one.
export TESSERA_USER_CLAIM_FIELDS='["username","email"]' TESSERA_LOG=warn \
    TESSERA_LOGIN_FAILURES_PER_IP=0
"$BIN" seed-demo >/dev/null
SCENARIOS="$(for _ in $(seq "$ROUNDS"); do printf health,me,; done)"
SCENARIOS="${SCENARIOS%,}"
for mode in user-check stateless; do
    stateless=false
    [ "$mode" = stateless ] && stateless=true
    TESSERA_STATELESS_AUTHENTICATION=$stateless taskset -c 0 "$BIN" serve \
        --bind "127.0.0.1:$PORT" >/dev/null 2>&1 &
    PID=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health/" && break
        sleep 0.1
    done
    "$SHARED/bench/bench.sh" --base "http://127.0.0.1:$PORT" --server-pid "$PID" --cpu 1 \
        --duration "$DURATION" --scenarios "$SCENARIOS" 2>&1 |
        awk -v mode="$mode" '$1 == "health" || $1 == "me" { print mode, $1, $4 }' >>results
    kill "$PID"
    wait "$PID" 2>/dev/null || true
done
python3 - results <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mode, scenario, rate = line.split()
    rows.setdefault((mode, scenario), []).append(float(rate))
print(f"{'mode':<11} {'health 2xx/s':>13} {'me 2xx/s':>10} {'me/health':>10}   (medians of {len(rows[('user-check', 'me')])} runs)")
for mode in ("user-check", "stateless"):
    h = statistics.median(rows[(mode, "health")])
    m = statistics.median(rows[(mode, "me")])
    print(f"{mode:<11} {h:>13,.0f} {m:>10,.0f} {100 * m / h:>9.1f} %")
PY
