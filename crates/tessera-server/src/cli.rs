//! The `tessera` command line.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use tessera_core::{Clock as _, SystemClock, TokenKind, TokenService};
use tessera_store::NewUser;

use crate::config::Config;
use crate::database::{database_url, migrate, open_database, ready_store, redact_url};
use crate::error::{Error, Result};
use crate::keyfile::load_keys;
use crate::passwords::hash_blocking;

/// Tessera: Simple JWT-compatible JSON Web Token authentication.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: ./tessera.toml when it exists).
    #[arg(long, global = true, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory: the SQLite database and the generated signing key.
    #[arg(
        long,
        global = true,
        env = "TESSERA_DATA_DIR",
        default_value = "tessera-data"
    )]
    pub data_dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8000")]
        bind: String,
    },
    /// Create or update the database schema.
    Migrate,
    /// Create a superuser (staff, all permissions).
    Createsuperuser(UserArgs),
    /// Create a user.
    Createuser {
        /// Who.
        #[command(flatten)]
        user: UserArgs,
        /// May use the admin page.
        #[arg(long)]
        staff: bool,
        /// Has every permission (implies --staff).
        #[arg(long)]
        superuser: bool,
        /// Created inactive: cannot log in until activated.
        #[arg(long)]
        inactive: bool,
    },
    /// Change a user's password.
    Changepassword {
        /// The user.
        username: String,
        /// Read the new password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Accept a password that fails the strength checks.
        #[arg(long)]
        allow_weak_password: bool,
    },
    /// Delete expired tokens from the ledger (and their blacklist rows).
    Flushexpiredtokens,
    /// Revoke every session of a user (all refresh tokens; with ACCESS_TOKEN_REVOCATION
    /// their access tokens too, on every instance).
    Revoke {
        /// The user whose sessions end.
        #[arg(long)]
        user: String,
    },
    /// Show a token's header and claims, and whether it verifies with the configured key.
    Decode {
        /// The token.
        token: String,
    },
    /// Validate the configuration and print a summary (never secrets).
    Check,
    /// Manage the signing key set in the data directory (rotation without logouts).
    Keys {
        /// What to do with the keys.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Create the reference deployment's demo users (alice/alice-pass, bob, carol, dave,
    /// and an inactive user) and product reviews. Idempotent. For trying Tessera out and
    /// for benchmarks; never run it on a production database.
    SeedDemo,
}

/// `tessera keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Generate a key. The first key is active at once; later keys are verify-only and
    /// published (JWKS) until `rotate` promotes them.
    Generate {
        /// HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
    },
    /// List the keys: kid, algorithm, status, age.
    List,
    /// Make the newest verify-only key the signing key; the old one keeps verifying.
    Rotate,
    /// Remove a verify-only key (after the refresh lifetime has passed since rotation).
    Retire {
        /// The key id.
        kid: String,
    },
}

