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
//! * [`check_model`]: the bytes are a program of appends (valid and invalid),
//!   reopenings, queries, proofs, tampering and export/import, run against
//!   an in-memory ledger and the naive reference model of
//!   `tests/it/properties/reference.rs`.
//!
//! Only `pactum` and std are used, so this compiles both in the fuzz crate
//! and in the main crate's tests.

#![allow(dead_code)]

use std::collections::BTreeSet;

use pactum::audit::{audit_store, Verifier};
use pactum::chain::{self, Origin};
use pactum::codec::{self, Entry};
use pactum::error::Error;
use pactum::export;
use pactum::input;
use pactum::layout::keys;
use pactum::layout::{self, StoredEntry};
use pactum::ledger::{AppendOptions, Head, Outcome};
use pactum::limits::AMENDMENT_BYTES_MAX;
use pactum::model::*;
use pactum::projection::{self, KnownAt, ProjectionError, Segment, State};
use pactum::proof;
use pactum::store::MemStore;
use pactum::Ledger;

#[path = "../tests/it/properties/bridge.rs"]
mod bridge;
#[path = "../tests/it/properties/reference.rs"]
mod reference;
use bridge::{model_digest, to_ref};

use reference::{RefEntry, RefError, Verdict, View};

/// The fuzz targets, named as in `fuzz/Cargo.toml` and `fuzz/seeds/`.
pub const TARGETS: [&str; 3] = ["decode_entry", "parse_input", "model"];

/// Runs the check of `target` on `data`.
pub fn check(target: &str, data: &[u8]) {
    match target {
        "decode_entry" => check_decode_entry(data),
        "parse_input" => check_parse_input(data),
        "model" => check_model(data),
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
    // One line of JSON: the same verdict (and amendment) both ways.
    if format == input::Format::Json
        && std::str::from_utf8(rest).is_ok()
        && !rest.contains(&b'\n')
        && !text.trim().is_empty()
    {
        let as_line = input::parse_jsonl(name, rest);
        match (&parsed, &as_line) {
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

// ------------------------------------------------------------ model

/// The model target's ledger origin.
const ORIGIN: Origin = [7; 16];
/// 2024-01-15T00:00:00Z, in microseconds: the first recorded time.
const BASE_TIME: i64 = 1_705_276_800_000_000;
const HOUR: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR;
/// Program steps run at most (bounds the time of one input).
const STEPS_MAX: usize = 80;

const AGREEMENTS: [&str; 2] = ["a", "b"];
/// Never recorded: every state of it is `Unknown`.
const NEVER: &str = "zz-never";
const CLAUSES: [&str; 4] = ["c1", "c2", "c3", "c4"];
const EVENTS: [&str; 2] = ["e1", "e2"];
const TERMS: [&str; 4] = ["active", "fee_usd", "label", "start"];
const TEXTS: [&str; 5] = [
    "The supplier delivers the goods.",
    "Fees are due within thirty days.",
    "Azure is the exclusive cloud provider.",
    "Zeile eins\nZeile zwei\tmit Tab: Übung.",
    "日本語の条項",
];
const TITLES: [&str; 3] = ["Supply agreement", "Partnership", "Licence ✓"];

/// What a model program did (the replay test prints the sums for the seeds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
    /// Program steps run.
    pub steps: usize,
    /// Appends the ledger accepted (each may hold several amendments).
    pub appends_ok: usize,
    /// Appends it refused (as the model predicted).
    pub appends_refused: usize,
    /// Entries recorded at the end.
    pub entries: usize,
    /// States compared with the model.
    pub states: usize,
    /// Reopenings.
    pub reopens: usize,
    /// Tamperings the audit caught.
    pub tampers: usize,
    /// Proofs made and verified.
    pub proofs: usize,
    /// Exports imported again.
    pub exports: usize,
}

impl ModelStats {
    /// Adds another program's counts.
    pub fn add(&mut self, o: &ModelStats) {
        self.steps += o.steps;
        self.appends_ok += o.appends_ok;
        self.appends_refused += o.appends_refused;
        self.entries += o.entries;
        self.states += o.states;
        self.reopens += o.reopens;
        self.tampers += o.tampers;
        self.proofs += o.proofs;
        self.exports += o.exports;
    }
}

/// The model target: runs `data` as a program (see [`run_model`]).
pub fn check_model(data: &[u8]) {
    run_model(data);
}

/// Bytes read as small numbers; past the end every byte reads 0.
struct Program<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Program<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.byte() as usize % n
        }
    }
    /// True with about `percent` % chance.
    fn chance(&mut self, percent: usize) -> bool {
        (self.byte() as usize * 100) / 256 < percent
    }
    fn pick<'x, T>(&mut self, xs: &'x [T]) -> &'x T {
        &xs[self.below(xs.len())]
    }
}

