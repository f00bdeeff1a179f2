//! A small pool of low-priority threads for password hashing.
//!
//! Hashing is deliberately slow (tens to hundreds of milliseconds of one core). On the
//! async workers it would stall token checks; on tokio's blocking pool it competes with
//! them as an equal. These threads run at a lower scheduling priority (nice 9 on
//! Linux), so during a login storm the kernel still gives protected routes and token
//! refreshes the CPU first, while idle CPU goes to logins. Their number bounds the
//! hashes in flight (and Argon2's memory).

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The pool. Dropping the last handle lets its threads finish and exit.
#[derive(Debug, Clone)]
pub struct HashPool {
    tx: Sender<Job>,
}

impl HashPool {
    /// Starts `threads` hashing threads (at least one).
    pub fn new(threads: usize) -> HashPool {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tessera-hash-{i}"))
                .spawn(move || worker(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        HashPool { tx }
    }

    /// Runs `f` on a hashing thread and waits for its result without blocking the
    /// async runtime. `None` when the pool is gone.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.tx.send(job).ok()?;
        result.await.ok()
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// nice 9 for this thread (best effort: a platform that refuses keeps the default).
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadPriorityValue};
    if let Ok(value) = ThreadPriorityValue::try_from(25u8) {
        let _ = thread_priority::set_current_thread_priority(ThreadPriority::Crossplatform(value));
    }
}
