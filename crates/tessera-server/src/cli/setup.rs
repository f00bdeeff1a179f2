//! `migrate` and `check`: the schema and the configuration.

use std::path::Path;

use crate::config::Config;
use crate::database::{database_url, migrate, open_database, redact_url};
use crate::error::{Error, Result};
use crate::keyfile::load_keys;

/// `migrate`: applies pending migrations (the library's and the demo's).
pub(super) async fn migrate_command(config: &Config, data_dir: &Path) -> Result<()> {
    let db = open_database(config, data_dir).await?;
    let applied = migrate(&db).await?;
    if applied.is_empty() {
        println!("No migrations to apply.");
    }
    for name in applied {
        println!("Applied {name}");
    }
    // Ledger rows from before tokens were kept without their signature.
    let scrubbed = super::tokens::scrub_tokens(db.store().as_ref()).await?;
    if scrubbed > 0 {
        println!("Removed the signature of {scrubbed} stored token(s).");
    }
    Ok(())
}

/// `migrate --plan`: what `migrate` would do to the database as it is, part by part.
/// Reads without writing (a SQLite file that does not exist is not created).
pub(super) async fn migrate_plan(config: &Config, data_dir: &Path) -> Result<()> {
    let url = database_url(config, data_dir);
    let users = config.user_table()?;
    let found = tessera_store::inspect(&url, &users)
        .await
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", redact_url(&url))))?;
    let plan = match found {
        Some(found) => found.plan,
        None => {
            println!(
                "{} does not exist: migrate creates it, then everything below.",
                redact_url(&url)
            );
            plan_for_new_database(&users).await?
        }
    };
    if plan.is_empty() {
        println!("No migrations to apply.");
        return Ok(());
    }
    let mut last = "";
    for part in &plan {
        if part.migration != last {
            println!("{}:", part.migration);
            last = part.migration;
        }
        match &part.skipped_because {
            Some(why) => println!("  skipped: {why}"),
            None => {
                for stmt in &part.statements {
                    println!("  {stmt}");
                }
            }
        }
    }
    println!("Nothing was written. Run `tessera migrate` to apply.");
    Ok(())
}

/// The plan for a SQLite file that does not exist yet: read off an empty scratch copy.
async fn plan_for_new_database(
    users: &tessera_store::UserTable,
) -> Result<Vec<tessera_store::PlannedPart>> {
    let scratch = tempfile_dir()?;
    let path = scratch.join("plan.sqlite3");
    // An empty database file: SQLite takes a zero-length file as a new database.
    std::fs::File::create(&path).map_err(Error::io(format!("creating {}", path.display())))?;
    let found = tessera_store::inspect(&format!("sqlite://{}", path.display()), users).await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(found?.map(|f| f.plan).unwrap_or_default())
}

/// A fresh private directory under the system's temporary directory.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "tessera-plan-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// `check`: validates the configuration and prints a summary (never secrets), then what
/// the database holds, read without writing.
pub(super) async fn check(config: &Config, data_dir: &Path) -> Result<()> {
    let s = &config.settings;
    let keys = load_keys(s, data_dir, false);
    // A configured key that cannot be used is a configuration error, found now
    // rather than at the first request.
    if !s.signing_key.is_empty() || crate::keyfile::key_dir(data_dir).join("keys.json").exists() {
        keys.as_ref().map_err(|e| Error::Config(e.to_string()))?;
    }
    println!("Configuration OK");
    match &config.file {
        Some(f) => println!("  file:               {}", f.display()),
        None => println!("  file:               (none; defaults and TESSERA_* variables)"),
    }
    println!(
        "  database:           {}",
        redact_url(&database_url(config, data_dir))
    );
    match &keys {
        Ok(k) => println!(
            "  signing algorithm:  {} ({} key(s), {} published in the JWKS)",
            k.algorithm().name(),
            k.keys().len(),
            k.keys().iter().filter(|k| k.public_jwk().is_some()).count()
        ),
        Err(_) => println!("  algorithm:          {}", s.algorithm.name()),
    }
    let server = &config.server;
    let database_keys = server.key_store == crate::config::KeyStoreKind::Database;
    println!(
        "  signing key:        {}",
        match (&keys, s.signing_key.is_empty()) {
            (_, false) => "SIGNING_KEY (configured; reloaded on SIGHUP)".to_owned(),
            (_, true) if database_keys => format!(
                "the database key set (KEY_STORE = \"database\", sealed under \
                 KEY_ENCRYPTION_KEY); rotation {}",
                match server.key_rotation_interval {
                    0 => "by hand (`tessera keys rotate`)".to_owned(),
                    n => format!(
                        "every {n} s, each key published {} s before it signs",
                        server.key_publish_ahead
                    ),
                }
            ),
            (Ok(_), true) if crate::keyfile::key_dir(data_dir).join("keys.json").exists() => {
                format!(
                    "the key set in {}",
                    crate::keyfile::key_dir(data_dir).display()
                )
            }
            (Ok(_), true) => format!("{}/signing_key", data_dir.display()),
            (Err(_), true) => "generated on first `tessera serve`".to_owned(),
        }
    );
    println!("  access lifetime:    {} s", s.access_token_lifetime);
    println!("  refresh lifetime:   {} s", s.refresh_token_lifetime);
    println!(
        "  rotation:           {} (blacklist after rotation: {})",
        s.rotate_refresh_tokens, s.blacklist_after_rotation
    );
    println!(
        "  CORS origins:       {:?}",
        config.server.cors_allowed_origins
    );
    print_cookie_mode(s);
    check_database(config, data_dir).await
}

