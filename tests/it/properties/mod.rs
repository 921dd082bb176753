//! Property tests of the ledger core (the "Ledger core" issue).
//!
//! Histories come from `properties/gen.rs`: proptest generates plain numbers,
//! the generator turns them into candidate amendments biased towards
//! validity and appends them to an in-memory ledger, which judges them.
//! `properties/reference.rs` is a separate, deliberately naive model of
//! product.md §3 that the projections are compared with.
//!
//! 1. deterministic replay (memory, sled, sled reopened)
//! 2. the state equals the reference model's; every append verdict, seq and
//!    recorded time is the model's
//! 3. refusals change nothing (head and every stored byte); a batch is all or nothing
//! 4. recording order does not matter when both orders are accepted
//! 5. codec: round trip; arbitrary and mutated bytes never panic
//! 6. tamper evidence: the audit passes, and any flipped bit is found at its seq
//! 7. idempotency
//!
//! Shrunk failures are kept in `tests/it/properties/mod.proptest-regressions`.

mod bridge;
mod gen;
mod reference;
use bridge::{model_digest, to_ref};

use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};

use pactum::audit::audit_store;
use pactum::codec::{self, Entry};
use pactum::error::Error;
use pactum::layout::keys;
use pactum::ledger::{AppendOptions, Outcome};
use pactum::model::*;
use pactum::projection::{self, KnownAt, ProjectionError, State};
use pactum::store::{MemStore, PgStore, SledStore, Store};
use pactum::Ledger;

use gen::{build, day, plus, Checks, History, Rng, BASE_TIME, ORIGIN};
use reference::{RefEntry, RefError, RefState, Verdict};

const DAY_US: i64 = 24 * 3_600_000_000;
/// Candidate amendments per generated history: fewer than this.
const SPECS: usize = 64;

// ---------------------------------------------------------------- helpers

fn entries_of<S: Store>(ledger: &Ledger<S>, ag: &AgreementId) -> Vec<Entry> {
    ledger.agreement_entries(ag).expect("readable entries")
}

/// The state through the ledger (as known now: from its stored projections),
/// checked to equal the replay of the agreement's entries.
fn ledger_state<S: Store>(
    ledger: &Ledger<S>,
    ag: &AgreementId,
    entries: &[Entry],
    at: Date,
    known: KnownAt,
) -> Result<Result<State, ProjectionError>, TestCaseError> {
    let replayed = projection::state(ag, entries, at, known);
    let stored = match ledger.state(ag, at, known) {
        Ok(s) => Ok(s),
        Err(pactum::Error::Projection(p)) => Err(p),
        Err(e) => return Err(TestCaseError::fail(format!("{ag} at {at}: {e}"))),
    };
    prop_assert_eq!(
        &stored,
        &replayed,
        "{} at {} known at {}: the stored projections and the entries disagree",
        ag,
        at,
        known
    );
    Ok(stored)
}

fn check_against_model(
    ag: &AgreementId,
    at: Date,
    known: KnownAt,
    lib: &Result<State, ProjectionError>,
    model: &Result<RefState, RefError>,
) -> Result<(), TestCaseError> {
    match (lib, model) {
        (Ok(s), Ok(m)) => {
            prop_assert_eq!(&s.agreement, ag);
            prop_assert_eq!(s.at, at);
            prop_assert_eq!(s.known_at, known);
            prop_assert_eq!(&to_ref(s), m, "{} at {} known at {}", ag, at, known);
            prop_assert_eq!(s.digest, model_digest(ag, m), "digest of {} at {}", ag, at);
        }
        (Err(ProjectionError::Unknown(a)), Err(RefError::Unknown)) => prop_assert_eq!(a, ag),
        (Err(ProjectionError::NotYetKnown { agreement, .. }), Err(RefError::NotYetKnown)) => {
            prop_assert_eq!(agreement, ag)
        }
        (Err(ProjectionError::NotEstablished(a)), Err(RefError::NotEstablished)) => {
            prop_assert_eq!(a, ag)
        }
        (l, m) => {
            return Err(TestCaseError::fail(format!(
                "{ag} at {at} known at {known}: the library gives {l:?}, the model {m:?}"
            )))
        }
    }
    Ok(())
}

/// Every state (all agreements, all query dates, several views) of a ledger.
fn all_states<S: Store>(
    ledger: &Ledger<S>,
    h: &History,
    seed: u64,
) -> Result<Vec<Result<State, ProjectionError>>, TestCaseError> {
    let mut out = Vec::new();
    for ag in h.agreements() {
        let entries = entries_of(ledger, &ag);
        for (_, known) in h.views(seed) {
            for at in h.query_dates(&ag) {
                out.push(ledger_state(ledger, &ag, &entries, at, known)?);
            }
        }
    }
    Ok(out)
}

fn dump_store<S: Store>(s: &S) -> Vec<(Vec<u8>, Vec<u8>)> {
    s.scan(&[], None)
        .map(|p| p.expect("a readable pair"))
        .collect()
}

/// Appends `batch`, which must be refused without changing anything.
fn assert_refused(h: &History, batch: &[Amendment], why: &str) -> Result<(), TestCaseError> {
    let dump = h.ledger.store().dump();
    let head = h.ledger.head();
    let r = h.ledger.append(
        batch,
        RecordedAt(h.clock + DAY_US),
        AppendOptions::default(),
    );
    prop_assert!(
        matches!(r, Err(Error::Refused(_))),
        "{}: {:?} was not refused: {:?}",
        why,
        batch,
        r
    );
    prop_assert!(
        dump == h.ledger.store().dump(),
        "{}: the store changed",
        why
    );
    prop_assert_eq!(head, h.ledger.head(), "{}: the head changed", why);
    Ok(())
}

