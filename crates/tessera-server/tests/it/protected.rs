//! Protected routes through the extractors (Appendix C 13–17, 20, 22).

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_axum::Stateless;

use crate::support::{TestServer, b64, token_not_valid};

fn not_provided() -> Value {
    json!({"detail": "Authentication credentials were not provided."})
}

#[tokio::test]
async fn header_forms() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    let r = s.get("/api/me/", None).await;
    assert_eq!((r.status.as_u16(), r.body.clone()), (401, not_provided()));
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    for h in [
        format!("bearer {access}"),
        format!("JWT {access}"),
        format!("Token {access}"),
        String::new(),
        "   ".into(),
    ] {
        let r = s.get_with("/api/me/", &[("authorization", &h)]).await;
        assert_eq!((r.status.as_u16(), r.body), (401, not_provided()), "{h:?}");
    }
    for h in ["Bearer".to_owned(), "Bearer a b".to_owned()] {
        let r = s.get_with("/api/me/", &[("authorization", &h)]).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body,
            json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"})
        );
    }
    for h in [format!("Bearer\t{access}"), format!("Bearer  {access}")] {
        let r = s.get_with("/api/me/", &[("authorization", &h)]).await;
        assert_eq!(r.status, 200, "{h:?}");
        assert_eq!(
            r.body,
            json!({"id": 1, "username": "alice", "email": "alice@example.com"})
        );
    }
    // Two Authorization headers are ambiguous: refused.
    let r = s
        .get_with(
            "/api/me/",
            &[
                ("authorization", &format!("Bearer {access}")),
                ("authorization", "Bearer x"),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
}

fn messages(msg: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": msg}],
    })
}

