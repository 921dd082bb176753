//! The checks behind pactum's fuzz targets, shared by the targets
//! (`fuzz/fuzz_targets/*.rs`, run with `cargo +nightly fuzz run TARGET`) and
//! by their replay on stable (`tests/it/fuzz_regressions.rs`, part of the
//! normal `cargo test`), which includes this file with `#[path]`.
//!
//! Each `check_<target>(data)` returns quietly or panics: a panic in the
//! library is a finding, and so is a failed `assert!` here.
//!
//! * [`check_decode_entry`]: stored bytes (an entry, or a stored value
//!   `entry ‖ leaf ‖ chain`) through the codec, `decode_stored`, the
//!   verifier, `append_raw` and the audit.
//! * [`check_parse_input`]: the first byte picks TOML, JSON or JSON Lines,
//!   the rest is the text.
//! * [`check_model`] and [`check_model_sled`] (`checks/model.rs`): the bytes
//!   are a program (decoded with `arbitrary`) of appends (valid and
//!   invalid), retractions, reopenings, queries, proofs, tampering and
//!   export/import, run against a memory (or sled) ledger and the naive
//!   reference model of `tests/it/properties/reference.rs`.
//! * [`check_checkpoint`], [`check_proof`], [`check_export`]
//!   (`checks/documents.rs`): checkpoint texts, proof documents with their
//!   checkpoints (the `verify` path) and export files, judged against two
//!   small ledgers that share a prefix and then fork.
//! * [`check_location`] (`checks/location.rs`): a `--ledger` location (a
//!   folder or a PostgreSQL URL) as text: the URL split, libpq's parser,
//!   the password hidden in messages.
//!
//! Only `pactum`, `arbitrary`, `serde_json`, `postgres` and std are used,
//! so this compiles both in the fuzz crate and in the main crate's tests.

#![allow(dead_code)]

use pactum::audit::{audit_store, Verifier};
use pactum::chain::{self, Origin};
use pactum::codec::{self, Entry};
use pactum::error::Error;
use pactum::export;
use pactum::input;
use pactum::layout::{self, keys, StoredEntry};
use pactum::ledger::{AppendOptions, Head, Outcome};
use pactum::limits::AMENDMENT_BYTES_MAX;
use pactum::model::*;
use pactum::projection::{self, KnownAt, ProjectionError, Segment};
use pactum::store::MemStore;
use pactum::Ledger;

#[path = "../tests/it/properties/bridge.rs"]
mod bridge;
#[path = "../tests/it/properties/reference.rs"]
mod reference;

#[path = "checks/documents.rs"]
pub mod documents;
#[path = "checks/location.rs"]
pub mod location;
#[path = "checks/model.rs"]
pub mod model;

pub use documents::{check_checkpoint, check_export, check_proof};
pub use location::check_location;
#[allow(unused_imports)] // `run_model` and `ModelStats`: for the replay test
pub use model::{check_model, check_model_sled, run_model, ModelStats};

/// The fuzz targets, named as in `fuzz/Cargo.toml` and `fuzz/seeds/`.
///
/// The signed-note and key parsers have their own target, `note`, whose
/// check is `fuzz/check_note.rs` (replayed by `tests/it/note.rs`).
pub const TARGETS: [&str; 8] = [
    "model",
    "model_sled",
    "decode_entry",
    "parse_input",
    "checkpoint",
    "proof",
    "export",
    "location",
];

/// Runs the check of `target` on `data`.
pub fn check(target: &str, data: &[u8]) {
    match target {
        "model" => check_model(data),
        "model_sled" => check_model_sled(data),
        "decode_entry" => check_decode_entry(data),
        "parse_input" => check_parse_input(data),
        "checkpoint" => check_checkpoint(data),
        "proof" => check_proof(data),
        "export" => check_export(data),
        "location" => check_location(data),
        other => panic!("no fuzz target `{other}`"),
    }
}

/// The origin of `fixtures/golden/v1-export.jsonl`, so that the stored
/// values of its entry 0 in the seeds pass every check of the audit.
pub const GOLDEN_ORIGIN: Origin = [
    0xdc, 0x88, 0x25, 0xa2, 0xd3, 0x32, 0xe8, 0xf8, 0xfa, 0x63, 0xec, 0x9d, 0x64, 0xa2, 0x0c, 0x16,
];

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).expect("a real date")
}

