//! `cargo +nightly fuzz run serve`: see `check_serve` in `fuzz/check_serve.rs`.
//! The server lives in the binary, so its modules are included as
//! `src/main.rs` includes them.
#![no_main]
#![allow(dead_code, unused_imports)]

use libfuzzer_sys::fuzz_target;

#[path = "../check_serve.rs"]
mod check_serve;
#[path = "../../src/cli/mod.rs"]
mod cli;
#[path = "../../src/serve/mod.rs"]
mod serve;

fuzz_target!(|data: &[u8]| check_serve::check_serve(data));
