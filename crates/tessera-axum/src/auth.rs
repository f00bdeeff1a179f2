//! Authenticating requests: Simple JWT's `JWTAuthentication` as axum extractors.
//!
//! * [`Authenticated`]: the stateful check. The token must validate as one of
//!   `AUTH_TOKEN_CLASSES`, and its user must exist, be active (`CHECK_USER_IS_ACTIVE`)
//!   and, with `CHECK_REVOKE_TOKEN`, still have the password the token was issued under.
//! * [`Stateless`]: Simple JWT's `JWTStatelessUserAuthentication`: the token alone, no
//!   database read; the user is a [`TokenUser`] built from the claims.
//!
//! Both answer 401 in Simple JWT's exact shapes with `WWW-Authenticate`. In `full`
//! cookie mode they also accept the access cookie; then an unsafe method (`POST`, …)
//! must carry CSRF proof (403 otherwise), and a request with both the header and the
//! cookie is refused (400).
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use tessera_axum::{AuthState, Authenticated, OptionalAuthenticated};
//!
//! async fn me(Authenticated { user, .. }: Authenticated) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "id": user.id, "username": user.username }))
//! }
//! async fn greeting(OptionalAuthenticated(who): OptionalAuthenticated) -> String {
//!     match who {
//!         Some(a) => format!("hello {}", a.user.username),
//!         None => "hello stranger".into(),
//!     }
//! }
//! # fn app(auth: AuthState) -> Router {
//! Router::new()
//!     .route("/api/me/", get(me))
//!     .route("/api/hello/", get(greeting))
//!     .nest("/api", tessera_axum::token_router())
//!     .with_state(auth)
//! # }
//! ```

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::request::Parts;
use tessera_core::{AuthUser, Claims, TokenKind, TokenUser, User};
use tessera_engine::{Identity, StatelessIdentity};

use crate::error::{ApiError, Rejection};
use crate::state::{AuthState, Credential};

/// A request made by a user whose token and account both check out. `U` is the
/// application's user type (Django's [`User`] by default), as its `UserStore` hands it
/// out.
#[derive(Debug)]
pub struct Authenticated<U: AuthUser = User> {
    /// The user, as stored (shared with the user cache: no copy per request).
    pub user: Arc<U>,
    /// The validated token's claims (shared with the verified-token cache).
    pub claims: Arc<Claims>,
    /// Which accepted class validated the token.
    pub kind: TokenKind,
}

impl<U: AuthUser> Clone for Authenticated<U> {
    fn clone(&self) -> Self {
        Authenticated {
            user: self.user.clone(),
            claims: self.claims.clone(),
            kind: self.kind,
        }
    }
}

impl<U: AuthUser> From<Identity<U>> for Authenticated<U> {
    fn from(i: Identity<U>) -> Self {
        Authenticated {
            user: i.user,
            claims: i.claims,
            kind: i.kind,
        }
    }
}

/// [`Authenticated`] where anonymous requests are welcome: `None` without credentials,
/// the user with good ones, and still a 401 for bad ones (a broken token is never taken
/// for "anonymous").
#[derive(Debug)]
pub struct OptionalAuthenticated<U: AuthUser = User>(pub Option<Authenticated<U>>);

impl<U: AuthUser> Clone for OptionalAuthenticated<U> {
    fn clone(&self) -> Self {
        OptionalAuthenticated(self.0.clone())
    }
}

/// A request whose token checks out, with no database read (`TokenUser`).
#[derive(Debug, Clone)]
pub struct Stateless {
    /// The user as the token describes it.
    pub user: TokenUser,
    /// Which accepted class validated the token.
    pub kind: TokenKind,
}

impl From<StatelessIdentity> for Stateless {
    fn from(i: StatelessIdentity) -> Self {
        Stateless {
            user: i.user,
            kind: i.kind,
        }
    }
}

impl<S, U> axum::extract::FromRequestParts<S> for Authenticated<U>
where
    U: AuthUser,
    AuthState<U>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let t = AuthState::<U>::from_ref(state);
        let run = async {
            match t
                .credential(&parts.headers)?
                .ok_or(ApiError::NotAuthenticated)?
            {
                Credential::Header(raw) => Ok(t.authenticate(raw).await?.into()),
                Credential::Cookie(raw, jar) => {
                    let identity = t.authenticate(raw.as_bytes()).await?;
                    crate::csrf::check_cookie_request(&t, parts, &identity.claims, &jar).await?;
                    Ok(identity.into())
                }
            }
        };
        run.await.map_err(|e: ApiError| t.reject(e))
    }
}

impl<S, U> axum::extract::FromRequestParts<S> for OptionalAuthenticated<U>
where
    U: AuthUser,
    AuthState<U>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let t = AuthState::<U>::from_ref(state);
        match t.credential(&parts.headers) {
            Ok(None) => Ok(OptionalAuthenticated(None)),
            Err(e) => Err(t.reject(e)),
            Ok(Some(_)) => Authenticated::from_request_parts(parts, state)
                .await
                .map(|a| OptionalAuthenticated(Some(a))),
        }
    }
}

/// Works in any app whose state gives Django users' [`AuthState`]; with another user
/// type use [`StatelessFor`].
impl<S> axum::extract::FromRequestParts<S> for Stateless
where
    AuthState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        StatelessFor::<User>::from_request_parts(parts, state)
            .await
            .map(|s| s.0)
    }
}

/// [`Stateless`] in an app whose users are of type `U`: the token alone, no user read.
#[derive(Debug)]
pub struct StatelessFor<U: AuthUser>(pub Stateless, std::marker::PhantomData<fn() -> U>);

impl<S, U> axum::extract::FromRequestParts<S> for StatelessFor<U>
where
    U: AuthUser,
    AuthState<U>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let t = AuthState::<U>::from_ref(state);
        let run = async {
            let id: Stateless = match t
                .credential(&parts.headers)?
                .ok_or(ApiError::NotAuthenticated)?
            {
                Credential::Header(raw) => t.authenticate_stateless(raw).await?.into(),
                Credential::Cookie(raw, jar) => {
                    let identity = t.authenticate_stateless(raw.as_bytes()).await?;
                    crate::csrf::check_cookie_request(&t, parts, &identity.user.claims, &jar)
                        .await?;
                    identity.into()
                }
            };
            Ok(StatelessFor(id, std::marker::PhantomData))
        };
        run.await.map_err(|e: ApiError| t.reject(e))
    }
}
