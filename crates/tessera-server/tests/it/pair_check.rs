//! POST /api/token/valid/: which of the two tokens is bad.

use serde_json::{Value, json};

use crate::support::TestServer;

async fn check(s: &TestServer, access: Option<&str>, body: Value) -> (u16, Value) {
    let auth = access.map(|a| format!("Bearer {a}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let r = s
        .send(
            reqwest::Method::POST,
            "/api/token/valid/",
            &headers,
            Some(("application/json", serde_json::to_vec(&body).unwrap())),
        )
        .await;
    (r.status.as_u16(), r.body)
}

#[tokio::test]
async fn all_four_answers() {
    let s =
        TestServer::start(json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true}))
            .await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let valid = json!({"detail": "Access and refresh tokens are valid", "code": "tokens_valid"});
    // The codes of the article that introduced the endpoint (PAIR_CHECK_CODES = article).
    let access_bad = json!({"detail": "Access token is invalid or expired. Please refresh using refresh token", "code": "Invalid access token"});
    let refresh_bad =
        json!({"detail": "Refresh token is invalid or expired", "code": "Invalid refresh token"});
    let both_bad = json!({"detail": "Access and refresh tokens are invalid or expired", "code": "Invalid tokens"});

    assert_eq!(
        check(&s, Some(&access), json!({"refresh": refresh})).await,
        (200, valid)
    );
    assert_eq!(
        check(&s, Some("garbage"), json!({"refresh": refresh})).await,
        (400, access_bad.clone())
    );
    assert_eq!(
        check(&s, None, json!({"refresh": refresh})).await,
        (400, access_bad.clone())
    );
    assert_eq!(
        check(&s, Some(&refresh), json!({"refresh": refresh})).await,
        (400, access_bad.clone())
    );
    assert_eq!(
        check(&s, Some(&access), json!({"refresh": access})).await,
        (400, refresh_bad.clone())
    );
    assert_eq!(
        check(&s, Some(&access), json!({})).await,
        (400, refresh_bad.clone())
    );
    assert_eq!(
        check(&s, Some(&access), json!({"refresh": 5})).await,
        (400, refresh_bad.clone())
    );
    assert_eq!(check(&s, None, json!({})).await, (400, both_bad.clone()));
    // A spent refresh token is invalid.
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    assert_eq!(
        check(&s, Some(&access), json!({"refresh": refresh})).await,
        (400, refresh_bad)
    );
    // An expired access token with a live refresh token: refresh, says the server.
    let (access2, refresh2) = s.login("alice", "alice-pass").await;
    s.clock.advance_secs(301);
    assert_eq!(
        check(&s, Some(&access2), json!({"refresh": refresh2})).await,
        (400, access_bad)
    );
    s.clock.advance_secs(86_400);
    assert_eq!(
        check(&s, Some(&access2), json!({"refresh": refresh2})).await,
        (400, both_bad)
    );
}

#[tokio::test]
async fn snake_case_codes_are_a_setting() {
    let s = TestServer::start(json!({"PAIR_CHECK_CODES": "snake_case"})).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    for (access, body, code) in [
        (
            Some("garbage"),
            json!({"refresh": refresh}),
            "access_token_invalid",
        ),
        (Some(access.as_str()), json!({}), "refresh_token_invalid"),
        (None, json!({}), "tokens_invalid"),
    ] {
        let (status, answer) = check(&s, access, body).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some(code)));
    }
    let bad = tessera_core::Settings::from_json(json!({"PAIR_CHECK_CODES": "kebab"}));
    assert!(bad.unwrap_err().to_string().contains("PAIR_CHECK_CODES"));
}
