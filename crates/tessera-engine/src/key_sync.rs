//! Keeping the token service's keys those of the [`crate::KeyRing`]: reloaded when the
//! database key set changes (any instance, the CLI, the admin page) and when a
//! scheduled change falls due, and the ring's scheduled rotation run every minute.
//!
//! A failure keeps the keys in use (a database outage must not stop tokens verifying)
//! and is logged; the next change or minute tries again.

use crate::KeyRing;
use crate::engine::Tessera;
use crate::error::Result;

impl<U: tessera_core::AuthUser> Tessera<U> {
    /// Reloads the key set from the key ring (if the engine has one), replacing the token
    /// service's keys when they changed. Returns when the set next changes by itself
    /// (microseconds), for the sync task's timer.
    pub async fn reload_keys(&self) -> Option<i64> {
        let ring = self.key_ring()?;
        match self.load_from(ring).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "could not reload the key set; keeping the keys in use");
                None
            }
        }
    }

    async fn load_from(&self, ring: &KeyRing) -> Result<Option<i64>> {
        let (set, next) = ring.load().await?;
        if let Some(set) = set {
            let kids: Vec<&str> = set.keys().iter().filter_map(|k| k.kid()).collect();
            tracing::info!(keys = ?kids, "key set changed");
            self.tokens().replace_keys(set);
        }
        Ok(next)
    }

    /// Runs the key ring's upkeep (scheduled rotation, retirements, deletion of retired
    /// keys), then reloads. Returns as [`Tessera::reload_keys`].
    pub(crate) async fn maintain_keys(&self) -> Option<i64> {
        let ring = self.key_ring()?;
        match ring.maintain().await {
            Ok(true) => self.security_event(
                crate::SecurityEvent::KeySetChanged,
                "scheduled rotation",
                None,
                0,
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not run the key set's scheduled upkeep"),
        }
        self.reload_keys().await
    }
}
