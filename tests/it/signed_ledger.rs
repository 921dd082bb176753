//! Signed agreements recorded (product.md §8): entry format version 2,
//! append judged against the keys in force in recording order (the batch's
//! earlier amendments included), the readers naming the signers, the audit,
//! the export audit and import re-verifying every signature — on the memory
//! store, sled and PostgreSQL; and a forger who rewrites the whole chain
//! (every hash, Merkle node, index key, projection and the head) is still
//! caught at the entry whose signatures were changed.

use std::collections::BTreeMap;

use pactum::audit::{audit_store, Kind};
use pactum::catalog::{signers_by_seq, Signer};
use pactum::chain::{self, Checkpoint, Hash, Origin};
use pactum::codec::{self, Entry};
use pactum::export::{verify_export, EntryLine, Header};
use pactum::layout::{entry_keys, keys, Head};
use pactum::ledger::{AppendOptions, Outcome, Submission};
use pactum::merkle::Frontier;
use pactum::model::{Amendment, RecordedAt};
use pactum::note::{sign_amendment, SigLine, SignerKey};
use pactum::store::{MemStore, PgStore, SledStore, Store, Write};
use pactum::{Error, Ledger};

pub(crate) const ORIGIN: Origin = [9; 16];
const T0: i64 = 1_790_000_000_000_000;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// A change a forger makes to one entry.
type Mutation<'a> = Box<dyn Fn(&mut Entry) + 'a>;

/// The keys of the history: party `a`'s first and second key, party `b`'s,
/// and a key of no party.
struct Keys {
    a1: SignerKey,
    a2: SignerKey,
    b: SignerKey,
    x: SignerKey,
}

fn keys_of_the_history() -> Keys {
    let k = |name: &str, seed: u8| SignerKey::from_seed(name, [seed; 32]).expect("a key");
    Keys {
        a1: k("a.example", 1),
        a2: k("a.example", 2),
        b: k("b.example", 3),
        x: k("x.example", 4),
    }
}

fn amendment(json: &str) -> Amendment {
    let mut v = pactum::input::parse_str("t.json", json).expect("the test amendment parses");
    assert_eq!(v.len(), 1);
    v.remove(0)
}

fn establish(k: &Keys) -> Amendment {
    amendment(&format!(
        r#"{{"agreement":"deal","id":"e","title":"Start","effective":"2025-01-01","change":[
        {{"op":"establish","title":"Deal","parties":[{{"id":"a","name":"A","key":"{}"}},{{"id":"b","name":"B","key":"{}"}}]}},
        {{"op":"add","clause":"price","text":"Ten per unit.","terms":{{"usd":10}}}}]}}"#,
        k.a1.verifier(),
        k.b.verifier()
    ))
}

fn price(id: &str, usd: u32, date: &str) -> Amendment {
    amendment(&format!(
        r#"{{"agreement":"deal","id":"{id}","title":"Price {usd}","effective":"{date}","change":[
        {{"op":"amend","clause":"price","set":{{"usd":{usd}}}}}]}}"#
    ))
}

fn rekey_a(k: &Keys) -> Amendment {
    amendment(&format!(
        r#"{{"agreement":"deal","id":"rekey-a","title":"A's new key","change":[
        {{"op":"rekey","party":"a","key":"{}"}}]}}"#,
        k.a2.verifier()
    ))
}

fn plain() -> Amendment {
    amendment(
        r#"{"agreement":"plain","id":"p","title":"Unsigned","effective":"2025-01-01","change":[
        {"op":"establish","title":"Plain","parties":[{"id":"c","name":"C"}]}]}"#,
    )
}

fn signed(a: Amendment, by: &[&SignerKey]) -> Submission {
    let signatures = by
        .iter()
        .map(|k| sign_amendment(&a, k).expect("signs"))
        .collect();
    Submission {
        amendment: a,
        signatures,
    }
}

fn refusal<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Refused(r)) => r.message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn parties(s: &[Signer]) -> Vec<String> {
    s.iter()
        .map(|s| {
            let p = s.party.as_ref().map_or("?".to_string(), |p| p.to_string());
            if s.new_key {
                format!("{p}+")
            } else {
                p
            }
        })
        .collect()
}

