//! Refused input: every file in `fixtures/invalid/` must be refused by
//! `pactum append` with exit code 2 and a message that says what is wrong and
//! where, and the ledger must not change.
//!
//! Each case is `fixtures/invalid/NAME.EXT` plus `fixtures/invalid/NAME.expected`,
//! whose non-empty lines are substrings that must all appear in standard error.
//! Cases whose name contains `-conflict-` are refused because of what the
//! ledger already holds (the `microsoft-openai` fixture); every other case is
//! refused on its own, so it is also run against a missing ledger, which must
//! not be created.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

const NOW: &str = "2026-11-01T00:00:00Z";
const MIN_CASES: usize = 40;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pactum<S: AsRef<OsStr>>(ledger: &Path, args: &[S], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pactum"))
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .current_dir(cwd)
        .env("PACTUM_NOW", NOW)
        .env_remove("PACTUM_LEDGER")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("run pactum")
}

fn append(ledger: &Path, file: &Path, cwd: &Path) -> Output {
    pactum(ledger, &[OsStr::new("append"), file.as_os_str()], cwd)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file and folder under `root`, by relative path (`None` for a folder).
/// The ledger's content: every stored key and value. (sled may rewrite its
/// own files when a database is opened — snapshots, segment clean-up — so
/// "nothing changes on disk" is checked on what the ledger holds; see
/// docs/architecture.md.)
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    use pactum::store::{SledStore, Store};
    let store = SledStore::open(root, std::time::Duration::from_secs(60)).expect("open ledger");
    store
        .scan(&[], None)
        .map(|r| {
            let (k, v) = r.expect("read ledger");
            (PathBuf::from(pactum::chain::hex(&k)), Some(v))
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for e in std::fs::read_dir(from).expect("read folder") {
        let e = e.expect("folder entry");
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy file");
        }
    }
}

/// Describes how two snapshots differ.
fn snapshot_diff(
    before: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    after: &BTreeMap<PathBuf, Option<Vec<u8>>>,
) -> Vec<String> {
    let mut d = Vec::new();
    for (p, v) in before {
        match after.get(p) {
            None => d.push(format!("removed {}", p.display())),
            Some(w) if w != v => d.push(format!("changed {}", p.display())),
            _ => {}
        }
    }
    for p in after.keys() {
        if !before.contains_key(p) {
            d.push(format!("created {}", p.display()));
        }
    }
    d
}

struct Case {
    name: String,
    input: PathBuf,
    expected: Vec<String>,
    conflict: bool,
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures/invalid exists")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .into_string()
                .expect("UTF-8 file name")
        })
        .collect();
    names.sort();
    let inputs: Vec<&String> = names.iter().filter(|n| !n.ends_with(".expected")).collect();
    let mut out = Vec::new();
    for n in names.iter().filter(|n| n.ends_with(".expected")) {
        let stem = n.trim_end_matches(".expected");
        let matching: Vec<&&String> = inputs
            .iter()
            .filter(|i| i.as_str() == stem || i.starts_with(&format!("{stem}.")))
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "{n}: expected exactly one input file named {stem} or {stem}.EXT, found {matching:?}"
        );
        let input_name = matching[0].to_string();
        let expected: Vec<String> = std::fs::read_to_string(dir.join(n))
            .expect("read .expected")
            .lines()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        assert!(!expected.is_empty(), "{n} lists no expected substring");
        assert!(
            expected.iter().any(|l| l.contains(&input_name)),
            "{n}: one expected line must name the file {input_name}"
        );
        out.push(Case {
            name: input_name.clone(),
            input: dir.join(&input_name),
            expected,
            conflict: stem.contains("-conflict-"),
        });
    }
    // Every input has its expectation.
    for i in &inputs {
        assert!(
            out.iter().any(|c| &&c.name == i),
            "fixtures/invalid/{i} has no .expected file"
        );
    }
    out
}

/// What is wrong with one refusal, if anything: the problems and the output.
fn check_refusal(case: &Case, out: &Output) -> Option<(Vec<String>, String)> {
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    let mut bad = Vec::new();
    if out.status.code() != Some(2) {
        bad.push(format!("exit code {:?}, expected 2", out.status.code()));
    }
    for e in &case.expected {
        if !stderr.contains(e.as_str()) {
            bad.push(format!("stderr lacks {e:?}"));
        }
    }
    for forbidden in [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "internal error",
    ] {
        if stderr.contains(forbidden) {
            bad.push(format!("stderr shows {forbidden:?}"));
        }
    }
    if !stdout.trim().is_empty() {
        bad.push("a refused append printed to stdout".to_string());
    }
    if bad.is_empty() {
        return None;
    }
    let shown = format!(
        "    stderr: {}{}",
        stderr.trim_end().replace('\n', "\n            "),
        if stdout.trim().is_empty() {
            String::new()
        } else {
            format!(
                "\n    stdout: {}",
                stdout.trim_end().replace('\n', "\n            ")
            )
        }
    );
    Some((bad, shown))
}

