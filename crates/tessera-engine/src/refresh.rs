//! Refreshing: a new access token from a refresh token, with rotation (exactly once
//! when the old token is blacklisted by it) and reuse detection; and sliding refresh.

use serde_json::Value;
use tessera_core::{AuthUser, Claims, TokenKind};
use tessera_store::{RotateOutcome, RotationTimes};

use crate::engine::Tessera;
use crate::error::{Error, Result};
use crate::issue::SESSION_CLAIM;

/// What a refresh hands back.
#[derive(Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// A new access token.
    pub access: String,
    /// With `ROTATE_REFRESH_TOKENS`: the refresh token that replaces the presented one.
    pub refresh: Option<String>,
}

impl std::fmt::Debug for Refreshed {
    // Tokens are credentials: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refreshed { .. }")
    }
}

impl<U: AuthUser> Tessera<U> {
    /// `POST /api/token/refresh/`: a new access token (and, with rotation, a new
    /// refresh token).
    ///
    /// With rotation and `BLACKLIST_AFTER_ROTATION`, the ledger's rotation transaction is
    /// the one place that decides whether the presented token is still unspent, so
    /// concurrent refreshes of one token succeed exactly once, and a replay of a
    /// rotated-away token revokes its whole family ([`Error::TokenReused`]).
    pub async fn refresh(&self, raw: &str) -> Result<Refreshed> {
        let outcome = self.refresh_pair(raw).await;
        crate::telemetry::refresh(&outcome);
        outcome
    }

    async fn refresh_pair(&self, raw: &str) -> Result<Refreshed> {
        let presented = self.clock().now_micros();
        let s = self.settings();
        let exactly_once = s.rotate_refresh_tokens && s.blacklist_after_rotation;
        let claims = if exactly_once {
            self.validate_for_rotation(raw).await?
        } else {
            self.validate_token(raw, TokenKind::Refresh).await?
        };
        self.refresh_user_check(&claims).await?;
        let access = self.encode(&self.tokens().access_from_refresh(&claims))?;
        if !s.rotate_refresh_tokens {
            return Ok(Refreshed {
                access,
                refresh: None,
            });
        }
        let now = self.clock().now_micros();
        let jti = self.tokens().jti(&claims).unwrap_or_default();
        // The family's start is needed only to cap the session; otherwise the rotation
        // transaction carries the family over by itself, and this read is saved.
        let family = if jti.is_empty() || s.refresh_token_absolute_lifetime.is_none() {
            None
        } else {
            self.ledger().family_of(jti).await?
        };
        let mut family_id = family.as_ref().map(|f| f.id.clone()).or_else(|| {
            claims
                .get(SESSION_CLAIM)
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        // Without exactly-once rotation the ledger is not asked to carry the family over:
        // read it, so the new token belongs to the session of the one it replaces (a
        // logout with either ends the whole session).
        if family_id.is_none() && !exactly_once && !jti.is_empty() {
            family_id = self.ledger().family_of(jti).await?.map(|f| f.id);
        }
        let mut rotated = claims.clone();
        self.tokens().rotate(&mut rotated);
        if let (Some(abs), Some(f)) = (s.refresh_token_absolute_lifetime, &family) {
            let end_secs = f.created_at.div_euclid(1_000_000).saturating_add(abs);
            if end_secs <= now.div_euclid(1_000_000) {
                return Err(tessera_core::Error::ExpiredToken.into());
            }
            if self.tokens().exp(&rotated) > end_secs {
                rotated.insert("exp".into(), Value::from(end_secs));
            }
        }
        let rotated_raw = self.encode(&rotated)?;
        let owner = self.ledger_user_of(&claims);
        let new_row = self.ledger_row(&rotated, &rotated_raw, owner.clone(), family_id.as_deref());
        if exactly_once {
            let old_row = self.ledger_row(&claims, raw, owner.clone(), family_id.as_deref());
            let times = RotationTimes {
                presented,
                now: self.clock().now_micros(),
                grace: s.refresh_reuse_grace.saturating_mul(1_000_000),
            };
            match self.ledger().rotate(&old_row, &new_row, times).await? {
                RotateOutcome::Rotated => {}
                RotateOutcome::AlreadyBlacklisted | RotateOutcome::ReusedWithinGrace => {
                    return Err(tessera_core::Error::Blacklisted.into());
                }
                RotateOutcome::Reused(revoked) => {
                    self.revocations().apply(&revoked);
                    // The security event says it: the session was revoked.
                    self.security_event(
                        crate::SecurityEvent::RefreshTokenReused,
                        owner.key.as_deref().unwrap_or(""),
                        None,
                        revoked.len(),
                    );
                    return Err(Error::TokenReused);
                }
            }
        } else {
            self.ledger().outstand(&new_row).await?;
        }
        Ok(Refreshed {
            access,
            refresh: Some(rotated_raw),
        })
    }

    /// `POST /api/token/sliding/refresh/`: the same sliding token (same `jti`) with a
    /// later `exp`, while its `refresh_exp` has not passed.
    pub async fn refresh_sliding(&self, raw: &str) -> Result<String> {
        let mut claims = self.validate_token(raw, TokenKind::Sliding).await?;
        self.tokens().check_refresh_exp(&claims)?;
        self.tokens().slide(&mut claims);
        self.encode(&claims)
    }

    /// Validation of a refresh token about to be rotated exactly once: the blacklist is
    /// left to the rotation transaction, except that a token failing the type checks
    /// reports "blacklisted" first when it is, as Simple JWT orders its checks.
    async fn validate_for_rotation(&self, raw: &str) -> Result<Claims> {
        let tokens = self.tokens();
        let claims = tokens.decode(raw)?;
        self.ledger_jti(&claims)?;
        if let Err(e) = tokens.check(&claims, Some(TokenKind::Refresh)) {
            if let Some(jti) = tokens.jti(&claims)
                && self.ledger().is_blacklisted(jti).await?
            {
                return Err(tessera_core::Error::Blacklisted.into());
            }
            return Err(e.into());
        }
        Ok(claims)
    }

    /// The user a refresh token names, with Simple JWT's refresh-time checks.
    async fn refresh_user_check(&self, claims: &Claims) -> Result<()> {
        let s = self.settings();
        let Some(id) = claims.get(&s.user_id_claim).filter(|v| is_truthy(v)) else {
            return Ok(());
        };
        let user = self
            .user_by_claim(id)
            .await?
            .ok_or(Error::DeletedUserForToken)?;
        if s.check_user_is_active && !user.is_active() {
            return Err(Error::InactiveUserForToken);
        }
        Ok(())
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
