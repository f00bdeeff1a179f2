//! The engine's one error type: *what* went wrong, in domain terms. Turning it into a
//! status code and Simple JWT's JSON body is the web layer's job (`tessera-axum` does it
//! in one place), so another framework can answer in its own way.

/// Why a token failed one accepted token class (for "not valid for any token type").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFailure {
    /// The class tried.
    pub kind: tessera_core::TokenKind,
    /// Why it failed.
    pub error: tessera_core::Error,
}

/// A problem with one input field, found before any token or user is touched (e.g. a
/// wrong old password on a password change, or a new password too weak).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The input's name (`old_password`).
    pub field: std::borrow::Cow<'static, str>,
    /// The message for a person (Django's wording where Django has one).
    pub message: String,
}

/// Everything a flow of [`crate::Tessera`] can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is not acceptable: bad signature or format, expired, blacklisted, wrong
    /// type, missing claims (the exact reason is the core error).
    #[error("{0}")]
    Token(#[from] tessera_core::Error),
    /// A bearer token that none of `AUTH_TOKEN_CLASSES` validates; one failure per class.
    #[error("Given token not valid for any token type")]
    NotValidForAnyType(Vec<TokenFailure>),
    /// A refresh token presented after it was rotated away: a replay. Its whole session
    /// (family) is now revoked.
    #[error("Token is blacklisted")]
    TokenReused,
    /// A valid token without a usable user id claim.
    #[error("Token contained no recognizable user identification")]
    NoUserId,
    /// The token's user does not exist.
    #[error("User not found")]
    UserNotFound,
    /// The token's user is inactive (`CHECK_USER_IS_ACTIVE`).
    #[error("User is inactive")]
    UserInactive,
    /// `CHECK_REVOKE_TOKEN`: the password changed after the token was issued.
    #[error("The user's password has been changed.")]
    PasswordChanged,
    /// A login failed: unknown user, wrong password or inactive user. Deliberately one
    /// error for all three, so the answer does not tell which.
    #[error("No active account found with the given credentials")]
    BadCredentials,
    /// A refresh for a user who is inactive now.
    #[error("No active account found for the given token.")]
    InactiveUserForToken,
    /// A refresh for a user who no longer exists.
    #[error("No active account found for the given token.")]
    DeletedUserForToken,
    /// Too many failed logins for this login name or client address.
    #[error("Request was throttled. Expected available in {retry_after_secs} seconds.")]
    Throttled {
        /// Seconds until the window that blocks the login ends.
        retry_after_secs: i64,
    },
    /// Every password-hashing slot stayed busy for `PASSWORD_HASH_QUEUE_TIMEOUT`.
    #[error("Too many logins at once; try again shortly.")]
    HashingBusy,
    /// Inputs refused before anything was changed, one problem per field.
    #[error("invalid input")]
    Invalid(Vec<FieldProblem>),
    /// A change to the key set was refused, or the key set cannot be used (a key that
    /// does not open with `KEY_ENCRYPTION_KEY`, no active key).
    #[error("key set: {0}")]
    KeySet(String),
    /// The database failed or is unreachable ([`tessera_store::Error::is_unavailable`]).
    #[error("storage: {0}")]
    Store(#[from] tessera_store::Error),
    /// A bug or an impossible state (e.g. the hashing threads are gone).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// True for the errors that describe the presented token or user rather than a
    /// failure of the service: what a pair check counts as "invalid".
    pub fn is_credential_error(&self) -> bool {
        !matches!(
            self,
            Error::Store(_)
                | Error::Internal(_)
                | Error::HashingBusy
                | Error::Invalid(_)
                | Error::KeySet(_)
        )
    }
}

/// What the engine's flows return.
pub type Result<T, E = Error> = std::result::Result<T, E>;
