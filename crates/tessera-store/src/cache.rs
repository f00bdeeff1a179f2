//! [`UserCache`]: a store wrapper that keeps user rows in memory, so that the user check
//! on a protected route costs no database round trip.
//!
//! Correctness comes first: every change made through this store (password, active
//! flag, deletion, revocation) drops the cached row at once; changes made by other
//! instances arrive as [`RevocationEvent::UserChanged`] over the store's revocation
//! channel (PostgreSQL NOTIFY) and drop it there; and every entry expires after a short
//! TTL, which bounds staleness for changes made behind Tessera's back (SQL by hand, a
//! Django admin on the same tables).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tessera_core::{DjangoId, User};
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    Family, LedgerCounts, LoginState, LoginThrottle, NewUser, OutstandingToken, Result,
    RevocationEvent, RevokedFamily, RotateOutcome, RotationTimes, Store, TokenLedger,
    UserDirectory, UserStore,
};

/// Most users held; beyond it the cache is cleared (simple, and a full cache means a
/// huge active user base where a miss costs one indexed read).
const MAX_ENTRIES: usize = 100_000;

/// The cached rows (`None`: no such user), and a counter bumped by every invalidation so
/// that a read racing a change cannot put the row it read before the change back.
#[derive(Debug, Default)]
struct Entries {
    rows: HashMap<DjangoId, (Option<Arc<User>>, Instant)>,
    epoch: u64,
}

impl Entries {
    fn forget(&mut self, id: Option<DjangoId>) {
        match id {
            Some(id) => {
                self.rows.remove(&id);
            }
            None => self.rows.clear(),
        }
        self.epoch = self.epoch.wrapping_add(1);
    }
}

/// A [`Store`] that caches `user_by_id`.
#[derive(Debug)]
pub struct UserCache {
    inner: Arc<dyn Store>,
    ttl: Duration,
    users: Arc<RwLock<Entries>>,
}

impl UserCache {
    /// Wraps `inner`; entries live at most `ttl`.
    pub fn new(inner: Arc<dyn Store>, ttl: Duration) -> Self {
        UserCache {
            inner,
            ttl,
            users: Arc::default(),
        }
    }

    fn forget(&self, id: DjangoId) {
        if let Ok(mut m) = self.users.write() {
            m.forget(Some(id));
        }
    }

    /// The row from the database, cached unless an invalidation happened meanwhile.
    async fn load(&self, id: DjangoId) -> Result<Option<Arc<User>>> {
        let epoch = self.users.read().map(|m| m.epoch).ok();
        let user = self.inner.user_by_id(id).await?.map(Arc::new);
        if let Ok(mut m) = self.users.write()
            && Some(m.epoch) == epoch
        {
            if m.rows.len() >= MAX_ENTRIES {
                m.rows.clear();
            }
            m.rows.insert(id, (user.clone(), Instant::now()));
        }
        Ok(user)
    }
}

#[async_trait]
impl UserStore for UserCache {
    type User = User;

    fn ledger_user_id(&self, id: &DjangoId) -> Option<i64> {
        self.inner.ledger_user_id(id)
    }

    async fn user_by_id(&self, id: DjangoId) -> Result<Option<User>> {
        let shared = match self.cached_user(&id) {
            Some(hit) => hit,
            None => self.load(id).await?,
        };
        Ok(shared.map(|u| (*u).clone()))
    }

    fn cached_user(&self, id: &DjangoId) -> Option<Option<Arc<User>>> {
        let m = self.users.read().ok()?;
        let (user, at) = m.rows.get(id)?;
        (at.elapsed() < self.ttl).then(|| user.clone())
    }

    async fn shared_user_by_id(&self, id: DjangoId) -> Result<Option<Arc<User>>> {
        match self.cached_user(&id) {
            Some(hit) => Ok(hit),
            None => self.load(id).await,
        }
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        // Logins read the password hash, which must be current: never cached.
        self.inner.user_by_username(username).await
    }

    async fn set_password(&self, id: DjangoId, hash: &str) -> Result<bool> {
        let r = self.inner.set_password(id, hash).await;
        self.forget(id);
        r
    }

    async fn set_last_login(&self, id: DjangoId, at_micros: i64) -> Result<()> {
        let r = self.inner.set_last_login(id, at_micros).await;
        self.forget(id);
        r
    }
}

#[async_trait]
impl UserDirectory for UserCache {
    async fn list_users(&self) -> Result<Vec<User>> {
        self.inner.list_users().await
    }

    async fn create_user(&self, user: &NewUser) -> Result<User> {
        let u = self.inner.create_user(user).await?;
        // A cached "no such user" for a reused id must not outlive the creation.
        self.forget(u.id);
        Ok(u)
    }

