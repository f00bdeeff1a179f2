//! The token endpoints: Simple JWT's views, plus the access/refresh pair check. Each
//! handler reads the request, calls one flow of the engine and writes Simple JWT's
//! answer; no flow logic lives here.
//!
//! Paths are relative: [`token_router`] serves `/token/…`, so `nest("/api", …)` gives
//! Simple JWT's layout and `nest("/api/v1/auth", …)` another; each route is also
//! available alone (`obtain_pair_route()` …) for an app that mounts only some. Each is
//! stated over [`AuthState`]: give it with `.with_state(auth)`, which also lets it join
//! a router of any state type.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_core::AuthUser;
use tessera_engine::{ClientInfo, Error as Domain};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::Authenticated;
use crate::body::{Fields, Validator, one_field};
use crate::browser::{logout as browser_logout, logout_all as browser_logout_all};
use crate::client_ip::ClientIp;
use crate::endpoints::{Endpoint, Endpoints};
use crate::error::{ApiError, Rejection};
use crate::openapi::{Empty, PairCheck, Refreshed, SlidingToken, TokenPair};
use crate::state::AuthState;

type ApiResult = Result<Response, ApiError>;

/// A 200 JSON answer that carries tokens: never cached (RFC 6749 §5.1).
fn token_response(body: impl serde::Serialize) -> Response {
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// Every token route, each at its path with and without the trailing slash:
/// `/token/`, `/token/refresh/`, `verify/`, `blacklist/`, `blacklist/all/`, `sliding/`,
/// `sliding/refresh/`, `valid/` and `jwks/`. Nest it where the API lives
/// (`nest("/api", token_router().with_state(auth))` is Simple JWT's layout); add
/// [`well_known_router`] at the root for `/.well-known/jwks.json`.
pub fn token_router<U>() -> Router<AuthState<U>>
where
    U: AuthUser,
{
    token_router_with(&Endpoints::default())
}

/// [`token_router`] with each endpoint at the path `endpoints` gives it, and without
/// the ones it switches off. Panics, as axum does, when two endpoints share a path:
/// check with [`Endpoints::check_distinct`] first.
pub fn token_router_with<U>(endpoints: &Endpoints) -> Router<AuthState<U>>
where
    U: AuthUser,
{
    let mut router = Router::new();
    for (endpoint, path) in endpoints.enabled() {
        let mr = match endpoint {
            Endpoint::ObtainPair => obtain_pair_route(),
            Endpoint::Refresh => refresh_route(),
            Endpoint::Verify => verify_route(),
            Endpoint::Blacklist => blacklist_route(),
            Endpoint::BlacklistAll => blacklist_all_route(),
            Endpoint::ObtainSliding => obtain_sliding_route(),
            Endpoint::RefreshSliding => refresh_sliding_route(),
            Endpoint::PairCheck => pair_check_route(),
            Endpoint::Jwks => jwks_route(),
            Endpoint::Logout => logout_route(),
            Endpoint::LogoutAll => logout_all_route(),
            Endpoint::Session => session_route(),
        };
        router = with_and_without_slash(router, path, mr);
    }
    router
}

/// `/.well-known/jwks.json` (RFC 8615), which belongs at the root of the host.
pub fn well_known_router<U>() -> Router<AuthState<U>>
where
    U: AuthUser,
{
    Router::new().route("/.well-known/jwks.json", jwks_route())
}

/// Defines `pub fn $route<U>() -> MethodRouter<AuthState<U>>`: `$handler` at POST, with
/// DRF's OPTIONS metadata named `$name`.
macro_rules! post_route {
    ($(#[$doc:meta])* $route:ident => $handler:ident, $name:literal) => {
        $(#[$doc])*
        pub fn $route<U: AuthUser>() -> MethodRouter<AuthState<U>> {
            post_only($handler, $name)
        }
    };
}

post_route!(
    /// `POST`: `{username, password}` → `{refresh, access}` (Simple JWT's `TokenObtainPairView`).
    obtain_pair_route => obtain_pair, "Token Obtain Pair"
);
post_route!(
    /// `POST`: `{refresh}` → `{access}` (+ `refresh` with rotation).
    refresh_route => refresh, "Token Refresh"
);
post_route!(
    /// `POST`: `{token}` → `{}` for any valid token.
    verify_route => verify, "Token Verify"
);
post_route!(
    /// `POST`: `{refresh}` → `{}`; the token's session ends (logout).
    blacklist_route => blacklist, "Token Blacklist"
);
post_route!(
    /// `POST` with a bearer token: every session of the caller ends (logout everywhere).
    blacklist_all_route => blacklist_all, "Token Blacklist All"
);
post_route!(
    /// `POST`: `{username, password}` → `{token}` (a sliding token).
    obtain_sliding_route => obtain_sliding, "Token Obtain Sliding"
);
post_route!(
    /// `POST`: `{token}` → `{token}` with a later `exp`.
    refresh_sliding_route => refresh_sliding, "Token Refresh Sliding"
);
post_route!(
    /// `POST` with a bearer access token and `{refresh}`: which of the two is bad.
    pair_check_route => pair_check, "Token Pair Valid"
);

post_route!(
    /// `POST` (cookie modes): the session of the refresh cookie (or body) ends; the
    /// cookies are cleared. Idempotent.
    logout_route => browser_logout, "Token Logout"
);
post_route!(
    /// `POST` (cookie modes), authenticated: every session of the caller ends.
    logout_all_route => browser_logout_all, "Token Logout All"
);

/// `GET` (cookie modes): whether the refresh cookie holds a live session, and a fresh
/// CSRF token when it does.
pub fn session_route<U>() -> MethodRouter<AuthState<U>>
where
    U: AuthUser,
{
    axum::routing::get(crate::browser::session::<U>)
        .options(|| async { options_metadata("Token Session", &["GET", "HEAD", "OPTIONS"]) })
        .fallback(|method: axum::http::Method| async move {
            ApiError::MethodNotAllowed(method.to_string(), "GET, HEAD, OPTIONS")
        })
        .layer(allow_header("GET, HEAD, OPTIONS"))
}

/// `GET`: the public keys as a JWK Set, with an `ETag`.
pub fn jwks_route<U>() -> MethodRouter<AuthState<U>>
where
    U: AuthUser,
{
    axum::routing::get(crate::jwks::serve_jwks::<U>)
        .options(|| async { options_metadata("JWKS", &["GET", "HEAD", "OPTIONS"]) })
        .fallback(|method: axum::http::Method| async move {
            ApiError::MethodNotAllowed(method.to_string(), "GET, HEAD, OPTIONS")
        })
        .layer(allow_header("GET, HEAD, OPTIONS"))
}

/// Registers `mr` at `path` and at `path` without its trailing slash.
pub fn with_and_without_slash<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    path: &str,
    mr: MethodRouter<S>,
) -> Router<S> {
    let bare = path.trim_end_matches('/');
    router.route(path, mr.clone()).route(bare, mr)
}

/// POST plus OPTIONS (DRF's metadata), 405 with `Allow: POST, OPTIONS` for the rest.
fn post_only<S, H, T>(handler: H, name: &'static str) -> MethodRouter<S>
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    post(handler)
        .options(move || async move { options_metadata(name, &["POST", "OPTIONS"]) })
        .fallback(|method: axum::http::Method| async move {
            ApiError::MethodNotAllowed(method.to_string(), "POST, OPTIONS")
        })
        .layer(allow_header("POST, OPTIONS"))
}

/// DRF sends `Allow` (the view's methods) on every response of a view, not only on 405s;
/// some clients read it.
pub fn allow_header(methods: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(header::ALLOW, HeaderValue::from_static(methods))
}

/// DRF's `SimpleMetadata` answer to OPTIONS, with the `Allow` header.
pub fn options_metadata(name: &str, allow: &[&str]) -> Response {
    let mut resp = Json(json!({
        "name": name,
        "description": "",
        "renders": ["application/json"],
        "parses": ["application/json", "application/x-www-form-urlencoded"],
    }))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// Turns a handler's result into a response, 401s carrying this configuration's
/// `WWW-Authenticate` challenge.
fn respond<U: AuthUser>(t: &AuthState<U>, r: ApiResult) -> Response {
    r.unwrap_or_else(|e| e.into_response_with(t.challenge()))
}

/// Defines the axum handler `$name` around `$inner(&AuthState, args…)`.
macro_rules! handler {
    ($name:ident => $inner:ident($($arg:ident: $ty:ty),*)) => {
        async fn $name<U: AuthUser>(State(t): State<AuthState<U>>, $($arg: $ty),*) -> Response {
            let r = $inner(&t, $($arg),*).await;
            respond(&t, r)
        }
    };
}

handler!(obtain_pair => obtain_pair_inner(client: ClientIp, headers: HeaderMap, fields: Fields));
handler!(obtain_sliding => obtain_sliding_inner(client: ClientIp, headers: HeaderMap, fields: Fields));
handler!(refresh => refresh_inner(headers: HeaderMap, fields: Fields));
handler!(verify => verify_inner(fields: Fields));
handler!(blacklist => blacklist_inner(fields: Fields));
handler!(refresh_sliding => refresh_sliding_inner(headers: HeaderMap, fields: Fields));
handler!(pair_check => pair_check_inner(headers: HeaderMap, fields: Fields));

/// The login fields, checked as DRF's serializer checks them, and the client.
fn credentials(
    fields: &Fields,
    login_field: &str,
    client: ClientIp,
    headers: &HeaderMap,
) -> Result<(String, String, ClientInfo), ApiError> {
    let mut v = Validator::new(fields);
    let username = v.string(login_field);
    let password = v.string("password");
    if password.len() > tessera_core::password::MAX_PASSWORD_LEN {
        v.error(
            "password",
            format!(
                "Ensure this field has no more than {} characters.",
                tessera_core::password::MAX_PASSWORD_LEN
            ),
        );
    }
    v.finish()?;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((
        username,
        password,
        ClientInfo::new(client.0).with_user_agent(agent),
    ))
}

/// `POST /api/token/`: `{username, password}` → `{refresh, access}` (the login field
/// is named by `USERNAME_FIELD`, as in Simple JWT).
async fn obtain_pair_inner<U: AuthUser>(
    t: &AuthState<U>,
    client: ClientIp,
    headers: HeaderMap,
    fields: Fields,
) -> ApiResult {
    let (username, password, client) =
        credentials(&fields, &t.settings().username_field, client, &headers)?;
    let pair = t.obtain_pair(&username, &password, &client).await?;
    if t.cookies().enabled() {
        return crate::browser::obtained(t, &pair.refresh, &pair.access);
    }
    Ok(token_response(TokenPair {
        refresh: pair.refresh,
        access: pair.access,
    }))
}

/// `POST /api/token/sliding/`: `{username, password}` → `{token}`.
async fn obtain_sliding_inner<U: AuthUser>(
    t: &AuthState<U>,
    client: ClientIp,
    headers: HeaderMap,
    fields: Fields,
) -> ApiResult {
    let (username, password, client) =
        credentials(&fields, &t.settings().username_field, client, &headers)?;
    let token = t.obtain_sliding(&username, &password, &client).await?;
    if t.cookies().mode == tessera_core::CookieMode::Full {
        return crate::browser::obtained_sliding(t, &token);
    }
    Ok(token_response(SlidingToken { token }))
}

/// `POST /api/token/refresh/`: `{refresh}` → `{access}` (+ `refresh` with rotation).
/// In a cookie mode, a body without `refresh` means the refresh cookie.
async fn refresh_inner<U: AuthUser>(
    t: &AuthState<U>,
    headers: HeaderMap,
    fields: Fields,
) -> ApiResult {
    if t.cookies().enabled() && !fields.0.contains_key("refresh") {
        return Ok(crate::browser::refresh_from_cookie(t, &headers).await);
    }
    let raw = one_field(&fields, "refresh")?;
    let refreshed = match t.refresh(&raw).await {
        // The session is revoked either way; the answer is Simple JWT's unless the
        // distinct code was asked for.
        Err(Domain::TokenReused) if !t.settings().token_reused_code => {
            return Err(tessera_core::Error::Blacklisted.into());
        }
        r => r?,
    };
    Ok(token_response(Refreshed {
        access: refreshed.access,
        refresh: refreshed.refresh,
    }))
}

/// `POST /api/token/verify/`: `{token}` → `{}` for any valid token type; a blacklisted
/// one is DRF's 400 `non_field_errors`, as Simple JWT's serializer raises it.
async fn verify_inner<U: AuthUser>(t: &AuthState<U>, fields: Fields) -> ApiResult {
    let raw = one_field(&fields, "token")?;
    match t.verify(&raw).await {
        Ok(()) => Ok(Json(Empty {}).into_response()),
        Err(Domain::Token(tessera_core::Error::Blacklisted)) => {
            let mut errors = serde_json::Map::new();
            errors.insert("non_field_errors".into(), json!(["Token is blacklisted"]));
            Err(ApiError::Fields(errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/token/blacklist/`: `{refresh}` → `{}`; the token is refused from now on.
async fn blacklist_inner<U: AuthUser>(t: &AuthState<U>, fields: Fields) -> ApiResult {
    let raw = one_field(&fields, "refresh")?;
    t.blacklist(&raw).await?;
    Ok(Json(Empty {}).into_response())
}

/// `POST /api/token/blacklist/all/` (authenticated): logout everywhere.
async fn blacklist_all<U: AuthUser>(
    State(t): State<AuthState<U>>,
    auth: Result<Authenticated<U>, Rejection>,
) -> Response {
    let auth = match auth {
        Ok(a) => a,
        Err(rejection) => return rejection.into_response(),
    };
    match t.logout_everywhere(&auth.user).await {
        Ok(_) => Json(Empty {}).into_response(),
        Err(e) => ApiError::from(e).into_response_with(t.challenge()),
    }
}

/// `POST /api/token/sliding/refresh/`: `{token}` → `{token}` with a later `exp`.
async fn refresh_sliding_inner<U: AuthUser>(
    t: &AuthState<U>,
    headers: HeaderMap,
    fields: Fields,
) -> ApiResult {
    if t.cookies().mode == tessera_core::CookieMode::Full && !fields.0.contains_key("token") {
        return Ok(crate::browser::refresh_sliding_from_cookie(t, &headers).await);
    }
    let raw = one_field(&fields, "token")?;
    Ok(token_response(SlidingToken {
        token: t.refresh_sliding(&raw).await?,
    }))
}

/// `POST /api/token/valid/`: which of the client's two tokens is bad. The access token
/// comes from the auth header, the refresh token from the body; in the cookie modes
/// each may come from its cookie instead. Nothing changes, so no CSRF proof is asked.
async fn pair_check_inner<U: AuthUser>(
    t: &AuthState<U>,
    headers: HeaderMap,
    fields: Fields,
) -> ApiResult {
    let jar = if t.cookies().enabled() {
        t.cookies().read(&headers)?
    } else {
        crate::cookies::Jar::default()
    };
    let access = match t.bearer(&headers).ok().flatten() {
        Some(raw) => Some(raw),
        None => jar.access.as_deref().map(str::as_bytes),
    };
    let refresh = match fields.0.get("refresh") {
        Some(Value::String(raw)) => Some(raw.as_str()),
        None => jar.refresh.as_deref(),
        _ => None,
    };
    let check = t.check_pair(access, refresh).await?;
    let article = t.settings().pair_check_codes == tessera_core::PairCheckCodes::Article;
    let (status, detail, code) = match (check.access_valid, check.refresh_valid) {
        (true, true) => (
            StatusCode::OK,
            "Access and refresh tokens are valid",
            "tokens_valid",
        ),
        (false, true) => (
            StatusCode::BAD_REQUEST,
            "Access token is invalid or expired. Please refresh using refresh token",
            if article {
                "Invalid access token"
            } else {
                "access_token_invalid"
            },
        ),
        (true, false) => (
            StatusCode::BAD_REQUEST,
            "Refresh token is invalid or expired",
            if article {
                "Invalid refresh token"
            } else {
                "refresh_token_invalid"
            },
        ),
        (false, false) => (
            StatusCode::BAD_REQUEST,
            "Access and refresh tokens are invalid or expired",
            if article {
                "Invalid tokens"
            } else {
                "tokens_invalid"
            },
        ),
    };
    let body = PairCheck {
        detail: detail.into(),
        code: code.into(),
    };
    Ok((status, Json(body)).into_response())
}
