//! The admin page's storage ([`AdminStore`]) on both databases: pages of users and
//! tokens with keyset paging, searches and filters, sessions, blacklist edits, admin
//! sessions and the audit log.

use std::sync::Arc;

use tessera_core::DjangoId;
use tessera_store::admin::{
    AdminSession, AuditEvent, TokenOrder, TokenQuery, TokenState, Unblacklisted, UserProfile,
    UserQuery,
};
use tessera_store::{NewUser, OutstandingToken, RotateOutcome, RotationTimes, Store};

const FAR: i64 = 4_102_444_800_000_000;
const NOW: i64 = 2_000_000_000_000_000;

macro_rules! for_each_store {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_guard, store) = crate::support::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some((_guard, store, _url)) = crate::support::postgres().await else { return };
                    super::$name(store).await;
                }
            )*
        }
    };
}

for_each_store!(
    users_are_paged_searched_and_filtered,
    profiles_are_edited,
    sessions_are_listed_and_ended,
    tokens_are_paged_and_blacklisted_by_staff,
    admin_sessions_and_the_audit_log,
);

async fn user(store: &Arc<dyn Store>, name: &str, email: &str, active: bool, staff: bool) -> i64 {
    let mut nu = NewUser::new(name, "pbkdf2_sha256$1$s$aGFzaA==", 0);
    nu.email = email.to_owned();
    nu.is_active = active;
    nu.is_staff = staff;
    store.create_user(&nu).await.unwrap().id.as_int().unwrap()
}

