//! Wycheproof vectors (`../shared/vectors/wycheproof/`): every `valid` case accepted,
//! every `invalid` case refused. A vector for an algorithm Tessera does not implement
//! (ES512/P-521) or a key Tessera's policy refuses (HMAC keys shorter than the hash, MAC
//! tags truncated, which JWS never does) is counted as skipped, with the reason.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tessera_core::{Algorithm, Key, KeySet, ManualClock, OsRandom, Settings, TokenService};

fn vectors_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/wycheproof");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Wycheproof vectors missing at {}", dir.display());
    }
    eprintln!("SKIPPED: Wycheproof vectors not found at {}", dir.display());
    None
}

fn load(name: &str) -> Option<Value> {
    let path = vectors_dir()?.join(name);
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Default, Debug)]
struct Tally {
    accepted_valid: usize,
    refused_invalid: usize,
    skipped: Vec<String>,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, id: String, expected: &str, accepted: bool) {
        match (expected, accepted) {
            ("valid", true) => self.accepted_valid += 1,
            ("invalid", false) => self.refused_invalid += 1,
            ("acceptable", _) => {}
            _ => self
                .failures
                .push(format!("{id}: expected {expected}, accepted={accepted}")),
        }
    }
    fn finish(self, what: &str) {
        eprintln!(
            "{what}: {} valid accepted, {} invalid refused, {} skipped",
            self.accepted_valid,
            self.refused_invalid,
            self.skipped.len()
        );
        assert!(
            self.failures.is_empty(),
            "{what}:\n{}",
            self.failures.join("\n")
        );
        assert!(
            self.accepted_valid + self.refused_invalid > 0,
            "{what}: nothing ran"
        );
    }
}

fn service(keys: KeySet) -> TokenService {
    TokenService::new(
        &Settings::default(),
        keys,
        Arc::new(ManualClock::at_secs(0)),
        Arc::new(OsRandom),
    )
}

/// A key set from a group's JWK or JWK Set, or why it cannot be built.
fn key_set(jwk: &Value) -> Result<KeySet, String> {
    let list: Vec<&Value> = match jwk.get("keys") {
        Some(Value::Array(keys)) => keys.iter().collect(),
        _ => vec![jwk],
    };
    let keys = list
        .into_iter()
        .map(|k| Key::from_jwk_value(k, None).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    KeySet::new(keys, None, None).map_err(|e| e.to_string())
}

fn unsupported_alg(jwk: &Value) -> Option<String> {
    let algs: Vec<&Value> = match jwk.get("keys") {
        Some(Value::Array(keys)) => keys.iter().filter_map(|k| k.get("alg")).collect(),
        _ => jwk.get("alg").into_iter().collect(),
    };
    algs.iter()
        .filter_map(|a| a.as_str())
        .find(|a| Algorithm::from_name(a).is_none() && a.starts_with("ES"))
        .map(str::to_owned)
}

/// RFC 7520's Figure 20 signs with PS384 while the vector's JWK says `"alg":"PS256"`.
/// Tessera pins every key to the algorithm its JWK names (RFC 8725 §3.1), so that
/// token is refused by design; the vector counts it valid.
fn pinning_conflict(jwk: &Value, jws: &str) -> Option<String> {
    let key_alg = jwk.get("alg")?.as_str()?;
    let header = jws.split('.').next()?;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let h: Value = serde_json::from_slice(&bytes).ok()?;
    let token_alg = h.get("alg")?.as_str()?;
    (key_alg != token_alg && Algorithm::from_name(token_alg).is_some())
        .then(|| format!("key pinned to {key_alg}, token asks for {token_alg}"))
}

/// Mislabelled upstream (see shared/vectors/README.md).
const JWS_ERRATA: [u64; 4] = [367, 370, 372, 373];

fn run_jws_file(name: &str) {
    let Some(doc) = load(name) else { return };
    let mut tally = Tally::default();
    for group in doc["testGroups"].as_array().unwrap() {
        let jwk = group.get("public").unwrap_or(&group["private"]);
        let keys = key_set(jwk);
        for t in group["tests"].as_array().unwrap() {
            let id = format!(
                "{name} tc{} ({})",
                t["tcId"],
                t["comment"].as_str().unwrap_or("")
            );
            let expected = t["result"].as_str().unwrap();
            if name == "json_web_signature_test.json"
                && JWS_ERRATA.contains(&t["tcId"].as_u64().unwrap())
            {
                tally.skipped.push(format!("{id}: known erratum"));
                continue;
            }
            if expected == "valid"
                && let Some(alg) = unsupported_alg(jwk)
            {
                tally
                    .skipped
                    .push(format!("{id}: {alg} is not implemented"));
                continue;
            }
            if expected == "valid"
                && let Some(reason) = pinning_conflict(jwk, t["jws"].as_str().unwrap())
            {
                tally.skipped.push(format!("{id}: {reason}"));
                continue;
            }
            let accepted = match &keys {
                Ok(k) => service(k.clone())
                    .verify_jws(t["jws"].as_str().unwrap())
                    .is_ok(),
                Err(_) => false,
            };
            tally.record(id, expected, accepted);
        }
    }
    tally.finish(name);
}

#[test]
fn json_web_signatures() {
    run_jws_file("json_web_signature_test.json");
}

#[test]
fn json_web_keys() {
    run_jws_file("json_web_key_test.json");
}

/// The group's public key as a JWK, built from its raw form (not every group carries
/// `publicKeyJwk`).
fn public_jwk(group: &Value) -> Value {
    let pk = &group["publicKey"];
    let fixed = |h: &str, len: usize| {
        let mut b = hex(h);
        while b.len() > len && b[0] == 0 {
            b.remove(0);
        }
        while b.len() < len {
            b.insert(0, 0);
        }
        b64(&b)
    };
    match pk["type"].as_str() {
        Some("EcPublicKey") => serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": fixed(pk["wx"].as_str().unwrap(), 32),
            "y": fixed(pk["wy"].as_str().unwrap(), 32),
        }),
        _ => {
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&hex(pk["pk"].as_str().unwrap()))})
        }
    }
}

