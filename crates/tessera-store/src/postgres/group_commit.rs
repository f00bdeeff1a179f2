//! Group commit for rotations on PostgreSQL: the rotations waiting at one moment run in
//! one transaction on one connection and share its `COMMIT`, and each caller hears back
//! only after that commit returned (durability unchanged, `synchronous_commit` as the
//! server has it). Measured here, PostgreSQL's own CPU per commit, not the rows written,
//! bounds rotating refreshes; sharing commits is what raises the ceiling.
//!
//! Only the common case is batched: the one-statement rotation of a recorded, unspent
//! token ([`LedgerSql::rotate_fast`]), which never fails on a conflict (it writes
//! nothing instead). Two rotations of one token in a batch: the second sees the first's
//! row and writes nothing, so exactly one rotates. A job that wrote nothing is answered
//! "not done" and its caller runs the general algorithm on its own, after the commit. If
//! the batch fails as a whole, every job is answered "not done" the same way: nothing of
//! it was committed.

use std::sync::Arc;

use sqlx::{AssertSqlSafe, PgPool};
use tokio::sync::{mpsc, oneshot};

use super::ledger_sql::{LedgerSql, bind_row};
use crate::{OutstandingToken, Result};

/// Most rotations in one transaction.
const MAX_BATCH: usize = 64;

/// One rotation for the group committer.
pub(super) struct RotateJob {
    pub old_jti: String,
    pub now: i64,
    pub new: OutstandingToken,
    /// `true`: rotated and committed; `false`: nothing written, decide alone.
    pub reply: oneshot::Sender<bool>,
}

/// Starts the committer; rotations are sent to the returned channel.
pub(super) fn start(pool: PgPool, sql: Arc<LedgerSql>) -> mpsc::Sender<RotateJob> {
    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
    tokio::spawn(committer(pool, sql, rx));
    tx
}

async fn committer(pool: PgPool, sql: Arc<LedgerSql>, mut rx: mpsc::Receiver<RotateJob>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let done = match run(&pool, &sql, &batch).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, rotations = batch.len(), "rotation batch failed; each runs alone");
                vec![false; batch.len()]
            }
        };
        for (job, ok) in batch.into_iter().zip(done) {
            let _ = job.reply.send(ok);
        }
    }
}

/// The batch in one transaction (a lone rotation commits on its own: one round trip).
async fn run(pool: &PgPool, sql: &LedgerSql, batch: &[RotateJob]) -> Result<Vec<bool>> {
    let mut conn = pool.acquire().await?;
    let lone = batch.len() == 1;
    if !lone {
        sqlx::query("BEGIN").execute(&mut *conn).await?;
    }
    let mut done = Vec::with_capacity(batch.len());
    for job in batch {
        let t = &job.new;
        let q = sqlx::query(AssertSqlSafe(sql.rotate_fast.clone()))
            .bind(&job.old_jti)
            .bind(job.now);
        let r = bind_row(q, t).bind(&t.user_key).execute(&mut *conn).await;
        match r {
            Ok(r) => done.push(r.rows_affected() == 1),
            Err(e) => {
                if !lone {
                    // The connection goes back to the pool: leave it outside a transaction.
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                }
                return Err(e.into());
            }
        }
    }
    if !lone {
        sqlx::query("COMMIT").execute(&mut *conn).await?;
    }
    Ok(done)
}
