//! One access-log line per request, with a request id: the client's `X-Request-Id` when
//! it sends a usable one (a proxy's, so lines can be followed across services), a new
//! random one otherwise, echoed in the response's `X-Request-Id`. The line holds the
//! method, the path without its query, the status, the time taken and the client
//! address; never a header, a body or a query string, so never a token or a password.

use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// `X-Request-Id`.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id to use: the client's if it is 1 to 128 visible ASCII characters (no
/// spaces or quotes, which would garble a log line), else a new one.
fn request_id(req: &Request) -> HeaderValue {
    req.headers()
        .get(&REQUEST_ID)
        .filter(|v| {
            let b = v.as_bytes();
            (1..=128).contains(&b.len())
                && b.iter()
                    .all(|c| c.is_ascii_graphic() && *c != b'"' && *c != b'\\')
        })
        .cloned()
        .unwrap_or_else(|| {
            let id = tessera_core::clock::new_jti(&tessera_core::OsRandom);
            // 32 hex digits: always a valid header value.
            HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("-"))
        })
}

/// The middleware (`axum::middleware::from_fn(access_log)`), installed by
/// [`crate::app::build`] only when the `tessera::access` target is enabled.
pub async fn access_log(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let client = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    // Lines written while the request runs (security events) carry its id too.
    let span = tracing::info_span!(
        target: "tessera::access",
        "request",
        request_id = id.to_str().unwrap_or("-"),
        client = client.as_deref().unwrap_or("-"),
    );
    let mut resp = next.run(req).instrument(span).await;
    resp.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    tracing::info!(
        target: "tessera::access",
        request_id = id.to_str().unwrap_or("-"),
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        client = client.as_deref().unwrap_or("-"),
        "request"
    );
    resp
}
