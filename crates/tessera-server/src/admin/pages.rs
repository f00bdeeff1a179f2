//! The pages' templates (askama: the HTML in `templates/admin/`, checked when the crate
//! compiles) and how a page becomes a response.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What every page's frame shows: where the admin page lives, who is signed in (empty
/// on the sign-in page), the session's CSRF token for the forms, the current section,
/// and a message or an error from the last action.
#[derive(Debug, Clone, Default)]
pub(super) struct Nav {
    pub base: String,
    pub who: String,
    pub csrf: String,
    pub section: &'static str,
    pub message: String,
    pub error: String,
}

/// No script may run, nothing may frame the page, forms post only here.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// A rendered page with the admin headers.
pub(super) fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "admin template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response();
        }
    };
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

#[derive(Template)]
#[template(path = "admin/login.html")]
pub(super) struct LoginPage {
    pub nav: Nav,
    pub username: String,
}

#[derive(Template)]
#[template(path = "admin/message.html")]
pub(super) struct MessagePage {
    pub nav: Nav,
    pub heading: String,
    pub text: String,
}

/// A page that only says something (refusals, missing things).
pub(super) fn message(status: StatusCode, nav: Nav, heading: &str, text: &str) -> Response {
    render(
        status,
        &MessagePage {
            nav,
            heading: heading.to_owned(),
            text: text.to_owned(),
        },
    )
}

/// 404 for a path the admin page does not have.
pub(super) fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        Nav::default(),
        "Not found",
        "There is no such page.",
    )
}

pub(super) struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub active: &'static str,
    pub staff: &'static str,
    pub joined: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub(super) struct UsersPage {
    pub nav: Nav,
    pub q: String,
    pub active: String,
    pub staff: String,
    pub rows: Vec<UserRow>,
    pub next: String,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub(super) struct NewUserPage {
    pub nav: Nav,
    pub username: String,
    pub email: String,
    pub can_grant_staff: bool,
}

pub(super) struct UserView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub superuser: &'static str,
    pub joined: String,
    pub last_login: String,
}

pub(super) struct SessionView {
    pub id: String,
    pub client: String,
    pub agent: String,
    pub short_id: String,
    pub started: String,
    pub last_refreshed: String,
    pub expires: String,
    pub state: &'static str,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub(super) struct UserPage {
    pub nav: Nav,
    pub user: UserView,
    pub sessions: Vec<SessionView>,
    pub can_manage: bool,
    pub can_grant_staff: bool,
}

pub(super) struct TokenView {
    pub id: i64,
    pub jti: String,
    pub hash: String,
    pub user: String,
    pub created: String,
    pub expires: String,
    pub state: &'static str,
    pub state_text: String,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
pub(super) struct TokensPage {
    pub nav: Nav,
    pub user: String,
    pub jti: String,
    pub state: String,
    pub order: String,
    pub rows: Vec<TokenView>,
    pub next: String,
}

#[derive(Template)]
#[template(path = "admin/flush.html")]
pub(super) struct FlushPage {
    pub nav: Nav,
    pub count: u64,
}

pub(super) struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub client: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub(super) struct AuditPage {
    pub nav: Nav,
    pub q: String,
    pub rows: Vec<AuditView>,
    pub next: String,
}

pub(super) struct KeyView {
    pub kid: String,
    pub alg: &'static str,
    pub state: &'static str,
    pub age: String,
    pub published: &'static str,
    pub schedule: String,
    pub no_kid: bool,
    pub can_retire: bool,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
pub(super) struct KeysPage {
    pub nav: Nav,
    /// Where the keys come from, in words.
    pub source: String,
    /// The key set can be changed from here (not `SIGNING_KEY`).
    pub managed: bool,
    /// … and this staff member may (a superuser).
    pub can_change: bool,
    /// Algorithms a new key may have (the set's family), the current one marked.
    pub algorithms: Vec<(&'static str, bool)>,
    pub rows: Vec<KeyView>,
    /// Each state's name and meaning.
    pub states: Vec<(&'static str, &'static str)>,
}
