//! Consuming a remote key set (`JWK_URL`): tokens issued elsewhere (an identity
//! provider) are verified by their `kid`.
//!
//! The remote set is cached; an unknown `kid` triggers a refetch, at most once per
//! [`MIN_REFETCH_INTERVAL`] however many requests ask (an attacker sending random kids
//! cannot turn Tessera into a request amplifier), with a timeout and a size limit.
//! Symmetric (`oct`) keys in a remote set are ignored: a published secret is no secret.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_core::{Algorithm, Key, KeyLookup};

/// How long a fetched key set is used before it is fetched again.
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// The least time between two fetches, whatever asks for them.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest key set document accepted.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Most keys taken from a remote set.
pub const MAX_REMOTE_KEYS: usize = 100;

/// A remote JWKS, fetched on demand and cached.
#[derive(Debug)]
pub struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    /// Pins keys whose JWK has no `alg` to this algorithm (`ALGORITHM`), when it fits.
    expected: Option<Algorithm>,
    keys: RwLock<Arc<HashMap<String, Arc<Key>>>>,
    state: tokio::sync::Mutex<FetchState>,
}

#[derive(Debug, Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    last_success: Option<Instant>,
}

impl RemoteJwks {
    /// A cache of the key set at `url` (fetched lazily, on the first unknown `kid`),
    /// each fetch bounded by `timeout` ([`FETCH_TIMEOUT`] in the server).
    pub fn new(
        url: &str,
        expected: Option<Algorithm>,
        timeout: Duration,
    ) -> Result<RemoteJwks, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        Ok(RemoteJwks {
            url: url.to_owned(),
            client,
            expected,
            keys: RwLock::new(Arc::new(HashMap::new())),
            state: tokio::sync::Mutex::new(FetchState::default()),
        })
    }

    /// Makes sure the cache is fresh enough to answer for `kid`: refetches when the kid
    /// is unknown or the cache is older than [`CACHE_TTL`], but never more often than
    /// [`MIN_REFETCH_INTERVAL`]. A failed fetch keeps the previous keys.
    pub async fn ensure(&self, kid: &str) {
        let known = self.key(kid).is_some();
        let mut state = self.state.lock().await;
        let stale = state.last_success.is_none_or(|t| t.elapsed() > CACHE_TTL);
        if known && !stale {
            return;
        }
        // Another request may have refreshed while this one waited for the lock.
        if self.key(kid).is_some() && !stale {
            return;
        }
        if state
            .last_attempt
            .is_some_and(|t| t.elapsed() < MIN_REFETCH_INTERVAL)
        {
            return;
        }
        state.last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "fetched remote JWKS");
                if let Ok(mut k) = self.keys.write() {
                    *k = Arc::new(keys);
                }
                state.last_success = Some(Instant::now());
            }
            Err(e) => tracing::warn!(url = %self.url, error = %e, "could not fetch remote JWKS"),
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<Key>>, String> {
        let mut resp = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(format!("key set larger than {MAX_JWKS_BYTES} bytes"));
            }
        }
        parse_jwks(&body, self.expected)
    }
}

/// Parses a JWK Set, keeping usable signature keys with a `kid` (at most
/// [`MAX_REMOTE_KEYS`]); unusable entries are skipped with a log line, duplicates refused.
pub fn parse_jwks(
    body: &[u8],
    expected: Option<Algorithm>,
) -> Result<HashMap<String, Arc<Key>>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Some(Value::Array(list)) = doc.get("keys") else {
        return Err("no \"keys\" array".into());
    };
    let mut out = HashMap::new();
    for jwk in list.iter().take(MAX_REMOTE_KEYS) {
        if jwk.get("kty").and_then(Value::as_str) == Some("oct") {
            continue;
        }
        let Some(kid) = jwk.get("kid").and_then(Value::as_str) else {
            continue;
        };
        let pin = expected.filter(|e| !e.is_hmac() && jwk.get("alg").is_none());
        match Key::from_jwk_value(jwk, pin) {
            Ok(key) => {
                if out.insert(kid.to_owned(), Arc::new(key)).is_some() {
                    return Err(format!("two keys share the kid {kid:?}"));
                }
            }
            Err(e) => tracing::warn!(kid, error = %e, "skipping an unusable remote JWK"),
        }
    }
    Ok(out)
}

impl KeyLookup for RemoteJwks {
    fn key(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys.read().ok()?.get(kid).cloned()
    }
}
