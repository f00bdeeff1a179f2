//! The store-conformance suite: what every `Store` must do, whatever the database.

use std::sync::Arc;

use tessera_store::{
    NewUser, OutstandingToken, RevocationEvent, RotateOutcome, RotationTimes, Store,
};

/// 2100-01-01: far in the future, inside the datetime range both databases store.
const FAR: i64 = 4_102_444_800_000_000;

fn token(jti: &str, user: Option<i64>, expires: i64) -> OutstandingToken {
    OutstandingToken {
        jti: jti.to_owned(),
        user_id: user,
        user_key: user.map(|u| u.to_string()),
        token: format!("token-{jti}"),
        created_at: 1_000_000,
        expires_at: expires,
        family_id: None,
    }
}

fn in_family(jti: &str, user: Option<i64>, family: &str) -> OutstandingToken {
    OutstandingToken {
        family_id: Some(family.to_owned()),
        ..token(jti, user, FAR)
    }
}

/// Runs each test function against SQLite and against PostgreSQL.
macro_rules! for_each_store {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (_guard, store) = crate::support::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((_guard, store, _url)) = crate::support::postgres().await else { return };
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
    concurrent_rotations_of_many_tokens_each_succeed_once,
    flush_removes_only_expired,
    reuse_of_a_rotated_token_revokes_the_family,
    reuse_within_grace_is_refused_without_revoking,
    logout_revokes_the_family,
    revoke_user_revokes_everything,
    revoke_user_by_key_for_users_outside_auth_user,
    rotation_carries_the_family_over,
    login_state_reads_the_user_and_the_live_counters,
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
    let t = token("a1", u.id.as_int(), FAR);
    store.outstand(&t).await.unwrap();
    store.outstand(&t).await.unwrap();
    assert!(!store.is_blacklisted("a1").await.unwrap());
    store.blacklist(&t, 1).await.unwrap();
    store.blacklist(&t, 2).await.unwrap();
    assert!(store.is_blacklisted("a1").await.unwrap());
    // A token never recorded (minted elsewhere) can be blacklisted too.
    let ghost = token("ghost", Some(999), FAR);
    store.blacklist(&ghost, 3).await.unwrap();
    assert!(store.is_blacklisted("ghost").await.unwrap());
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
    let old = token("old", u.id.as_int(), FAR);
    store.outstand(&old).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let old = old.clone();
        tasks.push(tokio::spawn(async move {
            let new = token(&format!("new{i}"), old.user_id, FAR);
            store.rotate(&old, &new, RotationTimes::at(10)).await
        }));
    }
    let mut rotated = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            RotateOutcome::Rotated => rotated += 1,
            RotateOutcome::ReusedWithinGrace => {}
            other => panic!("unexpected {other:?}"),
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

