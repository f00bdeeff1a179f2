//! The HTTP application the `serve` command runs: Tessera's token routes plus the demo
//! API of the reference deployment (`/api/me/`, `/api/reviews/`, `/api/health/`), with
//! CORS and standard security headers.

use axum::extract::{FromRef, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_axum::{
    ApiError, AuthState, Authenticated, Fields, HttpConfig, SecurityLayer, Stateless, Validator,
    allow_header, options_metadata, with_and_without_slash,
};
use tessera_core::clock::iso_datetime;
use tessera_engine::Tessera;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;
use crate::reviews::{NewReview, Review, Reviews};

/// The server's state: Tessera's (for its routes and extractors) and the demo's reviews.
#[derive(Clone)]
pub struct AppState {
    auth: AuthState,
    reviews: Reviews,
}

impl FromRef<AppState> for AuthState {
    fn from_ref(s: &AppState) -> AuthState {
        s.auth.clone()
    }
}

impl FromRef<AppState> for HttpConfig {
    fn from_ref(s: &AppState) -> HttpConfig {
        s.auth.http().clone()
    }
}

/// The full router, state applied: Tessera's token routes under `/api/`, the JWKS at
/// `/.well-known/jwks.json`, and the demo API.
pub fn build(engine: Tessera, reviews: Reviews, config: &Config) -> crate::error::Result<Router> {
    build_with(engine, reviews, config, false, None, None)
}

/// [`build`], with the demo single-page app at `/demo/` when `demo` is set (`tessera
/// serve --demo`), and the admin page (`ADMIN_ENABLED`) writing to `audit` (a new
/// [`AuditLog`](crate::admin::AuditLog) when not given: the engine's security events
/// reach the log only through the one its builder got).
pub fn build_with(
    engine: Tessera,
    reviews: Reviews,
    config: &Config,
    demo: bool,
    audit: Option<crate::admin::AuditLog>,
    keys: Option<crate::key_source::KeySource>,
) -> crate::error::Result<Router> {
    let server = &config.server;
    let (mut endpoints, routes) = config.routes()?;
    let cookie_mode = config.settings.auth_cookie_mode != tessera_core::CookieMode::Off;
    if !cookie_mode {
        // Bearer mode is Simple JWT's API exactly: the cookie modes' routes do not exist.
        for e in tessera_axum::Endpoint::ALL {
            if e.is_browser_only() {
                endpoints.set(e, None)?;
            }
        }
    }
    let auth = AuthState::new(engine)?.with_allowed_origins(server.cors_allowed_origins.clone());
    let mut api: Router<AppState> =
        tessera_axum::token_router_with(&endpoints).with_state(auth.clone());
    if let Some(path) = &routes.health {
        api = with_and_without_slash(api, path, health_route());
    }
    if let Some(path) = &routes.ready {
        api = with_and_without_slash(api, path, ready_route());
    }
    if let Some(path) = &routes.me {
        let me = if server.stateless_authentication {
            me_stateless_route()
        } else {
            me_route()
        };
        api = with_and_without_slash(api, path, me);
    }
    if let Some(path) = &routes.reviews {
        api = with_and_without_slash(api, path, reviews_route());
    }
    if let Some(path) = &routes.me_password {
        api = with_and_without_slash(api, path, password_route());
    }
    if let Some(path) = &routes.schema {
        api = with_and_without_slash(api, path, schema_route(crate::schema::document(config)?));
    }
    let header_name = auth.header_name().clone();
    let security = SecurityLayer::from_settings(auth.settings());
    let prefix = format!("/{}", server.api_prefix.trim_matches('/'));
    let mut app = Router::new()
        .nest(&prefix, api)
        .merge(tessera_axum::well_known_router().with_state(auth.clone()))
        .merge(if demo {
            crate::spa::router(config)
        } else {
            Router::new()
        })
        .merge(if server.admin_enabled {
            let store = auth
                .store()
                .cloned()
                .unwrap_or_else(|| reviews.database().store());
            let audit = audit.unwrap_or_else(|| crate::admin::AuditLog::start(store.clone()));
            crate::admin::router(config, auth.clone(), store, audit, keys)
        } else {
            Router::new()
        })
        .fallback(|| async { ApiError::NotFound })
        .with_state(AppState { auth, reviews })
        .layer(security);
    let csrf_header = HeaderName::from_bytes(config.settings.csrf_header()?.as_bytes())
        .map_err(|_| crate::error::Error::Config("CSRF_HEADER_NAME: not a header name".into()))?;
    let cors = cors_layer(
        &server.cors_allowed_origins,
        header_name,
        cookie_mode.then_some(csrf_header),
    );
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    // Outermost: the access log sees every answer, CORS preflights and 404s included.
    // Installed only when its lines would be written (the log filter is fixed at
    // start-up): a layer that only checks costs /api/me/ about a tenth of its rate.
    if tracing::enabled!(target: "tessera::access", tracing::Level::INFO) {
        app = app.layer(axum::middleware::from_fn(crate::access_log::access_log));
    }
    // Request latencies, only where they are exported (METRICS_BIND).
    if server
        .metrics_bind
        .as_deref()
        .is_some_and(|b| !b.is_empty())
    {
        app = app.layer(axum::middleware::from_fn(crate::prometheus::record_latency));
    }
    Ok(app)
}

/// CORS for the configured origins: preflights answered so a browser app on another
/// origin may send `Authorization` (or the configured header) and JSON bodies; with a
/// cookie mode (`csrf_header` given) also credentials (cookies) and the CSRF header,
/// for the listed origins only (a wildcard is refused when the configuration loads).
/// No origins, no CORS headers: the safe default. The layer is outermost, so error
/// answers carry the headers too and a page can read why it was refused.
fn cors_layer(
    origins: &[String],
    auth_header: HeaderName,
    csrf_header: Option<HeaderName>,
) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let values: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    let mut headers = vec![header::AUTHORIZATION, header::CONTENT_TYPE, auth_header];
    let credentials = csrf_header.is_some();
    headers.extend(csrf_header);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(values))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(headers)
            .allow_credentials(credentials)
            .max_age(std::time::Duration::from_secs(86_400)),
    )
}

