//! The token routes' cookie-mode half (`AUTH_COOKIE_MODE = "refresh"` or `"full"`):
//! obtain and refresh deliver tokens as cookies, and three routes exist only here:
//! `token/logout/`, `token/logout/all/` and `token/session/`. The flows are the
//! engine's; this module moves tokens between cookies and them, and demands CSRF proof
//! wherever a cookie is what authenticates a state change.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_core::{AuthUser, Claims, CookieMode};
use tessera_engine::Error as Domain;

use crate::auth::Authenticated;
use crate::body::Fields;
use crate::error::{ApiError, Rejection};
use crate::openapi::{SessionInfo, SessionUser};
use crate::state::AuthState;

/// The seconds from now until `exp`.
fn max_age<U: AuthUser>(t: &AuthState<U>, exp: i64) -> i64 {
    exp.saturating_sub(t.clock().now_micros().div_euclid(1_000_000))
}

/// The claims of a token this server has just minted.
fn minted<U: AuthUser>(t: &AuthState<U>, raw: &str) -> Result<Claims, ApiError> {
    t.tokens()
        .decode_signed(raw)
        .map_err(|e| ApiError::Engine(Domain::Internal(e.to_string())))
}

/// A 200 JSON answer that carries credentials: never cached.
fn no_store(status: StatusCode, body: impl serde::Serialize) -> Response {
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `refresh` mode: the access token in the body; `full` mode: in a cookie. Either way
/// the body says when it expires, so a page can refresh before it does.
fn deliver_access<U: AuthUser>(
    t: &AuthState<U>,
    body: &mut Map<String, Value>,
    cookies: &mut HeaderMap,
    access: &str,
) -> Result<(), ApiError> {
    let exp = t.tokens().exp(&minted(t, access)?);
    if t.cookies().mode == CookieMode::Full {
        t.cookies().set_access(cookies, access, max_age(t, exp));
    } else {
        body.insert("access".into(), Value::from(access));
    }
    body.insert("access_expires".into(), Value::from(exp));
    Ok(())
}

/// The answer to a login in a cookie mode: the refresh token in its cookie, a CSRF
/// token bound to the new session in its cookie and in the body (for a page on another
/// origin, which cannot read the API's cookies), the access token as the mode says.
pub(crate) fn obtained<U: AuthUser>(
    t: &AuthState<U>,
    refresh: &str,
    access: &str,
) -> Result<Response, ApiError> {
    let claims = minted(t, refresh)?;
    let session = claims
        .get(tessera_engine::SESSION_CLAIM)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::Engine(Domain::Internal("a session without an id".into())))?;
    let csrf = t.csrf_token(session)?;
    let refresh_age = max_age(t, t.tokens().exp(&claims));
    let mut body = Map::new();
    let mut headers = HeaderMap::new();
    deliver_access(t, &mut body, &mut headers, access)?;
    body.insert("csrf".into(), Value::from(csrf.as_str()));
    t.cookies().set_refresh(&mut headers, refresh, refresh_age);
    t.cookies().set_csrf(&mut headers, &csrf, refresh_age);
    let mut resp = no_store(StatusCode::OK, Value::Object(body));
    resp.headers_mut().extend(headers);
    Ok(resp)
}

/// A sliding token in `full` mode: the access cookie (it is what protected routes
/// read), with a CSRF token bound to its session.
pub(crate) fn obtained_sliding<U: AuthUser>(
    t: &AuthState<U>,
    token: &str,
) -> Result<Response, ApiError> {
    let claims = minted(t, token)?;
    let session = claims
        .get(tessera_engine::SESSION_CLAIM)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::Engine(Domain::Internal("a session without an id".into())))?;
    let csrf = t.csrf_token(session)?;
    let exp = t.tokens().exp(&claims);
    let mut resp = no_store(
        StatusCode::OK,
        json!({"token_expires": exp, "csrf": csrf.as_str()}),
    );
    let headers = resp.headers_mut();
    t.cookies().set_access(headers, token, max_age(t, exp));
    t.cookies().set_csrf(headers, &csrf, max_age(t, exp));
    Ok(resp)
}

