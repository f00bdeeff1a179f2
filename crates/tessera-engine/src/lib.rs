//! # tessera-engine
//!
//! Every flow of Tessera, with no web framework: log in and obtain a token pair or a
//! sliding token, refresh (with exactly-once rotation and reuse detection), verify,
//! log out (one session or all), check a pair, change a password, revoke a user, issue
//! a pair for a user you vouch for, and authenticate a raw bearer token to a user.
//! Password hashing (on low-priority threads, bounded), login throttling, the
//! verified-token cache and the revocation set come with it.
//!
//! Errors say *what* went wrong ([`Error`]); turning them into HTTP answers is the web
//! layer's job (`tessera-axum` answers exactly as Simple JWT does).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tessera_core::{KeySet, Settings};
//! use tessera_engine::{ClientInfo, Error, Tessera};
//! use tessera_store::{NewUser, Store as _};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = tessera_store::open(&format!("sqlite://{}/db.sqlite3", dir.path().display()))
//!     .await
//!     .unwrap();
//! store.migrate().await.unwrap();
//! let settings = Settings::default();
//! let keys = KeySet::hmac(settings.algorithm, b"an-hmac-secret-of-at-least-32-bytes!").unwrap();
//! let tessera = Tessera::builder(settings, keys, store.clone()).build().unwrap();
//!
//! let hash = tessera.hash_password("correct-horse-9".into()).await.unwrap();
//! store.create_user(&NewUser::new("erin", &hash, 0)).await.unwrap();
//!
//! let client = ClientInfo::default();
//! let pair = tessera.obtain_pair("erin", "correct-horse-9", &client).await.unwrap();
//! let me = tessera.authenticate(pair.access.as_bytes()).await.unwrap();
//! assert_eq!(me.user.username, "erin");
//!
//! tessera.blacklist(&pair.refresh).await.unwrap(); // logout
//! let refused = tessera.refresh(&pair.refresh).await.unwrap_err();
//! assert!(matches!(refused, Error::Token(tessera_core::Error::Blacklisted)));
//! # });
//! ```
#![deny(missing_docs)]

mod authenticate;
mod browser;
mod engine;
mod error;
mod hash_pool;
mod issue;
mod key_sync;
mod keyring;
mod login;
mod logout;
mod passwords;
mod refresh;
#[cfg(feature = "remote-jwks")]
pub mod remote_jwks;
mod revocation;
mod revocation_sync;
mod security;
pub mod telemetry;
mod user_cache;

pub use authenticate::{Identity, StatelessIdentity};
pub use browser::BrowserSession;
pub use engine::{Tessera, TesseraBuilder};
pub use error::{Error, FieldProblem, Result, TokenFailure};
pub use issue::{SESSION_CLAIM, TokenPair};
pub use keyring::{
    ImportedKey, KeyInfo, KeyRing, KeyRingConfig, KeyState, MIN_ENCRYPTION_KEY_LEN, Rotated,
};
pub use login::ClientInfo;
pub use logout::PairCheck;
pub use refresh::Refreshed;
pub use revocation::Revocations;
pub use security::{SecurityEvent, SecurityRecord, SecuritySink};
