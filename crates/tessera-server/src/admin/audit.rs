//! The audit log: admin actions (written before the page answers, so the next page
//! shows them) and the engine's security events (queued, then written in batches off the
//! request's path), all in the `tessera_audit_log` table and as `tessera::security`
//! log lines.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use tessera_engine::{SecurityRecord, SecuritySink};
use tessera_store::Store;
use tessera_store::admin::AuditEvent;
use tokio::sync::mpsc;

use super::pages::{AuditPage, AuditView, render};
use super::session::Staff;
use super::{AdminState, when};

/// How many entries an audit page shows.
const PAGE: u32 = 100;

/// The audit log's writer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditLog {
    store: Arc<dyn Store>,
    queue: mpsc::UnboundedSender<Queued>,
}

/// What the writer's queue carries: events, and requests to say when everything queued
/// before them is written.
#[derive(Debug)]
enum Queued {
    Event(AuditEvent),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl AuditLog {
    /// Starts the writer of queued events (the engine's) on `store`.
    pub fn start(store: Arc<dyn Store>) -> AuditLog {
        let (queue, mut rx) = mpsc::unbounded_channel::<Queued>();
        let writer = store.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = Vec::new();
                let mut waiting = Vec::new();
                match first {
                    Queued::Flush(done) => waiting.push(done),
                    Queued::Event(e) => {
                        // Events are kept for a moment and written together: one
                        // transaction (and one fsync) for every login of that moment,
                        // not one per login (measured: one each added about 3 ms to a
                        // login on SQLite).
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                        batch.push(e);
                    }
                }
                while batch.len() < 500
                    && let Ok(more) = rx.try_recv()
                {
                    match more {
                        Queued::Event(e) => batch.push(e),
                        Queued::Flush(done) => waiting.push(done),
                    }
                }
                if !batch.is_empty()
                    && let Err(e) = writer.audit(&batch).await
                {
                    tracing::warn!(error = %e, lost = batch.len(), "could not write the audit log");
                }
                for done in waiting {
                    let _ = done.send(());
                }
            }
        });
        AuditLog { store, queue }
    }

    /// Waits until every event queued so far is written (a server shutting down).
    pub async fn flush(&self) {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.queue.send(Queued::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }

    /// The sink to give the engine ([`tessera_engine::TesseraBuilder::security_sink`]).
    pub fn sink(&self) -> Arc<dyn SecuritySink> {
        Arc::new(QueueSink(self.queue.clone()))
    }

    /// Records an admin action now, and as a log line.
    pub(super) async fn admin(&self, staff: &Staff, action: &str, target: &str, detail: &str) {
        let event = AuditEvent {
            at: staff.now,
            actor: staff.user.username.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            client: staff.client.clone(),
            detail: detail.to_owned(),
        };
        self.write(event).await;
    }

    /// Records an event now, and as a log line.
    pub(super) async fn write(&self, event: AuditEvent) {
        tracing::info!(
            target: "tessera::security",
            event = event.action.as_str(),
            user = event.actor.as_str(),
            target_of = event.target.as_str(),
            client = event.client.as_str(),
            "admin action"
        );
        if let Err(e) = self.store.audit(std::slice::from_ref(&event)).await {
            tracing::warn!(error = %e, "could not write the audit log");
        }
    }
}

/// Queues the engine's events for the writer.
#[derive(Debug)]
struct QueueSink(mpsc::UnboundedSender<Queued>);

impl SecuritySink for QueueSink {
    fn record(&self, r: SecurityRecord) {
        let detail = match r.sessions {
            0 => String::new(),
            1 => "1 session".to_owned(),
            n => format!("{n} sessions"),
        };
        let _ = self.0.send(Queued::Event(AuditEvent {
            at: r.at,
            actor: r.user.clone(),
            action: r.event.name().to_owned(),
            target: r.user,
            client: r.client.map(|ip| ip.to_string()).unwrap_or_default(),
            detail,
        }));
    }
}

#[derive(serde::Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    q: String,
    before: Option<i64>,
}

/// `GET audit/`: the newest entries, or those of one actor, action or target.
pub(super) async fn list(
    State(s): State<AdminState>,
    staff: Staff,
    Query(query): Query<AuditQuery>,
) -> Response {
    let q = query.q.trim().to_owned();
    let rows = match s.store.audit_page(&q, query.before, PAGE).await {
        Ok(rows) => rows,
        Err(e) => return staff.failed(&s, &e.to_string()),
    };
    let next = match rows.last() {
        Some(last) if rows.len() == PAGE as usize => s.url(&format!(
            "audit/?q={}&before={}",
            super::users::query_text(&q),
            last.id
        )),
        _ => String::new(),
    };
    let page = AuditPage {
        nav: staff.nav(&s, "audit"),
        q,
        rows: rows
            .into_iter()
            .map(|e| AuditView {
                at: when(e.event.at),
                actor: e.event.actor,
                action: e.event.action,
                target: e.event.target,
                client: e.event.client,
                detail: e.event.detail,
            })
            .collect(),
        next,
    };
    render(StatusCode::OK, &page)
}