/// Runs `data` as a program against an in-memory ledger and the reference
/// model, checking after every step; returns what it did.
///
/// Each step is one byte of opcode and its operands:
/// appends of one to three amendments built from a small vocabulary
/// (agreements `a`/`b`, clauses `c1`…`c4`, events `e1`/`e2`, dates in the
/// 60 days from 2024-01-01, every op, sometimes invalid or reusing an id),
/// dry runs, `expect_head`, reopening, states at dates and views, proofs,
/// tampering with a copy, export and import, diff and history.
pub fn run_model(data: &[u8]) -> ModelStats {
    let mut m = Machine::new();
    let mut p = Program { data, pos: 0 };
    while !p.done() && m.stats.steps < STEPS_MAX {
        m.stats.steps += 1;
        match p.below(24) {
            0..=8 => {
                let n = if p.chance(20) { 2 + p.below(2) } else { 1 };
                m.append(&mut p, n, AppendOptions::default());
            }
            9 => {
                let n = 1 + p.below(2);
                let opts = AppendOptions {
                    dry_run: true,
                    expect_head: None,
                };
                m.append(&mut p, n, opts);
            }
            10 => {
                let n = m.entries.len() as u64;
                let expect = match p.below(3) {
                    0 => n,
                    1 => n + 1,
                    _ => n.saturating_sub(1),
                };
                m.append(
                    &mut p,
                    1,
                    AppendOptions {
                        dry_run: false,
                        expect_head: Some(expect),
                    },
                );
            }
            11 => m.reappend(&mut p),
            12 | 13 => m.reopen(),
            14..=16 => m.query(&mut p),
            17 => m.prove(&mut p),
            18 => m.tamper(&mut p),
            19 => m.export_import(),
            20 => m.diff_history(&mut p),
            _ => {
                // A retraction of a recorded amendment (valid or not).
                m.retract(&mut p);
            }
        }
        m.invariants();
    }
    m.final_checks();
    m.stats.entries = m.entries.len();
    m.stats
}

struct Machine {
    ledger: Ledger<MemStore>,
    /// Every recorded entry, in seq order, as the model holds them.
    entries: Vec<RefEntry>,
    /// The time passed to the last append.
    clock: i64,
    /// Fresh amendment ids made so far.
    fresh: usize,
    /// `days[i]` is 2023-12-31 plus `i` days.
    days: Vec<Date>,
    stats: ModelStats,
    /// The head and reopen count when the entries were last compared.
    checked: Option<(Head, usize)>,
}

fn ag_id(s: &str) -> AgreementId {
    AgreementId::new(s).expect("an agreement id")
}

fn of(entries: &[RefEntry], ag: &AgreementId) -> Vec<RefEntry> {
    entries
        .iter()
        .filter(|e| &e.amendment.agreement == ag)
        .cloned()
        .collect()
}

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

fn known_of(view: View) -> KnownAt {
    match view {
        View::All => KnownAt::All,
        View::Seq(n) => KnownAt::Seq(n),
        View::Time(t) => KnownAt::Time(RecordedAt(t)),
    }
}

impl Machine {
    fn new() -> Machine {
        let mut days = vec![date(2023, 12, 31)];
        for i in 0..220 {
            let next = days[i].next().expect("a next day");
            days.push(next);
        }
        Machine {
            ledger: Ledger::create(MemStore::default(), ORIGIN).expect("a new ledger"),
            entries: Vec::new(),
            clock: BASE_TIME,
            fresh: 0,
            days,
            stats: ModelStats::default(),
            checked: None,
        }
    }

    fn day(&self, i: usize) -> Date {
        self.days[i.min(self.days.len() - 1)]
    }

    /// A date for a change: 2024-01-01 to 2024-02-29.
    fn some_day(&self, p: &mut Program<'_>) -> Date {
        self.day(1 + p.below(60))
    }

    fn plus(&self, d: Date, n: usize) -> Date {
        let i = self.days.iter().position(|x| *x == d).unwrap_or(0);
        self.day(i + n)
    }

    fn minus(&self, d: Date, n: usize) -> Date {
        let i = self.days.iter().position(|x| *x == d).unwrap_or(0);
        self.day(i.saturating_sub(n))
    }

