//! Stored projections: each agreement's live timeline kept as pages of steps,
//! with replay snapshots at some page starts, so that `state` and append
//! validation read a bounded part of one agreement instead of all of it.
//!
//! These keys are derived data: they hold nothing the entries do not, and
//! the audit recomputes and compares them (see `audit.rs`). The entries stay
//! the record.
//!
//! - a *step* is one dated change of a live amendment (not retracted, not a
//!   retraction), placed at `(date, seq, pos)`;
//! - a *page* (`l` keys) holds up to [`PAGE_STEPS`] consecutive steps of one
//!   agreement, copied whole (so replaying a page reads no entry), keyed by
//!   its first step;
//! - a *snapshot* (`s` keys) is the [`Replay`] just before the step its key
//!   names, which is always the first step of a page. Where snapshots stand
//!   is a writer's choice ([`snapshot_due`]); any placement is correct.
//!
//! To know an agreement on a date: the last snapshot at or before the date,
//! then the pages from it, stopping at the date. To judge an append: the last
//! snapshot and the pages after it (the *loaded region*), extended backwards
//! when a change is dated earlier than the region.

use std::collections::HashMap;

use crate::error::Error;
use crate::layout::{
    decode_page, decode_snapshot, encode_page, encode_snapshot, keys, steps_of, StepKey, StepRec,
    PAGE_STEPS,
};
use crate::model::*;
use crate::projection::{self, Conflict, ProjectionError, Replay, State};
use crate::store::{Store, Write};

pub use crate::limits::SNAPSHOT_SPACING_STEPS_MIN as SNAPSHOT_STEPS_MIN;

/// The first key after every step on `date`.
fn after_date(date: Date) -> StepKey {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&(date.packed() + 1).to_be_bytes());
    k
}

/// Whether a page start `since` steps after the previous snapshot gets a
/// snapshot, for a timeline with about `clauses` clauses in force (the
/// writer uses the count at the timeline's end).
pub fn snapshot_due(since: usize, clauses: usize) -> bool {
    since >= SNAPSHOT_STEPS_MIN.max(clauses)
}

fn damaged(detail: impl Into<String>) -> Error {
    Error::Damaged {
        seq: None,
        detail: detail.into(),
    }
}

fn suffix(key: &[u8], prefix_len: usize) -> Result<StepKey, Error> {
    key.get(prefix_len..)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| damaged("a malformed projection key is stored"))
}

/// The last snapshot of `agreement` strictly before `end`.
fn last_snapshot<S: Store + ?Sized>(
    store: &S,
    agreement: &AgreementId,
    end: &StepKey,
) -> Result<Option<(StepKey, Replay)>, Error> {
    let prefix = keys::snapshot_prefix(agreement);
    match store.last_in(&prefix, &keys::snapshot(agreement, end))? {
        None => Ok(None),
        Some((k, v)) => {
            let key = suffix(&k, prefix.len())?;
            let r = decode_snapshot(&v)
                .map_err(|e| damaged(format!("the snapshot of `{agreement}`: {e}")))?;
            Ok(Some((key, r)))
        }
    }
}

/// Pages of `agreement` with `from <= key < to` (no bound: to the end), in order.
fn pages<'s, S: Store + ?Sized>(
    store: &'s S,
    agreement: &AgreementId,
    from: Option<&StepKey>,
    to: Option<&StepKey>,
) -> impl Iterator<Item = Result<(StepKey, Vec<StepRec>), Error>> + 's {
    let prefix = keys::page_prefix(agreement);
    let start = match from {
        Some(k) => keys::page(agreement, k),
        None => prefix.clone(),
    };
    let end = match to {
        Some(k) => keys::page(agreement, k),
        None => keys::prefix_end(&prefix),
    };
    let n = prefix.len();
    let agreement = agreement.clone();
    store.scan(&start, Some(&end)).map(move |r| {
        let (k, v) = r?;
        let key = suffix(&k, n)?;
        let steps = decode_page(store, agreement.as_str(), &v)?;
        if steps.first().map(StepRec::key) != Some(key) {
            return Err(damaged(format!(
                "a page of `{agreement}` does not start at its key"
            )));
        }
        Ok((key, steps))
    })
}

