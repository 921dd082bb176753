//! The ledger: open or create, append (validate the timeline, hash, store:
//! `append.rs`) and read (`read.rs`). The bytes it writes are `crate::layout`'s.
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

use std::sync::{Mutex, MutexGuard};

use crate::chain::{self, Checkpoint, Hash, Origin};
use crate::error::Error;
use crate::layout::{
    check_witness, decode_stored, keys, read_origin, read_witness, witness_record, StoreNodes,
    StoredEntry, Witness,
};
use crate::merkle::Frontier;
use crate::model::*;
use crate::store::{Store, Write};
use crate::timeline::Works;

mod append;
mod read;

pub use crate::layout::{Head, LAYOUT_VERSION};

use crate::limits::WRITER_CACHED_AGREEMENTS_MAX as CACHE_AGREEMENTS;

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

/// Options of [`Ledger::append`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AppendOptions {
    /// Validate only; write nothing.
    pub dry_run: bool,
    /// Refuse unless the ledger holds exactly this many entries.
    pub expect_head: Option<u64>,
}

/// An amendment with the signature lines it is submitted with
/// ([`Ledger::append_signed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// The amendment.
    pub amendment: Amendment,
    /// Its signature lines (product.md §8), in the order given.
    pub signatures: Vec<crate::note::SigLine>,
}

impl From<Amendment> for Submission {
    fn from(amendment: Amendment) -> Submission {
        Submission {
            amendment,
            signatures: Vec::new(),
        }
    }
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
    /// Entry bytes of a batch staged at a time ([`Store::stage`]).
    stage_bytes: usize,
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

impl<S: Store> Ledger<S> {
    /// Creates a new, empty ledger in an empty store, with its origin.
    pub fn create(store: S, origin: Origin) -> Result<Ledger<S>, Error> {
        if store.get(&keys::meta("format"))?.is_some() || store.scan(&[], None).next().is_some() {
            return Err(Error::Usage(
                "the store already holds data; open it instead".into(),
            ));
        }
        let count = match read_witness(store.witness_get()?.as_deref()) {
            Witness::None => None,
            Witness::Head(h) => Some(h.count.to_string()),
            Witness::Malformed => Some("some".to_string()),
        };
        if let Some(count) = count {
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
        store.witness_put(&witness_record(&head))?;
        Ok(Ledger {
            store,
            origin,
            tip: Mutex::new(Tip {
                head,
                tree: Frontier::default(),
                poisoned: false,
                cache: Works::new(),
            }),
            stage_bytes: crate::limits::STAGE_PART_BYTES,
        })
    }

    /// Opens the ledger in a store: checks the layout version, and that the
    /// head metadata matches the last entry.
    pub fn open(store: S) -> Result<Ledger<S>, Error> {
        // Under the write lock, so that the reads below see one state even
        // while writers in other processes append (a no-op for a store one
        // process holds, and for a reader's snapshot).
        store.begin_write()?;
        let opened = Ledger::open_locked(&store);
        store.end_write();
        let (origin, head, tree) = opened?;
        Ok(Ledger {
            store,
            origin,
            tip: Mutex::new(Tip {
                head,
                tree,
                poisoned: false,
                cache: Works::new(),
            }),
            stage_bytes: crate::limits::STAGE_PART_BYTES,
        })
    }

    fn open_locked(store: &S) -> Result<(Origin, Head, Frontier), Error> {
        let origin = read_origin(store)?
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
        check_witness(store, &head)?;
        crate::layout::upgrade(store)?;
        let tree = Frontier::at(&StoreNodes(store), head.count)?;
        Ok((origin, head, tree))
    }

    /// Opens the ledger in `store`, creating it (with `origin()`) when the store is empty.
    /// Creation holds the store's write lock, so writers in other processes
    /// creating the same ledger at once make one ledger, not two origins.
    pub fn open_or_create(store: S, origin: impl FnOnce() -> Origin) -> Result<Ledger<S>, Error> {
        store.begin_write()?;
        let exists = read_origin(&store);
        if !matches!(exists, Ok(None)) {
            store.end_write();
            exists?;
            return Ledger::open(store);
        }
        // `create` commits, which ends the write; if it fails first, the
        // store is dropped with the error, which ends it too.
        Ledger::create(store, origin())
    }

    /// Sets how many bytes of entries a large batch stages at a time in a
    /// store that can stage ([`Store::can_stage`]); the default is
    /// [`crate::limits::STAGE_PART_BYTES`]. Smaller parts bound memory
    /// tighter; tests use tiny ones to stage small batches.
    pub fn set_stage_part_bytes(&mut self, bytes: usize) {
        self.stage_bytes = bytes.max(1);
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
}

fn poisoned() -> Error {
    Error::Usage("an earlier write to this ledger failed: reopen it before writing again".into())
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
