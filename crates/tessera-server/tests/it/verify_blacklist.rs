//! Verify and blacklist (Appendix C 11–12).

use serde_json::json;

use crate::support::{TestServer, token_not_valid};

#[tokio::test]
async fn verify_accepts_any_valid_type() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    for t in [&access, &refresh] {
        let r = s.post("/api/token/verify/", json!({"token": t})).await;
        assert_eq!((r.status.as_u16(), r.body), (200, json!({})));
    }
    let now = s.now();
    let custom = s.sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({"token_type": "whatever", "exp": now + 60, "jti": "c".repeat(32)}),
    );
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": custom}))
            .await
            .status,
        200
    );
    let r = s
        .post("/api/token/verify/", json!({"token": "garbage"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token is invalid"))
    );
    let no_exp = s.sign(
        r#"{"alg":"HS256"}"#,
        &json!({"token_type": "access", "jti": "d"}),
    );
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": no_exp}))
            .await
            .body,
        token_not_valid("Token has no 'exp' claim")
    );
    let no_jti = s.sign(
        r#"{"alg":"HS256"}"#,
        &json!({"token_type": "access", "exp": now + 60}),
    );
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": no_jti}))
            .await
            .body,
        token_not_valid("Token has no id")
    );
    let r = s.post("/api/token/verify/", json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (400, json!({"token": ["This field is required."]}))
    );
    s.clock.advance_secs(300);
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": access}))
            .await
            .body,
        token_not_valid("Token is expired")
    );
}

#[tokio::test]
async fn blacklist_logs_out_a_refresh_token() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let r = s
        .post("/api/token/blacklist/", json!({"refresh": access}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token has wrong type"))
    );
    let r = s
        .post("/api/token/blacklist/", json!({"refresh": refresh}))
        .await;
    assert_eq!((r.status.as_u16(), r.body), (200, json!({})));
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.body, token_not_valid("Token is blacklisted"));
    let r = s
        .post("/api/token/blacklist/", json!({"refresh": refresh}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (401, token_not_valid("Token is blacklisted"))
    );
    // Access tokens issued before the logout still work until they expire (as Simple JWT).
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    // Verify ignores the blacklist unless BLACKLIST_AFTER_ROTATION (Simple JWT #786).
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": refresh}))
            .await
            .status,
        200
    );
    let r = s.post("/api/token/blacklist/", json!({})).await;
    assert_eq!(r.body, json!({"refresh": ["This field is required."]}));
    s.clock.advance_secs(86_400);
    let (_, r2) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(86_400);
    assert_eq!(
        s.post("/api/token/blacklist/", json!({"refresh": r2}))
            .await
            .body,
        token_not_valid("Token is expired")
    );
}