/// [`assert_refused`], counted by `why`.
fn refused(
    counts: &mut std::collections::BTreeMap<&'static str, usize>,
    h: &History,
    batch: &[Amendment],
    why: &'static str,
) -> Result<(), TestCaseError> {
    assert_refused(h, batch, why)?;
    *counts.entry(why).or_default() += 1;
    Ok(())
}

fn model_verdict(h: &History, a: &Amendment) -> Verdict {
    reference::judge(&h.of(&a.agreement), a, h.entries.len() as u64)
}

fn single(ag: &AgreementId, id: &str, d: Option<Date>, op: Op) -> Amendment {
    Amendment {
        agreement: ag.clone(),
        id: AmendmentId::new(id).expect("amendment id"),
        title: format!("Probe {id}"),
        effective: d,
        signed: None,
        source: None,
        changes: vec![Change {
            effective: None,
            op,
        }],
    }
}

fn text_amend(clause: &str) -> Op {
    Op::Amend {
        clause: ClauseId::new(clause).expect("clause"),
        heading: None,
        text: Some("Probe text.".into()),
        set: Terms::new(),
        unset: Vec::new(),
        until: None,
        until_event: None,
    }
}

fn add(clause: &str, until: Option<Date>) -> Op {
    Op::Add {
        clause: ClauseId::new(clause).expect("clause"),
        heading: None,
        text: "Probe text.".into(),
        terms: Terms::new(),
        until,
        until_event: None,
    }
}

fn fresh_establish(ag: &AgreementId, id: &str, d: Date) -> Amendment {
    single(
        ag,
        id,
        Some(d),
        Op::Establish {
            title: "Fresh".into(),
            parties: vec![Party {
                id: PartyId::new("p1").expect("party"),
                name: "One".into(),
                key: None,
            }],
        },
    )
}

// ---------------------------------------------------------------- 1. replay

fn deterministic_replay(specs: &[gen::Spec], seed: u64) -> Result<(), TestCaseError> {
    let h = build(specs, Checks::default())?;
    let mem = all_states(&h.ledger, &h, seed)?;
    prop_assert_eq!(&mem, &all_states(&h.ledger, &h, seed)?, "computed twice");
    // The same amendments as one batch, at one time: the same entries but
    // for their recorded time, so the same states in every view by seq.
    let one = Ledger::create(MemStore::default(), ORIGIN).expect("a new ledger");
    let all: Vec<Amendment> = h.entries.iter().map(|e| e.amendment.clone()).collect();
    one.append(&all, RecordedAt(BASE_TIME), AppendOptions::default())
        .map_err(|e| TestCaseError::fail(format!("the history as one batch was refused: {e}")))?;
    for ag in h.agreements() {
        let a = entries_of(&h.ledger, &ag);
        let b = entries_of(&one, &ag);
        prop_assert_eq!(a.len(), b.len());
        for (view, known) in h.views(seed) {
            if let reference::View::Time(_) = view {
                continue;
            }
            for at in h.query_dates(&ag) {
                match (
                    projection::state(&ag, &a, at, known),
                    projection::state(&ag, &b, at, known),
                ) {
                    // Not yet known: the error says since when, which differs.
                    (
                        Err(ProjectionError::NotYetKnown { first_seq: x, .. }),
                        Err(ProjectionError::NotYetKnown { first_seq: y, .. }),
                    ) => prop_assert_eq!(x, y),
                    (x, y) => {
                        prop_assert_eq!(x, y, "one batch: {} at {} known at {}", ag, at, known)
                    }
                }
            }
        }
    }
    // sled and PostgreSQL: the first part of the history in one session,
    // the rest after reopening (the writer's state, Merkle frontier
    // included, must be restored exactly), then everything read again after
    // a second reopening. The same checks on both stores.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let wait = Duration::from_secs(5);
    let split = (seed as usize) % (h.appends.len() + 1);
    replay_on(&h, &mem, seed, split, "sled", || {
        let store = SledStore::open(dir.path(), wait)
            .map_err(|e| TestCaseError::fail(format!("sled does not open: {e}")))?;
        Ledger::open_or_create(store, || ORIGIN)
            .map_err(|e| TestCaseError::fail(format!("the sled ledger does not open: {e}")))
    })?;
    // PostgreSQL for one case in eight: a schema per case is slow to make.
    if seed % 8 != 0 {
        return Ok(());
    }
    let url = crate::postgres::pg_url("p1");
    replay_on(&h, &mem, seed, split, "postgres", || {
        let store = PgStore::connect(&url, true)
            .map_err(|e| TestCaseError::fail(format!("PostgreSQL does not connect: {e}")))?;
        Ledger::open_or_create(store, || ORIGIN)
            .map_err(|e| TestCaseError::fail(format!("the PostgreSQL ledger does not open: {e}")))
    })
}