/// What `agreement` said on `at`, as known now, read from its stored
/// projections (a snapshot and at most the pages after it up to `at`).
pub fn state<S: Store + ?Sized>(
    store: &S,
    agreement: &AgreementId,
    at: Date,
) -> Result<State, Error> {
    let prefix = keys::agreement_prefix(agreement);
    let Some((last, _)) = store.last_in(&prefix, &keys::prefix_end(&prefix))? else {
        return Err(ProjectionError::Unknown(agreement.clone()).into());
    };
    let known_through = keys::split_by_agreement(&last)
        .map(|(_, s)| s)
        .ok_or_else(|| damaged("malformed index key"))?;
    let end = after_date(at);
    let (mut r, from) = match last_snapshot(store, agreement, &end)? {
        Some((k, r)) => (r, Some(k)),
        None => (Replay::new(), None),
    };
    let mut first: Option<StepRec> = None;
    'pages: for p in pages(store, agreement, from.as_ref(), None) {
        let (_, steps) = p?;
        for s in steps {
            if s.date > at {
                if first.is_none() && r.established.is_none() {
                    first = Some(s);
                }
                break 'pages;
            }
            r.apply(&s.step())
                .map_err(|c| Error::from(ProjectionError::Inconsistent(c)))?;
        }
    }
    let header = match (r.established, first) {
        (Some(d), _) => (
            std::mem::take(&mut r.title),
            std::mem::take(&mut r.parties),
            d,
        ),
        (
            None,
            Some(StepRec {
                date,
                change:
                    Change {
                        op: Op::Establish { title, parties },
                        ..
                    },
                ..
            }),
        ) => (title, parties, date),
        (None, _) => return Err(ProjectionError::NotEstablished(agreement.clone()).into()),
    };
    Ok(State::from_replay(
        agreement,
        at,
        projection::KnownAt::All,
        known_through,
        r,
        header,
    ))
}

/// One agreement's timeline while a batch is judged and written: the loaded
/// region (from a snapshot, or the beginning, to the end), the replay at its
/// end, and in-memory marks to re-judge from when a change lands earlier.
#[derive(Clone, Debug)]
pub struct Work {
    agreement: AgreementId,
    /// Start of the loaded region: a snapshot's key, or the beginning.
    base_key: Option<StepKey>,
    /// Live steps from `base_key` on, in timeline order.
    steps: Vec<StepRec>,
    /// `(i, replay before steps[i])`, increasing; the first is the base.
    marks: Vec<(usize, Replay)>,
    /// The replay after every step.
    tip: Replay,
    /// Stored page and snapshot keys in the loaded region.
    old_pages: Vec<StepKey>,
    old_snaps: Vec<StepKey>,
    /// The earliest position changed since the region was last written.
    dirty: Option<StepKey>,
}

impl Work {
    /// Loads the region after the agreement's last snapshot.
    pub fn load<S: Store + ?Sized>(store: &S, agreement: &AgreementId) -> Result<Work, Error> {
        let (base_key, base) = match last_snapshot(store, agreement, &[0xff; 16])? {
            Some((k, r)) => (Some(k), r),
            None => (None, Replay::new()),
        };
        let mut w = Work::at_base(agreement, base_key, base);
        for p in pages(store, agreement, base_key.as_ref(), None) {
            let (k, steps) = p?;
            w.old_pages.push(k);
            w.steps.extend(steps);
        }
        w.replay_stored()?;
        Ok(w)
    }

    /// The region from a snapshot (`base_key`, with its replay `base`), or
    /// from the beginning, before any step is loaded.
    fn at_base(agreement: &AgreementId, base_key: Option<StepKey>, base: Replay) -> Work {
        Work {
            agreement: agreement.clone(),
            base_key,
            steps: Vec::new(),
            marks: vec![(0, base)],
            tip: Replay::new(),
            old_pages: Vec::new(),
            old_snaps: base_key.into_iter().collect(),
            dirty: None,
        }
    }

    /// Replays the loaded region from its base: stored steps must apply.
    fn replay_stored(&mut self) -> Result<(), Error> {
        self.replay_from(0, None).map_err(|c| {
            damaged(format!(
                "the stored timeline of `{}` does not replay: {c}",
                self.agreement
            ))
        })
    }

