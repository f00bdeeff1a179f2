//! Versioned migrations, embedded in the binary, that share a database with Django.
//!
//! A small runner of our own rather than `sqlx::migrate!`: that macro needs sqlx's
//! compile-time machinery (a second sqlx build for the host), and we need more than
//! "apply in order, once": a migration is made of parts, and some parts run only when
//! the database is in a given state. Django's tables (`auth_user`, `token_blacklist_*`)
//! are created only when missing, indexes are added only to tables Tessera created, and
//! data written by older Tessera versions is copied only where it exists. So Tessera
//! never alters, rebuilds or drops a table a Django project made, and `tessera migrate
//! --plan` can say beforehand exactly what would run.

use async_trait::async_trait;

use crate::Result;
use crate::user_table::{IdKind, UserTable};

/// When a part of a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Always.
    Always,
    /// Only with Django's default user table (`auth_user`), when it does not exist.
    DefaultUserTableAbsent,
    /// Only when this table does not exist yet (Tessera creates it and what goes with it).
    Absent(&'static str),
    /// Only when this table has this column (data of an older Tessera to carry over).
    HasColumn(&'static str, &'static str),
}

/// One part of a migration.
#[derive(Debug)]
pub(crate) struct Part {
    pub when: When,
    pub sql: &'static str,
}

/// One migration: its number, a name, and its parts, run in order in one transaction.
#[derive(Debug)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub parts: &'static [Part],
}

/// What a database says about its own schema.
#[async_trait]
pub(crate) trait SchemaProbe: Send {
    async fn table_exists(&mut self, table: &str) -> Result<bool>;
    async fn column_exists(&mut self, table: &str, column: &str) -> Result<bool>;
    /// The declared type of a column, lower-case (`None` when there is no such column).
    async fn column_type(&mut self, table: &str, column: &str) -> Result<Option<String>>;
    /// Whether a user table's key holds integers or UUIDs, read off its column type:
    /// Django makes a `UUIDField` a `uuid` on PostgreSQL and a `char(32)` on SQLite.
    /// A table that does not exist yet will be Django's `auth_user`: integers.
    async fn id_kind(&mut self, table: &str, column: &str) -> Result<IdKind> {
        Ok(match self.column_type(table, column).await?.as_deref() {
            Some("uuid" | "char(32)") => IdKind::Uuid,
            _ => IdKind::Integer,
        })
    }
}

/// A part of a pending migration, decided against the database as it is now.
#[derive(Debug, Clone)]
pub struct PlannedPart {
    /// The migration's name (`0001_initial`).
    pub migration: &'static str,
    /// Whether it would run.
    pub runs: bool,
    /// Why not, when it would not.
    pub skipped_because: Option<String>,
    /// Its statements, one line each, comments dropped (for `migrate --plan`).
    pub statements: Vec<String>,
    /// The SQL, with the user table substituted.
    pub(crate) sql: String,
}

/// Decides each part of `m` against the database. Parts are decided before any runs: a
/// table a part creates does not hide the parts that go with it.
pub(crate) async fn plan_parts<P: SchemaProbe + ?Sized>(
    probe: &mut P,
    m: &Migration,
    users: &UserTable,
) -> Result<Vec<PlannedPart>> {
    let mut out = Vec::new();
    for part in m.parts {
        let skipped_because = match part.when {
            When::Always => None,
            When::DefaultUserTableAbsent if !users.is_django_default() => {
                Some(format!("the users are in {}, not auth_user", users.table))
            }
            When::DefaultUserTableAbsent => probe
                .table_exists("auth_user")
                .await?
                .then(|| "auth_user exists: it is used as it is, never altered".to_owned()),
            When::Absent(table) => probe
                .table_exists(table)
                .await?
                .then(|| format!("{table} exists: it is used as it is, never altered")),
            When::HasColumn(table, column) => (!probe.column_exists(table, column).await?)
                .then(|| format!("{table} has no column {column}: nothing to copy")),
        };
        let sql = for_user_table(part.sql, users);
        out.push(PlannedPart {
            migration: m.name,
            runs: skipped_because.is_none(),
            skipped_because,
            statements: statements(&sql),
            sql,
        });
    }
    Ok(out)
}

