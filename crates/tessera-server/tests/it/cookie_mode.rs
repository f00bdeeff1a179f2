//! The cookie modes over real HTTP (`AUTH_COOKIE_MODE`): cookies and their attributes,
//! CSRF proof on every cookie-authenticated state change, logout, the session check,
//! credential conflicts, CORS with credentials, on SQLite and PostgreSQL. The same
//! behaviour in a real browser is `browser.rs`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Resp, TestServer};

const REFRESH: &str = "__Host-tessera_refresh";
const ACCESS: &str = "__Host-tessera_access";
const CSRF: &str = "__Host-tessera_csrf";

/// The `Set-Cookie` lines of a response, by cookie name: (value, attributes).
fn set_cookies(r: &Resp) -> BTreeMap<String, (String, String)> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let line = v.to_str().unwrap();
            let (pair, attrs) = line.split_once("; ").unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), (value.to_owned(), attrs.to_owned()))
        })
        .collect()
}

/// Asserts the response expires all three cookies.
fn assert_cleared(r: &Resp) {
    let set = set_cookies(r);
    for name in [REFRESH, ACCESS, CSRF] {
        let (value, attrs) = set
            .get(name)
            .unwrap_or_else(|| panic!("{name} kept: {set:?}"));
        assert_eq!(value, "");
        assert!(
            attrs.contains("Max-Age=0") && attrs.contains("Secure"),
            "{attrs}"
        );
    }
}

/// What a browser holds after a login: the cookies and the CSRF token.
#[derive(Clone, Debug)]
struct Browser {
    refresh: String,
    access: Option<String>,
    csrf: String,
}

impl Browser {
    fn cookie(&self) -> String {
        let mut c = format!("{REFRESH}={}; {CSRF}={}", self.refresh, self.csrf);
        if let Some(a) = &self.access {
            c.push_str(&format!("; {ACCESS}={a}"));
        }
        c
    }
}

async fn login(s: &TestServer) -> (Browser, Resp) {
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = set_cookies(&r);
    let b = Browser {
        refresh: set[REFRESH].0.clone(),
        access: set.get(ACCESS).map(|c| c.0.clone()),
        csrf: set[CSRF].0.clone(),
    };
    (b, r)
}

