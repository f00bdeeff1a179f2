//! The embedded SQLite store.
//!
//! Settings chosen for an auth ledger rather than for raw speed:
//! * WAL journal: readers (token checks) never wait for the writer (logins, rotations).
//! * `synchronous=FULL`: in WAL mode `NORMAL` may lose the last commits on power loss;
//!   a lost blacklisting would resurrect a revoked token, so every commit is fsynced.
//! * Write transactions start with `BEGIN IMMEDIATE`, taking the write lock up front, so
//!   concurrent rotations queue on the busy timeout instead of failing on a lock upgrade.
//! * Foreign keys on, so deleting a user nulls its ledger rows instead of orphaning them.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use tessera_core::User;
use tessera_core::clock::{django_datetime, parse_django_datetime};

use crate::migrations::SQLITE;
use crate::{
    Error, LedgerCounts, NewReview, NewUser, OutstandingToken, Result, Review, RotateOutcome, Store,
};

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
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`.
    pub async fn open(path: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
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

/// Inserts `t` unless its jti is known. The user reference is dropped when that user no
/// longer exists (Simple JWT resolves it the same way), so a stale token can still be
/// blacklisted after its user was deleted.
async fn insert_outstanding(tx: &mut sqlx::SqliteConnection, t: &OutstandingToken) -> Result<u64> {
    let r = sqlx::query(
        "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, user_id, jti) \
         VALUES (?1, ?2, ?3, (SELECT id FROM auth_user WHERE id = ?4), ?5) \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(&t.token)
    .bind(django_datetime(t.created_at))
    .bind(django_datetime(t.expires_at))
    .bind(t.user_id)
    .bind(&t.jti)
    .execute(&mut *tx)
    .await?;
    Ok(r.rows_affected())
}

/// Blacklists the outstanding row with `jti`; 0 rows when it already was.
async fn insert_blacklisted(tx: &mut sqlx::SqliteConnection, jti: &str, at: i64) -> Result<u64> {
    let r = sqlx::query(
        "INSERT INTO token_blacklist_blacklistedtoken (blacklisted_at, token_id) \
         SELECT ?1, id FROM token_blacklist_outstandingtoken WHERE jti = ?2 \
         ON CONFLICT (token_id) DO NOTHING",
    )
    .bind(django_datetime(at))
    .bind(jti)
    .execute(&mut *tx)
    .await?;
    Ok(r.rows_affected())
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

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query(select_users!("WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(select_users!("WHERE username = ?1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

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

    async fn outstand(&self, t: &OutstandingToken) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_outstanding(&mut conn, t).await?;
        Ok(())
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        let hit: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM token_blacklist_blacklistedtoken b \
             JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id WHERE o.jti = ?1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
    }

    async fn blacklist(&self, t: &OutstandingToken, at: i64) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        insert_outstanding(&mut tx, t).await?;
        let created = insert_blacklisted(&mut tx, &t.jti, at).await? == 1;
        tx.commit().await?;
        Ok(created)
    }

    async fn rotate(
        &self,
        old: &OutstandingToken,
        new: &OutstandingToken,
        at: i64,
    ) -> Result<RotateOutcome> {
        let mut tx = self.write_tx().await?;
        insert_outstanding(&mut tx, old).await?;
        if insert_blacklisted(&mut tx, &old.jti, at).await? == 0 {
            tx.rollback().await?;
            return Ok(RotateOutcome::AlreadyBlacklisted);
        }
        insert_outstanding(&mut tx, new).await?;
        tx.commit().await?;
        Ok(RotateOutcome::Rotated)
    }

    async fn flush_expired(&self, now: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM token_blacklist_outstandingtoken WHERE expires_at <= ?1")
            .bind(django_datetime(now))
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

    async fn list_reviews(&self) -> Result<Vec<Review>> {
        let rows = sqlx::query(
            "SELECT r.id, r.product, r.rating, r.comment, u.username, r.created_at \
             FROM api_review r JOIN auth_user u ON u.id = r.author_id ORDER BY r.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review_from_row).collect()
    }

    async fn create_review(&self, r: &NewReview) -> Result<Review> {
        let res = sqlx::query(
            "INSERT INTO api_review (product, rating, comment, created_at, author_id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&r.product)
        .bind(r.rating)
        .bind(&r.comment)
        .bind(django_datetime(r.created_at))
        .bind(r.author_id)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT r.id, r.product, r.rating, r.comment, u.username, r.created_at \
             FROM api_review r JOIN auth_user u ON u.id = r.author_id WHERE r.id = ?1",
        )
        .bind(res.last_insert_rowid())
        .fetch_one(&self.pool)
        .await?;
        review_from_row(&row)
    }
}

fn review_from_row(row: &SqliteRow) -> Result<Review> {
    let created: String = row.try_get(5)?;
    Ok(Review {
        id: row.try_get(0)?,
        product: row.try_get(1)?,
        rating: row.try_get(2)?,
        comment: row.try_get(3)?,
        author: row.try_get(4)?,
        created_at: parse_django_datetime(&created).unwrap_or(0),
    })
}
