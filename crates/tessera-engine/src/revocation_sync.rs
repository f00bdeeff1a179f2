//! Keeping the revocation set current: loaded from the ledger at start, then fed by the
//! store's revocation channel (other instances' revocations) and pruned as entries age
//! past the longest access-token lifetime.

use tessera_store::RevocationEvent;

use crate::engine::Tessera;
use crate::error::Result;

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
            // A reload after a reconnection that failed: tried again every second.
            let mut reload_pending = false;
            loop {
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Some(RevocationEvent::Revoked(r)) => t.revocations().apply(&[r]),
                        // User rows are the store's cache's business (it saw the event).
                        Some(RevocationEvent::UserChanged(_)) => {}
                        Some(RevocationEvent::Interrupted) => {
                            t.revocations().set_stale(true);
                            reload_pending = false;
                        }
                        Some(RevocationEvent::Resync) => reload_pending = !t.resync().await,
                        // A store without a channel (SQLite): only pruning is left to do.
                        None => loop {
                            prune.tick().await;
                            t.prune_revocations();
                        },
                    },
                    _ = prune.tick() => t.prune_revocations(),
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)), if reload_pending => {
                        reload_pending = !t.resync().await;
                    }
                }
            }
        }))
    }

    /// Reloads what the channel may have missed; memory is trusted again only once that
    /// succeeded (true).
    async fn resync(&self) -> bool {
        match self.reload_revocations().await {
            Ok(()) => {
                self.revocations().set_stale(false);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not reload revocations; asking the ledger meanwhile");
                false
            }
        }
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