    // ---------------------------------------------------- building amendments

    fn text(&self, p: &mut Program<'_>) -> String {
        format!("{} {}", p.pick(&TEXTS), p.below(3))
    }

    fn term_value(&self, p: &mut Program<'_>) -> TermValue {
        match p.below(5) {
            0 => TermValue::Integer(*p.pick(&[0, 1, -7, 1_000_000, i64::MIN, i64::MAX])),
            1 => TermValue::Boolean(p.chance(50)),
            2 => TermValue::Date(self.some_day(p)),
            3 if p.chance(5) => TermValue::Text("2024-02-30".into()),
            _ => TermValue::Text(p.pick(&["net 30", "", "ROFR", "x y  z"]).to_string()),
        }
    }

    fn terms(&self, p: &mut Program<'_>) -> Terms {
        let mut t = Terms::new();
        for _ in 0..p.below(3) {
            let name = TermName::new(*p.pick(&TERMS)).expect("a term name");
            t.insert(name, self.term_value(p));
        }
        t
    }

    fn until(&self, p: &mut Program<'_>, d: Date) -> Option<Date> {
        if !p.chance(25) {
            return None;
        }
        Some(if p.chance(8) {
            self.minus(d, 1) // before the change: invalid
        } else {
            self.plus(d, p.below(12))
        })
    }

    fn until_event(&self, p: &mut Program<'_>) -> Option<EventId> {
        p.chance(20)
            .then(|| EventId::new(*p.pick(&EVENTS)).expect("an event id"))
    }

    /// A clause: mostly one in force (`in_force`) or not, as asked.
    fn clause(&self, p: &mut Program<'_>, w: &reference::World, in_force: bool) -> ClauseId {
        let fit: Vec<&str> = CLAUSES
            .iter()
            .copied()
            .filter(|c| w.clauses.contains_key(*c) == in_force)
            .collect();
        let c = if fit.is_empty() || p.chance(15) {
            *p.pick(&CLAUSES)
        } else {
            *p.pick(&fit)
        };
        ClauseId::new(c).expect("a clause id")
    }

