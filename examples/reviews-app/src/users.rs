//! The app's own users: its table (`members`), its columns, its integer ids. Tessera
//! reads them through these two small impls and nothing else.

use sqlx::{Row as _, SqlitePool};
use tessera_core::AuthUser;
use tessera_store::{UserStore, async_trait};

/// A row of `members`. Logging in is by e-mail address.
#[derive(Debug, Clone)]
pub struct Member {
    /// Primary key.
    pub id: i64,
    /// The login name.
    pub email: String,
    /// A Django-format hash, written by Tessera's hasher.
    pub password_hash: String,
    /// Suspended members cannot log in, and their tokens stop working.
    pub active: bool,
}

impl AuthUser for Member {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
    fn username(&self) -> &str {
        &self.email
    }
    fn password_hash(&self) -> &str {
        &self.password_hash
    }
    fn is_active(&self) -> bool {
        self.active
    }
}

/// The `members` table.
#[derive(Debug, Clone)]
pub struct Members(pub SqlitePool);

#[async_trait]
impl UserStore for Members {
    type User = Member;

    async fn user_by_id(&self, id: i64) -> tessera_store::Result<Option<Member>> {
        let row = sqlx::query("SELECT id, email, password_hash, active FROM members WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.0)
            .await?;
        Ok(row.map(|r| member(&r)).transpose()?)
    }

    async fn user_by_username(&self, email: &str) -> tessera_store::Result<Option<Member>> {
        let row =
            sqlx::query("SELECT id, email, password_hash, active FROM members WHERE email = ?1")
                .bind(email)
                .fetch_optional(&self.0)
                .await?;
        Ok(row.map(|r| member(&r)).transpose()?)
    }

    async fn set_password(&self, id: i64, hash: &str) -> tessera_store::Result<bool> {
        let done = sqlx::query("UPDATE members SET password_hash = ?1 WHERE id = ?2")
            .bind(hash)
            .bind(id)
            .execute(&self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn member(r: &sqlx::sqlite::SqliteRow) -> Result<Member, sqlx::Error> {
    Ok(Member {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        active: r.try_get(3)?,
    })
}

impl Members {
    /// Creates the app's tables (its own schema, nothing of Django's).
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS members (\
                id INTEGER PRIMARY KEY AUTOINCREMENT, \
                email TEXT NOT NULL UNIQUE, \
                password_hash TEXT NOT NULL, \
                active BOOLEAN NOT NULL DEFAULT 1); \
             CREATE TABLE IF NOT EXISTS reviews (\
                id INTEGER PRIMARY KEY AUTOINCREMENT, \
                member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE, \
                product TEXT NOT NULL, \
                rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5), \
                comment TEXT NOT NULL)",
        )
        .execute(&self.0)
        .await?;
        Ok(())
    }

    /// A new member; `None` when the e-mail address is taken.
    pub async fn create(&self, email: &str, hash: &str) -> Result<Option<Member>, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO members (email, password_hash) VALUES (?1, ?2) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(email)
        .bind(hash)
        .execute(&self.0)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(Member {
            id: done.last_insert_rowid(),
            email: email.to_owned(),
            password_hash: hash.to_owned(),
            active: true,
        }))
    }

    /// Suspends or restores a member.
    pub async fn set_active(&self, id: i64, active: bool) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE members SET active = ?1 WHERE id = ?2")
            .bind(active)
            .bind(id)
            .execute(&self.0)
            .await?;
        Ok(())
    }
}
