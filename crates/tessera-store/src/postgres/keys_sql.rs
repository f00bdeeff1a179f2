//! The shared key set on PostgreSQL ([`KeyStore`]). Every change is announced with
//! `NOTIFY` in its own transaction (`keys` on the revocation channel), so the other
//! instances reload their key set as the change commits, not before.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::PgStore;
use super::ledger_sql::REVOCATION_CHANNEL;
use crate::Result;
use crate::keys::{KeyStore, StoredKey, key_from_row};

/// The payload announcing a change of the key set.
pub(super) const KEYS_CHANGED: &str = "keys";

async fn notify_keys_changed(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(REVOCATION_CHANNEL)
        .bind(KEYS_CHANGED)
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self, now: i64) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, created_at, activates_at, retires_at, accepts_tokens_without_kid, \
             sealed_key FROM tessera_signing_key WHERE retires_at IS NULL OR retires_at > $1 \
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
        let mut tx = self.pool.begin().await?;
        if let Some(now) = unless_waiting_at {
            // Instances running the same scheduled rotation queue here; the second one
            // finds the first one's key.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tessera_signing_key'))")
                .execute(&mut *tx)
                .await?;
            let waiting: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM tessera_signing_key WHERE (activates_at IS NULL OR activates_at > $1) \
                 AND (retires_at IS NULL OR retires_at > $1) LIMIT 1",
            )
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if waiting.is_some() {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO tessera_signing_key (kid, alg, created_at, activates_at, retires_at, \
             accepts_tokens_without_kid, sealed_key) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        notify_keys_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn schedule_signing_key(
        &self,
        kid: &str,
        activates_at: Option<i64>,
        retires_at: Option<i64>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE tessera_signing_key SET activates_at = $1, retires_at = $2 WHERE kid = $3",
        )
        .bind(activates_at)
        .bind(retires_at)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
        notify_keys_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn remove_signing_key(&self, kid: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("DELETE FROM tessera_signing_key WHERE kid = $1")
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        notify_keys_changed(&mut tx).await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn prune_signing_keys(&self, now: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("DELETE FROM tessera_signing_key WHERE retires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() > 0 {
            notify_keys_changed(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected())
    }
}
