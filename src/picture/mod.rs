//! The timeline picture of an agreement: a pure layout model, and its
//! drawing as SVG ([`svg`]) and as one self-contained HTML page ([`html`]).
//!
//! [`layout`] turns an agreement's entries into lanes (one per clause in
//! force on any day shown), segments (one per version's days in force),
//! marks (one per amendment and effective date, with how late it was
//! recorded), ghosts (retracted amendments), events, the termination and
//! today. Nothing here reads the clock, the store or any global state:
//! `today` is passed in. The drawings read only the [`Layout`].
//!
//! ```
//! use pactum::{Ledger, picture, projection::KnownAt, store::MemStore, model::RecordedAt};
//!
//! let ledger = Ledger::create(MemStore::default(), [1; 16]).unwrap();
//! let amendments = pactum::input::parse_str("h.jsonl", concat!(
//!   r#"{"agreement":"acme","id":"start","title":"Start","effective":"2024-01-01","change":["#,
//!   r#"{"op":"establish","title":"Acme supply","parties":[{"id":"acme","name":"Acme"}]},"#,
//!   r#"{"op":"add","clause":"price","text":"Ten per unit."}]}"#, "\n",
//! )).unwrap();
//! ledger.append(&amendments, RecordedAt(1_700_000_000_000_000), Default::default()).unwrap();
//! let agreement = "acme".parse().unwrap();
//! let entries = ledger.agreement_entries(&agreement).unwrap();
//! let view = picture::View { known: KnownAt::All, from: None, to: None, today: "2025-01-01".parse().unwrap() };
//! let layout = picture::layout(&agreement, &entries, &view).unwrap();
//! assert_eq!(layout.lanes[0].clause, "price");
//! assert!(picture::svg::draw(&layout).starts_with("<svg"));
//! ```

pub mod html;
pub mod svg;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::codec::Entry;
use crate::model::*;
use crate::projection::{self, Clause, KnownAt, ProjectionError, Replay};

/// Most "as known" moments offered by the HTML page (the latest ones).
pub const MOMENTS_MAX: usize = 24;

/// Layout format version, the `version` field of `--format json`.
pub const LAYOUT_VERSION: u32 = 1;

/// What to draw: the view and the dates shown.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Which entries are known.
    pub known: KnownAt,
    /// First day shown (default: the first effective date).
    pub from: Option<Date>,
    /// Last day shown (default: the later of today and the last effective date).
    pub to: Option<Date>,
    /// Today, as the caller's clock says (UTC).
    pub today: Date,
}

/// Why a layout could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// The projection failed (unknown agreement, a conflict in stored entries).
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// `--from` is after `--to`.
    #[error("--from {from} is after --to {to}")]
    Range {
        /// First day asked.
        from: Date,
        /// Last day asked.
        to: Date,
    },
}

/// The picture's layout: everything the drawings need, in dates, not pixels.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Layout {
    /// [`LAYOUT_VERSION`].
    pub version: u32,
    /// The agreement.
    pub agreement: String,
    /// Its title (empty if its establishment is not in view).
    pub title: String,
    /// The view: `null` for every entry, else `#N` or an RFC 3339 time.
    pub known_at: Option<String>,
    /// Highest ledger seq of the agreement's entries in view.
    pub known_through: u64,
    /// First day shown.
    pub from: Date,
    /// Last day shown.
    pub to: Date,
    /// Today (UTC), as given.
    pub today: Date,
    /// The establishing date, if in view.
    pub established: Option<Date>,
    /// One lane per clause in force on some day shown, ordered by clause id.
    pub lanes: Vec<Lane>,
    /// One mark per (amendment, effective date), in timeline order.
    pub marks: Vec<Mark>,
    /// Retracted amendments, one per (amendment, effective date).
    pub ghosts: Vec<Ghost>,
    /// Events that occurred.
    pub events: Vec<Event>,
    /// The termination, if any.
    pub terminated: Option<Termination>,
    /// Moments at which the agreement's record changed (the views the HTML
    /// page can switch between), oldest first, at most [`MOMENTS_MAX`].
    pub moments: Vec<Moment>,
}

/// A clause's row.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Lane {
    /// The clause id.
    pub clause: String,
    /// Its latest heading shown.
    pub heading: Option<String>,
    /// Its versions' days in force, oldest first (clipped to the days shown).
    pub segments: Vec<Segment>,
}

