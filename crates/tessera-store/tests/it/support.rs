//! Fresh stores for each test: a SQLite file in a temporary directory, or a PostgreSQL
//! database of its own (dropped afterwards).

use std::sync::Arc;

use tessera_store::postgres::scratch;
use tessera_store::{Store, open};

/// Keeps whatever backs a test store alive; drops the PostgreSQL database on drop.
pub enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(String),
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres(name) = self {
            let name = name.clone();
            // Drop from a separate thread with its own runtime: we may be inside one.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let _ = rt.block_on(scratch::drop(&scratch::admin_url(), &name));
            })
            .join();
        }
    }
}

pub async fn sqlite() -> (Guard, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/test.sqlite3", dir.path().display());
    let store = open(&url).await.unwrap();
    store.migrate().await.unwrap();
    (Guard::Sqlite(dir), store)
}

/// A new, empty PostgreSQL database: its guard (which drops it) and URL, or `None` (test
/// skipped) when no server answers, which under `CI=true` is a failure instead.
pub async fn pg_scratch() -> Option<(Guard, String)> {
    let admin = scratch::admin_url();
    let name = format!(
        "tessera_test_{}",
        tessera_core::clock::new_jti(&tessera_core::OsRandom)
    );
    match scratch::create(&admin, &name).await {
        Ok(url) => Some((Guard::Postgres(name), url)),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {admin} is required under CI=true: {e}");
            }
            eprintln!(
                "SKIPPED: PostgreSQL test, no server at {admin} ({e}); set TEST_DATABASE_URL"
            );
            None
        }
    }
}

/// A migrated store on a new PostgreSQL database, or `None` (test skipped) when no
/// server answers, which under `CI=true` is a failure instead.
pub async fn postgres() -> Option<(Guard, Arc<dyn Store>, String)> {
    let (guard, url) = pg_scratch().await?;
    let store = open(&url).await.unwrap();
    store.migrate().await.unwrap();
    Some((guard, store, url))
}
