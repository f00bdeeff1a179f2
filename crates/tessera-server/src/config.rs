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
];

/// Environment variables with the `TESSERA_` prefix that are not settings.
const NOT_SETTINGS: &[&str] = &["PASSWORD", "CONFIG", "DATA_DIR", "LOG"];

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
        let server: ServerConfig = serde_json::from_value(Value::Object(server))
            .map_err(|e| Error::Config(format!("server settings: {e}")))?;
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
        for origin in &server.cors_allowed_origins {
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
        Ok(Config {
            settings,
            server,
            file,
        })
    }
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
