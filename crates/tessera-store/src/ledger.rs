//! The ledger's security-critical transactions, written once for every database:
//! recording a token, logout (blacklist and revoke the family), rotation exactly once
//! with reuse detection, and revoking a user.
//!
//! Each database supplies only its statements, through [`LedgerTx`] (SQL text,
//! placeholders, time encoding, locking and change notification); the order of the
//! statements and every decision are here, so the two databases cannot drift apart.
//! Transaction control stays with each store: the caller opens the transaction, runs one
//! of these functions in it, and commits, or rolls back when told to (a refused rotation
//! must leave no trace).

use async_trait::async_trait;

use crate::{
    OutstandingToken, Repeat, Result, RevokedFamily, RotateOutcome, RotationTimes, judge_repeat,
};

/// What a blacklist row says of an already blacklisted token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Blacklisting {
    /// Why (`rotated`, `logout`, `revoked`; `None` for rows Django wrote).
    pub reason: Option<String>,
    /// When, in microseconds since the epoch.
    pub at: Option<i64>,
    /// The family of the token.
    pub family: Option<String>,
}

/// One database's statements for the ledger, run inside a transaction the caller opened.
#[async_trait]
pub(crate) trait LedgerTx: Send {
    /// Creates the family `t` names, unless it exists (no-op without a family).
    async fn ensure_family(&mut self, t: &OutstandingToken) -> Result<()>;
    /// Inserts the ledger row of `t` unless its jti is known; the `auth_user` reference
    /// is dropped when that user no longer exists.
    async fn insert_row(&mut self, t: &OutstandingToken) -> Result<()>;
    /// Blacklists the recorded token `jti` with `reason`; 0 when it was already (or is
    /// not recorded).
    async fn blacklist_jti(&mut self, jti: &str, at: i64, reason: &str) -> Result<u64>;
    /// The family of the recorded token `jti` (`None` if unrecorded or family-less).
    async fn family_of_jti(&mut self, jti: &str) -> Result<Option<String>>;
    /// Puts the recorded token `jti` into `family`.
    async fn set_family(&mut self, jti: &str, family: &str) -> Result<()>;
    /// The blacklist row of `jti` (which must exist).
    async fn blacklisting(&mut self, jti: &str) -> Result<Blacklisting>;
    /// Marks `family` revoked at `at` and blacklists every token in it; `Some` when the
    /// family was live until now (databases with a change channel announce it on commit).
    async fn revoke_family(&mut self, family: &str, at: i64) -> Result<Option<RevokedFamily>>;
    /// The live families of a user (by key, or by `auth_user` id), locked where the
    /// database locks rows.
    async fn live_families_of(
        &mut self,
        user_key: &str,
        user_id: Option<i64>,
    ) -> Result<Vec<String>>;
    /// Blacklists every unexpired token recorded for `auth_user` id `user_id` (the ones
    /// Django wrote outside any family).
    async fn blacklist_user_rows(&mut self, user_id: i64, at: i64) -> Result<()>;
    /// Whether `family` has been revoked.
    async fn family_revoked(&mut self, family: &str) -> Result<bool>;
}

/// Records `t` (and the family it starts). Idempotent.
pub(crate) async fn outstand<T: LedgerTx + ?Sized>(tx: &mut T, t: &OutstandingToken) -> Result<()> {
    tx.ensure_family(t).await?;
    tx.insert_row(t).await
}

/// Logout: records `t` if needed, blacklists it and revokes its family.
pub(crate) async fn blacklist<T: LedgerTx + ?Sized>(
    tx: &mut T,
    t: &OutstandingToken,
    at: i64,
) -> Result<Vec<RevokedFamily>> {
    outstand(tx, t).await?;
    tx.blacklist_jti(&t.jti, at, "logout").await?;
    let mut revoked = Vec::new();
    if let Some(f) = tx.family_of_jti(&t.jti).await? {
        revoked.extend(tx.revoke_family(&f, at).await?);
    }
    Ok(revoked)
}

/// Rotation: blacklist `old`, record `new` in `old`'s family. Returns the outcome and
/// whether to commit (`false`: roll back, the refusal must leave no trace).
///
/// The blacklist insert comes first and decides: of concurrent rotations of one token
/// exactly one inserts the row (the others wait on its unique key, then find it), so
/// exactly one rotates. A loser then reads why the token was blacklisted and
/// [`judge_repeat`] decides between a refusal and a replay (which revokes the family).
pub(crate) async fn rotate<T: LedgerTx + ?Sized>(
    tx: &mut T,
    old: &OutstandingToken,
    new: &OutstandingToken,
    times: RotationTimes,
) -> Result<(RotateOutcome, bool)> {
    let at = times.now;
    // The common case in as few statements as possible: the old token is on record, so
    // blacklist it directly, and record it first only when it is not.
    let mut blacklisted = tx.blacklist_jti(&old.jti, at, "rotated").await?;
    if blacklisted == 0 {
        outstand(tx, old).await?;
        blacklisted = tx.blacklist_jti(&old.jti, at, "rotated").await?;
    }
    if blacklisted == 1 {
        let family = tx.family_of_jti(&old.jti).await?;
        // A session revoked while this token was in flight (a logout everywhere that
        // committed between the token's issue and now): spent, and nothing new issued.
        if let Some(f) = &family
            && tx.family_revoked(f).await?
        {
            return Ok((RotateOutcome::AlreadyBlacklisted, true));
        }
        match new.family_id {
            // The family row exists: it is the old token's.
            None => {
                let new = with_family(tx, new, &old.jti, family).await?;
                tx.insert_row(&new).await?;
            }
            Some(_) => outstand(tx, new).await?,
        }
        return Ok((RotateOutcome::Rotated, true));
    }
    let seen = tx.blacklisting(&old.jti).await?;
    if let Repeat::Refuse(outcome) = judge_repeat(seen.reason.as_deref(), seen.at, times) {
        return Ok((outcome, false));
    }
    let mut revoked = Vec::new();
    if let Some(f) = seen.family {
        revoked.extend(tx.revoke_family(&f, at).await?);
    }
    Ok((RotateOutcome::Reused(revoked), true))
}

/// `new` in `family`, the family of the recorded token `old_jti`. A token recorded
/// without a family (minted elsewhere, or before families existed) starts one now, named
/// after it, so reuse detection covers it.
async fn with_family<T: LedgerTx + ?Sized>(
    tx: &mut T,
    new: &OutstandingToken,
    old_jti: &str,
    family: Option<String>,
) -> Result<OutstandingToken> {
    let mut new = new.clone();
    new.family_id = match family {
        Some(f) => Some(f),
        None => {
            let start = OutstandingToken {
                family_id: Some(old_jti.to_owned()),
                ..new.clone()
            };
            tx.ensure_family(&start).await?;
            tx.set_family(old_jti, old_jti).await?;
            Some(old_jti.to_owned())
        }
    };
    Ok(new)
}

/// Logout everywhere: revokes every live family of the user and blacklists the tokens
/// Django recorded for them outside any family.
pub(crate) async fn revoke_user<T: LedgerTx + ?Sized>(
    tx: &mut T,
    user_key: &str,
    user_id: Option<i64>,
    at: i64,
) -> Result<Vec<RevokedFamily>> {
    let mut revoked = Vec::new();
    for f in tx.live_families_of(user_key, user_id).await? {
        revoked.extend(tx.revoke_family(&f, at).await?);
    }
    if let Some(id) = user_id {
        tx.blacklist_user_rows(id, at).await?;
    }
    Ok(revoked)
}
