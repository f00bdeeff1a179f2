//! Minting: fresh claims in Simple JWT's layout, access tokens from refresh tokens,
//! rotation and sliding, and signing.

use serde_json::Value;

use super::TokenService;
use crate::claims::{Claims, TokenKind};
use crate::clock::new_jti;
use crate::error::{Error, Result};
use crate::jws::b64_encode;

impl TokenService {
    /// A fresh token's claims: `token_type, exp, iat, jti` (+ `refresh_exp` for sliding).
    pub fn new_claims(&self, kind: TokenKind) -> Claims {
        let now = self.inner.clock.now_secs();
        let mut c = Claims::new();
        if let Some(t) = &self.inner.type_claim {
            c.insert(t.clone(), Value::from(kind.type_name()));
        }
        c.insert(
            "exp".into(),
            Value::from(now.saturating_add(self.lifetime(kind))),
        );
        c.insert("iat".into(), Value::from(now));
        if let Some(j) = &self.inner.jti_claim {
            c.insert(j.clone(), Value::from(new_jti(self.inner.random.as_ref())));
        }
        if kind == TokenKind::Sliding {
            c.insert(
                self.inner.refresh_exp_claim.clone(),
                Value::from(now.saturating_add(self.inner.sliding_refresh_lifetime)),
            );
        }
        c
    }

    /// A fresh token of `kind` for the user whose id (as a string, Simple JWT 5.5.1) is
    /// `user_id`.
    pub fn for_user(&self, kind: TokenKind, user_id: &str) -> Claims {
        let mut c = self.new_claims(kind);
        c.insert(self.inner.user_id_claim.clone(), Value::from(user_id));
        c
    }

    /// The access token a refresh token yields: fresh `token_type/exp/iat/jti`, then every
    /// other claim of the refresh token in its order (Simple JWT's `no_copy_claims`).
    pub fn access_from_refresh(&self, refresh: &Claims) -> Claims {
        let mut access = self.new_claims(TokenKind::Access);
        for (k, v) in refresh {
            if !self.is_no_copy(k) {
                access.insert(k.clone(), v.clone());
            }
        }
        access
    }

    fn is_no_copy(&self, claim: &str) -> bool {
        matches!(claim, "exp" | "iat" | "jti")
            || self.inner.type_claim.as_deref() == Some(claim)
            || self.inner.jti_claim.as_deref() == Some(claim)
    }

    /// Rotation: the same refresh payload with a new `jti`, `exp` and `iat`, in place.
    pub fn rotate(&self, refresh: &mut Claims) {
        let now = self.inner.clock.now_secs();
        if let Some(j) = &self.inner.jti_claim {
            refresh.insert(j.clone(), Value::from(new_jti(self.inner.random.as_ref())));
        }
        refresh.insert(
            "exp".into(),
            Value::from(now.saturating_add(self.inner.refresh_lifetime)),
        );
        refresh.insert("iat".into(), Value::from(now));
    }

    /// Sliding refresh: the same payload (same `jti`, same `refresh_exp`) with a new
    /// `exp` and `iat`. The caller checks `refresh_exp` first ([`Self::check_refresh_exp`]).
    pub fn slide(&self, sliding: &mut Claims) {
        let now = self.inner.clock.now_secs();
        sliding.insert(
            "exp".into(),
            Value::from(now.saturating_add(self.inner.sliding_lifetime)),
        );
        sliding.insert("iat".into(), Value::from(now));
    }

    /// Signs `claims` into a compact JWS, adding `aud`/`iss` when configured (they
    /// overwrite any the claims hold, as Simple JWT's backend does).
    pub fn encode(&self, claims: &Claims) -> Result<String> {
        let payload = if self.inner.audience.is_some() || self.inner.issuer.is_some() {
            let mut c = claims.clone();
            if let Some(aud) = &self.inner.audience {
                let v = match aud.as_slice() {
                    [one] => Value::from(one.as_str()),
                    many => Value::from(many.to_vec()),
                };
                c.insert("aud".into(), v);
            }
            if let Some(iss) = &self.inner.issuer {
                c.insert("iss".into(), Value::from(iss.as_str()));
            }
            serde_json::to_vec(&c)
        } else {
            serde_json::to_vec(claims)
        }
        .map_err(|e| Error::Key(e.to_string()))?;
        let keys = self.inner.keys.load();
        let mut out = String::with_capacity(keys.header_b64().len() + payload.len() * 4 / 3 + 90);
        out.push_str(keys.header_b64());
        out.push('.');
        out.push_str(&b64_encode(&payload));
        let sig = keys.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&sig);
        Ok(out)
    }
}
