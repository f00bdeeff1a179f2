//! Crash safety and secrecy of the real binary: SIGKILL under load loses no revocation;
//! logs of a whole session at TRACE level hold no token, password or hash.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{client, create_alice, tessera, text};
use crate::support::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

fn serve_logged(dir: &Path, port: u16, log: &Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line}");
    child
}

async fn post(url: &str, body: Value) -> Option<(u16, Value)> {
    let r = client()
        .post(url)
        .json(&body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
        ("TESSERA_LOGIN_FAILURES_PER_IP", "0"),
        ("TESSERA_LOG", "warn"),
    ];
    create_alice(d, &env);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve_logged(d, port, &d.join("serve1.log"), &env);
    let mut chains = Vec::new();
    for _ in 0..6 {
        let (st, b) = post(
            &format!("{base}/api/token/"),
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await
        .unwrap();
        assert_eq!(st, 200);
        chains.push(b["refresh"].as_str().unwrap().to_owned());
    }
    // Tokens the server answered as spent: rotated away (200 on refresh) or logged out.
    let spent: Arc<Mutex<Vec<String>>> = Arc::default();
    let current: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(chains));
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut workers = Vec::new();
    for i in 0..6 {
        let (spent, current, base) = (spent.clone(), current.clone(), base.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < deadline {
                let token = current.lock().unwrap()[i].clone();
                n += 1;
                if n % 7 == 0 {
                    // Log out and start a new session.
                    match post(
                        &format!("{base}/api/token/blacklist/"),
                        json!({"refresh": token}),
                    )
                    .await
                    {
                        Some((200, _)) => spent.lock().unwrap().push(token),
                        Some(_) => {}
                        None => return,
                    }
                    match post(
                        &format!("{base}/api/token/"),
                        json!({"username": "alice", "password": "alice-pass"}),
                    )
                    .await
                    {
                        Some((200, b)) => {
                            current.lock().unwrap()[i] = b["refresh"].as_str().unwrap().to_owned()
                        }
                        _ => return,
                    }
                    continue;
                }
                match post(
                    &format!("{base}/api/token/refresh/"),
                    json!({"refresh": token}),
                )
                .await
                {
                    Some((200, b)) => {
                        spent.lock().unwrap().push(token);
                        current.lock().unwrap()[i] = b["refresh"].as_str().unwrap().to_owned();
                    }
                    Some((st, b)) => panic!("unexpected {st} {b}"),
                    None => return, // the server died under us
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill().unwrap(); // SIGKILL, mid-load
    server.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let spent = spent.lock().unwrap().clone();
    assert!(
        spent.len() > 10,
        "load too light to mean anything: {}",
        spent.len()
    );

    // The database opens cleanly.
    let db = d.join("tessera-data/tessera.sqlite3");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    pool.close().await;

    let mut server = serve_logged(d, port, &d.join("serve2.log"), &env);
    for token in &spent {
        let (st, b) = post(
            &format!("{base}/api/token/refresh/"),
            json!({"refresh": token}),
        )
        .await
        .unwrap();
        assert_eq!(
            st, 401,
            "a token answered as spent works again after the crash"
        );
        assert_eq!(b["detail"], "Token is blacklisted");
    }
    // Nothing else was lost: each chain's newest token is either live, or was being
    // rotated when the server died (then it is spent, which is also an answer).
    let newest = current.lock().unwrap().clone();
    for token in newest {
        let (st, b) = post(
            &format!("{base}/api/token/refresh/"),
            json!({"refresh": token}),
        )
        .await
        .unwrap();
        assert!(
            st == 200 || b["detail"] == "Token is blacklisted",
            "{st} {b}"
        );
    }
    let (st, _) = post(
        &format!("{base}/api/token/"),
        json!({"username": "alice", "password": "alice-pass"}),
    )
    .await
    .unwrap();
    assert_eq!(st, 200);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_a_whole_session_hold_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [
        ("TESSERA_LOG", "trace"),
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
    ];
    let password = "Sup3r-Secret-Passw0rd";
    let o = tessera(
        d,
        &["createuser", "--username", "alice", "--password-stdin"],
        Some(&format!("{password}\n")),
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let mut logs = text(&o);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = d.join("serve.log");
    let mut server = serve_logged(d, port, &log, &env);
    let (_, pair) = post(
        &format!("{base}/api/token/"),
        json!({"username": "alice", "password": password}),
    )
    .await
    .unwrap();
    let (access, refresh) = (
        pair["access"].as_str().unwrap().to_owned(),
        pair["refresh"].as_str().unwrap().to_owned(),
    );
    post(
        &format!("{base}/api/token/"),
        json!({"username": "alice", "password": "Wrong-Passw0rd-Attempt"}),
    )
    .await
    .unwrap();
    client()
        .get(format!("{base}/api/me/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    let (_, rotated) = post(
        &format!("{base}/api/token/refresh/"),
        json!({"refresh": refresh}),
    )
    .await
    .unwrap();
    post(
        &format!("{base}/api/token/refresh/"),
        json!({"refresh": refresh}),
    )
    .await
    .unwrap(); // reuse
    post(
        &format!("{base}/api/token/verify/"),
        json!({"token": access}),
    )
    .await
    .unwrap();
    post(
        &format!("{base}/api/token/blacklist/"),
        json!({"refresh": rotated["refresh"]}),
    )
    .await
    .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    logs.push_str(&std::fs::read_to_string(&log).unwrap());
    assert!(
        logs.len() > 1000,
        "TRACE logging produced almost nothing: {logs}"
    );

    let db = d.join("tessera-data/tessera.sqlite3");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let hash: String = sqlx::query_scalar("SELECT password FROM auth_user")
        .fetch_one(&pool)
        .await
        .unwrap();
    let key = std::fs::read_to_string(d.join("tessera-data/signing_key")).unwrap();
    let mut secrets = vec![
        password.to_owned(),
        "Wrong-Passw0rd-Attempt".to_owned(),
        hash.clone(),
        hash.rsplit('$').next().unwrap().to_owned(),
        key.trim().to_owned(),
    ];
    for t in [
        &access,
        &refresh,
        rotated["access"].as_str().unwrap(),
        rotated["refresh"].as_str().unwrap(),
    ] {
        secrets.push(t.to_owned());
        secrets.push(t.rsplit('.').next().unwrap().to_owned()); // the signature alone
    }
    for secret in secrets {
        assert!(
            !logs.contains(&secret),
            "a secret appears in the logs: {}…",
            &secret[..secret.len().min(12)]
        );
    }
}
