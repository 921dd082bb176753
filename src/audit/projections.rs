//! The stored projections against the entries: live steps as a multiset
//! sum, each agreement's pages replayed, every snapshot compared, the
//! retraction keys, the key-change keys.

use crate::chain::Hash;
use crate::codec::Entry;
use crate::layout::{self, keys, StepKey, StepRec};
use crate::projection::Replay;
use crate::store::{Store, StoreError};

use super::keys::MultisetHash;
use super::{fail, Failure, Kind};

/// The hash of one live step of an agreement, as entries give it and as pages store it.
pub(super) fn step_hash(agreement: &str, step: &StepRec) -> Hash {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"pactum-step\0");
    h.update(agreement.as_bytes());
    h.update([0]);
    h.update(crate::codec::encode_unbounded(step));
    h.finalize().into()
}

/// Checks the stored projections against the entries: the live steps the
/// entries give (a multiset hash, computed while they stream) must be the
/// steps the pages hold; each agreement's pages must replay in order, and
/// every snapshot must be the replay before the page it starts; every
/// retraction must have its retraction key and no other key may stand.
#[derive(Default)]
pub(super) struct Projections {
    pub(super) expected: MultisetHash,
    pub(super) retractions: u64,
    /// Entries that set keys (a signed establish, a rekey): each has its
    /// key-change key, and no other stands.
    pub(super) key_changes: u64,
}

pub(super) fn projection_failure(detail: impl Into<String>) -> Failure {
    fail(None, Kind::ProjectionMismatch, detail)
}

impl Projections {
    /// Notes the steps an entry adds (or, for a retraction, removes).
    pub(super) fn entry<S: Store + ?Sized>(
        &mut self,
        store: &S,
        seq: u64,
        e: &Entry,
    ) -> Result<Option<Failure>, StoreError> {
        let a = &e.amendment;
        if a.sets_keys() {
            self.key_changes += 1;
            if store
                .get(&keys::key_change(&a.agreement, seq))?
                .is_none_or(|v| !v.is_empty())
            {
                return Ok(Some(fail(
                    Some(seq),
                    Kind::IndexMismatch,
                    format!(
                        "the entry sets the keys of `{}`, and its key-change key is missing",
                        a.agreement
                    ),
                )));
            }
        }
        let Some(target) = a.retracts() else {
            for s in layout::steps_of(seq, a) {
                self.expected
                    .add(&step_hash(a.agreement.as_str(), &s), false);
            }
            return Ok(None);
        };
        self.retractions += 1;
        if store
            .get(&keys::retracted(&a.agreement, target))?
            .as_deref()
            != Some(&seq.to_be_bytes()[..])
        {
            return Ok(Some(fail(
                Some(seq),
                Kind::ProjectionMismatch,
                format!(
                    "the retraction key of `{}` / `{target}` does not name this entry",
                    a.agreement
                ),
            )));
        }
        // The target is an earlier entry, found through its (verified) idempotency key.
        let t = store
            .get(&keys::by_id(&a.agreement, target))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes)
            .filter(|t| *t < seq);
        let target_entry = match t {
            Some(t) => match store.get(&keys::entry(t))? {
                Some(v) => layout::decode_stored(t, &v).ok().map(|(e, _)| e),
                None => None,
            },
            None => None,
        };
        let Some(te) = target_entry else {
            return Ok(Some(fail(
                Some(seq),
                Kind::ProjectionMismatch,
                format!("the amendment `{target}` it retracts is not an earlier entry"),
            )));
        };
        for s in layout::steps_of(te.seq, &te.amendment) {
            self.expected
                .add(&step_hash(a.agreement.as_str(), &s), true);
        }
        Ok(None)
    }

    /// Compares the entries' live steps with the pages' (from [`stored_steps`])
    /// and counts the retraction keys.
    pub(super) fn finish<S: Store + ?Sized>(
        &self,
        store: &S,
        pages: Result<MultisetHash, Failure>,
    ) -> Result<Option<Failure>, StoreError> {
        let stored = match pages {
            Ok(m) => m,
            Err(f) => return Ok(Some(f)),
        };
        if stored != self.expected {
            return Ok(Some(projection_failure(
                "the timeline pages do not hold exactly the live changes of the entries",
            )));
        }
        let end = keys::prefix_end(&[keys::RETRACTED]);
        let n = store.scan(&[keys::RETRACTED], Some(&end)).count() as u64;
        if n != self.retractions {
            return Ok(Some(projection_failure(format!(
                "{n} retraction keys are stored for {} retractions",
                self.retractions
            ))));
        }
        let end = keys::prefix_end(&[keys::KEY_CHANGE]);
        let n = store.scan(&[keys::KEY_CHANGE], Some(&end)).count() as u64;
        if n != self.key_changes {
            return Ok(Some(fail(
                None,
                Kind::IndexMismatch,
                format!(
                    "{n} key-change keys are stored for {} entries that set keys",
                    self.key_changes
                ),
            )));
        }
        Ok(None)
    }
}

