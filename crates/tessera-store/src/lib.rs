//! # tessera-store
//!
//! Persistence for Tessera, as role traits: [`UserStore`] (the users the token flows
//! authenticate; Django's `auth_user` is one implementation, an application may bring its
//! own), [`TokenLedger`] (Simple JWT's `token_blacklist` tables plus token families) and
//! [`LoginThrottle`]. [`SqliteStore`] (the embedded default) and [`PgStore`] implement all
//! of them, together as [`Store`].
//!
//! The ledger is the source of truth for revocation: every method that blacklists or
//! rotates returns only after its transaction has committed, so a response built on its
//! result never claims more than the disk holds.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use tessera_store::{NewUser, OutstandingToken, RotateOutcome, RotationTimes, open};
//! use tessera_store::{Store as _, TokenLedger as _, UserDirectory as _};
//! let dir = tempfile::tempdir().unwrap();
//! let store = open(&format!("sqlite://{}/db.sqlite3", dir.path().display())).await.unwrap();
//! store.migrate().await.unwrap();
//! let alice = store.create_user(&NewUser::new("alice", "pbkdf2_sha256$1$s$aGFzaA==", 0)).await.unwrap();
//!
//! let old = OutstandingToken { jti: "a".repeat(32), user_id: alice.id.as_int(),
//!     user_key: Some(alice.id.to_string()),
//!     token: "…".into(), created_at: 0, expires_at: 86_400_000_000,
//!     family_id: Some("f".repeat(32)) };
//! store.outstand(&old).await.unwrap();
//! let new = OutstandingToken { jti: "b".repeat(32), ..old.clone() };
//! assert_eq!(store.rotate(&old, &new, RotationTimes::at(1)).await.unwrap(), RotateOutcome::Rotated);
//! // Presenting the rotated-away token again is a replay: the family is revoked.
//! let RotateOutcome::Reused(revoked) = store.rotate(&old, &new, RotationTimes::at(2)).await.unwrap() else {
//!     panic!("expected reuse detection")
//! };
//! assert_eq!(revoked[0].id, "f".repeat(32));
//! assert!(store.is_blacklisted(&new.jti).await.unwrap());
//! assert!(store.is_blacklisted(&old.jti).await.unwrap());
//! # });
//! ```
#![deny(missing_docs)]

use std::sync::Arc;

use tessera_core::{AuthUser, DjangoId, User};

pub mod admin;
pub mod cache;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod django_source;
pub mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod inspect;
pub mod keys;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod ledger;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod migrations;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_conns;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod user_sql;
pub mod user_table;

pub use admin::AdminStore;
/// Implementations of the role traits use this attribute (re-exported so an application
/// needs no dependency of its own for it).
pub use async_trait::async_trait;
pub use cache::UserCache;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use django_source::{DjangoSource, SourceToken};
pub use error::{Error, Result};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use inspect::{Inspection, inspect};
pub use keys::{KeyStore, StoredKey};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use migrations::PlannedPart;
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use user_table::UserTable;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Tables Django deletes a user's rows from (`on_delete=CASCADE`, done in Python, so
/// not by the database): `(table, user column)`.
pub(crate) const DJANGO_USER_CASCADES: [(&str, &str); 3] = [
    ("auth_user_groups", "user_id"),
    ("auth_user_user_permissions", "user_id"),
    ("django_admin_log", "user_id"),
];

/// What [`Store::login_state`] found.
#[derive(Debug, Clone, Default)]
pub struct LoginState {
    /// The user with exactly the username given, if any.
    pub user: Option<User>,
    /// `(key, failures, window end)` of each counter still inside its window.
    pub failures: Vec<(String, i64, i64)>,
}

