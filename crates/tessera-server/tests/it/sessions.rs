//! Token families: reuse detection, grace, absolute lifetime, logout everywhere,
//! password changes, and access-token revocation (on SQLite and PostgreSQL).

use serde_json::{Value, json};

use crate::support::{TestServer, parts, token_not_valid};

fn rotating(extra: Value) -> Value {
    let mut base = json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true, "TOKEN_REUSED_CODE": true});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn reused() -> Value {
    json!({"detail": "Token is blacklisted", "code": "token_reused"})
}

async fn reuse_revokes_the_family(s: TestServer) {
    s.user("alice", "alice-pass").await;
    let (_, r1) = s.login("alice", "alice-pass").await;
    let (_, other_session) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(1);
    let r = s.post("/api/token/refresh/", json!({"refresh": r1})).await;
    assert_eq!(r.status, 200);
    let (a2, r2) = (r.str("access"), r.str("refresh"));
    assert_eq!(
        parts(&r2).1["sid"],
        parts(&r1).1["sid"],
        "the family is carried on"
    );
    assert_eq!(s.get("/api/me/", Some(&a2)).await.status, 200);
    // The thief replays r1 a second later: the whole family goes.
    s.clock.advance_secs(1);
    let r = s.post("/api/token/refresh/", json!({"refresh": r1})).await;
    assert_eq!((r.status.as_u16(), r.body), (401, reused()));
    let r = s.post("/api/token/refresh/", json!({"refresh": r2})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token is blacklisted"))
    );
    // ACCESS_TOKEN_REVOCATION: the family's access token stops too.
    let r = s.get("/api/me/", Some(&a2)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["messages"][0]["message"], "Token is blacklisted");
    // Another login of the same user is another family: untouched.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": other_session}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn reuse_revokes_the_family_sqlite() {
    reuse_revokes_the_family(
        TestServer::start(rotating(json!({"ACCESS_TOKEN_REVOCATION": true}))).await,
    )
    .await;
}

#[tokio::test]
async fn reuse_revokes_the_family_postgres() {
    let Some(s) =
        TestServer::start_pg(rotating(json!({"ACCESS_TOKEN_REVOCATION": true})), None).await
    else {
        return;
    };
    reuse_revokes_the_family(s).await;
}