    /// Extends the loaded region backwards so that it holds `key`.
    fn reach<S: Store + ?Sized>(&mut self, store: &S, key: &StepKey) -> Result<(), Error> {
        let Some(base) = self.base_key else {
            return Ok(());
        };
        if *key >= base {
            return Ok(());
        }
        let mut end = *key;
        // The snapshot at or before `key` (keys are exclusive ends).
        increment(&mut end);
        let (new_base, replay) = match last_snapshot(store, &self.agreement, &end)? {
            Some((k, r)) => (Some(k), r),
            None => (None, Replay::new()),
        };
        let mut steps = Vec::new();
        let mut old_pages = Vec::new();
        for p in pages(store, &self.agreement, new_base.as_ref(), Some(&base)) {
            let (k, s) = p?;
            old_pages.push(k);
            steps.extend(s);
        }
        // Every snapshot in the added part (the new base and any after it).
        let prefix = keys::snapshot_prefix(&self.agreement);
        let from = match &new_base {
            Some(k) => keys::snapshot(&self.agreement, k),
            None => prefix.clone(),
        };
        let mut snaps = Vec::new();
        for item in store.scan(&from, Some(&keys::snapshot(&self.agreement, &base))) {
            snaps.push(suffix(&item?.0, prefix.len())?);
        }
        steps.append(&mut self.steps);
        old_pages.append(&mut self.old_pages);
        snaps.append(&mut self.old_snaps);
        self.steps = steps;
        self.old_pages = old_pages;
        self.old_snaps = snaps;
        self.base_key = new_base;
        self.marks = vec![(0, replay)];
        self.replay_stored()
    }

    /// Replays from the last mark at or before step `i` to the end, renewing
    /// the marks after it and the tip. With `since_change = Some((settled,
    /// shift))`, the steps from index `settled` on are the old steps shifted
    /// by `shift` places: once the replay equals an old mark there, the rest
    /// is known (the fold is deterministic) and the replay stops.
    fn replay_from(
        &mut self,
        i: usize,
        since_change: Option<(usize, isize)>,
    ) -> Result<(), Conflict> {
        let m = self.marks.partition_point(|(at, _)| *at <= i).max(1) - 1;
        let mut old: std::collections::VecDeque<(usize, Replay)> = self
            .marks
            .split_off(m + 1)
            .into_iter()
            .filter_map(|(at, r)| {
                let (settled, shift) = since_change?;
                let at = at.checked_add_signed(shift)?;
                (at > settled).then_some((at, r))
            })
            .collect();
        let (start, mut r) = self.marks[m].clone();
        let mut since = 0;
        for j in start..self.steps.len() {
            while old.front().is_some_and(|(at, _)| *at < j) {
                old.pop_front();
            }
            if let Some((at, o)) = old.front() {
                if *at == j && *o == r {
                    // Converged: the old marks and tip stand.
                    self.marks.extend(old);
                    return Ok(());
                }
            }
            if since >= SNAPSHOT_STEPS_MIN.max(r.clauses.len()) {
                self.marks.push((j, r.clone()));
                since = 0;
            }
            r.apply(&self.steps[j].step())?;
            since += 1;
        }
        self.tip = r;
        Ok(())
    }

    /// The establishing change's date, if the timeline has one.
    pub fn established(&self) -> Option<Date> {
        self.tip.established
    }

    /// Judges adding the steps of a new amendment; on success they are in the timeline.
    pub fn add<S: Store + ?Sized>(
        &mut self,
        store: &S,
        new: Vec<StepRec>,
    ) -> Result<Result<(), Conflict>, Error> {
        let Some(first) = new.first().map(StepRec::key) else {
            return Ok(Ok(()));
        };
        let at_end = self.steps.last().is_none_or(|l| l.key() < first);
        if at_end {
            // Continue the replay; a mark first when one is due.
            for s in new {
                let i = self.steps.len();
                let last_mark = self.marks.last().map_or(0, |(m, _)| *m);
                if i - last_mark >= SNAPSHOT_STEPS_MIN.max(self.tip.clauses.len()) {
                    self.marks.push((i, self.tip.clone()));
                }
                if let Err(c) = self.tip.apply(&s.step()) {
                    return Ok(Err(c));
                }
                self.steps.push(s);
            }
        } else {
            self.reach(store, &first)?;
            let i = self.steps.partition_point(|s| s.key() < first);
            let k = new.len();
            let mut settled = i;
            for s in new {
                let at = self.steps.partition_point(|x| x.key() < s.key());
                self.steps.insert(at, s);
                settled = settled.max(at + 1);
            }
            if let Err(c) = self.replay_from(i, Some((settled, k as isize))) {
                return Ok(Err(c));
            }
        }
        self.dirty = Some(self.dirty.map_or(first, |d| d.min(first)));
        Ok(Ok(()))
    }