    /// One candidate amendment of an agreement whose entries are `all`
    /// (the batch's earlier candidates included).
    fn amendment(&mut self, p: &mut Program<'_>, all: &[RefEntry]) -> Amendment {
        let ag = ag_id(AGREEMENTS[p.below(AGREEMENTS.len())]);
        let mine = of(all, &ag);
        let sel = p.byte();
        if sel < 24 && !mine.is_empty() {
            // An id already recorded: the same content, or another title.
            let mut a = mine[sel as usize % mine.len()].amendment.clone();
            if sel % 2 == 1 {
                a.title.push_str(" (revised)");
            }
            return a;
        }
        let refs: Vec<&RefEntry> = mine.iter().collect();
        let live = reference::live(&refs);
        let ch = reference::changes(&live);
        let established = ch
            .iter()
            .any(|(_, _, pos, a)| matches!(a.changes[*pos].op, Op::Establish { .. }));
        let ever = reference::fold(&ch, None).unwrap_or_default();
        let eff = self.some_day(p);
        let id = AmendmentId::new(format!("m{}", self.fresh)).expect("an amendment id");
        self.fresh += 1;
        let n = 1 + if p.chance(25) { 1 + p.below(2) } else { 0 };
        let mut changes: Vec<Change> = Vec::new();
        for i in 0..n {
            let own = p.chance(15).then(|| self.some_day(p));
            let d = own.unwrap_or(eff);
            let w = reference::fold(&ch, Some(d)).unwrap_or_default();
            let kind = p.below(32);
            let op = match kind {
                _ if i == 0 && !established && kind < 26 => Op::Establish {
                    title: p.pick(&TITLES).to_string(),
                    parties: {
                        let mut v = vec![Party {
                            id: PartyId::new("p1").expect("party"),
                            name: "Party One".into(),
                            key: None,
                        }];
                        if p.chance(40) {
                            let dup = p.chance(5);
                            v.push(Party {
                                id: PartyId::new(if dup { "p1" } else { "p2" }).expect("party"),
                                name: "Partei Zwei".into(),
                                key: None,
                            });
                        }
                        v
                    },
                },
                0 => Op::Establish {
                    title: "Again".into(),
                    parties: vec![Party {
                        id: PartyId::new("p9").expect("party"),
                        name: "Nine".into(),
                        key: None,
                    }],
                },
                1..=9 | 28..=31 => Op::Add {
                    clause: self.clause(p, &w, false),
                    heading: p.chance(30).then(|| "Heading".to_string()),
                    text: self.text(p),
                    terms: self.terms(p),
                    until: self.until(p, d),
                    until_event: self.until_event(p),
                },
                10..=17 => {
                    let clause = self.clause(p, &w, true);
                    let current: Vec<String> = w
                        .clauses
                        .get(clause.as_str())
                        .map(|c| c.terms.keys().cloned().collect())
                        .unwrap_or_default();
                    let set = if p.chance(40) {
                        self.terms(p)
                    } else {
                        Terms::new()
                    };
                    let mut unset: BTreeSet<TermName> = BTreeSet::new();
                    if p.chance(30) {
                        let pool: Vec<String> = if current.is_empty() || p.chance(10) {
                            TERMS.iter().map(|t| t.to_string()).collect()
                        } else {
                            current
                        };
                        for _ in 0..1 + p.below(2) {
                            unset.insert(TermName::new(p.pick(&pool).clone()).expect("term"));
                        }
                    }
                    let mut unset: Vec<TermName> = unset.into_iter().collect();
                    if p.chance(3) {
                        if let Some(t) = unset.first().cloned() {
                            unset.push(t); // named twice: invalid
                        }
                    }
                    let heading = p.chance(25).then(|| "Amended heading".to_string());
                    let text = p.chance(50).then(|| self.text(p));
                    let until = self.until(p, d);
                    let until_event = p
                        .chance(10)
                        .then(|| EventId::new(*p.pick(&EVENTS)).expect("event"));
                    Op::Amend {
                        clause,
                        heading,
                        text,
                        set,
                        unset,
                        until,
                        until_event,
                    }
                }
                18..=20 => Op::Repeal {
                    clause: self.clause(p, &w, true),
                },
                21..=24 => {
                    let open: Vec<&str> = EVENTS
                        .iter()
                        .copied()
                        .filter(|e| !ever.occurred.contains_key(*e))
                        .collect();
                    let e = if open.is_empty() || p.chance(10) {
                        *p.pick(&EVENTS)
                    } else {
                        *p.pick(&open)
                    };
                    Op::Occur {
                        event: EventId::new(e).expect("event"),
                        note: p.chance(30).then(|| "it happened".to_string()),
                    }
                }
                25 | 26 => Op::Retract {
                    amendment: self.target(p, &mine),
                    reason: "recorded by mistake".into(),
                },
                _ => Op::Terminate {
                    note: p.chance(50).then(|| "the end".to_string()),
                },
            };
            changes.push(Change { effective: own, op });
        }
        let mut a = Amendment {
            agreement: ag,
            id,
            title: format!("Amendment {}", self.fresh),
            effective: Some(eff),
            signed: p.chance(10).then(|| self.minus(eff, 1)),
            source: p.chance(10).then(|| "https://example.com/deal".to_string()),
            changes,
        };
        if a.is_retraction() && !p.chance(5) {
            // Mostly well-formed: alone, with no date of its own.
            a.changes.truncate(1);
            a.changes[0].effective = None;
            a.effective = None;
            a.signed = None;
        }
        // Now and then, something invalid on its own.
        match p.below(48) {
            0 => a.title = " ".into(),
            1 => a.changes.clear(),
            2 => a.effective = None,
            3 => a.title = "Tab\tand bell\u{7}".into(),
            4 => a.source = Some(String::new()),
            _ => {}
        }
        a
    }

    /// The id a retraction names: mostly one of the agreement's.
    fn target(&self, p: &mut Program<'_>, mine: &[RefEntry]) -> AmendmentId {
        if mine.is_empty() || p.chance(8) {
            AmendmentId::new("no-such").expect("an amendment id")
        } else {
            p.pick(mine).amendment.id.clone()
        }
    }

    // ---------------------------------------------------- steps

    fn next_time(&mut self, p: &mut Program<'_>) -> i64 {
        self.clock = match p.below(8) {
            0 => self.clock,
            1 => self.clock + 1,
            2 | 3 => self.clock + (1 + p.below(6) as i64) * HOUR,
            4 | 5 => self.clock + DAY_US,
            6 => self.clock + 3 * DAY_US,
            _ => self.clock - HOUR, // the clock steps back: clamped by the ledger
        };
        self.clock
    }

