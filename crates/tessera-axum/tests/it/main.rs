//! The axum layer in-process: routers driven with `tower::ServiceExt::oneshot`, over a
//! real SQLite file (the server crate's suite does the same over real HTTP).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tessera_axum::{AuthState, OptionalAuthenticated, SecurityLayer};
use tessera_core::{KeySet, Settings};
use tessera_engine::Tessera;
use tessera_store::NewUser;
use tower::ServiceExt as _;

struct Fixture {
    auth: AuthState,
    _dir: tempfile::TempDir,
}

async fn fixture(settings: Value) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(&format!("sqlite://{}/t.sqlite3", dir.path().display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let settings = Settings::from_json(settings).unwrap();
    let keys = KeySet::hmac(
        settings.algorithm,
        b"a-test-signing-key-of-32-bytes-or-more",
    )
    .unwrap();
    let engine = Tessera::builder(settings, keys, store.clone())
        .build()
        .unwrap();
    let hash = engine.hash_password("alice-pass-9".into()).await.unwrap();
    store
        .create_user(&NewUser::new("alice", &hash, 0))
        .await
        .unwrap();
    Fixture {
        auth: AuthState::new(engine).unwrap(),
        _dir: dir,
    }
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, body)
}

fn post(path: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_token_router_nests_under_any_prefix() {
    let f = fixture(json!({})).await;
    let app = Router::new().nest(
        "/auth/v2",
        tessera_axum::token_router().with_state(f.auth.clone()),
    );
    let (status, _, pair) = call(
        &app,
        post(
            "/auth/v2/token/",
            json!({"username": "alice", "password": "alice-pass-9"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let (status, _, body) = call(
        &app,
        post("/auth/v2/token/verify", json!({"token": pair["access"]})),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, headers, _) = call(
        &app,
        Request::get("/auth/v2/token/refresh/")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "POST, OPTIONS");
    let (status, _, _) = call(&app, post("/api/token/", json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn one_route_alone_at_a_path_of_the_apps_choosing() {
    let f = fixture(json!({})).await;
    let app = Router::new().route(
        "/login",
        tessera_axum::obtain_pair_route().with_state(f.auth.clone()),
    );
    let (status, headers, body) = call(
        &app,
        post("/login", json!({"username": "alice", "password": "wrong"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "No active account found with the given credentials"})
        )
    );
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"api\"");
}

#[tokio::test]
async fn optional_authentication_welcomes_anonymous_but_refuses_bad_tokens() {
    let f = fixture(json!({})).await;
    let pair = f
        .auth
        .obtain_pair(
            "alice",
            "alice-pass-9",
            &tessera_engine::ClientInfo::default(),
        )
        .await
        .unwrap();
    let app: Router = Router::new()
        .route(
            "/hello",
            get(
                |OptionalAuthenticated(who): OptionalAuthenticated| async move {
                    axum::Json(json!({"user": who.map(|a| a.user.username.clone())}))
                },
            ),
        )
        .with_state(f.auth.clone());
    let req = |auth: Option<String>| {
        let mut r = Request::get("/hello");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.body(Body::empty()).unwrap()
    };
    assert_eq!(call(&app, req(None)).await.2, json!({"user": null}));
    let (status, _, body) = call(&app, req(Some(format!("Bearer {}", pair.access)))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user": "alice"})));
    let (status, _, body) = call(&app, req(Some("Bearer not-a-token".into()))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_not_valid"))
    );
    let (status, _, body) = call(&app, req(Some("Bearer".into()))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_authorization_header"))
    );
}

#[tokio::test]
async fn the_security_layer_sets_headers_and_refuses_huge_header_blocks() {
    let f = fixture(json!({"MAX_HEADER_BYTES": 4096})).await;
    let app = Router::new()
        .route("/ping", get(|| async { "pong" }))
        .layer(SecurityLayer::from_settings(f.auth.settings()));
    let (status, headers, _) = call(&app, Request::get("/ping").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(headers[name], value);
    }
    let big = "x".repeat(5000);
    let (status, headers, body) = call(
        &app,
        Request::get("/ping")
            .header("x-big", big)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(body, json!({"detail": "Request header fields too large."}));
    assert_eq!(headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn domain_errors_become_simple_jwt_answers_in_one_place() {
    use tessera_axum::ApiError;
    use tessera_engine::Error;
    let cases: Vec<(Error, u16, Value)> = vec![
        (
            Error::Throttled {
                retry_after_secs: 42,
            },
            429,
            json!({"detail": "Request was throttled. Expected available in 42 seconds."}),
        ),
        (
            Error::TokenReused,
            401,
            json!({"detail": "Token is blacklisted", "code": "token_reused"}),
        ),
        (
            Error::UserInactive,
            401,
            json!({"detail": "User is inactive", "code": "user_inactive"}),
        ),
        (
            Error::BadCredentials,
            401,
            json!({"detail": "No active account found with the given credentials"}),
        ),
        (
            Error::HashingBusy,
            503,
            json!({"detail": "Too many logins at once; try again shortly.", "code": "service_unavailable"}),
        ),
        (
            Error::Internal("secret detail".into()),
            500,
            json!({"detail": "A server error occurred."}),
        ),
        (
            Error::Token(tessera_core::Error::ExpiredToken),
            401,
            json!({"detail": "Token is expired", "code": "token_not_valid"}),
        ),
    ];
    for (err, status, body) in cases {
        let e = ApiError::from(err);
        assert_eq!((e.status().as_u16(), e.body()), (status, body));
    }
    let resp = axum::response::IntoResponse::into_response(ApiError::from(Error::Throttled {
        retry_after_secs: 42,
    }));
    assert_eq!(resp.headers()["retry-after"], "42");
}
