//! The engine without any web framework: flows called directly, over a real SQLite file.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod keyring;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tessera_core::{KeySet, ManualClock, Settings, TokenKind, User};
use tessera_engine::{ClientInfo, Error, Tessera};
use tessera_store::{NewUser, Store};

struct Fixture {
    engine: Tessera,
    store: Arc<dyn Store>,
    clock: ManualClock,
    alice: User,
    _dir: tempfile::TempDir,
}

async fn fixture(settings: serde_json::Value, cache: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(&format!("sqlite://{}/e.sqlite3", dir.path().display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let settings = Settings::from_json(settings).unwrap();
    let keys = KeySet::hmac(
        settings.algorithm,
        b"an-engine-test-key-of-32-bytes-or-more",
    )
    .unwrap();
    let clock = ManualClock::now();
    let mut builder =
        Tessera::builder(settings, keys, store.clone()).clock(Arc::new(clock.clone()));
    if cache {
        builder = builder.cache_users(Duration::from_secs(300));
    }
    let engine = builder.build().unwrap();
    let hash = engine.hash_password("alice-pass-9".into()).await.unwrap();
    let alice = store
        .create_user(&NewUser::new("alice", &hash, 0))
        .await
        .unwrap();
    let store = engine.store().unwrap().clone();
    Fixture {
        engine,
        store,
        clock,
        alice,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_pair_issued_for_a_user_is_a_session_like_a_logins() {
    let f = fixture(
        json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true}),
        false,
    )
    .await;
    let pair = f.engine.issue_pair_for(&f.alice).await.unwrap();
    let me = f.engine.authenticate(pair.access.as_bytes()).await.unwrap();
    assert_eq!((me.user.id, me.kind), (f.alice.id, TokenKind::Access));
    let check = f
        .engine
        .check_pair(Some(pair.access.as_bytes()), Some(&pair.refresh))
        .await
        .unwrap();
    assert!(check.access_valid && check.refresh_valid);
    let rotated = f.engine.refresh(&pair.refresh).await.unwrap();
    f.clock.advance_secs(1);
    // The replay of the rotated-away token revokes the session, rotated token included.
    assert!(matches!(
        f.engine.refresh(&pair.refresh).await,
        Err(Error::TokenReused)
    ));
    let next = rotated.refresh.unwrap();
    assert!(matches!(
        f.engine.refresh(&next).await,
        Err(Error::Token(tessera_core::Error::Blacklisted))
    ));
    let check = f.engine.check_pair(None, Some(&next)).await.unwrap();
    assert!(!check.access_valid && !check.refresh_valid);
}

#[tokio::test]
async fn logins_fail_alike_and_are_throttled() {
    let f = fixture(
        json!({"LOGIN_FAILURES_PER_USER": 2, "LOGIN_FAILURES_PER_IP": 0}),
        false,
    )
    .await;
    let client = ClientInfo::new("192.0.2.7".parse().ok());
    for (user, pw) in [("alice", "wrong"), ("nobody", "x")] {
        assert!(matches!(
            f.engine.obtain_pair(user, pw, &client).await,
            Err(Error::BadCredentials)
        ));
    }
    assert!(matches!(
        f.engine.obtain_pair("alice", "wrong", &client).await,
        Err(Error::BadCredentials)
    ));
    match f.engine.obtain_pair("alice", "alice-pass-9", &client).await {
        Err(Error::Throttled { retry_after_secs }) => assert!(retry_after_secs > 0),
        other => panic!("expected throttling, got {other:?}"),
    }
    f.clock.advance_secs(3600);
    assert!(
        f.engine
            .obtain_pair("alice", "alice-pass-9", &client)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn password_changes_check_the_old_password_and_end_every_session() {
    let f = fixture(json!({}), false).await;
    let pair = f
        .engine
        .obtain_pair("alice", "alice-pass-9", &ClientInfo::default())
        .await
        .unwrap();
    match f.engine.change_password(&f.alice, "wrong", "short").await {
        Err(Error::Invalid(problems)) => {
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_ref()).collect();
            assert!(fields.contains(&"old_password") && fields.contains(&"new_password"));
        }
        other => panic!("expected field problems, got {other:?}"),
    }
    f.engine
        .change_password(&f.alice, "alice-pass-9", "a-much-better-pass-7")
        .await
        .unwrap();
    assert!(f.engine.refresh(&pair.refresh).await.is_err());
    assert!(matches!(
        f.engine
            .obtain_pair("alice", "alice-pass-9", &ClientInfo::default())
            .await,
        Err(Error::BadCredentials)
    ));
    assert!(
        f.engine
            .obtain_pair("alice", "a-much-better-pass-7", &ClientInfo::default())
            .await
            .is_ok()
    );
}

/// `cache_users`: the user check reads memory, and a change made through the engine's
/// store is seen at once.
#[tokio::test]
async fn cached_users_follow_changes_made_through_tessera() {
    let f = fixture(json!({}), true).await;
    let pair = f.engine.issue_pair_for(&f.alice).await.unwrap();
    assert!(f.engine.authenticate(pair.access.as_bytes()).await.is_ok());
    assert!(
        f.store.cached_user(&f.alice.id).is_some(),
        "the user check filled the cache"
    );
    f.store.set_active(f.alice.id, false).await.unwrap();
    assert!(matches!(
        f.engine.authenticate(pair.access.as_bytes()).await,
        Err(Error::UserInactive)
    ));
}

/// Users hashed by Django's other hashers log in (and are rehashed with the configured
/// hasher); a format Tessera cannot verify fails like a wrong password.
#[tokio::test]
async fn djangos_other_hashers_log_in_and_unknown_ones_fail_alike() {
    let f = fixture(json!({}), false).await;
    let client = ClientInfo::default();
    for (name, hash) in [
        (
            "sha1",
            "pbkdf2_sha1$1000$abcdefghijklmnopqrstuv$bAIfDwEoe1HCMfMnFJADVHoWX00=",
        ),
        (
            "scrypt",
            "scrypt$1024$abcdefghijklmnopqrstuv$8$1$7oFtJdc9XSxR8JG+S5ugUSfelmohe/J6QHG2rjGHfxJvJXYnZQzDV9irwDA4/xKTWkEvxzUKg0qD8GAKp625zw==",
        ),
        (
            "bcrypt",
            "bcrypt_sha256$$2b$04$RMgyMtNxYKCWRQVoCtmpIOcUppjOn2bY4X2XI9KDFSffo7lfk0/RK",
        ),
    ] {
        let u = f
            .store
            .create_user(&NewUser::new(name, hash, 0))
            .await
            .unwrap();
        f.engine
            .obtain_pair(name, "alice-pass", &client)
            .await
            .unwrap();
        let now = f.store.user_by_id(u.id).await.unwrap().unwrap().password;
        assert!(
            now.starts_with("argon2$argon2id$"),
            "{name} rehashed: {now}"
        );
    }
    for (name, hash) in [
        ("md5", "md5$salt$5f4dcc3b5aa765d61d8327deb882cf99"),
        ("unusable", "!x"),
    ] {
        f.store
            .create_user(&NewUser::new(name, hash, 0))
            .await
            .unwrap();
        assert!(matches!(
            f.engine.obtain_pair(name, "password", &client).await,
            Err(Error::BadCredentials)
        ));
    }
}

/// Beside a Django without the argon2 library: with PBKDF2 first in `PASSWORD_HASHERS`, a
/// login upgrades an outdated hash to PBKDF2 (what that Django reads), never to Argon2id.
#[tokio::test]
async fn password_hashers_keep_upgrades_readable_by_django() {
    let f = fixture(
        json!({
            "PASSWORD_HASHERS": [
                "django.contrib.auth.hashers.PBKDF2PasswordHasher",
                "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
            ],
            "PBKDF2_ITERATIONS": 100_000,
        }),
        false,
    )
    .await;
    // Django 5.2: make_password("alice-pass", "abcdefghijklmnopqrstuv", "pbkdf2_sha1") at 1000.
    let u = f
        .store
        .create_user(&NewUser::new(
            "old",
            "pbkdf2_sha1$1000$abcdefghijklmnopqrstuv$bAIfDwEoe1HCMfMnFJADVHoWX00=",
            0,
        ))
        .await
        .unwrap();
    f.engine
        .obtain_pair("old", "alice-pass", &ClientInfo::default())
        .await
        .unwrap();
    let now = f.store.user_by_id(u.id).await.unwrap().unwrap().password;
    assert!(now.starts_with("pbkdf2_sha256$100000$"), "{now}");
}