/// An error answer that also clears Tessera's cookies: a refresh from the cookie that
/// fails with 401 leaves nothing stale behind.
fn clearing<U: AuthUser>(t: &AuthState<U>, e: ApiError) -> Response {
    let clear = e.status() == StatusCode::UNAUTHORIZED;
    let mut resp = e.into_response_with(t.challenge());
    if clear {
        t.cookies().clear_all(resp.headers_mut());
    }
    resp
}

/// The session id of a token read from a cookie, after checking its signature and
/// times (an invalid token is the 401 it would be anyway).
async fn session_of<U: AuthUser>(t: &AuthState<U>, raw: &str) -> Result<String, ApiError> {
    let claims = t.tokens().decode(raw)?;
    t.session_id(&claims)
        .await?
        .ok_or_else(|| tessera_core::Error::InvalidToken.into())
}

/// The token in the cookie `pick` takes from the jar, once the request has passed both
/// CSRF checks for that token's session (the source first: a cross-site request is
/// refused before any cookie is looked at).
async fn proven_cookie<U: AuthUser>(
    t: &AuthState<U>,
    headers: &HeaderMap,
    pick: impl FnOnce(&mut crate::cookies::Jar) -> Option<String>,
) -> Result<String, ApiError> {
    crate::csrf::check_source(headers, t.allowed_origins())?;
    let mut jar = t.cookies().read(headers)?;
    let raw = pick(&mut jar).ok_or(ApiError::NotAuthenticated)?;
    let session = session_of(t, &raw).await?;
    crate::csrf::check_token(t, headers, &jar, &session)?;
    Ok(raw)
}

/// `POST token/refresh/` with no `refresh` in the body, in a cookie mode: the refresh
/// cookie, with CSRF proof. The new refresh token (rotation) replaces the cookie.
pub(crate) async fn refresh_from_cookie<U: AuthUser>(
    t: &AuthState<U>,
    headers: &HeaderMap,
) -> Response {
    let run = async {
        let raw = proven_cookie(t, headers, |jar| jar.refresh.take()).await?;
        let refreshed = match t.refresh(&raw).await {
            Err(Domain::TokenReused) if !t.settings().token_reused_code => {
                return Err(tessera_core::Error::Blacklisted.into());
            }
            r => r?,
        };
        let mut body = Map::new();
        let mut cookies = HeaderMap::new();
        deliver_access(t, &mut body, &mut cookies, &refreshed.access)?;
        if let Some(rotated) = &refreshed.refresh {
            let exp = t.tokens().exp(&minted(t, rotated)?);
            t.cookies()
                .set_refresh(&mut cookies, rotated, max_age(t, exp));
        }
        let mut resp = no_store(StatusCode::OK, Value::Object(body));
        resp.headers_mut().extend(cookies);
        Ok(resp)
    };
    run.await.unwrap_or_else(|e| clearing(t, e))
}

/// `POST token/sliding/refresh/` with no `token` in the body, in `full` mode: the
/// access cookie holds the sliding token; CSRF proof required.
pub(crate) async fn refresh_sliding_from_cookie<U: AuthUser>(
    t: &AuthState<U>,
    headers: &HeaderMap,
) -> Response {
    let run = async {
        let raw = proven_cookie(t, headers, |jar| jar.access.take()).await?;
        let token = t.refresh_sliding(&raw).await?;
        let exp = t.tokens().exp(&minted(t, &token)?);
        let mut resp = no_store(StatusCode::OK, json!({"token_expires": exp}));
        t.cookies()
            .set_access(resp.headers_mut(), &token, max_age(t, exp));
        Ok(resp)
    };
    run.await.unwrap_or_else(|e| clearing(t, e))
}

