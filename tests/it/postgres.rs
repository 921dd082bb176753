//! The PostgreSQL store against a real server: one conformance suite run
//! unchanged on the memory store, sled and PostgreSQL; writers in many
//! threads (each its own connection) at once; a reader's snapshot; a row
//! edited behind pactum's back caught by the audit.
//!
//! Needs `PACTUM_TEST_PG` (a URL to a server where the tests may create
//! schemas), which `.ci/run` sets after starting a throwaway cluster
//! (`.ci/pg`). Without it these tests fail: they never pass by skipping.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pactum::chain::Origin;
use pactum::ledger::{AppendOptions, Outcome};
use pactum::model::{AgreementId, Amendment, Date, RecordedAt};
use pactum::projection::KnownAt;
use pactum::store::{MemStore, PgStore, SledStore, Store, Write};
use pactum::Ledger;

const ORIGIN: Origin = [42; 16];

fn pg_base() -> String {
    std::env::var("PACTUM_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "PACTUM_TEST_PG is not set: these tests need a PostgreSQL server. \
             `bash .ci/run` starts one; by hand: `source .ci/pg && pg_start`"
        )
    })
}

/// A URL naming a ledger of its own for each call (schemas are never reused).
pub(crate) fn pg_url(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let base = pg_base();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}ledger=t{}_{tag}_{n}", std::process::id())
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_amendments(name: &str) -> Vec<Amendment> {
    let dir = root().join("fixtures").join(name);
    let files = pactum::input::folder_files(&dir).expect("fixture folder");
    let mut stdin = std::io::empty();
    pactum::input::read_paths(&files, &mut std::io::BufReader::new(&mut stdin))
        .expect("fixture parses")
        .into_iter()
        .map(|s| s.amendment)
        .collect()
}

// ------------------------------------------------------------ the store

/// What every store must do: ordered keys, ranges, the last key of a range,
/// atomic batches in which a later write of a key wins, scans longer than
/// one page of a paging store.
fn store_conformance(s: &dyn Store, name: &str) {
    assert_eq!(s.get(b"a").expect("get"), None, "{name}");
    s.commit(vec![
        Write::Put(b"b".to_vec(), b"2".to_vec()),
        Write::Put(b"a".to_vec(), b"1".to_vec()),
        Write::Put(b"c".to_vec(), b"3".to_vec()),
        Write::Put(b"c".to_vec(), b"33".to_vec()),
        Write::Put(vec![0xff, 0], b"hi".to_vec()),
    ])
    .expect("commit");
    assert_eq!(
        s.get(b"c").expect("get"),
        Some(b"33".to_vec()),
        "{name}: last write wins"
    );
    let keys: Vec<Vec<u8>> = s
        .scan(b"a", Some(b"c"))
        .map(|p| p.expect("scan").0)
        .collect();
    assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()], "{name}");
    let all: Vec<Vec<u8>> = s.scan(b"", None).map(|p| p.expect("scan").0).collect();
    assert_eq!(all.len(), 4, "{name}");
    assert_eq!(
        all.last(),
        Some(&vec![0xff, 0]),
        "{name}: bytes order as unsigned"
    );
    assert_eq!(
        s.last_in(b"a", b"c").expect("last"),
        Some((b"b".to_vec(), b"2".to_vec())),
        "{name}"
    );
    assert_eq!(s.last_in(b"x", b"y").expect("last"), None, "{name}");
    s.commit(vec![
        Write::Delete(b"b".to_vec()),
        Write::Put(b"d".to_vec(), b"4".to_vec()),
        Write::Delete(b"d".to_vec()),
    ])
    .expect("commit");
    assert_eq!(s.get(b"b").expect("get"), None, "{name}");
    assert_eq!(
        s.get(b"d").expect("get"),
        None,
        "{name}: a later delete wins"
    );
    // A scan over many pages, in order, none lost or repeated.
    let n = 5000u32;
    s.commit(
        (0..n)
            .map(|i| Write::Put([b"p".as_slice(), &i.to_be_bytes()].concat(), vec![7; 40]))
            .collect(),
    )
    .expect("commit many");
    let got: Vec<u32> = s
        .scan(b"p", Some(b"q"))
        .map(|p| u32::from_be_bytes(p.expect("scan").0[1..].try_into().expect("key")))
        .collect();
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "{name}: a long scan");
}

