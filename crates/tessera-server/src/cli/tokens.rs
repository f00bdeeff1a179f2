//! `flushexpiredtokens` and `decode`: the ledger and single tokens.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Arc;

use tessera_core::{Clock as _, SystemClock, TokenKind, TokenService};

use crate::config::Config;
use crate::database::ready_store;
use crate::error::{Error, Result};
use crate::keyfile::load_keys;

/// Runs `step` (one short transaction doing at most a batch, returning how many rows it
/// did) until it does nothing, with a progress bar of `total` on a terminal. Bounded
/// batches let a serving instance's writes interleave instead of waiting for one huge
/// statement.
pub(crate) async fn in_batches<F, Fut>(total: u64, mut step: F) -> Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = tessera_store::Result<u64>>,
{
    let mut done = 0u64;
    let tty = std::io::stderr().is_terminal();
    loop {
        let n = step().await?;
        done += n;
        if tty && total > 0 {
            let pct = done.min(total).saturating_mul(100) / total.max(1);
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
    Ok(done)
}

/// Rewrites ledger rows that hold whole tokens (signature included) to header and claims
/// only: rows written before Tessera kept tokens that way, or by Django beside it.
pub(crate) async fn scrub_tokens(store: &dyn tessera_store::Store) -> Result<u64> {
    let total = store.count_unscrubbed().await?;
    if total == 0 {
        return Ok(0);
    }
    in_batches(total, || store.scrub_tokens_batch(10_000)).await
}

/// `flushexpiredtokens`: deletes expired ledger rows in bounded batches, with a progress
/// bar on a terminal; then rewrites rows that hold whole tokens (as Django writes them)
/// to header and claims only.
pub(super) async fn flush_expired(config: &Config, data_dir: &Path) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let now = SystemClock.now_micros();
    let total = store.count_expired(now).await?;
    let mut done = in_batches(total, || store.flush_expired_batch(now, 10_000)).await?;
    // Families and throttling rows left without tokens go too.
    done += store.flush_expired(now).await?;
    println!("Deleted {done} expired token(s).");
    let scrubbed = scrub_tokens(store.as_ref()).await?;
    if scrubbed > 0 {
        println!("Removed the signature of {scrubbed} stored token(s).");
    }
    let server = &config.server;
    let secs = |s: u64| {
        i64::try_from(s)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000)
    };
    if server.audit_log_retention > 0 {
        let before = now.saturating_sub(secs(server.audit_log_retention));
        let pruned = in_batches(0, || store.prune_audit_batch(before, 10_000)).await?;
        println!(
            "Deleted {pruned} audit log entr{} past AUDIT_LOG_RETENTION.",
            if pruned == 1 { "y" } else { "ies" }
        );
    }
    store
        .expire_admin_sessions(
            now.saturating_sub(secs(server.admin_idle_timeout)),
            now.saturating_sub(secs(server.admin_session_lifetime)),
        )
        .await?;
    Ok(())
}

/// `scrubtokens`: rewrites every ledger row that holds a whole token to header and
/// claims only (idempotent), so that a copy of the database holds no working token.
pub(super) async fn scrub(config: &Config, data_dir: &Path) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let n = scrub_tokens(store.as_ref()).await?;
    println!("Removed the signature of {n} stored token(s).");
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
