//! The model targets: a program of appends (valid and invalid), retractions,
//! reopenings, queries, proofs, tampering and export/import, decoded from
//! the fuzzer's bytes with `arbitrary` ([`ModelInput`]) and run against a
//! ledger and the naive reference model of `tests/it/properties/reference.rs`.
//!
//! `model` runs it on [`MemStore`]; `model_sled` runs the same programs on
//! sled in a fresh folder (under `/dev/shm` when there is one: every commit
//! is synced, so on a disk it is much slower), so both stores stay covered
//! by one input format and one corpus can seed both.
//!
//! The operands are small selectors: a clause "that fits" is one in force
//! for an amendment and one not in force for an addition, an id is mostly
//! one recorded in that agreement, a date lies in the 60 days from
//! 2024-01-01. Random bytes thus make histories the ledger mostly accepts,
//! and the rare selector values make the invalid ones it must refuse.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};

use pactum::audit::audit_store;
use pactum::chain;
use pactum::codec::Entry;
use pactum::error::Error;
use pactum::export;
use pactum::ledger::{AppendOptions, Head, Outcome};
use pactum::model::*;
use pactum::projection::{self, KnownAt, ProjectionError, State};
use pactum::proof;
use pactum::store::{MemStore, SledStore, Store};
use pactum::Ledger;

use super::bridge::{model_digest, to_ref};
use super::check_redline;
use super::reference::{self, RefEntry, RefError, Verdict, View};

/// The model target's ledger origin.
const ORIGIN: chain::Origin = [7; 16];
/// 2024-01-15T00:00:00Z, in microseconds: the first recorded time.
const BASE_TIME: i64 = 1_705_276_800_000_000;
const HOUR: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR;
/// Program steps run at most (bounds the time of one input).
pub const STEPS_MAX: usize = 32;
/// Amendments in one batch, changes in one amendment, terms set at once.
const BATCH_MAX: usize = 3;
const CHANGES_MAX: usize = 3;
const TERMS_MAX: usize = 2;

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
const INTEGERS: [i64; 6] = [0, 1, -7, 1_000_000, i64::MIN, i64::MAX];
const WORDS: [&str; 4] = ["net 30", "", "ROFR", "x y  z"];

// ------------------------------------------------------------ the input

/// A whole program: the steps, run in order (at most [`STEPS_MAX`]).
#[derive(Arbitrary, Debug, Clone)]
pub struct ModelInput {
    /// The steps.
    pub steps: Vec<Step>,
}

/// One step: half of them appends, a quarter re-appends and retractions,
/// a quarter reads and checks.
#[derive(Arbitrary, Debug, Clone)]
pub enum Step {
    /// A batch of new or recorded amendments.
    Append(Append),
    /// Another batch (so that writes are about half the steps).
    AppendMore(Append),
    /// A re-append or a retraction.
    Again(Again),
    /// A read or a check.
    Check(Check),
}

/// The writes that name recorded amendments.
#[derive(Arbitrary, Debug, Clone)]
pub enum Again {
    /// A recorded amendment again (a no-op), or changed (refused), with a new one.
    Reappend {
        /// Which recorded entry.
        pick: u8,
        /// Give the old amendment another signing date (changed: refused).
        resign: bool,
        /// The new amendment of the batch.
        fresh: Cand,
        /// The old one first in the batch.
        old_first: bool,
        /// The append's time.
        time: Clock,
    },
    /// An amendment whose one change retracts an amendment.
    Retract {
        /// Its agreement.
        ag: Ag,
        /// What it retracts (see [`Machine::target`]).
        target: u8,
        /// The append's time.
        time: Clock,
    },
}

/// An append: a batch of one to three candidates.
#[derive(Arbitrary, Debug, Clone)]
pub struct Append {
    /// The first candidate.
    pub first: Cand,
    /// Up to two more.
    pub more: Vec<Cand>,
    /// 0..=199 a plain append, 200..=227 a dry run, else `expect_head`
    /// with the count, the count + 1 or the count − 1.
    pub mode: u8,
    /// The append's time.
    pub time: Clock,
}

/// The clock between two appends.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Clock {
    /// The same microsecond.
    Same,
    /// One microsecond later.
    Micro,
    /// 1 to 6 hours later.
    Hours(u8),
    /// A day later.
    Day,
    /// Three days later.
    Days,
    /// An hour earlier: the ledger clamps it to the last recorded time.
    Back,
}

/// An agreement that gets amendments.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Ag {
    /// `a`.
    A,
    /// `b`.
    B,
}

/// A candidate amendment.
#[derive(Arbitrary, Debug, Clone)]
pub struct Cand {
    /// Its agreement.
    pub ag: Ag,
    /// From 232 (and the agreement has entries): a recorded amendment
    /// again, unchanged when even, with another title when odd.
    pub reuse: u8,
    /// Its effective date: below 230 `eff % 45` days after the agreement's
    /// establishment (when it has one), else day `1 + eff % 60`.
    pub eff: u8,
    /// Its first change.
    pub first: ChangeItem,
    /// Up to two more.
    pub more: Vec<ChangeItem>,
    /// From 230: signed the day before it takes effect.
    pub signed: u8,
    /// From 230: a source URL.
    pub source: u8,
    /// 251 to 255: something invalid on its own (blank title, no changes,
    /// no date, a control character, an empty source); 250: a retraction
    /// with other changes or dates.
    ///
    /// (Every selector's rare, mostly refused, case is at the top of its
    /// range: an input that runs out reads zeros, which make the common case.)
    pub defect: u8,
}

