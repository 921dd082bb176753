//! I/O faults: the Nth write, flush or fsync of an append fails, for every N
//! over the whole append. Each time the append returns an error, the writer
//! refuses to write again until reopened, and after reopening the ledger is
//! exactly as before the append or exactly as after it — never in between —
//! and the audit passes.
//!
//! Two layers: `SledStore` with its fault hook (`set_fault_hook`: sled's
//! `apply_batch`, `flush`, the data-file fsync, blob fsyncs, and each step of
//! the head witness), and a `Store` wrapper over `MemStore` that fails a
//! commit or witness write before or after applying it (append and import).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pactum::ledger::{AppendOptions, Outcome};
use pactum::model::{Amendment, RecordedAt};
use pactum::store::{MemStore, Pair, Scan, SledStore, Store, StoreError, Write};
use pactum::Ledger;

use super::common::*;

const ORIGIN: [u8; 16] = [0x42; 16];
const T0: i64 = 1_750_000_000_000_000;
const WAIT: Duration = Duration::from_secs(10);

fn open(path: &Path) -> SledStore {
    SledStore::open(path, WAIT).expect("open sled")
}

/// A fault hook that counts the steps it is called at, records their names,
/// and fails step number `fail_at` (1-based; 0: never).
fn install(store: &mut SledStore, fail_at: usize) -> (Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (c, l) = (calls.clone(), log.clone());
    store.set_fault_hook(Box::new(move |point| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        l.lock().expect("log").push(format!("{point:?}"));
        if n == fail_at {
            Err(std::io::Error::other(format!(
                "injected failure at step {n} ({point:?})"
            )))
        } else {
            Ok(())
        }
    }));
    (calls, log)
}

struct Scenario {
    name: &'static str,
    /// Batches appended before (each at its own time).
    base: Vec<Vec<Amendment>>,
    /// The append under test.
    append: Vec<Amendment>,
}

fn scenarios() -> Vec<Scenario> {
    let est = |ag: &str| parse(&establish_json(ag, "start"));
    let add = |ag: &str, i: u64, len: usize| {
        parse(&add_json(
            ag,
            &format!("x{i}"),
            &format!("c{i}"),
            &[filler(i, len)],
        ))
    };
    let big = |ag: &str, i: u64| {
        // Three clauses of 60 000 bytes: an entry over sled's blob threshold.
        let texts: Vec<String> = (0..3).map(|k| filler(i * 7 + k, 60_000)).collect();
        parse(&add_json(ag, &format!("x{i}"), &format!("c{i}"), &texts))
    };
    vec![
        Scenario {
            name: "first amendment into an empty ledger",
            base: vec![],
            append: vec![est("a")],
        },
        Scenario {
            name: "one amendment onto 3 entries",
            base: vec![vec![est("a")], vec![add("a", 1, 100), add("a", 2, 100)]],
            append: vec![add("a", 3, 200)],
        },
        Scenario {
            name: "a batch of 3 with a 180 KB entry (a sled blob) onto 6 entries",
            base: vec![
                vec![est("a"), add("a", 1, 50)],
                vec![big("a", 2)],
                vec![est("b"), add("b", 1, 50), add("a", 3, 10)],
            ],
            append: vec![add("b", 2, 300), big("b", 3), add("a", 4, 20)],
        },
    ]
}

#[derive(Default)]
struct Tally {
    runs: usize,
    before: usize,
    after: usize,
    points: std::collections::BTreeMap<String, (usize, usize)>,
}

/// Builds the scenario's base ledger at `dir`; returns its snapshot.
fn build_base(dir: &Path, s: &Scenario) -> Snapshot {
    let ledger = Ledger::create(open(dir), ORIGIN).expect("create");
    for (k, b) in s.base.iter().enumerate() {
        ledger
            .append(b, RecordedAt(T0 + k as i64), AppendOptions::default())
            .expect("base append");
    }
    drop(ledger);
    snapshot(&open(dir))
}

fn t1() -> RecordedAt {
    RecordedAt(T0 + 1_000_000)
}

