//! The client's address, for login throttling.
//!
//! The TCP peer is the client unless it is one of `TRUSTED_PROXIES`; then the
//! `X-Forwarded-For` chain is read from the right, skipping trusted proxies, and the
//! first untrusted address is the client. A client cannot spoof its address by sending
//! `X-Forwarded-For` itself: from an untrusted peer the header is ignored.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::state::HttpConfig;

/// The client address as best known (`None` when the server runs without connection
/// info, e.g. in `oneshot` tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// Resolves the client address from the peer and the `X-Forwarded-For` values.
pub fn resolve(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let chain: Vec<IpAddr> = forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    chain
        .iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .copied()
        .or(Some(peer))
}

impl<S> FromRequestParts<S> for ClientIp
where
    HttpConfig: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let http = HttpConfig::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if peer.is_none() && http.per_ip_throttling() {
            warn_once_without_peer();
        }
        Ok(ClientIp(resolve(peer, &forwarded, http.trusted_proxies())))
    }
}

/// Says once per process that logins cannot be throttled per address: the app is served
/// without connection info (plain `axum::serve(listener, app)`), so the peer is unknown.
fn warn_once_without_peer() {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            "LOGIN_FAILURES_PER_IP is set but the client address is unknown: serve the app with \
             `into_make_service_with_connect_info::<SocketAddr>()` to throttle per address \
             (per-username throttling works either way)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        assert_eq!(
            resolve(Some(ip("1.2.3.4")), &["9.9.9.9"], &[proxy]),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            resolve(Some(proxy), &["9.9.9.9, 5.6.7.8"], &[proxy]),
            Some(ip("5.6.7.8"))
        );
        assert_eq!(
            resolve(Some(proxy), &["5.6.7.8, 10.0.0.1"], &[proxy]),
            Some(ip("5.6.7.8"))
        );
        assert_eq!(resolve(Some(proxy), &["garbage"], &[proxy]), Some(proxy));
        assert_eq!(resolve(None, &[], &[]), None);
    }
}
