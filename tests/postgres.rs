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
fn pg_url(tag: &str) -> String {
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
