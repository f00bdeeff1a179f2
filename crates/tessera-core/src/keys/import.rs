//! Reading keys: HMAC secrets, PEM (PKCS#8, PKCS#1, SPKI) and JWKs (RFC 7517/7518), each
//! checked (sizes, curves, `use`, ROCA) and pinned to its algorithm.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::Value;

use crate::error::Result;

use super::{Algorithm, Family, Key, MIN_RSA_BITS, key_err};

impl Key {
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
