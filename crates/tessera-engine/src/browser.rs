//! What a browser session needs beyond Simple JWT's flows, with no HTTP in it: the
//! session (token family) a token belongs to, a CSRF token bound to that session, a
//! page-load look at the session behind a refresh token, and an idempotent logout.
//!
//! The CSRF token is a signed double-submit token (OWASP's recommended variant): a
//! random nonce and a MAC of `session id + nonce` under the signing key (an HMAC with
//! HS* keys, a signature with RS/ES/EdDSA keys). Unlike a bare random value, a cookie
//! planted by a sibling subdomain or a network attacker cannot be made to match: the
//! attacker would need the server's key and the victim's session id. Verifying tries
//! every key of the set, so a key rotation does not break open pages.

use std::sync::Arc;

use serde_json::Value;
use tessera_core::{AuthUser, Claims, Random as _, TokenKind};

use crate::engine::Tessera;
use crate::error::{Error, Result};
use crate::issue::SESSION_CLAIM;

/// What signed CSRF tokens sign: a fixed label (no JWS signing input can start with it:
/// those start with `ey`), the session id and the nonce.
const CSRF_LABEL: &str = "tessera-csrf-v1";

/// The longest CSRF token looked at (an RSA-4096 signature is 683 characters).
const MAX_CSRF_LEN: usize = 1024;

/// The live session behind a refresh token.
#[derive(Debug)]
pub struct BrowserSession<U: AuthUser> {
    /// The user it belongs to (active, not deleted).
    pub user: Arc<U>,
    /// The user id claim of the token (`USER_ID_CLAIM`), as tokens carry it.
    pub user_id: Value,
    /// The session (token family) id.
    pub session_id: String,
    /// When the refresh token expires, in seconds since the epoch.
    pub expires_at: i64,
}

impl<U: AuthUser> Tessera<U> {
    /// The session (token family) a validated token belongs to: its `sid` claim (tokens
    /// carry it with `ACCESS_TOKEN_REVOCATION` or a cookie mode), else the ledger's
    /// record of its `jti` (tokens issued before either was switched on).
    pub async fn session_id(&self, claims: &Claims) -> Result<Option<String>> {
        if let Some(sid) = claims.get(SESSION_CLAIM).and_then(Value::as_str) {
            return Ok(Some(sid.to_owned()));
        }
        match self.tokens().jti(claims) {
            Some(jti) if !jti.is_empty() && !jti.contains('\0') => {
                Ok(self.ledger().family_of(jti).await?.map(|f| f.id))
            }
            _ => Ok(None),
        }
    }

    /// A fresh CSRF token bound to the session `session_id`.
    pub fn csrf_token(&self, session_id: &str) -> Result<String> {
        let mut nonce = [0u8; 16];
        tessera_core::OsRandom.fill(&mut nonce);
        let nonce = tessera_core::clock::hex(&nonce);
        let signature = self
            .tokens()
            .keys()
            .sign(csrf_message(session_id, &nonce).as_bytes())
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(format!("{nonce}.{signature}"))
    }

    /// Whether `token` is a CSRF token this server (under any key of its set) made for
    /// the session `session_id`.
    pub fn check_csrf(&self, session_id: &str, token: &str) -> bool {
        if token.len() > MAX_CSRF_LEN {
            return false;
        }
        let Some((nonce, signature)) = token.split_once('.') else {
            return false;
        };
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        let message = csrf_message(session_id, nonce);
        self.tokens()
            .keys()
            .keys()
            .iter()
            .any(|k| k.verify(message.as_bytes(), signature))
    }

    /// The live session behind the refresh token `raw`, for a page load: the token must
    /// validate (not expired, not blacklisted) and its user must exist and be active.
    /// Nothing is written.
    pub async fn browser_session(&self, raw: &str) -> Result<BrowserSession<U>> {
        let claims = self.validate_token(raw, TokenKind::Refresh).await?;
        let user = self.user_for_refresh(&claims).await?;
        let session_id = self
            .session_id(&claims)
            .await?
            .ok_or(tessera_core::Error::InvalidToken)?;
        Ok(BrowserSession {
            user,
            user_id: claims
                .get(&self.settings().user_id_claim)
                .cloned()
                .unwrap_or(Value::Null),
            session_id,
            expires_at: self.tokens().exp(&claims),
        })
    }

    /// Logout that cannot fail for the client's sake: the session of the refresh token
    /// `raw` ends (as [`Tessera::blacklist`]), and a token that is already blacklisted,
    /// expired or invalid counts as logged out. `Ok(true)` when a session ended now;
    /// only a failing database is an error.
    pub async fn logout(&self, raw: &str) -> Result<bool> {
        match self.blacklist(raw).await {
            Ok(()) => Ok(true),
            Err(Error::Token(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The user of a refresh token, with the refresh-time checks (exists, active).
    async fn user_for_refresh(&self, claims: &Claims) -> Result<Arc<U>> {
        let s = self.settings();
        let id = claims.get(&s.user_id_claim).ok_or(Error::NoUserId)?;
        let user = self
            .user_by_claim(id)
            .await?
            .ok_or(Error::DeletedUserForToken)?;
        if s.check_user_is_active && !user.is_active() {
            return Err(Error::InactiveUserForToken);
        }
        Ok(user)
    }
}

fn csrf_message(session_id: &str, nonce: &str) -> String {
    format!("{CSRF_LABEL}.{session_id}.{nonce}")
}