    /// Builds a batch of `n` candidates and appends it.
    fn append(&mut self, p: &mut Program<'_>, n: usize, opts: AppendOptions) {
        let mut tentative = self.entries.clone();
        let mut batch = Vec::new();
        for _ in 0..n {
            let a = self.amendment(p, &tentative);
            let mine = of(&tentative, &a.agreement);
            if reference::judge(&mine, &a, tentative.len() as u64) == Verdict::New {
                tentative.push(RefEntry {
                    seq: tentative.len() as u64,
                    recorded_at: 0,
                    amendment: a.clone(),
                });
            }
            batch.push(a);
        }
        let now = self.next_time(p);
        self.append_batch(batch, now, opts);
    }

    /// Appends `batch` and checks every verdict, seq and time against the model.
    fn append_batch(&mut self, batch: Vec<Amendment>, now: i64, opts: AppendOptions) {
        let mut tentative = self.entries.clone();
        let mut verdicts = Vec::new();
        for a in &batch {
            let mine = of(&tentative, &a.agreement);
            let v = reference::judge(&mine, a, tentative.len() as u64);
            if v == Verdict::New {
                tentative.push(RefEntry {
                    seq: tentative.len() as u64,
                    recorded_at: 0,
                    amendment: a.clone(),
                });
            }
            verdicts.push(v);
        }
        let first_refused = verdicts
            .iter()
            .position(|v| matches!(v, Verdict::Refused(_)));
        let count = self.entries.len() as u64;
        let mismatch = opts.expect_head.is_some_and(|n| n != count);
        let dump = self.ledger.store().dump();
        let head = self.ledger.head();
        let result = self.ledger.append(&batch, RecordedAt(now), opts);
        let unchanged = |l: &Ledger<MemStore>, why: &str| {
            assert!(dump == l.store().dump(), "{why}: the store changed");
            assert_eq!(head, l.head(), "{why}: the head changed");
        };
        if mismatch {
            assert!(
                matches!(result, Err(Error::HeadMismatch { .. })),
                "expect_head {:?} with {count} entries: {result:?}",
                opts.expect_head
            );
            unchanged(&self.ledger, "a head mismatch");
            return;
        }
        match (first_refused, result) {
            (Some(i), Err(Error::Refused(r))) => {
                assert_eq!(
                    r.index, i,
                    "the ledger refuses amendment {} of the batch ({r}), the model {i}: {verdicts:?}",
                    r.index
                );
                unchanged(&self.ledger, "a refusal");
                self.stats.appends_refused += 1;
            }
            (None, Ok(report)) => {
                let time = self
                    .entries
                    .last()
                    .map_or(now, |e| e.recorded_at.max(now));
                assert_eq!(report.recorded_at, RecordedAt(time));
                assert_eq!(report.outcomes.len(), batch.len());
                let mut seq = count;
                let mut new = Vec::new();
                for ((o, v), a) in report.outcomes.iter().zip(&verdicts).zip(&batch) {
                    match (*o, v) {
                        (Outcome::Appended { seq: s, .. }, Verdict::New) => {
                            assert_eq!(s, seq);
                            new.push(RefEntry {
                                seq: s,
                                recorded_at: time,
                                amendment: a.clone(),
                            });
                            seq += 1;
                        }
                        (Outcome::Existing { seq: s }, Verdict::Existing(m)) => {
                            assert_eq!(s, *m, "an existing amendment at another seq")
                        }
                        (o, v) => panic!("the ledger says {o:?}, the model {v:?}"),
                    }
                }
                assert_eq!(report.head.count, seq);
                if opts.dry_run {
                    unchanged(&self.ledger, "a dry run");
                } else {
                    for (o, e) in report.outcomes.iter().filter_map(|o| match o {
                        Outcome::Appended { chain, .. } => Some(chain),
                        Outcome::Existing { .. } => None,
                    }).zip(&new) {
                        assert_eq!(self.ledger.entry_hash(e.seq).ok().flatten(), Some(*o));
                    }
                    self.entries.extend(new);
                    assert_eq!(report.head, self.ledger.head().checkpoint());
                    self.stats.appends_ok += 1;
                }
            }
            (f, r) => panic!(
                "the model's verdicts are {verdicts:?} (first refusal {f:?}), the ledger says {r:?} for {batch:?}"
            ),
        }
    }

