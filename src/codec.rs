//! The only place that knows bincode: versioned, canonical stored records.
//!
//! An entry's stored bytes are a version byte followed by the bincode
//! encoding with [`options`] (fixed-width little-endian integers, a size
//! limit, trailing bytes rejected) of the entry's fields: version 1
//! ([`FORMAT_VERSION`]) `seq, recorded_at, amendment` for an amendment that
//! carries no keys and no signatures, version 2 ([`FORMAT_VERSION_SIGNED`])
//! the same followed by the establishing parties' keys and the signature
//! lines (product.md §8). The version is the lowest that holds the entry, so
//! an unsigned ledger is byte for byte what it was before signatures. Decoding enforces every
//! limit (it runs [`Amendment::validate`]) and that the bytes are canonical
//! (re-encoding gives the same bytes), and never panics.
//!
//! ```
//! use pactum::codec;
//! assert!(codec::decode_entry(&[1, 2, 3]).is_err());
//! ```

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::limits::ENTRY_BYTES_MAX;
use crate::model::{Amendment, Op, RecordedAt};
use crate::note::{SigLine, VerifierKey};

/// The entry format version of an amendment without keys or signatures,
/// the first byte of its entry.
pub const FORMAT_VERSION: u8 = 1;

/// The entry format version of an amendment that gives parties keys, is a
/// rekey or carries signatures.
pub const FORMAT_VERSION_SIGNED: u8 = 2;

/// One recorded amendment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    /// Position in the ledger's chain: 0, 1, 2, … gapless.
    pub seq: u64,
    /// When the ledger recorded it (never decreasing along the chain).
    pub recorded_at: RecordedAt,
    /// The amendment (its establishing parties' keys included).
    pub amendment: Amendment,
    /// The signature lines it was recorded with, in the order given.
    pub signatures: Vec<SigLine>,
}

impl Entry {
    /// An entry without signatures.
    pub fn unsigned(seq: u64, recorded_at: RecordedAt, amendment: Amendment) -> Entry {
        Entry {
            seq,
            recorded_at,
            amendment,
            signatures: Vec::new(),
        }
    }

    /// The version its bytes take: [`FORMAT_VERSION_SIGNED`] when it gives
    /// keys, rekeys or carries signatures, else [`FORMAT_VERSION`].
    pub fn version(&self) -> u8 {
        let a = &self.amendment;
        if self.signatures.is_empty() && a.establish_keys().is_none() && !a.is_rekey() {
            FORMAT_VERSION
        } else {
            FORMAT_VERSION_SIGNED
        }
    }
}

/// The fields of a version 1 entry, as encoded.
#[derive(Serialize)]
struct V1<'a> {
    seq: u64,
    recorded_at: RecordedAt,
    amendment: &'a Amendment,
}

/// The fields of a version 2 entry, as encoded: a version 1 entry's, then
/// the establishing parties' keys in party order (none unless the amendment
/// establishes a signed agreement) and the signature lines as text.
#[derive(Serialize)]
struct V2<'a> {
    seq: u64,
    recorded_at: RecordedAt,
    amendment: &'a Amendment,
    keys: Vec<&'a VerifierKey>,
    signatures: Vec<String>,
}

#[derive(Deserialize)]
struct V1Owned {
    seq: u64,
    recorded_at: RecordedAt,
    amendment: Amendment,
}

#[derive(Deserialize)]
struct V2Owned {
    seq: u64,
    recorded_at: RecordedAt,
    amendment: Amendment,
    keys: Vec<VerifierKey>,
    signatures: Vec<String>,
}

/// The keys of an establishing change, in party order (empty if none).
fn party_keys(a: &Amendment) -> Vec<&VerifierKey> {
    match a.changes.first().map(|c| &c.op) {
        Some(Op::Establish { parties, .. }) => {
            parties.iter().filter_map(|p| p.key.as_ref()).collect()
        }
        _ => Vec::new(),
    }
}

