//! `/metrics` on its own listener (`METRICS_BIND`, off by default): the engine's and the
//! web layer's counters (recorded through the `metrics` facade) and the server's request
//! latencies, in Prometheus' text format.
//!
//! A separate listener, so the metrics are not on the public API's address: bind it to
//! loopback or an internal interface the scraper reaches. Nothing is recorded, and the
//! latency layer is not installed, when it is off.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::{Error, Result};

/// `tessera_http_request_duration_seconds{method,route,status}`.
pub const REQUEST_SECONDS: &str = "tessera_http_request_duration_seconds";

/// Latency buckets, in seconds: from the cached token check (tens of microseconds) to a
/// login under load (seconds).
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Installs the process's recorder (once) and describes every metric.
pub fn install() -> Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .map_err(|e| Error::Config(format!("METRICS_BIND: {e}")))?
        .install_recorder()
        .map_err(|e| Error::Config(format!("METRICS_BIND: {e}")))?;
    tessera_engine::telemetry::describe_metrics();
    metrics::describe_counter!(
        tessera_axum::DATABASE_ERRORS,
        "Requests that failed because the database failed or could not be reached."
    );
    metrics::describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Time to answer a request, by method, route and status."
    );
    Ok(handle)
}

/// Serves `GET /metrics` on `bind` until the process ends; returns the bound address.
pub async fn serve(bind: &str, handle: PrometheusHandle) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(Error::io(format!("listening on METRICS_BIND {bind}")))?;
    let addr = listener
        .local_addr()
        .map_err(Error::io("reading the metrics address"))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                let mut r = (StatusCode::OK, handle.render()).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(addr)
}

/// The middleware timing every request (`axum::middleware::from_fn(record_latency)`).
pub async fn record_latency(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    let route = if status == StatusCode::NOT_FOUND {
        "unmatched".to_owned()
    } else {
        route_label(&path)
    };
    metrics::histogram!(
        REQUEST_SECONDS,
        "method" => method,
        "route" => route,
        "status" => status.as_str().to_owned()
    )
    .record(started.elapsed().as_secs_f64());
    resp
}

fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "HEAD" => "HEAD",
        _ => "other",
    }
}

/// A path as a route: segments that name one thing (numbers, ids, key ids, anything
/// long) become `{id}`, so the admin page's users and keys do not each make a series.
fn route_label(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let digits = seg.bytes().filter(u8::is_ascii_digit).count();
        let names_one_thing = seg.len() > 24
            || (digits > 0 && digits == seg.len())
            || (seg.len() >= 12 && digits > 0)
            || !seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        out.push_str(if names_one_thing { "{id}" } else { seg });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn routes_do_not_name_users_or_keys() {
        assert_eq!(route_label("/api/token/refresh/"), "/api/token/refresh/");
        assert_eq!(route_label("/admin/users/42/"), "/admin/users/{id}/");
        assert_eq!(
            route_label("/admin/keys/1796589367-a0c9f21d/retire/"),
            "/admin/keys/{id}/retire/"
        );
        assert_eq!(route_label("/api/v1/me/"), "/api/v1/me/");
        assert_eq!(route_label("/x%20y/"), "/{id}/");
    }
}