/// Replays every agreement's pages in order, comparing each snapshot with
/// the replay before its page; returns the multiset hash of the steps.
pub(super) fn stored_steps<S: Store + ?Sized>(
    store: &S,
) -> Result<Result<MultisetHash, Failure>, StoreError> {
    {
        let mut stored = MultisetHash::default();
        let page_end = keys::prefix_end(&[keys::PAGE]);
        let snap_end = keys::prefix_end(&[keys::SNAPSHOT]);
        let mut snaps = store.scan(&[keys::SNAPSHOT], Some(&snap_end)).peekable();
        let mut current: Option<(String, Replay, StepKey)> = None;
        for item in store.scan(&[keys::PAGE], Some(&page_end)) {
            let (k, v) = item?;
            let Some((name, key)) = keys::split_projection(&k) else {
                return Ok(Err(projection_failure(format!(
                    "a malformed page key is stored: {:?}",
                    String::from_utf8_lossy(&k)
                ))));
            };
            let steps = match layout::decode_page(store, name, &v) {
                Ok(s) if !s.is_empty() && s.len() <= layout::PAGE_STEPS => s,
                Ok(_) => {
                    return Ok(Err(projection_failure(format!(
                        "a page of `{name}` holds no step or too many"
                    ))))
                }
                Err(crate::error::Error::Store(StoreError::Damaged(detail))) => {
                    return Ok(Err(projection_failure(detail)))
                }
                Err(crate::error::Error::Store(e)) => return Err(e),
                Err(crate::error::Error::Damaged { detail, .. }) => {
                    return Ok(Err(projection_failure(detail)))
                }
                Err(e) => return Ok(Err(projection_failure(format!("a page of `{name}`: {e}")))),
            };
            if current.as_ref().is_none_or(|(n, _, _)| n != name) {
                current = Some((name.to_string(), Replay::new(), [0; 16]));
            }
            let Some((_, replay, last)) = current.as_mut() else {
                continue;
            };
            // Snapshots: each must stand at this page's start, or at a later one.
            loop {
                if matches!(snaps.peek(), Some(Err(_))) {
                    if let Some(Err(e)) = snaps.next() {
                        return Err(e);
                    }
                }
                let Some(Ok((sk, sv))) = snaps.peek() else {
                    break;
                };
                match sk[1..].cmp(&k[1..]) {
                    std::cmp::Ordering::Less => {
                        return Ok(Err(projection_failure(format!(
                            "a snapshot stands where no page starts: {:?}",
                            String::from_utf8_lossy(sk)
                        ))))
                    }
                    std::cmp::Ordering::Equal => {
                        if layout::encode_snapshot(replay) != *sv {
                            return Ok(Err(projection_failure(format!(
                                "a snapshot of `{name}` is not the replay of the steps before it"
                            ))));
                        }
                        snaps.next();
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            if steps[0].key() != key {
                return Ok(Err(projection_failure(format!(
                    "a page of `{name}` does not start at its key"
                ))));
            }
            for s in &steps {
                let sk = s.key();
                if sk <= *last && *last != [0; 16] {
                    return Ok(Err(projection_failure(format!(
                        "the pages of `{name}` are out of order"
                    ))));
                }
                *last = sk;
                if let Err(c) = replay.apply(&s.step()) {
                    return Ok(Err(projection_failure(format!(
                        "the stored timeline of `{name}` does not replay: {c}"
                    ))));
                }
                stored.add(&step_hash(name, s), false);
            }
        }
        if let Some(snap) = snaps.next() {
            let (sk, _) = snap?;
            return Ok(Err(projection_failure(format!(
                "a snapshot stands where no page starts: {:?}",
                String::from_utf8_lossy(&sk)
            ))));
        }
        Ok(Ok(stored))
    }
}