/// Who to create.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// Username (prompted for when omitted on a terminal).
    #[arg(long)]
    pub username: Option<String>,
    /// E-mail address.
    #[arg(long, default_value = "")]
    pub email: String,
    /// Read the password from the first line of standard input (else TESSERA_PASSWORD,
    /// else a prompt on a terminal).
    #[arg(long)]
    pub password_stdin: bool,
    /// Accept a password that fails the strength checks.
    #[arg(long)]
    pub allow_weak_password: bool,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let data_dir = cli.data_dir.as_path();
    if let Command::Keys { action } = cli.command {
        return keys_command(data_dir, action);
    }
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { bind } => crate::serve::serve(config, data_dir, &bind).await,
        Command::Migrate => {
            let db = open_database(&config, data_dir).await?;
            let applied = migrate(&db).await?;
            if applied.is_empty() {
                println!("No migrations to apply.");
            }
            for name in applied {
                println!("Applied {name}");
            }
            Ok(())
        }
        Command::Createsuperuser(args) => {
            create_user(&config, data_dir, args, true, true, false).await
        }
        Command::Createuser {
            user,
            staff,
            superuser,
            inactive,
        } => {
            create_user(
                &config,
                data_dir,
                user,
                staff || superuser,
                superuser,
                inactive,
            )
            .await
        }
        Command::Changepassword {
            username,
            password_stdin,
            allow_weak_password,
        } => {
            let store = ready_store(&config, data_dir).await?;
            let user = store
                .user_by_username(&username)
                .await?
                .ok_or_else(|| Error::Usage(format!("user {username:?} does not exist")))?;
            let password = read_password(password_stdin)?;
            check_password_strength(&username, &password, allow_weak_password)?;
            let hash = hash_blocking(&config, password).await?;
            store.set_password(user.id, &hash).await?;
            let revoked = store
                .revoke_user(
                    &user.id.to_string(),
                    Some(user.id),
                    SystemClock.now_micros(),
                )
                .await?;
            println!(
                "Password changed successfully for user '{username}' ({} session(s) revoked)",
                revoked.len()
            );
            Ok(())
        }
        Command::Revoke { user } => {
            let store = ready_store(&config, data_dir).await?;
            let u = store
                .user_by_username(&user)
                .await?
                .ok_or_else(|| Error::Usage(format!("user {user:?} does not exist")))?;
            let revoked = store
                .revoke_user(&u.id.to_string(), Some(u.id), SystemClock.now_micros())
                .await?;
            println!("Revoked {} session(s) of user '{user}'.", revoked.len());
            Ok(())
        }
        Command::Flushexpiredtokens => {
            let store = ready_store(&config, data_dir).await?;
            let now = SystemClock.now_micros();
            let total = store.count_expired(now).await?;
            let mut done = 0u64;
            let tty = std::io::stderr().is_terminal();
            // Bounded batches: each is one short transaction, so a serving instance's
            // writes interleave instead of waiting for one huge DELETE.
            loop {
                let n = store.flush_expired_batch(now, 10_000).await?;
                done += n;
                if tty && total > 0 {
                    let pct = done.saturating_mul(100) / total.max(1);
                    let bar = "#".repeat(usize::try_from(pct / 4).unwrap_or(25));
                    eprint!("\r[{bar:<25}] {pct:>3}% {done}/{total}");
                }
                if n == 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            if tty && total > 0 {
                eprintln!();
            }
            // Families and throttling rows left without tokens go too.
            done += store.flush_expired(now).await?;
            println!("Deleted {done} expired token(s).");
            Ok(())
        }
        Command::Decode { token } => decode(&config, data_dir, &token),
        Command::Keys { action } => keys_command(data_dir, action),
        Command::SeedDemo => {
            let db = open_database(&config, data_dir).await?;
            migrate(&db).await?;
            crate::demo::seed(&config, &db).await
        }
        Command::Check => {
            let s = &config.settings;
            let keys = load_keys(s, data_dir, false);
            // A configured key that cannot be used is a configuration error, found now
            // rather than at the first request.
            if !s.signing_key.is_empty()
                || crate::keyfile::key_dir(data_dir).join("keys.json").exists()
            {
                keys.as_ref().map_err(|e| Error::Config(e.to_string()))?;
            }
            println!("Configuration OK");
            match &config.file {
                Some(f) => println!("  file:               {}", f.display()),
                None => println!("  file:               (none; defaults and TESSERA_* variables)"),
            }
            println!(
                "  database:           {}",
                redact_url(&database_url(&config, data_dir))
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
            println!(
                "  signing key:        {}",
                match (&keys, s.signing_key.is_empty()) {
                    (_, false) => "SIGNING_KEY (configured)".to_owned(),
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
            Ok(())
        }
    }
}

fn keys_command(data_dir: &Path, action: KeysAction) -> Result<()> {
    use crate::keyfile;
    match action {
        KeysAction::Generate { alg } => {
            let alg = tessera_core::Algorithm::from_name(&alg)
                .ok_or_else(|| Error::Usage(format!("unknown algorithm {alg:?}")))?;
            let e = keyfile::generate(data_dir, alg, true)?;
            println!("Generated {} key {} ({})", e.alg, e.kid, e.status);
            if e.status == "verify" {
                println!(
                    "It is published in the JWKS now; run `tessera keys rotate` to sign with it                      once verifiers have fetched it."
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
                "Now signing with {new}; {} keeps verifying until you retire it                  (after REFRESH_TOKEN_LIFETIME). Restart the servers to apply.",
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

async fn create_user(
    config: &Config,
    data_dir: &Path,
    args: UserArgs,
    staff: bool,
    superuser: bool,
    inactive: bool,
) -> Result<()> {
    let store = ready_store(config, data_dir).await?;
    let username = match args.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    // As Django's createsuperuser: NFKC, then its UnicodeUsernameValidator.
    let username = tessera_core::username::normalize(username.trim());
    if let Some(problem) = tessera_core::username::problems(&username)
        .into_iter()
        .next()
    {
        return Err(Error::Usage(format!("Error: {problem}")));
    }
    if store.user_by_username(&username).await?.is_some() {
        return Err(Error::Usage(format!(
            "Error: That username is already taken: {username:?}"
        )));
    }
    let password = read_password(args.password_stdin)?;
    check_password_strength(&username, &password, args.allow_weak_password)?;
    let hash = hash_blocking(config, password).await?;
    let mut nu = NewUser::new(&username, &hash, SystemClock.now_micros());
    nu.email = args.email.trim().to_owned();
    nu.is_staff = staff;
    nu.is_superuser = superuser;
    nu.is_active = !inactive;
    let user = store.create_user(&nu).await?;
    if superuser {
        println!("Superuser created successfully (id {}).", user.id);
    } else {
        println!("User created successfully (id {}).", user.id);
    }
    Ok(())
}

fn prompt(label: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{} required: pass it as an option (no terminal to ask on)",
            label.trim_end_matches(": ")
        )));
    }
    print!("{label}");
    std::io::stdout()
        .flush()
        .map_err(Error::io("writing the prompt"))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(Error::io("reading standard input"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The password from standard input's first line, `TESSERA_PASSWORD`, or a prompt.
fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(Error::io("reading the password from standard input"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if let Ok(p) = std::env::var("TESSERA_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no password given: use --password-stdin or TESSERA_PASSWORD".into(),
        ));
    }
    let first =
        rpassword::prompt_password("Password: ").map_err(Error::io("reading the password"))?;
    let again = rpassword::prompt_password("Password (again): ")
        .map_err(Error::io("reading the password"))?;
    if first != again {
        return Err(Error::Usage("Error: Your passwords didn't match.".into()));
    }
    Ok(first)
}

/// Refuses a weak password (Django's default validators) unless `allow_weak`.
pub fn check_password_strength(username: &str, password: &str, allow_weak: bool) -> Result<()> {
    if password.is_empty() {
        return Err(Error::Usage(
            "Error: Blank passwords aren't allowed.".into(),
        ));
    }
    if password.len() > tessera_core::password::MAX_PASSWORD_LEN {
        return Err(Error::Usage(
            "the password is longer than 4096 bytes".into(),
        ));
    }
    let problems = tessera_core::password::strength_problems(username, password);
    if problems.is_empty() || allow_weak {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} (use --allow-weak-password to accept it anyway)",
        problems.join(" ")
    )))
}

fn decode(config: &Config, data_dir: &Path, token: &str) -> Result<()> {
    // Shown as written, before (and whatever) the signature check says.
    let (header, claims) =
        tessera_core::dangerous::decode_unverified(token.trim()).map_err(|_| {
            Error::Usage(
                "not a JWT: expected three base64url parts, the first two JSON objects".into(),
            )
        })?;
    for (label, part) in [("Header", &header), ("Claims", &claims)] {
        let pretty = serde_json::to_string_pretty(part).unwrap_or_default();
        println!("{label}:\n{pretty}");
    }
    match load_keys(&config.settings, data_dir, false) {
        Err(e) => println!("Signature: not checked ({e})"),
        Ok(keys) => {
            let tokens = TokenService::new(
                &config.settings,
                keys,
                Arc::new(SystemClock),
                Arc::new(tessera_core::OsRandom),
            );
            match tokens.decode_signed(token.trim()) {
                Err(_) => println!(
                    "Signature: INVALID with the configured key ({})",
                    config.settings.algorithm.name()
                ),
                Ok(_) => {
                    println!(
                        "Signature: valid with the configured key ({})",
                        config.settings.algorithm.name()
                    );
                    let kind = claims
                        .get("token_type")
                        .and_then(|t| t.as_str())
                        .and_then(|t| match t {
                            "access" => Some(TokenKind::Access),
                            "refresh" => Some(TokenKind::Refresh),
                            "sliding" => Some(TokenKind::Sliding),
                            _ => None,
                        });
                    match tokens.validate(token.trim(), kind) {
                        Ok(_) => println!("Validity: valid now (blacklist not consulted)"),
                        Err(e) => println!("Validity: {e}"),
                    }
                }
            }
        }
    }
    Ok(())
}