/// A few dates to ask about any agreement.
fn probe_dates() -> [Date; 5] {
    [
        date(1, 1, 1),
        date(2019, 7, 22),
        date(2024, 1, 1),
        date(2025, 6, 1),
        date(9999, 12, 31),
    ]
}

// ------------------------------------------------------------ decode_entry

/// `data` as entry bytes and as a stored value: decoding never panics, a
/// decoded entry re-encodes to exactly `data`, and what decodes behaves in
/// the verifier, `append_raw`, the audit and the projections.
pub fn check_decode_entry(data: &[u8]) {
    // 1. The codec: decode, and re-encode to the same bytes.
    match codec::decode_entry(data) {
        Ok(e) => {
            let again = codec::encode_entry(&e).expect("a decoded entry encodes again");
            assert!(
                again == data,
                "decode then encode gives other bytes: {} in, {} out",
                data.len(),
                again.len()
            );
            assert!(
                e.amendment.validate().is_ok(),
                "a decoded amendment is invalid"
            );
            let bytes = codec::amendment_bytes(&e.amendment).expect("the amendment encodes");
            assert!(bytes.len() <= AMENDMENT_BYTES_MAX);
            decoded_entry(data, &e);
        }
        Err(err) => {
            assert!(!err.to_string().is_empty());
        }
    }
    // 2. The bytes as a stored value `entry ‖ leaf ‖ chain` at seq 0.
    match layout::decode_stored(0, data) {
        Ok((e, chain_hash)) => {
            let stored = StoredEntry::split(data).expect("a decoded value splits");
            assert_eq!(chain_hash, stored.chain);
            assert_eq!(e.seq, 0, "decode_stored(0) returned another seq");
            assert_eq!(chain::leaf(stored.bytes), stored.leaf);
            assert_eq!(codec::decode_entry(stored.bytes).as_ref(), Ok(&e));
            stored_value_in_a_ledger(data, Some((&e, &stored)));
        }
        Err(err) => {
            let _ = err.to_string();
            stored_value_in_a_ledger(data, None);
        }
    }
}

