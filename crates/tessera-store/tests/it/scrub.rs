//! Tokens at rest: the ledger keeps header and claims without the signature. Rows that
//! hold whole tokens (written before, or by Django beside Tessera) are rewritten in
//! bounded, idempotent batches. On SQLite and PostgreSQL.

use tessera_store::{Database, OutstandingToken, PoolOptions, open_database};

const FAR: &str = "2100-01-01 00:00:00";

fn whole(i: usize) -> String {
    format!("eyJoZWFkZXIiOjF9.eyJqdGkiOiJ{i:04}In0.c2lnbmF0dXJl{i:04}")
}

/// Writes `n` rows holding whole tokens, as Django's `OutstandingToken` does.
async fn django_rows(db: &Database, n: usize) {
    for i in 0..n {
        match db {
            Database::Sqlite(s) => {
                sqlx::query(
                    "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, jti) \
                     VALUES (?1, ?2, ?2, ?3)",
                )
                .bind(whole(i))
                .bind(FAR)
                .bind(format!("django-{i}"))
                .execute(s.pool())
                .await
                .unwrap();
            }
            Database::Postgres(p) => {
                sqlx::query(
                    "INSERT INTO token_blacklist_outstandingtoken (token, created_at, expires_at, jti) \
                     VALUES ($1, $2::timestamptz, $2::timestamptz, $3)",
                )
                .bind(whole(i))
                .bind(FAR)
                .bind(format!("django-{i}"))
                .execute(p.pool())
                .await
                .unwrap();
            }
        }
    }
}

async fn stored_tokens(db: &Database) -> Vec<String> {
    let sql = "SELECT token FROM token_blacklist_outstandingtoken ORDER BY id";
    match db {
        Database::Sqlite(s) => sqlx::query_scalar(sql).fetch_all(s.pool()).await.unwrap(),
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p.pool()).await.unwrap(),
    }
}

async fn scrub_in_batches(db: Database) {
    let store = db.store();
    store.migrate().await.unwrap();
    django_rows(&db, 25).await;
    // What Tessera records itself is kept without its signature from the start.
    store
        .outstand(&OutstandingToken {
            jti: "tessera-1".into(),
            token: "aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJl".into(),
            created_at: 0,
            expires_at: 4_102_444_800_000_000,
            ..OutstandingToken::default()
        })
        .await
        .unwrap();
    assert_eq!(store.count_unscrubbed().await.unwrap(), 25);
    let mut batches = Vec::new();
    loop {
        let n = store.scrub_tokens_batch(10).await.unwrap();
        batches.push(n);
        if n == 0 {
            break;
        }
    }
    assert_eq!(batches, [10, 10, 5, 0]);
    assert_eq!(store.count_unscrubbed().await.unwrap(), 0);
    let tokens = stored_tokens(&db).await;
    assert_eq!(tokens.len(), 26);
    for (i, t) in tokens.iter().take(25).enumerate() {
        assert_eq!(t, &format!("eyJoZWFkZXIiOjF9.eyJqdGkiOiJ{i:04}In0"));
    }
    assert_eq!(tokens[25], "aGVhZGVy.Y2xhaW1z");
    // Idempotent: nothing left to do, nothing changes.
    assert_eq!(store.scrub_tokens_batch(10).await.unwrap(), 0);
    assert_eq!(stored_tokens(&db).await, tokens);
}

#[tokio::test]
async fn whole_tokens_are_rewritten_in_batches_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/s.sqlite3", dir.path().display());
    scrub_in_batches(open_database(&url, PoolOptions::default()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_tokens_are_rewritten_in_batches_on_postgres() {
    let Some((_guard, _store, url)) = crate::support::postgres().await else {
        return;
    };
    scrub_in_batches(open_database(&url, PoolOptions::default()).await.unwrap()).await;
}
