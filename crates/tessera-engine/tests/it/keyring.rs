//! The database key set ([`KeyRing`]) over a real SQLite file, on a manual clock: states
//! that follow from times, rotation without logouts, scheduled rotation that publishes
//! ahead, retirement, and sealed private keys that open only with their key and row.

use std::sync::Arc;

use tessera_core::{Algorithm, Clock as _, ManualClock, Settings, TokenKind};
use tessera_engine::{KeyRing, KeyRingConfig, KeyState, Tessera};
use tessera_store::Store;

const SECRET: &[u8] = b"a key-encryption key of at least 32 bytes";

struct Ring {
    ring: Arc<KeyRing>,
    store: Arc<dyn Store>,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

/// Keys retire an hour after being replaced; scheduled keys are published ten minutes
/// ahead.
fn config(encryption_key: &[u8], rotation: Option<i64>) -> KeyRingConfig {
    KeyRingConfig {
        encryption_key: encryption_key.to_vec(),
        retire_after: 3600,
        rotation_interval: rotation,
        publish_ahead: 600,
        algorithm: Algorithm::ES256,
    }
}

async fn ring(rotation: Option<i64>) -> Ring {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(&format!("sqlite://{}/k.sqlite3", dir.path().display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let clock = ManualClock::now();
    let ring = KeyRing::new(
        store.clone(),
        config(SECRET, rotation),
        Arc::new(clock.clone()),
    )
    .unwrap();
    Ring {
        ring: Arc::new(ring),
        store,
        clock,
        _dir: dir,
    }
}

fn states(keys: &[tessera_engine::KeyInfo]) -> Vec<(&str, KeyState)> {
    keys.iter().map(|k| (k.kid.as_str(), k.state)).collect()
}

#[tokio::test]
async fn rotation_keeps_old_tokens_until_the_old_key_retires() {
    let r = ring(None).await;
    let first = r.ring.generate(Algorithm::ES256).await.unwrap();
    assert_eq!(first.state, KeyState::Active, "the first key signs at once");
    let (keys, _) = r.ring.load().await.unwrap();
    let engine = Tessera::builder(Settings::default(), keys.unwrap(), r.store.clone())
        .clock(Arc::new(r.clock.clone()))
        .key_ring(r.ring.clone())
        .build()
        .unwrap();
    let old_token = mint(&engine);

    r.clock.advance_secs(1);
    let next = r.ring.generate(Algorithm::ES256).await.unwrap();
    assert_eq!(next.state, KeyState::Next);
    engine.reload_keys().await;
    assert_eq!(
        engine.tokens().keys().jwks()["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let still_old = mint(&engine);
    assert_eq!(kid_of(&still_old), first.kid, "a next key does not sign");

    r.clock.advance_secs(1);
    let rotated = r.ring.rotate().await.unwrap();
    assert_eq!(rotated.old.as_deref(), Some(first.kid.as_str()));
    assert_eq!(rotated.new, next.kid);
    let next_change = engine.reload_keys().await;
    let new_token = mint(&engine);
    assert_eq!(kid_of(&new_token), next.kid);
    assert!(
        engine.tokens().decode(&old_token).is_ok(),
        "nobody is logged out"
    );
    let list = r.ring.list().await.unwrap();
    assert_eq!(
        states(&list),
        [
            (first.kid.as_str(), KeyState::Previous),
            (next.kid.as_str(), KeyState::Active)
        ]
    );
    let retires = list[0].retires_at.unwrap();
    assert_eq!(
        next_change,
        Some(retires),
        "the sync wakes when the old key retires"
    );
    assert!(
        r.ring.retire(&next.kid).await.is_err(),
        "the active key stays"
    );

    // Past the longest token lifetime the old key is gone, and its tokens with it.
    r.clock.advance_secs(3601);
    engine.reload_keys().await;
    // (Signatures only: the access tokens' own five minutes are long over.)
    assert!(engine.tokens().decode_signed(&old_token).is_err());
    assert!(engine.tokens().decode_signed(&new_token).is_ok());
    assert!(
        r.ring.maintain().await.unwrap(),
        "the retired row is deleted"
    );
    assert_eq!(r.ring.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_scheduled_rotation_publishes_ahead_then_signs() {
    let r = ring(Some(86_400)).await;
    let first = r.ring.generate(Algorithm::ES256).await.unwrap();
    assert!(!r.ring.maintain().await.unwrap(), "nothing is due yet");
    let (_, due) = r.ring.load().await.unwrap();
    let publish_at = first.activates_at.unwrap() + (86_400 - 600) * 1_000_000;
    assert_eq!(due, Some(publish_at));

    r.clock.advance_secs(86_400 - 600);
    assert!(r.ring.maintain().await.unwrap());
    assert!(
        !r.ring.maintain().await.unwrap(),
        "one next key, however often it runs"
    );
    let list = r.ring.list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].state, KeyState::Next);
    assert_eq!(
        list[1].activates_at,
        Some(first.activates_at.unwrap() + 86_400 * 1_000_000)
    );
    assert!(
        list[0].retires_at.is_some(),
        "the successor sets the old key's end"
    );

    r.clock.advance_secs(600);
    let (set, _) = r.ring.load().await.unwrap();
    let set = set.expect("the set changed at the scheduled time");
    let signing = set.signing_key().unwrap().kid().unwrap().to_owned();
    assert_eq!(signing, list[1].kid);
    let (unchanged, _) = r.ring.load().await.unwrap();
    assert!(unchanged.is_none(), "an unchanged set is not rebuilt");
}

#[tokio::test]
async fn sealed_keys_open_only_with_their_key_and_row() {
    let r = ring(None).await;
    let a = r.ring.generate(Algorithm::ES256).await.unwrap();
    let b = r.ring.generate(Algorithm::ES256).await.unwrap();
    let rows = r.store.signing_keys(r.clock.now_micros()).await.unwrap();
    for row in &rows {
        let text = String::from_utf8_lossy(&row.sealed_key);
        assert!(!text.contains("PRIVATE KEY"), "stored sealed");
    }
    assert!(r.ring.load().await.unwrap().0.is_some());

    let other = KeyRing::new(
        r.store.clone(),
        config(b"another key-encryption key, 32 bytes+", None),
        Arc::new(r.clock.clone()),
    )
    .unwrap();
    let e = other.load().await.unwrap_err().to_string();
    assert!(e.contains("does not open"), "{e}");

    // A sealed key moved onto another row (its kid) does not open either.
    let sealed_a = rows
        .iter()
        .find(|k| k.kid == a.kid)
        .unwrap()
        .sealed_key
        .clone();
    r.store.remove_signing_key(&b.kid).await.unwrap();
    let mut moved = rows.iter().find(|k| k.kid == b.kid).unwrap().clone();
    moved.sealed_key = sealed_a;
    r.store.add_signing_key(&moved, None).await.unwrap();
    let fresh = KeyRing::new(
        r.store.clone(),
        config(SECRET, None),
        Arc::new(r.clock.clone()),
    )
    .unwrap();
    let e = fresh.load().await.unwrap_err().to_string();
    assert!(e.contains(&b.kid), "{e}");

    assert!(
        r.ring.generate(Algorithm::HS256).await.is_err(),
        "secrets and key pairs never mix"
    );
}

fn mint(engine: &Tessera) -> String {
    let t = engine.tokens();
    t.encode(&t.for_user(TokenKind::Access, "1")).unwrap()
}

fn kid_of(token: &str) -> String {
    tessera_core::dangerous::unverified_kid(token).unwrap()
}
