//! `cargo +nightly fuzz run parse_input`: see `check_parse_input` in `fuzz/checks.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_parse_input(data));
