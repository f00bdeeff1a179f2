//! A session revoked while one of its refresh tokens is in flight: the token is spent
//! and no successor is issued. On PostgreSQL a logout everywhere can commit between the
//! moment a rotation's statement takes its snapshot and its end, leaving the family
//! revoked and the presented token unblacklisted; the rotation must still refuse.
//! The state is made directly here, since the race itself cannot be timed from outside.

use sqlx::Connection as _;
use tessera_store::{OutstandingToken, RotateOutcome, RotationTimes, Store, open};

fn token(jti: &str, family: Option<&str>) -> OutstandingToken {
    OutstandingToken {
        jti: jti.to_owned(),
        user_id: None,
        user_key: Some("k".into()),
        token: "h.p".into(),
        created_at: 1_000_000,
        expires_at: i64::MAX / 2,
        family_id: family.map(str::to_owned),
    }
}

async fn no_successor(store: &dyn Store, revoke: impl AsyncFnOnce()) {
    store.outstand(&token("t1", Some("fam1"))).await.unwrap();
    revoke().await;
    let outcome = store
        .rotate(
            &token("t1", None),
            &token("n1", None),
            RotationTimes::at(2_000_000),
        )
        .await
        .unwrap();
    assert_ne!(outcome, RotateOutcome::Rotated);
    assert!(store.is_blacklisted("t1").await.unwrap());
    assert!(
        store.family_of("n1").await.unwrap().is_none(),
        "a successor was recorded"
    );
}

#[tokio::test]
async fn a_revoked_session_rotates_no_more_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.sqlite3", dir.path().display());
    let store = open(&url).await.unwrap();
    store.migrate().await.unwrap();
    no_successor(store.as_ref(), async || {
        let options =
            sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("t.sqlite3"));
        let mut c = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::query("UPDATE tessera_token_family SET revoked_at = '2000-01-01 00:00:00'")
            .execute(&mut c)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_revoked_session_rotates_no_more_on_postgres() {
    let Some((_guard, url)) = crate::support::pg_scratch().await else {
        return;
    };
    let store = open(&url).await.unwrap();
    store.migrate().await.unwrap();
    no_successor(store.as_ref(), async || {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE tessera_token_family SET revoked_at = now()")
            .execute(&mut c)
            .await
            .unwrap();
    })
    .await;
}
