//! The browser mode in a real browser: headless Chromium, driven through WebDriver,
//! using the demo app that `tessera serve --demo` (the real binary) serves.
//!
//! Origins: the API and its app at `http://localhost:A`; the same app served by a
//! second server at `http://localhost:B` (another origin of the same site, allowed by
//! `CORS_ALLOWED_ORIGINS`); an attacker's page at `http://127.0.0.1:C` (another site).
//! Screenshots of every step go to `<target>/tmp/browser/<test>/`.

use std::process::Child;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::{Value, json};

use crate::cli::{serve_with_args, tessera};
use crate::webdriver::{Browser, Driver};

struct Api {
    child: Child,
    /// `http://localhost:<port>`: what the browser uses.
    origin: String,
    _dir: tempfile::TempDir,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tessera serve --demo` with the demo users, in `mode`, its access tokens living 4 s.
fn start_api(mode: &str, allowed_origin: &str) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let cors = format!("[\"{allowed_origin}\"]");
    let env = [
        (
            "TESSERA_SIGNING_KEY",
            "browser-test-signing-key-0123456789abcdef",
        ),
        ("TESSERA_AUTH_COOKIE_MODE", mode),
        ("TESSERA_ROTATE_REFRESH_TOKENS", "true"),
        ("TESSERA_BLACKLIST_AFTER_ROTATION", "true"),
        ("TESSERA_ACCESS_TOKEN_LIFETIME", "4"),
        ("TESSERA_CORS_ALLOWED_ORIGINS", cors.as_str()),
    ];
    let o = tessera(dir.path(), &["seed-demo"], None, &env);
    assert!(o.status.success(), "{}", crate::cli::text(&o));
    let (child, url) = serve_with_args(dir.path(), &env, &["--demo"]);
    Api {
        child,
        origin: url.replace("127.0.0.1", "localhost"),
        _dir: dir,
    }
}

/// A static server on 127.0.0.1:<port> (reached as `host`): returns its origin.
async fn static_server(listener: tokio::net::TcpListener, host: &str, app: Router) -> String {
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{host}:{port}")
}

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// The demo app, as a static host on another origin would serve it, calling `api`.
fn demo_app(api: String) -> Router {
    let page = tessera_server::spa::index_html(&format!("{api}/api/"));
    Router::new()
        .route(
            "/demo/",
            get(move || {
                let page = page.clone();
                let api = api.clone();
                async move { tessera_server::spa::respond("text/html; charset=utf-8", page, &api) }
            }),
        )
        .route(
            "/demo/{file}",
            get(
                |axum::extract::Path(f): axum::extract::Path<String>| async move {
                    let (ct, body) = tessera_server::spa::asset(&f).unwrap();
                    tessera_server::spa::respond(ct, body.to_owned(), "")
                },
            ),
        )
}

/// An attacker's pages: each posts a form to `target` as soon as it loads (a classic
/// CSRF: the browser sends the victim's cookies if it sends any).
fn attacker(api: String) -> Router {
    let page = move |path: &'static str| {
        let action = format!("{api}/api/token/{path}");
        Html(format!(
            "<!doctype html><title>Win a prize</title><form method=post action=\"{action}\">\
             <input name=x value=1></form><script>document.forms[0].submit()</script>"
        ))
    };
    let (p1, p2) = (page.clone(), page);
    Router::new()
        .route("/refresh", get(move || async move { p1("refresh/") }))
        .route("/logout", get(move || async move { p2("logout/") }))
}

async fn sign_in(b: &mut Browser, origin: &str, shots: &str) {
    b.goto(&format!("{origin}/demo/")).await;
    b.wait_for(
        "the sign-in form",
        "return !document.getElementById('login').hidden",
    )
    .await;
    b.screenshot(&format!("{shots}sign-in-form")).await;
    b.fill("#username", "alice").await;
    b.fill("#password", "alice-pass").await;
    b.click("#sign-in").await;
    b.wait_for(
        "the signed-in page",
        "return document.getElementById('who').innerText === 'alice'",
    )
    .await;
    b.wait_for(
        "the reviews",
        "return document.querySelectorAll('#reviews tr').length > 0",
    )
    .await;
    b.screenshot(&format!("{shots}signed-in")).await;
}

/// Nothing a script can read holds a token: the cookies scripts see, both storages.
async fn assert_no_token_readable(b: &Browser) {
    let seen = b
        .run(
            "return {cookie: document.cookie, local: JSON.stringify(localStorage), \
             session: JSON.stringify(sessionStorage)};",
            json!([]),
        )
        .await;
    let text = seen.to_string();
    assert!(
        !text.contains("eyJ"),
        "a token is readable from JavaScript: {text}"
    );
    assert_eq!(seen["local"], "{}");
    assert_eq!(seen["session"], "{}");
    let refresh = b.cookie("__Host-tessera_refresh").await.unwrap();
    assert_eq!(refresh["httpOnly"], true);
    assert_eq!(refresh["secure"], true);
    assert_eq!(refresh["sameSite"], "Strict");
}

async fn refreshes(b: &Browser) -> u64 {
    b.text("#refreshes").await.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_mode_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let (other_l, evil_l) = (listener().await, listener().await);
    let other_port = other_l.local_addr().unwrap().port();
    let other_origin = format!("http://localhost:{other_port}");
    let api = start_api("refresh", &other_origin);
    let evil = static_server(evil_l, "127.0.0.1", attacker(api.origin.clone())).await;
    let other = static_server(other_l, "localhost", demo_app(api.origin.clone())).await;
    assert_eq!(other, other_origin);

    let mut b = driver.browser("refresh_mode").await;
    sign_in(&mut b, &api.origin, "").await;
    assert_no_token_readable(&b).await;

    // A reload keeps the session: it comes back from the cookie.
    b.goto(&format!("{}/demo/", api.origin)).await;
    b.wait_for(
        "the session restored after a reload",
        "return document.getElementById('who').innerText === 'alice'",
    )
    .await;
    b.screenshot("after-reload").await;
    assert_no_token_readable(&b).await;

    // The access token lives 4 s: the page refreshes silently and keeps working past
    // the first token's expiry.
    let before = refreshes(&b).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(refreshes(&b).await > before, "no silent refresh");
    // With the timer stopped, the token does expire: the next call gets 401, and the
    // page refreshes once and retries.
    // A refresh under way would arm a new timer when it lands: stop the timer only
    // while none is.
    b.wait_for(
        "the silent refresh stopped",
        "if (session.inFlight) return false; clearTimeout(session.timer); return true;",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = refreshes(&b).await;
    b.run("document.getElementById('me').textContent = '';", json!([]))
        .await;
    b.click("#reload").await;
    b.wait_for(
        "the data loaded again after a refresh on 401",
        "return document.getElementById('me').innerText.includes('alice')",
    )
    .await;
    assert_eq!(refreshes(&b).await, before + 1);
    b.fill("#product", "Browser-tested kettle").await;
    b.click("#add-review").await;
    b.wait_for(
        "the new review",
        "return document.getElementById('reviews').innerText.includes('Browser-tested kettle')",
    )
    .await;
    b.click("#check").await;
    b.wait_for(
        "the pair check",
        "return document.getElementById('check-result').innerText.includes('tokens_valid')",
    )
    .await;
    b.screenshot("silent-refresh-review-and-pair-check").await;

    // A forged cross-site POST to refresh and to logout: 403, the session survives.
    for path in ["refresh", "logout"] {
        b.goto(&format!("{evil}/{path}")).await;
        b.wait_for(
            "the refusal",
            "return document.body.innerText.includes('CSRF Failed')",
        )
        .await;
        let said: Value = serde_json::from_str(&b.text("body").await).unwrap();
        assert_eq!(
            said,
            json!({"detail": "CSRF Failed: Cross-site request refused."}),
            "{path}"
        );
        b.screenshot(&format!("forged-{path}-refused")).await;
    }
    b.goto(&format!("{}/demo/", api.origin)).await;
    b.wait_for(
        "the session, still alive",
        "return document.getElementById('who').innerText === 'alice'",
    )
    .await;

    // Logout: the page is signed out, the cookies are gone, and the refresh token the
    // browser held is refused from now on.
    let held = b.cookie("__Host-tessera_refresh").await.unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    b.click("#logout").await;
    b.wait_for(
        "the signed-out page",
        "return !document.getElementById('login').hidden && \
         document.getElementById('notice').innerText === 'Signed out.'",
    )
    .await;
    b.screenshot("signed-out").await;
    assert!(b.cookie("__Host-tessera_refresh").await.is_none());
    let status = b
        .run(
            "return fetch('/api/token/refresh/', {method: 'POST', credentials: 'include', \
             headers: {'Content-Type': 'application/json'}, \
             body: JSON.stringify({refresh: arguments[0]})}).then(r => r.status);",
            json!([held]),
        )
        .await;
    assert_eq!(status, 401);
    b.close().await;

    // The same app on another allowed origin: CORS with credentials.
    let mut b = driver.browser("refresh_mode_other_origin").await;
    sign_in(&mut b, &other, "other-origin-").await;
    b.goto(&format!("{other}/demo/")).await;
    b.wait_for(
        "the session restored on the other origin",
        "return document.getElementById('who').innerText === 'alice'",
    )
    .await;
    b.click("#logout").await;
    b.wait_for(
        "signed out on the other origin",
        "return document.getElementById('notice').innerText === 'Signed out.'",
    )
    .await;
    b.screenshot("other-origin-signed-out").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_mode_in_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let api = start_api("full", "http://localhost:1");
    let mut b = driver.browser("full_mode").await;
    sign_in(&mut b, &api.origin, "").await;
    assert_no_token_readable(&b).await;
    let access = b.cookie("__Host-tessera_access").await.unwrap();
    assert_eq!(
        (access["httpOnly"].clone(), access["sameSite"].clone()),
        (json!(true), json!("Lax"))
    );
    assert_eq!(b.text("#access-where").await, "in an HttpOnly cookie");

    // A review posted with the access cookie (CSRF proof in the header).
    b.fill("#product", "Cookie-only kettle").await;
    b.click("#add-review").await;
    b.wait_for(
        "the new review",
        "return document.getElementById('reviews').innerText.includes('Cookie-only kettle')",
    )
    .await;
    // Past the access cookie's life: silent refreshes keep the page working.
    let before = refreshes(&b).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(refreshes(&b).await > before, "no silent refresh");
    b.goto(&format!("{}/demo/", api.origin)).await;
    b.wait_for(
        "the session restored after a reload",
        "return document.getElementById('who').innerText === 'alice'",
    )
    .await;
    b.screenshot("reloaded").await;

    // Logout everywhere: signed out, every cookie cleared.
    b.click("#logout-all").await;
    b.wait_for(
        "signed out everywhere",
        "return document.getElementById('notice').innerText === 'Signed out on every device.'",
    )
    .await;
    b.screenshot("signed-out-everywhere").await;
    let left: Vec<Value> = b.cookies().await;
    assert!(
        left.iter()
            .all(|c| !c["name"].as_str().unwrap().starts_with("__Host-tessera")),
        "{left:?}"
    );
    b.close().await;
}
