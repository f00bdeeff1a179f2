//! Where the running server's keys come from, how they change, and how the change
//! reaches the token service without a restart.
//!
//! * `SIGNING_KEY` ([`KeySource::Configured`]): the key itself, or a file from a secret
//!   store; a `SIGHUP` (or a change of that file) reloads it.
//! * The data directory's key set ([`KeySource::Files`], `KEY_STORE = "files"`, the
//!   default): `tessera keys …` on the host edits the files; the server sees the change
//!   within a second (or at once on `SIGHUP`). One host's files: with several instances,
//!   each host's files must be changed.
//! * The database ([`KeySource::Database`], `KEY_STORE = "database"`): one key set for
//!   every instance, changed by `tessera keys …`, the admin page or the scheduled
//!   rotation, followed by every instance within a second (PostgreSQL's NOTIFY; on SQLite
//!   the change channel's periodic read).
//!
//! A reload that fails (a half-written file, a key that does not parse) keeps the keys in
//! use and says why in the log: a bad edit must not stop tokens verifying.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use tessera_core::{Algorithm, KeySet, SystemClock};
use tessera_engine::{KeyInfo, KeyRing, KeyRingConfig, KeyState, Rotated, Tessera};

use crate::config::{Config, KeyStoreKind};
use crate::error::{Error, Result};
use crate::keyfile;

/// Where the keys come from (see the module docs).
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `SIGNING_KEY` (and `VERIFYING_KEY`): read-only here.
    Configured,
    /// The data directory's key set (or its generated `signing_key`).
    Files {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// The database key set.
    Database(Arc<KeyRing>),
}

impl KeySource {
    /// The source `config` names. `KEY_STORE = "database"` brings the data directory's
    /// keys into an empty database key set first, so tokens signed before the move keep
    /// verifying.
    pub async fn new(
        config: &Config,
        store: Arc<dyn tessera_store::Store>,
        data_dir: &Path,
    ) -> Result<KeySource> {
        if !config.settings.signing_key.is_empty() {
            return Ok(KeySource::Configured);
        }
        if config.server.key_store == KeyStoreKind::Files {
            return Ok(KeySource::Files {
                data_dir: data_dir.to_path_buf(),
            });
        }
        let ring = Arc::new(key_ring(config, store)?);
        if ring.list().await?.is_empty() {
            let from_files = keyfile::importable(data_dir)?;
            if !from_files.is_empty() {
                let n = ring.import(&from_files).await?;
                tracing::info!(
                    keys = n,
                    "moved the data directory's keys into the database"
                );
            }
        }
        Ok(KeySource::Database(ring))
    }

    /// [`KeySource::new`], and the key set to start with; a first key is made when there
    /// is none (as `tessera serve` does).
    pub async fn open(
        config: &Config,
        store: Arc<dyn tessera_store::Store>,
        data_dir: &Path,
    ) -> Result<(KeySource, KeySet)> {
        let source = KeySource::new(config, store, data_dir).await?;
        let keys = match &source {
            KeySource::Configured => keyfile::load_keys(&config.settings, data_dir, false)?,
            KeySource::Files { .. } => keyfile::load_keys(&config.settings, data_dir, true)?,
            KeySource::Database(ring) => {
                if ring.list().await?.is_empty() {
                    let k = ring.generate(config.settings.algorithm).await?;
                    tracing::info!(kid = %k.kid, "generated the first signing key in the database");
                }
                ring.load()
                    .await?
                    .0
                    .ok_or_else(|| Error::Config("the key set did not load".into()))?
            }
        };
        Ok((source, keys))
    }

