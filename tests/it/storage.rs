//! Storage of issue 10: the entry log beside sled, batches staged in parts
//! (all or nothing, whatever their size), layout 2 upgraded on open.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::reliability::common::*;
use pactum::layout::keys;
use pactum::ledger::{AppendOptions, Outcome};
use pactum::model::{Amendment, RecordedAt};
use pactum::store::{FaultPoint, MemStore, SledStore, Store};
use pactum::Ledger;

const WAIT: Duration = Duration::from_secs(5);

/// `n` numbered amendments over three agreements, in an order that is a
/// valid history (each agreement established first).
fn history(from: u64, n: u64) -> Vec<Amendment> {
    (from..from + n)
        .map(|i| {
            let agreement = ["alpha", "beta", "gamma"][(i % 3) as usize];
            parse(&numbered_json(agreement, i / 3))
        })
        .collect()
}

fn open(path: &Path) -> Ledger<SledStore> {
    Ledger::open_or_create(SledStore::open(path, WAIT).expect("open sled"), || [9; 16])
        .expect("open ledger")
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A batch staged one entry at a time stores exactly the keys and values
/// one commit stores (the same key space as a memory store's), audits
/// clean, and its entries are in the log, not in sled.
#[test]
fn a_batch_staged_in_parts_stores_what_one_commit_stores() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ledger");
    let mut sled = open(&path);
    sled.set_stage_part_bytes(1);
    let mem = Ledger::create(MemStore::default(), [9; 16]).expect("mem");
    let mut batch = history(0, 60);
    // A repeat of an amendment staged earlier in the same batch: existing.
    batch.push(batch[10].clone());
    let t = RecordedAt(1_700_000_000_000_000);
    let a = sled
        .append(&batch, t, AppendOptions::default())
        .expect("sled");
    let b = mem
        .append(&batch, t, AppendOptions::default())
        .expect("mem");
    assert_eq!(a, b);
    assert_eq!(a.outcomes[60], Outcome::Existing { seq: 10 });
    assert_eq!(snapshot(sled.store()), snapshot(mem.store()));
    assert_eq!(audit(sled.store()), Ok(60));
    assert!(!path.join("pactum.undo").exists());
    drop(sled);
    let sled = open(&path);
    assert_eq!(snapshot(sled.store()), snapshot(mem.store()));
    assert!(file_len(&path.join("entries.log")) > 60 * 100);
    assert_eq!(file_len(&path.join("entries.idx")), 60 * 8);
    // Appending the same batch again records nothing.
    let again = sled
        .append(&batch, t, AppendOptions::default())
        .expect("again");
    assert!(again
        .outcomes
        .iter()
        .all(|o| matches!(o, Outcome::Existing { .. })));
}

/// A refusal after several staged parts undoes them: every key and value,
/// and the log's files, are as before; the next append works.
#[test]
fn a_refusal_after_staged_parts_leaves_the_ledger_as_it_was() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ledger");
    let mut ledger = open(&path);
    ledger
        .append(&history(0, 9), now(), AppendOptions::default())
        .expect("first");
    let before = snapshot(ledger.store());
    let log = file_len(&path.join("entries.log"));
    ledger.set_stage_part_bytes(1);
    let mut batch = history(9, 30);
    // Same id as amendment 4, other content: refused, at the end.
    let mut changed = batch[0].clone();
    changed.id = history(4, 1)[0].id.clone();
    changed.agreement = history(4, 1)[0].agreement.clone();
    batch.push(changed);
    let err = ledger
        .append(&batch, now(), AppendOptions::default())
        .expect_err("refused");
    assert!(err.to_string().contains("already recorded"), "{err}");
    assert_eq!(
        snapshot_diff(&before, &snapshot(ledger.store())),
        "0 keys differ: "
    );
    assert_eq!(file_len(&path.join("entries.log")), log);
    assert!(!path.join("pactum.undo").exists());
    batch.pop();
    let r = ledger
        .append(&batch, now(), AppendOptions::default())
        .expect("the same batch without the refused amendment");
    assert_eq!(r.head.count, 39);
    assert_eq!(audit(ledger.store()), Ok(39));
}

