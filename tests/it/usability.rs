//! What a new user trips on (issue 14): one test per defect, each showing
//! the fixed behaviour, and the commands that were missing (`show`,
//! `diff --known-at-to`, `completions`, `man`, `--color`, `-q`).

use std::path::Path;

use pactum::audit::{audit_store, Expect};
use pactum::chain;
use pactum::layout::keys;
use pactum::layout::StoredEntry;
use pactum::model::RecordedAt;
use pactum::store::{MemStore, Store, Write};
use pactum::Ledger;

use crate::cli::{fixture, text, Env};

const AG: &str = "microsoft-openai";

fn write(e: &Env, name: &str, body: &str) -> String {
    let p = e.ledger().with_file_name(name);
    std::fs::write(&p, body).expect("write input");
    p.display().to_string()
}

fn amend(id: &str, clause: &str) -> String {
    format!(
        r#"{{"agreement":"{AG}","id":"{id}","title":"T","effective":"2026-06-01","change":[{{"op":"amend","clause":"{clause}","text":"x"}}]}}"#
    )
}

const RETRACT: &str = r#"{"agreement":"microsoft-openai","id":"undo","title":"Undo","change":[{"op":"retract","amendment":"2026-04-27-amended-agreement","reason":"signed in error"}]}"#;

// ------------------------------------------------------------- defect 2

#[test]
fn d2_list_says_when_a_terminated_agreement_ended() {
    let e = Env::new();
    e.with_fixture();
    let end = r#"{"agreement":"microsoft-openai","id":"end","title":"End","effective":"2025-11-30","change":[{"op":"terminate"}]}"#;
    // Terminating before the last amendment breaks the timeline: end after it.
    let end = end.replace("2025-11-30", "2026-05-30");
    e.ok(&["append", &write(&e, "end.json", &end)]);
    let state = e.ok(&["state", AG]);
    assert!(state.contains("terminated (on 2026-05-30)"), "{state}");
    let list = e.ok(&["list"]);
    assert!(
        list.contains("status      terminated (on 2026-05-30)"),
        "{list}"
    );
    assert!(!list.contains("terminated on 2026-11-01"), "{list}");
    let v = e.json(&["list", "--json"]);
    assert_eq!(v[0]["terminated"], "2026-05-30");
}

// ------------------------------------------------------------- defect 3

#[test]
fn d3_typos_are_refused_with_the_near_name() {
    let e = Env::new();
    e.with_fixture();
    let err = e.fails(&["history", AG, "--clause", "nope"], 2);
    assert!(
        err.contains("no amendment of `microsoft-openai` names a clause `nope`"),
        "{err}"
    );
    let err = e.fails(&["history", AG, "--clause", "cloud.exclusivty"], 2);
    assert!(err.contains("did you mean `cloud.exclusivity`?"), "{err}");
    let err = e.fails(&["log", "microsoft-opena"], 2);
    assert!(
        err.contains("agreement `microsoft-opena` is not in the ledger")
            && err.contains("did you mean `microsoft-openai`?"),
        "{err}"
    );
    for cmd in [&["state", AG][..], &["history", AG][..]] {
        let mut args = cmd.to_vec();
        args.extend(["--known-at", "#99"]);
        let err = e.fails(&args, 2);
        assert!(
            err.contains("the view #99 is beyond the ledger: it holds 7 entries, #0 … #6"),
            "{err}"
        );
    }
    e.ok(&["state", AG, "--known-at", "#6"]);
    // Amending a clause that never existed says so, with the near name.
    let f = write(&e, "typo.jsonl", &amend("typo", "cloud.primry"));
    let err = e.fails(&["append", &f], 2);
    assert!(
        err.contains("no amendment of `microsoft-openai` ever added a clause `cloud.primry`; did you mean `cloud.primary`?"),
        "{err}"
    );
    // A clause that existed but is not in force gets no such hint.
    let f = write(
        &e,
        "gone.jsonl",
        &amend("gone", "governance.board-observer"),
    );
    let err = e.fails(&["append", &f], 2);
    assert!(err.contains("is not in force"), "{err}");
    assert!(!err.contains("ever added"), "{err}");
}

// ------------------------------------------------------------- defect 4