/// Entry bytes that decode: the stored-value path, the verifier, and (for
/// seq 0) a ledger made of it.
fn decoded_entry(data: &[u8], e: &Entry) {
    let genesis = chain::genesis(&GOLDEN_ORIGIN);
    let leaf = chain::leaf(data);
    let link = chain::link(&genesis, e.seq, &leaf);
    let value = StoredEntry::join(data, &leaf, &link);
    assert_eq!(
        layout::decode_stored(e.seq, &value).ok(),
        Some((e.clone(), link)),
        "a well-formed stored value does not decode"
    );
    if let Some(other) = e.seq.checked_add(1) {
        assert!(layout::decode_stored(other, &value).is_err());
    }
    let mut wrong_leaf = value.clone();
    let at = data.len();
    wrong_leaf[at] ^= 1;
    assert!(layout::decode_stored(e.seq, &wrong_leaf).is_err());
    let mut v = Verifier::new(&GOLDEN_ORIGIN, None);
    let checked = v.check(e.seq, data, &leaf, &link);
    // Signatures are the verifier's, not the decoder's: entry 0 is refused
    // (kind `signature`) exactly when its lines are not what its own keys
    // require, and then import refuses it too.
    let signed = pactum::note::check_signatures(None, &e.amendment, &e.signatures).is_ok();
    if e.seq == 0 && !signed {
        assert_eq!(
            checked.as_ref().err().map(|f| f.kind),
            Some(pactum::audit::Kind::Signature),
            "the verifier accepts entry 0 with bad signatures"
        );
        let l = Ledger::create(MemStore::default(), GOLDEN_ORIGIN).expect("a new ledger");
        let before = l.store().dump();
        assert!(l.append_raw(&[(data.to_vec(), link)]).is_err());
        assert!(before == l.store().dump(), "a refused append_raw wrote");
        return;
    }
    if e.seq == 0 {
        assert_eq!(
            checked.as_ref().ok(),
            Some(e),
            "the verifier refuses entry 0"
        );
        assert_eq!(v.count(), 1);
    } else {
        assert!(
            checked.is_err(),
            "the verifier accepts entry {} first",
            e.seq
        );
        return;
    }
    // A ledger made of this one entry by import (`append_raw`).
    let l = Ledger::create(MemStore::default(), GOLDEN_ORIGIN).expect("a new ledger");
    let before = l.store().dump();
    match l.append_raw(&[(data.to_vec(), link)]) {
        Err(err) => {
            assert!(
                matches!(err, Error::Damaged { .. }),
                "append_raw failed with {err:?}"
            );
            assert!(before == l.store().dump(), "a refused append_raw wrote");
            assert_eq!(l.head().count, 0);
        }
        Ok(cp) => {
            assert_eq!(cp.count, 1);
            assert_eq!(l.head().checkpoint(), cp);
            let report = audit_store(l.store(), Some(cp.into()), &mut |_| {}).expect("audit runs");
            assert!(
                report.ok,
                "audit of an imported entry: {:?}",
                report.failure
            );
            // Appending the same amendment again is a no-op.
            let r = l
                .append(
                    std::slice::from_ref(&e.amendment),
                    e.recorded_at,
                    AppendOptions::default(),
                )
                .expect("re-appending a recorded amendment");
            assert_eq!(r.outcomes, vec![Outcome::Existing { seq: 0 }]);
            let reopened = reopen(&l);
            assert_eq!(reopened.head(), l.head());
            assert_eq!(reopened.checkpoint_text(), l.checkpoint_text());
            let ag = &e.amendment.agreement;
            let entries = reopened.agreement_entries(ag).expect("readable entries");
            assert_eq!(entries, vec![e.clone()]);
            for at in probe_dates() {
                for known in [KnownAt::All, KnownAt::Seq(0), KnownAt::Time(RecordedAt(0))] {
                    let s = projection::state(ag, &entries, at, known);
                    assert!(
                        !matches!(s, Err(ProjectionError::Inconsistent(_))),
                        "an accepted entry does not replay: {s:?}"
                    );
                }
            }
            let _ = projection::history(ag, &entries, None, KnownAt::All).expect("a history");
        }
    }
}

