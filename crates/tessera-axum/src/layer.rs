//! [`SecurityLayer`]: what every response of an auth API needs, as one tower layer, so an
//! app that mounts Tessera's routes gets it by adding one line.
//!
//! * The request's header block is measured before any handler parses anything, and a
//!   block over `MAX_HEADER_BYTES` is answered 431 (hyper's own cap is far larger than
//!   an auth API needs).
//! * `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Referrer-Policy: same-origin` and `Cross-Origin-Opener-Policy: same-origin` are set
//!   on every response that does not set them itself.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The layer; see the module docs. Build it with [`SecurityLayer::new`] or from the
/// settings with [`SecurityLayer::from_settings`].
#[derive(Debug, Clone, Copy)]
pub struct SecurityLayer {
    max_header_bytes: usize,
}

impl SecurityLayer {
    /// Refuses header blocks over `max_header_bytes` (names, values and separators).
    pub fn new(max_header_bytes: usize) -> Self {
        SecurityLayer { max_header_bytes }
    }
    /// With `MAX_HEADER_BYTES` from the settings.
    pub fn from_settings(settings: &tessera_core::Settings) -> Self {
        Self::new(settings.max_header_bytes)
    }
}

impl<S> tower::Layer<S> for SecurityLayer {
    type Service = Security<S>;
    fn layer(&self, inner: S) -> Security<S> {
        Security {
            inner,
            max_header_bytes: self.max_header_bytes,
        }
    }
}

/// The service [`SecurityLayer`] wraps around an app.
#[derive(Debug, Clone)]
pub struct Security<S> {
    inner: S,
    max_header_bytes: usize,
}

const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
];

fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

impl<S> tower::Service<Request> for Security<S>
where
    S: tower::Service<Request, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let size: usize = req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum();
        if size > self.max_header_bytes {
            let resp = secure(ApiError::HeadersTooLarge.into_response());
            return Box::pin(async move { Ok(resp) });
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map(secure) })
    }
}
