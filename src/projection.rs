//! What an agreement said on a date, as known at a moment: pure folds over entries.
//!
//! Nothing here reads the clock, the store or any global state: every
//! function takes the agreement's entries (in seq order) and the dates it
//! needs. The same fold ([`Replay`]) judges new amendments in the ledger and
//! builds states, so what was accepted is exactly what can be replayed.
//!
//! Order of changes: (effective date, seq, position in the amendment). Before
//! each change, and finally at the date asked, clauses whose `until` is
//! earlier than that date leave the state; an `occur` ends the clauses that
//! wait for its event at once (every later change is on or after its date).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::chain::Hash;
use crate::codec::{self, Entry};
use crate::model::*;

/// Which entries a view includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownAt {
    /// Every entry recorded.
    All,
    /// Entries up to and including this seq (`#N`).
    Seq(u64),
    /// Entries recorded at or before this moment.
    Time(RecordedAt),
}

impl KnownAt {
    /// Whether the view includes `e`.
    pub fn includes(&self, e: &Entry) -> bool {
        match self {
            KnownAt::All => true,
            KnownAt::Seq(n) => e.seq <= *n,
            KnownAt::Time(t) => e.recorded_at <= *t,
        }
    }
}

impl fmt::Display for KnownAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KnownAt::All => f.write_str("now"),
            KnownAt::Seq(n) => write!(f, "#{n}"),
            KnownAt::Time(t) => write!(f, "{t}"),
        }
    }
}

/// A clause in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    /// Its id.
    pub id: ClauseId,
    /// Its heading.
    pub heading: Option<String>,
    /// Its text.
    pub text: String,
    /// Its terms.
    pub terms: Terms,
    /// Effective date of its current version.
    pub since: Date,
    /// Id of the amendment that made it so.
    pub amendment: AmendmentId,
    /// Last day in force.
    pub until: Option<Date>,
    /// Event that ends it.
    pub until_event: Option<EventId>,
}

/// Whether the agreement is in force at a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Before the establishing amendment's date.
    NotYetInForce,
    /// Established and not terminated.
    InForce,
    /// Terminated on or before the date.
    Terminated,
}

impl Status {
    /// `not-yet-in-force`, `in-force` or `terminated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotYetInForce => "not-yet-in-force",
            Status::InForce => "in-force",
            Status::Terminated => "terminated",
        }
    }
}

/// One change placed on the timeline.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// Its effective date.
    pub date: Date,
    /// Seq of its entry.
    pub seq: u64,
    /// Its position in the amendment (0-based).
    pub pos: u32,
    /// Id of its amendment.
    pub id: &'a AmendmentId,
    /// The change.
    pub change: &'a Change,
}

impl Step<'_> {
    /// The total order key.
    pub fn key(&self) -> (Date, u64, u32) {
        (self.date, self.seq, self.pos)
    }
}

/// A change that does not apply where the timeline puts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The amendment holding the change.
    pub amendment: AmendmentId,
    /// Seq of its entry.
    pub seq: u64,
    /// 0-based index of the change.
    pub change: usize,
    /// What the change does, e.g. `amend compute.exclusivity`.
    pub op: String,
    /// Its effective date.
    pub date: Date,
    /// Why it does not apply.
    pub reason: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "change {} ({}) of amendment `{}`, effective {}: {}",
            self.change + 1,
            self.op,
            self.amendment,
            self.date,
            self.reason
        )
    }
}

/// The state of an agreement part-way through its timeline (stored as a
/// snapshot by [`crate::timeline`], so its encoding is part of the format).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    /// Date of the establishing change applied, if any.
    pub established: Option<Date>,
    /// Title given by the establishing change applied (empty before it).
    pub title: String,
    /// Parties given by the establishing change applied.
    pub parties: Vec<Party>,
    /// Date of the `terminate` applied, if any.
    pub terminated: Option<Date>,
    /// Clauses in force.
    pub clauses: BTreeMap<ClauseId, Clause>,
    /// Events that occurred, with their dates.
    pub occurred: BTreeMap<EventId, Date>,
    /// Key of the last change applied.
    pub last: Option<(Date, u64, u32)>,
    until_min: Option<Date>,
}

