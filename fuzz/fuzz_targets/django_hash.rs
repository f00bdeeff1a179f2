//! The Django password-hash parser (parsing only: hashing is expensive by design).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tessera_core::password::{is_known_format, revoke_digest};
use tessera_core::{OsRandom, PasswordHasher, Settings};

fn hasher() -> &'static PasswordHasher {
    static H: OnceLock<PasswordHasher> = OnceLock::new();
    H.get_or_init(|| PasswordHasher::new(&Settings::default(), Arc::new(OsRandom)))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(encoded) = std::str::from_utf8(data) {
        let _ = is_known_format(encoded);
        let _ = hasher().must_update(encoded);
        let _ = revoke_digest(encoded);
    }
});
