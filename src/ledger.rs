//! The ledger: append (validate the timeline, hash, store) and read.
//!
//! `append` takes the time as a parameter and the storage as a [`Store`], so
//! it is deterministic under test. A batch is validated amendment by amendment
//! (each against the ledger plus the batch's earlier amendments, so every
//! prefix of the chain is a valid history), then written as one atomic,
//! durable commit, or not at all.
//!
//! ```
//! use pactum::{Ledger, store::MemStore, model::RecordedAt};
//! let ledger = Ledger::create(MemStore::default(), [7; 16]).unwrap();
//! let amendment = pactum::input::parse_str("x.json", r#"{"agreement":"a","id":"one","title":"Start",
//!     "effective":"2024-01-01","change":[{"op":"establish","title":"A","parties":[{"id":"p","name":"P"}]}]}"#)
//!     .unwrap();
//! let report = ledger.append(&amendment, RecordedAt(0), Default::default()).unwrap();
//! assert_eq!(report.head.count, 1);
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::chain::{self, Checkpoint, CheckpointText, Hash, Origin};
use crate::codec::{self, Entry};
use crate::error::{Error, Refusal};
use crate::merkle::{self, Frontier};
use crate::model::*;
use crate::projection;
use crate::store::{keys, Store, Write};
use crate::timeline::{self, Work, Works};

/// The layout version of the key space (meta key `format`).
pub const LAYOUT_VERSION: u8 = 2;

use crate::limits::WRITER_CACHED_AGREEMENTS_MAX as CACHE_AGREEMENTS;

/// The ledger's head: entry count, chain hash after the last entry, its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Entries recorded.
    pub count: u64,
    /// Chain hash after the last entry (genesis when empty).
    pub chain: Hash,
    /// Recorded time of the last entry.
    pub recorded_at: Option<RecordedAt>,
}

impl Head {
    /// The checkpoint `N:HASH`.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            count: self.count,
            hash: self.chain,
        }
    }

    /// Stored form: u64_be count ‖ chain ‖ i64_be recorded_at (or 0 bytes when empty).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48);
        v.extend_from_slice(&self.count.to_be_bytes());
        v.extend_from_slice(&self.chain);
        if let Some(t) = self.recorded_at {
            v.extend_from_slice(&t.0.to_be_bytes());
        }
        v
    }

    /// Parses the stored form.
    pub fn decode(b: &[u8]) -> Option<Head> {
        if b.len() != 40 && b.len() != 48 {
            return None;
        }
        let count = u64::from_be_bytes(b[0..8].try_into().ok()?);
        let chain: Hash = b[8..40].try_into().ok()?;
        let recorded_at = if b.len() == 48 {
            Some(RecordedAt(i64::from_be_bytes(b[40..48].try_into().ok()?)))
        } else {
            None
        };
        if (count == 0) != recorded_at.is_none() {
            return None;
        }
        Some(Head {
            count,
            chain,
            recorded_at,
        })
    }
}

/// What the writer holds: the head, the Merkle tree's right edge, and the
/// timelines of recently written agreements (as stored after the last commit).
#[derive(Debug)]
struct Tip {
    head: Head,
    tree: Frontier,
    /// A commit failed: what is on disk is unknown until the ledger is reopened.
    poisoned: bool,
    cache: Works,
}

/// The Merkle tree's nodes in a store: leaves from the entry values, complete
/// subtrees (level ≥ 1) from the `t` keys.
pub struct StoreNodes<'a, S: Store + ?Sized>(pub &'a S);

impl<S: Store + ?Sized> merkle::Nodes for StoreNodes<'_, S> {
    type Error = Error;
    fn hash(&self, level: u8, index: u64) -> Result<Hash, Error> {
        if level == 0 {
            let v = self
                .0
                .get(&keys::entry(index))?
                .ok_or_else(|| damaged(Some(index), "the entry is missing"))?;
            return Ok(StoredEntry::split(&v)
                .ok_or_else(|| damaged(Some(index), "entry value too short"))?
                .leaf);
        }
        let v = self
            .0
            .get(&keys::tree(level, index))?
            .ok_or_else(|| damaged(None, format!("the Merkle node {level}/{index} is missing")))?;
        v.try_into().map_err(|_| {
            damaged(
                None,
                format!("the Merkle node {level}/{index} is not 32 bytes"),
            )
        })
    }
}

