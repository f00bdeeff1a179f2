#!/usr/bin/env bash
# Argon2id logins against what the machine allows. First the hashing ceiling on every
# core (`examples/hash_throughput.rs`: verifies/s on 1..N threads at once), then ROUNDS
# rounds of: one-hash-time alone (SECONDS on one thread), then POST /api/token/ from 4
# connections for SECONDS against Tessera on all cores. Each round's logins/s is set
# against cores / one-hash-time measured just before it, because this VM's speed drifts
# by several per cent within minutes; prints each round and the median share.
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
"$TARGET/examples/hash_throughput" "$HASHER" 5
cd "$WORK"
export TESSERA_LOG=warn TESSERA_LOGIN_FAILURES_PER_IP=0 TESSERA_PASSWORD_HASHER="$HASHER"
"$TARGET/tessera" seed-demo >/dev/null
"$TARGET/tessera" serve --bind "127.0.0.1:$PORT" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health/" && break; sleep 0.1; done
CORES="$(nproc)"
for round in $(seq "$ROUNDS"); do
    "$TARGET/examples/hash_throughput" "$HASHER" "$DURATION" 1 >"$WORK/ceiling-$round"
    "$SHARED/bench/bench.sh" --base "http://127.0.0.1:$PORT" --server-pid "$PID" \
        --duration "$DURATION" --scenarios login >"$WORK/logins-$round"
    grep -E '^(# server|scenario|login )' "$WORK/logins-$round" | sed "s/^/round $round: /"
done
python3 - "$WORK" "$ROUNDS" "$CORES" <<'PY'
import statistics, sys
work, rounds, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
shares = []
for r in range(1, rounds + 1):
    row = [l.split() for l in open(f"{work}/ceiling-{r}") if l.split() and l.split()[0] == "1"][0]
    one_ms = float(row[2])
    rate = [float(l.split()[3]) for l in open(f"{work}/logins-{r}") if l.startswith("login ")][0]
    ceiling = cores * 1000 / one_ms
    shares.append(100 * rate / ceiling)
    print(f"round {r}: one hash {one_ms:.2f} ms, ceiling {ceiling:.1f}/s, "
          f"logins {rate:.1f}/s = {shares[-1]:.1f} %")
print(f"median of {rounds} rounds: {statistics.median(shares):.1f} % of cores / one-hash-time "
      f"(rounds: {', '.join(f'{s:.1f}' for s in shares)})")
PY
