//! Where entries live: a `Store` trait over one ordered key space, with a sled
//! implementation (the default, on disk) and an in-memory one (tests).
//!
//! The ledger writes only through [`Store::commit`], which applies a batch of
//! writes atomically and returns only once they are durable. Everything else
//! reads. The key layout (see `docs/format.md`) is defined here in [`keys`].
//!
//! ```
//! use pactum::store::{MemStore, Store, Write};
//! let s = MemStore::default();
//! s.commit(vec![Write::Put(b"k".to_vec(), b"v".to_vec())]).unwrap();
//! assert_eq!(s.get(b"k").unwrap(), Some(b"v".to_vec()));
//! ```

mod mem;
mod sled_store;

pub use mem::MemStore;
pub use sled_store::{FaultPoint, SledStore, READ_CACHE, SCAN_CACHE, WITNESS, WRITE_CACHE};

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
    /// Records, outside the key space, the head written by the last commit: a
    /// witness that lets a later open notice if the store came back with less
    /// than it acknowledged (sled silently truncates a damaged log).
    fn witness_put(&self, _head: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
    /// The witness last recorded, if the store keeps one.
    fn witness_get(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }
    /// Bytes used on disk (0 for memory).
    fn size_on_disk(&self) -> u64 {
        0
    }
}

/// The key layout: one byte of kind, then the key's parts.
pub mod keys {
    use crate::model::{AgreementId, AmendmentId};

    /// Prefix of meta keys.
    pub const META: u8 = b'm';
    /// Prefix of entries by seq.
    pub const ENTRY: u8 = b'e';
    /// Prefix of the per-agreement index.
    pub const BY_AGREEMENT: u8 = b'a';
    /// Prefix of the idempotency keys.
    pub const BY_ID: u8 = b'i';
    /// Prefix of the Merkle tree's complete subtrees (level ≥ 1).
    pub const TREE: u8 = b't';
    /// Prefix of the timeline pages (derived: see `timeline`).
    pub const PAGE: u8 = b'l';
    /// Prefix of the replay snapshots (derived: see `timeline`).
    pub const SNAPSHOT: u8 = b's';
    /// Prefix of the retraction keys: which entry retracts an amendment.
    pub const RETRACTED: u8 = b'r';

    fn of_agreement(kind: u8, agreement: &AgreementId, extra: usize) -> Vec<u8> {
        let mut k = Vec::with_capacity(agreement.as_str().len() + 2 + extra);
        k.push(kind);
        k.extend_from_slice(agreement.as_str().as_bytes());
        k.push(0);
        k
    }
    /// `l` + agreement + 0x00: the prefix of an agreement's pages.
    pub fn page_prefix(agreement: &AgreementId) -> Vec<u8> {
        of_agreement(PAGE, agreement, 16)
    }
    /// `l` + agreement + 0x00 + step key (date, seq, pos) of the page's first step.
    pub fn page(agreement: &AgreementId, step: &[u8; 16]) -> Vec<u8> {
        let mut k = page_prefix(agreement);
        k.extend_from_slice(step);
        k
    }
    /// `s` + agreement + 0x00: the prefix of an agreement's snapshots.
    pub fn snapshot_prefix(agreement: &AgreementId) -> Vec<u8> {
        of_agreement(SNAPSHOT, agreement, 16)
    }
    /// `s` + agreement + 0x00 + step key of the step the snapshot precedes.
    pub fn snapshot(agreement: &AgreementId, step: &[u8; 16]) -> Vec<u8> {
        let mut k = snapshot_prefix(agreement);
        k.extend_from_slice(step);
        k
    }
    /// Splits a page or snapshot key into (agreement, step key).
    pub fn split_projection(key: &[u8]) -> Option<(&str, [u8; 16])> {
        let rest = key.get(1..)?;
        let nul = rest.iter().position(|b| *b == 0)?;
        let name = std::str::from_utf8(&rest[..nul]).ok()?;
        Some((name, rest[nul + 1..].try_into().ok()?))
    }
    /// `r` + agreement + 0x00 + id of a retracted amendment (value: the retraction's seq).
    pub fn retracted(agreement: &AgreementId, id: &AmendmentId) -> Vec<u8> {
        let mut k = of_agreement(RETRACTED, agreement, id.as_str().len());
        k.extend_from_slice(id.as_str().as_bytes());
        k
    }

