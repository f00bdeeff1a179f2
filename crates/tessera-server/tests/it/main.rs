//! End-to-end tests of the tessera server over real HTTP on loopback.
//!
//! `support` starts the real application in-process on an ephemeral port, with a real
//! SQLite file and a clock the tests can move; `cli` runs the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

mod admin;
mod admin_browser;
mod browser;
mod cli;
mod concurrency;
mod cookie_mode;
mod custom_users;
mod db_copy;
mod docs;
mod durability;
mod hardening;
mod hostile_strings;
mod keys;
mod layout;
mod live_keys;
mod logs;
mod metrics;
mod multi_instance;
mod obtain;
mod outage;
mod pair_check;
mod protected;
mod refresh;
mod schema;
mod sessions;
mod settings_variants;
mod sliding;
mod transport;
mod verify_blacklist;
mod webdriver;
