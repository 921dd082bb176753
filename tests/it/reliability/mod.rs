//! Reliability: I/O faults, concurrent writers, hostile input, and the states
//! a crash leaves behind (the crash harness itself is `crash.rs`).
//! Each module prints its counts (`cargo test --test it reliability -- --nocapture`).

pub mod common;
mod concurrency;
mod faults;
mod hostile;
mod leftovers;
