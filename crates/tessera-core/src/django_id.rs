//! The primary key of a Django user row: an integer (`AutoField`, `BigAutoField`) or a
//! UUID (`UUIDField(primary_key=True)`, common in custom user models).
//!
//! Simple JWT 5.5.1 writes `str(user.id)` into the user id claim: `"5"`, or a UUID in its
//! canonical hyphenated form. A claim is read back the way Django's fields read input: an
//! integer from a number or its text, a UUID from 32 hex digits with or without hyphens
//! (any case).
//!
//! ```
//! use tessera_core::{DjangoId, UserId};
//! let id = DjangoId::from_claim(&"9B2F0C6E0D7E4F7A9C1E2B8F3F1D6A10".into()).unwrap();
//! assert_eq!(id.to_string(), "9b2f0c6e-0d7e-4f7a-9c1e-2b8f3f1d6a10");
//! assert_eq!(id.simple(), "9b2f0c6e0d7e4f7a9c1e2b8f3f1d6a10");
//! assert_eq!(DjangoId::from_claim(&"5".into()), Some(DjangoId::Int(5)));
//! assert_eq!(DjangoId::from_claim(&"5x".into()), None);
//! assert_eq!(serde_json::to_value(DjangoId::Int(5)).unwrap(), serde_json::json!(5));
//! ```

use std::fmt;

use serde_json::Value;

/// A Django user's primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DjangoId {
    /// An integer key.
    Int(i64),
    /// A UUID key, as its 128 bits.
    Uuid(u128),
}

impl DjangoId {
    /// The integer, for an integer key.
    pub fn as_int(self) -> Option<i64> {
        match self {
            DjangoId::Int(n) => Some(n),
            DjangoId::Uuid(_) => None,
        }
    }

    /// An integer's text, or a UUID's (as [`DjangoId::parse_uuid`]).
    pub fn parse(s: &str) -> Option<DjangoId> {
        match s.parse::<i64>() {
            Ok(n) => Some(DjangoId::Int(n)),
            Err(_) => DjangoId::parse_uuid(s),
        }
    }

    /// A new random (version 4) UUID key, as Django's `default=uuid.uuid4` makes one.
    pub fn new_uuid(random: &dyn crate::Random) -> DjangoId {
        let mut b = [0u8; 16];
        random.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        DjangoId::Uuid(u128::from_be_bytes(b))
    }

    /// A UUID from 32 hex digits, alone or in the 8-4-4-4-12 hyphenated form.
    pub fn parse_uuid(s: &str) -> Option<DjangoId> {
        let b = s.as_bytes();
        let digits: String = if b.len() == 36 {
            if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
                return None;
            }
            s.split('-').collect()
        } else {
            s.to_owned()
        };
        if digits.len() != 32 || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u128::from_str_radix(&digits, 16).ok().map(DjangoId::Uuid)
    }

    /// The key as Django's SQLite column holds it: the integer's text, or the UUID's 32
    /// hex digits without hyphens (`UUIDField` on a database without a uuid type).
    pub fn simple(self) -> String {
        match self {
            DjangoId::Int(n) => n.to_string(),
            DjangoId::Uuid(u) => format!("{u:032x}"),
        }
    }

    /// The key as JSON: a number, or the UUID's text (as DRF serialises them).
    pub fn to_json(self) -> Value {
        match self {
            DjangoId::Int(n) => Value::from(n),
            DjangoId::Uuid(_) => Value::from(self.to_string()),
        }
    }
}

impl fmt::Display for DjangoId {
    /// `str(id)` in Python: `5`, or `9b2f0c6e-0d7e-4f7a-9c1e-2b8f3f1d6a10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DjangoId::Int(n) => write!(f, "{n}"),
            DjangoId::Uuid(u) => {
                let h = format!("{u:032x}");
                write!(
                    f,
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                )
            }
        }
    }
}

impl From<i64> for DjangoId {
    fn from(n: i64) -> Self {
        DjangoId::Int(n)
    }
}

impl PartialEq<i64> for DjangoId {
    fn eq(&self, other: &i64) -> bool {
        *self == DjangoId::Int(*other)
    }
}

impl serde::Serialize for DjangoId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DjangoId::Int(n) => s.serialize_i64(*n),
            DjangoId::Uuid(_) => s.collect_str(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_read_as_django_reads_them() {
        let canonical = "9b2f0c6e-0d7e-4f7a-9c1e-2b8f3f1d6a10";
        let id = DjangoId::parse_uuid(canonical).unwrap();
        assert_eq!(id.to_string(), canonical);
        assert_eq!(DjangoId::parse_uuid(&canonical.to_uppercase()), Some(id));
        for bad in [
            "9b2f0c6e-0d7e-4f7a-9c1e-2b8f3f1d6a1",
            "9b2f0c6e0-d7e-4f7a-9c1e-2b8f3f1d6a10",
            "9b2f0c6e-0d7e-4f7a-9c1e-2b8f3f1d6a1g",
            "+b2f0c6e0d7e4f7a9c1e2b8f3f1d6a10",
            "",
        ] {
            assert_eq!(DjangoId::parse_uuid(bad), None, "{bad}");
        }
        assert_eq!(serde_json::to_value(id).unwrap(), Value::from(canonical));
    }
}
