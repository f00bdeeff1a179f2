//! The demo single-page app (`tessera serve --demo`): three static files embedded in
//! the binary, served at `/demo/` with a strict Content Security Policy. It is the
//! front end the browser tests drive, and a working example of the cookie modes.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::config::Config;

const INDEX: &str = include_str!("../demo-app/index.html");
const APP_JS: &str = include_str!("../demo-app/app.js");
const STYLE_CSS: &str = include_str!("../demo-app/style.css");

/// Scripts and styles from the page's own origin only, no inline code, no framing;
/// `connect-src` names where the API is.
fn content_security_policy(api_origin: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self' {api_origin}; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'"
    )
    .trim_end()
    .to_owned()
}

/// `index.html` for an API at `api_base` (`/api/`, or `https://api.example.com/api/`
/// for an app served from another origin).
pub fn index_html(api_base: &str) -> String {
    let escaped = api_base
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    INDEX.replace("{{API}}", &escaped)
}

/// The other files by name (`app.js`, `style.css`): content type and text.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        "style.css" => Some(("text/css; charset=utf-8", STYLE_CSS)),
        _ => None,
    }
}

/// A page or file with the demo's headers. `api_origin` is the API's origin when it is
/// not the page's own (empty otherwise).
pub fn respond(content_type: &'static str, body: String, api_origin: &str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(api_origin)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    resp
}

/// `/demo/` (and `/demo` redirecting to it), `/demo/app.js`, `/demo/style.css`; the
/// page calls the API at `API_PREFIX` on the same origin.
pub fn router<S: Clone + Send + Sync + 'static>(config: &Config) -> Router<S> {
    let prefix = format!("/{}/", config.server.api_prefix.trim_matches('/'));
    let page = index_html(&prefix);
    Router::new()
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route(
            "/demo/",
            get(move || {
                let page = page.clone();
                async move { respond("text/html; charset=utf-8", page, "") }
            }),
        )
        .route(
            "/demo/{file}",
            get(
                |axum::extract::Path(file): axum::extract::Path<String>| async move {
                    match asset(&file) {
                        Some((ct, body)) => respond(ct, body.to_owned(), ""),
                        None => tessera_axum::ApiError::NotFound.into_response(),
                    }
                },
            ),
        )
}