impl Replay {
    /// An empty replay (before the agreement's first change).
    pub fn new() -> Replay {
        Replay::default()
    }

    /// Removes the clauses whose `until` is earlier than `date`.
    pub fn expire(&mut self, date: Date) {
        match self.until_min {
            Some(m) if m < date => {}
            _ => return,
        }
        self.clauses
            .retain(|_, c| c.until.is_none_or(|u| u >= date));
        self.until_min = self.clauses.values().filter_map(|c| c.until).min();
    }

    fn note_until(&mut self, until: Option<Date>) {
        if let Some(u) = until {
            self.until_min = Some(self.until_min.map_or(u, |m| m.min(u)));
        }
    }

    /// Applies one change, judging its rule against the state at its date.
    pub fn apply(&mut self, step: &Step<'_>) -> Result<(), Conflict> {
        let d = step.date;
        let fail = |reason: String| Conflict {
            amendment: step.id.clone(),
            seq: step.seq,
            change: step.pos as usize,
            op: step.change.op.describe(),
            date: d,
            reason,
        };
        // Replays from entries are sorted; stored pages are checked here, as
        // a damaged page may hold its steps in any order.
        if self.last.is_some_and(|last| last >= step.key()) {
            return Err(fail(
                "it comes after a later change: the steps are out of order".into(),
            ));
        }
        match (&step.change.op, self.established) {
            (Op::Establish { .. }, Some(e)) => {
                return Err(fail(format!(
                    "the agreement is already established (on {e})"
                )))
            }
            (Op::Establish { .. }, None) => {}
            (Op::Retract { .. }, _) => {
                return Err(fail("a retraction is not a dated change".into()))
            }
            (Op::Rekey { .. }, _) => return Err(fail("a rekey is not a dated change".into())),
            (_, None) => return Err(fail(format!("the agreement is not established on {d}"))),
            (_, Some(_)) => {}
        }
        if let Some(t) = self.terminated {
            return Err(fail(format!("the agreement was terminated on {t}")));
        }
        self.expire(d);
        let not_in_force = |c: &ClauseId| format!("clause `{c}` is not in force on {d}");
        match &step.change.op {
            Op::Establish { title, parties } => {
                self.established = Some(d);
                self.title = title.clone();
                self.parties = parties.clone();
            }
            Op::Add {
                clause,
                heading,
                text,
                terms,
                until,
                until_event,
            } => {
                if let Some(c) = self.clauses.get(clause) {
                    return Err(fail(format!(
                        "clause `{clause}` is already in force (since {}, amendment `{}`)",
                        c.since, c.amendment
                    )));
                }
                if self.clauses.len() >= CLAUSES_IN_FORCE_MAX {
                    return Err(fail(format!(
                        "the agreement has {} clauses in force on {d}, the limit (CLAUSES_IN_FORCE_MAX)",
                        self.clauses.len()
                    )));
                }
                self.check_event(until_event).map_err(fail)?;
                self.clauses.insert(
                    clause.clone(),
                    Clause {
                        id: clause.clone(),
                        heading: heading.clone(),
                        text: text.clone(),
                        terms: terms.clone(),
                        since: d,
                        amendment: step.id.clone(),
                        until: *until,
                        until_event: until_event.clone(),
                    },
                );
                self.note_until(*until);
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
                self.check_event(until_event).map_err(fail)?;
                let Some(c) = self.clauses.get_mut(clause) else {
                    return Err(fail(not_in_force(clause)));
                };
                if let Some(t) = unset.iter().find(|t| !c.terms.contains_key(*t)) {
                    return Err(fail(format!(
                        "clause `{clause}` has no term `{t}` to unset"
                    )));
                }
                if let Some(h) = heading {
                    c.heading = Some(h.clone());
                }
                if let Some(t) = text {
                    c.text = t.clone();
                }
                for (k, v) in set {
                    c.terms.insert(k.clone(), v.clone());
                }
                for t in unset {
                    c.terms.remove(t);
                }
                if until.is_some() {
                    c.until = *until;
                }
                if until_event.is_some() {
                    c.until_event = until_event.clone();
                }
                c.since = d;
                c.amendment = step.id.clone();
                // A later `until` may replace the earliest one: recompute.
                self.until_min = self.clauses.values().filter_map(|c| c.until).min();
            }
            Op::Repeal { clause } => {
                if self.clauses.remove(clause).is_none() {
                    return Err(fail(not_in_force(clause)));
                }
            }
            Op::Occur { event, .. } => {
                if let Some(on) = self.occurred.get(event) {
                    return Err(fail(format!("event `{event}` already occurred on {on}")));
                }
                if self.occurred.len() >= EVENTS_PER_AGREEMENT_MAX {
                    return Err(fail(format!(
                        "{} events already occurred in the agreement, the limit (EVENTS_PER_AGREEMENT_MAX)",
                        self.occurred.len()
                    )));
                }
                self.occurred.insert(event.clone(), d);
                self.clauses
                    .retain(|_, c| c.until_event.as_ref() != Some(event));
            }
            Op::Terminate { .. } => {
                self.terminated = Some(d);
                self.clauses.clear();
                self.until_min = None;
            }
            Op::Retract { .. } | Op::Rekey { .. } => unreachable_retract(),
        }
        self.last = Some(step.key());
        Ok(())
    }

