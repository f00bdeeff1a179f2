//! Where each token endpoint lives, or that it is off: a project's own URL layout
//! (`auth/login/` instead of `token/`, no sliding tokens, …) without writing a router.
//!
//! ```
//! use tessera_axum::{Endpoint, Endpoints};
//! let mut e = Endpoints::default();
//! e.set(Endpoint::ObtainPair, Some("auth/login/")).unwrap();
//! e.set(Endpoint::ObtainSliding, None).unwrap();
//! assert_eq!(e.path(Endpoint::ObtainPair), Some("/auth/login/"));
//! assert_eq!(e.path(Endpoint::Refresh), Some("/token/refresh/"));
//! assert!(e.set(Endpoint::Verify, Some("token/ refresh")).is_err());
//! ```

use std::collections::BTreeMap;

/// One of the token endpoints of [`crate::token_router`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// `token/`: Simple JWT's `TokenObtainPairView`.
    ObtainPair,
    /// `token/refresh/`.
    Refresh,
    /// `token/verify/`.
    Verify,
    /// `token/blacklist/` (logout).
    Blacklist,
    /// `token/blacklist/all/` (logout everywhere).
    BlacklistAll,
    /// `token/sliding/`.
    ObtainSliding,
    /// `token/sliding/refresh/`.
    RefreshSliding,
    /// `token/valid/`: the access/refresh pair check.
    PairCheck,
    /// `token/jwks/`.
    Jwks,
    /// `token/logout/`: cookie modes' logout (idempotent; clears the cookies).
    Logout,
    /// `token/logout/all/`: cookie modes' logout everywhere.
    LogoutAll,
    /// `token/session/`: cookie modes' page-load session check.
    Session,
}

impl Endpoint {
    /// Every endpoint, in the router's order.
    pub const ALL: [Endpoint; 12] = [
        Endpoint::ObtainPair,
        Endpoint::Refresh,
        Endpoint::Verify,
        Endpoint::Blacklist,
        Endpoint::BlacklistAll,
        Endpoint::ObtainSliding,
        Endpoint::RefreshSliding,
        Endpoint::PairCheck,
        Endpoint::Jwks,
        Endpoint::Logout,
        Endpoint::LogoutAll,
        Endpoint::Session,
    ];

    /// The name settings use (`ENDPOINTS = { obtain_pair = "auth/login/" }`).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::ObtainPair => "obtain_pair",
            Endpoint::Refresh => "refresh",
            Endpoint::Verify => "verify",
            Endpoint::Blacklist => "blacklist",
            Endpoint::BlacklistAll => "blacklist_all",
            Endpoint::ObtainSliding => "obtain_sliding",
            Endpoint::RefreshSliding => "refresh_sliding",
            Endpoint::PairCheck => "pair_check",
            Endpoint::Jwks => "jwks",
            Endpoint::Logout => "logout",
            Endpoint::LogoutAll => "logout_all",
            Endpoint::Session => "session",
        }
    }

    /// The endpoint a setting's name names.
    pub fn from_name(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Simple JWT's path, relative to where the API is nested.
    pub fn default_path(self) -> &'static str {
        match self {
            Endpoint::ObtainPair => "/token/",
            Endpoint::Refresh => "/token/refresh/",
            Endpoint::Verify => "/token/verify/",
            Endpoint::Blacklist => "/token/blacklist/",
            Endpoint::BlacklistAll => "/token/blacklist/all/",
            Endpoint::ObtainSliding => "/token/sliding/",
            Endpoint::RefreshSliding => "/token/sliding/refresh/",
            Endpoint::PairCheck => "/token/valid/",
            Endpoint::Jwks => "/token/jwks/",
            Endpoint::Logout => "/token/logout/",
            Endpoint::LogoutAll => "/token/logout/all/",
            Endpoint::Session => "/token/session/",
        }
    }

    /// Whether the endpoint exists only in the cookie modes (`AUTH_COOKIE_MODE`).
    pub fn is_browser_only(self) -> bool {
        matches!(
            self,
            Endpoint::Logout | Endpoint::LogoutAll | Endpoint::Session
        )
    }
}

/// The path of every endpoint, `None` where it is switched off. [`Default`] is Simple
/// JWT's layout with everything on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    paths: BTreeMap<Endpoint, Option<String>>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            paths: Endpoint::ALL
                .into_iter()
                .map(|e| (e, Some(e.default_path().to_owned())))
                .collect(),
        }
    }
}

impl Endpoints {
    /// Moves `endpoint` to `path` (relative to where the API is nested, slashes
    /// optional: `auth/login` serves `/auth/login/` and `/auth/login`), or switches it
    /// off with `None`. Refuses a path that is not plain URL segments (a configuration
    /// error of the `ENDPOINTS` setting).
    pub fn set(
        &mut self,
        endpoint: Endpoint,
        path: Option<&str>,
    ) -> Result<(), tessera_core::Error> {
        let Some(path) = path else {
            self.paths.insert(endpoint, None);
            return Ok(());
        };
        let normal = normalize_path(endpoint.name(), path)?;
        self.paths.insert(endpoint, Some(normal));
        Ok(())
    }

    /// Refuses two endpoints at one path (after every [`Endpoints::set`]: moving two
    /// endpoints onto each other's paths is fine).
    pub fn check_distinct(&self) -> Result<(), tessera_core::Error> {
        let mut seen = BTreeMap::new();
        for (endpoint, path) in self.enabled() {
            if let Some(other) = seen.insert(path, endpoint) {
                return Err(tessera_core::Error::config(
                    "ENDPOINTS",
                    format!(
                        "{} and {} are both at {path}",
                        endpoint.name(),
                        other.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The path of `endpoint` (with its leading and trailing slash), `None` when off.
    pub fn path(&self, endpoint: Endpoint) -> Option<&str> {
        self.paths.get(&endpoint).and_then(|p| p.as_deref())
    }

    /// The endpoints that are on, with their paths.
    pub fn enabled(&self) -> impl Iterator<Item = (Endpoint, &str)> {
        self.paths
            .iter()
            .filter_map(|(e, p)| p.as_deref().map(|p| (*e, p)))
    }
}

/// `path` as a route path (`/a/b/`): plain URL segments, slashes optional. `name` (the
/// endpoint's) is for the error, a configuration error of `ENDPOINTS`.
pub fn normalize_path(name: &str, path: &str) -> Result<String, tessera_core::Error> {
    let trimmed = path.trim_matches('/');
    let ok_segment = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
    };
    if trimmed.is_empty() || !trimmed.split('/').all(ok_segment) {
        return Err(tessera_core::Error::config(
            "ENDPOINTS",
            format!(
                "{name}: {path:?} is not a path like \"token/refresh/\" (letters, digits, -_.~ and /)"
            ),
        ));
    }
    Ok(format!("/{trimmed}/"))
}