    /// Judges removing the steps of a retracted amendment (`gone`, its steps).
    pub fn remove<S: Store + ?Sized>(
        &mut self,
        store: &S,
        gone: &[StepRec],
    ) -> Result<Result<(), Conflict>, Error> {
        let Some(first) = gone.first().map(StepRec::key) else {
            return Ok(Ok(()));
        };
        self.reach(store, &first)?;
        let i = self.steps.partition_point(|s| s.key() < first);
        let seq = gone[0].seq;
        let before = self.steps.len();
        self.steps.retain(|s| s.seq != seq);
        let last = gone.iter().map(StepRec::key).max().unwrap_or(first);
        let settled = self.steps.partition_point(|s| s.key() < last);
        let shift = self.steps.len() as isize - before as isize;
        self.dirty = Some(self.dirty.map_or(first, |d| d.min(first)));
        Ok(self.replay_from(i, Some((settled, shift))))
    }

    /// The writes that store the region again from the page holding the
    /// earliest change on; afterwards the region is clean.
    pub fn writes(&mut self, out: &mut Vec<Write>) {
        let Some(dirty) = self.dirty.take() else {
            return;
        };
        // The stored page holding `dirty` is rewritten, and every page after
        // it; with none at or before `dirty`, the whole region is.
        let pp = self.old_pages.partition_point(|k| *k <= dirty);
        let p = pp.saturating_sub(1);
        let (start, cut) = match pp {
            0 => (0, None),
            _ => {
                let k = self.old_pages[p];
                (self.steps.partition_point(|s| s.key() < k), Some(k))
            }
        };
        let before_cut = |k: &StepKey| cut.is_some_and(|c| *k < c);
        let kept_snaps: Vec<StepKey> = self.old_snaps.iter().copied().filter(before_cut).collect();
        let mut gone_snaps: Vec<StepKey> = self
            .old_snaps
            .iter()
            .copied()
            .filter(|k| !before_cut(k))
            .collect();
        let had_snapshot_at_cut = cut.is_some_and(|k| self.old_snaps.contains(&k));
        let mut gone_pages: Vec<StepKey> = self.old_pages[p.min(self.old_pages.len())..].to_vec();
        // Replays are computed only where a snapshot is written.
        let mut at: Option<(usize, Replay)> = None;
        let last_snap_index = kept_snaps
            .last()
            .map_or(0, |k| self.steps.partition_point(|s| s.key() < *k));
        let mut since = start - last_snap_index.min(start);
        let mut new_pages = Vec::new();
        let mut new_snaps = Vec::new();
        let mut i = start;
        while i < self.steps.len() {
            let key = self.steps[i].key();
            let agreement_start = i == 0 && self.base_key.is_none();
            if !agreement_start
                && ((i == start && had_snapshot_at_cut)
                    || snapshot_due(since, self.tip.clauses.len()))
            {
                let r = self.replay_at(i, &mut at);
                out.push(Write::Put(
                    keys::snapshot(&self.agreement, &key),
                    encode_snapshot(r),
                ));
                new_snaps.push(key);
                since = 0;
            }
            let end = (i + PAGE_STEPS).min(self.steps.len());
            out.push(Write::Put(
                keys::page(&self.agreement, &key),
                encode_page(&self.steps[i..end]),
            ));
            new_pages.push(key);
            since += end - i;
            i = end;
        }
        // Both lists are in key order.
        gone_pages.retain(|k| new_pages.binary_search(k).is_err());
        gone_snaps.retain(|k| new_snaps.binary_search(k).is_err());
        for k in &gone_pages {
            out.push(Write::Delete(keys::page(&self.agreement, k)));
        }
        for k in &gone_snaps {
            out.push(Write::Delete(keys::snapshot(&self.agreement, k)));
        }
        // The region as now stored.
        self.old_pages.truncate(p);
        self.old_pages.extend(new_pages);
        self.old_snaps = kept_snaps;
        self.old_snaps.extend(new_snaps);
    }