    fn check_event(&self, until_event: &Option<EventId>) -> Result<(), String> {
        match until_event
            .as_ref()
            .and_then(|e| self.occurred.get(e).map(|d| (e, d)))
        {
            Some((e, on)) => Err(format!(
                "`until_event` names `{e}`, which already occurred on {on}"
            )),
            None => Ok(()),
        }
    }
}

#[inline]
fn unreachable_retract() {
    // `apply` returns a conflict for retractions before reaching here.
}

/// The entries a view sees, less retractions and what they retract, in seq order.
pub fn live(entries: &[Entry], known: KnownAt) -> Vec<&Entry> {
    let known: Vec<&Entry> = entries.iter().filter(|e| known.includes(e)).collect();
    let retracted: BTreeSet<&AmendmentId> = known
        .iter()
        .filter_map(|e| e.amendment.retracts())
        .collect();
    known
        .into_iter()
        .filter(|e| !e.amendment.is_retraction() && !retracted.contains(&e.amendment.id))
        .collect()
}

/// The steps of these entries, in timeline order.
pub fn steps<'a>(entries: &[&'a Entry]) -> Vec<Step<'a>> {
    let mut steps: Vec<Step<'a>> = entries
        .iter()
        .flat_map(|e| {
            e.amendment
                .changes
                .iter()
                .enumerate()
                .filter_map(move |(i, c)| {
                    let date = c.effective.or(e.amendment.effective)?;
                    Some(Step {
                        date,
                        seq: e.seq,
                        pos: i as u32,
                        id: &e.amendment.id,
                        change: c,
                    })
                })
        })
        .collect();
    steps.sort_by_key(|s| s.key());
    steps
}

/// Replays every step (up to `until` inclusive, if given).
pub fn replay(steps: &[Step<'_>], until: Option<Date>) -> Result<Replay, Conflict> {
    let mut r = Replay::new();
    for s in steps {
        if until.is_some_and(|u| s.date > u) {
            break;
        }
        r.apply(s)?;
    }
    Ok(r)
}

/// The state of an agreement at a date, as known at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The agreement.
    pub agreement: AgreementId,
    /// The date asked.
    pub at: Date,
    /// The view asked.
    pub known_at: KnownAt,
    /// Seq of the last entry of the agreement the view includes.
    pub known_through: u64,
    /// In force or not.
    pub status: Status,
    /// Title given by the establishing amendment.
    pub title: String,
    /// Parties given by the establishing amendment.
    pub parties: Vec<Party>,
    /// Date the agreement is established on.
    pub established: Date,
    /// Date it was terminated on, if on or before `at`.
    pub terminated: Option<Date>,
    /// Clauses in force, by id.
    pub clauses: Vec<Clause>,
    /// SHA-256 of the canonical encoding of (agreement, status, title, parties, clauses).
    pub digest: Hash,
}

