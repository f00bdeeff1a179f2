//! Settings: Simple JWT's names and defaults, one typed struct, validated once.
//!
//! A Django team moving to Tessera copies its `SIMPLE_JWT` dict key for key. Settings that
//! name Python classes (`TOKEN_OBTAIN_SERIALIZER`, `JSON_ENCODER`, …) are accepted and
//! documented as having Rust equivalents (hooks) instead; they do nothing by themselves.
//! Unknown keys are refused with a message that names them, because a misspelt
//! `ACCES_TOKEN_LIFETIME` silently ignored is a security bug waiting to happen.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::claims::TokenKind;
use crate::error::{Error, Result};
use crate::keys::Algorithm;

/// Longest lifetime or leeway accepted (100 years): keeps `now + lifetime` far from overflow.
const MAX_DURATION_SECS: i64 = 100 * 366 * 86_400;

/// Keys Simple JWT removed; it raises at start-up for them and so do we.
const REMOVED_KEYS: [&str; 4] = [
    "AUTH_HEADER_TYPE",
    "AUTH_TOKEN_CLASS",
    "SECRET_KEY",
    "TOKEN_BACKEND_CLASS",
];

/// A secret string (HMAC key or private key) whose `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself. Callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// True when no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(<empty>)")
        } else {
            f.write_str("Secret(<redacted>)")
        }
    }
}

/// Which password hasher new passwords get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HasherKind {
    /// Argon2id (the default; OWASP's first choice).
    #[serde(rename = "argon2")]
    Argon2,
    /// PBKDF2-HMAC-SHA256, Django's own default.
    #[serde(rename = "pbkdf2_sha256")]
    Pbkdf2Sha256,
}

/// The `code` values of the pair check's 400 answers (`POST /api/token/valid/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PairCheckCodes {
    /// The article that introduced the endpoint: `"Invalid access token"`,
    /// `"Invalid refresh token"`, `"Invalid tokens"` (the default: what its front ends
    /// check).
    #[serde(rename = "article")]
    Article,
    /// `access_token_invalid`, `refresh_token_invalid`, `tokens_invalid`.
    #[serde(rename = "snake_case")]
    SnakeCase,
}

/// The algorithm a Django hasher setting names, by class path
/// (`django.contrib.auth.hashers.PBKDF2PasswordHasher`) or by algorithm name; `None` for
/// one Tessera does not implement.
pub fn algorithm_of_hasher(setting: &str) -> Option<&'static str> {
    let class = setting.rsplit('.').next().unwrap_or(setting);
    Some(match class {
        "PBKDF2PasswordHasher" | "pbkdf2_sha256" => "pbkdf2_sha256",
        "PBKDF2SHA1PasswordHasher" | "pbkdf2_sha1" => "pbkdf2_sha1",
        "Argon2PasswordHasher" | "argon2" => "argon2",
        "ScryptPasswordHasher" | "scrypt" => "scrypt",
        "BCryptSHA256PasswordHasher" | "bcrypt_sha256" => "bcrypt_sha256",
        "BCryptPasswordHasher" | "bcrypt" => "bcrypt",
        _ => return None,
    })
}

