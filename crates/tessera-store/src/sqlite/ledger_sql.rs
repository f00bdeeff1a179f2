//! SQLite's statements for the ledger ([`LedgerTx`]): the per-database layer under the
//! transactions of [`crate::ledger`]. Times are Django's datetime text.
//!
//! Django's `token_blacklist` tables hold exactly what Simple JWT writes; what Tessera
//! knows beyond that lives in its own tables beside them, keyed by their rows and
//! deleted with them: `tessera_token` (a token's family) and `tessera_blacklist_reason`
//! (why it was blacklisted).

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Row as _, Sqlite, SqliteConnection};
use tessera_core::clock::django_datetime;

use tessera_core::clock::parse_django_datetime;

use crate::Error;
use crate::ledger::{Blacklisting, LedgerTx};
use crate::user_sql::UserSql;
use crate::{OutstandingToken, Result, RevokedFamily, token_at_rest};

/// The ledger statements that name the user table (its existence guard), built once per
/// store.
#[derive(Debug)]
pub(crate) struct LedgerSql {
    /// The family a ledger row starts, unless it exists. Values as [`bind_row`].
    insert_family: Arc<str>,
    /// A ledger row (and its family link), unless its jti is known. Values as
    /// [`bind_row`].
    insert_row: Arc<str>,
    /// Both, as one transaction in one round trip (the writer's lone login).
    pub outstand_alone: Arc<str>,
    /// A rotation's common case in one round trip ([`rotate_fast`]).
    rotate_fast: Arc<str>,
}

impl LedgerSql {
    pub fn new(users: &UserSql) -> Self {
        let family_user = users.family_user("?4", "NULL");
        let insert_family = format!(
            "INSERT INTO tessera_token_family (id, user_id, created_at, revoked_at, user_key) \
             VALUES (?6, {family_user}, ?2, NULL, ?7) ON CONFLICT (id) DO NOTHING"
        );
        let insert_row = format!(
            "INSERT INTO token_blacklist_outstandingtoken \
             (token, created_at, expires_at, user_id, jti) \
             VALUES (?1, ?2, ?3, {}, ?5) ON CONFLICT (jti) DO NOTHING; \
             INSERT INTO tessera_token (token_id, family_id) \
             SELECT id, ?6 FROM token_blacklist_outstandingtoken WHERE jti = ?5 AND ?6 IS NOT NULL \
             ON CONFLICT (token_id) DO NOTHING",
            users.existing_user("?4")
        );
        let outstand_alone = format!("BEGIN IMMEDIATE; {insert_family}; {insert_row}; COMMIT");
        // Each statement runs only if the one before it wrote its row (`changes()`), so
        // the four write all or nothing; `last_insert_rowid()` carries each new row's id
        // (Django's ids are rowid aliases) to the next.
        let rotate_fast = format!(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
             SELECT ?2, o.id FROM token_blacklist_outstandingtoken o \
             JOIN tessera_token t ON t.token_id = o.id \
             JOIN tessera_token_family f ON f.id = t.family_id \
             WHERE o.jti = ?1 AND f.revoked_at IS NULL ON CONFLICT (token_id) DO NOTHING; \
             INSERT INTO tessera_blacklist_reason (blacklist_id, reason) \
             SELECT last_insert_rowid(), 'rotated' WHERE changes() = 1; \
             INSERT INTO token_blacklist_outstandingtoken \
             (token, created_at, expires_at, user_id, jti) \
             SELECT ?3, ?4, ?5, {}, ?7 WHERE changes() = 1; \
             INSERT INTO tessera_token (token_id, family_id) \
             SELECT last_insert_rowid(), t.family_id FROM tessera_token t \
             JOIN token_blacklist_outstandingtoken o ON o.id = t.token_id \
             WHERE o.jti = ?1 AND changes() = 1",
            users.existing_user("?6")
        );
        LedgerSql {
            insert_family: insert_family.into(),
            insert_row: insert_row.into(),
            outstand_alone: outstand_alone.into(),
            rotate_fast: rotate_fast.into(),
        }
    }
}

/// The common case of a rotation, inside the caller's transaction, in one round trip to
/// SQLite's thread: the old token is recorded, unspent, in a live family. Blacklists it
/// (`rotated`), records `new` in its family, and returns true; writes nothing and
/// returns false in every other case, which the general algorithm then decides.
pub(crate) async fn rotate_fast(
    conn: &mut SqliteConnection,
    sql: &LedgerSql,
    old: &OutstandingToken,
    new: &OutstandingToken,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(AssertSqlSafe(sql.rotate_fast.clone()))
        .bind(&old.jti)
        .bind(django_datetime(now))
        .bind(token_at_rest(&new.token))
        .bind(django_datetime(new.created_at))
        .bind(django_datetime(new.expires_at))
        .bind(new.user_id)
        .bind(&new.jti)
        .execute(&mut *conn)
        .await?;
    match done.rows_affected() {
        0 => Ok(false),
        4 => Ok(true),
        n => Err(Error::BadRow {
            table: "token_blacklist_outstandingtoken",
            message: format!("a rotation wrote {n} of its 4 rows"),
        }),
    }
}

