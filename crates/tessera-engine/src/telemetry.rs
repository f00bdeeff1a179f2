//! Counters and timings of the flows, recorded through the [`metrics`] facade: the engine
//! records, the application decides whether and how to export (`tessera serve` installs
//! a Prometheus exporter on `METRICS_BIND`). Without an installed recorder every call
//! here does nothing.
//!
//! Every label value is one of a few fixed words, never a user name, a token or an
//! address, so a metric's series stay few and say nothing about who did what (that is
//! the audit log's job).

use std::time::Instant;

use crate::error::Error;

/// `tessera_logins_total{result}`.
pub const LOGINS: &str = "tessera_logins_total";
/// `tessera_refreshes_total{result}`.
pub const REFRESHES: &str = "tessera_refreshes_total";
/// `tessera_refresh_reuse_detected_total`.
pub const REUSE_DETECTED: &str = "tessera_refresh_reuse_detected_total";
/// `tessera_sessions_revoked_total`.
pub const SESSIONS_REVOKED: &str = "tessera_sessions_revoked_total";
/// `tessera_token_verifications_total{flow,result}`.
pub const VERIFICATIONS: &str = "tessera_token_verifications_total";
/// `tessera_password_hash_queue_depth`.
pub const HASH_QUEUE: &str = "tessera_password_hash_queue_depth";
/// `tessera_password_hash_seconds`.
pub const HASH_SECONDS: &str = "tessera_password_hash_seconds";
/// `tessera_signing_keys{state}`.
pub const SIGNING_KEYS: &str = "tessera_signing_keys";

/// Describes every metric the engine records (help texts for the exporter). Call once,
/// after installing a recorder.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        LOGINS,
        "Logins by result: ok, bad_credentials (unknown user or wrong password), inactive, throttled, busy (no hashing slot)."
    );
    describe_counter!(
        REFRESHES,
        "Refreshes by result: ok, expired, blacklisted, reused (a rotated-away token came back), invalid, error."
    );
    describe_counter!(
        REUSE_DETECTED,
        "Rotated-away refresh tokens presented again: each revoked its session."
    );
    describe_counter!(
        SESSIONS_REVOKED,
        "Sessions ended: logout, logout everywhere, password changes, operators' revocations."
    );
    describe_counter!(
        VERIFICATIONS,
        "Token checks by flow (verify: the verify endpoint; authenticate: protected routes) and result (ok, invalid, error)."
    );
    describe_gauge!(HASH_QUEUE, "Password hashes waiting for a hashing slot.");
    describe_histogram!(
        HASH_SECONDS,
        metrics::Unit::Seconds,
        "Time a password hash took on the hashing pool."
    );
    describe_gauge!(
        SIGNING_KEYS,
        "Signing keys by state: next (published, not signing), active, previous (verifying until retired)."
    );
}

/// A login's outcome.
pub(crate) fn login(result: &'static str) {
    metrics::counter!(LOGINS, "result" => result).increment(1);
}

/// A refresh's outcome, from its result.
pub(crate) fn refresh<T>(outcome: &Result<T, Error>) {
    let result = match outcome {
        Ok(_) => "ok",
        Err(Error::TokenReused) => "reused",
        Err(Error::Token(tessera_core::Error::ExpiredToken)) => "expired",
        Err(Error::Token(tessera_core::Error::Blacklisted)) => "blacklisted",
        Err(e) if e.is_credential_error() => "invalid",
        Err(_) => "error",
    };
    metrics::counter!(REFRESHES, "result" => result).increment(1);
}

/// A replayed refresh token was caught.
pub(crate) fn reuse_detected() {
    metrics::counter!(REUSE_DETECTED).increment(1);
}

/// `n` sessions ended.
pub(crate) fn sessions_revoked(n: usize) {
    metrics::counter!(SESSIONS_REVOKED).increment(u64::try_from(n).unwrap_or(u64::MAX));
}

/// A token check's outcome; `flow` is `verify` or `authenticate`.
pub(crate) fn verification<T>(flow: &'static str, outcome: &Result<T, Error>) {
    let result = match outcome {
        Ok(_) => "ok",
        Err(e) if e.is_credential_error() => "invalid",
        Err(_) => "error",
    };
    metrics::counter!(VERIFICATIONS, "flow" => flow, "result" => result).increment(1);
}

/// One hash waiting for a slot: counted in the queue gauge while it lives.
pub(crate) struct Queued;

impl Queued {
    pub(crate) fn enter() -> Queued {
        metrics::gauge!(HASH_QUEUE).increment(1.0);
        Queued
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        metrics::gauge!(HASH_QUEUE).decrement(1.0);
    }
}

/// How long a hash that started at `started` took.
pub(crate) fn hashed(started: Instant) {
    metrics::histogram!(HASH_SECONDS).record(started.elapsed().as_secs_f64());
}

/// The key set's states (next, active, previous), counted.
pub fn signing_keys(next: usize, active: usize, previous: usize) {
    for (state, n) in [("next", next), ("active", active), ("previous", previous)] {
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!(SIGNING_KEYS, "state" => state).set(n as f64);
    }
}
