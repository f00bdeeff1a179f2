//! The shared key set on SQLite ([`KeyStore`]). Writes take the database's write lock
//! (`BEGIN IMMEDIATE`), so the check-then-add of a scheduled rotation cannot interleave
//! with another process's; other processes see a change through the file's version.

use async_trait::async_trait;

use super::SqliteStore;
use crate::Result;
use crate::keys::{KeyStore, StoredKey, key_from_row};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self, now: i64) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, created_at, activates_at, retires_at, accepts_tokens_without_kid, \
             sealed_key FROM tessera_signing_key WHERE retires_at IS NULL OR retires_at > ? \
             ORDER BY created_at, kid",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn add_signing_key(
        &self,
        key: &StoredKey,
        unless_waiting_at: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        if let Some(now) = unless_waiting_at {
            let waiting: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM tessera_signing_key WHERE (activates_at IS NULL OR activates_at > ?) \
                 AND (retires_at IS NULL OR retires_at > ?) LIMIT 1",
            )
            .bind(now)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if waiting.is_some() {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO tessera_signing_key (kid, alg, created_at, activates_at, retires_at, \
             accepts_tokens_without_kid, sealed_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(key.created_at)
        .bind(key.activates_at)
        .bind(key.retires_at)
        .bind(key.accepts_tokens_without_kid)
        .bind(&key.sealed_key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn schedule_signing_key(
        &self,
        kid: &str,
        activates_at: Option<i64>,
        retires_at: Option<i64>,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE tessera_signing_key SET activates_at = ?, retires_at = ? WHERE kid = ?",
        )
        .bind(activates_at)
        .bind(retires_at)
        .bind(kid)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn remove_signing_key(&self, kid: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM tessera_signing_key WHERE kid = ?")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn prune_signing_keys(&self, now: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM tessera_signing_key WHERE retires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
