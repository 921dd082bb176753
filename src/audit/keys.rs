//! The keys an entry implies (index, idempotency, Merkle nodes), compared
//! with the stored ones as multiset sums in one ordered scan; the per-entry
//! search that names the seq at fault when the sums differ.

use crate::chain::{Hash, Origin};
use crate::codec::Entry;
use crate::layout::{self, keys, StoredEntry};
use crate::store::{Store, StoreError};

use super::{fail, Failure, Kind, Verifier};

pub(super) fn stray_seq(prefix: u8, k: &[u8], val: &[u8]) -> Option<u64> {
    if prefix == keys::BY_AGREEMENT {
        keys::split_by_agreement(k).map(|(_, s)| s)
    } else {
        val.try_into().ok().map(u64::from_be_bytes)
    }
}

pub(super) fn check_index_key(prefix: u8, k: &[u8], val: &[u8], count: u64) -> Option<Failure> {
    // Each entry's own keys were checked in the main pass, and the counts
    // agree, so the keys and entries match one to one if every key is well
    // formed and in range.
    let parsed = if prefix == keys::BY_AGREEMENT {
        keys::split_by_agreement(k).filter(|_| val.is_empty())
    } else {
        keys::split_by_id(k)
            .zip(<[u8; 8]>::try_from(val).ok())
            .map(|((a, _), s)| (a, u64::from_be_bytes(s)))
    };
    match parsed {
        None => Some(fail(
            None,
            Kind::IndexMismatch,
            format!(
                "a malformed key is stored: {:?}",
                String::from_utf8_lossy(k)
            ),
        )),
        Some((agreement, seq)) if seq >= count => Some(fail(
            Some(seq),
            Kind::IndexMismatch,
            format!("a key of `{agreement}` names entry {seq}, beyond the last"),
        )),
        Some(_) => None,
    }
}

/// A multiset hash: the sum modulo 2^256 of the SHA-256 of each element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct MultisetHash([u64; 4]);

impl MultisetHash {
    pub(super) fn add(&mut self, h: &Hash, negate: bool) {
        let mut carry = 0u128;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let mut x = u64::from_le_bytes(h[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            if negate {
                x = !x;
            }
            let sum = *limb as u128 + x as u128 + carry;
            *limb = sum as u64;
            carry = sum >> 64;
        }
        if negate {
            // Two's complement: −h = !h + 1.
            let mut carry = 1u128;
            for limb in self.0.iter_mut() {
                let sum = *limb as u128 + carry;
                *limb = sum as u64;
                carry = sum >> 64;
                if carry == 0 {
                    break;
                }
            }
        }
    }
}

/// The index, idempotency and Merkle keys (with values) that an entry
/// implies ([`layout::entry_keys`]): the ones this scan sums. The entry key
/// is the one being read, and the retraction keys are the projections'.
pub(super) fn implied_keys(
    e: &Entry,
    nodes: &[(u8, u64, Hash)],
) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
    layout::implied_keys(e, nodes)
        .into_iter()
        .filter(|(k, _)| SUMMED.contains(&k[0]))
}

/// The key kinds whose keys are compared with the entries as multiset sums.
pub(super) const SUMMED: [u8; 3] = [keys::BY_AGREEMENT, keys::BY_ID, keys::TREE];

pub(super) fn key_hash(k: &[u8], v: &[u8]) -> Hash {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update((k.len() as u32).to_be_bytes())
        .chain_update(k)
        .chain_update(v)
        .finalize()
        .into()
}

/// What one ordered scan of the stored `a`, `i` and `t` keys finds.
pub(super) struct StoredKeys {
    /// The multiset hash of those that belong to the first `upto` entries
    /// (malformed ones are left to `strays`).
    pub(super) sum: MultisetHash,
    /// The first key that cannot belong to a ledger of `count` entries: an
    /// index key beyond the count-th or naming no entry, a malformed key, a
    /// Merkle node that is not a complete subtree of `count` leaves.
    pub(super) strays: Option<Failure>,
}

