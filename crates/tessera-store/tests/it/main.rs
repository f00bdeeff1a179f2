//! Integration tests of tessera-store against a real SQLite file and a real PostgreSQL.
//!
//! `conformance` is written against the `Store` trait only, and runs unchanged on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod admin;
mod conformance;
mod in_flight;
mod keys;
mod legacy;
mod scrub;
mod sqlite_writer;
mod support;
