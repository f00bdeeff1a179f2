//! [`AuthState`]: the engine plus what HTTP needs of the settings, shared by every route
//! and extractor.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tessera_engine::Tessera;

use crate::error::{ApiError, Rejection};

/// The state Tessera's routes and extractors read: the [`Tessera`] engine (reachable
/// through `Deref`), the credentials header and the `WWW-Authenticate` challenge.
/// Cheap to clone.
///
/// Mount it in any axum app whose state `S` can give one (`AuthState: FromRef<S>`,
/// true for `AuthState` itself).
#[derive(Clone, Debug)]
pub struct AuthState {
    engine: Tessera,
    http: Arc<Http>,
}

#[derive(Debug)]
struct Http {
    header_name: HeaderName,
    challenge: HeaderValue,
    trusted_proxies: Vec<IpAddr>,
}

impl AuthState {
    /// Wraps an engine; fails on header settings HTTP cannot carry.
    pub fn new(engine: Tessera) -> Result<AuthState, tessera_core::Error> {
        let s = engine.settings();
        let header = s.auth_header()?;
        let header_name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
            tessera_core::Error::config("AUTH_HEADER_NAME", "not a valid header name")
        })?;
        let scheme = s.auth_header_types.first().map_or("Bearer", String::as_str);
        let challenge = HeaderValue::from_str(&format!("{scheme} realm=\"api\""))
            .map_err(|_| tessera_core::Error::config("AUTH_HEADER_TYPES", "not a valid scheme"))?;
        let trusted_proxies = s
            .trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        Ok(AuthState {
            engine,
            http: Arc::new(Http {
                header_name,
                challenge,
                trusted_proxies,
            }),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Tessera {
        &self.engine
    }
    /// The header credentials are read from (`AUTH_HEADER_NAME`).
    pub fn header_name(&self) -> &HeaderName {
        &self.http.header_name
    }
    /// `WWW-Authenticate` for 401s: `<AUTH_HEADER_TYPES[0]> realm="api"`.
    pub fn challenge(&self) -> &HeaderValue {
        &self.http.challenge
    }
    /// `TRUSTED_PROXIES`, parsed once.
    pub fn trusted_proxies(&self) -> &[IpAddr] {
        &self.http.trusted_proxies
    }
    /// Wraps an error with this configuration's challenge.
    pub fn reject(&self, error: impl Into<ApiError>) -> Rejection {
        Rejection {
            error: error.into(),
            challenge: self.http.challenge.clone(),
        }
    }

    /// The bearer token of a request, if any: `Ok(None)` for anonymous requests.
    pub fn bearer<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h [u8]>, ApiError> {
        let mut values = headers.get_all(self.header_name()).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        // Two credentials headers are ambiguous; refuse rather than guess which counts.
        if values.next().is_some() {
            return Err(ApiError::BadAuthorizationHeader);
        }
        match crate::auth::raw_token(value.as_bytes(), &self.settings().auth_header_types) {
            crate::auth::RawToken::Absent => Ok(None),
            crate::auth::RawToken::Malformed => Err(ApiError::BadAuthorizationHeader),
            crate::auth::RawToken::Token(t) => Ok(Some(t)),
        }
    }
}

impl std::ops::Deref for AuthState {
    type Target = Tessera;
    fn deref(&self) -> &Tessera {
        &self.engine
    }
}