pub(super) fn stored_keys<S: Store + ?Sized>(
    store: &S,
    upto: u64,
    count: u64,
) -> Result<StoredKeys, StoreError> {
    let mut sum = MultisetHash::default();
    let mut strays = None;
    for prefix in SUMMED {
        let mut n = 0u64;
        for item in store.scan(&[prefix], Some(&keys::prefix_end(&[prefix]))) {
            let (k, val) = item?;
            n += 1;
            let seq = match prefix {
                keys::BY_AGREEMENT => keys::split_by_agreement(&k).map(|(_, s)| s),
                keys::BY_ID => <[u8; 8]>::try_from(val.as_slice())
                    .ok()
                    .map(u64::from_be_bytes),
                _ => keys::split_tree(&k).and_then(|(level, index)| {
                    index
                        .checked_add(1)
                        .and_then(|i| i.checked_mul(1u64.checked_shl(u32::from(level))?))
                        .map(|end| end - 1)
                }),
            };
            if seq.is_some_and(|s| s < upto) {
                sum.add(&key_hash(&k, &val), false);
            }
            if strays.is_none() {
                strays = stray(prefix, &k, &val, n, count);
            }
        }
    }
    Ok(StoredKeys { sum, strays })
}

/// Whether the `n`-th stored key of its kind cannot belong to a ledger of
/// `count` entries.
pub(super) fn stray(prefix: u8, k: &[u8], val: &[u8], n: u64, count: u64) -> Option<Failure> {
    if prefix == keys::TREE {
        // Exactly one node per complete subtree (count − popcount(count) of them).
        let complete = keys::split_tree(k).is_some_and(|(level, index)| {
            (1..64).contains(&level)
                && index
                    .checked_add(1)
                    .and_then(|i| i.checked_mul(1u64 << level))
                    .is_some_and(|end| end <= count)
        });
        if !complete || val.len() != 32 || n > count - count.count_ones() as u64 {
            return Some(fail(
                None,
                Kind::TreeMismatch,
                format!(
                    "a stray Merkle node key is stored: {:?}",
                    String::from_utf8_lossy(k)
                ),
            ));
        }
        return None;
    }
    if n > count {
        let what = if prefix == keys::BY_AGREEMENT {
            "index"
        } else {
            "idempotency"
        };
        return Some(fail(
            stray_seq(prefix, k, val),
            Kind::IndexMismatch,
            format!(
                "a {what} key names no entry: {}",
                String::from_utf8_lossy(&k[1..])
            ),
        ));
    }
    // Checked cheaply: the key must name a real entry of its agreement.
    check_index_key(prefix, k, val, count)
}

/// The first of the first `upto` entries whose index keys or Merkle nodes
/// are missing or wrong, read key by key (only when the sums differ).
pub(super) fn first_key_failure<S: Store + ?Sized>(
    store: &S,
    origin: &Origin,
    upto: u64,
) -> Result<Option<Failure>, StoreError> {
    let mut v = Verifier::new(origin, None);
    let end = keys::prefix_end(&[keys::ENTRY]);
    for item in store.scan(&keys::entry(0), Some(&end)) {
        let (k, value) = item?;
        let (Some(seq), Some(stored)) = (keys::entry_seq(&k), StoredEntry::split(&value)) else {
            break;
        };
        if seq >= upto {
            break;
        }
        let Ok(e) = v.check(seq, stored.bytes, &stored.leaf, &stored.chain) else {
            break;
        };
        let a = &e.amendment;
        if store
            .get(&keys::by_agreement(&a.agreement, seq))?
            .is_none_or(|v| !v.is_empty())
        {
            return Ok(Some(fail(
                Some(seq),
                Kind::IndexMismatch,
                format!("the index of `{}` does not list this entry", a.agreement),
            )));
        }
        let id_seq = store.get(&keys::by_id(&a.agreement, &a.id))?;
        if id_seq.as_deref() != Some(&seq.to_be_bytes()[..]) {
            return Ok(Some(fail(
                Some(seq),
                Kind::IndexMismatch,
                format!(
                    "the idempotency key of `{}` / `{}` does not point at this entry",
                    a.agreement, a.id
                ),
            )));
        }
        for &(level, index, hash) in v.nodes() {
            if store.get(&keys::tree(level, index))?.as_deref() != Some(&hash[..]) {
                return Ok(Some(fail(
                    Some(seq),
                    Kind::TreeMismatch,
                    format!("the stored Merkle node {level}/{index}, completed by this entry, is missing or wrong"),
                )));
            }
        }
    }
    Ok(None)
}
