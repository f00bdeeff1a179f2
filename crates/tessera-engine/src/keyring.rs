//! [`KeyRing`]: the key set kept in the database, shared by every instance and rotated
//! while they run.
//!
//! Each key is a row ([`tessera_store::StoredKey`]) whose private half is sealed with
//! AES-256-GCM under a key derived from the operator's `KEY_ENCRYPTION_KEY`, bound to
//! the row's `kid` and algorithm (a sealed key copied onto another row does not open).
//! A database dump therefore holds no usable signing key.
//!
//! A key's state follows from its times, the same on every instance without any
//! coordination: the latest key whose `activates_at` has passed signs ([`KeyState::Active`]);
//! earlier ones verify until their `retires_at` ([`KeyState::Previous`]); later or
//! unscheduled ones are published and verify but do not sign yet ([`KeyState::Next`]).
//! A key stops verifying only `retire_after` (the longest token lifetime) after a
//! successor started signing, so a rotation logs nobody out.
//!
//! With a rotation interval, [`KeyRing::maintain`] (run every minute by each instance's
//! sync task) adds the next key `publish_ahead` before it is due to sign, so verifiers
//! that fetch the JWKS learn it before they meet a token signed with it.

use std::sync::{Arc, Mutex};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use tessera_core::{Algorithm, Clock, Key, KeySet, OsRandom, Random as _};
use tessera_store::{KeyStore, StoredKey};

use crate::error::{Error, Result};

/// Shortest `KEY_ENCRYPTION_KEY` accepted, in bytes.
pub const MIN_ENCRYPTION_KEY_LEN: usize = 32;

/// What a key does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published and verifying; signs once it is activated (at its time, or by a rotation).
    Next,
    /// Signs new tokens (and verifies).
    Active,
    /// Verifies tokens signed before the rotation until it retires.
    Previous,
}

impl KeyState {
    /// The state's name, as the CLI and the admin page show it.
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Previous => "previous",
        }
    }

    /// What the state means, for a person.
    pub fn meaning(self) -> &'static str {
        match self {
            KeyState::Next => {
                "published in the JWKS and verifying; signs once a rotation makes it active"
            }
            KeyState::Active => "signs every new token, and verifies",
            KeyState::Previous => {
                "verifies tokens it signed before the rotation, until it retires; signs nothing"
            }
        }
    }
}

/// One key of the set, as the CLI and the admin page list it (never its private half).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id written into tokens' headers.
    pub kid: String,
    /// Its one algorithm.
    pub alg: Algorithm,
    /// What it does now.
    pub state: KeyState,
    /// When it was made, microseconds since the epoch.
    pub created_at: i64,
    /// When it starts (or started) signing, if scheduled.
    pub activates_at: Option<i64>,
    /// When it stops verifying, if scheduled.
    pub retires_at: Option<i64>,
    /// Whether its public half is in the JWKS (key pairs; never an HMAC secret).
    pub published: bool,
    /// Also verifies tokens that carry no `kid`.
    pub accepts_tokens_without_kid: bool,
}

/// A key brought into an empty database key set (`tessera serve` imports the data
/// directory's key files on the first start with `KEY_STORE = "database"`).
#[derive(Debug, Clone)]
pub struct ImportedKey {
    /// Its key id.
    pub kid: String,
    /// Its algorithm.
    pub alg: Algorithm,
    /// The private key (PEM) or HMAC secret.
    pub private: String,
    /// When it was made, microseconds since the epoch.
    pub created_at: i64,
    /// Its state in the set it came from: `Active`, `Previous` or `Next`.
    pub state: KeyState,
    /// Also verifies tokens without a `kid`.
    pub accepts_tokens_without_kid: bool,
}

