#!/usr/bin/env bash
# The test command (README.md): every unit, integration and doc test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
# The Django cut-over test: the real Simple JWT (from PyPI, via ../shared/reference) and
# Tessera on one SQLite file and one PostgreSQL database.
bash tests/django-cutover/run.sh