/// A stored entry value: `entry_bytes ‖ leaf (32) ‖ chain (32)`.
pub struct StoredEntry<'a> {
    /// The entry's exact bytes.
    pub bytes: &'a [u8],
    /// Its stored leaf hash.
    pub leaf: Hash,
    /// Its stored chain hash.
    pub chain: Hash,
}

impl<'a> StoredEntry<'a> {
    /// Splits a stored value.
    pub fn split(value: &'a [u8]) -> Option<StoredEntry<'a>> {
        let n = value.len().checked_sub(64)?;
        if n == 0 {
            return None;
        }
        Some(StoredEntry {
            bytes: &value[..n],
            leaf: value[n..n + 32].try_into().ok()?,
            chain: value[n + 32..].try_into().ok()?,
        })
    }

    /// Joins the parts into a stored value.
    pub fn join(bytes: &[u8], leaf: &Hash, chain: &Hash) -> Vec<u8> {
        let mut v = Vec::with_capacity(bytes.len() + 64);
        v.extend_from_slice(bytes);
        v.extend_from_slice(leaf);
        v.extend_from_slice(chain);
        v
    }
}

/// Options of [`Ledger::append`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AppendOptions {
    /// Validate only; write nothing.
    pub dry_run: bool,
    /// Refuse unless the ledger holds exactly this many entries.
    pub expect_head: Option<u64>,
}

/// What happened to one amendment of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded as a new entry.
    Appended {
        /// Its seq.
        seq: u64,
        /// Chain hash after it.
        chain: Hash,
    },
    /// Already recorded with the same content: nothing written.
    Existing {
        /// Seq of the original entry.
        seq: u64,
    },
}

/// The result of an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendReport {
    /// One outcome per amendment given, in order.
    pub outcomes: Vec<Outcome>,
    /// The head after the append (what it would be, on a dry run).
    pub head: Checkpoint,
    /// The recorded time given to new entries.
    pub recorded_at: RecordedAt,
}

/// The ledger over a store.
pub struct Ledger<S: Store> {
    store: S,
    origin: Origin,
    tip: Mutex<Tip>,
}

impl<S: Store> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("origin", &chain::hex(&self.origin))
            .finish()
    }
}

fn damaged(seq: Option<u64>, detail: impl Into<String>) -> Error {
    Error::Damaged {
        seq,
        detail: detail.into(),
    }
}

/// Reads the origin of a store's ledger, or `None` when the store holds none.
pub fn read_origin<S: Store>(store: &S) -> Result<Option<Origin>, Error> {
    let Some(format) = store.get(&keys::meta("format"))? else {
        return Ok(None);
    };
    if format != [LAYOUT_VERSION] {
        return Err(damaged(None, format!(
            "ledger layout version {format:?} is not known (this pactum reads version {LAYOUT_VERSION})"
        )));
    }
    let origin = store
        .get(&keys::meta("origin"))?
        .ok_or_else(|| damaged(None, "the origin is missing"))?;
    let origin: Origin = origin
        .try_into()
        .map_err(|_| damaged(None, "the origin is not 16 bytes"))?;
    Ok(Some(origin))
}

impl<S: Store> Ledger<S> {
    /// Creates a new, empty ledger in an empty store, with its origin.
    pub fn create(store: S, origin: Origin) -> Result<Ledger<S>, Error> {
        if store.get(&keys::meta("format"))?.is_some() || store.scan(&[], None).next().is_some() {
            return Err(Error::Usage(
                "the store already holds data; open it instead".into(),
            ));
        }
        if let Some(w) = store.witness_get()? {
            let count = Head::decode(&w).map_or("some".to_string(), |h| h.count.to_string());
            return Err(damaged(
                None,
                format!("this place held a ledger of {count} entries (its head witness remains), but its storage holds none: sled's files were lost or damaged"),
            ));
        }
        let head = Head {
            count: 0,
            chain: chain::genesis(&origin),
            recorded_at: None,
        };
        store.commit(vec![
            Write::Put(keys::meta("format"), vec![LAYOUT_VERSION]),
            Write::Put(keys::meta("origin"), origin.to_vec()),
            Write::Put(keys::meta("head"), head.encode()),
        ])?;
        store.witness_put(&head.encode())?;
        Ok(Ledger {
            store,
            origin,
            tip: Mutex::new(Tip {
                head,
                tree: Frontier::default(),
                poisoned: false,
                cache: Works::new(),
            }),
        })
    }

