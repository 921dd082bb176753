//! Transcript tests: the real binary, as a user runs it, on the bundled fixtures.
//!
//! Human output of the readers is compared with golden files in
//! `tests/it/transcripts/` (regenerate with `PACTUM_BLESS=1 cargo test --test it cli`
//! and review the diff). Outputs that hold chain hashes (which depend on each
//! ledger's random origin) are checked by structure instead.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const NOW: &str = "2026-11-01T12:00:00Z";

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixture(name: &str) -> String {
    root().join("fixtures").join(name).display().to_string()
}

pub(crate) struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    pub(crate) fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn ledger(&self) -> PathBuf {
        self.dir.path().join("pactum.ledger")
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pactum"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("PACTUM_NOW", NOW)
            .env_remove("PACTUM_LEDGER")
            .env_remove("RUST_BACKTRACE");
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run pactum")
    }

    pub(crate) fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs, asserts exit 0, returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let (out, err) = (text(&o.stdout), text(&o.stderr));
        assert_eq!(
            o.status.code(),
            Some(0),
            "pactum {args:?} failed\nstdout:\n{out}\nstderr:\n{err}"
        );
        clean(&err);
        out
    }

    /// Runs, asserts the exit code, returns stderr.
    pub(crate) fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run(args);
        let err = text(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(code),
            "pactum {args:?}: stdout:\n{}\nstderr:\n{err}",
            text(&o.stdout)
        );
        clean(&err);
        err
    }

    pub(crate) fn with_fixture(&self) -> String {
        self.ok(&["append", &fixture("microsoft-openai")])
    }

    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("pactum {args:?}: not JSON ({e}):\n{out}"))
    }

    pub(crate) fn head(&self) -> String {
        self.ok(&["head"]).trim().to_string()
    }
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// No panic, no backtrace, ever.
pub(crate) fn clean(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic in stderr:\n{stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "backtrace hint in stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("internal error"),
        "internal error:\n{stderr}"
    );
}

/// The ledger's content: every stored key and value. (sled may rewrite its
/// own files when a database is opened, so "nothing changes on disk" is
/// checked on what the ledger holds; see docs/architecture.md.)
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    use pactum::store::{SledStore, Store};
    let store = SledStore::open(dir, std::time::Duration::from_secs(60)).expect("open ledger");
    store
        .scan(&[], None)
        .map(|r| {
            let (k, v) = r.expect("read ledger");
            (PathBuf::from(pactum::chain::hex(&k)), v)
        })
        .collect()
}

/// Asserts two snapshots are equal, naming the files that differ (not dumping bytes).
pub(crate) fn assert_same(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) {
    let names: std::collections::BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    let differ: Vec<String> = names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| {
            format!(
                "{} ({:?} → {:?} bytes)",
                n.display(),
                before.get(n).map(Vec::len),
                after.get(n).map(Vec::len)
            )
        })
        .collect();
    assert!(differ.is_empty(), "bytes on disk changed: {differ:?}");
}

/// Compares with a golden transcript (or writes it with PACTUM_BLESS=1).
fn golden(name: &str, actual: &str) {
    let path = root().join("tests/it/transcripts").join(name);
    if std::env::var_os("PACTUM_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {}", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

fn clause<'a>(state: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
    state["clauses"]
        .as_array()
        .expect("clauses")
        .iter()
        .find(|c| c["id"] == id)
}

// ---------------------------------------------------------------- append

#[test]
fn append_fixture_then_again_is_idempotent() {
    let e = Env::new();
    let out = e.with_fixture();
    assert!(out.contains("appended 7 amendments"), "{out}");
    let head = e.head();
    assert!(head.starts_with("7:"), "{head}");
    let again = e.with_fixture();
    assert!(
        again.contains("appended 0 amendments, 7 already recorded"),
        "{again}"
    );
    assert_eq!(e.head(), head);
}

#[test]
fn append_json_report() {
    let e = Env::new();
    let v = e.json(&["append", "--json", &fixture("microsoft-openai")]);
    assert_eq!(v["appended"], 7);
    assert_eq!(v["existing"], 0);
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["amendments"][0]["amendment"], "2019-07-22-establish");
    assert_eq!(v["amendments"][6]["seq"], 6);
    assert_eq!(v["recorded_at"], "2026-11-01T12:00:00.000000Z");
    assert!(v["head"].as_str().expect("head").starts_with("7:"));
}

#[test]
fn append_dry_run_writes_nothing() {
    let e = Env::new();
    let out = e.ok(&["append", "--dry-run", &fixture("microsoft-openai")]);
    assert!(
        out.contains("dry run: would append 7 amendments; nothing was written"),
        "{out}"
    );
    assert!(
        !e.ledger().exists(),
        "a dry run on a missing ledger created it"
    );
    e.with_fixture();
    let before = snapshot(&e.ledger());
    let out = e.ok(&["append", "--dry-run", &fixture("elasticsearch-licence")]);
    assert!(out.contains("would append 5 amendments"), "{out}");
    assert_eq!(e.head().split(':').next(), Some("7"));
    assert_same(&before, &snapshot(&e.ledger()));
}

#[test]
fn append_expect_head() {
    let e = Env::new();
    e.ok(&["append", "--expect-head", "0", &fixture("microsoft-openai")]);
    let before = snapshot(&e.ledger());
    let err = e.fails(
        &[
            "append",
            "--expect-head",
            "3",
            &fixture("elasticsearch-licence"),
        ],
        2,
    );
    assert!(
        err.contains("holds 7 entries, not the 3 that --expect-head requires"),
        "{err}"
    );
    assert_same(&before, &snapshot(&e.ledger()));
    e.ok(&[
        "append",
        "--expect-head",
        "7",
        &fixture("elasticsearch-licence"),
    ]);
    assert!(e.head().starts_with("12:"));
}