/// Records the signed history on `ledger`, checking every refusal on the
/// way; reopens it (keys in force are read back from the store) and goes
/// on; returns the ledger.
pub(crate) fn record<S: Store>(ledger: Ledger<S>, reopen: impl FnOnce(S) -> S) -> Ledger<S> {
    let k = keys_of_the_history();
    let now = |n: i64| RecordedAt(T0 + n);
    let o = AppendOptions::default();
    // An establish signed by one party of two: refused, naming the other.
    let m = refusal(ledger.append_signed(&[signed(establish(&k), &[&k.a1])], now(0), o));
    assert!(m.contains("no signature by `b`"), "{m}");
    assert_eq!(ledger.head().count, 0);
    // Signed by both, with an unsigned agreement beside it.
    let r = ledger
        .append_signed(
            &[
                signed(establish(&k), &[&k.b, &k.a1]),
                plain().into(),
                signed(price("p1", 11, "2025-02-01"), &[&k.a1, &k.b]),
            ],
            now(1),
            o,
        )
        .expect("a signed establish and amendment are accepted");
    assert_eq!(r.head.count, 3);
    // Unsigned, half signed, signed by a stranger too: refused, naming whom.
    for (by, says) in [
        (vec![], "no signature by `a`, `b`"),
        (vec![&k.b], "no signature by `a`"),
        (
            vec![&k.a1, &k.b, &k.x],
            "signed by keys of no party: x.example+",
        ),
    ] {
        let m =
            refusal(ledger.append_signed(&[signed(price("p2", 12, "2025-03-01"), &by)], now(2), o));
        assert!(m.contains(says), "{m} (wanted {says})");
    }
    // A signature of another amendment does not move.
    let mut moved = signed(price("p2", 12, "2025-03-01"), &[&k.a1, &k.b]);
    moved.signatures[0] = sign_amendment(&price("p3", 12, "2025-03-01"), &k.a1).expect("sign");
    let m = refusal(ledger.append_signed(&[moved], now(2), o));
    assert!(m.contains("invalid signature by `a`"), "{m}");
    // Lines on an amendment of an unsigned agreement are refused.
    let m = refusal(ledger.append_signed(
        &[signed(
            amendment(
                r#"{"agreement":"plain","id":"p2","title":"T","effective":"2025-02-01","change":[{"op":"occur","event":"x"}]}"#,
            ),
            &[&k.a1],
        )],
        now(2),
        o,
    ));
    assert!(m.contains("keys of no party"), "{m}");
    assert_eq!(ledger.head().count, 3);
    // The rekey and an amendment signed with the new key, in one batch:
    // keys follow recording order inside a batch too.
    let m = refusal(ledger.append_signed(&[signed(rekey_a(&k), &[&k.a1, &k.b])], now(3), o));
    assert!(m.contains("no signature by `a (new key)`"), "{m}");
    ledger
        .append_signed(
            &[
                signed(rekey_a(&k), &[&k.a1, &k.b, &k.a2]),
                signed(price("p2", 12, "2025-03-01"), &[&k.a2, &k.b]),
            ],
            now(4),
            o,
        )
        .expect("the rekey and an amendment signed with the new key");
    // Reopened: the keys in force come back from the store.
    let ledger = Ledger::open(reopen(ledger.into_store())).expect("reopens");
    let m = refusal(ledger.append_signed(
        &[signed(price("p3", 13, "2025-04-01"), &[&k.a1, &k.b])],
        now(5),
        o,
    ));
    assert!(
        m.contains("no signature by `a`") && m.contains("keys of no party: a.example+"),
        "{m}"
    );
    // A rekey cannot be retracted.
    let retract = amendment(
        r#"{"agreement":"deal","id":"undo","title":"Undo","change":[{"op":"retract","amendment":"rekey-a","reason":"no"}]}"#,
    );
    let m = refusal(ledger.append_signed(&[signed(retract, &[&k.a2, &k.b])], now(5), o));
    assert!(m.contains("cannot be retracted"), "{m}");
    let r = ledger
        .append_signed(
            &[signed(price("p3", 13, "2025-04-01"), &[&k.b, &k.a2])],
            now(6),
            o,
        )
        .expect("signed with the keys in force");
    assert_eq!(r.head.count, 6);
    // The same amendment again, without its lines: already recorded.
    let r = ledger
        .append_signed(&[price("p3", 13, "2025-04-01").into()], now(7), o)
        .expect("idempotent");
    assert_eq!(r.outcomes, vec![Outcome::Existing { seq: 5 }]);
    ledger
}

