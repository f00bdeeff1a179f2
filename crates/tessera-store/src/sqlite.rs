//! The embedded SQLite store.
//!
//! Settings chosen for an auth ledger rather than for raw speed:
//! * WAL journal: readers (token checks) never wait for the writer (logins, rotations).
//! * `synchronous=FULL`: in WAL mode `NORMAL` may lose the last commits on power loss;
//!   a lost blacklisting would resurrect a revoked token, so every commit is fsynced.
//! * Write transactions start with `BEGIN IMMEDIATE`, taking the write lock up front, so
//!   concurrent rotations queue on the busy timeout instead of failing on a lock upgrade.
//! * Foreign keys on, so deleting a user nulls its ledger rows instead of orphaning them.

mod admin_sql;
mod keys_sql;
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
use sqlx::{AssertSqlSafe, ConnectOptions as _, Row, Sqlite, SqliteConnection, Transaction};
use tessera_core::clock::{django_datetime, parse_django_datetime};
use tessera_core::{DjangoId, User};
use tokio::sync::mpsc;

use crate::ledger;
use crate::migrations::{SQLITE, SchemaProbe, plan_parts};
use crate::sqlite_conns::Connections;
use crate::user_sql::{BindId as _, Dialect, NewUserField, UserSql, read_id};
use crate::user_table::{IdKind, UserTable};
use crate::{
    Error, Family, LedgerCounts, LoginState, LoginThrottle, NewUser, OutstandingToken, PoolOptions,
    Result, RevokedFamily, RotateOutcome, RotationTimes, Store, TokenLedger, UserDirectory,
    UserStore,
};
use crate::{live_counter, login_key_slots, login_state_from_row, login_state_stepwise};
pub(crate) use ledger_sql::parse_micros;
use ledger_sql::{LedgerSql, Tx};
use writer::{MAX_BATCH, WriteJob, WriteOp, WriteResult, submit, writer_loop, writer_mixup};

/// Strings as a JSON array, for `json_each` (one bound value for any number of them).
fn serde_json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

/// Ids as a JSON array, for `json_each` (one bound value for any number of ids).
fn ids_json(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", list.join(","))
}

/// Binds a user's values in the order of `fields` (an insert statement's), times as
/// Django's datetime text.
fn bind_user<'q>(
    mut q: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    fields: &[NewUserField],
    u: &'q NewUser,
    id: DjangoId,
    last_login: Option<i64>,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    for f in fields {
        q = match f {
            NewUserField::Id => q.bind_id(id),
            NewUserField::LastLogin => q.bind(last_login.map(django_datetime)),
            NewUserField::Password => q.bind(&u.password_hash),
            NewUserField::Login | NewUserField::Username => q.bind(&u.username),
            NewUserField::IsActive => q.bind(u.is_active),
            NewUserField::Email => q.bind(&u.email),
            NewUserField::FirstName => q.bind(&u.first_name),
            NewUserField::LastName => q.bind(&u.last_name),
            NewUserField::IsStaff => q.bind(u.is_staff),
            NewUserField::IsSuperuser => q.bind(u.is_superuser),
            NewUserField::DateJoined => q.bind(django_datetime(u.date_joined)),
        };
    }
    q
}

