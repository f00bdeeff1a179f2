//! Where the signing keys come from, and the key set kept in the data directory.
//!
//! In order of precedence:
//! 1. `SIGNING_KEY` (and, for key pairs, optionally `VERIFYING_KEY`): the key itself (PEM
//!    or a private JWK), or a path to a file holding it (`/…`, `./…`, `file:…`). An HMAC secret gets no `kid`
//!    (Simple JWT's exact header); a key pair gets its RFC 7638 thumbprint as `kid`.
//! 2. A key set in `<data dir>/keys/` managed by `tessera keys generate|rotate|retire`:
//!    one active signing key and any number of verify-only keys, each with a `kid`.
//! 3. Nothing configured: `serve` creates a key once and reuses it on every start, so
//!    tokens survive restarts. For HMAC (the default) a secret in
//!    `<data dir>/signing_key`; for a key-pair `ALGORITHM`, a key set with one key.
//!
//! There is deliberately no built-in default key: a default is public, and a public
//! HMAC key lets anyone mint tokens. Private key files are written with mode 0600.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tessera_core::settings::looks_like_path;
use tessera_core::{Algorithm, Clock as _, Key, KeySet, OsRandom, Settings, SystemClock};

use crate::error::{Error, Result};

/// File name of the generated HMAC secret inside the data directory.
pub const KEY_FILE: &str = "signing_key";
/// Folder of the managed key set inside the data directory.
pub const KEY_DIR: &str = "keys";
/// The key set's manifest inside the keys folder.
pub const MANIFEST: &str = "keys.json";

/// One entry of the managed key set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key id written into tokens' headers.
    pub kid: String,
    /// The key's one algorithm.
    pub alg: String,
    /// `active` (signs and verifies) or `verify` (verifies only).
    pub status: String,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// File holding the private key (PEM) or HMAC secret, inside the keys folder.
    pub file: String,
    /// Also verifies tokens that carry no `kid` (the key Tessera used before the key set
    /// existed; Simple JWT's tokens).
    #[serde(default)]
    pub accepts_tokens_without_kid: bool,
}

/// The manifest of the managed key set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// The keys, oldest first.
    pub keys: Vec<KeyEntry>,
}

/// The key set for `settings` (see the module docs for precedence); creates the default
/// key on first use when `create` is true.
pub fn load_keys(settings: &Settings, data_dir: &Path, create: bool) -> Result<KeySet> {
    if !settings.signing_key.is_empty() {
        return configured_keys(settings);
    }
    if !settings.verifying_key.is_empty() && !settings.algorithm.is_hmac() {
        return Err(Error::Config(
            "VERIFYING_KEY is set but SIGNING_KEY is not: a key pair's private half is needed \
             to sign tokens"
                .into(),
        ));
    }
    let dir = data_dir.join(KEY_DIR);
    if dir.join(MANIFEST).exists() {
        return load_manifest_keys(&dir);
    }
    if settings.algorithm.is_hmac() {
        let path = data_dir.join(KEY_FILE);
        let secret = if path.exists() {
            read_secret(&path)?
        } else if create {
            let (_, secret) = Key::generate(settings.algorithm, &OsRandom, None)?;
            write_private(data_dir, &path, &secret)?;
            tracing::info!(path = %path.display(), "generated a new signing key");
            secret
        } else {
            return Err(Error::Config(format!(
                "no SIGNING_KEY configured and no key file at {} (run `tessera serve` once, \
                 or set TESSERA_SIGNING_KEY)",
                path.display()
            )));
        };
        return Ok(KeySet::hmac(settings.algorithm, secret.as_bytes())?);
    }
    if !create {
        return Err(Error::Config(format!(
            "no SIGNING_KEY configured and no key set in {} (run `tessera keys generate --alg {}`)",
            dir.display(),
            settings.algorithm.name()
        )));
    }
    generate(data_dir, settings.algorithm, true)?;
    load_manifest_keys(&dir)
}

/// Reads a key setting: the value itself, or the file it names.
fn key_text(name: &str, value: &str) -> Result<String> {
    if looks_like_path(value) {
        let path = value.strip_prefix("file:").unwrap_or(value);
        return fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .map_err(|e| Error::Config(format!("{name}: cannot read {path}: {e}")));
    }
    Ok(value.to_owned())
}

