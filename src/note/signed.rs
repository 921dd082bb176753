//! Signed notes: a text, a blank line, and signature lines.

use std::fmt;

use super::cosignature::cosignature_message;
use super::key::{key_id, SignerKey, VerifierKey, ALG_COSIGNATURE_V1};
use super::NoteError;
use crate::chain::{base64, unbase64};
use crate::limits::{NOTE_BYTES_MAX, NOTE_SIGNATURES_MAX};

/// The character that opens a signature line (U+2014).
pub const EM_DASH: char = '\u{2014}';

const SIG_PREFIX: &str = "\u{2014} ";

/// One signature line: `— NAME B64(KEYID ‖ signature)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigLine {
    /// The signing key's name.
    pub name: String,
    /// The signing key's id.
    pub id: u32,
    /// The bytes after the key id: an Ed25519 signature, or for a
    /// cosignature the 8-byte timestamp and the signature.
    pub sig: Vec<u8>,
}

impl SigLine {
    /// Parses one line (without its final `\n`).
    pub fn parse(line: &str) -> Result<SigLine, NoteError> {
        let bad = |why: &str| NoteError::Malformed(format!("signature line `{line}`: {why}"));
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| bad("it does not start with an em dash (U+2014) and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("it is not `— NAME SIGNATURE`"))?;
        super::check_name(name).map_err(|e| bad(&e))?;
        let raw = unbase64(b64).ok_or_else(|| bad("the signature is not canonical base64"))?;
        if raw.len() < 5 {
            return Err(bad("the signature is shorter than a key id and one byte"));
        }
        Ok(SigLine {
            name: name.to_string(),
            id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            sig: raw[4..].to_vec(),
        })
    }

    /// Whether the line names this key (name and id).
    pub fn is_by(&self, key: &VerifierKey) -> bool {
        self.name == key.name() && self.id == key.id()
    }

    /// For a cosignature: its timestamp (seconds), when the bytes have that shape.
    pub fn cosignature_time(&self) -> Option<u64> {
        let ts: [u8; 8] = self.sig.get(..8)?.try_into().ok()?;
        (self.sig.len() == 8 + 64).then(|| u64::from_be_bytes(ts))
    }
}

impl fmt::Display for SigLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(4 + self.sig.len());
        raw.extend_from_slice(&self.id.to_be_bytes());
        raw.extend_from_slice(&self.sig);
        write!(f, "{SIG_PREFIX}{} {}", self.name, base64(&raw))
    }
}

/// A note text and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    sigs: Vec<SigLine>,
}

fn check_chars(s: &str) -> Result<(), NoteError> {
    if s.len() > NOTE_BYTES_MAX {
        return Err(NoteError::Malformed(format!(
            "the note is {} bytes, over NOTE_BYTES_MAX ({NOTE_BYTES_MAX})",
            s.len()
        )));
    }
    for (i, line) in s.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|c| (*c as u32) < 0x20) {
            return Err(NoteError::Malformed(format!(
                "line {} has the control character {:?}: notes allow only \\n",
                i + 1,
                c
            )));
        }
    }
    Ok(())
}

