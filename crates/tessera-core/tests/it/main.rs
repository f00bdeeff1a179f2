//! Integration tests of tessera-core: Project Wycheproof's vectors through the same
//! code paths tokens take.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod interop;
mod properties;
mod wycheproof;