    /// Opens the ledger in a store: checks the layout version, and that the
    /// head metadata matches the last entry.
    pub fn open(store: S) -> Result<Ledger<S>, Error> {
        let origin = read_origin(&store)?
            .ok_or_else(|| damaged(None, "the store holds no ledger (no format key)"))?;
        let head_bytes = store
            .get(&keys::meta("head"))?
            .ok_or_else(|| damaged(None, "the head is missing"))?;
        let head = Head::decode(&head_bytes)
            .ok_or_else(|| damaged(None, "the head metadata is malformed"))?;
        let start = keys::entry(0);
        let end = keys::prefix_end(&[keys::ENTRY]);
        match store.last_in(&start, &end)? {
            None if head.count == 0 => {
                if head.chain != chain::genesis(&origin) {
                    return Err(damaged(
                        None,
                        "the head of the empty ledger is not its genesis hash",
                    ));
                }
            }
            None => {
                return Err(damaged(
                    None,
                    format!("the head says {} entries, but there are none", head.count),
                ))
            }
            Some((k, v)) => {
                let seq =
                    keys::entry_seq(&k).ok_or_else(|| damaged(None, "malformed entry key"))?;
                let stored = StoredEntry::split(&v)
                    .ok_or_else(|| damaged(Some(seq), "entry value too short"))?;
                let last_time = decode_stored(seq, &v)?.0.recorded_at;
                if seq + 1 != head.count
                    || stored.chain != head.chain
                    || head.recorded_at != Some(last_time)
                {
                    return Err(damaged(
                        Some(seq),
                        format!(
                            "the head ({} entries) does not match the last entry (seq {seq})",
                            head.count
                        ),
                    ));
                }
            }
        }
        check_witness(&store, &head)?;
        let tree = Frontier::at(&StoreNodes(&store), head.count)?;
        Ok(Ledger {
            store,
            origin,
            tip: Mutex::new(Tip {
                head,
                tree,
                poisoned: false,
                cache: Works::new(),
            }),
        })
    }

    /// Opens the ledger in `store`, creating it (with `origin()`) when the store is empty.
    pub fn open_or_create(store: S, origin: impl FnOnce() -> Origin) -> Result<Ledger<S>, Error> {
        if read_origin(&store)?.is_some() {
            Ledger::open(store)
        } else {
            Ledger::create(store, origin())
        }
    }

    /// The store underneath, giving up the ledger (to reopen it, say).
    pub fn into_store(self) -> S {
        self.store
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The ledger's origin.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    fn lock(&self) -> MutexGuard<'_, Tip> {
        self.tip.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The head.
    pub fn head(&self) -> Head {
        self.lock().head
    }

    /// The checkpoint text (C2SP shape) of the ledger as it stands.
    pub fn checkpoint_text(&self) -> CheckpointText {
        let tip = self.lock();
        CheckpointText {
            origin: CheckpointText::origin_line(&self.origin),
            size: tip.head.count,
            root: tip.tree.root(),
            chain: tip.head.chain,
        }
    }

    /// The checkpoint text of the ledger as it stood after `size` entries.
    pub fn checkpoint_text_at(&self, size: u64) -> Result<CheckpointText, Error> {
        let count = self.head().count;
        if size > count {
            return Err(Error::Usage(format!(
                "the ledger holds {count} entries, fewer than {size}"
            )));
        }
        let chain = match size.checked_sub(1) {
            None => chain::genesis(&self.origin),
            Some(last) => self
                .entry_hash(last)?
                .ok_or_else(|| damaged(Some(last), "the entry is missing"))?,
        };
        Ok(CheckpointText {
            origin: CheckpointText::origin_line(&self.origin),
            size,
            root: merkle::root(&StoreNodes(&self.store), size)?,
            chain,
        })
    }

    /// The inclusion proof of entry `seq` in the tree of the first `size` entries.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, Error> {
        let count = self.head().count;
        if size > count {
            return Err(Error::Usage(format!(
                "the ledger holds {count} entries, fewer than {size}"
            )));
        }
        merkle::inclusion_proof(&StoreNodes(&self.store), seq, size).map_err(proof_error)
    }

    /// The consistency proof between the trees of `old` and `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, Error> {
        if new > self.head().count {
            return Err(Error::Usage(format!(
                "the ledger holds {} entries, fewer than {new}",
                self.head().count
            )));
        }
        merkle::consistency_proof(&StoreNodes(&self.store), old, new).map_err(proof_error)
    }