/// [`Store::login_state`] as two reads, one after the other: the trait's default, and
/// what the stores fall back to for more keys than their one statement binds.
pub(crate) async fn login_state_stepwise<S: UserStore<User = User> + LoginThrottle + ?Sized>(
    store: &S,
    username: &str,
    keys: &[String],
    now: i64,
    window: i64,
) -> Result<LoginState> {
    Ok(LoginState {
        failures: store.login_failures(keys, now, window).await?,
        user: store.user_by_username(username).await?,
    })
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// The two throttling keys the stores' one-statement [`Store::login_state`] binds as
/// `key1`/`key2` (`None` binds NULL, which matches nothing); `None` for more than two.
pub(crate) fn login_key_slots(keys: &[String]) -> Option<[Option<&String>; 2]> {
    match keys {
        [] => Some([None, None]),
        [a] => Some([Some(a), None]),
        [a, b] => Some([Some(a), Some(b)]),
        _ => None,
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Reads back the one row of the stores' login statement: the user's columns (all NULL
/// when there is no such user, read by `user_from_row` otherwise) and each key's
/// `failuresN`/`startN`.
pub(crate) fn login_state_from_row<R>(
    row: &R,
    keys: [Option<&String>; 2],
    now: i64,
    window: i64,
    user_from_row: impl Fn(&R) -> Result<User>,
) -> Result<LoginState>
where
    R: sqlx::Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
{
    let mut failures = Vec::new();
    for (key, (f, s)) in keys
        .into_iter()
        .zip([("failures1", "start1"), ("failures2", "start2")])
    {
        let stored = match (
            row.try_get::<Option<i64>, _>(f)?,
            row.try_get::<Option<i64>, _>(s)?,
        ) {
            (Some(f), Some(s)) => Some((f, s)),
            _ => None,
        };
        if let Some(key) = key {
            failures.extend(live_counter(key, stored, now, window));
        }
    }
    let present = !sqlx::ValueRef::is_null(&row.try_get_raw("id")?);
    let user = if present {
        Some(user_from_row(row)?)
    } else {
        None
    };
    Ok(LoginState { user, failures })
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// `(key, failures, window end)` when a stored counter (`failures`, `window_start`) is
/// still inside its window at `now`; both stores read counters through this.
pub(crate) fn live_counter(
    key: &str,
    stored: Option<(i64, i64)>,
    now: i64,
    window: i64,
) -> Option<(String, i64, i64)> {
    let (failures, start) = stored?;
    let end = start.saturating_add(window);
    (now < end).then(|| (key.to_owned(), failures, end))
}

/// A user to create. Build with [`NewUser::new`] and set the flags you need.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Unique login name.
    pub username: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// An already hashed password (Django format), or `!` for "unusable".
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Can log in.
    pub is_active: bool,
    /// Can use the admin page.
    pub is_staff: bool,
    /// Has every permission.
    pub is_superuser: bool,
    /// Creation time, microseconds since the epoch.
    pub date_joined: i64,
}

impl From<&User> for NewUser {
    /// The user's fields (not its id or last login) as a user to create.
    fn from(u: &User) -> Self {
        NewUser {
            username: u.username.clone(),
            email: u.email.clone(),
            password_hash: u.password.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            is_active: u.is_active,
            is_staff: u.is_staff,
            is_superuser: u.is_superuser,
            date_joined: u.date_joined,
        }
    }
}

impl NewUser {
    /// An active, unprivileged user with no e-mail or names.
    pub fn new(username: &str, password_hash: &str, now_micros: i64) -> Self {
        NewUser {
            username: username.to_owned(),
            email: String::new(),
            password_hash: password_hash.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: now_micros,
        }
    }
}

/// A row of the outstanding-token ledger (every refresh and sliding token issued).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutstandingToken {
    /// The token's unique id (`jti`).
    pub jti: String,
    /// The user it was issued to, when users are Django's `auth_user` in this database
    /// (the `user_id` column Django reads); `None` for other users and once that user is
    /// deleted.
    pub user_id: Option<i64>,
    /// The user it was issued to as tokens name them (the user id claim's text), for
    /// every kind of user store: what [`TokenLedger::revoke_user`] finds sessions by.
    pub user_key: Option<String>,
    /// The token as the ledger keeps it at rest: header and claims without the signature
    /// ([`token_at_rest`]), so that a copy of the database holds no working token. The
    /// stores apply [`token_at_rest`] themselves, whatever is put here.
    pub token: String,
    /// Issue time, microseconds since the epoch.
    pub created_at: i64,
    /// Expiry (`exp`), microseconds since the epoch.
    pub expires_at: i64,
    /// The token family (the login it descends from); `None` for tokens minted elsewhere.
    pub family_id: Option<String>,
}

/// How a token is kept in the ledger's `token` column: its header and claims
/// (`header.payload`), without the signature. Simple JWT stores the whole token, which
/// makes every live row a credential for whoever copies the database; nothing Tessera
/// decides reads this column (the `jti` and the ledger rows decide), and what remains is
/// still readable in an admin page. Text that is no compact JWS is kept as it is.
///
/// ```
/// assert_eq!(tessera_store::token_at_rest("aGVhZGVy.Y2xhaW1z.c2ln"), "aGVhZGVy.Y2xhaW1z");
/// assert_eq!(tessera_store::token_at_rest("aGVhZGVy.Y2xhaW1z"), "aGVhZGVy.Y2xhaW1z");
/// ```
pub fn token_at_rest(token: &str) -> &str {
    let mut dots = token.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => &token[..second],
        _ => token,
    }
}

/// A token family: all refresh tokens that descend from one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// 32 hex characters.
    pub id: String,
    /// The user who logged in, when users are Django's `auth_user`.
    pub user_id: Option<i64>,
    /// The user who logged in, as tokens name them.
    pub user_key: Option<String>,
    /// The login time, microseconds since the epoch (for `REFRESH_TOKEN_ABSOLUTE_LIFETIME`).
    pub created_at: i64,
    /// When the family was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A family that was just revoked: every instance must stop its access tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedFamily {
    /// The family id.
    pub id: String,
    /// Revocation time, microseconds since the epoch.
    pub revoked_at: i64,
}

/// What other instances tell this one through the revocation channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationEvent {
    /// A family was revoked.
    Revoked(RevokedFamily),
    /// A user row changed on another instance (password, active flag, deletion):
    /// cached copies must go.
    UserChanged(DjangoId),
    /// The channel dropped: until [`RevocationEvent::Resync`], other instances'
    /// revocations and user changes may be missed, so memory must not be trusted alone.
    Interrupted,
    /// The channel listens again after an interruption: events may have been missed,
    /// reload from the ledger (anything later arrives on the channel).
    Resync,
    /// The key set in the database ([`KeyStore`]) changed.
    KeysChanged,
}

