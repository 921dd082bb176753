//! The per-entry check: leaf, link, seq, time, Merkle frontier, checkpoint.

use crate::chain::{self, Checkpoint, CheckpointText, Hash, Origin};
use crate::codec::{self, Entry};
use crate::merkle::{self, Frontier};
use crate::model::{AgreementId, RecordedAt};
use crate::note::{self, Keys};
use std::collections::HashMap;

use super::{fail, Failure, Kind};

/// Checks a chain entry by entry, from the bytes: shared by the ledger
/// audit, the export audit and import.
#[derive(Debug)]
pub struct Verifier {
    genesis: Hash,
    prev: Hash,
    next: u64,
    pub(super) last_time: Option<RecordedAt>,
    tree: Frontier,
    nodes: Vec<(u8, u64, Hash)>,
    expect: Option<Expect>,
    /// The keys in force of every signed agreement so far.
    keys: HashMap<AgreementId, Keys>,
}

/// What a checkpoint says the ledger held after `count` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// Entries.
    pub count: u64,
    /// Chain hash after them.
    pub chain: Hash,
    /// Merkle root over them, when the checkpoint gives one.
    pub root: Option<Hash>,
}

impl From<Checkpoint> for Expect {
    fn from(c: Checkpoint) -> Expect {
        Expect {
            count: c.count,
            chain: c.hash,
            root: None,
        }
    }
}

impl From<&CheckpointText> for Expect {
    fn from(c: &CheckpointText) -> Expect {
        Expect {
            count: c.size,
            chain: c.chain,
            root: Some(c.root),
        }
    }
}

impl Verifier {
    /// Starts at the genesis of `origin`.
    pub fn new(origin: &Origin, expect: Option<Expect>) -> Verifier {
        let genesis = chain::genesis(origin);
        Verifier {
            genesis,
            prev: genesis,
            next: 0,
            last_time: None,
            tree: Frontier::default(),
            nodes: Vec::new(),
            expect,
            keys: HashMap::new(),
        }
    }

    /// The Merkle subtrees (level ≥ 1) completed by the last entry checked.
    pub fn nodes(&self) -> &[(u8, u64, Hash)] {
        &self.nodes
    }

    /// The Merkle root over the entries verified so far.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Entries verified so far.
    pub fn count(&self) -> u64 {
        self.next
    }

    /// The checkpoint over the entries verified so far.
    pub fn head(&self) -> Checkpoint {
        Checkpoint {
            count: self.next,
            hash: self.prev,
        }
    }

    /// Verifies the entry stored under `seq` with these bytes and hashes.
    pub fn check(
        &mut self,
        seq: u64,
        bytes: &[u8],
        stored_leaf: &Hash,
        stored_chain: &Hash,
    ) -> Result<Entry, Failure> {
        if seq > self.next {
            return Err(fail(
                Some(self.next),
                Kind::Gap,
                format!(
                    "entry {} is missing (the next one stored is {seq})",
                    self.next
                ),
            ));
        }
        if seq < self.next {
            return Err(fail(
                Some(seq),
                Kind::Misplaced,
                format!("entry {seq} appears again after entry {}", self.next - 1),
            ));
        }
        let leaf = chain::leaf(bytes);
        if &leaf != stored_leaf {
            return Err(fail(Some(seq), Kind::LeafMismatch, {
                let (got, stored) = chain::short_pair(&leaf, stored_leaf);
                format!("the entry's bytes hash to {got}, not to its stored leaf {stored}")
            }));
        }
        let e = codec::decode_entry(bytes).map_err(|d| fail(Some(seq), Kind::Decode, d.0))?;
        if e.seq != seq {
            return Err(fail(
                Some(seq),
                Kind::Misplaced,
                format!(
                    "the entry at position {seq} is entry {} (moved, swapped or duplicated)",
                    e.seq
                ),
            ));
        }
        let link = chain::link(&self.prev, seq, &leaf);
        if &link != stored_chain {
            return Err(fail(Some(seq), Kind::LinkMismatch, {
                let (want, stored) = chain::short_pair(&link, stored_chain);
                let from = match seq.checked_sub(1) {
                    Some(p) => format!("entry {p}"),
                    None => "the genesis hash".to_string(),
                };
                format!("its chain hash should be {want} from {from} but is {stored}")
            }));
        }
        if self.last_time.is_some_and(|t| e.recorded_at < t) {
            return Err(fail(
                Some(seq),
                Kind::TimeRegression,
                format!(
                    "recorded at {}, before the previous entry ({})",
                    e.recorded_at,
                    self.last_time.map(|t| t.to_string()).unwrap_or_default()
                ),
            ));
        }
        // Every signature the agreement's keys in force require, as the
        // writer checked it (product.md §8).
        let a = &e.amendment;
        // No signed agreement yet (most ledgers): no lookup per entry.
        let in_force = if self.keys.is_empty() {
            None
        } else {
            self.keys.get(&a.agreement)
        };
        if in_force.is_some() || !e.signatures.is_empty() || a.sets_keys() {
            match note::check_signatures(in_force, a, &e.signatures) {
                Ok(signed) => {
                    if let Some(k) = signed.keys_after {
                        self.keys.insert(a.agreement.clone(), k);
                    }
                }
                Err(refused) => {
                    return Err(fail(
                        Some(seq),
                        Kind::Signature,
                        format!("amendment `{}` of `{}`: {refused}", a.id, a.agreement),
                    ))
                }
            }
        }
        let mut tree = self.tree.clone();
        let nodes = tree.push(leaf);
        if let Some(cp) = self.expect {
            if cp.count == seq + 1 && cp.chain != link {
                return Err(fail(Some(seq), Kind::CheckpointMismatch, format!(
                    "the chain hash after {} entries is {}, not the checkpoint's {}: history up to the checkpoint was rewritten",
                    cp.count, chain::hex(&link), chain::hex(&cp.chain)
                )));
            }
            if cp.count == seq + 1 && cp.root.is_some_and(|r| r != tree.root()) {
                return Err(fail(Some(seq), Kind::CheckpointMismatch, format!(
                    "the Merkle root after {} entries is {}, not the checkpoint's: history up to the checkpoint was rewritten",
                    cp.count, chain::base64(&tree.root())
                )));
            }
        }
        self.tree = tree;
        self.nodes = nodes;
        self.prev = link;
        self.next = seq + 1;
        self.last_time = Some(e.recorded_at);
        Ok(e)
    }

    /// Final checks against the checkpoint, once every entry is verified.
    pub fn finish(&self) -> Result<(), Failure> {
        if let Some(cp) = self.expect {
            if cp.count > self.next {
                return Err(fail(None, Kind::CheckpointMismatch, format!(
                    "the ledger holds {} entries, fewer than the checkpoint's {}: its tail was truncated", self.next, cp.count
                )));
            }
            if cp.count == 0 && cp.chain != self.genesis {
                return Err(fail(
                    None,
                    Kind::CheckpointMismatch,
                    "the checkpoint's hash is not this ledger's genesis hash",
                ));
            }
            if cp.count == 0 && cp.root.is_some_and(|r| r != merkle::empty_root()) {
                return Err(fail(
                    None,
                    Kind::CheckpointMismatch,
                    "the checkpoint of size 0 has a Merkle root other than the empty tree's",
                ));
            }
        }
        Ok(())
    }
}
