//! PostgreSQL's statements for the ledger ([`LedgerTx`]): the per-database layer under
//! the transactions of [`crate::ledger`]. Times are `timestamptz`, bound as microseconds;
//! a family revocation is announced on the revocation channel when its transaction
//! commits.
//!
//! Django's `token_blacklist` tables hold exactly what Simple JWT writes; Tessera's own
//! knowledge lives beside them (`tessera_token`: a token's family;
//! `tessera_blacklist_reason`: why it was blacklisted), written in the same statement as
//! the Django row through data-modifying `WITH` clauses, so no round trip is added.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, PgConnection, Row as _};

use crate::ledger::{Blacklisting, LedgerTx};
use crate::user_sql::UserSql;
use crate::{OutstandingToken, Result, RevokedFamily, token_at_rest};

/// The notification channel revocations are announced on.
pub const REVOCATION_CHANNEL: &str = "tessera_revocations";

/// The ledger statements that name the user table, built once per store.
#[derive(Debug)]
pub(crate) struct LedgerSql {
    /// `$1` family, `$2` user id, `$3` created, `$4` user key.
    insert_family: Arc<str>,
    /// `$1` token, `$2` created, `$3` expires, `$4` user id, `$5` jti, `$6` family.
    insert_row: Arc<str>,
    /// A login's whole ledger entry (family, row, link) in one statement: `$1` token,
    /// `$2` created, `$3` expires, `$4` user id, `$5` jti, `$6` family, `$7` user key.
    pub outstand_one: Arc<str>,
    /// The common case of several rotations in one statement, given as arrays (one
    /// element per rotation): `$1` old jti, `$2` now, then the new token's row as
    /// [`bind_row`] orders it, `$9` its user key. Answers the (1-based) positions of the
    /// rotations it made ([`super::group_commit`]).
    pub rotate_batch: Arc<str>,
}

impl LedgerSql {
    pub fn new(users: &UserSql) -> Self {
        let family_user = users.family_user("$2::int8", "NULL::int4");
        let insert_family = format!(
            "INSERT INTO tessera_token_family (id, user_id, created_at, revoked_at, user_key) \
             VALUES ($1, {family_user}, {}, NULL, $4) ON CONFLICT (id) DO NOTHING",
            ts!("3")
        );
        let insert_row = format!(
            "WITH o AS (INSERT INTO token_blacklist_outstandingtoken \
             (token, created_at, expires_at, user_id, jti) VALUES ($1, {}, {}, {}, $5) \
             ON CONFLICT (jti) DO NOTHING RETURNING id) \
             INSERT INTO tessera_token (token_id, family_id) \
             SELECT id, $6 FROM o WHERE $6::varchar IS NOT NULL",
            ts!("2"),
            ts!("3"),
            users.existing_user("$4::int8")
        );
        let outstand_one = format!(
            "WITH fam AS (INSERT INTO tessera_token_family \
             (id, user_id, created_at, revoked_at, user_key) \
             SELECT $6, {}, {}, NULL, $7 WHERE $6::varchar IS NOT NULL \
             ON CONFLICT (id) DO NOTHING), \
             o AS (INSERT INTO token_blacklist_outstandingtoken \
             (token, created_at, expires_at, user_id, jti) VALUES ($1, {}, {}, {}, $5) \
             ON CONFLICT (jti) DO NOTHING RETURNING id) \
             INSERT INTO tessera_token (token_id, family_id) \
             SELECT id, $6 FROM o WHERE $6::varchar IS NOT NULL",
            users.family_user("$4::int8", "NULL::int4"),
            ts!("2"),
            ts!("2"),
            ts!("3"),
            users.existing_user("$4::int8"),
        );
        // Column times (microseconds) as timestamps, like `ts!` does for placeholders.
        let at = |col: &str| format!("(TIMESTAMPTZ 'epoch' + {col} * INTERVAL '1 microsecond')");
        let rotate_batch = format!(
            "WITH j AS (SELECT * FROM unnest($1::varchar[], $2::int8[], $3::text[], \
             $4::int8[], $5::int8[], $6::int8[], $7::varchar[], $8::varchar[], $9::varchar[]) \
             WITH ORDINALITY AS j(old_jti, now, token, created, expires, user_id, jti, \
             family, user_key, n)), \
             m AS MATERIALIZED (SELECT j.*, o.id AS old_id FROM j \
             JOIN token_blacklist_outstandingtoken o ON o.jti = j.old_jti), \
             b AS (INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
             SELECT {now}, old_id FROM m ORDER BY old_jti \
             ON CONFLICT (token_id) DO NOTHING RETURNING id, token_id), \
             r AS (INSERT INTO tessera_blacklist_reason (blacklist_id, reason) \
             SELECT id, 'rotated' FROM b), \
             fam AS MATERIALIZED (SELECT m.*, COALESCE(m.family, \
             (SELECT t.family_id FROM tessera_token t WHERE t.token_id = m.old_id), \
             m.old_jti) AS fid FROM m JOIN b ON b.token_id = m.old_id), \
             nf AS (INSERT INTO tessera_token_family \
             (id, user_id, created_at, revoked_at, user_key) \
             SELECT DISTINCT ON (fid) fid, {family_user}, {created}, NULL::timestamptz, user_key \
             FROM fam ORDER BY fid ON CONFLICT (id) DO NOTHING), \
             ot AS (INSERT INTO tessera_token (token_id, family_id) \
             SELECT old_id, fid FROM fam ON CONFLICT (token_id) DO NOTHING), \
             o AS (INSERT INTO token_blacklist_outstandingtoken \
             (token, created_at, expires_at, user_id, jti) \
             SELECT token, {created}, {expires}, {user}, jti FROM fam \
             WHERE (SELECT f.revoked_at FROM tessera_token_family f WHERE f.id = fam.fid) \
             IS NULL \
             ON CONFLICT (jti) DO NOTHING RETURNING id, jti), \
             t AS (INSERT INTO tessera_token (token_id, family_id) \
             SELECT o.id, fam.fid FROM o JOIN fam ON fam.jti = o.jti) \
             SELECT fam.n FROM o JOIN fam ON fam.jti = o.jti",
            now = at("m.now"),
            created = at("created"),
            expires = at("expires"),
            family_user = users.family_user("fam.user_id", "NULL::int4"),
            user = users.existing_user("fam.user_id"),
        );
        LedgerSql {
            insert_family: insert_family.into(),
            insert_row: insert_row.into(),
            outstand_one: outstand_one.into(),
            rotate_batch: rotate_batch.into(),
        }
    }
}

