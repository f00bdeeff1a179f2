//! The JOSE signature algorithms, their families and their minimum key sizes.

use serde::Deserialize;

/// The JOSE signature algorithms Tessera implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC with SHA-256 (Simple JWT's default).
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

pub(super) const ALL: [(Algorithm, &str); 12] = [
    (Algorithm::HS256, "HS256"),
    (Algorithm::HS384, "HS384"),
    (Algorithm::HS512, "HS512"),
    (Algorithm::RS256, "RS256"),
    (Algorithm::RS384, "RS384"),
    (Algorithm::RS512, "RS512"),
    (Algorithm::PS256, "PS256"),
    (Algorithm::PS384, "PS384"),
    (Algorithm::PS512, "PS512"),
    (Algorithm::ES256, "ES256"),
    (Algorithm::ES384, "ES384"),
    (Algorithm::EdDSA, "EdDSA"),
];

/// The key families, for telling a key's type from an algorithm's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A shared secret (HS*).
    Hmac,
    /// An RSA key pair (RS*, PS*).
    Rsa,
    /// An EC key pair on P-256 or P-384 (ES*).
    Ec,
    /// An Ed25519 key pair (EdDSA).
    Ed,
}

impl Algorithm {
    /// Every algorithm Tessera signs and verifies with, in the order of its docs.
    pub fn all() -> impl Iterator<Item = Algorithm> {
        ALL.iter().map(|(a, _)| *a)
    }

    /// The JOSE name (`"HS256"`).
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(a, _)| *a == self)
            .map_or("HS256", |(_, n)| n)
    }

    /// Parses a JOSE name, case-sensitively (`"hs256"` and `"none"` are not algorithms).
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    /// True for HS256/384/512, whose one secret both signs and verifies.
    pub fn is_hmac(self) -> bool {
        self.family() == Family::Hmac
    }

    /// The key family this algorithm needs.
    pub fn family(self) -> Family {
        use Algorithm::*;
        match self {
            HS256 | HS384 | HS512 => Family::Hmac,
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Family::Rsa,
            ES256 | ES384 => Family::Ec,
            EdDSA => Family::Ed,
        }
    }

    /// Shortest HMAC secret accepted: the hash size (RFC 7518 §3.2).
    pub fn min_hmac_key_len(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => MIN_HMAC_KEY_LEN,
        }
    }

    pub(super) fn jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Algorithm::HS256 => J::HS256,
            Algorithm::HS384 => J::HS384,
            Algorithm::HS512 => J::HS512,
            Algorithm::RS256 => J::RS256,
            Algorithm::RS384 => J::RS384,
            Algorithm::RS512 => J::RS512,
            Algorithm::PS256 => J::PS256,
            Algorithm::PS384 => J::PS384,
            Algorithm::PS512 => J::PS512,
            Algorithm::ES256 => J::ES256,
            Algorithm::ES384 => J::ES384,
            Algorithm::EdDSA => J::EdDSA,
        }
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Algorithm::from_name(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("Unrecognized algorithm type '{s}'")))
    }
}

/// Shortest HMAC secret accepted for HS256 (32 bytes); HS384 and HS512 need 48 and 64.
pub const MIN_HMAC_KEY_LEN: usize = 32;

/// Smallest RSA modulus accepted (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;
