//! JWKS: publishing this server's public keys (consuming a remote set is the engine's,
//! `tessera_engine::remote_jwks`).
//!
//! Publishing (`GET /api/token/jwks/`, `/.well-known/jwks.json`) lets an API gateway or
//! another service verify Tessera's tokens without sharing a secret. Only public keys of
//! key pairs are served; an HMAC secret never is.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AuthState;

/// `GET /api/token/jwks/`: the public keys, cacheable for five minutes, with an `ETag`.
pub(crate) async fn serve_jwks<U: tessera_core::AuthUser>(
    State(t): State<AuthState<U>>,
    headers: HeaderMap,
) -> Response {
    let body = t.tokens().keys().jwks().to_string();
    let etag = format!(
        "\"{}\"",
        &tessera_core::clock::hex(&aws_lc_rs_digest(body.as_bytes()))[..32]
    );
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim() == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

fn aws_lc_rs_digest(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}
