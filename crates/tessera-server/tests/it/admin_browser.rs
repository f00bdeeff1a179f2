//! The admin page in headless Chromium through WebDriver, on the real binary (`tessera
//! serve` with its audit log): sign in as staff, find a user, end one of their sessions
//! and see that session's refresh token refused by the API, blacklist a token and see
//! it refused, rotate the signing key and see tokens signed before still verify, read
//! the audit entries; a non-staff user is refused; a forged cross-site
//! form post is refused. Screenshots of every page in `<target>/tmp/browser/admin*/`.

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::{Value, json};

use crate::cli::{post, serve, tessera};
use crate::webdriver::{Browser, Driver};

async fn sign_in(b: &mut Browser, origin: &str, user: &str, password: &str) {
    b.goto(&format!("{origin}/admin/")).await;
    b.wait_for(
        "the sign-in page",
        "return document.getElementById('username') !== null",
    )
    .await;
    b.fill("#username", user).await;
    b.fill("#password", password).await;
    b.click("button[type=submit]").await;
}

async fn refresh_status(api: &str, refresh: &Value) -> u16 {
    post(
        &format!("{api}/api/token/refresh/"),
        json!({"refresh": refresh}),
    )
    .await
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TESSERA_KEY_STORE", "database"),
        (
            "TESSERA_KEY_ENCRYPTION_KEY",
            "admin-browser-test-key-encryption-key-0123456789",
        ),
        ("TESSERA_ALGORITHM", "ES256"),
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
    ];
    let o = tessera(dir.path(), &["seed-demo"], None, &env);
    assert!(o.status.success(), "{}", crate::cli::text(&o));
    let o = tessera(
        dir.path(),
        &[
            "createsuperuser",
            "--username",
            "root",
            "--email",
            "root@example.com",
            "--password-stdin",
        ],
        Some("root-pass-123\n"),
        &env,
    );
    assert!(o.status.success(), "{}", crate::cli::text(&o));
    let (mut child, url) = serve(dir.path(), &env);
    let origin = url.replace("127.0.0.1", "localhost");
    let login = json!({"username": "alice", "password": "alice-pass"});
    let (_, first) = post(&format!("{url}/api/token/"), login.clone()).await;
    let (_, second) = post(&format!("{url}/api/token/"), login.clone()).await;

    let mut b = driver.browser("admin").await;
    sign_in(&mut b, &origin, "root", "root-pass-123").await;
    b.wait_for(
        "the users page",
        "return document.querySelector('h1').innerText === 'Users'",
    )
    .await;
    b.screenshot("users").await;

    // Find alice.
    b.fill("#q", "ali").await;
    b.click(".filters button").await;
    b.wait_for(
        "the search result",
        "return document.querySelectorAll('tbody tr').length === 1",
    )
    .await;
    b.click("tbody tr a").await;
    b.wait_for(
        "alice's page",
        "return document.querySelector('h1').innerText === 'User alice'",
    )
    .await;
    b.screenshot("user-with-sessions").await;

    // End her older session (the second row: sessions are listed newest first).
    b.click("table tbody tr:nth-child(2) button").await;
    b.wait_for(
        "the session ended",
        "return document.body.innerText.includes('Session ended')",
    )
    .await;
    b.screenshot("session-ended").await;
    assert_eq!(refresh_status(&url, &first["refresh"]).await, 401);
    assert_eq!(refresh_status(&url, &second["refresh"]).await, 200);

    // Blacklist a token from the tokens page: the API refuses it.
    let (_, third) = post(&format!("{url}/api/token/"), login.clone()).await;
    let jti = crate::support::parts(third["refresh"].as_str().unwrap()).1["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    b.goto(&format!("{origin}/admin/tokens/?jti={jti}")).await;
    b.wait_for(
        "the token",
        &format!("return document.body.innerText.includes('{jti}')"),
    )
    .await;
    b.screenshot("tokens").await;
    b.click("tbody tr button").await;
    b.wait_for(
        "the token blacklisted",
        "return document.body.innerText.includes('Blacklisted: refused from now on.')",
    )
    .await;
    assert_eq!(refresh_status(&url, &third["refresh"]).await, 401);
    b.goto(&format!("{origin}/admin/tokens/flush/")).await;
    b.wait_for(
        "the flush page",
        "return document.querySelector('h1') !== null",
    )
    .await;
    b.screenshot("flush").await;
    b.goto(&format!("{origin}/admin/users/new/")).await;
    b.wait_for(
        "the new-user page",
        "return document.getElementById('username') !== null",
    )
    .await;
    b.screenshot("new-user").await;

    // Rotate the signing key: new tokens carry the new kid, the old ones still verify.
    let (_, before) = post(&format!("{url}/api/token/"), login.clone()).await;
    let old_access = before["access"].as_str().unwrap().to_owned();
    let kid_of = |t: &str| {
        crate::support::parts(t).0["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    b.goto(&format!("{origin}/admin/keys/")).await;
    b.wait_for(
        "the keys page",
        "return document.querySelector('h1').innerText === 'Signing keys'",
    )
    .await;
    b.screenshot("keys").await;
    b.click("form[action$='/keys/rotate/'] button").await;
    b.wait_for(
        "the rotation",
        "return document.body.innerText.includes('Rotated: the new key signs')",
    )
    .await;
    b.screenshot("keys-rotated").await;
    let (_, after) = post(&format!("{url}/api/token/"), login.clone()).await;
    assert_ne!(
        kid_of(&old_access),
        kid_of(after["access"].as_str().unwrap())
    );
    let me = crate::cli::client()
        .get(format!("{url}/api/me/"))
        .bearer_auth(&old_access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        200,
        "a token signed before the rotation still verifies"
    );

    // The audit log: the admin's actions and the API's logins.
    let mut found = false;
    for _ in 0..20 {
        b.goto(&format!("{origin}/admin/audit/")).await;
        let text = b.text("main").await;
        found = [
            "admin_session_ended",
            "admin_tokens_blacklisted",
            "admin_key_rotated",
            "admin_signed_in",
            "login_succeeded",
        ]
        .iter()
        .all(|a| text.contains(a));
        if found {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(found, "{}", b.text("main").await);
    b.screenshot("audit-log").await;

    // A forged cross-site form post (from another site's page) deletes nothing.
    let evil = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_origin = format!("http://127.0.0.1:{}", evil.local_addr().unwrap().port());
    let action = format!("{origin}/admin/users/1/delete/");
    let page = Router::new().route(
        "/",
        get(move || {
            let action = action.clone();
            async move {
                Html(format!(
                    "<!doctype html><title>Win</title><form method=post action=\"{action}\">\
                     <input name=confirm value=on><input name=csrf value=guess></form>\
                     <script>document.forms[0].submit()</script>"
                ))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(evil, page).await.unwrap() });
    b.goto(&format!("{evil_origin}/")).await;
    b.wait_for(
        "the refusal",
        "return location.host.startsWith('localhost') && document.querySelector('h1') !== null",
    )
    .await;
    let heading = b.text("h1").await;
    assert!(
        heading == "Sign in first" || heading == "Refused",
        "a forged post got: {heading}"
    );
    b.screenshot("forged-post-refused").await;
    let (status, _) = post(&format!("{url}/api/token/"), login.clone()).await;
    assert_eq!(status, 200, "alice still exists");

    // Sign out.
    b.goto(&format!("{origin}/admin/users/")).await;
    b.click(".signout button").await;
    b.wait_for(
        "signed out",
        "return document.body.innerText.includes('Signed out.')",
    )
    .await;
    b.close().await;

    // A user who is not staff is refused.
    let mut b = driver.browser("admin_refused").await;
    sign_in(&mut b, &origin, "bob", "bob-pass").await;
    b.wait_for(
        "the refusal",
        "return document.body.innerText.includes('for a staff account')",
    )
    .await;
    b.screenshot("non-staff-refused").await;
    b.close().await;
    let _ = child.kill();
    let _ = child.wait();
}
