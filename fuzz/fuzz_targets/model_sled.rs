//! `cargo +nightly fuzz run model_sled`: see `check_model_sled` in `fuzz/checks.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::check_model_sled(data));
