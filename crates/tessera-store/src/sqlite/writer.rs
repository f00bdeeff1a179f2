//! The ledger's group-commit writer: one task, one connection, every ledger write of the
//! store. Concurrent writes are committed together (one fsync per batch), and each caller
//! hears back only after the batch it was in has committed.

use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};
use tokio::sync::{mpsc, oneshot};

use super::ledger_sql::{LedgerSql, Tx, bind_row, rotate_fast};
use crate::{Error, OutstandingToken, Result, RevokedFamily, RotateOutcome, RotationTimes, ledger};

/// A ledger write for the group-commit writer.
#[derive(Debug)]
pub(super) enum WriteOp {
    Outstand(OutstandingToken),
    Blacklist(OutstandingToken, i64),
    Rotate(OutstandingToken, OutstandingToken, RotationTimes),
    /// Where a session was started from: family, client address, user agent.
    LoginClient(String, Option<String>, Option<String>),
}

/// What a ledger write produced.
#[derive(Debug)]
pub(super) enum WriteResult {
    Done,
    Revoked(Vec<RevokedFamily>),
    Rotated(RotateOutcome),
}

pub(super) struct WriteJob {
    op: WriteOp,
    reply: oneshot::Sender<Result<WriteResult>>,
}

/// Most ledger writes committed together.
pub(super) const MAX_BATCH: usize = 128;

pub(super) fn writer_mixup() -> Error {
    Error::BadRow {
        table: "ledger",
        message: "the writer answered another kind of write".into(),
    }
}

fn writer_gone() -> Error {
    Error::Database(sqlx::Error::WorkerCrashed)
}

/// Runs one write inside the open batch transaction. `Ok((result, keep))`: when `keep`
/// is false the write's changes are rolled back (a refused rotation leaves no trace).
async fn apply(
    conn: &mut sqlx::SqliteConnection,
    sql: &LedgerSql,
    op: &WriteOp,
) -> Result<(WriteResult, bool)> {
    let conn = &mut Tx { conn, sql };
    match op {
        WriteOp::Outstand(t) => {
            ledger::outstand(conn, t).await?;
            Ok((WriteResult::Done, true))
        }
        WriteOp::Blacklist(t, at) => Ok((
            WriteResult::Revoked(ledger::blacklist(conn, t, *at).await?),
            true,
        )),
        WriteOp::Rotate(old, new, times) => {
            if rotate_fast(conn.conn, sql, old, new, times.now).await? {
                return Ok((WriteResult::Rotated(RotateOutcome::Rotated), true));
            }
            let (outcome, keep) = ledger::rotate(conn, old, new, *times).await?;
            Ok((WriteResult::Rotated(outcome), keep))
        }
        WriteOp::LoginClient(family, ip, agent) => {
            sqlx::query(
                "UPDATE tessera_token_family SET client_ip = ?1, user_agent = ?2 WHERE id = ?3",
            )
            .bind(ip)
            .bind(agent)
            .bind(family)
            .execute(&mut *conn.conn)
            .await?;
            Ok((WriteResult::Done, true))
        }
    }
}

/// The group-commit writer: takes every ledger write waiting (up to [`MAX_BATCH`]),
/// runs each in a savepoint of one `BEGIN IMMEDIATE` transaction, commits once (one
/// fsync for the batch), and only then answers each caller. Durability is unchanged:
/// no caller hears "done" before its write is on disk; throughput under concurrency
/// rises because the fsync is shared.
///
/// It keeps a connection of its own rather than borrowing one from the pool per batch
/// (which costs a round trip to SQLite's thread on every return). After a batch that
/// failed as a whole, that connection's state is unknown, so it is closed (rolling back
/// whatever was open) and the next batch opens a fresh one.
pub(super) async fn writer_loop(
    options: SqliteConnectOptions,
    conn: SqliteConnection,
    mut rx: mpsc::Receiver<WriteJob>,
    sql: Arc<LedgerSql>,
) {
    let mut conn = Some(conn);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = match conn.take() {
            Some(c) => run_batch(conn.insert(c), &sql, &batch).await,
            None => match options.connect().await {
                Ok(c) => run_batch(conn.insert(c), &sql, &batch).await,
                Err(e) => Err(e.into()),
            },
        };
        match results {
            Ok(results) => {
                for (job, r) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
            }
            Err(e) => {
                conn = None;
                let msg = e.to_string();
                tracing::error!(error = %msg, writes = batch.len(), "ledger batch failed");
                for job in batch {
                    let _ = job
                        .reply
                        .send(Err(Error::Database(sqlx::Error::Protocol(msg.clone()))));
                }
            }
        }
    }
}

