//! AUDIENCE / ISSUER (Appendix C 18), LEEWAY (19) and lifetimes through the clock.

use serde_json::json;

use crate::support::{TestServer, parts, token_not_valid};

#[tokio::test]
async fn audience_and_issuer() {
    let s = TestServer::start(json!({"AUDIENCE": "svc", "ISSUER": "me"})).await;
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    let (_, c) = parts(&access);
    assert_eq!(
        (c["aud"].as_str(), c["iss"].as_str()),
        (Some("svc"), Some("me"))
    );
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    let now = s.now();
    let base = json!({"token_type": "access", "exp": now + 60, "iat": now, "jti": "9".repeat(32), "user_id": "1"});
    for (aud, iss, ok) in [
        (None, Some("me"), false),
        (Some(json!("other")), Some("me"), false),
        (Some(json!("svc")), None, false),
        (Some(json!("svc")), Some("you"), false),
        (Some(json!(["x", "svc"])), Some("me"), true),
    ] {
        let mut c = base.clone();
        if let Some(a) = aud.clone() {
            c["aud"] = a;
        }
        if let Some(i) = iss {
            c["iss"] = json!(i);
        }
        let t = s.sign(r#"{"alg":"HS256","typ":"JWT"}"#, &c);
        let r = s.post("/api/token/verify/", json!({"token": t})).await;
        if ok {
            assert_eq!(r.status, 200, "{aud:?} {iss:?}");
        } else {
            assert_eq!(
                r.body,
                token_not_valid("Token is invalid"),
                "{aud:?} {iss:?}"
            );
        }
    }
}

#[tokio::test]
async fn leeway_and_future_iat() {
    let s = TestServer::start(json!({"LEEWAY": 10})).await;
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(305);
    assert_eq!(
        s.get("/api/me/", Some(&access)).await.status,
        200,
        "5 s past exp, within leeway"
    );
    s.clock.advance_secs(10);
    assert_eq!(
        s.get("/api/me/", Some(&access)).await.body["messages"][0]["message"],
        "Token is expired"
    );
    let now = s.now();
    let future = s.sign(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &json!({"token_type": "access", "exp": now + 600, "iat": now + 60, "jti": "8".repeat(32), "user_id": "1"}),
    );
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": future}))
            .await
            .body,
        token_not_valid("Token is invalid")
    );
}

#[tokio::test]
async fn lifetimes_from_settings() {
    let s =
        TestServer::start(json!({"ACCESS_TOKEN_LIFETIME": "1m", "REFRESH_TOKEN_LIFETIME": "2h"}))
            .await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let (_, a) = parts(&access);
    let (_, r) = parts(&refresh);
    assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 60);
    assert_eq!(
        r["exp"].as_i64().unwrap() - r["iat"].as_i64().unwrap(),
        7200
    );
    s.clock.advance_secs(60);
    assert_eq!(
        s.get("/api/me/", Some(&access)).await.status,
        401,
        "exp == now is expired"
    );
}

/// `API_PREFIX` moves every route of the API (a Django project's `/api/v1/` layout); the
/// JWKS's well-known path stays at the root.
#[tokio::test]
async fn api_prefix_moves_every_route() {
    let s = TestServer::start(json!({"API_PREFIX": "/api/v1/"})).await;
    s.user("alice", "alice-pass").await;
    let r = s
        .post(
            "/api/v1/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let access = r.str("access");
    assert_eq!(s.get("/api/v1/me/", Some(&access)).await.status, 200);
    assert_eq!(s.get("/api/v1/health", None).await.status, 200);
    assert_eq!(
        s.post("/api/v1/token/verify/", json!({"token": access}))
            .await
            .status,
        200
    );
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 404);
    assert_eq!(s.post("/api/token/", json!({})).await.status, 404);
    assert_eq!(s.get("/.well-known/jwks.json", None).await.status, 200);
    for bad in ["api", "/", "/api/ v1/", "/api//v1/"] {
        let err = tessera_server::config::Config::from_map(
            json!({"API_PREFIX": bad}).as_object().unwrap().clone(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("API_PREFIX"), "{bad:?}: {err}");
    }
}
