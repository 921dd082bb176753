//! A generator of valid amendment histories.
//!
//! Proptest generates a list of [`Spec`]s (plain numbers, so they shrink
//! well); [`build`] turns each into a candidate amendment, biased towards
//! validity by looking at the reference model's state at the candidate's
//! date (amend and repeal clauses in force, add clauses that are not, occur
//! events not yet occurred), and appends it to an in-memory ledger. The
//! ledger judges: accepted candidates form the history, refused ones are
//! kept too. With [`Checks::oracle`] the reference model predicts every
//! verdict, seq and recorded time, and a disagreement fails the case.

use std::collections::{BTreeMap, BTreeSet};

use jiff::ToSpan;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use pactum::error::Error;
use pactum::ledger::{AppendOptions, Outcome};
use pactum::model::*;
use pactum::projection::KnownAt;
use pactum::store::MemStore;
use pactum::Ledger;

use super::reference::{self, RefEntry, Verdict, View, World};

pub const ORIGIN: [u8; 16] = [7; 16];
/// 2020-01-15T00:00:00Z in microseconds (effective dates run 2020-01-01 to
/// about 2020-04, so changes are both backdated and future-dated).
pub const BASE_TIME: i64 = 1_577_836_800_000_000 + 14 * DAY_US;
const HOUR: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR;

pub const AGREEMENTS: [&str; 3] = ["acme", "beta-2", "gamma"];
pub const CLAUSES: [&str; 5] = ["a", "b", "c.d", "c.e", "z-9"];
pub const EVENTS: [&str; 3] = ["e1", "e2", "e3"];
pub const TERMS: [&str; 4] = ["fee_usd", "active", "renewal", "label"];
const PARTIES: [(&str, &str); 3] = [
    ("p1", "Party One"),
    ("p2", "Partei Zwei ✓"),
    ("p3", "Party Three"),
];
const TEXTS: [&str; 6] = [
    "The supplier delivers the goods.",
    "Fees are due within thirty days.",
    "Exclusivité: Azure is the exclusive cloud.",
    "Line one\nline two\twith a tab.",
    "日本語の条項",
    "  Spaced   words  ",
];
const HEADINGS: [&str; 4] = ["Fees", "Term", "Exclusivity", "Über"];
const TITLES: [&str; 3] = ["Supply agreement", "Partnership", "Licence ✓"];

/// The day `n` days after 2020-01-01.
pub fn day(n: i64) -> Date {
    let d = jiff::civil::date(2020, 1, 1)
        .checked_add(n.days())
        .expect("a date in range");
    Date::from_civil(d).expect("a date in range")
}

/// Days from 2020-01-01 to `d`.
pub fn offset(d: Date) -> i64 {
    jiff::civil::date(2020, 1, 1)
        .until(d.civil())
        .expect("a span")
        .get_days() as i64
}

pub fn plus(d: Date, n: i64) -> Date {
    day(offset(d) + n)
}

/// A small deterministic random source (splitmix64) fed by proptest.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    pub fn pick_str<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// The numbers behind one candidate amendment.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Index into [`AGREEMENTS`].
    pub agreement: u8,
    /// Which kind of candidate (see [`make`]).
    pub kind: u8,
    /// A day offset from 2020-01-01 (0..=60).
    pub day: u8,
    /// How the recorded time moves before this append (see [`advance`]).
    pub step: u8,
    /// Append together with the next one or two specs, as one batch.
    pub batch: bool,
    /// Everything else.
    pub seed: u64,
}

pub fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..3,
        any::<u8>(),
        0u8..=60,
        0u8..10,
        prop::bool::weighted(0.12),
        any::<u64>(),
    )
        .prop_map(|(agreement, kind, day, step, batch, seed)| Spec {
            agreement,
            kind,
            day,
            step,
            batch,
            seed,
        })
}

/// Between 1 and `max - 1` candidate specs.
pub fn specs(max: usize) -> impl Strategy<Value = Vec<Spec>> {
    vec(spec(), 1..max)
}

/// What [`build`] checks while it builds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checks {
    /// The reference model predicts every verdict, seq and recorded time.
    pub oracle: bool,
    /// A refused append leaves every stored byte and the head unchanged.
    pub refusals: bool,
}

