//! What a party signs, and whether an amendment carries every signature it
//! needs (product.md §8). Pure: the caller gives the keys in force.
//!
//! A party signs the four-line note
//!
//! ```text
//! pactum/amendment/v1
//! <agreement id>
//! <amendment id>
//! <base64(SHA-256(codec::amendment_bytes(amendment)))>
//! ```
//!
//! (signature lines are not part of the amendment's bytes). An agreement is
//! signed when its establishing amendment gives every party a key; from then
//! on every amendment, the establishing one included, needs a valid
//! signature by the key in force of every party, and a rekey also by the new
//! key. [`check_signatures`] decides, and names the parties at fault.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

use super::{SigLine, SignerKey, VerifierKey, ALG_ED25519};
use crate::chain::base64;
use crate::codec;
use crate::model::{Amendment, Op, PartyId};

/// The first line of an amendment note.
pub const AMENDMENT_NOTE_HEADER: &str = "pactum/amendment/v1";

/// Each party's verifier key, as in force when an amendment is recorded.
pub type Keys = BTreeMap<PartyId, VerifierKey>;

/// The note text a party signs for `a` (its signature lines play no part).
pub fn amendment_note(a: &Amendment) -> Result<String, String> {
    let bytes = codec::amendment_bytes(a).map_err(|e| e.to_string())?;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    Ok(format!(
        "{AMENDMENT_NOTE_HEADER}\n{}\n{}\n{}\n",
        a.agreement,
        a.id,
        base64(&digest)
    ))
}

/// The signature line `key` makes on `a`.
pub fn sign_amendment(a: &Amendment, key: &SignerKey) -> Result<SigLine, String> {
    let text = amendment_note(a)?;
    Ok(SigLine {
        name: key.name().to_string(),
        id: key.id(),
        sig: key.sign_raw(text.as_bytes()).to_vec(),
    })
}

/// The keys in force after `a` is recorded, given those before it
/// (`None`: not signed): a signed establish sets them, a rekey replaces one.
/// For amendments already accepted ([`check_signatures`] decides first).
pub fn keys_after(in_force: Option<Keys>, a: &Amendment) -> Option<Keys> {
    if let Some(keys) = a.establish_keys() {
        return Some(
            keys.into_iter()
                .map(|(p, k)| (p.clone(), k.clone()))
                .collect(),
        );
    }
    match (in_force, a.changes.first().map(|c| &c.op)) {
        (Some(mut keys), Some(Op::Rekey { party, key })) => {
            keys.insert(party.clone(), key.clone());
            Some(keys)
        }
        (in_force, _) => in_force,
    }
}

/// Who signed an accepted amendment, and the keys in force after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// For each signature line, in order: the party whose key made it, and
    /// whether it is the party's new key (a rekey's).
    pub signers: Vec<(PartyId, bool)>,
    /// The keys in force for the amendments recorded after this one
    /// (`None`: the agreement is not signed).
    pub keys_after: Option<Keys>,
}

/// Why an amendment's signatures are refused. Parties are named by id; a
/// rekey's new key as `PARTY (new key)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refused {
    /// Parties whose signature is missing.
    pub missing: Vec<String>,
    /// Parties whose signature does not verify.
    pub invalid: Vec<String>,
    /// Signature lines by keys of no party (`NAME+KEYID`).
    pub foreign: Vec<String>,
    /// A rule broken before any signature is looked at.
    pub rule: Option<String>,
}

