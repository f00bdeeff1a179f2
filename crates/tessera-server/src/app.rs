//! The HTTP application the `serve` command runs: Tessera's token routes plus the demo
//! API of the reference deployment (`/api/me/`, `/api/reviews/`, `/api/health/`), with
//! CORS and standard security headers.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_axum::{
    ApiError, Authenticated, Fields, Stateless, Tessera, Validator, allow_header, options_metadata,
};
use tessera_core::clock::iso_datetime;
use tessera_store::{NewReview, Review};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::ServerConfig;

/// The full router, state applied.
pub fn build(tessera: Tessera, server: &ServerConfig) -> Router {
    let mut router = tessera_axum::token_router::<Tessera>();
    router = tessera_axum::with_and_without_slash(router, "/api/health/", health_route());
    let me = if server.stateless_authentication {
        me_stateless_route()
    } else {
        me_route()
    };
    router = tessera_axum::with_and_without_slash(router, "/api/me/", me);
    router = tessera_axum::with_and_without_slash(router, "/api/reviews/", reviews_route());
    router = tessera_axum::with_and_without_slash(router, "/api/me/password/", password_route());
    let header_name = tessera.header_name().clone();
    let max_header_bytes = tessera.settings().max_header_bytes;
    let mut app = router
        .fallback(|| async { ApiError::NotFound })
        .with_state(tessera)
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                // Checked before any handler parses anything (hyper's own cap is far
                // larger than an auth API needs).
                let size: usize = req
                    .headers()
                    .iter()
                    .map(|(k, v)| k.as_str().len() + v.len() + 4)
                    .sum();
                if size > max_header_bytes {
                    return ApiError::HeadersTooLarge.into_response();
                }
                next.run(req).await
            },
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    if let Some(cors) = cors_layer(&server.cors_allowed_origins, header_name) {
        app = app.layer(cors);
    }
    app
}

/// CORS for the configured origins: preflights answered so a browser app on another
/// origin may send `Authorization` (or the configured header) and JSON bodies.
/// No origins, no CORS headers: the safe default.
fn cors_layer(origins: &[String], auth_header: HeaderName) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let values: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(values))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, auth_header])
            .max_age(std::time::Duration::from_secs(86_400)),
    )
}

fn not_allowed(allow: &'static str) -> impl Fn(Method) -> std::future::Ready<ApiError> + Clone {
    move |m: Method| std::future::ready(ApiError::MethodNotAllowed(m.to_string(), allow))
}

fn health_route() -> MethodRouter<Tessera> {
    // No authentication and no database: a load balancer's liveness probe.
    get(|| async { Json(json!({"status": "ok"})) })
        .options(|| async { options_metadata("Health", &["GET", "HEAD", "OPTIONS"]) })
        .fallback(not_allowed("GET, HEAD, OPTIONS"))
        .layer(allow_header("GET, HEAD, OPTIONS"))
}

fn me_route() -> MethodRouter<Tessera> {
    get(|a: Authenticated| async move {
        Json(MeBody {
            id: a.user.id,
            username: &a.user.username,
            email: &a.user.email,
        })
        .into_response()
    })
    .options(|| async { options_metadata("Me", &["GET", "HEAD", "OPTIONS"]) })
    .fallback(not_allowed("GET, HEAD, OPTIONS"))
    .layer(allow_header("GET, HEAD, OPTIONS"))
}

/// `GET /api/me/` with `STATELESS_AUTHENTICATION`: what the token says, no user read
/// (the id as the token carries it; `username`/`email` from claims, empty without them).
fn me_stateless_route() -> MethodRouter<Tessera> {
    get(|s: Stateless, State(t): State<Tessera>| async move {
        let claims = &s.user.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("");
        Json(MeBody {
            id: claims
                .get(&t.settings().user_id_claim)
                .unwrap_or(&Value::Null),
            username: text("username"),
            email: text("email"),
        })
        .into_response()
    })
    .options(|| async { options_metadata("Me", &["GET", "HEAD", "OPTIONS"]) })
    .fallback(not_allowed("GET, HEAD, OPTIONS"))
    .layer(allow_header("GET, HEAD, OPTIONS"))
}

/// `GET /api/me/`'s answer, serialised straight from the user or the claims (no JSON
/// tree built first).
#[derive(serde::Serialize)]
struct MeBody<'a, Id: serde::Serialize> {
    id: Id,
    username: &'a str,
    email: &'a str,
}

fn reviews_route() -> MethodRouter<Tessera> {
    get(list_reviews)
        .post(create_review)
        .options(|| async { options_metadata("Review List", &["GET", "POST", "HEAD", "OPTIONS"]) })
        .fallback(not_allowed("GET, POST, HEAD, OPTIONS"))
        .layer(allow_header("GET, POST, HEAD, OPTIONS"))
}

fn password_route() -> MethodRouter<Tessera> {
    axum::routing::post(change_password)
        .options(|| async { options_metadata("Change Password", &["POST", "OPTIONS"]) })
        .fallback(not_allowed("POST, OPTIONS"))
        .layer(allow_header("POST, OPTIONS"))
}

/// `POST /api/me/password/` `{old_password, new_password}`: changes the caller's password
/// and revokes all their sessions (the caller logs in again).
async fn change_password(
    State(t): State<Tessera>,
    auth: Authenticated,
    fields: Fields,
) -> Response {
    let mut v = Validator::new(&fields);
    let old = v.string("old_password");
    let new = v.string("new_password");
    if let Err(e) = v.finish() {
        return e.into_response();
    }
    let mut v = Validator::new(&fields);
    match t.check_password(&auth.user, &old).await {
        Ok(true) => {}
        Ok(false) => v.error("old_password", "Your old password was entered incorrectly."),
        Err(e) => return t.reject(e).into_response(),
    }
    for problem in tessera_core::password::strength_problems(&auth.user.username, &new) {
        v.error("new_password", problem);
    }
    if let Err(e) = v.finish() {
        return e.into_response();
    }
    match t.change_password(auth.user.id, &new).await {
        Ok(()) => Json(json!({"detail": "Password changed; every session was signed out."}))
            .into_response(),
        Err(e) => t.reject(e).into_response(),
    }
}

fn review_json(r: &Review) -> Value {
    json!({
        "id": r.id,
        "product": r.product,
        "rating": r.rating,
        "comment": r.comment,
        "author": r.author,
        "created_at": iso_datetime(r.created_at),
    })
}

async fn list_reviews(State(t): State<Tessera>, _auth: Authenticated) -> Response {
    match t.store().list_reviews().await {
        Ok(list) => Json(Value::from(
            list.iter().map(review_json).collect::<Vec<_>>(),
        ))
        .into_response(),
        Err(e) => t.reject(e).into_response(),
    }
}

async fn create_review(State(t): State<Tessera>, auth: Authenticated, fields: Fields) -> Response {
    let mut v = Validator::new(&fields);
    let product = v.string("product");
    if product.chars().count() > 200 {
        v.error(
            "product",
            "Ensure this field has no more than 200 characters.",
        );
    }
    let rating = v.integer("rating", 1, 5);
    let comment = v.optional_string("comment");
    if let Err(e) = v.finish() {
        return e.into_response();
    }
    let new = NewReview {
        product,
        rating,
        comment,
        author_id: auth.user.id,
        created_at: t.clock().now_micros(),
    };
    match t.store().create_review(&new).await {
        Ok(r) => (StatusCode::CREATED, Json(review_json(&r))).into_response(),
        Err(e) => t.reject(e).into_response(),
    }
}
