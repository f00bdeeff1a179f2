//! Opening the configured database and bringing its schema up to date (the library's
//! tables and the demo API's).

use std::path::Path;
use std::sync::Arc;

use tessera_store::Store;

use crate::config::Config;
use crate::error::{Error, Result};

/// The database URL in force.
pub fn database_url(config: &Config, data_dir: &Path) -> String {
    config
        .server
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("tessera.sqlite3").display()))
}

/// `url` without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Opens the configured database (creating the data directory for the default SQLite
/// file). Does not migrate.
pub async fn open_database(config: &Config, data_dir: &Path) -> Result<tessera_store::Database> {
    if config.server.database_url.is_none() {
        std::fs::create_dir_all(data_dir)
            .map_err(Error::io(format!("creating {}", data_dir.display())))?;
    }
    let limits = tessera_store::PoolOptions {
        max_connections: config.server.database_max_connections,
        acquire_timeout: std::time::Duration::from_secs(config.server.database_acquire_timeout),
    };
    let url = database_url(config, data_dir);
    tessera_store::open_database_with_users(&url, limits, config.user_table()?)
        .await
        .map_err(|e| {
            Error::Config(format!(
                "cannot open the database {}: {e}",
                redact_url(&url)
            ))
        })
}

/// Opens the configured store (creating the data directory for the default SQLite file).
pub async fn open_store(config: &Config, data_dir: &Path) -> Result<Arc<dyn Store>> {
    Ok(open_database(config, data_dir).await?.store())
}

/// Applies the library's migrations and the demo API's, printing each applied.
pub async fn migrate(db: &tessera_store::Database) -> Result<Vec<String>> {
    let applied = db.store().migrate().await?;
    crate::reviews::Reviews::new(db.clone()).migrate().await?;
    Ok(applied)
}

/// The configured store, migrated.
pub async fn ready_store(config: &Config, data_dir: &Path) -> Result<Arc<dyn Store>> {
    let store = open_store(config, data_dir).await?;
    store.migrate().await?;
    Ok(store)
}
