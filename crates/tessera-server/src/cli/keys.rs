//! `tessera keys generate | list | rotate | retire`: the key set in the data directory.

use std::path::Path;

use tessera_core::{Clock as _, SystemClock};

use super::KeysAction;
use crate::error::{Error, Result};

/// Runs one `keys` action.
pub(super) fn run(data_dir: &Path, action: KeysAction) -> Result<()> {
    use crate::keyfile;
    match action {
        KeysAction::Generate { alg } => {
            let alg = tessera_core::Algorithm::from_name(&alg)
                .ok_or_else(|| Error::Usage(format!("unknown algorithm {alg:?}")))?;
            let e = keyfile::generate(data_dir, alg, true)?;
            println!("Generated {} key {} ({})", e.alg, e.kid, e.status);
            if e.status == "verify" {
                println!(
                    "It is published in the JWKS now; run `tessera keys rotate` to sign with it once verifiers have fetched it."
                );
            }
            Ok(())
        }
        KeysAction::List => {
            let m = keyfile::read_manifest(&keyfile::key_dir(data_dir))?;
            if m.keys.is_empty() {
                println!(
                    "No key set in {} (see `tessera keys generate`).",
                    keyfile::key_dir(data_dir).display()
                );
            }
            let now = SystemClock.now_secs();
            for k in &m.keys {
                println!(
                    "{:<28} {:<6} {:<7} {:>6} days{}",
                    k.kid,
                    k.alg,
                    k.status,
                    (now - k.created_at) / 86_400,
                    if k.accepts_tokens_without_kid {
                        "  (also tokens without kid)"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        KeysAction::Rotate => {
            let (old, new) = keyfile::rotate(data_dir)?;
            println!(
                "Now signing with {new}; {} keeps verifying until you retire it (after REFRESH_TOKEN_LIFETIME). Restart the servers to apply.",
                old.as_deref().unwrap_or("the previous key")
            );
            Ok(())
        }
        KeysAction::Retire { kid } => {
            keyfile::retire(data_dir, &kid)?;
            println!("Retired {kid}. Restart the servers to apply.");
            Ok(())
        }
    }
}
