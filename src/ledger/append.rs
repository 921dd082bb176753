//! Append: judge each amendment against its agreement's timeline (the
//! stored projections plus the batch's earlier amendments), hash it, stage
//! the keys it implies (`layout::entry_keys`) and the projections, commit.

use std::collections::HashMap;

use crate::chain::{self, Checkpoint, Hash};
use crate::codec::{self, Entry};
use crate::error::{Error, Refusal};
use crate::layout::{self, entry_keys, keys, read_entry, stored_seq, witness_record, Head};
use crate::merkle::Frontier;
use crate::model::*;
use crate::note::{self, Keys, SigLine};
use crate::projection;
use crate::store::{Store, Write};
use crate::timeline::{Work, Works};

use crate::limits::STAGE_PART_AMENDMENTS;

use super::{
    damaged, poisoned, AppendOptions, AppendReport, Ledger, Outcome, Submission, Tip,
    CACHE_AGREEMENTS,
};

impl<S: Store> Ledger<S> {
    /// Appends a batch of amendments recorded at `now`: validates each against
    /// its agreement's whole timeline, then records all of them durably, or
    /// none. Amendments already recorded with the same content are reported,
    /// not recorded again.
    pub fn append(
        &self,
        amendments: &[Amendment],
        now: RecordedAt,
        opts: AppendOptions,
    ) -> Result<AppendReport, Error> {
        self.append_each(
            amendments.iter().cloned().map(|a| Ok(Submission::from(a))),
            now,
            opts,
        )
    }

    /// [`Ledger::append`] of amendments with the signature lines they are
    /// submitted with (product.md §8): an amendment of a signed agreement
    /// is accepted only with a valid signature by every party's key in force
    /// when it is recorded, and its lines are stored in its entry.
    pub fn append_signed(
        &self,
        batch: &[Submission],
        now: RecordedAt,
        opts: AppendOptions,
    ) -> Result<AppendReport, Error> {
        self.append_each(batch.iter().cloned().map(Ok), now, opts)
    }

    /// [`Ledger::append_signed`] of amendments as an iterator yields them (a
    /// parser reading a file, say): in a store that can stage
    /// ([`Store::can_stage`]), the batch goes to the store in parts of about
    /// [`Ledger::set_stage_part_bytes`] bytes as it is judged, so memory
    /// stays bounded whatever its size, and is still recorded all or none:
    /// an error from the iterator, a refusal or a failure undoes every part.
    pub fn append_each(
        &self,
        amendments: impl IntoIterator<Item = Result<Submission, Error>>,
        now: RecordedAt,
        opts: AppendOptions,
    ) -> Result<AppendReport, Error> {
        let mut tip = self.lock();
        if tip.poisoned {
            return Err(poisoned());
        }
        let _write = self.begin_write(&mut tip)?;
        let mut staged = false;
        let result = self.append_locked(&mut tip, amendments, now, opts, &mut staged);
        // A failed commit poisons the writer: the batch may have landed, so
        // its staged parts are not undone here; the next open decides (the
        // store's undo journal knows whether the commit was published).
        if result.is_err() && staged && !tip.poisoned {
            self.unstage(&mut tip);
        }
        poison_on_store_error(&mut tip, &result);
        result
    }

    /// Undoes the parts of a batch staged so far (a failure to undo them
    /// poisons the writer: the next open undoes them).
    fn unstage(&self, tip: &mut Tip) {
        if self.store.unstage().is_err() {
            tip.poisoned = true;
            tip.cache.clear();
        }
    }

    /// Stages a part of a batch; the judge's works are dropped (the next
    /// part reloads what it needs from the store, staged part included).
    fn stage_part(
        &self,
        judge: Judge<'_, S>,
        mut writes: Vec<Write>,
        staged: &mut bool,
    ) -> Result<(), Error> {
        drop(judge.finish(&mut writes));
        *staged = true;
        self.store.stage(writes)?;
        Ok(())
    }