    /// The replay before step `i`: from `at` when it is before `i` and no
    /// earlier than the last mark, else from that mark (these steps were
    /// judged: they apply).
    fn replay_at<'a>(&self, i: usize, at: &'a mut Option<(usize, Replay)>) -> &'a Replay {
        let m = self.marks.partition_point(|(j, _)| *j <= i).max(1) - 1;
        let mark = self.marks[m].0;
        let (from, mut r) = match at.take() {
            Some((j, r)) if j <= i && j >= mark => (j, r),
            _ => self.marks[m].clone(),
        };
        for s in &self.steps[from..i] {
            let _ = r.apply(&s.step());
        }
        &at.insert((i, r)).1
    }
}

/// The writes that replace every stored projection (pages, snapshots,
/// retraction keys) with those recomputed from the entries, replayed in seq
/// order as one batch. For repairs and tests; it holds every timeline in
/// memory.
pub fn rebuild<S: Store + ?Sized>(store: &S) -> Result<Vec<Write>, Error> {
    let mut out = Vec::new();
    for prefix in [keys::PAGE, keys::SNAPSHOT, keys::RETRACTED] {
        for item in store.scan(&[prefix], Some(&keys::prefix_end(&[prefix]))) {
            out.push(Write::Delete(item?.0));
        }
    }
    let mut works: Works = HashMap::new();
    let mut seqs: HashMap<(AgreementId, AmendmentId), u64> = HashMap::new();
    let mut steps_by_seq: HashMap<u64, Vec<StepRec>> = HashMap::new();
    let end = keys::prefix_end(&[keys::ENTRY]);
    for item in store.scan(&[keys::ENTRY], Some(&end)) {
        let (k, v) = item?;
        let seq = keys::entry_seq(&k).ok_or_else(|| damaged("malformed entry key"))?;
        let (e, _) = crate::layout::decode_stored(seq, &v)?;
        let a = &e.amendment;
        let w = works
            .entry(a.agreement.clone())
            .or_insert_with(|| Work::at_base(&a.agreement, None, Replay::new()));
        let judged = match a.retracts() {
            Some(target) => {
                let t = seqs
                    .get(&(a.agreement.clone(), target.clone()))
                    .and_then(|t| steps_by_seq.remove(t))
                    .ok_or_else(|| {
                        damaged(format!(
                            "seq {seq} retracts an unknown or retracted amendment"
                        ))
                    })?;
                out.push(Write::Put(
                    keys::retracted(&a.agreement, target),
                    seq.to_be_bytes().to_vec(),
                ));
                w.remove(store, &t)?
            }
            None => {
                let steps = steps_of(seq, a);
                steps_by_seq.insert(seq, steps.clone());
                w.add(store, steps)?
            }
        };
        judged.map_err(|c| damaged(format!("the entries do not replay at seq {seq}: {c}")))?;
        seqs.insert((a.agreement.clone(), a.id.clone()), seq);
    }
    let mut mine = Vec::new();
    for w in works.values_mut() {
        w.writes(&mut mine);
    }
    // A put of a key deleted above replaces the delete.
    let put: std::collections::BTreeSet<Vec<u8>> = mine
        .iter()
        .filter_map(|w| match w {
            Write::Put(k, _) => Some(k.clone()),
            Write::Delete(_) => None,
        })
        .collect();
    out.retain(|w| !matches!(w, Write::Delete(k) if put.contains(k)));
    out.extend(mine);
    Ok(out)
}

fn increment(k: &mut StepKey) {
    for b in k.iter_mut().rev() {
        if *b < 0xff {
            *b += 1;
            return;
        }
        *b = 0;
    }
}

/// The works of one batch, by agreement.
pub type Works = HashMap<AgreementId, Work>;
