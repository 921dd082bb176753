//! `cargo +nightly fuzz run decode_entry`: see `check_decode_entry` in `fuzz/checks.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_decode_entry(data));