fn configured_keys(settings: &Settings) -> Result<KeySet> {
    let alg = settings.algorithm;
    let signing = key_text("SIGNING_KEY", settings.signing_key.expose())?;
    let bad = |name: &str, e: tessera_core::Error| Error::Config(format!("{name}: {e}"));
    if alg.is_hmac() {
        return KeySet::hmac(alg, signing.as_bytes()).map_err(|e| bad("SIGNING_KEY", e));
    }
    let key = if signing.trim_start().starts_with('{') {
        let jwk: serde_json::Value = serde_json::from_str(&signing)
            .map_err(|e| Error::Config(format!("SIGNING_KEY: not a JWK: {e}")))?;
        Key::from_private_jwk(alg, &jwk)
    } else {
        Key::from_private_pem(alg, signing.as_bytes(), None)
    }
    .map_err(|e| bad("SIGNING_KEY", e))?;
    if !settings.verifying_key.is_empty() {
        // Simple JWT needs VERIFYING_KEY; here the public half is derived from the private
        // key, and a configured one must match it rather than be silently ignored.
        let text = key_text("VERIFYING_KEY", &settings.verifying_key)?;
        let public = if text.trim_start().starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::Config(format!("VERIFYING_KEY: not JSON: {e}")))?;
            Key::from_jwk_value(&v, Some(alg))
        } else {
            Key::from_public_pem(alg, text.as_bytes(), None)
        }
        .map_err(|e| bad("VERIFYING_KEY", e))?;
        let probe = key
            .sign(b"tessera key pair check")
            .map_err(|e| bad("SIGNING_KEY", e))?;
        if !public.verify(b"tessera key pair check", &probe) {
            return Err(Error::Config(
                "VERIFYING_KEY is not the public half of SIGNING_KEY".into(),
            ));
        }
    }
    KeySet::single(key).map_err(|e| bad("SIGNING_KEY", e))
}

