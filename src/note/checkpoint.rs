//! Signed checkpoints and the witness's decision to cosign one. Pure: the
//! caller reads the files and gives the time.
//!
//! A signed checkpoint is a note whose text is a [`CheckpointText`] and whose
//! first signature is the log operator's, by a key named like the origin
//! line (c2sp.org/tlog-checkpoint). A witness keeps the last checkpoint it
//! cosigned (its *state*) and cosigns a new one only when it is consistent
//! with that one: same text at the same size, or a larger tree that a
//! consistency proof shows extends it.

use super::{Note, SignerKey, VerifierKey, ALG_ED25519};
use crate::chain::CheckpointText;
use crate::proof::{self, ConsistencyProof};

/// A checkpoint as read from a file: its body, and the note when it is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The four checkpoint lines.
    pub body: CheckpointText,
    /// The signed note, when the file carries signature lines.
    pub note: Option<Note>,
}

/// Parses a checkpoint file: the plain body `pactum checkpoint` prints, or a
/// signed note holding it (what `checkpoint --sign` and `cosign` print).
pub fn parse_checkpoint(text: &str) -> Result<SignedCheckpoint, String> {
    if text.contains("\n\n\u{2014} ") {
        let note = Note::parse(text).map_err(|e| e.to_string())?;
        let body = note.text().parse::<CheckpointText>()?;
        if body.to_string() != note.text() {
            return Err("the signed text is not exactly the four checkpoint lines".into());
        }
        return Ok(SignedCheckpoint {
            body,
            note: Some(note),
        });
    }
    Ok(SignedCheckpoint {
        body: text.parse()?,
        note: None,
    })
}

impl SignedCheckpoint {
    /// Requires a valid signature by each key (none required when `keys` is empty).
    pub fn require(&self, keys: &[VerifierKey]) -> Result<(), String> {
        if keys.is_empty() {
            return Ok(());
        }
        let Some(note) = &self.note else {
            return Err("the checkpoint is not signed, and --key asks for signatures".into());
        };
        note.require(keys).map_err(|e| e.to_string())
    }
}

/// The checkpoint as a note signed by the log's key, whose name must be
/// the origin line.
pub fn sign_checkpoint(cp: &CheckpointText, key: &SignerKey) -> Result<Note, String> {
    if key.name() != cp.origin {
        return Err(format!(
            "the key is named `{}`, but a checkpoint is signed by a key named like its origin \
             line `{}` (make one with `pactum key generate {}`)",
            key.name(),
            cp.origin,
            cp.origin
        ));
    }
    let mut note = Note::new(&cp.to_string()).map_err(|e| e.to_string())?;
    note.sign(key).map_err(|e| e.to_string())?;
    Ok(note)
}

/// What a witness is asked to cosign.
pub struct CosignRequest<'a> {
    /// The checkpoint file's text (a signed note).
    pub checkpoint: &'a str,
    /// The log operator's verifier key.
    pub log_key: &'a VerifierKey,
    /// The witness's own key.
    pub witness: &'a SignerKey,
    /// The state file's text: the checkpoint this witness cosigned last, if any.
    pub state: Option<&'a str>,
    /// The consistency proof from the state's checkpoint to this one.
    pub proof: Option<&'a ConsistencyProof>,
    /// Now, in POSIX seconds.
    pub time: u64,
}

/// Checks a checkpoint as a witness and cosigns it: the operator's signature,
/// then consistency with the last checkpoint cosigned. Returns the note with
/// the `cosignature/v1` line added: the new state and what to print.
pub fn cosign(r: &CosignRequest<'_>) -> Result<Note, String> {
    if r.log_key.alg() != ALG_ED25519 {
        return Err(format!(
            "--log-key {} is a cosignature key (type 0x04); the log signs with a type 0x01 key",
            r.log_key.name()
        ));
    }
    let cp = parse_checkpoint(r.checkpoint)?;
    if r.log_key.name() != cp.body.origin {
        return Err(format!(
            "the log key is named `{}`, the checkpoint's origin is `{}`",
            r.log_key.name(),
            cp.body.origin
        ));
    }
    cp.require(std::slice::from_ref(r.log_key))
        .map_err(|e| format!("the operator's signature: {e}"))?;
    let note = cp.note.clone().ok_or("the checkpoint is not signed")?;
    if let Some(state) = r.state {
        let old = parse_checkpoint(state).map_err(|e| format!("the state file: {e}"))?;
        old.require(&[r.witness.verifier().cosigner()])
            .map_err(|e| format!("the state file is not a checkpoint this key cosigned: {e}"))?;
        check_consistent(&old.body, &cp.body, r.proof)?;
    }
    let mut out = note;
    out.cosign(r.witness, r.time).map_err(|e| e.to_string())?;
    Ok(out)
}

fn check_consistent(
    old: &CheckpointText,
    new: &CheckpointText,
    proof: Option<&ConsistencyProof>,
) -> Result<(), String> {
    if old.origin != new.origin {
        return Err(format!(
            "the state file holds a checkpoint of `{}`, this one is of `{}`: use one state file per log",
            old.origin, new.origin
        ));
    }
    if new.size < old.size {
        return Err(format!(
            "refused: this checkpoint has {} entries, fewer than the {} already cosigned \
             (a log never shrinks)",
            new.size, old.size
        ));
    }
    if new.size == old.size {
        if new != old {
            return Err(format!(
                "refused: a fork: this checkpoint and the one cosigned before both hold {} \
                 entries but differ (the operator is showing different histories)",
                new.size
            ));
        }
        return Ok(());
    }
    if old.size == 0 {
        return Ok(());
    }
    let proof = proof.ok_or_else(|| {
        format!(
            "the last checkpoint cosigned holds {} entries: give --proof, a consistency proof \
             from it (`pactum prove --consistency {} --size {}`)",
            old.size, old.size, new.size
        )
    })?;
    proof::verify_consistency(proof, old, new).map_err(|e| {
        format!(
            "refused: this checkpoint does not extend the one cosigned before ({} entries): {e}",
            old.size
        )
    })
}
