//! The server's logs as an operator reads them: with `TESSERA_LOG_FORMAT=json` one JSON
//! object a line, an access line per request carrying its request id (the client's
//! `X-Request-Id`, echoed back, or a new one), no colour codes when not on a terminal,
//! and never a password or a token.

use std::io::{BufRead as _, BufReader};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{client, create_alice, serve_with_stderr};

/// Runs `tessera serve` with `env`, sends a few requests, stops it, returns its stderr
/// lines, the URL it served and the request id it answered the second request with.
async fn served_log(env: &[(&str, &str)]) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let key = [(
        "TESSERA_SIGNING_KEY",
        "log-test-signing-key-0123456789abcdef",
    )];
    create_alice(dir.path(), &key);
    let mut env: Vec<(&str, &str)> = env.to_vec();
    env.extend([key[0], ("TESSERA_LOG", "info")]);
    let (mut child, base) = serve_with_stderr(dir.path(), &env);
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });

    let r = client()
        .get(format!("{base}/api/health/?secret=in-a-query"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-abc-123");
    let r = client()
        .post(format!("{base}/api/token/"))
        .json(&json!({"username": "alice", "password": "alice-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 32, "{made}");
    let body: Value = r.json().await.unwrap();
    let access = body["access"].as_str().unwrap().to_owned();
    // A failed login and a logout: security events.
    let r = client()
        .post(format!("{base}/api/token/"))
        .json(&json!({"username": "alice", "password": "wrong-pass-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .post(format!("{base}/api/token/blacklist/"))
        .json(&json!({"refresh": body["refresh"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();
    let lines = reader.join().unwrap();
    for l in &lines {
        assert!(!l.contains("alice-pass"), "a password in the log: {l}");
        assert!(!l.contains("wrong-pass"), "a password in the log: {l}");
        assert!(!l.contains(&access[..40]), "a token in the log: {l}");
        assert!(!l.contains("in-a-query"), "a query string in the log: {l}");
        assert!(
            !l.contains('\u{1b}'),
            "a colour code in a log not on a terminal: {l}"
        );
    }
    (lines, made)
}

#[tokio::test]
async fn json_logs_carry_one_access_line_per_request() {
    let (lines, made) = served_log(&[("TESSERA_LOG_FORMAT", "json")]).await;
    let records: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = records
        .iter()
        .filter(|r| r["target"] == "tessera::access")
        .collect();
    assert_eq!(access.len(), 4, "{records:?}");
    assert_eq!(access[0]["request_id"], "trace-abc-123");
    assert_eq!(access[0]["method"], "GET");
    assert_eq!(access[0]["path"], "/api/health/");
    assert_eq!(access[0]["status"], 200);
    assert_eq!(access[0]["client"], "127.0.0.1");
    assert!(access[0]["duration_us"].is_u64());
    assert_eq!(access[1]["request_id"], json!(made));
    assert_eq!(access[1]["path"], "/api/token/");
    // Security events: their own lines, with who, from where, and the request's id.
    let security: Vec<&Value> = records
        .iter()
        .filter(|r| r["target"] == "tessera::security")
        .collect();
    let events: Vec<&str> = security
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["login_succeeded", "login_failed", "logout"],
        "{security:?}"
    );
    assert_eq!(security[0]["user"], "alice");
    assert_eq!(security[0]["client"], "127.0.0.1");
    assert_eq!(security[0]["span"]["request_id"], json!(made));
    assert_eq!(security[1]["level"], "WARN");
    assert_eq!(security[2]["user"], "1");
    assert_eq!(security[2]["sessions"], 1);
}

#[tokio::test]
async fn text_logs_have_no_colour_codes_off_a_terminal() {
    let (lines, _) = served_log(&[]).await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("tessera::access") && l.contains(r#"request_id="trace-abc-123""#)),
        "{lines:?}"
    );
}

/// Every kind of security event, from the real binary: throttled logins, a replayed
/// refresh token, a password change, logout everywhere.
#[tokio::test]
async fn security_events_cover_throttling_reuse_password_changes_and_revocations() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "TESSERA_SIGNING_KEY",
            "log-test-signing-key-0123456789abcdef",
        ),
        ("TESSERA_LOG", "warn,tessera::security=info"),
        ("TESSERA_LOG_FORMAT", "json"),
        ("TESSERA_LOGIN_FAILURES_PER_USER", "1"),
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
    ];
    create_alice(dir.path(), &env);
    let (mut child, base) = serve_with_stderr(dir.path(), &env);
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let post = |path: &str, body: Value, bearer: Option<String>| {
        let mut req = client().post(format!("{base}{path}")).json(&body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let login = json!({"username": "alice", "password": "alice-pass"});
    let (_, pair) = post("/api/token/", login.clone(), None).await;
    let refresh = pair["refresh"].clone();
    let (s, _) = post("/api/token/refresh/", json!({"refresh": refresh}), None).await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, _) = post("/api/token/refresh/", json!({"refresh": refresh}), None).await;
    assert_eq!(s, 401, "a replay");
    let (_, pair) = post("/api/token/", login.clone(), None).await;
    let access = pair["access"].as_str().unwrap().to_owned();
    let change = json!({"old_password": "alice-pass", "new_password": "a-new-secret-42"});
    let (s, _) = post("/api/me/password/", change, Some(access)).await;
    assert_eq!(s, 200);
    let wrong = json!({"username": "alice", "password": "alice-pass"});
    assert_eq!(post("/api/token/", wrong.clone(), None).await.0, 401);
    assert_eq!(post("/api/token/", wrong, None).await.0, 429);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();
    let lines = reader.join().unwrap();
    let events: Vec<(String, Value)> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["target"] == "tessera::security")
        .map(|r| {
            (
                r["event"].as_str().unwrap().to_owned(),
                r["sessions"].clone(),
            )
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        [
            "login_succeeded",
            "refresh_token_reused",
            "login_succeeded",
            "password_changed",
            "login_failed",
            "login_throttled"
        ],
        "{lines:?}"
    );
    // The replay revoked one session; the password change ended the one left.
    assert_eq!(events[1].1, 1);
    assert_eq!(events[3].1, 1);
    for l in &lines {
        assert!(
            !l.contains("a-new-secret") && !l.contains("alice-pass"),
            "{l}"
        );
    }
}
