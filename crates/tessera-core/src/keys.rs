//! Signing and verifying keys, each pinned to one algorithm, and key sets with `kid`s.
//!
//! RFC 8725 §3.1: the token's `alg` header never chooses how it is verified. Every
//! [`Key`] has exactly one algorithm; the key that verifies a token is chosen by its
//! `kid` (or is the key set's default for tokens without one), and a token whose header
//! names any other algorithm, `none` included, is refused before a signature is
//! computed. Keys are parsed once, at start-up, never per request.
//!
//! A [`KeySet`] holds one active signing key plus any number of verify-only keys, so
//! keys can be rotated without logging anyone out. It publishes its public keys as a JWKS
//! (RFC 7517); shared secrets are never published.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::clock::Random;
use crate::error::{Error, Result};

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

/// Shortest HMAC secret accepted for HS256 (32 bytes); HS384 and HS512 need 48 and 64.
pub const MIN_HMAC_KEY_LEN: usize = 32;

/// Smallest RSA modulus accepted (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// One key, pinned to one algorithm. Private material, if any, never leaves it.
pub struct Key {
    kid: Option<String>,
    alg: Algorithm,
    /// For HMAC: the key schedule computed once (aws-lc), not per token.
    hmac: Option<aws_lc_rs::hmac::Key>,
    signer: Option<EncodingKey>,
    verifier: DecodingKey,
    public_jwk: Option<Map<String, Value>>,
    header_b64: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("can_sign", &self.signer.is_some())
            .finish_non_exhaustive()
    }
}

fn key_err(msg: impl Into<String>) -> Error {
    Error::Key(msg.into())
}

/// The JOSE header a key signs with: `{"alg":…,"kid":…,"typ":"JWT"}`, keys sorted as
/// PyJWT writes them (so an HMAC key without a kid gives Simple JWT's exact header).
fn header_for(alg: Algorithm, kid: Option<&str>) -> String {
    let header = match kid {
        Some(k) => json!({"alg": alg.name(), "kid": k, "typ": "JWT"}),
        None => json!({"alg": alg.name(), "typ": "JWT"}),
    };
    URL_SAFE_NO_PAD.encode(header.to_string())
}

impl Key {
    fn assemble(
        kid: Option<String>,
        alg: Algorithm,
        signer: Option<EncodingKey>,
        verifier: DecodingKey,
        public_jwk: Option<Map<String, Value>>,
    ) -> Key {
        let header_b64 = header_for(alg, kid.as_deref());
        Key {
            kid,
            alg,
            hmac: None,
            signer,
            verifier,
            public_jwk,
            header_b64,
        }
    }

    /// An HMAC key. Refuses secrets shorter than the algorithm's hash output.
    pub fn hmac(alg: Algorithm, secret: &[u8], kid: Option<String>) -> Result<Key> {
        if !alg.is_hmac() {
            return Err(key_err(format!(
                "{} needs an asymmetric key pair, not a shared secret",
                alg.name()
            )));
        }
        if secret.len() < alg.min_hmac_key_len() {
            return Err(key_err(format!(
                "an {} key must be at least {} bytes long (got {})",
                alg.name(),
                alg.min_hmac_key_len(),
                secret.len()
            )));
        }
        let hmac_alg = match alg {
            Algorithm::HS384 => aws_lc_rs::hmac::HMAC_SHA384,
            Algorithm::HS512 => aws_lc_rs::hmac::HMAC_SHA512,
            _ => aws_lc_rs::hmac::HMAC_SHA256,
        };
        Ok(Key {
            hmac: Some(aws_lc_rs::hmac::Key::new(hmac_alg, secret)),
            ..Key::assemble(
                kid,
                alg,
                Some(EncodingKey::from_secret(secret)),
                DecodingKey::from_secret(secret),
                None,
            )
        })
    }

