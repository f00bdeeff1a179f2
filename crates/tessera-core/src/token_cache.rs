//! [`VerifiedTokens`]: the tokens a protected route has already validated, by their exact
//! text, so that a client sending the same access token again (every request of a
//! session) costs a hash lookup instead of a signature check and a JSON parse.
//!
//! What makes it safe:
//! * only tokens that passed full validation with one of our own keys are entered (never
//!   a failure, never a token checked with a key fetched from `JWK_URL`, which may be
//!   withdrawn); settings do not change while a service lives, and the cache is emptied when its key
//!   set is replaced;
//! * the one thing that changes with time for fixed token bytes, the time claims, is
//!   checked again by the caller on every hit; blacklist, revocation and user checks sit
//!   outside the cache altogether;
//! * an entry matches only the identical token, compared in constant time, and the map
//!   is keyed by a per-process random hash (of the signature's end), so neither lookup
//!   timing nor collisions tell anything about the tokens held;
//! * it is bounded: when full it starts over (a miss costs one validation).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, RwLock};

use crate::claims::{Claims, Times};

/// The cache. Cloning a service shares it.
#[derive(Debug)]
pub(crate) struct VerifiedTokens {
    capacity: usize,
    hasher: RandomState,
    entries: RwLock<Entries>,
}

/// Tokens by their keyed hash; a collision keeps both entries.
type Entries = HashMap<u64, Vec<Entry>, BuildHasherDefault<PassThrough>>;

/// One validated token: its text, its claims, and its time claims read out.
type Entry = (Box<str>, Arc<Claims>, Times);

impl VerifiedTokens {
    /// A cache of at most `capacity` tokens (0: nothing is ever kept).
    pub(crate) fn new(capacity: usize) -> Self {
        VerifiedTokens {
            capacity,
            hasher: RandomState::new(),
            entries: RwLock::default(),
        }
    }

    /// The claims (and time claims) of `raw` if it was validated before.
    pub(crate) fn get(&self, raw: &str) -> Option<(Arc<Claims>, Times)> {
        if self.capacity == 0 {
            return None;
        }
        let hash = self.hasher.hash_one(key_bytes(raw));
        let entries = self.entries.read().ok()?;
        entries
            .get(&hash)?
            .iter()
            .find(|(token, ..)| same_token(token, raw))
            .map(|(_, claims, times)| (claims.clone(), *times))
    }

    /// Remembers that `raw` validated to `claims`.
    #[cfg(test)]
    pub(crate) fn insert(&self, raw: &str, claims: Arc<Claims>, times: Times) {
        self.insert_if(raw, claims, times, || true);
    }

    /// Remembers that `raw` validated to `claims` if `still_valid`, asked under the
    /// cache's lock, says the keys it validated with are still the service's: a
    /// [`VerifiedTokens::clear`] either comes after the entry or stops it.
    pub(crate) fn insert_if(
        &self,
        raw: &str,
        claims: Arc<Claims>,
        times: Times,
        still_valid: impl FnOnce() -> bool,
    ) {
        if self.capacity == 0 {
            return;
        }
        let hash = self.hasher.hash_one(key_bytes(raw));
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if !still_valid() {
            return;
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        let slot = entries.entry(hash).or_default();
        if !slot.iter().any(|(token, ..)| same_token(token, raw)) {
            slot.push((raw.into(), claims, times));
        }
    }

    /// Forgets `raw` (its time claims have run out).
    pub(crate) fn remove(&self, raw: &str) {
        let hash = self.hasher.hash_one(key_bytes(raw));
        if let Ok(mut entries) = self.entries.write()
            && let Some(slot) = entries.get_mut(&hash)
        {
            slot.retain(|(token, ..)| !same_token(token, raw));
            if slot.is_empty() {
                entries.remove(&hash);
            }
        }
    }

    /// Forgets every token (the key set changed).
    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// How many tokens are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .map_or(0, |e| e.values().map(Vec::len).sum())
    }
}

/// Equal token text, compared without an early exit (aws-lc's `CRYPTO_memcmp`, word at a
/// time; lengths are not secret).
fn same_token(held: &str, presented: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(held.as_bytes(), presented.as_bytes()).is_ok()
}

/// The bytes the map is keyed by: a token's last 32, which hold its signature (or the
/// end of it). Enough to spread tokens, and hashing 32 bytes instead of a few hundred
/// is most of a hit's cost; the whole token is compared on lookup anyway.
fn key_bytes(raw: &str) -> &[u8] {
    let bytes = raw.as_bytes();
    bytes.get(bytes.len().saturating_sub(32)..).unwrap_or(bytes)
}

/// The map's keys are already keyed hashes: hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys are u64); fold anything else in anyway.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(n: i64) -> Arc<Claims> {
        let mut c = Claims::new();
        c.insert("n".into(), json!(n));
        Arc::new(c)
    }

    #[test]
    fn holds_exact_tokens_only_and_stays_bounded() {
        let cache = VerifiedTokens::new(3);
        cache.insert("a.b.c", claims(1), Times::default());
        assert_eq!(cache.get("a.b.c").unwrap().0["n"], json!(1));
        assert!(cache.get("a.b.C").is_none());
        assert!(cache.get("a.b.c ").is_none());
        assert!(cache.get("").is_none());
        cache.insert("a.b.c", claims(2), Times::default());
        assert_eq!(cache.len(), 1, "one entry per token");
        cache.insert("d.e.f", claims(3), Times::default());
        cache.insert("g.h.i", claims(4), Times::default());
        assert_eq!(cache.len(), 3);
        // Full: it starts over rather than growing.
        cache.insert("j.k.l", claims(5), Times::default());
        assert_eq!(cache.len(), 1);
        assert!(cache.get("a.b.c").is_none());
        cache.remove("j.k.l");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn tokens_ending_alike_share_a_slot_but_not_an_answer() {
        let cache = VerifiedTokens::new(10);
        let tail = ".".repeat(40);
        let (a, b) = (format!("a{tail}"), format!("b{tail}"));
        cache.insert(&a, claims(1), Times::default());
        assert!(cache.get(&b).is_none());
        cache.insert(&b, claims(2), Times::default());
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&a).unwrap().0["n"], json!(1));
        assert_eq!(cache.get(&b).unwrap().0["n"], json!(2));
        cache.remove(&a);
        assert!(cache.get(&a).is_none());
        assert_eq!(cache.get(&b).unwrap().0["n"], json!(2));
    }

    #[test]
    fn a_zero_capacity_keeps_nothing() {
        let cache = VerifiedTokens::new(0);
        cache.insert("a.b.c", claims(1), Times::default());
        assert!(cache.get("a.b.c").is_none());
    }
}
