//! Users as tokens see them, and the hook that adds custom claims.

use serde_json::{Map, Value};

use crate::token::{Claims, TokenKind};

/// A user row: the columns of Django's `auth_user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: i64,
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
            "id" => Value::from(self.id),
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

    /// The user's id as Simple JWT 5.5.1 writes it into `USER_ID_CLAIM`: always a string.
    pub fn id_claim(&self, user_id_field: &str) -> String {
        match user_id_field {
            "username" => self.username.clone(),
            _ => self.id.to_string(),
        }
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
pub trait ClaimsHook: Send + Sync {
    /// Inserts extra claims into `claims` (a fresh refresh or sliding token for `user`).
    fn add_claims(&self, user: &User, kind: TokenKind, claims: &mut Claims);
}

/// The `USER_CLAIM_FIELDS` setting as a hook: copies the named user fields into the
/// token pair (not sliding tokens, as the reference serializer does).
#[derive(Debug, Clone)]
pub struct FieldClaims(pub Vec<String>);

impl ClaimsHook for FieldClaims {
    fn add_claims(&self, user: &User, kind: TokenKind, claims: &mut Claims) {
        if kind != TokenKind::Refresh {
            return;
        }
        for f in &self.0 {
            if let Some(v) = user.field(f) {
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
