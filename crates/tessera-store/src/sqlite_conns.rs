//! SQLite connections for the hot reads, handed out without sqlx's pool checks.
//!
//! Every SQLite statement is a message to the connection's own thread and an answer back,
//! so each one costs two thread wake-ups. sqlx's pool adds a `ping` (one more such round
//! trip) every time a connection goes back to it, meant to notice a dead network peer
//! and to flush an abandoned transaction. Neither applies here: an embedded connection
//! has no peer, these connections only run single statements outside transactions, and
//! a statement abandoned half way is reset by SQLite's thread itself. On a login that
//! ping was a third of the connection-thread wake-ups, taken from the CPU the password
//! hashes need.
//!
//! So the store's hottest reads (users, throttling counters, blacklist and family
//! lookups) take a connection from this small set instead: a semaphore bounds them, the
//! idle ones wait in a list, and returning one is pushing it back. A connection whose
//! thread died is dropped rather than returned; the next caller opens a fresh one.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::Result;

/// Up to `max` connections to one database, opened when first needed.
#[derive(Debug)]
pub(crate) struct Connections {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Semaphore,
    timeout: Duration,
}

/// A connection on loan; it goes back to the idle list when dropped.
pub(crate) struct Loan<'a> {
    conn: Option<SqliteConnection>,
    home: &'a Connections,
    _permit: SemaphorePermit<'a>,
}

impl Connections {
    /// At most `max` (at least one) connections opened with `options`; a caller waits at
    /// most `timeout` for one, then gets [`sqlx::Error::PoolTimedOut`] (answered 503).
    pub(crate) fn new(options: SqliteConnectOptions, max: u32, timeout: Duration) -> Self {
        Connections {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max.max(1) as usize),
            timeout,
        }
    }

    /// An idle connection, or a new one while fewer than `max` exist.
    pub(crate) async fn get(&self) -> Result<Loan<'_>> {
        let permit = tokio::time::timeout(self.timeout, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(Loan {
            conn: Some(conn),
            home: self,
            _permit: permit,
        })
    }
}

impl Loan<'_> {
    /// The connection, to run a statement on. (Only `kept` and `drop` take it out, and
    /// both end the loan, so the error cannot happen.)
    pub(crate) fn conn(&mut self) -> Result<&mut SqliteConnection> {
        Ok(self.conn.as_mut().ok_or(sqlx::Error::PoolClosed)?)
    }

    /// `result` as the store's result; a connection whose thread is gone (or whose file
    /// failed underneath it) is not handed out again.
    pub(crate) fn kept<T>(mut self, result: sqlx::Result<T>) -> Result<T> {
        if matches!(result, Err(sqlx::Error::WorkerCrashed | sqlx::Error::Io(_))) {
            self.conn = None;
        }
        Ok(result?)
    }
}

impl Drop for Loan<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.home
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr as _;

    use super::*;

    fn set(dir: &tempfile::TempDir, max: u32) -> Connections {
        let url = format!("sqlite://{}/c.sqlite3", dir.path().display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        Connections::new(options, max, Duration::from_millis(50))
    }

    fn idle(set: &Connections) -> usize {
        set.idle.lock().unwrap().len()
    }

    #[tokio::test]
    async fn a_returned_connection_is_reused_and_the_bound_holds() {
        let dir = tempfile::tempdir().unwrap();
        let set = set(&dir, 1);
        let mut loan = set.get().await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(loan.conn().unwrap())
            .await
            .unwrap();
        assert_eq!(one, 1);
        // The only connection is out: the next caller waits, then hears "unavailable".
        let refused = set.get().await.err().unwrap();
        assert!(refused.is_unavailable(), "{refused}");
        drop(loan);
        assert_eq!(idle(&set), 1);
        let mut again = set.get().await.unwrap();
        assert_eq!(idle(&set), 0, "the idle connection was handed out again");
        let r = sqlx::query_scalar::<_, i64>("SELECT 2")
            .fetch_one(again.conn().unwrap())
            .await;
        assert_eq!(again.kept(r).unwrap(), 2);
        assert_eq!(idle(&set), 1);
    }

    #[tokio::test]
    async fn a_connection_whose_thread_failed_is_not_returned() {
        let dir = tempfile::tempdir().unwrap();
        let set = set(&dir, 2);
        let loan = set.get().await.unwrap();
        let failed = loan.kept::<()>(Err(sqlx::Error::WorkerCrashed));
        assert!(failed.unwrap_err().is_unavailable());
        assert_eq!(idle(&set), 0, "the failed connection was dropped");
        // A statement error is the statement's, not the connection's: it goes back.
        let mut loan = set.get().await.unwrap();
        let bad = sqlx::query("SELECT * FROM no_such_table")
            .execute(loan.conn().unwrap())
            .await;
        assert!(loan.kept(bad).is_err());
        assert_eq!(idle(&set), 1);
    }
}
