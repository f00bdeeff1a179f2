//! Methods, content types, paths, headers (Appendix C 5–6), CORS, health, 404.

use reqwest::Method;
use serde_json::json;

use crate::support::TestServer;

#[tokio::test]
async fn wrong_methods_get_405_with_allow() {
    let s = TestServer::start(json!({})).await;
    for path in [
        "/api/token/",
        "/api/token/refresh/",
        "/api/token/verify/",
        "/api/token/blacklist/",
        "/api/token/sliding/",
        "/api/token/sliding/refresh/",
        "/api/token/valid/",
        "/api/token/refresh",
    ] {
        for m in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
            let r = s.send(m.clone(), path, &[], None).await;
            assert_eq!(r.status, 405, "{m} {path}");
            assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
            assert_eq!(
                r.body,
                json!({"detail": format!("Method \"{m}\" not allowed.")})
            );
        }
        let r = s.send(Method::OPTIONS, path, &[], None).await;
        assert_eq!(r.status, 200);
    }
    // A protected view, as DRF runs it: credentials are checked before the method, so
    // without them a wrong method and OPTIONS are 401 (with `Allow`), with them 405/200.
    for m in [Method::DELETE, Method::OPTIONS] {
        let r = s.send(m.clone(), "/api/me/", &[], None).await;
        assert_eq!(
            (r.status.as_u16(), r.header("allow"), &r.body),
            (
                401,
                Some("GET, HEAD, OPTIONS"),
                &json!({"detail": "Authentication credentials were not provided."})
            ),
            "{m}"
        );
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    let auth = format!("Bearer {access}");
    let r = s
        .send(
            Method::DELETE,
            "/api/me/",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.header("allow")),
        (405, Some("GET, HEAD, OPTIONS"))
    );
    let r = s
        .send(
            Method::OPTIONS,
            "/api/me/",
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["name"].as_str()),
        (200, Some("Me"))
    );
    let r = s
        .send(
            Method::DELETE,
            "/api/reviews/",
            &[("authorization", "Bearer x")],
            None,
        )
        .await;
    assert_eq!(r.status, 401, "a bad token is no credential either");
}

#[tokio::test]
async fn bodies_other_than_json_and_forms_are_refused() {
    let s = TestServer::start(json!({})).await;
    let r = s
        .send(
            Method::POST,
            "/api/token/",
            &[],
            Some(("text/plain", b"hi".to_vec())),
        )
        .await;
    assert_eq!(r.status, 415);
    assert_eq!(
        r.body,
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );
    let r = s
        .send(
            Method::POST,
            "/api/token/",
            &[],
            Some(("application/json", b"{\"username\":".to_vec())),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{}",
        r.body
    );
    let r = s
        .send(
            Method::POST,
            "/api/token/verify/",
            &[],
            Some(("application/json", b"[1,2]".to_vec())),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
    let big = vec![b' '; 70 * 1024];
    let r = s
        .send(
            Method::POST,
            "/api/token/verify/",
            &[],
            Some(("application/json", big)),
        )
        .await;
    assert_eq!(r.status, 413);
}

#[tokio::test]
async fn health_ignores_credentials_and_unknown_paths_are_json_404() {
    let s = TestServer::start(json!({})).await;
    for h in [
        None,
        Some("Bearer garbage"),
        Some("Bearer"),
        Some("Bearer a b"),
    ] {
        let headers: Vec<(&str, &str)> = h.iter().map(|v| ("authorization", *v)).collect();
        let r = s.get_with("/api/health/", &headers).await;
        assert_eq!(
            (r.status.as_u16(), r.body.clone()),
            (200, json!({"status": "ok"}))
        );
    }
    let r = s.get("/api/health", None).await;
    assert_eq!(r.status, 200);
    let r = s.get("/api/nothing/", None).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (404, json!({"detail": "Not found."}))
    );
}

#[tokio::test]
async fn cors_preflight_allows_configured_origin_only() {
    let s = TestServer::start(json!({"CORS_ALLOWED_ORIGINS": ["http://localhost:5173"]})).await;
    let pre = |origin: &'static str| {
        let s = &s;
        async move {
            s.send(
                Method::OPTIONS,
                "/api/me/",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "authorization"),
                ],
                None,
            )
            .await
        }
    };
    let ok = pre("http://localhost:5173").await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(
        ok.header("access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );
    let other = pre("http://evil.example").await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    // Without configured origins, no CORS headers at all.
    let plain = TestServer::start(json!({})).await;
    let r = plain
        .send(
            Method::GET,
            "/api/health/",
            &[("origin", "http://localhost:5173")],
            None,
        )
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let s = TestServer::start(json!({})).await;
    let r = s.get("/api/health/", None).await;
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}