    /// A key pair from a PEM private key (PKCS#8, or PKCS#1 for RSA). The public half
    /// is derived, so no separate verifying key is needed.
    pub fn from_private_pem(alg: Algorithm, pem: &[u8], kid: Option<String>) -> Result<Key> {
        let bad = |e: jsonwebtoken::errors::Error| {
            key_err(format!("not a usable {} private key: {e}", alg.name()))
        };
        let signer = match alg.family() {
            Family::Hmac => return Key::hmac(alg, pem, kid),
            Family::Rsa => EncodingKey::from_rsa_pem(pem).map_err(bad)?,
            Family::Ec => EncodingKey::from_ec_pem(pem).map_err(bad)?,
            Family::Ed => EncodingKey::from_ed_pem(pem).map_err(bad)?,
        };
        let jwk = Jwk::from_encoding_key(&signer, alg.jwt()).map_err(bad)?;
        let verifier = DecodingKey::from_jwk(&jwk).map_err(bad)?;
        let mut public = match serde_json::to_value(&jwk) {
            Ok(Value::Object(m)) => m,
            _ => return Err(key_err("cannot describe the public key")),
        };
        let checked = Key::from_jwk_value(&Value::Object(public.clone()), Some(alg))?;
        drop(checked);
        let kid = kid.or_else(|| jwk.thumbprint(ThumbprintHash::SHA256).ok());
        // A test signature proves the pair matches the algorithm (an EC key of the wrong
        // curve, say) at start-up rather than at the first login.
        let key = Key::assemble(kid.clone(), alg, Some(signer), verifier, None);
        let probe = key.sign(b"tessera key check")?;
        if !key.verify(b"tessera key check", &probe) {
            return Err(key_err(format!(
                "the key does not verify its own {} signature",
                alg.name()
            )));
        }
        public.insert("use".into(), Value::from("sig"));
        public.insert("alg".into(), Value::from(alg.name()));
        if let Some(k) = &kid {
            public.insert("kid".into(), Value::from(k.as_str()));
        }
        Ok(Key {
            public_jwk: Some(public),
            ..key
        })
    }

