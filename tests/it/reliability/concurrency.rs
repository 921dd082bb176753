//! Concurrent writers. In one process: 8 threads share one `Ledger`, some on
//! agreements of their own, some on one shared agreement, two racing to
//! record the same amendments; the result must be a serial order (the audit
//! passes, every acknowledged amendment is there once, at the seq its append
//! reported). `expect_head` turns a lost update into a clean refusal. Across
//! processes: many `pactum append` at once on one ledger (missing at first,
//! then existing); each succeeds or exits 2 saying the ledger is in use after
//! its `--wait`; nothing is lost or duplicated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use pactum::ledger::{AppendOptions, Outcome};
use pactum::model::{AgreementId, AmendmentId, Date};
use pactum::projection::{self, KnownAt};
use pactum::store::SledStore;
use pactum::{Error, Ledger};

use super::common::*;

const WAIT: Duration = Duration::from_secs(30);
const THREADS: usize = 8;
const PER_THREAD: usize = 30;

fn key(ag: &str, id: &str) -> (AgreementId, AmendmentId) {
    (ag.parse().expect("agreement"), id.parse().expect("id"))
}

fn add(ag: &str, id: &str, clause: &str) -> String {
    add_json(ag, id, clause, &[format!("Text of {clause}")])
}

/// What one thread did: (agreement, id, outcome), in its order.
type Done = Vec<(String, String, Outcome)>;

#[test]
fn eight_threads_appending_give_a_serial_order() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("l");
    let ledger =
        Ledger::create(SledStore::open(&path, WAIT).expect("open"), [5; 16]).expect("create");
    ledger
        .append(
            &[parse(&establish_json("shared", "start"))],
            now(),
            AppendOptions::default(),
        )
        .expect("establish");
    let ledger = Arc::new(ledger);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (ledger, barrier) = (ledger.clone(), barrier.clone());
            std::thread::spawn(move || -> Done {
                let mut done = Done::new();
                barrier.wait();
                let mut k = 0;
                while k < PER_THREAD {
                    // Threads 0–2: an agreement each; 3–5: the shared one;
                    // 6–7: both record the same amendments of the shared one.
                    let (ag, batch): (String, Vec<(String, String)>) = match t {
                        0..=2 => {
                            let ag = format!("own-{t}");
                            let b = if k == 0 {
                                vec![("start".into(), establish_json(&ag, "start"))]
                            } else if k % 5 == 0 && k + 1 < PER_THREAD {
                                // A batch of two.
                                (k..k + 2)
                                    .map(|j| {
                                        (
                                            format!("o{j}"),
                                            add(&ag, &format!("o{j}"), &format!("c{j}")),
                                        )
                                    })
                                    .collect()
                            } else {
                                vec![(
                                    format!("o{k}"),
                                    add(&ag, &format!("o{k}"), &format!("c{k}")),
                                )]
                            };
                            (ag, b)
                        }
                        3..=5 => {
                            let id = format!("t{t}-{k}");
                            (
                                "shared".into(),
                                vec![(id.clone(), add("shared", &id, &format!("t{t}.c{k}")))],
                            )
                        }
                        _ => {
                            let id = format!("dup-{k}");
                            (
                                "shared".into(),
                                vec![(id.clone(), add("shared", &id, &format!("dup.c{k}")))],
                            )
                        }
                    };
                    let amendments: Vec<_> = batch.iter().map(|(_, j)| parse(j)).collect();
                    let r = ledger
                        .append(&amendments, now(), AppendOptions::default())
                        .unwrap_or_else(|e| panic!("thread {t}, append {k}: {e}"));
                    for ((id, _), o) in batch.iter().zip(r.outcomes) {
                        done.push((ag.clone(), id.clone(), o));
                    }
                    k += batch.len();
                }
                done
            })
        })
        .collect();
    let done: Vec<Done> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let ledger = Arc::try_unwrap(ledger).expect("threads done");
    let count = ledger.head().count;

    // Every appended seq is distinct, and with seq 0 they are exactly 0..count.
    let mut seqs = BTreeSet::from([0u64]);
    let mut by_key: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut appended = 1;
    for (t, d) in done.iter().enumerate() {
        let mut last = 0;
        for (ag, id, o) in d {
            let seq = match *o {
                Outcome::Appended { seq, .. } => {
                    appended += 1;
                    assert!(seqs.insert(seq), "seq {seq} appended twice");
                    seq
                }
                Outcome::Existing { seq } => {
                    assert!(t >= 6, "thread {t}: {ag}/{id} was existing");
                    seq
                }
            };
            // A thread's own appends are recorded in its order.
            assert!(seq > last, "thread {t}: {id} at seq {seq} after seq {last}");
            last = seq;
            if let Some(prev) = by_key.insert((ag.clone(), id.clone()), seq) {
                assert_eq!(prev, seq, "{ag}/{id} acknowledged at two seqs");
            }
        }
    }
    assert_eq!(appended, count, "appended outcomes vs the head");
    assert_eq!(
        seqs,
        (0..count).collect::<BTreeSet<u64>>(),
        "seqs are not gapless"
    );
    // The racing pair: each dup-k appended by exactly one of them.
    for k in 0..PER_THREAD {
        let id = format!("dup-{k}");
        let outs: Vec<&Outcome> = done[6..]
            .iter()
            .flat_map(|d| d.iter().filter(|(_, i, _)| *i == id).map(|(_, _, o)| o))
            .collect();
        let n = outs
            .iter()
            .filter(|o| matches!(o, Outcome::Appended { .. }))
            .count();
        assert_eq!((outs.len(), n), (2, 1), "{id}: {outs:?}");
    }
    let check = |ledger: &Ledger<SledStore>| {
        assert_eq!(audit(ledger.store()), Ok(count));
        for ((ag, id), seq) in &by_key {
            let (a, i) = key(ag, id);
            assert_eq!(ledger.find(&a, &i).expect("find"), Some(*seq), "{ag}/{id}");
        }
        // Every agreement's state holds every clause added to it.
        let at: Date = "2024-06-01".parse().expect("date");
        for ag in ["own-0", "own-1", "own-2", "shared"] {
            let a: AgreementId = ag.parse().expect("agreement");
            let entries = ledger.agreement_entries(&a).expect("entries");
            let s = projection::state(&a, &entries, at, KnownAt::All).expect("state");
            let adds = by_key
                .keys()
                .filter(|(g, i)| g == ag && i != "start")
                .count();
            assert_eq!(s.clauses.len(), adds, "{ag}: clauses");
        }
    };
    check(&ledger);
    drop(ledger);
    let reopened = Ledger::open(SledStore::open(&path, WAIT).expect("reopen")).expect("open");
    assert_eq!(reopened.head().count, count);
    check(&reopened);
    println!(
        "concurrency: {THREADS} threads, {} appends acknowledged, {count} entries, each id once, audit ok (and after reopening)",
        done.iter().map(Vec::len).sum::<usize>()
    );
}