    /// A recorded amendment again (a no-op), or changed (refused), with a new one.
    fn reappend(&mut self, p: &mut Program<'_>) {
        if self.entries.is_empty() {
            return;
        }
        let mut old = p.pick(&self.entries).amendment.clone();
        if p.chance(30) {
            old.signed = Some(date(2020, 2, 29));
        }
        let recorded = self.entries.clone();
        let fresh = self.amendment(p, &recorded);
        let batch = if p.chance(50) {
            vec![old, fresh]
        } else {
            vec![fresh, old]
        };
        let now = self.next_time(p);
        self.append_batch(batch, now, AppendOptions::default());
    }

    /// A retraction of some recorded amendment.
    fn retract(&mut self, p: &mut Program<'_>) {
        let ag = ag_id(AGREEMENTS[p.below(AGREEMENTS.len())]);
        let mine = of(&self.entries, &ag);
        let target = self.target(p, &mine);
        let id = AmendmentId::new(format!("r{}", self.fresh)).expect("an amendment id");
        self.fresh += 1;
        let a = Amendment {
            agreement: ag,
            id,
            title: "Erratum".into(),
            effective: None,
            signed: None,
            source: None,
            changes: vec![Change {
                effective: None,
                op: Op::Retract {
                    amendment: target,
                    reason: "a typo".into(),
                },
            }],
        };
        let now = self.next_time(p);
        self.append_batch(vec![a], now, AppendOptions::default());
    }

    fn reopen(&mut self) {
        let before = self.ledger.checkpoint_text();
        self.ledger = reopen(&self.ledger);
        assert_eq!(self.ledger.checkpoint_text(), before);
        self.stats.reopens += 1;
    }

    /// A view: all, a seq, or a time around a recorded one.
    fn view(&self, p: &mut Program<'_>) -> View {
        let n = self.entries.len();
        match p.below(3) {
            0 => View::All,
            1 => View::Seq(p.below(n + 2) as u64),
            _ => {
                if n == 0 || p.chance(10) {
                    View::Time(BASE_TIME - 1)
                } else {
                    let t = p.pick(&self.entries).recorded_at;
                    View::Time(t - p.below(2) as i64)
                }
            }
        }
    }

    fn query(&mut self, p: &mut Program<'_>) {
        let ag = match p.below(5) {
            0 => ag_id(NEVER),
            i => ag_id(AGREEMENTS[i % 2]),
        };
        let at = self.day(p.below(66));
        let view = self.view(p);
        self.compare(&ag, at, view);
    }

    /// The library's state against the model's.
    fn compare(&mut self, ag: &AgreementId, at: Date, view: View) {
        let entries = self.ledger.agreement_entries(ag).expect("readable entries");
        let mine = of(&self.entries, ag);
        self.compare_with(ag, &entries, &mine, at, view);
    }

    /// [`Machine::compare`] with the agreement's entries read once: the
    /// ledger's (`entries`) and the model's (`mine`).
    fn compare_with(
        &mut self,
        ag: &AgreementId,
        entries: &[Entry],
        mine: &[RefEntry],
        at: Date,
        view: View,
    ) {
        let known = known_of(view);
        let lib = projection::state(ag, entries, at, known);
        let model = reference::state(mine, at, view);
        self.stats.states += 1;
        match (&lib, &model) {
            (Ok(s), Ok(m)) => {
                assert_eq!(&s.agreement, ag);
                assert_eq!(s.at, at);
                assert_eq!(s.known_at, known);
                assert_eq!(&to_ref(s), m, "{ag} at {at} known at {known}");
                assert_eq!(s.digest, model_digest(ag, m), "digest of {ag} at {at}");
            }
            (Err(ProjectionError::Unknown(a)), Err(RefError::Unknown)) => assert_eq!(a, ag),
            (Err(ProjectionError::NotYetKnown { agreement, .. }), Err(RefError::NotYetKnown)) => {
                assert_eq!(agreement, ag)
            }
            (Err(ProjectionError::NotEstablished(a)), Err(RefError::NotEstablished)) => {
                assert_eq!(a, ag)
            }
            (l, m) => {
                panic!("{ag} at {at} known at {known}: the library gives {l:?}, the model {m:?}")
            }
        }
    }

