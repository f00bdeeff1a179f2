//! The one error type of `tessera-core`.
//!
//! Token errors carry Simple JWT's exact messages in their `Display` text because
//! clients match on them (`Token is expired` triggers a refresh in many front ends).
//! Configuration and key errors are separate variants so that the web layer can tell a
//! start-up failure from a request failure.

/// Everything that can go wrong in `tessera-core`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed, badly signed, wrong algorithm, wrong `aud`/`iss`, future `iat`/`nbf`.
    /// Deliberately says nothing more: an attacker learns nothing from it.
    #[error("Token is invalid")]
    InvalidToken,
    /// The signature is good but `exp` has passed (leeway included).
    #[error("Token is expired")]
    ExpiredToken,
    /// The ledger says this token was revoked (logout or rotation).
    #[error("Token is blacklisted")]
    Blacklisted,
    /// The token carries no `jti` (or whatever `JTI_CLAIM` names).
    #[error("Token has no id")]
    NoId,
    /// The token carries no `token_type` (or whatever `TOKEN_TYPE_CLAIM` names).
    #[error("Token has no type")]
    NoType,
    /// The token is of another type than the endpoint expects.
    #[error("Token has wrong type")]
    WrongType,
    /// A time claim the token type requires (`exp`, `refresh_exp`) is absent.
    #[error("Token has no '{0}' claim")]
    MissingClaim(String),
    /// A time claim the token type requires has passed.
    #[error("Token '{0}' claim has expired")]
    ClaimExpired(String),
    /// A setting is missing, of the wrong type, or out of range. Names the key.
    #[error("invalid setting {key}: {message}")]
    Config {
        /// The setting's name, as written in `tessera.toml`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A key could not be used (too short, unparsable, wrong family).
    #[error("invalid key: {0}")]
    Key(String),
    /// A stored password hash is not in a format Tessera understands.
    #[error("unusable password hash: {0}")]
    PasswordHash(String),
}

impl Error {
    /// True for the errors that describe a bad token (answered 401 `token_not_valid`),
    /// as opposed to configuration or storage problems.
    pub fn is_token_error(&self) -> bool {
        !matches!(
            self,
            Error::Config { .. } | Error::Key(_) | Error::PasswordHash(_)
        )
    }

    /// Shorthand for a [`Error::Config`] naming `key`.
    pub fn config(key: &str, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