/// The times a rotation is judged by, in microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationTimes {
    /// When the request presenting the old token arrived.
    pub presented: i64,
    /// Now: the time written as the old token's `blacklisted_at`.
    pub now: i64,
    /// `REFRESH_REUSE_GRACE`: how long after a rotation a repeat is only refused.
    pub grace: i64,
}

impl RotationTimes {
    /// Presented now, no grace.
    pub fn at(now: i64) -> Self {
        RotationTimes {
            presented: now,
            now,
            grace: 0,
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// How a store must treat a rotation whose old token turned out to be blacklisted
/// already, given why and when it was (the same rule for every database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Logged out or revoked: refuse, write nothing.
    Refuse(RotateOutcome),
    /// Rotated away before the token was presented: a replay, revoke the family.
    RevokeFamily,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// The rule behind [`RotateOutcome`] for a token already blacklisted with `reason` at
/// `blacklisted_at`.
pub(crate) fn judge_repeat(
    reason: Option<&str>,
    blacklisted_at: Option<i64>,
    times: RotationTimes,
) -> Repeat {
    if reason != Some("rotated") {
        return Repeat::Refuse(RotateOutcome::AlreadyBlacklisted);
    }
    // Presented before the rotation was written (a race), or within the grace.
    if blacklisted_at.is_none_or(|w| times.presented <= w.saturating_add(times.grace)) {
        return Repeat::Refuse(RotateOutcome::ReusedWithinGrace);
    }
    Repeat::RevokeFamily
}

/// What [`Store::rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The old token is now blacklisted and the new one recorded, in one commit.
    Rotated,
    /// The old token was already blacklisted (logged out, or its family revoked);
    /// nothing was written.
    AlreadyBlacklisted,
    /// The old token was rotated away less than the reuse grace ago (a client retrying,
    /// several tabs): refused, nothing revoked.
    ReusedWithinGrace,
    /// The old token was rotated away before: a replay. Its whole family is now revoked
    /// (committed); these are the families revoked.
    Reused(Vec<RevokedFamily>),
}

/// Row counts of the ledger, for the CLI and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LedgerCounts {
    /// Rows in the outstanding-token table.
    pub outstanding: i64,
    /// Rows in the blacklisted-token table.
    pub blacklisted: i64,
}

/// The application's users, as the token flows need them: find a user to log in or to
/// authenticate a token, and write back what a login changes (an upgraded password hash,
/// the last login time). Django's `auth_user` ([`SqliteStore`], [`PgStore`]) is one
/// implementation; an application with its own users table (its columns, its id type)
/// implements this trait for its own [`AuthUser`] type.
#[async_trait]
pub trait UserStore: Send + Sync + std::fmt::Debug {
    /// The user type this store hands out.
    type User: AuthUser;
    /// The user with primary key `id`.
    async fn user_by_id(&self, id: IdOf<Self::User>) -> Result<Option<Self::User>>;
    /// [`UserStore::user_by_id`], shared rather than copied: a caching store hands out
    /// the row it holds.
    async fn shared_user_by_id(&self, id: IdOf<Self::User>) -> Result<Option<Arc<Self::User>>> {
        Ok(self.user_by_id(id).await?.map(Arc::new))
    }
    /// The user with primary key `id` if this store holds it in memory and it is fresh
    /// (`Some(None)`: known not to exist); `None` when only the database can tell. Lets
    /// the authentication hot path skip an `await` (and its boxed future) on a hit.
    fn cached_user(&self, _id: &IdOf<Self::User>) -> Option<Option<Arc<Self::User>>> {
        None
    }
    /// The user with exactly this login name (case-sensitive, as Django's `ModelBackend`).
    async fn user_by_username(&self, username: &str) -> Result<Option<Self::User>>;
    /// Replaces a user's password hash (a login rehashing an outdated one, a password
    /// change); false when there is no such user.
    async fn set_password(&self, id: IdOf<Self::User>, hash: &str) -> Result<bool>;
    /// Records a successful login time (`UPDATE_LAST_LOGIN`). Stores without such a
    /// column keep the default, which does nothing.
    async fn set_last_login(&self, _id: IdOf<Self::User>, _at_micros: i64) -> Result<()> {
        Ok(())
    }
    /// The id to write into the `user_id` columns of Django's ledger tables, which refer
    /// to `auth_user`: `Some` only for a store of Django's users in the ledger's database.
    fn ledger_user_id(&self, _id: &IdOf<Self::User>) -> Option<i64> {
        None
    }
}

/// The id type of a user type.
pub type IdOf<U> = <U as AuthUser>::Id;

/// Managing users (the CLI, the admin page): list, create, activate, delete. Not needed
/// by the token flows, so an application's [`UserStore`] need not implement it.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// All users, ordered by id.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Creates a user; [`Error::UsernameTaken`] if the name exists.
    async fn create_user(&self, user: &NewUser) -> Result<User>;
    /// Activates or deactivates a user; false when there is no such user.
    async fn set_active(&self, id: DjangoId, active: bool) -> Result<bool>;
    /// Deletes a user; their ledger rows stay (user set to NULL), blacklisting included.
    async fn delete_user(&self, id: DjangoId) -> Result<bool>;
}