/// All settings. Field docs give the setting name as written in `tessera.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `ACCESS_TOKEN_LIFETIME` (5 minutes): `exp - iat` of access tokens.
    #[serde(rename = "ACCESS_TOKEN_LIFETIME", deserialize_with = "duration")]
    pub access_token_lifetime: i64,
    /// `REFRESH_TOKEN_LIFETIME` (1 day).
    #[serde(rename = "REFRESH_TOKEN_LIFETIME", deserialize_with = "duration")]
    pub refresh_token_lifetime: i64,
    /// `ROTATE_REFRESH_TOKENS` (false): refresh also returns a new refresh token.
    #[serde(rename = "ROTATE_REFRESH_TOKENS")]
    pub rotate_refresh_tokens: bool,
    /// `BLACKLIST_AFTER_ROTATION` (false): rotation blacklists the presented token, and
    /// verify consults the blacklist.
    #[serde(rename = "BLACKLIST_AFTER_ROTATION")]
    pub blacklist_after_rotation: bool,
    /// `UPDATE_LAST_LOGIN` (false): obtain views write `last_login`.
    #[serde(rename = "UPDATE_LAST_LOGIN")]
    pub update_last_login: bool,
    /// `ALGORITHM` ("HS256").
    #[serde(rename = "ALGORITHM")]
    pub algorithm: Algorithm,
    /// `SIGNING_KEY`: the HMAC secret. Empty means "let the server generate one".
    #[serde(rename = "SIGNING_KEY")]
    pub signing_key: Secret,
    /// `VERIFYING_KEY` (""): ignored for HMAC algorithms, as in Simple JWT.
    #[serde(rename = "VERIFYING_KEY")]
    pub verifying_key: String,
    /// `AUDIENCE` (none): written as `aud` and required on decode. A string or a list.
    #[serde(rename = "AUDIENCE", deserialize_with = "opt_string_or_list")]
    pub audience: Option<Vec<String>>,
    /// `ISSUER` (none): written as `iss` and required on decode.
    #[serde(rename = "ISSUER", deserialize_with = "opt_string")]
    pub issuer: Option<String>,
    /// `JSON_ENCODER`: a Python class in Simple JWT; accepted and ignored (claims here
    /// are JSON values already).
    #[serde(rename = "JSON_ENCODER")]
    pub json_encoder: Option<String>,
    /// `JWK_URL` (none): as in Simple JWT, used only with asymmetric algorithms.
    #[serde(rename = "JWK_URL", deserialize_with = "opt_string")]
    pub jwk_url: Option<String>,
    /// `LEEWAY` (0): clock-skew allowance in seconds for `exp`, `nbf` and `iat`.
    #[serde(rename = "LEEWAY", deserialize_with = "duration")]
    pub leeway: i64,
    /// `AUTH_HEADER_TYPES` (["Bearer"]): accepted scheme words, case-sensitive.
    #[serde(rename = "AUTH_HEADER_TYPES", deserialize_with = "string_or_list")]
    pub auth_header_types: Vec<String>,
    /// `AUTH_HEADER_NAME` ("HTTP_AUTHORIZATION"): the header read, in Django's META form.
    #[serde(rename = "AUTH_HEADER_NAME")]
    pub auth_header_name: String,
    /// `USER_ID_FIELD` ("id"): the user field put into tokens: `id`, or the login field
    /// (`username`, or whatever `USERNAME_FIELD` names).
    #[serde(rename = "USER_ID_FIELD")]
    pub user_id_field: String,
    /// `USERNAME_FIELD` ("username"): Django's user model attribute of that name, the
    /// field users log in with (e.g. `email`). As in Simple JWT, the obtain endpoints
    /// read the login from the request field of this name.
    #[serde(rename = "USERNAME_FIELD")]
    pub username_field: String,
    /// `USER_ID_CLAIM` ("user_id").
    #[serde(rename = "USER_ID_CLAIM")]
    pub user_id_claim: String,
    /// `USER_AUTHENTICATION_RULE`: a Python callable in Simple JWT; accepted and ignored.
    /// The rule applied is the default one (user exists and, with
    /// `CHECK_USER_IS_ACTIVE`, is active).
    #[serde(rename = "USER_AUTHENTICATION_RULE")]
    pub user_authentication_rule: Option<String>,
    /// `AUTH_TOKEN_CLASSES` (["AccessToken"]): which token types authenticate requests.
    /// Accepts `AccessToken`, `SlidingToken` or Simple JWT's dotted paths.
    #[serde(rename = "AUTH_TOKEN_CLASSES", deserialize_with = "token_classes")]
    pub auth_token_classes: Vec<TokenKind>,
    /// `TOKEN_TYPE_CLAIM` ("token_type"); an empty string turns the type claim off.
    #[serde(rename = "TOKEN_TYPE_CLAIM", deserialize_with = "opt_string")]
    pub token_type_claim: Option<String>,
    /// `TOKEN_USER_CLASS`: a Python class; accepted and ignored (see `TokenUser`).
    #[serde(rename = "TOKEN_USER_CLASS")]
    pub token_user_class: Option<String>,
    /// `JTI_CLAIM` ("jti"); an empty string turns the id claim off.
    #[serde(rename = "JTI_CLAIM", deserialize_with = "opt_string")]
    pub jti_claim: Option<String>,
    /// `SLIDING_TOKEN_REFRESH_EXP_CLAIM` ("refresh_exp").
    #[serde(rename = "SLIDING_TOKEN_REFRESH_EXP_CLAIM")]
    pub sliding_token_refresh_exp_claim: String,
    /// `SLIDING_TOKEN_LIFETIME` (5 minutes).
    #[serde(rename = "SLIDING_TOKEN_LIFETIME", deserialize_with = "duration")]
    pub sliding_token_lifetime: i64,
    /// `SLIDING_TOKEN_REFRESH_LIFETIME` (1 day).
    #[serde(
        rename = "SLIDING_TOKEN_REFRESH_LIFETIME",
        deserialize_with = "duration"
    )]
    pub sliding_token_refresh_lifetime: i64,
    /// `TOKEN_OBTAIN_SERIALIZER`: Python path; accepted and ignored (use a claims hook).
    #[serde(rename = "TOKEN_OBTAIN_SERIALIZER")]
    pub token_obtain_serializer: Option<String>,
    /// `TOKEN_REFRESH_SERIALIZER`: accepted and ignored.
    #[serde(rename = "TOKEN_REFRESH_SERIALIZER")]
    pub token_refresh_serializer: Option<String>,
    /// `TOKEN_VERIFY_SERIALIZER`: accepted and ignored.
    #[serde(rename = "TOKEN_VERIFY_SERIALIZER")]
    pub token_verify_serializer: Option<String>,
    /// `TOKEN_BLACKLIST_SERIALIZER`: accepted and ignored.
    #[serde(rename = "TOKEN_BLACKLIST_SERIALIZER")]
    pub token_blacklist_serializer: Option<String>,
    /// `SLIDING_TOKEN_OBTAIN_SERIALIZER`: accepted and ignored.
    #[serde(rename = "SLIDING_TOKEN_OBTAIN_SERIALIZER")]
    pub sliding_token_obtain_serializer: Option<String>,
    /// `SLIDING_TOKEN_REFRESH_SERIALIZER`: accepted and ignored.
    #[serde(rename = "SLIDING_TOKEN_REFRESH_SERIALIZER")]
    pub sliding_token_refresh_serializer: Option<String>,
    /// `CHECK_REVOKE_TOKEN` (false): put a digest of the password hash into tokens and
    /// refuse them on protected routes once the password changed.
    #[serde(rename = "CHECK_REVOKE_TOKEN")]
    pub check_revoke_token: bool,
    /// `REVOKE_TOKEN_CLAIM` ("hash_password").
    #[serde(rename = "REVOKE_TOKEN_CLAIM")]
    pub revoke_token_claim: String,
    /// `CHECK_USER_IS_ACTIVE` (true).
    #[serde(rename = "CHECK_USER_IS_ACTIVE")]
    pub check_user_is_active: bool,
    /// Tessera: `USER_CLAIM_FIELDS` ([]): user fields added as claims to the token pair
    /// at obtain time, e.g. `["username", "email"]` (what the reference serializer adds).
    #[serde(rename = "USER_CLAIM_FIELDS", deserialize_with = "string_or_list")]
    pub user_claim_fields: Vec<String>,
    /// Tessera: `PASSWORD_HASHER` ("argon2"): the hasher for new passwords; stored hashes
    /// of the other kind still verify and are upgraded at the next login.
    #[serde(rename = "PASSWORD_HASHER")]
    pub password_hasher: HasherKind,
    /// `PASSWORD_HASHERS` ([]), as Django's: when set, the first hasher writes new
    /// hashes (it must be `argon2` or `pbkdf2_sha256`) and replaces `PASSWORD_HASHER`; a
    /// login with a hash of another listed hasher upgrades it to the first; a hash of an
    /// unlisted hasher does not verify, as in Django. Entries are Django's class paths
    /// (`django.contrib.auth.hashers.PBKDF2PasswordHasher`) or algorithm names
    /// (`pbkdf2_sha256`, `pbkdf2_sha1`, `argon2`, `scrypt`, `bcrypt_sha256`, `bcrypt`).
    #[serde(rename = "PASSWORD_HASHERS", deserialize_with = "string_or_list")]
    pub password_hashers: Vec<String>,
    /// Tessera: `ARGON2_MEMORY_KIB` (19456 = 19 MiB, OWASP's minimum).
    #[serde(rename = "ARGON2_MEMORY_KIB")]
    pub argon2_memory_kib: u32,
    /// Tessera: `ARGON2_ITERATIONS` (2).
    #[serde(rename = "ARGON2_ITERATIONS")]
    pub argon2_iterations: u32,
    /// Tessera: `ARGON2_PARALLELISM` (1).
    #[serde(rename = "ARGON2_PARALLELISM")]
    pub argon2_parallelism: u32,
    /// Tessera: `PBKDF2_ITERATIONS` (1000000, Django 5.2's count).
    #[serde(rename = "PBKDF2_ITERATIONS")]
    pub pbkdf2_iterations: u32,
    /// Tessera: `REFRESH_REUSE_GRACE` (0 s, at most 5 minutes): a refresh token presented
    /// again within this time after it was rotated away is refused without revoking its
    /// family (a client retrying, several tabs). Later, it is a replay: the family goes.
    #[serde(rename = "REFRESH_REUSE_GRACE", deserialize_with = "duration")]
    pub refresh_reuse_grace: i64,
    /// Tessera: `REFRESH_TOKEN_ABSOLUTE_LIFETIME` (off): the longest a login's family of
    /// rotated refresh tokens may live, whatever the rotations (Simple JWT issue #549).
    #[serde(
        rename = "REFRESH_TOKEN_ABSOLUTE_LIFETIME",
        deserialize_with = "opt_duration"
    )]
    pub refresh_token_absolute_lifetime: Option<i64>,
    /// Tessera: `ACCESS_TOKEN_REVOCATION` (false): tokens carry their family id (`sid`),
    /// and protected routes refuse access tokens whose family was revoked (logout,
    /// logout everywhere, password change, reuse), on every instance within a second,
    /// without a database read per request.
    #[serde(rename = "ACCESS_TOKEN_REVOCATION")]
    pub access_token_revocation: bool,
    /// Tessera: `LOGIN_FAILURES_PER_USER` (10): failed logins for one username within
    /// `LOGIN_THROTTLE_WINDOW` before further attempts get 429. 0 turns it off.
    #[serde(rename = "LOGIN_FAILURES_PER_USER")]
    pub login_failures_per_user: i64,
    /// Tessera: `LOGIN_FAILURES_PER_IP` (100): the same per client address.
    #[serde(rename = "LOGIN_FAILURES_PER_IP")]
    pub login_failures_per_ip: i64,
    /// Tessera: `LOGIN_THROTTLE_WINDOW` (15 minutes): counters reset after it, so nobody
    /// can lock an account for good.
    #[serde(rename = "LOGIN_THROTTLE_WINDOW", deserialize_with = "duration")]
    pub login_throttle_window: i64,
    /// Tessera: `TRUSTED_PROXIES` ([]): addresses of reverse proxies whose
    /// `X-Forwarded-For` is believed. From anyone else it is ignored.
    #[serde(rename = "TRUSTED_PROXIES", deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// Tessera: `PASSWORD_HASH_CONCURRENCY` (0 = the number of cores): hashes at once.
    #[serde(rename = "PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: usize,
    /// Tessera: `PASSWORD_HASH_QUEUE_TIMEOUT` (2 s): how long a login waits for a hashing
    /// slot before it is answered 503 with `Retry-After` (a login storm queues briefly
    /// instead of piling up memory).
    #[serde(rename = "PASSWORD_HASH_QUEUE_TIMEOUT", deserialize_with = "duration")]
    pub password_hash_queue_timeout: i64,
    /// Tessera: `MAX_BODY_BYTES` (65536): larger request bodies get 413 unread.
    #[serde(rename = "MAX_BODY_BYTES")]
    pub max_body_bytes: usize,
    /// Tessera: `MAX_TOKEN_BYTES` (8192): longer tokens are invalid before any parsing.
    #[serde(rename = "MAX_TOKEN_BYTES")]
    pub max_token_bytes: usize,
    /// Tessera: `MAX_HEADER_BYTES` (16384): a larger header block gets 431.
    #[serde(rename = "MAX_HEADER_BYTES")]
    pub max_header_bytes: usize,
    /// Tessera: `MAX_JSON_DEPTH` (32): deeper nesting in a request body gets 400.
    #[serde(rename = "MAX_JSON_DEPTH")]
    pub max_json_depth: usize,
    /// Tessera: `VERIFIED_TOKEN_CACHE` (4096; 0 = off): how many tokens that passed
    /// signature and claim validation on a protected route are remembered, so a client
    /// sending the same access token again is not verified and parsed again. Only the
    /// time claims (`exp`, `nbf`, `iat`) change with time, and they are checked on every
    /// use; blacklist, revocation and user checks never come from the cache.
    #[serde(rename = "VERIFIED_TOKEN_CACHE")]
    pub verified_token_cache: usize,
    /// Tessera: `PAIR_CHECK_CODES` (`"article"`): the `code` of the pair check's 400s,
    /// the article's (`"Invalid access token"`, …) or `"snake_case"`
    /// (`access_token_invalid`, …).
    #[serde(rename = "PAIR_CHECK_CODES")]
    pub pair_check_codes: PairCheckCodes,
    /// Tessera: `TOKEN_REUSED_CODE` (false): a replayed rotated-away refresh token is
    /// answered as Simple JWT answers any blacklisted token (`token_not_valid`), so front
    /// ends written for it work unchanged; its session is revoked either way. `true`
    /// answers the distinct `token_reused` code instead.
    #[serde(rename = "TOKEN_REUSED_CODE")]
    pub token_reused_code: bool,
    /// Tessera: `AUTH_COOKIE_MODE` (`"off"`): how a browser app holds its tokens.
    /// `"off"`: bearer only, exactly as Simple JWT. `"refresh"`: the refresh token travels
    /// only in an HttpOnly cookie (the access token stays in the JSON body, for an
    /// `Authorization` header). `"full"`: the access token is a cookie too, which
    /// protected routes accept (same-site apps). See [`CookieMode`].
    #[serde(rename = "AUTH_COOKIE_MODE")]
    pub auth_cookie_mode: CookieMode,
    /// Tessera: `AUTH_COOKIE_SECURE` (true): cookies carry `Secure` and `__Host-` names.
    /// `false` is for local development over plain HTTP, and a server accepts it only
    /// when it listens on loopback.
    #[serde(rename = "AUTH_COOKIE_SECURE")]
    pub auth_cookie_secure: bool,
    /// Tessera: `AUTH_COOKIE_REFRESH_NAME` (`__Host-tessera_refresh`, or
    /// `tessera_refresh` when not secure).
    #[serde(rename = "AUTH_COOKIE_REFRESH_NAME")]
    pub auth_cookie_refresh_name: Option<String>,
    /// Tessera: `AUTH_COOKIE_ACCESS_NAME` (`__Host-tessera_access`, or `tessera_access`).
    #[serde(rename = "AUTH_COOKIE_ACCESS_NAME")]
    pub auth_cookie_access_name: Option<String>,
    /// Tessera: `AUTH_COOKIE_CSRF_NAME` (`__Host-tessera_csrf`, or `tessera_csrf`): the
    /// CSRF cookie, readable by scripts.
    #[serde(rename = "AUTH_COOKIE_CSRF_NAME")]
    pub auth_cookie_csrf_name: Option<String>,
    /// Tessera: `AUTH_COOKIE_SAMESITE` (`"Strict"`): `SameSite` of the refresh and CSRF
    /// cookies. `"None"` (an API on another site) needs `AUTH_COOKIE_SECURE`.
    #[serde(rename = "AUTH_COOKIE_SAMESITE")]
    pub auth_cookie_samesite: SameSite,
    /// Tessera: `AUTH_COOKIE_ACCESS_SAMESITE` (`"Lax"`): `SameSite` of the access cookie
    /// (`full` mode), so a link from another site lands on a signed-in page.
    #[serde(rename = "AUTH_COOKIE_ACCESS_SAMESITE")]
    pub auth_cookie_access_samesite: SameSite,
    /// Django's `CSRF_HEADER_NAME` (`HTTP_X_CSRFTOKEN`): the header that carries the CSRF
    /// token in cookie modes, as Django names it, so front ends configured for Django's
    /// CSRF (`X-CSRFToken`) work unchanged.
    #[serde(rename = "CSRF_HEADER_NAME")]
    pub csrf_header_name: String,
}