#[test]
fn every_store_passes_the_same_store_conformance_suite() {
    store_conformance(&MemStore::default(), "memory");
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = SledStore::open(&dir.path().join("l"), Duration::from_secs(5)).expect("sled");
    store_conformance(&sled, "sled");
    let pg = PgStore::connect(&pg_url("store"), true).expect("postgres");
    store_conformance(&pg, "postgres");
}

// ------------------------------------------------------------ the ledger

/// What a ledger gives on any store for the Microsoft–OpenAI history:
/// (head, state digests on three dates, the export's bytes).
fn ledger_conformance<S: Store>(store: S, name: &str) -> (String, Vec<String>, Vec<u8>) {
    let ledger = Ledger::create(store, ORIGIN).expect("create");
    let amendments = fixture_amendments("microsoft-openai");
    // One at a time for half, then the rest in one batch.
    let (first, rest) = amendments.split_at(amendments.len() / 2);
    for (i, a) in first.iter().enumerate() {
        ledger
            .append(
                std::slice::from_ref(a),
                RecordedAt(1_000 + i as i64),
                AppendOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{name}: append {i}: {e}"));
    }
    ledger
        .append(rest, RecordedAt(9_000), AppendOptions::default())
        .unwrap_or_else(|e| panic!("{name}: batch: {e}"));
    // Idempotent again: nothing new.
    let again = ledger
        .append(&amendments, RecordedAt(10_000), AppendOptions::default())
        .expect("again");
    assert!(
        again
            .outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Existing { .. })),
        "{name}"
    );
    let report = pactum::audit::audit_store(ledger.store(), None, &mut |_| {}).expect("audit");
    assert!(report.ok, "{name}: {:?}", report.failure);
    let agreement = AgreementId::new("microsoft-openai").expect("id");
    let digests = ["2024-06-01", "2025-06-01", "2026-06-01"]
        .iter()
        .map(|d| {
            let at: Date = d.parse().expect("date");
            let s = ledger.state(&agreement, at, KnownAt::All).expect("state");
            pactum::chain::hex(&s.digest)
        })
        .collect();
    let mut export = Vec::new();
    pactum::export::write_export(&ledger, &mut export, &mut |_| {}).expect("export");
    (ledger.head().checkpoint().to_string(), digests, export)
}

#[test]
fn the_same_history_gives_the_same_hashes_states_and_export_on_every_store() {
    let mem = ledger_conformance(MemStore::default(), "memory");
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = ledger_conformance(
        SledStore::open(&dir.path().join("l"), Duration::from_secs(5)).expect("sled"),
        "sled",
    );
    let pg = ledger_conformance(
        PgStore::connect(&pg_url("ledger"), true).expect("postgres"),
        "postgres",
    );
    assert_eq!(mem, sled);
    assert_eq!(mem, pg);
}

// ------------------------------------------------------------ many writers

