//! `cargo +nightly fuzz run note`: see `check_note` in `fuzz/check_note.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../check_note.rs"]
mod check_note;

fuzz_target!(|data: &[u8]| check_note::check_note(data));
