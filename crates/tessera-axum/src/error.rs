//! The one error type of `tessera-axum`, and the one place errors become HTTP.
//!
//! Every body here is byte-for-byte what Simple JWT 5.5.1 (through DRF) sends, because
//! front ends match on `detail` and `code`. Nothing internal (SQL, keys, stack traces)
//! ever reaches a response body: storage failures are logged and answered generically.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_engine::Error as Domain;

/// Everything a Tessera route or extractor can answer with instead of success: the
/// engine's domain errors, and what only HTTP can get wrong (headers, bodies, methods).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No (recognised) credentials on a protected route.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// `Bearer` alone, `Bearer a b`, or two credential headers.
    #[error("Authorization header must contain two space-delimited values")]
    BadAuthorizationHeader,
    /// What a flow of the engine refused.
    #[error("{0}")]
    Engine(#[from] Domain),
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
    /// The header block is larger than `MAX_HEADER_BYTES`.
    #[error("Request header fields too large.")]
    HeadersTooLarge,
    /// Wrong method; carries the method and the `Allow` value.
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String, &'static str),
    /// No such route.
    #[error("Not found.")]
    NotFound,
    /// A cookie-authenticated request without valid CSRF proof (403, `CSRF Failed: …`).
    #[error("{0}")]
    Csrf(String),
    /// A credential both in the credentials header and in a cookie.
    #[error(
        "Credentials were sent both in the Authorization header and in a cookie; send one of them."
    )]
    CredentialConflict,
    /// One of Tessera's cookies sent twice.
    #[error("The cookie {0} was sent more than once.")]
    DuplicateCookie(String),
}

impl From<tessera_core::Error> for ApiError {
    fn from(e: tessera_core::Error) -> Self {
        ApiError::Engine(Domain::Token(e))
    }
}

impl From<tessera_store::Error> for ApiError {
    fn from(e: tessera_store::Error) -> Self {
        ApiError::Engine(Domain::Store(e))
    }
}

/// The default challenge, for responses built without settings at hand.
pub(crate) const DEFAULT_CHALLENGE: &str = "Bearer realm=\"api\"";

/// The status of a domain error.
fn domain_status(e: &Domain) -> StatusCode {
    match e {
        Domain::Token(_)
        | Domain::NotValidForAnyType(_)
        | Domain::TokenReused
        | Domain::NoUserId
        | Domain::UserNotFound
        | Domain::UserInactive
        | Domain::PasswordChanged
        | Domain::BadCredentials
        | Domain::InactiveUserForToken
        | Domain::DeletedUserForToken => StatusCode::UNAUTHORIZED,
        Domain::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        Domain::HashingBusy => StatusCode::SERVICE_UNAVAILABLE,
        Domain::Invalid(_) => StatusCode::BAD_REQUEST,
        Domain::Store(s) if s.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        Domain::Store(s) if s.is_bad_input() => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The body of a domain error, in Simple JWT's key order (`detail`, `code`, `messages`).
fn domain_body(e: &Domain) -> Value {
    let detail = e.to_string();
    match e {
        Domain::Token(t) if !t.is_token_error() => {
            json!({"detail": "Token is invalid", "code": "token_not_valid"})
        }
        Domain::Token(_) | Domain::NoUserId | Domain::DeletedUserForToken => {
            json!({"detail": detail, "code": "token_not_valid"})
        }
        Domain::NotValidForAnyType(failures) => json!({
            "detail": detail,
            "code": "token_not_valid",
            "messages": failures.iter().map(|f| json!({
                "token_class": f.kind.class_name(),
                "token_type": f.kind.type_name(),
                "message": f.error.to_string(),
            })).collect::<Vec<_>>(),
        }),
        Domain::TokenReused => json!({"detail": detail, "code": "token_reused"}),
        Domain::UserNotFound => json!({"detail": detail, "code": "user_not_found"}),
        Domain::UserInactive => json!({"detail": detail, "code": "user_inactive"}),
        Domain::PasswordChanged => json!({"detail": detail, "code": "password_changed"}),
        Domain::Invalid(problems) => {
            let mut map = Map::new();
            for p in problems {
                let entry = map
                    .entry(p.field.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = entry {
                    list.push(Value::from(p.message.as_str()));
                }
            }
            Value::Object(map)
        }
        Domain::Store(s) if s.is_unavailable() => {
            json!({"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"})
        }
        Domain::Store(s) if s.is_bad_input() => {
            json!({"detail": "The request holds a value that cannot be stored.", "code": "invalid"})
        }
        Domain::HashingBusy => json!({"detail": detail, "code": "service_unavailable"}),
        Domain::BadCredentials | Domain::InactiveUserForToken | Domain::Throttled { .. } => {
            json!({"detail": detail})
        }
        _ => json!({"detail": "A server error occurred."}),
    }
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            NotAuthenticated | BadAuthorizationHeader => StatusCode::UNAUTHORIZED,
            Engine(e) => domain_status(e),
            Fields(_) | JsonParse(_) => StatusCode::BAD_REQUEST,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            MethodNotAllowed(..) => StatusCode::METHOD_NOT_ALLOWED,
            NotFound => StatusCode::NOT_FOUND,
            Csrf(_) => StatusCode::FORBIDDEN,
            CredentialConflict | DuplicateCookie(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON body, in Simple JWT's key order (`detail`, `code`, `messages`).
    pub fn body(&self) -> Value {
        match self {
            ApiError::BadAuthorizationHeader => {
                json!({"detail": self.to_string(), "code": "bad_authorization_header"})
            }
            ApiError::Engine(e) => domain_body(e),
            ApiError::Fields(map) => Value::Object(map.clone()),
            _ => json!({"detail": self.to_string()}),
        }
    }

    /// The response, with `challenge` as `WWW-Authenticate` on a 401.
    pub fn into_response_with(self, challenge: &HeaderValue) -> Response {
        let status = self.status();
        match &self {
            ApiError::Engine(Domain::Store(e)) if e.is_bad_input() => {
                tracing::warn!(error = %e, "the database refused a value of a request")
            }
            ApiError::Engine(Domain::Store(e)) => {
                metrics::counter!(DATABASE_ERRORS).increment(1);
                tracing::error!(error = %e, "storage failure")
            }
            ApiError::Engine(e) if status == StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(error = %e, "internal error")
            }
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
        if let ApiError::Engine(Domain::Throttled { retry_after_secs }) = &self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
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

/// `tessera_database_errors_total`: requests answered 503/500 because the database
/// failed or could not be reached (through the `metrics` facade; nothing without a
/// recorder).
pub const DATABASE_ERRORS: &str = "tessera_database_errors_total";
