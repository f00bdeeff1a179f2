//! SQLite's ledger writer, where it takes paths of its own: a lone login entry is sent
//! as one `BEGIN … COMMIT` round trip, which must stay all-or-nothing; and the writer
//! keeps one connection, which a failed batch must not wedge.

use tessera_store::{NewUser, OutstandingToken, open};

fn login_entry(jti: &str, user: i64, family: &str) -> OutstandingToken {
    OutstandingToken {
        jti: jti.to_owned(),
        user_id: Some(user),
        user_key: Some(user.to_string()),
        token: format!("token-{jti}"),
        created_at: 1_000_000,
        expires_at: 4_102_444_800_000_000,
        family_id: Some(family.to_owned()),
    }
}

#[tokio::test]
async fn a_failed_lone_write_leaves_nothing_and_no_open_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/w.sqlite3", dir.path().display());
    let store = open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let user = store.create_user(&NewUser::new("u", "!", 0)).await.unwrap();
    // Make the second statement of the transaction fail, after the first succeeded.
    let side = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON token_blacklist_outstandingtoken \
         WHEN NEW.jti = 'boom' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&side)
    .await
    .unwrap();

    assert!(
        store
            .outstand(&login_entry("boom", user.id.as_int().unwrap(), "fam-boom"))
            .await
            .is_err()
    );
    let families: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tessera_token_family WHERE id = 'fam-boom'")
            .fetch_one(&side)
            .await
            .unwrap();
    assert_eq!(
        families, 0,
        "the family insert was rolled back with the row"
    );

    // Every pooled connection still works and nothing is left locked: more writes go
    // through, from the writer and from another connection.
    for i in 0..12 {
        let jti = format!("ok-{i}");
        store
            .outstand(&login_entry(
                &jti,
                user.id.as_int().unwrap(),
                &format!("fam-{i}"),
            ))
            .await
            .unwrap();
        assert!(store.family_of(&jti).await.unwrap().is_some());
    }
    sqlx::query("DROP TRIGGER refuse_boom")
        .execute(&side)
        .await
        .unwrap();
    store
        .outstand(&login_entry("boom", user.id.as_int().unwrap(), "fam-boom"))
        .await
        .unwrap();
    assert_eq!(
        store.family_of("boom").await.unwrap().map(|f| f.id),
        Some("fam-boom".to_owned())
    );
}

/// A batch whose `COMMIT` fails (here a deferred foreign key the test adds) is answered
/// with an error, leaves nothing behind, and the writer goes on with the next write on a
/// fresh connection.
#[tokio::test]
async fn a_batch_that_fails_at_commit_is_refused_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/w.sqlite3", dir.path().display());
    let store = open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let user = store.create_user(&NewUser::new("u", "!", 0)).await.unwrap();
    let doomed = login_entry("doomed", user.id.as_int().unwrap(), "fam-doomed");
    let fine = login_entry("fine", user.id.as_int().unwrap(), "fam-fine");
    store.outstand(&doomed).await.unwrap();
    store.outstand(&fine).await.unwrap();
    let side = sqlx::SqlitePool::connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE test_deferred (user_id integer \
         REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED)",
        "CREATE TRIGGER break_commit AFTER INSERT ON token_blacklist_blacklistedtoken \
         WHEN NEW.token_id = (SELECT id FROM token_blacklist_outstandingtoken \
                              WHERE jti = 'doomed') \
         BEGIN INSERT INTO test_deferred VALUES (987654); END",
    ] {
        sqlx::query(sql).execute(&side).await.unwrap();
    }

    assert!(store.blacklist(&doomed, 2_000_000).await.is_err());
    assert!(
        !store.is_blacklisted("doomed").await.unwrap(),
        "the refused batch was rolled back"
    );
    store.blacklist(&fine, 2_000_000).await.unwrap();
    assert!(store.is_blacklisted("fine").await.unwrap());
    store
        .outstand(&login_entry(
            "after",
            user.id.as_int().unwrap(),
            "fam-after",
        ))
        .await
        .unwrap();

    sqlx::query("DROP TRIGGER break_commit")
        .execute(&side)
        .await
        .unwrap();
    store.blacklist(&doomed, 3_000_000).await.unwrap();
    assert!(store.is_blacklisted("doomed").await.unwrap());
}
