//! [`AnyStore`]: the store a `--ledger` names, a sled folder or a
//! PostgreSQL URL, behind one type so that every command works on either.

use super::{PgStore, Scan, SledStore, Store, StoreError, Write};

/// A sled ledger or a PostgreSQL one.
// One per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnyStore {
    /// A folder of sled's files.
    Sled(SledStore),
    /// A schema in a PostgreSQL database.
    Pg(PgStore),
}

impl Store for AnyStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            AnyStore::Sled(s) => s.get(key),
            AnyStore::Pg(s) => s.get(key),
        }
    }
    fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_> {
        match self {
            AnyStore::Sled(s) => s.scan(start, end),
            AnyStore::Pg(s) => s.scan(start, end),
        }
    }
    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<super::Pair>, StoreError> {
        match self {
            AnyStore::Sled(s) => s.last_in(start, end),
            AnyStore::Pg(s) => s.last_in(start, end),
        }
    }
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        match self {
            AnyStore::Sled(s) => s.commit(writes),
            AnyStore::Pg(s) => s.commit(writes),
        }
    }
    fn witness_put(&self, record: &[u8]) -> Result<(), StoreError> {
        match self {
            AnyStore::Sled(s) => s.witness_put(record),
            AnyStore::Pg(s) => s.witness_put(record),
        }
    }
    fn witness_get(&self) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            AnyStore::Sled(s) => s.witness_get(),
            AnyStore::Pg(s) => s.witness_get(),
        }
    }
    fn begin_write(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sled(s) => s.begin_write(),
            AnyStore::Pg(s) => s.begin_write(),
        }
    }
    fn end_write(&self) {
        match self {
            AnyStore::Sled(s) => s.end_write(),
            AnyStore::Pg(s) => s.end_write(),
        }
    }
    fn begin_read(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sled(s) => s.begin_read(),
            AnyStore::Pg(s) => s.begin_read(),
        }
    }
    fn end_read(&self) {
        match self {
            AnyStore::Sled(s) => s.end_read(),
            AnyStore::Pg(s) => s.end_read(),
        }
    }
    fn can_stage(&self) -> bool {
        match self {
            AnyStore::Sled(s) => s.can_stage(),
            AnyStore::Pg(s) => s.can_stage(),
        }
    }
    fn stage(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        match self {
            AnyStore::Sled(s) => s.stage(writes),
            AnyStore::Pg(s) => s.stage(writes),
        }
    }
    fn unstage(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sled(s) => s.unstage(),
            AnyStore::Pg(s) => s.unstage(),
        }
    }
    fn size_on_disk(&self) -> u64 {
        match self {
            AnyStore::Sled(s) => s.size_on_disk(),
            AnyStore::Pg(s) => s.size_on_disk(),
        }
    }
}