/// `AUTH_COOKIE_MODE`: where a browser app's tokens travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum CookieMode {
    /// Bearer tokens only, in JSON bodies and the `Authorization` header (Simple JWT).
    #[default]
    #[serde(rename = "off")]
    Off,
    /// The refresh token only in an HttpOnly cookie; the access token in the body.
    #[serde(rename = "refresh")]
    Refresh,
    /// Both tokens in HttpOnly cookies; protected routes accept the access cookie.
    #[serde(rename = "full")]
    Full,
}

/// A cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SameSite {
    /// Sent only with requests from the cookie's own site.
    Strict,
    /// Also sent with top-level navigations from other sites.
    Lax,
    /// Sent with every request (needs `Secure`).
    None,
}

impl SameSite {
    /// The attribute's value as written in `Set-Cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// The three cookie names of the cookie modes, resolved from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieNames {
    /// The refresh token's cookie.
    pub refresh: String,
    /// The access token's cookie (`full` mode).
    pub access: String,
    /// The CSRF cookie.
    pub csrf: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            access_token_lifetime: 5 * 60,
            refresh_token_lifetime: 86_400,
            rotate_refresh_tokens: false,
            blacklist_after_rotation: false,
            update_last_login: false,
            algorithm: Algorithm::HS256,
            signing_key: Secret::default(),
            verifying_key: String::new(),
            audience: None,
            issuer: None,
            json_encoder: None,
            jwk_url: None,
            leeway: 0,
            auth_header_types: vec!["Bearer".to_owned()],
            auth_header_name: "HTTP_AUTHORIZATION".to_owned(),
            user_id_field: "id".to_owned(),
            username_field: "username".to_owned(),
            user_id_claim: "user_id".to_owned(),
            user_authentication_rule: None,
            auth_token_classes: vec![TokenKind::Access],
            token_type_claim: Some("token_type".to_owned()),
            token_user_class: None,
            jti_claim: Some("jti".to_owned()),
            sliding_token_refresh_exp_claim: "refresh_exp".to_owned(),
            sliding_token_lifetime: 5 * 60,
            sliding_token_refresh_lifetime: 86_400,
            token_obtain_serializer: None,
            token_refresh_serializer: None,
            token_verify_serializer: None,
            token_blacklist_serializer: None,
            sliding_token_obtain_serializer: None,
            sliding_token_refresh_serializer: None,
            check_revoke_token: false,
            revoke_token_claim: "hash_password".to_owned(),
            check_user_is_active: true,
            user_claim_fields: Vec::new(),
            password_hasher: HasherKind::Argon2,
            password_hashers: Vec::new(),
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            pbkdf2_iterations: 1_000_000,
            refresh_reuse_grace: 0,
            refresh_token_absolute_lifetime: None,
            access_token_revocation: false,
            login_failures_per_user: 10,
            login_failures_per_ip: 100,
            login_throttle_window: 15 * 60,
            trusted_proxies: Vec::new(),
            password_hash_concurrency: 0,
            password_hash_queue_timeout: 2,
            max_body_bytes: 64 * 1024,
            max_token_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_json_depth: 32,
            verified_token_cache: 4096,
            pair_check_codes: PairCheckCodes::Article,
            token_reused_code: false,
            auth_cookie_mode: CookieMode::Off,
            auth_cookie_secure: true,
            auth_cookie_refresh_name: None,
            auth_cookie_access_name: None,
            auth_cookie_csrf_name: None,
            auth_cookie_samesite: SameSite::Strict,
            auth_cookie_access_samesite: SameSite::Lax,
            csrf_header_name: "HTTP_X_CSRFTOKEN".to_owned(),
        }
    }
}

