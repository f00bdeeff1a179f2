//! Sliding tokens (Appendix C 21).

use serde_json::json;

use crate::support::{TestServer, parts, token_not_valid};

#[tokio::test]
async fn obtain_and_slide() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let r = s
        .post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let token = r.str("token");
    let (_, c) = parts(&token);
    let names: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        ["token_type", "exp", "iat", "jti", "refresh_exp", "user_id"]
    );
    assert_eq!(c["token_type"], "sliding");
    assert_eq!(
        c["refresh_exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        86_400
    );
    assert_eq!(s.store().ledger_counts().await.unwrap().outstanding, 1);

    s.clock.advance_secs(200);
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": token}))
        .await;
    assert_eq!(r.status, 200);
    let (_, n) = parts(&r.str("token"));
    assert_eq!(n["jti"], c["jti"]);
    assert_eq!(n["refresh_exp"], c["refresh_exp"]);
    assert_eq!(n["exp"].as_i64().unwrap(), s.now() + 300);

    // An access token is the wrong type; the sliding token is not an access token.
    let (access, _) = s.login("alice", "alice-pass").await;
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": access}))
        .await;
    assert_eq!(r.body, token_not_valid("Token has wrong type"));
    let r = s.post("/api/token/sliding/refresh/", json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (400, json!({"token": ["This field is required."]}))
    );

    // Expired exp: no grace.
    s.clock.advance_secs(301);
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": token}))
        .await;
    assert_eq!(r.body, token_not_valid("Token is expired"));
}

#[tokio::test]
async fn refresh_exp_rules() {
    let s = TestServer::start(json!({})).await;
    let now = s.now();
    let past = s.sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({"token_type": "sliding", "exp": now + 60, "iat": now, "jti": "1".repeat(32), "refresh_exp": now - 1, "user_id": "1"}),
    );
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": past}))
        .await;
    assert_eq!(
        r.body,
        token_not_valid("Token 'refresh_exp' claim has expired")
    );
    let missing = s.sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({"token_type": "sliding", "exp": now + 60, "iat": now, "jti": "2".repeat(32), "user_id": "1"}),
    );
    let r = s
        .post("/api/token/sliding/refresh/", json!({"token": missing}))
        .await;
    assert_eq!(r.body, token_not_valid("Token has no 'refresh_exp' claim"));
}