/// The history appended to a store in two sessions (split at `split`), then
/// read back twice: the same head, checkpoint, bytes, states and a clean
/// audit as the ledger in memory.
fn replay_on<S: Store>(
    h: &History,
    mem: &[Result<State, ProjectionError>],
    seed: u64,
    split: usize,
    name: &str,
    open: impl Fn() -> Result<Ledger<S>, TestCaseError>,
) -> Result<(), TestCaseError> {
    for part in [&h.appends[..split], &h.appends[split..]] {
        let ledger = open()?;
        for (batch, now) in part {
            ledger
                .append(batch, RecordedAt(*now), AppendOptions::default())
                .map_err(|e| TestCaseError::fail(format!("{name} refused a batch: {e}")))?;
        }
    }
    for session in ["after appending", "after reopening"] {
        let ledger = open()?;
        prop_assert_eq!(ledger.origin(), ORIGIN);
        prop_assert_eq!(ledger.head(), h.ledger.head(), "{} {}", name, session);
        prop_assert_eq!(
            ledger.checkpoint_text(),
            h.ledger.checkpoint_text(),
            "{} {}",
            name,
            session
        );
        prop_assert!(
            dump_store(ledger.store()) == dump_store(h.ledger.store()),
            "{} holds other bytes than memory ({})",
            name,
            session
        );
        prop_assert_eq!(mem, &all_states(&ledger, h, seed)?, "{}, {}", name, session);
        let report = audit_store(ledger.store(), None, &mut |_| {}).expect("audit runs");
        prop_assert!(
            report.ok,
            "audit of the {} ledger: {:?}",
            name,
            report.failure
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- 2. model

fn matches_reference(specs: &[gen::Spec], seed: u64) -> Result<(), TestCaseError> {
    // With the oracle on, `build` also checks every verdict, seq and recorded time.
    let h = build(
        specs,
        Checks {
            oracle: true,
            refusals: false,
        },
    )?;
    for ag in h.agreements() {
        let lib_entries = entries_of(&h.ledger, &ag);
        let mine = h.of(&ag);
        prop_assert_eq!(lib_entries.len(), mine.len());
        for (l, m) in lib_entries.iter().zip(&mine) {
            prop_assert_eq!(l.seq, m.seq);
            prop_assert_eq!(l.recorded_at, RecordedAt(m.recorded_at));
            prop_assert_eq!(&l.amendment, &m.amendment);
        }
        for (view, known) in h.views(seed) {
            for at in h.query_dates(&ag) {
                let lib = ledger_state(&h.ledger, &ag, &lib_entries, at, known)?;
                let model = reference::state(&mine, at, view);
                check_against_model(&ag, at, known, &lib, &model)?;
            }
        }
    }
    let report = pactum::audit::audit_store(h.ledger.store(), None, &mut |_| {})
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(report.ok, "the audit fails: {:?}", report.failure);
    Ok(())
}

// ---------------------------------------------------------------- 3. refusals

/// Returns how many probes of each kind it made.
fn refusals_change_nothing(
    specs: &[gen::Spec],
    seed: u64,
) -> Result<std::collections::BTreeMap<&'static str, usize>, TestCaseError> {
    let mut counts = std::collections::BTreeMap::new();
    // Every refusal while building is checked (store bytes and head).
    let h = build(
        specs,
        Checks {
            oracle: false,
            refusals: true,
        },
    )?;
    let mut r = Rng::new(seed);
    let mut probe = 0;
    let mut next_id = |what: &str| {
        probe += 1;
        format!("probe-{what}-{probe}")
    };
    let mut bad: Vec<Amendment> = Vec::new();
    for k in 0..gen::AGREEMENTS.len() {
        let ag = gen::agreement(k);
        let mine = h.of(&ag);
        if mine.is_empty() {
            // Anything but an establish is refused on an unknown agreement.
            let a = single(&ag, &next_id("noest"), Some(day(3)), add("a", None));
            prop_assert!(matches!(model_verdict(&h, &a), Verdict::Refused(_)));
            refused(
                &mut counts,
                &h,
                &[a],
                "a change of an agreement never established",
            )?;
            continue;
        }
        let refs: Vec<&RefEntry> = mine.iter().collect();
        let live = reference::live(&refs);
        let ch = reference::changes(&live);
        let dates = h.query_dates(&ag);
        for _ in 0..3 {
            let d = *r.pick(&dates);
            let w = reference::fold(&ch, Some(d)).unwrap_or_default();
            // An amend of a clause not in force at its date.
            let absent: Vec<&str> = gen::CLAUSES
                .iter()
                .copied()
                .filter(|c| !w.clauses.contains_key(*c))
                .collect();
            if !absent.is_empty() {
                let a = single(
                    &ag,
                    &next_id("amend"),
                    Some(d),
                    text_amend(r.pick_str(&absent)),
                );
                prop_assert!(matches!(model_verdict(&h, &a), Verdict::Refused(_)));
                refused(&mut counts, &h, &[a], "an amend of a clause not in force")?;
            }
            // An add of a clause in force.
            let present: Vec<&String> = w.clauses.keys().collect();
            if !present.is_empty() {
                let a = single(
                    &ag,
                    &next_id("add"),
                    Some(d),
                    add(r.pick(&present).as_str(), None),
                );
                prop_assert!(matches!(model_verdict(&h, &a), Verdict::Refused(_)));
                refused(&mut counts, &h, &[a], "an add of a clause in force")?;
            }
        }
        // A retroactive repeal that breaks a later change of the clause.
        for &(d2, _, pos, a) in &ch {
            let (Op::Amend { clause, .. } | Op::Repeal { clause }) = &a.changes[pos].op else {
                continue;
            };
            let d1 = plus(d2, -1);
            let w = reference::fold(&ch, Some(d1)).unwrap_or_default();
            if !w.clauses.contains_key(clause.as_str()) {
                continue;
            }
            let rep = single(
                &ag,
                &next_id("repeal"),
                Some(d1),
                Op::Repeal {
                    clause: clause.clone(),
                },
            );
            if let Verdict::Refused(_) = model_verdict(&h, &rep) {
                refused(
                    &mut counts,
                    &h,
                    &[rep],
                    "a retroactive repeal breaking a later change",
                )?;
            }
        }
        // The same id with different content.
        let e = r.pick(&mine);
        let mut a = e.amendment.clone();
        a.title.push_str(" (changed)");
        refused(&mut counts, &h, &[a], "a known id with another title")?;
        let mut a = e.amendment.clone();
        a.source = Some("https://example.org/other".into());
        refused(&mut counts, &h, &[a], "a known id with another source")?;
        // Amendments that are invalid on their own.
        let d = *r.pick(&dates);
        let a = single(
            &ag,
            &next_id("until"),
            Some(d),
            add("new.clause", Some(plus(d, -1))),
        );
        refused(&mut counts, &h, &[a], "an until before the effective date")?;
        let mut a = single(
            &ag,
            &next_id("retract"),
            Some(d),
            Op::Retract {
                amendment: e.amendment.id.clone(),
                reason: "oops".into(),
            },
        );
        refused(
            &mut counts,
            &h,
            &[a.clone()],
            "a retraction with an effective date",
        )?;
        a.effective = None;
        a.changes[0].op = Op::Retract {
            amendment: AmendmentId::new("no-such-amendment").expect("id"),
            reason: "oops".into(),
        };
        refused(
            &mut counts,
            &h,
            &[a],
            "a retraction of an unknown amendment",
        )?;
        let nothing = Op::Amend {
            clause: ClauseId::new("a").expect("clause"),
            heading: None,
            text: None,
            set: Terms::new(),
            unset: Vec::new(),
            until: None,
            until_event: None,
        };
        refused(
            &mut counts,
            &h,
            &[single(&ag, &next_id("nothing"), Some(d), nothing)],
            "an amend of nothing",
        )?;
        // A second occurrence of an event, a change after a terminate, a retraction of a retraction.
        let ever = reference::fold(&ch, None).unwrap_or_default();
        if let Some(ev) = ever.occurred.keys().next() {
            let a = single(
                &ag,
                &next_id("occur"),
                Some(d),
                Op::Occur {
                    event: EventId::new(ev.clone()).expect("event"),
                    note: None,
                },
            );
            refused(&mut counts, &h, &[a], "a second occurrence")?;
        }
        if let Some(t) = ever.terminated {
            let a = single(&ag, &next_id("late"), Some(plus(t, 1)), add("late", None));
            refused(&mut counts, &h, &[a], "a change after the terminate")?;
        }
        if let Some(rt) = mine.iter().find(|e| e.amendment.effective.is_none()) {
            let a = single(
                &ag,
                &next_id("rr"),
                None,
                Op::Retract {
                    amendment: rt.amendment.id.clone(),
                    reason: "undo".into(),
                },
            );
            refused(&mut counts, &h, &[a], "a retraction of a retraction")?;
        }
        if bad.is_empty() {
            let mut a = e.amendment.clone();
            a.title.push_str(" (changed)");
            bad.push(a);
        }
    }
    // A batch of valid amendments with a bad one at the end appends none.
    let fresh = AgreementId::new("zz-fresh").expect("id");
    let good = vec![
        fresh_establish(&fresh, "start", day(1)),
        single(&fresh, "clause-a", Some(day(2)), add("a", None)),
    ];
    let bad_one = bad
        .pop()
        .unwrap_or_else(|| single(&fresh, "bad", Some(day(3)), text_amend("b")));
    let mut batch = good.clone();
    batch.push(bad_one);
    refused(
        &mut counts,
        &h,
        &batch,
        "a batch with a bad amendment at the end",
    )?;
    prop_assert!(entries_of(&h.ledger, &fresh).is_empty());
    // A dry run of the good part validates it and writes nothing; a wrong
    // expected head refuses it and writes nothing.
    let dump = h.ledger.store().dump();
    let head = h.ledger.head();
    let now = RecordedAt(h.clock + DAY_US);
    let dry = h
        .ledger
        .append(
            &good,
            now,
            AppendOptions {
                dry_run: true,
                expect_head: None,
            },
        )
        .map_err(|e| TestCaseError::fail(format!("the dry run was refused: {e}")))?;
    prop_assert_eq!(dry.head.count, head.count + 2);
    prop_assert!(
        dump == h.ledger.store().dump(),
        "a dry run changed the store"
    );
    prop_assert_eq!(head, h.ledger.head());
    let wrong = h.ledger.append(
        &good,
        now,
        AppendOptions {
            dry_run: false,
            expect_head: Some(head.count + 1),
        },
    );
    prop_assert!(
        matches!(wrong, Err(Error::HeadMismatch { .. })),
        "{:?}",
        wrong
    );
    prop_assert!(
        dump == h.ledger.store().dump(),
        "a head mismatch changed the store"
    );
    prop_assert_eq!(head, h.ledger.head());
    // The good part alone is accepted, with the head the dry run announced.
    let report = h
        .ledger
        .append(
            &good,
            now,
            AppendOptions {
                dry_run: false,
                expect_head: Some(head.count),
            },
        )
        .map_err(|e| TestCaseError::fail(format!("the good part was refused: {e}")))?;
    prop_assert_eq!(report.head, dry.head);
    prop_assert_eq!(report.outcomes, dry.outcomes);
    Ok(counts)
}

// ---------------------------------------------------------------- 4. order

/// Whether property 4 applied to a case, or why not.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    Yes { reordered: bool },
    TooSmall,
    NotAllRecorded,
    SameDayClash,
}

/// Records `order` one amendment at a time in a new ledger, retrying the
/// refused ones after the others until nothing more goes in; returns the
/// ledger and the order in which they were recorded.
fn record_retrying(
    order: Vec<Amendment>,
) -> Result<(Ledger<MemStore>, Vec<Amendment>, bool), TestCaseError> {
    let ledger = Ledger::create(MemStore::default(), ORIGIN).expect("a new ledger");
    let mut pending = order;
    let mut recorded = Vec::new();
    let mut t = BASE_TIME;
    loop {
        let mut progress = false;
        let mut rest = Vec::new();
        for a in pending {
            t += 1;
            match ledger.append(
                std::slice::from_ref(&a),
                RecordedAt(t),
                AppendOptions::default(),
            ) {
                Ok(_) => {
                    recorded.push(a);
                    progress = true;
                }
                Err(Error::Refused(_)) => rest.push(a),
                Err(e) => return Err(TestCaseError::fail(format!("append failed: {e}"))),
            }
        }
        pending = rest;
        if pending.is_empty() || !progress {
            break;
        }
    }
    Ok((ledger, recorded, pending.is_empty()))
}

/// Whether, for every two amendments changing the same clause on the same
/// date, the two recording orders agree on which came first.
fn same_day_clashes_agree(a: &[Amendment], b: &[Amendment]) -> bool {
    let pos = |xs: &[Amendment], x: &Amendment| {
        xs.iter()
            .position(|y| y.agreement == x.agreement && y.id == x.id)
            .expect("in both orders")
    };
    let touches = |x: &Amendment| -> Vec<(ClauseId, Date)> {
        x.changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((c.op.clause()?.clone(), x.change_date(i)?)))
            .collect()
    };
    for (i, x) in a.iter().enumerate() {
        for y in &a[i + 1..] {
            if x.agreement != y.agreement {
                continue;
            }
            let tx = touches(x);
            let clash = touches(y).iter().any(|t| tx.contains(t));
            if clash && pos(b, x) > pos(b, y) {
                return false;
            }
        }
    }
    true
}

