"""The cut-over test: a Django project running Simple JWT and Tessera on one database.

Runs the real Simple JWT (the reference project of ../shared/reference, installed from
PyPI) and `tessera serve` side by side on the same SQLite file or PostgreSQL database,
with the same signing key, and checks what a team moving from Django relies on:

* `tessera check` and `migrate --plan` read the Django database without writing;
  `tessera migrate` leaves every Django table exactly as Django made it;
* users made by Django log in on Tessera, and users made by Tessera log in on Django;
* access and refresh tokens minted by either are accepted by the other;
* a rotation or a logout on either is refused by the other, with Simple JWT's codes;
* a password hash that Tessera upgrades on login still verifies in Django;
* `tessera import-django` copies users and ledger into a database of Tessera's own
  (the other kind), idempotently, and Django's sessions go on there;
* Tessera's `flushexpiredtokens` works on Django's tables (no database cascades), and
  Django's `migrate` and `flushexpiredtokens` still run after Tessera.

Usage: python cutover.py sqlite|postgres   (run.sh sets the environment up)
Environment: TESSERA_BIN, REF_VENV, REF_HOME, REF_DIR (shared/reference), WORK (a scratch
directory), CUTOVER_IMPORT_URL (an empty database of the other kind, for import-django),
and for postgres CUTOVER_DATABASE_URL (an empty database).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

KIND = sys.argv[1]
TESSERA = os.environ["TESSERA_BIN"]
REF_VENV = os.environ["REF_VENV"]
REF_HOME = os.environ["REF_HOME"]
REF_DIR = os.environ["REF_DIR"]
WORK = os.environ["WORK"]
# The reference project's SECRET_KEY, which Simple JWT signs with (HS256).
KEY = "cutover-test-shared-signing-key-0123456789abcdef"

if KIND == "sqlite":
    DB_URL = f"sqlite://{WORK}/django.sqlite3"
    REF_ENV = {"REF_DB_PATH": f"{WORK}/django.sqlite3"}
else:
    DB_URL = os.environ["CUTOVER_DATABASE_URL"]
    REF_ENV = {"REF_DATABASE_URL": DB_URL}

DJANGO_TABLES = [
    "auth_user",
    "auth_user_groups",
    "auth_user_user_permissions",
    "token_blacklist_outstandingtoken",
    "token_blacklist_blacklistedtoken",
]

FAILURES = []


def check(cond, what):
    print(("  ok    " if cond else "  FAIL  ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra):
    e = dict(os.environ)
    e.update(REF_ENV)
    e["REF_HOME"] = REF_HOME
    e["REF_VENV"] = REF_VENV
    e["REF_SECRET_KEY"] = KEY
    e.update(extra)
    return e


def tessera_env(db=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    e.update(
        {
            "TESSERA_DATABASE_URL": db or DB_URL,
            "TESSERA_SIGNING_KEY": KEY,
            "TESSERA_ROTATE_REFRESH_TOKENS": "true",
            "TESSERA_BLACKLIST_AFTER_ROTATION": "true",
            "TESSERA_AUTH_TOKEN_CLASSES": '["AccessToken", "SlidingToken"]',
            # Django's own list, PBKDF2 first: what Tessera writes, Django reads back
            # (this Django has neither argon2-cffi nor bcrypt).
            "TESSERA_PASSWORD_HASHERS": json.dumps(
                [
                    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
                    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
                    "django.contrib.auth.hashers.Argon2PasswordHasher",
                    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
                    "django.contrib.auth.hashers.ScryptPasswordHasher",
                ]
            ),
            "TESSERA_LOG": "warn",
        }
    )
    return e


def tessera(*args, stdin=None, ok=True, db=None):
    r = subprocess.run(
        [TESSERA, "--data-dir", f"{WORK}/tessera-data", *args],
        env=tessera_env(db),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok and r.returncode != 0:
        raise SystemExit(f"tessera {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r


def manage(*args, code=None):
    argv = [f"{REF_VENV}/bin/python", "manage.py", *args]
    if code is not None:
        argv += ["-c", code]
    r = subprocess.run(
        argv, cwd=f"{REF_HOME}/app", env=env(), capture_output=True, text=True, timeout=300
    )
    if r.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def django_sql(sql):
    """Rows of `sql`, run through Django's own connection."""
    code = (
        "import json\nfrom django.db import connection\n"
        f"c = connection.cursor(); c.execute({sql!r})\n"
        "print(json.dumps([list(r) for r in c.fetchall()], default=str))"
    )
    return json.loads(manage("shell", code=code).strip().splitlines()[-1])


