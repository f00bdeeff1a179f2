//! Signing staff in and out, the [`Staff`] extractor every page takes, the forms' CSRF
//! check and the form reader.
//!
//! The admin session lives in the database: the cookie carries 32 random bytes, the
//! table their SHA-256, so a copy of the database opens no session. A session ends after
//! `ADMIN_IDLE_TIMEOUT` without a request or `ADMIN_SESSION_LIFETIME` after sign-in, at
//! sign-out, and as soon as its user is no longer active staff.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use tessera_axum::{ClientIp, HttpConfig};
use tessera_core::{DjangoId, OsRandom, Random as _, User};
use tessera_engine::{ClientInfo, Error as Domain};
use tessera_store::admin::{AdminSession, AuditEvent};

use super::AdminState;
use super::pages::{LoginPage, Nav, message, render};

/// Django admin's words for every refused sign-in (wrong password, unknown, inactive
/// and non-staff alike: the page says nothing about which).
const REFUSED: &str = "Please enter the correct username and password for a staff account. \
                       Note that both fields may be case-sensitive.";

/// A session is marked as seen at most this often (microseconds): a page view is not a
/// write.
const TOUCH_EVERY: i64 = 60_000_000;

impl FromRef<AdminState> for HttpConfig {
    fn from_ref(s: &AdminState) -> HttpConfig {
        s.auth.http().clone()
    }
}

/// A signed-in staff member, for a request.
pub(super) struct Staff {
    pub user: User,
    pub session: AdminSession,
    /// The client's address, as text (empty when unknown).
    pub client: String,
    /// The request's time (microseconds).
    pub now: i64,
}

impl Staff {
    /// The frame of a page for this staff member.
    pub fn nav(&self, s: &AdminState, section: &'static str) -> Nav {
        Nav {
            base: s.inner.base.clone(),
            who: self.user.username.clone(),
            csrf: self.session.csrf.clone(),
            section,
            ..Nav::default()
        }
    }

    /// A page saying the action failed (a database error; details in the log).
    pub fn failed(&self, s: &AdminState, why: &str) -> Response {
        tracing::error!(error = why, "admin page: storage failure");
        message(
            StatusCode::SERVICE_UNAVAILABLE,
            self.nav(s, ""),
            "Try again",
            "The database did not answer; nothing was changed.",
        )
    }

    /// A page refusing an action this staff member may not take.
    pub fn forbidden(&self, s: &AdminState, why: &str) -> Response {
        message(StatusCode::FORBIDDEN, self.nav(s, ""), "Not allowed", why)
    }
}

/// The admin cookie's value, if the request carries exactly one.
fn cookie_secret(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        for pair in value.to_str().ok()?.split(';') {
            if let Some((n, v)) = pair.trim().split_once('=')
                && n == name
            {
                if found.is_some() {
                    return None;
                }
                found = Some(v.to_owned());
            }
        }
    }
    found
}

fn sha256_hex(text: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    tessera_core::clock::hex(d.as_ref())
}

fn random_text(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRandom.fill(&mut b);
    tessera_core::clock::hex(&b)
}

/// The `Set-Cookie` of the admin session (`secret` empty: its removal).
fn session_cookie(s: &AdminState, secret: &str) -> HeaderValue {
    let mut c = format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Strict",
        s.inner.cookie_name
    );
    if secret.is_empty() {
        c.push_str("; Max-Age=0");
    }
    if s.inner.secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Where an unauthenticated request is sent: the sign-in page (a page view), or a 403
/// page (a form post, which must not be replayed after signing in).
fn to_sign_in(s: &AdminState, parts: &Parts, note: &str) -> Response {
    if parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD {
        let mut r = Redirect::to(&s.url(&format!("login/?note={note}"))).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return r;
    }
    let nav = Nav {
        base: s.inner.base.clone(),
        ..Nav::default()
    };
    message(
        StatusCode::FORBIDDEN,
        nav,
        "Sign in first",
        "This action needs a signed-in staff member; nothing was changed.",
    )
}

impl FromRequestParts<AdminState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AdminState) -> Result<Staff, Response> {
        let Some(secret) = cookie_secret(&parts.headers, &s.inner.cookie_name) else {
            return Err(to_sign_in(s, parts, "signin"));
        };
        let id = sha256_hex(&secret);
        let now = s.now();
        let session = match s.store.admin_session(&id).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(to_sign_in(s, parts, "signin")),
            Err(e) => {
                tracing::error!(error = %e, "admin page: storage failure");
                return Err(message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Nav::default(),
                    "Try again",
                    "The database did not answer.",
                ));
            }
        };
        let expired = now - session.seen_at > s.inner.idle_micros
            || now - session.created_at > s.inner.lifetime_micros;
        let user = match DjangoId::parse(&session.user_key) {
            Some(uid) if !expired => s.store.user_by_id(uid).await.ok().flatten(),
            _ => None,
        };
        let Some(user) = user.filter(|u| u.is_active && u.is_staff) else {
            let _ = s.store.delete_admin_session(&id).await;
            return Err(to_sign_in(s, parts, "expired"));
        };
        if now - session.seen_at > TOUCH_EVERY {
            let _ = s.store.touch_admin_session(&id, now).await;
        }
        let client = ClientIp::from_request_parts(parts, s)
            .await
            .ok()
            .and_then(|c| c.0)
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        Ok(Staff {
            user,
            session,
            client,
            now,
        })
    }
}