fn read_secret(path: &Path) -> Result<String> {
    let text =
        fs::read_to_string(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let key = text.trim().to_owned();
    if key.len() < tessera_core::keys::MIN_HMAC_KEY_LEN {
        return Err(Error::Config(format!(
            "the key file {} holds a key shorter than {} bytes; delete it to generate a new \
             one (this logs everyone out)",
            path.display(),
            tessera_core::keys::MIN_HMAC_KEY_LEN
        )));
    }
    Ok(key)
}

fn write_private(dir: &Path, path: &Path, contents: &str) -> Result<()> {
    fs::create_dir_all(dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(Error::io(format!("creating {}", path.display())))?;
    f.write_all(contents.as_bytes())
        .and_then(|()| {
            if contents.ends_with('\n') {
                Ok(())
            } else {
                f.write_all(b"\n")
            }
        })
        .and_then(|()| f.sync_all())
        .map_err(Error::io(format!("writing {}", path.display())))
}

/// Reads the manifest of the key set in `dir` (`<data dir>/keys`).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(Manifest::default());
    }
    let text =
        fs::read_to_string(&path).map_err(Error::io(format!("reading {}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let text = serde_json::to_string_pretty(m).map_err(|e| Error::Config(e.to_string()))?;
    fs::write(&tmp, text + "\n").map_err(Error::io(format!("writing {}", tmp.display())))?;
    // Atomic replace: a crash leaves the old manifest or the new one, never half of one.
    fs::rename(&tmp, &path).map_err(Error::io(format!("replacing {}", path.display())))
}

fn load_manifest_keys(dir: &Path) -> Result<KeySet> {
    let m = read_manifest(dir)?;
    let mut keys = Vec::new();
    let (mut active, mut no_kid) = (None, None);
    for (i, e) in m.keys.iter().enumerate() {
        let alg = Algorithm::from_name(&e.alg)
            .ok_or_else(|| Error::Config(format!("key {}: unknown algorithm {}", e.kid, e.alg)))?;
        let text = fs::read_to_string(dir.join(&e.file))
            .map_err(Error::io(format!("reading key {}", e.kid)))?;
        let key = if alg.is_hmac() {
            Key::hmac(alg, text.trim().as_bytes(), Some(e.kid.clone()))
        } else {
            Key::from_private_pem(alg, text.as_bytes(), Some(e.kid.clone()))
        }
        .map_err(|err| Error::Config(format!("key {}: {err}", e.kid)))?;
        keys.push(key);
        if e.status == "active" {
            active = Some(i);
        }
        if e.accepts_tokens_without_kid {
            no_kid = Some(i);
        }
    }
    if active.is_none() {
        return Err(Error::Config(format!(
            "the key set in {} has no active key (run `tessera keys rotate`)",
            dir.display()
        )));
    }
    KeySet::new(keys, active, no_kid).map_err(|e| Error::Config(format!("key set: {e}")))
}

/// Generates a key of `alg` into the data directory's key set. The first key becomes
/// active; later ones are verify-only until `rotate` promotes them (publish first,
/// sign later: verifiers learn a key before they meet tokens signed with it). A
/// previously generated HMAC `signing_key` is imported first, so its tokens keep working.
pub fn generate(data_dir: &Path, alg: Algorithm, activate_if_first: bool) -> Result<KeyEntry> {
    let dir = data_dir.join(KEY_DIR);
    fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
    }
    let mut m = read_manifest(&dir)?;
    let now = SystemClock.now_secs();
    let legacy = data_dir.join(KEY_FILE);
    if m.keys.is_empty() && legacy.exists() {
        let secret = read_secret(&legacy)?;
        let kid = format!("legacy-{}", &tessera_core::clock::new_jti(&OsRandom)[..8]);
        let file = format!("{kid}.key");
        write_private(&dir, &dir.join(&file), &secret)?;
        m.keys.push(KeyEntry {
            kid,
            alg: "HS256".into(),
            status: "active".into(),
            created_at: now,
            file,
            accepts_tokens_without_kid: true,
        });
    }
    if let Some(first) = m.keys.first()
        && Algorithm::from_name(&first.alg).map(Algorithm::is_hmac) != Some(alg.is_hmac())
    {
        return Err(Error::Usage(format!(
            "the key set holds {} keys; a {} key cannot join it (HMAC secrets and key pairs \
             are never mixed). Moving between them logs everyone out: move the keys folder \
             away and start again",
            first.alg,
            alg.name()
        )));
    }
    let kid = format!("{}-{}", now, &tessera_core::clock::new_jti(&OsRandom)[..8]);
    let (_, private) = Key::generate(alg, &OsRandom, Some(kid.clone()))?;
    let file = format!("{kid}.{}", if alg.is_hmac() { "key" } else { "pem" });
    write_private(&dir, &dir.join(&file), &private)?;
    let entry = KeyEntry {
        kid,
        alg: alg.name().into(),
        status: if m.keys.is_empty() && activate_if_first {
            "active"
        } else {
            "verify"
        }
        .into(),
        created_at: now,
        file,
        accepts_tokens_without_kid: false,
    };
    m.keys.push(entry.clone());
    write_manifest(&dir, &m)?;
    Ok(entry)
}

/// Promotes the newest verify-only key to active (the old active key stays as a
/// verifier, so live tokens keep working). Without a verify-only key, generates one of
/// the active key's algorithm first.
pub fn rotate(data_dir: &Path) -> Result<(Option<String>, String)> {
    let dir = data_dir.join(KEY_DIR);
    let mut m = read_manifest(&dir)?;
    let old = m
        .keys
        .iter()
        .find(|k| k.status == "active")
        .map(|k| k.kid.clone());
    let has_pending = m
        .keys
        .iter()
        .any(|k| k.status == "verify" && Some(&k.kid) != old.as_ref());
    if !has_pending {
        let alg = m
            .keys
            .iter()
            .find(|k| k.status == "active")
            .and_then(|k| Algorithm::from_name(&k.alg))
            .ok_or_else(|| {
                Error::Usage("no key set yet: run `tessera keys generate` first".into())
            })?;
        generate(data_dir, alg, false)?;
        m = read_manifest(&dir)?;
    }
    let newest = m
        .keys
        .iter()
        .filter(|k| k.status == "verify")
        .max_by_key(|k| (k.created_at, k.kid.clone()))
        .map(|k| k.kid.clone())
        .ok_or_else(|| Error::Usage("no verify-only key to promote".into()))?;
    for k in &mut m.keys {
        if k.kid == newest {
            k.status = "active".into();
        } else if k.status == "active" {
            k.status = "verify".into();
        }
    }
    write_manifest(&dir, &m)?;
    Ok((old, newest))
}

/// Removes a verify-only key from the set (tokens it signed stop verifying).
pub fn retire(data_dir: &Path, kid: &str) -> Result<()> {
    let dir = data_dir.join(KEY_DIR);
    let mut m = read_manifest(&dir)?;
    let Some(pos) = m.keys.iter().position(|k| k.kid == kid) else {
        return Err(Error::Usage(format!("no key {kid:?} in {}", dir.display())));
    };
    if m.keys[pos].status == "active" {
        return Err(Error::Usage(format!(
            "{kid} is the active key: rotate to another key first"
        )));
    }
    let entry = m.keys.remove(pos);
    write_manifest(&dir, &m)?;
    let _ = fs::remove_file(dir.join(&entry.file));
    Ok(())
}

/// The data directory's key-set folder.
pub fn key_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_DIR)
}