#[test]
fn append_from_stdin_and_single_files() {
    let e = Env::new();
    e.ok(&[
        "append",
        &fixture("microsoft-openai/2019-07-22-establish.toml"),
    ]);
    let line1 = r#"{"agreement":"microsoft-openai","id":"2020-09-22-gpt-3-licence","title":"x","effective":"2020-09-22","change":[{"op":"add","clause":"licence.gpt-3","text":"An exclusive licence."}]}"#;
    // The same id with other content than the fixture file gets refused later; here it is new.
    let o = e.run_stdin(&["append", "-"], format!("{line1}\n\n").as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(e.head().starts_with("2:"));
    // Now the fixture file with the same id and other content is refused, naming the file.
    let err = e.fails(
        &[
            "append",
            &fixture("microsoft-openai/2020-09-22-gpt-3-licence.toml"),
        ],
        2,
    );
    assert!(err.contains("2020-09-22-gpt-3-licence.toml"), "{err}");
    assert!(
        err.contains("already recorded (seq 1) with different content"),
        "{err}"
    );
    // A bad line on stdin is named by its line.
    let bad = format!("{line1}\n{{\"agreement\":\"x\"}}\n");
    let o = e.run_stdin(&["append", "-"], bad.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("-:2"), "{err}");
    assert!(err.contains("missing field"), "{err}");
}

#[test]
fn a_batch_with_one_bad_file_appends_none() {
    let e = Env::new();
    e.ok(&[
        "append",
        &fixture("microsoft-openai/2019-07-22-establish.toml"),
    ]);
    let before = snapshot(&e.ledger());
    let head = e.head();
    let dir = e.dir.path().join("batch");
    std::fs::create_dir(&dir).expect("mkdir");
    for f in [
        "2020-09-22-gpt-3-licence.toml",
        "2023-01-23-extension.toml",
        "2024-07-09-board-observer-exit.toml",
        "2025-01-21-compute-rofr.toml",
    ] {
        std::fs::copy(
            root().join("fixtures/microsoft-openai").join(f),
            dir.join(f),
        )
        .expect("copy");
    }
    std::fs::write(
        dir.join("2025-06-01-bad.toml"),
        "agreement = \"microsoft-openai\"\nid = \"bad\"\ntitle = \"Bad\"\neffective = 2025-06-01\n\n[[change]]\nop = \"repeal\"\nclause = \"no.such-clause\"\n",
    )
    .expect("write");
    let err = e.fails(&["append", &dir.display().to_string()], 2);
    assert!(err.contains("2025-06-01-bad.toml"), "{err}");
    assert!(err.contains("change 1 (repeal no.such-clause)"), "{err}");
    assert!(
        err.contains("clause `no.such-clause` is not in force on 2025-06-01"),
        "{err}"
    );
    assert_eq!(e.head(), head);
    assert_same(&before, &snapshot(&e.ledger()));
    // Without the bad file, all four go in.
    std::fs::remove_file(dir.join("2025-06-01-bad.toml")).expect("rm");
    let out = e.ok(&["append", &dir.display().to_string()]);
    assert!(out.contains("appended 4 amendments"), "{out}");
}

#[test]
fn refused_append_to_missing_ledger_creates_nothing() {
    let e = Env::new();
    let bad = e.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"agreement":"a","id":"b","title":"t","effective":"2025-01-01","change":[{"op":"add","clause":"c","text":"x"}]}"#).expect("write");
    let err = e.fails(&["append", &bad.display().to_string()], 2);
    assert!(
        err.contains("agreement `a` is not in the ledger: its first amendment must `establish` it"),
        "{err}"
    );
    assert!(!e.ledger().exists());
    let err = e.fails(&["append", "nope.toml"], 2);
    assert!(err.contains("nope.toml: cannot open"), "{err}");
    assert!(!e.ledger().exists());
}

// ---------------------------------------------------------------- state

#[test]
fn state_of_the_partnership_on_many_dates() {
    let e = Env::new();
    e.with_fixture();
    let s = e.json(&["state", "microsoft-openai", "--at", "2019-01-01", "--json"]);
    assert_eq!(s["status"], "not-yet-in-force");
    assert_eq!(s["clauses"].as_array().map(Vec::len), Some(0));
    assert_eq!(s["title"], "Microsoft–OpenAI partnership");

    let s = e.json(&["state", "microsoft-openai", "--at", "2020-01-01", "--json"]);
    assert_eq!(s["status"], "in-force");
    assert_eq!(
        clause(&s, "cloud.exclusivity").expect("cloud")["terms"]["kind"],
        "exclusive"
    );
    assert!(clause(&s, "licence.gpt-3").is_none());

    let s = e.json(&["state", "microsoft-openai", "--at", "2021-01-01", "--json"]);
    assert_eq!(
        clause(&s, "licence.gpt-3").expect("gpt-3")["terms"]["exclusive"],
        true
    );

    let s = e.json(&["state", "microsoft-openai", "--at", "2024-06-01", "--json"]);
    let cloud = clause(&s, "cloud.exclusivity").expect("cloud");
    assert_eq!(cloud["terms"]["kind"], "exclusive");
    assert_eq!(cloud["since"], "2023-01-23");
    assert!(clause(&s, "governance.board-observer").is_some());

    let s = e.json(&["state", "microsoft-openai", "--at", "2025-06-01", "--json"]);
    let cloud = clause(&s, "cloud.exclusivity").expect("cloud");
    assert_eq!(cloud["terms"]["kind"], "right-of-first-refusal");
    assert_eq!(cloud["amendment"], "2025-01-21-compute-rofr");
    assert!(clause(&s, "governance.board-observer").is_none());
    assert_eq!(clause(&s, "ip.rights").expect("ip")["until"], "2030-12-31");

    let s = e.json(&["state", "microsoft-openai", "--at", "2026-06-01", "--json"]);
    assert!(clause(&s, "cloud.exclusivity").is_none());
    assert_eq!(
        clause(&s, "ip.rights").expect("ip")["terms"]["exclusive"],
        false
    );
    assert_eq!(clause(&s, "ip.rights").expect("ip")["until"], "2032-12-31");
    assert_eq!(
        clause(&s, "ip.research").expect("research")["until_event"],
        "agi-verified"
    );
    assert!(clause(&s, "cloud.primary").is_some());

    // Sunsets: the 2030 horizon.
    let s = e.json(&["state", "microsoft-openai", "--at", "2031-01-01", "--json"]);
    assert!(clause(&s, "ip.research").is_none());
    assert!(clause(&s, "ip.rights").is_some());
    let s = e.json(&["state", "microsoft-openai", "--at", "2033-01-01", "--json"]);
    assert!(clause(&s, "ip.rights").is_none());
}

