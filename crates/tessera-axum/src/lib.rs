//! # tessera-axum
//!
//! Simple JWT's HTTP API for axum, over the [`tessera_engine`] flows: the token routes
//! ([`token_router`], relative paths you nest where your API lives), the extractors
//! that protect your own routes ([`Authenticated`], [`OptionalAuthenticated`],
//! [`Stateless`]) and a [`SecurityLayer`], with Simple JWT's exact JSON bodies and status
//! codes, so a front end written for a Django backend works unchanged.
//!
//! **Browser apps.** With `AUTH_COOKIE_MODE = "refresh"` or `"full"` the same routes
//! deliver tokens in HttpOnly cookies, demand CSRF proof (Fetch Metadata or `Origin`,
//! and a double-submit token signed for the session) for every state change a cookie
//! authenticates, and add `token/logout/`, `token/logout/all/` and `token/session/`.
//! Give the app's CORS origins to [`AuthState::with_allowed_origins`] so the CSRF check
//! accepts them. The flows stay the engine's.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use tessera_axum::{AuthState, Authenticated, SecurityLayer};
//! use tessera_core::{KeySet, Settings};
//! use tessera_engine::Tessera;
//! use tessera_store::Store as _;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::from_json(serde_json::json!({"ROTATE_REFRESH_TOKENS": true}))?;
//! let keys = KeySet::hmac(settings.algorithm, b"an-hmac-secret-of-at-least-32-bytes!")?;
//! let store = tessera_store::open("sqlite://./app.sqlite3").await?;
//! store.migrate().await?;
//! let engine = Tessera::builder(settings.clone(), keys, store).build()?;
//! let auth = AuthState::new(engine)?;
//!
//! let app = Router::new()
//!     .route("/api/me/", get(|a: Authenticated| async move { Json(a.user.username.clone()) }))
//!     .nest("/api", tessera_axum::token_router().with_state(auth.clone())) // /api/token/, …
//!     .merge(tessera_axum::well_known_router().with_state(auth.clone()))  // /.well-known/jwks.json
//!     .with_state(auth)
//!     .layer(SecurityLayer::from_settings(&settings));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! // With connect info, login throttling also counts per client address.
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod auth;
mod body;
mod browser;
mod client_ip;
mod cookies;
mod csrf;
mod endpoints;
mod error;
mod header;
mod jwks;
mod layer;
mod routes;
mod state;

pub use auth::{Authenticated, OptionalAuthenticated, Stateless, StatelessFor};
pub use body::{Fields, Validator, json_depth, parse as parse_body};
pub use client_ip::{ClientIp, resolve as resolve_client_ip};
pub use csrf::check_source as check_request_source;
pub use endpoints::{Endpoint, Endpoints, normalize_path};
pub use error::{ApiError, DATABASE_ERRORS, Rejection};
pub use header::{RawToken, raw_token};
pub use layer::{Security, SecurityLayer};
pub mod openapi;
pub use routes::{
    allow_header, blacklist_all_route, blacklist_route, jwks_route, logout_all_route, logout_route,
    obtain_pair_route, obtain_sliding_route, options_metadata, pair_check_route, refresh_route,
    refresh_sliding_route, session_route, token_router, token_router_with, verify_route,
    well_known_router, with_and_without_slash,
};
pub use state::{AuthState, HttpConfig};
pub use tessera_engine::Tessera;