/// The token ledger: every refresh and sliding token issued (outstanding), the
/// blacklist, and token families (one per login). The source of truth for revocation:
/// every method that blacklists or rotates returns only after its commit.
#[async_trait]
pub trait TokenLedger: Send + Sync + std::fmt::Debug {
    /// Records an issued refresh or sliding token (idempotent by `jti`), creating its
    /// family when the token starts one.
    async fn outstand(&self, token: &OutstandingToken) -> Result<()>;
    /// True when the token with this `jti` is blacklisted.
    async fn is_blacklisted(&self, jti: &str) -> Result<bool>;
    /// The family of the token with this `jti`, if the ledger knows it.
    async fn family_of(&self, jti: &str) -> Result<Option<Family>>;
    /// Logout: blacklists `token` (recording it as outstanding first if it was not) and
    /// revokes its family. Idempotent. Committed before returning; returns the families
    /// revoked now.
    async fn blacklist(
        &self,
        token: &OutstandingToken,
        at_micros: i64,
    ) -> Result<Vec<RevokedFamily>>;
    /// Refresh-token rotation in one transaction: blacklist `old` (at `at.now`) and record
    /// `new` (in `old`'s family). Of any number of concurrent calls with the same `old`,
    /// exactly one gets [`RotateOutcome::Rotated`].
    ///
    /// A loser whose request was presented (`at.presented`) before the winner's rotation
    /// was written lost a race, not a replay: [`RotateOutcome::ReusedWithinGrace`], as is
    /// a repeat within `at.grace`. A token presented later than that, after it was
    /// rotated away, is a replay: its family is revoked ([`RotateOutcome::Reused`]).
    async fn rotate(
        &self,
        old: &OutstandingToken,
        new: &OutstandingToken,
        at: RotationTimes,
    ) -> Result<RotateOutcome>;
    /// Logout everywhere: revokes every family of the user named `user_key` (as tokens
    /// name them) and blacklists all their outstanding tokens; with `user_id` (Django's
    /// `auth_user` id), also the tokens Django recorded for that user outside any family.
    /// Returns the families revoked now.
    async fn revoke_user(
        &self,
        user_key: &str,
        user_id: Option<i64>,
        at_micros: i64,
    ) -> Result<Vec<RevokedFamily>>;
    /// Whether the family `id` has been revoked, read from the ledger (what an instance
    /// asks while its revocation channel is interrupted).
    async fn family_revoked(&self, id: &str) -> Result<bool>;
    /// Records where the session `family` was started from (the login's client address
    /// and `User-Agent`), for the admin page. Ledgers that keep no such thing ignore it.
    async fn record_login_client(
        &self,
        _family: &str,
        _ip: Option<&str>,
        _user_agent: Option<&str>,
    ) -> Result<()> {
        Ok(())
    }
    /// Families revoked at or after `since` (to rebuild an in-memory revocation set).
    async fn revoked_families_since(&self, since_micros: i64) -> Result<Vec<RevokedFamily>>;
    /// Forwards revocations and user changes made by other instances or processes to
    /// `tx` until `tx` closes (PostgreSQL: NOTIFY; SQLite: a [`RevocationEvent::Resync`]
    /// whenever another connection committed, read twice a second). This default, for
    /// stores with no way to tell, returns at once: the instance that revokes applies
    /// its own revocations directly.
    async fn listen_revocations(
        &self,
        tx: tokio::sync::mpsc::UnboundedSender<RevocationEvent>,
    ) -> Result<()> {
        drop(tx);
        Ok(())
    }
    /// Deletes outstanding tokens that expired at or before `now` (and, by cascade,
    /// their blacklist rows). Returns how many outstanding rows went.
    async fn flush_expired(&self, now_micros: i64) -> Result<u64>;
    /// How many outstanding tokens expired at or before `now` (for progress reports).
    async fn count_expired(&self, now_micros: i64) -> Result<u64>;
    /// Deletes at most `limit` expired outstanding tokens (and their blacklist rows) in
    /// one short transaction; returns how many. Loop until 0 to flush a large ledger
    /// without holding the write lock for long.
    async fn flush_expired_batch(&self, now_micros: i64, limit: u64) -> Result<u64>;
    /// Row counts of the ledger.
    async fn ledger_counts(&self) -> Result<LedgerCounts>;
    /// How many ledger rows still hold a whole token (signature included): rows written
    /// before Tessera kept tokens at rest without their signature, or by Django since.
    async fn count_unscrubbed(&self) -> Result<u64>;
    /// Rewrites at most `limit` such rows to [`token_at_rest`] in one short transaction;
    /// returns how many. Idempotent: loop until 0.
    async fn scrub_tokens_batch(&self, limit: u64) -> Result<u64>;
}