    /// Reads and decodes the entry at `seq` (checking its leaf).
    pub fn entry(&self, seq: u64) -> Result<Option<Entry>, Error> {
        read_entry(&self.store, seq)
    }

    /// The chain hash stored with the entry at `seq`.
    pub fn entry_hash(&self, seq: u64) -> Result<Option<Hash>, Error> {
        let Some(v) = self.store.get(&keys::entry(seq))? else {
            return Ok(None);
        };
        Ok(Some(
            StoredEntry::split(&v)
                .ok_or_else(|| damaged(Some(seq), "entry value too short"))?
                .chain,
        ))
    }

    /// Every entry from `from` on, in seq order, with its stored chain hash.
    pub fn entries(&self, from: u64) -> impl Iterator<Item = Result<(Entry, Hash), Error>> + '_ {
        let end = keys::prefix_end(&[keys::ENTRY]);
        self.store.scan(&keys::entry(from), Some(&end)).map(|r| {
            let (k, v) = r?;
            let seq = keys::entry_seq(&k).ok_or_else(|| damaged(None, "malformed entry key"))?;
            decode_stored(seq, &v)
        })
    }

    /// The seqs of an agreement's entries, in order.
    pub fn agreement_seqs(&self, agreement: &AgreementId) -> Result<Vec<u64>, Error> {
        let prefix = keys::agreement_prefix(agreement);
        let end = keys::prefix_end(&prefix);
        self.store
            .scan(&prefix, Some(&end))
            .map(|r| {
                let (k, _) = r?;
                keys::split_by_agreement(&k)
                    .map(|(_, s)| s)
                    .ok_or_else(|| damaged(None, "malformed index key"))
            })
            .collect()
    }

    /// An agreement's entries, in seq order.
    pub fn agreement_entries(&self, agreement: &AgreementId) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::new();
        for seq in self.agreement_seqs(agreement)? {
            let e = self
                .entry(seq)?
                .ok_or_else(|| damaged(Some(seq), "the index names a missing entry"))?;
            if e.amendment.agreement != *agreement {
                return Err(damaged(
                    Some(seq),
                    format!("the index of `{agreement}` names an entry of another agreement"),
                ));
            }
            out.push(e);
        }
        Ok(out)
    }

    /// What `agreement` said on `at`, as known at `known`. As known now, it
    /// is read from the stored projections (a snapshot and the steps after
    /// it up to `at`: the cost does not grow with the agreement's length);
    /// as known at an earlier moment, it is replayed from the agreement's
    /// entries.
    pub fn state(
        &self,
        agreement: &AgreementId,
        at: Date,
        known: projection::KnownAt,
    ) -> Result<projection::State, Error> {
        if known == projection::KnownAt::All {
            return timeline::state(&self.store, agreement, at);
        }
        let entries = self.agreement_entries(agreement)?;
        Ok(projection::state(agreement, &entries, at, known)?)
    }

    /// Every agreement id in the ledger, in order.
    pub fn agreements(&self) -> Result<Vec<AgreementId>, Error> {
        let mut out: Vec<AgreementId> = Vec::new();
        let start = [keys::BY_AGREEMENT];
        let end = keys::prefix_end(&start);
        let mut scan = self.store.scan(&start, Some(&end));
        while let Some(r) = scan.next() {
            let (k, _) = r?;
            let (name, _) =
                keys::split_by_agreement(&k).ok_or_else(|| damaged(None, "malformed index key"))?;
            let id = AgreementId::new(name).map_err(|e| damaged(None, e))?;
            // Skip the rest of this agreement's keys.
            let next = keys::prefix_end(&keys::agreement_prefix(&id));
            out.push(id);
            drop(scan);
            scan = self.store.scan(&next, Some(&end));
        }
        Ok(out)
    }

    /// The seq of the entry recording (agreement, id), if any.
    pub fn find(&self, agreement: &AgreementId, id: &AmendmentId) -> Result<Option<u64>, Error> {
        stored_seq(&self.store, &keys::by_id(agreement, id), "idempotency")
    }

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
        let mut tip = self.lock();
        if tip.poisoned {
            return Err(poisoned());
        }
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
                "the time {} µs is outside years 1970–9999",
                now.0
            )));
        }
        let recorded_at = head.recorded_at.map_or(now, |last| last.max(now));
        let mut judge = Judge::new(&self.store);
        let mut writes: Vec<Write> = Vec::with_capacity(amendments.len() * 3 + 1);
        let mut outcomes = Vec::with_capacity(amendments.len());
        let mut next = head;
        for (index, a) in amendments.iter().enumerate() {
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
            // Timeline validation.
            let entry = Entry {
                seq: next.count,
                recorded_at,
                amendment: a.clone(),
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
        }
        if !opts.dry_run && next.count != head.count {
            let works = judge.finish(&mut writes);
            self.commit(&mut tip, writes, next, tree, works)?;
        }
        Ok(AppendReport {
            outcomes,
            head: next.checkpoint(),
            recorded_at,
        })
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
            .and_then(|()| self.store.witness_put(&next.encode()))
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
        let mut tip = self.lock();
        if tip.poisoned {
            return Err(poisoned());
        }
        let mut next = tip.head;
        let mut tree = tip.tree.clone();
        let mut writes = Vec::with_capacity(entries.len() * 4 + 1);
        let mut judge = Judge::new(&self.store);
        for (bytes, expected) in entries {
            let e = codec::decode_entry(bytes).map_err(|d| damaged(Some(next.count), d.0))?;
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
            judge.admit(&mut tip.cache, &e)?.map_err(|(_, why)| {
                damaged(
                    Some(e.seq),
                    format!(
                        "amendment `{}` would not have been accepted: {why}",
                        e.amendment.id
                    ),
                )
            })?;
            let leaf = chain::leaf(bytes);
            let link = chain::link(&next.chain, e.seq, &leaf);
            if &link != expected {
                return Err(damaged(
                    Some(e.seq),
                    "the chain hash does not match (wrong origin, or a changed entry)",
                ));
            }
            stage(&mut writes, &mut tree, &e, bytes, &leaf, &link);
            next = Head {
                count: e.seq + 1,
                chain: link,
                recorded_at: Some(e.recorded_at),
            };
            judge.pending.insert(key, (e.seq, e.amendment));
        }
        if next.count != tip.head.count {
            let works = judge.finish(&mut writes);
            self.commit(&mut tip, writes, next, tree, works)?;
        }
        Ok(next.checkpoint())
    }
}