impl Note {
    /// An unsigned note: `text` must end in `\n` and hold no control
    /// characters other than `\n`.
    pub fn new(text: &str) -> Result<Note, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::Malformed(
                "the note text does not end in a newline".into(),
            ));
        }
        check_chars(text)?;
        Ok(Note {
            text: text.to_string(),
            sigs: Vec::new(),
        })
    }

    /// Parses a signed note as bytes (they must be UTF-8).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > NOTE_BYTES_MAX {
            return Err(NoteError::Malformed(format!(
                "the note is {} bytes, over NOTE_BYTES_MAX ({NOTE_BYTES_MAX})",
                bytes.len()
            )));
        }
        let s = std::str::from_utf8(bytes).map_err(|e| {
            NoteError::Malformed(format!(
                "not UTF-8 (byte {} is invalid)",
                e.valid_up_to() + 1
            ))
        })?;
        Note::parse(s)
    }

    /// Parses a signed note: text, blank line, one or more signature lines.
    pub fn parse(s: &str) -> Result<Note, NoteError> {
        check_chars(s)?;
        let split = s.rfind("\n\n").ok_or_else(|| {
            NoteError::Malformed("no blank line separates the text from signatures".into())
        })?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::Malformed(
                "no signature lines after the blank line".into(),
            ));
        }
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(NoteError::Malformed(
                "the last signature line does not end in a newline".into(),
            ));
        };
        let lines: Vec<&str> = sigs.split('\n').collect();
        if lines.len() > NOTE_SIGNATURES_MAX {
            return Err(NoteError::Malformed(format!(
                "{} signature lines, over NOTE_SIGNATURES_MAX ({NOTE_SIGNATURES_MAX})",
                lines.len()
            )));
        }
        let sigs = lines
            .into_iter()
            .map(SigLine::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note {
            text: text.to_string(),
            sigs,
        })
    }

    /// The text (what is signed), with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[SigLine] {
        &self.sigs
    }

    /// Adds a line; one by the same key name and id is replaced (as Go's
    /// `note.Sign` does). Refuses past [`NOTE_SIGNATURES_MAX`].
    pub fn push(&mut self, line: SigLine) -> Result<(), NoteError> {
        self.sigs
            .retain(|s| !(s.name == line.name && s.id == line.id));
        if self.sigs.len() >= NOTE_SIGNATURES_MAX {
            return Err(NoteError::Malformed(format!(
                "the note already has NOTE_SIGNATURES_MAX ({NOTE_SIGNATURES_MAX}) signatures"
            )));
        }
        self.sigs.push(line);
        Ok(())
    }

    /// The signature line `key` makes on this note's text.
    pub fn signature_by(&self, key: &SignerKey) -> SigLine {
        SigLine {
            name: key.name().to_string(),
            id: key.id(),
            sig: key.sign_raw(self.text.as_bytes()).to_vec(),
        }
    }

    /// Signs the text with `key` (type `0x01`).
    pub fn sign(&mut self, key: &SignerKey) -> Result<(), NoteError> {
        let line = self.signature_by(key);
        self.push(line)
    }

    /// Adds `key`'s `cosignature/v1` made at `time` (POSIX seconds, at most 2^63 − 1).
    pub fn cosign(&mut self, key: &SignerKey, time: u64) -> Result<(), NoteError> {
        if time > i64::MAX as u64 {
            return Err(NoteError::Malformed(format!(
                "cosignature time {time} is over 2^63 - 1"
            )));
        }
        let public = key.verifier().public();
        let mut sig = time.to_be_bytes().to_vec();
        sig.extend_from_slice(&key.sign_raw(cosignature_message(time, &self.text).as_bytes()));
        self.push(SigLine {
            name: key.name().to_string(),
            id: key_id(key.name(), ALG_COSIGNATURE_V1, &public),
            sig,
        })
    }

    /// Checks the signatures against `known` keys as C2SP signed-note says:
    /// lines by unknown keys are ignored, every line by a known key must
    /// verify, and at least one must. Returns the indexes of the verified lines.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<Vec<usize>, NoteError> {
        let mut verified = Vec::new();
        for (i, line) in self.sigs.iter().enumerate() {
            let mut matching = known.iter().filter(|k| line.is_by(k));
            let Some(key) = matching.next() else { continue };
            if matching.any(|other| other != key) {
                return Err(NoteError::Ambiguous {
                    name: line.name.clone(),
                    id: line.id,
                });
            }
            if !key.verify(&self.text, &line.sig) {
                return Err(NoteError::BadSignature {
                    name: line.name.clone(),
                    id: line.id,
                });
            }
            verified.push(i);
        }
        if verified.is_empty() {
            return Err(NoteError::Unverified);
        }
        Ok(verified)
    }

    /// Requires a valid signature by every key in `keys` (and no invalid
    /// signature by any of them).
    pub fn require(&self, keys: &[VerifierKey]) -> Result<(), NoteError> {
        if keys.is_empty() {
            return Ok(());
        }
        let verified = match self.verify(keys) {
            Ok(v) => v,
            Err(NoteError::Unverified) => Vec::new(),
            Err(e) => return Err(e),
        };
        for k in keys {
            if !verified.iter().any(|&i| self.sigs[i].is_by(k)) {
                return Err(NoteError::Missing {
                    name: k.name().to_string(),
                    id: k.id(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.sigs {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}