/// Failed-login counters for throttling, shared by every instance (so they live in the
/// database, not in memory).
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Failed-login counters of `keys` in their current window: `(key, failures,
    /// window end)`. Keys without failures in a live window are left out.
    async fn login_failures(
        &self,
        keys: &[String],
        now_micros: i64,
        window_micros: i64,
    ) -> Result<Vec<(String, i64, i64)>>;
    /// Counts one failed login against each of `keys` (a new window starts when the
    /// previous one has passed). Atomic per key, across instances.
    async fn record_login_failure(
        &self,
        keys: &[String],
        now_micros: i64,
        window_micros: i64,
    ) -> Result<()>;
    /// Forgets the failures of `key` (after a successful login).
    async fn clear_login_failures(&self, key: &str) -> Result<()>;
}

/// Everything Tessera's own databases hold, in one object: Django's users
/// ([`UserStore`], [`UserDirectory`]), the [`TokenLedger`] and the [`LoginThrottle`]
/// counters, plus the schema. [`SqliteStore`] and [`PgStore`] implement it; the engine
/// takes the role traits separately, so an application may bring its own users.
#[async_trait]
pub trait Store:
    UserStore<User = User> + UserDirectory + TokenLedger + LoginThrottle + AdminStore + KeyStore
{
    /// Applies pending migrations; returns the names of those applied now. Tables a
    /// Django project made are used as they are: never altered, rebuilt or dropped.
    async fn migrate(&self) -> Result<Vec<String>>;
    /// The names of the migrations this build has that the database has not applied
    /// (empty when the schema is current). Fails when the database cannot be reached:
    /// what a readiness probe asks.
    async fn pending_migrations(&self) -> Result<Vec<&'static str>>;
    /// The user table this store reads.
    fn user_table(&self) -> &UserTable;
    /// Copies a user from another database whole (`import-django`): its id, hash and
    /// every field, untouched. False when its id or login is taken (already copied, or
    /// another user).
    async fn copy_user(&self, user: &User) -> Result<bool>;
    /// Of these jtis, how many are recorded as outstanding, and how many of those are
    /// blacklisted.
    async fn known_tokens(&self, jtis: &[String]) -> Result<(u64, u64)>;
    /// Records tokens copied from another database, each blacklisted at the given time
    /// when it was there, in one transaction. Idempotent by jti.
    async fn copy_tokens(&self, tokens: &[(OutstandingToken, Option<i64>)]) -> Result<()>;
    /// Everything a login reads before hashing: the user named exactly `username` and,
    /// as [`LoginThrottle::login_failures`] reports them, the counters of `keys`. The
    /// stores answer both in one statement (one round trip instead of two); this default
    /// asks one after the other.
    async fn login_state(
        &self,
        username: &str,
        keys: &[String],
        now_micros: i64,
        window_micros: i64,
    ) -> Result<LoginState> {
        login_state_stepwise(self, username, keys, now_micros, window_micros).await
    }
}

