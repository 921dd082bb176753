//! A deliberately naive reference model of product.md §3, written apart from
//! `src/projection.rs` and sharing none of its code: it takes recorded entries
//! and answers "what did the agreement say at D, as known at K", and whether
//! a new amendment fits the timeline.
//!
//! Every step is the literal reading of the design: filter by view, drop
//! retractions and what they retract, sort all changes by (effective, seq,
//! position), and fold them over a map of clauses, settling `until` and
//! `until_event` before each change and finally at D.

use std::collections::BTreeMap;

use pactum::model::{Amendment, Date, Op, TermValue};

/// One recorded amendment, as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefEntry {
    pub seq: u64,
    /// Microseconds since the epoch.
    pub recorded_at: i64,
    pub amendment: Amendment,
}

/// Which entries a view includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    All,
    Seq(u64),
    Time(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefClause {
    pub id: String,
    pub heading: Option<String>,
    pub text: String,
    pub terms: BTreeMap<String, TermValue>,
    pub since: Date,
    pub amendment: String,
    pub until: Option<Date>,
    pub until_event: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefState {
    pub status: &'static str,
    pub title: String,
    pub parties: Vec<(String, String)>,
    pub established: Date,
    pub terminated: Option<Date>,
    pub known_through: u64,
    /// Ordered by id.
    pub clauses: Vec<RefClause>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// No entry at all.
    Unknown,
    /// Entries exist, none in the view.
    NotYetKnown,
    /// Every establishing amendment in the view is retracted.
    NotEstablished,
    /// The timeline does not apply (never expected for an accepted ledger).
    Conflict(String),
}

/// What the ledger should do with a new amendment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded as a new entry.
    New,
    /// Same (agreement, id) and same content already recorded at this seq.
    Existing(u64),
    /// Refused, and why (the model's words).
    Refused(String),
}

/// The world part-way through the fold.
#[derive(Clone, Debug, Default)]
pub struct World {
    pub established: Option<Date>,
    pub terminated: Option<Date>,
    pub clauses: BTreeMap<String, RefClause>,
    pub occurred: BTreeMap<String, Date>,
}

impl World {
    /// Rule 4's "before each change, and finally at D".
    fn settle(&mut self, d: Date) {
        let occurred = self.occurred.clone();
        self.clauses.retain(|_, c| {
            let expired = matches!(c.until, Some(u) if u < d);
            let ended = c
                .until_event
                .as_ref()
                .and_then(|e| occurred.get(e))
                .is_some_and(|on| *on <= d);
            !expired && !ended
        });
    }
}

/// One dated change: (date, seq, position, amendment).
pub type Dated<'a> = (Date, u64, usize, &'a Amendment);

fn is_retraction(a: &Amendment) -> bool {
    a.changes.iter().any(|c| matches!(c.op, Op::Retract { .. }))
}

fn retract_target(a: &Amendment) -> Option<&str> {
    a.changes.iter().find_map(|c| match &c.op {
        Op::Retract { amendment, .. } => Some(amendment.as_str()),
        _ => None,
    })
}

/// Rule 1: the entries a view includes.
pub fn visible(entries: &[RefEntry], view: View) -> Vec<&RefEntry> {
    entries
        .iter()
        .filter(|e| match view {
            View::All => true,
            View::Seq(n) => e.seq <= n,
            View::Time(t) => e.recorded_at <= t,
        })
        .collect()
}

/// Rule 2: drop retracted amendments and the retractions.
pub fn live<'a>(visible: &[&'a RefEntry]) -> Vec<&'a RefEntry> {
    let retracted: Vec<&str> = visible
        .iter()
        .filter_map(|e| retract_target(&e.amendment))
        .collect();
    visible
        .iter()
        .filter(|e| !is_retraction(&e.amendment) && !retracted.contains(&e.amendment.id.as_str()))
        .copied()
        .collect()
}

/// Rule 3: every change, ordered by (effective date, seq, position).
pub fn changes<'a>(live: &[&'a RefEntry]) -> Vec<Dated<'a>> {
    let mut out = Vec::new();
    for e in live {
        for (pos, c) in e.amendment.changes.iter().enumerate() {
            let date = c
                .effective
                .or(e.amendment.effective)
                .expect("a dated change");
            out.push((date, e.seq, pos, &e.amendment));
        }
    }
    out.sort_by_key(|x| (x.0, x.1, x.2));
    out
}