/// A connection inside a ledger transaction, with the store's statements.
pub(crate) struct Tx<'c> {
    pub conn: &'c mut SqliteConnection,
    pub sql: &'c LedgerSql,
}

/// Binds a ledger row's values as `?1`…`?7`: token, created, expires, user, jti, family,
/// user key.
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

/// Gives the blacklist rows written at `?1` for the outstanding ids `tokens` selects
/// (from `?2`) the reason `revoked`; rows that had a reason keep it.
macro_rules! reasons_revoked {
    ($tokens:literal) => {
        concat!(
            "INSERT INTO tessera_blacklist_reason (blacklist_id, reason) \
             SELECT b.id, 'revoked' FROM token_blacklist_blacklistedtoken b \
             WHERE b.blacklisted_at = ?1 AND b.token_id IN (",
            $tokens,
            ") ON CONFLICT (blacklist_id) DO NOTHING"
        )
    };
}

#[async_trait]
impl LedgerTx for Tx<'_> {
    async fn ensure_family(&mut self, t: &OutstandingToken) -> Result<()> {
        if t.family_id.is_some() {
            bind_row(
                sqlx::query(AssertSqlSafe(self.sql.insert_family.clone())),
                t,
            )
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(())
    }

    async fn insert_row(&mut self, t: &OutstandingToken) -> Result<()> {
        bind_row(sqlx::query(AssertSqlSafe(self.sql.insert_row.clone())), t)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn blacklist_jti(&mut self, jti: &str, at: i64, reason: &str) -> Result<u64> {
        let r = sqlx::query(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
             SELECT ?1, id FROM token_blacklist_outstandingtoken WHERE jti = ?2 \
             ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(django_datetime(at))
        .bind(jti)
        .execute(&mut *self.conn)
        .await?;
        if r.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO tessera_blacklist_reason (blacklist_id, reason) \
                 VALUES (last_insert_rowid(), ?1)",
            )
            .bind(reason)
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(r.rows_affected())
    }

    async fn family_of_jti(&mut self, jti: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT t.family_id FROM token_blacklist_outstandingtoken o \
             JOIN tessera_token t ON t.token_id = o.id WHERE o.jti = ?1",
        )
        .bind(jti)
        .fetch_optional(&mut *self.conn)
        .await?)
    }

    async fn set_family(&mut self, jti: &str, family: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO tessera_token (token_id, family_id) \
             SELECT id, ?1 FROM token_blacklist_outstandingtoken WHERE jti = ?2 \
             ON CONFLICT (token_id) DO UPDATE SET family_id = excluded.family_id",
        )
        .bind(family)
        .bind(jti)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn blacklisting(&mut self, jti: &str) -> Result<Blacklisting> {
        let row = sqlx::query(
            "SELECT r.reason, b.blacklisted_at, t.family_id \
             FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id \
             LEFT JOIN tessera_blacklist_reason r ON r.blacklist_id = b.id \
             LEFT JOIN tessera_token t ON t.token_id = o.id WHERE o.jti = ?1",
        )
        .bind(jti)
        .fetch_one(&mut *self.conn)
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
        .execute(&mut *self.conn)
        .await?;
        sqlx::query(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
             SELECT ?1, token_id FROM tessera_token WHERE family_id = ?2 \
             ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(django_datetime(at))
        .bind(family)
        .execute(&mut *self.conn)
        .await?;
        sqlx::query(reasons_revoked!(
            "SELECT token_id FROM tessera_token WHERE family_id = ?2"
        ))
        .bind(django_datetime(at))
        .bind(family)
        .execute(&mut *self.conn)
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
        .fetch_all(&mut *self.conn)
        .await?)
    }

    async fn blacklist_user_rows(&mut self, user_id: i64, at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
             SELECT ?1, id FROM token_blacklist_outstandingtoken \
             WHERE user_id = ?2 AND expires_at > ?1 ON CONFLICT (token_id) DO NOTHING",
        )
        .bind(django_datetime(at))
        .bind(user_id)
        .execute(&mut *self.conn)
        .await?;
        sqlx::query(reasons_revoked!(
            "SELECT id FROM token_blacklist_outstandingtoken WHERE user_id = ?2"
        ))
        .bind(django_datetime(at))
        .bind(user_id)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn family_revoked(&mut self, family: &str) -> Result<bool> {
        let hit: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM tessera_token_family WHERE id = ?1 AND revoked_at IS NOT NULL",
        )
        .bind(family)
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(hit.is_some())
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