fn amendment(agreement: &str, id: &str, first: bool) -> Amendment {
    let change = if first {
        r#"{"op":"establish","title":"T","parties":[{"id":"p","name":"P"}]}"#.to_string()
    } else {
        format!(r#"{{"op":"add","clause":"c-{id}","text":"clause {id}"}}"#)
    };
    let text = format!(
        r#"{{"agreement":"{agreement}","id":"{id}","title":"T","effective":"2024-01-01","change":[{change}]}}"#
    );
    pactum::input::parse_str("x.json", &text)
        .expect("amendment")
        .remove(0)
}

/// Eight writers, each with its own connection (as eight processes on eight
/// machines would have), append at once to one ledger, some to a shared
/// agreement and some with `expect_head` from a stale read. Every
/// acknowledged amendment is in the chain exactly once, the chain is
/// gapless, and the audit passes.
#[test]
fn eight_writers_with_their_own_connections_append_at_once() {
    let url = pg_url("writers");
    {
        let ledger =
            Ledger::open_or_create(PgStore::connect(&url, true).expect("connect"), || ORIGIN)
                .expect("create");
        ledger
            .append(
                &[amendment("shared", "start", true)],
                RecordedAt(1),
                AppendOptions::default(),
            )
            .expect("establish");
    }
    let per_writer = 12;
    let acknowledged: Vec<Vec<(String, u64)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let url = url.clone();
                s.spawn(move || {
                    let ledger = Ledger::open_or_create(
                        PgStore::connect(&url, true).expect("connect"),
                        || [w as u8; 16],
                    )
                    .expect("open");
                    let mut acked = Vec::new();
                    for i in 0..per_writer {
                        let id = format!("w{w}-{i}");
                        let a = amendment("shared", &id, false);
                        // Every third append names the head it last saw: it
                        // is refused if another writer appended since.
                        let expect_head = (i % 3 == 0).then(|| ledger.head().count);
                        match ledger.append(
                            std::slice::from_ref(&a),
                            RecordedAt(100 + i),
                            AppendOptions {
                                expect_head,
                                ..Default::default()
                            },
                        ) {
                            Ok(r) => match r.outcomes[0] {
                                Outcome::Appended { seq, .. } => acked.push((id, seq)),
                                Outcome::Existing { .. } => panic!("{id} existed"),
                            },
                            // Another writer appended since this one's last read.
                            Err(pactum::error::Error::HeadMismatch { .. }) => {}
                            Err(e) => panic!("writer {w}, {id}: {e}"),
                        }
                    }
                    acked
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect()
    });
    let reader = Ledger::open(PgStore::connect(&url, false).expect("reader")).expect("open");
    let total: usize = acknowledged.iter().map(Vec::len).sum();
    assert_eq!(
        reader.head().count as usize,
        1 + total,
        "every acknowledged append, once"
    );
    for (id, seq) in acknowledged.iter().flatten() {
        let e = reader.entry(*seq).expect("read").expect("entry");
        assert_eq!(e.amendment.id.as_str(), id, "seq {seq}");
    }
    let report = pactum::audit::audit_store(reader.store(), None, &mut |_| {}).expect("audit");
    assert!(report.ok, "{:?}", report.failure);
    assert!(
        total >= 8 * (per_writer as usize) * 2 / 3,
        "the writers without expect_head all landed"
    );
}

/// A reader sees one consistent head for its whole life while a writer
/// appends, and takes no lock the writer waits for.
#[test]
fn a_reader_keeps_one_snapshot_while_a_writer_appends() {
    let url = pg_url("snapshot");
    let writer = Ledger::open_or_create(PgStore::connect(&url, true).expect("connect"), || ORIGIN)
        .expect("create");
    writer
        .append(
            &[amendment("a", "one", true)],
            RecordedAt(1),
            AppendOptions::default(),
        )
        .expect("first");
    let reader = Ledger::open(PgStore::connect(&url, false).expect("reader")).expect("open");
    assert_eq!(reader.head().count, 1);
    for i in 0..5 {
        writer
            .append(
                &[amendment("a", &format!("more-{i}"), false)],
                RecordedAt(2 + i),
                AppendOptions::default(),
            )
            .expect("append while a reader reads");
    }
    // The reader's store still answers from its snapshot: one entry.
    let report = pactum::audit::audit_store(reader.store(), None, &mut |_| {}).expect("audit");
    assert!(report.ok && report.entries == 1, "{report:?}");
    let fresh = Ledger::open(PgStore::connect(&url, false).expect("reader")).expect("open");
    assert_eq!(fresh.head().count, 6);
    // A reader refuses to write.
    assert!(fresh
        .append(
            &[amendment("a", "nope", false)],
            RecordedAt(9),
            AppendOptions::default()
        )
        .is_err());
}

/// An administrator who edits a row is caught by the audit at its seq.
#[test]
fn a_row_edited_behind_pactums_back_is_caught_at_its_seq() {
    let url = pg_url("tamper");
    let store = PgStore::connect(&url, true).expect("connect");
    let schema = store.schema().to_string();
    let ledger = Ledger::create(store, ORIGIN).expect("create");
    for (i, a) in fixture_amendments("microsoft-openai").iter().enumerate() {
        ledger
            .append(
                std::slice::from_ref(a),
                RecordedAt(i as i64),
                AppendOptions::default(),
            )
            .expect("append");
    }
    drop(ledger);
    // Flip one byte of entry 3's stored bytes, as `psql` would.
    let (libpq, _) = pactum::store::postgres::split_url(&url).expect("url");
    let mut admin = postgres::Client::connect(&libpq, postgres::NoTls).expect("admin");
    let key: Vec<u8> = pactum::layout::keys::entry(3);
    let n = admin
        .execute(
            &format!(
                "UPDATE {schema}.kv SET value = overlay(value placing decode(lpad(to_hex(get_byte(value, 20) # 1), 2, '0'), 'hex') from 21 for 1) WHERE key = $1"
            ),
            &[&key],
        )
        .expect("edit a row");
    assert_eq!(n, 1);
    let reader = PgStore::connect(&url, false).expect("reader");
    let report = pactum::audit::audit_store(&reader, None, &mut |_| {}).expect("audit");
    let f = report.failure.expect("the edit is caught");
    assert_eq!(f.seq, Some(3), "{f}");
    assert!(!report.ok);
}

// ------------------------------------------------------------ the binary

fn pactum(ledger: &str, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    use std::io::Write as _;
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pactum"));
    c.arg("--ledger")
        .arg(ledger)
        .args(args)
        .env("PACTUM_NOW", "2026-11-27T00:00:00Z")
        .env_remove("PACTUM_LEDGER")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("run pactum");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("pactum")
}

fn text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The entry count `pactum head` prints for a ledger (0 when it prints none).
fn head_count(ledger: &str) -> u64 {
    text(&pactum(ledger, &["head"], None))
        .split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Every reader answers the same on a PostgreSQL ledger as on a sled
/// folder holding the same history (but for the ledger's name), and
/// `export | import` moves a ledger both ways with every hash.
#[test]
fn the_cli_answers_the_same_on_postgresql_as_on_sled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = dir.path().join("ledger");
    let sled = sled.to_str().expect("path");
    let url = pg_url("cli");
    let fixture = root().join("fixtures/microsoft-openai");
    let fixture = fixture.to_str().expect("path");
    let missing = pactum(&url, &["state", "microsoft-openai"], None);
    assert_eq!(missing.status.code(), Some(2), "no ledger yet");
    // A refused first append creates nothing: still no ledger.
    let bad = pactum(&url, &["append", "-"], Some(b"{\"agreement\":\"x\"}\n"));
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(pactum(&url, &["head"], None).status.code(), Some(2));
    for l in [sled, url.as_str()] {
        let o = pactum(l, &["append", fixture], None);
        assert!(
            o.status.success(),
            "{l}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    for args in [
        &["state", "microsoft-openai", "--at", "2025-06-01"][..],
        &["state", "microsoft-openai", "--at", "2025-06-01", "--json"],
        &[
            "diff",
            "microsoft-openai",
            "--from",
            "2024-12-31",
            "--to",
            "2025-02-01",
        ],
        &["history", "microsoft-openai"],
        &["list", "--json"],
        &["head"],
        &["checkpoint"],
        &["audit", "--json"],
    ] {
        let a = pactum(sled, args, None);
        let b = pactum(&url, args, None);
        assert_eq!(a.status.code(), b.status.code(), "{args:?}");
        let (ta, tb) = (text(&a), text(&b).replace(url.as_str(), sled));
        if args[0] == "head" {
            // Different origins: same shape, different hashes.
            assert_eq!(ta.split(':').next(), tb.split(':').next(), "{args:?}");
        } else if !matches!(args[0], "checkpoint" | "audit") {
            assert_eq!(ta, tb, "{args:?}");
        }
    }
    // PostgreSQL → export → a sled folder → export: the same bytes.
    let export = pactum(&url, &["export"], None);
    assert!(export.status.success());
    let copy = dir.path().join("copy");
    let copy = copy.to_str().expect("path");
    let file = dir.path().join("pg.jsonl");
    std::fs::write(&file, &export.stdout).expect("write export");
    let file = file.to_str().expect("path");
    assert!(pactum(copy, &["import", file], None).status.success());
    assert_eq!(pactum(copy, &["export"], None).stdout, export.stdout);
    // …and back into another PostgreSQL ledger.
    let back = pg_url("cli_back");
    let piped = pactum(&back, &["import", "-"], Some(&export.stdout));
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert_eq!(pactum(&back, &["export"], None).stdout, export.stdout);
    // Importing into a ledger that exists is refused, and changes nothing.
    let again = pactum(&back, &["import", file], None);
    assert_eq!(again.status.code(), Some(2));
}

/// Eight processes append at once to one PostgreSQL ledger, each naming
/// the head it last saw (`--expect-head`) on some appends: stale writers
/// are refused with exit 2, every acknowledged append is in the chain
/// exactly once, the chain is gapless and the audit passes.
#[test]
fn eight_processes_append_at_once_with_expect_head() {
    let url = pg_url("procs");
    let first = pactum(
        &url,
        &["append", "-"],
        Some(
            br#"{"agreement":"shared","id":"start","title":"Start","effective":"2024-01-01","change":[{"op":"establish","title":"T","parties":[{"id":"p","name":"P"}]}]}
"#,
        ),
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let per_process = 6;
    let results: Vec<(u32, u32)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|p| {
                let url = url.clone();
                s.spawn(move || {
                    let (mut acked, mut stale) = (0, 0);
                    for i in 0..per_process {
                        let line = format!(
                            r#"{{"agreement":"shared","id":"p{p}-{i}","title":"T","effective":"2024-01-01","change":[{{"op":"add","clause":"c-p{p}-{i}","text":"t"}}]}}"#
                        );
                        let mut args = vec!["append".to_string(), "-".to_string()];
                        if i % 2 == 1 {
                            args.push("--expect-head".into());
                            args.push(head_count(&url).to_string());
                        }
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        let o = pactum(&url, &args, Some(format!("{line}\n").as_bytes()));
                        match o.status.code() {
                            Some(0) => acked += 1,
                            Some(2) if String::from_utf8_lossy(&o.stderr).contains("head") => {
                                stale += 1
                            }
                            other => panic!(
                                "process {p}, append {i}: {other:?} {}",
                                String::from_utf8_lossy(&o.stderr)
                            ),
                        }
                    }
                    (acked, stale)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("process"))
            .collect()
    });
    let acked: u32 = results.iter().map(|r| r.0).sum();
    assert_eq!(head_count(&url), u64::from(1 + acked));
    let log = text(&pactum(&url, &["log", "--json"], None));
    assert_eq!(
        log.lines().count() as u32,
        1 + acked,
        "every acknowledged append once"
    );
    let audit = pactum(&url, &["audit"], None);
    assert!(audit.status.success(), "{}", text(&audit));
    println!(
        "8 processes: {acked} appends acknowledged, {} refused as stale",
        results.iter().map(|r| r.1).sum::<u32>()
    );
}

/// A writer killed with SIGKILL in the middle of a large append leaves
/// the ledger as it was before it, or with the whole batch: never a part.
#[test]
fn a_writer_killed_mid_transaction_leaves_all_or_nothing() {
    let url = pg_url("kill");
    let mut batch = String::from(
        r#"{"agreement":"big","id":"start","title":"Start","effective":"2024-01-01","change":[{"op":"establish","title":"T","parties":[{"id":"p","name":"P"}]}]}"#,
    );
    batch.push('\n');
    assert!(pactum(&url, &["append", "-"], Some(batch.as_bytes()))
        .status
        .success());
    let mut big = String::new();
    for i in 0..3000 {
        big.push_str(&format!(
            r#"{{"agreement":"big","id":"a{i}","title":"T","effective":"2024-01-01","change":[{{"op":"add","clause":"c{i}","text":"clause number {i}"}}]}}"#
        ));
        big.push('\n');
    }
    for delay_ms in [50u64, 150, 400] {
        use std::io::Write as _;
        let b = head_count(&url);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(["--ledger", &url, "append", "-"])
            .env("PACTUM_NOW", "2026-11-27T00:00:00Z")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(big.as_bytes()).expect("write");
        drop(stdin);
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        let n = head_count(&url);
        assert!(n > 0, "the ledger is still there");
        assert!(
            n == b || n == b + 3000,
            "killed after {delay_ms} ms: {b} entries before, {n} after"
        );
        let audit = pactum(&url, &["audit"], None);
        assert!(audit.status.success(), "{}", text(&audit));
        if n != b {
            // The batch landed whole before the kill: the next rounds
            // re-append it as already recorded.
            break;
        }
    }
}

/// A cluster of this test's own (so the other tests keep theirs), from the
/// binaries `.ci/pg` found; run as the `postgres` user, socket only.
struct OwnCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl OwnCluster {
    fn su(&self, command: &str) -> std::process::Output {
        std::process::Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", command])
            .output()
            .expect("su postgres")
    }

    fn new() -> OwnCluster {
        let bin = PathBuf::from(std::env::var("PACTUM_TEST_PG_BIN").unwrap_or_else(|_| {
            panic!("PACTUM_TEST_PG_BIN is not set: `source .ci/pg && pg_start` sets it")
        }));
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = std::process::Command::new("chown")
            .args(["postgres:", dir.path().to_str().expect("path")])
            .status()
            .expect("chown");
        assert!(ok.success());
        let c = OwnCluster { dir, bin };
        let o = c.su(&format!(
            "'{}/initdb' -D '{}/data' -A trust -U postgres --no-sync",
            c.bin.display(),
            c.dir.path().display()
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        c.start();
        c
    }

    fn start(&self) {
        let d = self.dir.path().display();
        let o = self.su(&format!(
            "'{}/pg_ctl' -D '{d}/data' -l '{d}/server.log' -w -o \"-k {d} -c listen_addresses=''\" start",
            self.bin.display()
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    fn stop_immediately(&self) {
        let o = self.su(&format!(
            "'{}/pg_ctl' -D '{}/data' -m immediate -w stop",
            self.bin.display(),
            self.dir.path().display()
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    fn url(&self) -> String {
        format!(
            "postgresql://postgres@/postgres?host={}&ledger=stopped",
            self.dir.path().display()
        )
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.su(&format!(
            "'{}/pg_ctl' -D '{}/data' -m immediate -w stop",
            self.bin.display(),
            self.dir.path().display()
        ));
    }
}

/// The server stopped with `pg_ctl stop -m immediate` while a writer
/// appends, then restarted: every append acknowledged before the stop is
/// there, nothing half-written is, and the audit passes; appends go on.
#[test]
fn the_server_stopped_immediately_mid_append_loses_nothing_acknowledged() {
    let cluster = OwnCluster::new();
    let url = cluster.url();
    let line = |id: &str, first: bool| {
        let change = if first {
            r#"{"op":"establish","title":"T","parties":[{"id":"p","name":"P"}]}"#.to_string()
        } else {
            format!(r#"{{"op":"add","clause":"c-{id}","text":"clause {id}"}}"#)
        };
        format!(
            r#"{{"agreement":"a","id":"{id}","title":"T","effective":"2024-01-01","change":[{change}]}}"#
        ) + "\n"
    };
    assert!(
        pactum(&url, &["append", "-"], Some(line("start", true).as_bytes()))
            .status
            .success()
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    let acked: Vec<String> = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut acked = Vec::new();
            for i in 0..10_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let id = format!("x{i}");
                let o = pactum(&url, &["append", "-"], Some(line(&id, false).as_bytes()));
                if o.status.success() {
                    acked.push(id);
                }
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(1500));
        cluster.stop_immediately();
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("writer")
    });
    assert!(
        !acked.is_empty(),
        "the writer acknowledged nothing before the stop"
    );
    cluster.start();
    let log = text(&pactum(&url, &["log", "--json"], None));
    for id in &acked {
        assert!(
            log.contains(&format!("\"amendment\":\"{id}\"")),
            "acknowledged {id} is lost"
        );
    }
    let audit = pactum(&url, &["audit"], None);
    assert!(audit.status.success(), "{}", text(&audit));
    let more = pactum(
        &url,
        &["append", "-"],
        Some(line("after", false).as_bytes()),
    );
    assert!(
        more.status.success(),
        "{}",
        String::from_utf8_lossy(&more.stderr)
    );
    println!(
        "server stopped mid-append: {} appends acknowledged before, all kept; {} entries after",
        acked.len(),
        log.lines().count()
    );
}

/// A read replica (PostgreSQL's own physical streaming replication, a
/// second cluster made with `pg_basebackup -R`) serves every reader: its
/// head may lag the primary's, and a consistency proof made on the primary
/// from the replica's checkpoint to the primary's shows that the replica
/// holds a prefix of the same history.
#[test]
fn a_read_replica_holds_a_verified_prefix_of_the_primary() {
    let primary = OwnCluster::new();
    let url = primary.url();
    let fixture = root().join("fixtures/microsoft-openai");
    let o = pactum(&url, &["append", fixture.to_str().expect("path")], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The replica: a base backup of the primary, streaming from it.
    let replica = tempfile::tempdir().expect("temp dir");
    assert!(std::process::Command::new("chown")
        .args(["postgres:", replica.path().to_str().expect("path")])
        .status()
        .expect("chown")
        .success());
    let r = replica.path().display();
    let o = primary.su(&format!(
        "'{}/pg_basebackup' -h '{}' -U postgres -D '{r}/data' -R -X stream",
        primary.bin.display(),
        primary.dir.path().display()
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = primary.su(&format!(
        "'{}/pg_ctl' -D '{r}/data' -l '{r}/server.log' -w -o \"-k {r} -c listen_addresses=''\" start",
        primary.bin.display()
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let replica_url = format!("postgresql://postgres@/postgres?host={r}&ledger=stopped");
    let stop_replica = || {
        primary.su(&format!(
            "'{}/pg_ctl' -D '{r}/data' -m immediate -w stop",
            primary.bin.display()
        ))
    };
    // Every reader works on the replica; a writer is refused there.
    let mut waited = 0;
    while head_count(&replica_url) < 7 && waited < 100 {
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    }
    assert_eq!(head_count(&replica_url), 7, "the replica caught up");
    let s = pactum(
        &replica_url,
        &["state", "microsoft-openai", "--at", "2025-06-01"],
        None,
    );
    assert!(s.status.success());
    assert_eq!(
        text(&s),
        text(&pactum(
            &url,
            &["state", "microsoft-openai", "--at", "2025-06-01"],
            None
        ))
    );
    assert!(pactum(&replica_url, &["audit"], None).status.success());
    let refused = pactum(
        &replica_url,
        &["append", fixture.to_str().expect("path")],
        None,
    );
    assert_ne!(refused.status.code(), Some(0), "a replica takes no writes");
    // The replica's checkpoint, then the primary moves on.
    let dir = tempfile::tempdir().expect("temp dir");
    let old = dir.path().join("replica-checkpoint.txt");
    let old_s = old.to_str().expect("path");
    assert!(pactum(&replica_url, &["checkpoint", "-o", old_s], None)
        .status
        .success());
    let more = pactum(
        &url,
        &["append", "-"],
        Some(
            br#"{"agreement":"other","id":"one","title":"T","effective":"2024-01-01","change":[{"op":"establish","title":"Other","parties":[{"id":"p","name":"P"}]}]}
"#,
        ),
    );
    assert!(
        more.status.success(),
        "{}",
        String::from_utf8_lossy(&more.stderr)
    );
    let new = dir.path().join("primary-checkpoint.txt");
    let new_s = new.to_str().expect("path");
    assert!(pactum(&url, &["checkpoint", "-o", new_s], None)
        .status
        .success());
    let proof = pactum(&url, &["prove", "--consistency", "7"], None);
    assert!(
        proof.status.success(),
        "{}",
        String::from_utf8_lossy(&proof.stderr)
    );
    let proof_file = dir.path().join("consistency.json");
    std::fs::write(&proof_file, &proof.stdout).expect("write proof");
    let v = pactum(
        &url,
        &[
            "verify",
            proof_file.to_str().expect("path"),
            "--checkpoint",
            new_s,
            "--old-checkpoint",
            old_s,
        ],
        None,
    );
    assert!(
        v.status.success(),
        "{}{}",
        text(&v),
        String::from_utf8_lossy(&v.stderr)
    );
    println!("replica: {}", text(&v).trim());
    stop_replica();
}

/// A password in the `--ledger` URL (a `password` parameter here; the
/// test cluster trusts local connections, so libpq sends it unused) never
/// shows in what the CLI prints: "no ledger", the append summary, import.
#[test]
fn the_url_password_never_shows() {
    let url = format!("{}&password=s3cret-pw", pg_url("pw"));
    let missing = pactum(&url, &["head"], None);
    let appended = pactum(
        &url,
        &[
            "append",
            &root()
                .join("fixtures/microsoft-openai")
                .display()
                .to_string(),
        ],
        None,
    );
    assert!(appended.status.success());
    let export = pactum(&url, &["export"], None);
    let other = format!("{}&password=s3cret-pw", pg_url("pw2"));
    let imported = pactum(&other, &["import", "-"], Some(&export.stdout));
    assert!(imported.status.success());
    for (what, o) in [
        ("head", &missing),
        ("append", &appended),
        ("import", &imported),
    ] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(all.contains("password=***"), "{what}: {all}");
        assert!(
            !all.contains("s3cret-pw"),
            "{what} shows the password: {all}"
        );
    }
}
