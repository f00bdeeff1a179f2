//! Counters and timings of the flows, recorded through the [`metrics`] facade: the engine
//! records, the application decides whether and how to export (`tessera serve` installs
//! a Prometheus exporter on `METRICS_BIND`). Without an installed recorder every call
//! here does nothing.
//!
//! Every label value is one of a few fixed words, never a user name, a token or an
//! address, so a metric's series stay few and say nothing about who did what (that is
//! the audit log's job).

use std::time::Instant;

use metrics::{Key, Label, Metadata};

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

/// Counts one event under a key built at compile time: no allocation and no hashing of
/// label strings per request (what the `counter!` macro does with run-time label values),
/// and next to nothing when no recorder is installed.
fn count(key: &'static Key) {
    static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
    metrics::with_recorder(|r| r.register_counter(key, &METADATA)).increment(1);
}

/// `name{label=value}` as a compile-time key.
macro_rules! keyed {
    ($name:expr, $( $label:literal = $value:literal ),+) => {{
        static LABELS: [Label; [$($label),+].len()] =
            [$(Label::from_static_parts($label, $value)),+];
        static KEY: Key = Key::from_static_parts($name, &LABELS);
        &KEY
    }};
}

/// How a login ended, as the metrics tell them apart (the client is told less).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Login {
    Ok,
    BadCredentials,
    Inactive,
    Throttled,
    Busy,
    Error,
}

/// A login's outcome.
pub(crate) fn login(result: Login) {
    count(match result {
        Login::Ok => keyed!(LOGINS, "result" = "ok"),
        Login::BadCredentials => keyed!(LOGINS, "result" = "bad_credentials"),
        Login::Inactive => keyed!(LOGINS, "result" = "inactive"),
        Login::Throttled => keyed!(LOGINS, "result" = "throttled"),
        Login::Busy => keyed!(LOGINS, "result" = "busy"),
        Login::Error => keyed!(LOGINS, "result" = "error"),
    });
}

/// A refresh's outcome, from its result.
pub(crate) fn refresh<T>(outcome: &Result<T, Error>) {
    count(match outcome {
        Ok(_) => keyed!(REFRESHES, "result" = "ok"),
        Err(Error::TokenReused) => keyed!(REFRESHES, "result" = "reused"),
        Err(Error::Token(tessera_core::Error::ExpiredToken)) => {
            keyed!(REFRESHES, "result" = "expired")
        }
        Err(Error::Token(tessera_core::Error::Blacklisted)) => {
            keyed!(REFRESHES, "result" = "blacklisted")
        }
        Err(e) if e.is_credential_error() => keyed!(REFRESHES, "result" = "invalid"),
        Err(_) => keyed!(REFRESHES, "result" = "error"),
    });
}

/// A replayed refresh token was caught.
pub(crate) fn reuse_detected() {
    metrics::counter!(REUSE_DETECTED).increment(1);
}

/// `n` sessions ended.
pub(crate) fn sessions_revoked(n: usize) {
    metrics::counter!(SESSIONS_REVOKED).increment(u64::try_from(n).unwrap_or(u64::MAX));
}

/// Which token check: the verify endpoint, or a protected route's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flow {
    Verify,
    Authenticate,
}

/// A token check's outcome.
pub(crate) fn verification<T>(flow: Flow, outcome: &Result<T, Error>) {
    let (ok, invalid) = (
        outcome.is_ok(),
        matches!(outcome, Err(e) if e.is_credential_error()),
    );
    count(match (flow, ok, invalid) {
        (Flow::Verify, true, _) => keyed!(VERIFICATIONS, "flow" = "verify", "result" = "ok"),
        (Flow::Verify, false, true) => {
            keyed!(VERIFICATIONS, "flow" = "verify", "result" = "invalid")
        }
        (Flow::Verify, false, false) => {
            keyed!(VERIFICATIONS, "flow" = "verify", "result" = "error")
        }
        (Flow::Authenticate, true, _) => {
            keyed!(VERIFICATIONS, "flow" = "authenticate", "result" = "ok")
        }
        (Flow::Authenticate, false, true) => {
            keyed!(VERIFICATIONS, "flow" = "authenticate", "result" = "invalid")
        }
        (Flow::Authenticate, false, false) => {
            keyed!(VERIFICATIONS, "flow" = "authenticate", "result" = "error")
        }
    });
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