/// Why a state cannot be given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// No entry of the agreement at all.
    #[error("agreement `{0}` is not in the ledger")]
    Unknown(AgreementId),
    /// The agreement has entries, but none the view includes.
    #[error("agreement `{agreement}` is not known at {known_at}: it is known since {first_recorded} (#{first_seq})")]
    NotYetKnown {
        /// The agreement.
        agreement: AgreementId,
        /// The view asked.
        known_at: KnownAt,
        /// Seq of its first entry.
        first_seq: u64,
        /// When its first entry was recorded.
        first_recorded: RecordedAt,
    },
    /// Every amendment the view includes is retracted.
    #[error("agreement `{0}` has no establishing amendment in this view (it was retracted)")]
    NotEstablished(AgreementId),
    /// The stored timeline does not replay (only possible on a damaged ledger).
    #[error("the recorded timeline does not replay: {0}")]
    Inconsistent(Conflict),
}

#[derive(Serialize)]
struct DigestInput<'a> {
    domain: &'static str,
    agreement: &'a AgreementId,
    status: Status,
    title: &'a str,
    parties: &'a [Party],
    clauses: &'a [Clause],
}

/// The state's digest: SHA-256 of the canonical bincode encoding of
/// `("pactum-state-v1", agreement, status, title, parties, clauses)`.
pub fn digest(
    agreement: &AgreementId,
    status: Status,
    title: &str,
    parties: &[Party],
    clauses: &[Clause],
) -> Hash {
    let input = DigestInput {
        domain: "pactum-state-v1",
        agreement,
        status,
        title,
        parties,
        clauses,
    };
    codec::hash_encoding(&input)
}

/// The state of `agreement` at `at` as known at `known`; `entries` are the
/// agreement's entries in seq order.
pub fn state(
    agreement: &AgreementId,
    entries: &[Entry],
    at: Date,
    known: KnownAt,
) -> Result<State, ProjectionError> {
    let first = entries
        .first()
        .ok_or_else(|| ProjectionError::Unknown(agreement.clone()))?;
    let known_through = entries
        .iter()
        .filter(|e| known.includes(e))
        .map(|e| e.seq)
        .max()
        .ok_or_else(|| ProjectionError::NotYetKnown {
            agreement: agreement.clone(),
            known_at: known,
            first_seq: first.seq,
            first_recorded: first.recorded_at,
        })?;
    let live = live(entries, known);
    let steps = steps(&live);
    let (title, parties, established) = steps
        .iter()
        .find_map(|s| match &s.change.op {
            Op::Establish { title, parties } => Some((title.clone(), parties.clone(), s.date)),
            _ => None,
        })
        .ok_or_else(|| ProjectionError::NotEstablished(agreement.clone()))?;
    let r = replay(&steps, Some(at)).map_err(ProjectionError::Inconsistent)?;
    let header = (title, parties, established);
    Ok(State::from_replay(
        agreement,
        at,
        known,
        known_through,
        r,
        header,
    ))
}

impl State {
    /// The state on `at` from the replay of every step up to `at` (it
    /// expires the clauses ending before `at`); `header` is the establishing
    /// change's title, parties and date.
    pub fn from_replay(
        agreement: &AgreementId,
        at: Date,
        known_at: KnownAt,
        known_through: u64,
        mut r: Replay,
        header: (String, Vec<Party>, Date),
    ) -> State {
        let (title, parties, established) = header;
        r.expire(at);
        let status = match (r.established, r.terminated) {
            (None, _) => Status::NotYetInForce,
            (Some(_), Some(_)) => Status::Terminated,
            (Some(_), None) => Status::InForce,
        };
        let clauses: Vec<Clause> = r.clauses.into_values().collect();
        let digest = digest(agreement, status, &title, &parties, &clauses);
        State {
            agreement: agreement.clone(),
            at,
            known_at,
            known_through,
            status,
            title,
            parties,
            established,
            terminated: r.terminated,
            clauses,
            digest,
        }
    }
}

// ---------------------------------------------------------------- diff

/// A piece of a word-level redline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "lowercase")]
pub enum Segment {
    /// Words in both.
    Same(String),
    /// Words only in the earlier text.
    Removed(String),
    /// Words only in the later text.
    Added(String),
}

