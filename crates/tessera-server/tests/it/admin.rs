//! The admin page over real HTTP, on SQLite and PostgreSQL: who may sign in, the forms'
//! CSRF checks, what each action does to the API (an ended session's refresh token is
//! refused, a blacklisted token too), staff-account rules, timeouts, the audit log, and
//! hostile input. The same in a real browser is `admin_browser.rs`.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestServer;

/// A browser of the admin page: its session cookie and the page's CSRF token.
struct Admin<'a> {
    s: &'a TestServer,
    client: reqwest::Client,
    cookie: String,
    csrf: String,
}

#[derive(Debug)]
struct Page {
    status: StatusCode,
    location: String,
    body: String,
}

fn csrf_of(body: &str) -> String {
    let at = body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &body[at + 19..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// reqwest's `form` without its feature: an urlencoded body.
trait PipeForm {
    fn pipe_form<T: serde::Serialize + ?Sized>(self, fields: &T) -> Self;
}

impl PipeForm for reqwest::RequestBuilder {
    fn pipe_form<T: serde::Serialize + ?Sized>(self, fields: &T) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn send(
    client: &reqwest::Client,
    req: reqwest::RequestBuilder,
    cookie: &str,
) -> (Page, Option<String>) {
    let _ = client;
    let mut req = req.header("sec-fetch-site", "same-origin");
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let set = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = r.text().await.unwrap();
    (
        Page {
            status,
            location,
            body,
        },
        set,
    )
}

/// Signs in; `Err` with the page when refused.
async fn sign_in<'a>(s: &'a TestServer, user: &str, password: &str) -> Result<Admin<'a>, Page> {
    let client = client();
    let req = client
        .post(format!("{}/admin/login/", s.base))
        .pipe_form(&[("username", user), ("password", password)]);
    let (page, set) = send(&client, req, "").await;
    if page.status != StatusCode::SEE_OTHER {
        return Err(page);
    }
    let cookie = set.unwrap().split(';').next().unwrap().to_owned();
    let mut a = Admin {
        s,
        client,
        cookie,
        csrf: String::new(),
    };
    let home = a.get("/admin/users/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    a.csrf = csrf_of(&home.body);
    Ok(a)
}

impl Admin<'_> {
    async fn get(&self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.s.base));
        send(&self.client, req, &self.cookie).await.0
    }

    /// Posts a form with the session's CSRF token (`csrf` in `fields` overrides it).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        for (k, v) in fields {
            form.retain(|(f, _)| f != k);
            form.push((k, v));
        }
        let req = self
            .client
            .post(format!("{}{path}", self.s.base))
            .pipe_form(&form);
        send(&self.client, req, &self.cookie).await.0
    }
}

async fn server(pg: bool) -> Option<TestServer> {
    server_with(
        pg,
        json!({"ROTATE_REFRESH_TOKENS": true, "BLACKLIST_AFTER_ROTATION": true}),
    )
    .await
}

/// A server with `overrides`, and its staff: `root` (superuser) and `helper` (staff).
async fn server_with(pg: bool, overrides: serde_json::Value) -> Option<TestServer> {
    let s = TestServer::start_either(pg, overrides).await?;
    let hash = s
        .tessera
        .hash_password("root-pass-123".into())
        .await
        .unwrap();
    let mut root = tessera_store::NewUser::new("root", &hash, 0);
    root.is_staff = true;
    root.is_superuser = true;
    s.store().create_user(&root).await.unwrap();
    let mut staff = tessera_store::NewUser::new("helper", &hash, 0);
    staff.is_staff = true;
    s.store().create_user(&staff).await.unwrap();
    s.user("alice", "alice-pass").await;
    Some(s)
}

#[tokio::test]
async fn admin_page_on_sqlite() {
    admin_page(false).await;
}

#[tokio::test]
async fn admin_page_on_postgres() {
    admin_page(true).await;
}

