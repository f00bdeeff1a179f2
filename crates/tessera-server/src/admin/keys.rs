//! The keys page: the signing key set (kid, algorithm, state, age, published or not)
//! and, for superusers, generate, rotate and retire.
//!
//! The actions are those of `tessera keys` ([`KeySource`]): with `KEY_STORE =
//! "database"` every instance follows within a second; with key files this server
//! reloads at once (other hosts' files are theirs). After a rotation the old key keeps
//! verifying, so nobody is logged out; retiring a key ends the tokens it signed, which
//! the page says before the button.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use tessera_core::Algorithm;
use tessera_engine::{KeyInfo, KeyState};

use super::pages::{KeyView, KeysPage, render};
use super::session::{Form, Staff, csrf_refusal};
use super::{AdminState, when};
use crate::key_source::KeySource;

#[derive(serde::Deserialize)]
pub(super) struct KeysQuery {
    #[serde(default)]
    done: String,
}

/// What a finished key action says (fixed texts, as for the other pages).
fn done_text(code: &str) -> &'static str {
    match code {
        "generated" => "Key generated: published and verifying; rotate to make it sign.",
        "rotated" => {
            "Rotated: the new key signs; the old one keeps verifying the tokens it signed."
        }
        "retired" => "Key retired: tokens it signed are refused from now on.",
        _ => "",
    }
}

/// How old a key is, as a person says it.
fn age(now: i64, created_at: i64) -> String {
    if created_at <= 0 {
        return "\u{2014}".into();
    }
    let secs = (now - created_at).max(0) / 1_000_000;
    match secs {
        s if s < 120 => format!("{s} seconds"),
        s if s < 7200 => format!("{} minutes", s / 60),
        s if s < 2 * 86_400 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// `GET keys/`.
pub(super) async fn list(
    State(s): State<AdminState>,
    staff: Staff,
    Query(q): Query<KeysQuery>,
) -> Response {
    let current = s.auth.engine().tokens().keys();
    let (keys, source) = match &s.keys {
        Some(source) => match source.list(Some(&current)).await {
            Ok(k) => (k, source.describe()),
            Err(e) => return staff.failed(&s, &e.to_string()),
        },
        None => (
            KeySource::Configured
                .list(Some(&current))
                .await
                .unwrap_or_default(),
            KeySource::Configured.describe(),
        ),
    };
    let managed = s.keys.as_ref().is_some_and(KeySource::is_managed);
    let mut nav = staff.nav(&s, "keys");
    nav.message = done_text(&q.done).to_owned();
    let algorithm = current.algorithm();
    let page = KeysPage {
        nav,
        source,
        can_change: managed && staff.user.is_superuser,
        managed,
        algorithms: Algorithm::all()
            .filter(|a| a.is_hmac() == algorithm.is_hmac())
            .map(|a| (a.name(), a == algorithm))
            .collect(),
        rows: keys.iter().map(|k| view(k, staff.now)).collect(),
        states: [KeyState::Next, KeyState::Active, KeyState::Previous]
            .iter()
            .map(|st| (st.name(), st.meaning()))
            .collect(),
    };
    render(StatusCode::OK, &page)
}

fn view(k: &KeyInfo, now: i64) -> KeyView {
    let schedule = match (k.state, k.activates_at, k.retires_at) {
        (KeyState::Next, Some(at), _) => format!("signs from {}", when(at)),
        (_, _, Some(at)) => format!("retires {}", when(at)),
        _ => String::new(),
    };
    KeyView {
        kid: k.kid.clone(),
        alg: k.alg.name(),
        state: k.state.name(),
        age: age(now, k.created_at),
        published: if k.published {
            "yes"
        } else {
            "no (shared secret)"
        },
        schedule,
        no_kid: k.accepts_tokens_without_kid,
        can_retire: k.state != KeyState::Active,
    }
}

/// The checks every key action passes: a managed key set, a superuser, the CSRF
/// check. `Err`: the refusal to answer with.
fn allowed<'a>(
    s: &'a AdminState,
    staff: &Staff,
    headers: &HeaderMap,
    form: &Form,
) -> Result<&'a KeySource, Box<Response>> {
    if let Some(r) = csrf_refusal(s, headers, staff, form) {
        return Err(Box::new(r));
    }
    if !staff.user.is_superuser {
        return Err(Box::new(
            staff.forbidden(s, "Only a superuser changes the signing keys."),
        ));
    }
    match &s.keys {
        Some(source) if source.is_managed() => Ok(source),
        _ => Err(Box::new(staff.forbidden(
            s,
            "The keys come from SIGNING_KEY: change the setting (or the file it names), then send the servers SIGHUP.",
        ))),
    }
}

/// Applies a change to this server at once, records it, and goes back to the list.
async fn finish(
    s: &AdminState,
    staff: &Staff,
    source: &KeySource,
    action: &str,
    target: &str,
    detail: &str,
    done: &str,
) -> Response {
    if let Err(e) = source.apply(&s.config, s.auth.engine()).await {
        tracing::warn!(error = %e, "admin page: the changed key set did not load here");
    }
    s.audit.admin(staff, action, target, detail).await;
    Redirect::to(&s.url(&format!("keys/?done={done}"))).into_response()
}

/// A refused change (e.g. retiring the active key): the reason on the keys page.
fn refused(s: &AdminState, staff: &Staff, why: &str) -> Response {
    super::pages::message(
        StatusCode::CONFLICT,
        staff.nav(s, "keys"),
        "Not changed",
        why,
    )
}

/// `POST keys/generate/` with `alg`.
pub(super) async fn generate(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let source = match allowed(&s, &staff, &headers, &form) {
        Ok(source) => source,
        Err(r) => return *r,
    };
    let Some(alg) = Algorithm::from_name(&form.get("alg")) else {
        return refused(&s, &staff, "Choose one of the listed algorithms.");
    };
    match source.generate(alg).await {
        Ok(k) => {
            finish(
                &s,
                &staff,
                source,
                "admin_key_generated",
                &k.kid,
                alg.name(),
                "generated",
            )
            .await
        }
        Err(e) => refused(&s, &staff, &e.to_string()),
    }
}

/// `POST keys/rotate/`.
pub(super) async fn rotate(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    form: Form,
) -> Response {
    let source = match allowed(&s, &staff, &headers, &form) {
        Ok(source) => source,
        Err(r) => return *r,
    };
    match source.rotate().await {
        Ok(r) => {
            let detail = format!("was {}", r.old.as_deref().unwrap_or("none"));
            finish(
                &s,
                &staff,
                source,
                "admin_key_rotated",
                &r.new,
                &detail,
                "rotated",
            )
            .await
        }
        Err(e) => refused(&s, &staff, &e.to_string()),
    }
}

/// `POST keys/{kid}/retire/`.
pub(super) async fn retire(
    State(s): State<AdminState>,
    staff: Staff,
    headers: HeaderMap,
    Path(kid): Path<String>,
    form: Form,
) -> Response {
    let source = match allowed(&s, &staff, &headers, &form) {
        Ok(source) => source,
        Err(r) => return *r,
    };
    match source.retire(&kid).await {
        Ok(()) => finish(&s, &staff, source, "admin_key_retired", &kid, "", "retired").await,
        Err(e) => refused(&s, &staff, &e.to_string()),
    }
}