/// What every store must show after [`record`].
fn check_recorded<S: Store>(ledger: &Ledger<S>) {
    let versions: Vec<u8> = (0..6)
        .map(|seq| {
            let v = ledger
                .store()
                .get(&keys::entry(seq))
                .expect("read")
                .expect("an entry");
            v[0]
        })
        .collect();
    // Signed entries take version 2; the unsigned agreement's, version 1.
    assert_eq!(versions, [2, 1, 2, 2, 2, 2]);
    let report = audit_store(ledger.store(), None, &mut |_| {}).expect("audit");
    assert!(report.ok, "{:?}", report.failure);
    let deal = ledger
        .agreement_entries(&"deal".parse().expect("id"))
        .expect("entries");
    let by = signers_by_seq(&deal);
    let got: Vec<(u64, Vec<String>)> = deal
        .iter()
        .map(|e| (e.seq, parties(by.get(&e.seq).map_or(&[][..], |v| v))))
        .collect();
    let s = |v: &[&str]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (0, s(&["b", "a"])),
            (2, s(&["a", "b"])),
            (3, s(&["a", "b", "a+"])),
            (4, s(&["a", "b"])),
            (5, s(&["b", "a"])),
        ]
    );
    // The state's numbers are the last signed price.
    let st = ledger
        .state(
            &"deal".parse().expect("id"),
            "2026-01-01".parse().expect("date"),
            pactum::projection::KnownAt::All,
        )
        .expect("state");
    assert!(
        format!("{:?}", st.clauses).contains("13"),
        "{:?}",
        st.clauses
    );
}

#[test]
fn a_signed_history_on_memory_and_sled() {
    let mem = record(
        Ledger::create(MemStore::default(), ORIGIN).expect("ledger"),
        |s| s,
    );
    check_recorded(&mem);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l");
    let sled = record(
        Ledger::create(
            SledStore::open(&path, std::time::Duration::from_secs(5)).expect("sled"),
            ORIGIN,
        )
        .expect("ledger"),
        |s| {
            drop(s);
            SledStore::open(&path, std::time::Duration::from_secs(5)).expect("sled again")
        },
    );
    check_recorded(&sled);
    // The same bytes on both.
    assert_eq!(sled.head(), mem.head());
}

#[test]
fn a_signed_history_on_postgresql() {
    let url = crate::postgres::pg_url("signed");
    let pg = record(
        Ledger::create(PgStore::connect(&url, true).expect("connect"), ORIGIN).expect("ledger"),
        |s| {
            drop(s);
            PgStore::connect(&url, true).expect("connect again")
        },
    );
    check_recorded(&pg);
    let mem = record(
        Ledger::create(MemStore::default(), ORIGIN).expect("ledger"),
        |s| s,
    );
    assert_eq!(pg.head(), mem.head());
}

// ------------------------------------------------------------ forgery

/// The pristine ledger's entries.
pub(crate) fn entries_of(ledger: &Ledger<MemStore>) -> Vec<Entry> {
    ledger.entries(0).map(|r| r.expect("an entry").0).collect()
}

/// A perfect rewrite: every key a writer would have written for `entries`
/// (entries with their hashes, index and idempotency keys, key-change and
/// retraction keys, Merkle nodes, the projections, the head) — without any
/// of the writer's checks. Also the export of the same entries.
pub(crate) fn forge(entries: &[Entry]) -> (Map, String) {
    let store = MemStore::default();
    let mut writes = vec![
        Write::Put(keys::meta("format"), vec![pactum::ledger::LAYOUT_VERSION]),
        Write::Put(keys::meta("origin"), ORIGIN.to_vec()),
    ];
    let mut tree = Frontier::default();
    let mut prev: Hash = chain::genesis(&ORIGIN);
    let mut export = format!(
        "{}\n",
        serde_json::to_string(&Header {
            pactum_export: 1,
            origin: chain::hex(&ORIGIN),
        })
        .expect("json")
    );
    for e in entries {
        let bytes = codec::encode_entry(e).expect("encodes");
        let leaf = chain::leaf(&bytes);
        let link = chain::link(&prev, e.seq, &leaf);
        let nodes = tree.push(leaf);
        for (k, v) in entry_keys(e, &bytes, &leaf, &link, &nodes) {
            writes.push(Write::Put(k, v));
        }
        export.push_str(
            &serde_json::to_string(&EntryLine::new(e, &bytes, &leaf, &link)).expect("json"),
        );
        export.push('\n');
        prev = link;
    }
    let head = Head {
        count: entries.len() as u64,
        chain: prev,
        recorded_at: entries.last().map(|e| e.recorded_at),
    };
    writes.push(Write::Put(keys::meta("head"), head.encode()));
    store.commit(writes).expect("commit");
    let projections = pactum::timeline::rebuild(&store).expect("the entries replay");
    store.commit(projections).expect("commit");
    export.push_str(&format!(
        "{{\"head\":\"{}\"}}\n",
        Checkpoint {
            count: head.count,
            hash: head.chain,
        }
    ));
    (store.dump(), export)
}

