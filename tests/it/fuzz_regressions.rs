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
    assert!(total.reopens > 0 && total.proofs > 0 && total.tampers > 0 && total.exports > 0);
}

/// How long the model's programs are when the fuzzer cuts its inputs at
/// `-max_len` (the README's choice of length): the steps and entries of
/// the seeds (and of the live corpus `fuzz/corpus/model`, when there is
/// one) cut at 64, 128, 256 and 1024 bytes. Run with
/// `cargo test --test it model_program_lengths -- --ignored --nocapture`.
#[test]
#[ignore = "prints figures for the README; nothing to assert"]
fn model_program_lengths() {
    for (kind, dir) in [("seeds", "seeds"), ("live corpus", "corpus")] {
        let inputs: Vec<Vec<u8>> = files(dir, "model")
            .iter()
            .map(|f| std::fs::read(f).expect("a readable input"))
            .collect();
        if inputs.is_empty() {
            continue;
        }
        for len in [64, 128, 256, 1024] {
            let mut total = checks::ModelStats::default();
            let mut longest = 0;
            for d in &inputs {
                let s = checks::run_model(&d[..d.len().min(len)]);
                longest = longest.max(s.steps);
                total.add(&s);
            }
            let n = inputs.len() as f64;
            println!(
                "  {kind} ({} inputs) cut at {len} bytes: {:.1} steps, {:.1} entries on average, {longest} steps at most",
                inputs.len(),
                total.steps as f64 / n,
                total.entries as f64 / n,
            );
        }
    }
}

/// The same programs on sled (fewer: each run writes a ledger to disk).
#[test]
fn model_sled_inputs_replay() {
    replay("model_sled");
}

#[test]
fn checkpoint_inputs_replay() {
    let seeds = replay("checkpoint");
    let texts = seeds
        .iter()
        .filter(|s| {
            String::from_utf8_lossy(s)
                .parse::<pactum::chain::CheckpointText>()
                .is_ok()
        })
        .count();
    println!(
        "  {texts} of {} seeds parse as checkpoint texts",
        seeds.len()
    );
    assert!(texts > 0 && texts < seeds.len());
}

#[test]
fn proof_inputs_replay() {
    let seeds = replay("proof");
    let parsed: Vec<pactum::proof::Proof> = seeds
        .iter()
        .filter_map(|s| {
            let doc = s.split(|b| *b == 0).next().unwrap_or_default();
            pactum::proof::Proof::parse(&String::from_utf8_lossy(doc)).ok()
        })
        .collect();
    let inclusion = parsed
        .iter()
        .filter(|p| matches!(p, pactum::proof::Proof::Inclusion(_)))
        .count();
    println!(
        "  {} of {} seeds parse as proofs, {inclusion} inclusion",
        parsed.len(),
        seeds.len()
    );
    assert!(inclusion > 0 && parsed.len() > inclusion && parsed.len() < seeds.len());
}

#[test]
fn export_inputs_replay() {
    let seeds = replay("export");
    let ok = seeds
        .iter()
        .filter(|s| {
            pactum::export::verify_export(&mut &s[..], None, &mut |_, _, _| {})
                .report
                .ok
        })
        .count();
    println!("  {ok} of {} seeds pass the export audit", seeds.len());
    assert!(ok > 0 && ok < seeds.len());
}

#[test]
fn location_inputs_replay() {
    let seeds = replay("location");
    let urls = seeds
        .iter()
        .filter(|s| pactum::store::postgres::is_url(&String::from_utf8_lossy(s)))
        .count();
    println!("  {urls} of {} seeds are PostgreSQL URLs", seeds.len());
    assert!(urls > 0 && urls < seeds.len());
}

/// Writes the seeds of the document targets (`checkpoint`, `proof`,
/// `export`) from the fork of `fuzz/checks/documents.rs`:
/// `cargo test --test fuzz_regressions write_document_seeds -- --ignored`.
#[test]
#[ignore = "writes fuzz/seeds/; run by hand when the documents change"]
fn write_document_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("seeds");
    let f = checks::documents::fork();
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("a seeds folder");
        std::fs::write(dir.join(name), bytes).expect("a seed written");
    };
    for (tag, s) in [("a", &f.a), ("b", &f.b)] {
        // Checkpoints: texts at a few sizes, N:HASH forms, broken ones.
        for size in [0usize, 1, 3, s.cps.len() - 1] {
            let cp = &s.cps[size];
            write(
                "checkpoint",
                &format!("{tag}-text-{size}"),
                cp.to_string().as_bytes(),
            );
            write(
                "checkpoint",
                &format!("{tag}-head-{size}"),
                cp.checkpoint().to_string().as_bytes(),
            );
        }
        let last = s.cps[s.cps.len() - 1].to_string();
        write(
            "checkpoint",
            &format!("{tag}-crlf"),
            last.replace('\n', "\r\n").as_bytes(),
        );
        write(
            "checkpoint",
            &format!("{tag}-extra-line"),
            format!("{last}more\n").as_bytes(),
        );
        write(
            "checkpoint",
            &format!("{tag}-no-chain"),
            last.lines()
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
                .as_bytes(),
        );
        // Proofs: as `pactum prove` prints them; some with their checkpoints.
        for (i, p) in s.inclusion.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
            let doc = serde_json::to_string_pretty(p).expect("json");
            write("proof", &format!("{tag}-inclusion-{i}"), doc.as_bytes());
            let cp = s.cp(p.tree_size).expect("a checkpoint");
            write(
                "proof",
                &format!("{tag}-inclusion-{i}-cp"),
                format!("{doc}\0{cp}").as_bytes(),
            );
        }
        for (i, p) in s.consistency.iter().enumerate().filter(|(i, _)| i % 3 == 1) {
            let doc = serde_json::to_string_pretty(p).expect("json");
            write("proof", &format!("{tag}-consistency-{i}"), doc.as_bytes());
            let (new, old) = (
                s.cp(p.tree_size).expect("new"),
                s.cp(p.old_size).expect("old"),
            );
            write(
                "proof",
                &format!("{tag}-consistency-{i}-cps"),
                format!("{doc}\0{new}\0{old}").as_bytes(),
            );
        }
        // Exports: whole, cut short, without a line, with a line twice.
        let lines: Vec<&[u8]> = s
            .export
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let join = |ls: &[&[u8]]| -> Vec<u8> {
            ls.iter()
                .flat_map(|l| l.iter().copied().chain([b'\n']))
                .collect()
        };
        write("export", &format!("{tag}-whole"), &s.export);
        write(
            "export",
            &format!("{tag}-truncated"),
            &join(&lines[..lines.len() - 1]),
        );
        let mut gap = lines.clone();
        gap.remove(2);
        write("export", &format!("{tag}-gap"), &join(&gap));
        let mut twice = lines.clone();
        twice.insert(2, lines[2]);
        write("export", &format!("{tag}-twice"), &join(&twice));
    }
    // Documents that are not proofs.
    write("proof", "not-json", b"{\"proof\": \"inclusion\"");
    write("proof", "other-kind", b"{\"proof\": \"signature\"}");
}
