//! Validating tokens and authenticating requests: Simple JWT's `JWTAuthentication`
//! (token and user checked) and `JWTStatelessUserAuthentication` (token only), plus the
//! verify endpoint's check.

use std::sync::Arc;

use serde_json::Value;
use tessera_core::password::revoke_digest;
use tessera_core::{AuthUser, Claims, TokenKind, TokenUser, User, UserId};

use crate::engine::Tessera;
use crate::error::{Error, Result, TokenFailure};
use crate::issue::SESSION_CLAIM;

/// A token and its user, both checked: what a protected route runs as.
#[derive(Debug)]
pub struct Identity<U: AuthUser = User> {
    /// The user, as stored (shared with the user cache: no copy per request).
    pub user: Arc<U>,
    /// The validated token's claims (shared with the verified-token cache).
    pub claims: Arc<Claims>,
    /// Which accepted class validated the token.
    pub kind: TokenKind,
}

/// A token checked without reading the user (`JWTStatelessUserAuthentication`).
#[derive(Debug, Clone)]
pub struct StatelessIdentity {
    /// The user as the token describes it.
    pub user: TokenUser,
    /// Which accepted class validated the token.
    pub kind: TokenKind,
}

impl<U: AuthUser> Clone for Identity<U> {
    fn clone(&self) -> Self {
        Identity {
            user: self.user.clone(),
            claims: self.claims.clone(),
            kind: self.kind,
        }
    }
}

impl<U: AuthUser> Tessera<U> {
    /// Authenticates a raw bearer token (the bytes after the scheme word): it must
    /// validate as one of `AUTH_TOKEN_CLASSES`, and its user must exist, be active
    /// (`CHECK_USER_IS_ACTIVE`) and, with `CHECK_REVOKE_TOKEN`, still have the password
    /// the token was issued under.
    pub async fn authenticate(&self, raw: &[u8]) -> Result<Identity<U>> {
        let outcome = self.authenticate_bearer(raw).await;
        crate::telemetry::verification(crate::telemetry::Flow::Authenticate, &outcome);
        outcome
    }

    async fn authenticate_bearer(&self, raw: &[u8]) -> Result<Identity<U>> {
        let (claims, kind) = self.validate_bearer(raw).await?;
        let user = self.user_for_claims(&claims).await?;
        Ok(Identity { user, claims, kind })
    }

    /// Authenticates a raw bearer token from the token alone: no database read, so a
    /// deactivated user keeps access until the token expires.
    pub async fn authenticate_stateless(&self, raw: &[u8]) -> Result<StatelessIdentity> {
        let outcome = self.stateless_identity(raw).await;
        crate::telemetry::verification(crate::telemetry::Flow::Authenticate, &outcome);
        outcome
    }

