//! Keeping the revocation set and the key set current: loaded at start, then fed by the
//! store's revocation channel (other instances' revocations, key-set changes; on SQLite a
//! resync whenever another connection wrote), revocations pruned as entries age past
//! the longest access-token lifetime, keys reloaded when a scheduled change falls due.

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
    /// [`tessera_store::UserCache`] and, with a [`crate::KeyRing`], key-set changes to
    /// the token service (and runs the ring's scheduled rotation every minute).
    pub async fn start_revocation_sync(&self) -> Result<tokio::task::JoinHandle<()>> {
        self.reload_revocations().await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        self.ledger().listen_revocations(tx).await?;
        let t = self.clone();
        let mut key_change = t.maintain_keys().await;
        Ok(tokio::spawn(async move {
            let mut prune = tokio::time::interval(std::time::Duration::from_secs(60));
            prune.tick().await;
            // A reload after a reconnection that failed: tried again every second.
            let mut reload_pending = false;
            let mut channel_open = true;
            loop {
                tokio::select! {
                    ev = rx.recv(), if channel_open => match ev {
                        Some(RevocationEvent::Revoked(r)) => t.revocations().apply(&[r]),
                        // User rows are the store's cache's business (it saw the event).
                        Some(RevocationEvent::UserChanged(_)) => {}
                        Some(RevocationEvent::KeysChanged) => key_change = t.reload_keys().await,
                        Some(RevocationEvent::Interrupted) => {
                            t.revocations().set_stale(true);
                            reload_pending = false;
                        }
                        Some(RevocationEvent::Resync) => {
                            reload_pending = !t.resync().await;
                            key_change = t.reload_keys().await;
                        }
                        // A store without a channel: pruning and keys are left to do.
                        None => channel_open = false,
                    },
                    _ = prune.tick() => {
                        t.prune_revocations();
                        key_change = t.maintain_keys().await;
                    }
                    // A scheduled key is due to be published or to sign, or an old one
                    // retires.
                    _ = sleep_until_micros(&t, key_change), if key_change.is_some() => {
                        key_change = t.maintain_keys().await;
                    }
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

/// Sleeps until `at` (microseconds on the engine's clock; a little after, so the key
/// set read then is the one that changed).
async fn sleep_until_micros<U: tessera_core::AuthUser>(t: &Tessera<U>, at: Option<i64>) {
    let wait = at
        .unwrap_or(0)
        .saturating_sub(t.clock().now_micros())
        .max(0);
    let wait = u64::try_from(wait).unwrap_or(0).saturating_add(1_000);
    tokio::time::sleep(std::time::Duration::from_micros(wait)).await;
}
