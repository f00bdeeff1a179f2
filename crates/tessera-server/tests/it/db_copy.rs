//! An attacker with a copy of the database (a leaked backup, a read replica, SQL
//! injection in another app sharing it): every string in it that looks like a token or a
//! secret is presented to every endpoint that takes a credential, and none works. On
//! SQLite (the database files as they lie on disk) and PostgreSQL (every table dumped).

use serde_json::{Value, json};
use sqlx::Row as _;

use crate::support::TestServer;

fn settings() -> Value {
    json!({
        "ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true,
        "AUTH_TOKEN_CLASSES": ["AccessToken", "SlidingToken"],
        "LOGIN_FAILURES_PER_USER": 0, "LOGIN_FAILURES_PER_IP": 0,
    })
}

/// A realistic stretch of use: logins with a rotation each, sliding logins with a
/// sliding refresh each, a logout, a pair check. Returns every token handed out.
async fn session(s: &TestServer) -> Vec<String> {
    s.user("alice", "alice-pass-9").await;
    s.user("bob", "bob-pass-9").await;
    let mut issued = Vec::new();
    for _ in 0..3 {
        let (access, refresh) = s.login("alice", "alice-pass-9").await;
        s.clock.advance_secs(1);
        let r = s
            .post("/api/token/refresh/", json!({"refresh": refresh}))
            .await;
        assert_eq!(r.status, 200);
        issued.extend([access, refresh, r.str("access"), r.str("refresh")]);
    }
    for _ in 0..3 {
        let r = s
            .post(
                "/api/token/sliding/",
                json!({"username": "bob", "password": "bob-pass-9"}),
            )
            .await;
        let token = r.str("token");
        s.clock.advance_secs(1);
        let r = s
            .post("/api/token/sliding/refresh/", json!({"token": token}))
            .await;
        assert_eq!(r.status, 200);
        issued.extend([token, r.str("token")]);
    }
    // Logout of alice's newest session (its rotated refresh token).
    let newest = issued[11].clone();
    let r = s
        .post("/api/token/blacklist/", json!({"refresh": newest}))
        .await;
    assert_eq!(r.status, 200);
    issued
}

/// Strings of a dump that look like a token (base64url segments joined by dots) or a
/// secret (a long base64url run).
fn candidates(dump: &str) -> Vec<String> {
    let mut out: Vec<String> = dump
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .filter(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            (2..=3).contains(&parts.len()) && parts.iter().all(|p| p.len() >= 8)
                || (parts.len() == 1 && w.len() >= 32)
        })
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Presents `c` everywhere a credential is taken; returns the answers that were not
/// refusals.
async fn accepted(s: &TestServer, c: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut try_one = |what: &str, status: u16| {
        if status < 400 {
            hits.push(format!("{what}: {status} for {c}"));
        }
    };
    for (path, field) in [
        ("/api/token/refresh/", "refresh"),
        ("/api/token/sliding/refresh/", "token"),
        ("/api/token/verify/", "token"),
        ("/api/token/blacklist/", "refresh"),
    ] {
        let r = s.post(path, json!({ field: c })).await;
        try_one(path, r.status.as_u16());
    }
    let r = s.get("/api/me/", Some(c)).await;
    try_one("/api/me/", r.status.as_u16());
    for user in ["alice", "bob"] {
        let r = s
            .post("/api/token/", json!({"username": user, "password": c}))
            .await;
        try_one("/api/token/ as a password", r.status.as_u16());
    }
    hits
}

async fn attack(s: &TestServer, dump: String, issued: &[String]) {
    let mut found = candidates(&dump);
    // What the ledger recorded: every refresh token (logins and rotations) and every
    // sliding token as first issued (a sliding refresh keeps its row). Their stored forms
    // are in the copy, exactly (so were whole tokens stored again, this test would find
    // and present them)...
    let ledgered: Vec<&String> = [1, 3, 5, 7, 9, 11, 12, 14, 16]
        .iter()
        .map(|&i| &issued[i])
        .collect();
    for t in &ledgered {
        let at_rest = tessera_store::token_at_rest(t);
        assert!(dump.contains(at_rest), "{at_rest} not in the copy");
        found.push(at_rest.to_owned());
    }
    // ...but no token handed out is in it whole.
    for t in issued {
        assert!(
            !dump.contains(t.as_str()),
            "a whole token is in the copy: {t}"
        );
    }
    found.sort();
    found.dedup();
    assert!(found.len() >= ledgered.len());
    let mut hits = Vec::new();
    for c in &found {
        hits.extend(accepted(s, c).await);
        // The signature the copy lacks, guessed as empty.
        hits.extend(accepted(s, &format!("{c}.")).await);
    }
    assert!(
        hits.is_empty(),
        "the copy gave working credentials: {hits:#?}"
    );
}

#[tokio::test]
async fn a_copy_of_the_sqlite_file_hands_out_no_session() {
    let s = TestServer::start(settings()).await;
    let issued = session(&s).await;
    // The files as an attacker would copy them: the database, its WAL and shared memory.
    let mut dump = String::new();
    for entry in std::fs::read_dir(s.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains(".sqlite3") {
            dump.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            dump.push('\n');
        }
    }
    attack(&s, dump, &issued).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_of_every_postgres_table_hands_out_no_session() {
    let Some(s) = TestServer::start_pg(settings(), None).await else {
        return;
    };
    let issued = session(&s).await;
    let pool = sqlx::PgPool::connect(s.pg_url.as_deref().unwrap())
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        tables
            .iter()
            .any(|t| t == "token_blacklist_outstandingtoken")
    );
    let mut dump = String::new();
    for table in &tables {
        let sql = format!("SELECT row_to_json(t)::text FROM \"{table}\" t");
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap()
        {
            dump.push_str(&row.get::<String, _>(0));
            dump.push('\n');
        }
    }
    pool.close().await;
    attack(&s, dump, &issued).await;
}