impl Refused {
    fn rule(msg: impl Into<String>) -> Refused {
        Refused {
            rule: Some(msg.into()),
            ..Refused::default()
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |v: &[String]| {
            v.iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if let Some(r) = &self.rule {
            parts.push(r.clone());
        }
        if !self.missing.is_empty() {
            parts.push(format!("no signature by {}", quote(&self.missing)));
        }
        if !self.invalid.is_empty() {
            parts.push(format!("invalid signature by {}", quote(&self.invalid)));
        }
        if !self.foreign.is_empty() {
            parts.push(format!(
                "signed by keys of no party: {}",
                self.foreign.join(", ")
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Decides whether `a`, carrying `sigs`, is accepted.
///
/// `in_force`: the keys of the agreement's parties when `a` is recorded
/// (`None`: the agreement is not signed, or not established yet). Rules:
///
/// - An establish that gives keys (every party one: [`Amendment::validate`])
///   starts a signed agreement: every party must sign with the key it gives.
/// - In a signed agreement every amendment needs a valid signature by every
///   key in force; a rekey `{party, key}` also by the new key, and the new
///   key replaces the party's in what is returned.
/// - In an unsigned agreement no amendment carries signatures, and a rekey
///   is refused.
/// - Any line by a key that is not required, two lines by one key, and a
///   line that does not verify are refused.
pub fn check_signatures(
    in_force: Option<&Keys>,
    a: &Amendment,
    sigs: &[SigLine],
) -> Result<Signed, Refused> {
    // The keys that must sign: (label, party, new?, key).
    let mut required: Vec<(String, PartyId, bool, VerifierKey)> = Vec::new();
    let mut keys_after: Option<Keys> = None;
    match (in_force, a.establish_keys()) {
        (Some(_), Some(_)) => {
            return Err(Refused::rule(
                "the agreement is already signed: an establish cannot give keys again",
            ))
        }
        (None, Some(keys)) => {
            let map: Keys = keys
                .into_iter()
                .map(|(p, k)| (p.clone(), k.clone()))
                .collect();
            for (p, k) in &map {
                required.push((p.to_string(), p.clone(), false, k.clone()));
            }
            keys_after = Some(map);
        }
        (Some(keys), None) => {
            for (p, k) in keys {
                required.push((p.to_string(), p.clone(), false, k.clone()));
            }
            let mut after = keys.clone();
            if let Some(Op::Rekey { party, key }) = a.changes.first().map(|c| &c.op) {
                let Some(old) = keys.get(party) else {
                    return Err(Refused::rule(format!(
                        "rekey: `{party}` is not a party with a key"
                    )));
                };
                if key.alg() != ALG_ED25519 {
                    return Err(Refused::rule("rekey: the new key is not a type 0x01 key"));
                }
                if key.public() == old.public() {
                    return Err(Refused::rule(format!(
                        "rekey: the new key of `{party}` is its key in force"
                    )));
                }
                if let Some((other, _)) = keys
                    .iter()
                    .find(|(p, k)| *p != party && k.public() == key.public())
                {
                    return Err(Refused::rule(format!(
                        "rekey: the new key of `{party}` is the key of `{other}`"
                    )));
                }
                required.push((
                    format!("{party} (new key)"),
                    party.clone(),
                    true,
                    key.clone(),
                ));
                after.insert(party.clone(), key.clone());
            }
            keys_after = Some(after);
        }
        (None, None) => {
            if a.is_rekey() {
                return Err(Refused::rule(
                    "rekey: the agreement is not signed (its establish gave no keys)",
                ));
            }
        }
    }
    let text = if sigs.is_empty() {
        String::new()
    } else {
        amendment_note(a).map_err(Refused::rule)?
    };
    let mut refused = Refused::default();
    let mut signers = Vec::with_capacity(sigs.len());
    let mut seen = vec![false; required.len()];
    for (i, line) in sigs.iter().enumerate() {
        if sigs[..i]
            .iter()
            .any(|o| o.name == line.name && o.id == line.id)
        {
            return Err(Refused::rule(format!(
                "two signatures by key {}+{:08x}",
                line.name, line.id
            )));
        }
        let Some(r) = required.iter().position(|(_, _, _, k)| line.is_by(k)) else {
            refused
                .foreign
                .push(format!("{}+{:08x}", line.name, line.id));
            continue;
        };
        seen[r] = true;
        let (label, party, new, key) = &required[r];
        if key.verify(&text, &line.sig) {
            signers.push((party.clone(), *new));
        } else {
            refused.invalid.push(label.clone());
        }
    }
    for (r, (label, ..)) in required.iter().enumerate() {
        if !seen[r] {
            refused.missing.push(label.clone());
        }
    }
    if refused != Refused::default() {
        return Err(refused);
    }
    Ok(Signed {
        signers,
        keys_after,
    })
}
