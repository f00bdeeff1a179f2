//! The PostgreSQL store, for several Tessera instances behind a load balancer.
//!
//! * Exactly-once rotation rests on the unique index of the blacklist's `token_id`: two
//!   transactions inserting the same row serialise on it, and the second sees the
//!   conflict after the first commits. No explicit locks, so no lock-order deadlocks.
//! * Revocations are announced with `pg_notify` inside the revoking transaction, so the
//!   notification is delivered exactly when (and only if) the revocation commits. Other
//!   instances `LISTEN` and update their in-memory revocation sets.
//! * Timestamps are Django's `timestamp with time zone`; they cross the wire as integer
//!   microseconds (converted in SQL), so nothing is lost to floating point.

use std::str::FromStr;

use async_trait::async_trait;
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Row};
use tessera_core::{DjangoId, User};
use tokio::sync::mpsc::UnboundedSender;

use crate::ledger;
use crate::migrations::{POSTGRES, SchemaProbe, plan_parts};
use crate::user_sql::{BindId as _, Dialect, NewUserField, UserSql, read_id};
use crate::user_table::{IdKind, UserTable};
use crate::{
    Error, Family, LedgerCounts, LoginState, LoginThrottle, NewUser, OutstandingToken, PoolOptions,
    Result, RevocationEvent, RevokedFamily, RotateOutcome, RotationTimes, Store, TokenLedger,
    UserDirectory, UserStore,
};
use crate::{live_counter, login_key_slots, login_state_from_row, login_state_stepwise};
use ledger_sql::{LedgerSql, Tx};

/// The notification channel revocations are announced on.
pub use ledger_sql::REVOCATION_CHANNEL;

/// A timestamptz from integer microseconds bound at `$n`.
macro_rules! ts {
    ($n:literal) => {
        concat!(
            "(TIMESTAMPTZ 'epoch' + $",
            $n,
            "::int8 * INTERVAL '1 microsecond')"
        )
    };
}

/// Integer microseconds of a timestamptz column.
macro_rules! micros {
    ($col:literal) => {
        concat!("(EXTRACT(EPOCH FROM ", $col, ") * 1000000)::int8")
    };
}

mod admin_sql;
mod group_commit;
mod keys_sql;
mod ledger_sql;

