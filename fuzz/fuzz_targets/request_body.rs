//! Request bodies: JSON and form parsing, the nesting pre-scan and DRF field rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_axum::{Fields, Validator, json_depth, parse_body as parse};

fuzz_target!(|data: &[u8]| {
    let _ = json_depth(data);
    for ct in [Some("application/json"), Some("application/x-www-form-urlencoded"), None, Some("text/plain")] {
        if let Ok(map) = parse(ct, data) {
            let fields = Fields(map);
            let mut v = Validator::new(&fields);
            let _ = v.string("username");
            let _ = v.optional_string("comment");
            let _ = v.integer("rating", 1, 5);
            let _ = v.finish();
        }
    }
});
