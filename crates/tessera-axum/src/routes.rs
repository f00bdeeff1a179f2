//! The token endpoints: Simple JWT's views, plus the access/refresh pair check.

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_core::password::revoke_digest;
use tessera_core::{Claims, TokenKind, User};
use tessera_store::{OutstandingToken, RotateOutcome, RotationTimes};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::{Authenticated, SESSION_CLAIM};
use crate::body::{Fields, Validator};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, Rejection};
use crate::state::Tessera;

type ApiResult = Result<Response, ApiError>;

/// A 200 JSON answer that carries tokens: never cached (RFC 6749 §5.1).
fn token_response(body: Value) -> Response {
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// The token routes, each at its path with and without the trailing slash:
/// `/api/token/`, `refresh/`, `verify/`, `blacklist/`, `blacklist/all/`, `sliding/`,
/// `sliding/refresh/`, `valid/`, `jwks/`; and `/.well-known/jwks.json`.
pub fn token_router<S>() -> Router<S>
where
    Tessera: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let routes: [(&str, MethodRouter<S>); 8] = [
        ("/api/token/", post_only(obtain_pair, "Token Obtain Pair")),
        ("/api/token/refresh/", post_only(refresh, "Token Refresh")),
        ("/api/token/verify/", post_only(verify, "Token Verify")),
        (
            "/api/token/blacklist/",
            post_only(blacklist, "Token Blacklist"),
        ),
        (
            "/api/token/blacklist/all/",
            post_only(blacklist_all, "Token Blacklist All"),
        ),
        (
            "/api/token/sliding/",
            post_only(obtain_sliding, "Token Obtain Sliding"),
        ),
        (
            "/api/token/sliding/refresh/",
            post_only(refresh_sliding, "Token Refresh Sliding"),
        ),
        (
            "/api/token/valid/",
            post_only(pair_check, "Token Pair Valid"),
        ),
    ];
    let mut router = Router::new();
    for (path, mr) in routes {
        router = with_and_without_slash(router, path, mr);
    }
    let jwks = || {
        axum::routing::get(crate::jwks::serve_jwks)
            .options(|| async { options_metadata("JWKS", &["GET", "HEAD", "OPTIONS"]) })
            .fallback(|method: axum::http::Method| async move {
                ApiError::MethodNotAllowed(method.to_string(), "GET, HEAD, OPTIONS")
            })
            .layer(allow_header("GET, HEAD, OPTIONS"))
    };
    router = with_and_without_slash(router, "/api/token/jwks/", jwks());
    router.route("/.well-known/jwks.json", jwks())
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

impl Tessera {
    /// Encodes claims, mapping an encoding failure (impossible with valid keys) to a 500.
    fn encode(&self, claims: &Claims) -> Result<String, ApiError> {
        self.tokens()
            .encode(claims)
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// A ledger row for a token about to be (or just) issued.
    fn ledger_row(
        &self,
        claims: &Claims,
        encoded: &str,
        user_id: Option<i64>,
        family: Option<&str>,
    ) -> OutstandingToken {
        let tokens = self.tokens();
        OutstandingToken {
            jti: tokens.jti(claims).unwrap_or_default().to_owned(),
            user_id,
            token: encoded.to_owned(),
            created_at: self.clock().now_micros(),
            expires_at: tokens.exp(claims).saturating_mul(1_000_000),
            family_id: family.map(str::to_owned),
        }
    }

    /// A new family id (one per login).
    fn new_family(&self) -> String {
        tessera_core::clock::new_jti(&tessera_core::OsRandom)
    }

    /// `for_user` plus claims hooks: the claims of a fresh refresh or sliding token that
    /// starts the family `family`.
    fn claims_for(&self, user: &User, kind: TokenKind, family: &str) -> Claims {
        let s = self.settings();
        let mut claims = self
            .tokens()
            .for_user(kind, &user.id_claim(&s.user_id_field));
        if kind == TokenKind::Refresh
            && let Some(abs) = s.refresh_token_absolute_lifetime
            && abs < s.refresh_token_lifetime
        {
            let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
            claims.insert("exp".into(), Value::from(iat.saturating_add(abs)));
        }
        if s.check_revoke_token {
            claims.insert(
                s.revoke_token_claim.clone(),
                Value::from(revoke_digest(&user.password)),
            );
        }
        if s.access_token_revocation {
            claims.insert(SESSION_CLAIM.into(), Value::from(family));
        }
        for hook in self.hooks() {
            hook.add_claims(user, kind, &mut claims);
        }
        claims
    }

    /// Username + password → the user, or the one 401 for every failure. Throttled per
    /// username and per client address (429 with `Retry-After` past the limits); the
    /// answer is the same whether the user exists.
    async fn login(&self, fields: &Fields, client: ClientIp) -> Result<User, ApiError> {
        let mut v = Validator::new(fields);
        let username = v.string("username");
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
        let keys = self.throttle_keys(&username, client);
        let now = self.clock().now_micros();
        let window = self
            .settings()
            .login_throttle_window
            .saturating_mul(1_000_000);
        // The user and the counters in one read, before the (slow) hash.
        let found = self
            .store()
            .login_state(&username, &keys, now, window)
            .await?;
        let user_has_failures = self.throttle_verdict(&found.failures, now)?;
        let Some(user) = self.authenticate_found(found.user, &password).await? else {
            if !keys.is_empty() {
                self.store()
                    .record_login_failure(&keys, self.clock().now_micros(), window)
                    .await?;
            }
            return Err(ApiError::NoActiveAccount);
        };
        // Only a user with failures on record needs the (fsynced) reset.
        if user_has_failures {
            self.store()
                .clear_login_failures(&user_key(&username))
                .await?;
        }
        if self.settings().update_last_login {
            self.store()
                .set_last_login(user.id, self.clock().now_micros())
                .await?;
        }
        Ok(user)
    }

    /// Validation of a refresh token about to be rotated exactly once: the blacklist is
    /// left to the rotation transaction, except that a token failing the type checks
    /// reports "blacklisted" first when it is, as Simple JWT orders its checks.
    async fn validate_for_rotation(&self, raw: &str) -> Result<Claims, ApiError> {
        let tokens = self.tokens();
        let claims = tokens.decode(raw)?;
        if let Err(e) = tokens.check(&claims, Some(TokenKind::Refresh)) {
            if let Some(jti) = tokens.jti(&claims)
                && self.store().is_blacklisted(jti).await?
            {
                return Err(tessera_core::Error::Blacklisted.into());
            }
            return Err(e.into());
        }
        Ok(claims)
    }

    /// The throttling counters a login attempt counts against.
    fn throttle_keys(&self, username: &str, client: ClientIp) -> Vec<String> {
        let s = self.settings();
        let mut keys = Vec::new();
        if s.login_failures_per_user > 0 {
            keys.push(user_key(username));
        }
        if s.login_failures_per_ip > 0
            && let Some(ip) = client.0
        {
            keys.push(format!("ip:{ip}"));
        }
        keys
    }

    /// 429 when any counter (`key`, failures, window end) is past its limit; else
    /// whether the username has failures on record.
    fn throttle_verdict(
        &self,
        counters: &[(String, i64, i64)],
        now: i64,
    ) -> Result<bool, ApiError> {
        let s = self.settings();
        let mut user_has_failures = false;
        let mut retry_at = None;
        for (key, failures, window_end) in counters {
            let (failures, window_end) = (*failures, *window_end);
            user_has_failures |= !key.starts_with("ip:");
            let limit = if key.starts_with("ip:") {
                s.login_failures_per_ip
            } else {
                s.login_failures_per_user
            };
            if failures >= limit {
                retry_at = Some(retry_at.map_or(window_end, |r: i64| r.max(window_end)));
            }
        }
        match retry_at {
            Some(end) => Err(ApiError::Throttled(((end - now) + 999_999) / 1_000_000)),
            None => Ok(user_has_failures),
        }
    }

    /// The user a refresh token names, with Simple JWT's refresh-time checks.
    async fn refresh_user_check(&self, claims: &Claims) -> Result<(), ApiError> {
        let s = self.settings();
        let Some(id) = claims.get(&s.user_id_claim).filter(|v| is_truthy(v)) else {
            return Ok(());
        };
        let user = self
            .user_by_claim(id)
            .await?
            .ok_or(ApiError::DeletedUserForToken)?;
        if s.check_user_is_active && !user.is_active {
            return Err(ApiError::NoActiveAccountForToken);
        }
        Ok(())
    }

    fn user_id_of(claims: &Claims, s: &tessera_core::Settings) -> Option<i64> {
        let v = claims.get(&s.user_id_claim)?;
        if s.user_id_field != "id" {
            return None;
        }
        match v {
            Value::String(x) => x.parse().ok(),
            other => other.as_i64(),
        }
    }
}

/// Turns a handler's result into a response, 401s carrying this configuration's
/// `WWW-Authenticate` challenge.
fn respond(t: &Tessera, r: ApiResult) -> Response {
    r.unwrap_or_else(|e| e.into_response_with(t.challenge()))
}

/// Defines the axum handler `$name` around `$inner(&Tessera, args…)`.
macro_rules! handler {
    ($name:ident => $inner:ident($($arg:ident: $ty:ty),*)) => {
        async fn $name(State(t): State<Tessera>, $($arg: $ty),*) -> Response {
            let r = $inner(&t, $($arg),*).await;
            respond(&t, r)
        }
    };
}

handler!(obtain_pair => obtain_pair_inner(client: ClientIp, fields: Fields));
handler!(obtain_sliding => obtain_sliding_inner(client: ClientIp, fields: Fields));
handler!(refresh => refresh_inner(fields: Fields));
handler!(verify => verify_inner(fields: Fields));
handler!(blacklist => blacklist_inner(fields: Fields));
handler!(refresh_sliding => refresh_sliding_inner(fields: Fields));
handler!(pair_check => pair_check_inner(headers: HeaderMap, fields: Fields));

/// The throttling key of a username (long names are hashed to fit the column).
fn user_key(username: &str) -> String {
    if username.len() <= 150 {
        format!("u:{username}")
    } else {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, username.as_bytes());
        format!("u#{}", tessera_core::clock::hex(digest.as_ref()))
    }
}

/// Python truthiness of a claim value (Simple JWT skips the user check for `""`, `0`).
fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `POST /api/token/`: `{username, password}` → `{refresh, access}`.
async fn obtain_pair_inner(t: &Tessera, client: ClientIp, fields: Fields) -> ApiResult {
    let user = t.login(&fields, client).await?;
    let family = t.new_family();
    let refresh = t.claims_for(&user, TokenKind::Refresh, &family);
    let access = t.tokens().access_from_refresh(&refresh);
    let refresh_raw = t.encode(&refresh)?;
    let access_raw = t.encode(&access)?;
    t.store()
        .outstand(&t.ledger_row(&refresh, &refresh_raw, Some(user.id), Some(&family)))
        .await?;
    Ok(token_response(
        json!({"refresh": refresh_raw, "access": access_raw}),
    ))
}

/// `POST /api/token/sliding/`: `{username, password}` → `{token}`.
async fn obtain_sliding_inner(t: &Tessera, client: ClientIp, fields: Fields) -> ApiResult {
    let user = t.login(&fields, client).await?;
    let family = t.new_family();
    let claims = t.claims_for(&user, TokenKind::Sliding, &family);
    let raw = t.encode(&claims)?;
    t.store()
        .outstand(&t.ledger_row(&claims, &raw, Some(user.id), Some(&family)))
        .await?;
    Ok(token_response(json!({"token": raw})))
}

/// `POST /api/token/refresh/`: `{refresh}` → `{access}` (+ `refresh` with rotation).
///
/// With rotation and `BLACKLIST_AFTER_ROTATION`, the store's rotation transaction is the
/// one place that decides whether the presented token is still unspent, so concurrent
/// refreshes of one token succeed exactly once, and a replay of a rotated-away token
/// revokes its whole family (`token_reused`).
async fn refresh_inner(t: &Tessera, fields: Fields) -> ApiResult {
    let presented = t.clock().now_micros();
    let mut v = Validator::new(&fields);
    let raw = v.string("refresh");
    v.finish()?;
    let s = t.settings();
    let exactly_once = s.rotate_refresh_tokens && s.blacklist_after_rotation;
    let claims = if exactly_once {
        t.validate_for_rotation(&raw).await?
    } else {
        t.validate_token(&raw, TokenKind::Refresh).await?
    };
    t.refresh_user_check(&claims).await?;
    let access_raw = t.encode(&t.tokens().access_from_refresh(&claims))?;
    if !s.rotate_refresh_tokens {
        return Ok(token_response(json!({"access": access_raw})));
    }
    let now = t.clock().now_micros();
    let jti = t.tokens().jti(&claims).unwrap_or_default();
    // The family's start is needed only to cap the session; otherwise the rotation
    // transaction carries the family over by itself, and this read is saved.
    let family = if jti.is_empty() || s.refresh_token_absolute_lifetime.is_none() {
        None
    } else {
        t.store().family_of(jti).await?
    };
    let family_id = family.as_ref().map(|f| f.id.clone()).or_else(|| {
        claims
            .get(SESSION_CLAIM)
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let mut rotated = claims.clone();
    t.tokens().rotate(&mut rotated);
    if let (Some(abs), Some(f)) = (s.refresh_token_absolute_lifetime, &family) {
        let end_secs = f.created_at.div_euclid(1_000_000).saturating_add(abs);
        if end_secs <= now.div_euclid(1_000_000) {
            return Err(tessera_core::Error::ExpiredToken.into());
        }
        if t.tokens().exp(&rotated) > end_secs {
            rotated.insert("exp".into(), Value::from(end_secs));
        }
    }
    let rotated_raw = t.encode(&rotated)?;
    let user_id = Tessera::user_id_of(&claims, s);
    let new_row = t.ledger_row(&rotated, &rotated_raw, user_id, family_id.as_deref());
    if exactly_once {
        let old_row = t.ledger_row(&claims, &raw, user_id, family_id.as_deref());
        let times = RotationTimes {
            presented,
            now: t.clock().now_micros(),
            grace: s.refresh_reuse_grace.saturating_mul(1_000_000),
        };
        match t.store().rotate(&old_row, &new_row, times).await? {
            RotateOutcome::Rotated => {}
            RotateOutcome::AlreadyBlacklisted | RotateOutcome::ReusedWithinGrace => {
                return Err(tessera_core::Error::Blacklisted.into());
            }
            RotateOutcome::Reused(revoked) => {
                t.revocations().apply(&revoked);
                tracing::warn!(
                    user_id = user_id.unwrap_or(0),
                    "refresh token reuse detected; its family was revoked"
                );
                return Err(ApiError::TokenReused);
            }
        }
    } else {
        t.store().outstand(&new_row).await?;
    }
    Ok(token_response(
        json!({"access": access_raw, "refresh": rotated_raw}),
    ))
}

/// `POST /api/token/verify/`: `{token}` → `{}` for any valid token type.
async fn verify_inner(t: &Tessera, fields: Fields) -> ApiResult {
    let mut v = Validator::new(&fields);
    let raw = v.string("token");
    v.finish()?;
    let claims = t.tokens().validate(&raw, None)?;
    // Only refresh and sliding tokens ever enter the ledger (Simple JWT records no other
    // type), so an access token's id cannot be blacklisted: no read for it.
    let ledgered = match t.settings().token_type_claim.as_deref() {
        Some(type_claim) => claims.get(type_claim).and_then(Value::as_str) != Some("access"),
        None => true,
    };
    if t.settings().blacklist_after_rotation
        && ledgered
        && let Some(jti) = t.tokens().jti(&claims)
        && t.store().is_blacklisted(jti).await?
    {
        let mut errors = serde_json::Map::new();
        errors.insert("non_field_errors".into(), json!(["Token is blacklisted"]));
        return Err(ApiError::Fields(errors));
    }
    Ok(Json(json!({})).into_response())
}

/// `POST /api/token/blacklist/`: `{refresh}` → `{}`; the token is refused from now on.
async fn blacklist_inner(t: &Tessera, fields: Fields) -> ApiResult {
    let mut v = Validator::new(&fields);
    let raw = v.string("refresh");
    v.finish()?;
    let claims = t.validate_token(&raw, TokenKind::Refresh).await?;
    let family = claims.get(SESSION_CLAIM).and_then(Value::as_str);
    let row = t.ledger_row(
        &claims,
        &raw,
        Tessera::user_id_of(&claims, t.settings()),
        family,
    );
    let revoked = t.store().blacklist(&row, t.clock().now_micros()).await?;
    t.revocations().apply(&revoked);
    Ok(Json(json!({})).into_response())
}

/// `POST /api/token/blacklist/all/` (authenticated): logout everywhere. Every refresh
/// token of the caller is revoked (and, with `ACCESS_TOKEN_REVOCATION`, every access
/// token, on every instance).
async fn blacklist_all(
    State(t): State<Tessera>,
    auth: Result<Authenticated, Rejection>,
) -> Response {
    let auth = match auth {
        Ok(a) => a,
        Err(rejection) => return rejection.into_response(),
    };
    match t.revoke_user(auth.user.id).await {
        Ok(_) => Json(json!({})).into_response(),
        Err(e) => e.into_response_with(t.challenge()),
    }
}

/// `POST /api/token/sliding/refresh/`: `{token}` → `{token}` with a later `exp`.
async fn refresh_sliding_inner(t: &Tessera, fields: Fields) -> ApiResult {
    let mut v = Validator::new(&fields);
    let raw = v.string("token");
    v.finish()?;
    let mut claims = t.validate_token(&raw, TokenKind::Sliding).await?;
    t.tokens().check_refresh_exp(&claims)?;
    t.tokens().slide(&mut claims);
    Ok(token_response(json!({"token": t.encode(&claims)?})))
}

/// `POST /api/token/valid/`: which of the client's two tokens is bad.
///
/// The access token comes from the auth header, the refresh token from the body. No
/// user lookup. A spent (blacklisted) refresh token is invalid.
async fn pair_check_inner(t: &Tessera, headers: HeaderMap, fields: Fields) -> ApiResult {
    let access_ok = match t.bearer(&headers) {
        Ok(Some(raw)) => match std::str::from_utf8(raw) {
            Ok(raw) => t.validate_token(raw, TokenKind::Access).await.is_ok(),
            Err(_) => false,
        },
        _ => false,
    };
    let refresh_ok = match fields.0.get("refresh") {
        Some(Value::String(raw)) if !raw.is_empty() => {
            match t.validate_token(raw, TokenKind::Refresh).await {
                Ok(_) => true,
                Err(ApiError::Token(_)) => false,
                Err(other) => return Err(other),
            }
        }
        _ => false,
    };
    let (status, detail, code) = match (access_ok, refresh_ok) {
        (true, true) => (
            StatusCode::OK,
            "Access and refresh tokens are valid",
            "tokens_valid",
        ),
        (false, true) => (
            StatusCode::BAD_REQUEST,
            "Access token is invalid or expired. Please refresh using refresh token",
            "access_token_invalid",
        ),
        (true, false) => (
            StatusCode::BAD_REQUEST,
            "Refresh token is invalid or expired",
            "refresh_token_invalid",
        ),
        (false, false) => (
            StatusCode::BAD_REQUEST,
            "Access and refresh tokens are invalid or expired",
            "tokens_invalid",
        ),
    };
    Ok((status, Json(json!({"detail": detail, "code": code}))).into_response())
}
