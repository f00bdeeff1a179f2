//! Claims and token kinds: what a token says, independent of how it is signed.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The claims of a token, in insertion order.
pub type Claims = Map<String, Value>;

/// Longest token accepted whatever `MAX_TOKEN_BYTES` says, in bytes. Real tokens are
/// a few hundred bytes; refusing larger ones before decoding bounds the work an
/// attacker can ask for.
pub const MAX_TOKEN_LEN: usize = 1 << 20;

/// The token types Simple JWT defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Short-lived bearer credential.
    Access,
    /// Long-lived credential that mints access tokens.
    Refresh,
    /// A single token that both authenticates and refreshes itself.
    Sliding,
}

impl TokenKind {
    /// The `token_type` claim value.
    pub fn type_name(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::Sliding => "sliding",
        }
    }

    /// Simple JWT's class name, used in the `messages` of a 401.
    pub fn class_name(self) -> &'static str {
        match self {
            TokenKind::Access => "AccessToken",
            TokenKind::Refresh => "RefreshToken",
            TokenKind::Sliding => "SlidingToken",
        }
    }

    /// Whether Simple JWT checks this type against the blacklist when validating.
    pub fn is_blacklistable(self) -> bool {
        matches!(self, TokenKind::Refresh | TokenKind::Sliding)
    }
}

/// A token's time claims, read out once: what must be checked again on every use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Times {
    pub(crate) iat: Option<i64>,
    pub(crate) nbf: Option<i64>,
    pub(crate) exp: Option<i64>,
}

impl Times {
    /// The time claims of `c`; any that is present but not a NumericDate is an invalid
    /// token (PyJWT's order of reading them does not change which error that is).
    pub(crate) fn of(c: &Claims) -> Result<Times> {
        let read = |name| c.get(name).map(int_claim).transpose();
        Ok(Times {
            iat: read("iat")?,
            nbf: read("nbf")?,
            exp: read("exp")?,
        })
    }
}

/// A NumericDate claim: a JSON integer within a sane range. Floats, strings and
/// out-of-range numbers are an invalid token, never "absent".
pub(crate) fn int_claim(v: &Value) -> Result<i64> {
    // Year 10000 is far beyond any lifetime we allow; beyond it arithmetic could wrap.
    const MAX: i64 = 253_402_300_799;
    match v.as_i64() {
        Some(n) if (0..=MAX).contains(&n) && !v.is_f64() => Ok(n),
        _ => Err(Error::InvalidToken),
    }
}