    /// What the source is, for `tessera check` and the admin page.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Configured => "SIGNING_KEY (reloaded on SIGHUP when it names a file)".into(),
            KeySource::Files { data_dir } => format!(
                "files in {} (KEY_STORE = \"files\"; reloaded when they change)",
                data_dir.display()
            ),
            KeySource::Database(_) => {
                "the database, shared by every instance (KEY_STORE = \"database\")".into()
            }
        }
    }

    /// True when `generate`, `rotate` and `retire` can change this source.
    pub fn is_managed(&self) -> bool {
        !matches!(self, KeySource::Configured)
    }

    /// The keys, with their states. Sets without states of their own (`SIGNING_KEY`,
    /// the generated `signing_key` file) are described from `current`, the set in use.
    pub async fn list(&self, current: Option<&KeySet>) -> Result<Vec<KeyInfo>> {
        let of_current = || current.map(of_key_set).unwrap_or_default();
        match self {
            KeySource::Database(ring) => Ok(ring.list().await?),
            KeySource::Files { data_dir } => {
                let m = keyfile::read_manifest(&keyfile::key_dir(data_dir))?;
                if m.keys.is_empty() {
                    return Ok(of_current());
                }
                Ok(file_infos(&m))
            }
            KeySource::Configured => Ok(of_current()),
        }
    }

    /// Counts the keys by state into the `tessera_signing_keys` gauge (the database
    /// key set does this as it loads).
    pub async fn record_metrics(&self, current: &KeySet) {
        if let Ok(keys) = self.list(Some(current)).await {
            let count = |state| keys.iter().filter(|k| k.state == state).count();
            tessera_engine::telemetry::signing_keys(
                count(KeyState::Next),
                count(KeyState::Active),
                count(KeyState::Previous),
            );
        }
    }

    /// Makes a key of `alg`: published (verifying) first, signing after a rotation.
    pub async fn generate(&self, alg: Algorithm) -> Result<KeyInfo> {
        match self {
            KeySource::Database(ring) => Ok(ring.generate(alg).await?),
            KeySource::Files { data_dir } => {
                let e = keyfile::generate(data_dir, alg, true)?;
                let m = keyfile::read_manifest(&keyfile::key_dir(data_dir))?;
                file_infos(&m)
                    .into_iter()
                    .find(|k| k.kid == e.kid)
                    .ok_or_else(|| Error::Config("the new key is not in the manifest".into()))
            }
            KeySource::Configured => Err(not_managed()),
        }
    }

    /// Makes the newest waiting key sign (making one when none waits); the old one
    /// keeps verifying.
    pub async fn rotate(&self) -> Result<Rotated> {
        match self {
            KeySource::Database(ring) => Ok(ring.rotate().await?),
            KeySource::Files { data_dir } => {
                let (old, new) = keyfile::rotate(data_dir)?;
                Ok(Rotated { old, new })
            }
            KeySource::Configured => Err(not_managed()),
        }
    }

    /// Removes a key that does not sign: tokens it signed stop verifying.
    pub async fn retire(&self, kid: &str) -> Result<()> {
        match self {
            KeySource::Database(ring) => Ok(ring.retire(kid).await?),
            KeySource::Files { data_dir } => keyfile::retire(data_dir, kid),
            KeySource::Configured => Err(not_managed()),
        }
    }

    /// Brings the token service up to date with the source now (after a change made in
    /// this process, so its next request already uses it).
    pub async fn apply(&self, config: &Config, tessera: &Tessera) -> Result<()> {
        match self {
            KeySource::Database(_) => {
                tessera.reload_keys().await;
                Ok(())
            }
            KeySource::Files { data_dir } => {
                let keys = keyfile::load_keys(&config.settings, data_dir, false)?;
                tessera.tokens().replace_keys(keys);
                Ok(())
            }
            KeySource::Configured => {
                let keys = keyfile::load_keys(&config.settings, Path::new("."), false)?;
                tessera.tokens().replace_keys(keys);
                Ok(())
            }
        }
    }

    /// For key files (`SIGNING_KEY` naming a file, or the data directory's set): reloads
    /// them on `SIGHUP`, and when they change (checked every second). The database key
    /// set needs none of this: the engine's sync task follows it.
    pub fn spawn_file_reload(&self, config: &Config, tessera: Tessera) {
        let watched: Vec<PathBuf> = match self {
            KeySource::Database(_) => return,
            KeySource::Files { data_dir } => vec![
                keyfile::key_dir(data_dir).join(keyfile::MANIFEST),
                data_dir.join(keyfile::KEY_FILE),
            ],
            KeySource::Configured => keyfile::configured_key_files(&config.settings),
        };
        let source = self.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let mut hangup = hangups();
            let mut seen = stamps(&watched);
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                let forced = tokio::select! {
                    _ = tick.tick() => false,
                    Some(()) = hangup.recv() => true,
                };
                let now = stamps(&watched);
                if !forced && now == seen {
                    continue;
                }
                seen = now;
                match source.apply(&config, &tessera).await {
                    Ok(()) => {
                        source.record_metrics(&tessera.tokens().keys()).await;
                        tracing::info!(forced, "reloaded the signing keys");
                    }
                    Err(e) => tracing::warn!(
                        error = %e,
                        "could not reload the signing keys; keeping the keys in use"
                    ),
                }
            }
        });
    }
}

