//! The fuzz targets' committed inputs, replayed on stable in the normal
//! `cargo test`: every file of `fuzz/seeds/<target>/` and
//! `fuzz/regressions/<target>/` goes through the same check as the fuzz
//! target (`fuzz/checks.rs`, shared with `fuzz/fuzz_targets/`).
//!
//! A crash found by `cargo +nightly fuzz run TARGET` is minimised with
//! `cargo +nightly fuzz tmin TARGET ARTIFACT` and copied to
//! `fuzz/regressions/TARGET/<short-name>`; from then on this test replays it.
//! Run with `--show-output` to see the counts.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The files of `fuzz/<kind>/<target>/`, by name (dotfiles such as `.gitkeep` skipped).
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .map(|e| e.expect("a readable folder entry").path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    out.sort();
    out
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
}

/// Replays the seeds and regressions of `target`; returns the seed inputs
/// (for the per-target depth checks) after asserting that none failed.
fn replay(target: &str) -> Vec<Vec<u8>> {
    let mut failures: Vec<String> = Vec::new();
    let mut seeds = Vec::new();
    let mut counts = [0usize; 2];
    for (k, kind) in ["seeds", "regressions"].into_iter().enumerate() {
        for f in files(kind, target) {
            let data = std::fs::read(&f).expect("a readable input");
            counts[k] += 1;
            if let Err(e) = catch_unwind(AssertUnwindSafe(|| checks::check(target, &data))) {
                failures.push(format!("{}: {}", f.display(), panic_text(&*e)));
            }
            if kind == "seeds" {
                seeds.push(data);
            }
        }
    }
    println!(
        "fuzz target {target}: replayed {} seed and {} regression inputs, {} failed",
        counts[0],
        counts[1],
        failures.len()
    );
    assert!(
        counts[0] >= 3,
        "fuzz/seeds/{target}/ holds {} inputs: the seed corpus is missing",
        counts[0]
    );
    assert!(
        failures.is_empty(),
        "{} fuzz input(s) of `{target}` fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    seeds
}

#[test]
fn decode_entry_inputs_replay() {
    let seeds = replay("decode_entry");
    // The seeds reach past the first checks: whole entries and stored values.
    let entries = seeds
        .iter()
        .filter(|s| pactum::codec::decode_entry(s).is_ok())
        .count();
    let stored = seeds
        .iter()
        .filter(|s| pactum::layout::decode_stored(0, s).is_ok())
        .count();
    println!("  {entries} seeds decode as entries, {stored} as stored values of seq 0");
    assert!(entries > 0 && stored > 0);
}

#[test]
fn parse_input_inputs_replay() {
    let seeds = replay("parse_input");
    let parsed = seeds
        .iter()
        .filter(|s| {
            let Some((&sel, rest)) = s.split_first() else {
                return false;
            };
            let text = String::from_utf8_lossy(rest);
            match sel % 3 {
                0 => pactum::input::parse_toml("seed.toml", &text).is_ok(),
                1 => pactum::input::parse_json("seed.json", None, &text).is_ok(),
                _ => pactum::input::parse_jsonl("seed.jsonl", rest).is_ok(),
            }
        })
        .count();
    println!("  {parsed} of {} seeds parse", seeds.len());
    assert!(parsed > 0 && parsed < seeds.len());
}

#[test]
fn model_inputs_replay() {
    let seeds = replay("model");
    let mut total = checks::ModelStats::default();
    for s in &seeds {
        total.add(&checks::run_model(s));
    }
    println!("  the model seeds ran: {total:?}");
    assert!(total.appends_ok > 0 && total.appends_refused > 0 && total.states > 0);
}