#[test]
fn expect_head_turns_a_lost_update_into_a_refusal() {
    const ROUNDS: usize = 25;
    let ledger =
        Arc::new(Ledger::create(pactum::store::MemStore::default(), [6; 16]).expect("create"));
    ledger
        .append(
            &[parse(&establish_json("x", "start"))],
            now(),
            AppendOptions::default(),
        )
        .expect("establish");
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (ledger, barrier) = (ledger.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for r in 0..ROUNDS {
                    barrier.wait();
                    // Both read the head, then both write expecting it.
                    let n = ledger.head().count;
                    barrier.wait();
                    let id = format!("r{r}-t{t}");
                    let a = parse(&add("x", &id, &format!("r{r}.t{t}")));
                    let res = ledger.append(
                        &[a],
                        now(),
                        AppendOptions {
                            expect_head: Some(n),
                            ..Default::default()
                        },
                    );
                    out.push((n, res));
                }
                out
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    for (r, ((n0, a), (n1, b))) in results[0].iter().zip(&results[1]).enumerate() {
        assert_eq!(n0, n1, "round {r}: the two threads read different heads");
        let (ok, refused) = match (a, b) {
            (Ok(x), Err(e)) | (Err(e), Ok(x)) => (x, e),
            _ => panic!("round {r}: expected one success and one refusal: {a:?} / {b:?}"),
        };
        assert_eq!(ok.outcomes.len(), 1);
        assert!(matches!(ok.outcomes[0], Outcome::Appended { seq, .. } if seq == *n0));
        match refused {
            Error::HeadMismatch { expected, actual } => {
                assert_eq!((*expected, *actual), (*n0, n0 + 1), "round {r}");
            }
            other => panic!("round {r}: refused with {other}, not a head mismatch"),
        }
    }
    assert_eq!(ledger.head().count, 1 + ROUNDS as u64);
    assert_eq!(audit(ledger.store()), Ok(1 + ROUNDS as u64));
    println!("concurrency: {ROUNDS} expect-head races, each one success and one clean refusal");
}

// ------------------------------------------------------------------ processes

struct Proc {
    child: Child,
    file: PathBuf,
    wait: &'static str,
    /// (agreement, id) of each amendment in its file.
    keys: Vec<(String, String)>,
}

fn spawn(ledger: &Path, p_file: &Path, wait: &'static str, extra: &[&str]) -> Child {
    let mut c = pactum(ledger);
    c.arg("--wait")
        .arg(wait)
        .arg("append")
        .arg(p_file)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().expect("spawn pactum")
}

/// Runs the processes (all started at once) and checks each: exit 0, or
/// exit 2 saying the ledger is in use. Returns the keys of those that succeeded.
fn run_all(procs: Vec<Proc>, busy: &mut usize) -> Vec<(String, String)> {
    let mut ok = Vec::new();
    for p in procs {
        let out = p.child.wait_with_output().expect("wait");
        let err = text(&out.stderr);
        if let Some(f) = unclean(&err) {
            panic!("{}: stderr shows {f:?}:\n{err}", p.file.display());
        }
        match out.status.code() {
            Some(0) => ok.extend(p.keys),
            Some(2) if err.contains("in use by another process") => {
                assert!(err.contains("--wait"), "{err}");
                *busy += 1;
                assert!(
                    p.wait == "0",
                    "{} (--wait {}) gave up: {err}",
                    p.file.display(),
                    p.wait
                );
            }
            code => panic!(
                "{} (--wait {}): exit {code:?}, neither success nor busy:\n{err}",
                p.file.display(),
                p.wait
            ),
        }
    }
    ok
}

/// The ledger holds exactly `expected` amendments (plus `base` others), once each.
fn check_exactly(path: &Path, expected: &[(String, String)], base: u64) {
    let ledger = Ledger::open(SledStore::open(path, WAIT).expect("open")).expect("open ledger");
    let count = ledger.head().count;
    assert_eq!(audit(ledger.store()), Ok(count));
    assert_eq!(
        count,
        base + expected.len() as u64,
        "entries vs acknowledged amendments"
    );
    let mut seqs = BTreeSet::new();
    for (ag, id) in expected {
        let (a, i) = key(ag, id);
        let seq = ledger
            .find(&a, &i)
            .expect("find")
            .unwrap_or_else(|| panic!("{ag}/{id} acknowledged but missing"));
        assert!(seqs.insert(seq), "{ag}/{id}: seq {seq} twice");
    }
}

#[test]
fn many_cli_processes_at_once_on_one_ledger() {
    const PROCS: usize = 12;
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("l");
    let started = Instant::now();
    let mut busy = 0;
    let mut acked: Vec<(String, String)> = Vec::new();
    let mut total = 0;
    for round in 0..3 {
        // Round 0 creates the ledger (it is missing): an agreement per process.
        // Rounds 1–2: half on the shared agreement, half on their own.
        let mut procs = Vec::new();
        for p in 0..PROCS {
            let file = tmp.path().join(format!("r{round}-p{p}.jsonl"));
            let (lines, keys): (Vec<String>, Vec<(String, String)>) = if round == 0 || p % 2 == 1 {
                let ag = format!("p{p}-r{round}");
                (
                    vec![establish_json(&ag, "start"), add(&ag, "more", "c")],
                    vec![(ag.clone(), "start".into()), (ag, "more".into())],
                )
            } else {
                let id = format!("r{round}-p{p}");
                (
                    vec![add("p0-r0", &id, &format!("r{round}.p{p}"))],
                    vec![("p0-r0".into(), id)],
                )
            };
            std::fs::write(&file, lines.join("\n") + "\n").expect("write");
            // A quarter do not wait at all.
            let wait = if p % 4 == 3 { "0" } else { "30" };
            procs.push(Proc {
                child: spawn(&path, &file, wait, &[]),
                file,
                wait,
                keys,
            });
            total += 1;
        }
        let ok = run_all(procs, &mut busy);
        if round == 0 {
            // The shared agreement of later rounds must exist.
            if !ok.iter().any(|(ag, _)| ag == "p0-r0") {
                let file = tmp.path().join("r0-p0.jsonl");
                let out = run({
                    let mut c = pactum(&path);
                    c.arg("append").arg(&file);
                    c
                });
                assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
                acked.push(("p0-r0".into(), "start".into()));
                acked.push(("p0-r0".into(), "more".into()));
            }
        }
        acked.extend(ok);
        check_exactly(&path, &acked, 0);
    }
    // And with --expect-head: of processes expecting the same head, one wins.
    let head = {
        let l = Ledger::open(SledStore::open(&path, WAIT).expect("open")).expect("open");
        l.head().count
    };
    let mut children = Vec::new();
    for p in 0..6 {
        let file = tmp.path().join(format!("eh-{p}.jsonl"));
        let id = format!("eh-{p}");
        std::fs::write(&file, add("p0-r0", &id, &format!("eh.p{p}")) + "\n").expect("write");
        let n = head.to_string();
        children.push((spawn(&path, &file, "30", &["--expect-head", &n]), id));
    }
    let mut winners = Vec::new();
    for (c, id) in children {
        let out = c.wait_with_output().expect("wait");
        let err = text(&out.stderr);
        match out.status.code() {
            Some(0) => winners.push(id),
            Some(2) => assert!(
                err.contains(&format!(
                    "not the {head} that --expect-head requires; nothing was appended"
                )),
                "{err}"
            ),
            code => panic!("expect-head: exit {code:?}: {err}"),
        }
    }
    assert_eq!(winners.len(), 1, "expect-head winners: {winners:?}");
    acked.push(("p0-r0".into(), winners[0].clone()));
    check_exactly(&path, &acked, 0);
    println!(
        "concurrency: {total} CLI appends in 3 rounds of {PROCS} at once (the first creating the ledger): {} amendments acknowledged, {busy} processes refused as busy (--wait 0), none lost or duplicated; 6 racing --expect-head: 1 appended, 5 refused; {:.1?}",
        acked.len(),
        started.elapsed()
    );
}