/// Counts of what a history holds.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub candidates: usize,
    pub appends_ok: usize,
    pub appends_refused: usize,
    pub batches_ok: usize,
    pub batches_refused: usize,
    pub existing: usize,
    /// Accepted changes by op (retractions counted as `retract`).
    pub ops: BTreeMap<&'static str, usize>,
    pub amendments: usize,
    pub retroactive: usize,
    pub future_dated: usize,
    pub overrides: usize,
    pub sunsets: usize,
    pub until_events: usize,
    pub same_day: usize,
    /// Agreements whose establishing amendment is retracted (state refuses them).
    pub establish_retracted: usize,
    /// Clauses ended by the occurrence of their `until_event`.
    pub ended_by_event: usize,
    /// Clauses whose `until` passed before the timeline's last change.
    pub sunsets_reached: usize,
    /// Candidates by kind: (made, accepted as new entries).
    pub kinds: BTreeMap<&'static str, (usize, usize)>,
    /// Refusals by the model's reason (first words), when the oracle is on.
    pub reasons: BTreeMap<String, usize>,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.candidates += o.candidates;
        self.appends_ok += o.appends_ok;
        self.appends_refused += o.appends_refused;
        self.batches_ok += o.batches_ok;
        self.batches_refused += o.batches_refused;
        self.existing += o.existing;
        for (k, v) in &o.ops {
            *self.ops.entry(k).or_default() += v;
        }
        self.amendments += o.amendments;
        self.retroactive += o.retroactive;
        self.future_dated += o.future_dated;
        self.overrides += o.overrides;
        self.sunsets += o.sunsets;
        self.until_events += o.until_events;
        self.same_day += o.same_day;
        self.establish_retracted += o.establish_retracted;
        self.ended_by_event += o.ended_by_event;
        self.sunsets_reached += o.sunsets_reached;
        for (k, (m, a)) in &o.kinds {
            let e = self.kinds.entry(k).or_default();
            e.0 += m;
            e.1 += a;
        }
        for (k, v) in &o.reasons {
            *self.reasons.entry(k.clone()).or_default() += v;
        }
    }
}

/// A generated history and the in-memory ledger holding it.
pub struct History {
    pub ledger: Ledger<MemStore>,
    /// Every accepted entry, in seq order.
    pub entries: Vec<RefEntry>,
    /// The accepted `append` calls, as given: (batch, time passed).
    pub appends: Vec<(Vec<Amendment>, i64)>,
    /// The refused `append` calls.
    pub refused: Vec<(Vec<Amendment>, i64)>,
    /// The last time passed to `append`.
    pub clock: i64,
    pub stats: Stats,
}

pub fn agreement(i: usize) -> AgreementId {
    AgreementId::new(AGREEMENTS[i % AGREEMENTS.len()]).expect("a valid id")
}

impl History {
    /// The entries of one agreement, in seq order.
    pub fn of(&self, ag: &AgreementId) -> Vec<RefEntry> {
        of(&self.entries, ag)
    }

    /// The agreements of the pool, and one never recorded.
    pub fn agreements(&self) -> Vec<AgreementId> {
        let mut v: Vec<AgreementId> = (0..AGREEMENTS.len()).map(agreement).collect();
        v.push(AgreementId::new("zz-never").expect("a valid id"));
        v
    }

    /// Dates worth asking about for this agreement: before everything, every
    /// change date and the days around it, every `until` and the day after.
    pub fn query_dates(&self, ag: &AgreementId) -> Vec<Date> {
        let mut set = BTreeSet::new();
        set.insert(day(-1));
        set.insert(day(200));
        for e in self.of(ag) {
            let a = &e.amendment;
            for (i, c) in a.changes.iter().enumerate() {
                if let Some(d) = a.change_date(i) {
                    set.insert(plus(d, -1));
                    set.insert(d);
                    set.insert(plus(d, 1));
                }
                let until = match &c.op {
                    Op::Add { until, .. } | Op::Amend { until, .. } => *until,
                    _ => None,
                };
                if let Some(u) = until {
                    set.insert(u);
                    set.insert(plus(u, 1));
                }
            }
        }
        set.into_iter().collect()
    }

