//! Proofs an outsider checks without the ledger: an amendment's inclusion in
//! a checkpoint's tree, and one checkpoint's tree extending another's.
//!
//! Both are JSON documents (field by field in `docs/format.md`); hashes are
//! base64 as in checkpoints, entry bytes are hex as in exports. Verification
//! needs only the proof, the checkpoint text(s) and SHA-256.

use serde::{Deserialize, Serialize};

use crate::chain::{self, CheckpointText, Hash};
use crate::codec::{self, Entry};
use crate::error::Error;
use crate::layout::{decode_stored, keys, StoredEntry};
use crate::ledger::Ledger;
use crate::merkle;
use crate::model::{AgreementId, AmendmentId};
use crate::note::{self, VerifierKey};
use crate::store::Store;

/// That an entry is leaf `leaf_index` of the tree of `tree_size` leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Always `"inclusion"`.
    pub proof: String,
    /// The ledger's origin line, as in its checkpoints.
    pub origin: String,
    /// The tree size the proof is for (a checkpoint's size).
    pub tree_size: u64,
    /// The entry's seq: its leaf index.
    pub leaf_index: u64,
    /// The entry's agreement.
    pub agreement: String,
    /// The entry's amendment id.
    pub amendment: String,
    /// The entry's exact stored bytes, hex.
    pub entry: String,
    /// Its leaf hash `SHA-256(0x00 ‖ entry)`, base64.
    pub leaf: String,
    /// The audit path (RFC 9162 §2.1.3.1), leaf side first, base64.
    pub path: Vec<String>,
}

/// That the tree of `tree_size` leaves extends the tree of `old_size` leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Always `"consistency"`.
    pub proof: String,
    /// The ledger's origin line.
    pub origin: String,
    /// The older tree size.
    pub old_size: u64,
    /// The newer tree size.
    pub tree_size: u64,
    /// The consistency path (RFC 9162 §2.1.4.1), base64.
    pub path: Vec<String>,
}

/// Either proof, as read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proof {
    /// An inclusion proof.
    Inclusion(InclusionProof),
    /// A consistency proof.
    Consistency(ConsistencyProof),
}

impl Proof {
    /// Parses a proof document.
    pub fn parse(text: &str) -> Result<Proof, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON document: {e}"))?;
        match v.get("proof").and_then(|p| p.as_str()) {
            Some("inclusion") => serde_json::from_value(v)
                .map(Proof::Inclusion)
                .map_err(|e| format!("inclusion proof: {e}")),
            Some("consistency") => serde_json::from_value(v)
                .map(Proof::Consistency)
                .map_err(|e| format!("consistency proof: {e}")),
            _ => {
                Err("the document has no `proof` field of \"inclusion\" or \"consistency\"".into())
            }
        }
    }
}

fn path_b64(path: &[Hash]) -> Vec<String> {
    path.iter().map(|h| chain::base64(h)).collect()
}

fn path_hashes(path: &[String]) -> Result<Vec<Hash>, String> {
    path.iter()
        .enumerate()
        .map(|(i, p)| {
            chain::unbase64(p)
                .and_then(|b| Hash::try_from(b).ok())
                .ok_or_else(|| format!("path element {i} is not a base64 SHA-256 hash"))
        })
        .collect()
}

/// The inclusion proof of an amendment in the tree of the first `size` entries.
pub fn prove_inclusion<S: Store>(
    ledger: &Ledger<S>,
    agreement: &AgreementId,
    id: &AmendmentId,
    size: u64,
) -> Result<InclusionProof, Error> {
    let count = ledger.head().count;
    if size > count {
        return Err(Error::Usage(format!(
            "the ledger holds {count} entries, fewer than {size}"
        )));
    }
    let seq = ledger
        .find(agreement, id)?
        .ok_or_else(|| Error::Usage(format!("no amendment `{id}` in agreement `{agreement}`")))?;
    if seq >= size {
        return Err(Error::Usage(format!(
            "amendment `{id}` is entry {seq}, not among the first {size} entries"
        )));
    }
    let value = ledger
        .store()
        .get(&keys::entry(seq))?
        .ok_or_else(|| Error::Damaged {
            seq: Some(seq),
            detail: "the entry is missing".into(),
        })?;
    decode_stored(seq, &value)?;
    let stored = StoredEntry::split(&value).ok_or_else(|| Error::Damaged {
        seq: Some(seq),
        detail: "entry value too short".into(),
    })?;
    let path = ledger.inclusion_proof(seq, size)?;
    Ok(InclusionProof {
        proof: "inclusion".into(),
        origin: CheckpointText::origin_line(&ledger.origin()),
        tree_size: size,
        leaf_index: seq,
        agreement: agreement.to_string(),
        amendment: id.to_string(),
        entry: chain::hex(stored.bytes),
        leaf: chain::base64(&stored.leaf),
        path: path_b64(&path),
    })
}

/// The consistency proof between the trees of `old` and `size` entries.
pub fn prove_consistency<S: Store>(
    ledger: &Ledger<S>,
    old: u64,
    size: u64,
) -> Result<ConsistencyProof, Error> {
    let path = ledger.consistency_proof(old, size)?;
    Ok(ConsistencyProof {
        proof: "consistency".into(),
        origin: CheckpointText::origin_line(&ledger.origin()),
        old_size: old,
        tree_size: size,
        path: path_b64(&path),
    })
}