fn names(users: &[tessera_core::User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

async fn users_are_paged_searched_and_filtered(store: Arc<dyn Store>) {
    user(&store, "alice", "alice@example.com", true, true).await;
    user(&store, "Albert", "bert@example.org", true, false).await;
    user(&store, "bob", "ALFRED@example.com", false, false).await;
    user(&store, "a_b", "x@example.com", true, false).await;
    user(&store, "axb", "y@example.com", true, false).await;
    let page = |q: UserQuery| {
        let store = store.clone();
        async move { store.users_page(&q).await.unwrap() }
    };
    let all = page(UserQuery {
        limit: 10,
        ..UserQuery::default()
    })
    .await;
    assert_eq!(names(&all), ["alice", "Albert", "bob", "a_b", "axb"]);
    // A prefix of the username or the email, any case.
    let al = page(UserQuery {
        search: "AL".into(),
        limit: 10,
        ..UserQuery::default()
    })
    .await;
    assert_eq!(names(&al), ["alice", "Albert", "bob"]);
    // LIKE's wildcards are literal.
    let underscore = page(UserQuery {
        search: "a_".into(),
        limit: 10,
        ..UserQuery::default()
    })
    .await;
    assert_eq!(names(&underscore), ["a_b"]);
    let staff = page(UserQuery {
        staff: Some(true),
        limit: 10,
        ..UserQuery::default()
    })
    .await;
    assert_eq!(names(&staff), ["alice"]);
    let inactive = page(UserQuery {
        active: Some(false),
        limit: 10,
        ..UserQuery::default()
    })
    .await;
    assert_eq!(names(&inactive), ["bob"]);
    // Keyset paging: two at a time, every user once.
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let p = page(UserQuery {
            after,
            limit: 2,
            ..UserQuery::default()
        })
        .await;
        if p.is_empty() {
            break;
        }
        after = Some(p.last().unwrap().id);
        seen.extend(p.into_iter().map(|u| u.username));
    }
    assert_eq!(seen, ["alice", "Albert", "bob", "a_b", "axb"]);
    // Hostile text is only text.
    let nothing = page(UserQuery {
        search: "'; DROP TABLE auth_user; --\u{1F600}".into(),
        limit: 10,
        ..UserQuery::default()
    })
    .await;
    assert!(nothing.is_empty());
}

async fn profiles_are_edited(store: Arc<dyn Store>) {
    let id = user(&store, "carol", "carol@example.com", true, false).await;
    let p = UserProfile {
        email: "c@example.org".into(),
        first_name: "Carol".into(),
        last_name: "Danvers".into(),
        is_active: false,
        is_staff: true,
    };
    assert!(store.update_profile(DjangoId::Int(id), &p).await.unwrap());
    let u = store.user_by_id(DjangoId::Int(id)).await.unwrap().unwrap();
    assert_eq!(
        (
            u.email.as_str(),
            u.first_name.as_str(),
            u.last_name.as_str()
        ),
        ("c@example.org", "Carol", "Danvers")
    );
    assert!(!u.is_active && u.is_staff);
    assert!(!store.update_profile(DjangoId::Int(999), &p).await.unwrap());
}

fn token(jti: &str, user: i64, family: &str, created: i64, expires: i64) -> OutstandingToken {
    OutstandingToken {
        jti: jti.to_owned(),
        user_id: Some(user),
        user_key: Some(user.to_string()),
        token: format!("header.payload-{jti}"),
        created_at: created,
        expires_at: expires,
        family_id: Some(family.to_owned()),
    }
}

async fn sessions_are_listed_and_ended(store: Arc<dyn Store>) {
    let id = user(&store, "dave", "dave@example.com", true, false).await;
    let f1 = "a".repeat(32);
    let f2 = "b".repeat(32);
    store
        .outstand(&token("j1", id, &f1, 1_000_000, FAR))
        .await
        .unwrap();
    store
        .outstand(&token("j2", id, &f2, 2_000_000, FAR))
        .await
        .unwrap();
    let times = RotationTimes {
        presented: 3_000_000,
        now: 3_000_000,
        grace: 0,
    };
    let rotated = store
        .rotate(
            &token("j2", id, &f2, 2_000_000, FAR),
            &token("j3", id, &f2, 3_000_000, FAR + 1_000_000),
            times,
        )
        .await
        .unwrap();
    assert_eq!(rotated, RotateOutcome::Rotated);
    let sessions = store
        .sessions_of(&id.to_string(), Some(id), 10)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0].id, f2, "newest first");
    assert_eq!(sessions[0].started, 2_000_000);
    assert_eq!(sessions[0].last_refreshed, Some(3_000_000));
    assert_eq!(sessions[0].expires, Some(FAR + 1_000_000));
    assert_eq!(sessions[0].ended, None);
    store
        .record_login_client(&f2, Some("203.0.113.7"), Some("Mozilla/5.0 (X11)"))
        .await
        .unwrap();
    let listed = store
        .sessions_of(&id.to_string(), Some(id), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(listed[0].user_agent.as_deref(), Some("Mozilla/5.0 (X11)"));
    assert_eq!(listed[1].client_ip, None);
    store
        .record_login_client(&f2, Some("203.0.113.7"), Some("Mozilla/5.0 (X11)"))
        .await
        .unwrap();
    let listed = store
        .sessions_of(&id.to_string(), Some(id), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(listed[0].user_agent.as_deref(), Some("Mozilla/5.0 (X11)"));
    assert_eq!(listed[1].client_ip, None);
    assert!(
        store
            .session_belongs_to(&f2, &id.to_string(), Some(id))
            .await
            .unwrap()
    );
    assert!(
        !store
            .session_belongs_to(&f2, "999", Some(999))
            .await
            .unwrap()
    );
    assert!(
        !store
            .session_belongs_to("nope\0", &id.to_string(), None)
            .await
            .unwrap()
    );
    let ended = store.end_session(&f2, 4_000_000).await.unwrap();
    assert_eq!(ended.map(|r| r.id), Some(f2.clone()));
    assert!(store.end_session(&f2, 5_000_000).await.unwrap().is_none());
    assert!(store.is_blacklisted("j3").await.unwrap());
    assert!(store.family_revoked(&f2).await.unwrap());
    let sessions = store
        .sessions_of(&id.to_string(), Some(id), 10)
        .await
        .unwrap();
    assert_eq!(sessions[0].ended, Some(4_000_000));
    assert_eq!(sessions[1].ended, None);
}

async fn tokens_are_paged_and_blacklisted_by_staff(store: Arc<dyn Store>) {
    let id = user(&store, "erin", "erin@example.com", true, false).await;
    let other = user(&store, "frank", "frank@example.com", true, false).await;
    for i in 0..5 {
        let f = format!("{i:032}");
        let expires = if i == 0 {
            NOW - 1
        } else {
            NOW + i64::from(i) * 1_000_000
        };
        store
            .outstand(&token(
                &format!("t{i}"),
                id,
                &f,
                1_000_000 + i64::from(i),
                expires,
            ))
            .await
            .unwrap();
    }
    store
        .outstand(&token("u0", other, &"f".repeat(32), 1_000_000, FAR))
        .await
        .unwrap();
    let page = |q: TokenQuery| {
        let store = store.clone();
        async move { store.tokens_page(&q).await.unwrap() }
    };
    let base = TokenQuery {
        user_id: Some(id),
        limit: 10,
        now: NOW,
        ..TokenQuery::default()
    };
    let jtis = |rows: &[tessera_store::admin::TokenRow]| -> Vec<String> {
        rows.iter().map(|r| r.jti.clone()).collect()
    };
    let newest = page(base.clone()).await;
    assert_eq!(jtis(&newest), ["t4", "t3", "t2", "t1", "t0"]);
    assert_eq!(newest[0].short_hash.len(), 12);
    assert_eq!(
        newest[0].family.as_deref(),
        Some(format!("{:032}", 4).as_str())
    );
    assert_eq!(newest[4].expires_at, NOW - 1);
    // Keyset pages, by expiry.
    let first = page(TokenQuery {
        order: TokenOrder::ExpiresFirst,
        limit: 2,
        ..base.clone()
    })
    .await;
    assert_eq!(jtis(&first), ["t0", "t1"]);
    let last = first.last().unwrap();
    let next = page(TokenQuery {
        order: TokenOrder::ExpiresFirst,
        limit: 2,
        after: Some((last.expires_at, last.id)),
        ..base.clone()
    })
    .await;
    assert_eq!(jtis(&next), ["t2", "t3"]);
    let oldest = page(TokenQuery {
        order: TokenOrder::Oldest,
        after: Some((0, newest[3].id)),
        ..base.clone()
    })
    .await;
    assert_eq!(jtis(&oldest), ["t2", "t3", "t4"]);
    // States.
    let expired = page(TokenQuery {
        state: Some(TokenState::Expired),
        ..base.clone()
    })
    .await;
    assert_eq!(jtis(&expired), ["t0"]);
    let t2 = newest[2].id;
    let t3 = newest[1].id;
    assert_eq!(store.blacklist_rows(&[t2, t3], NOW).await.unwrap(), 2);
    assert_eq!(store.blacklist_rows(&[t2], NOW).await.unwrap(), 0);
    assert!(store.is_blacklisted("t2").await.unwrap());
    let black = page(TokenQuery {
        state: Some(TokenState::Blacklisted),
        ..base.clone()
    })
    .await;
    assert_eq!(jtis(&black), ["t3", "t2"]);
    assert_eq!(black[0].reason.as_deref(), Some("admin"));
    assert_eq!(black[0].blacklisted_at, Some(NOW));
    let live = page(TokenQuery {
        state: Some(TokenState::Live),
        ..base.clone()
    })
    .await;
    assert_eq!(jtis(&live), ["t4", "t1"]);
    // By jti, whoever's.
    let one = page(TokenQuery {
        jti: "u0".into(),
        limit: 10,
        now: NOW,
        ..TokenQuery::default()
    })
    .await;
    assert_eq!(
        (jtis(&one), one[0].user_id),
        (vec!["u0".to_owned()], Some(other))
    );
    // Removing from the blacklist: back to live; not for ended sessions.
    assert_eq!(
        store.unblacklist_row(t2).await.unwrap(),
        Unblacklisted::Removed
    );
    assert!(!store.is_blacklisted("t2").await.unwrap());
    assert_eq!(
        store.unblacklist_row(t2).await.unwrap(),
        Unblacklisted::NotBlacklisted
    );
    store.end_session(&format!("{:032}", 3), NOW).await.unwrap();
    assert_eq!(
        store.unblacklist_row(t3).await.unwrap(),
        Unblacklisted::SessionEnded
    );
    assert!(store.is_blacklisted("t3").await.unwrap());
}

async fn admin_sessions_and_the_audit_log(store: Arc<dyn Store>) {
    let s = AdminSession {
        id: "9".repeat(64),
        user_key: "1".into(),
        csrf: "c".repeat(43),
        created_at: 1_000,
        seen_at: 1_000,
    };
    store.create_admin_session(&s).await.unwrap();
    assert_eq!(store.admin_session(&s.id).await.unwrap(), Some(s.clone()));
    store.touch_admin_session(&s.id, 5_000).await.unwrap();
    assert_eq!(
        store.admin_session(&s.id).await.unwrap().unwrap().seen_at,
        5_000
    );
    assert_eq!(store.expire_admin_sessions(4_000, 0).await.unwrap(), 0);
    assert_eq!(store.expire_admin_sessions(6_000, 0).await.unwrap(), 1);
    assert_eq!(store.admin_session(&s.id).await.unwrap(), None);
    store.create_admin_session(&s).await.unwrap();
    store.delete_admin_session(&s.id).await.unwrap();
    assert_eq!(store.admin_session(&s.id).await.unwrap(), None);

    let event = |i: i64, actor: &str, action: &str| AuditEvent {
        at: i,
        actor: actor.into(),
        action: action.into(),
        target: format!("user:{i}"),
        client: "127.0.0.1".into(),
        detail: String::new(),
    };
    let events: Vec<AuditEvent> = (0..5)
        .map(|i| {
            event(
                i,
                if i % 2 == 0 { "alice" } else { "bob" },
                "login_succeeded",
            )
        })
        .collect();
    store.audit(&events).await.unwrap();
    let all = store.audit_page("", None, 10).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].event, events[4], "newest first");
    let bob = store.audit_page("bob", None, 10).await.unwrap();
    assert_eq!(bob.len(), 2);
    let older = store.audit_page("", Some(all[1].id), 10).await.unwrap();
    assert_eq!(older.len(), 3);
    assert_eq!(older[0].event, events[2]);
    assert_eq!(store.audit_page("user:3", None, 10).await.unwrap().len(), 1);
    // Retention: entries before a time go, in bounded batches.
    assert_eq!(store.prune_audit_batch(3, 2).await.unwrap(), 2);
    assert_eq!(store.prune_audit_batch(3, 2).await.unwrap(), 1);
    assert_eq!(store.prune_audit_batch(3, 2).await.unwrap(), 0);
    assert_eq!(store.audit_page("", None, 10).await.unwrap().len(), 2);
}