    /// Views worth asking about: all, a few seqs and a few times (on and
    /// just before recorded times, and before anything was recorded).
    pub fn views(&self, seed: u64) -> Vec<(View, KnownAt)> {
        let mut r = Rng::new(seed);
        let mut v = vec![(View::All, KnownAt::All)];
        let n = self.entries.len() as u64;
        if n == 0 {
            return v;
        }
        let mut seqs = vec![0, n / 2, r.below(n), r.below(n)];
        seqs.dedup();
        for s in seqs {
            v.push((View::Seq(s), KnownAt::Seq(s)));
        }
        let mut times = vec![BASE_TIME - 1];
        for _ in 0..2 {
            let t = self.entries[r.below(n) as usize].recorded_at;
            times.push(t);
            times.push(t - 1);
        }
        times.sort();
        times.dedup();
        for t in times {
            v.push((View::Time(t), KnownAt::Time(RecordedAt(t))));
        }
        v
    }
}

pub fn of(entries: &[RefEntry], ag: &AgreementId) -> Vec<RefEntry> {
    entries
        .iter()
        .filter(|e| &e.amendment.agreement == ag)
        .cloned()
        .collect()
}

/// The time passed to the next `append`: same, a microsecond, hours, a day
/// or two later, or an hour *earlier* (the ledger must not go backwards).
fn advance(clock: i64, s: &Spec) -> i64 {
    let mut r = Rng::new(s.seed ^ 0x5eed);
    match s.step {
        0 => clock,
        1 => clock + 1,
        2 | 3 => clock + (1 + r.below(6) as i64) * HOUR,
        4..=7 => clock + DAY_US,
        8 => clock + 2 * DAY_US,
        _ => clock - HOUR,
    }
}

fn cid(s: &str) -> ClauseId {
    ClauseId::new(s).expect("a valid clause id")
}

fn eid(s: &str) -> EventId {
    EventId::new(s).expect("a valid event id")
}

fn tname(s: &str) -> TermName {
    TermName::new(s).expect("a valid term name")
}

fn text(r: &mut Rng) -> String {
    format!("{} {}", r.pick(&TEXTS), r.below(4))
}

fn term_value(r: &mut Rng) -> TermValue {
    match r.below(4) {
        0 => TermValue::Integer(*r.pick(&[-2, -1, 0, 1, 2, 1_000_000, i64::MIN, i64::MAX])),
        1 => TermValue::Boolean(r.chance(50)),
        2 => TermValue::Date(day(r.below(90) as i64)),
        _ => TermValue::Text(
            r.pick(&["net 30", "", "ROFR", "multi word value"])
                .to_string(),
        ),
    }
}

fn terms(r: &mut Rng, max: u64) -> Terms {
    let mut t = Terms::new();
    for _ in 0..r.below(max + 1) {
        t.insert(tname(r.pick_str(&TERMS)), term_value(r));
    }
    t
}