    fn prove(&mut self, p: &mut Program<'_>) {
        let n = self.entries.len() as u64;
        if n == 0 {
            assert!(self.ledger.checkpoint_text_at(1).is_err());
            return;
        }
        let size = 1 + p.below(n as usize) as u64;
        let e = &self.entries[p.below(size as usize)];
        let cp = self.ledger.checkpoint_text_at(size).expect("a checkpoint");
        let pr =
            proof::prove_inclusion(&self.ledger, &e.amendment.agreement, &e.amendment.id, size)
                .expect("an inclusion proof");
        let proved = proof::verify_inclusion(&pr, &cp).expect("a fresh inclusion proof verifies");
        assert_eq!(proved.seq, e.seq);
        assert_eq!(proved.amendment, e.amendment);
        if !pr.path.is_empty() {
            let mut bad = pr.clone();
            let i = p.below(bad.path.len());
            let mut h = chain::unbase64(&bad.path[i]).expect("base64");
            h[p.below(32)] ^= 1 << p.below(8);
            bad.path[i] = chain::base64(&h);
            assert!(
                proof::verify_inclusion(&bad, &cp).is_err(),
                "a bent path verifies"
            );
        }
        let old = 1 + p.below(size as usize) as u64;
        let cp_old = self
            .ledger
            .checkpoint_text_at(old)
            .expect("an old checkpoint");
        let c = proof::prove_consistency(&self.ledger, old, size).expect("a consistency proof");
        proof::verify_consistency(&c, &cp_old, &cp).expect("a fresh consistency proof verifies");
        assert_eq!(
            self.ledger
                .checkpoint_text_at(n)
                .expect("the last checkpoint"),
            self.ledger.checkpoint_text()
        );
        self.stats.proofs += 1;
    }

    /// One key or value of a copy changed: the audit notices; readers do not panic.
    fn tamper(&mut self, p: &mut Program<'_>) {
        let dump = self.ledger.store().dump();
        let pairs: Vec<(&Vec<u8>, &Vec<u8>)> = dump.iter().collect();
        let (k, v) = pairs[p.below(pairs.len())];
        let copy = MemStore::default();
        for (k2, v2) in &dump {
            if k2 != k {
                copy.raw_put(k2.clone(), v2.clone());
            }
        }
        let how = match p.below(4) {
            0 => "removed",
            1 if !v.is_empty() => {
                let mut v = v.clone();
                let i = p.below(v.len());
                v[i] ^= 1 << p.below(8);
                copy.raw_put(k.clone(), v);
                "a bit of its value flipped"
            }
            2 => {
                let mut v = v.clone();
                v.push(p.byte());
                copy.raw_put(k.clone(), v);
                "a byte appended to its value"
            }
            _ => {
                let mut k2 = k.clone();
                let i = p.below(k2.len());
                k2[i] ^= 1 << p.below(8);
                if dump.contains_key(&k2) {
                    // Renamed onto another key: that one is lost.
                    copy.raw_delete(&k2);
                }
                copy.raw_put(k2, v.clone());
                "a bit of its key flipped"
            }
        };
        let report = audit_store(&copy, None, &mut |_| {}).expect("audit runs on memory");
        assert!(
            !report.ok,
            "the audit misses key {:?} {how}",
            String::from_utf8_lossy(k)
        );
        if let Ok(l) = Ledger::open(copy) {
            for ag in AGREEMENTS {
                if let Ok(entries) = l.agreement_entries(&ag_id(ag)) {
                    let _ = projection::state(&ag_id(ag), &entries, self.day(30), KnownAt::All);
                }
            }
            let _ = l.checkpoint_text_at(l.head().count);
            let _ = l.entries(0).count();
            let mut out = Vec::new();
            if export::write_export(&l, &mut out, &mut |_| {}).is_ok() {
                let _ = export::import(MemStore::default(), &mut &out[..]);
            }
        }
        self.stats.tampers += 1;
    }

    fn export_import(&mut self) {
        let mut out = Vec::new();
        let head = export::write_export(&self.ledger, &mut out, &mut |_| {}).expect("an export");
        assert_eq!(head, self.ledger.head().checkpoint());
        let (imported, report) =
            export::import(MemStore::default(), &mut &out[..]).expect("the export imports");
        assert!(report.ok, "{:?}", report.failure);
        assert!(
            imported.store().dump() == self.ledger.store().dump(),
            "an imported ledger holds other bytes"
        );
        self.stats.exports += 1;
    }