/// The SQL for the configured user table: with another table than `auth_user`, Tessera's
/// own user references carry no foreign key (that table's key may not even be an
/// integer; Tessera names those users by key in `tessera_token_family.user_key`).
fn for_user_table(sql: &str, users: &UserTable) -> String {
    if users.is_django_default() {
        return sql.to_owned();
    }
    sql.replace(" REFERENCES \"auth_user\" (\"id\") ON DELETE SET NULL", "")
}

/// Each statement of `sql` on one line, without comments.
fn statements(sql: &str) -> Vec<String> {
    let code: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    code.split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

macro_rules! migrations {
    ($dir:literal) => {
        &[
            Migration {
                version: 1,
                name: "0001_initial",
                parts: &[
                    Part {
                        when: When::DefaultUserTableAbsent,
                        sql: include_str!(concat!("../migrations/", $dir, "/0001_auth_user.sql")),
                    },
                    Part {
                        when: When::Absent("token_blacklist_outstandingtoken"),
                        sql: include_str!(concat!(
                            "../migrations/",
                            $dir,
                            "/0001_token_blacklist.sql"
                        )),
                    },
                    Part {
                        when: When::Absent("token_blacklist_outstandingtoken"),
                        sql: include_str!(concat!(
                            "../migrations/",
                            $dir,
                            "/0001_token_blacklist_indexes.sql"
                        )),
                    },
                ],
            },
            Migration {
                version: 2,
                name: "0002_token_families",
                parts: &[Part {
                    when: When::Always,
                    sql: include_str!(concat!("../migrations/", $dir, "/0002_token_families.sql")),
                }],
            },
            Migration {
                version: 3,
                name: "0003_login_throttle",
                parts: &[Part {
                    when: When::Always,
                    sql: include_str!(concat!("../migrations/", $dir, "/0003_login_throttle.sql")),
                }],
            },
            Migration {
                version: 4,
                name: "0004_family_user_key",
                parts: &[Part {
                    when: When::Always,
                    sql: include_str!(concat!("../migrations/", $dir, "/0004_family_user_key.sql")),
                }],
            },
            Migration {
                version: 5,
                name: "0005_tessera_token_tables",
                parts: &[
                    Part {
                        when: When::Always,
                        sql: include_str!(concat!(
                            "../migrations/",
                            $dir,
                            "/0005_tessera_token_tables.sql"
                        )),
                    },
                    Part {
                        when: When::HasColumn("token_blacklist_outstandingtoken", "family_id"),
                        sql: include_str!(concat!(
                            "../migrations/",
                            $dir,
                            "/0005_copy_legacy_columns.sql"
                        )),
                    },
                ],
            },
            Migration {
                version: 6,
                name: "0006_admin",
                parts: &[Part {
                    when: When::Always,
                    sql: include_str!(concat!("../migrations/", $dir, "/0006_admin.sql")),
                }],
            },
            Migration {
                version: 7,
                name: "0007_signing_keys",
                parts: &[Part {
                    when: When::Always,
                    sql: include_str!(concat!("../migrations/", $dir, "/0007_signing_keys.sql")),
                }],
            },
        ]
    };
}

/// SQLite migrations, in order.
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE: &[Migration] = migrations!("sqlite");

/// PostgreSQL migrations, in order (same versions and names as SQLite's).
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_one_line_each_without_comments() {
        let s = statements(
            "-- a comment\nCREATE TABLE x (\n  a int -- why\n);\nCREATE INDEX i ON x (a);\n",
        );
        assert_eq!(s, ["CREATE TABLE x ( a int )", "CREATE INDEX i ON x (a)"]);
    }

    #[test]
    fn no_foreign_key_to_another_user_table() {
        let t = UserTable::named("accounts_user");
        let sql = r#""user_id" integer NULL REFERENCES "auth_user" ("id") ON DELETE SET NULL,"#;
        assert_eq!(for_user_table(sql, &t), r#""user_id" integer NULL,"#);
        assert_eq!(for_user_table(sql, &UserTable::default()), sql);
        #[cfg(all(feature = "sqlite", feature = "postgres"))]
        for m in [SQLITE, POSTGRES] {
            for part in m.iter().flat_map(|m| m.parts) {
                let sql = for_user_table(part.sql, &t);
                assert!(!sql.contains(r#"REFERENCES "auth_user""#), "{sql}");
            }
        }
    }
}