#[tokio::test]
async fn token_errors_carry_messages() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let now = s.now();
    let base = json!({"token_type": "access", "exp": now + 60, "iat": now, "jti": "e".repeat(32), "user_id": "1"});
    let without = |k: &str| {
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let payload = b64(serde_json::to_string(&base).unwrap().as_bytes());
    let cases: Vec<(String, &str)> = vec![
        (refresh.clone(), "Token has wrong type"),
        (
            format!("{}x", &access[..access.len() - 1]),
            "Token is invalid",
        ),
        (
            format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#)),
            "Token is invalid",
        ),
        (
            s.sign(r#"{"alg":"HS512","typ":"JWT"}"#, &base),
            "Token is invalid",
        ),
        (
            s.sign(r#"{"alg":"HS256"}"#, &without("jti")),
            "Token has no id",
        ),
        (
            s.sign(r#"{"alg":"HS256"}"#, &without("token_type")),
            "Token has no type",
        ),
        (
            s.sign(r#"{"alg":"HS256"}"#, &without("exp")),
            "Token has no 'exp' claim",
        ),
    ];
    for (token, msg) in cases {
        let r = s.get("/api/me/", Some(&token)).await;
        assert_eq!(r.status, 401, "{msg}");
        assert_eq!(r.body, messages(msg), "{msg}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    s.clock.advance_secs(300);
    assert_eq!(
        s.get("/api/me/", Some(&access)).await.body,
        messages("Token is expired")
    );
}

#[tokio::test]
async fn user_checks() {
    let s = TestServer::start(json!({})).await;
    let alice = s.user("alice", "alice-pass").await;
    let bob = s.user("bob", "bob-pass-1").await;
    let (a_access, _) = s.login("alice", "alice-pass").await;
    let (b_access, _) = s.login("bob", "bob-pass-1").await;
    let now = s.now();
    let no_user = s.sign(
        r#"{"alg":"HS256"}"#,
        &json!({"token_type": "access", "exp": now + 60, "jti": "f".repeat(32)}),
    );
    let r = s.get("/api/me/", Some(&no_user)).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            401,
            token_not_valid("Token contained no recognizable user identification")
        )
    );
    let numeric = s.sign(
        r#"{"alg":"HS256"}"#,
        &json!({"token_type": "access", "exp": now + 60, "jti": "f".repeat(32), "user_id": alice.id}),
    );
    assert_eq!(
        s.get("/api/me/", Some(&numeric)).await.status,
        200,
        "an int id (Simple JWT <= 5.5.0) works"
    );
    s.store().set_active(alice.id, false).await.unwrap();
    let r = s.get("/api/me/", Some(&a_access)).await;
    assert_eq!(
        r.body,
        json!({"detail": "User is inactive", "code": "user_inactive"})
    );
    s.store().delete_user(bob.id).await.unwrap();
    let r = s.get("/api/me/", Some(&b_access)).await;
    assert_eq!(
        r.body,
        json!({"detail": "User not found", "code": "user_not_found"})
    );
}

#[tokio::test]
async fn inactive_users_pass_when_the_check_is_off() {
    let s = TestServer::start(json!({"CHECK_USER_IS_ACTIVE": false})).await;
    let alice = s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    s.store().set_active(alice.id, false).await.unwrap();
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
}

#[tokio::test]
async fn check_revoke_token_after_password_change() {
    let s = TestServer::start(json!({"CHECK_REVOKE_TOKEN": true})).await;
    let alice = s.user("alice", "alice-pass").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let claim = crate::support::parts(&access).1["hash_password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        claim,
        tessera_core::password::revoke_digest(
            &s.store()
                .user_by_id(alice.id)
                .await
                .unwrap()
                .unwrap()
                .password
        )
    );
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    let new_hash = s
        .tessera
        .hash_password("alice-pass-2".into())
        .await
        .unwrap();
    s.store().set_password(alice.id, &new_hash).await.unwrap();
    let r = s.get("/api/me/", Some(&access)).await;
    assert_eq!(
        r.body,
        json!({"detail": "The user's password has been changed.", "code": "password_changed"})
    );
    // As in 5.5.1: refresh still answers, but its access token carries the old digest.
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.get("/api/me/", Some(&r.str("access"))).await.body["code"],
        "password_changed"
    );
}

#[tokio::test]
async fn custom_header_types_and_name() {
    let s = TestServer::start(json!({"AUTH_HEADER_TYPES": ["JWT", "Bearer"]})).await;
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    for scheme in ["JWT", "Bearer"] {
        let h = format!("{scheme} {access}");
        assert_eq!(
            s.get_with("/api/me/", &[("authorization", &h)])
                .await
                .status,
            200
        );
    }
    let r = s.get("/api/me/", Some("garbage")).await;
    assert_eq!(r.header("www-authenticate"), Some("JWT realm=\"api\""));
    let r = s
        .post("/api/token/", json!({"username": "alice", "password": "x"}))
        .await;
    assert_eq!(r.header("www-authenticate"), Some("JWT realm=\"api\""));

    let s = TestServer::start(json!({"AUTH_HEADER_NAME": "HTTP_X_ACCESS_TOKEN"})).await;
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    let h = format!("Bearer {access}");
    assert_eq!(
        s.get_with("/api/me/", &[("authorization", &h)])
            .await
            .status,
        401
    );
    assert_eq!(
        s.get_with("/api/me/", &[("x-access-token", &h)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn access_and_sliding_classes_report_in_order() {
    let s = TestServer::start(json!({"AUTH_TOKEN_CLASSES": ["AccessToken", "SlidingToken"]})).await;
    s.user("alice", "alice-pass").await;
    let r = s.get("/api/me/", Some("garbage")).await;
    assert_eq!(
        r.body["messages"],
        json!([
            {"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid"},
            {"token_class": "SlidingToken", "token_type": "sliding", "message": "Token is invalid"},
        ])
    );
    let r = s
        .post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    let sliding = r.str("token");
    assert_eq!(s.get("/api/me/", Some(&sliding)).await.status, 200);
    // Blacklisting a sliding token stops it (sliding auth consults the blacklist).
    let jti = crate::support::parts(&sliding).1["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let row = tessera_store::OutstandingToken {
        jti,
        token: sliding.clone(),
        expires_at: 4_102_444_800_000_000,
        ..Default::default()
    };
    s.store().blacklist(&row, 0).await.unwrap();
    let r = s.get("/api/me/", Some(&sliding)).await;
    assert_eq!(r.body["messages"][1]["message"], "Token is blacklisted");
    assert_eq!(r.body["messages"][0]["message"], "Token has wrong type");
}

#[tokio::test]
async fn stateless_extractor_needs_no_user_row() {
    let s = TestServer::start(json!({})).await;
    let alice = s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    s.store().delete_user(alice.id).await.unwrap();
    // A library user's own app, mounting the stateless extractor.
    let app: Router = Router::new()
        .route(
            "/whoami",
            get(|a: Stateless| async move {
                Json(json!({"user": a.user.to_string(), "name": a.user.username()}))
            }),
        )
        .with_state(s.auth.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = client
        .get(format!("http://{addr}/whoami"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"user": format!("TokenUser {}", alice.id), "name": "alice"})
    );
    let r = client
        .get(format!("http://{addr}/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn reviews_demo_api() {
    reviews_demo_api_on(TestServer::start(json!({})).await).await;
}

/// The demo's reviews keep their own table and SQL in the server: the same on PostgreSQL.
#[tokio::test]
async fn reviews_demo_api_on_postgres() {
    if let Some(s) = TestServer::start_pg(json!({}), None).await {
        reviews_demo_api_on(s).await;
    }
}

async fn reviews_demo_api_on(s: TestServer) {
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    assert_eq!(s.get("/api/reviews/", None).await.status, 401);
    let r = s.get("/api/reviews/", Some(&access)).await;
    assert_eq!((r.status.as_u16(), r.body), (200, json!([])));
    let post = |body: Value| {
        let s = &s;
        let auth = format!("Bearer {access}");
        async move {
            s.send(
                reqwest::Method::POST,
                "/api/reviews/",
                &[("authorization", &auth)],
                Some(("application/json", serde_json::to_vec(&body).unwrap())),
            )
            .await
        }
    };
    let r = post(json!({"product": "Kettle", "rating": 6})).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            400,
            json!({"rating": ["Ensure this value is less than or equal to 5."]})
        )
    );
    let r = post(json!({"rating": "x"})).await;
    assert_eq!(
        r.body,
        json!({"product": ["This field is required."], "rating": ["A valid integer is required."]})
    );
    let r = post(json!({"product": "Kettle", "rating": 4, "comment": "Boils."})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["author"], "alice");
    assert_eq!(r.body["rating"], 4);
    assert!(r.body["created_at"].as_str().unwrap().ends_with('Z'));
    let r = s.get("/api/reviews/", Some(&access)).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn stateless_me_trusts_the_token_alone() {
    let s = TestServer::start(json!({"STATELESS_AUTHENTICATION": true})).await;
    let alice = s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    let r = s.get("/api/me/", Some(&access)).await;
    // The id as the token carries it: a string, as Simple JWT's TokenUser.id.
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"id": alice.id.to_string(), "username": "alice", "email": "alice@example.com"})
    );
    // No user read: deactivating the user does not stop the token (that is the trade).
    s.store().set_active(alice.id, false).await.unwrap();
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    // The token still has to be good.
    assert_eq!(s.get("/api/me/", None).await.body, not_provided());
    let r = s.get("/api/me/", Some(&format!("{access}x"))).await;
    assert_eq!(r.status, 401);
    // Without the claims the token-only answer has empty names.
    let bare =
        TestServer::start(json!({"STATELESS_AUTHENTICATION": true, "USER_CLAIM_FIELDS": []})).await;
    let bob = bare.user("bob", "bob-pass-123").await;
    let (access, _) = bare.login("bob", "bob-pass-123").await;
    let r = bare.get("/api/me/", Some(&access)).await;
    assert_eq!(
        r.body,
        json!({"id": bob.id.to_string(), "username": "", "email": ""})
    );
}

#[tokio::test]
async fn a_token_seen_before_meets_every_check_again() {
    // The verified-token cache (on by default) must never answer for the checks that
    // can change: the user, and the token's time claims.
    let s = TestServer::start(json!({})).await;
    let alice = s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    for _ in 0..3 {
        assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    }
    s.store().set_active(alice.id, false).await.unwrap();
    let r = s.get("/api/me/", Some(&access)).await;
    assert_eq!(
        r.body,
        json!({"detail": "User is inactive", "code": "user_inactive"})
    );
    s.store().set_active(alice.id, true).await.unwrap();
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    s.clock.advance_secs(300);
    let r = s.get("/api/me/", Some(&access)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["messages"][0]["message"], "Token is expired");
    // A byte changed is another token, checked from scratch.
    s.clock.advance_secs(-300);
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    let last = if access.ends_with('A') { 'E' } else { 'A' };
    let forged = format!("{}{last}", &access[..access.len() - 1]);
    assert_eq!(s.get("/api/me/", Some(&forged)).await.status, 401);
}