/// One change of a candidate.
#[derive(Arbitrary, Debug, Clone)]
pub struct ChangeItem {
    /// From 218: a date of its own, day `1 + own % 60`.
    pub own: u8,
    /// From 244 the change stays as given even when the agreement is not
    /// yet established (otherwise its first change then establishes it).
    pub keep: u8,
    /// The change.
    pub spec: ChangeSpec,
}

/// What a change does (additions and amendments twice as likely).
#[derive(Arbitrary, Debug, Clone)]
pub enum ChangeSpec {
    /// Adds a clause.
    Add(AddSpec),
    /// Adds a clause.
    Add2(AddSpec),
    /// Amends a clause.
    Amend(AmendSpec),
    /// Amends a clause.
    Amend2(AmendSpec),
    /// Repeals a clause.
    Repeal {
        /// Which (see [`Machine::clause`]).
        clause: u8,
    },
    /// An event occurs.
    Occur {
        /// From 230: any event, else one that has not yet occurred.
        event: u8,
        /// With a note.
        note: bool,
    },
    /// A rarer change.
    Rare(Rare),
}

/// The rarer changes.
#[derive(Arbitrary, Debug, Clone)]
pub enum Rare {
    /// Establishes the agreement (again: refused).
    Establish {
        /// Its title.
        title: u8,
        /// From 154: a second party; from 251 with the first one's id.
        second: u8,
    },
    /// Retracts an amendment (in a batch with other changes: refused).
    Retract {
        /// What (see [`Machine::target`]).
        target: u8,
    },
    /// Terminates the agreement.
    Terminate {
        /// With a note.
        note: bool,
    },
}

/// An added clause.
#[derive(Arbitrary, Debug, Clone)]
pub struct AddSpec {
    /// Which (see [`Machine::clause`]).
    pub clause: u8,
    /// With a heading.
    pub heading: bool,
    /// Its text.
    pub text: u8,
    /// Its terms.
    pub terms: Vec<TermSpec>,
    /// See [`Machine::until`].
    pub until: u8,
    /// From 205: until an event.
    pub until_event: u8,
}

/// An amended clause.
#[derive(Arbitrary, Debug, Clone)]
pub struct AmendSpec {
    /// Which (see [`Machine::clause`]).
    pub clause: u8,
    /// A new heading.
    pub heading: bool,
    /// A new text.
    pub text: Option<u8>,
    /// Terms set.
    pub set: Vec<TermSpec>,
    /// Terms unset: from 230 any term, else one the clause has.
    pub unset: Vec<u8>,
    /// From 248: the first unset term named twice (refused).
    pub twice: u8,
    /// See [`Machine::until`].
    pub until: u8,
    /// From 230: until an event.
    pub until_event: u8,
}

/// A term and its value.
#[derive(Arbitrary, Debug, Clone)]
pub struct TermSpec {
    /// Its name.
    pub name: u8,
    /// Its value.
    pub value: ValueSpec,
}

/// A term's value.
#[derive(Arbitrary, Debug, Clone)]
pub enum ValueSpec {
    /// One of a few integers, the extremes included.
    Integer(u8),
    /// A boolean.
    Boolean(bool),
    /// A date in the 60 days.
    Date(u8),
    /// A text (some blank, some with double spaces); from 250 one that
    /// looks like an impossible date (refused where a date is expected).
    Text(u8),
}

/// The reads and checks.
#[derive(Arbitrary, Debug, Clone)]
pub enum Check {
    /// Closes and opens the ledger again.
    Reopen,
    /// Runs the full audit, and compares every entry with the model's.
    Audit,
    /// A state against the model's.
    Query {
        /// 0 mod 5 an agreement never recorded, else `a` or `b`.
        ag: u8,
        /// Day `day % 66` from 2023-12-31.
        day: u8,
        /// As known when.
        view: ViewSpec,
    },
    /// An inclusion and a consistency proof, verified (and a bent one refused).
    Prove {
        /// The tree size: `1 + size % count`.
        size: u8,
        /// The entry proved among them.
        leaf: u8,
        /// The older size of the consistency proof.
        old: u8,
        /// A bit of one path hash flipped: (element, byte, bit).
        bend: (u8, u8, u8),
    },
    /// A copy with one key or value changed: the audit notices.
    Tamper {
        /// Which pair.
        pick: u16,
        /// How.
        how: Tamper,
    },
    /// Export, import into a new memory ledger: the same bytes.
    ExportImport,
    /// Diff between two dates, and a history.
    DiffHistory {
        /// The agreement.
        ag: Ag,
        /// As known when.
        view: ViewSpec,
        /// From day.
        from: u8,
        /// To day.
        to: u8,
        /// Some: the history of one clause.
        clause: Option<u8>,
    },
}

/// How a tampered copy differs.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Tamper {
    /// The pair removed.
    Remove,
    /// A bit of its value flipped (or removed when the value is empty).
    FlipValue(u16, u8),
    /// A byte appended to its value.
    Extend(u8),
    /// A bit of its key flipped.
    FlipKey(u8, u8),
}

/// A view of the entries.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum ViewSpec {
    /// All.
    All,
    /// The first `n % (count + 2)`.
    Seq(u8),
    /// As of a recorded time (or a microsecond before it), or (from 230)
    /// before all.
    Time(u8, bool),
}

impl ModelInput {
    /// Decodes a program from fuzzer bytes (never fails: a short input is a
    /// short program).
    pub fn from_bytes(data: &[u8]) -> ModelInput {
        let mut u = Unstructured::new(data);
        let mut steps = Vec::new();
        while !u.is_empty() && steps.len() < STEPS_MAX {
            match Step::arbitrary(&mut u) {
                Ok(s) => steps.push(s),
                Err(_) => break,
            }
        }
        ModelInput { steps }
    }
}