/// A posted form's fields (`application/x-www-form-urlencoded`), repeated names kept.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of `name` (empty when absent).
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    /// Whether a checkbox `name` was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == "on")
    }
    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl FromRequest<AdminState> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AdminState) -> Result<Form, Response> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let bad = |text: &str| {
            let nav = Nav {
                base: s.inner.base.clone(),
                ..Nav::default()
            };
            message(StatusCode::BAD_REQUEST, nav, "Bad request", text)
        };
        if !is_form {
            return Err(bad("Send the page's form."));
        }
        let bytes = axum::body::Bytes::from_request(req, s)
            .await
            .map_err(|_| bad("The form could not be read."))?;
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map(Form)
            .map_err(|_| bad("The form could not be read."))
    }
}

/// The CSRF check of a staff member's form: it comes from this site (Fetch Metadata or
/// `Origin`), and carries the session's token (compared in constant time). `Some`: the
/// refusal to answer with.
pub(super) fn csrf_refusal(
    s: &AdminState,
    headers: &HeaderMap,
    staff: &Staff,
    form: &Form,
) -> Option<Response> {
    let refuse = |why: &str| {
        Some(message(
            StatusCode::FORBIDDEN,
            staff.nav(s, ""),
            "Refused",
            &format!(
                "CSRF check failed ({why}); nothing was changed. Reload the page and try again."
            ),
        ))
    };
    if tessera_axum::check_request_source(headers, &s.inner.allowed_origins).is_err() {
        return refuse("the form was sent from another site");
    }
    let sent = form.get("csrf");
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        sent.as_bytes(),
        staff.session.csrf.as_bytes(),
    )
    .is_err()
    {
        return refuse("the form's token does not match");
    }
    None
}

#[derive(serde::Deserialize)]
pub(super) struct LoginQuery {
    #[serde(default)]
    note: String,
}

/// `GET login/`.
pub(super) async fn login_page(
    State(s): State<AdminState>,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    let mut nav = Nav {
        base: s.inner.base.clone(),
        ..Nav::default()
    };
    match q.note.as_str() {
        "expired" => nav.error = "Your admin session ended; sign in again.".into(),
        "signedout" => nav.message = "Signed out.".into(),
        _ => {}
    }
    render(
        StatusCode::OK,
        &LoginPage {
            nav,
            username: String::new(),
        },
    )
}

/// `POST login/`: the API's login flow (hashing, throttling, inactive users), then
/// staff only.
pub(super) async fn sign_in(
    State(s): State<AdminState>,
    client: ClientIp,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let username = form.get("username");
    let page = |status: StatusCode, error: &str| {
        let nav = Nav {
            base: s.inner.base.clone(),
            error: error.to_owned(),
            ..Nav::default()
        };
        render(
            status,
            &LoginPage {
                nav,
                username: username.clone(),
            },
        )
    };
    if tessera_axum::check_request_source(&headers, &s.inner.allowed_origins).is_err() {
        return page(
            StatusCode::FORBIDDEN,
            "CSRF check failed: the form was sent from another site.",
        );
    }
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let info = ClientInfo::new(client.0).with_user_agent(agent);
    let user = match s.auth.login(&username, &form.get("password"), &info).await {
        Ok(user) => user,
        Err(Domain::Throttled { retry_after_secs }) => {
            return page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too many failed sign-ins: try again in {retry_after_secs} seconds."),
            );
        }
        Err(e) if e.is_credential_error() || matches!(e, Domain::Invalid(_)) => {
            return page(StatusCode::UNAUTHORIZED, REFUSED);
        }
        Err(e) => {
            tracing::error!(error = %e, "admin sign-in failed");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server could not check the password; try again.",
            );
        }
    };
    let now = s.now();
    let client_text = client.0.map(|ip| ip.to_string()).unwrap_or_default();
    if !user.is_staff {
        s.audit
            .write(AuditEvent {
                at: now,
                actor: user.username.clone(),
                action: "admin_sign_in_refused".into(),
                target: "admin".into(),
                client: client_text,
                detail: "not staff".into(),
            })
            .await;
        return page(StatusCode::FORBIDDEN, REFUSED);
    }
    let secret = random_text(32);
    let session = AdminSession {
        id: sha256_hex(&secret),
        user_key: user.id.to_string(),
        csrf: random_text(32),
        created_at: now,
        seen_at: now,
    };
    // Sign-in is a good moment to clear sessions that timed out.
    let _ = s
        .store
        .expire_admin_sessions(now - s.inner.idle_micros, now - s.inner.lifetime_micros)
        .await;
    if let Err(e) = s.store.create_admin_session(&session).await {
        tracing::error!(error = %e, "admin sign-in: storage failure");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database did not answer.",
        );
    }
    s.audit
        .write(AuditEvent {
            at: now,
            actor: user.username.clone(),
            action: "admin_signed_in".into(),
            target: "admin".into(),
            client: client_text,
            detail: String::new(),
        })
        .await;
    let mut r = Redirect::to(&s.url("users/")).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&s, &secret));
    r
}

/// `POST logout/`.
pub(super) async fn sign_out(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    form: Form,
) -> Response {
    if let Some(r) = csrf_refusal(&s, &headers, &staff, &form) {
        return r;
    }
    let _ = s.store.delete_admin_session(&staff.session.id).await;
    s.audit.admin(&staff, "admin_signed_out", "admin", "").await;
    let mut r = Redirect::to(&s.url("login/?note=signedout")).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&s, ""));
    r
}
