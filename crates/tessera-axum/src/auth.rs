//! Authenticating requests: Simple JWT's `JWTAuthentication` as axum extractors.
//!
//! * [`Authenticated`]: the stateful check. The token must validate as one of
//!   `AUTH_TOKEN_CLASSES`, and its user must exist, be active (`CHECK_USER_IS_ACTIVE`)
//!   and, with `CHECK_REVOKE_TOKEN`, still have the password the token was issued under.
//! * [`Stateless`]: Simple JWT's `JWTStatelessUserAuthentication`: the token alone, no
//!   database read; the user is a [`TokenUser`] built from the claims.
//!
//! Both answer 401 in Simple JWT's exact shapes with `WWW-Authenticate`.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use tessera_axum::{Authenticated, Tessera};
//!
//! async fn me(Authenticated { user, .. }: Authenticated) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "id": user.id, "username": user.username }))
//! }
//! # fn app(tessera: Tessera) -> Router {
//! Router::new()
//!     .route("/api/me/", get(me))
//!     .merge(tessera_axum::token_router())
//!     .with_state(tessera)
//! # }
//! ```

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use tessera_core::password::revoke_digest;
use tessera_core::{Claims, TokenKind, TokenService, TokenUser, User};

use crate::error::{ApiError, Rejection, TokenMessage};
use crate::state::Tessera;

/// The claim that carries a token's family id when `ACCESS_TOKEN_REVOCATION` is on
/// (OpenID Connect's session id claim).
pub const SESSION_CLAIM: &str = "sid";

/// A request made by a user whose token and account both check out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user, as stored (shared with the user cache: no copy per request).
    pub user: Arc<User>,
    /// The validated token's claims (shared with the verified-token cache).
    pub claims: Arc<Claims>,
    /// Which accepted class validated the token.
    pub kind: TokenKind,
}

/// A request whose token checks out, with no database read (`TokenUser`).
#[derive(Debug, Clone)]
pub struct Stateless {
    /// The user as the token describes it.
    pub user: TokenUser,
    /// Which accepted class validated the token.
    pub kind: TokenKind,
}

/// What the `Authorization` header holds, per Simple JWT's `get_raw_token`.
#[derive(Debug, PartialEq, Eq)]
pub enum RawToken<'a> {
    /// No header, an empty one, or a scheme word not in `AUTH_HEADER_TYPES`: the request
    /// is anonymous (other schemes may coexist).
    Absent,
    /// A recognised scheme with other than exactly one value after it.
    Malformed,
    /// The token bytes.
    Token(&'a [u8]),
}

/// Python's `bytes.split()` whitespace: space, \t, \n, \r, \x0b, \x0c.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Splits a header value as Simple JWT does and picks out the token.
pub fn raw_token<'a>(value: &'a [u8], schemes: &[String]) -> RawToken<'a> {
    let value = trim_py_space(value);
    let scheme_len = value
        .iter()
        .position(|b| is_py_space(*b))
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_len);
    if scheme.is_empty() || !schemes.iter().any(|s| s.as_bytes() == scheme) {
        return RawToken::Absent;
    }
    let token = trim_py_space(rest);
    // Every Python whitespace byte is at or below b' ', so one branch-free pass over
    // the (long) token rules them all out in the common case.
    let maybe_space = token.iter().fold(false, |any, b| any | (*b <= b' '));
    if token.is_empty() || (maybe_space && token.iter().any(|b| is_py_space(*b))) {
        return RawToken::Malformed;
    }
    RawToken::Token(token)
}

fn trim_py_space(mut v: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = v
        && is_py_space(*first)
    {
        v = rest;
    }
    while let [rest @ .., last] = v
        && is_py_space(*last)
    {
        v = rest;
    }
    v
}

impl Tessera {
    /// The bearer token of a request, if any: `Ok(None)` for anonymous requests.
    pub fn bearer<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h [u8]>, ApiError> {
        let mut values = headers.get_all(self.header_name()).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        // Two credentials headers are ambiguous; refuse rather than guess which counts.
        if values.next().is_some() {
            return Err(ApiError::BadAuthorizationHeader);
        }
        match raw_token(value.as_bytes(), &self.settings().auth_header_types) {
            RawToken::Absent => Ok(None),
            RawToken::Malformed => Err(ApiError::BadAuthorizationHeader),
            RawToken::Token(t) => Ok(Some(t)),
        }
    }