pub use crate::limits::REDLINE_CELLS_MAX;
use crate::limits::{CLAUSES_IN_FORCE_MAX, EVENTS_PER_AGREEMENT_MAX};

/// A word-level redline from `a` to `b` (words are split on whitespace and
/// rejoined with single spaces).
pub fn redline(a: &str, b: &str) -> Vec<Segment> {
    let x: Vec<&str> = a.split_whitespace().collect();
    let y: Vec<&str> = b.split_whitespace().collect();
    let mut out: Vec<Segment> = Vec::new();
    let mut push = |seg: Segment| {
        let same_kind =
            |p: &Segment, s: &Segment| std::mem::discriminant(p) == std::mem::discriminant(s);
        match (out.last_mut(), &seg) {
            (Some(last), _) if same_kind(last, &seg) => {
                let (Segment::Same(t) | Segment::Removed(t) | Segment::Added(t)) = last;
                let (Segment::Same(w) | Segment::Removed(w) | Segment::Added(w)) = seg;
                t.push(' ');
                t.push_str(&w);
            }
            _ => out.push(seg),
        }
    };
    // Common prefix and suffix first: most edits are local.
    let pre = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
    let suf = x[pre..]
        .iter()
        .rev()
        .zip(y[pre..].iter().rev())
        .take_while(|(p, q)| p == q)
        .count();
    let (xm, ym) = (&x[pre..x.len() - suf], &y[pre..y.len() - suf]);
    for w in &x[..pre] {
        push(Segment::Same(w.to_string()));
    }
    if xm.len().saturating_mul(ym.len()) > REDLINE_CELLS_MAX {
        for w in xm {
            push(Segment::Removed(w.to_string()));
        }
        for w in ym {
            push(Segment::Added(w.to_string()));
        }
    } else {
        // LCS table over the middle.
        let (n, m) = (xm.len(), ym.len());
        let mut t = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * (m + 1) + j] = if xm[i] == ym[j] {
                    t[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && xm[i] == ym[j] {
                push(Segment::Same(xm[i].to_string()));
                i += 1;
                j += 1;
            } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
                push(Segment::Removed(xm[i].to_string()));
                i += 1;
            } else {
                push(Segment::Added(ym[j].to_string()));
                j += 1;
            }
        }
    }
    for w in &x[x.len() - suf..] {
        push(Segment::Same(w.to_string()));
    }
    out
}

/// A term that differs between two versions of a clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TermChange {
    /// The term.
    pub name: TermName,
    /// Its value before (`None`: absent).
    pub before: Option<TermValue>,
    /// Its value after (`None`: absent).
    pub after: Option<TermValue>,
}

/// A clause in force at both dates whose version differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClauseChange {
    /// The clause before.
    pub before: Clause,
    /// The clause after.
    pub after: Clause,
    /// Redline of the text, when it changed.
    pub text: Option<Vec<Segment>>,
    /// Terms that differ.
    pub terms: Vec<TermChange>,
}

/// What changed between two dates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// State at the first date.
    pub from: State,
    /// State at the second date.
    pub to: State,
    /// Clauses in force only at the second date.
    pub added: Vec<Clause>,
    /// Clauses in force only at the first date.
    pub removed: Vec<Clause>,
    /// Clauses in force at both, in another version.
    pub changed: Vec<ClauseChange>,
}

/// Terms that differ between two term maps.
pub fn term_changes(a: &Terms, b: &Terms) -> Vec<TermChange> {
    let names: BTreeSet<&TermName> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .map(|n| TermChange {
            name: n.clone(),
            before: a.get(n).cloned(),
            after: b.get(n).cloned(),
        })
        .collect()
}

/// The difference between the states at `from` and `to` (same view).
pub fn diff(
    agreement: &AgreementId,
    entries: &[Entry],
    from: Date,
    to: Date,
    known: KnownAt,
) -> Result<Diff, ProjectionError> {
    diff_views(agreement, entries, (from, known), (to, known))
}

