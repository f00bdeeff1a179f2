//! Generating new key pairs and secrets (`tessera keys generate`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::Random;
use crate::error::Result;

use super::import::pem_encode;
use super::{Algorithm, Family, Key, key_err};

impl Key {
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
}
