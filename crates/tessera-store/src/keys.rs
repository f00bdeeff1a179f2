//! [`KeyStore`]: the key set kept in the database, one for every instance.
//!
//! With `KEY_STORE = "database"` the signing keys live in `tessera_signing_key` instead
//! of files on each host, so a rotation made anywhere (the CLI, the admin page, a
//! scheduled rotation) reaches every instance: PostgreSQL announces each change on the
//! revocation channel ([`crate::RevocationEvent::KeysChanged`]); on SQLite the channel's
//! periodic read of the file's version sees it.
//!
//! The store keeps rows; what they mean is the engine's. A key's state follows from its
//! times (the latest key whose `activates_at` has passed signs; one whose `retires_at`
//! has passed is gone), so instances agree on it without coordinating, and a key
//! scheduled to sign at noon signs at noon everywhere. Private halves arrive sealed.

use async_trait::async_trait;

use crate::Result;

/// One key as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key id written into tokens' headers.
    pub kid: String,
    /// The key's one algorithm (`HS256`, `ES256`, …).
    pub alg: String,
    /// When the key was made, microseconds since the epoch.
    pub created_at: i64,
    /// When it starts signing; `None`: published (it verifies) but not scheduled.
    pub activates_at: Option<i64>,
    /// When it stops verifying; `None`: not scheduled.
    pub retires_at: Option<i64>,
    /// Also verifies tokens without a `kid` (Simple JWT's, or an older Tessera's).
    pub accepts_tokens_without_kid: bool,
    /// The private key or secret, sealed by the engine (never stored in the clear).
    pub sealed_key: Vec<u8>,
}

/// The key set's rows. Every change is announced to the other instances.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key not retired at `now` (microseconds), oldest first.
    async fn signing_keys(&self, now: i64) -> Result<Vec<StoredKey>>;

    /// Adds `key`. With `unless_waiting_at = Some(now)`, only when no key is waiting to
    /// sign at `now` (`activates_at` unset or later): several instances running the same
    /// scheduled rotation add one key between them. True when added.
    async fn add_signing_key(
        &self,
        key: &StoredKey,
        unless_waiting_at: Option<i64>,
    ) -> Result<bool>;

    /// Sets the times of `kid`. False when there is no such key.
    async fn schedule_signing_key(
        &self,
        kid: &str,
        activates_at: Option<i64>,
        retires_at: Option<i64>,
    ) -> Result<bool>;

    /// Deletes `kid` at once (tokens it signed stop verifying). False when absent.
    async fn remove_signing_key(&self, kid: &str) -> Result<bool>;

    /// Deletes the keys retired by `now`, so no private key outlives its use; how many.
    async fn prune_signing_keys(&self, now: i64) -> Result<u64>;
}

/// Reads a row selected as `kid, alg, created_at, activates_at, retires_at,
/// accepts_tokens_without_kid, sealed_key`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn key_from_row<R: sqlx::Row>(r: &R) -> Result<StoredKey>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(StoredKey {
        kid: r.try_get(0)?,
        alg: r.try_get(1)?,
        created_at: r.try_get(2)?,
        activates_at: r.try_get(3)?,
        retires_at: r.try_get(4)?,
        accepts_tokens_without_kid: r.try_get(5)?,
        sealed_key: r.try_get(6)?,
    })
}
