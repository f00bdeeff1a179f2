#!/usr/bin/env bash
# The Django cut-over test (cutover.py): the real Simple JWT, installed from PyPI by
# ../shared/reference/setup.sh, and `tessera serve` on one database, on SQLite and on
# PostgreSQL (TEST_DATABASE_URL's server; a scratch database is made and dropped).
#
#   tests/django-cutover/run.sh            # both databases
#   tests/django-cutover/run.sh sqlite     # one
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
REF_DIR="${REF_DIR:-$ROOT/../shared/reference}"
if [ ! -x "$REF_DIR/setup.sh" ]; then
    echo "the reference Simple JWT deployment is missing: expected $REF_DIR (../shared/reference)" >&2
    exit 1
fi
export REF_DIR
export REF_VENV="${REF_VENV:-/tmp/simplejwt-ref-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --locked -q -p tessera-server --bin tessera
export TESSERA_BIN="$CARGO_TARGET_DIR/debug/tessera"

kinds=("${@:-sqlite postgres}")
status=0
for kind in ${kinds[*]}; do
    WORK=$(mktemp -d /tmp/tessera-cutover.XXXXXX)
    export WORK REF_HOME="$WORK/ref"
    # The Django database is $kind; import-django copies it into the other kind.
    admin="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
    db="cutover_$$_$RANDOM"
    psql "$admin" -qAtc "CREATE DATABASE $db" >/dev/null
    if [ "$kind" = postgres ]; then
        export CUTOVER_DATABASE_URL="${admin%/*}/$db"
        export CUTOVER_IMPORT_URL="sqlite://$WORK/own.sqlite3"
    else
        export CUTOVER_IMPORT_URL="${admin%/*}/$db"
    fi
    # Standard library only; setup.sh makes the reference's virtualenv on first use.
    python3 tests/django-cutover/cutover.py "$kind" || status=1
    psql "$admin" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
    if [ "$status" = 0 ]; then rm -rf "$WORK"; else echo "left $WORK for a look" >&2; fi
done
exit "$status"
