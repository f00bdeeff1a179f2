//! The real `tessera` binary: user commands, check, decode, flush, and restarts.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

pub fn tessera(dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("TESSERA_PASSWORD")
        .env("TESSERA_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

/// Creates `alice` (password `alice-pass`) with the real CLI, asserting success.
pub fn create_alice(dir: &Path, env: &[(&str, &str)]) {
    let o = tessera(
        dir,
        &["createuser", "--username", "alice", "--password-stdin"],
        Some("alice-pass\n"),
        env,
    );
    assert!(o.status.success(), "{}", text(&o));
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts `tessera serve` on an ephemeral port; returns the child and its base URL.
pub fn serve(dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    spawn_serve(dir, env, Stdio::null())
}

/// [`serve`], keeping the server's standard error (its logs) readable on the child.
pub fn serve_with_stderr(dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    spawn_serve(dir, env, Stdio::piped())
}

/// [`serve`] with more arguments to `tessera serve` (`--demo`).
pub fn serve_with_args(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (Child, String) {
    spawn(dir, env, Stdio::null(), args)
}

fn spawn_serve(dir: &Path, env: &[(&str, &str)], stderr: Stdio) -> (Child, String) {
    spawn(dir, env, stderr, &[])
}

fn spawn(dir: &Path, env: &[(&str, &str)], stderr: Stdio, args: &[&str]) -> (Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub async fn post(url: &str, body: Value) -> (u16, Value) {
    let r = client().post(url).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// As Django's `createsuperuser`: the NFKC form is stored, so a lookalike spelling of an
/// existing name is taken; names with characters the validator refuses are refused.
#[test]
fn usernames_are_normalised_and_validated_as_django_does() {
    usernames_on(&[]);
}

/// The same on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_are_normalised_and_validated_as_django_does_on_postgres() {
    let Some((name, url)) = crate::support::pg_database().await else {
        return;
    };
    tokio::task::spawn_blocking(move || usernames_on(&[("TESSERA_DATABASE_URL", &url)]))
        .await
        .unwrap();
    crate::support::drop_pg_database(name);
}

fn usernames_on(env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let create = |name: &str| {
        tessera(
            d,
            &["createuser", "--username", name, "--password-stdin"],
            Some("a-good-pass-9\n"),
            env,
        )
    };
    let o = create("ｂｏｂ");
    assert!(o.status.success(), "{}", text(&o));
    let o = create("bob");
    assert!(
        !o.status.success() && text(&o).contains("already taken"),
        "{}",
        text(&o)
    );
    for bad in ["bo b", "bo\u{200b}b", "\u{202e}bob", "bo/b"] {
        let o = create(bad);
        assert!(
            !o.status.success() && text(&o).contains("Enter a valid username"),
            "{bad:?}: {}",
            text(&o)
        );
    }
    let o = create(&"é".repeat(151));
    assert!(
        text(&o).contains("at most 150 characters (it has 151)"),
        "{}",
        text(&o)
    );
    assert!(create(&"é".repeat(150)).status.success());
}

#[test]
fn user_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = tessera(
        d,
        &[
            "createuser",
            "--username",
            "alice",
            "--email",
            "a@example.com",
            "--password-stdin",
        ],
        Some("alice-pass\n"),
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tessera(
        d,
        &["createuser", "--username", "alice", "--password-stdin"],
        Some("other-pass\n"),
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("already taken"), "{}", text(&o));
    let o = tessera(
        d,
        &["createuser", "--username", "weak", "--password-stdin"],
        Some("1234\n"),
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("too short"), "{}", text(&o));
    let o = tessera(
        d,
        &["createsuperuser", "--username", "root"],
        None,
        &[("TESSERA_PASSWORD", "root-pass-123")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tessera(d, &["createuser", "--username", "nopw"], None, &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--password-stdin"), "{}", text(&o));
    let o = tessera(
        d,
        &["changepassword", "alice", "--password-stdin"],
        Some("alice-pass-2\n"),
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = tessera(
        d,
        &["changepassword", "ghost", "--password-stdin"],
        Some("whatever-123\n"),
        &[],
    );
    assert!(text(&o).contains("does not exist"));
    let o = tessera(d, &["migrate"], None, &[]);
    assert!(text(&o).contains("No migrations to apply"), "{}", text(&o));
    let o = tessera(d, &["revoke", "--user", "alice"], None, &[]);
    assert!(
        o.status.success() && text(&o).contains("Revoked 0 session(s)"),
        "{}",
        text(&o)
    );
    let o = tessera(d, &["revoke", "--user", "ghost"], None, &[]);
    assert!(
        !o.status.success() && text(&o).contains("does not exist"),
        "{}",
        text(&o)
    );
}

#[test]
fn check_names_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = tessera(d, &["check"], None, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Configuration OK"));
    let o = tessera(
        d,
        &["check"],
        None,
        &[("TESSERA_ACCES_TOKEN_LIFETIME", "5m")],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("ACCES_TOKEN_LIFETIME"), "{}", text(&o));
    std::fs::write(d.join("tessera.toml"), "ACCESS_TOKEN_LIFETIME = \"soon\"\n").unwrap();
    let o = tessera(d, &["check"], None, &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("ACCESS_TOKEN_LIFETIME"), "{}", text(&o));
    std::fs::write(d.join("tessera.toml"), "SIGNING_KEY = \"short\"\n").unwrap();
    let o = tessera(d, &["check"], None, &[]);
    assert!(text(&o).contains("at least 32 bytes"), "{}", text(&o));
    std::fs::write(d.join("tessera.toml"), "this is = = not toml").unwrap();
    let o = tessera(d, &["check"], None, &[]);
    assert!(!o.status.success());
    assert!(text(&o).starts_with("error: configuration"), "{}", text(&o));
    let o = tessera(d, &["--config", "missing.toml", "check"], None, &[]);
    assert!(text(&o).contains("does not exist"));
}

#[tokio::test(flavor = "multi_thread")]
async fn key_and_blacklist_survive_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create_alice(d, &[]);
    let (mut child, url) = serve(d, &[]);
    let (st, pair) = post(
        &format!("{url}/api/token/"),
        json!({"username": "alice", "password": "alice-pass"}),
    )
    .await;
    assert_eq!(st, 200);
    let access = pair["access"].as_str().unwrap().to_owned();
    let refresh = pair["refresh"].as_str().unwrap().to_owned();
    assert_eq!(
        post(
            &format!("{url}/api/token/blacklist/"),
            json!({"refresh": refresh})
        )
        .await
        .0,
        200
    );
    child.kill().unwrap(); // SIGKILL: no graceful shutdown
    child.wait().unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("tessera-data/signing_key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (mut child, url) = serve(d, &[]);
    let me = client()
        .get(format!("{url}/api/me/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        200,
        "the persisted key still verifies old tokens"
    );
    let (st, body) = post(
        &format!("{url}/api/token/refresh/"),
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(
        (st, body),
        (
            401,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
        )
    );

    // An operator revokes every session of the user: the refresh token of a new login stops.
    let (st, pair2) = post(
        &format!("{url}/api/token/"),
        json!({"username": "alice", "password": "alice-pass"}),
    )
    .await;
    assert_eq!(st, 200);
    let o = tessera(d, &["revoke", "--user", "alice"], None, &[]);
    assert!(text(&o).contains("Revoked 1 session(s)"), "{}", text(&o));
    let (st, _) = post(
        &format!("{url}/api/token/refresh/"),
        json!({"refresh": pair2["refresh"]}),
    )
    .await;
    assert_eq!(st, 401);

    // decode shows the claims and checks the signature with the stored key.
    let o = tessera(d, &["decode", &access], None, &[]);
    let out = text(&o);
    assert!(
        out.contains("\"token_type\": \"access\"") && out.contains("Signature: valid"),
        "{out}"
    );
    let mut forged = access.clone();
    forged.push('x');
    assert!(text(&tessera(d, &["decode", &forged], None, &[])).contains("INVALID"));
    assert!(
        !tessera(d, &["decode", "not-a-token"], None, &[])
            .status
            .success()
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn flushexpiredtokens_deletes_expired_rows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [
        ("TESSERA_REFRESH_TOKEN_LIFETIME", "3"),
        ("TESSERA_AUDIT_LOG_RETENTION", "2"),
    ];
    create_alice(d, &env);
    let (mut child, url) = serve(d, &env);
    let (st, pair) = post(
        &format!("{url}/api/token/"),
        json!({"username": "alice", "password": "alice-pass"}),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        post(
            &format!("{url}/api/token/blacklist/"),
            json!({"refresh": pair["refresh"]})
        )
        .await
        .0,
        200
    );
    // The audit log's writer keeps events a quarter second before writing them.
    std::thread::sleep(std::time::Duration::from_millis(600));
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let o = tessera(d, &["flushexpiredtokens"], None, &env);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("Deleted 1 expired token"), "{}", text(&o));
    // The login and the logout, past AUDIT_LOG_RETENTION (2 s).
    assert!(
        text(&o).contains("Deleted 2 audit log entries past AUDIT_LOG_RETENTION"),
        "{}",
        text(&o)
    );
    let o = tessera(d, &["flushexpiredtokens"], None, &env);
    assert!(text(&o).contains("Deleted 0 expired token"), "{}", text(&o));
}

/// `tessera scrubtokens` (and `migrate`, and `flushexpiredtokens`) rewrite ledger rows
/// that hold whole tokens, as Django writes them, to header and claims only; again, they
/// change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrubtokens_removes_stored_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let run = |args: &'static [&'static str]| {
        let d = d.clone();
        move || tessera(&d, args, None, &[])
    };
    let o = tokio::task::spawn_blocking(run(&["migrate"]))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let url = format!(
        "sqlite://{}",
        d.join("tessera-data/tessera.sqlite3").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for i in 0..3 {
        sqlx::query(
            "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, jti) \
             VALUES (?1, '2100-01-01 00:00:00', '2100-01-01 00:00:00', ?2)",
        )
        .bind(format!("aGVhZGVy.Y2xhaW1z{i}.c2lnbmF0dXJl"))
        .bind(format!("django-{i}"))
        .execute(&pool)
        .await
        .unwrap();
    }
    let o = tokio::task::spawn_blocking(run(&["scrubtokens"]))
        .await
        .unwrap();
    assert!(
        text(&o).contains("Removed the signature of 3 stored token(s)."),
        "{}",
        text(&o)
    );
    let tokens: Vec<String> =
        sqlx::query_scalar("SELECT token FROM token_blacklist_outstandingtoken ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        tokens,
        [
            "aGVhZGVy.Y2xhaW1z0",
            "aGVhZGVy.Y2xhaW1z1",
            "aGVhZGVy.Y2xhaW1z2"
        ]
    );
    let o = tokio::task::spawn_blocking(run(&["scrubtokens"]))
        .await
        .unwrap();
    assert!(text(&o).contains("Removed the signature of 0 stored token(s)."));
    // A row Django writes later goes at the next flushexpiredtokens.
    sqlx::query(
        "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, jti) \
         VALUES ('aGVhZGVy.bGF0ZXI.c2ln', '2100-01-01 00:00:00', '2100-01-01 00:00:00', 'later')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let o = tokio::task::spawn_blocking(run(&["flushexpiredtokens"]))
        .await
        .unwrap();
    assert!(
        text(&o).contains("Removed the signature of 1 stored token(s)."),
        "{}",
        text(&o)
    );
    pool.close().await;
}

/// Security events queued for the audit log when the server is asked to stop (SIGTERM)
/// are written before it exits.
#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_is_flushed_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create_alice(d, &[]);
    let (mut child, url) = serve(d, &[]);
    let (st, _) = post(
        &format!("{url}/api/token/"),
        json!({"username": "alice", "password": "alice-pass"}),
    )
    .await;
    assert_eq!(st, 200);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success());
    let url = format!("sqlite://{}/tessera-data/tessera.sqlite3", d.display());
    let store = tessera_store::open(&url).await.unwrap();
    let entries = store.audit_page("login_succeeded", None, 10).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].event.actor, "alice");
}