/// A writer that stops after staging parts (its commit and its own undo
/// fail, as at a kill) leaves an undo journal: the next open undoes the
/// parts, and the ledger is exactly as before.
#[test]
fn staged_parts_left_by_a_failed_writer_are_undone_by_the_next_open() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ledger");
    let ledger = open(&path);
    ledger
        .append(&history(0, 9), now(), AppendOptions::default())
        .expect("first");
    let before = snapshot(ledger.store());
    drop(ledger);
    let mut store = SledStore::open(&path, WAIT).expect("open");
    let failing = Arc::new(AtomicBool::new(false));
    let f = failing.clone();
    store.set_fault_hook(Box::new(move |point| {
        if point == FaultPoint::LogSync {
            f.store(true, Ordering::SeqCst);
        }
        if f.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected"));
        }
        Ok(())
    }));
    let mut ledger = Ledger::open(store).expect("open ledger");
    ledger.set_stage_part_bytes(1);
    ledger
        .append(&history(9, 20), now(), AppendOptions::default())
        .expect_err("the commit fails");
    assert!(failing.load(Ordering::SeqCst));
    assert!(path.join("pactum.undo").exists(), "no journal left to undo");
    drop(ledger);
    let ledger = open(&path);
    assert_eq!(
        snapshot_diff(&before, &snapshot(ledger.store())),
        "0 keys differ: "
    );
    assert!(!path.join("pactum.undo").exists());
    assert_eq!(audit(ledger.store()), Ok(9));
    let r = ledger
        .append(&history(9, 20), now(), AppendOptions::default())
        .expect("again");
    assert_eq!(r.head.count, 29);
}

/// The golden layout-2 ledger (entries in sled) moves its entries to the
/// log on open, says layout 3, and reads the same.
#[test]
fn a_layout_2_ledger_moves_its_entries_to_the_log_on_open() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ledger");
    std::fs::create_dir_all(&path).expect("folder");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/v2-sled");
    for f in ["conf", "db", "pactum.head"] {
        std::fs::copy(golden.join(f), path.join(f)).expect("copy");
    }
    let ledger = open(&path);
    assert_eq!(ledger.head().count, 12);
    assert_eq!(
        ledger.store().get(&keys::meta("format")).expect("get"),
        Some(vec![pactum::layout::LAYOUT_VERSION])
    );
    assert_eq!(file_len(&path.join("entries.idx")), 12 * 8);
    assert_eq!(audit(ledger.store()), Ok(12));
    let entries: Vec<_> = ledger.entries(0).map(|e| e.expect("entry").0.seq).collect();
    assert_eq!(entries, (0..12).collect::<Vec<_>>());
}

/// A flipped bit anywhere in the entry log's files is caught by the audit,
/// at the seq of the record it is in (a flipped offset in `entries.idx`
/// places two records wrongly: the one it starts, or the one before).
#[test]
fn every_flipped_byte_of_the_entry_log_is_caught_by_the_audit_at_its_seq() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ledger");
    let ledger = open(&path);
    ledger
        .append(&history(0, 4), now(), AppendOptions::default())
        .expect("append");
    let store = ledger.into_store();
    let idx = std::fs::read(path.join("entries.idx")).expect("idx");
    let starts: Vec<u64> = idx
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    for (name, len) in [
        ("entries.log", file_len(&path.join("entries.log"))),
        ("entries.idx", idx.len() as u64),
    ] {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path.join(name))
            .expect("open");
        for at in 0..len {
            let mut b = [0u8; 1];
            file.read_exact_at(&mut b, at).expect("read");
            let bit = 1u8 << (at % 8);
            file.write_all_at(&[b[0] ^ bit], at).expect("flip");
            let seqs: Vec<u64> = if name == "entries.log" {
                vec![starts.partition_point(|s| *s <= at) as u64 - 1]
            } else {
                let s = at / 8;
                vec![s.saturating_sub(1), s]
            };
            let found = match pactum::audit::audit_store(&store, None, &mut |_| {}) {
                Ok(r) => {
                    assert!(!r.ok, "{name} byte {at} flipped: the audit passes");
                    r.failure.and_then(|f| f.seq)
                }
                Err(e) => panic!("{name} byte {at} flipped: the audit stops: {e}"),
            };
            assert!(
                found.is_some_and(|s| seqs.contains(&s)),
                "{name} byte {at} flipped: found at {found:?}, not {seqs:?}"
            );
            file.write_all_at(&b, at).expect("restore");
        }
    }
    assert_eq!(audit(&store), Ok(4));
}

