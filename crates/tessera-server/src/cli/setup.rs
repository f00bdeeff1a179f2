//! `migrate` and `check`: the schema and the configuration.

use std::path::Path;

use crate::config::Config;
use crate::database::{database_url, migrate, open_database, redact_url};
use crate::error::{Error, Result};
use crate::keyfile::load_keys;

/// `migrate`: applies pending migrations (the library's and the demo's).
pub(super) async fn migrate_command(config: &Config, data_dir: &Path) -> Result<()> {
    let db = open_database(config, data_dir).await?;
    let applied = migrate(&db).await?;
    if applied.is_empty() {
        println!("No migrations to apply.");
    }
    for name in applied {
        println!("Applied {name}");
    }
    // Ledger rows from before tokens were kept without their signature.
    let scrubbed = super::tokens::scrub_tokens(db.store().as_ref()).await?;
    if scrubbed > 0 {
        println!("Removed the signature of {scrubbed} stored token(s).");
    }
    Ok(())
}

/// `check`: validates the configuration and prints a summary (never secrets).
pub(super) fn check(config: &Config, data_dir: &Path) -> Result<()> {
    let s = &config.settings;
    let keys = load_keys(s, data_dir, false);
    // A configured key that cannot be used is a configuration error, found now
    // rather than at the first request.
    if !s.signing_key.is_empty() || crate::keyfile::key_dir(data_dir).join("keys.json").exists() {
        keys.as_ref().map_err(|e| Error::Config(e.to_string()))?;
    }
    println!("Configuration OK");
    match &config.file {
        Some(f) => println!("  file:               {}", f.display()),
        None => println!("  file:               (none; defaults and TESSERA_* variables)"),
    }
    println!(
        "  database:           {}",
        redact_url(&database_url(config, data_dir))
    );
    match &keys {
        Ok(k) => println!(
            "  signing algorithm:  {} ({} key(s), {} published in the JWKS)",
            k.algorithm().name(),
            k.keys().len(),
            k.keys().iter().filter(|k| k.public_jwk().is_some()).count()
        ),
        Err(_) => println!("  algorithm:          {}", s.algorithm.name()),
    }
    println!(
        "  signing key:        {}",
        match (&keys, s.signing_key.is_empty()) {
            (_, false) => "SIGNING_KEY (configured)".to_owned(),
            (Ok(_), true) => format!("{}/signing_key", data_dir.display()),
            (Err(_), true) => "generated on first `tessera serve`".to_owned(),
        }
    );
    println!("  access lifetime:    {} s", s.access_token_lifetime);
    println!("  refresh lifetime:   {} s", s.refresh_token_lifetime);
    println!(
        "  rotation:           {} (blacklist after rotation: {})",
        s.rotate_refresh_tokens, s.blacklist_after_rotation
    );
    println!(
        "  CORS origins:       {:?}",
        config.server.cors_allowed_origins
    );
    Ok(())
}
