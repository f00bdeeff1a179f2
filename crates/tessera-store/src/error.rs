//! The one error type of `tessera-store`.

/// Everything that can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or answered with an error. The message is for
    /// logs only: it may name tables, never values.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// `create_user` with a username that exists.
    #[error("a user named {0:?} already exists")]
    UsernameTaken(String),
    /// `DATABASE_URL` is not something this build can open.
    #[error(
        "unsupported DATABASE_URL {0:?}: use sqlite://PATH or postgres://user@host/db (each needs its feature of tessera-store)"
    )]
    UnsupportedUrl(String),
    /// A database to read (not to create) does not exist.
    #[error("no database at {0}")]
    NoDatabase(String),
    /// A migration failed; the database is left at the previous version.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// The migration's number.
        version: i64,
        /// Its file name.
        name: &'static str,
        /// The database's complaint.
        source: sqlx::Error,
    },
    /// The user table settings name something unusable (not an identifier, a table
    /// that does not exist, a field the table lacks).
    #[error("user table: {0}")]
    BadUserTable(String),
    /// A stored value could not be read back (a corrupt or foreign row).
    #[error("bad row in {table}: {message}")]
    BadRow {
        /// Table name.
        table: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl Error {
    /// True when the database is unreachable or overloaded (answer 503 and retry later),
    /// rather than a bug or bad data.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Database(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::WorkerCrashed
            )
        ) || matches!(self, Error::Database(sqlx::Error::Database(e)) if e.message().contains("database is locked"))
    }
}

impl Error {
    /// True when the database refused a value (PostgreSQL's SQLSTATE class 22, "data
    /// exception": a NUL in text, a string too long for its column, a number out of
    /// range): the request was bad, not the server. The web layer validates inputs so
    /// that this does not happen; this is the net under that.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::Database(e))
            if e.code().is_some_and(|c| c.starts_with("22")))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
