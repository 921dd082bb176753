//! An in-memory [`Store`], for tests and dry runs.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use super::{Pair, Scan, Store, StoreError, Write};

/// A `Store` in a `BTreeMap`. Commits are atomic; nothing is durable.
#[derive(Default, Debug)]
pub struct MemStore {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of every pair (for tests that compare or tamper).
    pub fn dump(&self) -> BTreeMap<Vec<u8>, Vec<u8>> {
        self.lock().clone()
    }

    /// Sets a pair directly, bypassing the ledger (for tamper tests).
    pub fn raw_put(&self, key: Vec<u8>, value: Vec<u8>) {
        self.lock().insert(key, value);
    }

    /// Removes a pair directly, bypassing the ledger (for tamper tests).
    pub fn raw_delete(&self, key: &[u8]) {
        self.lock().remove(key);
    }
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_> {
        let map = self.lock();
        let upper = match end {
            Some(e) => Bound::Excluded(e.to_vec()),
            None => Bound::Unbounded,
        };
        let items: Vec<Result<Pair, StoreError>> = map
            .range((Bound::Included(start.to_vec()), upper))
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Box::new(items.into_iter())
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<Pair>, StoreError> {
        let map = self.lock();
        Ok(map
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut map = self.lock();
        for w in writes {
            match w {
                Write::Put(k, v) => {
                    map.insert(k, v);
                }
                Write::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }
}