def django_schema():
    names = ", ".join(f"'{t}'" for t in DJANGO_TABLES)
    if KIND == "sqlite":
        return django_sql(
            f"SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ({names}) ORDER BY name"
        )
    return {
        "columns": django_sql(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            f"FROM information_schema.columns WHERE table_name IN ({names}) "
            "ORDER BY table_name, column_name"
        ),
        "indexes": django_sql(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({names}) "
            "ORDER BY indexname"
        ),
        "constraints": django_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid::regclass::text IN ({names}) ORDER BY conname"
        ),
    }


def http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def wait_up(url, proc=None):
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            if proc is not None and proc.poll() is not None:
                raise SystemExit(f"server exited: {proc.returncode}")
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def login(base, username, password):
    return http("POST", f"{base}/api/token/", {"username": username, "password": password})


def stored_hash(username):
    return django_sql(f"SELECT password FROM auth_user WHERE username = '{username}'")[0][0]


def main():
    print(f"== Django + Simple JWT and Tessera on one {KIND} database")
    subprocess.run(
        [f"{REF_DIR}/setup.sh"], env=env(REF_RESET_DB="1"), check=True, capture_output=True
    )
    before = django_schema()

    r = tessera("check")
    check("Django project:     yes" in r.stdout, "tessera check recognises the Django project")
    check("5 pbkdf2_sha256: verified" in r.stdout, "tessera check reports the hashers in use")
    plan = tessera("migrate", "--plan").stdout
    check("auth_user exists" in plan and "never altered" in plan, "migrate --plan skips Django's tables")
    check(django_schema() == before, "check and migrate --plan wrote nothing")
    tessera("migrate")
    check(django_schema() == before, "tessera migrate left Django's tables exactly as they were")
    tessera("migrate")

    dj_port, ts_port = free_port(), free_port()
    dj = f"http://127.0.0.1:{dj_port}"
    ts = f"http://127.0.0.1:{ts_port}"
    subprocess.run(
        [f"{REF_DIR}/run.sh"], env=env(PORT=str(dj_port), WORKERS="2"), check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [TESSERA, "--data-dir", f"{WORK}/tessera-data", "serve", "--bind", f"127.0.0.1:{ts_port}"],
        env=tessera_env(),
    )
    try:
        wait_up(f"{ts}/api/health/", server)
        run_checks(dj, ts)
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run([f"{REF_DIR}/stop.sh"], env=env(PORT=str(dj_port)), capture_output=True)

    # After Tessera: Django's own commands still work on the shared tables.
    manage("migrate", "--noinput")
    check(django_schema() == before, "Django's tables are still as Django made them")
    manage("check")
    print(f"== {KIND}: {len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


def run_checks(dj, ts):
    # Users: Django's on Tessera, Tessera's on Django.
    s, ts_pair = login(ts, "alice", "alice-pass")
    check(s == 200 and {"access", "refresh"} <= set(ts_pair), "a Django user logs in on Tessera")
    s, body = login(ts, "inactive", "inactive-pass")
    check(s == 401, "an inactive Django user is refused by Tessera")
    tessera("createuser", "--username", "erin", "--email", "erin@example.com",
            "--password-stdin", stdin="erin-Pass-2024!\n")
    s, _ = login(dj, "erin", "erin-Pass-2024!")
    check(s == 200, "a user made by Tessera logs in on Django")
    s, dj_pair = login(dj, "alice", "alice-pass")
    check(s == 200, "Django logs alice in")

    # Access tokens, both ways.
    s, me = http("GET", f"{ts}/api/me/", token=dj_pair["access"])
    check(s == 200 and me.get("username") == "alice", "Tessera accepts Django's access token")
    s, me = http("GET", f"{dj}/api/me/", token=ts_pair["access"])
    check(s == 200 and me.get("username") == "alice", "Django accepts Tessera's access token")
    s, _ = http("POST", f"{dj}/api/token/verify/", {"token": ts_pair["refresh"]})
    check(s == 200, "Django verifies Tessera's refresh token")

    # Refresh across, with rotation: each blacklists what it rotated away.
    s, ts_rot = http("POST", f"{ts}/api/token/refresh/", {"refresh": dj_pair["refresh"]})
    check(s == 200 and "refresh" in ts_rot, "Tessera rotates Django's refresh token")
    s, body = http("POST", f"{dj}/api/token/refresh/", {"refresh": dj_pair["refresh"]})
    check(s == 401 and body.get("detail") == "Token is blacklisted",
          "Django refuses the token Tessera rotated away")
    s, dj_rot = http("POST", f"{dj}/api/token/refresh/", {"refresh": ts_rot["refresh"]})
    check(s == 200 and "refresh" in dj_rot, "Django rotates Tessera's refresh token")
    s, body = http("POST", f"{ts}/api/token/refresh/", {"refresh": ts_rot["refresh"]})
    check(s == 401 and body == {"detail": "Token is blacklisted", "code": "token_not_valid"},
          "Tessera refuses the token Django rotated away, with Simple JWT's body")
    s, again = http("POST", f"{ts}/api/token/refresh/", {"refresh": dj_rot["refresh"]})
    check(s == 200, "Tessera rotates the token Django minted in a rotation")

    # Logout on either is refused by the other.
    s, _ = http("POST", f"{dj}/api/token/blacklist/", {"refresh": again["refresh"]})
    check(s == 200, "Django blacklists Tessera's refresh token")
    s, body = http("POST", f"{ts}/api/token/refresh/", {"refresh": again["refresh"]})
    check(s == 401 and body.get("code") == "token_not_valid", "Tessera refuses what Django blacklisted")
    s, fresh = login(dj, "alice", "alice-pass")
    s, _ = http("POST", f"{ts}/api/token/blacklist/", {"refresh": fresh["refresh"]})
    check(s == 200, "Tessera blacklists Django's refresh token")
    s, body = http("POST", f"{dj}/api/token/refresh/", {"refresh": fresh["refresh"]})
    check(s == 401 and body.get("detail") == "Token is blacklisted", "Django refuses what Tessera blacklisted")
    s, body = http("POST", f"{dj}/api/token/verify/", {"token": fresh["refresh"]})
    check(s == 400 and body == {"non_field_errors": ["Token is blacklisted"]},
          "Django's verify sees Tessera's blacklisting")

    import_into_a_database_of_its_own(dj, fresh["refresh"])

    # A hash in an older format is upgraded by Tessera to one Django reads.
    manage("shell", code=(
        "from django.contrib.auth.models import User\n"
        "from django.contrib.auth.hashers import make_password\n"
        "User.objects.filter(username='frank').delete()\n"
        "User.objects.create(username='frank', email='frank@example.com',"
        " password=make_password('frank-pass', hasher='pbkdf2_sha1'))"
    ))
    check(stored_hash("frank").startswith("pbkdf2_sha1$"), "frank starts with a pbkdf2_sha1 hash")
    s, _ = login(ts, "frank", "frank-pass")
    check(s == 200, "a pbkdf2_sha1 user logs in on Tessera")
    check(stored_hash("frank").startswith("pbkdf2_sha256$"), "Tessera upgraded the hash to pbkdf2_sha256")
    s, _ = login(dj, "frank", "frank-pass")
    check(s == 200, "Django verifies the hash Tessera wrote")

    # Expired tokens: Tessera's flush on Django's tables (blacklisted rows included).
    expire_all()
    counts = django_sql(
        "SELECT (SELECT count(*) FROM token_blacklist_outstandingtoken), "
        "(SELECT count(*) FROM token_blacklist_blacklistedtoken)"
    )[0]
    check(counts[0] > 0 and counts[1] > 0, f"tokens to flush: {counts[0]} outstanding, {counts[1]} blacklisted")
    r = tessera("flushexpiredtokens")
    counts = django_sql(
        "SELECT (SELECT count(*) FROM token_blacklist_outstandingtoken), "
        "(SELECT count(*) FROM token_blacklist_blacklistedtoken), "
        "(SELECT count(*) FROM tessera_token), (SELECT count(*) FROM tessera_blacklist_reason)"
    )[0]
    check(counts == [0, 0, 0, 0], f"tessera flushexpiredtokens emptied the ledger ({counts})")

    # And Django's flush on rows Tessera wrote (its own rows go by their foreign keys).
    s, pair = login(ts, "alice", "alice-pass")
    s, rot = http("POST", f"{ts}/api/token/refresh/", {"refresh": pair["refresh"]})
    check(s == 200, "a new Tessera session, rotated once")
    expire_all()
    manage("flushexpiredtokens")
    counts = django_sql(
        "SELECT (SELECT count(*) FROM token_blacklist_outstandingtoken), "
        "(SELECT count(*) FROM tessera_token), (SELECT count(*) FROM tessera_blacklist_reason)"
    )[0]
    check(counts == [0, 0, 0], f"Django's flushexpiredtokens removed Tessera's rows too ({counts})")


def import_into_a_database_of_its_own(dj, blacklisted_refresh):
    """`tessera import-django`: Django's users and ledger copied to Tessera's own
    database; Django's sessions go on there."""
    s, live = login(dj, "bob", "bob-pass")
    check(s == 200, "Django logs bob in (a session to carry over)")
    target = os.environ["CUTOVER_IMPORT_URL"]
    r = tessera("import-django", "--from", DB_URL, "--dry-run", db=target)
    check("would copy 6, 0 already here" in r.stdout and "nothing was written" in r.stdout,
          "import-django --dry-run counts the users")
    if target.startswith("sqlite"):
        check(not os.path.exists(f"{WORK}/own.sqlite3"), "the dry run wrote nothing")
    r = tessera("import-django", "--from", DB_URL, db=target)
    check("copied 6, 0 already here" in r.stdout, "import-django copied the users")
    n = django_sql("SELECT count(*) FROM token_blacklist_outstandingtoken")[0][0]
    check(f"outstanding tokens: copied {n}, 0 already here" in r.stdout, f"and the {n} tokens")
    r = tessera("import-django", "--from", DB_URL, db=target)
    check("copied 0, 6 already here" in r.stdout and f"copied 0, {n} already here" in r.stdout,
          "a second import changes nothing")
    r = tessera("import-django", "--from", DB_URL, "--dry-run", db=target)
    check("would copy 0, 6 already here" in r.stdout, "and a dry run then finds nothing to copy")
    r = tessera("createuser", "--username", "zed", "--password-stdin", stdin="zed-Pass-2024!\n",
                ok=False, db=target)
    check(r.returncode == 0, f"a new user can be made after the import ({r.stderr.strip()})")

    port = free_port()
    own = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [TESSERA, "--data-dir", f"{WORK}/tessera-data", "serve", "--bind", f"127.0.0.1:{port}"],
        env=tessera_env(target),
    )
    try:
        wait_up(f"{own}/api/health/", server)
        s, _ = login(own, "alice", "alice-pass")
        check(s == 200, "a Django user logs in on the imported database (hash untouched)")
        s, body = http("POST", f"{own}/api/token/refresh/", {"refresh": live["refresh"]})
        check(s == 200, "a session Django started goes on after the import")
        s, body = http("POST", f"{own}/api/token/refresh/", {"refresh": blacklisted_refresh})
        check(s == 401 and body.get("detail") == "Token is blacklisted",
              "a token blacklisted before the import stays blacklisted")
    finally:
        server.terminate()
        server.wait(timeout=30)


def expire_all():
    manage("shell", code=(
        "from datetime import timedelta\nfrom django.utils import timezone\n"
        "from rest_framework_simplejwt.token_blacklist.models import OutstandingToken\n"
        "OutstandingToken.objects.update(expires_at=timezone.now() - timedelta(days=1))"
    ))


if __name__ == "__main__":
    sys.exit(main())