/// Encodes the body (without the version byte) of an entry.
fn encode_body(entry: &Entry) -> Result<Vec<u8>, DecodeError> {
    if entry.version() == FORMAT_VERSION {
        encode(&V1 {
            seq: entry.seq,
            recorded_at: entry.recorded_at,
            amendment: &entry.amendment,
        })
    } else {
        encode(&V2 {
            seq: entry.seq,
            recorded_at: entry.recorded_at,
            amendment: &entry.amendment,
            keys: party_keys(&entry.amendment),
            signatures: entry.signatures.iter().map(|s| s.to_string()).collect(),
        })
    }
}

/// The one bincode configuration used everywhere.
pub fn options() -> impl Options + Copy {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(ENTRY_BYTES_MAX as u64)
}

/// Why stored bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Encodes any value with [`options`] (used for entries and state digests).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, DecodeError> {
    options()
        .serialize(value)
        .map_err(|e| DecodeError(format!("cannot encode: {e}")))
}

/// Encodes derived data (pages, snapshots), which may exceed an entry's size limit.
pub fn encode_unbounded<T: Serialize>(value: &T) -> Vec<u8> {
    // Assertion: serializing these types into memory cannot fail (no map
    // with non-string keys, no unbounded sequence length); were it to, an
    // empty value would be stored and read back as damage.
    unbounded()
        .serialize(value)
        .expect("bincode serializes derived data into memory")
}

/// Decodes derived data; never reads past `bytes` or leaves bytes unread.
pub fn decode_unbounded<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    unbounded()
        .with_limit(bytes.len() as u64)
        .deserialize(bytes)
        .map_err(|e| DecodeError(e.to_string()))
}

fn unbounded() -> impl Options + Copy {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
}

