//! A Django project's database read as the source of `tessera import-django`: its users
//! (hashes untouched) and its token ledger, page by page, without writing anything.

use sqlx::{AssertSqlSafe, Row as _};
use tessera_core::User;

use crate::inspect::{ReadOnly, connect};
use crate::migrations::SchemaProbe as _;
use crate::user_sql::{Dialect, UserSql};
use crate::user_table::UserTable;
use crate::{Error, OutstandingToken, Result, token_at_rest};

/// A recorded token of the source: its row id (for paging), the token, and when it was
/// blacklisted, if it was.
pub type SourceToken = (i64, OutstandingToken, Option<i64>);

/// A Django database opened read-only.
pub struct DjangoSource {
    db: ReadOnly,
    users: UserSql,
}

impl std::fmt::Debug for DjangoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DjangoSource")
            .field("users", &self.users.table.table)
            .finish()
    }
}

impl DjangoSource {
    /// Opens `url` read-only; its users are in `users`, and it must have them and Simple
    /// JWT's `token_blacklist` tables.
    pub async fn open(url: &str, users: &UserTable) -> Result<DjangoSource> {
        users.validate()?;
        let Some(mut db) = connect(url).await? else {
            return Err(Error::NoDatabase(url.to_owned()));
        };
        for table in [
            users.table.as_str(),
            "token_blacklist_outstandingtoken",
            "token_blacklist_blacklistedtoken",
        ] {
            if !db.table_exists(table).await? {
                return Err(Error::BadUserTable(format!(
                    "the source has no table {table}: is it the Django project's database \
                     (with rest_framework_simplejwt.token_blacklist installed)?"
                )));
            }
        }
        let mut users = users.clone();
        users.id_kind = db.id_kind(&users.table, &users.id).await?;
        let dialect = match db {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(_) => Dialect::Postgres,
        };
        Ok(DjangoSource {
            db,
            users: UserSql::new(users, dialect),
        })
    }

    /// Every user, by id.
    pub async fn users(&mut self) -> Result<Vec<User>> {
        let sql = AssertSqlSafe(self.users.list.clone());
        let kind = self.users.table.id_kind;
        match &mut self.db {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| crate::sqlite::user_from_row(r, kind))
                .collect(),
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| crate::postgres::user_from_row(r, kind))
                .collect(),
        }
    }

    /// Rows of the outstanding-token table, and of the blacklist.
    pub async fn token_counts(&mut self) -> Result<(i64, i64)> {
        Ok((
            self.db
                .number("SELECT count(*) FROM token_blacklist_outstandingtoken".into())
                .await?,
            self.db
                .number("SELECT count(*) FROM token_blacklist_blacklistedtoken".into())
                .await?,
        ))
    }

    /// Up to `limit` recorded tokens with a row id above `after`, in id order. Tokens are
    /// kept as Tessera keeps them at rest (no signature).
    pub async fn tokens_after(&mut self, after: i64, limit: i64) -> Result<Vec<SourceToken>> {
        let mut out = Vec::new();
        match &mut self.db {
            #[cfg(feature = "sqlite")]
            ReadOnly::Sqlite(c) => {
                let rows = sqlx::query(
                    "SELECT o.id, o.jti, o.token, o.created_at, o.expires_at, o.user_id, \
                     b.blacklisted_at FROM token_blacklist_outstandingtoken o \
                     LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id \
                     WHERE o.id > ?1 ORDER BY o.id LIMIT ?2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(c)
                .await?;
                let time = |v: Option<String>| -> Result<Option<i64>> {
                    crate::sqlite::parse_micros(v, "token_blacklist_outstandingtoken")
                };
                for r in rows {
                    let t = token(
                        r.try_get(1)?,
                        r.try_get(2)?,
                        time(r.try_get(3)?)?,
                        time(r.try_get(4)?)?,
                        r.try_get(5)?,
                    );
                    out.push((r.try_get(0)?, t, time(r.try_get(6)?)?));
                }
            }
            #[cfg(feature = "postgres")]
            ReadOnly::Postgres(c) => {
                let rows = sqlx::query(
                    "SELECT o.id, o.jti, o.token, \
                     (EXTRACT(EPOCH FROM o.created_at) * 1000000)::int8, \
                     (EXTRACT(EPOCH FROM o.expires_at) * 1000000)::int8, o.user_id::int8, \
                     (EXTRACT(EPOCH FROM b.blacklisted_at) * 1000000)::int8 \
                     FROM token_blacklist_outstandingtoken o \
                     LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id \
                     WHERE o.id > $1 ORDER BY o.id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(c)
                .await?;
                for r in rows {
                    let t = token(
                        r.try_get(1)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                        r.try_get(4)?,
                        r.try_get(5)?,
                    );
                    out.push((r.try_get(0)?, t, r.try_get(6)?));
                }
            }
        }
        Ok(out)
    }
}

fn token(
    jti: String,
    token: String,
    created: Option<i64>,
    expires: Option<i64>,
    user_id: Option<i64>,
) -> OutstandingToken {
    OutstandingToken {
        token: token_at_rest(&token).to_owned(),
        created_at: created.unwrap_or(0),
        expires_at: expires.unwrap_or(0),
        user_key: user_id.map(|id| id.to_string()),
        user_id,
        jti,
        family_id: None,
    }
}