#[test]
fn state_json_fields_are_the_documented_ones() {
    let e = Env::new();
    e.with_fixture();
    let s = e.json(&["state", "microsoft-openai", "--at", "2025-06-01", "--json"]);
    for f in [
        "agreement",
        "at",
        "known_at",
        "status",
        "title",
        "parties",
        "clauses",
        "digest",
    ] {
        assert!(s.get(f).is_some(), "state --json lacks `{f}`");
    }
    assert_eq!(s["at"], "2025-06-01");
    assert!(s["known_at"].is_null());
    assert_eq!(s["parties"][0]["id"], "microsoft");
    let c = &s["clauses"][0];
    for f in [
        "id",
        "heading",
        "text",
        "terms",
        "since",
        "amendment",
        "until",
        "until_event",
    ] {
        assert!(c.get(f).is_some(), "clause lacks `{f}`");
    }
    let ids: Vec<&str> = s["clauses"]
        .as_array()
        .expect("clauses")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "clauses are ordered by id");
    assert_eq!(s["digest"].as_str().map(str::len), Some(64));
}

#[test]
fn state_digest_is_the_same_across_ledgers() {
    let (a, b) = (Env::new(), Env::new());
    a.with_fixture();
    b.ok(&["append", &fixture("elasticsearch-licence")]);
    b.with_fixture();
    let sa = a.json(&["state", "microsoft-openai", "--at", "2025-06-01", "--json"]);
    let sb = b.json(&["state", "microsoft-openai", "--at", "2025-06-01", "--json"]);
    assert_eq!(sa["digest"], sb["digest"]);
    let later = a.json(&["state", "microsoft-openai", "--at", "2026-06-01", "--json"]);
    assert_ne!(sa["digest"], later["digest"]);
}

#[test]
fn state_known_at() {
    let e = Env::new();
    // Recorded in two sessions: the first three amendments, then the rest.
    let dir = e.dir.path().join("early");
    std::fs::create_dir(&dir).expect("mkdir");
    for f in [
        "2019-07-22-establish.toml",
        "2020-09-22-gpt-3-licence.toml",
        "2023-01-23-extension.toml",
    ] {
        std::fs::copy(
            root().join("fixtures/microsoft-openai").join(f),
            dir.join(f),
        )
        .expect("copy");
    }
    e.ok(&["append", &dir.display().to_string()]);
    let later = e
        .cmd(&["append", &fixture("microsoft-openai")])
        .env("PACTUM_NOW", "2026-11-20T08:00:00Z")
        .output()
        .expect("run");
    assert_eq!(later.status.code(), Some(0));
    // The observer seat (2023-11-29) was recorded only with the later batch.
    let now = e.json(&["state", "microsoft-openai", "--at", "2024-01-15", "--json"]);
    assert!(clause(&now, "governance.board-observer").is_some());
    for k in ["#2", "2026-11-01", "2026-11-01T12:00:00Z", "2026-11-19"] {
        let then = e.json(&[
            "state",
            "microsoft-openai",
            "--at",
            "2024-01-15",
            "--known-at",
            k,
            "--json",
        ]);
        assert!(
            clause(&then, "governance.board-observer").is_none(),
            "known at {k}"
        );
        assert_eq!(then["known_through"], 2);
        assert_ne!(then["digest"], now["digest"]);
    }
    let then = e.json(&[
        "state",
        "microsoft-openai",
        "--at",
        "2024-01-15",
        "--known-at",
        "#3",
        "--json",
    ]);
    assert!(clause(&then, "governance.board-observer").is_some());
    assert_eq!(then["known_at"], "#3");
    // Before anything was recorded: unknown, and says since when it is known.
    let err = e.fails(
        &["state", "microsoft-openai", "--known-at", "2026-10-31"],
        2,
    );
    assert!(err.contains("is not known at"), "{err}");
    assert!(
        err.contains("known since 2026-11-01T12:00:00.000000Z (#0)"),
        "{err}"
    );
    let err = e.fails(&["state", "microsoft-openai", "--known-at", "yesterday"], 2);
    assert!(err.contains("--known-at `yesterday`"), "{err}");
}

#[test]
fn state_human_transcripts() {
    let e = Env::new();
    e.with_fixture();
    for d in ["2024-06-01", "2025-06-01", "2026-06-01"] {
        let out = e.ok(&["state", "microsoft-openai", "--at", d]);
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "line over 80 columns: {line}");
        }
        golden(&format!("state-{d}.txt"), &out);
    }
}

#[test]
fn state_refusals() {
    let e = Env::new();
    let err = e.fails(&["state", "microsoft-openai"], 2);
    assert!(err.contains("no ledger at pactum.ledger"), "{err}");
    assert!(!e.ledger().exists(), "a reader created the ledger");
    e.with_fixture();
    let err = e.fails(&["state", "nvidia-openai"], 2);
    assert!(
        err.contains("agreement `nvidia-openai` is not in the ledger (it holds: microsoft-openai)"),
        "{err}"
    );
    let err = e.fails(&["state", "microsoft-openai", "--at", "2025-02-30"], 2);
    assert!(
        err.contains("--at: `2025-02-30` is not a real date"),
        "{err}"
    );
    let err = e.fails(&["state", "Microsoft"], 2);
    assert!(err.contains("agreement id `Microsoft` must match"), "{err}");
    // Default date is today (PACTUM_NOW): 2026-11-01.
    let s = e.json(&["state", "microsoft-openai", "--json"]);
    assert_eq!(s["at"], "2026-11-01");
}

