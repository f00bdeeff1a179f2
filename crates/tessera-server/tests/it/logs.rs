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
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();
    let lines = reader.join().unwrap();
    for l in &lines {
        assert!(!l.contains("alice-pass"), "a password in the log: {l}");
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
    assert_eq!(access.len(), 2, "{records:?}");
    assert_eq!(access[0]["request_id"], "trace-abc-123");
    assert_eq!(access[0]["method"], "GET");
    assert_eq!(access[0]["path"], "/api/health/");
    assert_eq!(access[0]["status"], 200);
    assert_eq!(access[0]["client"], "127.0.0.1");
    assert!(access[0]["duration_us"].is_u64());
    assert_eq!(access[1]["request_id"], json!(made));
    assert_eq!(access[1]["path"], "/api/token/");
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
