//! # tessera-axum
//!
//! Simple JWT's HTTP API for axum: the token routes ([`token_router`]) and the
//! extractors that protect your own routes ([`Authenticated`], [`Stateless`]), with
//! Simple JWT's exact JSON bodies and status codes, so a front end written for a Django
//! backend works unchanged.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Json, Router, routing::get};
//! use tessera_axum::{Authenticated, Tessera};
//! use tessera_core::{KeySet, Settings};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::from_json(serde_json::json!({"ROTATE_REFRESH_TOKENS": true}))?;
//! let keys = KeySet::hmac(settings.algorithm, b"an-hmac-secret-of-at-least-32-bytes!")?;
//! let store = tessera_store::open("sqlite://./app.sqlite3").await?;
//! store.migrate().await?;
//! let tessera = Tessera::builder(settings, keys, store).build()?;
//!
//! let app = Router::new()
//!     .route("/api/me/", get(|a: Authenticated| async move { Json(a.user.username.clone()) }))
//!     .merge(tessera_axum::token_router())
//!     .with_state(tessera);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod body;
pub mod client_ip;
pub mod error;
pub mod hash_pool;
pub mod jwks;
pub mod revocation;
pub mod routes;
pub mod state;

pub use auth::{Authenticated, Stateless};
pub use body::{Fields, Validator};
pub use error::{ApiError, Rejection};
pub use routes::{allow_header, options_metadata, token_router, with_and_without_slash};
pub use state::{Tessera, TesseraBuilder};