/// The browser transport (`AUTH_COOKIE_MODE`) in one or two lines.
fn print_cookie_mode(s: &tessera_core::Settings) {
    use tessera_core::CookieMode;
    let mode = match s.auth_cookie_mode {
        CookieMode::Off => {
            println!("  cookie mode:        off (bearer tokens only, as Simple JWT)");
            return;
        }
        CookieMode::Refresh => "refresh (refresh token in an HttpOnly cookie)",
        CookieMode::Full => "full (refresh and access tokens in HttpOnly cookies)",
    };
    let names = s.cookie_names();
    println!("  cookie mode:        {mode}");
    println!(
        "  cookies:            {}, {}, {} (CSRF header {})",
        names.refresh,
        names.access,
        names.csrf,
        s.csrf_header().unwrap_or_default()
    );
    if !s.auth_cookie_secure {
        println!(
            "  WARNING:            AUTH_COOKIE_SECURE = false: cookies travel over plain HTTP; \
             for local development only, and `tessera serve` accepts it only on loopback"
        );
    }
}

/// The database half of `check`.
async fn check_database(config: &Config, data_dir: &Path) -> Result<()> {
    let url = database_url(config, data_dir);
    let users = config.user_table()?;
    println!("Database {}", redact_url(&url));
    let found = match tessera_store::inspect(&url, &users).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            println!("  does not exist yet: `tessera migrate` (or `serve`) creates it");
            return Ok(());
        }
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot read the database {}: {e}",
                redact_url(&url)
            )));
        }
    };
    println!(
        "  Django project:     {}",
        if found.django_project {
            "yes (django_migrations found): its tables are used as they are, never altered"
        } else {
            "no"
        }
    );
    let login = config.settings.username_field.as_str();
    if !found.user_table_exists {
        println!(
            "  user table:         {} NOT FOUND{}",
            users.table,
            if users.is_django_default() {
                " (migrate creates it)"
            } else {
                ": set USER_TABLE to your user model's table"
            }
        );
    } else {
        println!(
            "  user table:         {} (login field {login} = column {}; {} keys)",
            users.table,
            users.login,
            match found.id_kind {
                tessera_store::user_table::IdKind::Integer => "integer",
                tessera_store::user_table::IdKind::Uuid => "UUID",
            }
        );
        let columns: Vec<String> = users
            .columns()
            .iter()
            .map(|(f, c)| {
                if f == c {
                    (*f).to_owned()
                } else {
                    format!("{f}={c}")
                }
            })
            .collect();
        println!("  user fields read:   {}", columns.join(", "));
    }
    for (field, column) in &found.missing_columns {
        println!(
            "  MISSING COLUMN:     {}.{column} (field {field}): name it in USER_COLUMNS, or set it to false",
            users.table
        );
    }
    if let Some((total, active)) = found.users {
        println!("  users:              {total} ({active} active)");
    }
    let verifies = &config.settings.password_hashers;
    for (alg, n) in &found.hashers {
        let note = match alg.as_str() {
            "!" => "unusable password (refused, as Django does)".to_owned(),
            "?" => "no Django hash format: these users cannot log in".to_owned(),
            a => match tessera_core::settings::algorithm_of_hasher(a) {
                None => format!("NOT SUPPORTED by Tessera: these {n} user(s) cannot log in"),
                Some(_)
                    if !verifies.is_empty()
                        && !verifies
                            .iter()
                            .any(|h| tessera_core::settings::algorithm_of_hasher(h) == Some(a)) =>
                {
                    "not in PASSWORD_HASHERS: refused until it is listed".to_owned()
                }
                Some(_) => "verified".to_owned(),
            },
        };
        println!("  password hashes:    {n} {alg}: {note}");
    }
    match found.tokens {
        Some((o, b)) => println!("  token ledger:       {o} outstanding, {b} blacklisted"),
        None => {
            println!("  token ledger:       no token_blacklist tables yet (migrate creates them)")
        }
    }
    let pending: std::collections::BTreeSet<&str> =
        found.plan.iter().map(|p| p.migration).collect();
    if pending.is_empty() {
        println!("  migrations:         up to date");
    } else {
        println!(
            "  migrations:         {} pending ({}); `tessera migrate --plan` shows each statement",
            pending.len(),
            pending.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    if !found.missing_columns.is_empty() || (!found.user_table_exists && !users.is_django_default())
    {
        return Err(Error::Config(
            "the user table does not match USER_TABLE / USER_COLUMNS (see above)".into(),
        ));
    }
    Ok(())
}