/// Connection pool limits for [`open_with`].
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections held open.
    pub max_connections: u32,
    /// How long a request waits for a connection before the store reports itself
    /// unavailable (answered 503).
    pub acquire_timeout: std::time::Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 10,
            acquire_timeout: std::time::Duration::from_secs(5),
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A database opened by [`open_database`]: the concrete store, for code that needs more
/// than the role traits (the server's demo tables run their own SQL on its pool).
#[derive(Debug, Clone)]
pub enum Database {
    /// An embedded SQLite file.
    #[cfg(feature = "sqlite")]
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgres(Arc<PgStore>),
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Database {
    /// The store behind every role trait.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(s) => s.clone(),
            #[cfg(feature = "postgres")]
            Database::Postgres(s) => s.clone(),
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Opens the store a `DATABASE_URL` names (`sqlite://PATH`, or a bare path), creating
/// the SQLite file if needed. Does not migrate.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with(url, PoolOptions::default()).await
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// [`open`] with explicit pool limits. `postgres://…` / `postgresql://…` open PostgreSQL.
pub async fn open_with(url: &str, pool: PoolOptions) -> Result<Arc<dyn Store>> {
    Ok(open_database(url, pool).await?.store())
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// [`open_with`], keeping the concrete store.
pub async fn open_database(url: &str, pool: PoolOptions) -> Result<Database> {
    open_database_with_users(url, pool, UserTable::default()).await
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// [`open_database`] with the users in `users` (a Django project's custom user table).
pub async fn open_database_with_users(
    url: &str,
    pool: PoolOptions,
    users: UserTable,
) -> Result<Database> {
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Database::Postgres(Arc::new(
            PgStore::open_with_users(url, pool, users).await?,
        )));
    }
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") || !url.contains("://") {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        return Ok(Database::Sqlite(Arc::new(
            SqliteStore::open_with_users(path, pool, users).await?,
        )));
    }
    let _ = (pool, users);
    Err(Error::UnsupportedUrl(url.to_owned()))
}