/// Every setting name this struct knows, for callers that split a configuration
/// between several consumers (the server adds its own keys).
pub const SETTING_NAMES: &[&str] = &[
    "ACCESS_TOKEN_LIFETIME",
    "REFRESH_TOKEN_LIFETIME",
    "ROTATE_REFRESH_TOKENS",
    "BLACKLIST_AFTER_ROTATION",
    "UPDATE_LAST_LOGIN",
    "ALGORITHM",
    "SIGNING_KEY",
    "VERIFYING_KEY",
    "AUDIENCE",
    "ISSUER",
    "JSON_ENCODER",
    "JWK_URL",
    "LEEWAY",
    "AUTH_HEADER_TYPES",
    "AUTH_HEADER_NAME",
    "USER_ID_FIELD",
    "USERNAME_FIELD",
    "USER_ID_CLAIM",
    "USER_AUTHENTICATION_RULE",
    "AUTH_TOKEN_CLASSES",
    "TOKEN_TYPE_CLAIM",
    "TOKEN_USER_CLASS",
    "JTI_CLAIM",
    "SLIDING_TOKEN_REFRESH_EXP_CLAIM",
    "SLIDING_TOKEN_LIFETIME",
    "SLIDING_TOKEN_REFRESH_LIFETIME",
    "TOKEN_OBTAIN_SERIALIZER",
    "TOKEN_REFRESH_SERIALIZER",
    "TOKEN_VERIFY_SERIALIZER",
    "TOKEN_BLACKLIST_SERIALIZER",
    "SLIDING_TOKEN_OBTAIN_SERIALIZER",
    "SLIDING_TOKEN_REFRESH_SERIALIZER",
    "CHECK_REVOKE_TOKEN",
    "REVOKE_TOKEN_CLAIM",
    "CHECK_USER_IS_ACTIVE",
    "USER_CLAIM_FIELDS",
    "PASSWORD_HASHER",
    "PASSWORD_HASHERS",
    "ARGON2_MEMORY_KIB",
    "ARGON2_ITERATIONS",
    "ARGON2_PARALLELISM",
    "PBKDF2_ITERATIONS",
    "REFRESH_REUSE_GRACE",
    "REFRESH_TOKEN_ABSOLUTE_LIFETIME",
    "ACCESS_TOKEN_REVOCATION",
    "LOGIN_FAILURES_PER_USER",
    "LOGIN_FAILURES_PER_IP",
    "LOGIN_THROTTLE_WINDOW",
    "TRUSTED_PROXIES",
    "PASSWORD_HASH_CONCURRENCY",
    "PASSWORD_HASH_QUEUE_TIMEOUT",
    "MAX_BODY_BYTES",
    "MAX_TOKEN_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "VERIFIED_TOKEN_CACHE",
    "PAIR_CHECK_CODES",
    "TOKEN_REUSED_CODE",
    "AUTH_COOKIE_MODE",
    "AUTH_COOKIE_SECURE",
    "AUTH_COOKIE_REFRESH_NAME",
    "AUTH_COOKIE_ACCESS_NAME",
    "AUTH_COOKIE_CSRF_NAME",
    "AUTH_COOKIE_SAMESITE",
    "AUTH_COOKIE_ACCESS_SAMESITE",
    "CSRF_HEADER_NAME",
];