fn recording_order(specs: &[gen::Spec], keys: &[u64]) -> Result<Applied, TestCaseError> {
    let h = build(specs, Checks::default())?;
    let all: Vec<&RefEntry> = h.entries.iter().collect();
    let live: Vec<Amendment> = reference::live(&all)
        .iter()
        .map(|e| e.amendment.clone())
        .collect();
    if live.len() < 2 {
        return Ok(Applied::TooSmall);
    }
    let mut keyed: Vec<(u64, Amendment)> = live
        .iter()
        .enumerate()
        .map(|(i, a)| (keys.get(i).copied().unwrap_or(i as u64), a.clone()))
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    let shuffled: Vec<Amendment> = keyed.into_iter().map(|(_, a)| a).collect();
    let (la, order_a, all_a) = record_retrying(live)?;
    let (lb, order_b, all_b) = record_retrying(shuffled)?;
    if !(all_a && all_b) {
        return Ok(Applied::NotAllRecorded);
    }
    if !same_day_clashes_agree(&order_a, &order_b) {
        return Ok(Applied::SameDayClash);
    }
    for ag in h.agreements() {
        let ea = entries_of(&la, &ag);
        let eb = entries_of(&lb, &ag);
        for at in h.query_dates(&ag) {
            let sa = projection::state(&ag, &ea, at, KnownAt::All);
            let sb = projection::state(&ag, &eb, at, KnownAt::All);
            match (sa, sb) {
                (Ok(x), Ok(y)) => {
                    prop_assert_eq!(x.status, y.status, "{} at {}", ag, at);
                    prop_assert_eq!(&x.title, &y.title);
                    prop_assert_eq!(&x.parties, &y.parties);
                    prop_assert_eq!(x.established, y.established);
                    prop_assert_eq!(x.terminated, y.terminated);
                    prop_assert_eq!(&x.clauses, &y.clauses, "{} at {}", ag, at);
                    prop_assert_eq!(x.digest, y.digest);
                }
                (Err(x), Err(y)) => {
                    prop_assert_eq!(std::mem::discriminant(&x), std::mem::discriminant(&y))
                }
                (x, y) => {
                    return Err(TestCaseError::fail(format!(
                        "{ag} at {at}: {x:?} in one order, {y:?} in the other"
                    )))
                }
            }
        }
    }
    Ok(Applied::Yes {
        reordered: order_a != order_b,
    })
}

