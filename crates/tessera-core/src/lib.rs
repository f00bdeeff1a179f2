//! # tessera-core
//!
//! The parts of Tessera that need no I/O: Simple JWT-compatible tokens and claims,
//! settings with Simple JWT's names and defaults, pinned signing keys, and Django's
//! password hash formats. No tokio, no sqlx, no axum: another framework can use this
//! crate alone.
//!
//! ```
//! use std::sync::Arc;
//! use tessera_core::{KeySet, ManualClock, OsRandom, Settings, TokenKind, TokenService};
//!
//! let settings = Settings::default();
//! let keys = KeySet::hmac(settings.algorithm, b"an-hmac-secret-of-at-least-32-bytes!").unwrap();
//! let clock = ManualClock::at_secs(1_800_000_000);
//! let tokens = TokenService::new(&settings, keys, Arc::new(clock.clone()), Arc::new(OsRandom));
//!
//! let refresh = tokens.for_user(TokenKind::Refresh, "42");
//! let access = tokens.encode(&tokens.access_from_refresh(&refresh)).unwrap();
//! let claims = tokens.validate(&access, Some(TokenKind::Access)).unwrap();
//! assert_eq!(claims["user_id"], "42");
//!
//! clock.advance_secs(301);
//! assert_eq!(tokens.validate(&access, None).unwrap_err().to_string(), "Token is expired");
//! ```
#![deny(missing_docs)]

pub mod claims;
pub mod clock;
pub mod dangerous;
pub mod django_id;
pub mod error;
pub mod json;
mod jws;
pub mod keys;
pub mod password;
pub mod settings;
pub mod token;
mod token_cache;
pub mod user;
pub mod username;

pub use clock::{Clock, ManualClock, OsRandom, Random, SystemClock};
pub use django_id::DjangoId;
pub use error::{Error, Result};
pub use keys::{Algorithm, Key, KeyLookup, KeySet};
pub use password::PasswordHasher;
pub use settings::{
    CookieMode, CookieNames, HasherKind, PairCheckCodes, SameSite, Secret, Settings,
};
pub use token::{Claims, TokenKind, TokenService};
pub use user::{AuthUser, ClaimsHook, FieldClaims, TokenUser, User, UserId};
