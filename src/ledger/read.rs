//! Reads: checkpoints and proofs at any size, entries, an agreement's
//! entries, state, agreements, idempotency lookups.

use crate::chain::{self, CheckpointText, Hash};
use crate::codec::Entry;
use crate::error::Error;
use crate::layout::{decode_stored, keys, read_entry, stored_seq, StoreNodes, StoredEntry};
use crate::merkle;
use crate::model::*;
use crate::projection;
use crate::store::Store;
use crate::timeline;

use super::{damaged, Ledger};

impl<S: Store> Ledger<S> {
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
}

fn proof_error(e: merkle::ProofError<Error>) -> Error {
    match e {
        merkle::ProofError::Invalid(m) => Error::Usage(m),
        merkle::ProofError::Source(e) => e,
    }
}