/// When a proof was made for another ledger or another tree size than the
/// checkpoints given: what does not match. Such a pairing proves nothing
/// either way (nothing is shown to be tampered with); `None` when they go
/// together.
pub fn mismatch(p: &Proof, cp: &CheckpointText, old: Option<&CheckpointText>) -> Option<String> {
    let (origin, sizes, cp_sizes) = match p {
        Proof::Inclusion(p) => (
            &p.origin,
            format!("{} entries", p.tree_size),
            (p.tree_size != cp.size).then(|| format!("{} entries", cp.size)),
        ),
        Proof::Consistency(p) => {
            let old_size = old.map_or(p.old_size, |o| o.size);
            (
                &p.origin,
                format!("{} → {} entries", p.old_size, p.tree_size),
                (p.old_size != old_size || p.tree_size != cp.size)
                    .then(|| format!("{old_size} → {} entries", cp.size)),
            )
        }
    };
    let other_ledger = origin != &cp.origin || old.is_some_and(|o| &o.origin != origin);
    if other_ledger {
        return Some(format!(
            "the proof is for the ledger `{origin}`, the checkpoint is of `{}`: they do not go together",
            cp.origin
        ));
    }
    cp_sizes.map(|theirs| {
        format!("the proof is for {sizes}, the checkpoint for {theirs}: they do not go together")
    })
}

/// Checks an inclusion proof against a checkpoint; returns the entry it proves.
pub fn verify_inclusion(p: &InclusionProof, cp: &CheckpointText) -> Result<Entry, String> {
    if p.proof != "inclusion" {
        return Err("not an inclusion proof".into());
    }
    if p.origin != cp.origin {
        return Err(format!(
            "the proof is for ledger `{}`, the checkpoint for `{}`",
            p.origin, cp.origin
        ));
    }
    if p.tree_size != cp.size {
        return Err(format!(
            "the proof is for a tree of {} entries, the checkpoint has {}",
            p.tree_size, cp.size
        ));
    }
    let bytes = chain::unhex(&p.entry).ok_or("the entry is not hex")?;
    let leaf = chain::leaf(&bytes);
    if chain::unbase64(&p.leaf).as_deref() != Some(&leaf[..]) {
        return Err("the leaf hash is not the hash of the entry".into());
    }
    let e = codec::decode_entry(&bytes).map_err(|e| format!("the entry does not decode: {e}"))?;
    if e.seq != p.leaf_index {
        return Err(format!(
            "the entry is entry {}, not leaf {}",
            e.seq, p.leaf_index
        ));
    }
    if e.amendment.agreement.as_str() != p.agreement || e.amendment.id.as_str() != p.amendment {
        return Err("the agreement or amendment named is not the entry's".into());
    }
    let path = path_hashes(&p.path)?;
    merkle::verify_inclusion(&leaf, p.leaf_index, p.tree_size, &path, &cp.root)?;
    Ok(e)
}

/// The signature lines of an entry (from a verified inclusion proof)
/// checked with what the proof carries and what the reader trusts: an
/// entry that establishes a signed agreement must carry a valid signature
/// by every key it gives; and each of `signers` (verifier keys the reader
/// holds, e.g. a party's) must have made a valid line on it. A proof
/// carries no keys of its own: the keys in force for other entries are the
/// ledger's to check (`pactum audit`). Returns the lines' keys, `NAME+KEYID`.
pub fn check_entry_signers(e: &Entry, signers: &[VerifierKey]) -> Result<Vec<String>, String> {
    let a = &e.amendment;
    if a.establish_keys().is_some() {
        note::check_signatures(None, a, &e.signatures)
            .map_err(|r| format!("the establishing entry's signatures: {r}"))?;
    }
    if !signers.is_empty() {
        let text = note::amendment_note(a)?;
        for k in signers {
            let good = e
                .signatures
                .iter()
                .any(|l| l.is_by(k) && k.verify(&text, &l.sig));
            if !good {
                return Err(format!(
                    "amendment `{}` carries no valid signature by {}+{:08x}",
                    a.id,
                    k.name(),
                    k.id()
                ));
            }
        }
    }
    Ok(e.signatures
        .iter()
        .map(|l| format!("{}+{:08x}", l.name, l.id))
        .collect())
}

/// Checks a consistency proof between an old and a new checkpoint.
pub fn verify_consistency(
    p: &ConsistencyProof,
    old: &CheckpointText,
    new: &CheckpointText,
) -> Result<(), String> {
    if p.proof != "consistency" {
        return Err("not a consistency proof".into());
    }
    if p.origin != new.origin || p.origin != old.origin {
        return Err(format!(
            "the proof is for ledger `{}`, the checkpoints for `{}` and `{}`",
            p.origin, old.origin, new.origin
        ));
    }
    if p.old_size != old.size || p.tree_size != new.size {
        return Err(format!(
            "the proof is from {} to {} entries, the checkpoints hold {} and {}",
            p.old_size, p.tree_size, old.size, new.size
        ));
    }
    let path = path_hashes(&p.path)?;
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path)
}