    fn append_locked(
        &self,
        tip: &mut Tip,
        amendments: impl IntoIterator<Item = Result<Submission, Error>>,
        now: RecordedAt,
        opts: AppendOptions,
        staged: &mut bool,
    ) -> Result<AppendReport, Error> {
        let head = tip.head;
        let mut tree = tip.tree.clone();
        if let Some(expected) = opts.expect_head {
            if expected != head.count {
                return Err(Error::HeadMismatch {
                    expected,
                    actual: head.count,
                });
            }
        }
        if !now.in_range() {
            return Err(Error::Usage(format!(
                "the time {} µs is outside 1970-01-01T00:00:00Z … 9999-12-30T22:00:00Z",
                now.0
            )));
        }
        let recorded_at = head.recorded_at.map_or(now, |last| last.max(now));
        let staging = self.store.can_stage() && !opts.dry_run;
        let mut judge = Judge::new(&self.store);
        let mut writes: Vec<Write> = Vec::new();
        let mut part_bytes = 0usize;
        let mut outcomes = Vec::new();
        let mut next = head;
        for (index, item) in amendments.into_iter().enumerate() {
            let Submission {
                amendment,
                signatures,
            } = item?;
            let a = &amendment;
            let refuse = |change: Option<(usize, String)>, message: String| {
                Error::Refused(Refusal {
                    index,
                    agreement: a.agreement.clone(),
                    amendment: a.id.clone(),
                    change,
                    message,
                })
            };
            a.validate().map_err(|inv| {
                refuse(
                    inv.change.map(|i| (i, a.changes[i].op.describe())),
                    inv.message,
                )
            })?;
            let bytes = codec::amendment_bytes(a).map_err(|e| refuse(None, e.0))?;
            if bytes.len() > crate::limits::AMENDMENT_BYTES_MAX {
                return Err(refuse(
                    None,
                    format!(
                        "encoded amendment is {} bytes, over the limit of {} bytes",
                        bytes.len(),
                        crate::limits::AMENDMENT_BYTES_MAX
                    ),
                ));
            }
            // Idempotency: the same (agreement, id) recorded before, or earlier in this batch.
            let key = (a.agreement.clone(), a.id.clone());
            let earlier = match judge.lookup(&a.agreement, &a.id)? {
                Some((seq, earlier)) => Some((
                    seq,
                    codec::amendment_bytes(&earlier).map_err(|e| damaged(Some(seq), e.0))?,
                )),
                None => None,
            };
            if let Some((seq, original)) = earlier {
                if original == bytes {
                    outcomes.push(Outcome::Existing { seq });
                    continue;
                }
                return Err(refuse(None, format!(
                    "amendment id `{}` is already recorded (seq {seq}) with different content; give the new amendment its own id",
                    a.id
                )));
            }
            // Signatures, against the keys in force (this batch's earlier
            // establishes and rekeys included), then the timeline.
            judge
                .sign(a, &signatures)?
                .map_err(|message| refuse(None, message))?;
            let entry = Entry {
                seq: next.count,
                recorded_at,
                amendment: amendment.clone(),
                signatures,
            };
            judge
                .admit(&mut tip.cache, &entry)?
                .map_err(|(change, message)| refuse(change, message))?;
            let entry_bytes = codec::encode_entry(&entry).map_err(|e| refuse(None, e.0))?;
            // Pair assertion, always on: what we write decodes to what we
            // meant (the reader's checks, run before the write).
            if codec::decode_entry(&entry_bytes).as_ref() != Ok(&entry) {
                return Err(refuse(
                    None,
                    "the entry's encoding does not decode to itself (a bug in pactum: please report it)"
                        .to_string(),
                ));
            }
            let leaf = chain::leaf(&entry_bytes);
            let link = chain::link(&next.chain, entry.seq, &leaf);
            stage(&mut writes, &mut tree, &entry, &entry_bytes, &leaf, &link);
            part_bytes += entry_bytes
                .len()
                .max(self.stage_bytes / STAGE_PART_AMENDMENTS);
            judge.pending.insert(key, (entry.seq, entry.amendment));
            outcomes.push(Outcome::Appended {
                seq: entry.seq,
                chain: link,
            });
            next = Head {
                count: next.count + 1,
                chain: link,
                recorded_at: Some(recorded_at),
            };
            if staging && part_bytes >= self.stage_bytes {
                let done = std::mem::replace(&mut judge, Judge::new(&self.store));
                self.stage_part(done, std::mem::take(&mut writes), staged)?;
                part_bytes = 0;
            }
        }
        if !opts.dry_run && next.count != head.count {
            let works = judge.finish(&mut writes);
            self.commit(tip, writes, next, tree, works)?;
        }
        Ok(AppendReport {
            outcomes,
            head: next.checkpoint(),
            recorded_at,
        })
    }

