//! Users: the list (search, filters, keyset pages), a user's page with their sessions,
//! and what staff do to a user: create, edit, set a password, end sessions, delete.
//!
//! Staff accounts are a superuser's business: a plain staff member manages ordinary
//! users only, and cannot make anyone staff.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tessera_core::{DjangoId, User};
use tessera_store::NewUser;
use tessera_store::admin::{UserProfile, UserQuery};

use super::pages::{NewUserPage, SessionView, UserPage, UserRow, UserView, render};
use super::session::{Form, Staff, csrf_refusal};
use super::{AdminState, when, when_opt};

/// Users a page lists.
const PAGE: u32 = 100;
/// Sessions a user's page lists (the newest).
const SESSIONS: u32 = 50;

/// `text` as a URL query value.
pub(super) fn query_text(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .unwrap_or_default()
        .trim_start_matches('=')
        .to_owned()
}

fn flag(text: &str) -> Option<bool> {
    match text {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

/// What a finished action says on the page it lands on (`?done=`): fixed texts, so a
/// link cannot make the page say anything else.
pub(super) fn done_text(code: &str) -> &'static str {
    match code {
        "created" => "User created.",
        "saved" => "Changes saved.",
        "password" => "Password set; every session of the user ended.",
        "ended" => "Session ended: its refresh token is refused from now on.",
        "ended-all" => "Every session of the user ended.",
        "deleted" => "User deleted.",
        "blacklisted" => "Blacklisted: refused from now on.",
        "unblacklisted" => "Removed from the blacklist: accepted again.",
        "flushed" => "Expired tokens removed.",
        "kept-ended" => "Not removed: the token's session was ended, so it stays refused.",
        "spent" => "Not removed: a rotation spent this token; a second use would fork its session.",
        _ => "",
    }
}

/// `GET users/`.
pub(super) async fn list(
    State(s): State<AdminState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Response {
    let query = UserQuery {
        search: q.q.trim().to_owned(),
        active: flag(&q.active),
        staff: flag(&q.staff),
        after: DjangoId::parse(&q.after),
        limit: PAGE,
    };
    let users = match s.store.users_page(&query).await {
        Ok(u) => u,
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    let next = match users.last() {
        Some(last) if users.len() == PAGE as usize => s.url(&format!(
            "users/?q={}&active={}&staff={}&after={}",
            query_text(&query.search),
            query_text(&q.active),
            query_text(&q.staff),
            last.id
        )),
        _ => String::new(),
    };
    let mut nav = staff.nav(&s, "users");
    nav.message = done_text(&q.done).to_owned();
    let page = super::pages::UsersPage {
        nav,
        q: query.search,
        active: q.active,
        staff: q.staff,
        rows: users
            .into_iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                username: u.username,
                email: u.email,
                active: yes_no(u.is_active),
                staff: yes_no(u.is_staff),
                joined: when(u.date_joined),
            })
            .collect(),
        next,
    };
    render(StatusCode::OK, &page)
}

/// May `staff` manage `user`? Superusers manage everyone; staff manage ordinary users.
fn may_manage(staff: &Staff, user: &User) -> bool {
    staff.user.is_superuser || !(user.is_staff || user.is_superuser)
}

/// The user of a path, or the page to answer instead.
async fn find(s: &AdminState, staff: &Staff, id: &str) -> Result<User, Response> {
    let Some(id) = DjangoId::parse(id) else {
        return Err(super::pages::not_found());
    };
    match s.store.user_by_id(id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(super::pages::message(
            StatusCode::NOT_FOUND,
            staff.nav(s, "users"),
            "No such user",
            "The user does not exist (any more).",
        )),
        Err(e) => Err(staff.failed(s, &e.to_string())),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// `GET users/{id}/`: the user, their sessions, the forms.
pub(super) async fn detail(
    State(s): State<AdminState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let user = match find(&s, &staff, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    user_page(&s, &staff, user, done_text(&q.done), "").await
}

async fn user_page(
    s: &AdminState,
    staff: &Staff,
    user: User,
    message: &str,
    error: &str,
) -> Response {
    let sessions = match s
        .store
        .sessions_of(&user.id.to_string(), user.id.as_int(), SESSIONS)
        .await
    {
        Ok(v) => v,
        Err(e) => return staff.failed(s, &e.to_string()),
    };
    let mut nav = staff.nav(s, "users");
    nav.message = message.to_owned();
    nav.error = error.to_owned();
    let can_manage = may_manage(staff, &user);
    let now = staff.now;
    let page = UserPage {
        nav,
        can_manage,
        can_grant_staff: staff.user.is_superuser,
        sessions: sessions
            .into_iter()
            .map(|r| {
                let (state, live) = match (r.ended, r.expires) {
                    (Some(_), _) => ("ended", false),
                    (None, Some(exp)) if exp <= now => ("expired", false),
                    _ => ("live", true),
                };
                SessionView {
                    client: r.client_ip.unwrap_or_else(|| "\u{2014}".to_owned()),
                    agent: r.user_agent.unwrap_or_else(|| "\u{2014}".to_owned()),
                    short_id: r.id.chars().take(8).collect(),
                    started: when(r.started),
                    last_refreshed: when_opt(r.last_refreshed),
                    expires: when_opt(r.expires),
                    state,
                    live,
                    id: r.id,
                }
            })
            .collect(),
        user: UserView {
            id: user.id.to_string(),
            superuser: yes_no(user.is_superuser),
            joined: when(user.date_joined),
            last_login: when_opt(user.last_login),
            username: user.username,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            is_active: user.is_active,
            is_staff: user.is_staff,
        },
    };
    render(StatusCode::OK, &page)
}

/// Looks the user up and checks the form and the right to manage them.
async fn managed(
    s: &AdminState,
    staff: &Staff,
    headers: &HeaderMap,
    form: &Form,
    id: &str,
) -> Result<User, Response> {
    if let Some(r) = csrf_refusal(s, headers, staff, form) {
        return Err(r);
    }
    let user = find(s, staff, id).await?;
    if !may_manage(staff, &user) {
        return Err(staff.forbidden(s, "Only a superuser manages staff accounts."));
    }
    Ok(user)
}

fn back(s: &AdminState, user: &User, done: &str) -> Response {
    Redirect::to(&s.url(&format!("users/{}/?done={done}", user.id))).into_response()
}

/// `POST users/{id}/`: email, names, active, staff (a superuser's).
pub(super) async fn edit(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let user = match managed(&s, &staff, &headers, &form, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let profile = UserProfile {
        email: form.get("email").trim().to_owned(),
        first_name: form.get("first_name"),
        last_name: form.get("last_name"),
        is_active: form.ticked("is_active"),
        is_staff: if staff.user.is_superuser {
            form.ticked("is_staff")
        } else {
            user.is_staff
        },
    };
    let too_long = profile.email.chars().count() > 254
        || profile.first_name.chars().count() > 150
        || profile.last_name.chars().count() > 150;
    let bad_text = [&profile.email, &profile.first_name, &profile.last_name]
        .iter()
        .any(|t| t.contains('\0'));
    if too_long || bad_text || (!profile.email.is_empty() && !profile.email.contains('@')) {
        return user_page(
            &s,
            &staff,
            user,
            "",
            "Not saved: an email address has an @, names are at most 150 characters.",
        )
        .await;
    }
    if user.id == staff.user.id && !(profile.is_active && profile.is_staff) {
        return user_page(
            &s,
            &staff,
            user,
            "",
            "Not saved: you cannot deactivate your own account or take away your own staff status.",
        )
        .await;
    }
    match s.store.update_profile(user.id, &profile).await {
        Ok(_) => {}
        Err(e) => return staff.failed(&s, &e.to_string()),
    }
    let mut changes = Vec::new();
    if profile.is_active != user.is_active {
        changes.push(format!("active={}", profile.is_active));
    }
    if profile.is_staff != user.is_staff {
        changes.push(format!("staff={}", profile.is_staff));
    }
    if profile.email != user.email {
        changes.push("email".to_owned());
    }
    s.audit
        .admin(
            &staff,
            "admin_user_edited",
            &user.username,
            &changes.join(", "),
        )
        .await;
    // A deactivated user's sessions are refused from now on (as Simple JWT refuses
    // inactive users' tokens); the user caches of every instance drop the row.
    s.auth.forget_user(&user.id);
    back(&s, &user, "saved")
}

/// `POST users/{id}/password/`: a new password (strength rules as the CLI's); every
/// session of the user ends (the engine's `set_password`).
pub(super) async fn set_password(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let user = match managed(&s, &staff, &headers, &form, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let password = form.get("password");
    let mut problems = tessera_core::password::strength_problems(&user.username, &password);
    if password.contains('\0') || password.len() > tessera_core::password::MAX_PASSWORD_LEN {
        problems.push("The password has characters or a length that cannot be used.");
    }
    if !problems.is_empty() {
        let text = format!("Password not set: {}", problems.join(" "));
        return user_page(&s, &staff, user, "", &text).await;
    }
    if let Err(e) = s.auth.set_password(&user, &password).await {
        return staff.failed(&s, &e.to_string());
    }
    s.audit
        .admin(&staff, "admin_password_set", &user.username, "")
        .await;
    back(&s, &user, "password")
}

/// `POST users/{id}/sessions/{session}/end/`: the engine ends the session everywhere.
pub(super) async fn end_session(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path((id, session)): Path<(String, String)>,
    form: Form,
) -> Response {
    let user = match managed(&s, &staff, &headers, &form, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    // Only a session of this user (the page's own links): the id must be one of theirs.
    let theirs = match s
        .store
        .session_belongs_to(&session, &user.id.to_string(), user.id.as_int())
        .await
    {
        Ok(yes) => yes,
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    if !theirs {
        return super::pages::not_found();
    }
    if let Err(e) = s.auth.end_session(&session).await {
        return staff.failed(&s, &e.to_string());
    }
    s.audit
        .admin(&staff, "admin_session_ended", &user.username, &session)
        .await;
    back(&s, &user, "ended")
}

/// `POST users/{id}/sessions/end-all/`: logout everywhere, for the user.
pub(super) async fn end_all_sessions(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let user = match managed(&s, &staff, &headers, &form, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let ended = match s.auth.revoke_user(&user).await {
        Ok(n) => n,
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    s.audit
        .admin(
            &staff,
            "admin_sessions_ended",
            &user.username,
            &format!("{ended} sessions"),
        )
        .await;
    back(&s, &user, "ended-all")
}

/// `POST users/{id}/delete/`: every session ends, then the account goes.
pub(super) async fn delete(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let user = match managed(&s, &staff, &headers, &form, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if user.id == staff.user.id {
        return user_page(&s, &staff, user, "", "You cannot delete your own account.").await;
    }
    if !form.ticked("confirm") {
        return user_page(
            &s,
            &staff,
            user,
            "",
            "Tick the box to confirm the deletion.",
        )
        .await;
    }
    if let Err(e) = s.auth.revoke_user(&user).await {
        return staff.failed(&s, &e.to_string());
    }
    if let Err(e) = s.store.delete_user(user.id).await {
        return staff.failed(&s, &e.to_string());
    }
    s.auth.forget_user(&user.id);
    s.audit
        .admin(&staff, "admin_user_deleted", &user.username, "")
        .await;
    Redirect::to(&s.url("users/?done=deleted")).into_response()
}

/// `GET users/new/`.
pub(super) async fn new_page(State(s): State<AdminState>, staff: Staff) -> Response {
    render(
        StatusCode::OK,
        &NewUserPage {
            nav: staff.nav(&s, "users"),
            username: String::new(),
            email: String::new(),
            can_grant_staff: staff.user.is_superuser,
        },
    )
}

/// `POST users/new/`: as `tessera createuser` (username rules, password strength).
pub(super) async fn create(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    form: Form,
) -> Response {
    if let Some(r) = csrf_refusal(&s, &headers, &staff, &form) {
        return r;
    }
    let username = form.get("username").trim().to_owned();
    let email = form.get("email").trim().to_owned();
    let password = form.get("password");
    let again = |error: String| {
        let mut nav = staff.nav(&s, "users");
        nav.error = error;
        render(
            StatusCode::BAD_REQUEST,
            &NewUserPage {
                nav,
                username: username.clone(),
                email: email.clone(),
                can_grant_staff: staff.user.is_superuser,
            },
        )
    };
    let name = tessera_core::username::normalize(&username);
    let name_problems = tessera_core::username::problems(&name);
    if !name_problems.is_empty() {
        return again(format!("Not created: {}", name_problems.join(" ")));
    }
    let problems = tessera_core::password::strength_problems(&name, &password);
    if !problems.is_empty() {
        return again(format!("Not created: {}", problems.join(" ")));
    }
    if email.chars().count() > 254
        || email.contains('\0')
        || (!email.is_empty() && !email.contains('@'))
    {
        return again("Not created: the email address is not valid.".into());
    }
    let hash = match s.auth.hash_password(password).await {
        Ok(h) => h,
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    let mut nu = NewUser::new(&name, &hash, staff.now);
    nu.email = email.clone();
    nu.is_staff = staff.user.is_superuser && form.ticked("is_staff");
    let user = match s.store.create_user(&nu).await {
        Ok(u) => u,
        Err(tessera_store::Error::UsernameTaken(_)) => {
            return again("Not created: a user with that username already exists.".into());
        }
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    s.audit
        .admin(
            &staff,
            "admin_user_created",
            &user.username,
            if nu.is_staff { "staff" } else { "" },
        )
        .await;
    back(&s, &user, "created")
}