#[test]
fn every_failed_write_flush_or_fsync_of_an_append_leaves_before_or_after() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut tally = Tally::default();
    let mut problems = Vec::new();
    for (si, s) in scenarios().iter().enumerate() {
        let base = tmp.path().join(format!("base-{si}"));
        let before = build_base(&base, s);
        // The state after a successful append (same origin, same times: same bytes).
        let reference = tmp.path().join(format!("ref-{si}"));
        copy_dir(&base, &reference);
        let after = {
            let mut store = open(&reference);
            let (calls, log) = install(&mut store, 0);
            let mut ledger = Ledger::open(store).expect("open");
            staged(&mut ledger, si);
            ledger
                .append(&s.append, t1(), AppendOptions::default())
                .expect("reference append");
            drop(ledger);
            let steps = log.lock().expect("log").join(" → ");
            println!(
                "faults: {}: {} steps: {steps}",
                s.name,
                calls.load(Ordering::SeqCst)
            );
            snapshot(&open(&reference))
        };
        assert_ne!(before, after);
        // Fail step n, for n = 1, 2, … until the append completes without reaching n.
        for n in 1.. {
            let dir = tmp.path().join(format!("run-{si}-{n}"));
            copy_dir(&base, &dir);
            let mut store = open(&dir);
            let (calls, log) = install(&mut store, n);
            let mut ledger = Ledger::open(store).expect("open");
            staged(&mut ledger, si);
            let r = ledger.append(&s.append, t1(), AppendOptions::default());
            let reached = calls.load(Ordering::SeqCst);
            if reached < n {
                assert!(r.is_ok(), "{}: no fault injected, yet: {r:?}", s.name);
                break;
            }
            let point = log.lock().expect("log")[n - 1].clone();
            let what = format!("{} — failing step {n} ({point})", s.name);
            let Err(e) = r else {
                problems.push(format!("{what}: the append returned Ok"));
                continue;
            };
            if !e.to_string().contains("injected failure") {
                problems.push(format!("{what}: the error does not say why: {e}"));
            }
            // The writer is poisoned: no second write on a stale head.
            match ledger.append(&s.append, t1(), AppendOptions::default()) {
                Err(e) if e.to_string().contains("reopen") => {}
                other => problems.push(format!(
                    "{what}: a second append on the same writer gave {other:?}, not a refusal to write before reopening"
                )),
            }
            drop(ledger);
            let reopened = match Ledger::open(open(&dir)) {
                Ok(l) => l,
                Err(e) => {
                    problems.push(format!("{what}: cannot reopen: {e}"));
                    continue;
                }
            };
            let now = snapshot(reopened.store());
            let landed = if now == before {
                false
            } else if now == after {
                true
            } else {
                problems.push(format!(
                    "{what}: the ledger is neither before ({}) nor after ({})",
                    snapshot_diff(&before, &now),
                    snapshot_diff(&after, &now)
                ));
                continue;
            };
            if point == "ApplyBatch" && landed {
                problems.push(format!("{what}: a failed apply_batch landed"));
            }
            if let Err(e) = audit(reopened.store()) {
                problems.push(format!("{what}: {e}"));
            }
            // Appending again records it exactly once.
            match reopened.append(&s.append, t1(), AppendOptions::default()) {
                Ok(r) => {
                    let all = |existing: bool| {
                        r.outcomes
                            .iter()
                            .all(|o| matches!(o, Outcome::Existing { .. }) == existing)
                    };
                    if !all(landed) {
                        problems.push(format!(
                            "{what}: appending again (landed: {landed}) gave {:?}",
                            r.outcomes
                        ));
                    }
                }
                Err(e) => problems.push(format!("{what}: appending again failed: {e}")),
            }
            if snapshot(reopened.store()) != after {
                problems.push(format!(
                    "{what}: after appending again the ledger is not the reference"
                ));
            }
            drop(reopened);
            tally.runs += 1;
            let e = tally.points.entry(point).or_default();
            if landed {
                tally.after += 1;
                e.1 += 1;
            } else {
                tally.before += 1;
                e.0 += 1;
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let points: Vec<String> = tally
        .points
        .iter()
        .map(|(p, (b, a))| format!("{p} {b}/{a}"))
        .collect();
    println!(
        "faults: {} failed appends on sled ({} came back as before, {} as after); per step, before/after: {}",
        tally.runs,
        tally.before,
        tally.after,
        points.join(", ")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Since layout 3 entries are in the entry log (one fsync), not sled's
    // blobs (one fsync each): fewer steps per append than before.
    assert!(tally.runs >= 15, "only {} fault runs", tally.runs);
}

/// Every other scenario's append is staged, one amendment per part (under
/// the undo journal), so that faults also land in staged batches.
fn staged(ledger: &mut Ledger<SledStore>, scenario: usize) {
    if scenario % 2 == 1 {
        ledger.set_stage_part_bytes(1);
    }
}

#[test]
fn every_failed_step_of_ledger_creation_leaves_nothing_or_an_empty_ledger() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut runs = 0;
    for n in 1.. {
        let dir = tmp.path().join(format!("c-{n}"));
        let mut store = open(&dir);
        let (calls, log) = install(&mut store, n);
        let r = Ledger::create(store, ORIGIN);
        if calls.load(Ordering::SeqCst) < n {
            r.expect("no fault injected");
            break;
        }
        let point = log.lock().expect("log")[n - 1].clone();
        assert!(
            r.is_err(),
            "creation with step {n} ({point}) failing returned Ok"
        );
        drop(r);
        runs += 1;
        let store = open(&dir);
        let had = pactum::layout::read_origin(&store)
            .expect("read origin")
            .is_some();
        if !had {
            assert!(
                snapshot(&store).is_empty(),
                "step {n} ({point}): no ledger, but keys"
            );
        }
        // Whatever came back, the ledger can be opened (or created) and used.
        let ledger = Ledger::open_or_create(store, || ORIGIN)
            .unwrap_or_else(|e| panic!("step {n} ({point}): cannot open or create: {e}"));
        assert_eq!(ledger.head().count, 0);
        ledger
            .append(
                &[parse(&establish_json("a", "start"))],
                RecordedAt(T0),
                AppendOptions::default(),
            )
            .unwrap_or_else(|e| panic!("step {n} ({point}): append after: {e}"));
        audit(ledger.store()).unwrap_or_else(|e| panic!("step {n} ({point}): {e}"));
    }
    println!("faults: {runs} failed ledger creations, each reopened and used");
    assert!(runs >= 5);
}

// ------------------------------------------------------------ MemStore layer

/// Fails commit or witness call number `fail_at` (counting both), before or
/// after applying it; keeps a witness like `SledStore`'s.
struct Flaky {
    inner: Arc<MemStore>,
    witness: Arc<Mutex<Option<Vec<u8>>>>,
    fail_at: usize,
    after: bool,
    calls: AtomicUsize,
}

impl Flaky {
    fn new(
        inner: Arc<MemStore>,
        witness: Arc<Mutex<Option<Vec<u8>>>>,
        fail_at: usize,
        after: bool,
    ) -> Flaky {
        Flaky {
            inner,
            witness,
            fail_at,
            after,
            calls: AtomicUsize::new(0),
        }
    }
    fn step(&self, apply: impl FnOnce() -> Result<(), StoreError>) -> Result<(), StoreError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = n == self.fail_at;
        if fail && !self.after {
            return Err(StoreError::Io(format!("injected failure before step {n}")));
        }
        apply()?;
        if fail {
            return Err(StoreError::Io(format!("injected failure after step {n}")));
        }
        Ok(())
    }
}

impl Store for Flaky {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_> {
        self.inner.scan(start, end)
    }
    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<Pair>, StoreError> {
        self.inner.last_in(start, end)
    }
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.step(|| self.inner.commit(writes))
    }
    fn witness_put(&self, head: &[u8]) -> Result<(), StoreError> {
        self.step(|| {
            *self.witness.lock().expect("witness") = Some(head.to_vec());
            Ok(())
        })
    }
    fn witness_get(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.witness.lock().expect("witness").clone())
    }
}

