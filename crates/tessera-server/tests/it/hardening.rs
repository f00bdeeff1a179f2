//! Hostile input, brute force and resource limits: every door holds, and nothing
//! answers 500.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestServer, b64, token_not_valid};

/// Tokens an attacker's tools send, each with a reason.
fn hostile_tokens(s: &TestServer, good: &str) -> Vec<(String, &'static str)> {
    let now = s.now();
    let ok_claims = json!({"token_type": "access", "exp": now + 60, "iat": now, "jti": "h".repeat(32), "user_id": "1"});
    let sign = |h: &str, c: &str| {
        let keys = tessera_core::KeySet::hmac(
            tessera_core::Algorithm::HS256,
            crate::support::KEY.as_bytes(),
        )
        .unwrap();
        let input = format!("{}.{}", b64(h.as_bytes()), b64(c.as_bytes()));
        format!("{input}.{}", keys.sign(input.as_bytes()).unwrap())
    };
    let hdr = r#"{"alg":"HS256","typ":"JWT"}"#;
    let claims = |extra: &str| {
        format!(
            r#"{{"token_type":"access","exp":{},"jti":"{}","user_id":"1"{extra}}}"#,
            now + 60,
            "h".repeat(32)
        )
    };
    let (h, rest) = good.split_once('.').unwrap();
    let (p, sig) = rest.split_once('.').unwrap();
    vec![
        (
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(ok_claims.to_string().as_bytes())
            ),
            "alg none",
        ),
        (
            format!("{}.{}.{sig}", b64(br#"{"alg":"None","typ":"JWT"}"#), p),
            "alg None",
        ),
        (
            sign(r#"{"alg":"HS256","crit":["exp"]}"#, &ok_claims.to_string()),
            "crit header",
        ),
        (
            sign(r#"{"alg":"HS256","alg":"HS256"}"#, &ok_claims.to_string()),
            "duplicate header key",
        ),
        (
            sign(
                hdr,
                &format!(
                    r#"{{"token_type":"access","exp":{},"exp":1,"jti":"x","user_id":"1"}}"#,
                    now + 60
                ),
            ),
            "duplicate claim",
        ),
        (
            sign(
                hdr,
                &format!(
                    r#"{{"token_type":"access","exp":"{}","jti":"x","user_id":"1"}}"#,
                    now + 60
                ),
            ),
            "string exp",
        ),
        (
            sign(hdr, &claims(&format!(r#","iat":{}.5"#, now))),
            "float iat",
        ),
        (
            sign(
                hdr,
                r#"{"token_type":"access","exp":1e400,"jti":"x","user_id":"1"}"#,
            ),
            "overflowing exp",
        ),
        (
            sign(
                hdr,
                r#"{"token_type":"access","exp":99999999999999999999,"jti":"x","user_id":"1"}"#,
            ),
            "huge exp",
        ),
        (
            sign(
                hdr,
                r#"{"token_type":"access","exp":-5,"jti":"x","user_id":"1"}"#,
            ),
            "negative exp",
        ),
        (
            sign(hdr, &claims(&format!(r#","iat":{}"#, now + 3600))),
            "future iat",
        ),
        (
            sign(hdr, &claims(&format!(r#","nbf":{}"#, now + 3600))),
            "future nbf",
        ),
        (sign(hdr, "[]"), "payload not an object"),
        (sign(hdr, "\"x\""), "payload a string"),
        (format!("{good}="), "padding"),
        (format!("{h}=.{p}.{sig}"), "padded header"),
        (standard_alphabet(&sign, hdr, now), "standard alphabet"),
        (format!("{h} .{p}.{sig}"), "whitespace"),
        (format!("{h}.{p}.{sig}.x.y"), "five segments (JWE)"),
        (format!("{h}..{sig}"), "empty payload"),
        (
            json!({"payload": p, "signatures": [{"protected": h, "signature": sig}]}).to_string(),
            "JSON serialization",
        ),
        (
            format!("{}.{p}.{sig}", b64(&[0xff, 0xfe, 0x7b])),
            "non-UTF-8 header",
        ),
        (format!("{}x", &good[..good.len() - 1]), "bad signature"),
        ("a".repeat(9 * 1024), "oversized"),
        (String::new(), "empty"),
        ("...".into(), "dots"),
    ]
}

/// A validly signed token whose base64url signature holds `-` or `_`, rewritten in the
/// standard alphabet (`+`, `/`), which JWS does not allow.
fn standard_alphabet(sign: &dyn Fn(&str, &str) -> String, hdr: &str, now: i64) -> String {
    for i in 0..1000 {
        let t = sign(
            hdr,
            &format!(
                r#"{{"token_type":"access","exp":{},"jti":"{i:032}","user_id":"1"}}"#,
                now + 60
            ),
        );
        let (input, sig) = t.rsplit_once('.').unwrap();
        if sig.contains(['-', '_']) {
            return format!("{input}.{}", sig.replace('-', "+").replace('_', "/"));
        }
    }
    unreachable!("no signature with - or _ in 1000 tries")
}

#[tokio::test]
async fn hostile_tokens_get_401_everywhere() {
    hostile_tokens_get_401_everywhere_on(false).await;
}

#[tokio::test]
async fn hostile_tokens_get_401_everywhere_on_postgres() {
    hostile_tokens_get_401_everywhere_on(true).await;
}

async fn hostile_tokens_get_401_everywhere_on(pg: bool) {
    let Some(s) = TestServer::start_either(pg, json!({})).await else {
        return;
    };
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    for (token, why) in hostile_tokens(&s, &access) {
        let r = s.post("/api/token/verify/", json!({"token": token})).await;
        if token.is_empty() {
            assert_eq!(r.status, 400, "{why}");
            continue;
        }
        assert_eq!(
            (r.status.as_u16(), r.body.clone()),
            (401, token_not_valid("Token is invalid")),
            "verify: {why}"
        );
        let r = s
            .post("/api/token/refresh/", json!({"refresh": token}))
            .await;
        assert_eq!(r.status, 401, "refresh: {why}");
        let auth = format!("Bearer {token}");
        if reqwest::header::HeaderValue::from_str(&auth).is_ok() && !token.contains(' ') {
            let r = s.get_with("/api/me/", &[("authorization", &auth)]).await;
            assert_eq!(r.status, 401, "protected: {why}");
            assert_eq!(r.body["code"], "token_not_valid", "protected: {why}");
        }
    }
    // A valid signature over claims of the wrong JSON types is refused, not defaulted.
    let now = s.now();
    let object_id = s.sign(r#"{"alg":"HS256","typ":"JWT"}"#, &json!({"token_type": "access", "exp": now + 60, "jti": "o".repeat(32), "user_id": {"id": 1}}));
    let r = s.get("/api/me/", Some(&object_id)).await;
    assert_eq!(
        (r.status.as_u16(), r.body),
        (
            401,
            token_not_valid("Token contained no recognizable user identification")
        )
    );
}

#[tokio::test]
async fn limits_answer_before_parsing() {
    limits_answer_before_parsing_on(false).await;
}

#[tokio::test]
async fn limits_answer_before_parsing_on_postgres() {
    limits_answer_before_parsing_on(true).await;
}

async fn limits_answer_before_parsing_on(pg: bool) {
    let Some(s) = TestServer::start_either(pg, json!({})).await else {
        return;
    };
    s.user("alice", "alice-pass").await;
    let big_header = "x".repeat(20 * 1024);
    let r = s.get_with("/api/health/", &[("x-junk", &big_header)]).await;
    assert_eq!(r.status, 431);
    let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    let body = format!(r#"{{"username":"alice","password":{deep}}}"#);
    let r = s
        .send(
            reqwest::Method::POST,
            "/api/token/",
            &[],
            Some(("application/json", body.into_bytes())),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["detail"].as_str().unwrap().contains("nesting"),
        "{}",
        r.body
    );
    let start = Instant::now();
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "p".repeat(5000)}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (
            400,
            json!({"password": ["Ensure this field has no more than 4096 characters."]})
        )
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    let Some(s) = TestServer::start_either(pg, json!({"MAX_BODY_BYTES": 2048})).await else {
        return;
    };
    let r = s
        .post("/api/token/verify/", json!({"token": "x".repeat(3000)}))
        .await;
    assert_eq!(r.status, 413);
}

#[tokio::test]
async fn login_throttling_per_user_and_address() {
    login_throttling_per_user_and_address_on(false).await;
}

#[tokio::test]
async fn login_throttling_per_user_and_address_on_postgres() {
    login_throttling_per_user_and_address_on(true).await;
}

async fn login_throttling_per_user_and_address_on(pg: bool) {
    let Some(s) = TestServer::start_either(pg, json!({"LOGIN_FAILURES_PER_USER": 3, "LOGIN_FAILURES_PER_IP": 8, "LOGIN_THROTTLE_WINDOW": "10m"})).await else {
        return;
    };
    s.user("alice", "alice-pass").await;
    for _ in 0..3 {
        assert_eq!(
            s.post(
                "/api/token/",
                json!({"username": "alice", "password": "wrong"})
            )
            .await
            .status,
            401
        );
    }
    // Past the limit: 429 even with the right password, with Retry-After.
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 429);
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((590..=600).contains(&retry), "{retry}");
    assert_eq!(
        r.body,
        json!({"detail": format!("Request was throttled. Expected available in {retry} seconds.")})
    );
    // An unknown username behaves exactly the same: nothing tells them apart.
    for _ in 0..3 {
        assert_eq!(
            s.post("/api/token/", json!({"username": "ghost", "password": "x"}))
                .await
                .status,
            401
        );
    }
    assert_eq!(
        s.post("/api/token/", json!({"username": "ghost", "password": "x"}))
            .await
            .status,
        429
    );
    // The counter decays: after the window, alice can log in again.
    s.clock.advance_secs(601);
    s.login("alice", "alice-pass").await;
    // Per address: many usernames from one client.
    for i in 0..8 {
        assert_eq!(
            s.post(
                "/api/token/",
                json!({"username": format!("u{i}"), "password": "x"})
            )
            .await
            .status,
            401
        );
    }
    let r = s
        .post(
            "/api/token/",
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
    assert_eq!(r.status, 429, "8 failures from this address in the window");
    // X-Forwarded-For from an untrusted peer does not help.
    let r = s
        .send(
            reqwest::Method::POST,
            "/api/token/",
            &[("x-forwarded-for", "203.0.113.9")],
            Some((
                "application/json",
                br#"{"username":"alice","password":"alice-pass"}"#.to_vec(),
            )),
        )
        .await;
    assert_eq!(r.status, 429);
}

#[tokio::test]
async fn trusted_proxies_forward_the_client_address() {
    trusted_proxies_forward_the_client_address_on(false).await;
}

#[tokio::test]
async fn trusted_proxies_forward_the_client_address_on_postgres() {
    trusted_proxies_forward_the_client_address_on(true).await;
}

async fn trusted_proxies_forward_the_client_address_on(pg: bool) {
    let Some(s) = TestServer::start_either(pg, json!({"LOGIN_FAILURES_PER_USER": 0, "LOGIN_FAILURES_PER_IP": 2, "TRUSTED_PROXIES": ["127.0.0.1"]})).await else {
        return;
    };
    s.user("alice", "alice-pass").await;
    let attempt = |ip: &'static str, pw: &'static str| {
        let s = &s;
        async move {
            let body = format!(r#"{{"username":"alice","password":"{pw}"}}"#);
            s.send(
                reqwest::Method::POST,
                "/api/token/",
                &[("x-forwarded-for", ip)],
                Some(("application/json", body.into_bytes())),
            )
            .await
            .status
            .as_u16()
        }
    };
    assert_eq!(attempt("198.51.100.1", "x").await, 401);
    assert_eq!(attempt("198.51.100.1", "x").await, 401);
    assert_eq!(attempt("198.51.100.1", "alice-pass").await, 429);
    assert_eq!(
        attempt("198.51.100.2", "alice-pass").await,
        200,
        "another client is not punished"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_storm_gets_503_instead_of_piling_up() {
    let s = TestServer::start(json!({
        "PASSWORD_HASH_CONCURRENCY": 1, "PASSWORD_HASH_QUEUE_TIMEOUT": "1s",
        "ARGON2_ITERATIONS": 60, "LOGIN_FAILURES_PER_USER": 0, "LOGIN_FAILURES_PER_IP": 0,
    }))
    .await;
    s.user("alice", "alice-pass").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url) = (s.client.clone(), format!("{}/api/token/", s.base));
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .json(&json!({"username": "alice", "password": "alice-pass"}))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers().get("retry-after").is_some(),
            )
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().any(|(s, _)| *s == 200), "{statuses:?}");
    assert!(
        statuses.iter().any(|(s, retry)| *s == 503 && *retry),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|(s, _)| *s == 200 || *s == 503),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_cost_the_same_whatever_the_reason() {
    let s =
        TestServer::start(json!({"LOGIN_FAILURES_PER_USER": 0, "LOGIN_FAILURES_PER_IP": 0})).await;
    s.user("alice", "alice-pass").await;
    let inactive = s.user("sleepy", "sleepy-pass").await;
    s.store().set_active(inactive.id, false).await.unwrap();
    let cases = [
        ("nobody", "alice-pass"),
        ("sleepy", "sleepy-pass"),
        ("alice", "wrong-pass"),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..15 {
        for (i, (u, p)) in cases.iter().enumerate() {
            let start = Instant::now();
            let r = s
                .post("/api/token/", json!({"username": u, "password": p}))
                .await;
            let elapsed = start.elapsed().as_secs_f64();
            assert_eq!(r.status, 401);
            assert_eq!(
                r.body,
                json!({"detail": "No active account found with the given credentials"})
            );
            if round > 0 {
                times[i].push(elapsed);
            }
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(|a, b| a.total_cmp(b));
            t[t.len() / 2]
        })
        .collect();
    let (max, min) = (
        medians.iter().copied().fold(0.0, f64::max),
        medians.iter().copied().fold(f64::MAX, f64::min),
    );
    eprintln!("median login times (unknown, inactive, wrong password): {medians:?}");
    assert!(max / min <= 1.25, "timing reveals the reason: {medians:?}");
}

#[tokio::test]
async fn errors_carry_no_internals() {
    errors_carry_no_internals_on(false).await;
}

#[tokio::test]
async fn errors_carry_no_internals_on_postgres() {
    errors_carry_no_internals_on(true).await;
}

async fn errors_carry_no_internals_on(pg: bool) {
    let Some(s) = TestServer::start_either(pg, json!({})).await else {
        return;
    };
    let bodies: Vec<Value> = vec![
        s.post(
            "/api/token/refresh/",
            json!({"refresh": "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"}),
        )
        .await
        .body,
        s.send(
            reqwest::Method::POST,
            "/api/token/",
            &[],
            Some(("application/json", b"{\"a\":".to_vec())),
        )
        .await
        .body,
        s.get("/nope", None).await.body,
    ];
    for b in bodies {
        let text = b.to_string().to_lowercase();
        for leak in [
            "sqlx",
            "sqlite",
            "select ",
            "panic",
            "backtrace",
            "src/",
            "signing_key",
            crate::support::KEY,
        ] {
            assert!(!text.contains(&leak.to_lowercase()), "{leak} in {b}");
        }
    }
}

#[tokio::test]
async fn a_successful_login_resets_the_users_counter() {
    a_successful_login_resets_the_users_counter_on(false).await;
}

#[tokio::test]
async fn a_successful_login_resets_the_users_counter_on_postgres() {
    a_successful_login_resets_the_users_counter_on(true).await;
}

async fn a_successful_login_resets_the_users_counter_on(pg: bool) {
    let Some(s) = TestServer::start_either(
        pg,
        json!({"LOGIN_FAILURES_PER_USER": 3, "LOGIN_FAILURES_PER_IP": 0}),
    )
    .await
    else {
        return;
    };
    s.user("alice", "alice-pass").await;
    for _ in 0..2 {
        assert_eq!(
            s.post("/api/token/", json!({"username": "alice", "password": "x"}))
                .await
                .status,
            401
        );
    }
    s.login("alice", "alice-pass").await;
    for _ in 0..2 {
        assert_eq!(
            s.post("/api/token/", json!({"username": "alice", "password": "x"}))
                .await
                .status,
            401
        );
    }
    s.login("alice", "alice-pass").await;
}
