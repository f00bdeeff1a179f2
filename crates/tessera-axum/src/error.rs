//! The one error type of `tessera-axum`, and the one place errors become HTTP.
//!
//! Every body here is byte-for-byte what Simple JWT 5.5.1 (through DRF) sends, because
//! front ends match on `detail` and `code`. Nothing internal (SQL, keys, stack traces)
//! ever reaches a response body: storage failures are logged and answered generically.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// One entry of the `messages` list of a "not valid for any token type" 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMessage {
    /// Simple JWT's class name (`AccessToken`).
    pub token_class: &'static str,
    /// The token type tried (`access`).
    pub token_type: &'static str,
    /// Why it failed (`Token has wrong type`).
    pub message: String,
}

/// Everything a Tessera route or extractor can answer with instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No (recognised) credentials on a protected route.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// `Bearer` alone, or `Bearer a b`.
    #[error("Authorization header must contain two space-delimited values")]
    BadAuthorizationHeader,
    /// A token error on a token endpoint: 401 `token_not_valid`.
    #[error("{0}")]
    Token(#[from] tessera_core::Error),
    /// A bearer token that no accepted class validates.
    #[error("Given token not valid for any token type")]
    NotValidForAnyType(Vec<TokenMessage>),
    /// A refresh token presented after it was rotated away: its family is now revoked.
    #[error("Token is blacklisted")]
    TokenReused,
    /// A valid token without a usable user id claim.
    #[error("Token contained no recognizable user identification")]
    NoUserId,
    /// The token's user does not exist.
    #[error("User not found")]
    UserNotFound,
    /// The token's user is inactive.
    #[error("User is inactive")]
    UserInactive,
    /// `CHECK_REVOKE_TOKEN`: the password changed after the token was issued.
    #[error("The user's password has been changed.")]
    PasswordChanged,
    /// Login failed (unknown user, wrong password or inactive: deliberately one answer).
    #[error("No active account found with the given credentials")]
    NoActiveAccount,
    /// Refresh for an inactive user.
    #[error("No active account found for the given token.")]
    NoActiveAccountForToken,
    /// Refresh for a user that no longer exists (Simple JWT 5.5.1 answers 500 here).
    #[error("No active account found for the given token.")]
    DeletedUserForToken,
    /// DRF field errors: `{"password": ["This field is required."]}`.
    #[error("invalid fields")]
    Fields(Map<String, Value>),
    /// A malformed request body.
    #[error("JSON parse error - {0}")]
    JsonParse(String),
    /// A content type no parser accepts.
    #[error("Unsupported media type \"{0}\" in request.")]
    UnsupportedMediaType(String),
    /// The body is larger than the limit.
    #[error("Request body is too large.")]
    PayloadTooLarge,
    /// Too many failed logins for this username or address; retry after the seconds.
    #[error("Request was throttled. Expected available in {0} seconds.")]
    Throttled(i64),
    /// Every password-hashing slot stayed busy for the queue timeout.
    #[error("Too many logins at once; try again shortly.")]
    HashingBusy,
    /// The header block is larger than `MAX_HEADER_BYTES`.
    #[error("Request header fields too large.")]
    HeadersTooLarge,
    /// Wrong method; carries the method and the `Allow` value.
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String, &'static str),
    /// No such route.
    #[error("Not found.")]
    NotFound,
    /// The database failed. Logged; answered 503 when it is unreachable, else 500.
    #[error("storage: {0}")]
    Store(#[from] tessera_store::Error),
    /// A bug or an impossible state; logged, answered 500.
    #[error("internal: {0}")]
    Internal(String),
}

/// The default challenge, for responses built without settings at hand.
pub(crate) const DEFAULT_CHALLENGE: &str = "Bearer realm=\"api\"";

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            NotAuthenticated
            | BadAuthorizationHeader
            | Token(_)
            | TokenReused
            | NotValidForAnyType(_)
            | NoUserId
            | UserNotFound
            | UserInactive
            | PasswordChanged
            | NoActiveAccount
            | NoActiveAccountForToken
            | DeletedUserForToken => StatusCode::UNAUTHORIZED,
            Fields(_) | JsonParse(_) => StatusCode::BAD_REQUEST,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            HashingBusy => StatusCode::SERVICE_UNAVAILABLE,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            MethodNotAllowed(..) => StatusCode::METHOD_NOT_ALLOWED,
            NotFound => StatusCode::NOT_FOUND,
            Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Store(_) | Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body, in Simple JWT's key order (`detail`, `code`, `messages`).
    pub fn body(&self) -> Value {
        use ApiError::*;
        let detail = self.to_string();
        match self {
            BadAuthorizationHeader => json!({"detail": detail, "code": "bad_authorization_header"}),
            Token(e) if !e.is_token_error() => {
                json!({"detail": "Token is invalid", "code": "token_not_valid"})
            }
            Token(_) | NoUserId | DeletedUserForToken => {
                json!({"detail": detail, "code": "token_not_valid"})
            }
            NotValidForAnyType(messages) => json!({
                "detail": detail,
                "code": "token_not_valid",
                "messages": messages.iter().map(|m| json!({
                    "token_class": m.token_class,
                    "token_type": m.token_type,
                    "message": m.message,
                })).collect::<Vec<_>>(),
            }),
            TokenReused => json!({"detail": detail, "code": "token_reused"}),
            UserNotFound => json!({"detail": detail, "code": "user_not_found"}),
            UserInactive => json!({"detail": detail, "code": "user_inactive"}),
            PasswordChanged => json!({"detail": detail, "code": "password_changed"}),
            Fields(map) => Value::Object(map.clone()),
            Store(e) if e.is_unavailable() => {
                json!({"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"})
            }
            Store(_) | Internal(_) => json!({"detail": "A server error occurred."}),
            HashingBusy => json!({"detail": detail, "code": "service_unavailable"}),
            _ => json!({"detail": detail}),
        }
    }

    /// The response, with `challenge` as `WWW-Authenticate` on a 401.
    pub fn into_response_with(self, challenge: &HeaderValue) -> Response {
        let status = self.status();
        match &self {
            ApiError::Store(e) => tracing::error!(error = %e, "storage failure"),
            ApiError::Internal(e) => tracing::error!(error = %e, "internal error"),
            _ => {}
        }
        let mut resp = (status, Json(self.body())).into_response();
        let headers = resp.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, challenge.clone());
        }
        if let ApiError::MethodNotAllowed(_, allow) = &self {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::Throttled(secs) = &self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(&HeaderValue::from_static(DEFAULT_CHALLENGE))
    }
}

/// An [`ApiError`] that already knows the configured challenge (`AUTH_HEADER_TYPES[0]`):
/// what the extractors reject with, so they answer correctly in any app.
#[derive(Debug)]
pub struct Rejection {
    /// What went wrong.
    pub error: ApiError,
    pub(crate) challenge: HeaderValue,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.error.into_response_with(&self.challenge)
    }
}
