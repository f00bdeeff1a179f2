//! Logging in with a login name and password, throttled per login name and per client
//! address in the database (so the limit holds across instances).

use std::net::IpAddr;

use tessera_core::AuthUser;

use crate::engine::Tessera;
use crate::error::{Error, FieldProblem, Result};
use crate::passwords::Refusal;
use crate::security::SecurityEvent;
use crate::telemetry::Login;

/// What the engine knows of the client making a request: the address login throttling
/// counts against (resolved by the web layer, e.g. from `X-Forwarded-For` of trusted
/// proxies), and its user agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The client's address, when known.
    pub ip: Option<IpAddr>,
    /// The `User-Agent` the client sent, when known.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// A client known by its address (or not at all: `None`).
    pub fn new(ip: Option<IpAddr>) -> Self {
        ClientInfo {
            ip,
            user_agent: None,
        }
    }
    /// The same, with a user agent.
    pub fn with_user_agent(mut self, user_agent: Option<String>) -> Self {
        self.user_agent = user_agent;
        self
    }
}

impl<U: AuthUser> Tessera<U> {
    /// Username + password → the user, or [`Error::BadCredentials`] for every failure
    /// (unknown, wrong password, inactive: the same answer in the same time). Throttled
    /// per username and per client address ([`Error::Throttled`] past the limits); the
    /// answer is the same whether the user exists.
    pub async fn login(&self, username: &str, password: &str, client: &ClientInfo) -> Result<U> {
        // What DRF's CharField refuses, and PostgreSQL would refuse in a lookup.
        let login_field = self.settings().username_field.clone();
        let nul: Vec<FieldProblem> = [(login_field, username), ("password".into(), password)]
            .into_iter()
            .filter(|(_, v)| v.contains('\0'))
            .map(|(field, _)| FieldProblem {
                field: field.into(),
                message: "Null characters are not allowed.".into(),
            })
            .collect();
        if !nul.is_empty() {
            return Err(Error::Invalid(nul));
        }
        if password.len() > tessera_core::password::MAX_PASSWORD_LEN {
            return Err(Error::Invalid(vec![FieldProblem {
                field: "password".into(),
                message: format!(
                    "Ensure this field has no more than {} characters.",
                    tessera_core::password::MAX_PASSWORD_LEN
                ),
            }]));
        }
        let keys = self.throttle_keys(username, client);
        let now = self.clock().now_micros();
        let window = self
            .settings()
            .login_throttle_window
            .saturating_mul(1_000_000);
        // The user and the counters before the (slow) hash: in one statement when the
        // users and the counters share a database.
        let (user, failures) = self
            .inner
            .login_reader
            .read(username, &keys, now, window)
            .await?;
        let user_has_failures = match self.throttle_verdict(&failures, now) {
            Ok(has) => has,
            Err(e) => {
                self.security_event(SecurityEvent::LoginThrottled, username, client.ip, 0);
                crate::telemetry::login(Login::Throttled);
                return Err(e);
            }
        };
        let checked = match self.check_credentials(user, password).await {
            Ok(checked) => checked,
            Err(e) => {
                crate::telemetry::login(if matches!(e, Error::HashingBusy) {
                    Login::Busy
                } else {
                    Login::Error
                });
                return Err(e);
            }
        };
        let user = match checked {
            Ok(user) => user,
            Err(refusal) => {
                crate::telemetry::login(match refusal {
                    Refusal::BadCredentials => Login::BadCredentials,
                    Refusal::Inactive => Login::Inactive,
                });
                if !keys.is_empty() {
                    self.throttle()
                        .record_login_failure(&keys, self.clock().now_micros(), window)
                        .await?;
                }
                self.security_event(SecurityEvent::LoginFailed, username, client.ip, 0);
                return Err(Error::BadCredentials);
            }
        };
        crate::telemetry::login(Login::Ok);
        // Only a user with failures on record needs the (fsynced) reset.
        if user_has_failures {
            self.throttle()
                .clear_login_failures(&user_key(username))
                .await?;
        }
        if self.settings().update_last_login {
            self.users()
                .set_last_login(user.id(), self.clock().now_micros())
                .await?;
        }
        self.security_event(SecurityEvent::LoginSucceeded, username, client.ip, 1);
        Ok(user)
    }

    /// The throttling counters a login attempt counts against.
    fn throttle_keys(&self, username: &str, client: &ClientInfo) -> Vec<String> {
        let s = self.settings();
        let mut keys = Vec::new();
        if s.login_failures_per_user > 0 {
            keys.push(user_key(username));
        }
        if s.login_failures_per_ip > 0
            && let Some(ip) = client.ip
        {
            keys.push(format!("ip:{ip}"));
        }
        keys
    }

    /// [`Error::Throttled`] when any counter (`key`, failures, window end) is past its
    /// limit; else whether the username has failures on record.
    fn throttle_verdict(&self, counters: &[(String, i64, i64)], now: i64) -> Result<bool> {
        let s = self.settings();
        let mut user_has_failures = false;
        let mut retry_at = None;
        for (key, failures, window_end) in counters {
            let (failures, window_end) = (*failures, *window_end);
            user_has_failures |= !key.starts_with("ip:");
            let limit = if key.starts_with("ip:") {
                s.login_failures_per_ip
            } else {
                s.login_failures_per_user
            };
            if failures >= limit {
                retry_at = Some(retry_at.map_or(window_end, |r: i64| r.max(window_end)));
            }
        }
        match retry_at {
            Some(end) => Err(Error::Throttled {
                retry_after_secs: ((end - now) + 999_999) / 1_000_000,
            }),
            None => Ok(user_has_failures),
        }
    }
}

/// The throttling key of a username (long names are hashed to fit the column).
fn user_key(username: &str) -> String {
    if username.len() <= 150 {
        format!("u:{username}")
    } else {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, username.as_bytes());
        format!("u#{}", tessera_core::clock::hex(digest.as_ref()))
    }
}