fn not_managed() -> Error {
    Error::Usage(
        "the keys come from SIGNING_KEY: change the setting (or the file it names) and send \
         the servers SIGHUP"
            .into(),
    )
}

/// The key ring `config` describes, over `store`.
pub fn key_ring(config: &Config, store: Arc<dyn tessera_store::Store>) -> Result<KeyRing> {
    let s = &config.settings;
    let longest = [
        s.access_token_lifetime,
        s.refresh_token_lifetime,
        s.sliding_token_lifetime,
        s.sliding_token_refresh_lifetime,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let server = &config.server;
    let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let ring = KeyRing::new(
        store,
        KeyRingConfig {
            encryption_key: server.key_encryption_key.expose().as_bytes().to_vec(),
            retire_after: longest.saturating_add(s.leeway),
            rotation_interval: (server.key_rotation_interval > 0)
                .then(|| secs(server.key_rotation_interval)),
            publish_ahead: secs(server.key_publish_ahead),
            algorithm: s.algorithm,
        },
        Arc::new(SystemClock),
    )?;
    Ok(ring)
}

/// The keys of a set that has no states of its own (`SIGNING_KEY`, a generated secret):
/// the signing key active, any other verifying.
fn of_key_set(keys: &KeySet) -> Vec<KeyInfo> {
    let signing = keys.signing_key();
    keys.keys()
        .iter()
        .map(|k| KeyInfo {
            kid: k.kid().unwrap_or("(none)").to_owned(),
            alg: k.algorithm(),
            state: if signing.is_some_and(|s| Arc::ptr_eq(s, k)) {
                KeyState::Active
            } else {
                KeyState::Previous
            },
            created_at: 0,
            activates_at: None,
            retires_at: None,
            published: k.public_jwk().is_some(),
            accepts_tokens_without_kid: k.kid().is_none(),
        })
        .collect()
}

/// The manifest's keys with the database set's states ([`keyfile::states`]).
fn file_infos(m: &keyfile::Manifest) -> Vec<KeyInfo> {
    m.keys
        .iter()
        .zip(keyfile::states(m))
        .filter_map(|(k, state)| {
            let alg = Algorithm::from_name(&k.alg)?;
            Some(KeyInfo {
                kid: k.kid.clone(),
                alg,
                state,
                created_at: k.created_at.saturating_mul(1_000_000),
                activates_at: None,
                retires_at: None,
                published: !alg.is_hmac(),
                accepts_tokens_without_kid: k.accepts_tokens_without_kid,
            })
        })
        .collect()
}

/// When each file last changed (and its length), `None` for a missing one.
fn stamps(paths: &[PathBuf]) -> Vec<Option<(SystemTime, u64)>> {
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

/// `SIGHUP`s as a channel (never sends where there are no signals).
fn hangups() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut s) = signal(SignalKind::hangup()) else {
            return;
        };
        while s.recv().await.is_some() {
            if tx.send(()).await.is_err() {
                return;
            }
        }
    });
    #[cfg(not(unix))]
    drop(tx);
    rx
}