/// Many tokens rotated at once, each presented twice, so rotations gather into shared
/// batches (PostgreSQL's group committer): every token rotates exactly once, its
/// successor joins the right family (carried, named after it, or from the ledger), and
/// a token of a session logged out meanwhile gets no successor.
async fn concurrent_rotations_of_many_tokens_each_succeed_once(store: Arc<dyn Store>) {
    const N: usize = 40;
    let u = store
        .create_user(&NewUser::new("erin", "!", 0))
        .await
        .unwrap()
        .id
        .as_int();
    let mut olds = Vec::new();
    for i in 0..N {
        // A third carry their family in the claims, a third only in the ledger, a
        // third were never recorded (their family is named after them).
        let t = match i % 3 {
            0 => in_family(&format!("m{i:02}"), u, &format!("fam{i:02}")),
            1 => in_family(&format!("m{i:02}"), u, &format!("led{i:02}")),
            _ => token(&format!("m{i:02}"), u, FAR),
        };
        if i % 3 != 2 {
            store.outstand(&t).await.unwrap();
        }
        olds.push(match i % 3 {
            1 => OutstandingToken {
                family_id: None,
                ..t
            },
            _ => t,
        });
    }
    let gone = in_family("gone", u, "famgone");
    store.outstand(&gone).await.unwrap();
    store.blacklist(&gone, 5).await.unwrap();
    let mut tasks = Vec::new();
    for (i, old) in olds.iter().chain([&gone]).enumerate() {
        for copy in ["a", "b"] {
            let (store, old) = (store.clone(), old.clone());
            tasks.push(tokio::spawn(async move {
                let new = token(&format!("{}-{copy}", old.jti), old.user_id, FAR);
                let outcome = store.rotate(&old, &new, RotationTimes::at(10)).await;
                (i, new.jti, outcome.unwrap())
            }));
        }
    }
    let mut successors = vec![Vec::new(); N + 1];
    for t in tasks {
        let (i, jti, outcome) = t.await.unwrap();
        match outcome {
            RotateOutcome::Rotated => successors[i].push(jti),
            RotateOutcome::ReusedWithinGrace | RotateOutcome::AlreadyBlacklisted => {}
            other => panic!("token {i}: unexpected {other:?}"),
        }
    }
    assert!(successors[N].is_empty(), "a logged-out token was rotated");
    for (i, next) in successors[..N].iter().enumerate() {
        assert_eq!(next.len(), 1, "token {i} rotated {} times", next.len());
        let family = store.family_of(&next[0]).await.unwrap().unwrap().id;
        let want = match i % 3 {
            0 => format!("fam{i:02}"),
            1 => format!("led{i:02}"),
            _ => format!("m{i:02}"),
        };
        assert_eq!(family, want, "token {i}");
        assert!(store.is_blacklisted(&olds[i].jti).await.unwrap());
    }
    let c = store.ledger_counts().await.unwrap();
    assert_eq!(
        (c.outstanding, c.blacklisted),
        (2 * N as i64 + 1, N as i64 + 1)
    );
}

async fn flush_removes_only_expired(store: Arc<dyn Store>) {
    store.outstand(&token("e1", None, 1_000)).await.unwrap();
    store
        .blacklist(&in_family_exp("e2", 2_000), 1)
        .await
        .unwrap();
    store.outstand(&token("live", None, 10_000)).await.unwrap();
    for i in 0..5 {
        store
            .outstand(&token(&format!("b{i}"), None, 500))
            .await
            .unwrap();
    }
    assert_eq!(store.count_expired(2_000).await.unwrap(), 7);
    assert_eq!(store.flush_expired_batch(2_000, 3).await.unwrap(), 3);
    assert_eq!(store.flush_expired_batch(2_000, 3).await.unwrap(), 3);
    assert_eq!(store.count_expired(2_000).await.unwrap(), 1);
    assert_eq!(store.flush_expired(2_000).await.unwrap(), 1);
    let c = store.ledger_counts().await.unwrap();
    assert_eq!((c.outstanding, c.blacklisted), (1, 0));
}

fn in_family_exp(jti: &str, expires: i64) -> OutstandingToken {
    OutstandingToken {
        expires_at: expires,
        ..in_family(jti, None, &format!("fam-{jti}"))
    }
}