fn not_allowed(allow: &'static str) -> impl Fn(Method) -> std::future::Ready<ApiError> + Clone {
    move |m: Method| std::future::ready(ApiError::MethodNotAllowed(m.to_string(), allow))
}

/// A protected view as DRF runs it: authentication and permissions come before the
/// method's handler is looked up, so without valid credentials every method (OPTIONS
/// and a wrong one included) is answered 401; with them, OPTIONS gives the metadata and
/// a wrong method 405. `E` is the route's authentication (user check or stateless). A
/// CORS preflight never gets here: the CORS layer answers it.
fn protected<E>(
    mr: MethodRouter<AppState>,
    name: &'static str,
    methods: &'static [&'static str],
    allow: &'static str,
) -> MethodRouter<AppState>
where
    E: axum::extract::FromRequestParts<AppState, Rejection = tessera_axum::Rejection>
        + Send
        + 'static,
{
    mr.options(move |auth: Result<E, tessera_axum::Rejection>| async move {
        match auth {
            Err(rejection) => rejection.into_response(),
            Ok(_) => options_metadata(name, methods),
        }
    })
    .fallback(
        move |m: Method, auth: Result<E, tessera_axum::Rejection>| async move {
            match auth {
                Err(rejection) => rejection.into_response(),
                Ok(_) => ApiError::MethodNotAllowed(m.to_string(), allow).into_response(),
            }
        },
    )
    .layer(allow_header(allow))
}

