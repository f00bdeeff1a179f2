//! Minting tokens for a user: the pair and the sliding token, each starting a new
//! session (token family) recorded in the ledger before the tokens are handed out.

use serde_json::Value;
use tessera_core::password::revoke_digest;
use tessera_core::{AuthUser, Claims, TokenKind, UserId};
use tessera_store::OutstandingToken;

use crate::engine::Tessera;
use crate::error::{Error, Result};
use crate::login::ClientInfo;

/// The claim that carries a token's family id when `ACCESS_TOKEN_REVOCATION` or a cookie
/// mode is on (OpenID Connect's session id claim): what revocation and CSRF tokens bind
/// to.
pub const SESSION_CLAIM: &str = "sid";

/// A refresh token and the access token minted with it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The refresh token (recorded in the ledger).
    pub refresh: String,
    /// The access token.
    pub access: String,
}

impl std::fmt::Debug for TokenPair {
    // Tokens are credentials: never in logs, not even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPair { .. }")
    }
}

/// Who a ledger row belongs to: Django's `auth_user` id when users live there, and the
/// user's id as text for every kind of user store.
#[derive(Debug, Clone, Default)]
pub(crate) struct LedgerUser {
    pub(crate) id: Option<i64>,
    pub(crate) key: Option<String>,
}

impl<U: AuthUser> Tessera<U> {
    /// `POST /api/token/`: logs in (see [`Tessera::login`]) and issues a pair.
    pub async fn obtain_pair(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair> {
        let user = self.login(username, password, client).await?;
        self.issue_pair_from(&user, Some(client)).await
    }

    /// `POST /api/token/sliding/`: logs in and issues a sliding token.
    pub async fn obtain_sliding(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<String> {
        let user = self.login(username, password, client).await?;
        self.issue_sliding_from(&user, Some(client)).await
    }

    /// A new session for `user` without a password: after sign-up, an OAuth callback,
    /// or a staff member acting as the user. The caller vouches for the user; the pair
    /// is recorded in the ledger as any login's is.
    pub async fn issue_pair_for(&self, user: &U) -> Result<TokenPair> {
        self.issue_pair_from(user, None).await
    }

    /// [`Tessera::issue_pair_for`], recording where the session was started from.
    pub async fn issue_pair_from(
        &self,
        user: &U,
        client: Option<&ClientInfo>,
    ) -> Result<TokenPair> {
        let family = self.new_family();
        let refresh = self.claims_for(user, TokenKind::Refresh, &family);
        let access = self.tokens().access_from_refresh(&refresh);
        let refresh_raw = self.encode(&refresh)?;
        let access_raw = self.encode(&access)?;
        self.ledger()
            .outstand(&self.ledger_row(
                &refresh,
                &refresh_raw,
                self.ledger_user(user),
                Some(&family),
            ))
            .await?;
        self.record_client(&family, client).await;
        Ok(TokenPair {
            refresh: refresh_raw,
            access: access_raw,
        })
    }

    /// [`Tessera::issue_pair_for`] for a sliding token.
    pub async fn issue_sliding_for(&self, user: &U) -> Result<String> {
        self.issue_sliding_from(user, None).await
    }

    /// [`Tessera::issue_sliding_for`], recording where the session was started from.
    pub async fn issue_sliding_from(
        &self,
        user: &U,
        client: Option<&ClientInfo>,
    ) -> Result<String> {
        let family = self.new_family();
        let claims = self.claims_for(user, TokenKind::Sliding, &family);
        let raw = self.encode(&claims)?;
        self.ledger()
            .outstand(&self.ledger_row(&claims, &raw, self.ledger_user(user), Some(&family)))
            .await?;
        self.record_client(&family, client).await;
        Ok(raw)
    }

    /// Records the login's client address and user agent on its session, for the admin
    /// page, off the login's path (measured: awaited, it added a write's latency to every
    /// login). Best effort: the session is valid without it, so a failure is only logged.
    async fn record_client(&self, family: &str, client: Option<&ClientInfo>) {
        let Some(c) = client else {
            return;
        };
        if c.ip.is_none() && c.user_agent.is_none() {
            return;
        }
        let ip = c.ip.map(|ip| ip.to_string());
        // What a client sends is bounded and kept on one line.
        let agent: Option<String> = c
            .user_agent
            .as_deref()
            .map(|a| a.chars().filter(|ch| !ch.is_control()).take(256).collect());
        let ledger = self.ledger().clone();
        let family = family.to_owned();
        tokio::spawn(async move {
            if let Err(e) = ledger
                .record_login_client(&family, ip.as_deref(), agent.as_deref())
                .await
            {
                tracing::warn!(error = %e, "could not record a login's client on its session");
            }
        });
    }

    /// Encodes claims; a failure (impossible with valid keys) is internal.
    pub(crate) fn encode(&self, claims: &Claims) -> Result<String> {
        self.tokens()
            .encode(claims)
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// A ledger row for a token about to be (or just) issued.
    pub(crate) fn ledger_row(
        &self,
        claims: &Claims,
        encoded: &str,
        user: LedgerUser,
        family: Option<&str>,
    ) -> OutstandingToken {
        let tokens = self.tokens();
        OutstandingToken {
            jti: tokens.jti(claims).unwrap_or_default().to_owned(),
            user_id: user.id,
            user_key: user.key,
            token: encoded.to_owned(),
            created_at: self.clock().now_micros(),
            expires_at: tokens.exp(claims).saturating_mul(1_000_000),
            family_id: family.map(str::to_owned),
        }
    }

    /// A new family id (one per login).
    fn new_family(&self) -> String {
        tessera_core::clock::new_jti(&tessera_core::OsRandom)
    }

    /// `for_user` plus the configured claims and hooks: the claims of a fresh refresh or
    /// sliding token that starts the family `family`.
    fn claims_for(&self, user: &U, kind: TokenKind, family: &str) -> Claims {
        let s = self.settings();
        let mut claims = self
            .tokens()
            .for_user(kind, &user.id_claim(&s.user_id_field));
        if kind == TokenKind::Refresh
            && let Some(abs) = s.refresh_token_absolute_lifetime
            && abs < s.refresh_token_lifetime
        {
            let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
            claims.insert("exp".into(), Value::from(iat.saturating_add(abs)));
        }
        if s.check_revoke_token {
            claims.insert(
                s.revoke_token_claim.clone(),
                Value::from(revoke_digest(user.password_hash())),
            );
        }
        if s.access_token_revocation || s.auth_cookie_mode != tessera_core::CookieMode::Off {
            claims.insert(SESSION_CLAIM.into(), Value::from(family));
        }
        for hook in self.hooks() {
            hook.add_claims(user, kind, &mut claims);
        }
        claims
    }

    /// Who the ledger records as the owner of `user`'s tokens.
    pub(crate) fn ledger_user(&self, user: &U) -> LedgerUser {
        let id = user.id();
        LedgerUser {
            id: self.users().ledger_user_id(&id),
            key: Some(id.to_string()),
        }
    }

    /// The owner of a token as the ledger records it, from the token's user id claim
    /// (known only with `USER_ID_FIELD = id`: a username claim names no id).
    pub(crate) fn ledger_user_of(&self, claims: &Claims) -> LedgerUser {
        let s = self.settings();
        if s.user_id_field != "id" {
            return LedgerUser::default();
        }
        match claims.get(&s.user_id_claim).and_then(U::Id::from_claim) {
            Some(id) => LedgerUser {
                id: self.users().ledger_user_id(&id),
                key: Some(id.to_string()),
            },
            None => LedgerUser::default(),
        }
    }
}
