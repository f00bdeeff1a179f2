//! The protected-route path without HTTP: header parsing, token validation and the user
//! check (through the user cache), as the `Authenticated` extractor runs them.
//! Prints figures; asserts nothing about time.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use criterion::{Criterion, criterion_group, criterion_main};
use tessera_axum::{AuthState, Tessera};
use tessera_core::{Algorithm, KeySet, Settings, TokenKind};
use tessera_store::{NewUser, UserCache};

fn extractor(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tessera, uncached, token) = rt.block_on(async {
        let url = format!("sqlite://{}/bench.sqlite3", dir.path().display());
        let store = tessera_store::open(&url).await.unwrap();
        store.migrate().await.unwrap();
        let user = store
            .create_user(&NewUser::new("alice", "!", 0))
            .await
            .unwrap();
        let cached: Arc<dyn tessera_store::Store> =
            Arc::new(UserCache::new(store, Duration::from_secs(30)));
        let keys = KeySet::hmac(
            Algorithm::HS256,
            b"an-hmac-secret-of-at-least-32-bytes-long!!",
        )
        .unwrap();
        let t = Tessera::builder(Settings::default(), keys.clone(), cached.clone())
            .build()
            .unwrap();
        let t = AuthState::new(t).unwrap();
        // The same without the verified-token cache: every request validates afresh.
        let off = Settings::from_json(serde_json::json!({"VERIFIED_TOKEN_CACHE": 0})).unwrap();
        let uncached =
            AuthState::new(Tessera::builder(off, keys, cached).build().unwrap()).unwrap();
        let token = t
            .tokens()
            .encode(&t.tokens().for_user(TokenKind::Access, &user.id.to_string()))
            .unwrap();
        (t, uncached, token)
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    c.bench_function("extractor/authenticated (cached user)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let raw = tessera.bearer(black_box(&headers)).unwrap().unwrap();
                let (claims, _) = tessera.validate_bearer(raw).await.unwrap();
                tessera.user_for_claims(&claims).await.unwrap()
            })
        })
    });
    c.bench_function("extractor/authenticated, VERIFIED_TOKEN_CACHE=0", |b| {
        b.iter(|| {
            rt.block_on(async {
                let raw = uncached.bearer(black_box(&headers)).unwrap().unwrap();
                let (claims, _) = uncached.validate_bearer(raw).await.unwrap();
                uncached.user_for_claims(&claims).await.unwrap()
            })
        })
    });
    c.bench_function("extractor/stateless (token only)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let raw = tessera.bearer(black_box(&headers)).unwrap().unwrap();
                tessera.validate_bearer(raw).await.unwrap()
            })
        })
    });
}

criterion_group!(benches, extractor);
criterion_main!(benches);
