//! The signing key when `SIGNING_KEY` is not configured: generated once, kept in the
//! data directory with mode 0600, reused on every start so tokens survive restarts.
//!
//! There is deliberately no built-in default key: a default is public, and a public
//! HMAC key lets anyone mint tokens.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::keys::MIN_HMAC_KEY_LEN;
use tessera_core::{KeySet, OsRandom, Random, Settings};

use crate::error::{Error, Result};

/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "signing_key";

/// The key set for `settings`: `SIGNING_KEY` when given, else the data directory's key
/// file, created on first use when `create` is true.
pub fn load_keys(settings: &Settings, data_dir: &Path, create: bool) -> Result<KeySet> {
    if !settings.signing_key.is_empty() {
        return Ok(KeySet::hmac(
            settings.algorithm,
            settings.signing_key.expose().as_bytes(),
        )?);
    }
    let path = data_dir.join(KEY_FILE);
    let secret = if path.exists() {
        read_key(&path)?
    } else if create {
        write_new_key(data_dir, &path)?
    } else {
        return Err(Error::Config(format!(
            "no SIGNING_KEY configured and no key file at {} (run `tessera serve` once, \
             or set TESSERA_SIGNING_KEY)",
            path.display()
        )));
    };
    Ok(KeySet::hmac(settings.algorithm, secret.as_bytes())?)
}

fn read_key(path: &Path) -> Result<String> {
    let text =
        fs::read_to_string(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let key = text.trim().to_owned();
    if key.len() < MIN_HMAC_KEY_LEN {
        return Err(Error::Config(format!(
            "the key file {} holds a key shorter than {MIN_HMAC_KEY_LEN} bytes; \
             delete it to generate a new one (this logs everyone out)",
            path.display()
        )));
    }
    Ok(key)
}

fn write_new_key(data_dir: &Path, path: &PathBuf) -> Result<String> {
    fs::create_dir_all(data_dir).map_err(Error::io(format!("creating {}", data_dir.display())))?;
    let mut bytes = [0u8; 48];
    OsRandom.fill(&mut bytes);
    let key = URL_SAFE_NO_PAD.encode(bytes);
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
    f.write_all(key.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(Error::io(format!("writing {}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a new signing key");
    Ok(key)
}