/// A date for a candidate: mostly just after the timeline's last change
/// (several changes on one day happen), sometimes anywhere, on an existing
/// change date, far in the future, or retroactive.
fn pick_date(r: &mut Rng, s: &Spec, ch: &[reference::Dated<'_>]) -> Date {
    let base = day(s.day as i64);
    let (Some(first), Some(last)) = (ch.first().map(|c| c.0), ch.iter().map(|c| c.0).max()) else {
        return base;
    };
    let established = ch
        .iter()
        .find(|(_, _, pos, a)| matches!(a.changes[*pos].op, Op::Establish { .. }))
        .map(|c| c.0);
    let d = match r.below(100) {
        0..=39 => plus(last, r.below(4) as i64),
        40..=59 => base,
        60..=74 => r.pick(ch).0,
        75..=84 => plus(last, 5 + r.below(25) as i64),
        _ => {
            let span = (offset(last) - offset(first)).max(0) as u64;
            plus(first, r.below(span + 1) as i64)
        }
    };
    // Mostly on or after the establishing date (before it, every change is refused).
    let d = match established {
        Some(e) if d < e && r.chance(85) => e,
        _ => d,
    };
    day(offset(d).clamp(0, 120))
}

fn add_op(r: &mut Rng, w: &World, d: Date, avoid: &[String]) -> Op {
    let free: Vec<&str> = CLAUSES
        .iter()
        .copied()
        .filter(|c| !w.clauses.contains_key(*c) && !avoid.iter().any(|a| a == c))
        .collect();
    let clause = if free.is_empty() || r.chance(4) {
        *r.pick(&CLAUSES)
    } else {
        *r.pick(&free)
    };
    let until_event = r.chance(20).then(|| {
        let open: Vec<&str> = EVENTS
            .iter()
            .copied()
            .filter(|e| !w.occurred.contains_key(*e))
            .collect();
        eid(if open.is_empty() || r.chance(5) {
            r.pick_str(&EVENTS)
        } else {
            r.pick_str(&open)
        })
    });
    Op::Add {
        clause: cid(clause),
        heading: r.chance(40).then(|| r.pick(&HEADINGS).to_string()),
        text: text(r),
        terms: terms(r, 2),
        until: r.chance(25).then(|| plus(d, r.below(20) as i64)),
        until_event,
    }
}

fn amend_op(r: &mut Rng, w: &World, d: Date, avoid: &[String]) -> Op {
    let in_force: Vec<&reference::RefClause> = w
        .clauses
        .values()
        .filter(|c| !avoid.contains(&c.id))
        .collect();
    let (clause, current): (String, Vec<String>) = if in_force.is_empty() || r.chance(4) {
        (r.pick(&CLAUSES).to_string(), Vec::new())
    } else {
        let c = r.pick(&in_force);
        (c.id.clone(), c.terms.keys().cloned().collect())
    };
    let mut set = Terms::new();
    if r.chance(35) {
        set = terms(r, 2);
    }
    let mut unset: BTreeSet<TermName> = BTreeSet::new();
    if r.chance(25) && !current.is_empty() {
        for _ in 0..=r.below(2) {
            let t = tname(r.pick(&current).as_str());
            if !set.contains_key(&t) {
                unset.insert(t);
            }
        }
    }
    let heading = r.chance(25).then(|| r.pick(&HEADINGS).to_string());
    let until = r.chance(15).then(|| plus(d, r.below(20) as i64));
    let until_event = r.chance(10).then(|| eid(r.pick_str(&EVENTS)));
    let mut text_ = r.chance(50).then(|| text(r));
    if heading.is_none()
        && text_.is_none()
        && set.is_empty()
        && unset.is_empty()
        && until.is_none()
        && until_event.is_none()
    {
        text_ = Some(text(r));
    }
    Op::Amend {
        clause: cid(&clause),
        heading,
        text: text_,
        set,
        unset: unset.into_iter().collect(),
        until,
        until_event,
    }
}

fn repeal_op(r: &mut Rng, w: &World, avoid: &[String]) -> Op {
    let in_force: Vec<&String> = w.clauses.keys().filter(|c| !avoid.contains(c)).collect();
    let clause = if in_force.is_empty() || r.chance(4) {
        r.pick(&CLAUSES).to_string()
    } else {
        r.pick(&in_force).to_string()
    };
    Op::Repeal {
        clause: cid(&clause),
    }
}

fn occur_op(r: &mut Rng, w: &World, ever: &World) -> Op {
    let awaited: Vec<&str> = w
        .clauses
        .values()
        .filter_map(|c| c.until_event.as_deref())
        .filter(|e| !ever.occurred.contains_key(*e))
        .collect();
    let open: Vec<&str> = EVENTS
        .iter()
        .copied()
        .filter(|e| !ever.occurred.contains_key(*e))
        .collect();
    let event = if !awaited.is_empty() && r.chance(60) {
        r.pick(&awaited)
    } else if !open.is_empty() && !r.chance(4) {
        r.pick(&open)
    } else {
        r.pick(&EVENTS)
    };
    Op::Occur {
        event: eid(event),
        note: r.chance(30).then(|| "it happened".to_string()),
    }
}

fn change(op: Op) -> Change {
    Change {
        effective: None,
        op,
    }
}

fn amendment(
    ag: &AgreementId,
    id: String,
    r: &mut Rng,
    d: Option<Date>,
    changes: Vec<Change>,
) -> Amendment {
    Amendment {
        agreement: ag.clone(),
        title: format!("Amendment {id}"),
        id: AmendmentId::new(id).expect("a valid amendment id"),
        effective: d,
        signed: (d.is_some() && r.chance(20))
            .then(|| d.map(|d| plus(d, -1)))
            .flatten(),
        source: r.chance(10).then(|| "https://example.com/deal".to_string()),
        changes,
    }
}

fn establish(r: &mut Rng, ag: &AgreementId, id: String, d: Date) -> Amendment {
    let mut parties: Vec<Party> = Vec::new();
    for (pid, name) in PARTIES {
        if parties.is_empty() || r.chance(50) {
            parties.push(Party {
                id: PartyId::new(pid).expect("a valid party id"),
                name: name.to_string(),
                key: None,
            });
        }
    }
    // Sometimes the establish carries its own date (later than the
    // amendment's, so the adds without one come before it and are refused).
    let own = r.chance(8).then(|| plus(d, r.below(3) as i64));
    let mut changes = vec![Change {
        effective: own,
        op: Op::Establish {
            title: r.pick(&TITLES).to_string(),
            parties,
        },
    }];
    let w = World::default();
    let mut used: Vec<String> = Vec::new();
    for _ in 0..r.below(3) {
        let cd = r
            .chance(30)
            .then(|| plus(own.unwrap_or(d), r.below(5) as i64));
        let op = add_op(r, &w, cd.unwrap_or(d), &used);
        if let Some(c) = op.clause() {
            used.push(c.as_str().to_string());
        }
        changes.push(Change { effective: cd, op });
    }
    amendment(ag, id, r, Some(d), changes)
}

/// The kind of candidate [`make`] builds for `s` (for statistics).
pub fn kind_name(s: &Spec, established: bool, live: usize) -> &'static str {
    match s.kind {
        0..=9 => "wild",
        _ if !established => "establish",
        10..=17 => "same-id",
        18..=69 => "add",
        70..=129 => "amend",
        130..=154 => "repeal",
        155..=174 => "occur",
        175..=194 => "retract",
        195..=202 if live >= 4 => "terminate",
        195..=202 => "amend",
        _ => "multi",
    }
}

