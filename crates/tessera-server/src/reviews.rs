//! The demo API's product reviews (`api_review`): the reference project's own table,
//! which belongs to the server's demo and not to the library, so it keeps its own SQL
//! and its own (idempotent) migration here.

use sqlx::Row as _;
use tessera_core::clock::{django_datetime, parse_django_datetime};
use tessera_store::Database;

use crate::error::Result;

/// A product review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Primary key.
    pub id: i64,
    /// The product reviewed.
    pub product: String,
    /// 1 to 5.
    pub rating: i64,
    /// Free text, may be empty.
    pub comment: String,
    /// The author's username.
    pub author: String,
    /// Creation time, microseconds since the epoch.
    pub created_at: i64,
}

/// A review to create.
#[derive(Debug, Clone)]
pub struct NewReview {
    /// The product reviewed.
    pub product: String,
    /// 1 to 5 (validated by the caller).
    pub rating: i64,
    /// Free text.
    pub comment: String,
    /// The author's user id.
    pub author_id: i64,
    /// Creation time, microseconds since the epoch.
    pub created_at: i64,
}

/// The reviews table on the server's database.
#[derive(Debug, Clone)]
pub struct Reviews {
    db: Database,
}

const SELECT_SQLITE: &str = "SELECT r.id, r.product, r.rating, r.comment, u.username, r.created_at \
     FROM api_review r JOIN auth_user u ON u.id = r.author_id";
const SELECT_PG: &str = "SELECT r.id::int8, r.product, r.rating::int8, r.comment, u.username, \
     (EXTRACT(EPOCH FROM r.created_at) * 1000000)::int8 \
     FROM api_review r JOIN auth_user u ON u.id = r.author_id";

impl Reviews {
    /// The reviews of `db` (call [`Reviews::migrate`] once first).
    pub fn new(db: Database) -> Self {
        Reviews { db }
    }

    /// Creates the table when it is missing (idempotent; databases made before the demo
    /// had its own migration already have it).
    pub async fn migrate(&self) -> Result<()> {
        // A Django project's own `api_review` (the reference project has one) is used
        // as it is; the demo table refers to `auth_user`, so it needs the default users.
        if self.table_exists().await? || !self.db.store().user_table().is_django_default() {
            return Ok(());
        }
        // Constants compiled into the binary, never user input.
        let done = match &self.db {
            Database::Sqlite(s) => sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
                "../migrations/sqlite_reviews.sql"
            )))
            .execute(s.pool())
            .await
            .map(drop),
            Database::Postgres(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
                "../migrations/postgres_reviews.sql"
            )))
            .execute(p.pool())
            .await
            .map(drop),
        };
        done.map_err(tessera_store::Error::from)?;
        Ok(())
    }

    /// The database the reviews live in (the server's one database).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Whether `api_review` exists already.
    async fn table_exists(&self) -> Result<bool, tessera_store::Error> {
        let hit: Option<i32> = match &self.db {
            Database::Sqlite(s) => {
                sqlx::query_scalar(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'api_review'",
                )
                .fetch_optional(s.pool())
                .await?
            }
            Database::Postgres(p) => {
                sqlx::query_scalar(
                    "SELECT 1 FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = 'api_review'",
                )
                .fetch_optional(p.pool())
                .await?
            }
        };
        Ok(hit.is_some())
    }

    /// All reviews, oldest first, with their authors' usernames.
    pub async fn list(&self) -> Result<Vec<Review>, tessera_store::Error> {
        match &self.db {
            Database::Sqlite(s) => {
                let sql = format!("{SELECT_SQLITE} ORDER BY r.id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(s.pool())
                    .await?;
                rows.iter().map(sqlite_review).collect()
            }
            Database::Postgres(p) => {
                let sql = format!("{SELECT_PG} ORDER BY r.id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(p.pool())
                    .await?;
                rows.iter().map(pg_review).collect()
            }
        }
    }

    /// Creates a review and reads it back with its author's name.
    pub async fn create(&self, r: &NewReview) -> Result<Review, tessera_store::Error> {
        match &self.db {
            Database::Sqlite(s) => {
                let res = sqlx::query(
                    "INSERT INTO api_review (product, rating, comment, created_at, author_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .bind(&r.product)
                .bind(r.rating)
                .bind(&r.comment)
                .bind(django_datetime(r.created_at))
                .bind(r.author_id)
                .execute(s.pool())
                .await?;
                let sql = format!("{SELECT_SQLITE} WHERE r.id = ?1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(res.last_insert_rowid())
                    .fetch_one(s.pool())
                    .await?;
                sqlite_review(&row)
            }
            Database::Postgres(p) => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO api_review (product, rating, comment, created_at, author_id) \
                     VALUES ($1, $2::int2, $3, \
                     (TIMESTAMPTZ 'epoch' + $4::int8 * INTERVAL '1 microsecond'), $5::int8) \
                     RETURNING id::int8",
                )
                .bind(&r.product)
                .bind(r.rating)
                .bind(&r.comment)
                .bind(r.created_at)
                .bind(r.author_id)
                .fetch_one(p.pool())
                .await?;
                let sql = format!("{SELECT_PG} WHERE r.id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_one(p.pool())
                    .await?;
                pg_review(&row)
            }
        }
    }
}

fn sqlite_review(row: &sqlx::sqlite::SqliteRow) -> Result<Review, tessera_store::Error> {
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

fn pg_review(row: &sqlx::postgres::PgRow) -> Result<Review, tessera_store::Error> {
    Ok(Review {
        id: row.try_get(0)?,
        product: row.try_get(1)?,
        rating: row.try_get(2)?,
        comment: row.try_get(3)?,
        author: row.try_get(4)?,
        created_at: row.try_get::<Option<i64>, _>(5)?.unwrap_or(0),
    })
}