/// How a [`KeyRing`] rotates and retires keys.
#[derive(Debug, Clone)]
pub struct KeyRingConfig {
    /// `KEY_ENCRYPTION_KEY`: what seals private keys (at least 32 bytes).
    pub encryption_key: Vec<u8>,
    /// How long a key that stopped signing keeps verifying, in seconds: the longest
    /// token lifetime plus leeway.
    pub retire_after: i64,
    /// `KEY_ROTATION_INTERVAL`, in seconds (`None`: rotate by hand only).
    pub rotation_interval: Option<i64>,
    /// `KEY_PUBLISH_AHEAD`, in seconds: how long a scheduled key is published before
    /// it signs.
    pub publish_ahead: i64,
    /// The algorithm of keys a scheduled rotation makes (`ALGORITHM`).
    pub algorithm: Algorithm,
}

/// The outcome of [`KeyRing::rotate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The key that signed until now, if any.
    pub old: Option<String>,
    /// The key that signs from now on.
    pub new: String,
}

/// The database key set: loads it for a [`tessera_core::TokenService`], and changes it.
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    sealer: LessSafeKey,
    clock: Arc<dyn Clock>,
    config: KeyRingConfig,
    /// What the last [`KeyRing::load`] built from: rows' times and the active kid. An
    /// unchanged set is not rebuilt (a rebuild empties the verified-token cache).
    last: Mutex<Option<String>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("rotation_interval", &self.config.rotation_interval)
            .field("publish_ahead", &self.config.publish_ahead)
            .field("retire_after", &self.config.retire_after)
            .finish_non_exhaustive()
    }
}

const SEAL_VERSION: u8 = 1;
const MICROS: i64 = 1_000_000;

fn key_error(msg: impl Into<String>) -> Error {
    Error::KeySet(msg.into())
}

