//! `cargo +nightly fuzz run location`: see `check_location` in `fuzz/checks/location.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_location(data));