// ---------------------------------------------------------------- 5. codec

fn codec_round_trip(specs: &[gen::Spec]) -> Result<(), TestCaseError> {
    let h = build(specs, Checks::default())?;
    for e in &h.entries {
        let entry = Entry {
            seq: e.seq,
            recorded_at: RecordedAt(e.recorded_at),
            amendment: e.amendment.clone(),
            signatures: Vec::new(),
        };
        let bytes = codec::encode_entry(&entry).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert_eq!(codec::decode_entry(&bytes), Ok(entry.clone()));
        let stored = h
            .ledger
            .store()
            .get(&keys::entry(e.seq))
            .expect("readable")
            .expect("stored");
        prop_assert_eq!(
            &stored[..stored.len() - 64],
            &bytes[..],
            "stored bytes of seq {}",
            e.seq
        );
        prop_assert_eq!(h.ledger.entry(e.seq).expect("decodes"), Some(entry));
    }
    Ok(())
}

fn decode_never_panics(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(e) = codec::decode_entry(bytes) {
        // Canonical: what decodes re-encodes to the same bytes.
        let again = codec::encode_entry(&e).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert_eq!(&again[..], bytes);
    }
    Ok(())
}

/// One edit of a byte string: (kind, position, byte).
type Mutation = (u8, usize, u8);