    /// Starts a write ([`Store::begin_write`]: no other writer of this
    /// ledger, in any process, writes until it ends) and brings the writer's
    /// head up to date with what other writers committed since.
    fn begin_write(&self, tip: &mut Tip) -> Result<WriteGuard<'_, S>, Error> {
        self.store.begin_write()?;
        let guard = WriteGuard(&self.store);
        self.catch_up(tip)?;
        Ok(guard)
    }

    /// Starts a consistent read of a store other processes may write (a
    /// server holding a PostgreSQL ledger): one snapshot until the guard
    /// drops ([`Store::begin_read`]), and this ledger's head brought up to
    /// the stored one, so every answer is of the same, latest history.
    pub fn read_view(&self) -> Result<ReadGuard<'_, S>, Error> {
        self.store.begin_read()?;
        let guard = ReadGuard(&self.store);
        let mut tip = self.lock();
        if tip.poisoned {
            return Err(poisoned());
        }
        self.catch_up(&mut tip)?;
        Ok(guard)
    }

    /// Brings the writer's head up to date with what other writers
    /// committed since it last looked.
    fn catch_up(&self, tip: &mut Tip) -> Result<(), Error> {
        let stored = self
            .store
            .get(&keys::meta("head"))?
            .ok_or_else(|| damaged(None, "the head is missing"))?;
        let head =
            Head::decode(&stored).ok_or_else(|| damaged(None, "the head metadata is malformed"))?;
        if head != tip.head {
            if head.count < tip.head.count {
                return Err(damaged(
                    None,
                    format!(
                        "the stored head ({} entries) is behind this writer's ({})",
                        head.count, tip.head.count
                    ),
                ));
            }
            // Catch up with the entries other writers appended: extend the
            // Merkle frontier by their leaves and drop the cached timelines
            // of the agreements they touched (the others stay valid).
            let mut tree = tip.tree.clone();
            let mut last = tip.head.chain;
            let end = keys::entry(head.count);
            let mut n = tip.head.count;
            for item in self.store.scan(&keys::entry(tip.head.count), Some(&end)) {
                let (k, v) = item?;
                if keys::entry_seq(&k) != Some(n) {
                    return Err(damaged(Some(n), "an entry is missing or out of place"));
                }
                let (e, chain) = layout::decode_stored(n, &v)?;
                let stored = layout::StoredEntry::split(&v)
                    .ok_or_else(|| damaged(Some(n), "entry value too short"))?;
                tree.push(stored.leaf);
                tip.cache.remove(&e.amendment.agreement);
                last = chain;
                n += 1;
            }
            if n != head.count || last != head.chain {
                return Err(damaged(
                    None,
                    format!(
                        "the stored head ({} entries) does not match the entries after this writer's ({})",
                        head.count, tip.head.count
                    ),
                ));
            }
            tip.tree = tree;
            tip.head = head;
        }
        Ok(())
    }

    /// Commits staged writes with the new head (one atomic, durable batch),
    /// then the head witness; on failure the writer is poisoned.
    fn commit(
        &self,
        tip: &mut Tip,
        mut writes: Vec<Write>,
        next: Head,
        tree: Frontier,
        works: Works,
    ) -> Result<(), Error> {
        writes.push(Write::Put(keys::meta("head"), next.encode()));
        if let Err(e) = self
            .store
            .commit(writes)
            .and_then(|()| self.store.witness_put(&witness_record(&next)))
        {
            tip.poisoned = true;
            tip.cache.clear();
            return Err(e.into());
        }
        tip.head = next;
        tip.tree = tree;
        if tip.cache.len() + works.len() > CACHE_AGREEMENTS {
            tip.cache.clear();
        }
        if works.len() <= CACHE_AGREEMENTS {
            tip.cache.extend(works);
        }
        Ok(())
    }

    /// Writes already-hashed entries as they are (import): each is checked to
    /// extend the chain before anything is written. All or none.
    pub fn append_raw(&self, entries: &[(Vec<u8>, Hash)]) -> Result<Checkpoint, Error> {
        self.append_raw_each(entries.iter().map(|(b, h)| Ok((b.clone(), *h))))
    }

    /// [`Ledger::append_raw`] of entries as an iterator yields them, staged
    /// in parts like [`Ledger::append_each`]: bounded memory, all or none.
    pub fn append_raw_each(
        &self,
        entries: impl IntoIterator<Item = Result<(Vec<u8>, Hash), Error>>,
    ) -> Result<Checkpoint, Error> {
        let mut tip = self.lock();
        if tip.poisoned {
            return Err(poisoned());
        }
        let _write = self.begin_write(&mut tip)?;
        let mut staged = false;
        let result = self.append_raw_locked(&mut tip, entries, &mut staged);
        if result.is_err() && staged && !tip.poisoned {
            self.unstage(&mut tip);
        }
        poison_on_store_error(&mut tip, &result);
        result
    }

    fn append_raw_locked(
        &self,
        tip: &mut Tip,
        entries: impl IntoIterator<Item = Result<(Vec<u8>, Hash), Error>>,
        staged: &mut bool,
    ) -> Result<Checkpoint, Error> {
        let mut next = tip.head;
        let mut tree = tip.tree.clone();
        let mut writes = Vec::new();
        let mut judge = Judge::new(&self.store);
        let staging = self.store.can_stage();
        let mut part_bytes = 0usize;
        for item in entries {
            let (bytes, expected) = item?;
            let e = codec::decode_entry(&bytes).map_err(|d| damaged(Some(next.count), d.0))?;
            if e.seq != next.count {
                return Err(damaged(
                    Some(next.count),
                    format!("entry carries seq {}", e.seq),
                ));
            }
            if next.recorded_at.is_some_and(|t| e.recorded_at < t) {
                return Err(damaged(Some(e.seq), "recorded time goes backwards"));
            }
            // The same timeline rule as `append`: each entry must have been acceptable.
            let key = (e.amendment.agreement.clone(), e.amendment.id.clone());
            if judge.pending.contains_key(&key)
                || self
                    .find(&e.amendment.agreement, &e.amendment.id)?
                    .is_some()
            {
                return Err(damaged(
                    Some(e.seq),
                    format!("amendment id `{}` is recorded twice", e.amendment.id),
                ));
            }
            judge.sign(&e.amendment, &e.signatures)?.map_err(|why| {
                damaged(
                    Some(e.seq),
                    format!(
                        "amendment `{}` is not signed as it must be: {why}",
                        e.amendment.id
                    ),
                )
            })?;
            judge.admit(&mut tip.cache, &e)?.map_err(|(_, why)| {
                damaged(
                    Some(e.seq),
                    format!(
                        "amendment `{}` would not have been accepted: {why}",
                        e.amendment.id
                    ),
                )
            })?;
            let leaf = chain::leaf(&bytes);
            let link = chain::link(&next.chain, e.seq, &leaf);
            if link != expected {
                return Err(damaged(
                    Some(e.seq),
                    "the chain hash does not match (wrong origin, or a changed entry)",
                ));
            }
            stage(&mut writes, &mut tree, &e, &bytes, &leaf, &link);
            part_bytes += bytes.len().max(self.stage_bytes / STAGE_PART_AMENDMENTS);
            next = Head {
                count: e.seq + 1,
                chain: link,
                recorded_at: Some(e.recorded_at),
            };
            judge.pending.insert(key, (e.seq, e.amendment));
            if staging && part_bytes >= self.stage_bytes {
                let done = std::mem::replace(&mut judge, Judge::new(&self.store));
                self.stage_part(done, std::mem::take(&mut writes), staged)?;
                part_bytes = 0;
            }
        }
        if next.count != tip.head.count {
            let works = judge.finish(&mut writes);
            self.commit(tip, writes, next, tree, works)?;
        }
        Ok(next.checkpoint())
    }
}