/// Stages the writes of one new entry: the entry with its hashes, its index
/// and idempotency keys, and the Merkle subtrees it completes.
fn stage(
    writes: &mut Vec<Write>,
    tree: &mut Frontier,
    e: &Entry,
    bytes: &[u8],
    leaf: &Hash,
    link: &Hash,
) {
    let a = &e.amendment;
    writes.push(Write::Put(
        keys::entry(e.seq),
        StoredEntry::join(bytes, leaf, link),
    ));
    writes.push(Write::Put(
        keys::by_agreement(&a.agreement, e.seq),
        Vec::new(),
    ));
    writes.push(Write::Put(
        keys::by_id(&a.agreement, &a.id),
        e.seq.to_be_bytes().to_vec(),
    ));
    if let Some(target) = a.retracts() {
        writes.push(Write::Put(
            keys::retracted(&a.agreement, target),
            e.seq.to_be_bytes().to_vec(),
        ));
    }
    for (level, i, h) in tree.push(*leaf) {
        writes.push(Write::Put(keys::tree(level, i), h.to_vec()));
    }
}

/// Splits, checks the leaf of, and decodes a stored entry value.
pub fn decode_stored(seq: u64, value: &[u8]) -> Result<(Entry, Hash), Error> {
    let stored =
        StoredEntry::split(value).ok_or_else(|| damaged(Some(seq), "entry value too short"))?;
    if chain::leaf(stored.bytes) != stored.leaf {
        return Err(damaged(
            Some(seq),
            "the entry's bytes do not match its leaf hash",
        ));
    }
    let e = codec::decode_entry(stored.bytes).map_err(|d| damaged(Some(seq), d.0))?;
    if e.seq != seq {
        return Err(damaged(
            Some(seq),
            format!("the entry stored at seq {seq} says seq {}", e.seq),
        ));
    }
    Ok((e, stored.chain))
}

/// Why an amendment is refused: the change at fault (index, description), and the message.
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
}

