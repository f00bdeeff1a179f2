//! `/metrics` as an operator scrapes it: the real binary with `METRICS_BIND`, a few
//! logins, refreshes and protected requests of every outcome, then the Prometheus text.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::cli::{client, create_alice, post, tessera, text};
use crate::support::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_every_outcome_on_their_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let env = [
        ("TESSERA_METRICS_BIND", bind.as_str()),
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
        ("TESSERA_LOGIN_FAILURES_PER_USER", "3"),
    ];
    create_alice(d, &env);
    let o = tessera(
        d,
        &[
            "createuser",
            "--username",
            "ivy",
            "--inactive",
            "--password-stdin",
        ],
        Some("ivy-pass-123\n"),
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let mut child = Command::new(BIN)
        .current_dir(d)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .envs(env)
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut api, mut metrics) = (String::new(), String::new());
    out.read_line(&mut api).unwrap();
    out.read_line(&mut metrics).unwrap();
    let api = api.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(metrics.trim(), format!("Metrics on http://{bind}/metrics"));

    let token = |who: &str, pw: &str| json!({"username": who, "password": pw});
    let url = format!("{api}/api/token/");
    let (st, pair) = post(&url, token("alice", "alice-pass")).await;
    assert_eq!(st, 200);
    assert_eq!(post(&url, token("ivy", "ivy-pass-123")).await.0, 401);
    for _ in 0..3 {
        assert_eq!(post(&url, token("bob", "nope")).await.0, 401);
    }
    assert_eq!(post(&url, token("bob", "nope")).await.0, 429);
    let refresh = format!("{api}/api/token/refresh/");
    let (st, _) = post(&refresh, json!({"refresh": pair["refresh"]})).await;
    assert_eq!(st, 200);
    assert_eq!(
        post(&refresh, json!({"refresh": pair["refresh"]})).await.0,
        401
    );
    assert_eq!(post(&refresh, json!({"refresh": "garbage"})).await.0, 401);
    let me = client()
        .get(format!("{api}/api/me/"))
        .bearer_auth(pair["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let verify = format!("{api}/api/token/verify/");
    assert_eq!(post(&verify, json!({"token": pair["access"]})).await.0, 200);

    let r = client()
        .get(format!("http://{bind}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let body = r.text().await.unwrap();
    for line in [
        "tessera_logins_total{result=\"ok\"} 1",
        "tessera_logins_total{result=\"inactive\"} 1",
        "tessera_logins_total{result=\"bad_credentials\"} 3",
        "tessera_logins_total{result=\"throttled\"} 1",
        "tessera_refreshes_total{result=\"ok\"} 1",
        "tessera_refreshes_total{result=\"reused\"} 1",
        "tessera_refreshes_total{result=\"invalid\"} 1",
        "tessera_refresh_reuse_detected_total 1",
        "tessera_sessions_revoked_total 1",
        "tessera_token_verifications_total{flow=\"authenticate\",result=\"ok\"} 1",
        "tessera_token_verifications_total{flow=\"verify\",result=\"ok\"} 1",
        "tessera_signing_keys{state=\"active\"} 1",
        "tessera_password_hash_queue_depth 0",
        "# TYPE tessera_http_request_duration_seconds histogram",
        "tessera_http_request_duration_seconds_count{method=\"POST\",route=\"/api/token/\",status=\"429\"} 1",
        "# HELP tessera_logins_total Logins by result",
    ] {
        assert!(body.contains(line), "missing {line:?} in:\n{body}");
    }
    assert!(
        body.contains("tessera_password_hash_seconds_bucket"),
        "{body}"
    );
    for secret in ["alice", "bob", "garbage", pair["access"].as_str().unwrap()] {
        assert!(!body.contains(secret), "{secret} leaked into the metrics");
    }
    // Not on the API's address.
    let r = client().get(format!("{api}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_bad_metrics_address_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let o = tessera(
        dir.path(),
        &["check"],
        None,
        &[("TESSERA_METRICS_BIND", "9100")],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("METRICS_BIND"), "{}", text(&o));
}
