//! The project's own URL layout: `API_PREFIX` and `ENDPOINTS` move routes one by one or
//! switch them off, and nothing answers at the paths they left.

use serde_json::json;

use crate::support::TestServer;

#[tokio::test]
async fn endpoints_move_and_switch_off_one_by_one() {
    let s = TestServer::start(json!({
        "API_PREFIX": "/api/v1/",
        "ENDPOINTS": {
            "obtain_pair": "auth/login/",
            "refresh": "/auth/refresh",
            "obtain_sliding": false,
            "me": "users/me/",
        },
    }))
    .await;
    s.user("alice", "alice-pass").await;
    let login = json!({"username": "alice", "password": "alice-pass"});

    let r = s.post("/api/v1/auth/login/", login.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Without the trailing slash too, as every route.
    assert_eq!(
        s.post("/api/v1/auth/login", login.clone()).await.status,
        200
    );
    let refreshed = s
        .post(
            "/api/v1/auth/refresh/",
            json!({"refresh": r.str("refresh")}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let me = s.get("/api/v1/users/me/", Some(&r.str("access"))).await;
    assert_eq!(me.status, 200, "{}", me.body);

    // Moved away, or switched off: not found, whatever the method.
    for path in [
        "/api/v1/token/",
        "/api/v1/token/refresh/",
        "/api/v1/token/sliding/",
        "/api/token/",
    ] {
        let r = s.post(path, login.clone()).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert_eq!(r.body, json!({"detail": "Not found."}), "{path}");
    }
    assert_eq!(
        s.get("/api/v1/me/", Some(&r.str("access"))).await.status,
        404
    );
    // The rest stay where Simple JWT has them.
    let v = s
        .post("/api/v1/token/verify/", json!({"token": r.str("access")}))
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
}

/// `/api/ready/` says "not ready" while the schema lacks a migration this build has
/// (e.g. a new binary started before `tessera migrate`), when `/api/health/` says alive.
#[tokio::test]
async fn ready_waits_for_the_schema() {
    let s = TestServer::start(json!({})).await;
    assert_eq!(s.get("/api/ready/", None).await.status, 200);
    let url = format!("sqlite://{}/t.sqlite3", s.data_dir().display());
    crate::support::run_sql(&url, "DELETE FROM tessera_migrations WHERE version = 5").await;
    let r = s.get("/api/ready/", None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"status": "migrations pending", "pending": ["0005_tessera_token_tables"]})
    );
    assert_eq!(s.get("/api/health/", None).await.status, 200);
}