    /// A signing key from a private JWK (RFC 7518 §6: `oct` with `k`, `RSA` with
    /// `n e d p q dp dq qi`, `EC` P-256/P-384 with `d x y`, `OKP` Ed25519 with `d x`). The
    /// JWK is converted to DER and parsed like a PEM key, so the same checks apply;
    /// the key's `alg` must be `alg`.
    pub fn from_private_jwk(alg: Algorithm, jwk: &Value) -> Result<Key> {
        let Value::Object(m) = jwk else {
            return Err(key_err("a JWK must be a JSON object"));
        };
        if let Some(a) = m.get("alg").and_then(Value::as_str)
            && Algorithm::from_name(a) != Some(alg)
        {
            return Err(key_err(format!(
                "JWK algorithm {a} where {} is configured",
                alg.name()
            )));
        }
        let kid = m.get("kid").and_then(Value::as_str).map(str::to_owned);
        let b64 = |name: &str| -> Result<Vec<u8>> {
            let v = m
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| key_err(format!("private JWK without {name:?}")))?;
            URL_SAFE_NO_PAD
                .decode(v)
                .map_err(|_| key_err(format!("JWK member {name:?} is not base64url")))
        };
        let kty = m.get("kty").and_then(Value::as_str).unwrap_or("");
        let (label, der) = match (alg.family(), kty) {
            (Family::Hmac, "oct") => return Key::hmac(alg, &b64("k")?, kid),
            (Family::Rsa, "RSA") => {
                let mut body = der::integer(&[0]);
                for part in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
                    body.extend(der::integer(&b64(part)?));
                }
                ("RSA PRIVATE KEY", der::sequence(&body))
            }
            (Family::Ec, "EC") => {
                let (crv, len, curve_oid): (&str, usize, &[u8]) = match alg {
                    Algorithm::ES384 => ("P-384", 48, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
                    _ => (
                        "P-256",
                        32,
                        &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
                    ),
                };
                if m.get("crv").and_then(Value::as_str) != Some(crv) {
                    return Err(key_err(format!("{} needs curve {crv}", alg.name())));
                }
                let (d, x, y) = (b64("d")?, b64("x")?, b64("y")?);
                if d.len() != len || x.len() != len || y.len() != len {
                    return Err(key_err("EC key members of the wrong length"));
                }
                let mut point = vec![0x00, 0x04];
                point.extend(&x);
                point.extend(&y);
                // SEC1 ECPrivateKey { version 1, d, [1] public key } inside PKCS#8.
                let mut sec1 = der::integer(&[1]);
                sec1.extend(der::tagged(0x04, &d));
                sec1.extend(der::tagged(0xa1, &der::tagged(0x03, &point)));
                let mut algo = vec![0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
                algo.extend(curve_oid);
                let mut body = der::integer(&[0]);
                body.extend(der::sequence(&algo));
                body.extend(der::tagged(0x04, &der::sequence(&sec1)));
                ("PRIVATE KEY", der::sequence(&body))
            }
            (Family::Ed, "OKP") => {
                if m.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                    return Err(key_err("EdDSA needs curve Ed25519"));
                }
                let d = b64("d")?;
                if d.len() != 32 {
                    return Err(key_err("Ed25519 private key of the wrong length"));
                }
                let algo = der::sequence(&[0x06, 0x03, 0x2b, 0x65, 0x70]);
                let mut body = der::integer(&[0]);
                body.extend(algo);
                body.extend(der::tagged(0x04, &der::tagged(0x04, &d)));
                ("PRIVATE KEY", der::sequence(&body))
            }
            (_, kty) => {
                return Err(key_err(format!(
                    "JWK of type {kty:?} cannot be a {} key",
                    alg.name()
                )));
            }
        };
        let key = Key::from_private_pem(alg, pem_encode(label, &der).as_bytes(), kid)?;
        // The public members given must be the private key's own.
        if let (Some(given), Some(derived)) =
            (m.get("x"), key.public_jwk().and_then(|p| p.get("x")))
            && given != derived
        {
            return Err(key_err(
                "the JWK's public members do not match its private key",
            ));
        }
        Ok(key)
    }

    /// A verify-only key from a PEM public key (SPKI, or PKCS#1 for RSA).
    pub fn from_public_pem(alg: Algorithm, pem: &[u8], kid: Option<String>) -> Result<Key> {
        let bad = |e: jsonwebtoken::errors::Error| {
            key_err(format!("not a usable {} public key: {e}", alg.name()))
        };
        let verifier = match alg.family() {
            Family::Hmac => return Err(key_err("an HMAC key has no public half")),
            Family::Rsa => DecodingKey::from_rsa_pem(pem).map_err(bad)?,
            Family::Ec => DecodingKey::from_ec_pem(pem).map_err(bad)?,
            Family::Ed => DecodingKey::from_ed_pem(pem).map_err(bad)?,
        };
        Ok(Key::assemble(kid, alg, None, verifier, None))
    }

    /// A verify-only key from a JWK (RFC 7517), strictly checked: a signature `use`,
    /// an algorithm that matches the key type and curve, RSA keys of at least 2048 bits
    /// with a sane exponent. `expected` pins the algorithm when the JWK has no `alg`.
    pub fn from_jwk_value(jwk: &Value, expected: Option<Algorithm>) -> Result<Key> {
        let Value::Object(m) = jwk else {
            return Err(key_err("a JWK must be a JSON object"));
        };
        let text = |name: &str| -> Result<Option<&str>> {
            match m.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(key_err(format!("JWK member {name:?} must be a string"))),
            }
        };
        let kty = text("kty")?.ok_or_else(|| key_err("JWK without kty"))?;
        if let Some(u) = text("use")?
            && u != "sig"
        {
            return Err(key_err(format!("JWK is for {u:?}, not signatures")));
        }
        if let Some(Value::Array(ops)) = m.get("key_ops")
            && !ops.iter().any(|o| o == "verify")
        {
            return Err(key_err("JWK key_ops does not allow verify"));
        }
        let alg = match (text("alg")?, expected) {
            (Some(a), _) => Algorithm::from_name(a).ok_or_else(|| {
                key_err(format!(
                    "JWK algorithm {a:?} is not a supported signature algorithm"
                ))
            })?,
            (None, Some(e)) => e,
            (None, None) => match (kty, text("crv")?) {
                ("EC", Some("P-256")) => Algorithm::ES256,
                ("EC", Some("P-384")) => Algorithm::ES384,
                ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
                _ => return Err(key_err("JWK without alg: its algorithm would be a guess")),
            },
        };
        if let (Some(a), Some(e)) = (text("alg")?, expected)
            && Algorithm::from_name(a) != Some(e)
        {
            return Err(key_err(format!(
                "JWK algorithm {a} where {} is expected",
                e.name()
            )));
        }
        let kid = text("kid")?.map(str::to_owned);
        let b64 = |name: &str| -> Result<Vec<u8>> {
            let v = text(name)?.ok_or_else(|| key_err(format!("JWK without {name:?}")))?;
            URL_SAFE_NO_PAD
                .decode(v)
                .map_err(|_| key_err(format!("JWK member {name:?} is not base64url")))
        };
        let bad = |e: jsonwebtoken::errors::Error| key_err(format!("unusable JWK: {e}"));
        let verifier = match (alg.family(), kty) {
            (Family::Hmac, "oct") => {
                return Key::hmac(alg, &b64("k")?, kid);
            }
            (Family::Rsa, "RSA") => {
                let n = b64("n")?;
                let e = b64("e")?;
                let bits = significant_bits(&n);
                if bits < MIN_RSA_BITS {
                    return Err(key_err(format!(
                        "RSA key of {bits} bits; at least {MIN_RSA_BITS} required"
                    )));
                }
                if roca_fingerprint(&n) {
                    return Err(key_err(
                        "RSA key generated by a library with the ROCA flaw (CVE-2017-15361)",
                    ));
                }
                let e_val = e.iter().fold(0u128, |acc, b| {
                    acc.saturating_mul(256).saturating_add(u128::from(*b))
                });
                if e_val < 3 || e_val % 2 == 0 || e.len() > 8 {
                    return Err(key_err("RSA public exponent must be odd and at least 3"));
                }
                DecodingKey::from_rsa_raw_components(&n, &e)
            }
            (Family::Ec, "EC") => {
                let (crv, len) = match alg {
                    Algorithm::ES384 => ("P-384", 48),
                    _ => ("P-256", 32),
                };
                if text("crv")? != Some(crv) {
                    return Err(key_err(format!("{} needs curve {crv}", alg.name())));
                }
                let (x, y) = (b64("x")?, b64("y")?);
                if x.len() != len || y.len() != len {
                    return Err(key_err("EC coordinates of the wrong length"));
                }
                let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
                DecodingKey::from_ec_components(&x, &y).map_err(bad)?
            }
            (Family::Ed, "OKP") => {
                if text("crv")? != Some("Ed25519") {
                    return Err(key_err("EdDSA needs curve Ed25519"));
                }
                let x = b64("x")?;
                if x.len() != 32 {
                    return Err(key_err("Ed25519 public key of the wrong length"));
                }
                DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(x)).map_err(bad)?
            }
            (_, kty) => {
                return Err(key_err(format!(
                    "JWK of type {kty} cannot be a {} key",
                    alg.name()
                )));
            }
        };
        Ok(Key::assemble(kid, alg, None, verifier, None))
    }

    /// Generates a fresh key for `alg` (64 random bytes for HMAC; P-256/P-384, Ed25519
    /// or 2048-bit RSA key pairs otherwise). Returns the key and its private material as
    /// PEM (PKCS#8), or the secret for HMAC, for storing.
    pub fn generate(
        alg: Algorithm,
        random: &dyn Random,
        kid: Option<String>,
    ) -> Result<(Key, String)> {
        use aws_lc_rs::encoding::AsDer as _;
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
            Ed25519KeyPair,
        };
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let gen_err = |_| key_err(format!("could not generate a {} key", alg.name()));
        let der: Vec<u8> = match alg.family() {
            Family::Hmac => {
                let mut secret = [0u8; 64];
                random.fill(&mut secret);
                let text = URL_SAFE_NO_PAD.encode(secret);
                return Ok((Key::hmac(alg, text.as_bytes(), kid)?, text));
            }
            Family::Ec => {
                let curve = if alg == Algorithm::ES384 {
                    &ECDSA_P384_SHA384_FIXED_SIGNING
                } else {
                    &ECDSA_P256_SHA256_FIXED_SIGNING
                };
                EcdsaKeyPair::generate_pkcs8(curve, &rng)
                    .map_err(gen_err)?
                    .as_ref()
                    .to_vec()
            }
            Family::Ed => Ed25519KeyPair::generate_pkcs8v1(&rng)
                .map_err(gen_err)?
                .as_ref()
                .to_vec(),
            Family::Rsa => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(gen_err)?;
                let der = pair.as_der().map_err(gen_err)?;
                der.as_ref().to_vec()
            }
        };
        let pem = pem_encode("PRIVATE KEY", &der);
        Ok((Key::from_private_pem(alg, pem.as_bytes(), kid)?, pem))
    }

    /// The key id, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
    /// The one algorithm this key signs and verifies with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
    /// True when this key holds private material and can sign.
    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
    }
    /// The public JWK (with `kid`, `alg`, `use`), for asymmetric key pairs; never for
    /// HMAC secrets.
    pub fn public_jwk(&self) -> Option<&Map<String, Value>> {
        self.public_jwk.as_ref()
    }

    /// Signs `message`; the base64url signature.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        if let Some(k) = &self.hmac {
            return Ok(URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(k, message)));
        }
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| key_err("this key can only verify"))?;
        jsonwebtoken::crypto::sign(message, signer, self.alg.jwt())
            .map_err(|e| key_err(e.to_string()))
    }

    /// Checks a base64url signature over `message` (constant-time for HMAC: aws-lc's).
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature_b64)
            .is_ok_and(|sig| self.verify_decoded(message, signature_b64, &sig))
    }

    /// [`Key::verify`] for a caller that has already decoded the signature: `signature`
    /// must be `signature_b64` decoded (HMAC uses the bytes, the other algorithms the
    /// text), which saves decoding it twice on every request.
    pub(crate) fn verify_decoded(
        &self,
        message: &[u8],
        signature_b64: &str,
        signature: &[u8],
    ) -> bool {
        if let Some(k) = &self.hmac {
            // aws-lc compares in constant time.
            return aws_lc_rs::hmac::verify(k, message, signature).is_ok();
        }
        jsonwebtoken::crypto::verify(signature_b64, message, &self.verifier, self.alg.jwt())
            .unwrap_or(false)
    }
}