    /// `t` + level + u64_be(index): the root of leaves `[index·2^level, (index+1)·2^level)`.
    pub fn tree(level: u8, index: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(10);
        k.push(TREE);
        k.push(level);
        k.extend_from_slice(&index.to_be_bytes());
        k
    }
    /// Splits a tree key into (level, index).
    pub fn split_tree(key: &[u8]) -> Option<(u8, u64)> {
        match key {
            [TREE, level, rest @ ..] => rest
                .try_into()
                .ok()
                .map(|b| (*level, u64::from_be_bytes(b))),
            _ => None,
        }
    }

    /// `m` + name.
    pub fn meta(name: &str) -> Vec<u8> {
        let mut k = vec![META];
        k.extend_from_slice(name.as_bytes());
        k
    }
    /// `e` + u64_be(seq).
    pub fn entry(seq: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(9);
        k.push(ENTRY);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    /// The seq of an entry key.
    pub fn entry_seq(key: &[u8]) -> Option<u64> {
        match key {
            [ENTRY, rest @ ..] => rest.try_into().ok().map(u64::from_be_bytes),
            _ => None,
        }
    }
    /// `a` + agreement + 0x00 (the prefix of one agreement's index keys).
    pub fn agreement_prefix(agreement: &AgreementId) -> Vec<u8> {
        let mut k = Vec::with_capacity(agreement.as_str().len() + 10);
        k.push(BY_AGREEMENT);
        k.extend_from_slice(agreement.as_str().as_bytes());
        k.push(0);
        k
    }
    /// `a` + agreement + 0x00 + u64_be(seq).
    pub fn by_agreement(agreement: &AgreementId, seq: u64) -> Vec<u8> {
        let mut k = agreement_prefix(agreement);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    /// Splits an index key into (agreement, seq).
    pub fn split_by_agreement(key: &[u8]) -> Option<(&str, u64)> {
        let rest = key.strip_prefix(&[BY_AGREEMENT])?;
        let nul = rest.iter().position(|b| *b == 0)?;
        let name = std::str::from_utf8(&rest[..nul]).ok()?;
        let seq = u64::from_be_bytes(rest[nul + 1..].try_into().ok()?);
        Some((name, seq))
    }
    /// `i` + agreement + 0x00 + amendment id.
    pub fn by_id(agreement: &AgreementId, id: &AmendmentId) -> Vec<u8> {
        let mut k = Vec::with_capacity(agreement.as_str().len() + id.as_str().len() + 2);
        k.push(BY_ID);
        k.extend_from_slice(agreement.as_str().as_bytes());
        k.push(0);
        k.extend_from_slice(id.as_str().as_bytes());
        k
    }
    /// Splits an idempotency key into (agreement, amendment id).
    pub fn split_by_id(key: &[u8]) -> Option<(&str, &str)> {
        let rest = key.strip_prefix(&[BY_ID])?;
        let nul = rest.iter().position(|b| *b == 0)?;
        Some((
            std::str::from_utf8(&rest[..nul]).ok()?,
            std::str::from_utf8(&rest[nul + 1..]).ok()?,
        ))
    }
    /// The first key after every key starting with `prefix`.
    pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
        let mut end = prefix.to_vec();
        while let Some(last) = end.pop() {
            if last < 0xff {
                end.push(last + 1);
                return end;
            }
        }
        vec![0xff; prefix.len() + 1]
    }
}