/// One batch on the writer's connection. `Err` means the batch failed as a whole and
/// the connection may be mid-transaction; `Ok` holds each write's own outcome.
async fn run_batch(
    conn: &mut SqliteConnection,
    sql: &LedgerSql,
    batch: &[WriteJob],
) -> Result<Vec<Result<WriteResult>>> {
    if let [job] = batch
        && let WriteOp::Outstand(t) = &job.op
        && t.family_id.is_some()
    {
        return Ok(vec![
            outstand_alone(conn, sql, t)
                .await?
                .map(|()| WriteResult::Done),
        ]);
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    // A lone write (the usual case when load is light) needs no savepoint: refusing it
    // is rolling back the whole transaction. Two statements fewer, each a round trip to
    // SQLite's thread.
    if let [job] = batch {
        return Ok(vec![match apply(&mut tx, sql, &job.op).await {
            Ok((r, true)) => {
                tx.commit().await?;
                Ok(r)
            }
            Ok((r, false)) => {
                tx.rollback().await?;
                Ok(r)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }]);
    }
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        sqlx::query("SAVEPOINT w").execute(&mut *tx).await?;
        match apply(&mut tx, sql, &job.op).await {
            Ok((r, true)) => {
                sqlx::query("RELEASE w").execute(&mut *tx).await?;
                results.push(Ok(r));
            }
            Ok((r, false)) => {
                sqlx::query("ROLLBACK TO w").execute(&mut *tx).await?;
                sqlx::query("RELEASE w").execute(&mut *tx).await?;
                results.push(Ok(r));
            }
            Err(e) => {
                sqlx::query("ROLLBACK TO w").execute(&mut *tx).await?;
                sqlx::query("RELEASE w").execute(&mut *tx).await?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// A login's ledger entry (its family, then its row) when nothing else is waiting: the
/// whole transaction, `BEGIN` to `COMMIT`, in one round trip to SQLite's thread instead
/// of four. The same statements as [`insert_outstanding`]; if any fails the transaction
/// is rolled back and the write's error is the inner one. The outer error says the
/// rollback failed too, so the connection must not be used again.
async fn outstand_alone(
    conn: &mut SqliteConnection,
    sql: &LedgerSql,
    t: &OutstandingToken,
) -> Result<Result<()>> {
    let done = bind_row(
        sqlx::query(sqlx::AssertSqlSafe(sql.outstand_alone.clone())),
        t,
    )
    .execute(&mut *conn)
    .await;
    if let Err(e) = done {
        // Fails harmlessly when `BEGIN` itself failed (nothing is open then); any other
        // failure leaves the connection to be replaced.
        if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await
            && !rollback.to_string().contains("no transaction is active")
        {
            return Err(e.into());
        }
        return Ok(Err(e.into()));
    }
    Ok(Ok(()))
}

impl std::fmt::Debug for WriteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteJob")
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

/// Hands `op` to the writer behind `writer` and waits for its committed result.
pub(super) async fn submit(writer: &mpsc::Sender<WriteJob>, op: WriteOp) -> Result<WriteResult> {
    let (reply, answer) = oneshot::channel();
    writer
        .send(WriteJob { op, reply })
        .await
        .map_err(|_| writer_gone())?;
    answer.await.map_err(|_| writer_gone())?
}
