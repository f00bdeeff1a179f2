//! Properties over random inputs: what is signed verifies, and any change to any byte of
//! a signed token is refused.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::Value;
use tessera_core::{
    Algorithm, Key, KeySet, ManualClock, OsRandom, Settings, TokenKind, TokenService,
};

fn service(alg: Algorithm) -> TokenService {
    let (key, _) = Key::generate(alg, &OsRandom, Some("p".into())).unwrap();
    TokenService::new(
        &Settings::default(),
        KeySet::single(key).unwrap(),
        Arc::new(ManualClock::at_secs(1_800_000_000)),
        Arc::new(OsRandom),
    )
}

fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn signed_claims_round_trip(
        user in "[0-9a-zA-Z]{1,20}",
        extra in proptest::collection::btree_map("[a-z_]{1,12}", claim_value(), 0..6),
        alg_i in 0usize..3,
    ) {
        let alg = [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA][alg_i];
        let s = service(alg);
        let mut claims = s.for_user(TokenKind::Access, &user);
        for (k, v) in extra {
            if !["token_type", "exp", "iat", "jti", "nbf", "aud", "iss", "sub", "user_id"].contains(&k.as_str()) {
                claims.insert(k, v);
            }
        }
        let token = s.encode(&claims).unwrap();
        let back = s.validate(&token, Some(TokenKind::Access)).unwrap();
        prop_assert_eq!(back, claims);
    }

    #[test]
    fn any_changed_byte_is_refused(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let s = service(Algorithm::HS256);
        let token = s.encode(&s.for_user(TokenKind::Access, "1")).unwrap();
        let mut bytes = token.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(s.validate(&tampered, Some(TokenKind::Access)).is_err(), "accepted {}", tampered);
    }
}
