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
use std::sync::atomic::{AtomicBool, Ordering};

use tessera_store::RevokedFamily;

/// Revoked family ids → revocation time (microseconds).
#[derive(Debug, Default)]
pub struct Revocations {
    families: RwLock<HashMap<String, i64>>,
    /// Set while the revocation channel is interrupted (and until the reload after it
    /// is back): then memory may lack other instances' revocations, and the ledger is
    /// asked instead.
    stale: AtomicBool,
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

    /// True while memory may miss other instances' revocations.
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire)
    }

    /// Marks memory as missing (or no longer missing) other instances' revocations.
    pub fn set_stale(&self, stale: bool) {
        self.stale.store(stale, Ordering::Release);
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