/// A write the store failed (staging a part, say) poisons the writer like a
/// failed commit: what is on disk is known again only after a reopen.
fn poison_on_store_error<T>(tip: &mut Tip, result: &Result<T, Error>) {
    if matches!(result, Err(Error::Store(_))) {
        tip.poisoned = true;
        tip.cache.clear();
    }
}

/// Stages the writes of one new entry: every key it implies
/// ([`entry_keys`]), with the Merkle subtrees it completes.
fn stage(
    writes: &mut Vec<Write>,
    tree: &mut Frontier,
    e: &Entry,
    bytes: &[u8],
    leaf: &Hash,
    link: &Hash,
) {
    let nodes = tree.push(*leaf);
    for (k, v) in entry_keys(e, bytes, leaf, link, &nodes) {
        writes.push(Write::Put(k, v));
    }
}

type Why = (Option<(usize, String)>, String);

/// Judges a batch's amendments, in order, against the stored timelines plus
/// the batch's earlier amendments.
struct Judge<'s, S: Store> {
    store: &'s S,
    works: Works,
    /// Amendments of this batch so far, by (agreement, id).
    pending: HashMap<(AgreementId, AmendmentId), (u64, Amendment)>,
    /// Retractions of this batch so far: (agreement, target) → retracting id.
    retracted: HashMap<(AgreementId, AmendmentId), AmendmentId>,
    /// Keys in force of the agreements this batch touched, after its
    /// amendments so far (`None`: the agreement is not signed).
    keys: HashMap<AgreementId, Option<Keys>>,
}