/// User fields that `USER_CLAIM_FIELDS` may name.
pub const USER_CLAIM_FIELD_NAMES: &[&str] = &[
    "username",
    "email",
    "first_name",
    "last_name",
    "is_staff",
    "is_superuser",
];

impl Settings {
    /// Builds settings from a JSON object of `NAME: value` pairs over the defaults,
    /// refusing removed and unknown keys, then [validates](Settings::validate) them.
    ///
    /// ```
    /// use tessera_core::Settings;
    /// let s = Settings::from_json(serde_json::json!({
    ///     "ACCESS_TOKEN_LIFETIME": "15m",
    ///     "AUTH_HEADER_TYPES": ["JWT", "Bearer"],
    /// })).unwrap();
    /// assert_eq!(s.access_token_lifetime, 900);
    /// assert!(Settings::from_json(serde_json::json!({"ACCES_TOKEN_LIFETIME": 1})).is_err());
    /// ```
    pub fn from_json(value: Value) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::config(
                "settings",
                "expected a table of NAME = value",
            ));
        };
        Self::check_keys(&map)?;
        let settings: Settings = match serde_json::from_value(Value::Object(map.clone())) {
            Ok(s) => s,
            Err(e) => return Err(blame(&map, &e.to_string())),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses Simple JWT's removed keys (with its message) and keys nobody knows.
    fn check_keys(map: &Map<String, Value>) -> Result<()> {
        for key in map.keys() {
            if REMOVED_KEYS.contains(&key.as_str()) {
                return Err(Error::config(
                    key,
                    format!(
                        "The '{key}' setting has been removed. Please refer to \
                         'https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html' \
                         for available settings."
                    ),
                ));
            }
        }
        let unknown: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !SETTING_NAMES.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(Error::config(
                &unknown.join(", "),
                "unknown setting (check the spelling; see tessera.example.toml for every key)",
            ));
        }
        Ok(())
    }

    /// Checks values that types alone cannot: ranges, known names, key strength.
    pub fn validate(&self) -> Result<()> {
        let mut names = Vec::new();
        for h in &self.password_hashers {
            let name = algorithm_of_hasher(h).ok_or_else(|| {
                Error::config(
                    "PASSWORD_HASHERS",
                    format!("{h:?} is not a hasher Tessera knows (see tessera.example.toml)"),
                )
            })?;
            names.push(name);
        }
        if let Some(first) = names.first()
            && !matches!(*first, "argon2" | "pbkdf2_sha256")
        {
            return Err(Error::config(
                "PASSWORD_HASHERS",
                "the first hasher writes new hashes: Tessera writes argon2 or pbkdf2_sha256",
            ));
        }
        for (key, v) in [
            ("ACCESS_TOKEN_LIFETIME", self.access_token_lifetime),
            ("REFRESH_TOKEN_LIFETIME", self.refresh_token_lifetime),
            ("SLIDING_TOKEN_LIFETIME", self.sliding_token_lifetime),
            (
                "SLIDING_TOKEN_REFRESH_LIFETIME",
                self.sliding_token_refresh_lifetime,
            ),
        ] {
            if v <= 0 {
                return Err(Error::config(key, "must be a positive duration"));
            }
        }
        if self.refresh_reuse_grace > 300 {
            return Err(Error::config(
                "REFRESH_REUSE_GRACE",
                "must be at most 5 minutes",
            ));
        }
        if self.refresh_token_absolute_lifetime.is_some_and(|a| a <= 0) {
            return Err(Error::config(
                "REFRESH_TOKEN_ABSOLUTE_LIFETIME",
                "must be a positive duration (or unset)",
            ));
        }
        for (key, v, lo, hi) in [
            ("MAX_BODY_BYTES", self.max_body_bytes, 1024, 16 << 20),
            ("MAX_TOKEN_BYTES", self.max_token_bytes, 512, 1 << 20),
            ("MAX_HEADER_BYTES", self.max_header_bytes, 4096, 1 << 20),
            ("MAX_JSON_DEPTH", self.max_json_depth, 2, 128),
            (
                "VERIFIED_TOKEN_CACHE",
                self.verified_token_cache,
                0,
                1 << 20,
            ),
            (
                "PASSWORD_HASH_CONCURRENCY",
                self.password_hash_concurrency,
                0,
                1024,
            ),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(Error::config(key, format!("must be between {lo} and {hi}")));
            }
        }
        if self.login_failures_per_user < 0 || self.login_failures_per_ip < 0 {
            return Err(Error::config(
                "LOGIN_FAILURES_PER_USER",
                "must not be negative",
            ));
        }
        if self.login_throttle_window < 1 {
            return Err(Error::config(
                "LOGIN_THROTTLE_WINDOW",
                "must be at least one second",
            ));
        }
        if !(1..=60).contains(&self.password_hash_queue_timeout) {
            return Err(Error::config(
                "PASSWORD_HASH_QUEUE_TIMEOUT",
                "must be 1 to 60 seconds",
            ));
        }
        for p in &self.trusted_proxies {
            if p.parse::<std::net::IpAddr>().is_err() {
                return Err(Error::config(
                    "TRUSTED_PROXIES",
                    format!("{p:?} is not an IP address"),
                ));
            }
        }
        if self.leeway > 86_400 {
            return Err(Error::config("LEEWAY", "must be at most one day"));
        }
        let min = self.algorithm.min_hmac_key_len();
        if self.algorithm.is_hmac()
            && !self.signing_key.is_empty()
            && !looks_like_path(self.signing_key.expose())
            && self.signing_key.expose().len() < min
        {
            return Err(Error::config(
                "SIGNING_KEY",
                format!(
                    "an {} key must be at least {min} bytes long (this one has {}); \
                     generate one with `openssl rand -base64 {}`",
                    self.algorithm.name(),
                    self.signing_key.expose().len(),
                    min * 3 / 2
                ),
            ));
        }
        if self.auth_header_types.is_empty() {
            return Err(Error::config(
                "AUTH_HEADER_TYPES",
                "must name at least one scheme",
            ));
        }
        for t in &self.auth_header_types {
            if t.is_empty()
                || t.bytes()
                    .any(|b| b.is_ascii_whitespace() || !b.is_ascii_graphic())
            {
                return Err(Error::config(
                    "AUTH_HEADER_TYPES",
                    format!("{t:?} is not a valid scheme word"),
                ));
            }
        }
        self.auth_header()?;
        let field_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && !s.starts_with(|c: char| c.is_ascii_digit())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !field_name(&self.username_field) {
            return Err(Error::config(
                "USERNAME_FIELD",
                "must be a field name such as \"username\" or \"email\"",
            ));
        }
        if !(self.user_id_field == "id"
            || self.user_id_field == "username"
            || self.user_id_field == self.username_field)
        {
            return Err(Error::config(
                "USER_ID_FIELD",
                "must be \"id\" or the login field (USERNAME_FIELD): a unique user field",
            ));
        }
        if self.user_id_claim.is_empty() {
            return Err(Error::config("USER_ID_CLAIM", "must not be empty"));
        }
        if self.auth_token_classes.is_empty() {
            return Err(Error::config(
                "AUTH_TOKEN_CLASSES",
                "must name at least one class",
            ));
        }
        for f in &self.user_claim_fields {
            if !USER_CLAIM_FIELD_NAMES.contains(&f.as_str()) {
                return Err(Error::config(
                    "USER_CLAIM_FIELDS",
                    format!(
                        "unknown user field {f:?} (known: {})",
                        USER_CLAIM_FIELD_NAMES.join(", ")
                    ),
                ));
            }
        }
        if self.argon2_memory_kib < 19_456
            || self.argon2_iterations < 2
            || self.argon2_parallelism < 1
        {
            return Err(Error::config(
                "ARGON2_MEMORY_KIB",
                "Argon2id needs at least 19456 KiB, 2 iterations and parallelism 1 (OWASP minimum)",
            ));
        }
        if self.argon2_memory_kib > 4 * 1024 * 1024 || self.argon2_parallelism > 64 {
            return Err(Error::config(
                "ARGON2_MEMORY_KIB",
                "at most 4 GiB and parallelism 64",
            ));
        }
        if self.pbkdf2_iterations < 100_000 {
            return Err(Error::config(
                "PBKDF2_ITERATIONS",
                "must be at least 100000 for new passwords",
            ));
        }
        self.validate_cookies()
    }

    /// The cookie settings: names a browser keeps (RFC 6265 tokens, distinct, `__Host-`
    /// and `__Secure-` only with `Secure`), `SameSite=None` only with `Secure`.
    fn validate_cookies(&self) -> Result<()> {
        let names = self.cookie_names();
        for (key, name) in [
            ("AUTH_COOKIE_REFRESH_NAME", &names.refresh),
            ("AUTH_COOKIE_ACCESS_NAME", &names.access),
            ("AUTH_COOKIE_CSRF_NAME", &names.csrf),
        ] {
            let token = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                return Err(Error::config(key, format!("{name:?} is not a cookie name")));
            }
            let prefixed = name.starts_with("__Host-") || name.starts_with("__Secure-");
            if prefixed && !self.auth_cookie_secure {
                return Err(Error::config(
                    key,
                    "a __Host- or __Secure- name needs AUTH_COOKIE_SECURE = true",
                ));
            }
        }
        if names.refresh == names.access
            || names.refresh == names.csrf
            || names.access == names.csrf
        {
            return Err(Error::config(
                "AUTH_COOKIE_REFRESH_NAME",
                "the refresh, access and CSRF cookies need three different names",
            ));
        }
        if !self.auth_cookie_secure
            && (self.auth_cookie_samesite == SameSite::None
                || self.auth_cookie_access_samesite == SameSite::None)
        {
            return Err(Error::config(
                "AUTH_COOKIE_SAMESITE",
                "SameSite=None needs AUTH_COOKIE_SECURE = true (browsers drop it otherwise)",
            ));
        }
        self.csrf_header()?;
        Ok(())
    }

    /// The cookie names in use: the configured ones, or `__Host-tessera_refresh`,
    /// `__Host-tessera_access` and `__Host-tessera_csrf` (without the prefix when
    /// `AUTH_COOKIE_SECURE` is off: browsers refuse `__Host-` cookies without `Secure`).
    pub fn cookie_names(&self) -> CookieNames {
        let prefix = if self.auth_cookie_secure {
            "__Host-"
        } else {
            ""
        };
        let name = |set: &Option<String>, base: &str| {
            set.clone()
                .unwrap_or_else(|| format!("{prefix}tessera_{base}"))
        };
        CookieNames {
            refresh: name(&self.auth_cookie_refresh_name, "refresh"),
            access: name(&self.auth_cookie_access_name, "access"),
            csrf: name(&self.auth_cookie_csrf_name, "csrf"),
        }
    }

    /// The HTTP header named by `CSRF_HEADER_NAME`, lower-cased (`x-csrftoken`).
    pub fn csrf_header(&self) -> Result<String> {
        meta_header_name(&self.csrf_header_name, "CSRF_HEADER_NAME")
    }

    /// The HTTP header named by `AUTH_HEADER_NAME`, lower-cased: `HTTP_X_ACCESS_TOKEN`
    /// reads `x-access-token`, as Django's `request.META` does.
    pub fn auth_header(&self) -> Result<String> {
        meta_header_name(&self.auth_header_name, "AUTH_HEADER_NAME")
    }
}

