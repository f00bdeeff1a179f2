//! Security events: what an operator's audit trail needs (a login, a failed or
//! throttled one, a replayed refresh token, a logout, a logout everywhere, a password
//! change), as structured log lines under the `tessera::security` target, one per
//! event, written by the flows themselves so every way in (HTTP, CLI, an app's own
//! code) is recorded alike. Never a password or a token: who, from where, what.
//!
//! With `TESSERA_LOG_FORMAT=json` each is one JSON object with `event`, `user`,
//! `client` and, for some, `sessions`.

use std::net::IpAddr;

/// The events, named as they appear in the `event` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEvent {
    /// A login succeeded (a session started).
    LoginSucceeded,
    /// A login was refused: unknown user, wrong password or inactive account (one
    /// answer for all three, to the client and here).
    LoginFailed,
    /// A login was refused unexamined: too many failures for the name or the address.
    LoginThrottled,
    /// A rotated-away refresh token came back: its session was revoked.
    RefreshTokenReused,
    /// One session ended (logout).
    Logout,
    /// Every session of a user ended (logout everywhere, or an operator's revoke).
    SessionsRevoked,
    /// A password was changed (every session of the user ended with it).
    PasswordChanged,
    /// The signing key set changed (a key made, rotated in or retired): by hand, or by
    /// the scheduled rotation (`user` says which).
    KeySetChanged,
}

impl SecurityEvent {
    /// The `event` field's value.
    pub fn name(self) -> &'static str {
        match self {
            SecurityEvent::LoginSucceeded => "login_succeeded",
            SecurityEvent::LoginFailed => "login_failed",
            SecurityEvent::LoginThrottled => "login_throttled",
            SecurityEvent::RefreshTokenReused => "refresh_token_reused",
            SecurityEvent::Logout => "logout",
            SecurityEvent::SessionsRevoked => "sessions_revoked",
            SecurityEvent::PasswordChanged => "password_changed",
            SecurityEvent::KeySetChanged => "key_set_changed",
        }
    }
}

/// One security event, as handed to a [`SecuritySink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRecord {
    /// What happened.
    pub event: SecurityEvent,
    /// When, in microseconds since the epoch (the engine's clock).
    pub at: i64,
    /// The login name tried, or the user's id.
    pub user: String,
    /// The client's address, when known.
    pub client: Option<IpAddr>,
    /// How many sessions started or ended.
    pub sessions: usize,
}

/// Where security events go besides the log: the server keeps them in its audit log.
/// Called on the request's task: an implementation must not block (queue, then write).
pub trait SecuritySink: Send + Sync + std::fmt::Debug {
    /// Takes one event.
    fn record(&self, record: SecurityRecord);
}

impl<U: tessera_core::AuthUser> crate::Tessera<U> {
    /// Writes one event to the log (and to the sink, when there is one). `user` is the
    /// login name tried or the user's id; `client` the address the request came from,
    /// when known; `sessions` how many sessions started or ended.
    pub(crate) fn security_event(
        &self,
        event: SecurityEvent,
        user: &str,
        client: Option<IpAddr>,
        sessions: usize,
    ) {
        let user = bounded(user);
        log(event, &user, client, sessions);
        match event {
            SecurityEvent::RefreshTokenReused => {
                crate::telemetry::reuse_detected();
                crate::telemetry::sessions_revoked(sessions);
            }
            SecurityEvent::Logout
            | SecurityEvent::SessionsRevoked
            | SecurityEvent::PasswordChanged => {
                crate::telemetry::sessions_revoked(sessions);
            }
            _ => {}
        }
        if let Some(sink) = &self.inner.security_sink {
            sink.record(SecurityRecord {
                event,
                at: self.clock().now_micros(),
                user,
                client,
                sessions,
            });
        }
    }
}

fn log(event: SecurityEvent, user: &str, client: Option<IpAddr>, sessions: usize) {
    let client = client.map(|ip| ip.to_string()).unwrap_or_default();
    // Failures are what an attack looks like: warn, so they survive a quieter filter.
    match event {
        SecurityEvent::LoginFailed
        | SecurityEvent::LoginThrottled
        | SecurityEvent::RefreshTokenReused => tracing::warn!(
            target: "tessera::security",
            event = event.name(),
            user,
            client,
            sessions,
            "security event"
        ),
        _ => tracing::info!(
            target: "tessera::security",
            event = event.name(),
            user,
            client,
            sessions,
            "security event"
        ),
    }
}

/// A login name as typed can be anything a client sends: at most 150 characters (the
/// longest Django username), control characters replaced, so one line stays one line.
fn bounded(user: &str) -> String {
    user.chars()
        .take(150)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_single_line() {
        assert_eq!(bounded("alice"), "alice");
        assert_eq!(bounded("a\nb\u{1b}[31m"), "a\u{fffd}b\u{fffd}[31m");
        assert_eq!(bounded(&"x".repeat(500)).len(), 150);
    }
}
