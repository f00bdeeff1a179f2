//! Hostile strings in every string field of every endpoint, on SQLite and on PostgreSQL:
//! DRF's answers (`Null characters are not allowed.` for a NUL), never a 5xx, and the
//! same answer from both databases for the same request.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Resp, TestServer};

const NUL: &str = "Null characters are not allowed.";

/// A request body: JSON text (so that escapes serde would not write, like a lone
/// surrogate, can be sent), or form pairs.
enum Body {
    Json(String),
    Form(String),
}

/// The hostile values: (label, JSON string literal).
fn hostile() -> Vec<(&'static str, String)> {
    vec![
        ("nul inside", r#""al\u0000ice""#.into()),
        ("nul alone", r#""\u0000""#.into()),
        ("nul padded", r#""  \u0000  ""#.into()),
        ("lone surrogate", r#""\ud800alice""#.into()),
        ("right-to-left override", "\"\u{202e}alice\"".into()),
        ("zero-width space", "\"ali\u{200b}ce\"".into()),
        ("decomposed accent", "\"e\u{301}lodie\"".into()),
        ("fullwidth", "\"ａｌｉｃｅ\"".into()),
        ("null", "null".into()),
        ("blank", r#""""#.into()),
        ("whitespace only", r#"" \t\u3000 ""#.into()),
        ("number", "5".into()),
        ("boolean", "true".into()),
        ("list", "[1]".into()),
        ("object", "{}".into()),
        ("300 characters", format!("\"{}\"", "é".repeat(300))),
        ("100 KiB", format!("\"{}\"", "x".repeat(100 * 1024))),
    ]
}

/// An endpoint, one of its string fields, and the other fields sent with it (JSON texts).
type FieldCase = (&'static str, &'static str, Vec<(&'static str, String)>);

/// Every (endpoint, string field, the other fields) that takes text.
fn fields() -> Vec<FieldCase> {
    let q = |s: &str| format!("\"{s}\"");
    vec![
        (
            "/api/token/",
            "username",
            vec![("password", q("alice-pass-9"))],
        ),
        ("/api/token/", "password", vec![("username", q("alice"))]),
        (
            "/api/token/sliding/",
            "username",
            vec![("password", q("alice-pass-9"))],
        ),
        (
            "/api/token/sliding/",
            "password",
            vec![("username", q("alice"))],
        ),
        ("/api/token/refresh/", "refresh", vec![]),
        ("/api/token/verify/", "token", vec![]),
        ("/api/token/blacklist/", "refresh", vec![]),
        ("/api/token/sliding/refresh/", "token", vec![]),
        ("/api/token/valid/", "refresh", vec![]),
        (
            "/api/me/password/",
            "old_password",
            vec![("new_password", q("a-new-pass-9x"))],
        ),
        // The old password is right: only the new one decides (none of these is strong).
        (
            "/api/me/password/",
            "new_password",
            vec![("old_password", q("alice-pass-9"))],
        ),
        ("/api/reviews/", "product", vec![("rating", "4".into())]),
        (
            "/api/reviews/",
            "comment",
            vec![("product", q("Kettle")), ("rating", "4".into())],
        ),
    ]
}

async fn send(s: &TestServer, path: &str, access: &str, body: Body) -> Resp {
    let auth = format!("Bearer {access}");
    let headers = [("authorization", auth.as_str())];
    let (ct, bytes) = match body {
        Body::Json(text) => ("application/json", text.into_bytes()),
        Body::Form(text) => ("application/x-www-form-urlencoded", text.into_bytes()),
    };
    s.send(Method::POST, path, &headers, Some((ct, bytes)))
        .await
}

/// Runs the whole matrix against one server: (request label, status, body) per request,
/// with what differs between two servers by nature (ids, times) left out.
async fn matrix(s: &TestServer) -> Vec<(String, u16, Value)> {
    let alice = s.user("alice", "alice-pass-9").await;
    let mut out = Vec::new();
    let (mut access, _) = s.login("alice", "alice-pass-9").await;
    for (path, field, rest) in fields() {
        for (label, literal) in hostile() {
            let mut parts: Vec<String> = rest.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            parts.push(format!("\"{field}\":{literal}"));
            let json_body = format!("{{{}}}", parts.join(","));
            let r = send(s, path, &access, Body::Json(json_body)).await;
            if path == "/api/me/password/" && r.status == 200 {
                // A value good enough to become the password: put the old one back.
                s.tessera
                    .set_password(&alice, "alice-pass-9")
                    .await
                    .unwrap();
                // The change ended the session: a fresh one for the next request.
                access = s.login("alice", "alice-pass-9").await.0;
            }
            out.push((
                format!("{path} {field} {label} (JSON)"),
                r.status.as_u16(),
                comparable(r.body),
            ));
        }
        // A NUL the form way (`%00`).
        let mut form: Vec<String> = rest
            .iter()
            .map(|(k, v)| format!("{k}={}", v.trim_matches('"')))
            .collect();
        form.push(format!("{field}=al%00ice"));
        let r = send(s, path, &access, Body::Form(form.join("&"))).await;
        out.push((
            format!("{path} {field} nul (form)"),
            r.status.as_u16(),
            comparable(r.body),
        ));
    }
    out
}

/// The body without what two servers legitimately differ in (review ids and times).
fn comparable(mut body: Value) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.remove("id");
        map.remove("created_at");
    }
    body
}

fn check(results: &[(String, u16, Value)]) {
    for (label, status, body) in results {
        assert!(*status < 500, "{label}: {status} {body}");
        if label.contains(" nul ") && !label.contains("/api/token/valid/") {
            let field = label.split(' ').nth(1).unwrap_or_default();
            assert_eq!((*status, body), (400, &json!({ field: [NUL] })), "{label}");
        }
    }
    let by = |needle: &str| {
        results
            .iter()
            .find(|(l, ..)| l == needle)
            .map(|(_, s, b)| (*s, b.clone()))
            .unwrap_or_else(|| panic!("no {needle}"))
    };
    // What DRF answers for the rest.
    assert_eq!(by("/api/token/ username 100 KiB (JSON)").0, 413);
    // DRF's CharField, on both databases.
    for (label, message) in [
        ("null", "This field may not be null."),
        ("blank", "This field may not be blank."),
        ("whitespace only", "This field may not be blank."),
        ("boolean", "Not a valid string."),
        ("list", "Not a valid string."),
        ("object", "Not a valid string."),
    ] {
        assert_eq!(
            by(&format!("/api/token/ username {label} (JSON)")),
            (400, json!({"username": [message]})),
            "{label}"
        );
    }
    // A number is a string for DRF: "5" names nobody here.
    assert_eq!(by("/api/token/ username number (JSON)").0, 401);
    // Longer than any column: a lookup finds nobody, a review's product is refused.
    assert_eq!(by("/api/token/ username 300 characters (JSON)").0, 401);
    assert_eq!(
        by("/api/reviews/ product 300 characters (JSON)"),
        (
            400,
            json!({"product": ["Ensure this field has no more than 200 characters."]})
        )
    );
    assert_eq!(by("/api/reviews/ comment 300 characters (JSON)").0, 201);
    assert_eq!(by("/api/token/ username lone surrogate (JSON)").0, 400);
    assert_eq!(
        by("/api/token/ username fullwidth (JSON)"),
        (
            401,
            json!({"detail": "No active account found with the given credentials"})
        )
    );
    assert_eq!(
        by("/api/token/valid/ refresh nul inside (JSON)").1["code"],
        "Invalid refresh token"
    );
    assert_eq!(
        by("/api/reviews/ product right-to-left override (JSON)").0,
        201
    );
    assert_eq!(by("/api/reviews/ comment zero-width space (JSON)").0, 201);
}

#[tokio::test]
async fn every_string_field_takes_hostile_text_alike_on_both_databases() {
    let sqlite =
        TestServer::start(json!({"LOGIN_FAILURES_PER_USER": 0, "LOGIN_FAILURES_PER_IP": 0})).await;
    let on_sqlite = matrix(&sqlite).await;
    check(&on_sqlite);
    let Some(pg) = TestServer::start_pg(
        json!({"LOGIN_FAILURES_PER_USER": 0, "LOGIN_FAILURES_PER_IP": 0}),
        None,
    )
    .await
    else {
        return;
    };
    let on_pg = matrix(&pg).await;
    check(&on_pg);
    assert_eq!(on_sqlite.len(), on_pg.len());
    for (a, b) in on_sqlite.iter().zip(&on_pg) {
        assert_eq!(a, b, "SQLite and PostgreSQL answer alike");
    }
}

/// What the database would refuse never reaches it from the engine either (a library
/// user calling the flows directly, without the HTTP layer's checks).
#[tokio::test]
async fn the_engine_refuses_nul_before_any_store() {
    let settings = json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true});
    for s in [
        Some(TestServer::start(settings.clone()).await),
        TestServer::start_pg(settings.clone(), None).await,
    ]
    .into_iter()
    .flatten()
    {
        let client = tessera_engine::ClientInfo::default();
        let err = s
            .tessera
            .obtain_pair("al\0ice", "x", &client)
            .await
            .unwrap_err();
        assert!(
            matches!(err, tessera_engine::Error::Invalid(ref p) if p[0].field == "username"),
            "{err:?}"
        );
        let err = s
            .tessera
            .obtain_pair("alice", "x\0", &client)
            .await
            .unwrap_err();
        assert!(
            matches!(err, tessera_engine::Error::Invalid(ref p) if p[0].field == "password"),
            "{err:?}"
        );
        // A token whose id holds a NUL is invalid before any ledger lookup; one whose user
        // id holds a NUL names nobody (no user lookup with it either).
        let now = s.now();
        let nul_jti = s.sign(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &json!({"token_type": "refresh", "exp": now + 60, "iat": now, "jti": "a\u{0}b", "user_id": "1"}),
        );
        let r = s
            .post("/api/token/refresh/", json!({"refresh": nul_jti}))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["detail"].as_str()),
            (401, Some("Token is invalid"))
        );
        let r = s
            .post("/api/token/verify/", json!({"token": nul_jti}))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["detail"].as_str()),
            (401, Some("Token is invalid"))
        );
        let r = s
            .post("/api/token/blacklist/", json!({"refresh": nul_jti}))
            .await;
        assert_eq!(r.status, 401);
        let nul_user = s.sign(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &json!({"token_type": "refresh", "exp": now + 60, "iat": now, "jti": "ab", "user_id": "1\u{0}"}),
        );
        let r = s
            .post("/api/token/refresh/", json!({"refresh": nul_user}))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.body["detail"].as_str()),
            (401, Some("No active account found for the given token."))
        );
    }
}
