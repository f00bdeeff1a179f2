//! What a database holds, read without writing anything: for `tessera check` and
//! `tessera migrate --plan` on a Django project's database before Tessera touches it.
//!
//! The connection is opened read-only (SQLite `mode=ro`, and no journal-mode change; on
//! PostgreSQL a session in `default_transaction_read_only`), so even a mistake here
//! cannot write.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, ConnectOptions as _};

use crate::migrations::{Migration, PlannedPart, SchemaProbe, plan_parts};
use crate::user_sql::quoted;
use crate::user_table::UserTable;
use crate::{Error, Result};

/// A database as found.
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    /// Django has migrated this database (`django_migrations` exists).
    pub django_project: bool,
    /// The user table exists.
    pub user_table_exists: bool,
    /// The user table's key type (integers unless the table keys by UUID).
    pub id_kind: crate::user_table::IdKind,
    /// Configured columns the user table lacks, as `(field, column)`.
    pub missing_columns: Vec<(&'static str, String)>,
    /// Users, and how many are active (when the table can be read).
    pub users: Option<(i64, i64)>,
    /// Password hash formats in use: `(algorithm, users)`; `!` is Django's unusable
    /// password, `?` text in no known format.
    pub hashers: Vec<(String, i64)>,
    /// Rows of `token_blacklist_outstandingtoken` and `token_blacklist_blacklistedtoken`
    /// (when those tables exist).
    pub tokens: Option<(i64, i64)>,
    /// Tessera migrations already applied.
    pub applied: Vec<i64>,
    /// What `migrate` would do, part by part.
    pub plan: Vec<PlannedPart>,
}

/// A read-only connection to one of the two databases.
pub(crate) enum ReadOnly {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
}

#[async_trait]
impl SchemaProbe for ReadOnly {
    async fn table_exists(&mut self, table: &str) -> Result<bool> {
        match self {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(c) => (&mut *c).table_exists(table).await,
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(c) => (&mut *c).table_exists(table).await,
        }
    }

    async fn column_exists(&mut self, table: &str, column: &str) -> Result<bool> {
        Ok(self.column_type(table, column).await?.is_some())
    }

    async fn column_type(&mut self, table: &str, column: &str) -> Result<Option<String>> {
        match self {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(c) => (&mut *c).column_type(table, column).await,
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(c) => (&mut *c).column_type(table, column).await,
        }
    }
}

impl ReadOnly {
    /// Rows of `(text, count)` from `sql`.
    async fn counts(&mut self, sql: String) -> Result<Vec<(String, i64)>> {
        Ok(match self {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(c) => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(c).await?,
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(c) => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(c).await?,
        })
    }

    /// One integer from `sql`.
    pub(crate) async fn number(&mut self, sql: String) -> Result<i64> {
        Ok(match self {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(c) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(c).await?,
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(c) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(c).await?,
        })
    }

    fn migrations(&self) -> &'static [Migration] {
        match self {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(_) => crate::migrations::SQLITE,
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(_) => crate::migrations::POSTGRES,
        }
    }

    /// The literal for true.
    fn truth(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(_) => "1",
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(_) => "TRUE",
        }
    }

    /// `CASE … END`: the algorithm of a Django password hash in column `col`.
    fn algorithm_of(&self, col: &str) -> String {
        let prefix = match self {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(_) => format!("substr({col}, 1, instr({col}, '$') - 1)"),
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(_) => format!("split_part({col}, '$', 1)"),
        };
        format!(
            "CASE WHEN {col} LIKE '!%' THEN '!' WHEN {col} LIKE '%$%' THEN {prefix} ELSE '?' END"
        )
    }
}

/// Opens `url` read-only. `Ok(None)` for a SQLite file that does not exist yet.
pub(crate) async fn connect(url: &str) -> Result<Option<ReadOnly>> {
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(url)?
            .options([("default_transaction_read_only", "on")]);
        return Ok(Some(ReadOnly::Postgres(options.connect().await?)));
    }
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") || !url.contains("://") {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if !std::path::Path::new(path).exists() {
            return Ok(None);
        }
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .read_only(true);
        return Ok(Some(ReadOnly::Sqlite(options.connect().await?)));
    }
    Err(Error::UnsupportedUrl(url.to_owned()))
}

/// Reads what the database at `url` holds for Tessera with users in `users`, and what
/// `migrate` would do to it. `Ok(None)` when it is a SQLite file that does not exist
/// yet. Writes nothing.
pub async fn inspect(url: &str, users: &UserTable) -> Result<Option<Inspection>> {
    users.validate()?;
    let Some(mut db) = connect(url).await? else {
        return Ok(None);
    };
    let mut found = Inspection {
        django_project: db.table_exists("django_migrations").await?,
        user_table_exists: db.table_exists(&users.table).await?,
        ..Inspection::default()
    };
    if found.user_table_exists {
        found.id_kind = db.id_kind(&users.table, &users.id).await?;
        for (field, column) in users.columns() {
            if !db.column_exists(&users.table, column).await? {
                found.missing_columns.push((field, column.to_owned()));
            }
        }
    }
    let t = quoted(&users.table);
    if found.user_table_exists && found.missing_columns.is_empty() {
        let total = db.number(format!("SELECT count(*) FROM {t}")).await?;
        let active = match &users.is_active {
            Some(c) => {
                db.number(format!(
                    "SELECT count(*) FROM {t} WHERE {} = {}",
                    quoted(c),
                    db.truth()
                ))
                .await?
            }
            None => total,
        };
        found.users = Some((total, active));
        let alg = db.algorithm_of(&quoted(&users.password));
        found.hashers = db
            .counts(format!(
                "SELECT {alg} AS a, count(*) FROM {t} GROUP BY a ORDER BY count(*) DESC, a"
            ))
            .await?;
    }
    if db.table_exists("token_blacklist_outstandingtoken").await?
        && db.table_exists("token_blacklist_blacklistedtoken").await?
    {
        found.tokens = Some((
            db.number("SELECT count(*) FROM token_blacklist_outstandingtoken".into())
                .await?,
            db.number("SELECT count(*) FROM token_blacklist_blacklistedtoken".into())
                .await?,
        ));
    }
    if db.table_exists("tessera_migrations").await? {
        found.applied = db
            .counts("SELECT name, version FROM tessera_migrations ORDER BY version".into())
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
    }
    for m in db.migrations() {
        if !found.applied.contains(&m.version) {
            found.plan.extend(plan_parts(&mut db, m, users).await?);
        }
    }
    Ok(Some(found))
}