fn store_of(map: &Map) -> MemStore {
    let s = MemStore::default();
    for (k, v) in map {
        s.raw_put(k.clone(), v.clone());
    }
    s
}

/// What the audit, the export audit and import say of a forged history.
fn verdicts(entries: &[Entry]) -> [Option<(Kind, Option<u64>)>; 3] {
    let (map, export) = forge(entries);
    let audit = audit_store(&store_of(&map), None, &mut |_| {}).expect("audit");
    let exported = verify_export(&mut export.as_bytes(), None, &mut |_, _, _| {});
    let imported = pactum::export::import(MemStore::default(), &mut export.as_bytes());
    // Import refuses before writing, naming the failure of the export.
    let imported = match imported {
        Ok((_, r)) => r.failure.map(|f| (f.kind, f.seq)),
        Err(Error::Damaged { seq, detail }) if detail.contains("signature") => {
            Some((Kind::Signature, seq))
        }
        Err(e) => panic!("import failed otherwise: {e}"),
    };
    [
        audit.failure.map(|f| (f.kind, f.seq)),
        exported.report.failure.map(|f| (f.kind, f.seq)),
        imported,
    ]
}

#[test]
fn a_forger_who_rewrites_the_chain_cannot_forge_signatures() {
    let ledger = record(
        Ledger::create(MemStore::default(), ORIGIN).expect("ledger"),
        |s| s,
    );
    let pristine = entries_of(&ledger);
    // The control: the forger's rewrite of the true history is the history.
    let (map, _) = forge(&pristine);
    assert_eq!(
        map,
        ledger.store().dump(),
        "the forger writes what the writer wrote"
    );
    assert_eq!(verdicts(&pristine), [None, None, None]);
    let other_line = |seq: usize, key: &SignerKey| -> SigLine {
        sign_amendment(&pristine[(seq + 2) % pristine.len()].amendment, key).expect("sign")
    };
    let k = &keys_of_the_history();
    let other_line = &other_line;
    let mut tried = 0;
    for (i, e) in pristine.iter().enumerate() {
        if e.signatures.is_empty() {
            continue;
        }
        let mutations: Vec<(&str, Mutation)> = vec![
            (
                "a flipped signature bit",
                Box::new(|e| e.signatures[0].sig[7] ^= 0x10),
            ),
            (
                "a line removed",
                Box::new(|e| {
                    e.signatures.pop();
                }),
            ),
            ("every line removed", Box::new(|e| e.signatures.clear())),
            (
                "a line of another amendment",
                Box::new(move |e| {
                    e.signatures[0] = other_line(i, if i == 0 { &k.b } else { &k.a1 })
                }),
            ),
            (
                "a line by a stranger added",
                Box::new(|e| {
                    let line = sign_amendment(&e.amendment, &k.x).expect("sign");
                    e.signatures.push(line)
                }),
            ),
        ];
        for (what, m) in mutations {
            let mut forged = pristine.clone();
            m(&mut forged[i]);
            let v = verdicts(&forged);
            let at = Some((Kind::Signature, Some(i as u64)));
            assert_eq!(v[0], at, "audit of {what} at entry {i}");
            assert_eq!(v[1], at, "export audit of {what} at entry {i}");
            assert_eq!(v[2], at, "import of {what} at entry {i}");
            tried += 1;
        }
    }
    assert!(tried >= 25, "{tried} forgeries");
}

// ------------------------------------------------------------ format.md

fn format_md() -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/format.md"))
        .expect("docs/format.md")
}

