//! Integrity checks that report the exact entry at fault. Reads only.
//!
//! The audit recomputes every leaf and link from the stored bytes, checks
//! that seqs are gapless and in place, that recorded times never decrease,
//! that both indexes match the entries one to one, that the head metadata
//! matches the last entry, that the stored projections (timeline pages and
//! snapshots, which `state` reads) are exactly what the entries give, and
//! optionally that the ledger extends a checkpoint. It streams (memory does not grow with the ledger), never
//! panics on damaged data, and never reads the clock.//!
//! The steps, as `docs/format.md` lists them: [`Verifier`] checks each entry
//! (`verifier.rs`); [`audit_store`] runs the steps over a store
//! (`store.rs`): the entries with the keys they imply (`keys.rs`, compared
//! as multiset sums) and the stored projections (`projections.rs`), then
//! the head, the witness and the foreign keys.

use std::fmt;

use crate::chain::{self, Checkpoint, Hash};

mod keys;
mod projections;
mod store;
mod verifier;

pub use store::audit_store;
pub use verifier::{Expect, Verifier};

/// What kind of damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The ledger's metadata (format, origin, head) is missing or malformed, or a key is foreign.
    Meta,
    /// An entry is missing.
    Gap,
    /// An entry stands where another should (swapped, duplicated, inserted).
    Misplaced,
    /// An entry's bytes do not decode (or break a limit, or are not canonical).
    Decode,
    /// An entry's bytes do not hash to its stored leaf.
    LeafMismatch,
    /// An entry's stored chain hash is not the link of the previous one and its leaf.
    LinkMismatch,
    /// An entry's recorded time is earlier than the previous one's.
    TimeRegression,
    /// An index or idempotency key does not match the entries.
    IndexMismatch,
    /// The head metadata does not match the entries.
    HeadMismatch,
    /// The ledger does not extend the checkpoint given.
    CheckpointMismatch,
    /// A stored Merkle subtree hash does not match the entries.
    TreeMismatch,
    /// The storage holds fewer (or other) entries than the last write acknowledged.
    WitnessMismatch,
    /// A line of an export file cannot be read.
    Unreadable,
    /// An export line's readable fields differ from its entry's bytes.
    FieldMismatch,
    /// The stored projections (timeline pages, snapshots, retraction keys)
    /// do not match the entries: `state` would not say what they say.
    ProjectionMismatch,
    /// An amendment's stored signature lines are not every signature its
    /// agreement's keys in force require, or one does not verify.
    Signature,
}

impl Kind {
    /// The kind as printed: `leaf-mismatch`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Meta => "meta",
            Kind::Gap => "gap",
            Kind::Misplaced => "misplaced",
            Kind::Decode => "decode",
            Kind::LeafMismatch => "leaf-mismatch",
            Kind::LinkMismatch => "link-mismatch",
            Kind::TimeRegression => "time-regression",
            Kind::IndexMismatch => "index-mismatch",
            Kind::HeadMismatch => "head-mismatch",
            Kind::CheckpointMismatch => "checkpoint-mismatch",
            Kind::TreeMismatch => "tree-mismatch",
            Kind::WitnessMismatch => "witness-mismatch",
            Kind::Unreadable => "unreadable",
            Kind::FieldMismatch => "field-mismatch",
            Kind::ProjectionMismatch => "projection-mismatch",
            Kind::Signature => "signature",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first integrity failure found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The entry at fault, when one is.
    pub seq: Option<u64>,
    /// What kind of damage.
    pub kind: Kind,
    /// What exactly.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(s) => write!(f, "{} at seq {s}: {}", self.kind, self.detail),
            None => write!(f, "{}: {}", self.kind, self.detail),
        }
    }
}

pub(crate) fn fail(seq: Option<u64>, kind: Kind, detail: impl Into<String>) -> Failure {
    Failure {
        seq,
        kind,
        detail: detail.into(),
    }
}

/// The audit's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// No failure.
    pub ok: bool,
    /// Entries verified (before the failure, if any).
    pub entries: u64,
    /// The checkpoint recomputed over the entries verified.
    pub head: Checkpoint,
    /// The first failure.
    pub failure: Option<Failure>,
}

/// A hash shortened for messages.
pub fn short(h: &Hash) -> String {
    chain::hex(&h[..6])
}