/// The AES-256-GCM key sealing private keys: HKDF-SHA256 of `KEY_ENCRYPTION_KEY`, so an
/// operator's passphrase of any length ≥ 32 bytes gives a full-strength key.
fn sealing_key(encryption_key: &[u8]) -> Result<LessSafeKey> {
    use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
    if encryption_key.len() < MIN_ENCRYPTION_KEY_LEN {
        return Err(key_error(format!(
            "KEY_ENCRYPTION_KEY must be at least {MIN_ENCRYPTION_KEY_LEN} bytes"
        )));
    }
    let prk = Salt::new(HKDF_SHA256, b"tessera-key-encryption").extract(encryption_key);
    let okm = prk
        .expand(&[b"tessera-signing-keys-v1"], &AES_256_GCM)
        .map_err(|_| key_error("could not derive the sealing key"))?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

fn aad(kid: &str, alg: &str) -> Vec<u8> {
    format!("tessera-key|{kid}|{alg}").into_bytes()
}

impl KeyRing {
    /// A key ring over `store`. Fails when the encryption key is too short.
    pub fn new(
        store: Arc<dyn KeyStore>,
        config: KeyRingConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<KeyRing> {
        Ok(KeyRing {
            sealer: sealing_key(&config.encryption_key)?,
            store,
            clock,
            config,
            last: Mutex::new(None),
        })
    }

    fn seal(&self, kid: &str, alg: Algorithm, private: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRandom.fill(&mut nonce);
        let mut buf = private.to_vec();
        self.sealer
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(kid, alg.name())),
                &mut buf,
            )
            .map_err(|_| key_error("could not seal the key"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn open(&self, row: &StoredKey) -> Result<Key> {
        let cannot = || {
            key_error(format!(
                "key {} does not open with this KEY_ENCRYPTION_KEY (another key sealed it, or the row was altered)",
                row.kid
            ))
        };
        let alg = Algorithm::from_name(&row.alg)
            .ok_or_else(|| key_error(format!("key {}: unknown algorithm {}", row.kid, row.alg)))?;
        let (version, rest) = row.sealed_key.split_first().ok_or_else(cannot)?;
        if *version != SEAL_VERSION || rest.len() < NONCE_LEN {
            return Err(cannot());
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| cannot())?;
        let mut buf = sealed.to_vec();
        let plain = self
            .sealer
            .open_in_place(nonce, Aad::from(aad(&row.kid, &row.alg)), &mut buf)
            .map_err(|_| cannot())?;
        let key = if alg.is_hmac() {
            Key::hmac(alg, plain, Some(row.kid.clone()))
        } else {
            Key::from_private_pem(alg, plain, Some(row.kid.clone()))
        };
        buf.fill(0);
        key.map_err(|e| key_error(format!("key {}: {e}", row.kid)))
    }

    /// Every key not retired, with its state now.
    pub async fn list(&self) -> Result<Vec<KeyInfo>> {
        let now = self.clock.now_micros();
        let rows = self.store.signing_keys(now).await?;
        Ok(describe(&rows, now))
    }

    /// The key set to sign and verify with now, and when it next changes by itself
    /// (a scheduled key starts signing, an old one retires), in microseconds. `None`
    /// for the set when it is the one the last call returned.
    pub async fn load(&self) -> Result<(Option<KeySet>, Option<i64>)> {
        let now = self.clock.now_micros();
        let rows = self.store.signing_keys(now).await?;
        let infos = describe(&rows, now);
        let count = |state| infos.iter().filter(|k| k.state == state).count();
        crate::telemetry::signing_keys(
            count(KeyState::Next),
            count(KeyState::Active),
            count(KeyState::Previous),
        );
        let next_change = rows
            .iter()
            .flat_map(|r| [r.activates_at, r.retires_at])
            .flatten()
            .chain(self.next_key_due(&infos))
            .filter(|&t| t > now)
            .min();
        let fingerprint = infos
            .iter()
            .map(|k| {
                format!(
                    "{}:{}:{}",
                    k.kid,
                    k.state.name(),
                    k.accepts_tokens_without_kid
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        if self.last.lock().ok().and_then(|l| l.clone()).as_deref() == Some(&fingerprint) {
            return Ok((None, next_change));
        }
        let mut keys = Vec::with_capacity(rows.len());
        let (mut active, mut no_kid) = (None, None);
        for (i, (row, info)) in rows.iter().zip(&infos).enumerate() {
            keys.push(self.open(row)?);
            if info.state == KeyState::Active {
                active = Some(i);
            }
            if row.accepts_tokens_without_kid {
                no_kid = Some(i);
            }
        }
        if active.is_none() {
            return Err(key_error(
                "the key set has no active key (run `tessera keys generate` or `tessera keys rotate`)",
            ));
        }
        let set = KeySet::new(keys, active, no_kid).map_err(|e| key_error(e.to_string()))?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some(fingerprint);
        }
        Ok((Some(set), next_change))
    }

    /// Makes a key of `alg`. The first key of an empty set signs at once; later ones
    /// are published first ([`KeyState::Next`]) until [`KeyRing::rotate`].
    pub async fn generate(&self, alg: Algorithm) -> Result<KeyInfo> {
        let now = self.clock.now_micros();
        let rows = self.store.signing_keys(now).await?;
        if let Some(first) = rows.first() {
            same_family(first, alg)?;
        }
        let activates_at = rows.is_empty().then_some(now);
        let row = self.new_row(alg, now, activates_at)?;
        self.store.add_signing_key(&row, None).await?;
        Ok(describe(&[row], now).remove(0))
    }

    fn new_row(&self, alg: Algorithm, now: i64, activates_at: Option<i64>) -> Result<StoredKey> {
        let kid = format!(
            "{}-{}",
            now / MICROS,
            &tessera_core::clock::new_jti(&OsRandom)[..8]
        );
        let (_, private) = Key::generate(alg, &OsRandom, Some(kid.clone()))
            .map_err(|e| key_error(e.to_string()))?;
        Ok(StoredKey {
            sealed_key: self.seal(&kid, alg, private.as_bytes())?,
            kid,
            alg: alg.name().into(),
            created_at: now,
            activates_at,
            retires_at: None,
            accepts_tokens_without_kid: false,
        })
    }

    /// Makes the newest [`KeyState::Next`] key sign from now on (generating one of the
    /// active key's algorithm when none waits); the key that signed until now keeps
    /// verifying for `retire_after`.
    pub async fn rotate(&self) -> Result<Rotated> {
        let now = self.clock.now_micros();
        let rows = self.store.signing_keys(now).await?;
        let infos = describe(&rows, now);
        let old = infos.iter().find(|k| k.state == KeyState::Active);
        let waiting = infos
            .iter()
            .filter(|k| k.state == KeyState::Next)
            .max_by_key(|k| (k.created_at, k.kid.clone()));
        let new = match waiting {
            Some(k) => {
                self.store
                    .schedule_signing_key(&k.kid, Some(now), None)
                    .await?;
                k.kid.clone()
            }
            None => {
                let alg = old.map(|k| k.alg).ok_or_else(|| {
                    key_error("no key set yet: run `tessera keys generate` first")
                })?;
                let row = self.new_row(alg, now, Some(now))?;
                self.store.add_signing_key(&row, None).await?;
                row.kid
            }
        };
        self.schedule_retirements(now).await?;
        Ok(Rotated {
            old: old.map(|k| k.kid.clone()),
            new,
        })
    }

    /// Removes `kid` now: tokens it signed stop verifying at once. The active key
    /// cannot be retired (rotate first).
    pub async fn retire(&self, kid: &str) -> Result<()> {
        let now = self.clock.now_micros();
        let infos = describe(&self.store.signing_keys(now).await?, now);
        match infos.iter().find(|k| k.kid == kid) {
            None => Err(key_error(format!("no key {kid:?} in the key set"))),
            Some(k) if k.state == KeyState::Active => Err(key_error(format!(
                "{kid} is the active key: rotate to another key first"
            ))),
            Some(_) => {
                self.store.remove_signing_key(kid).await?;
                Ok(())
            }
        }
    }

    /// Brings `keys` into an empty database key set; does nothing (0) when it holds keys
    /// already. The active key signs on; older keys keep verifying for `retire_after`;
    /// newer ones wait.
    pub async fn import(&self, keys: &[ImportedKey]) -> Result<usize> {
        let now = self.clock.now_micros();
        if !self.store.signing_keys(now).await?.is_empty() {
            return Ok(0);
        }
        let retire = now + self.config.retire_after.saturating_mul(MICROS);
        for k in keys {
            let (activates_at, retires_at) = match k.state {
                KeyState::Active => (Some(now), None),
                KeyState::Previous => (Some(k.created_at.min(now - 1)), Some(retire)),
                KeyState::Next => (None, None),
            };
            let row = StoredKey {
                kid: k.kid.clone(),
                alg: k.alg.name().into(),
                created_at: k.created_at,
                activates_at,
                retires_at,
                accepts_tokens_without_kid: k.accepts_tokens_without_kid,
                sealed_key: self.seal(&k.kid, k.alg, k.private.as_bytes())?,
            };
            self.store.add_signing_key(&row, None).await?;
        }
        Ok(keys.len())
    }

    /// When the scheduled rotation publishes the next key (`publish_ahead` before the
    /// active key's interval ends), if it is on and no key waits yet.
    fn next_key_due(&self, infos: &[KeyInfo]) -> Option<i64> {
        let interval = self.config.rotation_interval?;
        if infos.iter().any(|k| k.state == KeyState::Next) {
            return None;
        }
        let active = infos.iter().find(|k| k.state == KeyState::Active)?;
        let started = active.activates_at.unwrap_or(active.created_at);
        Some(
            started.saturating_add(interval.saturating_mul(MICROS))
                - self.config.publish_ahead.saturating_mul(MICROS),
        )
    }

    /// What each instance runs every minute (and when a scheduled change falls due): the
    /// scheduled rotation (a next key
    /// `publish_ahead` before it is due), retirement times for keys a successor has
    /// replaced, and deletion of retired keys. True when it changed the set.
    pub async fn maintain(&self) -> Result<bool> {
        let now = self.clock.now_micros();
        let mut changed = false;
        let infos = describe(&self.store.signing_keys(now).await?, now);
        if let Some(publish_at) = self.next_key_due(&infos)
            && now >= publish_at
            && let Some(active) = infos.iter().find(|k| k.state == KeyState::Active)
        {
            let ahead = self.config.publish_ahead.saturating_mul(MICROS);
            let due = publish_at + ahead;
            // `ALGORITHM` is how an operator moves to another algorithm of the same
            // kind: the next scheduled key has it.
            let alg = if self.config.algorithm.is_hmac() == active.alg.is_hmac() {
                self.config.algorithm
            } else {
                active.alg
            };
            let row = self.new_row(alg, now, Some(due.max(now + ahead)))?;
            if self.store.add_signing_key(&row, Some(now)).await? {
                tracing::info!(kid = %row.kid, "scheduled the next signing key");
                changed = true;
            }
        }
        changed |= self.schedule_retirements(now).await?;
        changed |= self.store.prune_signing_keys(now).await? > 0;
        Ok(changed)
    }

    /// Gives every key that a later key replaces (now or on schedule) its retirement:
    /// `retire_after` after the successor starts signing.
    async fn schedule_retirements(&self, now: i64) -> Result<bool> {
        let rows = self.store.signing_keys(now).await?;
        let mut changed = false;
        for r in &rows {
            let (Some(start), None) = (r.activates_at, r.retires_at) else {
                continue;
            };
            let successor = rows
                .iter()
                .filter_map(|s| s.activates_at)
                .filter(|&t| t > start)
                .min();
            if let Some(s) = successor {
                let at = s.saturating_add(self.config.retire_after.saturating_mul(MICROS));
                changed |= self
                    .store
                    .schedule_signing_key(&r.kid, r.activates_at, Some(at))
                    .await?;
            }
        }
        Ok(changed)
    }
}

/// Refuses a key of another kind than the set's (HMAC secrets and key pairs never mix).
fn same_family(first: &StoredKey, alg: Algorithm) -> Result<()> {
    let first_hmac = Algorithm::from_name(&first.alg).map(Algorithm::is_hmac);
    if first_hmac != Some(alg.is_hmac()) {
        return Err(key_error(format!(
            "the key set holds {} keys; a {} key cannot join it (HMAC secrets and key pairs are never mixed)",
            first.alg,
            alg.name()
        )));
    }
    Ok(())
}

/// The rows' states at `now` (rows not yet retired, oldest first).
fn describe(rows: &[StoredKey], now: i64) -> Vec<KeyInfo> {
    let active = rows
        .iter()
        .filter(|r| r.activates_at.is_some_and(|t| t <= now))
        .max_by_key(|r| (r.activates_at, r.created_at))
        .map(|r| r.kid.as_str());
    rows.iter()
        .filter_map(|r| {
            let alg = Algorithm::from_name(&r.alg)?;
            let state = if Some(r.kid.as_str()) == active {
                KeyState::Active
            } else if r.activates_at.is_some_and(|t| t <= now) {
                KeyState::Previous
            } else {
                KeyState::Next
            };
            Some(KeyInfo {
                kid: r.kid.clone(),
                alg,
                state,
                created_at: r.created_at,
                activates_at: r.activates_at,
                retires_at: r.retires_at,
                published: !alg.is_hmac(),
                accepts_tokens_without_kid: r.accepts_tokens_without_kid,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kid: &str, activates_at: Option<i64>) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            alg: "ES256".into(),
            created_at: 0,
            activates_at,
            retires_at: None,
            accepts_tokens_without_kid: false,
            sealed_key: vec![],
        }
    }

    #[test]
    fn the_latest_started_key_signs() {
        let rows = [
            row("a", Some(10)),
            row("b", Some(20)),
            row("c", Some(30)),
            row("d", None),
        ];
        let states: Vec<_> = describe(&rows, 25).iter().map(|k| k.state).collect();
        assert_eq!(
            states,
            [
                KeyState::Previous,
                KeyState::Active,
                KeyState::Next,
                KeyState::Next
            ]
        );
        let states: Vec<_> = describe(&rows, 30).iter().map(|k| k.state).collect();
        assert_eq!(
            states,
            [
                KeyState::Previous,
                KeyState::Previous,
                KeyState::Active,
                KeyState::Next
            ]
        );
    }

    #[test]
    fn a_short_encryption_key_is_refused() {
        assert!(sealing_key(&[7; 31]).is_err());
        assert!(sealing_key(&[7; 32]).is_ok());
    }
}
