//! Every algorithm end to end, JWKS publishing and consuming, key rotation with the CLI.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tessera_core::{Algorithm, Key, OsRandom};

use crate::cli::{client, create_alice, post, serve, tessera, text};
use crate::support::{TestServer, b64, parts};

const ALGS: [Algorithm; 11] = [
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A server signing with a fresh key of `alg`, given as a PEM file path (an HMAC secret
/// inline).
async fn server_for(alg: Algorithm, dir: &tempfile::TempDir) -> TestServer {
    let (_, private) = Key::generate(alg, &OsRandom, None).unwrap();
    let signing = if alg.is_hmac() {
        private
    } else {
        let path = dir.path().join(format!("{}.pem", alg.name()));
        std::fs::write(&path, &private).unwrap();
        path.display().to_string()
    };
    TestServer::start(json!({"ALGORITHM": alg.name(), "SIGNING_KEY": signing})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    for alg in ALGS {
        let s = server_for(alg, &dir).await;
        s.user("alice", "alice-pass").await;
        let (access, refresh) = s.login("alice", "alice-pass").await;
        let (header, _) = parts(&access);
        assert_eq!(header["alg"], alg.name());
        assert_eq!(
            s.get("/api/me/", Some(&access)).await.status,
            200,
            "{alg:?}"
        );
        assert_eq!(
            s.post("/api/token/refresh/", json!({"refresh": refresh}))
                .await
                .status,
            200
        );
        let jwks = s.get("/api/token/jwks/", None).await;
        assert_eq!(jwks.status, 200);
        assert_eq!(
            jwks.header("content-type"),
            Some("application/jwk-set+json")
        );
        assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
        let keys = jwks.body["keys"].as_array().unwrap();
        if alg.is_hmac() {
            assert!(keys.is_empty(), "an HMAC secret is never published");
            assert!(
                header.get("kid").is_none(),
                "Simple JWT's header for a configured secret"
            );
            continue;
        }
        assert_eq!(keys.len(), 1);
        let jwk = &keys[0];
        assert_eq!(jwk["kid"], header["kid"], "{alg:?}");
        assert_eq!(
            (jwk["use"].as_str(), jwk["alg"].as_str()),
            (Some("sig"), Some(alg.name()))
        );
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(jwk.get(private).is_none(), "{alg:?} publishes {private}");
        }
        // An independent verifier with only the JWKS accepts the token.
        let public = Key::from_jwk_value(jwk, None).unwrap();
        let (input, sig) = access.rsplit_once('.').unwrap();
        assert!(public.verify(input.as_bytes(), sig), "{alg:?}");
        let well_known = s.get("/.well-known/jwks.json", None).await;
        assert_eq!(well_known.body, jwks.body);
    }
}

#[tokio::test]
async fn the_token_never_chooses_the_key_type() {
    let dir = tempfile::tempdir().unwrap();
    let s = server_for(Algorithm::ES256, &dir).await;
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    let (header, claims) = parts(&access);
    let jwks = s.get("/api/token/jwks/", None).await.body;
    // HS256 "signed" with the public key as the secret, under the real kid: the classic
    // algorithm-confusion forgery.
    for secret in [
        jwks["keys"][0].to_string().into_bytes(),
        jwks["keys"][0]["x"].as_str().unwrap().as_bytes().to_vec(),
    ] {
        let forged_header = json!({"alg": "HS256", "kid": header["kid"], "typ": "JWT"});
        let input = format!(
            "{}.{}",
            b64(forged_header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut padded = secret.clone();
        padded.resize(padded.len().max(32), b'x');
        let k = Key::hmac(Algorithm::HS256, &padded, None).unwrap();
        let forged = format!("{input}.{}", k.sign(input.as_bytes()).unwrap());
        assert_eq!(s.get("/api/me/", Some(&forged)).await.status, 401);
    }
    // A token without kid falls back to the single key, so it must still be ES256.
    let r = s.post("/api/token/verify/", json!({"token": access})).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn jwks_has_an_etag() {
    let dir = tempfile::tempdir().unwrap();
    let s = server_for(Algorithm::EdDSA, &dir).await;
    let first = s.get("/api/token/jwks", None).await;
    let etag = first.header("etag").unwrap().to_owned();
    let again = s
        .get_with("/api/token/jwks/", &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(
        s.send(reqwest::Method::POST, "/api/token/jwks/", &[], None)
            .await
            .status,
        405
    );
}

#[test]
fn unusable_keys_are_start_up_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (alg, key) in [
        ("RS256", "not a key"),
        ("ES256", "./missing.pem"),
        (
            "EdDSA",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ),
    ] {
        let env = [("TESSERA_ALGORITHM", alg), ("TESSERA_SIGNING_KEY", key)];
        let o = tessera(d, &["check"], None, &env);
        assert!(!o.status.success(), "{alg}: {}", text(&o));
        assert!(text(&o).contains("SIGNING_KEY"), "{}", text(&o));
        let o = tessera(d, &["serve", "--bind", "127.0.0.1:0"], None, &env);
        assert!(
            !o.status.success(),
            "serve must refuse to start: {}",
            text(&o)
        );
    }
    // ES256 with an RSA key: caught at start-up too.
    let (_, rsa) = Key::generate(Algorithm::RS256, &OsRandom, None).unwrap();
    std::fs::write(d.join("rsa.pem"), rsa).unwrap();
    let o = tessera(
        d,
        &["check"],
        None,
        &[
            ("TESSERA_ALGORITHM", "ES256"),
            ("TESSERA_SIGNING_KEY", "./rsa.pem"),
        ],
    );
    assert!(!o.status.success(), "{}", text(&o));
    let o = tessera(
        d,
        &["check"],
        None,
        &[
            ("TESSERA_ALGORITHM", "RS256"),
            ("TESSERA_SIGNING_KEY", "./rsa.pem"),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_with_the_cli_logs_nobody_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let env = [("TESSERA_LOG", "warn")];
    create_alice(d, &env);
    let o = tessera(d, &["keys", "generate", "--alg", "ES256"], None, &env);
    assert!(o.status.success(), "{}", text(&o));
    let login = |url: String| async move {
        let (st, b) = post(
            &format!("{url}/api/token/"),
            json!({"username": "alice", "password": "alice-pass"}),
        )
        .await;
        assert_eq!(st, 200, "{b}");
        b["access"].as_str().unwrap().to_owned()
    };
    let me = |url: String, t: String| async move {
        client()
            .get(format!("{url}/api/me/"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let (mut child, url) = serve(d, &env);
    let t1 = login(url.clone()).await;
    let kid1 = parts(&t1).0["kid"].as_str().unwrap().to_owned();
    child.kill().unwrap();
    child.wait().unwrap();

    // Publish the next key first; tokens are still signed with the first.
    let o = tessera(d, &["keys", "generate", "--alg", "ES256"], None, &env);
    assert!(text(&o).contains("(next)"), "{}", text(&o));
    let (mut child, url) = serve(d, &env);
    let jwks: Value = client()
        .get(format!("{url}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(parts(&login(url.clone()).await).0["kid"], kid1.as_str());
    child.kill().unwrap();
    child.wait().unwrap();

    // Rotate: new tokens carry the new kid, old tokens keep working.
    assert!(tessera(d, &["keys", "rotate"], None, &env).status.success());
    let (mut child, url) = serve(d, &env);
    let t2 = login(url.clone()).await;
    let kid2 = parts(&t2).0["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid1, kid2);
    assert_eq!(
        me(url.clone(), t1.clone()).await,
        200,
        "the old key still verifies"
    );
    assert_eq!(me(url.clone(), t2.clone()).await, 200);
    let o = tessera(d, &["keys", "list"], None, &env);
    assert!(
        text(&o).contains(&kid1) && text(&o).contains(&kid2),
        "{}",
        text(&o)
    );
    assert!(
        !tessera(d, &["keys", "retire", &kid2], None, &env)
            .status
            .success(),
        "the active key cannot be retired"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // Retire the old key: its tokens stop, the new ones do not.
    assert!(
        tessera(d, &["keys", "retire", &kid1], None, &env)
            .status
            .success()
    );
    let (mut child, url) = serve(d, &env);
    assert_eq!(me(url.clone(), t1).await, 401);
    assert_eq!(me(url.clone(), t2).await, 200);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for entry in std::fs::read_dir(d.join("tessera-data/keys")).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "pem") {
                assert_eq!(
                    std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                    0o600
                );
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_generated_hmac_key_joins_a_key_set_without_logouts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A first `serve` would generate tessera-data/signing_key; emulate it with the key
    // module, then generate a key set on top of it.
    std::fs::create_dir_all(d.join("tessera-data")).unwrap();
    std::fs::write(d.join("tessera-data/signing_key"), "x".repeat(64)).unwrap();
    let o = tessera(d, &["keys", "generate", "--alg", "HS256"], None, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = tessera(d, &["keys", "list"], None, &[]);
    assert!(text(&o).contains("also tokens without kid"), "{}", text(&o));
    let o = tessera(d, &["keys", "generate", "--alg", "ES256"], None, &[]);
    assert!(
        !o.status.success(),
        "HMAC and key pairs never mix: {}",
        text(&o)
    );
}

/// A JWKS server for the consuming tests: serves `jwks`, counts fetches.
async fn jwks_server(jwks: Value, delay: std::time::Duration) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            let (h, jwks) = (h.clone(), jwks.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                axum::Json(jwks)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

fn sign_with(key: &Key, claims: &Value) -> String {
    let header = json!({"alg": key.algorithm().name(), "kid": key.kid(), "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{input}.{}", key.sign(input.as_bytes()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_jwks_is_cached_and_rate_limited() {
    let (idp_key, _) = Key::generate(Algorithm::ES256, &OsRandom, Some("idp-1".into())).unwrap();
    let (url, hits) = jwks_server(
        json!({"keys": [idp_key.public_jwk().unwrap()]}),
        std::time::Duration::ZERO,
    )
    .await;
    let s = TestServer::start(json!({"JWK_URL": url})).await;
    let alice = s.user("alice", "alice-pass").await;
    let now = s.now();
    let claims = json!({"token_type": "access", "exp": now + 300, "iat": now, "jti": "a".repeat(32), "user_id": alice.id.to_string()});
    let remote_token = sign_with(&idp_key, &claims);
    assert_eq!(s.get("/api/me/", Some(&remote_token)).await.status, 200);
    assert_eq!(s.get("/api/me/", Some(&remote_token)).await.status, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "cached");
    // Our own tokens need no fetch at all.
    let (own, _) = s.login("alice", "alice-pass").await;
    assert_eq!(s.get("/api/me/", Some(&own)).await.status, 200);
    // Random unknown kids: one refetch at most per interval, however many arrive.
    for i in 0..20 {
        let (k, _) =
            Key::generate(Algorithm::ES256, &OsRandom, Some(format!("unknown-{i}"))).unwrap();
        assert_eq!(
            s.get("/api/me/", Some(&sign_with(&k, &claims)))
                .await
                .status,
            401
        );
    }
    assert!(
        hits.load(Ordering::SeqCst) <= 2,
        "refetches: {}",
        hits.load(Ordering::SeqCst)
    );
    // A remote key pinned to ES256 cannot be used with another algorithm.
    let mut h = parts(&remote_token).0;
    h["alg"] = json!("HS256");
    let input = format!(
        "{}.{}",
        b64(h.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let forged = format!("{input}.{}", b64(&[0u8; 32]));
    assert_eq!(s.get("/api/me/", Some(&forged)).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_jwks_failures_are_401_not_500() {
    // Unreachable JWKS: tokens with unknown kids are simply invalid.
    let s = TestServer::start(json!({"JWK_URL": "http://127.0.0.1:9/jwks.json"})).await;
    let (k, _) = Key::generate(Algorithm::ES256, &OsRandom, Some("k".into())).unwrap();
    let now = s.now();
    let claims =
        json!({"token_type": "access", "exp": now + 300, "jti": "b".repeat(32), "user_id": "1"});
    let r = s.get("/api/me/", Some(&sign_with(&k, &claims))).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["messages"][0]["message"], "Token is invalid");
    // A JWKS document that is not one: the same.
    let (url, _) = jwks_server(json!({"nope": 1}), std::time::Duration::ZERO).await;
    let s = TestServer::start(json!({"JWK_URL": url})).await;
    assert_eq!(
        s.get("/api/me/", Some(&sign_with(&k, &claims)))
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_jwks_is_cut_off_by_the_timeout() {
    let (k, _) = Key::generate(Algorithm::ES256, &OsRandom, Some("slow".into())).unwrap();
    let (url, hits) = jwks_server(
        json!({"keys": [k.public_jwk().unwrap()]}),
        std::time::Duration::from_secs(30),
    )
    .await;
    let remote = tessera_engine::remote_jwks::RemoteJwks::new(
        &url,
        None,
        std::time::Duration::from_millis(300),
    )
    .unwrap();
    let start = std::time::Instant::now();
    remote.ensure("slow").await;
    assert!(start.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    use tessera_core::KeyLookup as _;
    assert!(remote.key("slow").is_none());
}

#[tokio::test]
async fn a_private_jwk_file_as_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let (key, private) = Key::generate(Algorithm::EdDSA, &OsRandom, Some("ed-jwk".into())).unwrap();
    let mut jwk = key.public_jwk().unwrap().clone();
    let der: Vec<u8> = {
        use base64::Engine as _;
        let b64: String = private
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    };
    jwk.insert("d".into(), json!(b64(&der[der.len() - 32..])));
    let path = dir.path().join("signing.jwk");
    std::fs::write(&path, Value::Object(jwk).to_string()).unwrap();
    let s =
        TestServer::start(json!({"ALGORITHM": "EdDSA", "SIGNING_KEY": path.display().to_string()}))
            .await;
    s.user("alice", "alice-pass").await;
    let (access, _) = s.login("alice", "alice-pass").await;
    assert_eq!(parts(&access).0["kid"], "ed-jwk");
    let (input, sig) = access.rsplit_once('.').unwrap();
    assert!(key.verify(input.as_bytes(), sig));
}
