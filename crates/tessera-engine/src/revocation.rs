//! The in-memory set of revoked token families, for `ACCESS_TOKEN_REVOCATION`.
//!
//! Access tokens are checked on every request, so a database read per request would
//! cost more than everything else together. Instead every instance keeps the recently
//! revoked families in memory: its own revocations are applied as they commit, and other
//! instances' arrive through the store's revocation channel (PostgreSQL LISTEN/NOTIFY).
//! An entry is needed only while an access token of that family can still be valid, so
//! entries older than the longest access/sliding lifetime (plus leeway) are pruned.

use std::collections::HashMap;
use std::sync::RwLock;

use tessera_store::{RevocationEvent, RevokedFamily};

use crate::engine::Tessera;
use crate::error::Result;

/// Revoked family ids → revocation time (microseconds).
#[derive(Debug, Default)]
pub struct Revocations {
    families: RwLock<HashMap<String, i64>>,
}

impl Revocations {
    /// True when `family` was revoked.
    pub fn is_revoked(&self, family: &str) -> bool {
        self.families
            .read()
            .map(|m| m.contains_key(family))
            .unwrap_or(true)
    }

    /// Records revocations.
    pub fn apply(&self, revoked: &[RevokedFamily]) {
        if revoked.is_empty() {
            return;
        }
        if let Ok(mut m) = self.families.write() {
            for r in revoked {
                m.insert(r.id.clone(), r.revoked_at);
            }
        }
    }

    /// Forgets revocations made before `cutoff` (their access tokens have expired).
    pub fn prune(&self, cutoff: i64) {
        if let Ok(mut m) = self.families.write() {
            m.retain(|_, at| *at >= cutoff);
        }
    }

    /// How many families are held.
    pub fn len(&self) -> usize {
        self.families.read().map(|m| m.len()).unwrap_or(0)
    }

    /// True when none are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<U: tessera_core::AuthUser> Tessera<U> {
    /// How far back revocations matter: the longest an access or sliding token lives,
    /// plus leeway and a minute of slack, in microseconds.
    fn revocation_window(&self) -> i64 {
        let s = self.settings();
        let secs = s.access_token_lifetime.max(s.sliding_token_lifetime) + s.leeway + 60;
        secs.saturating_mul(1_000_000)
    }

    /// Loads recent revocations from the ledger and follows the store's revocation
    /// channel until the returned task is aborted. Call once per process (`tessera
    /// serve` does): it also carries other instances' user changes to a
    /// [`tessera_store::UserCache`].
    pub async fn start_revocation_sync(&self) -> Result<tokio::task::JoinHandle<()>> {
        self.reload_revocations().await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        self.ledger().listen_revocations(tx).await?;
        let t = self.clone();
        Ok(tokio::spawn(async move {
            let mut prune = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Some(RevocationEvent::Revoked(r)) => t.revocations().apply(&[r]),
                        // User rows are the store's cache's business (it saw the event).
                        Some(RevocationEvent::UserChanged(_)) => {}
                        Some(RevocationEvent::Resync) => {
                            if let Err(e) = t.reload_revocations().await {
                                tracing::warn!(error = %e, "could not reload revocations");
                            }
                        }
                        // A store without a channel (SQLite): only pruning is left to do.
                        None => loop {
                            prune.tick().await;
                            t.prune_revocations();
                        },
                    },
                    _ = prune.tick() => t.prune_revocations(),
                }
            }
        }))
    }

    async fn reload_revocations(&self) -> Result<()> {
        let since = self.clock().now_micros() - self.revocation_window();
        let list = self.ledger().revoked_families_since(since).await?;
        self.revocations().apply(&list);
        Ok(())
    }

    fn prune_revocations(&self) {
        let cutoff = self.clock().now_micros() - self.revocation_window();
        self.revocations().prune(cutoff);
    }
}
