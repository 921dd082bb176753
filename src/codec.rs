//! The only place that knows bincode: versioned, canonical stored records.
//!
//! An entry's stored bytes are `FORMAT_VERSION` (one byte) followed by the
//! bincode encoding of [`Entry`] with [`options`]: fixed-width little-endian
//! integers, a size limit, trailing bytes rejected. Decoding enforces every
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
use crate::model::{Amendment, RecordedAt};

/// The entry format version written today, the first byte of every entry.
pub const FORMAT_VERSION: u8 = 1;

/// One recorded amendment.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the ledger's chain: 0, 1, 2, … gapless.
    pub seq: u64,
    /// When the ledger recorded it (never decreasing along the chain).
    pub recorded_at: RecordedAt,
    /// The amendment.
    pub amendment: Amendment,
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
    let body = encode(entry)?;
    // The same limit decode enforces: seq (8) + recorded_at (8) precede the amendment.
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
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes stored entry bytes, checking version, limits, validity and canonical form.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, DecodeError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(DecodeError("empty entry".into()));
    };
    if version != FORMAT_VERSION {
        return Err(DecodeError(format!(
            "entry format version {version} is not known (this pactum reads version {FORMAT_VERSION})"
        )));
    }
    if bytes.len() > ENTRY_BYTES_MAX {
        return Err(DecodeError(format!(
            "entry is {} bytes, over the limit of {ENTRY_BYTES_MAX}",
            bytes.len()
        )));
    }
    let entry: Entry = options()
        .deserialize(body)
        .map_err(|e| DecodeError(format!("undecodable entry: {e}")))?;
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
    // Canonical: the same value has one encoding (catches unsorted maps, etc.).
    if encode(&entry)? != body {
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

/// The canonical bytes of an amendment alone (used to compare for idempotency).
pub fn amendment_bytes(a: &Amendment) -> Result<Vec<u8>, DecodeError> {
    encode(a)
}