// ------------------------------------------------------------ stores

/// Where the model's ledger lives.
pub trait Backend {
    /// The store.
    type S: Store;
    /// A new, empty ledger of [`ORIGIN`].
    fn create(&mut self) -> Ledger<Self::S>;
    /// The ledger closed and opened again.
    fn reopen(&mut self, l: Ledger<Self::S>) -> Ledger<Self::S>;
    /// What tells whether anything was written since.
    type Mark: PartialEq + std::fmt::Debug;
    /// The store's mark now.
    fn mark(s: &Self::S) -> Self::Mark;
}

/// In memory: the fast target.
pub struct Mem;

impl Backend for Mem {
    type S = MemStore;
    fn create(&mut self) -> Ledger<MemStore> {
        Ledger::create(MemStore::default(), ORIGIN).expect("a new ledger")
    }
    fn reopen(&mut self, l: Ledger<MemStore>) -> Ledger<MemStore> {
        Ledger::open(l.into_store()).expect("a ledger reopens")
    }
    /// The count of writes (no copy of the store: this is the hot path).
    type Mark = u64;
    fn mark(s: &MemStore) -> u64 {
        s.writes()
    }
}

static SLED_DIRS: AtomicUsize = AtomicUsize::new(0);

/// In a sled folder (under `/dev/shm` when there is one), removed afterwards.
pub struct Sled {
    dir: PathBuf,
}

impl Sled {
    /// A new folder name of this process.
    pub fn new() -> Sled {
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        let n = SLED_DIRS.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("pactum-fuzz-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Sled { dir }
    }
}

impl Drop for Sled {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Backend for Sled {
    type S = SledStore;
    fn create(&mut self) -> Ledger<SledStore> {
        let s = SledStore::open(&self.dir, Duration::from_secs(5)).expect("a sled store");
        Ledger::create(s, ORIGIN).expect("a new ledger")
    }
    fn reopen(&mut self, l: Ledger<SledStore>) -> Ledger<SledStore> {
        drop(l.into_store());
        let s = SledStore::open(&self.dir, Duration::from_secs(5)).expect("sled reopens");
        Ledger::open(s).expect("a ledger reopens")
    }
    /// Every pair.
    type Mark = BTreeMap<Vec<u8>, Vec<u8>>;
    fn mark(s: &SledStore) -> Self::Mark {
        dump(s)
    }
}

/// Every pair of a store.
pub fn dump<S: Store>(s: &S) -> BTreeMap<Vec<u8>, Vec<u8>> {
    s.scan(&[], None)
        .map(|p| p.expect("a readable pair"))
        .collect()
}

// ------------------------------------------------------------ running

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

/// The `model` target: the program of `data` on a memory ledger.
pub fn check_model(data: &[u8]) {
    run_model(data);
}

/// The `model_sled` target: the program of `data` on a sled ledger.
pub fn check_model_sled(data: &[u8]) {
    run_program(Sled::new(), &ModelInput::from_bytes(data));
}

/// Runs the program of `data` on a memory ledger; returns what it did.
pub fn run_model(data: &[u8]) -> ModelStats {
    run_program(Mem, &ModelInput::from_bytes(data))
}

/// Runs `input` against a ledger of `backend` and the reference model:
/// every verdict, seq, time and state must agree; a refusal changes no
/// stored byte; the audit passes at every `Audit` step, after reopening and
/// at the end, and fails on every tampered copy.
pub fn run_program<B: Backend>(backend: B, input: &ModelInput) -> ModelStats {
    let mut m = Machine::new(backend);
    for step in input.steps.iter().take(STEPS_MAX) {
        m.stats.steps += 1;
        match step {
            Step::Append(a) | Step::AppendMore(a) => m.append(a),
            Step::Again(Again::Reappend {
                pick,
                resign,
                fresh,
                old_first,
                time,
            }) => m.reappend(*pick, *resign, fresh, *old_first, *time),
            Step::Again(Again::Retract { ag, target, time }) => m.retract(*ag, *target, *time),
            Step::Check(c) => match c {
                Check::Reopen => m.reopen(),
                Check::Audit => m.audit(),
                Check::Query { ag, day, view } => m.query(*ag, *day, *view),
                Check::Prove {
                    size,
                    leaf,
                    old,
                    bend,
                } => m.prove(*size, *leaf, *old, *bend),
                Check::Tamper { pick, how } => m.tamper(*pick, *how),
                Check::ExportImport => m.export_import(),
                Check::DiffHistory {
                    ag,
                    view,
                    from,
                    to,
                    clause,
                } => m.diff_history(*ag, *view, *from, *to, *clause),
            },
        }
        assert_eq!(m.ledger().head().count, m.entries.len() as u64);
    }
    m.audit();
    m.final_checks();
    m.stats.entries = m.entries.len();
    m.stats
}

struct Machine<B: Backend> {
    backend: B,
    /// Always `Some` between steps (taken while reopening).
    ledger: Option<Ledger<B::S>>,
    /// Every recorded entry, in seq order, as the model holds them.
    entries: Vec<RefEntry>,
    /// The same, by agreement.
    by_ag: BTreeMap<AgreementId, Vec<RefEntry>>,
    /// The time passed to the last append.
    clock: i64,
    /// Fresh amendment ids made so far.
    fresh: Cell<usize>,
    /// `days[i]` is 2023-12-31 plus `i` days.
    days: &'static [Date],
    stats: ModelStats,
    /// The head and reopen count when the entries were last compared.
    checked: Option<(Head, usize)>,
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).expect("a real date")
}

fn ag_id(s: &str) -> AgreementId {
    AgreementId::new(s).expect("an agreement id")
}

fn ag_of(a: Ag) -> AgreementId {
    ag_id(match a {
        Ag::A => AGREEMENTS[0],
        Ag::B => AGREEMENTS[1],
    })
}

/// 2023-12-31 and the 220 days after it.
fn days() -> &'static [Date] {
    static DAYS: OnceLock<Vec<Date>> = OnceLock::new();
    DAYS.get_or_init(|| {
        let mut days = vec![date(2023, 12, 31)];
        for i in 0..220 {
            let next = days[i].next().expect("a next day");
            days.push(next);
        }
        days
    })
}

