//! The Authorization header parser: any bytes, any scheme list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_axum::raw_token;

fuzz_target!(|data: &[u8]| {
    let schemes = vec!["Bearer".to_owned(), "JWT".to_owned()];
    let _ = raw_token(data, &schemes);
});