/// Builds the candidate of `s`, given its agreement's entries so far (`mine`,
/// seq order, the batch's earlier candidates included); `n` makes its id.
pub fn make(s: &Spec, mine: &[RefEntry], n: usize) -> Amendment {
    let mut r = Rng::new(s.seed);
    let ag = agreement(s.agreement as usize);
    let id = format!("m{n}");
    let all: Vec<&RefEntry> = mine.iter().collect();
    let live = reference::live(&all);
    let ch = reference::changes(&live);
    let established = ch
        .iter()
        .any(|(_, _, pos, a)| matches!(a.changes[*pos].op, Op::Establish { .. }));
    let ever = reference::fold(&ch, None).unwrap_or_default();
    let d = pick_date(&mut r, s, &ch);
    let world = |d: Date| reference::fold(&ch, Some(d)).unwrap_or_default();
    let wild = s.kind < 10;
    if !established && !wild {
        return establish(&mut r, &ag, id, d);
    }
    match s.kind {
        // Unbiased: a random op on a random clause at a random date.
        0..=9 => {
            let w = World::default();
            let dd = day(s.day as i64);
            let op = match r.below(6) {
                0 => return establish(&mut r, &ag, id, dd),
                1 => add_op(&mut r, &w, dd, &[]),
                2 => amend_op(&mut r, &w, dd, &[]),
                3 => repeal_op(&mut r, &w, &[]),
                4 => occur_op(&mut r, &w, &w),
                _ => Op::Terminate { note: None },
            };
            amendment(&ag, id, &mut r, Some(dd), vec![change(op)])
        }
        // The id of an earlier amendment: the same content, or another title.
        10..=17 if !mine.is_empty() => {
            let mut a = r.pick(mine).amendment.clone();
            if r.chance(50) {
                a.title = format!("{} (revised)", a.title);
            }
            a
        }
        10..=69 => {
            let op = add_op(&mut r, &world(d), d, &[]);
            amendment(&ag, id, &mut r, Some(d), vec![change(op)])
        }
        70..=129 => {
            let op = amend_op(&mut r, &world(d), d, &[]);
            amendment(&ag, id, &mut r, Some(d), vec![change(op)])
        }
        130..=154 => {
            let op = repeal_op(&mut r, &world(d), &[]);
            amendment(&ag, id, &mut r, Some(d), vec![change(op)])
        }
        155..=174 => {
            let op = occur_op(&mut r, &world(d), &ever);
            amendment(&ag, id, &mut r, Some(d), vec![change(op)])
        }
        175..=194 => {
            let targets: Vec<&RefEntry> = live.clone();
            let target = if targets.is_empty() || r.chance(5) {
                r.pick(mine).amendment.id.clone()
            } else if targets.len() <= 2 && r.chance(40) {
                // The establishing amendment: accepted when nothing else
                // depends on it, and the agreement is then not established.
                targets[0].amendment.id.clone()
            } else if r.chance(60) {
                let k = targets.len().min(3) as u64;
                targets[targets.len() - 1 - r.below(k) as usize]
                    .amendment
                    .id
                    .clone()
            } else {
                r.pick(&targets).amendment.id.clone()
            };
            let mut a = amendment(
                &ag,
                id,
                &mut r,
                None,
                vec![change(Op::Retract {
                    amendment: target,
                    reason: "recorded by mistake".into(),
                })],
            );
            a.signed = None;
            a
        }
        // Terminate: only once the agreement has some history.
        195..=202 if live.len() >= 4 => {
            let last = ch.iter().map(|c| c.0).max().unwrap_or(d);
            let td = if r.chance(70) {
                plus(last.max(d), r.below(5) as i64)
            } else {
                d
            };
            let note = r.chance(50).then(|| "the end".to_string());
            amendment(
                &ag,
                id,
                &mut r,
                Some(td),
                vec![change(Op::Terminate { note })],
            )
        }
        195..=202 => {
            let op = amend_op(&mut r, &world(d), d, &[]);
            amendment(&ag, id, &mut r, Some(d), vec![change(op)])
        }
        // Several changes, some with their own effective date.
        _ => {
            let mut changes = Vec::new();
            let mut used: Vec<String> = Vec::new();
            for _ in 0..2 + r.below(2) {
                let cd = r
                    .chance(40)
                    .then(|| day((offset(d) + r.below(9) as i64 - 3).max(0)));
                let w = world(cd.unwrap_or(d));
                let op = match r.below(100) {
                    0..=34 => add_op(&mut r, &w, cd.unwrap_or(d), &used),
                    35..=74 => amend_op(&mut r, &w, cd.unwrap_or(d), &used),
                    75..=89 => repeal_op(&mut r, &w, &used),
                    _ => occur_op(&mut r, &w, &ever),
                };
                if let Some(c) = op.clause() {
                    used.push(c.as_str().to_string());
                }
                // Now and then a second change of the same clause in the same
                // amendment: an add then an amend, or an amend then a repeal.
                let follow = match (&op, r.chance(15)) {
                    (Op::Add { clause, .. }, true) => Some(Op::Amend {
                        clause: clause.clone(),
                        heading: Some(r.pick(&HEADINGS).to_string()),
                        text: None,
                        set: terms(&mut r, 1),
                        unset: Vec::new(),
                        until: None,
                        until_event: None,
                    }),
                    (Op::Amend { clause, .. }, true) => Some(Op::Repeal {
                        clause: clause.clone(),
                    }),
                    _ => None,
                };
                changes.push(Change { effective: cd, op });
                if let Some(op) = follow {
                    changes.push(Change { effective: cd, op });
                }
            }
            amendment(&ag, id, &mut r, Some(d), changes)
        }
    }
}

