//! `cargo +nightly fuzz run model`: see `check_model` in `fuzz/checks.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

/// AddressSanitizer's defaults for this target, read as it starts
/// (`ASAN_OPTIONS` still overrides each). `malloc_context_size=0`: an
/// allocation records no stack (a report then names the faulting access's
/// stack, not where the memory was allocated and freed; put
/// `ASAN_OPTIONS=malloc_context_size=30` back to see those). The checks
/// stay; it takes a fifth off a run (README, Fuzzing).
#[no_mangle]
pub extern "C" fn __asan_default_options() -> *const std::ffi::c_char {
    c"malloc_context_size=0".as_ptr()
}

fuzz_target!(|data: &[u8]| checks::check_model(data));