fn report(case: &Case, what: &str, (bad, shown): &(Vec<String>, String)) -> String {
    format!(
        "{} ({what}):\n    - {}\n{shown}",
        case.name,
        bad.join("\n    - ")
    )
}

fn run_case(
    case: &Case,
    base: &Path,
    base_head: &str,
    base_snapshot: &BTreeMap<PathBuf, Option<Vec<u8>>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let tmp = tempfile::tempdir().expect("tempdir");
    let ledger = tmp.path().join("l");
    copy_dir(base, &ledger);

    // Against the ledger holding the microsoft-openai fixture.
    let out = append(&ledger, &case.input, tmp.path());
    let existing = check_refusal(case, &out);
    if let Some(r) = &existing {
        problems.push(report(case, "existing ledger", r));
    }
    let diff = snapshot_diff(base_snapshot, &snapshot(&ledger));
    if !diff.is_empty() {
        problems.push(format!(
            "{} (existing ledger): the refused append changed the ledger on disk: {}",
            case.name,
            diff.join(", ")
        ));
    }
    let head = pactum(&ledger, &["head"], tmp.path());
    let head = text(&head.stdout);
    if head != base_head {
        problems.push(format!(
            "{} (existing ledger): head changed from {:?} to {:?}",
            case.name,
            base_head.trim_end(),
            head.trim_end()
        ));
    }

    // Against a missing ledger: refused the same way, and nothing is created.
    if !case.conflict {
        let missing = tmp.path().join("missing.ledger");
        let out = append(&missing, &case.input, tmp.path());
        match (check_refusal(case, &out), &existing) {
            (None, _) => {}
            // The same problems as with the existing ledger: say so briefly.
            (Some(r), Some(e)) if r.0 == e.0 => {
                problems.push(format!("{} (missing ledger): the same", case.name));
            }
            (Some(r), _) => problems.push(report(case, "missing ledger", &r)),
        }
        if missing.exists() {
            problems.push(format!(
                "{} (missing ledger): the refused append created {}",
                case.name,
                missing.display()
            ));
        }
        let stray: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("read tempdir")
            .map(|e| e.expect("entry").file_name())
            .filter(|n| n != "l")
            .collect();
        if !stray.is_empty() {
            problems.push(format!(
                "{} (missing ledger): the refused append left {stray:?} in the working folder",
                case.name
            ));
        }
    }
    problems
}

#[test]
fn invalid_fixtures_are_refused_without_changing_the_ledger() {
    let root = manifest_dir();
    let dir = root.join("fixtures").join("invalid");
    let cases = cases(&dir);
    assert!(
        cases.len() >= MIN_CASES,
        "only {} invalid fixtures in {}; expected at least {MIN_CASES}",
        cases.len(),
        dir.display()
    );

    // One baseline ledger, copied for each case.
    let base_tmp = tempfile::tempdir().expect("tempdir");
    let base = base_tmp.path().join("base");
    let out = append(
        &base,
        &root.join("fixtures").join("microsoft-openai"),
        base_tmp.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "appending fixtures/microsoft-openai failed: {}",
        text(&out.stderr)
    );
    // The baseline bytes, as the append left them: a refused append must
    // leave them exactly so. `head` is read from a copy, so that the cases
    // start from the bytes of the snapshot whatever reading does to a folder.
    let base_snapshot = snapshot(&base);
    let probe = base_tmp.path().join("probe");
    copy_dir(&base, &probe);
    let head_out = pactum(&probe, &["head"], base_tmp.path());
    assert_eq!(
        head_out.status.code(),
        Some(0),
        "{}",
        text(&head_out.stderr)
    );
    let base_head = text(&head_out.stdout);
    assert!(
        base_head
            .trim_end()
            .split_once(':')
            .is_some_and(|(n, h)| n.parse::<u64>().is_ok() && h.len() == 64),
        "head prints N:HASH, not {base_head:?}"
    );

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(4)
        .clamp(1, 8);
    let next = Mutex::new(0usize);
    let problems = Mutex::new(BTreeMap::<usize, Vec<String>>::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().expect("lock");
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(case) = cases.get(i) else { break };
                let p = run_case(case, &base, &base_head, &base_snapshot);
                if !p.is_empty() {
                    problems.lock().expect("lock").insert(i, p);
                }
            });
        }
    });
    let problems = problems.into_inner().expect("lock");
    let failed: Vec<&str> = problems.keys().map(|i| cases[*i].name.as_str()).collect();
    let conflicts = cases.iter().filter(|c| c.conflict).count();
    println!(
        "checked {} invalid fixtures ({} against the ledger only, {} also against a missing ledger); {} failed",
        cases.len(),
        conflicts,
        cases.len() - conflicts,
        failed.len()
    );
    if !problems.is_empty() {
        let all: Vec<String> = problems.into_values().flatten().collect();
        panic!(
            "{} of {} invalid fixtures were not refused as expected:\n{}\n\nfailed: {}",
            failed.len(),
            cases.len(),
            all.join("\n"),
            failed.join(", ")
        );
    }
}
