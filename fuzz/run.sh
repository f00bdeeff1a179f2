#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 60) with libFuzzer.
# Uses the stable toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly flags).
# Needs: cargo install cargo-fuzz. Prints each target's final statistics line.
#   fuzz/run.sh            # every target, 60 s each
#   fuzz/run.sh 300 token_decode
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(token_decode auth_header request_body django_hash config_loader)
export RUSTC_BOOTSTRAP=1
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t"
    echo "=== $t (${SECONDS_EACH}s)"
    cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -max_len=16384 -rss_limit_mb=2048 2>&1 \
        | grep -E "^(#[0-9]+\s+DONE|Done|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" || true
done
