//! [`Tessera`]: the shared state every route and extractor reads.

use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use tessera_core::{
    ClaimsHook, Clock, FieldClaims, KeySet, OsRandom, PasswordHasher, Random, Settings,
    SystemClock, TokenService, User,
};
use tessera_store::Store;
use tokio::sync::Semaphore;

use crate::error::{ApiError, Rejection};
use crate::hash_pool::HashPool;
use crate::jwks::RemoteJwks;
use crate::revocation::Revocations;

/// Tessera's state: settings, token service, store and password hasher. Cheap to clone.
///
/// Mount it in any axum app whose state `S` can give a `Tessera` (`Tessera: FromRef<S>`,
/// true for `Tessera` itself).
#[derive(Clone)]
pub struct Tessera {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    tokens: TokenService,
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    hash_slots: Semaphore,
    hash_pool: HashPool,
    hooks: Vec<Arc<dyn ClaimsHook>>,
    header_name: HeaderName,
    challenge: HeaderValue,
    revocations: Revocations,
    remote: Option<Arc<RemoteJwks>>,
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera")
            .field("store", &self.inner.store)
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Tessera`]; see [`Tessera::builder`].
pub struct TesseraBuilder {
    settings: Settings,
    keys: KeySet,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    hooks: Vec<Arc<dyn ClaimsHook>>,
    hash_concurrency: usize,
    remote: Option<Arc<RemoteJwks>>,
}

impl Tessera {
    /// Starts building state from validated `settings`, a signing key set and a store.
    pub fn builder(settings: Settings, keys: KeySet, store: Arc<dyn Store>) -> TesseraBuilder {
        TesseraBuilder {
            settings,
            keys,
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            hooks: Vec::new(),
            hash_concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            remote: None,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
    /// The token service (mint, encode, validate).
    pub fn tokens(&self) -> &TokenService {
        &self.inner.tokens
    }
    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }
    /// The password hasher (call it through [`Tessera::hash_password`] from async code).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }
    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.tokens.clock()
    }
    /// The header credentials are read from (`AUTH_HEADER_NAME`).
    pub fn header_name(&self) -> &HeaderName {
        &self.inner.header_name
    }
    /// `WWW-Authenticate` for 401s: `<AUTH_HEADER_TYPES[0]> realm="api"`.
    pub fn challenge(&self) -> &HeaderValue {
        &self.inner.challenge
    }
    /// Wraps an error with this configuration's challenge.
    pub fn reject(&self, error: impl Into<ApiError>) -> Rejection {
        Rejection {
            error: error.into(),
            challenge: self.inner.challenge.clone(),
        }
    }
    /// The remote key set (`JWK_URL`), if configured.
    pub fn remote_jwks(&self) -> Option<&Arc<RemoteJwks>> {
        self.inner.remote.as_ref()
    }

    /// The in-memory set of revoked families (`ACCESS_TOKEN_REVOCATION`).
    pub fn revocations(&self) -> &Revocations {
        &self.inner.revocations
    }

    /// Logout everywhere: revokes every refresh token (and, with
    /// `ACCESS_TOKEN_REVOCATION`, every access token) of the user, on every instance.
    pub async fn revoke_user(&self, user_id: i64) -> Result<usize, ApiError> {
        let revoked = self
            .store()
            .revoke_user(user_id, self.clock().now_micros())
            .await?;
        self.revocations().apply(&revoked);
        Ok(revoked.len())
    }

    /// Sets a new password (hashed on the blocking pool) and revokes every session of
    /// the user: a password change must end sessions opened with the old one.
    pub async fn change_password(&self, user_id: i64, new_password: &str) -> Result<(), ApiError> {
        let hash = self.hash_password(new_password.to_owned()).await?;
        self.store().set_password(user_id, &hash).await?;
        self.revoke_user(user_id).await?;
        Ok(())
    }

    /// Checks a user's password on the blocking pool (for re-authentication).
    pub async fn check_password(&self, user: &User, password: &str) -> Result<bool, ApiError> {
        let (password, encoded) = (password.to_owned(), user.password.clone());
        self.on_hash_pool(move |h| h.verify(&password, &encoded))
            .await
    }

    /// The claims hooks, in order.
    pub(crate) fn hooks(&self) -> &[Arc<dyn ClaimsHook>] {
        &self.inner.hooks
    }

    /// Runs `f` with the hasher on the low-priority hashing threads, at most N at a time
    /// (N = cores by default): a login storm queues here, briefly, instead of starving
    /// token checks on the async workers or piling up Argon2 memory.
    async fn on_hash_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let wait = std::time::Duration::from_secs(
            u64::try_from(self.settings().password_hash_queue_timeout).unwrap_or(2),
        );
        let _permit = match tokio::time::timeout(wait, self.inner.hash_slots.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(ApiError::Internal("hash pool closed".into())),
            Err(_) => return Err(ApiError::HashingBusy),
        };
        let hasher = self.inner.hasher.clone();
        self.inner
            .hash_pool
            .run(move || f(&hasher))
            .await
            .ok_or_else(|| ApiError::Internal("password hashing failed".into()))
    }

    /// Hashes a new password off the async workers.
    pub async fn hash_password(&self, password: String) -> Result<String, ApiError> {
        self.on_hash_pool(move |h| h.hash(&password))
            .await?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Django's `authenticate()` with `ModelBackend`: the active user whose username and
    /// password match, else `None`. Unknown users cost a dummy hash and inactive users a
    /// real one, so the three failures take the same time. A match on an outdated hash
    /// is rehashed with the current hasher.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, ApiError> {
        let user = self.store().user_by_username(username).await?;
        self.authenticate_found(user, password).await
    }

    /// The second half of [`Tessera::authenticate`], for a caller that already looked the
    /// user up: `user` when it exists, is active and `password` is its password.
    pub async fn authenticate_found(
        &self,
        user: Option<User>,
        password: &str,
    ) -> Result<Option<User>, ApiError> {
        let password = password.to_owned();
        let Some(user) = user else {
            self.on_hash_pool(move |h| h.verify_dummy(&password))
                .await?;
            return Ok(None);
        };
        let encoded = user.password.clone();
        let (ok, rehash) = self
            .on_hash_pool(move |h| {
                let ok = h.verify(&password, &encoded);
                let rehash = if ok && h.must_update(&encoded) {
                    h.hash(&password).ok()
                } else {
                    None
                };
                (ok, rehash)
            })
            .await?;
        if !ok {
            return Ok(None);
        }
        let mut user = user;
        if let Some(new_hash) = rehash {
            self.store().set_password(user.id, &new_hash).await?;
            tracing::info!(
                user_id = user.id,
                "password hash upgraded to the current hasher"
            );
            user.password = new_hash;
        }
        Ok(user.is_active.then_some(user))
    }

    /// Looks a user up by the value of the user id claim, per `USER_ID_FIELD`. A claim that
    /// cannot name a user (a non-numeric id) is `Ok(None)`, not an error.
    pub async fn user_by_claim(
        &self,
        claim: &serde_json::Value,
    ) -> Result<Option<Arc<User>>, ApiError> {
        if self.settings().user_id_field == "username" {
            let as_text = match claim {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return Ok(None),
            };
            return Ok(self.store().user_by_username(&as_text).await?.map(Arc::new));
        }
        // As the text of the claim parsed as an integer: `5` and `"5"` name user 5; `5.0`
        // and numbers beyond i64 name nobody.
        let id = match claim {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        if let Some(hit) = self.store().cached_user(id) {
            return Ok(hit);
        }
        Ok(self.store().shared_user_by_id(id).await?)
    }
}

impl TesseraBuilder {
    /// Reads time from `clock` instead of the system clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Uses `random` for token ids and salts.
    pub fn random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }
    /// Adds a hook that puts custom claims into obtained tokens (after
    /// `USER_CLAIM_FIELDS`).
    pub fn claims_hook(mut self, hook: Arc<dyn ClaimsHook>) -> Self {
        self.hooks.push(hook);
        self
    }
    /// Also verifies tokens signed by the keys of a remote JWKS (`JWK_URL`), for `kid`s
    /// the local key set does not have.
    pub fn remote_jwks(mut self, remote: Arc<RemoteJwks>) -> Self {
        self.remote = Some(remote);
        self
    }

    /// How many password hashes may run at once (default: the number of cores).
    pub fn hash_concurrency(mut self, n: usize) -> Self {
        self.hash_concurrency = n.max(1);
        self
    }

    /// Finishes the state; fails on settings the web layer cannot honour.
    pub fn build(self) -> Result<Tessera, tessera_core::Error> {
        let s = self.settings;
        let header = s.auth_header()?;
        let header_name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
            tessera_core::Error::config("AUTH_HEADER_NAME", "not a valid header name")
        })?;
        let scheme = s.auth_header_types.first().map_or("Bearer", String::as_str);
        let challenge = HeaderValue::from_str(&format!("{scheme} realm=\"api\""))
            .map_err(|_| tessera_core::Error::config("AUTH_HEADER_TYPES", "not a valid scheme"))?;
        let remote = self.remote;
        let hash_concurrency = match s.password_hash_concurrency {
            0 => self.hash_concurrency,
            n => n,
        };
        let tokens = match &remote {
            Some(r) => TokenService::with_remote_keys(
                &s,
                self.keys,
                self.clock,
                self.random.clone(),
                r.clone(),
            ),
            None => TokenService::new(&s, self.keys, self.clock, self.random.clone()),
        };
        let hasher = PasswordHasher::new(&s, self.random);
        let mut hooks: Vec<Arc<dyn ClaimsHook>> = Vec::new();
        if !s.user_claim_fields.is_empty() {
            hooks.push(Arc::new(FieldClaims(s.user_claim_fields.clone())));
        }
        hooks.extend(self.hooks);
        Ok(Tessera {
            inner: Arc::new(Inner {
                settings: s,
                tokens,
                store: self.store,
                hasher,
                hash_slots: Semaphore::new(hash_concurrency),
                hash_pool: HashPool::new(hash_concurrency),
                hooks,
                header_name,
                challenge,
                revocations: Revocations::default(),
                remote,
            }),
        })
    }
}
