//! [`KeySet`]: one active signing key and any number of verify-only keys, chosen by `kid`.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::Result;

use super::{Algorithm, Key, KeyLookup, key_err};

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
    pub(super) keys: Vec<Arc<Key>>,
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

    /// The key that signs new tokens (none in a verify-only set).
    pub fn signing_key(&self) -> Option<&Arc<Key>> {
        self.active_key()
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
