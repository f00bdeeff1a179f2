//! Signing and verifying keys, each pinned to one algorithm.
//!
//! RFC 8725 §3.1: the token's `alg` header never chooses how it is verified. A [`KeySet`]
//! knows its algorithm; a token whose header names any other algorithm (including
//! `none`) is refused before a signature is even computed. Keys are parsed once, at
//! start-up, not per request.

use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The JOSE algorithms Tessera knows by name. This version signs and verifies with the
/// HMAC family; the others are recognised so that configuration errors can say so.
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

const ALL: [(Algorithm, &str); 12] = [
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

impl Algorithm {
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
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    fn jwt(self) -> jsonwebtoken::Algorithm {
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

/// The key material that signs new tokens and verifies incoming ones.
///
/// ```
/// use tessera_core::{Algorithm, KeySet};
/// let keys = KeySet::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
/// let sig = keys.sign(b"header.payload").unwrap();
/// assert!(keys.verify(b"header.payload", &sig));
/// assert!(!keys.verify(b"header.payloaD", &sig));
/// assert!(KeySet::hmac(Algorithm::HS256, b"too short").is_err());
/// ```
pub struct KeySet {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    header_b64: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Shortest HMAC secret accepted: RFC 7518 §3.2 wants at least the hash size (32 bytes
/// for HS256); we ask that of every HMAC algorithm.
pub const MIN_HMAC_KEY_LEN: usize = 32;

impl KeySet {
    /// An HMAC key set. Refuses secrets shorter than [`MIN_HMAC_KEY_LEN`] bytes and
    /// non-HMAC algorithms.
    pub fn hmac(algorithm: Algorithm, secret: &[u8]) -> Result<Self> {
        if !algorithm.is_hmac() {
            return Err(Error::Key(format!(
                "{} needs an asymmetric key pair, not a shared secret",
                algorithm.name()
            )));
        }
        if secret.len() < MIN_HMAC_KEY_LEN {
            return Err(Error::Key(format!(
                "an HMAC key must be at least {MIN_HMAC_KEY_LEN} bytes long (got {})",
                secret.len()
            )));
        }
        let header = format!(r#"{{"alg":"{}","typ":"JWT"}}"#, algorithm.name());
        Ok(KeySet {
            algorithm,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            header_b64: crate::token::b64_encode(header.as_bytes()),
        })
    }

    /// The one algorithm these keys sign and verify with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The base64url of this key set's JOSE header (`{"alg":"HS256","typ":"JWT"}`).
    pub fn header_b64(&self) -> &str {
        &self.header_b64
    }

    /// Signs `message` (the JWS signing input) and returns the base64url signature.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        jsonwebtoken::crypto::sign(message, &self.encoding, self.algorithm.jwt())
            .map_err(|e| Error::Key(e.to_string()))
    }

    /// Checks a base64url signature over `message`, in constant time (the HMAC
    /// comparison is aws-lc's). Any decoding problem is simply "not valid".
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        jsonwebtoken::crypto::verify(signature_b64, message, &self.decoding, self.algorithm.jwt())
            .unwrap_or(false)
    }

    /// Verifies with an explicit algorithm taken from a token header: true only when it
    /// is this key set's algorithm and the signature is good.
    pub fn verify_with(&self, alg: &str, message: &[u8], signature_b64: &str) -> bool {
        Algorithm::from_name(alg) == Some(self.algorithm) && self.verify(message, signature_b64)
    }
}