/// Rule 4: folds the changes dated on or before `upto` (all of them when
/// `None`), judging each against the state at its own date.
pub fn fold(changes: &[Dated<'_>], upto: Option<Date>) -> Result<World, String> {
    let mut w = World::default();
    for &(d, seq, pos, a) in changes {
        if upto.is_some_and(|u| d > u) {
            continue;
        }
        let what = format!("change {pos} of `{}` (seq {seq}) on {d}", a.id);
        w.settle(d);
        if let Some(t) = w.terminated {
            return Err(format!("{what}: after the terminate of {t}"));
        }
        let op = &a.changes[pos].op;
        match (op, w.established) {
            (Op::Establish { .. }, Some(e)) => {
                return Err(format!("{what}: already established on {e}"))
            }
            (Op::Establish { .. }, None) => {}
            (_, None) => return Err(format!("{what}: not established")),
            _ => {}
        }
        let occurred_by = |w: &World, e: &Option<pactum::model::EventId>| {
            e.as_ref()
                .and_then(|e| w.occurred.get(e.as_str()))
                .is_some_and(|on| *on <= d)
        };
        match op {
            Op::Establish { .. } => w.established = Some(d),
            Op::Add {
                clause,
                heading,
                text,
                terms,
                until,
                until_event,
            } => {
                if w.clauses.contains_key(clause.as_str()) {
                    return Err(format!("{what}: add of a clause in force"));
                }
                if occurred_by(&w, until_event) {
                    return Err(format!("{what}: until_event already occurred"));
                }
                w.clauses.insert(
                    clause.as_str().to_string(),
                    RefClause {
                        id: clause.as_str().to_string(),
                        heading: heading.clone(),
                        text: text.clone(),
                        terms: terms
                            .iter()
                            .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                            .collect(),
                        since: d,
                        amendment: a.id.as_str().to_string(),
                        until: *until,
                        until_event: until_event.as_ref().map(|e| e.as_str().to_string()),
                    },
                );
            }
            Op::Amend {
                clause,
                heading,
                text,
                set,
                unset,
                until,
                until_event,
            } => {
                if occurred_by(&w, until_event) {
                    return Err(format!("{what}: until_event already occurred"));
                }
                let Some(c) = w.clauses.get_mut(clause.as_str()) else {
                    return Err(format!("{what}: amend of a clause not in force"));
                };
                for t in unset {
                    if !c.terms.contains_key(t.as_str()) {
                        return Err(format!("{what}: unset of a missing term"));
                    }
                }
                if let Some(h) = heading {
                    c.heading = Some(h.clone());
                }
                if let Some(t) = text {
                    c.text = t.clone();
                }
                for (k, v) in set {
                    c.terms.insert(k.as_str().to_string(), v.clone());
                }
                for t in unset {
                    c.terms.remove(t.as_str());
                }
                if let Some(u) = until {
                    c.until = Some(*u);
                }
                if let Some(e) = until_event {
                    c.until_event = Some(e.as_str().to_string());
                }
                c.since = d;
                c.amendment = a.id.as_str().to_string();
            }
            Op::Repeal { clause } => {
                if w.clauses.remove(clause.as_str()).is_none() {
                    return Err(format!("{what}: repeal of a clause not in force"));
                }
            }
            Op::Occur { event, .. } => {
                if w.occurred.contains_key(event.as_str()) {
                    return Err(format!("{what}: second occur of `{event}`"));
                }
                w.occurred.insert(event.as_str().to_string(), d);
            }
            Op::Terminate { .. } => {
                w.terminated = Some(d);
                w.clauses.clear();
            }
            Op::Retract { .. } => return Err(format!("{what}: a dated retraction")),
            Op::Rekey { .. } => return Err(format!("{what}: a dated rekey")),
        }
    }
    if let Some(u) = upto {
        w.settle(u);
    }
    Ok(w)
}

/// `state(agreement, at, known_at)`; `entries` are the agreement's entries.
pub fn state(entries: &[RefEntry], at: Date, view: View) -> Result<RefState, RefError> {
    if entries.is_empty() {
        return Err(RefError::Unknown);
    }
    let vis = visible(entries, view);
    let Some(known_through) = vis.iter().map(|e| e.seq).max() else {
        return Err(RefError::NotYetKnown);
    };
    let live = live(&vis);
    let changes = changes(&live);
    let Some((established, title, parties)) =
        changes
            .iter()
            .find_map(|(d, _, pos, a)| match &a.changes[*pos].op {
                Op::Establish { title, parties } => Some((
                    *d,
                    title.clone(),
                    parties
                        .iter()
                        .map(|p| (p.id.as_str().to_string(), p.name.clone()))
                        .collect::<Vec<_>>(),
                )),
                _ => None,
            })
    else {
        return Err(RefError::NotEstablished);
    };
    let w = fold(&changes, Some(at)).map_err(RefError::Conflict)?;
    let status = if at < established {
        "not-yet-in-force"
    } else if w.terminated.is_some_and(|t| t <= at) {
        "terminated"
    } else {
        "in-force"
    };
    Ok(RefState {
        status,
        title,
        parties,
        established,
        terminated: w.terminated,
        known_through,
        clauses: w.clauses.into_values().collect(),
    })
}

/// Whether the agreement's whole timeline (all entries, plus `extra` as a
/// new entry at `next_seq`) applies.
pub fn timeline_ok(entries: &[RefEntry], extra: Option<&RefEntry>) -> Result<(), String> {
    let mut all: Vec<&RefEntry> = entries.iter().collect();
    if let Some(x) = extra {
        all.push(x);
    }
    let live = live(&all);
    fold(&changes(&live), None).map(|_| ())
}

/// What the ledger must do with `new`, appended after `entries` (the
/// agreement's entries so far) at `next_seq`.
pub fn judge(entries: &[RefEntry], new: &Amendment, next_seq: u64) -> Verdict {
    if let Some(e) = entries.iter().find(|e| e.amendment.id == new.id) {
        return if e.amendment == *new {
            Verdict::Existing(e.seq)
        } else {
            Verdict::Refused("same id, different content".into())
        };
    }
    // Rules that involve one amendment alone are the library's
    // `Amendment::validate` (structure, limits); the model judges the timeline.
    if let Err(e) = new.validate() {
        return Verdict::Refused(format!("invalid: {}", e.message));
    }
    let candidate = RefEntry {
        seq: next_seq,
        recorded_at: i64::MAX,
        amendment: new.clone(),
    };
    if let Some(target) = retract_target(new) {
        let Some(t) = entries.iter().find(|e| e.amendment.id.as_str() == target) else {
            return Verdict::Refused("retraction of an unknown amendment".into());
        };
        if is_retraction(&t.amendment) {
            return Verdict::Refused("retraction of a retraction".into());
        }
        if entries
            .iter()
            .any(|e| retract_target(&e.amendment) == Some(target))
        {
            return Verdict::Refused("already retracted".into());
        }
    }
    match timeline_ok(entries, Some(&candidate)) {
        Ok(()) => Verdict::New,
        Err(m) => Verdict::Refused(m),
    }
}