async fn reuse_of_a_rotated_token_revokes_the_family(store: Arc<dyn Store>) {
    let u = store
        .create_user(&NewUser::new("frank", "!", 0))
        .await
        .unwrap();
    let (t1, t2, t3) = (
        in_family("t1", u.id.as_int(), "fam1"),
        in_family("t2", u.id.as_int(), "fam1"),
        in_family("t3", u.id.as_int(), "fam1"),
    );
    let other = in_family("o1", u.id.as_int(), "fam2");
    store.outstand(&t1).await.unwrap();
    store.outstand(&other).await.unwrap();
    let fam = store.family_of("t1").await.unwrap().unwrap();
    assert_eq!(
        (fam.id.as_str(), fam.user_id, fam.revoked_at),
        ("fam1", u.id.as_int(), None)
    );
    assert_eq!(
        store
            .rotate(&t1, &t2, RotationTimes::at(100))
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(
        store
            .rotate(&t2, &t3, RotationTimes::at(200))
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(store.family_of("t3").await.unwrap().unwrap().id, "fam1");
    // t1 again: a replay. The family goes, the victim's current token (t3) included.
    let RotateOutcome::Reused(revoked) = store
        .rotate(
            &t1,
            &in_family("t4", u.id.as_int(), "fam1"),
            RotationTimes::at(300),
        )
        .await
        .unwrap()
    else {
        panic!("expected reuse")
    };
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        (revoked[0].id.as_str(), revoked[0].revoked_at),
        ("fam1", 300)
    );
    assert!(store.is_blacklisted("t3").await.unwrap());
    assert_eq!(
        store.family_of("t3").await.unwrap().unwrap().revoked_at,
        Some(300)
    );
    assert!(
        store.family_of("t4").await.unwrap().is_none(),
        "nothing minted on reuse"
    );
    // Other sessions of the user are untouched.
    assert!(!store.is_blacklisted("o1").await.unwrap());
    // The current token is now refused as blacklisted, not as a reuse.
    assert_eq!(
        store
            .rotate(
                &t3,
                &in_family("t5", u.id.as_int(), "fam1"),
                RotationTimes::at(400)
            )
            .await
            .unwrap(),
        RotateOutcome::AlreadyBlacklisted
    );
    assert_eq!(store.revoked_families_since(300).await.unwrap(), revoked);
    assert!(store.revoked_families_since(301).await.unwrap().is_empty());
}

async fn reuse_within_grace_is_refused_without_revoking(store: Arc<dyn Store>) {
    let (a, b) = (in_family("g1", None, "famg"), in_family("g2", None, "famg"));
    store.outstand(&a).await.unwrap();
    let times = |presented: i64| RotationTimes {
        presented,
        now: presented + 10,
        grace: 5_000_000,
    };
    assert_eq!(
        store.rotate(&a, &b, times(1_000_000)).await.unwrap(),
        RotateOutcome::Rotated
    );
    let again = in_family("g3", None, "famg");
    // Presented before the winner wrote its rotation: a race, never a replay.
    assert_eq!(
        store.rotate(&a, &again, times(999_000)).await.unwrap(),
        RotateOutcome::ReusedWithinGrace
    );
    // Within the grace after it.
    assert_eq!(
        store.rotate(&a, &again, times(3_000_000)).await.unwrap(),
        RotateOutcome::ReusedWithinGrace
    );
    assert!(
        !store.is_blacklisted("g2").await.unwrap(),
        "the new token survives"
    );
    assert!(matches!(
        store.rotate(&a, &again, times(7_000_000)).await.unwrap(),
        RotateOutcome::Reused(_)
    ));
}

async fn logout_revokes_the_family(store: Arc<dyn Store>) {
    let t = in_family("l1", None, "faml");
    store.outstand(&t).await.unwrap();
    let revoked = store.blacklist(&t, 50).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert!(
        store.blacklist(&t, 60).await.unwrap().is_empty(),
        "idempotent"
    );
    assert_eq!(
        store
            .rotate(&t, &in_family("l2", None, "faml"), RotationTimes::at(70))
            .await
            .unwrap(),
        RotateOutcome::AlreadyBlacklisted
    );
}

async fn revoke_user_revokes_everything(store: Arc<dyn Store>) {
    let u = store
        .create_user(&NewUser::new("gina", "!", 0))
        .await
        .unwrap();
    let v = store
        .create_user(&NewUser::new("hank", "!", 0))
        .await
        .unwrap();
    store
        .outstand(&in_family("r1", u.id.as_int(), "famr1"))
        .await
        .unwrap();
    store
        .outstand(&in_family("r2", u.id.as_int(), "famr2"))
        .await
        .unwrap();
    store
        .outstand(&token("r3", u.id.as_int(), FAR))
        .await
        .unwrap();
    store
        .outstand(&in_family("r4", v.id.as_int(), "famr4"))
        .await
        .unwrap();
    let mut revoked = store
        .revoke_user(&u.id.to_string(), u.id.as_int(), 10)
        .await
        .unwrap();
    revoked.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = revoked.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["famr1", "famr2"]);
    for jti in ["r1", "r2", "r3"] {
        assert!(store.is_blacklisted(jti).await.unwrap(), "{jti}");
    }
    assert!(!store.is_blacklisted("r4").await.unwrap());
    assert!(
        store
            .revoke_user(&u.id.to_string(), u.id.as_int(), 20)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Users kept outside `auth_user` (an application's own table, any id type) have no
/// `user_id`: their sessions are found by the key tokens name them by, and revoking one
/// such user touches no other user's sessions, Django's included.
async fn revoke_user_by_key_for_users_outside_auth_user(store: Arc<dyn Store>) {
    let django = store
        .create_user(&NewUser::new("ivy", "!", 0))
        .await
        .unwrap();
    let external = |jti: &str, key: &str, family: &str| OutstandingToken {
        user_id: None,
        user_key: Some(key.to_owned()),
        ..in_family(jti, None, family)
    };
    store
        .outstand(&external("x1", "9b2f0c6e-uuid", "famx1"))
        .await
        .unwrap();
    store
        .outstand(&external("x2", "9b2f0c6e-uuid", "famx2"))
        .await
        .unwrap();
    // Another external user whose key is the Django user's id as text.
    store
        .outstand(&external("y1", &django.id.to_string(), "famy1"))
        .await
        .unwrap();
    store
        .outstand(&in_family("d1", django.id.as_int(), "famd1"))
        .await
        .unwrap();
    let fam = store.family_of("x1").await.unwrap().unwrap();
    assert_eq!(
        (fam.user_id, fam.user_key.as_deref()),
        (None, Some("9b2f0c6e-uuid"))
    );
    let mut revoked = store.revoke_user("9b2f0c6e-uuid", None, 10).await.unwrap();
    revoked.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = revoked.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["famx1", "famx2"]);
    assert!(store.is_blacklisted("x1").await.unwrap());
    assert!(store.is_blacklisted("x2").await.unwrap());
    assert!(!store.is_blacklisted("y1").await.unwrap());
    assert!(!store.is_blacklisted("d1").await.unwrap());
}

/// PostgreSQL only: a revocation committed through one connection pool reaches another
/// pool's listener (another instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_revocations_reach_other_instances() {
    let Some((_guard, a, url)) = crate::support::postgres().await else {
        return;
    };
    let b = tessera_store::open(&url).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    b.listen_revocations(tx).await.unwrap();
    let t = in_family("n1", None, "famn");
    a.outstand(&t).await.unwrap();
    a.blacklist(&t, 123).await.unwrap();
    let ev = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .expect("notification within 5 s")
        .unwrap();
    assert_eq!(
        ev,
        RevocationEvent::Revoked(tessera_store::RevokedFamily {
            id: "famn".into(),
            revoked_at: 123
        })
    );
}

async fn rotation_carries_the_family_over(store: Arc<dyn Store>) {
    let old = in_family("c1", None, "famc");
    store.outstand(&old).await.unwrap();
    let new = token("c2", None, FAR);
    assert_eq!(
        store
            .rotate(&old, &new, RotationTimes::at(5))
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(store.family_of("c2").await.unwrap().unwrap().id, "famc");
    // A token the ledger never saw starts a family named after it.
    let stranger = token("s1", None, FAR);
    assert_eq!(
        store
            .rotate(&stranger, &token("s2", None, FAR), RotationTimes::at(6))
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(store.family_of("s2").await.unwrap().unwrap().id, "s1");
    assert!(
        matches!(store.rotate(&stranger, &token("s3", None, FAR), RotationTimes::at(7)).await.unwrap(), RotateOutcome::Reused(r) if r.len() == 1)
    );
    assert!(store.is_blacklisted("s2").await.unwrap());
}

/// `login_state` answers exactly what `user_by_username` and `login_failures` would,
/// whichever of the user and the counters exist, with 0 to 3 keys.
async fn login_state_reads_the_user_and_the_live_counters(store: Arc<dyn Store>) {
    const WINDOW: i64 = 300_000_000;
    let mut nu = NewUser::new("alice", "argon2$hash", 1_700_000_000_000_000);
    nu.email = "alice@example.com".into();
    let alice = store.create_user(&nu).await.unwrap();
    store
        .set_last_login(alice.id, 1_700_000_000_500_000)
        .await
        .unwrap();
    let alice = store.user_by_id(alice.id).await.unwrap().unwrap();
    let key = |k: &str| k.to_owned();
    store
        .record_login_failure(&[key("user:alice"), key("ip:192.0.2.1")], 1_000, WINDOW)
        .await
        .unwrap();
    store
        .record_login_failure(&[key("user:alice")], 2_000, WINDOW)
        .await
        .unwrap();
    store
        .record_login_failure(&[key("ip:192.0.2.9")], 5_000, WINDOW)
        .await
        .unwrap();

    let cases: &[(&str, &[&str], i64)] = &[
        ("alice", &[], 3_000),
        ("alice", &["user:alice"], 3_000),
        ("alice", &["user:alice", "ip:192.0.2.1"], 3_000),
        ("alice", &["user:alice", "ip:192.0.2.2"], 3_000),
        ("nobody", &["user:nobody", "ip:192.0.2.1"], 3_000),
        ("Alice", &["user:Alice"], 3_000),
        // The first window has passed; the third address's has not.
        ("alice", &["user:alice", "ip:192.0.2.9"], 1_000 + WINDOW),
        (
            "alice",
            &["user:alice", "ip:192.0.2.1", "ip:192.0.2.9"],
            3_000,
        ),
    ];
    for (username, keys, now) in cases {
        let keys: Vec<String> = keys.iter().map(|k| key(k)).collect();
        let found = store
            .login_state(username, &keys, *now, WINDOW)
            .await
            .unwrap();
        let expected_user = store.user_by_username(username).await.unwrap();
        let expected_failures = store.login_failures(&keys, *now, WINDOW).await.unwrap();
        assert_eq!(found.user, expected_user, "{username} {keys:?}");
        assert_eq!(found.failures, expected_failures, "{username} {keys:?}");
    }
    // And the figures themselves, for the two-key case.
    let found = store
        .login_state(
            "alice",
            &[key("user:alice"), key("ip:192.0.2.1")],
            3_000,
            WINDOW,
        )
        .await
        .unwrap();
    assert_eq!(found.user, Some(alice));
    assert_eq!(
        found.failures,
        vec![
            (key("user:alice"), 2, 1_000 + WINDOW),
            (key("ip:192.0.2.1"), 1, 1_000 + WINDOW),
        ]
    );
}

/// PostgreSQL refuses some values SQLite stores (a NUL in text, a string longer than its
/// column): the store reports them as bad input (answered 400 by the web layer), not as
/// an outage or a bug.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reports_refused_values_as_bad_input() {
    let Some((_guard, store, _url)) = crate::support::postgres().await else {
        return;
    };
    for name in ["al\0ice".to_owned(), "x".repeat(151)] {
        let err = store
            .create_user(&NewUser::new(&name, "!", 0))
            .await
            .unwrap_err();
        assert!(err.is_bad_input() && !err.is_unavailable(), "{err}");
    }
    let err = store.user_by_username("al\0ice").await.unwrap_err();
    assert!(err.is_bad_input(), "{err}");
}
