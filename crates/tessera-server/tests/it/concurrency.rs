//! Exactly-once rotation under concurrent requests over real HTTP.

use serde_json::json;

use crate::support::{TestServer, token_not_valid};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_succeed_once() {
    let s =
        TestServer::start(json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true}))
            .await;
    s.user("alice", "alice-pass").await;
    for round in 0..3 {
        let (_, refresh) = s.login("alice", "alice-pass").await;
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let client = s.client.clone();
            let url = format!("{}/api/token/refresh/", s.base);
            let body = json!({"refresh": refresh});
            tasks.push(tokio::spawn(async move {
                let r = client.post(url).json(&body).send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<serde_json::Value>().await.unwrap())
            }));
        }
        let mut ok = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                200 => ok += 1,
                401 => assert_eq!(body, token_not_valid("Token is blacklisted")),
                other => panic!("round {round}: unexpected {other} {body}"),
            }
        }
        assert_eq!(ok, 1, "round {round}: exactly one rotation wins");
    }
    let c = s.store().ledger_counts().await.unwrap();
    assert_eq!((c.outstanding, c.blacklisted), (6, 3));
}