fn note_accepted(stats: &mut Stats, before: &[RefEntry], e: &RefEntry) {
    let a = &e.amendment;
    stats.amendments += 1;
    for c in &a.changes {
        *stats.ops.entry(c.op.name()).or_default() += 1;
        if c.effective.is_some() {
            stats.overrides += 1;
        }
        match &c.op {
            Op::Add {
                until, until_event, ..
            }
            | Op::Amend {
                until, until_event, ..
            } => {
                stats.sunsets += until.is_some() as usize;
                stats.until_events += until_event.is_some() as usize;
            }
            _ => {}
        }
    }
    let dates: Vec<Date> = (0..a.changes.len())
        .filter_map(|i| a.change_date(i))
        .collect();
    let mine: Vec<&RefEntry> = before
        .iter()
        .filter(|b| b.amendment.agreement == a.agreement)
        .collect();
    let latest = reference::changes(&reference::live(&mine))
        .iter()
        .map(|c| c.0)
        .max();
    if let (Some(min), Some(latest)) = (dates.iter().min(), latest) {
        if *min < latest {
            stats.retroactive += 1;
        }
    }
    let recorded_day = RecordedAt(e.recorded_at).date().expect("a day");
    if dates.iter().any(|d| *d > recorded_day) {
        stats.future_dated += 1;
    }
}

