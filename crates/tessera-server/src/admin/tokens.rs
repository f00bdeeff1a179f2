//! Tokens: outstanding refresh and sliding tokens (never the token itself: its id and
//! a short hash), searched by user or jti, filtered by state, in keyset pages of 100;
//! blacklisting one or a selection, removing one from the blacklist, and flushing the
//! expired ones.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tessera_store::admin::{TokenOrder, TokenQuery, TokenState, Unblacklisted};

use super::pages::{FlushPage, TokenView, TokensPage, render};
use super::session::{Form, Staff, csrf_refusal};
use super::users::query_text;
use super::{AdminState, when, when_opt};

const PAGE: u32 = 100;

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    jti: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    done: String,
}

fn order_of(text: &str) -> TokenOrder {
    match text {
        "oldest" => TokenOrder::Oldest,
        "expires-last" => TokenOrder::ExpiresLast,
        "expires-first" => TokenOrder::ExpiresFirst,
        _ => TokenOrder::Newest,
    }
}

fn state_of(text: &str) -> Option<TokenState> {
    match text {
        "live" => Some(TokenState::Live),
        "expired" => Some(TokenState::Expired),
        "blacklisted" => Some(TokenState::Blacklisted),
        _ => None,
    }
}

/// `GET tokens/`.
pub(super) async fn list(
    State(s): State<AdminState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Response {
    let order = order_of(&q.order);
    let username = q.user.trim().to_owned();
    // A user is found by name first; an unknown name lists nothing.
    let user_id = if username.is_empty() {
        None
    } else if username.contains('\0') {
        Some(-1)
    } else {
        match s.store.user_by_username(&username).await {
            Ok(Some(u)) => Some(u.id.as_int().unwrap_or(-1)),
            Ok(None) => Some(-1),
            Err(e) => return staff.failed(&s, &e.to_string()),
        }
    };
    let after = q
        .after
        .split_once(':')
        .and_then(|(k, id)| Some((k.parse::<i64>().ok()?, id.parse::<i64>().ok()?)));
    let query = TokenQuery {
        user_id,
        jti: q.jti.trim().to_owned(),
        state: state_of(&q.state),
        order,
        after,
        limit: PAGE,
        now: staff.now,
    };
    let rows = match s.store.tokens_page(&query).await {
        Ok(r) => r,
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    let next = match rows.last() {
        Some(last) if rows.len() == PAGE as usize => {
            let key = match query.effective_order() {
                TokenOrder::ExpiresFirst | TokenOrder::ExpiresLast => last.expires_at,
                TokenOrder::Newest | TokenOrder::Oldest => last.id,
            };
            s.url(&format!(
                "tokens/?user={}&jti={}&state={}&order={}&after={key}:{}",
                query_text(&username),
                query_text(&query.jti),
                query_text(&q.state),
                query_text(&q.order),
                last.id
            ))
        }
        _ => String::new(),
    };
    let mut nav = staff.nav(&s, "tokens");
    nav.message = super::users::done_text(&q.done).to_owned();
    // Usernames for the page's rows, one lookup per distinct user.
    let mut names = std::collections::BTreeMap::new();
    for id in rows.iter().filter_map(|r| r.user_id) {
        if let std::collections::btree_map::Entry::Vacant(e) = names.entry(id) {
            let name = s
                .store
                .user_by_id(tessera_core::DjangoId::Int(id))
                .await
                .ok()
                .flatten()
                .map_or_else(|| format!("#{id}"), |u| u.username);
            e.insert(name);
        }
    }
    let now = staff.now;
    let page = TokensPage {
        nav,
        user: username,
        jti: query.jti,
        state: q.state,
        order: q.order,
        rows: rows
            .into_iter()
            .map(|t| {
                let (state, state_text) = match (t.blacklisted_at, t.expires_at <= now) {
                    (Some(at), _) => (
                        "blacklisted",
                        format!(
                            "blacklisted {}{}",
                            when(at),
                            t.reason.map(|r| format!(" ({r})")).unwrap_or_default()
                        ),
                    ),
                    (None, true) => ("expired", "expired".to_owned()),
                    (None, false) => ("live", "live".to_owned()),
                };
                TokenView {
                    id: t.id,
                    user: t
                        .user_id
                        .and_then(|id| names.get(&id).cloned())
                        .unwrap_or_default(),
                    hash: t.short_hash,
                    created: when_opt(t.created_at),
                    expires: when(t.expires_at),
                    jti: t.jti,
                    state,
                    state_text,
                }
            })
            .collect(),
        next,
    };
    render(StatusCode::OK, &page)
}

/// Blacklists ledger rows; every instance refuses them from the next request (the
/// blacklist is read from the database).
async fn blacklist_ids(s: &AdminState, staff: &Staff, ids: Vec<i64>) -> Response {
    if ids.is_empty() {
        return Redirect::to(&s.url("tokens/")).into_response();
    }
    let added = match s.store.blacklist_rows(&ids, staff.now).await {
        Ok(n) => n,
        Err(e) => return staff.failed(s, &e.to_string()),
    };
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    s.audit
        .admin(
            staff,
            "admin_tokens_blacklisted",
            &format!("tokens {}", list.join(","))
                .chars()
                .take(250)
                .collect::<String>(),
            &format!("{added} newly blacklisted"),
        )
        .await;
    Redirect::to(&s.url("tokens/?done=blacklisted")).into_response()
}

/// `POST tokens/blacklist/` with the selected `ids`.
pub(super) async fn blacklist(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    form: Form,
) -> Response {
    if let Some(r) = csrf_refusal(&s, &headers, &staff, &form) {
        return r;
    }
    let ids: Vec<i64> = form
        .all("ids")
        .iter()
        .filter_map(|v| v.parse().ok())
        .take(1000)
        .collect();
    blacklist_ids(&s, &staff, ids).await
}

/// `POST tokens/{id}/blacklist/`: one row.
pub(super) async fn blacklist_one(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<i64>,
    form: Form,
) -> Response {
    if let Some(r) = csrf_refusal(&s, &headers, &staff, &form) {
        return r;
    }
    blacklist_ids(&s, &staff, vec![id]).await
}

/// `POST tokens/{id}/unblacklist/`.
pub(super) async fn unblacklist(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<i64>,
    form: Form,
) -> Response {
    if let Some(r) = csrf_refusal(&s, &headers, &staff, &form) {
        return r;
    }
    let done = match s.store.unblacklist_row(id).await {
        Ok(Unblacklisted::Removed) => "unblacklisted",
        Ok(Unblacklisted::NotBlacklisted) => "",
        Ok(Unblacklisted::SessionEnded) => "kept-ended",
        Ok(Unblacklisted::Spent) => "spent",
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    if done == "unblacklisted" {
        s.audit
            .admin(
                &staff,
                "admin_token_unblacklisted",
                &format!("token {id}"),
                "",
            )
            .await;
    }
    Redirect::to(&s.url(&format!("tokens/?done={done}"))).into_response()
}

/// `GET tokens/flush/`: how many rows a flush removes, and the button.
pub(super) async fn flush_page(State(s): State<AdminState>, staff: Staff) -> Response {
    let count = match s.store.count_expired(staff.now).await {
        Ok(n) => n,
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    render(
        StatusCode::OK,
        &FlushPage {
            nav: staff.nav(&s, "tokens"),
            count,
        },
    )
}

/// `POST tokens/flush/`: `tessera flushexpiredtokens`, in bounded batches.
pub(super) async fn flush(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    form: Form,
) -> Response {
    if let Some(r) = csrf_refusal(&s, &headers, &staff, &form) {
        return r;
    }
    let mut removed = 0;
    loop {
        match s.store.flush_expired_batch(staff.now, 10_000).await {
            Ok(0) => break,
            Ok(n) => removed += n,
            Err(e) => return staff.failed(&s, &e.to_string()),
        }
    }
    s.audit
        .admin(
            &staff,
            "admin_tokens_flushed",
            "ledger",
            &format!("{removed} expired tokens removed"),
        )
        .await;
    Redirect::to(&s.url("tokens/?done=flushed")).into_response()
}