/// One version of a clause and the days it was in force.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Segment {
    /// First day in force of this version (its `since`).
    pub from: Date,
    /// Last day in force; `null` while in force with no end in sight.
    pub until: Option<Date>,
    /// What ended it: `amended`, `repealed`, `until`, `event`, `terminated`,
    /// or `open` (in force at the end of the timeline).
    pub end: &'static str,
    /// The event that ends it (when `end` is `event`) or may end it.
    pub until_event: Option<String>,
    /// The amendment that made this version.
    pub amendment: String,
    /// Its heading.
    pub heading: Option<String>,
    /// Its text.
    pub text: String,
    /// Its terms.
    pub terms: Terms,
}

/// An amendment's changes on one effective date.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Mark {
    /// 1-based number shown on the picture (same for every date of one amendment).
    pub number: u32,
    /// The effective date.
    pub date: Date,
    /// The amendment.
    pub amendment: String,
    /// Its title.
    pub title: String,
    /// Its entry.
    pub seq: u64,
    /// When it was recorded.
    pub recorded_at: String,
    /// The UTC day it was recorded.
    pub recorded: Date,
    /// Days between the effective date and the recorded day (0 when
    /// recorded on or before its effective date).
    pub late_days: i64,
    /// Recorded after its effective date: it reached back in time.
    pub retroactive: bool,
    /// What it did on that date: `add ip.rights`, `occur agi-verified`, …
    pub changes: Vec<String>,
}

/// A retracted amendment on one of its effective dates.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Ghost {
    /// The date it would have taken effect.
    pub date: Date,
    /// The amendment retracted.
    pub amendment: String,
    /// Its title.
    pub title: String,
    /// Its entry.
    pub seq: u64,
    /// The retracting amendment.
    pub retracted_by: String,
    /// Why.
    pub reason: String,
    /// What it would have done on that date.
    pub changes: Vec<String>,
}

/// An `occur`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Event {
    /// The date.
    pub date: Date,
    /// The event.
    pub event: String,
    /// The note, if any.
    pub note: Option<String>,
    /// The amendment that recorded it.
    pub amendment: String,
}

/// A `terminate`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Termination {
    /// The date.
    pub date: Date,
    /// The note, if any.
    pub note: Option<String>,
    /// The amendment.
    pub amendment: String,
}

/// A moment the agreement's record changed: after entry `seq`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Moment {
    /// The entry (the view `#seq`).
    pub seq: u64,
    /// When it was recorded.
    pub recorded_at: String,
    /// The amendment recorded.
    pub amendment: String,
}