/// Appends the candidates of `specs` to a new in-memory ledger.
pub fn build(specs: &[Spec], checks: Checks) -> Result<History, TestCaseError> {
    let ledger = Ledger::create(MemStore::default(), ORIGIN).expect("a new ledger");
    let mut h = History {
        ledger,
        entries: Vec::new(),
        appends: Vec::new(),
        refused: Vec::new(),
        clock: BASE_TIME,
        stats: Stats::default(),
    };
    let mut i = 0;
    let mut n = 0;
    while i < specs.len() {
        // A batch of 2 to 5 candidates, half the time all of one agreement
        // (so the ledger validates several amendments of it together).
        let take = if specs[i].batch {
            (2 + (specs[i].seed % 4) as usize).min(specs.len() - i)
        } else {
            1
        };
        let one_agreement = specs[i].seed & 8 != 0;
        // Build the batch; each candidate sees the earlier ones as recorded.
        let mut tentative = h.entries.clone();
        let mut next_seq = h.entries.len() as u64;
        let mut batch = Vec::new();
        let mut verdicts = Vec::new();
        let mut kinds = Vec::new();
        for s in &specs[i..i + take] {
            let mut s = s.clone();
            if one_agreement {
                s.agreement = specs[i].agreement;
            }
            let s = &s;
            let ag = agreement(s.agreement as usize);
            let mine = of(&tentative, &ag);
            let a = make(s, &mine, n);
            n += 1;
            let v = reference::judge(&mine, &a, next_seq);
            let refs: Vec<&RefEntry> = mine.iter().collect();
            let live = reference::live(&refs);
            let established = reference::changes(&live)
                .iter()
                .any(|(_, _, pos, a)| matches!(a.changes[*pos].op, Op::Establish { .. }));
            kinds.push(kind_name(s, established, live.len()));
            if v == Verdict::New {
                tentative.push(RefEntry {
                    seq: next_seq,
                    recorded_at: 0,
                    amendment: a.clone(),
                });
                next_seq += 1;
            }
            verdicts.push(v);
            batch.push(a);
        }
        h.stats.candidates += take;
        let now = advance(h.clock, &specs[i]);
        h.clock = now;
        let before = checks
            .refusals
            .then(|| (h.ledger.store().dump(), h.ledger.head()));
        let result = h
            .ledger
            .append(&batch, RecordedAt(now), AppendOptions::default());
        let first_refused = verdicts
            .iter()
            .position(|v| matches!(v, Verdict::Refused(_)));
        for k in &kinds {
            h.stats.kinds.entry(k).or_default().0 += 1;
        }
        match result {
            Ok(report) => {
                if checks.oracle {
                    prop_assert!(
                        first_refused.is_none(),
                        "the ledger accepted {:?}, the model refuses it: {:?}",
                        batch,
                        verdicts
                    );
                    let last = h.entries.last().map(|e| e.recorded_at);
                    let expected = last.map_or(now, |l| l.max(now));
                    prop_assert_eq!(report.recorded_at, RecordedAt(expected));
                }
                prop_assert_eq!(report.outcomes.len(), batch.len());
                let mut seq = h.entries.len() as u64;
                for (k, (o, a)) in report.outcomes.iter().zip(&batch).enumerate() {
                    match *o {
                        Outcome::Appended { seq: s, chain } => {
                            prop_assert_eq!(s, seq);
                            prop_assert_eq!(h.ledger.entry_hash(s).ok().flatten(), Some(chain));
                            if checks.oracle {
                                prop_assert_eq!(&verdicts[k], &Verdict::New);
                            }
                            h.stats.kinds.entry(kinds[k]).or_default().1 += 1;
                            let e = RefEntry {
                                seq: s,
                                recorded_at: report.recorded_at.0,
                                amendment: a.clone(),
                            };
                            note_accepted(&mut h.stats, &h.entries, &e);
                            h.entries.push(e);
                            seq += 1;
                        }
                        Outcome::Existing { seq: s } => {
                            if checks.oracle {
                                prop_assert_eq!(&verdicts[k], &Verdict::Existing(s));
                            }
                            h.stats.existing += 1;
                        }
                    }
                }
                prop_assert_eq!(h.ledger.head().count, h.entries.len() as u64);
                prop_assert_eq!(report.head, h.ledger.head().checkpoint());
                h.stats.appends_ok += 1;
                h.stats.batches_ok += (take > 1) as usize;
                h.appends.push((batch, now));
            }
            Err(Error::Refused(refusal)) => {
                if checks.oracle {
                    prop_assert_eq!(
                        first_refused,
                        Some(refusal.index),
                        "the ledger refused {:?} ({}), the model's verdicts are {:?}",
                        batch,
                        refusal,
                        verdicts
                    );
                }
                if let Some((dump, head)) = before {
                    prop_assert!(
                        dump == h.ledger.store().dump(),
                        "a refused append changed the store"
                    );
                    prop_assert_eq!(head, h.ledger.head());
                }
                if let Some(Verdict::Refused(m)) = first_refused.map(|i| &verdicts[i]) {
                    let m = m.rsplit(": ").next().unwrap_or(m);
                    let m: String = m
                        .split_whitespace()
                        .take_while(|w| !w.starts_with(|c: char| c.is_ascii_digit() || c == '`'))
                        .collect::<Vec<_>>()
                        .join(" ");
                    *h.stats.reasons.entry(m).or_default() += 1;
                }
                h.stats.appends_refused += 1;
                h.stats.batches_refused += (take > 1) as usize;
                h.refused.push((batch, now));
            }
            Err(e) => return Err(TestCaseError::fail(format!("append failed: {e}"))),
        }
        i += take;
    }
    // Days on which an agreement's live timeline has several changes.
    for k in 0..AGREEMENTS.len() {
        let mine = h.of(&agreement(k));
        let refs: Vec<&RefEntry> = mine.iter().collect();
        let mut days: BTreeMap<Date, usize> = BTreeMap::new();
        for c in reference::changes(&reference::live(&refs)) {
            *days.entry(c.0).or_default() += 1;
        }
        h.stats.same_day += days.values().filter(|n| **n > 1).count();
        let ch = reference::changes(&reference::live(&refs));
        if !mine.is_empty()
            && !ch
                .iter()
                .any(|(_, _, pos, a)| matches!(a.changes[*pos].op, Op::Establish { .. }))
        {
            h.stats.establish_retracted += 1;
        }
        // Clauses that an occurrence ended: in force the day before it,
        // waiting for its event.
        for (d, _, pos, a) in &ch {
            if let Op::Occur { event, .. } = &a.changes[*pos].op {
                let before = reference::fold(&ch, Some(plus(*d, -1))).unwrap_or_default();
                h.stats.ended_by_event += before
                    .clauses
                    .values()
                    .filter(|c| c.until_event.as_deref() == Some(event.as_str()))
                    .count();
            }
        }
        // Clauses that reached their `until`.
        let last = ch.iter().map(|c| c.0).max();
        if let Some(last) = last {
            let mut seen = BTreeSet::new();
            for (d, _, _, _) in &ch {
                let w = reference::fold(&ch, Some(*d)).unwrap_or_default();
                for c in w.clauses.values() {
                    if c.until.is_some_and(|u| u < last) {
                        seen.insert((c.id.clone(), c.until));
                    }
                }
            }
            h.stats.sunsets_reached += seen.len();
        }
    }
    Ok(h)
}
