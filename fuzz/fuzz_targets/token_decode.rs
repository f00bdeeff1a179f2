//! Token decode + validation: any bytes, never a panic; never accepted without the key.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tessera_core::{Algorithm, KeySet, ManualClock, OsRandom, Settings, TokenKind, TokenService};

fn service() -> &'static TokenService {
    static S: OnceLock<TokenService> = OnceLock::new();
    S.get_or_init(|| {
        let keys = KeySet::hmac(Algorithm::HS256, b"fuzzing-key-fuzzing-key-fuzzing-key!!").unwrap();
        TokenService::new(&Settings::default(), keys, Arc::new(ManualClock::at_secs(1_800_000_000)), Arc::new(OsRandom))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        let s = service();
        for kind in [None, Some(TokenKind::Access), Some(TokenKind::Refresh), Some(TokenKind::Sliding)] {
            let _ = s.validate(raw, kind);
        }
        let _ = tessera_core::dangerous::unverified_kid(raw);
        let _ = s.verify_jws(raw);
    }
});
