//! Two real `tessera serve` processes on one PostgreSQL database.

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{client, create_alice, post, serve};
use crate::support::{drop_pg_database, pg_database};

struct Instances {
    a: (Child, String),
    b: (Child, String),
    db: Option<String>,
    url: String,
    dir: tempfile::TempDir,
}

impl Instances {
    /// One more instance on the same database and settings, started now.
    fn another(&self) -> (Child, String) {
        serve(self.dir.path(), &env(&self.url))
    }
}

fn env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("TESSERA_DATABASE_URL", url),
        (
            "TESSERA_SIGNING_KEY",
            "multi-instance-test-key-0123456789abcdef",
        ),
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
        ("TESSERA_ACCESS_TOKEN_REVOCATION", "true"),
        ("TESSERA_DATABASE_MAX_CONNECTIONS", "20"),
    ]
}

impl Drop for Instances {
    fn drop(&mut self) {
        for c in [&mut self.a.0, &mut self.b.0] {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(db) = self.db.take() {
            drop_pg_database(db);
        }
    }
}

async fn two_instances() -> Option<Instances> {
    let (name, url) = pg_database().await?;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&url);
    create_alice(dir.path(), &env);
    let a = serve(dir.path(), &env);
    let b = serve(dir.path(), &env);
    Some(Instances {
        a,
        b,
        db: Some(name),
        url,
        dir,
    })
}

/// Logs alice in at `base`: (access, refresh).
pub(crate) async fn login(base: &str) -> (String, String) {
    let (st, body) = post(
        &format!("{base}/api/token/"),
        json!({"username": "alice", "password": "alice-pass"}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    (
        body["access"].as_str().unwrap().to_owned(),
        body["refresh"].as_str().unwrap().to_owned(),
    )
}

async fn me(base: &str, access: &str) -> u16 {
    client()
        .get(format!("{base}/api/me/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_rotation_and_logout_cross_instances() {
    let Some(i) = two_instances().await else {
        return;
    };
    let (a, b) = (i.a.1.clone(), i.b.1.clone());

    // A token obtained on A works on B.
    let (access, refresh) = login(&a).await;
    assert_eq!(me(&b, &access).await, 200);

    // A refresh token rotated on A is refused on B.
    let (st, body) = post(
        &format!("{a}/api/token/refresh/"),
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let new_access = body["access"].as_str().unwrap().to_owned();
    let new_refresh = body["refresh"].as_str().unwrap().to_owned();
    let (st, body) = post(
        &format!("{b}/api/token/refresh/"),
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(st, 401);
    assert_eq!(body["detail"], "Token is blacklisted");

    // That replay revoked the family: B's answer reaches A's memory within a second.
    let revoked_on_a = wait_until(Duration::from_secs(1), || me(&a, &new_access)).await;
    assert!(
        revoked_on_a,
        "A still accepts an access token of a revoked family"
    );

    // A logout on B stops the same access token on A, within one second.
    let (access2, refresh2) = login(&a).await;
    assert_eq!(me(&a, &access2).await, 200);
    let (st, _) = post(
        &format!("{b}/api/token/blacklist/"),
        json!({"refresh": refresh2}),
    )
    .await;
    assert_eq!(st, 200);
    let stopped = wait_until(Duration::from_secs(1), || me(&a, &access2)).await;
    assert!(stopped, "logout on B did not reach A within one second");
    let _ = new_refresh;
}

/// The guarantee for the blacklist: refresh and sliding tokens are checked against the
/// ledger on every request, so a blacklisting on one instance is refused by every other
/// at once, including one started after it; access tokens of the revoked session are
/// refused by an instance started later too (it loads the revocations before serving).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blacklisting_is_refused_by_every_instance_at_once() {
    let Some(i) = two_instances().await else {
        return;
    };
    let (a, b) = (i.a.1.clone(), i.b.1.clone());
    let (access, refresh) = login(&a).await;
    let (st, _) = post(&format!("{b}/api/token/verify/"), json!({"token": refresh})).await;
    assert_eq!(st, 200);
    let (st, _) = post(
        &format!("{a}/api/token/blacklist/"),
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(st, 200);
    // No waiting: B answers from the ledger.
    let (st, body) = post(&format!("{b}/api/token/verify/"), json!({"token": refresh})).await;
    assert_eq!(
        (st, body),
        (400, json!({"non_field_errors": ["Token is blacklisted"]}))
    );
    let (st, body) = post(
        &format!("{b}/api/token/refresh/"),
        json!({"refresh": refresh}),
    )
    .await;
    assert_eq!(st, 401, "{body}");
    assert_eq!(body["detail"], "Token is blacklisted");
    // An instance that starts after the blacklisting knows it before its first answer.
    let mut c = i.another();
    let (st, _) = post(
        &format!("{}/api/token/verify/", c.1),
        json!({"token": refresh}),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(
        me(&c.1, &access).await,
        401,
        "C accepted a revoked session's access token"
    );
    let _ = c.0.kill();
    let _ = c.0.wait();
}

/// Polls `status` until it answers 401 or `limit` passes.
async fn wait_until<F, Fut>(limit: Duration, status: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let start = Instant::now();
    loop {
        if status().await == 401 {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_refreshes_across_two_instances_succeed_once() {
    let Some(i) = two_instances().await else {
        return;
    };
    let bases = [i.a.1.clone(), i.b.1.clone()];
    for round in 0..2 {
        let (_, refresh) = login(&bases[0]).await;
        let mut tasks = Vec::new();
        for n in 0..50 {
            let url = format!("{}/api/token/refresh/", bases[n % 2]);
            let body = json!({"refresh": refresh});
            tasks.push(tokio::spawn(async move {
                let r = client().post(url).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }));
        }
        let mut ok = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                200 => ok += 1,
                401 => assert_eq!(body["detail"], "Token is blacklisted", "round {round}"),
                other => panic!("round {round}: {other} {body}"),
            }
        }
        assert_eq!(ok, 1, "round {round}: exactly one success");
    }
}
