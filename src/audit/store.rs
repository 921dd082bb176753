//! The audit of a store: its steps in order, the entries streaming on this
//! thread while a second thread sums the stored keys and replays the pages.

use crate::chain::{self, Checkpoint, Origin};
use crate::layout::{self, keys, Head, StoredEntry, LAYOUT_VERSION};
use crate::store::{Store, StoreError};

use super::keys::{
    first_key_failure, implied_keys, key_hash, stored_keys, MultisetHash, StoredKeys,
};
use super::projections::{stored_steps, Projections};
use super::{fail, Expect, Failure, Kind, Report, Verifier};

/// The head count from which the audit sums the stored keys and replays the
/// pages on a second thread: a smaller ledger is audited on one thread,
/// since starting a thread costs more than the little work it would overlap
/// (and much more under a sanitizer: the fuzz targets audit thousands of
/// small ledgers a second).
pub const AUDIT_THREAD_ENTRIES_MIN: u64 = 256;

/// Audits a store: every entry, link, index and the head.
pub fn audit_store<S: Store + ?Sized>(
    store: &S,
    checkpoint: Option<Expect>,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, StoreError> {
    let mut report = Report {
        ok: false,
        entries: 0,
        head: Checkpoint {
            count: 0,
            hash: [0; 32],
        },
        failure: None,
    };
    let done = |mut r: Report, v: Option<&Verifier>, f: Failure| {
        if let Some(v) = v {
            r.entries = v.count();
            r.head = v.head();
        }
        r.failure = Some(f);
        Ok(r)
    };
    // Metadata.
    let format = store.get(&keys::meta("format"))?;
    if format.as_deref() != Some(&[LAYOUT_VERSION][..]) {
        return done(
            report,
            None,
            fail(
                None,
                Kind::Meta,
                format!("the layout version is {format:?}, not [{LAYOUT_VERSION}]"),
            ),
        );
    }
    let origin: Origin = match store.get(&keys::meta("origin"))?.map(<[u8; 16]>::try_from) {
        Some(Ok(o)) => o,
        _ => {
            return done(
                report,
                None,
                fail(None, Kind::Meta, "the origin is missing or not 16 bytes"),
            )
        }
    };
    let head = match store.get(&keys::meta("head"))?.as_deref().map(Head::decode) {
        Some(Some(h)) => h,
        _ => {
            return done(
                report,
                None,
                fail(
                    None,
                    Kind::Meta,
                    "the head metadata is missing or malformed",
                ),
            )
        }
    };
    let mut v = Verifier::new(&origin, checkpoint);
    report.head = v.head();
    let mut projections = Projections::default();
    let mut expected_keys = MultisetHash::default();
    let mut stopped: Option<Failure> = None;
    // Meanwhile, on the other core: the sums of the stored index keys and
    // Merkle nodes, and the replay of the stored projections (on this
    // thread, after the entries, for a ledger too small to pay for a thread).
    let side_work = || -> Result<Side, StoreError> {
        Ok(Side {
            keys: stored_keys(store, u64::MAX, head.count)?,
            pages: stored_steps(store)?,
        })
    };
    let mut entry_work = || -> Result<(), StoreError> {
        // Entries, with their index keys.
        let end = keys::prefix_end(&[keys::ENTRY]);
        for item in store.scan(&[keys::ENTRY], Some(&end)) {
            let (k, value) = match item {
                Ok(pair) => pair,
                // The store cannot read the next entry as stored (a sled
                // store's entry log out of place): a failure at its seq.
                Err(StoreError::Damaged(detail)) => {
                    stopped = Some(fail(Some(v.count()), Kind::Decode, detail));
                    break;
                }
                Err(e) => return Err(e),
            };
            let Some(seq) = keys::entry_seq(&k) else {
                stopped = Some(fail(
                    Some(v.count()),
                    Kind::Misplaced,
                    "a malformed entry key is stored",
                ));
                break;
            };
            let Some(stored) = StoredEntry::split(&value) else {
                stopped = Some(fail(
                    Some(seq),
                    Kind::Decode,
                    "the stored value is too short to hold an entry and its hashes",
                ));
                break;
            };
            let e = match v.check(seq, stored.bytes, &stored.leaf, &stored.chain) {
                Ok(e) => e,
                Err(f) => {
                    stopped = Some(f);
                    break;
                }
            };
            // The index keys and Merkle nodes this entry implies, compared with
            // the stored ones below in one ordered scan (not a read per entry).
            for (k, val) in implied_keys(&e, v.nodes()) {
                expected_keys.add(&key_hash(&k, &val), false);
            }
            if let Some(f) = projections.entry(store, seq, &e)? {
                stopped = Some(f);
                break;
            }
            if seq % 4096 == 0 {
                progress(seq);
            }
        }
        Ok(())
    };
    let (entries, side) = if head.count < AUDIT_THREAD_ENTRIES_MIN {
        (entry_work(), side_work())
    } else {
        std::thread::scope(|scope| {
            let side = scope.spawn(side_work);
            let entries = entry_work();
            let side = side
                .join()
                .unwrap_or_else(|_| Err(StoreError::Io("the audit's second thread failed".into())));
            (entries, side)
        })
    };
    entries?;
    let side = side?;
    // The keys of the entries verified: on a difference, find the first
    // entry whose keys are wrong (it comes before any failure found above).
    let upto = v.count();
    let strays = side.keys.strays;
    let stored = if stopped.is_none() {
        side.keys.sum
    } else {
        stored_keys(store, upto, head.count)?.sum
    };
    if stored != expected_keys {
        if let Some(f) = first_key_failure(store, &origin, upto)? {
            return done(report, Some(&v), f);
        }
    }
    if let Some(f) = stopped {
        return done(report, Some(&v), f);
    }
    let count = v.count();
    // The head.
    if head.count != count || head.chain != v.head().hash || head.recorded_at != v.last_time {
        let seq = if head.count > count {
            Some(count)
        } else {
            count.checked_sub(1)
        };
        return done(
            report,
            Some(&v),
            fail(seq, Kind::HeadMismatch, {
                let (said, given) = chain::short_pair(&head.chain, &v.head().hash);
                format!(
                    "the head metadata says {} entries ending {said} (recorded {}), the entries give {} ending {given} (recorded {})",
                    head.count,
                    head.recorded_at.map_or("-".into(), |t| t.to_string()),
                    count,
                    v.last_time.map_or("-".into(), |t| t.to_string())
                )
            }),
        );
    }
    // The witness of the last acknowledged write.
    if let Err(e) = layout::check_witness(store, &head) {
        let detail = match e {
            crate::error::Error::Damaged { detail, .. } => detail,
            other => other.to_string(),
        };
        return done(report, Some(&v), fail(None, Kind::WitnessMismatch, detail));
    }
    // Index keys with no entry behind them, stray Merkle nodes (found by
    // the second thread's scan, against the head's count, which is `count`).
    if let Some(f) = strays {
        return done(report, Some(&v), f);
    }
    // The stored projections: what `state` reads.
    if let Some(f) = projections.finish(store, side.pages)? {
        return done(report, Some(&v), f);
    }
    // Nothing else belongs in the key space.
    for item in store.scan(&[], None) {
        let (k, _) = item?;
        match k.first() {
            Some(&keys::ENTRY)
            | Some(&keys::BY_AGREEMENT)
            | Some(&keys::BY_ID)
            | Some(&keys::TREE)
            | Some(&keys::PAGE)
            | Some(&keys::SNAPSHOT)
            | Some(&keys::RETRACTED)
            | Some(&keys::KEY_CHANGE) => {}
            Some(&keys::META)
                if [
                    keys::meta("format"),
                    keys::meta("origin"),
                    keys::meta("head"),
                ]
                .contains(&k) => {}
            _ => {
                return done(
                    report,
                    Some(&v),
                    fail(
                        None,
                        Kind::Meta,
                        format!("a foreign key is stored: {:?}", String::from_utf8_lossy(&k)),
                    ),
                )
            }
        }
    }
    if let Err(f) = v.finish() {
        return done(report, Some(&v), f);
    }
    report.ok = true;
    report.entries = count;
    report.head = v.head();
    Ok(report)
}

/// What the audit's second thread finds.
struct Side {
    /// The sums of the stored `a`, `i` and `t` keys, and the first stray.
    keys: StoredKeys,
    /// The sum of the pages' steps, or the first fault in the pages and snapshots.
    pages: Result<MultisetHash, Failure>,
}
