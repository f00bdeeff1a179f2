//! Keeping an application's user rows in memory ([`crate::TesseraBuilder::cache_app_users`]),
//! so the user check of a protected route costs no round trip to the app's database.
//!
//! Correctness first: a change Tessera makes (a password) drops the row at once; the app
//! drops a row it changed itself with [`crate::Tessera::forget_user`]; every entry expires
//! after the TTL, which bounds staleness for changes made elsewhere. A read racing a
//! change cannot put back the row it read before the change (an epoch counter).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tessera_core::AuthUser;
use tessera_store::{IdOf, Result, UserStore, async_trait};

/// Most rows held; beyond it the cache starts over (a miss costs one indexed read).
const MAX_ENTRIES: usize = 100_000;

type Rows<U> = HashMap<IdOf<U>, (Option<Arc<U>>, Instant)>;

/// A [`UserStore`] in front of another, caching the user check's lookups by id.
pub(crate) struct CachedUsers<U: AuthUser> {
    inner: Arc<dyn UserStore<User = U>>,
    ttl: Duration,
    rows: RwLock<(Rows<U>, u64)>,
}

impl<U: AuthUser> std::fmt::Debug for CachedUsers<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedUsers")
            .field("inner", &self.inner)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser> CachedUsers<U> {
    pub(crate) fn new(inner: Arc<dyn UserStore<User = U>>, ttl: Duration) -> Self {
        CachedUsers {
            inner,
            ttl,
            rows: RwLock::new((HashMap::new(), 0)),
        }
    }

    /// Drops the row of `id` (all rows with `None`).
    pub(crate) fn forget(&self, id: Option<&IdOf<U>>) {
        if let Ok(mut guard) = self.rows.write() {
            let (rows, epoch) = &mut *guard;
            match id {
                Some(id) => {
                    rows.remove(id);
                }
                None => rows.clear(),
            }
            *epoch = epoch.wrapping_add(1);
        }
    }

    fn epoch(&self) -> u64 {
        self.rows.read().map(|g| g.1).unwrap_or(0)
    }
}

#[async_trait]
impl<U: AuthUser> UserStore for CachedUsers<U> {
    type User = U;

    async fn user_by_id(&self, id: IdOf<U>) -> Result<Option<U>> {
        self.inner.user_by_id(id).await
    }

    async fn shared_user_by_id(&self, id: IdOf<U>) -> Result<Option<Arc<U>>> {
        if let Some(hit) = self.cached_user(&id) {
            return Ok(hit);
        }
        let before = self.epoch();
        let row = self.inner.shared_user_by_id(id.clone()).await?;
        if let Ok(mut guard) = self.rows.write() {
            let (rows, epoch) = &mut *guard;
            // A change while this read was on its way: what it read may be stale.
            if *epoch == before {
                if rows.len() >= MAX_ENTRIES {
                    rows.clear();
                }
                rows.insert(id, (row.clone(), Instant::now()));
            }
        }
        Ok(row)
    }

    fn cached_user(&self, id: &IdOf<U>) -> Option<Option<Arc<U>>> {
        let guard = self.rows.read().ok()?;
        let (row, at) = guard.0.get(id)?;
        (at.elapsed() < self.ttl).then(|| row.clone())
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<U>> {
        self.inner.user_by_username(username).await
    }

    async fn set_password(&self, id: IdOf<U>, hash: &str) -> Result<bool> {
        let done = self.inner.set_password(id.clone(), hash).await;
        self.forget(Some(&id));
        done
    }

    async fn set_last_login(&self, id: IdOf<U>, at_micros: i64) -> Result<()> {
        self.inner.set_last_login(id, at_micros).await
    }

    fn ledger_user_id(&self, id: &IdOf<U>) -> Option<i64> {
        self.inner.ledger_user_id(id)
    }
}
