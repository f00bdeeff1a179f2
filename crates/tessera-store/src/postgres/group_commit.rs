//! Group commit for rotations on PostgreSQL: the rotations waiting at one moment go to
//! the database as one statement (arrays, one element per rotation) that commits on its
//! own, and each caller hears back only after that commit returned (durability
//! unchanged, `synchronous_commit` as the server has it).
//!
//! Measured here (docs/performance.md), a rotation's cost was waiting, not PostgreSQL's
//! CPU: one batch at a time, each of its rotations a round trip, then a `COMMIT`, while
//! both cores were a third idle. As one statement, a batch of 16 costs PostgreSQL about
//! a third of the CPU of 16 statements and is one round trip; two batches may run at
//! once, so one waiting for a row lock (a concurrent logout) does not hold up the rest.
//!
//! The committer has connections of its own, because of how PostgreSQL plans the
//! statement. Prepared, it is planned once for any batch; left to choose, PostgreSQL
//! plans it afresh for every batch (milliseconds each, as the array lengths change),
//! and a plan made while the ledger was small scans the ledger instead of looking up
//! its index, for as long as the plan is kept. Its connections therefore keep the one
//! generic plan and are told that sequential scans, hash and merge joins are never the
//! way: every lookup in it is by a unique key, a handful of rows at most.
//!
//! Only the common case is batched: the rotation of a recorded, unspent token, which
//! never fails on a conflict (it writes nothing instead). A batch names each old token
//! once (a second presentation in the same batch is left to the general algorithm), in
//! `jti` order, so two batches in flight take their row locks in one order; two
//! batches holding the same token: the later one waits for the earlier's commit and
//! writes nothing for it. A rotation that wrote nothing is answered "not done" and its
//! caller runs the general algorithm on its own, after the commit. If a batch fails as a
//! whole, every rotation of it is answered "not done" the same way: nothing of it was
//! committed.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::ledger_sql::LedgerSql;
use crate::{OutstandingToken, Result, token_at_rest};

/// Most rotations in one statement.
const MAX_BATCH: usize = 64;

/// Most batches running at once, each on a connection of the committer's own.
const IN_FLIGHT: u32 = 2;

/// The committer's connections: the statement's one plan, by index lookups only.
const PLANNER: [(&str, &str); 4] = [
    ("plan_cache_mode", "force_generic_plan"),
    ("enable_seqscan", "off"),
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
];

/// One rotation for the group committer.
pub(super) struct RotateJob {
    pub old_jti: String,
    pub now: i64,
    pub new: OutstandingToken,
    /// `true`: rotated and committed; `false`: nothing written, decide alone.
    pub reply: oneshot::Sender<bool>,
}

/// Starts the committer; rotations are sent to the returned channel. Its connections
/// open when the first rotation comes.
pub(super) fn start(
    options: &PgConnectOptions,
    acquire_timeout: Duration,
    sql: Arc<LedgerSql>,
) -> mpsc::Sender<RotateJob> {
    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
    let pool = PgPoolOptions::new()
        .max_connections(IN_FLIGHT)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(options.clone().options(PLANNER));
    tokio::spawn(committer(pool, sql, rx));
    tx
}

async fn committer(pool: PgPool, sql: Arc<LedgerSql>, mut rx: mpsc::Receiver<RotateJob>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT as usize));
    while let Some(first) = rx.recv().await {
        // Waiting for a free slot is when the next batch gathers.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (pool, sql) = (pool.clone(), sql.clone());
        tokio::spawn(async move {
            run(&pool, &sql, batch).await;
            drop(slot);
        });
    }
}

/// Runs one batch and answers each of its rotations.
async fn run(pool: &PgPool, sql: &LedgerSql, mut batch: Vec<RotateJob>) {
    batch.sort_by(|a, b| a.old_jti.cmp(&b.old_jti));
    let mut jobs: Vec<RotateJob> = Vec::with_capacity(batch.len());
    let mut repeats = Vec::new();
    for job in batch {
        match jobs.last() {
            Some(last) if last.old_jti == job.old_jti => repeats.push(job),
            _ => jobs.push(job),
        }
    }
    let done = match rotate(pool, sql, &jobs).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(error = %e, rotations = jobs.len(), "rotation batch failed; each runs alone");
            vec![false; jobs.len()]
        }
    };
    for (job, ok) in jobs.into_iter().zip(done) {
        let _ = job.reply.send(ok);
    }
    for job in repeats {
        let _ = job.reply.send(false);
    }
}

/// The batch's one statement; which rotations it made.
async fn rotate(pool: &PgPool, sql: &LedgerSql, jobs: &[RotateJob]) -> Result<Vec<bool>> {
    let new: Vec<&OutstandingToken> = jobs.iter().map(|j| &j.new).collect();
    let made: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(sql.rotate_batch.clone()))
        .bind(jobs.iter().map(|j| j.old_jti.as_str()).collect::<Vec<_>>())
        .bind(jobs.iter().map(|j| j.now).collect::<Vec<_>>())
        .bind(
            new.iter()
                .map(|t| token_at_rest(&t.token))
                .collect::<Vec<_>>(),
        )
        .bind(new.iter().map(|t| t.created_at).collect::<Vec<_>>())
        .bind(new.iter().map(|t| t.expires_at).collect::<Vec<_>>())
        .bind(new.iter().map(|t| t.user_id).collect::<Vec<_>>())
        .bind(new.iter().map(|t| t.jti.as_str()).collect::<Vec<_>>())
        .bind(
            new.iter()
                .map(|t| t.family_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            new.iter()
                .map(|t| t.user_key.as_deref())
                .collect::<Vec<_>>(),
        )
        .fetch_all(pool)
        .await?;
    let mut done = vec![false; jobs.len()];
    for n in made {
        if let Some(d) = usize::try_from(n - 1).ok().and_then(|i| done.get_mut(i)) {
            *d = true;
        }
    }
    Ok(done)
}