/// The HTTP header a Django `request.META` name (`HTTP_X_CSRFTOKEN`) stands for.
fn meta_header_name(meta: &str, key: &str) -> Result<String> {
    let Some(rest) = meta.strip_prefix("HTTP_") else {
        return Err(Error::config(
            key,
            "must look like HTTP_AUTHORIZATION (Django's META name of a header)",
        ));
    };
    let name = rest.to_ascii_lowercase().replace('_', "-");
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(Error::config(key, "is not a valid header name"));
    }
    Ok(name)
}

/// True when a key setting names a file (`/…`, `./…`, `file:…`) rather than holding
/// the key itself.
pub fn looks_like_path(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.starts_with("file:")
}

/// Finds which key made deserialization fail (serde's message does not always say) by
/// trying each key alone; configuration is loaded once, so the cost does not matter.
fn blame(map: &Map<String, Value>, fallback: &str) -> Error {
    for (k, v) in map {
        let mut one = Map::new();
        one.insert(k.clone(), v.clone());
        if let Err(e) = serde_json::from_value::<Settings>(Value::Object(one)) {
            return Error::config(k, e.to_string());
        }
    }
    Error::config("settings", fallback)
}

/// Parses a duration: whole seconds (`300`), or a string of number+unit pairs
/// (`"90s"`, `"5m"`, `"1h30m"`, `"1d"`, `"2w"`, `"300"`).
///
/// ```
/// assert_eq!(tessera_core::settings::parse_duration("1h30m"), Some(5400));
/// assert_eq!(tessera_core::settings::parse_duration("5 minutes"), None);
/// ```
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return (0..=MAX_DURATION_SECS).contains(&n).then_some(n);
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: i64 = num.parse().ok()?;
        num.clear();
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !num.is_empty() || total > MAX_DURATION_SECS {
        return None;
    }
    Some(total)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error as _;
    let v = Value::deserialize(d)?;
    let parsed = match &v {
        Value::Number(n) => n.as_i64().filter(|n| (0..=MAX_DURATION_SECS).contains(n)),
        Value::String(s) => parse_duration(s),
        _ => None,
    };
    parsed.ok_or_else(|| {
        D::Error::custom(format!(
            "expected a duration such as 300, \"5m\", \"12h\" or \"1d\", got {v}"
        ))
    })
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::{Error as _, IntoDeserializer as _};
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() || s == "off" => Ok(None),
        _ => duration(v.into_deserializer())
            .map(Some)
            .map_err(|e: serde_json::Error| D::Error::custom(e.to_string())),
    }
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(d)? {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => Ok(s),
                other => Err(D::Error::custom(format!("expected strings, got {other}"))),
            })
            .collect(),
        other => Err(D::Error::custom(format!(
            "expected a string or a list of strings, got {other}"
        ))),
    }
}

