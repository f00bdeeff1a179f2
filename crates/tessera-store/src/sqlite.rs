//! The embedded SQLite store.
//!
//! Settings chosen for an auth ledger rather than for raw speed:
//! * WAL journal: readers (token checks) never wait for the writer (logins, rotations).
//! * `synchronous=FULL`: in WAL mode `NORMAL` may lose the last commits on power loss;
//!   a lost blacklisting would resurrect a revoked token, so every commit is fsynced.
//! * Write transactions start with `BEGIN IMMEDIATE`, taking the write lock up front, so
//!   concurrent rotations queue on the busy timeout instead of failing on a lock upgrade.
//! * Foreign keys on, so deleting a user nulls its ledger rows instead of orphaning them.

mod ledger_sql;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Row, Sqlite, Transaction};
use tessera_core::User;
use tessera_core::clock::{django_datetime, parse_django_datetime};
use tokio::sync::mpsc;

use crate::ledger;
use crate::migrations::SQLITE;
use crate::sqlite_conns::Connections;
use crate::{
    Error, Family, LedgerCounts, LoginState, LoginThrottle, NewUser, OutstandingToken, PoolOptions,
    Result, RevokedFamily, RotateOutcome, RotationTimes, Store, TokenLedger, UserDirectory,
    UserStore,
};
use crate::{live_counter, login_key_slots, login_state_from_row, login_state_stepwise};
use ledger_sql::parse_micros;
use writer::{MAX_BATCH, WriteJob, WriteOp, WriteResult, submit, writer_loop, writer_mixup};

/// `SELECT <every auth_user column> FROM auth_user <rest>`, as a static string (sqlx
/// refuses SQL built at run time unless told it is safe).
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT id, password, last_login, is_superuser, username, last_name, email, \
             is_staff, is_active, date_joined, first_name FROM auth_user ",
            $rest
        )
    };
}

