//! Users as tokens see them: the [`AuthUser`] trait any application's user type
//! implements (with its own [`UserId`] type), Django's `auth_user` row ([`User`]), the
//! hook that adds custom claims, and the stateless [`TokenUser`].

use std::fmt::{Debug, Display};
use std::hash::Hash;

use serde_json::{Map, Value};

use crate::claims::{Claims, TokenKind};
use crate::django_id::DjangoId;

/// A user row: the columns of Django's `auth_user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key: an integer, or a UUID for custom user models keyed by one.
    pub id: DjangoId,
    /// Unique login name (case-sensitive, as Django's `ModelBackend`).
    pub username: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// Stored password hash in a Django format. Never logged, never serialised.
    pub password: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Inactive users cannot log in or authenticate (with `CHECK_USER_IS_ACTIVE`).
    pub is_active: bool,
    /// May use the admin page.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
    /// Last successful login (microseconds since the epoch), if any.
    pub last_login: Option<i64>,
    /// When the account was created (microseconds since the epoch).
    pub date_joined: i64,
}

impl User {
    /// The value of a user field by name, as a claim would carry it; `None` for fields
    /// that are not claimable (the password never is).
    pub fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "id" => self.id.to_json(),
            "username" => Value::from(self.username.as_str()),
            "email" => Value::from(self.email.as_str()),
            "first_name" => Value::from(self.first_name.as_str()),
            "last_name" => Value::from(self.last_name.as_str()),
            "is_staff" => Value::from(self.is_staff),
            "is_superuser" => Value::from(self.is_superuser),
            "is_active" => Value::from(self.is_active),
            _ => return None,
        })
    }
}

/// A user id type: integers, strings, UUIDs (as a newtype of the application's), … What
/// it must do is travel in the user id claim: Simple JWT 5.5.1 writes `str(id)`, so it is
/// written as its `Display` text and read back by [`UserId::from_claim`].
///
/// ```
/// use tessera_core::UserId;
/// #[derive(Debug, Clone, PartialEq, Eq, Hash)]
/// struct Uuid(String);
/// impl std::fmt::Display for Uuid {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
/// }
/// impl UserId for Uuid {
///     fn from_claim(claim: &serde_json::Value) -> Option<Self> {
///         let s = claim.as_str()?;
///         (s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
///             .then(|| Uuid(s.to_ascii_lowercase()))
///     }
/// }
/// assert!(Uuid::from_claim(&"9b2f0c6e-0d7e-4f7a-9c1e-2b8f3f1d6a10".into()).is_some());
/// assert!(Uuid::from_claim(&5.into()).is_none());
/// ```
pub trait UserId: Clone + Eq + Hash + Debug + Display + Send + Sync + 'static {
    /// The id a claim value names, or `None` when it names no user of this type (never
    /// an error: a token naming nobody is answered like a token for a deleted user).
    fn from_claim(claim: &Value) -> Option<Self>;
}