/// Answers 404 outside the cookie modes: these routes do not exist there.
fn browser_only<U: AuthUser>(t: &AuthState<U>) -> Result<(), ApiError> {
    if t.cookies().enabled() {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// `POST token/logout/`: the session of the refresh token (from the body, or from the
/// cookie with CSRF proof) ends, and every Tessera cookie is cleared. Idempotent: an
/// already spent, expired or absent token is 200 too.
pub(crate) async fn logout<U: AuthUser>(
    State(t): State<AuthState<U>>,
    headers: HeaderMap,
    fields: Fields,
) -> Response {
    let run = async {
        browser_only(&t)?;
        let raw = match fields.0.get("refresh") {
            Some(_) => Some(crate::body::one_field(&fields, "refresh")?),
            None => {
                crate::csrf::check_source(&headers, t.allowed_origins())?;
                let jar = t.cookies().read(&headers)?;
                match jar.refresh.as_deref() {
                    // A token that does not validate ends no session: only cleared.
                    Some(raw) => match session_of(&t, raw).await {
                        Ok(session) => {
                            crate::csrf::check_token(&t, &headers, &jar, &session)?;
                            Some(raw.to_owned())
                        }
                        Err(ApiError::Engine(Domain::Token(_))) => None,
                        Err(e) => return Err(e),
                    },
                    None => None,
                }
            }
        };
        if let Some(raw) = raw {
            t.logout(&raw).await?;
        }
        let mut resp = no_store(StatusCode::OK, json!({}));
        t.cookies().clear_all(resp.headers_mut());
        Ok(resp)
    };
    run.await
        .unwrap_or_else(|e: ApiError| e.into_response_with(t.challenge()))
}

/// `POST token/logout/all/` (authenticated, as protected routes are): every session of
/// the caller ends, and this browser's cookies are cleared.
pub(crate) async fn logout_all<U: AuthUser>(
    State(t): State<AuthState<U>>,
    auth: Result<Authenticated<U>, Rejection>,
) -> Response {
    if let Err(e) = browser_only(&t) {
        return e.into_response();
    }
    let auth = match auth {
        Ok(a) => a,
        Err(rejection) => return rejection.into_response(),
    };
    match t.logout_everywhere(&auth.user).await {
        Ok(_) => {
            let mut resp = no_store(StatusCode::OK, json!({}));
            t.cookies().clear_all(resp.headers_mut());
            resp
        }
        Err(e) => ApiError::from(e).into_response_with(t.challenge()),
    }
}

/// `GET token/session/`: for a page load. Whether the refresh cookie holds a live
/// session and whose, without any token; with a live one, a fresh CSRF token (cookie
/// and body). A dead one is cleared.
pub(crate) async fn session<U: AuthUser>(
    State(t): State<AuthState<U>>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        browser_only(&t)?;
        let jar = t.cookies().read(&headers)?;
        let Some(raw) = jar.refresh.as_deref() else {
            return Ok(no_store(StatusCode::OK, signed_out()));
        };
        match t.browser_session(raw).await {
            Ok(s) => {
                let csrf = t.csrf_token(&s.session_id)?;
                let mut resp = no_store(
                    StatusCode::OK,
                    SessionInfo {
                        authenticated: true,
                        user: Some(SessionUser {
                            id: s.user_id,
                            username: s.user.username().to_owned(),
                        }),
                        expires: Some(s.expires_at),
                        csrf: Some(csrf.clone()),
                    },
                );
                t.cookies()
                    .set_csrf(resp.headers_mut(), &csrf, max_age(&t, s.expires_at));
                Ok(resp)
            }
            Err(e) if e.is_credential_error() || matches!(e, Domain::Token(_)) => {
                let mut resp = no_store(StatusCode::OK, signed_out());
                t.cookies().clear_all(resp.headers_mut());
                Ok(resp)
            }
            Err(e) => Err(e.into()),
        }
    };
    run.await
        .unwrap_or_else(|e: ApiError| e.into_response_with(t.challenge()))
}

/// The session answer without a session.
fn signed_out() -> SessionInfo {
    SessionInfo {
        authenticated: false,
        user: None,
        expires: None,
        csrf: None,
    }
}
