//! `tessera keys generate | list | rotate | retire`: the signing key set, wherever
//! `KEY_STORE` keeps it (the data directory's files, or the database shared by every
//! instance). Running servers pick a change up by themselves: the database's within a
//! second on every instance, files within a second on this host. Every change is
//! written to the audit log (actor `cli`) and as a `tessera::security` log line.

use std::path::Path;

use tessera_core::{Clock as _, SystemClock};
use tessera_store::admin::AuditEvent;

use super::KeysAction;
use crate::config::Config;
use crate::database::ready_store;
use crate::error::{Error, Result};
use crate::key_source::KeySource;

/// Runs one `keys` action.
pub(super) async fn run(config: &Config, data_dir: &Path, action: KeysAction) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let source = KeySource::new(config, store.clone(), data_dir).await?;
    let apply = match &source {
        KeySource::Database(_) => "Every running instance uses the change within a second.",
        _ => {
            "A running server on this host uses the change within a second (other hosts keep \
             their own key files)."
        }
    };
    let (action, target, detail) = match action {
        KeysAction::Generate { alg } => {
            let alg = tessera_core::Algorithm::from_name(&alg)
                .ok_or_else(|| Error::Usage(format!("unknown algorithm {alg:?}")))?;
            let k = source.generate(alg).await?;
            println!(
                "Generated {} key {} ({}).",
                k.alg.name(),
                k.kid,
                k.state.name()
            );
            if k.state != tessera_engine::KeyState::Active {
                println!(
                    "It is published in the JWKS now; run `tessera keys rotate` to sign with it \
                     once verifiers have fetched it."
                );
            }
            println!("{apply}");
            ("key_generated", k.kid, alg.name().to_owned())
        }
        KeysAction::List => return list(config, data_dir, &source).await,
        KeysAction::Rotate => {
            let r = source.rotate().await?;
            let old = r.old.as_deref().unwrap_or("the previous key");
            println!(
                "Now signing with {}; {old} keeps verifying until it retires (after the longest \
                 token lifetime).",
                r.new
            );
            println!("{apply}");
            ("key_rotated", r.new.clone(), format!("was {old}"))
        }
        KeysAction::Retire { kid } => {
            source.retire(&kid).await?;
            println!("Retired {kid}: tokens it signed are refused from now on.");
            println!("{apply}");
            ("key_retired", kid, String::new())
        }
    };
    tracing::info!(
        target: "tessera::security",
        event = action,
        user = "cli",
        target_of = target.as_str(),
        "key set changed"
    );
    let event = AuditEvent {
        at: SystemClock.now_micros(),
        actor: "cli".into(),
        action: action.into(),
        target,
        client: String::new(),
        detail,
    };
    if let Err(e) = store.audit(std::slice::from_ref(&event)).await {
        eprintln!("warning: the change is made, but the audit log could not record it: {e}");
    }
    Ok(())
}

/// `keys list`: kid, algorithm, state, age, published.
async fn list(config: &Config, data_dir: &Path, source: &KeySource) -> Result<()> {
    // The set in use, for the sets that have no states of their own; none yet is fine.
    let current = crate::keyfile::load_keys(&config.settings, data_dir, false).ok();
    let keys = source.list(current.as_ref()).await?;
    if keys.is_empty() {
        println!("No keys yet (see `tessera keys generate`).");
        return Ok(());
    }
    println!("Keys from {}:", source.describe());
    let now = SystemClock.now_micros();
    for k in &keys {
        let age = if k.created_at > 0 {
            format!("{:>5} days", (now - k.created_at) / 86_400_000_000)
        } else {
            " ".repeat(10)
        };
        println!(
            "{:<28} {:<6} {:<9} {age}{}{}",
            k.kid,
            k.alg.name(),
            k.state.name(),
            if k.published { "  published" } else { "" },
            if k.accepts_tokens_without_kid {
                "  (also tokens without kid)"
            } else {
                ""
            }
        );
    }
    Ok(())
}
