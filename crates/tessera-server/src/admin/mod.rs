//! The admin page (`/admin/`): users, their sessions, tokens, signing keys and the audit log, for
//! staff, in server-rendered HTML (askama templates, checked at compile time) that works
//! without JavaScript.
//!
//! Every action is an engine or store call the CLI and the API share (ending a session
//! is the engine's [`end_session`](tessera_engine::Tessera::end_session), a password
//! change its `set_password`), so it behaves the same from every way in. Every action
//! is written to the audit log and as a `tessera::security` log line.
//!
//! Security: staff sign in with the API's login flow (same hashing, throttling and
//! inactive-user rules); the admin session lives server-side (the cookie holds a random
//! secret, the database its SHA-256), with idle and absolute timeouts; every form
//! carries the session's CSRF token and passes the Fetch Metadata / `Origin` check;
//! pages are `no-store` with a Content Security Policy that allows no script at all.

mod audit;
mod keys;
mod pages;
mod session;
mod tokens;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tessera_axum::AuthState;
use tessera_store::Store;

pub use audit::AuditLog;

use crate::config::Config;

/// What the admin page's handlers share.
#[derive(Clone)]
pub struct AdminState {
    auth: AuthState,
    store: Arc<dyn Store>,
    audit: AuditLog,
    /// Where the signing keys come from (`None`: an app built without `tessera serve`'s
    /// key source; the keys page then only lists the keys in use).
    keys: Option<crate::key_source::KeySource>,
    config: Arc<Config>,
    inner: Arc<Settings>,
}

/// The admin page's settings, read once.
#[derive(Debug)]
struct Settings {
    /// `/admin` (no trailing slash).
    base: String,
    cookie_name: String,
    secure: bool,
    idle_micros: i64,
    lifetime_micros: i64,
    allowed_origins: Vec<String>,
}

impl AdminState {
    /// The absolute path of an admin page (`rel` without a leading slash).
    fn url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.inner.base)
    }

    fn now(&self) -> i64 {
        self.auth.clock().now_micros()
    }
}

/// The admin router at `ADMIN_PATH`, state applied.
pub fn router<S: Clone + Send + Sync + 'static>(
    config: &Config,
    auth: AuthState,
    store: Arc<dyn Store>,
    audit: AuditLog,
    keys: Option<crate::key_source::KeySource>,
) -> Router<S> {
    let base = format!("/{}", config.server.admin_path.trim_matches('/'));
    let secure = config.settings.auth_cookie_secure;
    let state = AdminState {
        auth,
        store,
        audit,
        keys,
        config: Arc::new(config.clone()),
        inner: Arc::new(Settings {
            cookie_name: if secure {
                "__Host-tessera_admin".into()
            } else {
                "tessera_admin".into()
            },
            secure,
            idle_micros: i64::try_from(config.server.admin_idle_timeout).unwrap_or(1800)
                * 1_000_000,
            lifetime_micros: i64::try_from(config.server.admin_session_lifetime).unwrap_or(43_200)
                * 1_000_000,
            allowed_origins: config.server.cors_allowed_origins.clone(),
            base: base.clone(),
        }),
    };
    let home = format!("{base}/users/");
    let pages = Router::new()
        .route(
            "/",
            get(move || {
                let home = home.clone();
                async move { Redirect::to(&home) }
            }),
        )
        .route("/admin.css", get(stylesheet))
        .route("/login/", get(session::login_page).post(session::sign_in))
        .route("/logout/", post(session::sign_out))
        .route("/users/", get(users::list))
        .route("/users/new/", get(users::new_page).post(users::create))
        .route("/users/{id}/", get(users::detail).post(users::edit))
        .route("/users/{id}/password/", post(users::set_password))
        .route("/users/{id}/delete/", post(users::delete))
        .route(
            "/users/{id}/sessions/end-all/",
            post(users::end_all_sessions),
        )
        .route(
            "/users/{id}/sessions/{session}/end/",
            post(users::end_session),
        )
        .route("/tokens/", get(tokens::list))
        .route("/tokens/blacklist/", post(tokens::blacklist))
        .route("/tokens/{id}/blacklist/", post(tokens::blacklist_one))
        .route("/tokens/{id}/unblacklist/", post(tokens::unblacklist))
        .route(
            "/tokens/flush/",
            get(tokens::flush_page).post(tokens::flush),
        )
        .route("/keys/", get(keys::list))
        .route("/keys/generate/", post(keys::generate))
        .route("/keys/rotate/", post(keys::rotate))
        .route("/keys/{kid}/retire/", post(keys::retire))
        .route("/audit/", get(audit::list))
        .fallback(|| async { pages::not_found() })
        .with_state(state);
    let redirect_base = format!("{base}/");
    Router::new()
        .route(
            &base,
            get(move || {
                let to = redirect_base.clone();
                async move { Redirect::permanent(&to) }
            }),
        )
        .nest(&format!("{base}/"), pages)
}

/// The stylesheet (the only other file the pages load).
async fn stylesheet() -> Response {
    let mut r = (
        StatusCode::OK,
        include_str!("../../templates/admin/admin.css"),
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

/// A time (microseconds) as staff read it: `2026-12-06 18:30:05 UTC`.
fn when(micros: i64) -> String {
    let text = tessera_core::clock::django_datetime(micros);
    format!("{} UTC", text.get(..19).unwrap_or(&text))
}

/// [`when`] for an optional time, `—` without one.
fn when_opt(micros: Option<i64>) -> String {
    micros.map_or_else(|| "\u{2014}".to_owned(), when)
}
