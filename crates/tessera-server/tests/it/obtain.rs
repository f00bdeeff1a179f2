//! POST /api/token/ (Appendix C 1–4, 23) and login details.

use serde_json::json;

use crate::support::{TestServer, parts};

#[tokio::test]
async fn missing_blank_and_null_fields_are_drf_errors() {
    let s = TestServer::start(json!({})).await;
    let r = s.post("/api/token/", json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"username": ["This field is required."], "password": ["This field is required."]})
    );
    let r = s.post("/api/token/", json!({"username": "alice"})).await;
    assert_eq!(r.body, json!({"password": ["This field is required."]}));
    let r = s.post("/api/token/", json!({"password": "x"})).await;
    assert_eq!(r.body, json!({"username": ["This field is required."]}));
    let r = s
        .post("/api/token/", json!({"username": "", "password": null}))
        .await;
    assert_eq!(
        r.body,
        json!({"username": ["This field may not be blank."], "password": ["This field may not be null."]})
    );
    let r = s
        .post(
            "/api/token/",
            json!({"username": ["a"], "password": {"b": 1}}),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"username": ["Not a valid string."], "password": ["Not a valid string."]})
    );
}

#[tokio::test]
async fn wrong_password_unknown_and_inactive_users_look_alike() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let inactive = s.user("inactive", "inactive-pass").await;
    s.store().set_active(inactive.id, false).await.unwrap();
    for (u, p) in [
        ("alice", "nope"),
        ("nobody", "alice-pass"),
        ("inactive", "inactive-pass"),
        ("ALICE", "alice-pass"),
    ] {
        let r = s
            .post("/api/token/", json!({"username": u, "password": p}))
            .await;
        assert_eq!(r.status, 401, "{u}");
        assert_eq!(
            r.body,
            json!({"detail": "No active account found with the given credentials"})
        );
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
}

#[tokio::test]
async fn success_has_simple_jwt_layout_and_custom_claims() {
    let s = TestServer::start(json!({})).await;
    let alice = s.user("alice", "alice-pass").await;
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["refresh", "access"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    for (field, ty, life) in [("refresh", "refresh", 86_400), ("access", "access", 300)] {
        let (h, c) = parts(&r.str(field));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"alg":"HS256","typ":"JWT"}"#
        );
        let names: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(
            names,
            [
                "token_type",
                "exp",
                "iat",
                "jti",
                "user_id",
                "username",
                "email"
            ]
        );
        assert_eq!(c["token_type"], ty);
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
            life
        );
        let jti = c["jti"].as_str().unwrap();
        assert!(
            jti.len() == 32
                && jti
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(c["user_id"], json!(alice.id.to_string()));
        assert_eq!(c["username"], "alice");
        assert_eq!(c["email"], "alice@example.com");
    }
    // The refresh token is recorded in the ledger; nothing is blacklisted.
    let counts = s.store().ledger_counts().await.unwrap();
    assert_eq!((counts.outstanding, counts.blacklisted), (1, 0));
    // last_login untouched by default.
    assert_eq!(
        s.store()
            .user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .last_login,
        None
    );
}

#[tokio::test]
async fn form_encoded_login_and_trimmed_username() {
    let s = TestServer::start(json!({})).await;
    s.user("alice", "alice-pass").await;
    let r = s
        .send(
            reqwest::Method::POST,
            "/api/token",
            &[],
            Some((
                "application/x-www-form-urlencoded",
                b"username=+alice+&password=alice-pass".to_vec(),
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn update_last_login_is_honoured_on_obtain_only() {
    let s =
        TestServer::start(json!({"UPDATE_LAST_LOGIN": true, "ROTATE_REFRESH_TOKENS": true})).await;
    let alice = s.user("alice", "alice-pass").await;
    let (_, refresh) = s.login("alice", "alice-pass").await;
    let first = s
        .store()
        .user_by_id(alice.id)
        .await
        .unwrap()
        .unwrap()
        .last_login
        .unwrap();
    s.clock.advance_secs(60);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.store()
            .user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .last_login,
        Some(first)
    );
    let r = s
        .post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let later = s
        .store()
        .user_by_id(alice.id)
        .await
        .unwrap()
        .unwrap()
        .last_login
        .unwrap();
    assert_eq!(later - first, 60_000_000);
}

#[tokio::test]
async fn outdated_django_hash_is_upgraded_on_login() {
    let s = TestServer::start(json!({})).await;
    // Django's pbkdf2_sha256 hash of "alice-pass" (1000 iterations, fixed salt).
    let django =
        "pbkdf2_sha256$1000$abcdefghijklmnopqrstuv$CAEK2n4ta1WGG438Et/leuUZWrPY04RvxWawHsMGwLk=";
    let u = s
        .store()
        .create_user(&tessera_store::NewUser::new("legacy", django, 0))
        .await
        .unwrap();
    let r = s
        .post(
            "/api/token/",
            json!({"username": "legacy", "password": "wrong"}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        s.store().user_by_id(u.id).await.unwrap().unwrap().password,
        django
    );
    s.login("legacy", "alice-pass").await;
    let now = s.store().user_by_id(u.id).await.unwrap().unwrap().password;
    assert!(
        now.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"),
        "{now}"
    );
    s.login("legacy", "alice-pass").await;
}