impl<'s, S: Store> Judge<'s, S> {
    fn new(store: &'s S) -> Self {
        Judge {
            store,
            works: Works::new(),
            pending: HashMap::new(),
            retracted: HashMap::new(),
            keys: HashMap::new(),
        }
    }

    /// Checks `a`'s signature lines against its agreement's keys in force
    /// (`note::check_signatures`); on success the keys after it are in force
    /// for the batch's later amendments. A refusal names the parties.
    fn sign(&mut self, a: &Amendment, sigs: &[SigLine]) -> Result<Result<(), String>, Error> {
        let in_force = match self.keys.get(&a.agreement) {
            Some(k) => k.clone(),
            None => layout::keys_in_force(self.store, &a.agreement)?,
        };
        match note::check_signatures(in_force.as_ref(), a, sigs) {
            Ok(signed) => {
                self.keys.insert(a.agreement.clone(), signed.keys_after);
                Ok(Ok(()))
            }
            Err(refused) => {
                // Name a retired key's party: the likeliest mistake after a rekey.
                let mut why = format!("signatures: {refused}");
                if !refused.foreign.is_empty() {
                    for (party, key, seq) in layout::retired_keys(self.store, &a.agreement)? {
                        let k = format!("{}+{:08x}", key.name(), key.id());
                        if refused.foreign.contains(&k) {
                            why.push_str(&format!(
                                " ({k} was `{party}`'s key until the rekey at #{seq}: sign with its key in force)"
                            ));
                        }
                    }
                }
                Ok(Err(why))
            }
        }
    }

    /// The amendment recorded (or pending) as (agreement, id), with its seq.
    fn lookup(
        &self,
        agreement: &AgreementId,
        id: &AmendmentId,
    ) -> Result<Option<(u64, Amendment)>, Error> {
        if let Some((seq, a)) = self.pending.get(&(agreement.clone(), id.clone())) {
            return Ok(Some((*seq, a.clone())));
        }
        let Some(seq) = stored_seq(self.store, &keys::by_id(agreement, id), "idempotency")? else {
            return Ok(None);
        };
        let e = read_entry(self.store, seq)?
            .ok_or_else(|| damaged(Some(seq), "the idempotency key names a missing entry"))?;
        Ok(Some((seq, e.amendment)))
    }

