//! The example app, driven in-process through its router (`tower::ServiceExt::oneshot`)
//! and once over real HTTP on loopback.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tessera_example_reviews::{App, build};
use tower::ServiceExt as _;

const KEY: &[u8] = b"an-example-signing-key-of-32-bytes-or-more";

struct Harness {
    app: App,
    router: Router,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite3");
    let (app, router) = build(path.to_str().unwrap(), KEY).await.unwrap();
    Harness {
        app,
        router,
        _dir: dir,
    }
}

impl Harness {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body)
    }

    async fn signup(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/signup",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

#[tokio::test]
async fn sign_up_logs_the_member_in_at_once() {
    let h = harness().await;
    let body = h.signup("erin@example.com", "correct-horse-9").await;
    let access = body["access"].as_str().unwrap();
    let (status, me) = h.call("GET", "/api/v1/me", Some(access), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({"id": body["id"], "email": "erin@example.com"}));
    // The token names the app's own integer id, as Simple JWT writes it (a string).
    let claims = h.app.auth.tokens().validate(access, None).unwrap();
    assert_eq!(
        claims["user_id"],
        json!(body["id"].as_i64().unwrap().to_string())
    );
    // A second sign-up with the same address is refused.
    let (status, err) = h
        .call(
            "POST",
            "/api/v1/signup",
            None,
            Some(json!({"email": "erin@example.com", "password": "correct-horse-9"})),
        )
        .await;
    assert_eq!(
        (status, err),
        (
            StatusCode::BAD_REQUEST,
            json!({"email": ["This email address is taken."]})
        )
    );
}

#[tokio::test]
async fn tessera_routes_under_the_apps_prefix_log_in_by_email() {
    let h = harness().await;
    h.signup("frank@example.com", "correct-horse-9").await;
    let (status, pair) = h
        .call(
            "POST",
            "/api/v1/auth/token/",
            None,
            Some(json!({"username": "frank@example.com", "password": "correct-horse-9"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let (status, bad) = h
        .call(
            "POST",
            "/api/v1/auth/token/",
            None,
            Some(json!({"username": "frank@example.com", "password": "wrong"})),
        )
        .await;
    assert_eq!(
        (status, bad),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "No active account found with the given credentials"})
        )
    );
    // Rotation and reuse detection work on the app's users as on Django's.
    let refresh = pair["refresh"].as_str().unwrap();
    let (status, rotated) = h
        .call(
            "POST",
            "/api/v1/auth/token/refresh/",
            None,
            Some(json!({"refresh": refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, replay) = h
        .call(
            "POST",
            "/api/v1/auth/token/refresh/",
            None,
            Some(json!({"refresh": refresh})),
        )
        .await;
    assert_eq!(
        (status, replay["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_not_valid"))
    );
    // The replay revoked the whole session: the rotated token is refused too.
    let (status, _) = h
        .call(
            "POST",
            "/api/v1/auth/token/refresh/",
            None,
            Some(json!({"refresh": rotated["refresh"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The paths Simple JWT serves at /api/token/ are not served there by this app.
    let (status, _) = h.call("POST", "/api/token/", None, Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_apps_own_routes_are_protected_by_the_generic_extractor() {
    let h = harness().await;
    let body = h.signup("gina@example.com", "correct-horse-9").await;
    let access = body["access"].as_str().unwrap();
    let (status, err) = h.call("GET", "/api/v1/reviews", None, None).await;
    assert_eq!(
        (status, err),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );
    let (status, review) = h
        .call(
            "POST",
            "/api/v1/reviews",
            Some(access),
            Some(json!({"product": "Kettle", "rating": 4, "comment": "Boils."})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(review["author"], "gina@example.com");
    let (_, list) = h.call("GET", "/api/v1/reviews", Some(access), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // A suspended member's token stops working with the next request.
    let id = body["id"].as_i64().unwrap();
    // Changed behind Tessera's back, the cached row still answers (within its TTL)...
    h.app.members.set_active(id, false).await.unwrap();
    let (status, _) = h.call("GET", "/api/v1/me", Some(access), None).await;
    assert_eq!(status, StatusCode::OK);
    // ...until the app tells Tessera, as `App::suspend` does.
    h.app.suspend(id, true).await.unwrap();
    let (status, err) = h.call("GET", "/api/v1/me", Some(access), None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("user_inactive"))
    );
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_of_an_app_user() {
    let h = harness().await;
    let first = h.signup("hank@example.com", "correct-horse-9").await;
    let (_, second) = h
        .call(
            "POST",
            "/api/v1/auth/token/",
            None,
            Some(json!({"username": "hank@example.com", "password": "correct-horse-9"})),
        )
        .await;
    let other = h.signup("ivy@example.com", "correct-horse-9").await;
    let (status, _) = h
        .call(
            "POST",
            "/api/v1/auth/token/blacklist/all/",
            first["access"].as_str(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for refresh in [&first["refresh"], &second["refresh"]] {
        let (status, body) = h
            .call(
                "POST",
                "/api/v1/auth/token/refresh/",
                None,
                Some(json!({"refresh": refresh})),
            )
            .await;
        assert_eq!(
            (status, body["detail"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("Token is blacklisted"))
        );
    }
    // Another member's session is untouched.
    let (status, _) = h
        .call(
            "POST",
            "/api/v1/auth/token/refresh/",
            None,
            Some(json!({"refresh": other["refresh"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn over_real_http_with_client_addresses() {
    let h = harness().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = h.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = client
        .post(format!("http://{addr}/api/v1/signup"))
        .json(&json!({"email": "jo@example.com", "password": "correct-horse-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let pair: Value = r.json().await.unwrap();
    let r = client
        .get(format!("http://{addr}/api/v1/me"))
        .bearer_auth(pair["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