impl<'s, S: Store> Judge<'s, S> {
    fn new(store: &'s S) -> Self {
        Judge {
            store,
            works: Works::new(),
            pending: HashMap::new(),
            retracted: HashMap::new(),
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
                Some(timeline::steps_of(seq, &t))
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
            None => w.add(self.store, timeline::steps_of(new.seq, a))?,
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

/// Reads and decodes the entry at `seq` of a store.
/// The seq a key holds as its value (`u64_be`), if the key is stored.
fn stored_seq<S: Store + ?Sized>(store: &S, key: &[u8], what: &str) -> Result<Option<u64>, Error> {
    match store.get(key)? {
        None => Ok(None),
        Some(v) => {
            Ok(Some(u64::from_be_bytes(v.as_slice().try_into().map_err(
                |_| damaged(None, format!("malformed {what} value")),
            )?)))
        }
    }
}

fn read_entry<S: Store + ?Sized>(store: &S, seq: u64) -> Result<Option<Entry>, Error> {
    match store.get(&keys::entry(seq))? {
        None => Ok(None),
        Some(v) => decode_stored(seq, &v).map(|(e, _)| Some(e)),
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

fn proof_error(e: merkle::ProofError<Error>) -> Error {
    match e {
        merkle::ProofError::Invalid(m) => Error::Usage(m),
        merkle::ProofError::Source(e) => e,
    }
}

fn poisoned() -> Error {
    Error::Usage("an earlier write to this ledger failed: reopen it before writing again".into())
}

/// Compares the store's head with the witness of the last acknowledged write.
/// A witness behind the head is normal (a crash between commit and witness);
/// a witness ahead of it means the store lost acknowledged entries.
pub fn check_witness<S: Store + ?Sized>(store: &S, head: &Head) -> Result<(), Error> {
    let Some(bytes) = store.witness_get()? else {
        return Ok(());
    };
    let Some(w) = Head::decode(&bytes) else {
        return Err(damaged(
            None,
            "the head witness file (pactum.head) is malformed",
        ));
    };
    if w.count > head.count || (w.count == head.count && w.chain != head.chain) {
        return Err(damaged(None, {
            let (stored, acked) = chain::short_pair(&head.chain, &w.chain);
            format!(
                    "the storage returned {} entries ending {stored}, but {} entries ending {acked} were acknowledged: sled's files were truncated or damaged",
                    head.count, w.count
                )
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::store::{MemStore, Scan, StoreError};

    /// A store whose commits fail while `fail` is set (after applying the writes,
    /// like a failed fsync: the caller cannot know what is on disk).
    #[derive(Default)]
    struct Flaky {
        inner: MemStore,
        fail: AtomicBool,
    }

    impl Store for Flaky {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
            self.inner.get(key)
        }
        fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_> {
            self.inner.scan(start, end)
        }
        fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
            self.inner.commit(writes)?;
            if self.fail.load(Ordering::SeqCst) {
                return Err(StoreError::Io("injected fsync failure".into()));
            }
            Ok(())
        }
    }

    fn amendment(id: &str, first: bool) -> Amendment {
        let change = if first {
            r#"{"op":"establish","title":"A","parties":[{"id":"p","name":"P"}]}"#.to_string()
        } else {
            format!(r#"{{"op":"add","clause":"c-{id}","text":"t"}}"#)
        };
        let text = format!(
            r#"{{"agreement":"a","id":"{id}","title":"T","effective":"2024-01-01","change":[{change}]}}"#
        );
        crate::input::parse_str("x.json", &text)
            .expect("amendment")
            .remove(0)
    }

    #[test]
    fn a_failed_commit_poisons_the_writer_until_reopened() {
        let ledger = Ledger::create(Flaky::default(), [1; 16]).expect("create");
        ledger
            .append(
                &[amendment("one", true)],
                RecordedAt(1),
                AppendOptions::default(),
            )
            .expect("first");
        ledger.store().fail.store(true, Ordering::SeqCst);
        assert!(ledger
            .append(
                &[amendment("two", false)],
                RecordedAt(2),
                AppendOptions::default()
            )
            .is_err());
        ledger.store().fail.store(false, Ordering::SeqCst);
        // The writes did land, but this writer's head is stale: it must not write seq 1 again.
        let err = ledger
            .append(
                &[amendment("three", false)],
                RecordedAt(3),
                AppendOptions::default(),
            )
            .expect_err("poisoned");
        assert!(err.to_string().contains("reopen"), "{err}");
        let reopened = Ledger::open(ledger.store).expect("reopen");
        assert_eq!(reopened.head().count, 2);
        reopened
            .append(
                &[amendment("three", false)],
                RecordedAt(3),
                AppendOptions::default(),
            )
            .expect("after reopen");
        assert!(
            crate::audit::audit_store(reopened.store(), None, &mut |_| {})
                .expect("audit")
                .ok
        );
    }
}