#[test]
fn d4_audit_json_always_prints_one_document() {
    let e = Env::new();
    e.with_fixture();
    let head = e.head();
    let v = e.json(&["audit", "--json"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["head"], head.as_str());
    assert_eq!(v["verified"], head.as_str());
    // A checkpoint the ledger does not match: head is still the ledger's head.
    let o = e.run(&[
        "audit",
        "--json",
        "--checkpoint",
        &format!("3:{}", "ab".repeat(32)),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["head"], head.as_str());
    assert_eq!(v["failure"]["kind"], "checkpoint-mismatch");
    assert!(v["verified"].as_str().is_some_and(|s| s != head));
    // sled itself reports corruption: still one document, exit 1.
    let bad = e.ledger().with_file_name("bad.ledger");
    copy_dir(&e.ledger(), &bad);
    let db = bad.join("db");
    let mut bytes = std::fs::read(&db).expect("read db");
    for b in bytes.iter_mut().step_by(7) {
        *b ^= 0x55;
    }
    std::fs::write(&db, bytes).expect("write db");
    let o = e.run(&["--ledger", &bad.display().to_string(), "audit", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(v["ok"], false);
    assert_eq!(v["failure"]["kind"], "storage-damaged");
    assert!(v["head"].is_null());
    // No ledger at all: a document too, exit 2.
    let o = e.run(&["--ledger", "nothere", "audit", "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(v["failure"]["kind"], "no-ledger");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

// ------------------------------------------------------------- defect 5

#[test]
fn d5_retractions_are_said_where_they_matter() {
    let e = Env::new();
    e.with_fixture();
    e.ok(&["append", &write(&e, "undo.jsonl", RETRACT)]);
    // prove: the proof, and a note that the amendment is void.
    let o = e.run(&["prove", AG, "2026-04-27-amended-agreement"]);
    assert_eq!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    assert!(
        err.contains("is recorded (entry #6), but entry #7 (undo) retracted it: it is void"),
        "{err}"
    );
    // verify (offline) says what its proof does not cover.
    let proof = write(&e, "p.json", &text(&o.stdout));
    e.ok(&["checkpoint", "-o", "cp.txt"]);
    let out = e.ok(&["verify", &proof, "--checkpoint", "cp.txt"]);
    assert!(
        out.contains("whether a later entry retracted it is no part of this proof"),
        "{out}"
    );
    // Re-appending the retracted amendment says it is retracted.
    let out = e.ok(&["append", &fixture("microsoft-openai")]);
    assert!(
        out.contains("already recorded, and retracted by #7 undo"),
        "{out}"
    );
    let v = e.json(&["append", "--json", &fixture("microsoft-openai")]);
    assert_eq!(v["amendments"][6]["retracted_by"], "#7 undo");
    assert!(v["amendments"][0]["retracted_by"].is_null());
}

// ------------------------------------------------------------- defect 6

#[test]
fn d6_ledger_must_be_a_folder_of_its_own() {
    let e = Env::new();
    let dir = e.ledger().with_file_name("papers");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("write");
    let d = dir.display().to_string();
    let err = e.fails(&["--ledger", &d, "append", &fixture("microsoft-openai")], 2);
    assert!(
        err.contains(
            "holds other files (`notes.txt`…), not a ledger: a ledger needs a folder of its own"
        ),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).expect("list").count(),
        1,
        "nothing written"
    );
    let f = dir.join("notes.txt").display().to_string();
    for args in [
        &["append", &fixture("microsoft-openai")][..],
        &["list"][..],
        &["audit"][..],
    ] {
        let mut all = vec!["--ledger", f.as_str()];
        all.extend(args);
        let err = e.fails(&all, 2);
        assert!(err.contains("is a file, not a ledger"), "{err}");
    }
}

// ------------------------------------------------------------- defect 7

#[test]
fn d7_byte_order_marks_and_hidden_files() {
    let e = Env::new();
    e.with_fixture();
    let bom = format!("\u{feff}{}", amend("bom", "cloud.primary"));
    for name in ["bom.json", "bom.jsonl"] {
        let out = e.ok(&["append", "--dry-run", &write(&e, name, &bom)]);
        assert!(out.contains("would be appended"), "{name}: {out}");
    }
    let dir = e.ledger().with_file_name("batch");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("01-bom.json"), amend("bom", "cloud.primary")).expect("write");
    std::fs::write(dir.join(".#02-price.toml"), "editor lock, not TOML").expect("write");
    let out = e.ok(&["append", "--dry-run", &dir.display().to_string()]);
    assert!(out.contains("would append 1 amendment"), "{out}");
}

// ------------------------------------------------------------- defect 8

#[test]
fn d8_usage_dry_run_checkpoint_files_and_short_hashes() {
    let e = Env::new();
    let help = e.ok(&["prove", "--help"]);
    assert!(
        help.contains("Usage: pactum prove [OPTIONS] AGREEMENT AMENDMENT"),
        "{help}"
    );
    // A dry run prints no head hash (the real append's would differ).
    let out = e.ok(&["append", "--dry-run", &fixture("microsoft-openai")]);
    assert!(!out.lines().any(|l| l.starts_with("head ")), "{out}");
    assert!(out.contains("the ledger would hold 7 entries"), "{out}");
    let v = e.json(&[
        "append",
        "--dry-run",
        "--json",
        &fixture("microsoft-openai"),
    ]);
    assert!(v["head"].is_null());
    assert_eq!(v["entries"], 7);
    e.with_fixture();
    // What `pactum head > FILE` writes is a checkpoint file.
    let head = e.head();
    let file = write(&e, "head.txt", &format!("{head}\n"));
    e.ok(&["audit", "--checkpoint", &file]);
    // A hash shortened as `log` prints it.
    let short = &head[..head.find(':').expect("N:HASH") + 13];
    e.ok(&["audit", "--checkpoint", short]);
    let wrong = format!("{}000000000000", &head[..head.find(':').expect(":") + 1]);
    let out = e.run(&["audit", "--checkpoint", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    let err = e.fails(
        &[
            "audit",
            "--checkpoint",
            &head[..head.find(':').expect(":") + 6],
        ],
        2,
    );
    assert!(err.contains("give at least 12"), "{err}");
    // `changes` is not accepted in place of `change`.
    let f = write(
        &e,
        "c.json",
        &amend("c", "cloud.primary").replace("\"change\"", "\"changes\""),
    );
    let err = e.fails(&["append", &f], 2);
    assert!(err.contains("unknown field `changes`"), "{err}");
}

// ------------------------------------------------------------- defect 9

#[test]
fn d9_messages_name_the_problem() {
    let e = Env::new();
    e.with_fixture();
    let f = write(
        &e,
        "map.json",
        &amend("m", "cloud.primary")
            .replace(r#""change":[{"#, r#""change":{"#)
            .replace("}]}", "}}"),
    );
    let err = e.fails(&["append", &f], 2);
    assert!(err.contains("`change` as a list of changes"), "{err}");
    let f = write(&e, "empty.jsonl", "\n");
    let err = e.fails(&["append", &f], 2);
    assert!(
        err.contains("empty.jsonl: the file holds no amendment"),
        "{err}"
    );
    // A proof against a checkpoint of another ledger: what does not match, exit 2.
    let proof = write(&e, "p.json", &e.ok(&["prove", AG, "2019-07-22-establish"]));
    let other = Env::new();
    other.with_fixture();
    other.ok(&["checkpoint", "-o", "cp.txt"]);
    let cp = other
        .ledger()
        .with_file_name("cp.txt")
        .display()
        .to_string();
    let err = e.fails(&["verify", &proof, "--checkpoint", &cp], 2);
    assert!(err.contains("they do not go together"), "{err}");
    assert!(
        err.contains("the proof is for the ledger `pactum/"),
        "{err}"
    );
}

// ------------------------------------------------------------- defect 10

fn one_entry() -> MemStore {
    let ledger = Ledger::create(MemStore::default(), [3; 16]).expect("create");
    let a = pactum::input::parse_str(
        "a.json",
        r#"{"agreement":"acme","id":"start","title":"Start","effective":"2024-01-01","change":[{"op":"establish","title":"Acme","parties":[{"id":"acme","name":"Acme"}]}]}"#,
    )
    .expect("parse");
    ledger
        .append(&a, RecordedAt(1_700_000_000_000_000), Default::default())
        .expect("append");
    ledger.into_store()
}

#[test]
fn d10_messages_are_right() {
    // A link failure at seq 0 names the genesis hash, and two hashes that
    // differ only in their last byte do not print alike.
    let store = one_entry();
    let v = store.get(&keys::entry(0)).expect("get").expect("entry 0");
    let s = StoredEntry::split(&v).expect("split");
    let mut bad = s.chain;
    bad[31] ^= 1;
    let joined = StoredEntry::join(s.bytes, &s.leaf, &bad);
    store
        .commit(vec![Write::Put(keys::entry(0), joined)])
        .expect("tamper");
    let r = audit_store(&store, None, &mut |_| {}).expect("audit");
    let f = r.failure.expect("a failure");
    assert!(f.detail.contains("from the genesis hash"), "{}", f.detail);
    assert!(!f.detail.contains("18446744073709551615"), "{}", f.detail);
    let (want, got) = chain::short_pair(&s.chain, &bad);
    assert_ne!(want, got);
    assert!(
        f.detail.contains(&format!(
            "should be {want} from the genesis hash but is {got}"
        )),
        "{}",
        f.detail
    );
    // A size-0 checkpoint with the right genesis hash but a wrong root.
    let store = one_entry();
    let genesis = chain::genesis(&[3; 16]);
    let r = audit_store(
        &store,
        Some(Expect {
            count: 0,
            chain: genesis,
            root: Some([1; 32]),
        }),
        &mut |_| {},
    )
    .expect("audit");
    let f = r.failure.expect("a failure");
    assert!(
        f.detail.contains("Merkle root other than the empty tree's"),
        "{}",
        f.detail
    );
    // An unset out of order is not "twice".
    let mut a = pactum::input::parse_str(
        "u.json",
        r#"{"agreement":"acme","id":"u","title":"U","effective":"2024-01-01","change":[{"op":"amend","clause":"c","unset":["a","b"]}]}"#,
    )
    .expect("parse")
    .remove(0);
    if let pactum::model::Op::Amend { unset, .. } = &mut a.changes[0].op {
        unset.reverse();
    }
    let why = a.validate().expect_err("refused").message;
    assert!(why.contains("out of order: `b` before `a`"), "{why}");
}

// ------------------------------------------------------------- missing

#[test]
fn show_prints_one_amendment_whole() {
    let e = Env::new();
    e.with_fixture();
    let out = e.ok(&["show", AG, "2025-01-21-compute-rofr"]);
    assert!(
        out.starts_with("microsoft-openai / 2025-01-21-compute-rofr  (entry #4)\n"),
        "{out}"
    );
    for want in [
        "effective  2025-01-21",
        "leaf       ",
        "chain      ",
        "status     recorded, not retracted",
        "right-of-first-refusal",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let v = e.json(&["show", AG, "2025-01-21-compute-rofr", "--json"]);
    assert_eq!(v["seq"], 4);
    assert_eq!(v["leaf"].as_str().map(str::len), Some(64));
    assert!(v["retracted_by"].is_null());
    e.ok(&["append", &write(&e, "undo.jsonl", RETRACT)]);
    let out = e.ok(&["show", AG, "2026-04-27-amended-agreement"]);
    assert!(out.contains("status     retracted by #7 undo"), "{out}");
    let err = e.fails(&["show", AG, "2025-01-21-compute-rof"], 2);
    assert!(
        err.contains("did you mean `2025-01-21-compute-rofr`?"),
        "{err}"
    );
}

#[test]
fn diff_between_two_views_of_one_date() {
    let e = Env::new();
    e.with_fixture();
    let out = e.ok(&[
        "diff",
        AG,
        "--from",
        "2024-01-15",
        "--known-at",
        "#2",
        "--known-at-to",
        "#3",
    ]);
    assert!(
        out.starts_with("microsoft-openai: 2024-01-15, as known at #2 → as known at #3\n1 added, 0 removed, 0 changed\n"),
        "{out}"
    );
    assert!(out.contains("+ governance.board-observer"), "{out}");
    let v = e.json(&[
        "diff",
        AG,
        "--from",
        "2024-01-15",
        "--known-at",
        "#2",
        "--known-at-to",
        "#3",
        "--json",
    ]);
    assert_eq!(v["known_at"], "#2");
    assert_eq!(v["known_at_to"], "#3");
}

#[test]
fn completions_man_color_and_quiet() {
    let e = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = e.ok(&["completions", shell]);
        assert!(
            out.contains("pactum") && out.contains("known-at"),
            "{shell}"
        );
    }
    let man = e.ok(&["man"]);
    assert!(
        man.contains(".TH pactum 1") && man.contains("show"),
        "{man}"
    );
    let man = e.ok(&["man", "append"]);
    assert!(man.contains(".TH pactum-append 1"), "{man}");
    e.fails(&["man", "nope"], 2);
    e.with_fixture();
    let args = ["diff", AG, "--from", "2024-12-31", "--to", "2025-02-01"];
    let plain = e.ok(&args);
    assert!(!plain.contains('\u{1b}'), "no colour into a pipe");
    let mut always = vec!["--color", "always"];
    always.extend(args);
    let coloured = e.ok(&always);
    assert!(coloured.contains("\u{1b}[31m[-"), "{coloured}");
    assert!(coloured.contains("\u{1b}[32m{+"), "{coloured}");
    let o = e.cmd(&always).env("NO_COLOR", "1").output().expect("run");
    assert!(
        text(&o.stdout).contains('\u{1b}'),
        "--color always wins over NO_COLOR"
    );
    // Without the escapes, the same text.
    let stripped = coloured
        .replace("\u{1b}[31m", "")
        .replace("\u{1b}[32m", "")
        .replace("\u{1b}[0m", "");
    assert_eq!(stripped, plain);
    // -q: nothing but errors and data.
    assert_eq!(e.ok(&["-q", "append", &fixture("microsoft-openai")]), "");
    assert_eq!(e.ok(&["-q", "audit"]), "");
    assert!(!e.ok(&["-q", "head"]).is_empty());
}

#[test]
fn every_command_help_has_an_example() {
    let e = Env::new();
    for cmd in [
        "append",
        "state",
        "diff",
        "history",
        "log",
        "list",
        "audit",
        "head",
        "checkpoint",
        "prove",
        "verify",
        "export",
        "import",
        "show",
        "completions",
        "man",
    ] {
        let help = e.ok(&[cmd, "--help"]);
        assert!(
            help.contains("Example") && help.contains("  pactum "),
            "{cmd} --help has no example:\n{help}"
        );
    }
}