impl UserId for i64 {
    /// `5` and `"5"` name user 5; `5.0`, `"x"` and numbers beyond `i64` name nobody.
    fn from_claim(claim: &Value) -> Option<Self> {
        match claim {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl UserId for String {
    /// A string as it is (none with a NUL, which no database stores); a number as its
    /// text.
    fn from_claim(claim: &Value) -> Option<Self> {
        match claim {
            Value::String(s) if s.contains('\0') => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

impl UserId for DjangoId {
    /// `5`, `"5"`: integer 5; a UUID's text (32 hex digits, hyphens optional): that UUID.
    /// Anything else names nobody.
    fn from_claim(claim: &Value) -> Option<Self> {
        match claim {
            Value::String(s) => {
                let s = s.trim();
                i64::from_claim(&Value::from(s))
                    .map(DjangoId::Int)
                    .or_else(|| DjangoId::parse_uuid(s))
            }
            other => i64::from_claim(other).map(DjangoId::Int),
        }
    }
}

/// What Tessera needs of a user, whatever table it lives in: Django's `auth_user`
/// ([`User`]) or an application's own type.
pub trait AuthUser: Debug + Send + Sync + 'static {
    /// The primary key's type.
    type Id: UserId;
    /// The primary key.
    fn id(&self) -> Self::Id;
    /// The login name (Django's `USERNAME_FIELD`): what a login's `username` matches.
    fn username(&self) -> &str;
    /// The stored password hash, in one of Django's formats (`!` for none).
    fn password_hash(&self) -> &str;
    /// Inactive users cannot log in or authenticate (with `CHECK_USER_IS_ACTIVE`).
    fn is_active(&self) -> bool {
        true
    }
    /// The value of a field by name, for `USER_CLAIM_FIELDS`; `None` for fields that are
    /// not claimable (a password never is).
    fn claim(&self, _field: &str) -> Option<Value> {
        None
    }
    /// The user's id as Simple JWT 5.5.1 writes it into `USER_ID_CLAIM`: always a string,
    /// of the field `USER_ID_FIELD` names (`id`, or the login field).
    fn id_claim(&self, user_id_field: &str) -> String {
        match user_id_field {
            "id" => self.id().to_string(),
            _ => self.username().to_owned(),
        }
    }
}

impl AuthUser for User {
    type Id = DjangoId;
    fn id(&self) -> DjangoId {
        self.id
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn password_hash(&self) -> &str {
        &self.password
    }
    fn is_active(&self) -> bool {
        self.is_active
    }
    fn claim(&self, field: &str) -> Option<Value> {
        self.field(field)
    }
}

/// Adds claims for a user when a token is obtained: the Rust counterpart of overriding
/// `TokenObtainPairSerializer.get_token`. Claims added to the refresh token are copied
/// into every access token derived from it.
///
/// ```
/// use tessera_core::{Claims, ClaimsHook, TokenKind, User};
/// struct Tenant;
/// impl ClaimsHook for Tenant {
///     fn add_claims(&self, user: &User, _kind: TokenKind, claims: &mut Claims) {
///         claims.insert("tenant".into(), format!("t-{}", user.id).into());
///     }
/// }
/// ```
pub trait ClaimsHook<U: AuthUser = User>: Send + Sync {
    /// Inserts extra claims into `claims` (a fresh refresh or sliding token for `user`).
    fn add_claims(&self, user: &U, kind: TokenKind, claims: &mut Claims);
}

/// The `USER_CLAIM_FIELDS` setting as a hook: copies the named user fields into the
/// token pair (not sliding tokens, as the reference serializer does).
#[derive(Debug, Clone)]
pub struct FieldClaims(pub Vec<String>);

impl<U: AuthUser> ClaimsHook<U> for FieldClaims {
    fn add_claims(&self, user: &U, kind: TokenKind, claims: &mut Claims) {
        if kind != TokenKind::Refresh {
            return;
        }
        for f in &self.0 {
            if let Some(v) = user.claim(f) {
                claims.insert(f.clone(), v);
            }
        }
    }
}

/// The user of a stateless request: everything known comes from the token's claims,
/// nothing from the database (Simple JWT's `TokenUser`).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenUser {
    /// The user id claim's value, as a string (`"1"`).
    pub id: String,
    /// All validated claims, for custom ones (shared with the verified-token cache).
    pub claims: std::sync::Arc<Map<String, Value>>,
}

impl TokenUser {
    /// The `username` claim, or `""`.
    pub fn username(&self) -> &str {
        self.claims
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    /// The `is_staff` claim, or false.
    pub fn is_staff(&self) -> bool {
        self.claims
            .get("is_staff")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    /// The `is_superuser` claim, or false.
    pub fn is_superuser(&self) -> bool {
        self.claims
            .get("is_superuser")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
    /// Any claim by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

impl std::fmt::Display for TokenUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenUser {}", self.id)
    }
}
