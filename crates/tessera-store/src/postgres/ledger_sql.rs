//! PostgreSQL's statements for the ledger ([`LedgerTx`]): the per-database layer under
//! the transactions of [`crate::ledger`]. Times are `timestamptz`, bound as microseconds;
//! a family revocation is announced on the revocation channel when its transaction
//! commits.

use async_trait::async_trait;
use sqlx::{PgConnection, Row as _};

use super::REVOCATION_CHANNEL;
use crate::ledger::{Blacklisting, LedgerTx};
use crate::{OutstandingToken, Result, RevokedFamily, token_at_rest};

#[async_trait]
impl LedgerTx for PgConnection {
    async fn ensure_family(&mut self, t: &OutstandingToken) -> Result<()> {
        let tx = self;
        if let Some(family) = &t.family_id {
            sqlx::query(concat!(
                "INSERT INTO tessera_token_family (id, user_id, created_at, revoked_at, user_key) ",
                "VALUES ($1, (SELECT id FROM auth_user WHERE id = $2::int8), ",
                ts!("3"),
                ", NULL, $4) ON CONFLICT (id) DO NOTHING"
            ))
            .bind(family)
            .bind(t.user_id)
            .bind(t.created_at)
            .bind(&t.user_key)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    async fn insert_row(&mut self, t: &OutstandingToken) -> Result<()> {
        let tx = self;
        sqlx::query(concat!(
            "INSERT INTO token_blacklist_outstandingtoken ",
            "(token, created_at, expires_at, user_id, jti, family_id) VALUES ($1, ",
            ts!("2"),
            ", ",
            ts!("3"),
            ", (SELECT id FROM auth_user WHERE id = $4::int8), $5, $6) ON CONFLICT (jti) DO NOTHING"
        ))
        .bind(token_at_rest(&t.token))
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.user_id)
        .bind(&t.jti)
        .bind(&t.family_id)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    async fn blacklist_jti(&mut self, jti: &str, at: i64, reason: &str) -> Result<u64> {
        let tx = self;
        let r = sqlx::query(concat!(
        "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason) SELECT ",
        ts!("1"),
        ", id, $3 FROM token_blacklist_outstandingtoken WHERE jti = $2 ",
        "ON CONFLICT (token_id) DO NOTHING"
    ))
    .bind(at)
    .bind(jti)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
        Ok(r.rows_affected())
    }

    async fn family_of_jti(&mut self, jti: &str) -> Result<Option<String>> {
        let family: Option<Option<String>> = sqlx::query_scalar(
            "SELECT family_id FROM token_blacklist_outstandingtoken WHERE jti = $1",
        )
        .bind(jti)
        .fetch_optional(&mut *self)
        .await?;
        Ok(family.flatten())
    }

    async fn set_family(&mut self, jti: &str, family: &str) -> Result<()> {
        sqlx::query("UPDATE token_blacklist_outstandingtoken SET family_id = $1 WHERE jti = $2")
            .bind(family)
            .bind(jti)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn blacklisting(&mut self, jti: &str) -> Result<Blacklisting> {
        let row = sqlx::query(concat!(
            "SELECT b.reason, ",
            micros!("b.blacklisted_at"),
            ", o.family_id FROM token_blacklist_blacklistedtoken b ",
            "JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id WHERE o.jti = $1"
        ))
        .bind(jti)
        .fetch_one(&mut *self)
        .await?;
        Ok(Blacklisting {
            reason: row.try_get(0)?,
            at: row.try_get(1)?,
            family: row.try_get(2)?,
        })
    }

    async fn revoke_family(&mut self, family: &str, at: i64) -> Result<Option<RevokedFamily>> {
        let tx = self;
        let r = sqlx::query(concat!(
            "UPDATE tessera_token_family SET revoked_at = ",
            ts!("1"),
            " WHERE id = $2 AND revoked_at IS NULL"
        ))
        .bind(at)
        .bind(family)
        .execute(&mut *tx)
        .await?;
        sqlx::query(concat!(
        "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason) SELECT ",
        ts!("1"),
        ", id, 'revoked' FROM token_blacklist_outstandingtoken WHERE family_id = $2 ",
        "ON CONFLICT (token_id) DO NOTHING"
    ))
    .bind(at)
    .bind(family)
    .execute(&mut *tx)
    .await?;
        if r.rows_affected() != 1 {
            return Ok(None);
        }
        // Delivered to listeners when (and only if) this transaction commits.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REVOCATION_CHANNEL)
            .bind(format!("{family} {at}"))
            .execute(&mut *tx)
            .await?;
        Ok(Some(RevokedFamily {
            id: family.to_owned(),
            revoked_at: at,
        }))
    }

    async fn live_families_of(
        &mut self,
        user_key: &str,
        user_id: Option<i64>,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM tessera_token_family \
             WHERE (user_key = $1 OR user_id = $2::int8) AND revoked_at IS NULL \
             ORDER BY id FOR UPDATE",
        )
        .bind(user_key)
        .bind(user_id)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn blacklist_user_rows(&mut self, user_id: i64, at: i64) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason) SELECT ",
            ts!("1"),
            ", id, 'revoked' FROM token_blacklist_outstandingtoken WHERE user_id = $2::int8 AND expires_at > ",
            ts!("1"),
            " ON CONFLICT (token_id) DO NOTHING"
        ))
        .bind(at)
        .bind(user_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}
