//! What the admin page reads and writes beyond the token flows: pages of users and
//! tokens (keyset paging: a page costs the same on the millionth row as on the first,
//! and no page counts a whole table), a user's sessions, staff edits, the admin's own
//! server-side sessions, and the audit log.
//!
//! Times are microseconds since the epoch, as everywhere in the store's API.

use async_trait::async_trait;
use tessera_core::DjangoId;

use crate::{Result, RevokedFamily, User};

/// A page of users: those matching `search` (a prefix of the username or the email,
/// any case) and the filters, after `after` in id order.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// A prefix of the username or the email; empty for everyone.
    pub search: String,
    /// Only active (`Some(true)`) or inactive users.
    pub active: Option<bool>,
    /// Only staff (`Some(true)`) or non-staff users.
    pub staff: Option<bool>,
    /// The last id of the previous page.
    pub after: Option<DjangoId>,
    /// At most this many (the caller asks one more to know whether a next page exists).
    pub limit: u32,
}

/// What staff may edit of a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserProfile {
    /// The email address.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// May log in.
    pub is_active: bool,
    /// May use the admin page.
    pub is_staff: bool,
}

/// One session (token family, one per login) as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The family id.
    pub id: String,
    /// The login.
    pub started: i64,
    /// The newest token of the session (the last rotation), when any is recorded.
    pub last_refreshed: Option<i64>,
    /// When the newest token expires.
    pub expires: Option<i64>,
    /// When the session was ended (logout, logout everywhere, reuse, staff), if it was.
    pub ended: Option<i64>,
    /// The client address of the login, when recorded.
    pub client_ip: Option<String>,
    /// The `User-Agent` of the login, when recorded.
    pub user_agent: Option<String>,
}

/// A token's state on the admin page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// Neither expired nor blacklisted.
    Live,
    /// Past its expiry, not blacklisted.
    Expired,
    /// Blacklisted (whatever its expiry).
    Blacklisted,
}

/// The order of a token page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenOrder {
    /// Newest first (by id, which follows creation).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Latest expiry first.
    ExpiresLast,
    /// Soonest expiry first.
    ExpiresFirst,
}

/// A page of outstanding tokens.
#[derive(Debug, Clone, Default)]
pub struct TokenQuery {
    /// Only the tokens of this `auth_user` id.
    pub user_id: Option<i64>,
    /// Only tokens whose jti starts with this (empty: any).
    pub jti: String,
    /// Only tokens in this state (as of `now`).
    pub state: Option<TokenState>,
    /// The order. Expired tokens are always listed by expiry (`Newest` and `ExpiresLast`
    /// give the latest expiry first, `Oldest` and `ExpiresFirst` the soonest): the index
    /// on `expires_at` finds them at once, where an id order would skip every live one.
    pub order: TokenOrder,
    /// The sort key (id, or expiry in microseconds) and id of the previous page's last row.
    pub after: Option<(i64, i64)>,
    /// At most this many.
    pub limit: u32,
    /// The time states are judged at.
    pub now: i64,
}

/// An outstanding token as the admin page shows it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// The ledger row's id.
    pub id: i64,
    /// The token's id claim.
    pub jti: String,
    /// The `auth_user` id, when recorded.
    pub user_id: Option<i64>,
    /// When it was issued.
    pub created_at: Option<i64>,
    /// When it expires.
    pub expires_at: i64,
    /// When it was blacklisted, if it was.
    pub blacklisted_at: Option<i64>,
    /// Why, when Tessera blacklisted it (`rotated`, `logout`, `revoked`, `admin`).
    pub reason: Option<String>,
    /// Its session, when known.
    pub family: Option<String>,
    /// The first 12 hex digits of the SHA-256 of the stored token: enough to tell two
    /// apart, useless to an attacker.
    pub short_hash: String,
}

/// What removing a token from the blacklist did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unblacklisted {
    /// The token is accepted again.
    Removed,
    /// It was not blacklisted (or does not exist).
    NotBlacklisted,
    /// Its session was ended: it stays refused (un-ending a session is not possible).
    SessionEnded,
    /// A rotation spent it: it stays refused (a second use would fork its session).
    Spent,
}

