//! Where the users live: Django's `auth_user`, or the table of a project's custom user
//! model (`AUTH_USER_MODEL`), with its own column names and without the fields it does
//! not have. The stores build their user statements from a [`UserTable`] once, when they
//! open, so a custom table costs nothing per request.
//!
//! ```
//! use tessera_store::UserTable;
//! // A Django project whose users log in by e-mail, with no username or staff fields.
//! let mut table = UserTable::named("accounts_user");
//! table.login = "email".into();
//! table.username = None;
//! table.is_staff = None;
//! table.is_superuser = None;
//! table.validate().unwrap();
//! assert!(UserTable::named("users; DROP TABLE x").validate().is_err());
//! ```

use crate::{Error, Result};

/// The type of a user table's primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdKind {
    /// Integers (`AutoField`, `BigAutoField`).
    #[default]
    Integer,
    /// UUIDs (`UUIDField(primary_key=True)`): a `uuid` column on PostgreSQL, 32 hex digits
    /// in a `char(32)` on SQLite, as Django stores them.
    Uuid,
}

/// A user table and its columns. [`Default`] is Django's `auth_user`. `None` means the
/// model has no such field: an absent `is_active` reads as active, absent flags as
/// false, absent names and e-mail as empty, and writes skip them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTable {
    /// The table (`auth_user`).
    pub table: String,
    /// The primary key (`id`).
    pub id: String,
    /// The primary key's type. The stores read it off the table when they open.
    pub id_kind: IdKind,
    /// The column a login names the user by: `USERNAME_FIELD`'s column (`username`).
    pub login: String,
    /// The username column, when it is not the login column (`username`).
    pub username: Option<String>,
    /// The password hash (`password`).
    pub password: String,
    /// `is_active`.
    pub is_active: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `first_name`.
    pub first_name: Option<String>,
    /// `last_name`.
    pub last_name: Option<String>,
    /// `is_staff`.
    pub is_staff: Option<String>,
    /// `is_superuser`.
    pub is_superuser: Option<String>,
    /// `last_login`.
    pub last_login: Option<String>,
    /// `date_joined`.
    pub date_joined: Option<String>,
}

impl Default for UserTable {
    fn default() -> Self {
        UserTable::named("auth_user")
    }
}

impl UserTable {
    /// A table with Django's `auth_user` columns under another name.
    pub fn named(table: &str) -> Self {
        let c = |s: &str| Some(s.to_owned());
        UserTable {
            table: table.to_owned(),
            id: "id".into(),
            id_kind: IdKind::Integer,
            login: "username".into(),
            username: None,
            password: "password".into(),
            is_active: c("is_active"),
            email: c("email"),
            first_name: c("first_name"),
            last_name: c("last_name"),
            is_staff: c("is_staff"),
            is_superuser: c("is_superuser"),
            last_login: c("last_login"),
            date_joined: c("date_joined"),
        }
    }

    /// True for Django's own `auth_user`, which Tessera creates when it is missing.
    pub fn is_django_default(&self) -> bool {
        self.table == "auth_user"
    }

    /// Every name is a plain SQL identifier (letters, digits, `_`, not starting with a
    /// digit, at most 63 bytes: PostgreSQL's limit), so that the statements built from
    /// them mean what they say.
    pub fn validate(&self) -> Result<()> {
        let named = [
            ("table", Some(&self.table)),
            ("id", Some(&self.id)),
            ("login", Some(&self.login)),
            ("username", self.username.as_ref()),
            ("password", Some(&self.password)),
            ("is_active", self.is_active.as_ref()),
            ("email", self.email.as_ref()),
            ("first_name", self.first_name.as_ref()),
            ("last_name", self.last_name.as_ref()),
            ("is_staff", self.is_staff.as_ref()),
            ("is_superuser", self.is_superuser.as_ref()),
            ("last_login", self.last_login.as_ref()),
            ("date_joined", self.date_joined.as_ref()),
        ];
        for (what, name) in named {
            if let Some(name) = name
                && !is_identifier(name)
            {
                return Err(Error::BadUserTable(format!(
                    "{what}: {name:?} is not a table or column name (letters, digits and _)"
                )));
            }
        }
        Ok(())
    }

    /// The columns Tessera reads, as `(field, column)`, for reports (`tessera check`).
    pub fn columns(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![
            ("id", self.id.as_str()),
            ("login", self.login.as_str()),
            ("password", self.password.as_str()),
        ];
        let optional = [
            ("username", &self.username),
            ("is_active", &self.is_active),
            ("email", &self.email),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("is_staff", &self.is_staff),
            ("is_superuser", &self.is_superuser),
            ("last_login", &self.last_login),
            ("date_joined", &self.date_joined),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(f, c)| c.as_deref().map(|c| (f, c))),
        );
        out
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