/// The stored bytes of an entry.
pub fn encode_entry(entry: &Entry) -> Result<Vec<u8>, DecodeError> {
    let body = encode_body(entry)?;
    // The same limit decode enforces: seq (8) + recorded_at (8) precede the
    // amendment (with its keys and signatures, in version 2).
    if body.len().saturating_sub(16) > crate::limits::AMENDMENT_BYTES_MAX {
        return Err(DecodeError(format!(
            "the amendment is {} bytes encoded, over the limit of {} bytes (AMENDMENT_BYTES_MAX)",
            body.len() - 16,
            crate::limits::AMENDMENT_BYTES_MAX
        )));
    }
    if body.len() + 1 > ENTRY_BYTES_MAX {
        return Err(DecodeError(format!(
            "entry is {} bytes, over the limit of {ENTRY_BYTES_MAX} bytes",
            body.len() + 1
        )));
    }
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(entry.version());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes stored entry bytes, checking version, limits, validity and canonical form.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, DecodeError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(DecodeError("empty entry".into()));
    };
    if version != FORMAT_VERSION && version != FORMAT_VERSION_SIGNED {
        return Err(DecodeError(format!(
            "entry format version {version} is not known (this pactum reads versions {FORMAT_VERSION} and {FORMAT_VERSION_SIGNED})"
        )));
    }
    if bytes.len() > ENTRY_BYTES_MAX {
        return Err(DecodeError(format!(
            "entry is {} bytes, over the limit of {ENTRY_BYTES_MAX}",
            bytes.len()
        )));
    }
    let undecodable = |e: bincode::Error| DecodeError(format!("undecodable entry: {e}"));
    let entry = if version == FORMAT_VERSION {
        let v: V1Owned = options().deserialize(body).map_err(undecodable)?;
        Entry::unsigned(v.seq, v.recorded_at, v.amendment)
    } else {
        let v: V2Owned = options().deserialize(body).map_err(undecodable)?;
        let mut amendment = v.amendment;
        match amendment.changes.first_mut().map(|c| &mut c.op) {
            Some(Op::Establish { parties, .. }) if !v.keys.is_empty() => {
                if parties.len() != v.keys.len() {
                    return Err(DecodeError(format!(
                        "the entry gives {} keys to {} parties",
                        v.keys.len(),
                        parties.len()
                    )));
                }
                for (p, k) in parties.iter_mut().zip(v.keys) {
                    p.key = Some(k);
                }
            }
            _ if !v.keys.is_empty() => {
                return Err(DecodeError(
                    "the entry gives keys, and its amendment does not establish".into(),
                ))
            }
            _ => {}
        }
        let signatures = v
            .signatures
            .iter()
            .enumerate()
            .map(|(i, l)| {
                SigLine::parse(l).map_err(|e| DecodeError(format!("signatures[{}]: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() > crate::limits::SIGNATURES_PER_AMENDMENT_MAX {
            return Err(DecodeError(format!(
                "{} signatures, over the limit of {} (SIGNATURES_PER_AMENDMENT_MAX)",
                signatures.len(),
                crate::limits::SIGNATURES_PER_AMENDMENT_MAX
            )));
        }
        let entry = Entry {
            seq: v.seq,
            recorded_at: v.recorded_at,
            amendment,
            signatures,
        };
        if entry.version() != FORMAT_VERSION_SIGNED {
            return Err(DecodeError(
                "entry format version 2 holds no keys, rekey or signatures (version 1 would)"
                    .into(),
            ));
        }
        entry
    };
    // seq (8) + recorded_at (8) precede the amendment.
    let amendment_len = body.len().saturating_sub(16);
    if amendment_len > crate::limits::AMENDMENT_BYTES_MAX {
        return Err(DecodeError(format!(
            "stored amendment is {amendment_len} bytes, over the limit of {} bytes (AMENDMENT_BYTES_MAX)",
            crate::limits::AMENDMENT_BYTES_MAX
        )));
    }
    if !entry.recorded_at.in_range() {
        return Err(DecodeError(format!(
            "recorded time {} µs is outside 1970-01-01T00:00:00Z … 9999-12-30T22:00:00Z",
            entry.recorded_at.0
        )));
    }
    entry
        .amendment
        .validate()
        .map_err(|e| DecodeError(format!("stored amendment is invalid: {}", e.message)))?;
    if version == FORMAT_VERSION && entry.amendment.is_rekey() {
        return Err(DecodeError(
            "a rekey in an entry of format version 1 (it needs version 2)".into(),
        ));
    }
    // Canonical: the same value has one encoding (catches unsorted maps,
    // a signature line spelt two ways, etc.).
    if encode_body(&entry)? != body {
        return Err(DecodeError("entry bytes are not canonical".into()));
    }
    Ok(entry)
}

/// SHA-256 of the encoding of `value` with [`options`] less the size limit
/// (streamed: used for state digests, which may be larger than an entry).
pub fn hash_encoding<T: Serialize>(value: &T) -> crate::chain::Hash {
    use sha2::Digest;
    struct HashWriter(sha2::Sha256);
    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = HashWriter(sha2::Sha256::new());
    // Assertion: writing into a hasher cannot fail, and these types always
    // serialize; a digest of half a value would be silently wrong.
    unbounded()
        .serialize_into(&mut w, value)
        .expect("bincode serializes into a hasher");
    w.0.finalize().into()
}

/// The canonical bytes of an amendment alone: what a party signs (through
/// its SHA-256, `note::amendment_note`) and what idempotency compares. The
/// bincode encoding of the amendment record (§7 of `docs/format.md`: parties
/// as id and name), followed, when the amendment establishes a signed
/// agreement, by its parties' keys (`Vec` of key texts, party order).
/// Signature lines are not part of it.
pub fn amendment_bytes(a: &Amendment) -> Result<Vec<u8>, DecodeError> {
    let mut out = encode(a)?;
    let keys = party_keys(a);
    if !keys.is_empty() {
        out.extend_from_slice(&encode(&keys)?);
    }
    Ok(out)
}