/// A same-origin browser request: cookies, the CSRF header, Fetch Metadata.
async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    b: &Browser,
    extra: &[(&str, &str)],
    body: Value,
) -> Resp {
    let cookie = b.cookie();
    let mut headers = vec![
        ("cookie", cookie.as_str()),
        ("x-csrftoken", b.csrf.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    for (k, v) in extra {
        headers.retain(|(h, _)| h != k);
        if !v.is_empty() {
            headers.push((k, v));
        }
    }
    let body = (method != Method::GET).then(|| ("application/json", body.to_string().into_bytes()));
    s.send(method, path, &headers, body).await
}

async fn server(pg: bool, mode: &str, extra: Value) -> Option<TestServer> {
    let mut settings = json!({
        "AUTH_COOKIE_MODE": mode,
        "ROTATE_REFRESH_TOKENS": true,
        "BLACKLIST_AFTER_ROTATION": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let s = TestServer::start_either(pg, settings).await?;
    s.user("alice", "alice-pass").await;
    Some(s)
}

#[tokio::test]
async fn refresh_mode_on_sqlite() {
    refresh_mode(false).await;
}

#[tokio::test]
async fn refresh_mode_on_postgres() {
    refresh_mode(true).await;
}

/// `refresh` mode end to end: login cookies, CSRF refusals, rotation through the
/// cookie, replay, logout, session.
async fn refresh_mode(pg: bool) {
    let Some(s) = server(pg, "refresh", json!({})).await else {
        return;
    };
    let (b, r) = login(&s).await;
    // The refresh token is only in its cookie; the access token only in the body.
    assert!(r.body.get("refresh").is_none(), "{}", r.body);
    assert!(r.str("access").starts_with("eyJ"));
    assert_eq!(r.body["csrf"], b.csrf.as_str());
    let expires = r.body["access_expires"].as_i64().unwrap();
    assert_eq!(expires, s.now() + 300);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let set = set_cookies(&r);
    assert_eq!(
        set[REFRESH].1,
        "Path=/; Max-Age=86400; HttpOnly; Secure; SameSite=Strict"
    );
    assert_eq!(
        set[CSRF].1,
        "Path=/; Max-Age=86400; Secure; SameSite=Strict"
    );
    assert!(!set.contains_key(ACCESS));

    // Refresh from the cookie: every missing or wrong proof is 403, and changes nothing.
    let refresh = |extra: &'static [(&'static str, &'static str)], b: Browser| {
        let s = &s;
        async move { send(s, Method::POST, "/api/token/refresh/", &b, extra, json!({})).await }
    };
    for (extra, detail) in [
        (
            &[("x-csrftoken", "")][..],
            "CSRF Failed: CSRF token missing.",
        ),
        (
            &[("x-csrftoken", "0123456789abcdef0123456789abcdef.AAAA")][..],
            "CSRF Failed: CSRF token incorrect.",
        ),
        (
            &[("sec-fetch-site", "cross-site")][..],
            "CSRF Failed: Cross-site request refused.",
        ),
        (
            &[("sec-fetch-site", ""), ("origin", "https://evil.example")][..],
            "CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.",
        ),
    ] {
        let r = refresh(extra, b.clone()).await;
        assert_eq!(r.status, 403, "{extra:?}: {}", r.body);
        assert_eq!(r.body, json!({"detail": detail}));
        assert!(set_cookies(&r).is_empty(), "a refusal clears nothing");
    }
    // A CSRF cookie and header that match each other but were made for another
    // session (planted by a sibling subdomain, say) are refused.
    let (other, _) = login(&s).await;
    let planted = Browser {
        csrf: other.csrf.clone(),
        ..b.clone()
    };
    let r = refresh(&[], planted).await;
    assert_eq!(
        r.body,
        json!({"detail": "CSRF Failed: CSRF token incorrect."})
    );

    // A browser too old for Fetch Metadata: its own origin (by Host) passes.
    let host = s.base.trim_start_matches("http://").to_owned();
    let own_origin: &'static str = Box::leak(format!("http://{host}").into_boxed_str());
    let own: &'static [(&str, &str)] =
        Box::leak(vec![("sec-fetch-site", ""), ("origin", own_origin)].into_boxed_slice());
    let r = refresh(own, b.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = set_cookies(&r)[REFRESH].0.clone();
    assert_ne!(rotated, b.refresh);
    assert!(r.str("access").starts_with("eyJ"));
    assert!(r.body.get("refresh").is_none());

    // The rotated-away cookie replayed: 401, and every cookie is cleared.
    // (A second later: a request already in flight at the rotation only loses the race.)
    s.clock.advance_secs(1);
    let r = refresh(&[], b.clone()).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["code"], "token_not_valid");
    assert_cleared(&r);
    // Reuse detection ended the whole session: the rotated token is dead too.
    let b2 = Browser {
        refresh: rotated,
        ..b.clone()
    };
    let r = refresh(&[], b2.clone()).await;
    assert_eq!(r.status, 401);

    // A token in the body works as in bearer mode, with no CSRF proof.
    let (c, _) = login(&s).await;
    let r = s
        .post("/api/token/refresh/", json!({"refresh": c.refresh}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.str("refresh").starts_with("eyJ"));

    // The session check: who, a fresh CSRF token, never a token.
    let (d, _) = login(&s).await;
    let r = send(&s, Method::GET, "/api/token/session/", &d, &[], json!(null)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["authenticated"], true);
    assert_eq!(r.body["user"]["username"], "alice");
    assert!(!r.body.to_string().contains("eyJ"), "{}", r.body);
    let fresh = r.str("csrf");
    assert_eq!(set_cookies(&r)[CSRF].0, fresh);
    let d = Browser { csrf: fresh, ..d };
    // Logout needs CSRF proof too; without it the session survives.
    let r = send(
        &s,
        Method::POST,
        "/api/token/logout/",
        &d,
        &[("sec-fetch-site", "cross-site")],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(&s, Method::POST, "/api/token/logout/", &d, &[], json!({})).await;
    assert_eq!((r.status.as_u16(), &r.body), (200, &json!({})));
    assert_cleared(&r);
    // Idempotent, and the session is gone for the session check and for refresh.
    let r = send(&s, Method::POST, "/api/token/logout/", &d, &[], json!({})).await;
    assert_eq!(r.status, 200);
    let r = send(&s, Method::GET, "/api/token/session/", &d, &[], json!(null)).await;
    assert_eq!(r.body, json!({"authenticated": false}));
    assert_cleared(&r);
    let r = s
        .post("/api/token/refresh/", json!({"refresh": d.refresh}))
        .await;
    assert_eq!(r.status, 401);

    // Garbage in a cookie is a 401 (refresh) or "not signed in" (session), never a 500.
    let junk = Browser {
        refresh: "not-a-token".into(),
        access: None,
        csrf: "x".into(),
    };
    let r = send(
        &s,
        Method::POST,
        "/api/token/refresh/",
        &junk,
        &[],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(
        &s,
        Method::GET,
        "/api/token/session/",
        &junk,
        &[],
        json!(null),
    )
    .await;
    assert_eq!(r.body, json!({"authenticated": false}));
    let r = send(
        &s,
        Method::POST,
        "/api/token/logout/",
        &junk,
        &[],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_clears_the_cookies() {
    let s = server(false, "refresh", json!({})).await.unwrap();
    let (a, _) = login(&s).await;
    let (b, r) = login(&s).await;
    let access = r.str("access");
    let bearer = format!("Bearer {access}");
    let r = send(
        &s,
        Method::POST,
        "/api/token/logout/all/",
        &b,
        &[("authorization", bearer.as_str())],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_cleared(&r);
    for who in [a, b] {
        let r = s
            .post("/api/token/refresh/", json!({"refresh": who.refresh}))
            .await;
        assert_eq!(r.status, 401);
    }
    // Anonymous: 401 as any protected route.
    let r = s.post("/api/token/logout/all/", json!({})).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn full_mode_on_sqlite() {
    full_mode(false).await;
}

#[tokio::test]
async fn full_mode_on_postgres() {
    full_mode(true).await;
}

/// `full` mode: the access token only in a cookie that protected routes accept, CSRF
/// proof for their unsafe methods, one credential per request.
async fn full_mode(pg: bool) {
    let Some(s) = server(pg, "full", json!({})).await else {
        return;
    };
    let (b, r) = login(&s).await;
    assert!(r.body.get("access").is_none() && r.body.get("refresh").is_none());
    assert!(r.body["access_expires"].is_i64());
    let set = set_cookies(&r);
    assert_eq!(
        set[ACCESS].1,
        "Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Lax"
    );
    let r = send(
        &s,
        Method::GET,
        "/api/me/",
        &b,
        &[("x-csrftoken", "")],
        json!(null),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["username"]),
        (200, &json!("alice"))
    );
    // An unsafe method authenticated by the cookie needs CSRF proof.
    let review = json!({"product": "Kettle", "rating": 4});
    let r = send(
        &s,
        Method::POST,
        "/api/reviews/",
        &b,
        &[("x-csrftoken", "")],
        review.clone(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &s,
        Method::POST,
        "/api/reviews/",
        &b,
        &[("sec-fetch-site", "cross-site")],
        review.clone(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(&s, Method::POST, "/api/reviews/", &b, &[], review.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The header and the cookie at once: refused, whichever would have worked.
    let (_, fresh) = login(&s).await;
    let _ = fresh;
    let r = send(
        &s,
        Method::GET,
        "/api/me/",
        &b,
        &[("authorization", "Bearer x.y.z")],
        json!(null),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A Tessera cookie sent twice: refused.
    let twice = format!("{}; {ACCESS}=other", b.cookie());
    let r = send(
        &s,
        Method::GET,
        "/api/me/",
        &b,
        &[("cookie", twice.as_str())],
        json!(null),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"detail": format!("The cookie {ACCESS} was sent more than once.")})
    );
    // Refresh from the cookie sets a new access cookie, not a body token.
    let r = send(&s, Method::POST, "/api/token/refresh/", &b, &[], json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("access").is_none());
    let set = set_cookies(&r);
    assert!(set[ACCESS].0.starts_with("eyJ") && set[REFRESH].0.starts_with("eyJ"));
    // The pair check reads both cookies.
    let b = Browser {
        refresh: set[REFRESH].0.clone(),
        access: Some(set[ACCESS].0.clone()),
        csrf: b.csrf,
    };
    let r = send(&s, Method::POST, "/api/token/valid/", &b, &[], json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // An expired access cookie is a 401 that clears nothing (the page refreshes).
    s.clock.advance_secs(301);
    let r = send(&s, Method::GET, "/api/me/", &b, &[], json!(null)).await;
    assert_eq!(r.status, 401);
    assert!(set_cookies(&r).is_empty());
    // Logout everywhere through the cookie, with CSRF proof.
    let r = send(&s, Method::POST, "/api/token/refresh/", &b, &[], json!({})).await;
    let set = set_cookies(&r);
    let b = Browser {
        refresh: set[REFRESH].0.clone(),
        access: Some(set[ACCESS].0.clone()),
        csrf: b.csrf,
    };
    let r = send(
        &s,
        Method::POST,
        "/api/token/logout/all/",
        &b,
        &[("x-csrftoken", "")],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        &s,
        Method::POST,
        "/api/token/logout/all/",
        &b,
        &[],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_cleared(&r);
}

#[tokio::test]
async fn sliding_tokens_in_full_mode_travel_in_the_access_cookie() {
    let s = server(
        false,
        "full",
        json!({"AUTH_TOKEN_CLASSES": ["rest_framework_simplejwt.tokens.SlidingToken"]}),
    )
    .await
    .unwrap();
    let r = s
        .post(
            "/api/token/sliding/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("token").is_none());
    let set = set_cookies(&r);
    let b = Browser {
        refresh: String::new(),
        access: Some(set[ACCESS].0.clone()),
        csrf: set[CSRF].0.clone(),
    };
    let r = send(&s, Method::GET, "/api/me/", &b, &[], json!(null)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.clock.advance_secs(60);
    let r = send(
        &s,
        Method::POST,
        "/api/token/sliding/refresh/",
        &b,
        &[("x-csrftoken", "")],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        &s,
        Method::POST,
        "/api/token/sliding/refresh/",
        &b,
        &[],
        json!({}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(set_cookies(&r)[ACCESS].0, b.access.clone().unwrap());
}

#[tokio::test]
async fn bearer_mode_has_no_cookie_routes_and_sets_no_cookie() {
    let s = server(false, "off", json!({})).await.unwrap();
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert!(r.headers.get("set-cookie").is_none());
    assert!(r.body.get("csrf").is_none() && r.body.get("access_expires").is_none());
    for path in ["/api/token/logout/", "/api/token/logout/all/"] {
        assert_eq!(s.post(path, json!({})).await.status, 404, "{path}");
    }
    assert_eq!(s.get("/api/token/session/", None).await.status, 404);
    // A refresh without a token is DRF's field error, as in Simple JWT.
    let r = s.post("/api/token/refresh/", json!({})).await;
    assert_eq!(r.body, json!({"refresh": ["This field is required."]}));
}

#[tokio::test]
async fn cors_allows_credentials_for_the_listed_origins_only_and_on_errors() {
    let s = server(
        false,
        "refresh",
        json!({"CORS_ALLOWED_ORIGINS": ["http://app.localhost:5173"]}),
    )
    .await
    .unwrap();
    let preflight = s
        .send(
            Method::OPTIONS,
            "/api/token/refresh/",
            &[
                ("origin", "http://app.localhost:5173"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type,x-csrftoken"),
            ],
            None,
        )
        .await;
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("x-csrftoken")
    );
    // An error answer carries the CORS headers, so the page can read why.
    let r = s
        .send(
            Method::POST,
            "/api/token/refresh/",
            &[
                ("origin", "http://app.localhost:5173"),
                ("sec-fetch-site", "same-site"),
            ],
            Some(("application/json", b"{}".to_vec())),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.localhost:5173")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    // Another origin gets no CORS headers at all.
    let r = s
        .send(
            Method::POST,
            "/api/token/refresh/",
            &[("origin", "http://evil.localhost")],
            Some(("application/json", b"{}".to_vec())),
        )
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(r.status, 403);
}

#[test]
fn cookie_settings_are_checked() {
    use tessera_server::config::Config;
    let load = |v: Value| Config::from_map(v.as_object().unwrap().clone(), None);
    for (bad, says) in [
        (json!({"AUTH_COOKIE_MODE": "both"}), "AUTH_COOKIE_MODE"),
        (
            json!({"AUTH_COOKIE_SECURE": false, "AUTH_COOKIE_REFRESH_NAME": "__Host-r"}),
            "needs AUTH_COOKIE_SECURE",
        ),
        (
            json!({"AUTH_COOKIE_SECURE": false, "AUTH_COOKIE_SAMESITE": "None"}),
            "SameSite=None",
        ),
        (
            json!({"AUTH_COOKIE_CSRF_NAME": "__Host-tessera_refresh"}),
            "three different names",
        ),
        (
            json!({"AUTH_COOKIE_ACCESS_NAME": "a b"}),
            "not a cookie name",
        ),
        (
            json!({"CORS_ALLOWED_ORIGINS": ["*"]}),
            "CORS_ALLOWED_ORIGINS",
        ),
    ] {
        let e = load(bad.clone()).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
    // Plain-HTTP cookies only on loopback.
    let dev = load(json!({"AUTH_COOKIE_MODE": "refresh", "AUTH_COOKIE_SECURE": false})).unwrap();
    assert_eq!(dev.settings.cookie_names().refresh, "tessera_refresh");
    let check = tessera_server::serve::check_cookie_transport;
    assert!(check(&dev, "127.0.0.1:8000".parse().unwrap()).is_ok());
    assert!(check(&dev, "[::1]:8000".parse().unwrap()).is_ok());
    let e = check(&dev, "0.0.0.0:8000".parse().unwrap()).unwrap_err();
    assert!(
        e.to_string()
            .contains("only when the server listens on loopback"),
        "{e}"
    );
    // `tessera check` says so, and the real server refuses to start that way.
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TESSERA_AUTH_COOKIE_MODE", "refresh"),
        ("TESSERA_AUTH_COOKIE_SECURE", "false"),
    ];
    let o = crate::cli::tessera(dir.path(), &["check"], None, &env);
    let out = crate::cli::text(&o);
    assert!(out.contains("cookie mode:        refresh"), "{out}");
    assert!(
        out.contains("WARNING:            AUTH_COOKIE_SECURE = false"),
        "{out}"
    );
    let o = crate::cli::tessera(dir.path(), &["serve", "--bind", "0.0.0.0:0"], None, &env);
    assert!(!o.status.success());
    assert!(
        crate::cli::text(&o).contains("accepted only when the server listens on loopback"),
        "{}",
        crate::cli::text(&o)
    );
}