/// A store on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The hot reads' connections (see [`crate::sqlite_conns`]); the pool serves the rest.
    readers: Arc<Connections>,
    writer: mpsc::Sender<WriteJob>,
    /// The user table's statements.
    users: Arc<UserSql>,
    /// The ledger's statements that name the user table.
    ledger_sql: Arc<LedgerSql>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`, with Django's `auth_user`.
    pub async fn open(path: &str, limits: PoolOptions) -> Result<Self> {
        Self::open_with_users(path, limits, UserTable::default()).await
    }

    /// Opens (creating if missing) the database at `path`, with users in `users`.
    pub async fn open_with_users(
        path: &str,
        limits: PoolOptions,
        users: UserTable,
    ) -> Result<Self> {
        users.validate()?;
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
        let mut users = users;
        users.id_kind = (&mut *pool.acquire().await?)
            .id_kind(&users.table, &users.id)
            .await?;
        let users = Arc::new(UserSql::new(users, Dialect::Sqlite));
        let ledger_sql = Arc::new(LedgerSql::new(&users));
        let readers = Arc::new(Connections::new(
            options.clone(),
            limits.max_connections,
            limits.acquire_timeout,
        ));
        // The writer's own connection, opened now so a bad file fails here, not later.
        let writer_conn = options.connect().await?;
        let (writer, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(writer_loop(options, writer_conn, rx, ledger_sql.clone()));
        Ok(SqliteStore {
            pool,
            readers,
            writer,
            users,
            ledger_sql,
        })
    }

    /// The underlying pool, for tests and tooling.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The ledger's statements on a connection inside a transaction.
    fn ledger_tx<'c>(&'c self, conn: &'c mut SqliteConnection) -> Tx<'c> {
        Tx {
            conn,
            sql: &self.ledger_sql,
        }
    }

    /// Deletes the outstanding tokens `ids` and their blacklist rows, in `tx`. Django's
    /// tables have no database-level cascade (Django deletes in Python), so the blacklist
    /// rows go first; Tessera's own rows follow by their foreign keys.
    async fn delete_tokens(tx: &mut SqliteConnection, ids: &[i64]) -> Result<u64> {
        let ids = ids_json(ids);
        sqlx::query(
            "DELETE FROM token_blacklist_blacklistedtoken \
             WHERE token_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        let r = sqlx::query(
            "DELETE FROM token_blacklist_outstandingtoken \
             WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        Ok(r.rows_affected())
    }

    /// Up to `limit` ids of outstanding tokens expired at `now`.
    async fn expired_ids(tx: &mut SqliteConnection, now: i64, limit: u64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM token_blacklist_outstandingtoken WHERE expires_at <= ?1 LIMIT ?2",
        )
        .bind(django_datetime(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?)
    }
}

fn micros_col(row: &SqliteRow, col: &str) -> Result<Option<i64>> {
    let v: Option<String> = row.try_get(col)?;
    // An empty text (no such column in a custom user table reads as '') is no time.
    let v = v.filter(|s| !s.is_empty());
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

pub(crate) fn user_from_row(row: &SqliteRow, kind: IdKind) -> Result<User> {
    Ok(User {
        id: read_id(row, kind)?,
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

    fn ledger_user_id(&self, id: &DjangoId) -> Option<i64> {
        id.as_int()
    }

    async fn user_by_id(&self, id: DjangoId) -> Result<Option<User>> {
        if !self.users.accepts(id) {
            return Ok(None);
        }
        let mut loan = self.readers.get().await?;
        let row = sqlx::query(AssertSqlSafe(self.users.by_id.clone()))
            .bind_id(id)
            .fetch_optional(loan.conn()?)
            .await;
        loan.kept(row)?
            .as_ref()
            .map(|r| user_from_row(r, self.users.table.id_kind))
            .transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let mut loan = self.readers.get().await?;
        let row = sqlx::query(AssertSqlSafe(self.users.by_login.clone()))
            .bind(username)
            .fetch_optional(loan.conn()?)
            .await;
        loan.kept(row)?
            .as_ref()
            .map(|r| user_from_row(r, self.users.table.id_kind))
            .transpose()
    }

    async fn set_password(&self, id: DjangoId, hash: &str) -> Result<bool> {
        if !self.users.accepts(id) {
            return Ok(false);
        }
        let r = sqlx::query(AssertSqlSafe(self.users.set_password.clone()))
            .bind(hash)
            .bind_id(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn set_last_login(&self, id: DjangoId, at: i64) -> Result<()> {
        let Some(sql) = self
            .users
            .set_last_login
            .clone()
            .filter(|_| self.users.accepts(id))
        else {
            return Ok(());
        };
        sqlx::query(AssertSqlSafe(sql))
            .bind(django_datetime(at))
            .bind_id(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl UserDirectory for SqliteStore {
    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(AssertSqlSafe(self.users.list.clone()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| user_from_row(r, self.users.table.id_kind))
            .collect()
    }

    async fn create_user(&self, u: &NewUser) -> Result<User> {
        let (fields, sql) = &self.users.insert;
        let q = bind_user(
            sqlx::query(AssertSqlSafe(sql.clone())),
            fields,
            u,
            DjangoId::new_uuid(&tessera_core::OsRandom),
            None,
        );
        let r = q.execute(&self.pool).await?;
        if r.rows_affected() == 0 {
            return Err(Error::UsernameTaken(u.username.clone()));
        }
        self.user_by_username(&u.username)
            .await?
            .ok_or_else(|| Error::BadRow {
                table: "auth_user",
                message: "inserted user vanished".into(),
            })
    }

    async fn set_active(&self, id: DjangoId, active: bool) -> Result<bool> {
        if !self.users.accepts(id) {
            return Ok(false);
        }
        let Some(sql) = &self.users.set_active else {
            return Err(Error::BadUserTable(format!(
                "{} has no is_active column",
                self.users.table.table
            )));
        };
        let r = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(active)
            .bind_id(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_user(&self, id: DjangoId) -> Result<bool> {
        // Django's tables refer to the user without database-level actions (Django acts
        // in Python): do what its `on_delete` says before the row goes.
        if !self.users.accepts(id) {
            return Ok(false);
        }
        let mut tx = self.write_tx().await?;
        for (stmt, table) in self.users.before_delete(Dialect::Sqlite) {
            if (&mut *tx).table_exists(table).await? {
                sqlx::query(AssertSqlSafe(stmt))
                    .bind_id(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let r = sqlx::query(AssertSqlSafe(self.users.delete.clone()))
            .bind_id(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
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
             FROM tessera_token_family f JOIN tessera_token t ON t.family_id = f.id \
             JOIN token_blacklist_outstandingtoken o ON o.id = t.token_id WHERE o.jti = ?1",
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
        let revoked =
            ledger::revoke_user(&mut self.ledger_tx(&mut tx), user_key, user_id, at).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn listen_revocations(
        &self,
        tx: tokio::sync::mpsc::UnboundedSender<crate::RevocationEvent>,
    ) -> Result<()> {
        // Other processes write this file too (`tessera revoke`, `changepassword`, a
        // Django beside it) and SQLite has no channel: a cheap read once a second of
        // `PRAGMA data_version`, which moves when another connection committed, says
        // when to reload (revocations, and the user cache). This process's own
        // connections count as others, so a busy server reloads once a second: a small
        // query, and one re-read of each cached user.
        let mut conn = self.pool.acquire().await?.detach();
        let mut seen: i64 = sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(&mut conn)
            .await?;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
            loop {
                tick.tick().await;
                if tx.is_closed() {
                    return;
                }
                match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                    .fetch_one(&mut conn)
                    .await
                {
                    Ok(v) if v != seen => {
                        seen = v;
                        if tx.send(crate::RevocationEvent::Resync).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not read the database's version"),
                }
            }
        });
        Ok(())
    }

    async fn record_login_client(
        &self,
        family: &str,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<()> {
        // Through the ledger's writer: committed with the other ledger writes of its
        // batch, not in a transaction (and fsync) of its own.
        let op = WriteOp::LoginClient(
            family.to_owned(),
            ip.map(str::to_owned),
            user_agent.map(str::to_owned),
        );
        match self.write(op).await? {
            WriteResult::Done => Ok(()),
            _ => Err(writer_mixup()),
        }
    }

    async fn family_revoked(&self, id: &str) -> Result<bool> {
        let hit: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM tessera_token_family WHERE id = ?1 AND revoked_at IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
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
        let mut flushed = 0;
        loop {
            let ids = Self::expired_ids(&mut tx, now, 10_000).await?;
            if ids.is_empty() {
                break;
            }
            flushed += Self::delete_tokens(&mut tx, &ids).await?;
        }
        // A family with no tokens left can never be used again; a revoked one is kept a
        // day longer, for instances rebuilding their access-token revocation set.
        sqlx::query(
            "DELETE FROM tessera_token_family WHERE NOT EXISTS (SELECT 1 FROM \
             tessera_token t WHERE t.family_id = tessera_token_family.id) \
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
        Ok(flushed)
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
        let mut tx = self.write_tx().await?;
        let ids = Self::expired_ids(&mut tx, now, limit).await?;
        let flushed = Self::delete_tokens(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(flushed)
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
impl SchemaProbe for &mut SqliteConnection {
    async fn table_exists(&mut self, table: &str) -> Result<bool> {
        let hit: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
                .bind(table)
                .fetch_optional(&mut **self)
                .await?;
        Ok(hit.is_some())
    }

    async fn column_exists(&mut self, table: &str, column: &str) -> Result<bool> {
        Ok(self.column_type(table, column).await?.is_some())
    }

    async fn column_type(&mut self, table: &str, column: &str) -> Result<Option<String>> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT type FROM pragma_table_info(?1) WHERE name = ?2")
                .bind(table)
                .bind(column)
                .fetch_optional(&mut **self)
                .await?;
        Ok(found.map(|t| t.to_ascii_lowercase()))
    }
}

impl SqliteStore {
    /// The versions already applied (none before the first migration).
    async fn applied_versions(conn: &mut SqliteConnection) -> Result<Vec<i64>> {
        if !(&mut *conn).table_exists("tessera_migrations").await? {
            return Ok(Vec::new());
        }
        Ok(
            sqlx::query_scalar("SELECT version FROM tessera_migrations ORDER BY version")
                .fetch_all(&mut *conn)
                .await?,
        )
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
        if !self.users.table.is_django_default() {
            let mut conn = self.pool.acquire().await?;
            if !(&mut *conn).table_exists(&self.users.table.table).await? {
                return Err(Error::BadUserTable(format!(
                    "the user table {} does not exist in this database: a custom user table \
                     is the Django project's (run its migrate first), Tessera creates only auth_user",
                    self.users.table.table
                )));
            }
        }
        let mut applied = Vec::new();
        for m in SQLITE {
            let mut tx = self.write_tx().await?;
            if Self::applied_versions(&mut tx).await?.contains(&m.version) {
                continue;
            }
            let parts = plan_parts(&mut &mut *tx, m, &self.users.table).await?;
            for part in parts.iter().filter(|p| p.runs) {
                // The SQL is compiled into the binary; only validated identifiers of the
                // user table are substituted into it.
                sqlx::raw_sql(AssertSqlSafe(part.sql.clone()))
                    .execute(&mut *tx)
                    .await
                    .map_err(|source| Error::Migration {
                        version: m.version,
                        name: m.name,
                        source,
                    })?;
            }
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

    async fn pending_migrations(&self) -> Result<Vec<&'static str>> {
        let mut conn = self.pool.acquire().await?;
        let done = Self::applied_versions(&mut conn).await?;
        Ok(SQLITE
            .iter()
            .filter(|m| !done.contains(&m.version))
            .map(|m| m.name)
            .collect())
    }

    fn user_table(&self) -> &UserTable {
        &self.users.table
    }

    async fn copy_user(&self, u: &User) -> Result<bool> {
        let (fields, sql) = &self.users.copy;
        let nu = NewUser::from(u);
        let q = bind_user(
            sqlx::query(AssertSqlSafe(sql.clone())),
            fields,
            &nu,
            u.id,
            u.last_login,
        );
        Ok(q.execute(&self.pool).await?.rows_affected() == 1)
    }

    async fn known_tokens(&self, jtis: &[String]) -> Result<(u64, u64)> {
        let list = serde_json_list(jtis);
        let row = sqlx::query(
            "SELECT count(o.id), count(b.id) FROM token_blacklist_outstandingtoken o \
             LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id \
             WHERE o.jti IN (SELECT value FROM json_each(?1))",
        )
        .bind(list)
        .fetch_one(&self.pool)
        .await?;
        let (o, b): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        Ok((u64::try_from(o).unwrap_or(0), u64::try_from(b).unwrap_or(0)))
    }

    async fn copy_tokens(&self, tokens: &[(OutstandingToken, Option<i64>)]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for (t, blacklisted_at) in tokens {
            ledger::outstand(&mut self.ledger_tx(&mut tx), t).await?;
            if let Some(at) = blacklisted_at {
                // As Django wrote it: no reason of Tessera's.
                sqlx::query(
                    "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
                     SELECT ?1, id FROM token_blacklist_outstandingtoken WHERE jti = ?2 \
                     ON CONFLICT (token_id) DO NOTHING",
                )
                .bind(django_datetime(*at))
                .bind(&t.jti)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
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
        let row = sqlx::query(AssertSqlSafe(self.users.login_state.clone()))
            .bind(username)
            .bind(key1)
            .bind(key2)
            .fetch_one(loan.conn()?)
            .await;
        let row = loan.kept(row)?;
        let kind = self.users.table.id_kind;
        login_state_from_row(&row, [key1, key2], now, window, |r| user_from_row(r, kind))
    }
}
