//! Versioned migrations, embedded in the binary.
//!
//! A small runner of our own rather than `sqlx::migrate!`: that macro needs sqlx's
//! compile-time machinery (a second sqlx build for the host), and our needs are three:
//! apply in order, once, each in its own transaction.

/// One migration: its number, a name, and the SQL (several statements).
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// SQLite migrations, in order.
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_token_families",
        sql: include_str!("../migrations/sqlite/0002_token_families.sql"),
    },
    Migration {
        version: 3,
        name: "0003_login_throttle",
        sql: include_str!("../migrations/sqlite/0003_login_throttle.sql"),
    },
    Migration {
        version: 4,
        name: "0004_family_user_key",
        sql: include_str!("../migrations/sqlite/0004_family_user_key.sql"),
    },
];

/// PostgreSQL migrations, in order (same versions and names as SQLite's).
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_token_families",
        sql: include_str!("../migrations/postgres/0002_token_families.sql"),
    },
    Migration {
        version: 3,
        name: "0003_login_throttle",
        sql: include_str!("../migrations/postgres/0003_login_throttle.sql"),
    },
    Migration {
        version: 4,
        name: "0004_family_user_key",
        sql: include_str!("../migrations/postgres/0004_family_user_key.sql"),
    },
];
