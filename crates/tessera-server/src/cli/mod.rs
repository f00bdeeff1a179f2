//! The `tessera` command line: the argument types here, each command in a module named
//! for what it acts on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::database::{migrate, open_database};
use crate::error::Result;

mod import;
mod keys;
mod setup;
pub(crate) mod tokens;
mod users;

pub use users::check_password_strength;

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
        /// Also serve the demo single-page app at /demo/ (plain JavaScript, embedded in
        /// the binary): log in, the demo API, silent refresh, logout. Pair it with
        /// AUTH_COOKIE_MODE = "refresh" or "full" and `tessera seed-demo`.
        #[arg(long)]
        demo: bool,
    },
    /// Create or update the database schema. Tables a Django project made are used as
    /// they are: never altered, rebuilt or dropped.
    Migrate {
        /// Print what would be created, statement by statement, and change nothing.
        #[arg(long)]
        plan: bool,
    },
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
    /// Delete expired tokens from the ledger (and their blacklist rows), and remove the
    /// signature of stored tokens that still have one.
    Flushexpiredtokens,
    /// Remove the signature of every stored token that still has one (rows written by
    /// Django or by an older Tessera), so a copy of the database holds no working token.
    Scrubtokens,
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
    /// Copy a Django project's users (hashes untouched, ids kept) and its outstanding
    /// and blacklisted tokens into Tessera's database. Idempotent; a progress bar on
    /// standard error.
    ImportDjango {
        /// The Django project's database: sqlite://PATH or postgres://… (read only).
        #[arg(long = "from")]
        from: String,
        /// Count what would be copied; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the configuration and print a summary (never secrets), with what the
    /// database holds (user table and fields, password hashers in use, row counts and
    /// pending migrations), read without writing anything.
    Check,
    /// Manage the signing key set (rotation without logouts): the data directory's files,
    /// or the database's with KEY_STORE = "database". Running servers follow the change.
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
    /// Generate a key. The first key is active at once; later keys wait ("next"): they
    /// verify and are published (JWKS) until `rotate` makes them sign.
    Generate {
        /// HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
        #[arg(long, default_value = "ES256")]
        alg: String,
    },
    /// List the keys: kid, algorithm, state (next, active, previous), age, published.
    List,
    /// Make the newest waiting key the signing key (or a new one); the old one keeps
    /// verifying until the longest token lifetime has passed.
    Rotate,
    /// Remove a key that does not sign: tokens it signed are refused from then on.
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
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { bind, demo } => crate::serve::serve(config, data_dir, &bind, demo).await,
        Command::Migrate { plan: false } => setup::migrate_command(&config, data_dir).await,
        Command::Migrate { plan: true } => setup::migrate_plan(&config, data_dir).await,
        Command::Createsuperuser(args) => {
            users::create_user(&config, data_dir, args, true, true, false).await
        }
        Command::Createuser {
            user,
            staff,
            superuser,
            inactive,
        } => {
            users::create_user(
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
            users::change_password(
                &config,
                data_dir,
                &username,
                password_stdin,
                allow_weak_password,
            )
            .await
        }
        Command::Revoke { user } => users::revoke(&config, data_dir, &user).await,
        Command::Flushexpiredtokens => tokens::flush_expired(&config, data_dir).await,
        Command::Scrubtokens => tokens::scrub(&config, data_dir).await,
        Command::Decode { token } => tokens::decode(&config, data_dir, &token),
        Command::Keys { action } => keys::run(&config, data_dir, action).await,
        Command::SeedDemo => {
            let db = open_database(&config, data_dir).await?;
            migrate(&db).await?;
            crate::demo::seed(&config, &db).await
        }
        Command::Check => setup::check(&config, data_dir).await,
        Command::ImportDjango { from, dry_run } => {
            import::import_django(&config, data_dir, &from, dry_run).await
        }
    }
}
