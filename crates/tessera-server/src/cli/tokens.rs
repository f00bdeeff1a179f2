//! `flushexpiredtokens` and `decode`: the ledger and single tokens.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Arc;

use tessera_core::{Clock as _, SystemClock, TokenKind, TokenService};

use crate::config::Config;
use crate::database::ready_store;
use crate::error::{Error, Result};
use crate::keyfile::load_keys;

/// `flushexpiredtokens`: deletes expired ledger rows in bounded batches, with a progress
/// bar on a terminal.
pub(super) async fn flush_expired(config: &Config, data_dir: &Path) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let now = SystemClock.now_micros();
    let total = store.count_expired(now).await?;
    let mut done = 0u64;
    let tty = std::io::stderr().is_terminal();
    // Bounded batches: each is one short transaction, so a serving instance's
    // writes interleave instead of waiting for one huge DELETE.
    loop {
        let n = store.flush_expired_batch(now, 10_000).await?;
        done += n;
        if tty && total > 0 {
            let pct = done.saturating_mul(100) / total.max(1);
            let bar = "#".repeat(usize::try_from(pct / 4).unwrap_or(25));
            eprint!("\r[{bar:<25}] {pct:>3}% {done}/{total}");
        }
        if n == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    if tty && total > 0 {
        eprintln!();
    }
    // Families and throttling rows left without tokens go too.
    done += store.flush_expired(now).await?;
    println!("Deleted {done} expired token(s).");
    Ok(())
}

/// `decode TOKEN`: header and claims as written, and whether the signature verifies.
pub(super) fn decode(config: &Config, data_dir: &Path, token: &str) -> Result<()> {
    // Shown as written, before (and whatever) the signature check says.
    let (header, claims) =
        tessera_core::dangerous::decode_unverified(token.trim()).map_err(|_| {
            Error::Usage(
                "not a JWT: expected three base64url parts, the first two JSON objects".into(),
            )
        })?;
    for (label, part) in [("Header", &header), ("Claims", &claims)] {
        let pretty = serde_json::to_string_pretty(part).unwrap_or_default();
        println!("{label}:\n{pretty}");
    }
    match load_keys(&config.settings, data_dir, false) {
        Err(e) => println!("Signature: not checked ({e})"),
        Ok(keys) => {
            let tokens = TokenService::new(
                &config.settings,
                keys,
                Arc::new(SystemClock),
                Arc::new(tessera_core::OsRandom),
            );
            match tokens.decode_signed(token.trim()) {
                Err(_) => println!(
                    "Signature: INVALID with the configured key ({})",
                    config.settings.algorithm.name()
                ),
                Ok(_) => {
                    println!(
                        "Signature: valid with the configured key ({})",
                        config.settings.algorithm.name()
                    );
                    let kind = claims
                        .get("token_type")
                        .and_then(|t| t.as_str())
                        .and_then(|t| match t {
                            "access" => Some(TokenKind::Access),
                            "refresh" => Some(TokenKind::Refresh),
                            "sliding" => Some(TokenKind::Sliding),
                            _ => None,
                        });
                    match tokens.validate(token.trim(), kind) {
                        Ok(_) => println!("Validity: valid now (blacklist not consulted)"),
                        Err(e) => println!("Validity: {e}"),
                    }
                }
            }
        }
    }
    Ok(())
}