    /// Judges a new entry; on success its steps are in its agreement's timeline.
    fn admit(&mut self, cache: &mut Works, new: &Entry) -> Result<Result<(), Why>, Error> {
        let a = &new.amendment;
        let first_change = || Some((0, a.changes[0].op.describe()));
        let gone = match a.retracts() {
            None => None,
            Some(target) => {
                let Some((seq, t)) = self.lookup(&a.agreement, target)? else {
                    return Ok(Err((
                        first_change(),
                        format!(
                            "there is no amendment `{target}` in `{}` to retract",
                            a.agreement
                        ),
                    )));
                };
                if t.is_rekey() {
                    return Ok(Err((
                        first_change(),
                        format!(
                            "`{target}` is a rekey, which cannot be retracted (keys follow recording order); record another rekey instead"
                        ),
                    )));
                }
                if t.is_retraction() {
                    return Ok(Err((
                        first_change(),
                        format!(
                            "`{target}` is itself a retraction; record the amendment again instead"
                        ),
                    )));
                }
                let key = (a.agreement.clone(), target.clone());
                let by = match self.retracted.get(&key) {
                    Some(by) => Some(by.clone()),
                    None => match stored_seq(
                        self.store,
                        &keys::retracted(&a.agreement, target),
                        "retraction",
                    )? {
                        None => None,
                        Some(seq) => {
                            let e = read_entry(self.store, seq)?.ok_or_else(|| {
                                damaged(Some(seq), "a retraction key names a missing entry")
                            })?;
                            Some(e.amendment.id)
                        }
                    },
                };
                if let Some(by) = by {
                    return Ok(Err((
                        first_change(),
                        format!("`{target}` is already retracted by `{by}`"),
                    )));
                }
                self.retracted.insert(key, a.id.clone());
                Some(layout::steps_of(seq, &t))
            }
        };
        if !self.works.contains_key(&a.agreement) {
            let w = match cache.remove(&a.agreement) {
                Some(w) => w,
                None => Work::load(self.store, &a.agreement)?,
            };
            self.works.insert(a.agreement.clone(), w);
        }
        let Some(w) = self.works.get_mut(&a.agreement) else {
            return Err(damaged(None, "a timeline went missing"));
        };
        let established = w.established();
        let judged = match &gone {
            Some(steps) => w.remove(self.store, steps)?,
            None => w.add(self.store, layout::steps_of(new.seq, a))?,
        };
        Ok(judged.map_err(|c| describe_conflict(established, new, &c)))
    }

    /// Stages the timelines' writes; returns the works, clean, for the cache.
    fn finish(mut self, writes: &mut Vec<Write>) -> Works {
        for w in self.works.values_mut() {
            w.writes(writes);
        }
        self.works
    }
}

fn describe_conflict(established: Option<Date>, new: &Entry, c: &projection::Conflict) -> Why {
    if c.amendment == new.amendment.id && c.seq == new.seq {
        let reason = match established {
            _ if !c.reason.starts_with("the agreement is not established") => c.reason.clone(),
            None => {
                return (
                    Some((c.change, c.op.clone())),
                    format!(
                    "agreement `{}` is not in the ledger: its first amendment must `establish` it",
                    new.amendment.agreement
                ),
                )
            }
            Some(d) => format!("{} (it is established on {d})", c.reason),
        };
        (
            Some((c.change, c.op.clone())),
            format!("does not apply on {}: {reason}", c.date),
        )
    } else {
        let what = if new.amendment.is_retraction() {
            "retracting it"
        } else {
            "it"
        };
        (
            None,
            format!(
                "{what} breaks the recorded timeline: change {} ({}) of amendment `{}`, effective {}, would no longer apply: {}",
                c.change + 1,
                c.op,
                c.amendment,
                c.date,
                c.reason
            ),
        )
    }
}

/// Ends a consistent read when dropped ([`Store::end_read`]).
pub struct ReadGuard<'s, S: Store>(&'s S);

impl<S: Store> Drop for ReadGuard<'_, S> {
    fn drop(&mut self) {
        self.0.end_read();
    }
}

/// Ends a write that did not commit when dropped ([`Store::end_write`]).
struct WriteGuard<'s, S: Store>(&'s S);

impl<S: Store> Drop for WriteGuard<'_, S> {
    fn drop(&mut self) {
        self.0.end_write();
    }
}