    /// Validates a raw token as a token of `kind`, consulting the blacklist for the
    /// blacklistable kinds in Simple JWT's order (after the signature, before the type).
    pub async fn validate_token(&self, raw: &str, kind: TokenKind) -> Result<Claims, ApiError> {
        let claims = self.check_token(raw, kind, false).await?;
        Ok(Arc::try_unwrap(claims).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// [`Self::validate_token`], decoding through the verified-token cache when `cached`
    /// (protected routes, where the same token comes back request after request). The
    /// blacklist and revocation checks run either way.
    async fn check_token(
        &self,
        raw: &str,
        kind: TokenKind,
        cached: bool,
    ) -> Result<Arc<Claims>, ApiError> {
        let tokens = self.tokens();
        self.prepare_remote_key(raw).await;
        let claims = if cached {
            tokens.decode_cached(raw)?
        } else {
            Arc::new(tokens.decode(raw)?)
        };
        if kind.is_blacklistable()
            && let Some(jti) = tokens.jti(&claims)
            && self.store().is_blacklisted(jti).await?
        {
            return Err(tessera_core::Error::Blacklisted.into());
        }
        tokens.check(&claims, Some(kind))?;
        if kind != TokenKind::Refresh
            && self.settings().access_token_revocation
            && claims
                .get(SESSION_CLAIM)
                .and_then(|v| v.as_str())
                .is_some_and(|sid| self.revocations().is_revoked(sid))
        {
            return Err(tessera_core::Error::Blacklisted.into());
        }
        Ok(claims)
    }

    /// With `JWK_URL`: fetches the remote key set first when the token names a `kid` that
    /// is not local and not cached (rate-limited inside [`crate::jwks::RemoteJwks`]).
    pub async fn prepare_remote_key(&self, raw: &str) {
        if let Some(remote) = self.remote_jwks()
            && let Some(kid) = TokenService::peek_kid(raw)
            && !self.tokens().has_local_kid(&kid)
        {
            remote.ensure(&kid).await;
        }
    }

    /// Tries each of `AUTH_TOKEN_CLASSES` in order; the first that validates wins.
    pub async fn validate_bearer(&self, raw: &[u8]) -> Result<(Arc<Claims>, TokenKind), ApiError> {
        let raw = std::str::from_utf8(raw).unwrap_or("");
        let mut messages = Vec::new();
        for &kind in &self.settings().auth_token_classes {
            match self.check_token(raw, kind, true).await {
                Ok(claims) => return Ok((claims, kind)),
                Err(ApiError::Token(e)) => messages.push(TokenMessage {
                    token_class: kind.class_name(),
                    token_type: kind.type_name(),
                    message: e.to_string(),
                }),
                Err(other) => return Err(other),
            }
        }
        Err(ApiError::NotValidForAnyType(messages))
    }

    async fn authenticate_request(
        &self,
        headers: &HeaderMap,
    ) -> Result<(Arc<Claims>, TokenKind), ApiError> {
        let raw = self.bearer(headers)?.ok_or(ApiError::NotAuthenticated)?;
        self.validate_bearer(raw).await
    }

    /// The stateful user check of `JWTAuthentication.get_user`.
    pub async fn user_for_claims(&self, claims: &Claims) -> Result<Arc<User>, ApiError> {
        let s = self.settings();
        let id = claims.get(&s.user_id_claim).ok_or(ApiError::NoUserId)?;
        // Simple JWT crashes (500) on an id the database cannot compare; we say 401.
        if !(id.is_string() || id.is_i64() || id.is_u64()) {
            return Err(ApiError::NoUserId);
        }
        let user = self
            .user_by_claim(id)
            .await?
            .ok_or(ApiError::UserNotFound)?;
        if s.check_user_is_active && !user.is_active {
            return Err(ApiError::UserInactive);
        }
        if s.check_revoke_token {
            let current = revoke_digest(&user.password);
            match claims.get(&s.revoke_token_claim).and_then(|v| v.as_str()) {
                Some(d) if d == current => {}
                _ => return Err(ApiError::PasswordChanged),
            }
        }
        Ok(user)
    }
}

impl<S> axum::extract::FromRequestParts<S> for Authenticated
where
    Tessera: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let t = Tessera::from_ref(state);
        let run = async {
            let (claims, kind) = t.authenticate_request(&parts.headers).await?;
            let user = t.user_for_claims(&claims).await?;
            Ok(Authenticated { user, claims, kind })
        };
        run.await.map_err(|e: ApiError| t.reject(e))
    }
}

impl<S> axum::extract::FromRequestParts<S> for Stateless
where
    Tessera: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let t = Tessera::from_ref(state);
        let run = async {
            let (claims, kind) = t.authenticate_request(&parts.headers).await?;
            let id = match claims.get(&t.settings().user_id_claim) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v @ serde_json::Value::Number(_)) => v.to_string(),
                _ => return Err(ApiError::NoUserId),
            };
            Ok(Stateless {
                user: TokenUser { id, claims },
                kind,
            })
        };
        run.await.map_err(|e: ApiError| t.reject(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_splitting_matches_simple_jwt() {
        let bearer = vec!["Bearer".to_owned()];
        assert_eq!(raw_token(b"Bearer abc", &bearer), RawToken::Token(b"abc"));
        assert_eq!(raw_token(b"Bearer\tabc", &bearer), RawToken::Token(b"abc"));
        assert_eq!(
            raw_token(b"Bearer   abc  ", &bearer),
            RawToken::Token(b"abc")
        );
        assert_eq!(raw_token(b"", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"   ", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"bearer abc", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"JWT abc", &bearer), RawToken::Absent);
        assert_eq!(raw_token(b"Bearer", &bearer), RawToken::Malformed);
        assert_eq!(raw_token(b"Bearer a b", &bearer), RawToken::Malformed);
        assert_eq!(raw_token(b"Bearer a\x0bb", &bearer), RawToken::Malformed);
        assert_eq!(
            raw_token(b" Bearer  a\x01b ", &bearer),
            RawToken::Token(b"a\x01b")
        );
        let two = vec!["JWT".to_owned(), "Bearer".to_owned()];
        assert_eq!(raw_token(b"JWT abc", &two), RawToken::Token(b"abc"));
    }
}
