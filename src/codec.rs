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

/// The fields of a version 2 entry, as encoded: seq and time, the
/// signature lines as text, then the signed bytes ([`amendment_bytes`]: the
/// establishing parties' keys in party order, none unless the amendment
/// establishes a signed agreement, and the amendment record). So a
/// verifier finds what was signed as the entry's tail after its lines.
#[derive(Serialize)]
struct V2<'a> {
    seq: u64,
    recorded_at: RecordedAt,
    signatures: Vec<String>,
    keys: Vec<&'a VerifierKey>,
    amendment: &'a Amendment,
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
    signatures: Vec<String>,
    keys: Vec<VerifierKey>,
    amendment: Amendment,
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
            signatures: entry.signatures.iter().map(|s| s.to_string()).collect(),
            keys: party_keys(&entry.amendment),
            amendment: &entry.amendment,
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

/// The signed bytes of an amendment: what a party signs (through its
/// SHA-256, `note::amendment_note`) and what idempotency compares. The
/// establishing parties' keys (`Vec` of key texts in party order; empty
/// unless the amendment establishes a signed agreement) followed by the
/// bincode encoding of the amendment record (§7 of `docs/format.md`:
/// parties as id and name) — in a version 2 entry, exactly the bytes after
/// its signature lines. Signature lines are not part of it.
pub fn amendment_bytes(a: &Amendment) -> Result<Vec<u8>, DecodeError> {
    encode(&(party_keys(a), a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{sign_amendment, SignerKey};

    fn parse(json: &str) -> Amendment {
        crate::input::parse_str("t.json", json)
            .expect("parses")
            .remove(0)
    }

    fn key(seed: u8) -> SignerKey {
        SignerKey::from_seed("k.example", [seed; 32]).expect("key")
    }

    fn establish(keys: bool) -> Amendment {
        let (a, b) = (key(1).verifier(), key(2).verifier());
        let k = |v: &VerifierKey| {
            if keys {
                format!(",\"key\":\"{v}\"")
            } else {
                String::new()
            }
        };
        parse(&format!(
            r#"{{"agreement":"d","id":"e","title":"T","effective":"2025-01-01","change":[{{"op":"establish","title":"D","parties":[{{"id":"a","name":"A"{}}},{{"id":"b","name":"B"{}}}]}}]}}"#,
            k(&a),
            k(&b)
        ))
    }

    fn v2(e: &Entry, keys: Vec<&VerifierKey>, signatures: Vec<String>) -> Vec<u8> {
        let mut out = vec![FORMAT_VERSION_SIGNED];
        out.extend(
            encode(&V2 {
                seq: e.seq,
                recorded_at: e.recorded_at,
                signatures,
                keys,
                amendment: &e.amendment,
            })
            .expect("encodes"),
        );
        out
    }

    #[test]
    fn the_version_is_the_lowest_that_holds_the_entry() {
        let plain = Entry::unsigned(0, RecordedAt(5), establish(false));
        let bytes = encode_entry(&plain).expect("encodes");
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode_entry(&bytes), Ok(plain.clone()));
        // Keys make it version 2; the keys and lines come back.
        let mut signed = Entry::unsigned(0, RecordedAt(5), establish(true));
        signed.signatures = vec![
            sign_amendment(&signed.amendment, &key(2)).expect("sign"),
            sign_amendment(&signed.amendment, &key(1)).expect("sign"),
        ];
        let bytes = encode_entry(&signed).expect("encodes");
        assert_eq!(bytes[0], FORMAT_VERSION_SIGNED);
        assert_eq!(decode_entry(&bytes), Ok(signed.clone()));
        // What a party signs is the entry's tail after its lines.
        let signed_bytes = amendment_bytes(&signed.amendment).expect("bytes");
        assert!(bytes.ends_with(&signed_bytes));
        let lines = encode(
            &signed
                .signatures
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>(),
        )
        .expect("lines");
        assert_eq!(bytes.len(), 1 + 16 + lines.len() + signed_bytes.len());
        // What a party signs covers the keys: other keys, other bytes.
        let mut other = establish(true);
        if let Some(Op::Establish { parties, .. }) = other.changes.first_mut().map(|c| &mut c.op) {
            parties[0].key = Some(key(3).verifier());
        }
        assert_ne!(
            amendment_bytes(&other).expect("bytes"),
            amendment_bytes(&establish(true)).expect("bytes")
        );
        // Without keys: eight zero bytes (no keys), then the record.
        let plain_bytes = amendment_bytes(&establish(false)).expect("bytes");
        assert_eq!(plain_bytes[..8], [0; 8]);
        assert_eq!(plain_bytes[8..], encode(&establish(false)).expect("bytes"));
    }

    #[test]
    fn version_2_refuses_what_it_cannot_hold() {
        let plain = Entry::unsigned(0, RecordedAt(5), establish(false));
        let signed = Entry::unsigned(0, RecordedAt(5), establish(true));
        let (a, b) = (key(1).verifier(), key(2).verifier());
        let line = sign_amendment(&signed.amendment, &key(1))
            .expect("sign")
            .to_string();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "nothing to hold",
                v2(&plain, vec![], vec![]),
                "version 1 would",
            ),
            (
                "one key for two parties",
                v2(&plain, vec![&a], vec![line.clone()]),
                "gives 1 keys to 2 parties",
            ),
            (
                "a badly spaced line",
                v2(&plain, vec![], vec![line.replacen(' ', "  ", 1)]),
                "signatures[1]",
            ),
            (
                "a line that is no line",
                v2(&plain, vec![], vec!["hello".into()]),
                "signatures[1]",
            ),
            (
                "a key of another type",
                v2(&plain, vec![&a.cosigner(), &b], vec![line.clone()]),
                "cosignature key",
            ),
        ];
        for (what, bytes, says) in cases {
            match decode_entry(&bytes) {
                Err(DecodeError(m)) => assert!(m.contains(says), "{what}: {m}"),
                Ok(e) => panic!("{what}: decoded {e:?}"),
            }
        }
        // Keys on an amendment that does not establish.
        let mut not_est = plain.clone();
        not_est.amendment = parse(
            r#"{"agreement":"d","id":"r","title":"R","effective":"2025-01-01","change":[{"op":"repeal","clause":"c"}]}"#,
        );
        let m = decode_entry(&v2(&not_est, vec![&a], vec![line.clone()])).expect_err("refused");
        assert!(m.0.contains("does not establish"), "{m}");
        // A rekey in a version-1 entry.
        let mut rekey = plain.clone();
        rekey.amendment = parse(&format!(
            r#"{{"agreement":"d","id":"r","title":"R","change":[{{"op":"rekey","party":"a","key":"{}"}}]}}"#,
            key(3).verifier()
        ));
        let mut bytes = vec![FORMAT_VERSION];
        bytes.extend(
            encode(&V1 {
                seq: 0,
                recorded_at: RecordedAt(5),
                amendment: &rekey.amendment,
            })
            .expect("encodes"),
        );
        let m = decode_entry(&bytes).expect_err("refused");
        assert!(m.0.contains("needs version 2"), "{m}");
    }
}