    fn diff_history(&mut self, p: &mut Program<'_>) {
        let ag = ag_id(AGREEMENTS[p.below(AGREEMENTS.len())]);
        let entries = self
            .ledger
            .agreement_entries(&ag)
            .expect("readable entries");
        let view = self.view(p);
        let known = known_of(view);
        let (from, to) = (self.day(p.below(66)), self.day(p.below(66)));
        let a = projection::state(&ag, &entries, from, known);
        let b = projection::state(&ag, &entries, to, known);
        match projection::diff(&ag, &entries, from, to, known) {
            Ok(d) => {
                assert_eq!(Ok(&d.from), a.as_ref());
                assert_eq!(Ok(&d.to), b.as_ref());
                let ids = |s: &State| -> BTreeSet<String> {
                    s.clauses.iter().map(|c| c.id.to_string()).collect()
                };
                let (x, y) = (ids(&d.from), ids(&d.to));
                for c in &d.added {
                    assert!(!x.contains(c.id.as_str()) && y.contains(c.id.as_str()));
                }
                for c in &d.removed {
                    assert!(x.contains(c.id.as_str()) && !y.contains(c.id.as_str()));
                }
                assert_eq!(
                    d.added.len() + d.removed.len() + d.changed.len() == 0,
                    d.from.clauses == d.to.clauses,
                );
                for c in &d.changed {
                    check_redline(&c.before.text, &c.after.text);
                }
            }
            Err(e) => assert!(a.is_err() || b.is_err(), "diff fails alone: {e}"),
        }
        let clause = p
            .chance(40)
            .then(|| ClauseId::new(*p.pick(&CLAUSES)).expect("clause"));
        match projection::history(&ag, &entries, clause.as_ref(), known) {
            Ok(items) => {
                let seen: BTreeSet<u64> = items.iter().map(|i| i.seq).collect();
                assert_eq!(seen.len(), items.len(), "an amendment twice in a history");
                if clause.is_none() {
                    let visible: BTreeSet<u64> = entries
                        .iter()
                        .filter(|e| known.includes(e))
                        .map(|e| e.seq)
                        .collect();
                    assert_eq!(seen, visible, "the history is not every amendment in view");
                }
            }
            Err(e) => assert!(entries.is_empty(), "history fails: {e}"),
        }
    }

    /// After every step: the audit passes, and (when the head moved or the
    /// ledger was reopened) the ledger holds what the model holds.
    fn invariants(&mut self) {
        let head = self.ledger.head();
        assert_eq!(head.count, self.entries.len() as u64);
        let report = audit_store(self.ledger.store(), None, &mut |_| {}).expect("audit runs");
        assert!(report.ok, "the audit fails: {:?}", report.failure);
        assert_eq!(report.entries, head.count);
        assert_eq!(report.head, head.checkpoint());
        if self.checked == Some((head, self.stats.reopens)) {
            return;
        }
        self.checked = Some((head, self.stats.reopens));
        for ag in AGREEMENTS {
            let ag = ag_id(ag);
            let lib = self
                .ledger
                .agreement_entries(&ag)
                .expect("readable entries");
            let mine = of(&self.entries, &ag);
            assert_eq!(lib.len(), mine.len());
            for (l, m) in lib.iter().zip(&mine) {
                assert_eq!(l.seq, m.seq);
                assert_eq!(l.recorded_at, RecordedAt(m.recorded_at));
                assert_eq!(l.amendment, m.amendment);
            }
        }
    }

    /// At the end: every interesting date of every agreement, in a few views.
    fn final_checks(&mut self) {
        let n = self.entries.len() as u64;
        let mut views = vec![View::All];
        if n > 0 {
            views.push(View::Seq(n / 2));
            views.push(View::Seq(n - 1));
            let t = self.entries[(n / 2) as usize].recorded_at;
            views.push(View::Time(t));
            views.push(View::Time(t - 1));
        }
        for ag in AGREEMENTS.iter().copied().chain([NEVER]) {
            let ag = ag_id(ag);
            let mut dates: BTreeSet<Date> = BTreeSet::new();
            dates.insert(self.day(0));
            dates.insert(self.day(200));
            for e in of(&self.entries, &ag) {
                let a = &e.amendment;
                for (i, c) in a.changes.iter().enumerate() {
                    if let Some(d) = a.change_date(i) {
                        dates.insert(self.minus(d, 1));
                        dates.insert(d);
                        dates.insert(self.plus(d, 1));
                    }
                    if let Op::Add { until: Some(u), .. } | Op::Amend { until: Some(u), .. } = &c.op
                    {
                        dates.insert(*u);
                        dates.insert(self.plus(*u, 1));
                    }
                }
            }
            let entries = self
                .ledger
                .agreement_entries(&ag)
                .expect("readable entries");
            let mine = of(&self.entries, &ag);
            for view in &views {
                for at in &dates {
                    self.compare_with(&ag, &entries, &mine, *at, *view);
                }
            }
        }
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
