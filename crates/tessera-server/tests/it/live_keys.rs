//! Key rotation on running servers, as an operator does it: real `tessera serve`
//! processes, the `tessera keys` CLI beside them, no restart.
//!
//! * `KEY_STORE = "database"`: two instances on one database (PostgreSQL, and SQLite
//!   shared by two processes); generate, rotate and retire on the CLI reach both within
//!   a second or two; tokens signed before and after verify on both; the JWKS and its
//!   `ETag` follow; nobody is logged out until the old key is retired.
//! * Scheduled rotation: the next key is published ahead, then signs.
//! * Key files: `tessera keys rotate` reaches the running server; a `SIGNING_KEY` file
//!   is reloaded on `SIGHUP`.

use std::future::Future;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{client, create_alice, post, serve, tessera, text};
use crate::multi_instance::login;
use crate::support::{drop_pg_database, parts, pg_database, sql_has_rows};

const KEK: &str = "an operator's key-encryption key, 32+ bytes";

/// Polls `check` until it holds; fails after `secs` seconds. Changes are promised
/// "within a second": the deadline leaves room for a loaded CI machine.
async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kid(token: &str) -> String {
    parts(token).0["kid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn me(base: &str, token: &str) -> u16 {
    client()
        .get(format!("{base}/api/me/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The JWKS's number of keys and its `ETag`.
async fn jwks(base: &str) -> (usize, String) {
    let r = client()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    (body["keys"].as_array().unwrap().len(), etag)
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn cli_ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let o = tessera(dir, args, None, env);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_key_set_rotates_on_every_running_instance_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/shared.sqlite3", dir.path().display());
    two_instances_rotate(dir.path(), &url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_key_set_rotates_on_every_running_instance_on_postgres() {
    let Some((name, url)) = pg_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    two_instances_rotate(dir.path(), &url).await;
    drop_pg_database(name);
}

async fn two_instances_rotate(d: &Path, url: &str) {
    let env = [
        ("TESSERA_DATABASE_URL", url),
        ("TESSERA_KEY_STORE", "database"),
        ("TESSERA_KEY_ENCRYPTION_KEY", KEK),
        ("TESSERA_ALGORITHM", "ES256"),
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
    ];
    create_alice(d, &env);
    let (ca, a) = serve(d, &env);
    let (cb, b) = serve(d, &env);
    let (t1, r1) = login(&a).await;
    let kid1 = kid(&t1);
    assert!(!kid1.is_empty(), "the first key was made in the database");
    assert_eq!(me(&b, &t1).await, 200, "one key set for both instances");
    let (n, etag1) = jwks(&a).await;
    assert_eq!(n, 1);
    assert_eq!(jwks(&b).await.1, etag1);

    // Publish the next key: both JWKS show it, tokens are still signed with the first.
    let out = cli_ok(d, &["keys", "generate", "--alg", "ES256"], &env);
    assert!(out.contains("(next)"), "{out}");
    for base in [&a, &b] {
        eventually("the JWKS shows the next key", 3, || async {
            let (n, etag) = jwks(base).await;
            n == 2 && etag != etag1
        })
        .await;
    }
    assert_eq!(kid(&login(&b).await.0), kid1);

    // Rotate: the new key signs on both; the old tokens still pass on both.
    cli_ok(d, &["keys", "rotate"], &env);
    for base in [&a, &b] {
        eventually("the new key signs", 3, || async {
            kid(&login(base).await.0) != kid1
        })
        .await;
    }
    let (t2, _) = login(&a).await;
    let kid2 = kid(&t2);
    assert_eq!(kid(&login(&b).await.0), kid2);
    for base in [&a, &b] {
        assert_eq!(me(base, &t1).await, 200, "nobody is logged out");
        assert_eq!(me(base, &t2).await, 200);
    }
    let (st, body) = post(&format!("{b}/api/token/refresh/"), json!({"refresh": r1})).await;
    assert_eq!(
        st, 200,
        "a session started before the rotation goes on: {body}"
    );
    assert_eq!(kid(body["refresh"].as_str().unwrap()), kid2);
    let listed = cli_ok(d, &["keys", "list"], &env);
    assert!(
        listed.contains(&kid1) && listed.contains("previous"),
        "{listed}"
    );
    assert!(
        !tessera(d, &["keys", "retire", &kid2], None, &env)
            .status
            .success(),
        "the active key cannot be retired"
    );

    // Retire the old key: its tokens are refused on both instances.
    cli_ok(d, &["keys", "retire", &kid1], &env);
    for base in [&a, &b] {
        eventually("the retired key's tokens are refused", 3, || async {
            me(base, &t1).await == 401
        })
        .await;
        assert_eq!(me(base, &t2).await, 200);
    }
    assert!(
        sql_has_rows(
            url,
            "SELECT 1 FROM tessera_audit_log WHERE actor = 'cli' AND action = 'key_rotated'"
        )
        .await,
        "the rotation is in the audit log"
    );
    stop(ca);
    stop(cb);

    // The private keys are sealed: without the right KEY_ENCRYPTION_KEY no server starts.
    let wrong = [
        ("TESSERA_DATABASE_URL", url),
        ("TESSERA_KEY_STORE", "database"),
        (
            "TESSERA_KEY_ENCRYPTION_KEY",
            "not the key that sealed them, 32 bytes",
        ),
        ("TESSERA_ALGORITHM", "ES256"),
    ];
    let o = tessera(d, &["serve", "--bind", "127.0.0.1:0"], None, &wrong);
    assert!(!o.status.success());
    assert!(text(&o).contains("does not open"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_rotation_publishes_the_next_key_then_signs_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [
        ("TESSERA_KEY_STORE", "database"),
        ("TESSERA_KEY_ENCRYPTION_KEY", KEK),
        ("TESSERA_ALGORITHM", "EdDSA"),
        ("TESSERA_KEY_ROTATION_INTERVAL", "6"),
        ("TESSERA_KEY_PUBLISH_AHEAD", "3"),
    ];
    create_alice(d, &env);
    let (child, url) = serve(d, &env);
    let (t1, _) = login(&url).await;
    let kid1 = kid(&t1);
    // Published three seconds ahead of signing.
    eventually("the next key is published", 8, || async {
        jwks(&url).await.0 == 2
    })
    .await;
    assert_eq!(
        kid(&login(&url).await.0),
        kid1,
        "published, not signing yet"
    );
    eventually("the next key signs", 8, || async {
        kid(&login(&url).await.0) != kid1
    })
    .await;
    assert_eq!(me(&url, &t1).await, 200, "the old key still verifies");
    let listed = cli_ok(d, &["keys", "list"], &env);
    assert!(
        listed.contains("previous") && listed.contains("active"),
        "{listed}"
    );
    stop(child);
}

#[tokio::test(flavor = "multi_thread")]
async fn key_files_changed_on_the_host_reach_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [("TESSERA_ALGORITHM", "ES256")];
    create_alice(d, &env);
    cli_ok(d, &["keys", "generate", "--alg", "ES256"], &env);
    let (child, url) = serve(d, &env);
    let (t1, _) = login(&url).await;
    let kid1 = kid(&t1);
    let out = cli_ok(d, &["keys", "rotate"], &env);
    assert!(out.contains("within a second"), "{out}");
    eventually("the rotated key file is picked up", 3, || async {
        kid(&login(&url).await.0) != kid1
    })
    .await;
    assert_eq!(me(&url, &t1).await, 200, "nobody is logged out");
    stop(child);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_signing_key_file_is_reloaded_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key_file = d.join("hmac.key");
    std::fs::write(&key_file, "a".repeat(48)).unwrap();
    let path = key_file.display().to_string();
    let env = [("TESSERA_SIGNING_KEY", path.as_str())];
    create_alice(d, &env);
    let (child, url) = serve(d, &env);
    let (t1, _) = login(&url).await;
    assert_eq!(me(&url, &t1).await, 200);

    // A secret store rewrites the file; its time is kept, so only the signal can tell.
    let modified = std::fs::metadata(&key_file).unwrap().modified().unwrap();
    std::fs::write(&key_file, "b".repeat(48)).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&key_file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        me(&url, &t1).await,
        200,
        "no reload without a change or a signal"
    );
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    eventually("SIGHUP reloads the key", 3, || async {
        me(&url, &t1).await == 401
    })
    .await;
    let (t2, _) = login(&url).await;
    assert_eq!(me(&url, &t2).await, 200);
    stop(child);
}

#[test]
fn a_database_key_set_needs_its_encryption_key() {
    let dir = tempfile::tempdir().unwrap();
    let o = tessera(
        dir.path(),
        &["check"],
        None,
        &[("TESSERA_KEY_STORE", "database")],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("KEY_ENCRYPTION_KEY"), "{}", text(&o));
    let o = tessera(
        dir.path(),
        &["check"],
        None,
        &[("TESSERA_KEY_ROTATION_INTERVAL", "30d")],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("KEY_STORE"), "{}", text(&o));
}
