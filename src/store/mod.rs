//! Where entries live: a `Store` trait over one ordered key space, with a sled
//! implementation (the default, on disk) and an in-memory one (tests).
//!
//! The ledger writes only through [`Store::commit`], which applies a batch of
//! writes atomically and returns only once they are durable. Everything else
//! reads. The store knows nothing of what the keys mean: the key layout is
//! `crate::layout`'s (see `docs/format.md`).
//!
//! ```
//! use pactum::store::{MemStore, Store, Write};
//! let s = MemStore::default();
//! s.commit(vec![Write::Put(b"k".to_vec(), b"v".to_vec())]).unwrap();
//! assert_eq!(s.get(b"k").unwrap(), Some(b"v".to_vec()));
//! ```

mod any;
pub mod entry_log;
mod mem;
pub mod postgres;
mod sled_store;
mod undo;

pub use any::AnyStore;
pub use mem::MemStore;
pub use postgres::PgStore;
pub use sled_store::{FaultPoint, SledStore, READ_CACHE, SCAN_CACHE, WITNESS, WRITE_CACHE};
pub use undo::UNDO_FILE;

/// A failure of the storage underneath.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the ledger.
    #[error("the ledger {path} is in use by another process")]
    Busy {
        /// The ledger's path.
        path: String,
    },
    /// An I/O or storage engine failure.
    #[error("{0}")]
    Io(String),
    /// The storage engine cannot open the database: its files are damaged.
    #[error("{0}")]
    Damaged(String),
}

/// One write of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Set key to value.
    Put(Vec<u8>, Vec<u8>),
    /// Remove key.
    Delete(Vec<u8>),
}

/// A key/value pair read from the store.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Items of a scan.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<Pair, StoreError>> + 'a>;

/// An ordered key space with atomic, durable batch commits.
pub trait Store: Send + Sync {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Pairs with `start <= key < end` (no end: to the last key), in key order.
    fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_>;
    /// The last pair with `start <= key < end`.
    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<Pair>, StoreError> {
        let mut last = None;
        for p in self.scan(start, Some(end)) {
            last = Some(p?);
        }
        Ok(last)
    }
    /// Applies all writes atomically (all or none survive a crash) and returns
    /// only when they are durable.
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Records, outside the key space, a small record (at most 64 bytes) in
    /// place of the previous one: the ledger keeps there the witness of the
    /// head written by the last commit (`layout::witness_record`), which lets
    /// a later open notice if the store came back with less than it
    /// acknowledged (sled silently truncates a damaged log).
    fn witness_put(&self, _record: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
    /// The bytes of the witness last recorded, as they are, if the store keeps one.
    fn witness_get(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    /// Starts a write: from here to [`Store::commit`] (or
    /// [`Store::end_write`]) no other writer of this ledger, in any process,
    /// writes. A store that one process holds at a time needs nothing.
    fn begin_write(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Ends a write that did not commit (a refusal, a dry run), releasing
    /// what [`Store::begin_write`] took.
    fn end_write(&self) {}
    /// Starts a consistent read for a long-lived holder of a store that
    /// other processes write (a server on PostgreSQL): until the matching
    /// [`Store::end_read`], reads come from one snapshot. Reads may nest
    /// (concurrent requests); the snapshot ends with the last.
    fn begin_read(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Ends what [`Store::begin_read`] started.
    fn end_read(&self) {}
    /// Whether [`Store::stage`] can take part of a batch ahead of its commit.
    fn can_stage(&self) -> bool {
        false
    }
    /// Applies writes provisionally, ahead of the [`Store::commit`] that
    /// ends the batch: they read back at once through this store value,
    /// but become the store's only with that commit, all or nothing. Until
    /// then [`Store::unstage`], or any later open of the store after a
    /// kill, undoes them. Lets a writer hold a batch of any size in
    /// bounded memory. Only when [`Store::can_stage`].
    fn stage(&self, _writes: Vec<Write>) -> Result<(), StoreError> {
        Err(StoreError::Io("this store cannot stage writes".into()))
    }
    /// Undoes every write staged since the last commit.
    fn unstage(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Bytes used on disk (0 for memory).
    fn size_on_disk(&self) -> u64 {
        0
    }
}
