//! Password verifications per second on 1..=N threads at once, with the configured
//! default hasher (Argon2id m=19 MiB, t=2, p=1) or `pbkdf2_sha256`:
//!
//! ```text
//! cargo run --release -p tessera-core --example hash_throughput [-- argon2|pbkdf2_sha256 [SECONDS [THREADS]]]
//! ```
//!
//! THREADS (default: every core) is the last row; `1` measures one-hash-time alone.
//!
//! It tells what the machine itself allows for logins: `cores / one-hash-time` assumes
//! that N hashes at once each take as long as one alone, which memory bandwidth and
//! shared caches may not allow. Prints figures; asserts nothing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_core::clock::OsRandom;
use tessera_core::{PasswordHasher, Settings};

fn main() {
    let mut args = std::env::args().skip(1);
    let hasher_name = args.next().unwrap_or_else(|| "argon2".into());
    let seconds: u64 = args.next().map_or(5, |s| s.parse().unwrap());
    let settings =
        Settings::from_json(serde_json::json!({ "PASSWORD_HASHER": hasher_name })).unwrap();
    let hasher = PasswordHasher::new(&settings, Arc::new(OsRandom));
    let encoded = Arc::new(hasher.hash("correct horse battery staple").unwrap());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows: usize = args.next().map_or(cores, |s| s.parse().unwrap());
    println!("hasher {hasher_name}, {cores} cores, {seconds} s per row");
    println!("threads  verifies/s  ms per verify (each thread)");
    let mut single = 0.0;
    for threads in 1..=rows {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (hasher, encoded) = (hasher.clone(), encoded.clone());
                std::thread::spawn(move || {
                    let (start, mut n) = (Instant::now(), 0u32);
                    while Instant::now() < deadline {
                        assert!(hasher.verify("correct horse battery staple", &encoded));
                        n += 1;
                    }
                    (n, start.elapsed())
                })
            })
            .collect();
        let results: Vec<(u32, Duration)> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        let rate: f64 = results
            .iter()
            .map(|(n, d)| f64::from(*n) / d.as_secs_f64())
            .sum();
        if threads == 1 {
            single = rate;
        }
        println!(
            "{threads:>7}  {rate:>10.1}  {:>6.2}   ({:.0} % of {threads} x one thread)",
            1000.0 * threads as f64 / rate,
            100.0 * rate / (single * threads as f64)
        );
    }
}
