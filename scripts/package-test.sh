#!/usr/bin/env bash
# Builds the Debian package (`cargo deb`), installs it with dpkg -i, and uses it as an
# operator would: the files and their modes, the hardened unit, `tessera check` and a
# login against `tessera serve` run as the service's user with the unit's environment;
# then removes and purges it. Needs root (dpkg).
#
#   scripts/package-test.sh            # packages the release build (cargo deb builds it)
#   scripts/package-test.sh --dev      # packages the dev binary already built (CI: the
#                                      # package's contents and scripts are what is tested)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
if ! command -v cargo-deb >/dev/null 2>&1; then
    # Once per machine (a few minutes); PyPI's prebuilt one is too old for this
    # workspace's `resolver = "3"`.
    cargo install cargo-deb --locked
fi
OUT="$TARGET/debian"
rm -rf "$OUT"
if [ "${1:-}" = "--dev" ]; then
    cargo build -p tessera-server --bin tessera --locked
    cargo deb -p tessera-server --no-build --profile dev --deb-revision "" -o "$OUT/"
else
    cargo deb -p tessera-server --locked --deb-revision "" -o "$OUT/" 2>/dev/null \
        || cargo deb -p tessera-server --deb-revision "" -o "$OUT/"
fi
DEB=$(ls "$OUT"/tessera_*.deb)
echo "built $DEB"
dpkg-deb --info "$DEB" | sed -n '/Package/,/Description/p'

stop_server() {
    pkill -TERM -u tessera -f 'tessera serve' 2>/dev/null || true
    for _ in $(seq 50); do pgrep -u tessera >/dev/null 2>&1 || return 0; sleep 0.1; done
    pkill -KILL -u tessera 2>/dev/null || true
}
cleanup() {
    stop_server
    dpkg --purge tessera >/dev/null 2>&1 || true
}
trap cleanup EXIT
dpkg --purge tessera >/dev/null 2>&1 || true
dpkg -i "$DEB"

fail() { echo "package test: $*" >&2; exit 1; }
[ -x /usr/bin/tessera ] || fail "no /usr/bin/tessera"
id tessera >/dev/null || fail "no tessera user"
[ "$(stat -c '%a %U' /var/lib/tessera)" = "700 tessera" ] || fail "/var/lib/tessera: $(stat -c '%a %U' /var/lib/tessera)"
[ "$(stat -c '%a %G' /etc/tessera/tessera.toml)" = "640 tessera" ] || fail "tessera.toml: $(stat -c '%a %G' /etc/tessera/tessera.toml)"
UNIT=/lib/systemd/system/tessera.service
[ -f "$UNIT" ] || UNIT=/usr/lib/systemd/system/tessera.service
for line in "User=tessera" "ProtectSystem=strict" "NoNewPrivileges=yes" "StateDirectory=tessera" \
    "ExecReload=/bin/kill -HUP \$MAINPID"; do
    grep -qxF "$line" "$UNIT" || fail "the unit lacks $line"
done
dpkg -L tessera | grep -q /usr/share/doc/tessera/deployment.md || fail "no docs"

# As the unit runs it: its user, its environment, its working directory.
as_service() {
    runuser -u tessera -- env --chdir=/var/lib/tessera TESSERA_CONFIG=/etc/tessera/tessera.toml \
        TESSERA_DATA_DIR=/var/lib/tessera TESSERA_LOG=warn "$@"
}
as_service /usr/bin/tessera check
echo 'ops-pass-123-x' | as_service /usr/bin/tessera createsuperuser --username ops \
    --email ops@example.com --password-stdin
PORT=18777
as_service /usr/bin/tessera serve --bind "127.0.0.1:$PORT" >/dev/null 2>&1 &
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/health/" && break; sleep 0.1; done
BODY=$(curl -sf -H 'Content-Type: application/json' \
    -d '{"username":"ops","password":"ops-pass-123-x"}' "http://127.0.0.1:$PORT/api/token/")
echo "$BODY" | grep -q '"access"' || fail "no token pair: $BODY"
[ "$(stat -c '%U' /var/lib/tessera/tessera.sqlite3)" = "tessera" ] || fail "the database is not the service's"
stop_server

# An upgrade keeps the operator's configuration; a purge removes the user and the state.
echo '# edited by the operator' >> /etc/tessera/tessera.toml
dpkg -i --force-confold "$DEB" >/dev/null
grep -q 'edited by the operator' /etc/tessera/tessera.toml || fail "reinstall replaced the configuration"
dpkg --purge tessera >/dev/null
! id tessera >/dev/null 2>&1 || fail "purge left the tessera user"
[ ! -e /var/lib/tessera ] || fail "purge left /var/lib/tessera"
echo "package test: installed, checked, logged in, upgraded, purged"
