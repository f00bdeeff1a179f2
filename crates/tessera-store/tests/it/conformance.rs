//! The store-conformance suite: what every `Store` must do, whatever the database.

use std::sync::Arc;

use tessera_store::{NewReview, NewUser, OutstandingToken, RotateOutcome, Store, open};

/// A fresh, migrated SQLite store in its own temporary directory.
async fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/test.sqlite3", dir.path().display());
    let store = open(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    (dir, store)
}

fn token(jti: &str, user: Option<i64>, expires: i64) -> OutstandingToken {
    OutstandingToken {
        jti: jti.to_owned(),
        user_id: user,
        token: format!("token-{jti}"),
        created_at: 1_000_000,
        expires_at: expires,
    }
}

macro_rules! for_each_store {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (_dir, store) = super::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
    };
}

for_each_store!(
    migrate_is_idempotent,
    users_round_trip,
    duplicate_username_is_refused,
    blacklist_is_idempotent_and_survives_user_deletion,
    rotation_is_exactly_once_under_concurrency,
    flush_removes_only_expired,
    reviews,
);

async fn migrate_is_idempotent(store: Arc<dyn Store>) {
    assert!(store.migrate().await.unwrap().is_empty());
}

async fn users_round_trip(store: Arc<dyn Store>) {
    let mut nu = NewUser::new("alice", "pbkdf2_sha256$1$s$aGFzaA==", 1_700_000_000_123_456);
    nu.email = "alice@example.com".into();
    nu.is_staff = true;
    let u = store.create_user(&nu).await.unwrap();
    assert_eq!(u.username, "alice");
    assert_eq!(u.email, "alice@example.com");
    assert!(u.is_active && u.is_staff && !u.is_superuser);
    assert_eq!(u.date_joined, 1_700_000_000_123_456);
    assert_eq!(u.last_login, None);
    assert_eq!(store.user_by_id(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(store.user_by_username("Alice").await.unwrap(), None);
    assert!(store.set_password(u.id, "new-hash").await.unwrap());
    store.set_last_login(u.id, 5_000_000).await.unwrap();
    assert!(store.set_active(u.id, false).await.unwrap());
    let u2 = store.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(u2.password, "new-hash");
    assert_eq!(u2.last_login, Some(5_000_000));
    assert!(!u2.is_active);
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    assert!(store.delete_user(u.id).await.unwrap());
    assert_eq!(store.user_by_id(u.id).await.unwrap(), None);
    assert!(!store.set_password(u.id, "x").await.unwrap());
}

async fn duplicate_username_is_refused(store: Arc<dyn Store>) {
    store
        .create_user(&NewUser::new("bob", "!", 0))
        .await
        .unwrap();
    let err = store
        .create_user(&NewUser::new("bob", "!", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, tessera_store::Error::UsernameTaken(_)),
        "{err}"
    );
}

async fn blacklist_is_idempotent_and_survives_user_deletion(store: Arc<dyn Store>) {
    let u = store
        .create_user(&NewUser::new("carol", "!", 0))
        .await
        .unwrap();
    let t = token("a1", Some(u.id), i64::MAX / 2);
    store.outstand(&t).await.unwrap();
    store.outstand(&t).await.unwrap();
    assert!(!store.is_blacklisted("a1").await.unwrap());
    assert!(store.blacklist(&t, 1).await.unwrap());
    assert!(!store.blacklist(&t, 2).await.unwrap());
    assert!(store.is_blacklisted("a1").await.unwrap());
    // A token never recorded (minted elsewhere) can be blacklisted too.
    assert!(
        store
            .blacklist(&token("ghost", Some(999), i64::MAX / 2), 3)
            .await
            .unwrap()
    );
    store.delete_user(u.id).await.unwrap();
    assert!(store.is_blacklisted("a1").await.unwrap());
    let c = store.ledger_counts().await.unwrap();
    assert_eq!((c.outstanding, c.blacklisted), (2, 2));
}

async fn rotation_is_exactly_once_under_concurrency(store: Arc<dyn Store>) {
    let u = store
        .create_user(&NewUser::new("dave", "!", 0))
        .await
        .unwrap();
    let old = token("old", Some(u.id), i64::MAX / 2);
    store.outstand(&old).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let old = old.clone();
        tasks.push(tokio::spawn(async move {
            let new = token(&format!("new{i}"), old.user_id, i64::MAX / 2);
            store.rotate(&old, &new, 10).await
        }));
    }
    let mut rotated = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() == RotateOutcome::Rotated {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
    let c = store.ledger_counts().await.unwrap();
    assert_eq!(
        (c.outstanding, c.blacklisted),
        (2, 1),
        "one new token recorded"
    );
}

async fn flush_removes_only_expired(store: Arc<dyn Store>) {
    store.outstand(&token("e1", None, 1_000)).await.unwrap();
    store.blacklist(&token("e2", None, 2_000), 1).await.unwrap();
    store.outstand(&token("live", None, 10_000)).await.unwrap();
    assert_eq!(store.flush_expired(2_000).await.unwrap(), 2);
    let c = store.ledger_counts().await.unwrap();
    assert_eq!((c.outstanding, c.blacklisted), (1, 0));
}

async fn reviews(store: Arc<dyn Store>) {
    let u = store
        .create_user(&NewUser::new("erin", "!", 0))
        .await
        .unwrap();
    let r = store
        .create_review(&NewReview {
            product: "Kettle".into(),
            rating: 4,
            comment: "Boils.".into(),
            author_id: u.id,
            created_at: 7_000_000,
        })
        .await
        .unwrap();
    assert_eq!(
        (r.author.as_str(), r.rating, r.created_at),
        ("erin", 4, 7_000_000)
    );
    assert_eq!(store.list_reviews().await.unwrap(), vec![r]);
}
