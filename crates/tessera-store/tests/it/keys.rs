//! The key set's rows ([`KeyStore`]) on both databases: adding (once, for a scheduled
//! rotation run by several instances), scheduling, removing, pruning retired keys; and
//! on PostgreSQL the change announced on the revocation channel.

use std::sync::Arc;

use tessera_store::{RevocationEvent, Store, StoredKey};

macro_rules! for_each_store {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_guard, store) = crate::support::sqlite().await;
                    super::$name(store, false).await;
                }
            )*
        }
        mod postgres_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some((_guard, store, _url)) = crate::support::postgres().await else { return };
                    super::$name(store, true).await;
                }
            )*
        }
    };
}

for_each_store!(key_rows_are_added_scheduled_and_pruned);

fn key(kid: &str, activates_at: Option<i64>) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg: "ES256".into(),
        created_at: 1_000,
        activates_at,
        retires_at: None,
        accepts_tokens_without_kid: false,
        sealed_key: vec![1, 0, 255, 7],
    }
}

async fn key_rows_are_added_scheduled_and_pruned(store: Arc<dyn Store>, announces: bool) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    store.listen_revocations(tx).await.unwrap();
    assert!(store.signing_keys(0).await.unwrap().is_empty());
    assert!(
        store
            .add_signing_key(&key("a", Some(10)), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_signing_key(&key("b", None), Some(20))
            .await
            .unwrap(),
        "nothing waits at 20: added"
    );
    assert!(
        !store
            .add_signing_key(&key("c", None), Some(20))
            .await
            .unwrap(),
        "b waits: a second scheduled key is not added"
    );
    assert!(
        store.add_signing_key(&key("a", None), None).await.is_err(),
        "kids are unique"
    );
    let rows = store.signing_keys(20).await.unwrap();
    assert_eq!(
        rows,
        [key("a", Some(10)), key("b", None)],
        "bytes kept exactly"
    );

    assert!(
        store
            .schedule_signing_key("b", Some(30), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .schedule_signing_key("a", Some(10), Some(100))
            .await
            .unwrap()
    );
    assert!(!store.schedule_signing_key("zz", None, None).await.unwrap());
    let rows = store.signing_keys(50).await.unwrap();
    assert_eq!(rows[0].retires_at, Some(100));
    assert_eq!(rows[1].activates_at, Some(30));
    assert_eq!(
        store.signing_keys(100).await.unwrap().len(),
        1,
        "retired by 100"
    );
    assert_eq!(store.prune_signing_keys(100).await.unwrap(), 1);
    assert!(store.remove_signing_key("b").await.unwrap());
    assert!(!store.remove_signing_key("b").await.unwrap());
    assert!(store.signing_keys(0).await.unwrap().is_empty());

    if announces {
        let seen = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                if rx.recv().await == Some(RevocationEvent::KeysChanged) {
                    return;
                }
            }
        })
        .await;
        assert!(seen.is_ok(), "changes are announced to the other instances");
    }
}
