//! The integration tests: one test crate (one link, one binary) with a module
//! per area.
//!
//! Two tiers. `cargo test` runs the fast default tier; with
//! `PACTUM_TEST_LONG=1` the long runs run in full (what `.ci/run` does): the
//! crash harness's 100 kills instead of 10, the hostile inputs of 100 MiB,
//! a million changes and the like, and every property's full case count (the
//! default tier runs a quarter); [`long_tier`] says which.
//!
//! | module | what |
//! |---|---|
//! | `cli` | transcripts of the real binary on the fixtures |
//! | `crash` | the crash harness: writers killed with SIGKILL |
//! | `fuzz_regressions` | fuzz seeds and regressions replayed on stable |
//! | `invalid` | every file in `fixtures/invalid/` refused |
//! | `merkle` | the tree and proofs against `ct-merkle` |
//! | `picture` | `pactum timeline`: the layout model on every kind of mark, the drawings' escaping and self-containment, the CLI, the README picture |
//! | `serve` | `pactum serve` over real HTTP: API = CLI `--json`, tokens, hostile requests, concurrency, `--ledger http://`, a headless browser |
//! | `note` | keys, signed notes, cosignatures: known answers (Go's `sumdb/note`, C2SP, RFC 8032) |
//! | `postgres` | the PostgreSQL store against a real server (`PACTUM_TEST_PG`) |
//! | `properties` | proptest against the reference model |
//! | `reliability` | faults, concurrency, hostile input, leftovers |
//! | `signatures` | the binary's keys, signed checkpoints, cosign (split view), `sign` |
//! | `amendment_signatures` | `check_signatures`, with properties |
//! | `tamper` | the tamper matrix |
//! | `usability` | what a new user trips on: one test per defect of issue 14, and `show`, `diff --known-at-to`, `completions`, `man`, `--color`, `-q` |

// `fuzz/checks.rs` is the root of the fuzz targets' own crate, so it declares
// the reference model's files itself; here they are loaded by `properties` too.
#![allow(clippy::duplicate_mod)]

mod amendment_signatures;
mod cli;
mod crash;
mod fuzz_regressions;
mod invalid;
mod merkle;
mod note;
mod picture;
mod postgres;
mod properties;
mod reliability;
mod serve;
mod signatures;
mod signed_ledger;
mod storage;
mod tamper;
mod usability;

/// Whether the long tier runs: `PACTUM_TEST_LONG` set to anything but `0`
/// or the empty string.
pub fn long_tier() -> bool {
    std::env::var("PACTUM_TEST_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}