/// The difference between two (date, view) states: with one date and two
/// views, what a late correction changed in what was believed about that date.
pub fn diff_views(
    agreement: &AgreementId,
    entries: &[Entry],
    (from, known_from): (Date, KnownAt),
    (to, known_to): (Date, KnownAt),
) -> Result<Diff, ProjectionError> {
    let a = state(agreement, entries, from, known_from)?;
    let b = state(agreement, entries, to, known_to)?;
    let before: BTreeMap<&ClauseId, &Clause> = a.clauses.iter().map(|c| (&c.id, c)).collect();
    let after: BTreeMap<&ClauseId, &Clause> = b.clauses.iter().map(|c| (&c.id, c)).collect();
    let added = b
        .clauses
        .iter()
        .filter(|c| !before.contains_key(&c.id))
        .cloned()
        .collect();
    let removed = a
        .clauses
        .iter()
        .filter(|c| !after.contains_key(&c.id))
        .cloned()
        .collect();
    let changed = a
        .clauses
        .iter()
        .filter_map(|x| {
            let y = after.get(&x.id)?;
            if x == *y {
                return None;
            }
            Some(ClauseChange {
                before: x.clone(),
                after: (*y).clone(),
                text: (x.text != y.text).then(|| redline(&x.text, &y.text)),
                terms: term_changes(&x.terms, &y.terms),
            })
        })
        .collect();
    Ok(Diff {
        from: a,
        to: b,
        added,
        removed,
        changed,
    })
}

// ---------------------------------------------------------------- history

/// One amendment in an agreement's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryItem {
    /// Seq of its entry.
    pub seq: u64,
    /// When it was recorded.
    pub recorded_at: RecordedAt,
    /// The amendment (with only the changes asked for).
    pub amendment: Amendment,
    /// Positions (0-based) of the changes listed, in the amendment.
    pub positions: Vec<usize>,
    /// The retraction that voids it, if any (in this view).
    pub retracted_by: Option<AmendmentId>,
}