// ---------------------------------------------------------------- diff, history, log, list

#[test]
fn diff_across_january_2025() {
    let e = Env::new();
    e.with_fixture();
    let out = e.ok(&[
        "diff",
        "microsoft-openai",
        "--from",
        "2024-12-31",
        "--to",
        "2025-02-01",
    ]);
    golden("diff-2024-12-31-2025-02-01.txt", &out);
    let v = e.json(&[
        "diff",
        "microsoft-openai",
        "--from",
        "2024-12-31",
        "--to",
        "2025-02-01",
        "--json",
    ]);
    let changed = v["changed"].as_array().expect("changed");
    let cloud = changed
        .iter()
        .find(|c| c["id"] == "cloud.exclusivity")
        .expect("cloud changed");
    let kind = cloud["terms"]
        .as_array()
        .expect("terms")
        .iter()
        .find(|t| t["name"] == "kind")
        .expect("kind");
    assert_eq!(kind["before"], "exclusive");
    assert_eq!(kind["after"], "right-of-first-refusal");
    let segs = cloud["text"].as_array().expect("redline");
    assert!(segs.iter().any(|s| s["kind"] == "removed"));
    assert!(segs.iter().any(|s| s["kind"] == "added"));
    assert!(segs.iter().any(|s| s["kind"] == "same"));
    assert!(v["added"]
        .as_array()
        .expect("added")
        .iter()
        .any(|c| c["id"] == "ip.rights"));
    // Nothing changes between two days with no amendment.
    let v = e.json(&[
        "diff",
        "microsoft-openai",
        "--from",
        "2021-01-01",
        "--to",
        "2021-06-01",
        "--json",
    ]);
    assert_eq!(v["digest_from"], v["digest_to"]);
    assert_eq!(v["changed"].as_array().map(Vec::len), Some(0));
    // Without --to, one date (to compare two views of it); without --from, refused.
    let out = e.ok(&["diff", "microsoft-openai", "--from", "2021-01-01"]);
    assert!(
        out.starts_with("microsoft-openai: 2021-01-01 → 2021-01-01\n0 added"),
        "{out}"
    );
    e.fails(&["diff", "microsoft-openai", "--to", "2021-01-01"], 2);
}

#[test]
fn history_all_and_one_clause() {
    let e = Env::new();
    e.with_fixture();
    let out = e.ok(&[
        "history",
        "microsoft-openai",
        "--clause",
        "cloud.exclusivity",
    ]);
    golden("history-cloud.exclusivity.txt", &out);
    let v = e.json(&["history", "microsoft-openai", "--json"]);
    let items = v["amendments"].as_array().expect("amendments");
    assert_eq!(items.len(), 7);
    let dates: Vec<&str> = items
        .iter()
        .map(|i| i["effective"].as_str().expect("date"))
        .collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "history is in effective order");
    let v = e.json(&[
        "history",
        "microsoft-openai",
        "--clause",
        "governance.board-observer",
        "--json",
    ]);
    let items = v["amendments"].as_array().expect("amendments");
    assert_eq!(items.len(), 1);
    let ops: Vec<&str> = items[0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["op"].as_str().expect("op"))
        .collect();
    assert_eq!(ops, ["add", "repeal"]);
    assert_eq!(items[0]["changes"][0]["effective"], "2023-11-29");
}

#[test]
fn log_human_and_json_lines() {
    let e = Env::new();
    e.with_fixture();
    e.ok(&["append", &fixture("elasticsearch-licence")]);
    let out = e.ok(&["log"]);
    assert_eq!(out.lines().count(), 24, "two lines per entry:\n{out}");
    assert!(out
        .lines()
        .next()
        .expect("line")
        .contains("2019-07-22-establish"));
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "line over 80 columns: {line}");
    }
    let lines: Vec<serde_json::Value> = e
        .ok(&["log", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 12);
    for (i, l) in lines.iter().enumerate() {
        for f in [
            "seq",
            "recorded_at",
            "agreement",
            "amendment",
            "effective",
            "hash",
        ] {
            assert!(l.get(f).is_some(), "log line lacks {f}");
        }
        assert_eq!(l["seq"], i as u64);
    }
    let head = e.head();
    assert_eq!(
        head,
        format!("12:{}", lines[11]["hash"].as_str().expect("hash"))
    );
    let only = e.ok(&["log", "elasticsearch-licence", "--json"]);
    assert_eq!(only.lines().count(), 5);
}