fn mutate(bytes: &mut Vec<u8>, (kind, pos, b): Mutation) {
    if bytes.is_empty() {
        bytes.push(b);
        return;
    }
    let i = pos % bytes.len();
    match kind % 6 {
        0 => bytes[i] ^= 1 << (b % 8),
        1 => bytes[i] = b,
        2 => bytes.insert(i, b),
        3 => {
            bytes.remove(i);
        }
        4 => bytes.truncate(i),
        _ => {
            // A run of the byte, as a length or count field might be overwritten.
            let end = (i + 1 + (b as usize % 8)).min(bytes.len());
            for x in &mut bytes[i..end] {
                *x = if b % 2 == 0 { 0xff } else { 0 };
            }
        }
    }
}

fn mutated_entries(
    specs: &[gen::Spec],
    pick: usize,
    mutations: &[Mutation],
) -> Result<(), TestCaseError> {
    let h = build(specs, Checks::default())?;
    if h.entries.is_empty() {
        return Ok(());
    }
    let e = &h.entries[pick % h.entries.len()];
    let entry = Entry {
        seq: e.seq,
        recorded_at: RecordedAt(e.recorded_at),
        amendment: e.amendment.clone(),
        signatures: Vec::new(),
    };
    let mut bytes = codec::encode_entry(&entry).map_err(|e| TestCaseError::fail(e.0))?;
    for m in mutations {
        mutate(&mut bytes, *m);
        decode_never_panics(&bytes)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- 6. audit

fn tamper_evident(specs: &[gen::Spec], flips: &[(usize, usize)]) -> Result<(), TestCaseError> {
    let h = build(specs, Checks::default())?;
    let store = h.ledger.store();
    let report = audit_store(store, None, &mut |_| {}).expect("audit runs");
    prop_assert!(report.ok, "audit: {:?}", report.failure);
    prop_assert_eq!(report.entries, h.entries.len() as u64);
    prop_assert_eq!(report.head, h.ledger.head().checkpoint());
    let n = h.entries.len() as u64;
    if n == 0 {
        return Ok(());
    }
    for &(s, bit) in flips {
        let seq = s as u64 % n;
        let key = keys::entry(seq);
        let original = store.get(&key).expect("readable").expect("stored");
        // A third of the flips anywhere, a third in the stored leaf and chain
        // hashes (the last 64 bytes), a third in the entry's header (version,
        // seq, recorded time).
        let len = original.len();
        let bit = match bit % 3 {
            0 => bit % (len * 8),
            1 => (len - 64) * 8 + bit % (64 * 8),
            _ => bit % (17 * 8),
        };
        let mut value = original.clone();
        value[bit / 8] ^= 1 << (bit % 8);
        store.raw_put(key.clone(), value);
        let report = audit_store(store, None, &mut |_| {}).expect("audit runs");
        prop_assert!(
            !report.ok,
            "bit {} of seq {} flipped, the audit passes",
            bit,
            seq
        );
        let failure = report.failure.expect("a failure");
        prop_assert_eq!(
            failure.seq,
            Some(seq),
            "bit {} of {} flipped in seq {}: {:?}",
            bit,
            original.len() * 8,
            seq,
            failure
        );
        store.raw_put(key, original);
    }
    let report = audit_store(store, None, &mut |_| {}).expect("audit runs");
    prop_assert!(report.ok, "audit after restoring: {:?}", report.failure);
    // Any other stored value (metadata, idempotency keys, Merkle nodes):
    // a flipped bit is found too, wherever it is reported.
    let others: Vec<(Vec<u8>, Vec<u8>)> = store
        .dump()
        .into_iter()
        .filter(|(k, v)| k.first() != Some(&keys::ENTRY) && !v.is_empty())
        .collect();
    for &(s, bit) in flips.iter().take(4) {
        let (key, original) = &others[s % others.len()];
        let bit = bit % (original.len() * 8);
        let mut value = original.clone();
        value[bit / 8] ^= 1 << (bit % 8);
        store.raw_put(key.clone(), value);
        let report = audit_store(store, None, &mut |_| {}).expect("audit runs");
        prop_assert!(
            !report.ok,
            "bit {} of the value of {:?} flipped, the audit passes",
            bit,
            String::from_utf8_lossy(key)
        );
        store.raw_put(key.clone(), original.clone());
    }
    Ok(())
}

// ---------------------------------------------------------------- 7. idempotency

fn idempotent(specs: &[gen::Spec], cut: usize, one_by_one: bool) -> Result<(), TestCaseError> {
    let h = build(specs, Checks::default())?;
    let n = h.entries.len();
    let prefix = &h.entries[..cut % (n + 1)];
    let dump = h.ledger.store().dump();
    let head = h.ledger.head();
    let later = RecordedAt(h.clock + 10 * DAY_US);
    let batches: Vec<Vec<Amendment>> = if one_by_one {
        prefix.iter().map(|e| vec![e.amendment.clone()]).collect()
    } else {
        vec![prefix.iter().map(|e| e.amendment.clone()).collect()]
    };
    let mut outcomes = Vec::new();
    for b in &batches {
        let report = h
            .ledger
            .append(b, later, AppendOptions::default())
            .map_err(|e| TestCaseError::fail(format!("re-appending was refused: {e}")))?;
        prop_assert_eq!(report.head, head.checkpoint());
        outcomes.extend(report.outcomes);
    }
    let expected: Vec<Outcome> = prefix
        .iter()
        .map(|e| Outcome::Existing { seq: e.seq })
        .collect();
    prop_assert_eq!(outcomes, expected);
    prop_assert_eq!(h.ledger.head(), head);
    prop_assert!(
        dump == h.ledger.store().dump(),
        "re-appending changed the store"
    );
    if let Some(e) = prefix.last() {
        let mut a = e.amendment.clone();
        a.title.push_str(" (changed)");
        assert_refused(&h, &[a], "a known id with another title")?;
        // In a batch, after the same amendment unchanged.
        let mut a2 = e.amendment.clone();
        a2.signed = Some(day(-30));
        assert_refused(
            &h,
            &[e.amendment.clone(), a2],
            "a known id changed in a batch",
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------- 8. stored projections

/// One long agreement (retroactive adds reaching back past snapshots,
/// retractions, repeals, sunsets), appended in random batches, the writer
/// sometimes reopened (no cached timeline): the state read from the stored
/// projections equals the replay of the entries on every date, the audit
/// passes, and projections rebuilt from scratch say the same.
fn long_timeline(seed: u64, n: usize) -> Result<(), TestCaseError> {
    let mut rng = Rng::new(seed);
    let ag: AgreementId = "long".parse().expect("id");
    let start = day(0);
    let mut d = start;
    let mut normal: Vec<String> = Vec::new();
    let mut retro: Vec<String> = Vec::new();
    let mut amendments = vec![fresh_establish(&ag, "a0", start)];
    for i in 1..n {
        let r = rng.below(100);
        let id = format!("a{i}");
        let a = if r < 12 {
            let back = rng.below(400) as i64 + 1;
            let at = plus(d, -back).max(plus(start, 1));
            retro.push(id.clone());
            single(&ag, &id, Some(at), add(&format!("r{i}"), None))
        } else if r < 20 && !retro.is_empty() {
            let target = retro.swap_remove(rng.below(retro.len() as u64) as usize);
            single(
                &ag,
                &id,
                None,
                Op::Retract {
                    amendment: target.parse().expect("id"),
                    reason: "entered in error".into(),
                },
            )
        } else {
            d = plus(d, rng.below(5) as i64);
            if r < 40 && !normal.is_empty() {
                let c = normal.swap_remove(rng.below(normal.len() as u64) as usize);
                single(
                    &ag,
                    &id,
                    Some(d),
                    Op::Repeal {
                        clause: c.parse().expect("clause"),
                    },
                )
            } else if r < 60 && !normal.is_empty() {
                let c = normal[rng.below(normal.len() as u64) as usize].clone();
                single(&ag, &id, Some(d), text_amend(&c))
            } else if r < 66 {
                single(&ag, &id, Some(d), add(&format!("s{i}"), Some(plus(d, 30))))
            } else {
                normal.push(format!("n{i}"));
                single(&ag, &id, Some(d), add(&format!("n{i}"), None))
            }
        };
        amendments.push(a);
    }
    let mut ledger = Ledger::create(MemStore::default(), ORIGIN).expect("ledger");
    let mut i = 0;
    while i < amendments.len() {
        let k = (1 + rng.below(40) as usize).min(amendments.len() - i);
        ledger
            .append(
                &amendments[i..i + k],
                RecordedAt(BASE_TIME + i as i64),
                AppendOptions::default(),
            )
            .map_err(|e| TestCaseError::fail(format!("batch at {i}: {e}")))?;
        i += k;
        if rng.below(4) == 0 {
            ledger = Ledger::open(ledger.into_store()).expect("reopen");
        }
    }
    let entries = entries_of(&ledger, &ag);
    let rebuilt = MemStore::default();
    for (k, v) in ledger.store().dump() {
        rebuilt.raw_put(k, v);
    }
    let writes = pactum::timeline::rebuild(&rebuilt).expect("rebuild");
    rebuilt.commit(writes).expect("rebuilt");
    let rebuilt = Ledger::open(rebuilt).expect("open rebuilt");
    let mut dates: Vec<Date> = vec![plus(start, -1), plus(d, 1), plus(d, 40)];
    let mut x = start;
    while x <= d {
        dates.push(x);
        x = plus(x, 1 + rng.below(25) as i64);
    }
    for at in dates {
        let s = ledger_state(&ledger, &ag, &entries, at, KnownAt::All)?;
        prop_assert_eq!(
            &s.map_err(|e| e.to_string()),
            &rebuilt
                .state(&ag, at, KnownAt::All)
                .map_err(|e| e.to_string()),
            "rebuilt projections at {}",
            at
        );
    }
    let report = audit_store(ledger.store(), None, &mut |_| {}).expect("audit");
    prop_assert!(report.ok, "{:?}", report.failure);
    prop_assert!(
        ledger
            .store()
            .dump()
            .iter()
            .any(|(k, _)| k[0] == keys::SNAPSHOT),
        "the history is long enough to have snapshots"
    );
    Ok(())
}

// ---------------------------------------------------------------- the properties
//
// Case counts: in the long tier (`PACTUM_TEST_LONG=1`, as `.ci/run` runs)
// every property runs at least proptest's default 256 cases and the cheap,
// model-based ones run more; the default tier runs a quarter of each (at
// least 64), see [`cases`].

/// The cases a property runs: `long` in the long tier, a quarter (at least
/// 64) in the default tier.
fn cases(long: u32) -> u32 {
    if crate::long_tier() {
        long
    } else {
        (long / 4).max(64)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]
    // 256 cases: each opens sled twice and appends ~15 batches (each fsynced).
    #[test]
    fn p1_deterministic_replay(specs in gen::specs(SPECS), seed in any::<u64>()) {
        deterministic_replay(&specs, seed)?;
    }

    #[test]
    fn p5_codec_round_trip(specs in gen::specs(SPECS)) {
        codec_round_trip(&specs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1024), ..ProptestConfig::default() })]

    #[test]
    fn p8_stored_projections_match_the_entries(seed in any::<u64>()) {
        long_timeline(seed, 300)?;
    }

    #[test]
    fn p2_state_matches_reference_model(specs in gen::specs(SPECS), seed in any::<u64>()) {
        matches_reference(&specs, seed)?;
    }

    #[test]
    fn p5_codec_mutated_entries(
        specs in gen::specs(12),
        pick in any::<usize>(),
        mutations in vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        mutated_entries(&specs, pick, &mutations)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    #[test]
    fn p3_refusals_change_nothing(specs in gen::specs(SPECS), seed in any::<u64>()) {
        refusals_change_nothing(&specs, seed)?;
    }

    #[test]
    fn p4_recording_order_does_not_matter(
        specs in gen::specs(SPECS),
        keys in vec(any::<u64>(), SPECS),
    ) {
        recording_order(&specs, &keys)?;
    }

    #[test]
    fn p6_tamper_evidence(
        specs in gen::specs(SPECS),
        flips in vec((any::<usize>(), any::<usize>()), 1..24),
    ) {
        tamper_evident(&specs, &flips)?;
    }

    #[test]
    fn p7_idempotency(specs in gen::specs(SPECS), cut in any::<usize>(), one_by_one in any::<bool>()) {
        idempotent(&specs, cut, one_by_one)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(4096), ..ProptestConfig::default() })]

    #[test]
    fn p5_codec_arbitrary_bytes(bytes in vec(any::<u8>(), 0..2000)) {
        decode_never_panics(&bytes)?;
    }

    #[test]
    fn p5_codec_arbitrary_bytes_after_the_version(bytes in vec(any::<u8>(), 0..2000)) {
        let mut v = vec![codec::FORMAT_VERSION];
        v.extend(bytes);
        decode_never_panics(&v)?;
    }
}

// ---------------------------------------------------------------- the generator itself

/// The generator must keep producing every kind of change: 256 histories
/// from a fixed seed, with counts printed (`--nocapture`) and lower bounds
/// asserted. Also measures how often property 4 applies and which refusal
/// probes property 3 makes.
#[test]
fn generator_coverage() {
    let mut runner = TestRunner::deterministic();
    let strategy = (gen::specs(SPECS), vec(any::<u64>(), SPECS), any::<u64>());
    let mut total = gen::Stats::default();
    let mut applied = std::collections::BTreeMap::<String, usize>::new();
    let mut probes = std::collections::BTreeMap::<&'static str, usize>::new();
    for _ in 0..256 {
        let (specs, keys, seed) = strategy.new_tree(&mut runner).expect("a value").current();
        let h = build(
            &specs,
            Checks {
                oracle: true,
                refusals: true,
            },
        )
        .expect("builds");
        total.add(&h.stats);
        let a = recording_order(&specs, &keys).expect("property 4 holds");
        *applied.entry(format!("{a:?}")).or_default() += 1;
        for (k, v) in refusals_change_nothing(&specs, seed).expect("property 3 holds") {
            *probes.entry(k).or_default() += v;
        }
    }
    println!("generator over 256 histories: {total:#?}");
    println!("property 4 applied: {applied:#?}");
    println!("property 3 probes: {probes:#?}");
    for op in [
        "establish",
        "add",
        "amend",
        "repeal",
        "occur",
        "retract",
        "terminate",
    ] {
        let n = total.ops.get(op).copied().unwrap_or(0);
        assert!(n >= 40, "only {n} accepted `{op}` changes");
    }
    assert!(total.retroactive >= 100, "{total:?}");
    assert!(total.future_dated >= 100, "{total:?}");
    assert!(total.overrides >= 100, "{total:?}");
    assert!(total.sunsets >= 100, "{total:?}");
    assert!(total.sunsets_reached >= 100, "{total:?}");
    assert!(total.until_events >= 40, "{total:?}");
    assert!(total.ended_by_event >= 20, "{total:?}");
    assert!(total.same_day >= 100, "{total:?}");
    assert!(total.establish_retracted >= 1, "{total:?}");
    assert!(
        total.batches_ok >= 40 && total.batches_refused >= 20,
        "{total:?}"
    );
    assert!(total.existing >= 20, "{total:?}");
    let reordered = applied.get("Yes { reordered: true }").copied().unwrap_or(0);
    assert!(
        reordered >= 64,
        "property 4 applied with a new order only {reordered} times"
    );
    for (why, min) in [
        ("an amend of a clause not in force", 200),
        ("an add of a clause in force", 200),
        ("a retroactive repeal breaking a later change", 100),
        ("a known id with another title", 200),
        ("a batch with a bad amendment at the end", 256),
        ("a second occurrence", 50),
        ("a change after the terminate", 20),
        ("a retraction of a retraction", 20),
    ] {
        let n = probes.get(why).copied().unwrap_or(0);
        assert!(n >= min, "property 3 made only {n} probes of {why}");
    }
}
