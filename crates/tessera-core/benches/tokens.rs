//! Sign and verify per algorithm, Tessera's HS256 validation against bare
//! `jsonwebtoken::decode` on the same token, and password hash verification.
//! Prints figures; asserts nothing about time.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_core::{
    Algorithm, HasherKind, Key, KeySet, ManualClock, OsRandom, PasswordHasher, Settings, TokenKind,
    TokenService,
};

fn service(alg: Algorithm) -> TokenService {
    let (key, _) = Key::generate(alg, &OsRandom, None).unwrap();
    let keys = KeySet::single(key).unwrap();
    TokenService::new(
        &Settings::default(),
        keys,
        Arc::new(ManualClock::now()),
        Arc::new(OsRandom),
    )
}

fn sign_verify(c: &mut Criterion) {
    for alg in [
        Algorithm::HS256,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let s = service(alg);
        let claims = s.for_user(TokenKind::Access, "1");
        let token = s.encode(&claims).unwrap();
        c.bench_function(&format!("sign/{}", alg.name()), |b| {
            b.iter(|| s.encode(black_box(&claims)).unwrap())
        });
        c.bench_function(&format!("verify/{}", alg.name()), |b| {
            b.iter(|| {
                s.validate(black_box(&token), Some(TokenKind::Access))
                    .unwrap()
            })
        });
    }
}

fn against_bare_jsonwebtoken(c: &mut Criterion) {
    let secret = b"an-hmac-secret-of-at-least-32-bytes-long!!";
    let keys = KeySet::hmac(Algorithm::HS256, secret).unwrap();
    let s = TokenService::new(
        &Settings::default(),
        keys,
        Arc::new(ManualClock::now()),
        Arc::new(OsRandom),
    );
    let token = s.encode(&s.for_user(TokenKind::Access, "1")).unwrap();
    let key = jsonwebtoken::DecodingKey::from_secret(secret);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 0;
    validation.required_spec_claims.clear();
    validation.required_spec_claims.insert("exp".into());
    c.bench_function("hs256/tessera validate", |b| {
        b.iter(|| {
            s.validate(black_box(&token), Some(TokenKind::Access))
                .unwrap()
        })
    });
    c.bench_function("hs256/bare jsonwebtoken::decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &key, &validation).unwrap()
        })
    });
}

fn password_hashes(c: &mut Criterion) {
    let mut g = c.benchmark_group("password");
    g.sample_size(10);
    for (name, kind) in [
        ("argon2id m=19MiB t=2 p=1", HasherKind::Argon2),
        ("pbkdf2_sha256 1000000", HasherKind::Pbkdf2Sha256),
    ] {
        let settings = Settings {
            password_hasher: kind,
            ..Settings::default()
        };
        let h = PasswordHasher::new(&settings, Arc::new(OsRandom));
        let encoded = h.hash("correct horse battery").unwrap();
        g.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| assert!(h.verify(black_box("correct horse battery"), &encoded)))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    sign_verify,
    against_bare_jsonwebtoken,
    password_hashes
);
criterion_main!(benches);
