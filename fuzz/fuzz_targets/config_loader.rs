//! The configuration loader: TOML text → settings, refused or accepted, never a panic.
#![no_main]

use figment::Figment;
use figment::providers::{Format, Toml};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(all) = Figment::from(Toml::string(text)).extract::<Map<String, Value>>() {
            let _ = tessera_server::config::Config::from_map(all.clone(), None);
            let _ = tessera_core::Settings::from_json(Value::Object(all));
        }
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            let _ = tessera_core::Settings::from_json(v);
        }
    }
});
