//! SQLite's statements for the ledger ([`LedgerTx`]): the per-database layer under the
//! transactions of [`crate::ledger`]. Times are Django's datetime text.

use async_trait::async_trait;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Row as _, Sqlite, SqliteConnection};
use tessera_core::clock::django_datetime;

use tessera_core::clock::parse_django_datetime;

use crate::Error;
use crate::ledger::{Blacklisting, LedgerTx};
use crate::{OutstandingToken, Result, RevokedFamily, token_at_rest};

/// The family a ledger row starts, unless it exists. Reads the row's values as
/// [`bind_row`] binds them.
pub(crate) const INSERT_FAMILY: &str = "INSERT INTO tessera_token_family \
     (id, user_id, created_at, revoked_at, user_key) \
     VALUES (?6, (SELECT id FROM auth_user WHERE id = ?4), ?2, NULL, ?7) \
     ON CONFLICT (id) DO NOTHING";

/// A ledger row, unless its jti is known; the user reference is dropped when that user no
/// longer exists. Values as [`bind_row`] binds them.
pub(crate) const INSERT_ROW: &str = "INSERT INTO token_blacklist_outstandingtoken \
     (token, created_at, expires_at, user_id, jti, family_id) \
     VALUES (?1, ?2, ?3, (SELECT id FROM auth_user WHERE id = ?4), ?5, ?6) \
     ON CONFLICT (jti) DO NOTHING";

/// Both, as one transaction in one round trip ([`outstand_alone`]).
pub(crate) static OUTSTAND_ALONE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("BEGIN IMMEDIATE; {INSERT_FAMILY}; {INSERT_ROW}; COMMIT"));

/// Binds a ledger row's values as `?1`…`?7`: token, created, expires, user, jti, family,
/// user key (the last read only by the family insert).
pub(crate) fn bind_row<'q>(
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments>,
    t: &'q OutstandingToken,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments> {
    query
        .bind(token_at_rest(&t.token))
        .bind(django_datetime(t.created_at))
        .bind(django_datetime(t.expires_at))
        .bind(t.user_id)
        .bind(&t.jti)
        .bind(&t.family_id)
        .bind(&t.user_key)
}

#[async_trait]
impl LedgerTx for SqliteConnection {
    async fn ensure_family(&mut self, t: &OutstandingToken) -> Result<()> {
        if t.family_id.is_some() {
            bind_row(sqlx::query(INSERT_FAMILY), t)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }

    async fn insert_row(&mut self, t: &OutstandingToken) -> Result<()> {
        bind_row(sqlx::query(INSERT_ROW), t)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn blacklist_jti(&mut self, jti: &str, at: i64, reason: &str) -> Result<u64> {
        let r = sqlx::query(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason) \
             SELECT ?1, id, ?3 FROM token_blacklist_outstandingtoken WHERE jti = ?2 \
             ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(django_datetime(at))
        .bind(jti)
        .bind(reason)
        .execute(&mut *self)
        .await?;
        Ok(r.rows_affected())
    }

    async fn family_of_jti(&mut self, jti: &str) -> Result<Option<String>> {
        let family: Option<Option<String>> = sqlx::query_scalar(
            "SELECT family_id FROM token_blacklist_outstandingtoken WHERE jti = ?1",
        )
        .bind(jti)
        .fetch_optional(&mut *self)
        .await?;
        Ok(family.flatten())
    }

    async fn set_family(&mut self, jti: &str, family: &str) -> Result<()> {
        sqlx::query("UPDATE token_blacklist_outstandingtoken SET family_id = ?1 WHERE jti = ?2")
            .bind(family)
            .bind(jti)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn blacklisting(&mut self, jti: &str) -> Result<Blacklisting> {
        let row = sqlx::query(
            "SELECT b.reason, b.blacklisted_at, o.family_id \
             FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id WHERE o.jti = ?1",
        )
        .bind(jti)
        .fetch_one(&mut *self)
        .await?;
        Ok(Blacklisting {
            reason: row.try_get(0)?,
            at: parse_micros(row.try_get(1)?, "token_blacklist_blacklistedtoken")?,
            family: row.try_get(2)?,
        })
    }

    async fn revoke_family(&mut self, family: &str, at: i64) -> Result<Option<RevokedFamily>> {
        let r = sqlx::query(
            "UPDATE tessera_token_family SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        )
        .bind(django_datetime(at))
        .bind(family)
        .execute(&mut *self)
        .await?;
        sqlx::query(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason) \
         SELECT ?1, id, 'revoked' FROM token_blacklist_outstandingtoken WHERE family_id = ?2 \
         ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(django_datetime(at))
        .bind(family)
        .execute(&mut *self)
        .await?;
        Ok((r.rows_affected() == 1).then(|| RevokedFamily {
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
             WHERE (user_key = ?1 OR user_id = ?2) AND revoked_at IS NULL",
        )
        .bind(user_key)
        .bind(user_id)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn blacklist_user_rows(&mut self, user_id: i64, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id, reason) \
             SELECT ?1, id, 'revoked' FROM token_blacklist_outstandingtoken \
             WHERE user_id = ?2 AND expires_at > ?1 ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(django_datetime(at))
        .bind(user_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}

pub(crate) fn parse_micros(s: Option<String>, table: &'static str) -> Result<Option<i64>> {
    s.map(|s| {
        parse_django_datetime(&s).ok_or_else(|| Error::BadRow {
            table,
            message: "not a datetime".into(),
        })
    })
    .transpose()
}
