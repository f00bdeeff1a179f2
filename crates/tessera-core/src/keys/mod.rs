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

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

mod algorithm;
mod generate;
mod import;
mod set;

pub use algorithm::{Algorithm, Family, MIN_HMAC_KEY_LEN, MIN_RSA_BITS};
pub use import::pem_encode;
pub use set::KeySet;

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

/// Extra verifying keys looked up by `kid` (a remote JWKS cache).
pub trait KeyLookup: Send + Sync + std::fmt::Debug {
    /// The key with this id, if known.
    fn key(&self, kid: &str) -> Option<Arc<Key>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn every_algorithm_generates_signs_and_verifies() {
        for (alg, _) in algorithm::ALL {
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
