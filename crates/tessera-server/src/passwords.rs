//! Hashing a password for a command, off the async workers.

use std::sync::Arc;

use crate::config::Config;
use crate::error::{Error, Result};

/// Hashes `password` with the configured hasher on tokio's blocking pool.
pub async fn hash_blocking(config: &Config, password: String) -> Result<String> {
    let hasher =
        tessera_core::PasswordHasher::new(&config.settings, Arc::new(tessera_core::OsRandom));
    tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(|e| Error::Usage(format!("hashing failed: {e}")))?
        .map_err(Error::from)
}