/// The agreement's amendments in effective order (a retraction right after
/// what it retracts), each with what it did; with `clause`, only amendments
/// that touch that clause (or end the agreement), with only those changes.
pub fn history(
    agreement: &AgreementId,
    entries: &[Entry],
    clause: Option<&ClauseId>,
    known: KnownAt,
) -> Result<Vec<HistoryItem>, ProjectionError> {
    if entries.is_empty() {
        return Err(ProjectionError::Unknown(agreement.clone()));
    }
    let known: Vec<&Entry> = entries.iter().filter(|e| known.includes(e)).collect();
    let retracted_by: BTreeMap<&AmendmentId, &AmendmentId> = known
        .iter()
        .filter_map(|e| e.amendment.retracts().map(|t| (t, &e.amendment.id)))
        .collect();
    let date_of: BTreeMap<&AmendmentId, Date> = known
        .iter()
        .filter_map(|e| {
            let d = (0..e.amendment.changes.len())
                .filter_map(|i| e.amendment.change_date(i))
                .min()?;
            Some((&e.amendment.id, d))
        })
        .collect();
    let mut items: Vec<((Date, u64, u64), HistoryItem)> = Vec::new();
    for e in known.iter().copied() {
        let a = &e.amendment;
        let positions: Vec<usize> = a
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| match clause {
                None => true,
                Some(id) => c.op.clause() == Some(id) || matches!(c.op, Op::Terminate { .. }),
            })
            .map(|(i, _)| i)
            .collect();
        // Sort key: (date, seq, 0) for an amendment; a retraction sorts right
        // after its target: (target's date, target's seq, own seq).
        let key = match a.retracts() {
            Some(target) => {
                if clause.is_some() && !items.iter().any(|(_, it)| &it.amendment.id == target) {
                    continue;
                }
                let tseq = known
                    .iter()
                    .find(|t| &t.amendment.id == target)
                    .map_or(e.seq, |t| t.seq);
                (
                    date_of.get(target).copied().unwrap_or(Date::FIRST),
                    tseq,
                    e.seq,
                )
            }
            None => {
                if positions.is_empty() {
                    continue;
                }
                (date_of.get(&a.id).copied().unwrap_or(Date::FIRST), e.seq, 0)
            }
        };
        items.push((
            key,
            HistoryItem {
                seq: e.seq,
                recorded_at: e.recorded_at,
                amendment: a.clone(),
                positions,
                retracted_by: retracted_by.get(&a.id).map(|r| (*r).clone()),
            },
        ));
    }
    items.sort_by_key(|(k, _)| *k);
    Ok(items.into_iter().map(|(_, it)| it).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn clauses_in_force_and_events_are_bounded() {
        let id: AmendmentId = "a".parse().expect("id");
        let est = Change {
            effective: None,
            op: Op::Establish {
                title: "T".into(),
                parties: Vec::new(),
            },
        };
        let d: Date = "2024-01-01".parse().expect("date");
        fn step<'a>(d: Date, id: &'a AmendmentId, change: &'a Change, pos: u32) -> Step<'a> {
            Step {
                date: d,
                seq: 0,
                pos,
                id,
                change,
            }
        }
        let mut r = Replay::new();
        r.apply(&step(d, &id, &est, 0)).expect("establish");
        let adds: Vec<Change> = (0..=crate::limits::CLAUSES_IN_FORCE_MAX)
            .map(|i| Change {
                effective: None,
                op: Op::Add {
                    clause: format!("c{i}").parse().expect("clause"),
                    heading: None,
                    text: "t".into(),
                    terms: Default::default(),
                    until: None,
                    until_event: None,
                },
            })
            .collect();
        let (last, first) = adds.split_last().expect("adds");
        for (i, c) in first.iter().enumerate() {
            r.apply(&step(d, &id, c, i as u32 + 1))
                .expect("within the limit");
        }
        let e = r
            .apply(&step(d, &id, last, first.len() as u32 + 1))
            .expect_err("over the limit");
        assert!(e.reason.contains("CLAUSES_IN_FORCE_MAX"), "{}", e.reason);
        let mut r = Replay::new();
        r.apply(&step(d, &id, &est, 0)).expect("establish");
        r.occurred = (0..crate::limits::EVENTS_PER_AGREEMENT_MAX)
            .map(|i| (format!("e{i}").parse().expect("event"), d))
            .collect();
        let occur = Change {
            effective: None,
            op: Op::Occur {
                event: "one-more".parse().expect("event"),
                note: None,
            },
        };
        let e = r
            .apply(&step(d, &id, &occur, 1))
            .expect_err("over the limit");
        assert!(
            e.reason.contains("EVENTS_PER_AGREEMENT_MAX"),
            "{}",
            e.reason
        );
    }

    use super::*;

    fn words(segs: &[Segment]) -> (String, String) {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for s in segs {
            match s {
                Segment::Same(t) => {
                    a.push(t.clone());
                    b.push(t.clone());
                }
                Segment::Removed(t) => a.push(t.clone()),
                Segment::Added(t) => b.push(t.clone()),
            }
        }
        (a.join(" "), b.join(" "))
    }

    #[test]
    fn redline_reconstructs_both_texts() {
        let cases = [
            ("", ""),
            ("a b c", "a b c"),
            ("a b c", "a x c"),
            (
                "Azure is the exclusive cloud",
                "Azure holds a right of first refusal",
            ),
            ("", "new text"),
            ("old text", ""),
        ];
        for (x, y) in cases {
            let segs = redline(x, y);
            assert_eq!(
                words(&segs),
                (x.to_string(), y.to_string()),
                "{x:?} → {y:?}"
            );
            for w in segs.windows(2) {
                assert_ne!(
                    std::mem::discriminant(&w[0]),
                    std::mem::discriminant(&w[1]),
                    "adjacent segments merge"
                );
            }
        }
        assert_eq!(
            redline("a b c", "a x c"),
            vec![
                Segment::Same("a".into()),
                Segment::Removed("b".into()),
                Segment::Added("x".into()),
                Segment::Same("c".into()),
            ]
        );
    }

    #[test]
    fn huge_redlines_are_bounded() {
        let a: String = (0..3000).map(|i| format!("a{i} ")).collect();
        let b: String = (0..3000).map(|i| format!("b{i} ")).collect();
        let segs = redline(&a, &b);
        assert_eq!(words(&segs), (a.trim().to_string(), b.trim().to_string()));
    }
}