/// A long `append -` (more amendments than a batch holds in memory, and
/// than a new ledger is judged in memory first) through the binary: a
/// refusal at its last line names that line and the clause it never added,
/// and leaves no ledger behind (a new one) or the ledger as it was (an
/// existing one); without that line it records every amendment; its export
/// imports (the on-disk path of import, over 10,000 entries) to the same head.
#[test]
fn a_long_append_through_the_binary_is_all_or_nothing_and_imports_back() {
    let n = pactum::place::TRIAL_AMENDMENTS_MAX + 500;
    assert!(n > pactum::batch::HELD_MAX);
    let dir = tempfile::tempdir().expect("dir");
    let mut good = String::new();
    for i in 0..n as u64 {
        let agreement = ["alpha", "beta", "gamma"][(i % 3) as usize];
        // Short amendments: this test is about how many, not how large.
        let id = numbered_id(i / 3);
        if i < 3 {
            good.push_str(&establish_json(agreement, &id));
        } else {
            good.push_str(&add_json(
                agreement,
                &id,
                &format!("c{i}"),
                &[format!("t{i}")],
            ));
        }
        good.push('\n');
    }
    let bad_line = r#"{"agreement":"beta","id":"late","title":"Late","effective":"2025-01-01","change":[{"op":"amend","clause":"c1000000","text":"x"}]}"#;
    let bad = format!("{good}{bad_line}\n");
    let append = |ledger: &Path, input: &str| {
        let mut c = pactum(ledger);
        c.args(["append", "-"]).stdin(std::process::Stdio::piped());
        let mut child = c
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_string();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(input.as_bytes());
        });
        let out = child.wait_with_output().expect("wait");
        writer.join().expect("writer");
        out
    };
    // A new ledger: refused at the last line, nothing left behind.
    let new = dir.path().join("new");
    let out = append(&new, &bad);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(unclean(&err).is_none(), "{err}");
    assert!(err.contains(&format!("-:{}", n + 1)), "{err}");
    assert!(
        err.contains("no amendment of `beta` ever added a clause `c1000000`"),
        "{err}"
    );
    assert!(!new.exists(), "a refused first append leaves no ledger");
    // The good batch, then the bad one again on the existing ledger.
    let out = append(&new, &good);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("appended {n} amendments")),
        "{}",
        text(&out.stdout)
    );
    let export = |ledger: &Path| {
        let mut c = pactum(ledger);
        c.arg("export");
        let out = run(c);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out.stdout
    };
    // The append opened the folder once more before it ended (sled writes
    // its recovery snapshot, `snap.<log position>`, only as it opens): the
    // next command replays only what that open and its close wrote, not
    // the batch (without it there is no snapshot yet, and the next command
    // replays the whole batch).
    let snapshot = |ledger: &Path| {
        let positions: Vec<u64> = std::fs::read_dir(ledger)
            .expect("folder")
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                u64::from_str_radix(name.strip_prefix("snap.")?, 16).ok()
            })
            .collect();
        assert_eq!(positions.len(), 1, "one sled snapshot: {positions:?}");
        positions[0]
    };
    let settled = snapshot(&new);
    let before = export(&new);
    let replayed = snapshot(&new) - settled;
    assert!(
        replayed < settled / 100,
        "the next command replayed {replayed} bytes of sled's log, of {settled}"
    );
    let out = append(
        &new,
        &format!("{}\n{bad_line}\n", good.lines().last().expect("a line")),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("-:2"), "{}", text(&out.stderr));
    assert_eq!(export(&new), before, "a refused append changes nothing");
    // The export, imported into a new folder (judged on disk, not in memory).
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &before).expect("write export");
    let copy = dir.path().join("copy");
    let mut c = pactum(&copy);
    c.arg("import").arg(&file);
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(export(&copy), before);
}

/// Ctrl-C (a real SIGINT) during a long `append` into an existing ledger,
/// sent once its first part is staged (its undo journal exists): the
/// command says nothing was recorded, exits 2, and the ledger is as before
/// (its export byte for byte; no journal left); the same append then works.
#[test]
fn ctrl_c_during_a_long_append_records_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let ledger = dir.path().join("ledger");
    let mut first = String::new();
    const AGREEMENTS: [&str; 4] = ["alpha", "beta", "gamma", "delta"];
    for (k, agreement) in AGREEMENTS.iter().enumerate() {
        first.push_str(&establish_json(agreement, &numbered_id(k as u64)));
        first.push('\n');
    }
    let file = dir.path().join("first.jsonl");
    std::fs::write(&file, &first).expect("write");
    let mut c = pactum(&ledger);
    c.arg("append").arg(&file);
    assert_eq!(run(c).status.code(), Some(0));
    let export = || {
        let mut c = pactum(&ledger);
        c.arg("export");
        run(c).stdout
    };
    let before = export();
    // Enough amendments for many staged parts (2,000 amendments each).
    let mut long = String::new();
    for i in 4..16_004u64 {
        let agreement = AGREEMENTS[(i % 4) as usize];
        long.push_str(&add_json(
            agreement,
            &numbered_id(i),
            &format!("c{i}"),
            &[format!("t{i}")],
        ));
        long.push('\n');
    }
    let file = dir.path().join("long.jsonl");
    std::fs::write(&file, &long).expect("write");
    let mut c = pactum(&ledger);
    c.arg("append")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("spawn");
    let journal = ledger.join("pactum.undo");
    let started = std::time::Instant::now();
    while !journal.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no part was staged"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("wait");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("interrupted (Ctrl-C): nothing was recorded"),
        "{err}"
    );
    assert!(unclean(&err).is_none(), "{err}");
    assert!(!journal.exists(), "the staged parts were undone");
    assert_eq!(export(), before, "nothing was recorded");
    let mut c = pactum(&ledger);
    c.args(["-q", "append"]).arg(&file);
    let out = run(c);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut c = pactum(&ledger);
    c.arg("head");
    assert!(text(&run(c).stdout).starts_with("16004:"));
}
