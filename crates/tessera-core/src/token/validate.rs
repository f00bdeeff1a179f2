//! Validation in Simple JWT's order: PyJWT's registered claims first (after the
//! signature), then Simple JWT's own checks (`exp` present, id, type).

use serde_json::Value;

use super::TokenService;
use crate::claims::{Claims, Times, TokenKind, int_claim};
use crate::error::{Error, Result};

impl TokenService {
    /// PyJWT's checks of the registered claims; the time claims it read, for the cache.
    pub(super) fn validate_registered(&self, c: &Claims) -> Result<Times> {
        let times = Times::of(c)?;
        self.check_times(times)?;
        if let Some(iss) = &self.inner.issuer {
            match c.get("iss") {
                Some(Value::String(s)) if s == iss => {}
                _ => return Err(Error::InvalidToken),
            }
        }
        if let Some(expected) = &self.inner.audience {
            let ok = match c.get("aud") {
                Some(Value::String(s)) => expected.contains(s),
                Some(Value::Array(items)) => {
                    let mut any = false;
                    for i in items {
                        let Value::String(s) = i else {
                            return Err(Error::InvalidToken);
                        };
                        any |= expected.contains(s);
                    }
                    any
                }
                _ => false,
            };
            if !ok {
                return Err(Error::InvalidToken);
            }
        }
        for name in ["sub", "jti"] {
            if c.get(name).is_some_and(|v| !v.is_string()) {
                return Err(Error::InvalidToken);
            }
        }
        Ok(times)
    }

    /// The registered claims that change meaning with time (`iat`, `nbf`, `exp`), in
    /// PyJWT's order: all a cached token needs checking again.
    pub(super) fn check_times(&self, t: Times) -> Result<()> {
        let now = self.inner.clock.now_secs();
        let leeway = self.inner.leeway;
        if t.iat.is_some_and(|iat| iat > now.saturating_add(leeway))
            || t.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(Error::InvalidToken);
        }
        if t.exp.is_some_and(|exp| exp <= now.saturating_sub(leeway)) {
            return Err(Error::ExpiredToken);
        }
        Ok(())
    }

    /// Simple JWT's own checks after decoding: `exp` present and not passed, an id, and
    /// the expected type (`None` = any type, as `UntypedToken` for verify).
    pub fn check(&self, c: &Claims, kind: Option<TokenKind>) -> Result<()> {
        self.check_time_claim(c, "exp")?;
        if let Some(j) = &self.inner.jti_claim {
            match c.get(j) {
                None => return Err(Error::NoId),
                Some(Value::String(_)) => {}
                Some(_) => return Err(Error::InvalidToken),
            }
        }
        if let (Some(t), Some(kind)) = (&self.inner.type_claim, kind) {
            match c.get(t) {
                None => return Err(Error::NoType),
                Some(Value::String(s)) if s == kind.type_name() => {}
                Some(_) => return Err(Error::WrongType),
            }
        }
        Ok(())
    }

    /// For sliding refresh: the `refresh_exp` claim must be present and in the future.
    pub fn check_refresh_exp(&self, c: &Claims) -> Result<()> {
        let name = self.inner.refresh_exp_claim.clone();
        self.check_time_claim(c, &name)
    }

    fn check_time_claim(&self, c: &Claims, name: &str) -> Result<()> {
        let v = c
            .get(name)
            .ok_or_else(|| Error::MissingClaim(name.to_owned()))?;
        let t = int_claim(v)?;
        if t <= self
            .inner
            .clock
            .now_secs()
            .saturating_sub(self.inner.leeway)
        {
            return Err(Error::ClaimExpired(name.to_owned()));
        }
        Ok(())
    }

    /// Full validation of a token of `kind` without the blacklist: [`Self::decode`]
    /// then [`Self::check`].
    pub fn validate(&self, raw: &str, kind: Option<TokenKind>) -> Result<Claims> {
        let c = self.decode(raw)?;
        self.check(&c, kind)?;
        Ok(c)
    }

    /// The `exp` of validated claims (0 when absent, which `check` already refused).
    pub fn exp(&self, c: &Claims) -> i64 {
        c.get("exp").and_then(Value::as_i64).unwrap_or(0)
    }
}
