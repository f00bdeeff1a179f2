//! # tessera-server
//!
//! The `tessera` binary: configuration loading, the CLI commands and the HTTP
//! application (`serve`). The library half exists so integration tests can build the
//! same application in-process.
//!
//! ```
//! use tessera_server::cli::check_password_strength;
//! assert!(check_password_strength("alice", "alice-pass", false).is_ok());
//! assert!(check_password_strength("alice", "1234", false).is_err());
//! ```

pub mod access_log;
pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod database;
pub mod demo;
pub mod error;
pub mod key_source;
pub mod keyfile;
pub mod passwords;
pub mod prometheus;
pub mod reviews;
pub mod schema;
pub mod serve;
pub mod spa;