/// A stored value at seq 0 of an otherwise well-formed store (indexes and
/// head made to match it when it decodes): the audit and the readers never
/// panic, and the audit passes exactly when the value is intact (and, as
/// the first entry of a ledger, a valid history: its timeline replays).
fn stored_value_in_a_ledger(data: &[u8], decoded: Option<(&Entry, &StoredEntry<'_>)>) {
    let l = Ledger::create(MemStore::default(), GOLDEN_ORIGIN).expect("a new ledger");
    let store = l.store();
    store.raw_put(keys::entry(0), data.to_vec());
    let mut projected = false;
    let (chain_hash, recorded_at) = match decoded {
        Some((e, stored)) => {
            store.raw_put(keys::by_agreement(&e.amendment.agreement, 0), Vec::new());
            store.raw_put(
                keys::by_id(&e.amendment.agreement, &e.amendment.id),
                0u64.to_be_bytes().to_vec(),
            );
            projected = project(store, e);
            (stored.chain, e.recorded_at)
        }
        None => {
            let tail = data.len().saturating_sub(32);
            let mut h = [0u8; 32];
            let tail = &data[tail..];
            h[..tail.len()].copy_from_slice(tail);
            (h, RecordedAt(0))
        }
    };
    let head = Head {
        count: 1,
        chain: chain_hash,
        recorded_at: Some(recorded_at),
    };
    store.raw_put(keys::meta("head"), head.encode());
    let report = audit_store(store, None, &mut |_| {}).expect("audit runs on memory");
    let intact = decoded.is_some_and(|(e, stored)| {
        stored.chain == chain::link(&chain::genesis(&GOLDEN_ORIGIN), 0, &stored.leaf)
            && e.seq == 0
            && projected
    });
    assert_eq!(
        report.ok,
        intact,
        "the audit says {:?} of a stored value that is {}",
        report.failure,
        if intact { "intact" } else { "damaged" }
    );
    // Readers on the damaged or intact store never panic.
    let copy = MemStore::default();
    for (k, v) in store.dump() {
        copy.raw_put(k, v);
    }
    if let Ok(opened) = Ledger::open(copy) {
        let _ = opened.entry(0);
        let _ = opened.checkpoint_text_at(1);
        let _ = opened.inclusion_proof(0, 1);
        let _ = opened.entries(0).count();
        if let Ok(ags) = opened.agreements() {
            for ag in ags {
                if let Ok(entries) = opened.agreement_entries(&ag) {
                    for at in probe_dates() {
                        let _ = projection::state(&ag, &entries, at, KnownAt::All);
                    }
                }
            }
        }
        let mut out = Vec::new();
        let _ = export::write_export(&opened, &mut out, &mut |_| {});
    } else {
        assert!(!report.ok, "the audit passes a ledger that does not open");
    }
}

// ------------------------------------------------------------ parse_input

/// The formats the first byte selects.
const FORMATS: [(&str, input::Format); 3] = [
    ("fuzz.toml", input::Format::Toml),
    ("fuzz.json", input::Format::Json),
    ("fuzz.jsonl", input::Format::JsonLines),
];

/// The first byte picks the format (`% 3`: TOML, JSON, JSON Lines), the rest
/// is the input. Parsing never panics; an error is an input error naming
/// the file and a plausible line and column; what parses is valid and
/// survives the codec inside an entry; a one-line JSON text gives the same
/// verdict as JSON and as JSON Lines.
pub fn check_parse_input(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (name, format) = FORMATS[sel as usize % 3];
    let text = String::from_utf8_lossy(rest);
    let parsed: Result<Vec<Amendment>, Error> = match format {
        input::Format::Toml => input::parse_toml(name, &text).map(|a| vec![a]),
        input::Format::Json => input::parse_json(name, None, &text).map(|a| vec![a]),
        input::Format::JsonLines => {
            input::parse_jsonl(name, rest).map(|v| v.into_iter().map(|s| s.amendment).collect())
        }
    };
    match &parsed {
        Ok(amendments) => {
            for a in amendments {
                parsed_amendment(a);
            }
        }
        Err(e) => input_error(name, &text, e),
    }
    // One line of JSON: the same verdict (and amendment) both ways, read as
    // files are (a leading byte order mark dropped: `input::read_file` drops
    // it before `parse_json`, `parse_jsonl` itself). A blank text is no
    // amendment as JSON and none (no error) as JSON Lines.
    let stripped = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if format == input::Format::Json
        && std::str::from_utf8(rest).is_ok()
        && !rest.contains(&b'\n')
        && !stripped.trim().is_empty()
    {
        let as_json = input::parse_json(name, None, stripped).map(|a| vec![a]);
        let as_line = input::parse_jsonl(name, rest);
        match (&as_json, &as_line) {
            (Ok(a), Ok(b)) => {
                let b: Vec<&Amendment> = b.iter().map(|s| &s.amendment).collect();
                assert_eq!(
                    a.iter().collect::<Vec<_>>(),
                    b,
                    "JSON and JSON Lines differ"
                );
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!(
                "one line of JSON: as JSON {}, as JSON Lines {}",
                verdict(a),
                verdict(b)
            ),
        }
    }
    // Redlines of two pieces of the text reconstruct both.
    let cut = |s: &str, max: usize| -> String { s.chars().take(max).collect() };
    let half = text.len() / 2;
    let (x, y) = match text.is_char_boundary(half) {
        true => text.split_at(half),
        false => (&text[..], ""),
    };
    check_redline(&cut(x, 200), &cut(y, 200));
}

fn verdict<T, E: std::fmt::Display>(r: &Result<T, E>) -> String {
    match r {
        Ok(_) => "accepted".into(),
        Err(e) => format!("refused ({e})"),
    }
}

fn input_error(name: &str, text: &str, e: &Error) {
    let msg = e.to_string();
    let Error::Input { location, message } = e else {
        panic!("a parse error that is not an input error: {e:?}");
    };
    assert_eq!(location.file, name, "{msg}");
    assert!(!message.trim().is_empty(), "an empty message: {msg:?}");
    let lines = text.bytes().filter(|b| *b == b'\n').count() as u32 + 1;
    if let Some(l) = location.line {
        assert!(
            l >= 1 && l <= lines,
            "line {l} of a {lines}-line text: {msg}"
        );
    }
    if let Some(c) = location.column {
        assert!(location.line.is_some(), "a column without a line: {msg}");
        assert!(c >= 1, "column {c}: {msg}");
    }
}

/// An amendment that parsed: valid, and the same after the codec.
fn parsed_amendment(a: &Amendment) {
    if let Err(inv) = a.validate() {
        panic!("a parsed amendment is invalid: {}", inv.message);
    }
    let bytes = codec::amendment_bytes(a).expect("a parsed amendment encodes");
    if bytes.len() > AMENDMENT_BYTES_MAX {
        // The ledger refuses it before it makes an entry.
        return;
    }
    let e = Entry {
        seq: 0,
        recorded_at: RecordedAt(0),
        amendment: a.clone(),
        signatures: Vec::new(),
    };
    let Ok(stored) = codec::encode_entry(&e) else {
        return;
    };
    match codec::decode_entry(&stored) {
        Ok(back) => assert_eq!(back, e, "the codec changed a parsed amendment"),
        Err(err) => panic!("a parsed amendment's entry does not decode: {err}"),
    }
    // The ledger takes it as its first entry or refuses it (never panics),
    // and writes nothing when it refuses.
    let l = Ledger::create(MemStore::default(), GOLDEN_ORIGIN).expect("a new ledger");
    let before = l.store().dump();
    match l.append(
        std::slice::from_ref(a),
        RecordedAt(0),
        AppendOptions::default(),
    ) {
        Ok(r) => {
            assert_eq!(r.head.count, 1);
            let report = audit_store(l.store(), None, &mut |_| {}).expect("audit runs");
            assert!(report.ok, "{:?}", report.failure);
            let entries = l.agreement_entries(&a.agreement).expect("readable");
            for at in probe_dates() {
                let s = projection::state(&a.agreement, &entries, at, KnownAt::All);
                assert!(!matches!(s, Err(ProjectionError::Inconsistent(_))), "{s:?}");
            }
        }
        Err(Error::Refused(_)) => assert!(before == l.store().dump()),
        Err(other) => panic!("append failed: {other}"),
    }
}

/// The words of a redline give back both texts, and adjacent segments differ in kind.
pub fn check_redline(a: &str, b: &str) {
    let segs = projection::redline(a, b);
    let mut x: Vec<&str> = Vec::new();
    let mut y: Vec<&str> = Vec::new();
    for s in &segs {
        match s {
            Segment::Same(t) => {
                x.extend(t.split_whitespace());
                y.extend(t.split_whitespace());
            }
            Segment::Removed(t) => x.extend(t.split_whitespace()),
            Segment::Added(t) => y.extend(t.split_whitespace()),
        }
    }
    assert_eq!(
        x,
        a.split_whitespace().collect::<Vec<_>>(),
        "redline lost words of {a:?}"
    );
    assert_eq!(
        y,
        b.split_whitespace().collect::<Vec<_>>(),
        "redline lost words of {b:?}"
    );
    for w in segs.windows(2) {
        assert_ne!(
            std::mem::discriminant(&w[0]),
            std::mem::discriminant(&w[1]),
            "adjacent segments of one kind"
        );
    }
}

/// Stores the projections (timeline pages) of a lone first entry, as an
/// append would; false when its changes do not make a valid timeline.
fn project(store: &MemStore, e: &Entry) -> bool {
    if e.amendment.is_retraction() {
        return false;
    }
    let Ok(mut w) = pactum::timeline::Work::load(store, &e.amendment.agreement) else {
        return false;
    };
    match w.add(store, pactum::layout::steps_of(0, &e.amendment)) {
        Ok(Ok(())) => {}
        _ => return false,
    }
    let mut writes = Vec::new();
    w.writes(&mut writes);
    for wr in writes {
        if let pactum::store::Write::Put(k, v) = wr {
            store.raw_put(k, v);
        }
    }
    true
}

/// A copy of a memory ledger, opened.
fn reopen(l: &Ledger<MemStore>) -> Ledger<MemStore> {
    let store = MemStore::default();
    for (k, v) in l.store().dump() {
        store.raw_put(k, v);
    }
    let reopened = Ledger::open(store).expect("a ledger reopens");
    assert_eq!(reopened.origin(), l.origin());
    assert_eq!(reopened.head(), l.head(), "the head changed on reopening");
    reopened
}