#[test]
fn log_into_a_closed_pipe_exits_quietly() {
    let e = Env::new();
    e.with_fixture();
    let mut child = e
        .cmd(&["log"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn list_human_and_json() {
    let e = Env::new();
    e.with_fixture();
    e.ok(&["append", &fixture("elasticsearch-licence")]);
    let out = e.ok(&["list"]);
    golden("list.txt", &out);
    let v = e.json(&["list", "--json"]);
    let rows = v.as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["agreement"], "microsoft-openai");
    assert_eq!(rows[1]["amendments"], 7);
    assert_eq!(rows[1]["first_effective"], "2019-07-22");
    assert_eq!(rows[1]["last_effective"], "2026-04-27");
    assert_eq!(rows[1]["status"], "in-force");
}

// ---------------------------------------------------------------- audit, head, export, import

#[test]
fn audit_head_and_checkpoints() {
    let e = Env::new();
    e.with_fixture();
    let head = e.head();
    let out = e.ok(&["audit"]);
    assert!(out.contains("7 entries verified"), "{out}");
    assert!(out.contains(&head), "{out}");
    let v = e.json(&["audit", "--json"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 7);
    assert_eq!(v["head"], head.as_str());
    assert!(v["failure"].is_null());
    let h = e.json(&["head", "--json"]);
    assert_eq!(h["checkpoint"], head.as_str());
    assert_eq!(h["entries"], 7);
    // The checkpoint still holds after more appends.
    e.ok(&["append", &fixture("elasticsearch-licence")]);
    e.ok(&["audit", "--checkpoint", &head]);
    // A checkpoint this ledger never had fails.
    let forged = format!("7:{}", "ab".repeat(32));
    let o = e.run(&["audit", "--checkpoint", &forged, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["failure"]["kind"], "checkpoint-mismatch");
    assert_eq!(v["failure"]["seq"], 6);
    // A checkpoint beyond the ledger: truncated.
    let beyond = format!("40:{}", "ab".repeat(32));
    let o = e.run(&["audit", "--checkpoint", &beyond]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("truncated"), "{}", text(&o.stdout));
    e.fails(&["audit", "--checkpoint", "seven"], 2);
}

#[test]
fn tampered_ledger_fails_audit_naming_the_seq() {
    let e = Env::new();
    e.with_fixture();
    // Flip one bit of entry 3's stored bytes, directly in sled.
    {
        use pactum::layout::keys;
        use pactum::store::{SledStore, Store, Write};
        let store = SledStore::open(&e.ledger(), std::time::Duration::from_secs(5)).expect("open");
        let mut v = store.get(&keys::entry(3)).expect("get").expect("entry 3");
        v[40] ^= 0x10;
        store
            .commit(vec![Write::Put(keys::entry(3), v)])
            .expect("tamper");
    }
    let o = e.run(&["audit"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("FAILED"), "{out}");
    assert!(out.contains("at seq 3"), "{out}");
    let o = e.run(&["audit", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["failure"]["seq"], 3);
    assert_eq!(v["failure"]["kind"], "leaf-mismatch");
    assert_eq!(v["entries"], 3);
    // Readers of entries refuse the damaged entry with exit 1, no panic.
    let err = e.fails(&["history", "microsoft-openai"], 1);
    assert!(err.contains("damaged at seq 3"), "{err}");
    let err = e.fails(
        &[
            "state",
            "microsoft-openai",
            "--at",
            "2025-01-01",
            "--known-at",
            "#6",
        ],
        1,
    );
    assert!(err.contains("damaged at seq 3"), "{err}");
}

/// `state` as known now reads the stored projections (pages of steps and
/// snapshots): the audit holds them to the entries.
#[test]
fn tampered_projection_fails_audit() {
    use pactum::layout::keys;
    use pactum::store::{SledStore, Store, Write};
    let e = Env::new();
    e.with_fixture();
    let before = e.ok(&["state", "microsoft-openai", "--at", "2025-01-01"]);
    // Change the clause texts inside a stored page, written back as a page of
    // copies (layout 2's form, still read) so that it decodes.
    {
        let store = SledStore::open(&e.ledger(), std::time::Duration::from_secs(5)).expect("open");
        let start = [keys::PAGE];
        let (k, v) = store
            .scan(&start, Some(&keys::prefix_end(&start)))
            .next()
            .expect("a page")
            .expect("read");
        let (name, _) = keys::split_projection(&k).expect("page key");
        let mut steps = pactum::layout::decode_page(&store, name, &v).expect("page");
        for s in &mut steps {
            if let pactum::model::Op::Add { text, .. } = &mut s.change.op {
                text.push_str(" Altered.");
            }
        }
        let copies = pactum::codec::encode_unbounded(&steps);
        store.commit(vec![Write::Put(k, copies)]).expect("tamper");
    }
    let after = e.ok(&["state", "microsoft-openai", "--at", "2025-01-01"]);
    assert_ne!(before, after, "the tampered page is what state reads");
    let o = e.run(&["audit", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["failure"]["kind"], "projection-mismatch", "{v}");
}

#[test]
fn export_import_round_trip_and_offline_audit() {
    let e = Env::new();
    e.with_fixture();
    e.ok(&["append", &fixture("elasticsearch-licence")]);
    let head = e.head();
    let export = e.dir.path().join("copy.jsonl");
    e.ok(&["export", "-o", &export.display().to_string()]);
    let stdout_copy = e.ok(&["export"]);
    assert_eq!(std::fs::read_to_string(&export).expect("read"), stdout_copy);
    let lines: Vec<&str> = stdout_copy.lines().collect();
    assert_eq!(lines.len(), 14, "header + 12 entries + trailer");
    let out = e.ok(&["audit", &export.display().to_string()]);
    assert!(out.contains("12 entries verified"), "{out}");
    let v = e.json(&[
        "audit",
        &export.display().to_string(),
        "--json",
        "--checkpoint",
        &head,
    ]);
    assert_eq!(v["ok"], true);
    // Import into a new ledger reproduces every hash and the head.
    let copy = e.dir.path().join("copy.ledger").display().to_string();
    let out = e.ok(&["--ledger", &copy, "import", &export.display().to_string()]);
    assert!(out.contains("imported 12 entries"), "{out}");
    assert_eq!(e.ok(&["--ledger", &copy, "head"]).trim(), head);
    assert_eq!(
        e.ok(&["--ledger", &copy, "log", "--json"]),
        e.ok(&["log", "--json"])
    );
    e.ok(&["--ledger", &copy, "audit"]);
    // Import refuses an existing ledger.
    let err = e.fails(&["import", &export.display().to_string()], 2);
    assert!(err.contains("already holds a ledger"), "{err}");
}

#[test]
fn damaged_export_files_fail_offline_audit() {
    let e = Env::new();
    e.with_fixture();
    let good = e.ok(&["export"]);
    let lines: Vec<&str> = good.lines().collect();
    let cases: Vec<(&str, String, Option<u64>)> = vec![
        (
            "truncated tail",
            lines[..lines.len() - 2].join("\n") + "\n",
            None,
        ),
        (
            "unreadable line",
            {
                let mut l = lines.clone();
                l[3] = "{not json";
                l.join("\n") + "\n"
            },
            Some(2),
        ),
        (
            "deleted entry",
            {
                let mut l = lines.clone();
                l.remove(4);
                l.join("\n") + "\n"
            },
            Some(3),
        ),
        (
            "edited entry byte",
            {
                let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                let v: serde_json::Value = serde_json::from_str(&l[2]).expect("json");
                let hexs = v["entry"].as_str().expect("entry");
                let flipped = format!(
                    "{}{}",
                    &hexs[..20],
                    if &hexs[20..21] == "0" { "1" } else { "0" }
                ) + &hexs[21..];
                l[2] = l[2].replace(hexs, &flipped);
                l.join("\n") + "\n"
            },
            Some(1),
        ),
        ("empty file", String::new(), None),
    ];
    for (name, content, seq) in cases {
        let p = e.dir.path().join("bad.jsonl");
        std::fs::write(&p, content).expect("write");
        let o = e.run(&["audit", &p.display().to_string(), "--json"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(v["ok"], false, "{name}");
        if let Some(seq) = seq {
            assert_eq!(v["failure"]["seq"], seq, "{name}: {v}");
        }
        // Import refuses it too, and creates nothing.
        let dest = e.dir.path().join("never.ledger");
        let o = e.run(&[
            "--ledger",
            &dest.display().to_string(),
            "import",
            &p.display().to_string(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(
            !dest.exists(),
            "{name}: import created a ledger from a damaged export"
        );
    }
}

// ---------------------------------------------------------------- exit codes, busy ledger

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let e = Env::new();
    e.fails(&["frobnicate"], 2);
    e.fails(&["state"], 2);
    let help = e.ok(&["--help"]);
    for c in [
        "append", "state", "diff", "history", "log", "list", "audit", "head", "export", "import",
    ] {
        assert!(help.contains(c), "help lacks {c}");
    }
    e.ok(&["--version"]);
    e.fails(&["head"], 2);
    e.fails(&["audit"], 2);
    e.fails(&["log"], 2);
    e.fails(&["list"], 2);
    e.fails(&["export"], 2);
}

#[test]
fn a_busy_ledger_is_refused_after_the_wait() {
    let e = Env::new();
    e.with_fixture();
    let store = pactum::store::SledStore::open(&e.ledger(), std::time::Duration::from_secs(5))
        .expect("open");
    let started = std::time::Instant::now();
    let err = e.fails(
        &["--wait", "0.3", "append", &fixture("elasticsearch-licence")],
        2,
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert!(
        err.contains("is in use by another process (waited 0.3s; see --wait)"),
        "{err}"
    );
    let err = e.fails(&["--wait", "0", "state", "microsoft-openai"], 2);
    assert!(err.contains("in use"), "{err}");
    drop(store);
    e.ok(&["--wait", "2", "append", &fixture("elasticsearch-licence")]);
}

// ---------------------------------------------------------------- checkpoints and proofs

#[test]
fn hand_an_inclusion_proof_to_an_outsider() {
    let e = Env::new();
    e.with_fixture();
    let cp7 = e.dir.path().join("cp7.txt");
    e.ok(&["checkpoint", "-o", &cp7.display().to_string()]);
    let text = std::fs::read_to_string(&cp7).expect("checkpoint");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("pactum/"));
    assert_eq!(lines[1], "7");
    assert_eq!(
        format!("7:{}", lines[3].trim_start_matches("chain ")),
        e.head()
    );
    assert_eq!(e.ok(&["checkpoint"]), text, "stdout and file agree");
    let j = e.json(&["checkpoint", "--json"]);
    assert_eq!(j["size"], 7);
    assert_eq!(j["text"], text.as_str());
    assert_eq!(j["root"], lines[2]);
    // The proof, saved by the ledger's keeper.
    let proof = e.ok(&["prove", "microsoft-openai", "2025-01-21-compute-rofr"]);
    let v: serde_json::Value = serde_json::from_str(&proof).expect("proof json");
    assert_eq!(v["leaf_index"], 4);
    assert_eq!(v["tree_size"], 7);
    // The outsider: a folder with only the proof and the checkpoint, no ledger.
    let outsider = Env::new();
    let p = outsider.dir.path().join("proof.json");
    std::fs::write(&p, &proof).expect("write");
    let c = outsider.dir.path().join("checkpoint.txt");
    std::fs::copy(&cp7, &c).expect("copy");
    let out = outsider.ok(&["verify", "proof.json", "--checkpoint", "checkpoint.txt"]);
    assert!(
        out.contains("ok: amendment `2025-01-21-compute-rofr` of `microsoft-openai`"),
        "{out}"
    );
    assert!(!outsider.ledger().exists());
    let j = outsider.json(&[
        "verify",
        "proof.json",
        "--checkpoint",
        "checkpoint.txt",
        "--json",
    ]);
    assert_eq!(j["ok"], true);
    // A tampered proof fails with exit 1.
    let mut bad = v.clone();
    bad["amendment"] = serde_json::json!("2025-10-28-definitive-agreement");
    std::fs::write(&p, bad.to_string()).expect("write");
    let o = outsider.run(&["verify", "proof.json", "--checkpoint", "checkpoint.txt"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text_of(&o.stdout).contains("FAILED"));
    // A proof that is not JSON is refused (2).
    std::fs::write(&p, "nonsense").expect("write");
    outsider.fails(
        &["verify", "proof.json", "--checkpoint", "checkpoint.txt"],
        2,
    );
    outsider.fails(&["verify", "proof.json", "--checkpoint", "missing.txt"], 2);
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn consistency_between_two_checkpoints() {
    let e = Env::new();
    e.with_fixture();
    let old = e.dir.path().join("old.txt").display().to_string();
    let new = e.dir.path().join("new.txt").display().to_string();
    e.ok(&["checkpoint", "-o", &old]);
    e.ok(&["append", &fixture("elasticsearch-licence")]);
    e.ok(&["checkpoint", "-o", &new]);
    let proof = e.dir.path().join("c.json");
    std::fs::write(&proof, e.ok(&["prove", "--consistency", "7"])).expect("write");
    let out = e.ok(&[
        "verify",
        &proof.display().to_string(),
        "--checkpoint",
        &new,
        "--old-checkpoint",
        &old,
    ]);
    assert!(
        out.contains("of 12 entries extends its checkpoint of 7 entries"),
        "{out}"
    );
    // Swapped checkpoints do not go with the proof: a usage error saying so
    // (exit 2), not a failed check (nothing was tampered with).
    let err = e.fails(
        &[
            "verify",
            &proof.display().to_string(),
            "--checkpoint",
            &old,
            "--old-checkpoint",
            &new,
        ],
        2,
    );
    assert!(
        err.contains("the proof is for 7 → 12 entries, the checkpoint for 12 → 7 entries: they do not go together"),
        "{err}"
    );
    // A consistency proof needs the old checkpoint.
    e.fails(
        &["verify", &proof.display().to_string(), "--checkpoint", &new],
        2,
    );
    // The ledger still extends the old checkpoint file; an old size 0 is refused.
    e.ok(&["audit", "--checkpoint", &old]);
    e.fails(&["prove", "--consistency", "0"], 2);
    e.fails(&["prove", "--consistency", "13"], 2);
    // Checkpoint and proof at an earlier size.
    let at5 = e.ok(&["checkpoint", "--size", "5"]);
    assert_eq!(at5.lines().nth(1), Some("5"));
    let p5 = e.ok(&[
        "prove",
        "microsoft-openai",
        "2019-07-22-establish",
        "--size",
        "5",
    ]);
    let c5 = e.dir.path().join("c5.txt");
    std::fs::write(&c5, &at5).expect("write");
    let p5f = e.dir.path().join("p5.json");
    std::fs::write(&p5f, &p5).expect("write");
    e.ok(&[
        "verify",
        &p5f.display().to_string(),
        "--checkpoint",
        &c5.display().to_string(),
    ]);
    e.fails(
        &[
            "prove",
            "elasticsearch-licence",
            "2024-08-29-agpl-option",
            "--size",
            "5",
        ],
        2,
    );
}

#[test]
fn audit_against_a_checkpoint_file_of_another_ledger_fails() {
    let (a, b) = (Env::new(), Env::new());
    a.with_fixture();
    b.with_fixture();
    let cp = a.dir.path().join("a.txt");
    a.ok(&["checkpoint", "-o", &cp.display().to_string()]);
    let o = b.run(&["audit", "--checkpoint", &cp.display().to_string(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["failure"]["kind"], "checkpoint-mismatch");
    assert!(v["failure"]["detail"]
        .as_str()
        .expect("detail")
        .contains("is of the ledger"));
}

// ---------------------------------------------------------------- format version 1, kept forever

/// `fixtures/golden/v1-ops-*`: a 7-entry export (and its checkpoint) written
/// by format version 1 in which each of the seven operations appears, with
/// every optional field of a change somewhere (per-change `effective`,
/// `heading`, `terms`, `set`, `unset`, `until`, `until_event`, notes,
/// `signed`, `source`). It must import to the same hashes and export again
/// byte for byte, so the encoding of every operation is pinned.
#[test]
fn golden_v1_entries_pin_all_seven_ops() {
    let e = Env::new();
    let export = fixture("golden/v1-ops-export.jsonl");
    let checkpoint = fixture("golden/v1-ops-checkpoint.txt");
    let head = "7:f91599a7a3d5a236e1c863bed1f7a91bf652afc48bab8d1973ceccab3a3af6d4";
    let v = e.json(&["audit", &export, "--checkpoint", &checkpoint, "--json"]);
    assert_eq!(v["ok"], true, "{v}");
    e.ok(&["import", &export]);
    assert_eq!(e.head(), head);
    let again = e.ledger().with_file_name("again.jsonl");
    e.ok(&["export", "-o", &again.display().to_string()]);
    assert_eq!(
        std::fs::read(&again).expect("export"),
        std::fs::read(&export).expect("golden"),
        "the export of the imported golden ledger differs from the golden file"
    );
    let h = e.json(&["history", "golden-ops", "--json"]);
    let ops: std::collections::BTreeSet<String> = h["amendments"]
        .as_array()
        .expect("amendments")
        .iter()
        .flat_map(|a| a["changes"].as_array().expect("changes").clone())
        .map(|c| c["op"].as_str().expect("op").to_string())
        .collect();
    let all = [
        "add",
        "amend",
        "establish",
        "occur",
        "repeal",
        "retract",
        "terminate",
    ];
    assert_eq!(ops, all.iter().map(|s| s.to_string()).collect());
    let s = e.json(&["state", "golden-ops", "--at", "2024-05-15", "--json"]);
    assert_eq!(
        s["digest"],
        "ff0d9a82e74eca5eeecfe0bab2c3c049735ad48a8a54ca7335dd4d54fdb6b7c1"
    );
}

/// `fixtures/golden/v1-*`: an export and a checkpoint written by format
/// version 1. Every later pactum must import them to the same hashes, verify
/// them offline, and project the same states (digests are part of the format).
#[test]
fn golden_v1_export_still_imports_verifies_and_projects() {
    let e = Env::new();
    let export = fixture("golden/v1-export.jsonl");
    let checkpoint = fixture("golden/v1-checkpoint.txt");
    let head = "12:3b47b1f43482d32f214e821aacf0aa26e5215eff7794ccdf2e649bfe05ab6360";
    let v = e.json(&["audit", &export, "--checkpoint", &checkpoint, "--json"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["head"], head);
    e.ok(&["import", &export]);
    assert_eq!(e.head(), head);
    e.ok(&["audit", "--checkpoint", &checkpoint]);
    assert_eq!(
        e.ok(&["checkpoint"]),
        std::fs::read_to_string(&checkpoint).expect("checkpoint")
    );
    let s = e.json(&["state", "microsoft-openai", "--at", "2025-06-01", "--json"]);
    assert_eq!(
        s["digest"],
        "b0a234b450e493f8cd09cbf868084927295c5c89a058f9f8f2080febb8effd50"
    );
    assert_eq!(
        e.ok(&["export"]),
        std::fs::read_to_string(&export).expect("export"),
        "export is byte-identical after a round trip"
    );
}

/// `fixtures/golden/v3-layout.txt`: the bytes layout 3 stores beside the
/// entries for the golden export once imported: every `r`, `l` and `s` key
/// and value, the snapshot encoding of each agreement's replay at its end
/// (the history is too short to store a snapshot), the head witness
/// record, and the entry log's files (`v2-layout.txt` is the same for
/// layout 2). A change here is a change of the stored format
/// (docs/format.md §4, §18). `PACTUM_BLESS=1` rewrites it.
#[test]
fn golden_layout_3_stored_projections_log_and_witness() {
    use pactum::layout::keys;
    use pactum::store::{SledStore, Store};
    let e = Env::new();
    e.ok(&["import", &fixture("golden/v1-export.jsonl")]);
    let hex = |b: &[u8]| pactum::chain::hex(b);
    let mut out = String::new();
    {
        let store = SledStore::open(&e.ledger(), std::time::Duration::from_secs(5)).expect("open");
        let mut ends: std::collections::BTreeMap<String, pactum::projection::Replay> =
            Default::default();
        for prefix in [keys::RETRACTED, keys::PAGE, keys::SNAPSHOT] {
            for item in store.scan(&[prefix], Some(&keys::prefix_end(&[prefix]))) {
                let (k, v) = item.expect("read");
                out.push_str(&format!("{} {}\n", hex(&k), hex(&v)));
                if prefix == keys::PAGE {
                    let (name, _) = keys::split_projection(&k).expect("page key");
                    let r = ends.entry(name.to_string()).or_default();
                    for step in pactum::layout::decode_page(&store, name, &v).expect("page") {
                        r.apply(&step.step()).expect("replays");
                    }
                }
            }
        }
        for (name, r) in &ends {
            let bytes = pactum::layout::encode_snapshot(r);
            out.push_str(&format!("snapshot-at-end {name} {}\n", hex(&bytes)));
        }
    }
    let witness = std::fs::read(e.ledger().join("pactum.head")).expect("witness");
    out.push_str(&format!("pactum.head {}\n", hex(&witness)));
    for f in ["entries.idx", "entries.log"] {
        let bytes = std::fs::read(e.ledger().join(f)).expect("entry log");
        out.push_str(&format!("{f} {}\n", hex(&bytes)));
    }
    let path = root().join("fixtures/golden/v3-layout.txt");
    if std::env::var_os("PACTUM_BLESS").is_some() {
        std::fs::write(&path, &out).expect("write golden");
    }
    let expected = std::fs::read_to_string(&path).expect("fixtures/golden/v3-layout.txt");
    assert_eq!(out, expected, "the stored bytes of layout 3 changed");
    assert!(out.contains("snapshot-at-end microsoft-openai"), "{out}");
}

/// `fixtures/golden/v2-sled/`: a real layout-2 sled ledger (sled's `conf`
/// and `db`, and pactum's head witness), made by importing the golden v1
/// export with the pactum of layout 2. Every later pactum must open it (a
/// copy: sled rewrites its files on open), audit it clean, show the same
/// head and states, and export the golden export byte for byte — or, once
/// the layout changes, migrate it first (and this test then says how).
#[test]
fn golden_layout_2_sled_ledger_opens_audits_and_exports() {
    let e = Env::new();
    let golden = root().join("fixtures/golden/v2-sled");
    std::fs::create_dir_all(e.ledger()).expect("ledger folder");
    for f in ["conf", "db", "pactum.head"] {
        std::fs::copy(golden.join(f), e.ledger().join(f)).expect("copy golden file");
    }
    let head = "12:3b47b1f43482d32f214e821aacf0aa26e5215eff7794ccdf2e649bfe05ab6360";
    let v = e.json(&["audit", "--json"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["head"], head);
    assert_eq!(e.head(), head);
    let s = e.json(&["state", "microsoft-openai", "--at", "2025-06-01", "--json"]);
    assert_eq!(
        s["digest"],
        "b0a234b450e493f8cd09cbf868084927295c5c89a058f9f8f2080febb8effd50"
    );
    assert_eq!(
        e.ok(&["export"]),
        std::fs::read_to_string(fixture("golden/v1-export.jsonl")).expect("export"),
        "the layout-2 ledger exports the golden export byte for byte"
    );
}

// ---------------------------------------------------------------- damaged sled files

#[test]
fn damaged_sled_files_are_reported_never_silently_rolled_back() {
    let base = Env::new();
    base.with_fixture();
    type Damage = Box<dyn Fn(&Path)>;
    let damages: Vec<(&str, Damage)> = vec![
        (
            "db truncated",
            Box::new(|l: &Path| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(l.join("db"))
                    .expect("db");
                let len = f.metadata().expect("db").len();
                f.set_len(len / 2).expect("truncate");
            }),
        ),
        (
            "db overwritten with garbage",
            Box::new(|l: &Path| {
                std::fs::write(l.join("db"), vec![0xA5u8; 100]).expect("overwrite");
            }),
        ),
        (
            "db zeroed in the middle",
            Box::new(|l: &Path| {
                let mut b = std::fs::read(l.join("db")).expect("db");
                let n = b.len();
                for x in &mut b[n / 3..n / 2] {
                    *x = 0;
                }
                std::fs::write(l.join("db"), b).expect("write");
            }),
        ),
    ];
    for (name, damage) in damages {
        let e = Env::new();
        copy_dir(&base.ledger(), &e.ledger());
        damage(&e.ledger());
        for args in [
            &["head"][..],
            &["state", "microsoft-openai", "--at", "2025-06-01"],
            &["append", &fixture("elasticsearch-licence")],
        ] {
            let o = e.run(args);
            let err = text(&o.stderr);
            clean(&err);
            assert_eq!(
                o.status.code(),
                Some(1),
                "{name}: pactum {args:?} must report damage, got {:?}\n{err}",
                o.status.code()
            );
            assert!(err.contains("damaged"), "{name}: {err}");
            assert!(err.contains("re-import an earlier export"), "{name}: {err}");
        }
        let o = e.run(&["audit", "--json"]);
        assert_eq!(o.status.code(), Some(1), "{name}: audit");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}