async fn admin_page(pg: bool) {
    let Some(s) = server(pg).await else {
        return;
    };
    // Not signed in: pages send to the sign-in page, forms are refused.
    let anon = client();
    let (p, _) = send(&anon, anon.get(format!("{}/admin/users/", s.base)), "").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location, "/admin/login/?note=signin");
    let (p, _) = send(
        &anon,
        anon.post(format!("{}/admin/users/1/delete/", s.base))
            .pipe_form(&[("confirm", "on")]),
        "",
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // Who may sign in: staff with the right password; not users, not wrong passwords.
    let refused = "Please enter the correct username and password for a staff account.";
    for (user, password) in [("alice", "alice-pass"), ("root", "wrong"), ("nobody", "x")] {
        let page = sign_in(&s, user, password).await.err().unwrap();
        assert!(page.body.contains(refused), "{user}: {}", page.body);
    }
    let root = sign_in(&s, "root", "root-pass-123").await.unwrap();

    // Find alice; her page lists her sessions.
    let list = root.get("/admin/users/?q=AL").await;
    assert!(list.body.contains(">alice</a>"), "{}", list.body);
    assert!(!list.body.contains(">root</a>"));
    let alice = s.store().user_by_username("alice").await.unwrap().unwrap();
    let (_, refresh1) = s.login("alice", "alice-pass").await;
    let (_, refresh2) = s.login("alice", "alice-pass").await;
    let page = root.get(&format!("/admin/users/{}/", alice.id)).await;
    assert_eq!(
        page.body.matches("End this session").count(),
        2,
        "{}",
        page.body
    );
    // Where each session was started from.
    assert!(page.body.contains("<td>127.0.0.1</td>"), "{}", page.body);

    // End one session: its refresh token is refused by the API, the other works.
    let jti1 = crate::support::parts(&refresh1).1["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid = s.store().family_of(&jti1).await.unwrap().unwrap().id;
    // Only her own sessions, whatever id the form is made to carry.
    let other = root
        .post(
            &format!("/admin/users/{}/sessions/{}/end/", alice.id, "0".repeat(32)),
            &[],
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let ended = root
        .post(
            &format!("/admin/users/{}/sessions/{sid}/end/", alice.id),
            &[],
        )
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    let r1 = s
        .post("/api/token/refresh/", json!({"refresh": refresh1}))
        .await;
    let r2 = s
        .post("/api/token/refresh/", json!({"refresh": refresh2}))
        .await;
    let (status1, status2) = (r1.status.as_u16(), r2.status.as_u16());
    assert_eq!((status1, status2), (401, 200), "one ended, one alive");

    // Blacklist a token from the tokens page: refused; removed from the blacklist:
    // accepted again.
    let (_, refresh3) = s.login("alice", "alice-pass").await;
    let jti = crate::support::parts(&refresh3).1["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = root.get(&format!("/admin/tokens/?jti={jti}")).await;
    assert!(tokens.body.contains(&jti), "{}", tokens.body);
    assert!(
        !tokens.body.contains(&refresh3[..30]),
        "never the token itself"
    );
    let row = s
        .store()
        .tokens_page(&tessera_store::admin::TokenQuery {
            jti: jti.clone(),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let id = row[0].id.to_string();
    assert!(
        tokens
            .body
            .contains(&format!("/admin/tokens/{id}/blacklist/"))
    );
    let done = root
        .post(&format!("/admin/tokens/{id}/blacklist/"), &[])
        .await;
    assert_eq!(done.location, "/admin/tokens/?done=blacklisted");
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh3}))
        .await;
    assert_eq!(r.status, 401);
    let undone = root
        .post(&format!("/admin/tokens/{id}/unblacklist/"), &[])
        .await;
    assert_eq!(undone.location, "/admin/tokens/?done=unblacklisted");
    let r = s
        .post("/api/token/refresh/", json!({"refresh": refresh3}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The spent one (rotated) cannot be put back.
    let spent = root
        .post(&format!("/admin/tokens/{id}/unblacklist/"), &[])
        .await;
    assert_eq!(spent.location, "/admin/tokens/?done=spent");

    // CSRF: no token, a wrong one, or a cross-site form: refused, nothing changes.
    for (fields, site) in [
        (vec![("csrf", "")], "same-origin"),
        (vec![("csrf", "0".repeat(64).leak() as &str)], "same-origin"),
        (vec![], "cross-site"),
    ] {
        let mut form: Vec<(&str, &str)> = vec![("csrf", root.csrf.as_str()), ("confirm", "on")];
        for (k, v) in &fields {
            form.retain(|(f, _)| f != k);
            form.push((k, v));
        }
        let r = root
            .client
            .post(format!("{}/admin/users/{}/delete/", s.base, alice.id))
            .header("cookie", &root.cookie)
            .header("sec-fetch-site", site)
            .pipe_form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{fields:?} {site}");
    }
    assert!(s.store().user_by_username("alice").await.unwrap().is_some());

    // Plain staff manage ordinary users, not staff accounts.
    let helper = sign_in(&s, "helper", "root-pass-123").await.unwrap();
    let rootuser = s.store().user_by_username("root").await.unwrap().unwrap();
    let r = helper
        .post(
            &format!("/admin/users/{}/password/", rootuser.id),
            &[("password", "taken-over-123")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = helper
        .post(
            &format!("/admin/users/{}/", alice.id),
            &[
                ("email", "alice@example.org"),
                ("is_active", "on"),
                ("is_staff", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let a = s.store().user_by_username("alice").await.unwrap().unwrap();
    assert_eq!((a.email.as_str(), a.is_staff), ("alice@example.org", false));

    // A weak password is refused; a good one ends her sessions.
    let weak = root
        .post(
            &format!("/admin/users/{}/password/", alice.id),
            &[("password", "123")],
        )
        .await;
    assert!(weak.body.contains("Password not set"), "{}", weak.body);
    let good = root
        .post(
            &format!("/admin/users/{}/password/", alice.id),
            &[("password", "a-new-secret-77")],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER);
    assert!(s.login("alice", "a-new-secret-77").await.0.len() > 10);

    // Deactivating through the page refuses her tokens at once.
    let (access, _) = s.login("alice", "a-new-secret-77").await;
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 200);
    let r = root
        .post(
            &format!("/admin/users/{}/", alice.id),
            &[("email", "alice@example.org")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(s.get("/api/me/", Some(&access)).await.status, 401);

    // Hostile input: no 500, the right 4xx.
    for path in [
        "/admin/users/abc/",
        "/admin/users/99999/",
        "/admin/users/%00/",
        "/admin/nothing/",
    ] {
        let p = root.get(path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
    }
    for q in ["%27%3B--", "%F0%9F%98%80", "a%00b", &"x".repeat(3000)] {
        let p = root.get(&format!("/admin/users/?q={q}")).await;
        assert_eq!(p.status, 200, "{q}");
        let p = root
            .get(&format!("/admin/tokens/?jti={q}&user={q}&after=x:y"))
            .await;
        assert_eq!(p.status, 200, "{q}");
        let p = root.get(&format!("/admin/audit/?q={q}&before=zz")).await;
        assert!(p.status.is_client_error() || p.status == 200, "{q}");
    }
    let r = root
        .client
        .post(format!("{}/admin/users/new/", s.base))
        .header("cookie", &root.cookie)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = root
        .post(
            "/admin/users/new/",
            &[
                ("username", "new\u{0}user"),
                ("password", "long-enough-pass-1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = root
        .post(
            "/admin/users/new/",
            &[
                ("username", "erin"),
                ("password", "long-enough-pass-1"),
                ("is_staff", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        s.store()
            .user_by_username("erin")
            .await
            .unwrap()
            .unwrap()
            .is_staff
    );

    // The audit log has every action, with the actor.
    let audit = root.get("/admin/audit/?q=root").await;
    for action in [
        "admin_signed_in",
        "admin_session_ended",
        "admin_tokens_blacklisted",
        "admin_token_unblacklisted",
        "admin_password_set",
        "admin_user_edited",
        "admin_user_created",
    ] {
        assert!(
            audit.body.contains(action),
            "{action} missing: {}",
            audit.body
        );
    }
    let refusals = root.get("/admin/audit/?q=admin_sign_in_refused").await;
    assert!(refusals.body.contains("alice"), "{}", refusals.body);

    // Sign-out ends the session server-side: the old cookie opens nothing.
    let out = root.post("/admin/logout/", &[]).await;
    assert_eq!(out.location, "/admin/login/?note=signedout");
    assert_eq!(
        root.get("/admin/users/").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn admin_sessions_time_out_and_follow_the_user() {
    let s = server(false).await.unwrap();
    let root = sign_in(&s, "root", "root-pass-123").await.unwrap();
    s.clock.advance_secs(29 * 60);
    assert_eq!(root.get("/admin/users/").await.status, 200);
    // Idle for more than 30 minutes: signed out.
    s.clock.advance_secs(31 * 60);
    let p = root.get("/admin/users/").await;
    assert_eq!(p.location, "/admin/login/?note=expired");
    // Busy, but past the absolute lifetime (12 h): signed out.
    let root = sign_in(&s, "root", "root-pass-123").await.unwrap();
    for _ in 0..25 {
        s.clock.advance_secs(29 * 60);
        if root.get("/admin/users/").await.status != 200 {
            break;
        }
    }
    assert_eq!(
        root.get("/admin/users/").await.status,
        StatusCode::SEE_OTHER
    );
    // A staff member who loses staff status is signed out at the next request.
    let helper = sign_in(&s, "helper", "root-pass-123").await.unwrap();
    let h = s.store().user_by_username("helper").await.unwrap().unwrap();
    let root = sign_in(&s, "root", "root-pass-123").await.unwrap();
    let r = root
        .post(&format!("/admin/users/{}/", h.id), &[("is_active", "on")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        helper.get("/admin/users/").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn keys_page_on_sqlite() {
    keys_page(false).await;
}

#[tokio::test]
async fn keys_page_on_postgres() {
    keys_page(true).await;
}

/// The keys page over the database key set: plain staff read it, a superuser generates,
/// rotates (old tokens keep verifying) and retires (they stop); refusals and hostile
/// input get a page, never a 500.
async fn keys_page(pg: bool) {
    let Some(s) = server_with(
        pg,
        json!({
            "SIGNING_KEY": "",
            "KEY_STORE": "database",
            "KEY_ENCRYPTION_KEY": "the admin test's key-encryption key, 32+",
            "ALGORITHM": "ES256",
        }),
    )
    .await
    else {
        return;
    };
    let kid = |t: &str| {
        crate::support::parts(t).0["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (old_access, _) = s.login("alice", "alice-pass").await;
    let kid1 = kid(&old_access);

    // Plain staff see the set, and may not change it.
    let helper = sign_in(&s, "helper", "root-pass-123").await.unwrap();
    let page = helper.get("/admin/keys/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&kid1) && page.body.contains("active"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Only a superuser changes the signing keys.")
    );
    assert!(!page.body.contains("Rotate the signing key"));
    assert_eq!(helper.post("/admin/keys/rotate/", &[]).await.status, 403);

    let root = sign_in(&s, "root", "root-pass-123").await.unwrap();
    assert!(
        root.get("/admin/keys/")
            .await
            .body
            .contains("Rotate the signing key")
    );
    assert_eq!(
        root.post("/admin/keys/rotate/", &[("csrf", "forged")])
            .await
            .status,
        403
    );
    for alg in ["none", "HS256", "", "ES256\0"] {
        let p = root.post("/admin/keys/generate/", &[("alg", alg)]).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{alg:?}: {}", p.body);
    }

    // Generate: published (JWKS), not signing.
    let p = root
        .post("/admin/keys/generate/", &[("alg", "ES256")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location, "/admin/keys/?done=generated");
    let page = root.get("/admin/keys/?done=generated").await;
    assert!(
        page.body.contains("Key generated") && page.body.contains("next"),
        "{}",
        page.body
    );
    let jwks = s.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 2);
    assert_eq!(kid(&s.login("alice", "alice-pass").await.0), kid1);

    // Rotate: a new kid signs; the old token still verifies.
    let p = root.post("/admin/keys/rotate/", &[]).await;
    assert_eq!(p.location, "/admin/keys/?done=rotated", "{}", p.body);
    let (new_access, _) = s.login("alice", "alice-pass").await;
    let kid2 = kid(&new_access);
    assert_ne!(kid1, kid2);
    assert_eq!(s.get("/api/me/", Some(&old_access)).await.status, 200);
    assert_eq!(s.get("/api/me/", Some(&new_access)).await.status, 200);
    let page = root.get("/admin/keys/").await;
    assert!(
        page.body.contains("previous") && page.body.contains("retires"),
        "{}",
        page.body
    );

    // Retire: refused for the active key and for keys that are not there.
    for bad in [
        kid2.as_str(),
        "no-such-key",
        "..%2F..%2Fetc",
        "%00",
        &"k".repeat(300),
    ] {
        let p = root.post(&format!("/admin/keys/{bad}/retire/"), &[]).await;
        assert!(
            p.status == StatusCode::CONFLICT || p.status == StatusCode::NOT_FOUND,
            "{bad}: {} {}",
            p.status,
            p.body
        );
    }
    let p = root.post(&format!("/admin/keys/{kid1}/retire/"), &[]).await;
    assert_eq!(p.location, "/admin/keys/?done=retired", "{}", p.body);
    assert_eq!(s.get("/api/me/", Some(&old_access)).await.status, 401);
    assert_eq!(s.get("/api/me/", Some(&new_access)).await.status, 200);

    let audit = root.get("/admin/audit/").await;
    for action in [
        "admin_key_generated",
        "admin_key_rotated",
        "admin_key_retired",
    ] {
        assert!(audit.body.contains(action), "{action}: {}", audit.body);
    }
}

#[tokio::test]
async fn the_admin_page_can_be_moved_or_switched_off() {
    let s = TestServer::start(json!({"ADMIN_PATH": "/staff/"})).await;
    assert_eq!(s.get("/admin/users/", None).await.status, 404);
    let r = client()
        .get(format!("{}/staff/login/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("action=\"/staff/login/\""));
    let off = TestServer::start(json!({"ADMIN_ENABLED": false})).await;
    assert_eq!(off.get("/admin/login/", None).await.status, 404);
    use tessera_server::config::Config;
    let bad = Config::from_map(
        json!({"ADMIN_PATH": "/api/admin/"})
            .as_object()
            .unwrap()
            .clone(),
        None,
    );
    assert!(bad.unwrap_err().to_string().contains("ADMIN_PATH"));
}
