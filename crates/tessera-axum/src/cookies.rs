//! The cookie modes' transport (`AUTH_COOKIE_MODE`): reading Tessera's cookies off a
//! request and writing them on a response. Which flow runs stays the engine's business;
//! this module only moves tokens between cookies and the flows.
//!
//! Every cookie is `Path=/` with no `Domain` (what a `__Host-` name requires, and what
//! keeps a sibling subdomain from reading or shadowing it), `Secure` unless
//! `AUTH_COOKIE_SECURE` is off. The refresh and access cookies are `HttpOnly`; the CSRF
//! cookie is readable by scripts, which is its purpose.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use tessera_core::{CookieMode, CookieNames, SameSite, Settings};

use crate::error::ApiError;

/// The cookie settings, read once.
#[derive(Debug, Clone)]
pub(crate) struct CookieConfig {
    pub(crate) mode: CookieMode,
    pub(crate) names: CookieNames,
    secure: bool,
    samesite: SameSite,
    access_samesite: SameSite,
    pub(crate) csrf_header: HeaderName,
}

/// Tessera's cookies as one request carries them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Jar {
    pub(crate) refresh: Option<String>,
    pub(crate) access: Option<String>,
    pub(crate) csrf: Option<String>,
}

impl CookieConfig {
    pub(crate) fn from_settings(s: &Settings) -> Result<CookieConfig, tessera_core::Error> {
        let header = s.csrf_header()?;
        let csrf_header = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
            tessera_core::Error::config("CSRF_HEADER_NAME", "not a valid header name")
        })?;
        Ok(CookieConfig {
            mode: s.auth_cookie_mode,
            names: s.cookie_names(),
            secure: s.auth_cookie_secure,
            samesite: s.auth_cookie_samesite,
            access_samesite: s.auth_cookie_access_samesite,
            csrf_header,
        })
    }

    /// Whether a cookie mode is on.
    pub(crate) fn enabled(&self) -> bool {
        self.mode != CookieMode::Off
    }

    /// Tessera's cookies in `headers` (every `Cookie` header, as HTTP/2 splits them).
    /// A name sent twice is refused: two values for one credential are ambiguous, and
    /// a second one is what a cookie-tossing attack from a sibling subdomain plants.
    pub(crate) fn read(&self, headers: &HeaderMap) -> Result<Jar, ApiError> {
        let mut jar = Jar::default();
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else {
                continue;
            };
            for pair in text.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                let slot = if name == self.names.refresh {
                    &mut jar.refresh
                } else if name == self.names.access {
                    &mut jar.access
                } else if name == self.names.csrf {
                    &mut jar.csrf
                } else {
                    continue;
                };
                if slot.is_some() {
                    return Err(ApiError::DuplicateCookie(name.to_owned()));
                }
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                *slot = Some(value.to_owned());
            }
        }
        Ok(jar)
    }

    /// `Set-Cookie` for the refresh token, living as long as the token.
    pub(crate) fn set_refresh(&self, headers: &mut HeaderMap, token: &str, max_age: i64) {
        let c = self.cookie(&self.names.refresh, token, max_age, true, self.samesite);
        append(headers, c);
    }

    /// `Set-Cookie` for the access token (`full` mode).
    pub(crate) fn set_access(&self, headers: &mut HeaderMap, token: &str, max_age: i64) {
        let c = self.cookie(
            &self.names.access,
            token,
            max_age,
            true,
            self.access_samesite,
        );
        append(headers, c);
    }

    /// `Set-Cookie` for the CSRF token, readable by scripts.
    pub(crate) fn set_csrf(&self, headers: &mut HeaderMap, token: &str, max_age: i64) {
        let c = self.cookie(&self.names.csrf, token, max_age, false, self.samesite);
        append(headers, c);
    }

    /// Expires every Tessera cookie. Each removal repeats the attributes the cookie was
    /// set with: a browser ignores a `__Host-` cookie without `Secure` and `Path=/`.
    pub(crate) fn clear_all(&self, headers: &mut HeaderMap) {
        for (name, http_only, samesite) in [
            (&self.names.refresh, true, self.samesite),
            (&self.names.access, true, self.access_samesite),
            (&self.names.csrf, false, self.samesite),
        ] {
            append(headers, self.cookie(name, "", 0, http_only, samesite));
        }
    }

    fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age: i64,
        http_only: bool,
        samesite: SameSite,
    ) -> String {
        let mut c = format!("{name}={value}; Path=/; Max-Age={}", max_age.max(0));
        if http_only {
            c.push_str("; HttpOnly");
        }
        if self.secure {
            c.push_str("; Secure");
        }
        c.push_str("; SameSite=");
        c.push_str(samesite.as_str());
        c
    }
}

fn append(headers: &mut HeaderMap, cookie: String) {
    // Tokens and CSRF values are base64url and dots: always a valid header value.
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> CookieConfig {
        CookieConfig::from_settings(&Settings::from_json(json).unwrap()).unwrap()
    }

    #[test]
    fn cookies_are_secure_by_default() {
        let c = config(serde_json::json!({"AUTH_COOKIE_MODE": "refresh"}));
        let mut h = HeaderMap::new();
        c.set_refresh(&mut h, "r.t.s", 86_400);
        c.set_access(&mut h, "a.t.s", 300);
        c.set_csrf(&mut h, "n.sig", 86_400);
        let set: Vec<&str> = h
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            set,
            [
                "__Host-tessera_refresh=r.t.s; Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Strict",
                "__Host-tessera_access=a.t.s; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Lax",
                "__Host-tessera_csrf=n.sig; Path=/; Max-Age=86400; Secure; SameSite=Strict",
            ]
        );
        let dev = config(serde_json::json!({"AUTH_COOKIE_SECURE": false}));
        let mut h = HeaderMap::new();
        dev.clear_all(&mut h);
        assert_eq!(
            h.get(header::SET_COOKIE).unwrap(),
            "tessera_refresh=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn a_cookie_sent_twice_is_refused() {
        let c = config(serde_json::json!({"AUTH_COOKIE_MODE": "full"}));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("other=1; __Host-tessera_refresh=\"abc\""),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-tessera_csrf=x"),
        );
        let jar = c.read(&h).unwrap();
        assert_eq!(jar.refresh.as_deref(), Some("abc"));
        assert_eq!(jar.csrf.as_deref(), Some("x"));
        assert_eq!(jar.access, None);
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-tessera_refresh=def"),
        );
        assert!(matches!(c.read(&h), Err(ApiError::DuplicateCookie(_))));
    }
}