/// The data directory's keys (its key set, else its generated HMAC secret) as a
/// database key set takes them in ([`tessera_engine::KeyRing::import`]); empty when it
/// has none.
pub fn importable(data_dir: &Path) -> Result<Vec<tessera_engine::ImportedKey>> {
    use tessera_engine::{ImportedKey, KeyState};
    let dir = data_dir.join(KEY_DIR);
    let m = read_manifest(&dir)?;
    let micros = |secs: i64| secs.saturating_mul(1_000_000);
    if m.keys.is_empty() {
        let legacy = data_dir.join(KEY_FILE);
        if !legacy.exists() {
            return Ok(Vec::new());
        }
        return Ok(vec![ImportedKey {
            kid: format!("legacy-{}", &tessera_core::clock::new_jti(&OsRandom)[..8]),
            alg: Algorithm::HS256,
            private: read_secret(&legacy)?,
            created_at: micros(SystemClock.now_secs()),
            state: KeyState::Active,
            accepts_tokens_without_kid: true,
        }]);
    }
    m.keys
        .iter()
        .zip(states(&m))
        .map(|(e, state)| {
            let alg = Algorithm::from_name(&e.alg).ok_or_else(|| {
                Error::Config(format!("key {}: unknown algorithm {}", e.kid, e.alg))
            })?;
            let private = fs::read_to_string(dir.join(&e.file))
                .map_err(Error::io(format!("reading key {}", e.kid)))?;
            Ok(ImportedKey {
                kid: e.kid.clone(),
                alg,
                private: private.trim().to_owned(),
                created_at: micros(e.created_at),
                state,
                accepts_tokens_without_kid: e.accepts_tokens_without_kid,
            })
        })
        .collect()
}

/// The manifest's keys in the database key set's terms, in order: keys made after the
/// active one wait (`next`: `rotate` promotes the newest), older ones verify
/// (`previous`).
pub fn states(m: &Manifest) -> Vec<tessera_engine::KeyState> {
    use tessera_engine::KeyState;
    let active_at = m
        .keys
        .iter()
        .find(|k| k.status == "active")
        .map_or(i64::MAX, |k| k.created_at);
    m.keys
        .iter()
        .map(|k| match (k.status.as_str(), k.created_at >= active_at) {
            ("active", _) => KeyState::Active,
            (_, true) => KeyState::Next,
            _ => KeyState::Previous,
        })
        .collect()
}

/// The files `SIGNING_KEY` and `VERIFYING_KEY` name, when they name files.
pub fn configured_key_files(settings: &Settings) -> Vec<PathBuf> {
    [
        settings.signing_key.expose(),
        settings.verifying_key.as_str(),
    ]
    .into_iter()
    .filter(|v| !v.is_empty() && looks_like_path(v))
    .map(|v| PathBuf::from(v.strip_prefix("file:").unwrap_or(v)))
    .collect()
}