fn pick<T>(xs: &[T], i: usize) -> &T {
    &xs[i % xs.len()]
}

fn known_of(view: View) -> KnownAt {
    match view {
        View::All => KnownAt::All,
        View::Seq(n) => KnownAt::Seq(n),
        View::Time(t) => KnownAt::Time(RecordedAt(t)),
    }
}

impl<B: Backend> Machine<B> {
    fn new(mut backend: B) -> Machine<B> {
        let ledger = backend.create();
        // The new, empty ledger counts as audited (its audit is a unit test).
        let checked = Some((ledger.head(), 0));
        Machine {
            backend,
            ledger: Some(ledger),
            entries: Vec::new(),
            by_ag: BTreeMap::new(),
            clock: BASE_TIME,
            fresh: Cell::new(0),
            days: days(),
            stats: ModelStats::default(),
            checked,
        }
    }

    fn ledger(&self) -> &Ledger<B::S> {
        self.ledger.as_ref().expect("an open ledger")
    }

    /// The agreement's recorded entries, as the model holds them.
    fn mine(&self, ag: &AgreementId) -> &[RefEntry] {
        self.by_ag.get(ag).map_or(&[], |v| &v[..])
    }

    /// The agreement's entries with those of `extra` (a batch's earlier
    /// candidates the model accepts) after them.
    fn mine_with<'a>(&'a self, ag: &AgreementId, extra: &[RefEntry]) -> Cow<'a, [RefEntry]> {
        let base = self.mine(ag);
        if !extra.iter().any(|e| &e.amendment.agreement == ag) {
            return Cow::Borrowed(base);
        }
        let mut all = base.to_vec();
        all.extend(
            extra
                .iter()
                .filter(|e| &e.amendment.agreement == ag)
                .cloned(),
        );
        Cow::Owned(all)
    }

    /// Judges `a` as the model does, after `extra`; a new one joins `extra`.
    fn judge(&self, a: &Amendment, extra: &mut Vec<RefEntry>) -> Verdict {
        let next = (self.entries.len() + extra.len()) as u64;
        let v = reference::judge(&self.mine_with(&a.agreement, extra), a, next);
        if v == Verdict::New {
            extra.push(RefEntry {
                seq: next,
                recorded_at: 0,
                amendment: a.clone(),
            });
        }
        v
    }

    fn day(&self, i: usize) -> Date {
        self.days[i.min(self.days.len() - 1)]
    }

    /// A date for a change: 2024-01-01 to 2024-02-29.
    fn some_day(&self, sel: u8) -> Date {
        self.day(1 + sel as usize % 60)
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

    fn text(&self, sel: u8) -> String {
        format!("{} {}", pick(&TEXTS, sel as usize), sel / 5 % 3)
    }

    fn term_value(&self, v: &ValueSpec) -> TermValue {
        match v {
            ValueSpec::Integer(i) => TermValue::Integer(*pick(&INTEGERS, *i as usize)),
            ValueSpec::Boolean(b) => TermValue::Boolean(*b),
            ValueSpec::Date(d) => TermValue::Date(self.some_day(*d)),
            ValueSpec::Text(250..) => TermValue::Text("2024-02-30".into()),
            ValueSpec::Text(t) => TermValue::Text(pick(&WORDS, *t as usize).to_string()),
        }
    }

    fn terms(&self, specs: &[TermSpec]) -> Terms {
        let mut t = Terms::new();
        for s in specs.iter().take(TERMS_MAX) {
            let name = TermName::new(*pick(&TERMS, s.name as usize)).expect("a term name");
            t.insert(name, self.term_value(&s.value));
        }
        t
    }

    /// Below 192 none; below 200 the day before the change (invalid); else
    /// 0 to 11 days after it.
    fn until(&self, sel: u8, d: Date) -> Option<Date> {
        match sel {
            0..=191 => None,
            192..=199 => Some(self.minus(d, 1)),
            _ => Some(self.plus(d, sel as usize % 12)),
        }
    }

    fn event(sel: u8) -> EventId {
        EventId::new(*pick(&EVENTS, sel as usize)).expect("an event id")
    }

    /// A clause: from 240 any, else one in force (`in_force`) or not, as
    /// asked, when there is one.
    fn clause(&self, sel: u8, w: &reference::World, in_force: bool) -> ClauseId {
        let fit: Vec<&str> = CLAUSES
            .iter()
            .copied()
            .filter(|c| w.clauses.contains_key(*c) == in_force)
            .collect();
        let c = if fit.is_empty() || sel >= 240 {
            *pick(&CLAUSES, sel as usize)
        } else {
            *pick(&fit, sel as usize)
        };
        ClauseId::new(c).expect("a clause id")
    }

    /// The id a retraction names: from 236 (or with nothing recorded) one
    /// that does not exist, else one of the agreement's.
    fn target(&self, sel: u8, mine: &[RefEntry]) -> AmendmentId {
        if mine.is_empty() || sel >= 236 {
            AmendmentId::new("no-such").expect("an amendment id")
        } else {
            pick(mine, sel as usize).amendment.id.clone()
        }
    }

    /// One candidate amendment, after the recorded entries and `extra`
    /// (the batch's earlier candidates the model accepts).
    fn amendment(&self, c: &Cand, extra: &[RefEntry]) -> Amendment {
        let ag = ag_of(c.ag);
        let mine = self.mine_with(&ag, extra);
        if c.reuse >= 232 && !mine.is_empty() {
            // An id already recorded: the same content, or another title.
            let mut a = pick(&mine, c.reuse as usize / 2).amendment.clone();
            if c.reuse % 2 == 1 {
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
        // Mostly on or after the establishment (from 230: any day).
        let est = ch.iter().find_map(|(d, _, pos, a)| {
            matches!(a.changes[*pos].op, Op::Establish { .. }).then_some(*d)
        });
        let eff = match est {
            Some(e) if c.eff < 230 => self.plus(e, c.eff as usize % 45),
            _ => self.some_day(c.eff),
        };
        let n = self.fresh.get() + 1;
        self.fresh.set(n);
        let id = AmendmentId::new(format!("m{}", n - 1)).expect("an amendment id");
        let mut changes: Vec<Change> = Vec::new();
        let items = std::iter::once(&c.first).chain(c.more.iter().take(CHANGES_MAX - 1));
        for (i, item) in items.enumerate() {
            let own = (item.own >= 218).then(|| self.some_day(item.own));
            let d = own.unwrap_or(eff);
            let w = reference::fold(&ch, Some(d)).unwrap_or_default();
            let op = if i == 0 && !established && item.keep < 244 {
                Op::Establish {
                    title: pick(&TITLES, item.keep as usize).to_string(),
                    parties: vec![Party {
                        id: PartyId::new("p1").expect("party"),
                        name: "Party One".into(),
                        key: None,
                    }],
                }
            } else {
                self.op(&item.spec, d, &w, &ever, &mine)
            };
            changes.push(Change { effective: own, op });
        }
        let mut a = Amendment {
            agreement: ag,
            id,
            title: format!("Amendment {n}"),
            effective: Some(eff),
            signed: (c.signed >= 230).then(|| self.minus(eff, 1)),
            source: (c.source >= 230).then(|| "https://example.com/deal".to_string()),
            changes,
        };
        if a.is_retraction() && c.defect != 250 {
            // Mostly well-formed: alone, with no date of its own.
            a.changes.truncate(1);
            a.changes[0].effective = None;
            a.effective = None;
            a.signed = None;
        }
        // Now and then, something invalid on its own.
        match c.defect {
            251 => a.title = " ".into(),
            252 => a.changes.clear(),
            253 => a.effective = None,
            254 => a.title = "Tab\tand bell\u{7}".into(),
            255 => a.source = Some(String::new()),
            _ => {}
        }
        a
    }

    /// The op of a change on day `d`, where `w` is the world then and
    /// `ever` the world after every change.
    fn op(
        &self,
        spec: &ChangeSpec,
        d: Date,
        w: &reference::World,
        ever: &reference::World,
        mine: &[RefEntry],
    ) -> Op {
        match spec {
            ChangeSpec::Add(s) | ChangeSpec::Add2(s) => Op::Add {
                clause: self.clause(s.clause, w, false),
                heading: s.heading.then(|| "Heading".to_string()),
                text: self.text(s.text),
                terms: self.terms(&s.terms),
                until: self.until(s.until, d),
                until_event: (s.until_event >= 205).then(|| Self::event(s.until_event)),
            },
            // Nothing in force to amend or repeal (and not asked for any
            // clause): an addition instead.
            ChangeSpec::Amend(AmendSpec { clause, .. })
            | ChangeSpec::Amend2(AmendSpec { clause, .. })
            | ChangeSpec::Repeal { clause }
                if w.clauses.is_empty() && *clause < 240 =>
            {
                Op::Add {
                    clause: self.clause(*clause, w, false),
                    heading: None,
                    text: self.text(*clause),
                    terms: Terms::new(),
                    until: None,
                    until_event: None,
                }
            }
            ChangeSpec::Amend(s) | ChangeSpec::Amend2(s) => {
                let clause = self.clause(s.clause, w, true);
                let current: Vec<String> = w
                    .clauses
                    .get(clause.as_str())
                    .map(|c| c.terms.keys().cloned().collect())
                    .unwrap_or_default();
                let mut unset: BTreeSet<TermName> = BTreeSet::new();
                for u in s.unset.iter().take(TERMS_MAX) {
                    let name = if current.is_empty() || *u >= 230 {
                        pick(&TERMS, *u as usize).to_string()
                    } else {
                        pick(&current, *u as usize).clone()
                    };
                    unset.insert(TermName::new(name).expect("a term name"));
                }
                let mut unset: Vec<TermName> = unset.into_iter().collect();
                if s.twice >= 248 {
                    if let Some(t) = unset.first().cloned() {
                        unset.push(t); // named twice: invalid
                    }
                }
                Op::Amend {
                    clause,
                    heading: s.heading.then(|| "Amended heading".to_string()),
                    text: s.text.map(|t| self.text(t)),
                    set: self.terms(&s.set),
                    unset,
                    until: self.until(s.until, d),
                    until_event: (s.until_event >= 230).then(|| Self::event(s.until_event)),
                }
            }
            ChangeSpec::Repeal { clause } => Op::Repeal {
                clause: self.clause(*clause, w, true),
            },
            ChangeSpec::Occur { event, note } => {
                let open: Vec<&str> = EVENTS
                    .iter()
                    .copied()
                    .filter(|e| !ever.occurred.contains_key(*e))
                    .collect();
                let e = if open.is_empty() || *event >= 230 {
                    *pick(&EVENTS, *event as usize)
                } else {
                    *pick(&open, *event as usize)
                };
                Op::Occur {
                    event: EventId::new(e).expect("an event id"),
                    note: note.then(|| "it happened".to_string()),
                }
            }
            ChangeSpec::Rare(Rare::Establish { title, second }) => {
                let mut parties = vec![Party {
                    id: PartyId::new("p9").expect("party"),
                    name: "Nine".into(),
                    key: None,
                }];
                if *second >= 154 {
                    parties.push(Party {
                        id: PartyId::new(if *second >= 251 { "p9" } else { "p2" }).expect("party"),
                        name: "Partei Zwei".into(),
                        key: None,
                    });
                }
                Op::Establish {
                    title: pick(&TITLES, *title as usize).to_string(),
                    parties,
                }
            }
            ChangeSpec::Rare(Rare::Retract { target }) => Op::Retract {
                amendment: self.target(*target, mine),
                reason: "recorded by mistake".into(),
            },
            ChangeSpec::Rare(Rare::Terminate { note }) => Op::Terminate {
                note: note.then(|| "the end".to_string()),
            },
        }
    }

    // ---------------------------------------------------- steps

    fn next_time(&mut self, c: Clock) -> i64 {
        self.clock = match c {
            Clock::Same => self.clock,
            Clock::Micro => self.clock + 1,
            Clock::Hours(h) => self.clock + (1 + h as i64 % 6) * HOUR,
            Clock::Day => self.clock + DAY_US,
            Clock::Days => self.clock + 3 * DAY_US,
            Clock::Back => self.clock - HOUR, // clamped by the ledger
        };
        self.clock
    }

    /// Builds a batch of candidates and appends it.
    fn append(&mut self, s: &Append) {
        let mut extra = Vec::new();
        let mut batch = Vec::new();
        let mut verdicts = Vec::new();
        for c in std::iter::once(&s.first).chain(s.more.iter().take(BATCH_MAX - 1)) {
            let a = self.amendment(c, &extra);
            verdicts.push(self.judge(&a, &mut extra));
            batch.push(a);
        }
        let n = self.entries.len() as u64;
        let opts = match s.mode {
            0..=199 => AppendOptions::default(),
            200..=227 => AppendOptions {
                dry_run: true,
                expect_head: None,
            },
            m => AppendOptions {
                dry_run: false,
                expect_head: Some(match m % 3 {
                    0 => n,
                    1 => n + 1,
                    _ => n.saturating_sub(1),
                }),
            },
        };
        let now = self.next_time(s.time);
        self.append_judged(batch, verdicts, now, opts);
    }

    /// Appends `batch` and checks every verdict, seq and time against the model.
    fn append_batch(&mut self, batch: Vec<Amendment>, now: i64, opts: AppendOptions) {
        let mut extra = Vec::new();
        let verdicts: Vec<Verdict> = batch.iter().map(|a| self.judge(a, &mut extra)).collect();
        self.append_judged(batch, verdicts, now, opts);
    }

    /// [`Machine::append_batch`] with the model's verdicts on `batch`, in
    /// order, already given.
    fn append_judged(
        &mut self,
        batch: Vec<Amendment>,
        verdicts: Vec<Verdict>,
        now: i64,
        opts: AppendOptions,
    ) {
        let first_refused = verdicts
            .iter()
            .position(|v| matches!(v, Verdict::Refused(_)));
        let count = self.entries.len() as u64;
        let mismatch = opts.expect_head.is_some_and(|n| n != count);
        let before = B::mark(self.ledger().store());
        let head = self.ledger().head();
        let result = self.ledger().append(&batch, RecordedAt(now), opts);
        let unchanged = |l: &Ledger<B::S>, why: &str| {
            assert!(before == B::mark(l.store()), "{why}: the store changed");
            assert_eq!(head, l.head(), "{why}: the head changed");
        };
        if mismatch {
            assert!(
                matches!(result, Err(Error::HeadMismatch { .. })),
                "expect_head {:?} with {count} entries: {result:?}",
                opts.expect_head
            );
            unchanged(self.ledger(), "a head mismatch");
            return;
        }
        match (first_refused, result) {
            (Some(i), Err(Error::Refused(r))) => {
                assert_eq!(
                    r.index, i,
                    "the ledger refuses amendment {} of the batch ({r}), the model {i}: {verdicts:?}",
                    r.index
                );
                unchanged(self.ledger(), "a refusal");
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
                    unchanged(self.ledger(), "a dry run");
                } else {
                    let chains = report.outcomes.iter().filter_map(|o| match o {
                        Outcome::Appended { chain, .. } => Some(chain),
                        Outcome::Existing { .. } => None,
                    });
                    for (c, e) in chains.zip(&new) {
                        assert_eq!(self.ledger().entry_hash(e.seq).ok().flatten(), Some(*c));
                    }
                    for e in &new {
                        let ag = e.amendment.agreement.clone();
                        self.by_ag.entry(ag).or_default().push(e.clone());
                    }
                    self.entries.extend(new);
                    assert_eq!(report.head, self.ledger().head().checkpoint());
                    self.stats.appends_ok += 1;
                }
            }
            (f, r) => panic!(
                "the model's verdicts are {verdicts:?} (first refusal {f:?}), the ledger says {r:?} for {batch:?}"
            ),
        }
    }

    fn reappend(&mut self, sel: u8, resign: bool, fresh: &Cand, old_first: bool, time: Clock) {
        if self.entries.is_empty() {
            return;
        }
        let mut old = pick(&self.entries, sel as usize).amendment.clone();
        if resign {
            old.signed = Some(date(2020, 2, 29));
        }
        let new = self.amendment(fresh, &[]);
        let batch = if old_first {
            vec![old, new]
        } else {
            vec![new, old]
        };
        let now = self.next_time(time);
        self.append_batch(batch, now, AppendOptions::default());
    }

    fn retract(&mut self, ag: Ag, target: u8, time: Clock) {
        let ag = ag_of(ag);
        let target = self.target(target, self.mine(&ag));
        let id = AmendmentId::new(format!("r{}", self.fresh.get())).expect("an amendment id");
        self.fresh.set(self.fresh.get() + 1);
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
        let now = self.next_time(time);
        self.append_batch(vec![a], now, AppendOptions::default());
    }

    fn reopen(&mut self) {
        let before = self.ledger().checkpoint_text();
        let head = self.ledger().head();
        let l = self.ledger.take().expect("an open ledger");
        let l = self.backend.reopen(l);
        assert_eq!(l.origin(), ORIGIN);
        assert_eq!(l.head(), head, "the head changed on reopening");
        assert_eq!(l.checkpoint_text(), before);
        self.ledger = Some(l);
        self.stats.reopens += 1;
        self.audit();
    }

    fn view(&self, v: ViewSpec) -> View {
        let n = self.entries.len();
        match v {
            ViewSpec::All => View::All,
            ViewSpec::Seq(s) => View::Seq((s as usize % (n + 2)) as u64),
            ViewSpec::Time(i, minus) => {
                if n == 0 || i >= 230 {
                    View::Time(BASE_TIME - 1)
                } else {
                    View::Time(pick(&self.entries, i as usize).recorded_at - minus as i64)
                }
            }
        }
    }

    fn query(&mut self, ag: u8, day: u8, view: ViewSpec) {
        let ag = match ag % 5 {
            0 => ag_id(NEVER),
            i => ag_id(AGREEMENTS[i as usize % 2]),
        };
        let at = self.day(day as usize % 66);
        let view = self.view(view);
        let entries = self
            .ledger()
            .agreement_entries(&ag)
            .expect("readable entries");
        self.compare(&ag, &entries, self.mine(&ag), at, view);
        self.stats.states += 1;
    }

    /// The library's state against the model's, given the agreement's
    /// entries as the ledger (`entries`) and the model (`mine`) hold them
    /// (the caller counts it in `stats.states`: borrowing `mine` from the
    /// model costs no copy).
    fn compare(
        &self,
        ag: &AgreementId,
        entries: &[Entry],
        mine: &[RefEntry],
        at: Date,
        view: View,
    ) {
        let known = known_of(view);
        let lib = projection::state(ag, entries, at, known);
        let model = reference::state(mine, at, view);
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
        // The state as known now is also what the ledger reads from its
        // stored projections (snapshot and pages), not only the replay.
        if known == KnownAt::All {
            let stored = self.ledger().state(ag, at, KnownAt::All);
            match (&lib, &stored) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "stored projections of {ag} at {at}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{ag} at {at}: replayed {a:?}, from the ledger {b:?}"),
            }
        }
    }

    fn prove(&mut self, size: u8, leaf: u8, old: u8, bend: (u8, u8, u8)) {
        let n = self.entries.len() as u64;
        if n == 0 {
            assert!(self.ledger().checkpoint_text_at(1).is_err());
            return;
        }
        let size = 1 + size as u64 % n;
        let e = &self.entries[(leaf as u64 % size) as usize];
        let l = self.ledger();
        let cp = l.checkpoint_text_at(size).expect("a checkpoint");
        let pr = proof::prove_inclusion(l, &e.amendment.agreement, &e.amendment.id, size)
            .expect("an inclusion proof");
        let proved = proof::verify_inclusion(&pr, &cp).expect("a fresh inclusion proof verifies");
        assert_eq!(proved.seq, e.seq);
        assert_eq!(proved.amendment, e.amendment);
        if !pr.path.is_empty() {
            let mut bad = pr.clone();
            let i = bend.0 as usize % bad.path.len();
            let mut h = chain::unbase64(&bad.path[i]).expect("base64");
            h[bend.1 as usize % 32] ^= 1 << (bend.2 % 8);
            bad.path[i] = chain::base64(&h);
            assert!(
                proof::verify_inclusion(&bad, &cp).is_err(),
                "a bent path verifies"
            );
        }
        let old = 1 + old as u64 % size;
        let cp_old = l.checkpoint_text_at(old).expect("an old checkpoint");
        let c = proof::prove_consistency(l, old, size).expect("a consistency proof");
        proof::verify_consistency(&c, &cp_old, &cp).expect("a fresh consistency proof verifies");
        assert_eq!(
            l.checkpoint_text_at(n).expect("the last checkpoint"),
            l.checkpoint_text()
        );
        self.stats.proofs += 1;
    }

    /// One key or value of a copy changed: the audit notices; readers do not panic.
    fn tamper(&mut self, pick_at: u16, how: Tamper) {
        let all = dump(self.ledger().store());
        let pairs: Vec<(&Vec<u8>, &Vec<u8>)> = all.iter().collect();
        let (k, v) = pairs[pick_at as usize % pairs.len()];
        let copy = MemStore::default();
        for (k2, v2) in &all {
            if k2 != k {
                copy.raw_put(k2.clone(), v2.clone());
            }
        }
        let what = match how {
            Tamper::FlipValue(i, bit) if !v.is_empty() => {
                let mut v = v.clone();
                let i = i as usize % v.len();
                v[i] ^= 1 << (bit % 8);
                copy.raw_put(k.clone(), v);
                "a bit of its value flipped"
            }
            Tamper::Extend(b) => {
                let mut v = v.clone();
                v.push(b);
                copy.raw_put(k.clone(), v);
                "a byte appended to its value"
            }
            Tamper::FlipKey(i, bit) => {
                let mut k2 = k.clone();
                let i = i as usize % k2.len();
                k2[i] ^= 1 << (bit % 8);
                if all.contains_key(&k2) {
                    // Renamed onto another key: that one is lost.
                    copy.raw_delete(&k2);
                }
                copy.raw_put(k2, v.clone());
                "a bit of its key flipped"
            }
            _ => "removed",
        };
        let report = audit_store(&copy, None, &mut |_| {}).expect("audit runs on memory");
        assert!(
            !report.ok,
            "the audit misses key {:?} {what}",
            String::from_utf8_lossy(k)
        );
        if let Ok(l) = Ledger::open(copy) {
            for ag in AGREEMENTS {
                if let Ok(entries) = l.agreement_entries(&ag_id(ag)) {
                    let _ = projection::state(&ag_id(ag), &entries, self.day(30), KnownAt::All);
                }
                let _ = l.state(&ag_id(ag), self.day(30), KnownAt::All);
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
        let head = export::write_export(self.ledger(), &mut out, &mut |_| {}).expect("an export");
        assert_eq!(head, self.ledger().head().checkpoint());
        let (imported, report) =
            export::import(MemStore::default(), &mut &out[..]).expect("the export imports");
        assert!(report.ok, "{:?}", report.failure);
        assert!(
            imported.store().dump() == dump(self.ledger().store()),
            "an imported ledger holds other bytes"
        );
        self.stats.exports += 1;
    }

    fn diff_history(&mut self, ag: Ag, view: ViewSpec, from: u8, to: u8, clause: Option<u8>) {
        let ag = ag_of(ag);
        let entries = self
            .ledger()
            .agreement_entries(&ag)
            .expect("readable entries");
        let known = known_of(self.view(view));
        let (from, to) = (self.day(from as usize % 66), self.day(to as usize % 66));
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
        let clause = clause.map(|c| ClauseId::new(*pick(&CLAUSES, c as usize)).expect("clause"));
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

    /// The full audit passes, and the ledger holds what the model holds:
    /// when the head moved or the ledger was reopened since the last time
    /// (only appends and reopening change the store; a refused append is
    /// checked to write nothing).
    fn audit(&mut self) {
        let head = self.ledger().head();
        if self.checked == Some((head, self.stats.reopens)) {
            return;
        }
        self.checked = Some((head, self.stats.reopens));
        let report = audit_store(self.ledger().store(), None, &mut |_| {}).expect("audit runs");
        assert!(report.ok, "the audit fails: {:?}", report.failure);
        assert_eq!(report.entries, head.count);
        assert_eq!(report.head, head.checkpoint());
        for ag in AGREEMENTS {
            let ag = ag_id(ag);
            let lib = self
                .ledger()
                .agreement_entries(&ag)
                .expect("readable entries");
            let mine = self.mine(&ag);
            assert_eq!(lib.len(), mine.len());
            for (l, m) in lib.iter().zip(mine) {
                assert_eq!(l.seq, m.seq);
                assert_eq!(l.recorded_at, RecordedAt(m.recorded_at));
                assert_eq!(l.amendment, m.amendment);
            }
        }
    }

    /// At the end: the dates where the last two amendments of each
    /// agreement change something (and the day after), in three views
    /// (bounded, so that a run stays short; `Query` steps ask the rest).
    fn final_checks(&mut self) {
        let n = self.entries.len() as u64;
        let mut views = vec![View::All];
        if n > 0 {
            views.push(View::Seq(n / 2));
            views.push(View::Time(self.entries[(n / 2) as usize].recorded_at - 1));
        }
        for ag in AGREEMENTS.iter().copied().chain([NEVER]) {
            let ag = ag_id(ag);
            let mut dates: BTreeSet<Date> = BTreeSet::new();
            dates.insert(self.day(0));
            dates.insert(self.day(200));
            let mine = self.mine(&ag);
            for e in &mine[mine.len().saturating_sub(2)..] {
                let a = &e.amendment;
                for (i, c) in a.changes.iter().enumerate() {
                    if let Some(d) = a.change_date(i) {
                        dates.insert(d);
                        dates.insert(self.plus(d, 1));
                    }
                    if let Op::Add { until: Some(u), .. } | Op::Amend { until: Some(u), .. } = &c.op
                    {
                        dates.insert(self.plus(*u, 1));
                    }
                }
            }
            let entries = self
                .ledger()
                .agreement_entries(&ag)
                .expect("readable entries");
            for view in &views {
                for at in &dates {
                    self.compare(&ag, &entries, self.mine(&ag), *at, *view);
                }
            }
            self.stats.states += views.len() * dates.len();
        }
    }
}