#[tokio::test]
async fn grace_refuses_without_revoking() {
    let s = TestServer::start(rotating(json!({"REFRESH_REUSE_GRACE": "10s"}))).await;
    s.user("alice", "alice-pass").await;
    let (_, r1) = s.login("alice", "alice-pass").await;
    let r = s.post("/api/token/refresh/", json!({"refresh": r1})).await;
    let r2 = r.str("refresh");
    s.clock.advance_secs(5);
    let again = s.post("/api/token/refresh/", json!({"refresh": r1})).await;
    assert_eq!(
        (again.status.as_u16(), again.body),
        (401, token_not_valid("Token is blacklisted"))
    );
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": r2}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn absolute_lifetime_caps_the_session() {
    let s = TestServer::start(rotating(json!({"REFRESH_TOKEN_ABSOLUTE_LIFETIME": "1h"}))).await;
    s.user("alice", "alice-pass").await;
    let login_at = s.now();
    let (_, mut refresh) = s.login("alice", "alice-pass").await;
    assert_eq!(parts(&refresh).1["exp"].as_i64().unwrap(), login_at + 3600);
    for _ in 0..3 {
        s.clock.advance_secs(1000);
        let r = s
            .post("/api/token/refresh/", json!({"refresh": refresh}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        refresh = r.str("refresh");
        assert_eq!(
            parts(&refresh).1["exp"].as_i64().unwrap(),
            login_at + 3600,
            "capped"
        );
    }
    s.clock.advance_secs(600);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token is expired"))
    );
}

#[tokio::test]
async fn logout_everywhere() {
    let s = TestServer::start(json!({"ACCESS_TOKEN_REVOCATION": true})).await;
    s.user("alice", "alice-pass").await;
    s.user("bob", "bob-pass-1").await;
    let (a1, r1) = s.login("alice", "alice-pass").await;
    let (_, r2) = s.login("alice", "alice-pass").await;
    let (b_access, b_refresh) = s.login("bob", "bob-pass-1").await;
    let r = s.post("/api/token/blacklist/all/", json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            401,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );
    let auth = format!("Bearer {a1}");
    let r = s
        .send(
            reqwest::Method::POST,
            "/api/token/blacklist/all",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!((r.status.as_u16(), r.body), (200, json!({})));
    for t in [&r1, &r2] {
        let r = s.post("/api/token/refresh/", json!({"refresh": t})).await;
        assert_eq!(r.body, token_not_valid("Token is blacklisted"));
    }
    assert_eq!(s.get("/api/me/", Some(&a1)).await.status, 401);
    assert_eq!(s.get("/api/me/", Some(&b_access)).await.status, 200);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": b_refresh}))
            .await
            .status,
        200
    );
    // A new login works at once.
    let (a3, _) = s.login("alice", "alice-pass").await;
    assert_eq!(s.get("/api/me/", Some(&a3)).await.status, 200);
}

#[tokio::test]
async fn logout_stops_the_sessions_access_token_when_enabled() {
    let s = TestServer::start(json!({"ACCESS_TOKEN_REVOCATION": true})).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let (other_access, _) = s.login("alice", "alice-pass").await;
    assert_eq!(
        s.post("/api/token/blacklist/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    let r = s.get("/api/me/", Some(&access)).await;
    assert_eq!(r.body["messages"][0]["message"], "Token is blacklisted");
    assert_eq!(s.get("/api/me/", Some(&other_access)).await.status, 200);
    // Verify stays Simple JWT's (no revocation check for access tokens).
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": access}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn password_change_revokes_sessions() {
    let s = TestServer::start(json!({"ACCESS_TOKEN_REVOCATION": true})).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let auth = format!("Bearer {access}");
    let change = |body: Value| {
        let s = &s;
        let auth = auth.clone();
        async move {
            s.send(
                reqwest::Method::POST,
                "/api/me/password/",
                &[("authorization", &auth)],
                Some(("application/json", serde_json::to_vec(&body).unwrap())),
            )
            .await
        }
    };
    let r = change(json!({"old_password": "nope", "new_password": "new-secret-42"})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            400,
            json!({"old_password": ["Your old password was entered incorrectly."]})
        )
    );
    let r = change(json!({"old_password": "alice-pass", "new_password": "123"})).await;
    assert_eq!(r.status, 400);
    assert!(r.body["new_password"].as_array().unwrap().len() >= 2);
    let r = change(json!({"old_password": "alice-pass", "new_password": "new-secret-42"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .body,
        token_not_valid("Token is blacklisted")
    );
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 401);
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 401);
    s.login("alice", "new-secret-42").await;
}

#[tokio::test]
async fn without_the_option_tokens_keep_simple_jwts_layout() {
    let s = TestServer::start(rotating(json!({}))).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    assert!(parts(&access).1.get("sid").is_none());
    assert!(parts(&refresh).1.get("sid").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_changes_on_another_instance_reach_the_user_cache() {
    let Some(s) = TestServer::start_pg(json!({}), None).await else {
        return;
    };
    let alice = s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200); // now cached
    // Another instance (its own pool on the same database) deactivates alice.
    let other = tessera_store::open(s.pg_url.as_deref().unwrap())
        .await
        .unwrap();
    other.set_active(alice.id, false).await.unwrap();
    let start = std::time::Instant::now();
    loop {
        let r = s.get("/api/me/", Some(&access)).await;
        if r.status == 401 {
            assert_eq!(r.body["code"], "user_inactive");
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "the cache kept a deactivated user"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    other.delete_user(alice.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        s.get("/api/me/", Some(&access)).await.body["code"],
        "user_not_found"
    );
}

/// By default a replay is answered as Simple JWT answers any blacklisted token, so a front
/// end written for it sees the code it knows; the session is revoked all the same.
#[tokio::test]
async fn a_replay_answers_simple_jwts_code_by_default() {
    let s =
        TestServer::start(json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true}))
            .await;
    s.user("alice", "alice-pass").await;
    let (_, r1) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(1);
    let r = s.post("/api/token/refresh/", json!({"refresh": r1})).await;
    let r2 = r.str("refresh");
    s.clock.advance_secs(1);
    let r = s.post("/api/token/refresh/", json!({"refresh": r1})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token is blacklisted"))
    );
    let r = s.post("/api/token/refresh/", json!({"refresh": r2})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token is blacklisted")),
        "the replay revoked the session"
    );
}

/// On SQLite too, changes made by another process reach a running server within a
/// second: `tessera revoke` from the CLI stops the session's access token, and a user
/// deactivated by hand (SQL, a Django admin) is refused although the server had cached
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_process_s_changes_reach_a_sqlite_server() {
    let s = TestServer::start(json!({"ACCESS_TOKEN_REVOCATION": true})).await;
    s.user("alice", "alice-pass").await;
    s.user("bob", "bob-pass-1").await;
    let (alice, _) = s.login("alice", "alice-pass").await;
    let (bob, _) = s.login("bob", "bob-pass-1").await;
    assert_eq!(s.get("/api/me/", Some(&alice)).await.status, 200);
    assert_eq!(s.get("/api/me/", Some(&bob)).await.status, 200);

    let url = format!("sqlite://{}/t.sqlite3", s.data_dir().display());
    let env = [
        ("TESSERA_DATABASE_URL", url.as_str()),
        ("TESSERA_SIGNING_KEY", crate::support::KEY),
    ];
    let out = crate::cli::tessera(s.data_dir(), &["revoke", "--user", "alice"], None, &env);
    assert!(out.status.success(), "{}", crate::cli::text(&out));
    crate::support::run_sql(
        &url,
        "UPDATE auth_user SET is_active = 0 WHERE username = 'bob'",
    )
    .await;
    let start = std::time::Instant::now();
    loop {
        let a = s.get("/api/me/", Some(&alice)).await.status;
        let b = s.get("/api/me/", Some(&bob)).await.status;
        if a == 401 && b == 401 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_millis(1500),
            "after {:?}: alice {a}, bob {b}",
            start.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The same through `tessera serve` as it starts, with default settings: a user
/// deactivated by another process is refused within a second although cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deactivation_by_another_process_reaches_tessera_serve() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db.sqlite3", dir.path().display());
    let env = [
        ("TESSERA_DATABASE_URL", url.as_str()),
        ("TESSERA_SIGNING_KEY", crate::support::KEY),
    ];
    crate::cli::create_alice(dir.path(), &env);
    let (mut child, base) = crate::cli::serve(dir.path(), &env);
    let (st, body) = crate::cli::post(
        &format!("{base}/api/token/"),
        json!({"username": "alice", "password": "alice-pass"}),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let access = body["access"].as_str().unwrap().to_owned();
    let me = || async {
        crate::cli::client()
            .get(format!("{base}/api/me/"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(me().await, 200);
    crate::support::run_sql(&url, "UPDATE auth_user SET is_active = 0").await;
    let start = std::time::Instant::now();
    while me().await != 401 {
        assert!(
            start.elapsed() < std::time::Duration::from_millis(1500),
            "a deactivated user was still served after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}
