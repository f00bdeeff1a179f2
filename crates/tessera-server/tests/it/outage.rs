//! The database goes away and comes back: a clear 503 for the requests that need it,
//! no crash, and recovery when it returns. A TCP proxy in front of PostgreSQL is cut and
//! restored to simulate the outage.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::TestServer;

/// A loopback TCP proxy that can be cut (all connections dropped, port closed) and
/// restored on the same port.
struct Proxy {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let p = Proxy {
            port,
            target,
            tasks: Arc::default(),
        };
        p.serve(listener);
        p
    }

    fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target.clone(), self.tasks.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// Splits `postgres://user@host:port/db?x` into its `host:port`.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_is_a_503_and_recovers() {
    let admin = tessera_store::postgres::scratch::admin_url();
    let proxy = Proxy::start(authority(&admin)).await;
    let port = proxy.port;
    let via = move |url: &str| url.replacen(&authority(url), &format!("127.0.0.1:{port}"), 1);
    let Some(s) = TestServer::start_pg(json!({}), Some(&via)).await else {
        return;
    };
    s.user("alice", "alice-pass").await;
    s.user("bob", "bob-pass-1").await;
    let (access, refresh) = s.login("alice", "alice-pass").await;
    let (bob_access, _) = s.login("bob", "bob-pass-1").await;
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    let r = s.get("/api/ready/", None).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!({"status": "ready"}))
    );

    proxy.cut();
    // Not ready, though alive.
    let r = s.get("/api/ready/", None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body, json!({"status": "database unreachable"}));
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(s.get("/api/health/", None).await.status, 200);
    // A user check served from the user cache needs no database…
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    // …one that does gets a clear 503.
    let r = s.get("/api/me/", Some(&bob_access)).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], "service_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 503);
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 503);
    // What needs no database keeps working.
    assert_eq!(s.get("/api/health/", None).await.status, 200);
    assert_eq!(
        s.post("/api/token/verify/", json!({"token": access}))
            .await
            .status,
        200
    );

    proxy.restore().await;
    let start = Instant::now();
    loop {
        let st = s.get("/api/me/", Some(&bob_access)).await.status;
        if st == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no recovery: still {st}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        s.post("/api/token/refresh/", json!({"refresh": refresh}))
            .await
            .status,
        200
    );
    assert_eq!(s.get("/api/ready/", None).await.status, 200);
}

/// An instance whose revocation channel drops must not answer from memory that may miss
/// another instance's revocations: while the channel is down it asks the ledger (and,
/// with the database unreachable too, answers 503 rather than 200), and once back it
/// refuses what was revoked meanwhile before its first answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_revocation_channel_is_resynchronised_before_answering() {
    let settings = json!({
        "ACCESS_TOKEN_REVOCATION": true,
        "ROTATE_REFRESH_TOKENS": true,
        "BLACKLIST_AFTER_ROTATION": true,
    });
    let Some(a) = TestServer::start_pg(settings.clone(), None).await else {
        return;
    };
    let url = a.pg_url.clone().unwrap();
    let proxy = Proxy::start(authority(&url)).await;
    let via = url.replacen(&authority(&url), &format!("127.0.0.1:{}", proxy.port), 1);
    let b = TestServer::start_on_url(settings, via).await;
    a.user("alice", "alice-pass").await;
    let (access, refresh) = a.login("alice", "alice-pass").await;
    assert_eq!(b.get("/api/me/", Some(&access)).await.status, 200);

    // B loses the database, its channel with it; A logs the session out meanwhile.
    proxy.cut();
    // From the moment B notices the drop (its listener's connection ends).
    let start = Instant::now();
    while !b.tessera.revocations().is_stale() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never noticed the drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = a
        .post("/api/token/blacklist/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = b.get("/api/me/", Some(&access)).await;
    assert_eq!(
        r.status, 503,
        "B answered from memory while its channel was down: {}",
        r.body
    );

    // Back: the first answer that is not "unavailable" already refuses the token.
    proxy.restore().await;
    let start = Instant::now();
    loop {
        let st = b.get("/api/me/", Some(&access)).await.status;
        if st != 503 {
            assert_eq!(
                st, 401,
                "B accepted an access token revoked while its channel was down"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And memory catches up: the reload after reconnecting brings the revocation in.
    let start = Instant::now();
    while b.tessera.revocations().is_stale() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "B never resynchronised"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(b.get("/api/me/", Some(&access)).await.status, 401);
}