/// Days since 1970-01-01 (proleptic Gregorian).
pub fn day_number(d: Date) -> i64 {
    let c = d.civil();
    let (y, m, day) = (c.year() as i64, c.month() as i64, c.day() as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn prev(d: Date) -> Date {
    d.civil()
        .yesterday()
        .ok()
        .and_then(Date::from_civil)
        .unwrap_or(d)
}

fn summary(c: &Change) -> String {
    c.op.describe()
}

struct Open {
    version: (Date, AmendmentId),
    clause: Clause,
}

fn segment(o: &Open, until: Option<Date>, end: &'static str) -> Segment {
    Segment {
        from: o.clause.since,
        until,
        end,
        until_event: o.clause.until_event.as_ref().map(|e| e.to_string()),
        amendment: o.clause.amendment.to_string(),
        heading: o.clause.heading.clone(),
        text: o.clause.text.clone(),
        terms: o.clause.terms.clone(),
    }
}

/// Lays out `agreement` (its entries, in seq order) as `view` asks.
pub fn layout(
    agreement: &AgreementId,
    entries: &[Entry],
    view: &View,
) -> Result<Layout, PictureError> {
    let first = entries
        .first()
        .ok_or_else(|| ProjectionError::Unknown(agreement.clone()))?;
    let known: Vec<&Entry> = entries.iter().filter(|e| view.known.includes(e)).collect();
    if known.is_empty() {
        return Err(ProjectionError::NotYetKnown {
            agreement: agreement.clone(),
            known_at: view.known,
            first_seq: first.seq,
            first_recorded: first.recorded_at,
        }
        .into());
    }
    let live = projection::live(entries, view.known);
    let steps = projection::steps(&live);

    // Replay, closing a clause's segment whenever its version changes or it leaves.
    let mut r = Replay::new();
    let mut open: BTreeMap<ClauseId, Open> = BTreeMap::new();
    let mut done: BTreeMap<ClauseId, Vec<Segment>> = BTreeMap::new();
    let mut events = Vec::new();
    let mut terminated = None;
    for step in &steps {
        r.apply(step).map_err(ProjectionError::Inconsistent)?;
        let d = step.date;
        let cause = match &step.change.op {
            Op::Repeal { .. } => "repealed",
            Op::Occur { .. } => "event",
            Op::Terminate { .. } => "terminated",
            _ => "amended",
        };
        match &step.change.op {
            Op::Occur { event, note } => events.push(Event {
                date: d,
                event: event.to_string(),
                note: note.clone(),
                amendment: step.id.to_string(),
            }),
            Op::Terminate { note } => {
                terminated = Some(Termination {
                    date: d,
                    note: note.clone(),
                    amendment: step.id.to_string(),
                })
            }
            _ => {}
        }
        let ids: Vec<ClauseId> = open.keys().cloned().collect();
        for id in ids {
            let now = r.clauses.get(&id);
            let same = now.is_some_and(|c| {
                let o = &open[&id];
                o.version == (c.since, c.amendment.clone()) && o.clause == *c
            });
            if same {
                continue;
            }
            let Some(o) = open.remove(&id) else { continue };
            let (last, why) = match (now, o.clause.until) {
                (None, Some(u)) if u < d => (u, "until"),
                (None, _) => (prev(d), cause),
                (Some(_), _) => (prev(d), "amended"),
            };
            if last >= o.clause.since {
                done.entry(id.clone())
                    .or_default()
                    .push(segment(&o, Some(last), why));
            }
        }
        for (id, c) in &r.clauses {
            open.entry(id.clone()).or_insert_with(|| Open {
                version: (c.since, c.amendment.clone()),
                clause: c.clone(),
            });
        }
    }
    for (id, o) in open {
        let (until, end) = match o.clause.until {
            Some(u) => (Some(u), "until"),
            None => (None, "open"),
        };
        done.entry(id).or_default().push(segment(&o, until, end));
    }

    // Marks: one per live amendment and effective date.
    let mut marks = Vec::new();
    let mut numbers: BTreeMap<&AmendmentId, u32> = BTreeMap::new();
    let mut order: Vec<(Date, u64, &Entry)> = Vec::new();
    for e in &live {
        let dates: BTreeSet<Date> = (0..e.amendment.changes.len())
            .filter_map(|i| e.amendment.change_date(i))
            .collect();
        for d in dates {
            order.push((d, e.seq, e));
        }
    }
    order.sort_by_key(|(d, s, _)| (*d, *s));
    // Number amendments by their first date.
    for (_, _, e) in &order {
        let n = numbers.len() as u32 + 1;
        numbers.entry(&e.amendment.id).or_insert(n);
    }
    for (d, _, e) in &order {
        let recorded = e.recorded_at.date().unwrap_or(*d);
        let late = (day_number(recorded) - day_number(*d)).max(0);
        marks.push(Mark {
            number: numbers[&e.amendment.id],
            date: *d,
            amendment: e.amendment.id.to_string(),
            title: e.amendment.title.clone(),
            seq: e.seq,
            recorded_at: e.recorded_at.to_string(),
            recorded,
            late_days: late,
            retroactive: late > 0,
            changes: changes_on(&e.amendment, *d),
        });
    }

    // Ghosts: amendments retracted within the view.
    let retractions: BTreeMap<&AmendmentId, (&AmendmentId, &str)> = known
        .iter()
        .filter_map(|e| match e.amendment.changes.first().map(|c| &c.op) {
            Some(Op::Retract { amendment, reason }) => {
                Some((amendment, (&e.amendment.id, reason.as_str())))
            }
            _ => None,
        })
        .collect();
    let mut ghosts = Vec::new();
    for e in &known {
        let Some((by, reason)) = retractions.get(&e.amendment.id) else {
            continue;
        };
        if e.amendment.is_retraction() {
            continue;
        }
        let dates: BTreeSet<Date> = (0..e.amendment.changes.len())
            .filter_map(|i| e.amendment.change_date(i))
            .collect();
        for d in dates {
            ghosts.push(Ghost {
                date: d,
                amendment: e.amendment.id.to_string(),
                title: e.amendment.title.clone(),
                seq: e.seq,
                retracted_by: by.to_string(),
                reason: reason.to_string(),
                changes: changes_on(&e.amendment, d),
            });
        }
    }
    ghosts.sort_by_key(|a| (a.date, a.seq));

    // The days shown.
    let dates = marks
        .iter()
        .map(|m| m.date)
        .chain(ghosts.iter().map(|g| g.date));
    let first = dates.clone().min().unwrap_or(view.today);
    let last = dates.max().unwrap_or(view.today).max(view.today);
    let from = view.from.unwrap_or(first);
    let to = view.to.unwrap_or(last.max(from));
    if from > to {
        return Err(PictureError::Range { from, to });
    }

    let mut lanes = Vec::new();
    for (id, segs) in done {
        let shown: Vec<Segment> = segs
            .into_iter()
            .filter(|s| s.from <= to && s.until.is_none_or(|u| u >= from))
            .collect();
        if shown.is_empty() {
            continue;
        }
        let heading = shown.iter().rev().find_map(|s| s.heading.clone());
        lanes.push(Lane {
            clause: id.to_string(),
            heading,
            segments: shown,
        });
    }

    let moments: Vec<Moment> = known
        .iter()
        .map(|e| Moment {
            seq: e.seq,
            recorded_at: e.recorded_at.to_string(),
            amendment: e.amendment.id.to_string(),
        })
        .collect();
    let skip = moments.len().saturating_sub(MOMENTS_MAX);
    let moments = moments.into_iter().skip(skip).collect();

    Ok(Layout {
        version: LAYOUT_VERSION,
        agreement: agreement.to_string(),
        title: r.title.clone(),
        known_at: match view.known {
            KnownAt::All => None,
            k => Some(k.to_string()),
        },
        known_through: known.last().map_or(0, |e| e.seq),
        from,
        to,
        today: view.today,
        established: r.established,
        lanes,
        marks,
        ghosts,
        events,
        terminated,
        moments,
    })
}

/// The views the HTML page switches between: the agreement after each of
/// its latest entries (at most [`MOMENTS_MAX`]), and `view` itself, last,
/// all drawn over the same days. Returns them with their labels.
pub fn moments(
    agreement: &AgreementId,
    entries: &[Entry],
    view: &View,
) -> Result<Vec<(String, Layout)>, PictureError> {
    let current = layout(agreement, entries, view)?;
    let fixed = View {
        from: Some(current.from),
        to: Some(current.to),
        ..*view
    };
    let mut out = Vec::new();
    for m in &current.moments {
        if m.seq >= current.known_through {
            continue;
        }
        let v = View {
            known: KnownAt::Seq(m.seq),
            ..fixed
        };
        // A view whose establishment is not known yet has nothing to draw.
        if let Ok(l) = layout(agreement, entries, &v) {
            let day = m.recorded_at.get(..10).unwrap_or(&m.recorded_at);
            out.push((
                format!("after #{} {} (recorded {day})", m.seq, m.amendment),
                l,
            ));
        }
    }
    let label = match &current.known_at {
        None => format!("as known now (through #{})", current.known_through),
        Some(k) => format!("as known at {k} (through #{})", current.known_through),
    };
    out.push((label, current));
    Ok(out)
}

fn changes_on(a: &Amendment, d: Date) -> Vec<String> {
    a.changes
        .iter()
        .enumerate()
        .filter(|(i, _)| a.change_date(*i) == Some(d))
        .map(|(_, c)| summary(c))
        .collect()
}

/// Escapes text for XML and HTML (text and attribute values); characters
/// XML 1.0 forbids become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers() {
        let d = |s: &str| day_number(s.parse().expect("date"));
        assert_eq!(d("1970-01-01"), 0);
        assert_eq!(d("2000-03-01"), 11_017);
        assert_eq!(d("2024-02-29") + 1, d("2024-03-01"));
        assert_eq!(d("0001-01-01"), -719_162);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1b}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{FFFD}"
        );
    }
}
