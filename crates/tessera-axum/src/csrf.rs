//! CSRF proof for requests that a cookie authenticates (cookie modes): refresh and
//! logout from the refresh cookie, and unsafe methods on protected routes from the
//! access cookie (`full` mode). A request must pass both checks:
//!
//! 1. **Where it comes from.** Fetch Metadata first: `Sec-Fetch-Site` must be
//!    `same-origin`, `same-site` or `none` (the user typed it); `cross-site` is refused.
//!    A browser too old to send it sends `Origin` on every POST: it must be the API's
//!    own origin (by `Host`) or one of the allowed origins. A request with neither comes
//!    from no browser, and the second check alone applies.
//! 2. **A signed double-submit token.** The CSRF header (`X-CSRFToken`, Django's name)
//!    must equal the CSRF cookie, and the value must be a token the server signed for
//!    *this* session ([`Tessera::csrf_token`](tessera_engine::Tessera::csrf_token)): a
//!    value planted by a sibling subdomain matches neither.
//!
//! Refusals are 403 `{"detail": "CSRF Failed: …"}`, DRF's shape and Django's wording.

use axum::http::{HeaderMap, header};
use tessera_core::AuthUser;

use crate::cookies::Jar;
use crate::error::ApiError;
use crate::state::AuthState;

/// Check 1: Fetch Metadata, else `Origin`. `allowed` are origins such as
/// `https://app.example.com` (no trailing slash). Public for pages of the app's own
/// that take cookie-authenticated forms (the server's admin page).
pub fn check_source(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"same-site" | b"none" => Ok(()),
            _ => Err(ApiError::Csrf(
                "CSRF Failed: Cross-site request refused.".into(),
            )),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null");
    if origin_allowed(origin, headers, allowed) {
        return Ok(());
    }
    // Django's wording; the value is the request's own header, bounded by the header
    // limit, and only printable ASCII reaches here.
    Err(ApiError::Csrf(format!(
        "CSRF Failed: Origin checking failed - {origin} does not match any trusted origins."
    )))
}

/// Whether `origin` is the API's own (its host and port are the request's `Host`) or
/// listed. `null` (a sandboxed frame, a redirect across origins) never is.
fn origin_allowed(origin: &str, headers: &HeaderMap, allowed: &[String]) -> bool {
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let Some(authority) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| !authority.is_empty() && host.eq_ignore_ascii_case(authority))
}

/// Check 2: the CSRF header equals the CSRF cookie (compared in constant time), and is
/// a token this server signed for the session `session_id`.
pub(crate) fn check_token<U: AuthUser>(
    t: &AuthState<U>,
    headers: &HeaderMap,
    jar: &Jar,
    session_id: &str,
) -> Result<(), ApiError> {
    let fail = |why: &str| Err(ApiError::Csrf(format!("CSRF Failed: {why}")));
    let Some(cookie) = jar.csrf.as_deref() else {
        return fail("CSRF cookie not set.");
    };
    let Some(sent) = headers.get(&t.cookies().csrf_header) else {
        return fail("CSRF token missing.");
    };
    let same =
        aws_lc_rs::constant_time::verify_slices_are_equal(sent.as_bytes(), cookie.as_bytes())
            .is_ok();
    if !same || !t.check_csrf(session_id, cookie) {
        return fail("CSRF token incorrect.");
    }
    Ok(())
}

/// CSRF proof for a request the access cookie authenticated (`full` mode): needed for
/// every method but the safe ones (`GET`, `HEAD`, `OPTIONS`, `TRACE`).
pub(crate) async fn check_cookie_request<U: AuthUser>(
    t: &AuthState<U>,
    parts: &axum::http::request::Parts,
    claims: &tessera_core::Claims,
    jar: &Jar,
) -> Result<(), ApiError> {
    if parts.method.is_safe() {
        return Ok(());
    }
    let session = t
        .session_id(claims)
        .await?
        .ok_or_else(|| ApiError::Csrf("CSRF Failed: the token belongs to no session.".into()))?;
    check(t, &parts.headers, jar, &session)
}

/// Both checks.
pub(crate) fn check<U: AuthUser>(
    t: &AuthState<U>,
    headers: &HeaderMap,
    jar: &Jar,
    session_id: &str,
) -> Result<(), ApiError> {
    check_source(headers, t.allowed_origins())?;
    check_token(t, headers, jar, session_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_source_check_follows_fetch_metadata_then_origin() {
        let allowed = vec!["https://app.example.com".to_owned()];
        for ok in [
            headers(&[("sec-fetch-site", "same-origin")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("sec-fetch-site", "none")]),
            headers(&[]),
            headers(&[("origin", "https://app.example.com")]),
            headers(&[
                ("origin", "https://api.example.com"),
                ("host", "api.example.com"),
            ]),
            headers(&[
                ("origin", "http://localhost:8000"),
                ("host", "localhost:8000"),
            ]),
        ] {
            assert!(check_source(&ok, &allowed).is_ok(), "{ok:?}");
        }
        for bad in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://app.example.com"),
            ]),
            headers(&[("sec-fetch-site", "bogus")]),
            headers(&[("origin", "null"), ("host", "null")]),
            headers(&[
                ("origin", "https://evil.example"),
                ("host", "api.example.com"),
            ]),
            headers(&[
                ("origin", "https://api.example.com:444"),
                ("host", "api.example.com"),
            ]),
        ] {
            assert!(
                matches!(check_source(&bad, &allowed), Err(ApiError::Csrf(_))),
                "{bad:?}"
            );
        }
    }
}