fn opt_string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let v = string_or_list(d)?;
    Ok(if v.is_empty() || v.iter().all(String::is_empty) {
        None
    } else {
        Some(v)
    })
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.is_empty()))
}

fn token_classes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TokenKind>, D::Error> {
    use serde::de::Error as _;
    string_or_list(d)?
        .iter()
        .map(|name| {
            let short = name.rsplit('.').next().unwrap_or(name);
            match short {
                "AccessToken" => Ok(TokenKind::Access),
                "SlidingToken" => Ok(TokenKind::Sliding),
                _ => Err(D::Error::custom(format!(
                    "unknown token class {name:?} (AccessToken or SlidingToken)"
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_match_simple_jwt() {
        let s = Settings::from_json(json!({})).unwrap();
        assert_eq!(s.access_token_lifetime, 300);
        assert_eq!(s.refresh_token_lifetime, 86_400);
        assert_eq!(s.leeway, 0);
        assert_eq!(s.auth_header_types, vec!["Bearer"]);
        assert_eq!(s.auth_header().unwrap(), "authorization");
        assert_eq!(s.auth_token_classes, vec![TokenKind::Access]);
        assert_eq!(s.token_type_claim.as_deref(), Some("token_type"));
        assert!(!s.rotate_refresh_tokens && !s.blacklist_after_rotation);
    }

    #[test]
    fn refuses_unknown_and_removed_keys_by_name() {
        let e = Settings::from_json(json!({"ACCES_TOKEN_LIFETIME": 5})).unwrap_err();
        assert!(e.to_string().contains("ACCES_TOKEN_LIFETIME"), "{e}");
        let e = Settings::from_json(json!({"SECRET_KEY": "x"})).unwrap_err();
        assert!(e.to_string().contains("has been removed"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (k, v) in [
            ("ACCESS_TOKEN_LIFETIME", json!("soon")),
            ("ACCESS_TOKEN_LIFETIME", json!(-5)),
            ("ALGORITHM", json!("none")),
            ("ALGORITHM", json!("ES512")),
            ("SIGNING_KEY", json!("short")),
            ("AUTH_HEADER_NAME", json!("Authorization")),
            ("USER_ID_FIELD", json!("email")),
            ("AUTH_TOKEN_CLASSES", json!(["RefreshToken"])),
            ("ROTATE_REFRESH_TOKENS", json!("yes please")),
        ] {
            let e = Settings::from_json(json!({ k: v })).unwrap_err();
            assert!(e.to_string().contains(k), "{k}: {e}");
        }
    }

    #[test]
    fn durations_and_lists() {
        let s = Settings::from_json(json!({
            "ACCESS_TOKEN_LIFETIME": "1h30m",
            "REFRESH_TOKEN_LIFETIME": 60,
            "AUTH_HEADER_TYPES": "JWT",
            "AUDIENCE": "svc",
            "AUTH_TOKEN_CLASSES": ["rest_framework_simplejwt.tokens.AccessToken", "SlidingToken"],
            "AUTH_HEADER_NAME": "HTTP_X_ACCESS_TOKEN",
            "TOKEN_TYPE_CLAIM": "",
        }))
        .unwrap();
        assert_eq!(s.access_token_lifetime, 5400);
        assert_eq!(s.refresh_token_lifetime, 60);
        assert_eq!(s.auth_header_types, vec!["JWT"]);
        assert_eq!(s.audience, Some(vec!["svc".to_owned()]));
        assert_eq!(
            s.auth_token_classes,
            vec![TokenKind::Access, TokenKind::Sliding]
        );
        assert_eq!(s.auth_header().unwrap(), "x-access-token");
        assert_eq!(s.token_type_claim, None);
        assert_eq!(parse_duration("2w"), Some(1_209_600));
        assert_eq!(parse_duration("1d"), Some(86_400));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }

    #[test]
    fn secrets_are_not_printed() {
        let s =
            Settings::from_json(json!({"SIGNING_KEY": "a-very-secret-key-that-is-long-enough!!"}))
                .unwrap();
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