/// A store on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The hot reads' connections (see [`crate::sqlite_conns`]); the pool serves the rest.
    readers: Arc<Connections>,
    writer: mpsc::Sender<WriteJob>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`.
    pub async fn open(path: &str, limits: PoolOptions) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // An embedded connection has no peer to lose: testing it before each use would
        // only be one more round trip to its thread.
        let pool = SqlitePoolOptions::new()
            .max_connections(limits.max_connections.max(1))
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(limits.acquire_timeout)
            .connect_with(options.clone())
            .await?;
        let readers = Arc::new(Connections::new(
            options.clone(),
            limits.max_connections,
            limits.acquire_timeout,
        ));
        // The writer's own connection, opened now so a bad file fails here, not later.
        let writer_conn = options.connect().await?;
        let (writer, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(writer_loop(options, writer_conn, rx));
        Ok(SqliteStore {
            pool,
            readers,
            writer,
        })
    }

    /// The underlying pool, for tests and tooling.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn micros_col(row: &SqliteRow, col: &str) -> Result<Option<i64>> {
    let v: Option<String> = row.try_get(col)?;
    match v {
        None => Ok(None),
        Some(s) => parse_django_datetime(&s)
            .map(Some)
            .ok_or_else(|| Error::BadRow {
                table: "auth_user",
                message: format!("column {col} is not a datetime"),
            }),
    }
}

fn user_from_row(row: &SqliteRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        password: row.try_get("password")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        is_active: row.try_get("is_active")?,
        is_staff: row.try_get("is_staff")?,
        is_superuser: row.try_get("is_superuser")?,
        last_login: micros_col(row, "last_login")?,
        date_joined: micros_col(row, "date_joined")?.unwrap_or(0),
    })
}

impl SqliteStore {
    /// A ledger write, through the group-commit writer.
    async fn write(&self, op: WriteOp) -> Result<WriteResult> {
        submit(&self.writer, op).await
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    type User = User;

    fn ledger_user_id(&self, id: &i64) -> Option<i64> {
        Some(*id)
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let mut loan = self.readers.get().await?;
        let row = sqlx::query(select_users!("WHERE id = ?1"))
            .bind(id)
            .fetch_optional(loan.conn()?)
            .await;
        loan.kept(row)?.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let mut loan = self.readers.get().await?;
        let row = sqlx::query(select_users!("WHERE username = ?1"))
            .bind(username)
            .fetch_optional(loan.conn()?)
            .await;
        loan.kept(row)?.as_ref().map(user_from_row).transpose()
    }

    async fn set_password(&self, id: i64, hash: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE auth_user SET password = ?1 WHERE id = ?2")
            .bind(hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn set_last_login(&self, id: i64, at: i64) -> Result<()> {
        sqlx::query("UPDATE auth_user SET last_login = ?1 WHERE id = ?2")
            .bind(django_datetime(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl UserDirectory for SqliteStore {
    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(select_users!("ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn create_user(&self, u: &NewUser) -> Result<User> {
        let r = sqlx::query(
            "INSERT INTO auth_user (password, last_login, is_superuser, username, last_name, \
             email, is_staff, is_active, date_joined, first_name) \
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&u.password_hash)
        .bind(u.is_superuser)
        .bind(&u.username)
        .bind(&u.last_name)
        .bind(&u.email)
        .bind(u.is_staff)
        .bind(u.is_active)
        .bind(django_datetime(u.date_joined))
        .bind(&u.first_name)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(Error::UsernameTaken(u.username.clone()));
        }
        self.user_by_id(r.last_insert_rowid())
            .await?
            .ok_or_else(|| Error::BadRow {
                table: "auth_user",
                message: "inserted user vanished".into(),
            })
    }

    async fn set_active(&self, id: i64, active: bool) -> Result<bool> {
        let r = sqlx::query("UPDATE auth_user SET is_active = ?1 WHERE id = ?2")
            .bind(active)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_user(&self, id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM auth_user WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}

#[async_trait]
impl TokenLedger for SqliteStore {
    async fn outstand(&self, t: &OutstandingToken) -> Result<()> {
        match self.write(WriteOp::Outstand(t.clone())).await? {
            WriteResult::Done => Ok(()),
            _ => Err(writer_mixup()),
        }
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        let mut loan = self.readers.get().await?;
        let hit: sqlx::Result<Option<i64>> = sqlx::query_scalar(
            "SELECT 1 FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id WHERE o.jti = ?1",
        )
        .bind(jti)
        .fetch_optional(loan.conn()?)
        .await;
        Ok(loan.kept(hit)?.is_some())
    }

    async fn family_of(&self, jti: &str) -> Result<Option<Family>> {
        let mut loan = self.readers.get().await?;
        let row = sqlx::query(
            "SELECT f.id, f.user_id, f.created_at, f.revoked_at, f.user_key \
             FROM tessera_token_family f \
             JOIN token_blacklist_outstandingtoken o ON o.family_id = f.id WHERE o.jti = ?1",
        )
        .bind(jti)
        .fetch_optional(loan.conn()?)
        .await;
        let Some(row) = loan.kept(row)? else {
            return Ok(None);
        };
        Ok(Some(Family {
            id: row.try_get(0)?,
            user_id: row.try_get(1)?,
            created_at: parse_micros(row.try_get(2)?, "tessera_token_family")?.unwrap_or(0),
            revoked_at: parse_micros(row.try_get(3)?, "tessera_token_family")?,
            user_key: row.try_get(4)?,
        }))
    }

    async fn blacklist(&self, t: &OutstandingToken, at: i64) -> Result<Vec<RevokedFamily>> {
        match self.write(WriteOp::Blacklist(t.clone(), at)).await? {
            WriteResult::Revoked(r) => Ok(r),
            _ => Err(writer_mixup()),
        }
    }

    async fn rotate(
        &self,
        old: &OutstandingToken,
        new: &OutstandingToken,
        times: RotationTimes,
    ) -> Result<RotateOutcome> {
        match self
            .write(WriteOp::Rotate(old.clone(), new.clone(), times))
            .await?
        {
            WriteResult::Rotated(o) => Ok(o),
            _ => Err(writer_mixup()),
        }
    }

    async fn revoke_user(
        &self,
        user_key: &str,
        user_id: Option<i64>,
        at: i64,
    ) -> Result<Vec<RevokedFamily>> {
        let mut tx = self.write_tx().await?;
        let revoked = ledger::revoke_user(&mut *tx, user_key, user_id, at).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revoked_families_since(&self, since: i64) -> Result<Vec<RevokedFamily>> {
        let rows =
            sqlx::query("SELECT id, revoked_at FROM tessera_token_family WHERE revoked_at >= ?1")
                .bind(django_datetime(since))
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(RevokedFamily {
                    id: r.try_get(0)?,
                    revoked_at: parse_micros(r.try_get(1)?, "tessera_token_family")?.unwrap_or(0),
                })
            })
            .collect()
    }

    async fn flush_expired(&self, now: i64) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("DELETE FROM token_blacklist_outstandingtoken WHERE expires_at <= ?1")
            .bind(django_datetime(now))
            .execute(&mut *tx)
            .await?;
        // A family with no tokens left can never be used again; a revoked one is kept a
        // day longer, for instances rebuilding their access-token revocation set.
        sqlx::query(
            "DELETE FROM tessera_token_family WHERE NOT EXISTS (SELECT 1 FROM \
             token_blacklist_outstandingtoken o WHERE o.family_id = tessera_token_family.id) \
             AND (revoked_at IS NULL OR revoked_at <= ?1)",
        )
        .bind(django_datetime(now.saturating_sub(86_400_000_000)))
        .execute(&mut *tx)
        .await?;
        // Throttling windows long past carry no information any more.
        sqlx::query("DELETE FROM tessera_login_throttle WHERE window_start < ?1")
            .bind(now.saturating_sub(86_400_000_000))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected())
    }

    async fn count_expired(&self, now: i64) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM token_blacklist_outstandingtoken WHERE expires_at <= ?1",
        )
        .bind(django_datetime(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn flush_expired_batch(&self, now: i64, limit: u64) -> Result<u64> {
        let r = sqlx::query(
            "DELETE FROM token_blacklist_outstandingtoken WHERE id IN (SELECT id FROM \
             token_blacklist_outstandingtoken WHERE expires_at <= ?1 LIMIT ?2)",
        )
        .bind(django_datetime(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn count_unscrubbed(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM token_blacklist_outstandingtoken WHERE token LIKE '%.%.%'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn scrub_tokens_batch(&self, limit: u64) -> Result<u64> {
        // Up to the second dot: `header.payload` (a compact JWS has exactly two).
        let r = sqlx::query(
            "UPDATE token_blacklist_outstandingtoken \
             SET token = substr(token, 1, instr(token, '.') \
                 + instr(substr(token, instr(token, '.') + 1), '.') - 1) \
             WHERE id IN (SELECT id FROM token_blacklist_outstandingtoken \
                          WHERE token LIKE '%.%.%' LIMIT ?1)",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn ledger_counts(&self) -> Result<LedgerCounts> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM token_blacklist_outstandingtoken) AS o, \
                    (SELECT count(*) FROM token_blacklist_blacklistedtoken) AS b",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(LedgerCounts {
            outstanding: row.try_get("o")?,
            blacklisted: row.try_get("b")?,
        })
    }
}

#[async_trait]
impl LoginThrottle for SqliteStore {
    async fn login_failures(
        &self,
        keys: &[String],
        now: i64,
        window: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        let mut out = Vec::new();
        let mut loan = self.readers.get().await?;
        for key in keys {
            let row = sqlx::query_as(
                "SELECT failures, window_start FROM tessera_login_throttle WHERE key = ?1",
            )
            .bind(key)
            .fetch_optional(loan.conn()?)
            .await;
            let row = match row {
                Ok(row) => row,
                Err(e) => return loan.kept(Err(e)),
            };
            out.extend(live_counter(key, row, now, window));
        }
        Ok(out)
    }

    async fn record_login_failure(&self, keys: &[String], now: i64, window: i64) -> Result<()> {
        for key in keys {
            sqlx::query(
                "INSERT INTO tessera_login_throttle (key, failures, window_start) VALUES (?1, 1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN tessera_login_throttle.window_start + ?3 <= ?2 THEN 1 \
                            ELSE tessera_login_throttle.failures + 1 END, \
                 window_start = CASE WHEN tessera_login_throttle.window_start + ?3 <= ?2 THEN ?2 \
                            ELSE tessera_login_throttle.window_start END",
            )
            .bind(key)
            .bind(now)
            .bind(window)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM tessera_login_throttle WHERE key = ?1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<Vec<String>> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS tessera_migrations (\
             version integer PRIMARY KEY, name text NOT NULL, applied_at datetime NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let mut applied = Vec::new();
        for m in SQLITE {
            let mut tx = self.write_tx().await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM tessera_migrations WHERE version = ?1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            // The SQL is a constant compiled into the binary, never user input.
            sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
                .execute(&mut *tx)
                .await
                .map_err(|source| Error::Migration {
                    version: m.version,
                    name: m.name,
                    source,
                })?;
            sqlx::query(
                "INSERT INTO tessera_migrations (version, name, applied_at) \
                 VALUES (?1, ?2, datetime('now'))",
            )
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            applied.push(m.name.to_owned());
        }
        Ok(applied)
    }

    async fn login_state(
        &self,
        username: &str,
        keys: &[String],
        now: i64,
        window: i64,
    ) -> Result<LoginState> {
        let Some([key1, key2]) = login_key_slots(keys) else {
            return login_state_stepwise(self, username, keys, now, window).await;
        };
        // One row whatever exists: the user's columns and each counter are NULL when
        // missing (a NULL key matches nothing).
        let mut loan = self.readers.get().await?;
        let row = sqlx::query(
            "SELECT u.id, u.password, u.last_login, u.is_superuser, u.username, u.last_name, \
             u.email, u.is_staff, u.is_active, u.date_joined, u.first_name, \
             t1.failures AS failures1, t1.window_start AS start1, \
             t2.failures AS failures2, t2.window_start AS start2 \
             FROM (SELECT 1) AS one \
             LEFT JOIN auth_user AS u ON u.username = ?1 \
             LEFT JOIN tessera_login_throttle AS t1 ON t1.key = ?2 \
             LEFT JOIN tessera_login_throttle AS t2 ON t2.key = ?3",
        )
        .bind(username)
        .bind(key1)
        .bind(key2)
        .fetch_one(loan.conn()?)
        .await;
        let row = loan.kept(row)?;
        login_state_from_row(&row, [key1, key2], now, window, user_from_row)
    }
}