/// A store on one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The user table's statements.
    users: Arc<UserSql>,
    /// The ledger's statements that name the user table.
    ledger_sql: Arc<LedgerSql>,
    /// The group committer of rotations ([`group_commit`]).
    rotations: tokio::sync::mpsc::Sender<group_commit::RotateJob>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host/db`), with Django's `auth_user`.
    pub async fn open(url: &str, limits: PoolOptions) -> Result<Self> {
        Self::open_with_users(url, limits, UserTable::default()).await
    }

    /// Connects to `url`, with users in `users`.
    pub async fn open_with_users(url: &str, limits: PoolOptions, users: UserTable) -> Result<Self> {
        users.validate()?;
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(limits.max_connections.max(1))
            .acquire_timeout(limits.acquire_timeout)
            .connect_with(options.clone())
            .await?;
        let mut users = users;
        users.id_kind = (&mut *pool.acquire().await?)
            .id_kind(&users.table, &users.id)
            .await?;
        let users = Arc::new(UserSql::new(users, Dialect::Postgres));
        let ledger_sql = Arc::new(LedgerSql::new(&users));
        let rotations = group_commit::start(&options, limits.acquire_timeout, ledger_sql.clone());
        Ok(PgStore {
            pool,
            users,
            ledger_sql,
            rotations,
        })
    }

    /// The ledger's statements on a connection inside a transaction.
    fn ledger_tx<'c>(&'c self, conn: &'c mut PgConnection) -> Tx<'c> {
        Tx {
            conn,
            sql: &self.ledger_sql,
        }
    }

    /// The underlying pool, for tests and tooling.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

pub(crate) fn user_from_row(row: &PgRow, kind: IdKind) -> Result<User> {
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
        last_login: row.try_get("last_login")?,
        date_joined: row.try_get::<Option<i64>, _>("date_joined")?.unwrap_or(0),
    })
}

/// Binds a user's values in the order of `fields` (an insert statement's), times as
/// integer microseconds.
fn bind_user<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    fields: &[NewUserField],
    u: &'q NewUser,
    id: DjangoId,
    last_login: Option<i64>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for f in fields {
        q = match f {
            NewUserField::Id => q.bind_id(id),
            NewUserField::LastLogin => q.bind(last_login),
            NewUserField::Password => q.bind(&u.password_hash),
            NewUserField::Login | NewUserField::Username => q.bind(&u.username),
            NewUserField::IsActive => q.bind(u.is_active),
            NewUserField::Email => q.bind(&u.email),
            NewUserField::FirstName => q.bind(&u.first_name),
            NewUserField::LastName => q.bind(&u.last_name),
            NewUserField::IsStaff => q.bind(u.is_staff),
            NewUserField::IsSuperuser => q.bind(u.is_superuser),
            NewUserField::DateJoined => q.bind(u.date_joined),
        };
    }
    q
}

/// Parses a notification payload: `"<family id> <revoked_at micros>"`, `"user <id>"`
/// when a user row changed (password, active flag, deletion), or `"keys"` when the key
/// set did.
fn parse_payload(payload: &str) -> Option<RevocationEvent> {
    if payload == keys_sql::KEYS_CHANGED {
        return Some(RevocationEvent::KeysChanged);
    }
    let (a, b) = payload.split_once(' ')?;
    if a == "user" {
        return Some(RevocationEvent::UserChanged(DjangoId::parse(b)?));
    }
    Some(RevocationEvent::Revoked(RevokedFamily {
        id: a.to_owned(),
        revoked_at: b.parse().ok()?,
    }))
}

/// Runs `stmt` (an UPDATE or DELETE of one user) and announces the change to other
/// instances' user caches in the same transaction.
async fn change_user(
    pool: &PgPool,
    id: DjangoId,
    stmt: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let r = stmt.execute(&mut *tx).await?;
    if r.rows_affected() == 1 {
        notify_user_changed(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes up to `limit` outstanding tokens expired at `now`, with their blacklist rows
/// first: Django's tables have no database-level cascade (Django deletes in Python), and
/// Tessera's own rows follow by their foreign keys. `SKIP LOCKED`: a token a rotation is
/// holding is left for the next round rather than waited for.
async fn delete_expired(tx: &mut PgConnection, now: i64, limit: u64) -> Result<u64> {
    let ids: Vec<i64> = sqlx::query_scalar(concat!(
        "SELECT id FROM token_blacklist_outstandingtoken WHERE expires_at <= ",
        ts!("1"),
        " LIMIT $2 FOR UPDATE SKIP LOCKED"
    ))
    .bind(now)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    sqlx::query("DELETE FROM token_blacklist_blacklistedtoken WHERE token_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    let r = sqlx::query("DELETE FROM token_blacklist_outstandingtoken WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    Ok(r.rows_affected())
}

/// Tells other instances' user caches, when `tx` commits, that user `id` changed.
async fn notify_user_changed(tx: &mut PgConnection, id: DjangoId) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(REVOCATION_CHANNEL)
        .bind(format!("user {id}"))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[async_trait]
impl UserStore for PgStore {
    type User = User;

    fn ledger_user_id(&self, id: &DjangoId) -> Option<i64> {
        id.as_int()
    }

    async fn user_by_id(&self, id: DjangoId) -> Result<Option<User>> {
        if !self.users.accepts(id) {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(self.users.by_id.clone()))
            .bind_id(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| user_from_row(r, self.users.table.id_kind))
            .transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(AssertSqlSafe(self.users.by_login.clone()))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(|r| user_from_row(r, self.users.table.id_kind))
            .transpose()
    }

    async fn set_password(&self, id: DjangoId, hash: &str) -> Result<bool> {
        if !self.users.accepts(id) {
            return Ok(false);
        }
        let q = sqlx::query(AssertSqlSafe(self.users.set_password.clone()))
            .bind(hash)
            .bind_id(id);
        change_user(&self.pool, id, q).await
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
            .bind(at)
            .bind_id(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl UserDirectory for PgStore {
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
        if q.execute(&self.pool).await?.rows_affected() == 0 {
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
        let q = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(active)
            .bind_id(id);
        change_user(&self.pool, id, q).await
    }

    async fn delete_user(&self, id: DjangoId) -> Result<bool> {
        // Django's tables refer to the user without database-level actions (Django acts
        // in Python): do what its `on_delete` says before the row goes.
        if !self.users.accepts(id) {
            return Ok(false);
        }
        let mut tx = self.pool.begin().await?;
        for (stmt, table) in self.users.before_delete(Dialect::Postgres) {
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
        if r.rows_affected() == 1 {
            notify_user_changed(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }
}

#[async_trait]
impl TokenLedger for PgStore {
    async fn outstand(&self, t: &OutstandingToken) -> Result<()> {
        // Family, row and link in one statement, committed on its own: one round trip
        // where BEGIN, two inserts and COMMIT were four (the same writes as
        // `ledger::outstand`).
        ledger_sql::bind_row(
            sqlx::query(AssertSqlSafe(self.ledger_sql.outstand_one.clone())),
            t,
        )
        .bind(&t.user_key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        let hit: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id WHERE o.jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
    }

    async fn family_of(&self, jti: &str) -> Result<Option<Family>> {
        let row = sqlx::query(concat!(
            "SELECT f.id, f.user_id::int8, ",
            micros!("f.created_at"),
            ", ",
            micros!("f.revoked_at"),
            ", f.user_key FROM tessera_token_family f ",
            "JOIN tessera_token t ON t.family_id = f.id ",
            "JOIN token_blacklist_outstandingtoken o ON o.id = t.token_id WHERE o.jti = $1"
        ))
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Family {
            id: row.try_get(0)?,
            user_id: row.try_get(1)?,
            created_at: row.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            revoked_at: row.try_get(3)?,
            user_key: row.try_get(4)?,
        }))
    }

    async fn blacklist(&self, t: &OutstandingToken, at: i64) -> Result<Vec<RevokedFamily>> {
        let mut tx = self.pool.begin().await?;
        let revoked = ledger::blacklist(&mut self.ledger_tx(&mut tx), t, at).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn rotate(
        &self,
        old: &OutstandingToken,
        new: &OutstandingToken,
        times: RotationTimes,
    ) -> Result<RotateOutcome> {
        // The common case (the old token is on record and unspent) is one statement:
        // blacklist it, carry its family (or start one named after it) over to the new
        // token, record the new token. It goes to the group committer, which sends the
        // rotations waiting at the same moment as one statement with one commit, and
        // answers once that commit returned. When it wrote nothing, the general
        // algorithm decides (an unrecorded token, a repeat, a replay); a token whose
        // session was revoked meanwhile was spent there without a successor, and the
        // general algorithm then refuses it.
        let (reply, done) = tokio::sync::oneshot::channel();
        let job = group_commit::RotateJob {
            old_jti: old.jti.clone(),
            now: times.now,
            new: new.clone(),
            reply,
        };
        if self.rotations.send(job).await.is_ok() && done.await == Ok(true) {
            return Ok(RotateOutcome::Rotated);
        }
        let mut tx = self.pool.begin().await?;
        let (outcome, keep) = ledger::rotate(&mut self.ledger_tx(&mut tx), old, new, times).await?;
        if keep {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    async fn revoke_user(
        &self,
        user_key: &str,
        user_id: Option<i64>,
        at: i64,
    ) -> Result<Vec<RevokedFamily>> {
        let mut tx = self.pool.begin().await?;
        let revoked =
            ledger::revoke_user(&mut self.ledger_tx(&mut tx), user_key, user_id, at).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn record_login_client(
        &self,
        family: &str,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE tessera_token_family SET client_ip = $1, user_agent = $2 WHERE id = $3",
        )
        .bind(ip)
        .bind(user_agent)
        .bind(family)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn family_revoked(&self, id: &str) -> Result<bool> {
        let hit: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM tessera_token_family WHERE id = $1 AND revoked_at IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
    }

    async fn revoked_families_since(&self, since: i64) -> Result<Vec<RevokedFamily>> {
        let rows = sqlx::query(concat!(
            "SELECT id, ",
            micros!("revoked_at"),
            " FROM tessera_token_family WHERE revoked_at >= ",
            ts!("1")
        ))
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RevokedFamily {
                    id: r.try_get(0)?,
                    revoked_at: r.try_get::<Option<i64>, _>(1)?.unwrap_or(0),
                })
            })
            .collect()
    }

    async fn listen_revocations(&self, tx: UnboundedSender<RevocationEvent>) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(REVOCATION_CHANNEL).await?;
        let pool = self.pool.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        if let Some(ev) = parse_payload(n.payload())
                            && tx.send(ev).is_err()
                        {
                            return;
                        }
                        continue;
                    }
                    Ok(None) => tracing::warn!("revocation channel interrupted; reconnecting"),
                    Err(e) => tracing::warn!(error = %e, "revocation channel failed; reconnecting"),
                }
                // Until LISTEN is in place again, notifications are lost: say so at once,
                // and say when it is back, so the consumer reloads what it missed then
                // (not before: a reload before LISTEN could miss what comes between).
                if tx.send(RevocationEvent::Interrupted).is_err() {
                    return;
                }
                listener = loop {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    if tx.is_closed() {
                        return;
                    }
                    let fresh = async {
                        let mut l = PgListener::connect_with(&pool).await?;
                        l.listen(REVOCATION_CHANNEL).await?;
                        Ok::<_, sqlx::Error>(l)
                    };
                    if let Ok(l) = fresh.await {
                        break l;
                    }
                };
                if tx.send(RevocationEvent::Resync).is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    async fn flush_expired(&self, now: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut flushed = 0;
        loop {
            let n = delete_expired(&mut tx, now, 10_000).await?;
            if n == 0 {
                break;
            }
            flushed += n;
        }
        sqlx::query(concat!(
            "DELETE FROM tessera_token_family f WHERE NOT EXISTS (SELECT 1 FROM ",
            "tessera_token t WHERE t.family_id = f.id) ",
            "AND (f.revoked_at IS NULL OR f.revoked_at <= ",
            ts!("1"),
            ")"
        ))
        .bind(now.saturating_sub(86_400_000_000))
        .execute(&mut *tx)
        .await?;
        // Throttling windows long past carry no information any more.
        sqlx::query("DELETE FROM tessera_login_throttle WHERE window_start < $1")
            .bind(now.saturating_sub(86_400_000_000))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(flushed)
    }

    async fn count_expired(&self, now: i64) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM token_blacklist_outstandingtoken WHERE expires_at <= (TIMESTAMPTZ 'epoch' + $1::int8 * INTERVAL '1 microsecond')",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn flush_expired_batch(&self, now: i64, limit: u64) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let n = delete_expired(&mut tx, now, limit).await?;
        tx.commit().await?;
        Ok(n)
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
        let r = sqlx::query(
            "UPDATE token_blacklist_outstandingtoken \
             SET token = split_part(token, '.', 1) || '.' || split_part(token, '.', 2) \
             WHERE id IN (SELECT id FROM token_blacklist_outstandingtoken \
                          WHERE token LIKE '%.%.%' LIMIT $1)",
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
impl LoginThrottle for PgStore {
    async fn login_failures(
        &self,
        keys: &[String],
        now: i64,
        window: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        let mut out = Vec::new();
        for key in keys {
            let row: Option<(i64, i64)> = sqlx::query_as(
                "SELECT failures, window_start FROM tessera_login_throttle WHERE key = $1",
            )
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            out.extend(live_counter(key, row, now, window));
        }
        Ok(out)
    }

    async fn record_login_failure(&self, keys: &[String], now: i64, window: i64) -> Result<()> {
        for key in keys {
            sqlx::query(
                "INSERT INTO tessera_login_throttle (key, failures, window_start) VALUES ($1, 1, $2) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN tessera_login_throttle.window_start + $3 <= $2 THEN 1 \
                            ELSE tessera_login_throttle.failures + 1 END, \
                 window_start = CASE WHEN tessera_login_throttle.window_start + $3 <= $2 THEN $2 \
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
        sqlx::query("DELETE FROM tessera_login_throttle WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl SchemaProbe for &mut PgConnection {
    async fn table_exists(&mut self, table: &str) -> Result<bool> {
        let hit: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(table)
        .fetch_optional(&mut **self)
        .await?;
        Ok(hit.is_some())
    }

    async fn column_exists(&mut self, table: &str, column: &str) -> Result<bool> {
        Ok(self.column_type(table, column).await?.is_some())
    }

    async fn column_type(&mut self, table: &str, column: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
        )
        .bind(table)
        .bind(column)
        .fetch_optional(&mut **self)
        .await?)
    }
}

/// The versions already applied (none before the first migration).
async fn applied_versions(conn: &mut PgConnection) -> Result<Vec<i64>> {
    if !(&mut *conn).table_exists("tessera_migrations").await? {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM tessera_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?,
    )
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        if !self.users.table.is_django_default()
            && !(&mut *conn).table_exists(&self.users.table.table).await?
        {
            return Err(Error::BadUserTable(format!(
                "the user table {} does not exist in this database: a custom user table is \
                 the Django project's (run its migrate first), Tessera creates only auth_user",
                self.users.table.table
            )));
        }
        // One migrator at a time across instances starting together.
        sqlx::query("SELECT pg_advisory_lock(7261736573736574)")
            .execute(&mut *conn)
            .await?;
        let result = async {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS tessera_migrations (version int8 PRIMARY KEY, \
                 name text NOT NULL, applied_at timestamp with time zone NOT NULL DEFAULT now())",
            )
            .execute(&mut *conn)
            .await?;
            let mut applied = Vec::new();
            for m in POSTGRES {
                if applied_versions(&mut conn).await?.contains(&m.version) {
                    continue;
                }
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let parts = plan_parts(&mut &mut *tx, m, &self.users.table).await?;
                for part in parts.iter().filter(|p| p.runs) {
                    // The SQL is compiled into the binary; only validated identifiers of
                    // the user table are substituted into it.
                    sqlx::raw_sql(AssertSqlSafe(part.sql.clone()))
                        .execute(&mut *tx)
                        .await
                        .map_err(|source| Error::Migration {
                            version: m.version,
                            name: m.name,
                            source,
                        })?;
                }
                sqlx::query("INSERT INTO tessera_migrations (version, name) VALUES ($1, $2)")
                    .bind(m.version)
                    .bind(m.name)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                applied.push(m.name.to_owned());
            }
            Ok::<_, Error>(applied)
        }
        .await;
        sqlx::query("SELECT pg_advisory_unlock(7261736573736574)")
            .execute(&mut *conn)
            .await?;
        result
    }

    async fn pending_migrations(&self) -> Result<Vec<&'static str>> {
        let mut conn = self.pool.acquire().await?;
        let done = applied_versions(&mut conn).await?;
        Ok(POSTGRES
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
        let mut tx = self.pool.begin().await?;
        let q = bind_user(
            sqlx::query(AssertSqlSafe(sql.clone())),
            fields,
            &nu,
            u.id,
            u.last_login,
        );
        let copied = q.execute(&mut *tx).await?.rows_affected() == 1;
        if copied {
            // Ids were given, not drawn: the id sequence must start past them.
            let t = &self.users.table;
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST(max({id}), 1)) FROM {table}",
                id = crate::user_sql::quoted(&t.id),
                table = crate::user_sql::quoted(&t.table),
            )))
            .bind(&t.table)
            .bind(&t.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(copied)
    }

    async fn known_tokens(&self, jtis: &[String]) -> Result<(u64, u64)> {
        let row = sqlx::query(
            "SELECT count(o.id), count(b.id) FROM token_blacklist_outstandingtoken o \
             LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id \
             WHERE o.jti = ANY($1)",
        )
        .bind(jtis)
        .fetch_one(&self.pool)
        .await?;
        let (o, b): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        Ok((u64::try_from(o).unwrap_or(0), u64::try_from(b).unwrap_or(0)))
    }

    async fn copy_tokens(&self, tokens: &[(OutstandingToken, Option<i64>)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (t, blacklisted_at) in tokens {
            ledger::outstand(&mut self.ledger_tx(&mut tx), t).await?;
            if let Some(at) = blacklisted_at {
                // As Django wrote it: no reason of Tessera's.
                sqlx::query(concat!(
                    "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) ",
                    "SELECT ",
                    ts!("1"),
                    ", id FROM token_blacklist_outstandingtoken WHERE jti = $2 ",
                    "ON CONFLICT (token_id) DO NOTHING"
                ))
                .bind(*at)
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
        let row = sqlx::query(AssertSqlSafe(self.users.login_state.clone()))
            .bind(username)
            .bind(key1)
            .bind(key2)
            .fetch_one(&self.pool)
            .await?;
        let kind = self.users.table.id_kind;
        login_state_from_row(&row, [key1, key2], now, window, |r| user_from_row(r, kind))
    }
}

/// Throw-away databases for tests: each test gets its own, so runs never collide.
pub mod scratch {
    use sqlx::Connection as _;
    use sqlx::postgres::PgConnection;

    use crate::Result;

    /// The database URL tests use: `TEST_DATABASE_URL`, else the local server's `test`.
    pub fn admin_url() -> String {
        std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// `url` with its database name replaced by `db`.
    pub fn with_database(url: &str, db: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let base = match base[scheme_end..].find('/') {
            Some(i) => &base[..scheme_end + i],
            None => base,
        };
        match query {
            Some(q) => format!("{base}/{db}?{q}"),
            None => format!("{base}/{db}"),
        }
    }

    /// Creates a new, empty database named `name` on the server of `admin`; returns its URL.
    pub async fn create(admin: &str, name: &str) -> Result<String> {
        let mut conn = PgConnection::connect(admin).await?;
        let stmt = format!("CREATE DATABASE \"{name}\"");
        sqlx::raw_sql(sqlx::AssertSqlSafe(stmt))
            .execute(&mut conn)
            .await?;
        Ok(with_database(admin, name))
    }

    /// Drops the database `name` (closing its other connections first).
    pub async fn drop(admin: &str, name: &str) -> Result<()> {
        let mut conn = PgConnection::connect(admin).await?;
        let stmt = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(stmt))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn replaces_the_database() {
            assert_eq!(
                super::with_database("postgres://u@h:5432/test?sslmode=disable", "x"),
                "postgres://u@h:5432/x?sslmode=disable"
            );
            assert_eq!(
                super::with_database("postgres://u@h", "x"),
                "postgres://u@h/x"
            );
        }
    }
}