    async fn set_active(&self, id: DjangoId, active: bool) -> Result<bool> {
        let r = self.inner.set_active(id, active).await;
        self.forget(id);
        r
    }

    async fn delete_user(&self, id: DjangoId) -> Result<bool> {
        let r = self.inner.delete_user(id).await;
        self.forget(id);
        r
    }
}

#[async_trait]
impl TokenLedger for UserCache {
    async fn outstand(&self, token: &OutstandingToken) -> Result<()> {
        self.inner.outstand(token).await
    }

    async fn is_blacklisted(&self, jti: &str) -> Result<bool> {
        self.inner.is_blacklisted(jti).await
    }

    async fn record_login_client(
        &self,
        family: &str,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<()> {
        self.inner.record_login_client(family, ip, user_agent).await
    }

    async fn family_of(&self, jti: &str) -> Result<Option<Family>> {
        self.inner.family_of(jti).await
    }

    async fn blacklist(
        &self,
        token: &OutstandingToken,
        at_micros: i64,
    ) -> Result<Vec<RevokedFamily>> {
        self.inner.blacklist(token, at_micros).await
    }

    async fn rotate(
        &self,
        old: &OutstandingToken,
        new: &OutstandingToken,
        at: RotationTimes,
    ) -> Result<RotateOutcome> {
        self.inner.rotate(old, new, at).await
    }

    async fn revoke_user(
        &self,
        user_key: &str,
        user_id: Option<i64>,
        at_micros: i64,
    ) -> Result<Vec<RevokedFamily>> {
        self.inner.revoke_user(user_key, user_id, at_micros).await
    }

    async fn family_revoked(&self, id: &str) -> Result<bool> {
        self.inner.family_revoked(id).await
    }

    async fn revoked_families_since(&self, since_micros: i64) -> Result<Vec<RevokedFamily>> {
        self.inner.revoked_families_since(since_micros).await
    }

    async fn listen_revocations(&self, tx: UnboundedSender<RevocationEvent>) -> Result<()> {
        let (inner_tx, mut inner_rx) = tokio::sync::mpsc::unbounded_channel();
        self.inner.listen_revocations(inner_tx).await?;
        let users = self.users.clone();
        tokio::spawn(async move {
            while let Some(ev) = inner_rx.recv().await {
                match &ev {
                    RevocationEvent::UserChanged(id) => {
                        if let Ok(mut m) = users.write() {
                            m.forget(Some(*id));
                        }
                    }
                    // Missed notifications may have been user changes: start over.
                    RevocationEvent::Resync => {
                        if let Ok(mut m) = users.write() {
                            m.forget(None);
                        }
                    }
                    // During the interruption the cache keeps serving (the TTL bounds
                    // what it may miss); it starts over once the channel is back.
                    RevocationEvent::Revoked(_)
                    | RevocationEvent::Interrupted
                    | RevocationEvent::KeysChanged => {}
                }
                if tx.send(ev).is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    async fn flush_expired(&self, now_micros: i64) -> Result<u64> {
        self.inner.flush_expired(now_micros).await
    }

    async fn count_expired(&self, now_micros: i64) -> Result<u64> {
        self.inner.count_expired(now_micros).await
    }

    async fn flush_expired_batch(&self, now_micros: i64, limit: u64) -> Result<u64> {
        self.inner.flush_expired_batch(now_micros, limit).await
    }

    async fn count_unscrubbed(&self) -> Result<u64> {
        self.inner.count_unscrubbed().await
    }

    async fn scrub_tokens_batch(&self, limit: u64) -> Result<u64> {
        self.inner.scrub_tokens_batch(limit).await
    }

    async fn ledger_counts(&self) -> Result<LedgerCounts> {
        self.inner.ledger_counts().await
    }
}

#[async_trait]
impl LoginThrottle for UserCache {
    async fn login_failures(
        &self,
        keys: &[String],
        now_micros: i64,
        window_micros: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        self.inner
            .login_failures(keys, now_micros, window_micros)
            .await
    }

    async fn record_login_failure(
        &self,
        keys: &[String],
        now_micros: i64,
        window_micros: i64,
    ) -> Result<()> {
        self.inner
            .record_login_failure(keys, now_micros, window_micros)
            .await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        self.inner.clear_login_failures(key).await
    }
}

#[async_trait]
impl Store for UserCache {
    async fn migrate(&self) -> Result<Vec<String>> {
        self.inner.migrate().await
    }

    async fn pending_migrations(&self) -> Result<Vec<&'static str>> {
        self.inner.pending_migrations().await
    }

    fn user_table(&self) -> &crate::UserTable {
        self.inner.user_table()
    }

    async fn copy_user(&self, user: &User) -> Result<bool> {
        let copied = self.inner.copy_user(user).await;
        self.forget(user.id);
        copied
    }

    async fn known_tokens(&self, jtis: &[String]) -> Result<(u64, u64)> {
        self.inner.known_tokens(jtis).await
    }

    async fn copy_tokens(&self, tokens: &[(OutstandingToken, Option<i64>)]) -> Result<()> {
        self.inner.copy_tokens(tokens).await
    }

    async fn login_state(
        &self,
        username: &str,
        keys: &[String],
        now_micros: i64,
        window_micros: i64,
    ) -> Result<LoginState> {
        // Never from the cache: a login must see the password hash as stored now.
        self.inner
            .login_state(username, keys, now_micros, window_micros)
            .await
    }
}

/// The admin page's storage, passed through; a profile edit forgets the cached user.
#[async_trait]
impl crate::admin::AdminStore for UserCache {
    async fn users_page(&self, q: &crate::admin::UserQuery) -> Result<Vec<User>> {
        self.inner.users_page(q).await
    }

    async fn update_profile(&self, id: DjangoId, p: &crate::admin::UserProfile) -> Result<bool> {
        let r = self.inner.update_profile(id, p).await;
        self.forget(id);
        r
    }

    async fn sessions_of(
        &self,
        user_key: &str,
        user_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::admin::SessionRow>> {
        self.inner.sessions_of(user_key, user_id, limit).await
    }

    async fn session_belongs_to(
        &self,
        family: &str,
        user_key: &str,
        user_id: Option<i64>,
    ) -> Result<bool> {
        self.inner
            .session_belongs_to(family, user_key, user_id)
            .await
    }

    async fn end_session(&self, family: &str, at: i64) -> Result<Option<RevokedFamily>> {
        self.inner.end_session(family, at).await
    }

    async fn tokens_page(
        &self,
        q: &crate::admin::TokenQuery,
    ) -> Result<Vec<crate::admin::TokenRow>> {
        self.inner.tokens_page(q).await
    }

    async fn blacklist_rows(&self, ids: &[i64], at: i64) -> Result<u64> {
        self.inner.blacklist_rows(ids, at).await
    }

    async fn unblacklist_row(&self, id: i64) -> Result<crate::admin::Unblacklisted> {
        self.inner.unblacklist_row(id).await
    }

    async fn create_admin_session(&self, s: &crate::admin::AdminSession) -> Result<()> {
        self.inner.create_admin_session(s).await
    }

    async fn admin_session(&self, id: &str) -> Result<Option<crate::admin::AdminSession>> {
        self.inner.admin_session(id).await
    }

    async fn touch_admin_session(&self, id: &str, at: i64) -> Result<()> {
        self.inner.touch_admin_session(id, at).await
    }

    async fn delete_admin_session(&self, id: &str) -> Result<()> {
        self.inner.delete_admin_session(id).await
    }

    async fn expire_admin_sessions(&self, idle_before: i64, started_before: i64) -> Result<u64> {
        self.inner
            .expire_admin_sessions(idle_before, started_before)
            .await
    }

    async fn prune_audit_batch(&self, before: i64, limit: u32) -> Result<u64> {
        self.inner.prune_audit_batch(before, limit).await
    }

    async fn audit(&self, events: &[crate::admin::AuditEvent]) -> Result<()> {
        self.inner.audit(events).await
    }

    async fn audit_page(
        &self,
        search: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::admin::AuditEntry>> {
        self.inner.audit_page(search, before, limit).await
    }
}

#[async_trait]
impl crate::keys::KeyStore for UserCache {
    async fn signing_keys(&self, now: i64) -> Result<Vec<crate::StoredKey>> {
        self.inner.signing_keys(now).await
    }

    async fn add_signing_key(
        &self,
        key: &crate::StoredKey,
        unless_waiting_at: Option<i64>,
    ) -> Result<bool> {
        self.inner.add_signing_key(key, unless_waiting_at).await
    }

    async fn schedule_signing_key(
        &self,
        kid: &str,
        activates_at: Option<i64>,
        retires_at: Option<i64>,
    ) -> Result<bool> {
        self.inner
            .schedule_signing_key(kid, activates_at, retires_at)
            .await
    }

    async fn remove_signing_key(&self, kid: &str) -> Result<bool> {
        self.inner.remove_signing_key(kid).await
    }

    async fn prune_signing_keys(&self, now: i64) -> Result<u64> {
        self.inner.prune_signing_keys(now).await
    }
}
