//! POST /api/token/refresh/ (Appendix C 7–10) and the 500s of Simple JWT we answer 401.

use serde_json::json;

use crate::support::{TestServer, parts, token_not_valid};

#[tokio::test]
async fn refresh_returns_only_a_new_access_token() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let (_, refresh) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(100);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_object().unwrap().len(), 1);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let (_, a) = parts(&r.str("access"));
    let (_, rc) = parts(&refresh);
    assert_ne!(a["jti"], rc["jti"]);
    assert_eq!(a["iat"].as_i64().unwrap(), s.now());
    assert_eq!(a["exp"].as_i64().unwrap(), s.now() + 300);
    assert_eq!(a["user_id"], rc["user_id"]);
    assert_eq!(a["username"], "alice");
    // Without rotation the refresh token can be used again.
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn refresh_errors() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let r = s
        .post("/api/token/refresh/", json!({"refresh": access}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (401, token_not_valid("Token has wrong type"))
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    let r = s
        .post("/api/token/refresh/", json!({"refresh": "garbage"}))
        .await;
    assert_eq!(r.body, token_not_valid("Token is invalid"));
    let r = s.post("/api/token/refresh/", json!({"refresh": 123})).await;
    assert_eq!(r.body, token_not_valid("Token is invalid"));
    let r = s.post("/api/token/refresh/", json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (400, json!({"refresh": ["This field is required."]}))
    );
    s.clock.advance_secs(86_400);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (401, token_not_valid("Token is expired"))
    );
}

#[tokio::test]
async fn rotation_with_blacklist_spends_the_old_token() {
    let s =
        TestServer::start(json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true}))
            .await;
    s.user("alice", "alice-pass").await;
    let (_, old) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(10);
    let r = s.post("/api/token/refresh/", json!({"refresh": old})).await;
    assert_eq!(r.status, 200);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["access", "refresh"]);
    let new = r.str("refresh");
    let (_, o) = parts(&old);
    let (_, n) = parts(&new);
    assert_ne!(o["jti"], n["jti"]);
    assert!(n["exp"].as_i64() > o["exp"].as_i64());
    assert_eq!(n["username"], "alice");
    let names: Vec<&String> = n.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        [
            "token_type",
            "exp",
            "iat",
            "jti",
            "user_id",
            "username",
            "email"
        ]
    );
    let again = s.post("/api/token/refresh/", json!({"refresh": old})).await;
    assert_eq!(
        (again.status.as_u16(), again.body),
        (401, token_not_valid("Token is blacklisted"))
    );
    let v = s.post("/api/token/verify/", json!({"token": old})).await;
    assert_eq!(
        (v.status.as_u16(), v.body),
        (400, json!({"non_field_errors": ["Token is blacklisted"]}))
    );
    let counts = s.store().ledger_counts().await.unwrap();
    assert_eq!((counts.outstanding, counts.blacklisted), (2, 1));
    // The new token works, once.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": new}))
            .await
            .status,
        200
    );
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": new}))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn rotation_without_blacklisting_leaves_the_old_token_usable() {
    let s = TestServer::start(json!({"ROTATE_REFRESH_TOKENS": true})).await;
    s.user("alice", "alice-pass").await;
    let (_, old) = s.login("alice", "alice-pass").await;
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": old}))
            .await
            .status,
        200
    );
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": old}))
            .await
            .status,
        200
    );
    let counts = s.store().ledger_counts().await.unwrap();
    assert_eq!((counts.outstanding, counts.blacklisted), (3, 0));
}

#[tokio::test]
async fn inactive_deleted_and_unparsable_users() {
    let s = TestServer::start(json!({})).await;
    let bob = s.user("bob", "bob-pass-1").await;
    let (_, refresh) = s.login("bob", "bob-pass-1").await;
    s.store().set_active(bob.id, false).await.unwrap();
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            401,
            json!({"detail": "No active account found for the given token."})
        )
    );
    s.store().delete_user(bob.id).await.unwrap();
    // Simple JWT 5.5.1 answers 500 here.
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            401,
            token_not_valid("No active account found for the given token.")
        )
    );
    let now = s.now();
    let odd = s.sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({"token_type": "refresh", "exp": now + 60, "iat": now, "jti": "a".repeat(32), "user_id": "abc"}),
    );
    let r = s.post("/api/token/refresh/", json!({"refresh": odd})).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["code"], "token_not_valid");
    // A signed refresh token without jti: Simple JWT 500s (KeyError).
    let no_jti = s.sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({"token_type": "refresh", "exp": now + 60, "iat": now, "user_id": "1"}),
    );
    let r = s
        .post("/api/token/refresh/", json!({"refresh": no_jti}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token has no id"))
    );
    let no_exp = s.sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({"token_type": "refresh", "jti": "b".repeat(32), "user_id": "1"}),
    );
    let r = s
        .post("/api/token/refresh/", json!({"refresh": no_exp}))
        .await;
    assert_eq!(r.body, token_not_valid("Token has no 'exp' claim"));
}

/// Rotation without `BLACKLIST_AFTER_ROTATION` (Simple JWT keeps the old token valid):
/// the new tokens still belong to the session they came from, so a logout with the newest
/// ends every token of the session, as README promises, on both databases.
#[tokio::test]
async fn rotation_without_blacklisting_keeps_one_session_on_sqlite() {
    logout_ends_the_rotated_session(false).await;
}

#[tokio::test]
async fn rotation_without_blacklisting_keeps_one_session_on_postgres() {
    logout_ends_the_rotated_session(true).await;
}

async fn logout_ends_the_rotated_session(pg: bool) {
    let Some(s) = TestServer::start_either(
        pg,
        json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": false}),
    )
    .await
    else {
        return;
    };
    s.user("alice", "alice-pass").await;
    let (_, r1) = s.login("alice", "alice-pass").await;
    let (_, other) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(1);
    let r2 = s
        .post("/api/token/refresh/", json!({"refresh": r1}))
        .await
        .str("refresh");
    s.clock.advance_secs(1);
    let r3 = s
        .post("/api/token/refresh/", json!({"refresh": r2}))
        .await
        .str("refresh");
    // Simple JWT's semantics without blacklisting: the old token still refreshes.
    let r = s.post("/api/token/refresh/", json!({"refresh": r1})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = s
        .post("/api/token/blacklist/", json!({"refresh": r3}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for (name, token) in [("first", &r1), ("second", &r2), ("newest", &r3)] {
        let r = s
            .post("/api/token/refresh/", json!({"refresh": token}))
            .await;
        assert_eq!(
            r.status, 401,
            "the {name} token of the ended session: {:?}",
            r.body
        );
    }
    let r = s
        .post("/api/token/refresh/", json!({"refresh": other}))
        .await;
    assert_eq!(r.status, 200, "another session goes on: {:?}", r.body);
}
