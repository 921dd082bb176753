//! Reliability: I/O faults, concurrent writers, hostile input, and the states
//! a crash leaves behind (the crash harness itself is `tests/crash.rs`).
//! Each module prints its counts (`cargo test --test reliability -- --nocapture`).

#[path = "reliability/common.rs"]
mod common;
#[path = "reliability/concurrency.rs"]
mod concurrency;
#[path = "reliability/faults.rs"]
mod faults;
#[path = "reliability/hostile.rs"]
mod hostile;
#[path = "reliability/leftovers.rs"]
mod leftovers;