/// `GET /api/schema/`: the OpenAPI document, built once (the configuration is fixed).
fn schema_route(doc: Value) -> MethodRouter<AppState> {
    let body = std::sync::Arc::new(doc.to_string());
    get(move || {
        let body = body.clone();
        async move {
            let mut r = (StatusCode::OK, (*body).clone()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
    })
    .options(|| async { options_metadata("Schema", &["GET", "HEAD", "OPTIONS"]) })
    .fallback(not_allowed("GET, HEAD, OPTIONS"))
    .layer(allow_header("GET, HEAD, OPTIONS"))
}

fn health_route() -> MethodRouter<AppState> {
    // No authentication and no database: a load balancer's liveness probe.
    get(|| async { Json(json!({"status": "ok"})) })
        .options(|| async { options_metadata("Health", &["GET", "HEAD", "OPTIONS"]) })
        .fallback(not_allowed("GET, HEAD, OPTIONS"))
        .layer(allow_header("GET, HEAD, OPTIONS"))
}

fn ready_route() -> MethodRouter<AppState> {
    // A load balancer's readiness probe: unlike health, it asks the database, and it
    // says "not ready" while the schema lacks a migration this build needs.
    get(|State(s): State<AppState>| async move {
        let unavailable = |body: Value| {
            let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        };
        match s.reviews.database().store().pending_migrations().await {
            Ok(pending) if pending.is_empty() => Json(json!({"status": "ready"})).into_response(),
            Ok(pending) => unavailable(json!({
                "status": "migrations pending",
                "pending": pending,
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: the database cannot be reached");
                unavailable(json!({"status": "database unreachable"}))
            }
        }
    })
    .options(|| async { options_metadata("Ready", &["GET", "HEAD", "OPTIONS"]) })
    .fallback(not_allowed("GET, HEAD, OPTIONS"))
    .layer(allow_header("GET, HEAD, OPTIONS"))
}

fn me_route() -> MethodRouter<AppState> {
    let mr = get(|a: Authenticated| async move {
        Json(MeBody {
            id: a.user.id,
            username: &a.user.username,
            email: &a.user.email,
        })
        .into_response()
    });
    protected::<Authenticated>(mr, "Me", &["GET", "HEAD", "OPTIONS"], "GET, HEAD, OPTIONS")
}

/// `GET /api/me/` with `STATELESS_AUTHENTICATION`: what the token says, no user read
/// (the id as the token carries it; `username`/`email` from claims, empty without them).
fn me_stateless_route() -> MethodRouter<AppState> {
    let mr = get(|s: Stateless, State(t): State<AuthState>| async move {
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
    });
    protected::<Stateless>(mr, "Me", &["GET", "HEAD", "OPTIONS"], "GET, HEAD, OPTIONS")
}

/// `GET /api/me/`'s answer, serialised straight from the user or the claims (no JSON
/// tree built first).
#[derive(serde::Serialize)]
struct MeBody<'a, Id: serde::Serialize> {
    id: Id,
    username: &'a str,
    email: &'a str,
}

fn reviews_route() -> MethodRouter<AppState> {
    protected::<Authenticated>(
        get(list_reviews).post(create_review),
        "Review List",
        &["GET", "POST", "HEAD", "OPTIONS"],
        "GET, POST, HEAD, OPTIONS",
    )
}

fn password_route() -> MethodRouter<AppState> {
    protected::<Authenticated>(
        axum::routing::post(change_password),
        "Change Password",
        &["POST", "OPTIONS"],
        "POST, OPTIONS",
    )
}

/// `POST /api/me/password/` `{old_password, new_password}`: changes the caller's password
/// and revokes all their sessions (the caller logs in again).
async fn change_password(
    State(t): State<AuthState>,
    auth: Authenticated,
    fields: Fields,
) -> Response {
    let mut v = Validator::new(&fields);
    let old = v.string("old_password");
    let new = v.string("new_password");
    if let Err(e) = v.finish() {
        return e.into_response();
    }
    match t.change_password(&auth.user, &old, &new).await {
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

async fn list_reviews(State(s): State<AppState>, _auth: Authenticated) -> Response {
    match s.reviews.list().await {
        Ok(list) => Json(Value::from(
            list.iter().map(review_json).collect::<Vec<_>>(),
        ))
        .into_response(),
        Err(e) => s.auth.reject(e).into_response(),
    }
}

async fn create_review(State(s): State<AppState>, auth: Authenticated, fields: Fields) -> Response {
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
    // The demo's reviews refer to Django's integer-keyed auth_user.
    let Some(author_id) = auth.user.id.as_int() else {
        return ApiError::NotFound.into_response();
    };
    let new = NewReview {
        product,
        rating,
        comment,
        author_id,
        created_at: s.auth.clock().now_micros(),
    };
    match s.reviews.create(&new).await {
        Ok(r) => (StatusCode::CREATED, Json(review_json(&r))).into_response(),
        Err(e) => s.auth.reject(e).into_response(),
    }
}