/// Binds a ledger row's values in the order every statement here takes them: token (at
/// rest), created, expires, user id, jti, family (the user key, when a statement reads
/// it, comes next).
pub(super) fn bind_row<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    t: &'q OutstandingToken,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(token_at_rest(&t.token))
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.user_id)
        .bind(&t.jti)
        .bind(&t.family_id)
}

/// A connection inside a ledger transaction, with the store's statements.
pub(crate) struct Tx<'c> {
    pub conn: &'c mut PgConnection,
    pub sql: &'c LedgerSql,
}

/// `WITH b AS (<insert of blacklist rows RETURNING id>)`, then the reason `$3` for each
/// row it inserted: one statement.
macro_rules! blacklist_with_reason {
    ($($insert:expr),+) => {
        concat!(
            "WITH b AS (",
            $($insert,)+
            " ON CONFLICT (token_id) DO NOTHING RETURNING id) ",
            "INSERT INTO tessera_blacklist_reason (blacklist_id, reason) SELECT id, $3 FROM b"
        )
    };
}

#[async_trait]
impl LedgerTx for Tx<'_> {
    async fn ensure_family(&mut self, t: &OutstandingToken) -> Result<()> {
        if let Some(family) = &t.family_id {
            sqlx::query(AssertSqlSafe(self.sql.insert_family.clone()))
                .bind(family)
                .bind(t.user_id)
                .bind(t.created_at)
                .bind(&t.user_key)
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
        let r = sqlx::query(blacklist_with_reason!(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) SELECT ",
            ts!("1"),
            ", id FROM token_blacklist_outstandingtoken WHERE jti = $2"
        ))
        .bind(at)
        .bind(jti)
        .bind(reason)
        .execute(&mut *self.conn)
        .await?;
        Ok(r.rows_affected())
    }

    async fn family_of_jti(&mut self, jti: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT t.family_id FROM token_blacklist_outstandingtoken o \
             JOIN tessera_token t ON t.token_id = o.id WHERE o.jti = $1",
        )
        .bind(jti)
        .fetch_optional(&mut *self.conn)
        .await?)
    }

    async fn set_family(&mut self, jti: &str, family: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO tessera_token (token_id, family_id) \
             SELECT id, $1 FROM token_blacklist_outstandingtoken WHERE jti = $2 \
             ON CONFLICT (token_id) DO UPDATE SET family_id = excluded.family_id",
        )
        .bind(family)
        .bind(jti)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn blacklisting(&mut self, jti: &str) -> Result<Blacklisting> {
        let row = sqlx::query(concat!(
            "SELECT r.reason, ",
            micros!("b.blacklisted_at"),
            ", t.family_id FROM token_blacklist_blacklistedtoken b ",
            "JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id ",
            "LEFT JOIN tessera_blacklist_reason r ON r.blacklist_id = b.id ",
            "LEFT JOIN tessera_token t ON t.token_id = o.id WHERE o.jti = $1"
        ))
        .bind(jti)
        .fetch_one(&mut *self.conn)
        .await?;
        Ok(Blacklisting {
            reason: row.try_get(0)?,
            at: row.try_get(1)?,
            family: row.try_get(2)?,
        })
    }

    async fn revoke_family(&mut self, family: &str, at: i64) -> Result<Option<RevokedFamily>> {
        let r = sqlx::query(concat!(
            "UPDATE tessera_token_family SET revoked_at = ",
            ts!("1"),
            " WHERE id = $2 AND revoked_at IS NULL"
        ))
        .bind(at)
        .bind(family)
        .execute(&mut *self.conn)
        .await?;
        sqlx::query(blacklist_with_reason!(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) SELECT ",
            ts!("1"),
            ", token_id FROM tessera_token WHERE family_id = $2"
        ))
        .bind(at)
        .bind(family)
        .bind("revoked")
        .execute(&mut *self.conn)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(None);
        }
        // Delivered to listeners when (and only if) this transaction commits.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(REVOCATION_CHANNEL)
            .bind(format!("{family} {at}"))
            .execute(&mut *self.conn)
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
        .fetch_all(&mut *self.conn)
        .await?)
    }

    async fn blacklist_user_rows(&mut self, user_id: i64, at: i64) -> Result<()> {
        sqlx::query(blacklist_with_reason!(
            "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) SELECT ",
            ts!("1"),
            ", id FROM token_blacklist_outstandingtoken WHERE user_id = $2::int8 AND expires_at > ",
            ts!("1")
        ))
        .bind(at)
        .bind(user_id)
        .bind("revoked")
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn family_revoked(&mut self, family: &str) -> Result<bool> {
        let hit: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM tessera_token_family WHERE id = $1 AND revoked_at IS NOT NULL",
        )
        .bind(family)
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(hit.is_some())
    }
}