/// The worked example of a version 2 entry in `docs/format.md` §21.9: a
/// signed establish of two parties (keys from seeds 0x03 and 0x04), signed
/// by both, recorded as entry 0 at 2026-11-01T12:00:00Z. Every value the
/// section shows is rebuilt here and must stand in the file as printed.
#[test]
fn format_md_signed_entry_example() {
    let a_key = SignerKey::from_seed("a.example", [3; 32]).expect("key");
    let b_key = SignerKey::from_seed("b.example", [4; 32]).expect("key");
    let a = amendment(&format!(
        r#"{{"agreement":"deal","id":"start","title":"Start","effective":"2026-01-01","change":[
        {{"op":"establish","title":"Deal","parties":[{{"id":"a","name":"A","key":"{}"}},{{"id":"b","name":"B","key":"{}"}}]}}]}}"#,
        a_key.verifier(),
        b_key.verifier()
    ));
    let note = pactum::note::amendment_note(&a).expect("note");
    let e = Entry {
        seq: 0,
        recorded_at: RecordedAt(1_793_534_400_000_000),
        signatures: vec![
            sign_amendment(&a, &a_key).expect("sign"),
            sign_amendment(&a, &b_key).expect("sign"),
        ],
        amendment: a.clone(),
    };
    let bytes = codec::encode_entry(&e).expect("encodes");
    let signed_bytes = codec::amendment_bytes(&a).expect("bytes");
    let lines_len = bytes.len() - 17 - signed_bytes.len();
    let values = [
        ("a's verifier key", a_key.verifier().to_string()),
        ("b's verifier key", b_key.verifier().to_string()),
        ("signed bytes (hex)", chain::hex(&signed_bytes)),
        ("note text", note.clone()),
        ("a's line", e.signatures[0].to_string()),
        ("b's line", e.signatures[1].to_string()),
        ("entry bytes (hex)", chain::hex(&bytes)),
        ("leaf", chain::hex(&chain::leaf(&bytes))),
        (
            "layout",
            format!(
                "{} bytes: 1 (version) + 16 (seq, recorded_at) + {lines_len} (signature lines) + {} (signed bytes)",
                bytes.len(),
                signed_bytes.len()
            ),
        ),
    ];
    let doc = format_md();
    let mut missing = Vec::new();
    for (what, v) in &values {
        println!("{what}:\n{v}\n");
        if !doc.contains(v.trim_end()) {
            missing.push(*what);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/format.md §21.9 lacks: {missing:?}"
    );
}

/// The Python script of `docs/format.md` §21.10, taken from the file, on
/// the export of the signed history: it accepts it, and refuses copies with
/// a changed signature, a missing line, and every line of an entry removed.
#[test]
fn python_signature_verifier_in_format_md() {
    if !crate::signatures::python_with_cryptography() {
        return;
    }
    let doc = format_md();
    let section = &doc[doc.find("### 21.10").expect("§21.10")..];
    let start = section.find("```python\n").expect("script") + "```python\n".len();
    let script = &section[start..start + section[start..].find("```").expect("end")];
    let dir = tempfile::tempdir().expect("tempdir");
    let py = dir.path().join("verify_signatures.py");
    std::fs::write(&py, script).expect("write");
    let ledger = record(
        Ledger::create(MemStore::default(), ORIGIN).expect("ledger"),
        |s| s,
    );
    let pristine = entries_of(&ledger);
    let run = |entries: &[Entry]| -> (bool, String) {
        let (_, export) = forge(entries);
        let file = dir.path().join("export.jsonl");
        std::fs::write(&file, export).expect("write");
        let o = std::process::Command::new("python3")
            .arg(&py)
            .arg(&file)
            .output()
            .expect("python3");
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let (ok, out) = run(&pristine);
    assert!(ok && out.contains("ok: 5 signed entries"), "{out}");
    let mut tried = 0;
    for (i, e) in pristine.iter().enumerate() {
        if e.signatures.is_empty() {
            continue;
        }
        for what in ["a changed signature", "a missing line", "no lines"] {
            let mut forged = pristine.clone();
            let s = &mut forged[i].signatures;
            match what {
                "a changed signature" => s[1].sig[20] ^= 1,
                "a missing line" => {
                    s.remove(0);
                }
                _ => s.clear(),
            }
            let (ok, out) = run(&forged);
            assert!(!ok, "{what} at entry {i} passed: {out}");
            assert!(
                out.contains("InvalidSignature") || out.contains("AssertionError"),
                "{what} at entry {i}: {out}"
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 15);
}
