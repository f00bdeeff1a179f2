//! Configuration: defaults < `tessera.toml` < `TESSERA_*` environment variables.
//!
//! One file of `NAME = value` lines holds both Simple JWT's settings (handed to
//! [`tessera_core::Settings`]) and the server's own (`DATABASE_URL`, `CORS_ALLOWED_ORIGINS`).
//! A key neither knows is refused with its name, whichever source it came from.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera_core::Settings;

use crate::error::{Error, Result};

/// The server's own settings (not Simple JWT's).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `DATABASE_URL`: `sqlite://PATH`; unset = `<data dir>/tessera.sqlite3`.
    #[serde(rename = "DATABASE_URL", default)]
    pub database_url: Option<String>,
    /// `CORS_ALLOWED_ORIGINS` ([]): origins whose browser scripts may call the API,
    /// e.g. `["https://app.example.com"]`. Empty = no CORS headers at all.
    #[serde(rename = "CORS_ALLOWED_ORIGINS", default)]
    pub cors_allowed_origins: Vec<String>,
    /// `DATABASE_MAX_CONNECTIONS` (10): connection pool size per instance.
    #[serde(
        rename = "DATABASE_MAX_CONNECTIONS",
        default = "default_max_connections"
    )]
    pub database_max_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT` (5 s): how long a request waits for a database
    /// connection before it is answered 503 (database unreachable or overloaded).
    #[serde(
        rename = "DATABASE_ACQUIRE_TIMEOUT",
        default = "default_acquire_timeout",
        deserialize_with = "seconds"
    )]
    pub database_acquire_timeout: u64,
    /// `USER_CACHE_TTL` (30 s; 0 = no cache): how long a user row read for a protected
    /// route is reused. Changes made through Tessera (any instance) apply at once; the
    /// TTL bounds changes made behind its back (SQL by hand, a Django admin).
    #[serde(
        rename = "USER_CACHE_TTL",
        default = "default_user_cache_ttl",
        deserialize_with = "seconds_or_zero"
    )]
    pub user_cache_ttl: u64,
    /// `STATELESS_AUTHENTICATION` (false): the demo API's `/api/me/` trusts the token
    /// alone, as Simple JWT's `JWTStatelessUserAuthentication`: no user read, so a
    /// deactivated or deleted user keeps access until the access token expires.
    #[serde(rename = "STATELESS_AUTHENTICATION", default)]
    pub stateless_authentication: bool,
    /// `API_PREFIX` (`/api/`): where every route of the API lives (a Django project's
    /// layout, e.g. `/api/v1/` serves `/api/v1/token/`); `/.well-known/jwks.json` stays
    /// at the root.
    #[serde(rename = "API_PREFIX", default = "default_api_prefix")]
    pub api_prefix: String,
    /// `USER_TABLE` (`auth_user`): the table of the Django project's user model
    /// (`AUTH_USER_MODEL`), e.g. `accounts_user`.
    #[serde(rename = "USER_TABLE", default = "default_user_table")]
    pub user_table: String,
    /// `USER_COLUMNS` ({}): the user model's field → column names where they differ from
    /// the field names, and `false` for fields the model does not have, e.g.
    /// `{ username = false, is_staff = false }`.
    #[serde(rename = "USER_COLUMNS", default)]
    pub user_columns: std::collections::BTreeMap<String, NameOrOff>,
    /// `ENDPOINTS` ({}): an endpoint's path under `API_PREFIX`, or `false` to switch it
    /// off, e.g. `{ obtain_pair = "auth/login/", obtain_sliding = false }`. Names: the
    /// token endpoints (`obtain_pair`, `refresh`, `verify`, `blacklist`,
    /// `blacklist_all`, `obtain_sliding`, `refresh_sliding`, `pair_check`, `jwks`) and the
    /// server's (`me`, `me_password`, `reviews`, `health`, `ready`, `schema`).
    #[serde(rename = "ENDPOINTS", default)]
    pub endpoints: std::collections::BTreeMap<String, NameOrOff>,
    /// `ADMIN_ENABLED` (true): `tessera serve` serves the admin page.
    #[serde(rename = "ADMIN_ENABLED", default = "default_true")]
    pub admin_enabled: bool,
    /// `ADMIN_PATH` (`/admin/`): where the admin page lives.
    #[serde(rename = "ADMIN_PATH", default = "default_admin_path")]
    pub admin_path: String,
    /// `ADMIN_IDLE_TIMEOUT` (30 minutes): an admin session unused this long ends.
    #[serde(
        rename = "ADMIN_IDLE_TIMEOUT",
        default = "default_admin_idle",
        deserialize_with = "admin_seconds"
    )]
    pub admin_idle_timeout: u64,
    /// `ADMIN_SESSION_LIFETIME` (12 hours): an admin session ends this long after its
    /// sign-in, however busy.
    #[serde(
        rename = "ADMIN_SESSION_LIFETIME",
        default = "default_admin_lifetime",
        deserialize_with = "admin_seconds"
    )]
    pub admin_session_lifetime: u64,
    /// `AUDIT_LOG_RETENTION` (90 days; 0 = keep forever): `flushexpiredtokens` deletes
    /// audit log entries older than this.
    #[serde(
        rename = "AUDIT_LOG_RETENTION",
        default = "default_audit_retention",
        deserialize_with = "retention_seconds"
    )]
    pub audit_log_retention: u64,
    /// `METRICS_BIND` (off): the address of the Prometheus `/metrics` listener, e.g.
    /// `127.0.0.1:9100`; a separate listener, so metrics stay off the API's address.
    #[serde(rename = "METRICS_BIND", default, deserialize_with = "socket_address")]
    pub metrics_bind: Option<String>,
    /// `KEY_STORE` (`files`): where the signing keys live when `SIGNING_KEY` is not set.
    /// `files`: the data directory's key set (`tessera keys …` on each host; a running
    /// server reloads it on `SIGHUP` or when the files change). `database`: one key set
    /// in the database for every instance, private keys sealed under
    /// `KEY_ENCRYPTION_KEY`, rotations picked up by every running instance within a
    /// second.
    #[serde(rename = "KEY_STORE", default)]
    pub key_store: KeyStoreKind,
    /// `KEY_ENCRYPTION_KEY` (none): at least 32 bytes, best from the environment
    /// (`TESSERA_KEY_ENCRYPTION_KEY`) or a secret store; seals the private keys of the
    /// database key set. Losing it loses the keys (everyone logs in again).
    #[serde(rename = "KEY_ENCRYPTION_KEY", default)]
    pub key_encryption_key: tessera_core::settings::Secret,
    /// `KEY_ROTATION_INTERVAL` (0 = by hand only): with `KEY_STORE = "database"`, a new
    /// signing key takes over this long after the last one started signing.
    #[serde(
        rename = "KEY_ROTATION_INTERVAL",
        default,
        deserialize_with = "rotation_seconds"
    )]
    pub key_rotation_interval: u64,
    /// `KEY_PUBLISH_AHEAD` (1 day): how long a scheduled key is published in the JWKS
    /// before it starts signing, so verifiers that cache the JWKS know it in time.
    #[serde(
        rename = "KEY_PUBLISH_AHEAD",
        default = "default_publish_ahead",
        deserialize_with = "rotation_seconds"
    )]
    pub key_publish_ahead: u64,
}

/// `KEY_STORE`: where the signing keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum KeyStoreKind {
    /// Files in the data directory (or `SIGNING_KEY`).
    #[default]
    #[serde(rename = "files")]
    Files,
    /// The database, shared by every instance.
    #[serde(rename = "database")]
    Database,
}

/// `METRICS_BIND`: an `IP:port` (empty: off), named in the error when it is not one.
fn socket_address<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    use serde::de::Error as _;
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) if s.parse::<std::net::SocketAddr>().is_ok() => Ok(Some(s.clone())),
        _ => Err(D::Error::custom(format!(
            "METRICS_BIND: {v} is not an address like \"127.0.0.1:9100\""
        ))),
    }
}

fn default_publish_ahead() -> u64 {
    86_400
}

fn rotation_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    seconds_in(d, 0, 10 * 366 * 86_400)
}

fn default_audit_retention() -> u64 {
    90 * 86_400
}

fn retention_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    seconds_in(d, 0, 10 * 366 * 86_400)
}

fn default_true() -> bool {
    true
}

fn default_admin_path() -> String {
    "/admin/".to_owned()
}

fn default_admin_idle() -> u64 {
    30 * 60
}

fn default_admin_lifetime() -> u64 {
    12 * 3600
}

fn admin_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    seconds_in(d, 60, 7 * 86_400)
}

/// Where the server's own routes live (relative to `API_PREFIX`), `None` when off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRoutes {
    /// `me/`: the caller's user.
    pub me: Option<String>,
    /// `me/password/`: change the caller's password.
    pub me_password: Option<String>,
    /// `reviews/`: the demo API.
    pub reviews: Option<String>,
    /// `health/`: liveness.
    pub health: Option<String>,
    /// `ready/`: readiness (database reachable, schema current).
    pub ready: Option<String>,
    /// `schema/`: the OpenAPI document.
    pub schema: Option<String>,
}

/// A `USER_COLUMNS` or `ENDPOINTS` value: a name (a column, a path), or `false` for
/// none (a field the model lacks, an endpoint switched off).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum NameOrOff {
    /// The column's name.
    Named(String),
    /// `false`: no such field.
    Present(bool),
}

/// The user model fields `USER_COLUMNS` may name.
const USER_FIELDS: &[&str] = &[
    "id",
    "password",
    "username",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
    "last_login",
    "date_joined",
];

fn default_user_table() -> String {
    "auth_user".to_owned()
}

fn default_api_prefix() -> String {
    "/api/".to_owned()
}

fn default_user_cache_ttl() -> u64 {
    30
}

fn seconds_or_zero<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    seconds_in(d, 0, 3600)
}

fn default_max_connections() -> u32 {
    10
}

fn default_acquire_timeout() -> u64 {
    5
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    seconds_in(d, 1, 600)
}

/// A duration setting (`5`, `"5s"`, `"2m"`) in whole seconds within `lo..=hi`.
fn seconds_in<'de, D: serde::Deserializer<'de>>(
    d: D,
    lo: u64,
    hi: u64,
) -> std::result::Result<u64, D::Error> {
    use serde::de::Error as _;
    let v = Value::deserialize(d)?;
    let secs = match &v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => tessera_core::settings::parse_duration(s),
        _ => None,
    };
    secs.and_then(|s| u64::try_from(s).ok())
        .filter(|s| (lo..=hi).contains(s))
        .ok_or_else(|| D::Error::custom(format!("expected {lo} to {hi} seconds, got {v}")))
}

/// The server's keys, for splitting one configuration in two.
const SERVER_KEYS: &[&str] = &[
    "DATABASE_URL",
    "CORS_ALLOWED_ORIGINS",
    "DATABASE_MAX_CONNECTIONS",
    "DATABASE_ACQUIRE_TIMEOUT",
    "USER_CACHE_TTL",
    "STATELESS_AUTHENTICATION",
    "API_PREFIX",
    "USER_TABLE",
    "USER_COLUMNS",
    "ENDPOINTS",
    "ADMIN_ENABLED",
    "ADMIN_PATH",
    "ADMIN_IDLE_TIMEOUT",
    "ADMIN_SESSION_LIFETIME",
    "AUDIT_LOG_RETENTION",
    "KEY_STORE",
    "KEY_ENCRYPTION_KEY",
    "KEY_ROTATION_INTERVAL",
    "KEY_PUBLISH_AHEAD",
    "METRICS_BIND",
];

/// Environment variables with the `TESSERA_` prefix that are not settings.
const NOT_SETTINGS: &[&str] = &["PASSWORD", "CONFIG", "DATA_DIR", "LOG", "LOG_FORMAT"];

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Simple JWT's settings (and Tessera's additions to them).
    pub settings: Settings,
    /// The server's own.
    pub server: ServerConfig,
    /// Where the configuration file was read from, if one was.
    pub file: Option<PathBuf>,
}

/// The server's defaults where they differ from the library's: the token pair carries
/// `username` and `email` claims, as the reference deployment's serializer adds.
fn server_defaults() -> Value {
    json!({ "USER_CLAIM_FIELDS": ["username", "email"] })
}

impl Config {
    /// Loads from `file` (or `./tessera.toml` when it exists) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let file = match file {
            Some(f) if !f.exists() => {
                return Err(Error::Config(format!(
                    "configuration file {} does not exist",
                    f.display()
                )));
            }
            Some(f) => Some(f.to_path_buf()),
            None => Some(PathBuf::from("tessera.toml")).filter(|p| p.exists()),
        };
        let mut fig = Figment::from(Serialized::defaults(server_defaults()));
        if let Some(f) = &file {
            fig = fig.merge(Toml::file_exact(f));
        }
        fig = fig.merge(
            // `lowercase(false)` must come after `filter`: figment resets it on chaining.
            Env::prefixed("TESSERA_")
                .filter(|k| !NOT_SETTINGS.contains(&k.as_str()))
                .lowercase(false),
        );
        let all: Map<String, Value> = fig.extract().map_err(|e| {
            Error::Config(format!(
                "{}: {e}",
                file.as_deref()
                    .map_or("environment".into(), |f| f.display().to_string())
            ))
        })?;
        Self::from_map(all, file)
    }

    /// Builds from already-merged `NAME: value` pairs.
    pub fn from_map(all: Map<String, Value>, file: Option<PathBuf>) -> Result<Config> {
        let (server, jwt): (Map<String, Value>, Map<String, Value>) = all
            .into_iter()
            .partition(|(k, _)| SERVER_KEYS.contains(&k.as_str()));
        let settings = Settings::from_json(Value::Object(jwt))?;
        let server = server_config(server)?;
        if !(1..=1000).contains(&server.database_max_connections) {
            return Err(Error::Config(
                "DATABASE_MAX_CONNECTIONS: must be between 1 and 1000".into(),
            ));
        }
        let prefix = server.api_prefix.trim_matches('/');
        if !server.api_prefix.starts_with('/')
            || prefix.is_empty()
            || !prefix.split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
            })
        {
            return Err(Error::Config(format!(
                "API_PREFIX: {:?} is not a path like /api/ or /api/v1/",
                server.api_prefix
            )));
        }
        let admin = server.admin_path.trim_matches('/');
        if !server.admin_path.starts_with('/')
            || admin.is_empty()
            || !admin.split('/').all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
            })
            || format!("/{admin}/").starts_with(&format!("/{prefix}/"))
        {
            return Err(Error::Config(format!(
                "ADMIN_PATH: {:?} is not a path like /admin/ outside API_PREFIX",
                server.admin_path
            )));
        }
        for origin in &server.cors_allowed_origins {
            if origin == "*" {
                return Err(Error::Config(
                    "CORS_ALLOWED_ORIGINS: \"*\" is refused: list the origins. Browsers send \
                     cookies and credentials only to listed origins, and a wildcard would let \
                     any site's pages use them"
                        .into(),
                ));
            }
            let ok = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin
                    .trim_end_matches('/')
                    .contains(|c: char| c.is_whitespace())
                && origin.parse::<http::HeaderValue>().is_ok();
            if !ok || origin == "*" {
                return Err(Error::Config(format!(
                    "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin like https://app.example.com"
                )));
            }
        }
        check_key_store(&settings, &server)?;

        let config = Config {
            settings,
            server,
            file,
        };
        config
            .user_table()?
            .validate()
            .map_err(|e| Error::Config(format!("USER_TABLE / USER_COLUMNS: {e}")))?;
        config.routes()?;
        Ok(config)
    }

    /// `ENDPOINTS`: where each token endpoint and each of the server's routes lives.
    /// Two endpoints at one path, an unknown name or a path that is not plain URL
    /// segments are refused.
    pub fn routes(&self) -> Result<(tessera_axum::Endpoints, ServerRoutes)> {
        use tessera_axum::{Endpoint, Endpoints};
        let mut tokens = Endpoints::default();
        let mut server = ServerRoutes {
            me: Some("/me/".into()),
            me_password: Some("/me/password/".into()),
            reviews: Some("/reviews/".into()),
            health: Some("/health/".into()),
            ready: Some("/ready/".into()),
            schema: Some("/schema/".into()),
        };
        for (name, value) in &self.server.endpoints {
            let path = match value {
                NameOrOff::Named(p) => Some(p.as_str()),
                NameOrOff::Present(false) => None,
                NameOrOff::Present(true) => {
                    return Err(Error::Config(format!(
                        "ENDPOINTS: {name} = true: give its path, or false to switch it off"
                    )));
                }
            };
            if let Some(endpoint) = Endpoint::from_name(name) {
                tokens.set(endpoint, path)?;
                continue;
            }
            let slot = match name.as_str() {
                "me" => &mut server.me,
                "me_password" => &mut server.me_password,
                "reviews" => &mut server.reviews,
                "health" => &mut server.health,
                "ready" => &mut server.ready,
                "schema" => &mut server.schema,
                _ => {
                    let names: Vec<&str> = Endpoint::ALL.iter().map(|e| e.name()).collect();
                    return Err(Error::Config(format!(
                        "ENDPOINTS: no endpoint is named {name:?} (one of {}, me, me_password, \
                         reviews, health, ready, schema)",
                        names.join(", ")
                    )));
                }
            };
            // The same rules as the token endpoints' paths.
            *slot = path
                .map(|p| tessera_axum::normalize_path(name, p))
                .transpose()?;
        }
        let mut seen = std::collections::BTreeMap::new();
        let server_paths = [
            ("me", &server.me),
            ("me_password", &server.me_password),
            ("reviews", &server.reviews),
            ("health", &server.health),
            ("ready", &server.ready),
            ("schema", &server.schema),
        ];
        let all = tokens
            .enabled()
            .map(|(e, p)| (e.name(), p.to_owned()))
            .chain(
                server_paths
                    .iter()
                    .filter_map(|(n, p)| p.as_ref().map(|p| (*n, p.clone()))),
            );
        for (name, path) in all {
            if let Some(other) = seen.insert(path.clone(), name) {
                return Err(Error::Config(format!(
                    "ENDPOINTS: {name} and {other} are both at {path}"
                )));
            }
        }
        Ok((tokens, server))
    }

    /// Where the users are: `USER_TABLE`, `USER_COLUMNS` and `USERNAME_FIELD` (the login
    /// column), read as Django reads a user model.
    pub fn user_table(&self) -> Result<tessera_store::UserTable> {
        let login_field = self.settings.username_field.as_str();
        let columns = &self.server.user_columns;
        for field in columns.keys() {
            if !USER_FIELDS.contains(&field.as_str()) && field != login_field {
                return Err(Error::Config(format!(
                    "USER_COLUMNS: {field:?} is not a user field Tessera reads (one of {}, or \
                     the USERNAME_FIELD)",
                    USER_FIELDS.join(", ")
                )));
            }
        }
        let column = |field: &str| -> Result<Option<String>> {
            match columns.get(field) {
                None => Ok(Some(field.to_owned())),
                Some(NameOrOff::Named(c)) => Ok(Some(c.clone())),
                Some(NameOrOff::Present(false)) => Ok(None),
                Some(NameOrOff::Present(true)) => Err(Error::Config(format!(
                    "USER_COLUMNS: {field} = true: give the column's name, or false"
                ))),
            }
        };
        let required = |field: &str| -> Result<String> {
            column(field)?.ok_or_else(|| {
                Error::Config(format!(
                    "USER_COLUMNS: {field} cannot be false: Tessera needs it"
                ))
            })
        };
        let login = required(login_field)?;
        let mut t = tessera_store::UserTable::named(&self.server.user_table);
        t.id = required("id")?;
        t.password = required("password")?;
        t.username = if login_field == "username" {
            None
        } else {
            column("username")?
        };
        t.login = login;
        t.email = column("email")?;
        t.first_name = column("first_name")?;
        t.last_name = column("last_name")?;
        t.is_active = column("is_active")?;
        t.is_staff = column("is_staff")?;
        t.is_superuser = column("is_superuser")?;
        t.last_login = column("last_login")?;
        t.date_joined = column("date_joined")?;
        Ok(t)
    }
}

/// The server's settings; a bad value is named. serde's message says what was wrong but
/// not where, so on failure each setting is read alone (every one has a default) to find
/// the one at fault.
fn server_config(values: Map<String, Value>) -> Result<ServerConfig> {
    serde_json::from_value(Value::Object(values.clone())).map_err(|e| {
        let culprit = values.iter().find(|(k, v)| {
            let mut alone = Map::new();
            alone.insert((*k).clone(), (*v).clone());
            serde_json::from_value::<ServerConfig>(Value::Object(alone)).is_err()
        });
        match culprit {
            Some((k, _)) if !e.to_string().contains(k.as_str()) => {
                Error::Config(format!("invalid setting {k}: {e}"))
            }
            _ => Error::Config(format!("server settings: {e}")),
        }
    })
}

/// `KEY_STORE`, `KEY_ENCRYPTION_KEY` and the rotation settings agree with each other.
fn check_key_store(settings: &Settings, server: &ServerConfig) -> Result<()> {
    let database = server.key_store == KeyStoreKind::Database;
    if database && !settings.signing_key.is_empty() {
        return Err(Error::Config(
            "KEY_STORE = \"database\" keeps the keys in the database: SIGNING_KEY must not be \
             set as well (it would be ignored)"
                .into(),
        ));
    }
    if database && server.key_encryption_key.expose().len() < tessera_engine::MIN_ENCRYPTION_KEY_LEN
    {
        return Err(Error::Config(format!(
            "KEY_STORE = \"database\" needs KEY_ENCRYPTION_KEY (at least {} bytes; e.g. \
             TESSERA_KEY_ENCRYPTION_KEY=$(openssl rand -base64 48)) to seal the private keys",
            tessera_engine::MIN_ENCRYPTION_KEY_LEN
        )));
    }
    if server.key_rotation_interval > 0 {
        if !database {
            return Err(Error::Config(
                "KEY_ROTATION_INTERVAL needs KEY_STORE = \"database\": key files on several \
                 hosts cannot rotate together"
                    .into(),
            ));
        }
        if server.key_rotation_interval <= server.key_publish_ahead {
            return Err(Error::Config(
                "KEY_ROTATION_INTERVAL must be longer than KEY_PUBLISH_AHEAD".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_valid_and_complete() {
        let text = include_str!("../../../tessera.example.toml");
        let all: Map<String, Value> = Figment::from(Toml::string(text)).extract().unwrap();
        let c = Config::from_map(all, None).unwrap();
        assert_eq!(c.settings.access_token_lifetime, 300);
        for key in tessera_core::settings::SETTING_NAMES
            .iter()
            .chain(SERVER_KEYS)
        {
            assert!(
                text.contains(&format!("TESSERA_{key}")),
                "{key} is not documented"
            );
        }
    }

    /// The example file's `ALGORITHM` comment names every algorithm there is.
    #[test]
    fn the_example_file_lists_every_algorithm() {
        let text = include_str!("../../../tessera.example.toml");
        let at = text.find("# TESSERA_ALGORITHM:").unwrap();
        let comment = &text[at..text[at..].find("\nALGORITHM").unwrap() + at];
        for alg in tessera_core::Algorithm::all() {
            assert!(comment.contains(alg.name()), "{} is not listed", alg.name());
        }
    }

    /// README's settings table names every setting (a setting nobody can find is a
    /// setting nobody uses right).
    #[test]
    fn the_readme_lists_every_setting() {
        let readme = include_str!("../../../README.md");
        let ignored = [
            "USER_AUTHENTICATION_RULE",
            "TOKEN_USER_CLASS",
            "JSON_ENCODER",
        ];
        for key in tessera_core::settings::SETTING_NAMES
            .iter()
            .chain(SERVER_KEYS)
            .filter(|k| !ignored.contains(k) && !k.ends_with("_SERIALIZER"))
        {
            assert!(
                readme.contains(&format!("| `{key}`")) || readme.contains(&format!(", `{key}`")),
                "{key} is not in README's settings table"
            );
        }
    }

    fn config_with(key: &str, value: Value) -> Result<Config> {
        let mut m = Map::new();
        m.insert(key.into(), value);
        Config::from_map(m, None)
    }

    #[test]
    fn endpoints_are_checked() {
        for (bad, says) in [
            (json!({"obtain": "x/"}), "no endpoint is named \"obtain\""),
            (json!({"refresh": true}), "refresh = true"),
            (
                json!({"verify": "token/refresh/"}),
                "both at /token/refresh/",
            ),
            (json!({"me": "token/"}), "both at /token/"),
            (json!({"health": "a b/"}), "health: \"a b/\" is not a path"),
            (json!({"jwks": ""}), "jwks"),
        ] {
            let e = config_with("ENDPOINTS", bad.clone())
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let c = config_with("ENDPOINTS", json!({"refresh": false, "me": "whoami"})).unwrap();
        let (tokens, server) = c.routes().unwrap();
        assert_eq!(tokens.path(tessera_axum::Endpoint::Refresh), None);
        assert_eq!(server.me.as_deref(), Some("/whoami/"));
    }

    #[test]
    fn user_columns_are_checked() {
        for (bad, says) in [
            (
                json!({"nickname": "nick"}),
                "\"nickname\" is not a user field",
            ),
            (json!({"email": true}), "email = true"),
            (json!({"password": false}), "password cannot be false"),
            (json!({"email": "e-mail"}), "not a table or column name"),
        ] {
            let e = config_with("USER_COLUMNS", bad.clone())
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let mut m = Map::new();
        m.insert("USERNAME_FIELD".into(), json!("email"));
        m.insert("USER_TABLE".into(), json!("accounts_user"));
        m.insert(
            "USER_COLUMNS".into(),
            json!({"username": false, "email": "mail"}),
        );
        let t = Config::from_map(m, None).unwrap().user_table().unwrap();
        assert_eq!(
            (t.table.as_str(), t.login.as_str()),
            ("accounts_user", "mail")
        );
        assert_eq!(t.username, None);
        assert_eq!(t.email.as_deref(), Some("mail"));
        assert!(config_with("USER_TABLE", json!("users; --")).is_err());
    }

    #[test]
    fn unknown_keys_are_named() {
        let mut m = Map::new();
        m.insert("ACESS_TOKEN_LIFETIME".into(), json!("5m"));
        let e = Config::from_map(m, None).unwrap_err().to_string();
        assert!(e.contains("ACESS_TOKEN_LIFETIME"), "{e}");
    }

    #[test]
    fn server_and_jwt_keys_split() {
        let mut m = Map::new();
        m.insert("DATABASE_URL".into(), json!("sqlite://x.sqlite3"));
        m.insert(
            "CORS_ALLOWED_ORIGINS".into(),
            json!(["http://localhost:5173"]),
        );
        m.insert("ROTATE_REFRESH_TOKENS".into(), json!(true));
        let c = Config::from_map(m, None).unwrap();
        assert!(c.settings.rotate_refresh_tokens);
        assert_eq!(c.server.cors_allowed_origins, vec!["http://localhost:5173"]);
        let mut bad = Map::new();
        bad.insert("CORS_ALLOWED_ORIGINS".into(), json!(["*"]));
        assert!(Config::from_map(bad, None).is_err());
    }
}