/// A staff member's signed-in admin session, kept server-side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// The SHA-256 (hex) of the secret the cookie carries: the database never holds a
    /// usable cookie.
    pub id: String,
    /// The staff user's id, as text.
    pub user_key: String,
    /// The session's CSRF token (forms carry it).
    pub csrf: String,
    /// Sign-in time.
    pub created_at: i64,
    /// Last request (updated at most once a minute).
    pub seen_at: i64,
}

/// An audit log entry to write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditEvent {
    /// When.
    pub at: i64,
    /// Who acted (a username, or a user id for the API's events).
    pub actor: String,
    /// What (`login_succeeded`, `admin_end_session`, …).
    pub action: String,
    /// On what (a user, a session, a token), when anything.
    pub target: String,
    /// From which address, when known.
    pub client: String,
    /// Anything else worth keeping (short).
    pub detail: String,
}

/// An audit log entry as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id (entries are numbered in order).
    pub id: i64,
    /// The entry.
    pub event: AuditEvent,
}

/// The admin page's storage.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// A page of users ([`UserQuery`]), by id.
    async fn users_page(&self, q: &UserQuery) -> Result<Vec<User>>;
    /// Updates what staff edit; false when there is no such user.
    async fn update_profile(&self, id: DjangoId, p: &UserProfile) -> Result<bool>;
    /// The newest sessions of a user (at most `limit`), newest first.
    async fn sessions_of(
        &self,
        user_key: &str,
        user_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SessionRow>>;
    /// Whether the session `family` belongs to the user (by key, or `auth_user` id).
    async fn session_belongs_to(
        &self,
        family: &str,
        user_key: &str,
        user_id: Option<i64>,
    ) -> Result<bool>;
    /// Ends one session (revokes the family, blacklists its tokens); `Some` when it was
    /// live until now.
    async fn end_session(&self, family: &str, at: i64) -> Result<Option<RevokedFamily>>;
    /// A page of tokens ([`TokenQuery`]).
    async fn tokens_page(&self, q: &TokenQuery) -> Result<Vec<TokenRow>>;
    /// Blacklists these ledger rows (reason `admin`); returns how many were not already.
    async fn blacklist_rows(&self, ids: &[i64], at: i64) -> Result<u64>;
    /// Removes one ledger row from the blacklist, unless its session was ended.
    async fn unblacklist_row(&self, id: i64) -> Result<Unblacklisted>;
    /// Records a signed-in admin session.
    async fn create_admin_session(&self, s: &AdminSession) -> Result<()>;
    /// The admin session with this id (hash), if it exists.
    async fn admin_session(&self, id: &str) -> Result<Option<AdminSession>>;
    /// Marks an admin session as seen at `at`.
    async fn touch_admin_session(&self, id: &str, at: i64) -> Result<()>;
    /// Ends an admin session (sign-out, timeout).
    async fn delete_admin_session(&self, id: &str) -> Result<()>;
    /// Ends admin sessions idle since before `idle_before` or started before
    /// `started_before`; returns how many.
    async fn expire_admin_sessions(&self, idle_before: i64, started_before: i64) -> Result<u64>;
    /// Deletes up to `limit` audit entries older than `before`; returns how many.
    async fn prune_audit_batch(&self, before: i64, limit: u32) -> Result<u64>;
    /// Appends entries to the audit log, in one transaction.
    async fn audit(&self, events: &[AuditEvent]) -> Result<()>;
    /// The newest audit entries (before the id `before`); with `search`, those whose
    /// actor, action or target is exactly it (indexed: fast on a long log).
    async fn audit_page(
        &self,
        search: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>>;
}

/// `LIKE` pattern text for "starts with `prefix`" (with `ESCAPE '\'`).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The first 12 hex digits of the SHA-256 of `token`.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn short_hash(token: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    tessera_core::clock::hex(&d.as_ref()[..6])
}

impl TokenQuery {
    /// The order the query runs in (see [`TokenQuery::order`]).
    pub fn effective_order(&self) -> TokenOrder {
        match (self.state, self.order) {
            (Some(TokenState::Expired), TokenOrder::Newest) => TokenOrder::ExpiresLast,
            (Some(TokenState::Expired), TokenOrder::Oldest) => TokenOrder::ExpiresFirst,
            (_, order) => order,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_prefix("al"), "al%");
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
        assert_eq!(short_hash("x").len(), 12);
    }
}
