//! [`AuthState`]: the engine plus what HTTP needs of the settings, shared by every route
//! and extractor.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tessera_core::{AuthUser, User};
use tessera_engine::Tessera;

use crate::cookies::CookieConfig;
use crate::error::{ApiError, Rejection};

/// The state Tessera's routes and extractors read: the [`Tessera`] engine (reachable
/// through `Deref`), the credentials header and the `WWW-Authenticate` challenge.
/// Cheap to clone.
///
/// Mount it in any axum app whose state `S` can give one (`AuthState: FromRef<S>`,
/// true for `AuthState` itself).
#[derive(Debug)]
pub struct AuthState<U: AuthUser = User> {
    engine: Tessera<U>,
    http: HttpConfig,
}

impl<U: AuthUser> Clone for AuthState<U> {
    fn clone(&self) -> Self {
        AuthState {
            engine: self.engine.clone(),
            http: self.http.clone(),
        }
    }
}

/// What HTTP needs of the settings, read once: the credentials header, the challenge,
/// body limits and the trusted proxies. A cheap handle; the body and client-address
/// extractors ([`crate::Fields`], [`crate::ClientIp`]) take it from the app's state
/// (`HttpConfig: FromRef<S>`, true for every [`AuthState`]).
#[derive(Debug, Clone)]
pub struct HttpConfig(Arc<Http>);

#[derive(Debug, Clone)]
struct Http {
    cookies: CookieConfig,
    allowed_origins: Vec<String>,
    header_name: HeaderName,
    challenge: HeaderValue,
    trusted_proxies: Vec<IpAddr>,
    max_body_bytes: usize,
    max_json_depth: usize,
    per_ip_throttling: bool,
}

impl HttpConfig {
    /// `MAX_BODY_BYTES`.
    pub fn max_body_bytes(&self) -> usize {
        self.0.max_body_bytes
    }
    /// `MAX_JSON_DEPTH`.
    pub fn max_json_depth(&self) -> usize {
        self.0.max_json_depth
    }
    /// `TRUSTED_PROXIES`, parsed.
    pub fn trusted_proxies(&self) -> &[IpAddr] {
        &self.0.trusted_proxies
    }
    /// Whether logins are throttled per client address (`LOGIN_FAILURES_PER_IP` > 0).
    pub fn per_ip_throttling(&self) -> bool {
        self.0.per_ip_throttling
    }
}

impl<U: AuthUser> axum::extract::FromRef<AuthState<U>> for HttpConfig {
    fn from_ref(s: &AuthState<U>) -> HttpConfig {
        s.http.clone()
    }
}

impl<U: AuthUser> AuthState<U> {
    /// Wraps an engine; fails on header settings HTTP cannot carry.
    pub fn new(engine: Tessera<U>) -> Result<AuthState<U>, tessera_core::Error> {
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
        let http = HttpConfig(Arc::new(Http {
            cookies: CookieConfig::from_settings(s)?,
            allowed_origins: Vec::new(),
            header_name,
            challenge,
            trusted_proxies,
            max_body_bytes: s.max_body_bytes,
            max_json_depth: s.max_json_depth,
            per_ip_throttling: s.login_failures_per_ip > 0,
        }));
        Ok(AuthState { engine, http })
    }

    /// The origins (`https://app.example.com`) whose pages may use the cookie modes
    /// besides the API's own: the CSRF check accepts their `Origin`. Give the same list
    /// as the app's CORS layer.
    pub fn with_allowed_origins(mut self, origins: impl IntoIterator<Item = String>) -> Self {
        let mut http = (*self.http.0).clone();
        http.allowed_origins = origins
            .into_iter()
            .map(|o| o.trim_end_matches('/').to_owned())
            .collect();
        self.http = HttpConfig(Arc::new(http));
        self
    }

    /// The origins given to [`AuthState::with_allowed_origins`].
    pub fn allowed_origins(&self) -> &[String] {
        &self.http.0.allowed_origins
    }

    /// The cookie settings.
    pub(crate) fn cookies(&self) -> &CookieConfig {
        &self.http.0.cookies
    }

    /// The engine.
    pub fn engine(&self) -> &Tessera<U> {
        &self.engine
    }
    /// The header credentials are read from (`AUTH_HEADER_NAME`).
    pub fn header_name(&self) -> &HeaderName {
        &self.http.0.header_name
    }
    /// `WWW-Authenticate` for 401s: `<AUTH_HEADER_TYPES[0]> realm="api"`.
    pub fn challenge(&self) -> &HeaderValue {
        &self.http.0.challenge
    }
    /// What HTTP needs of the settings.
    pub fn http(&self) -> &HttpConfig {
        &self.http
    }
    /// Wraps an error with this configuration's challenge.
    pub fn reject(&self, error: impl Into<ApiError>) -> Rejection {
        Rejection {
            error: error.into(),
            challenge: self.http.0.challenge.clone(),
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
        match crate::header::raw_token(value.as_bytes(), &self.settings().auth_header_types) {
            crate::header::RawToken::Absent => Ok(None),
            crate::header::RawToken::Malformed => Err(ApiError::BadAuthorizationHeader),
            crate::header::RawToken::Token(t) => Ok(Some(t)),
        }
    }
}

/// A request's credential: the header's bytes, or (`full` cookie mode) the access
/// cookie with the rest of Tessera's cookies, which CSRF proof needs.
pub(crate) enum Credential<'h> {
    Header(&'h [u8]),
    Cookie(String, crate::cookies::Jar),
}

impl<U: AuthUser> AuthState<U> {
    /// The credential of a request, if any. Outside `full` mode only the header counts
    /// (and no cookie is parsed: bearer requests pay nothing for the cookie modes).
    pub(crate) fn credential<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<Option<Credential<'h>>, ApiError> {
        let bearer = self.bearer(headers)?;
        if self.cookies().mode != tessera_core::CookieMode::Full {
            return Ok(bearer.map(Credential::Header));
        }
        let mut jar = self.cookies().read(headers)?;
        match (bearer, jar.access.take()) {
            (Some(_), Some(_)) => Err(ApiError::CredentialConflict),
            (Some(raw), None) => Ok(Some(Credential::Header(raw))),
            (None, Some(cookie)) => Ok(Some(Credential::Cookie(cookie, jar))),
            (None, None) => Ok(None),
        }
    }
}

impl<U: AuthUser> std::ops::Deref for AuthState<U> {
    type Target = Tessera<U>;
    fn deref(&self) -> &Tessera<U> {
        &self.engine
    }
}