fn mem_copy(s: &MemStore) -> Arc<MemStore> {
    let m = MemStore::default();
    let writes = snapshot(s)
        .into_iter()
        .map(|(k, v)| Write::Put(k, v))
        .collect();
    m.commit(writes).expect("copy");
    Arc::new(m)
}

#[test]
fn failed_commits_and_witness_writes_of_appends_and_imports_in_memory() {
    let clean = |m: &Arc<MemStore>| Flaky::new(m.clone(), Default::default(), 0, false);
    // Under test: an append of 2 onto 4 entries, and an import of 6 into an empty ledger.
    let amendments: Vec<Amendment> = (0..10).map(|i| parse(&numbered_json("m", i))).collect();
    let src = Ledger::create(MemStore::default(), ORIGIN).expect("create");
    for (k, a) in amendments.iter().enumerate() {
        src.append(
            std::slice::from_ref(a),
            RecordedAt(T0 + k as i64),
            AppendOptions::default(),
        )
        .expect("append");
    }
    let raw: Vec<(Vec<u8>, pactum::chain::Hash)> = src
        .entries(0)
        .take(6)
        .map(|r| {
            let (e, chain) = r.expect("entry");
            (pactum::codec::encode_entry(&e).expect("encode"), chain)
        })
        .collect();
    let base = Arc::new(MemStore::default());
    {
        let l = Ledger::create(clean(&base), ORIGIN).expect("create");
        for (k, a) in amendments[..4].iter().enumerate() {
            l.append(
                std::slice::from_ref(a),
                RecordedAt(T0 + k as i64),
                AppendOptions::default(),
            )
            .expect("append");
        }
    }
    let empty = Arc::new(MemStore::default());
    drop(Ledger::create(clean(&empty), ORIGIN).expect("create"));
    let mut runs = 0;
    for import in [false, true] {
        let start = if import { &empty } else { &base };
        let before = snapshot(start.as_ref());
        let op = |l: &Ledger<Flaky>| -> Result<(), pactum::Error> {
            if import {
                l.append_raw(&raw).map(|_| ())
            } else {
                l.append(
                    &amendments[4..6],
                    RecordedAt(T0 + 4),
                    AppendOptions::default(),
                )
                .map(|_| ())
            }
        };
        let after = {
            let l = Ledger::open(clean(&mem_copy(start))).expect("open");
            op(&l).expect("reference");
            snapshot(l.store())
        };
        // Two steps (commit, witness), each failing before or after applying.
        for n in 1..=2 {
            for after_apply in [false, true] {
                let what = format!(
                    "{} — step {n} failing {} applying",
                    if import { "import" } else { "append" },
                    if after_apply { "after" } else { "before" }
                );
                let inner = mem_copy(start);
                let witness = Arc::new(Mutex::new(None));
                let l = Ledger::open(Flaky::new(inner.clone(), witness.clone(), n, after_apply))
                    .expect("open");
                assert!(op(&l).is_err(), "{what}: returned Ok");
                let again = op(&l).expect_err("poisoned");
                assert!(again.to_string().contains("reopen"), "{what}: {again}");
                drop(l);
                let l = Ledger::open(Flaky::new(inner, witness, 0, false))
                    .unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
                let now = snapshot(l.store());
                assert!(
                    now == before || now == after,
                    "{what}: neither before nor after: {}",
                    snapshot_diff(&before, &now)
                );
                audit(l.store()).unwrap_or_else(|e| panic!("{what}: {e}"));
                if now == before {
                    op(&l).unwrap_or_else(|e| panic!("{what}: again: {e}"));
                    assert!(
                        snapshot(l.store()) == after,
                        "{what}: again: not the reference"
                    );
                }
                runs += 1;
            }
        }
    }
    println!("faults: {runs} failed commits and witness writes in memory (append and import)");
}
