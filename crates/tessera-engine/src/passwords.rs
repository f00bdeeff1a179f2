//! Passwords: hashing on the low-priority pool, Django's `authenticate()`, and password
//! changes (which end every session of the user).

use tessera_core::{AuthUser, PasswordHasher};

use crate::engine::Tessera;
use crate::error::{Error, FieldProblem, Result};

/// Why credentials were refused (told apart in the metrics, never to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Unknown user, wrong password, or a hash Tessera cannot verify.
    BadCredentials,
    /// The right password of an inactive user.
    Inactive,
}

impl<U: AuthUser> Tessera<U> {
    /// Runs `f` with the hasher on the low-priority hashing threads, at most N at a time
    /// (N = cores by default): a login storm queues here, briefly, instead of starving
    /// token checks on the async workers or piling up Argon2 memory.
    pub(crate) async fn on_hash_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T> {
        let wait = std::time::Duration::from_secs(
            u64::try_from(self.settings().password_hash_queue_timeout).unwrap_or(2),
        );
        let queued = crate::telemetry::Queued::enter();
        let _permit = match tokio::time::timeout(wait, self.inner.hash_slots.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(Error::Internal("hash pool closed".into())),
            Err(_) => return Err(Error::HashingBusy),
        };
        drop(queued);
        let hasher = self.inner.hasher.clone();
        let started = std::time::Instant::now();
        let out = self
            .inner
            .hash_pool
            .run(move || f(&hasher))
            .await
            .ok_or_else(|| Error::Internal("password hashing failed".into()));
        crate::telemetry::hashed(started);
        out
    }

    /// Hashes a new password off the async workers, with the configured hasher.
    pub async fn hash_password(&self, password: String) -> Result<String> {
        self.on_hash_pool(move |h| h.hash(&password))
            .await?
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// Checks a user's password on the hashing pool (for re-authentication).
    pub async fn check_password(&self, user: &U, password: &str) -> Result<bool> {
        let (password, encoded) = (password.to_owned(), user.password_hash().to_owned());
        self.on_hash_pool(move |h| h.verify(&password, &encoded))
            .await
    }

    /// Django's `authenticate()` with `ModelBackend`: the active user whose login name
    /// and password match, else `None`. No throttling (the login flows add it).
    pub async fn authenticate_credentials(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<U>> {
        let user = self.users().user_by_username(username).await?;
        self.check_found_user(user, password).await
    }

    /// The second half of [`Tessera::authenticate_credentials`], for a caller that
    /// already looked the user up. Unknown users cost a dummy hash and inactive users a
    /// real one, so the three failures take the same time. A match on an outdated hash
    /// is rehashed with the current hasher.
    pub(crate) async fn check_found_user(
        &self,
        user: Option<U>,
        password: &str,
    ) -> Result<Option<U>> {
        Ok(self.check_credentials(user, password).await?.ok())
    }

    /// [`Tessera::check_found_user`], saying why a login is refused (for the metrics
    /// only: every refusal gets the same answer and takes the same time).
    pub(crate) async fn check_credentials(
        &self,
        user: Option<U>,
        password: &str,
    ) -> Result<Result<U, Refusal>> {
        let password = password.to_owned();
        let Some(user) = user else {
            self.on_hash_pool(move |h| h.verify_dummy(&password))
                .await?;
            return Ok(Err(Refusal::BadCredentials));
        };
        let encoded = user.password_hash().to_owned();
        if !encoded.starts_with('!') && !tessera_core::password::is_known_format(&encoded) {
            // Said once per login so the operator sees why; the hash itself is never
            // logged (without a `$`, the "name" would be the hash: not shown then).
            let name = encoded
                .split_once('$')
                .map(|(n, _)| n)
                .filter(|n| {
                    n.len() <= 32 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
                .unwrap_or("unrecognised");
            tracing::warn!(
                user_id = %user.id(),
                hasher = name,
                "stored password hash is in a format Tessera cannot verify; the login fails as with a wrong password"
            );
            self.on_hash_pool(move |h| h.verify_dummy(&password))
                .await?;
            return Ok(Err(Refusal::BadCredentials));
        }
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
            return Ok(Err(Refusal::BadCredentials));
        }
        let mut user = user;
        if let Some(new_hash) = rehash {
            self.users().set_password(user.id(), &new_hash).await?;
            tracing::info!(
                user_id = %user.id(),
                "password hash upgraded to the current hasher"
            );
            // Read back, so that what is minted now (the CHECK_REVOKE_TOKEN digest)
            // comes from the stored hash.
            match self.users().user_by_id(user.id()).await? {
                Some(fresh) => user = fresh,
                None => return Ok(Err(Refusal::BadCredentials)),
            }
        }
        if user.is_active() {
            Ok(Ok(user))
        } else {
            Ok(Err(Refusal::Inactive))
        }
    }

    /// A user changing their own password: `old` must be their current password and
    /// `new` must pass the strength rules (Django's validators), else
    /// [`Error::Invalid`] names each problem. Then as [`Tessera::set_password`].
    pub async fn change_password(&self, user: &U, old: &str, new: &str) -> Result<()> {
        let mut problems = Vec::new();
        if !self.check_password(user, old).await? {
            problems.push(FieldProblem {
                field: "old_password".into(),
                message: "Your old password was entered incorrectly.".into(),
            });
        }
        if new.contains('\0') {
            problems.push(FieldProblem {
                field: "new_password".into(),
                message: "Null characters are not allowed.".into(),
            });
        }
        for message in tessera_core::password::strength_problems(user.username(), new) {
            problems.push(FieldProblem {
                field: "new_password".into(),
                message: message.into(),
            });
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        self.set_password(user, new).await
    }

    /// Sets a new password (hashed on the pool) and revokes every session of the user:
    /// a password change must end the sessions opened with the old one. For operators
    /// and staff (no old password, no strength rules: the caller applies its own).
    pub async fn set_password(&self, user: &U, new_password: &str) -> Result<()> {
        let hash = self.hash_password(new_password.to_owned()).await?;
        self.users().set_password(user.id(), &hash).await?;
        let ended = self.end_sessions(user).await?;
        self.security_event(
            crate::SecurityEvent::PasswordChanged,
            &user.id().to_string(),
            None,
            ended,
        );
        Ok(())
    }
}
