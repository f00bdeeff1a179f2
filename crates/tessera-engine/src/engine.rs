//! [`Tessera`]: the engine every flow runs on, and its builder.

use std::sync::Arc;

use tessera_core::{
    AuthUser, ClaimsHook, Clock, FieldClaims, KeySet, OsRandom, PasswordHasher, Random, Settings,
    SystemClock, TokenService, User,
};
use tessera_store::{LoginThrottle, Store, TokenLedger, UserStore};
use tokio::sync::Semaphore;

use crate::hash_pool::HashPool;
use crate::revocation::Revocations;

/// The token engine: settings, keys, the stores, the password-hashing pool, the claims
/// hooks and the in-memory revocation set. Every flow (obtain, refresh, verify, logout,
/// authenticate …) is a method. Cheap to clone (one `Arc`); share one per process.
///
/// `U` is the application's user type ([`AuthUser`]); Django's `auth_user` row
/// ([`User`]) by default.
pub struct Tessera<U: AuthUser = User> {
    pub(crate) inner: Arc<Inner<U>>,
}

impl<U: AuthUser> Clone for Tessera<U> {
    fn clone(&self) -> Self {
        Tessera {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) struct Inner<U: AuthUser> {
    pub(crate) settings: Settings,
    pub(crate) tokens: TokenService,
    pub(crate) users: Arc<dyn UserStore<User = U>>,
    pub(crate) ledger: Arc<dyn TokenLedger>,
    pub(crate) throttle: Arc<dyn LoginThrottle>,
    /// What a login reads before hashing: in one statement when the users and the
    /// counters share one of Tessera's databases.
    pub(crate) login_reader: Arc<dyn LoginReader<U>>,
    pub(crate) store: Option<Arc<dyn Store>>,
    /// The application's users cached in memory (`cache_app_users`), to forget rows of.
    pub(crate) app_user_cache: Option<Arc<crate::user_cache::CachedUsers<U>>>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) hash_slots: Semaphore,
    pub(crate) hash_pool: HashPool,
    pub(crate) hooks: Vec<Arc<dyn ClaimsHook<U>>>,
    pub(crate) revocations: Revocations,
    pub(crate) security_sink: Option<Arc<dyn crate::SecuritySink>>,
    /// The database key set the signing keys come from, when they do.
    pub(crate) key_ring: Option<Arc<crate::KeyRing>>,
    #[cfg(feature = "remote-jwks")]
    pub(crate) remote: Option<Arc<crate::remote_jwks::RemoteJwks>>,
}

impl<U: AuthUser> std::fmt::Debug for Tessera<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera")
            .field("users", &self.inner.users)
            .field("ledger", &self.inner.ledger)
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Tessera`]; see [`Tessera::builder`] and [`Tessera::builder_with_users`].
pub struct TesseraBuilder<U: AuthUser = User> {
    settings: Settings,
    keys: KeySet,
    users: Arc<dyn UserStore<User = U>>,
    ledger: Arc<dyn TokenLedger>,
    throttle: Arc<dyn LoginThrottle>,
    login_reader: Arc<dyn LoginReader<U>>,
    store: Option<Arc<dyn Store>>,
    app_user_cache: Option<Arc<crate::user_cache::CachedUsers<U>>>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    hooks: Vec<Arc<dyn ClaimsHook<U>>>,
    hash_concurrency: usize,
    security_sink: Option<Arc<dyn crate::SecuritySink>>,
    key_ring: Option<Arc<crate::KeyRing>>,
    #[cfg(feature = "remote-jwks")]
    remote: Option<Arc<crate::remote_jwks::RemoteJwks>>,
}

impl Tessera<User> {
    /// Starts building an engine over one of Tessera's own stores ([`tessera_store::open`]):
    /// users in Django's `auth_user`, the ledger and the throttling counters beside them.
    pub fn builder(settings: Settings, keys: KeySet, store: Arc<dyn Store>) -> TesseraBuilder {
        let mut b =
            Self::builder_with_users(settings, keys, store.clone(), store.clone(), store.clone());
        b.login_reader = Arc::new(OneStatement(store.clone()));
        b.store = Some(store);
        b
    }
}

impl<U: AuthUser> Tessera<U> {
    /// Starts building an engine whose users come from the application's own
    /// [`UserStore`] (its table, its columns), with the token ledger and the login
    /// counters kept elsewhere (typically one of Tessera's stores).
    pub fn builder_with_users(
        settings: Settings,
        keys: KeySet,
        users: Arc<dyn UserStore<User = U>>,
        ledger: Arc<dyn TokenLedger>,
        throttle: Arc<dyn LoginThrottle>,
    ) -> TesseraBuilder<U> {
        TesseraBuilder {
            settings,
            keys,
            login_reader: Arc::new(TwoReads {
                users: users.clone(),
                throttle: throttle.clone(),
            }),
            users,
            ledger,
            throttle,
            store: None,
            app_user_cache: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
            hooks: Vec::new(),
            hash_concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            security_sink: None,
            key_ring: None,
            #[cfg(feature = "remote-jwks")]
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
    /// The users the flows authenticate.
    pub fn users(&self) -> &Arc<dyn UserStore<User = U>> {
        &self.inner.users
    }
    /// The token ledger.
    pub fn ledger(&self) -> &Arc<dyn TokenLedger> {
        &self.inner.ledger
    }
    /// The login throttling counters.
    pub fn throttle(&self) -> &Arc<dyn LoginThrottle> {
        &self.inner.throttle
    }
    /// The whole store, when the engine was built over one ([`Tessera::builder`]).
    pub fn store(&self) -> Option<&Arc<dyn Store>> {
        self.inner.store.as_ref()
    }
    /// The password hasher (call it through [`Tessera::hash_password`] from async code).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }
    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.tokens.clock()
    }
    /// The in-memory set of revoked families (`ACCESS_TOKEN_REVOCATION`).
    pub fn revocations(&self) -> &Revocations {
        &self.inner.revocations
    }
    /// The database key set the signing keys come from, if they do
    /// ([`TesseraBuilder::key_ring`]).
    pub fn key_ring(&self) -> Option<&Arc<crate::KeyRing>> {
        self.inner.key_ring.as_ref()
    }
    /// The remote key set (`JWK_URL`), if configured.
    #[cfg(feature = "remote-jwks")]
    pub fn remote_jwks(&self) -> Option<&Arc<crate::remote_jwks::RemoteJwks>> {
        self.inner.remote.as_ref()
    }
    /// Drops the cached row of user `id` (with [`TesseraBuilder::cache_app_users`]): call
    /// it after changing a user outside Tessera, so the change applies to the next
    /// request. Without that cache there is nothing to forget.
    pub fn forget_user(&self, id: &tessera_store::IdOf<U>) {
        if let Some(cache) = &self.inner.app_user_cache {
            cache.forget(Some(id));
        }
    }

    /// The claims hooks, in order.
    pub(crate) fn hooks(&self) -> &[Arc<dyn ClaimsHook<U>>] {
        &self.inner.hooks
    }
}

impl TesseraBuilder<User> {
    /// Keeps user rows in memory for up to `ttl` (what `tessera serve` does with
    /// `USER_CACHE_TTL`), so the user check of a protected route costs no database round
    /// trip. Changes made through Tessera drop the cached row at once, on every instance
    /// of a PostgreSQL deployment (through its change channel, followed by
    /// [`Tessera::start_revocation_sync`]); changes made behind Tessera's back are seen
    /// within `ttl`.
    pub fn cache_users(mut self, ttl: std::time::Duration) -> Self {
        if let Some(store) = self.store.take() {
            let cached: Arc<dyn Store> = Arc::new(tessera_store::UserCache::new(store, ttl));
            self.users = cached.clone();
            self.ledger = cached.clone();
            self.throttle = cached.clone();
            self.login_reader = Arc::new(OneStatement(cached.clone()));
            self.store = Some(cached);
        }
        self
    }
}

impl<U: AuthUser> TesseraBuilder<U> {
    /// Keeps the application's user rows (from [`Tessera::builder_with_users`]'s
    /// [`UserStore`]) in memory for up to `ttl`, so the user check of a protected route
    /// costs no round trip to the app's database. A password Tessera sets drops the row
    /// at once; when the app changes a user itself (deactivates, deletes), it calls
    /// [`Tessera::forget_user`], else the change is seen within `ttl`.
    pub fn cache_app_users(mut self, ttl: std::time::Duration) -> Self {
        let cache = Arc::new(crate::user_cache::CachedUsers::new(self.users.clone(), ttl));
        self.users = cache.clone();
        self.login_reader = Arc::new(TwoReads {
            users: cache.clone(),
            throttle: self.throttle.clone(),
        });
        self.app_user_cache = Some(cache);
        self
    }

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
    pub fn claims_hook(mut self, hook: Arc<dyn ClaimsHook<U>>) -> Self {
        self.hooks.push(hook);
        self
    }
    /// Also verifies tokens signed by the keys of a remote JWKS (`JWK_URL`), for `kid`s
    /// the local key set does not have.
    #[cfg(feature = "remote-jwks")]
    pub fn remote_jwks(mut self, remote: Arc<crate::remote_jwks::RemoteJwks>) -> Self {
        self.remote = Some(remote);
        self
    }
    /// How many password hashes may run at once (default: the number of cores; the
    /// `PASSWORD_HASH_CONCURRENCY` setting wins when it is not 0).
    pub fn hash_concurrency(mut self, n: usize) -> Self {
        self.hash_concurrency = n.max(1);
        self
    }

    /// Also hands every security event (logins, failures, replays, logouts, password
    /// changes) to `sink`, e.g. to keep them in an audit log.
    pub fn security_sink(mut self, sink: Arc<dyn crate::SecuritySink>) -> Self {
        self.security_sink = Some(sink);
        self
    }

    /// Takes the signing keys from `ring` (the database key set, shared by every
    /// instance): [`Tessera::start_revocation_sync`] then follows its changes, and runs
    /// its scheduled rotation. The builder's key set should be `ring`'s current one
    /// ([`crate::KeyRing::load`]).
    pub fn key_ring(mut self, ring: Arc<crate::KeyRing>) -> Self {
        self.key_ring = Some(ring);
        self
    }

    /// Finishes the engine and starts its hashing threads.
    pub fn build(self) -> Result<Tessera<U>, tessera_core::Error> {
        let s = self.settings;
        // Validated here so that a bad header setting fails at start-up, whatever the
        // web layer.
        s.auth_header()?;
        let hash_concurrency = match s.password_hash_concurrency {
            0 => self.hash_concurrency,
            n => n,
        };
        #[cfg(feature = "remote-jwks")]
        let tokens = match &self.remote {
            Some(r) => TokenService::with_remote_keys(
                &s,
                self.keys,
                self.clock,
                self.random.clone(),
                r.clone(),
            ),
            None => TokenService::new(&s, self.keys, self.clock, self.random.clone()),
        };
        #[cfg(not(feature = "remote-jwks"))]
        let tokens = TokenService::new(&s, self.keys, self.clock, self.random.clone());
        let hasher = PasswordHasher::new(&s, self.random);
        let mut hooks: Vec<Arc<dyn ClaimsHook<U>>> = Vec::new();
        if !s.user_claim_fields.is_empty() {
            hooks.push(Arc::new(FieldClaims(s.user_claim_fields.clone())));
        }
        hooks.extend(self.hooks);
        Ok(Tessera {
            inner: Arc::new(Inner {
                settings: s,
                tokens,
                users: self.users,
                ledger: self.ledger,
                throttle: self.throttle,
                login_reader: self.login_reader,
                store: self.store,
                app_user_cache: self.app_user_cache,
                hasher,
                hash_slots: Semaphore::new(hash_concurrency),
                hash_pool: HashPool::new(hash_concurrency),
                hooks,
                revocations: Revocations::default(),
                security_sink: self.security_sink,
                key_ring: self.key_ring,
                #[cfg(feature = "remote-jwks")]
                remote: self.remote,
            }),
        })
    }
}

/// What a login reads before the (slow) hash: the user with the login name, and the
/// throttling counters of `keys` still inside their window.
#[async_trait::async_trait]
pub(crate) trait LoginReader<U: AuthUser>: Send + Sync {
    async fn read(
        &self,
        username: &str,
        keys: &[String],
        now: i64,
        window: i64,
    ) -> tessera_store::Result<(Option<U>, Vec<(String, i64, i64)>)>;
}

/// Users and counters from separate stores: two reads, at once.
struct TwoReads<U: AuthUser> {
    users: Arc<dyn UserStore<User = U>>,
    throttle: Arc<dyn LoginThrottle>,
}

#[async_trait::async_trait]
impl<U: AuthUser> LoginReader<U> for TwoReads<U> {
    async fn read(
        &self,
        username: &str,
        keys: &[String],
        now: i64,
        window: i64,
    ) -> tessera_store::Result<(Option<U>, Vec<(String, i64, i64)>)> {
        let (user, failures) = tokio::join!(
            self.users.user_by_username(username),
            self.throttle.login_failures(keys, now, window)
        );
        Ok((user?, failures?))
    }
}

/// Users and counters in one of Tessera's databases: one statement.
struct OneStatement(Arc<dyn Store>);

#[async_trait::async_trait]
impl LoginReader<User> for OneStatement {
    async fn read(
        &self,
        username: &str,
        keys: &[String],
        now: i64,
        window: i64,
    ) -> tessera_store::Result<(Option<User>, Vec<(String, i64, i64)>)> {
        let found = self.0.login_state(username, keys, now, window).await?;
        Ok((found.user, found.failures))
    }
}
