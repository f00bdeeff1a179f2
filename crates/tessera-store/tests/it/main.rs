//! Integration tests of tessera-store, against a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//!
//! `conformance` is written against the `Store` trait only, so every implementation
//! runs the same suite.

mod conformance;