fn run_signature_file(name: &str, alg: Algorithm) {
    let Some(doc) = load(name) else { return };
    let mut tally = Tally::default();
    for group in doc["testGroups"].as_array().unwrap() {
        let key = Key::from_jwk_value(&public_jwk(group), Some(alg));
        for t in group["tests"].as_array().unwrap() {
            let id = format!(
                "{name} tc{} ({})",
                t["tcId"],
                t["comment"].as_str().unwrap_or("")
            );
            let accepted = match &key {
                Ok(k) => k.verify(
                    &hex(t["msg"].as_str().unwrap()),
                    &b64(&hex(t["sig"].as_str().unwrap())),
                ),
                Err(_) => false,
            };
            tally.record(id, t["result"].as_str().unwrap(), accepted);
        }
    }
    tally.finish(name);
}

#[test]
fn ecdsa_p256_p1363() {
    run_signature_file("ecdsa_secp256r1_sha256_p1363_test.json", Algorithm::ES256);
}

#[test]
fn ed25519() {
    run_signature_file("ed25519_test.json", Algorithm::EdDSA);
}

#[test]
fn hmac_sha256() {
    let Some(doc) = load("hmac_sha256_test.json") else {
        return;
    };
    let mut tally = Tally::default();
    for group in doc["testGroups"].as_array().unwrap() {
        let (key_bits, tag_bits) = (
            group["keySize"].as_u64().unwrap(),
            group["tagSize"].as_u64().unwrap(),
        );
        for t in group["tests"].as_array().unwrap() {
            let id = format!("hmac tc{}", t["tcId"]);
            if tag_bits != 256 {
                tally
                    .skipped
                    .push(format!("{id}: truncated tags are not JWS"));
                continue;
            }
            let key = hex(t["key"].as_str().unwrap());
            let accepted = match Key::hmac(Algorithm::HS256, &key, None) {
                Ok(k) => k.verify(
                    &hex(t["msg"].as_str().unwrap()),
                    &b64(&hex(t["tag"].as_str().unwrap())),
                ),
                Err(_) => {
                    assert!(key_bits < 256, "{id}: a 32-byte key was refused");
                    tally
                        .skipped
                        .push(format!("{id}: keys under 32 bytes are refused by policy"));
                    continue;
                }
            };
            tally.record(id, t["result"].as_str().unwrap(), accepted);
        }
    }
    tally.finish("hmac_sha256_test.json");
}