    async fn stateless_identity(&self, raw: &[u8]) -> Result<StatelessIdentity> {
        let (claims, kind) = self.validate_bearer(raw).await?;
        let id = match claims.get(&self.settings().user_id_claim) {
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Number(_)) => v.to_string(),
            _ => return Err(Error::NoUserId),
        };
        Ok(StatelessIdentity {
            user: TokenUser { id, claims },
            kind,
        })
    }

    /// `POST /api/token/verify/`: any valid token type. With `BLACKLIST_AFTER_ROTATION`,
    /// a blacklisted refresh or sliding token fails with
    /// [`tessera_core::Error::Blacklisted`].
    pub async fn verify(&self, raw: &str) -> Result<()> {
        let outcome = self.verify_token(raw).await;
        crate::telemetry::verification(crate::telemetry::Flow::Verify, &outcome);
        outcome
    }

    async fn verify_token(&self, raw: &str) -> Result<()> {
        let claims = self.tokens().validate(raw, None)?;
        // Only refresh and sliding tokens ever enter the ledger (Simple JWT records no
        // other type), so an access token's id cannot be blacklisted: no read for it.
        let ledgered = match self.settings().token_type_claim.as_deref() {
            Some(type_claim) => claims.get(type_claim).and_then(Value::as_str) != Some("access"),
            None => true,
        };
        if self.settings().blacklist_after_rotation
            && ledgered
            && let Some(jti) = self.ledger_jti(&claims)?
            && self.ledger().is_blacklisted(jti).await?
        {
            return Err(tessera_core::Error::Blacklisted.into());
        }
        Ok(())
    }

    /// Validates a raw token as a token of `kind`, consulting the blacklist for the
    /// blacklistable kinds in Simple JWT's order (after the signature, before the type).
    pub async fn validate_token(&self, raw: &str, kind: TokenKind) -> Result<Claims> {
        let claims = self.check_token(raw, kind, false).await?;
        Ok(Arc::try_unwrap(claims).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// [`Self::validate_token`], decoding through the verified-token cache when `cached`
    /// (protected routes, where the same token comes back request after request). The
    /// blacklist and revocation checks run either way.
    async fn check_token(&self, raw: &str, kind: TokenKind, cached: bool) -> Result<Arc<Claims>> {
        let tokens = self.tokens();
        self.prepare_remote_key(raw).await;
        let claims = if cached {
            tokens.decode_cached(raw)?
        } else {
            Arc::new(tokens.decode(raw)?)
        };
        if kind.is_blacklistable()
            && let Some(jti) = self.ledger_jti(&claims)?
            && self.ledger().is_blacklisted(jti).await?
        {
            return Err(tessera_core::Error::Blacklisted.into());
        }
        tokens.check(&claims, Some(kind))?;
        if kind != TokenKind::Refresh
            && self.settings().access_token_revocation
            && let Some(sid) = claims.get(SESSION_CLAIM).and_then(|v| v.as_str())
        {
            // Memory answers, unless the revocation channel is interrupted: then it may
            // miss another instance's revocation, and the ledger answers (or, unreachable,
            // the request fails as unavailable rather than trusting memory).
            let revoked = if self.revocations().is_stale() {
                self.ledger().family_revoked(sid).await?
            } else {
                self.revocations().is_revoked(sid)
            };
            if revoked {
                return Err(tessera_core::Error::Blacklisted.into());
            }
        }
        Ok(claims)
    }

    /// The token id of `claims` for a ledger lookup. A NUL in it is an invalid token:
    /// nothing Tessera issued carries one, and PostgreSQL refuses it in text.
    pub(crate) fn ledger_jti<'c>(&self, claims: &'c Claims) -> Result<Option<&'c str>> {
        match self.tokens().jti(claims) {
            Some(jti) if jti.contains('\0') => Err(tessera_core::Error::InvalidToken.into()),
            other => Ok(other),
        }
    }

    /// With `JWK_URL`: fetches the remote key set first when the token names a `kid`
    /// that is not local and not cached (rate-limited inside the remote key set).
    pub async fn prepare_remote_key(&self, raw: &str) {
        #[cfg(feature = "remote-jwks")]
        if let Some(remote) = self.remote_jwks()
            && let Some(kid) = tessera_core::dangerous::unverified_kid(raw)
            && !self.tokens().has_local_kid(&kid)
        {
            remote.ensure(&kid).await;
        }
        #[cfg(not(feature = "remote-jwks"))]
        let _ = raw;
    }

    /// Tries each of `AUTH_TOKEN_CLASSES` in order; the first that validates wins.
    pub async fn validate_bearer(&self, raw: &[u8]) -> Result<(Arc<Claims>, TokenKind)> {
        let raw = std::str::from_utf8(raw).unwrap_or("");
        let mut failures = Vec::new();
        for &kind in &self.settings().auth_token_classes {
            match self.check_token(raw, kind, true).await {
                Ok(claims) => return Ok((claims, kind)),
                Err(Error::Token(error)) => failures.push(TokenFailure { kind, error }),
                Err(other) => return Err(other),
            }
        }
        Err(Error::NotValidForAnyType(failures))
    }

    /// The stateful user check of `JWTAuthentication.get_user`.
    pub async fn user_for_claims(&self, claims: &Claims) -> Result<Arc<U>> {
        let s = self.settings();
        let id = claims.get(&s.user_id_claim).ok_or(Error::NoUserId)?;
        // Simple JWT crashes (500) on an id the database cannot compare; we say 401.
        if !(id.is_string() || id.is_i64() || id.is_u64()) {
            return Err(Error::NoUserId);
        }
        let user = self.user_by_claim(id).await?.ok_or(Error::UserNotFound)?;
        if s.check_user_is_active && !user.is_active() {
            return Err(Error::UserInactive);
        }
        if s.check_revoke_token {
            let current = revoke_digest(user.password_hash());
            match claims.get(&s.revoke_token_claim).and_then(|v| v.as_str()) {
                Some(d) if d == current => {}
                _ => return Err(Error::PasswordChanged),
            }
        }
        Ok(user)
    }

    /// Looks a user up by the value of the user id claim, per `USER_ID_FIELD`. A claim
    /// that cannot name a user (a non-numeric id for integer ids) is `Ok(None)`, not an
    /// error.
    pub async fn user_by_claim(&self, claim: &Value) -> Result<Option<Arc<U>>> {
        let users = self.users();
        if self.settings().user_id_field != "id" {
            let as_text = match claim {
                Value::String(s) if s.contains('\0') => return Ok(None),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Ok(None),
            };
            return Ok(users.user_by_username(&as_text).await?.map(Arc::new));
        }
        let Some(id) = U::Id::from_claim(claim) else {
            return Ok(None);
        };
        if let Some(hit) = users.cached_user(&id) {
            return Ok(hit);
        }
        Ok(users.shared_user_by_id(id).await?)
    }
}