/// The ROCA test (Nemec et al., CCS 2017): keys from the flawed Infineon library have
/// `n mod p` in the subgroup generated by 65537 modulo each of these small primes; a
/// random modulus almost never does for all of them.
fn roca_fingerprint(n_be: &[u8]) -> bool {
    const PRIMES: [u64; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let r = n_be
            .iter()
            .fold(0u64, |acc, b| (acc * 256 + u64::from(*b)) % p);
        // Walk the cyclic subgroup generated by 65537 mod p.
        let g = 65_537 % p;
        let mut x = 1u64;
        loop {
            if x == r {
                return true;
            }
            x = x * g % p;
            if x == 1 {
                return false;
            }
        }
    })
}

fn significant_bits(be: &[u8]) -> usize {
    let skip = be.iter().take_while(|b| **b == 0).count();
    match be.get(skip) {
        None => 0,
        Some(first) => (be.len() - skip - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

/// Just enough DER to write private keys given as JWKs.
mod der {
    fn length(n: usize) -> Vec<u8> {
        if n < 0x80 {
            return vec![u8::try_from(n).unwrap_or(0)];
        }
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | u8::try_from(bytes.len()).unwrap_or(0)];
        out.extend(bytes);
        out
    }

    /// A TLV with `tag` around `content`.
    pub(super) fn tagged(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(length(content.len()));
        out.extend_from_slice(content);
        out
    }

    /// A SEQUENCE of already-encoded `content`.
    pub(super) fn sequence(content: &[u8]) -> Vec<u8> {
        tagged(0x30, content)
    }

    /// An unsigned big-endian INTEGER (minimal, with a 0 byte when the top bit is set).
    pub(super) fn integer(be: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
        let mut content = if trimmed.is_empty() { vec![0] } else { trimmed };
        if content[0] & 0x80 != 0 {
            content.insert(0, 0);
        }
        tagged(0x02, &content)
    }
}

/// PEM armour around DER.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Extra verifying keys looked up by `kid` (a remote JWKS cache).
pub trait KeyLookup: Send + Sync + std::fmt::Debug {
    /// The key with this id, if known.
    fn key(&self, kid: &str) -> Option<Arc<Key>>;
}

/// The keys that sign and verify tokens: one active signing key, any number of
/// verify-only keys.
///
/// ```
/// use tessera_core::{Algorithm, KeySet};
/// let keys = KeySet::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
/// let sig = keys.sign(b"header.payload").unwrap();
/// assert!(keys.verify(b"header.payload", &sig));
/// assert!(!keys.verify(b"header.payloaD", &sig));
/// assert!(KeySet::hmac(Algorithm::HS256, b"too short").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<Arc<Key>>,
    active: Option<usize>,
    no_kid: Option<usize>,
}

impl KeySet {
    /// A set of `keys`; `active` signs, `no_kid` verifies tokens without a `kid` (Simple
    /// JWT's tokens; defaults to the active key). Refuses duplicate kids, several keys
    /// without kid, and sets mixing shared secrets with key pairs (an HMAC secret next to
    /// public keys invites algorithm confusion).
    pub fn new(keys: Vec<Key>, active: Option<usize>, no_kid: Option<usize>) -> Result<KeySet> {
        if keys.is_empty() {
            return Err(key_err("a key set needs at least one key"));
        }
        let mut seen = HashSet::new();
        let mut kidless = 0;
        for k in &keys {
            match &k.kid {
                Some(kid) if !seen.insert(kid.clone()) => {
                    return Err(key_err(format!("two keys share the kid {kid:?}")));
                }
                Some(_) => {}
                None => kidless += 1,
            }
        }
        if kidless > 1 {
            return Err(key_err("at most one key may lack a kid"));
        }
        let hmac = keys.iter().filter(|k| k.alg.is_hmac()).count();
        if hmac != 0 && hmac != keys.len() {
            return Err(key_err("a key set cannot mix HMAC secrets with key pairs"));
        }
        if let Some(a) = active {
            let Some(k) = keys.get(a) else {
                return Err(key_err("the active key is not in the set"));
            };
            if !k.can_sign() {
                return Err(key_err("the active key has no private half"));
            }
        }
        if no_kid.is_some_and(|i| i >= keys.len()) {
            return Err(key_err("the default key is not in the set"));
        }
        let no_kid = no_kid
            .or_else(|| keys.iter().position(|k| k.kid.is_none()))
            .or(active)
            .or((keys.len() == 1).then_some(0));
        Ok(KeySet {
            keys: keys.into_iter().map(Arc::new).collect(),
            active,
            no_kid,
        })
    }

    /// One HMAC secret, no kid: Simple JWT's setup.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<KeySet> {
        KeySet::new(vec![Key::hmac(alg, secret, None)?], Some(0), None)
    }

    /// One key that signs (and verifies).
    pub fn single(key: Key) -> Result<KeySet> {
        let active = key.can_sign().then_some(0);
        KeySet::new(vec![key], active, None)
    }

    fn active_key(&self) -> Option<&Arc<Key>> {
        self.active.and_then(|i| self.keys.get(i))
    }

    /// The signing algorithm (of the active key; else of the default verifying key).
    pub fn algorithm(&self) -> Algorithm {
        self.active_key()
            .or_else(|| self.keys.first())
            .map_or(Algorithm::HS256, |k| k.alg)
    }

    /// All keys.
    pub fn keys(&self) -> &[Arc<Key>] {
        &self.keys
    }

    /// The base64url JOSE header new tokens get (with the active key's `kid`).
    pub fn header_b64(&self) -> &str {
        self.active_key().map_or("", |k| k.header_b64.as_str())
    }

    /// Signs `message` with the active key.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        self.active_key()
            .ok_or_else(|| key_err("no signing key: this key set can only verify"))?
            .sign(message)
    }

    /// Verifies with the key that would verify a token without `kid`.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        self.no_kid
            .and_then(|i| self.keys.get(i))
            .is_some_and(|k| k.verify(message, signature_b64))
    }

    /// The key whose own header (the one it signs with) is exactly `header_b64`, when
    /// that key is also the one [`KeySet::select`] would pick for that header: a key with
    /// a `kid` (kids are unique), or the default key for tokens without one.
    pub fn by_own_header(&self, header_b64: &str) -> Option<&Key> {
        let (i, key) = self
            .keys
            .iter()
            .enumerate()
            .find(|(_, k)| k.header_b64 == header_b64)?;
        (key.kid.is_some() || self.no_kid == Some(i)).then_some(&**key)
    }

    /// The key for a token header's `kid` (or the default key when it has none), if its
    /// algorithm is `alg`. Remote keys are consulted after local ones.
    pub fn select(
        &self,
        alg: &str,
        kid: Option<&str>,
        remote: Option<&dyn KeyLookup>,
    ) -> Option<Arc<Key>> {
        let key = match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .cloned()
                .or_else(|| remote.and_then(|r| r.key(kid))),
            None => self.no_kid.and_then(|i| self.keys.get(i)).cloned(),
        }?;
        (Algorithm::from_name(alg) == Some(key.alg)).then_some(key)
    }

    /// The public keys as a JWK Set (RFC 7517 §5). HMAC secrets are never included.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .filter_map(|k| k.public_jwk.clone().map(Value::Object))
            .collect();
        json!({ "keys": keys })
    }

    /// A copy with `extra` verify-only keys added.
    pub fn with_verify_only(mut self, extra: Vec<Key>) -> Result<KeySet> {
        let active = self.active;
        let no_kid = self.no_kid;
        let mut keys: Vec<Key> = Vec::new();
        for k in self.keys.drain(..) {
            match Arc::try_unwrap(k) {
                Ok(k) => keys.push(k),
                Err(_) => return Err(key_err("key set is shared")),
            }
        }
        keys.extend(extra);
        KeySet::new(keys, active, no_kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn every_algorithm_generates_signs_and_verifies() {
        for (alg, _) in ALL {
            let (key, private) =
                Key::generate(alg, &OsRandom, Some(format!("k-{}", alg.name()))).unwrap();
            let sig = key.sign(b"msg").unwrap();
            assert!(key.verify(b"msg", &sig), "{alg:?}");
            assert!(!key.verify(b"msg2", &sig), "{alg:?}");
            if !alg.is_hmac() {
                assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
                let jwk = key.public_jwk().unwrap();
                assert!(jwk.get("d").is_none(), "no private parameters published");
                assert_eq!(jwk["alg"], alg.name());
                // The published JWK verifies the key's signatures.
                let public = Key::from_jwk_value(&Value::Object(jwk.clone()), None).unwrap();
                assert!(public.verify(b"msg", &sig), "{alg:?}");
                assert!(!public.can_sign());
            } else {
                assert!(key.public_jwk().is_none(), "secrets are never published");
            }
        }
    }

    #[test]
    fn private_jwks_are_accepted_for_every_family() {
        // Build each family's private JWK with the public half derived by Tessera and the
        // private half taken from the PKCS#8 the generator wrote.
        for alg in [
            Algorithm::HS256,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ] {
            let (key, private) = Key::generate(alg, &OsRandom, Some("j".into())).unwrap();
            let mut jwk = match key.public_jwk() {
                Some(p) => p.clone(),
                None => serde_json::Map::new(),
            };
            match alg.family() {
                Family::Hmac => {
                    jwk.insert("kty".into(), "oct".into());
                    jwk.insert(
                        "k".into(),
                        URL_SAFE_NO_PAD.encode(private.as_bytes()).into(),
                    );
                }
                Family::Ed => {
                    let der = pem_decode(&private);
                    jwk.insert(
                        "d".into(),
                        URL_SAFE_NO_PAD.encode(&der[der.len() - 32..]).into(),
                    );
                }
                _ => {
                    let der = pem_decode(&private);
                    let len = if alg == Algorithm::ES384 { 48 } else { 32 };
                    // PKCS#8 from aws-lc: …04 <len> <d>… ; find d after the version 1 marker.
                    let at = der
                        .windows(3)
                        .position(|w| w == [0x02, 0x01, 0x01])
                        .unwrap()
                        + 5;
                    jwk.insert(
                        "d".into(),
                        URL_SAFE_NO_PAD.encode(&der[at..at + len]).into(),
                    );
                }
            }
            let from_jwk = Key::from_private_jwk(alg, &Value::Object(jwk)).unwrap();
            let sig = from_jwk.sign(b"m").unwrap();
            assert!(key.verify(b"m", &sig), "{alg:?}");
        }
        let wrong = json!({"kty": "EC", "crv": "P-256", "d": "AAAA", "x": "AAAA", "y": "AAAA"});
        assert!(Key::from_private_jwk(Algorithm::ES256, &wrong).is_err());
        assert!(
            Key::from_private_jwk(Algorithm::RS256, &json!({"kty": "oct", "k": "AAAA"})).is_err()
        );
    }

    /// Splits DER content into its top-level TLVs' contents.
    fn tlvs(mut der: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while der.len() >= 2 {
            let (len, head) = match der[1] {
                n if n < 0x80 => (usize::from(n), 2),
                n => {
                    let k = usize::from(n & 0x7f);
                    (
                        der[2..2 + k]
                            .iter()
                            .fold(0usize, |a, b| a * 256 + usize::from(*b)),
                        2 + k,
                    )
                }
            };
            out.push(der[head..head + len].to_vec());
            der = &der[head + len..];
        }
        out
    }

    #[test]
    fn private_rsa_jwk() {
        let (key, private) = Key::generate(Algorithm::RS256, &OsRandom, Some("r".into())).unwrap();
        let pkcs8 = tlvs(&pem_decode(&private));
        let outer = tlvs(&pkcs8[0]);
        let rsa = tlvs(&tlvs(&outer[2])[0]);
        let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
        let mut jwk = serde_json::Map::new();
        jwk.insert("kty".into(), "RSA".into());
        for (name, value) in names.iter().zip(&rsa[1..]) {
            jwk.insert((*name).into(), URL_SAFE_NO_PAD.encode(value).into());
        }
        let from_jwk = Key::from_private_jwk(Algorithm::RS256, &Value::Object(jwk)).unwrap();
        assert!(key.verify(b"m", &from_jwk.sign(b"m").unwrap()));
    }

    fn pem_decode(pem: &str) -> Vec<u8> {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(b64).unwrap()
    }

    #[test]
    fn keys_are_pinned_to_their_algorithm() {
        let (es, _) = Key::generate(Algorithm::ES256, &OsRandom, Some("e".into())).unwrap();
        let set = KeySet::single(es).unwrap();
        assert!(set.select("ES256", Some("e"), None).is_some());
        assert!(set.select("ES384", Some("e"), None).is_none());
        assert!(set.select("HS256", Some("e"), None).is_none());
        assert!(set.select("none", None, None).is_none());
        assert!(set.select("ES256", Some("other"), None).is_none());
    }

    #[test]
    fn own_headers_name_only_the_key_select_would_pick() {
        let h = |secret: u8, kid: Option<&str>| {
            Key::hmac(Algorithm::HS256, &[secret; 32], kid.map(str::to_owned)).unwrap()
        };
        let set = KeySet::new(vec![h(1, None), h(2, Some("b"))], Some(1), None).unwrap();
        // The kidless key is the default: its header selects it, as does kid "b"'s.
        let plain = header_for(Algorithm::HS256, None);
        let with_b = header_for(Algorithm::HS256, Some("b"));
        assert!(std::ptr::eq(
            set.by_own_header(&plain).unwrap(),
            &*set.keys[0]
        ));
        assert!(std::ptr::eq(
            set.by_own_header(&with_b).unwrap(),
            &*set.keys[1]
        ));
        assert!(set.by_own_header("eyJhbGciOiJub25lIn0").is_none());
        // Made the default for kidless tokens, key "b" is what a kidless header selects,
        // so the kidless key's own header must not short-cut to the kidless key.
        let set = KeySet::new(vec![h(1, None), h(2, Some("b"))], Some(1), Some(1)).unwrap();
        assert!(set.by_own_header(&plain).is_none());
        assert!(std::ptr::eq(
            &*set.select("HS256", None, None).unwrap(),
            &*set.keys[1]
        ));
    }

    #[test]
    fn key_sets_refuse_ambiguity() {
        let h = |kid: &str| Key::hmac(Algorithm::HS256, &[7u8; 32], Some(kid.into())).unwrap();
        assert!(KeySet::new(vec![h("a"), h("a")], Some(0), None).is_err());
        let (es, _) = Key::generate(Algorithm::ES256, &OsRandom, Some("e".into())).unwrap();
        assert!(KeySet::new(vec![h("a"), es], Some(0), None).is_err());
        assert!(KeySet::new(vec![h("a"), h("b")], Some(1), None).is_ok());
    }

    #[test]
    fn hmac_keys_as_long_as_their_hash() {
        assert!(Key::hmac(Algorithm::HS384, &[1u8; 47], None).is_err());
        assert!(Key::hmac(Algorithm::HS384, &[1u8; 48], None).is_ok());
        assert!(Key::hmac(Algorithm::HS512, &[1u8; 63], None).is_err());
    }

    #[test]
    fn jwk_checks() {
        let (key, _) = Key::generate(Algorithm::ES256, &OsRandom, Some("e".into())).unwrap();
        let mut jwk = key.public_jwk().unwrap().clone();
        jwk.insert("use".into(), "enc".into());
        assert!(Key::from_jwk_value(&Value::Object(jwk.clone()), None).is_err());
        jwk.insert("use".into(), "sig".into());
        jwk.insert("alg".into(), "ES384".into());
        assert!(Key::from_jwk_value(&Value::Object(jwk.clone()), None).is_err());
        jwk.insert("alg".into(), "RS256".into());
        assert!(Key::from_jwk_value(&Value::Object(jwk), None).is_err());
        assert!(
            Key::from_jwk_value(
                &json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "RS256"}),
                None
            )
            .is_err()
        );
    }
}
