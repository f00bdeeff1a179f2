//! Ending sessions: logout (one session), logout everywhere and revoking a user (every
//! session), and the pair check that tells a client which of its tokens is bad.

use serde_json::Value;
use tessera_core::{AuthUser, TokenKind};

use crate::engine::Tessera;
use crate::error::Result;
use crate::issue::SESSION_CLAIM;
use crate::security::SecurityEvent;

/// Which of a client's two tokens still work (`POST /api/token/valid/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairCheck {
    /// The access token validates (and is not revoked).
    pub access_valid: bool,
    /// The refresh token validates and is not blacklisted (a spent one is invalid).
    pub refresh_valid: bool,
}

impl<U: AuthUser> Tessera<U> {
    /// `POST /api/token/blacklist/`: the refresh token is refused from now on, and so is
    /// its whole session (family). Committed before this returns.
    pub async fn blacklist(&self, raw: &str) -> Result<()> {
        let claims = self.validate_token(raw, TokenKind::Refresh).await?;
        let family = claims.get(SESSION_CLAIM).and_then(Value::as_str);
        let row = self.ledger_row(&claims, raw, self.ledger_user_of(&claims), family);
        let revoked = self
            .ledger()
            .blacklist(&row, self.clock().now_micros())
            .await?;
        self.revocations().apply(&revoked);
        let who = row.user_key.as_deref().unwrap_or("");
        self.security_event(SecurityEvent::Logout, who, None, revoked.len());
        Ok(())
    }

    /// Logout everywhere for the user themself: the same as [`Tessera::revoke_user`].
    pub async fn logout_everywhere(&self, user: &U) -> Result<usize> {
        self.revoke_user(user).await
    }

    /// Revokes every refresh token (and, with `ACCESS_TOKEN_REVOCATION`, every access
    /// token) of the user, on every instance. Returns how many sessions ended now.
    pub async fn revoke_user(&self, user: &U) -> Result<usize> {
        let ended = self.end_sessions(user).await?;
        self.security_event(
            SecurityEvent::SessionsRevoked,
            &user.id().to_string(),
            None,
            ended,
        );
        Ok(ended)
    }

    /// [`Tessera::revoke_user`] without its security event (a password change records
    /// its own).
    pub(crate) async fn end_sessions(&self, user: &U) -> Result<usize> {
        let id = user.id();
        let revoked = self
            .ledger()
            .revoke_user(
                &id.to_string(),
                self.users().ledger_user_id(&id),
                self.clock().now_micros(),
            )
            .await?;
        self.revocations().apply(&revoked);
        Ok(revoked.len())
    }

    /// Which of the two tokens is bad. No user lookup. `access` is the raw bearer token
    /// (`None` when the request had none), `refresh` the refresh token (`None` or empty
    /// when missing). Only a failing database is an error.
    pub async fn check_pair(
        &self,
        access: Option<&[u8]>,
        refresh: Option<&str>,
    ) -> Result<PairCheck> {
        let access_valid = match access.map(std::str::from_utf8) {
            Some(Ok(raw)) => self.validate_token(raw, TokenKind::Access).await.is_ok(),
            _ => false,
        };
        let refresh_valid = match refresh {
            Some(raw) if !raw.is_empty() => {
                match self.validate_token(raw, TokenKind::Refresh).await {
                    Ok(_) => true,
                    Err(crate::Error::Token(_)) => false,
                    Err(other) => return Err(other),
                }
            }
            _ => false,
        };
        Ok(PairCheck {
            access_valid,
            refresh_valid,
        })
    }
}

impl<U: AuthUser> Tessera<U> {
    /// Ends one session by its id (staff, the admin page): its family is revoked and its
    /// tokens blacklisted, on every instance. False when it had already ended. Needs one
    /// of Tessera's stores.
    pub async fn end_session(&self, session_id: &str) -> Result<bool> {
        let store = self.store().ok_or_else(|| {
            crate::Error::Internal("ending a session by id needs one of Tessera's stores".into())
        })?;
        let revoked = store
            .end_session(session_id, self.clock().now_micros())
            .await?;
        self.revocations().apply(revoked.as_slice());
        Ok(revoked.is_some())
    }
}
