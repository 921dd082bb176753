//! An in-memory [`Store`], for tests and dry runs.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use super::{Pair, Scan, Store, StoreError, Write};

/// A `Store` in a `BTreeMap`. Commits are atomic; nothing is durable.
#[derive(Default, Debug)]
pub struct MemStore {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// Puts and deletes applied so far (commits and raw writes).
    writes: std::sync::atomic::AtomicU64,
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
        self.count_writes(1);
    }

    /// Removes a pair directly, bypassing the ledger (for tamper tests).
    pub fn raw_delete(&self, key: &[u8]) {
        self.lock().remove(key);
        self.count_writes(1);
    }

    /// How many puts and deletes were applied so far, committed or raw: an
    /// unchanged count proves nothing was written, without copying the
    /// store (the fuzz model target checks every refusal this way).
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_writes(&self, n: usize) {
        self.writes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
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
        self.count_writes(writes.len());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_counts_every_put_and_delete() {
        let s = MemStore::default();
        assert_eq!(s.writes(), 0);
        s.commit(vec![
            Write::Put(b"a".to_vec(), b"1".to_vec()),
            Write::Delete(b"b".to_vec()),
        ])
        .expect("commit");
        assert_eq!(s.writes(), 2);
        s.commit(Vec::new()).expect("commit");
        assert_eq!(s.writes(), 2, "an empty commit writes nothing");
        s.get(b"a").expect("get");
        assert_eq!(s.scan(b"", None).count(), 1);
        assert_eq!(s.writes(), 2, "reads write nothing");
        s.raw_put(b"c".to_vec(), Vec::new());
        s.raw_delete(b"c");
        assert_eq!(s.writes(), 4);
    }
}
