//! Leaf and link hashes, the origin, and checkpoints. Pure: no I/O.
//!
//! ```text
//! leaf_i   = SHA-256(0x00 ‖ entry_bytes_i)
//! chain_i  = SHA-256(0x02 ‖ chain_(i−1) ‖ u64_be(seq_i) ‖ leaf_i)
//! chain_-1 = SHA-256(0x03 ‖ origin)            origin: 16 random bytes per ledger
//! ```
//!
//! ```
//! use pactum::chain::{self, Checkpoint};
//! let genesis = chain::genesis(&[0u8; 16]);
//! let leaf = chain::leaf(b"entry");
//! let c0 = chain::link(&genesis, 0, &leaf);
//! let cp: Checkpoint = format!("1:{}", chain::hex(&c0)).parse().unwrap();
//! assert_eq!(cp.count, 1);
//! assert_eq!(cp.hash, c0);
//! ```

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Bytes that make a ledger's chain its own.
pub type Origin = [u8; 16];

/// Domain byte of a leaf hash (RFC 9162).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain byte of a chain link.
pub const LINK_PREFIX: u8 = 0x02;
/// Domain byte of the chain's start.
pub const GENESIS_PREFIX: u8 = 0x03;

/// `SHA-256(0x00 ‖ entry_bytes)`.
pub fn leaf(entry_bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry_bytes);
    h.finalize().into()
}

/// `SHA-256(0x02 ‖ prev ‖ u64_be(seq) ‖ leaf)`.
pub fn link(prev: &Hash, seq: u64, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([LINK_PREFIX]);
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(leaf);
    h.finalize().into()
}

/// `SHA-256(0x03 ‖ origin)`: the chain hash before the first entry.
pub fn genesis(origin: &Origin) -> Hash {
    let mut h = Sha256::new();
    h.update([GENESIS_PREFIX]);
    h.update(origin);
    h.finalize().into()
}

/// Two hashes shortened for one message: 12 hex digits each, or as many as
/// it takes for them to differ (two different hashes never print the same).
pub fn short_pair(a: &Hash, b: &Hash) -> (String, String) {
    let n = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .map_or(6, |i| i + 1)
        .max(6);
    (hex(&a[..n]), hex(&b[..n]))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses hex (either case) into bytes.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// Parses a 64-digit hex hash.
pub fn parse_hash(s: &str) -> Option<Hash> {
    unhex(s)?.try_into().ok()
}

/// The pair (entry count, chain hash after those entries): `N:HASH`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// How many entries the ledger held.
    pub count: u64,
    /// The chain hash after the last of them (the genesis hash when `count` is 0).
    pub hash: Hash,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.count, hex(&self.hash))
    }
}

impl FromStr for Checkpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Checkpoint, String> {
        let (n, h) = s.trim().split_once(':').ok_or_else(|| {
            format!("checkpoint `{s}` must be N:HASH (an entry count and a chain hash)")
        })?;
        let count = n
            .parse::<u64>()
            .ok()
            .filter(|c| c.to_string() == n)
            .ok_or_else(|| format!("checkpoint count `{n}` is not a decimal number"))?;
        let hash =
            parse_hash(h).ok_or_else(|| format!("checkpoint hash `{h}` is not 64 hex digits"))?;
        Ok(Checkpoint { count, hash })
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4), as checkpoints and proofs use.
pub fn base64(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Parses standard base64 with padding; refuses anything else.
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let last = ci == b.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = if i >= 4 - pad {
                0
            } else {
                B64.iter().position(|x| x == c)? as u32
            };
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Canonical: padding bits must be zero.
        if (pad == 1 && bytes[2] != 0) || (pad == 2 && (bytes[1] != 0 || bytes[2] != 0)) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// A checkpoint in the C2SP `tlog-checkpoint` shape (unsigned body):
///
/// ```text
/// pactum/<origin, 32 hex digits>
/// <tree size, decimal>
/// <Merkle root, base64>
/// chain <chain hash after that many entries, 64 hex digits>
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointText {
    /// The ledger's origin line, `pactum/` + origin hex.
    pub origin: String,
    /// Entries (leaves) covered.
    pub size: u64,
    /// RFC 9162 root over their leaves.
    pub root: Hash,
    /// Chain hash after the last of them.
    pub chain: Hash,
}

impl CheckpointText {
    /// The origin line of a ledger.
    pub fn origin_line(origin: &Origin) -> String {
        format!("pactum/{}", hex(origin))
    }

    /// The `N:HASH` checkpoint it contains.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            count: self.size,
            hash: self.chain,
        }
    }
}

impl fmt::Display for CheckpointText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n{}\n{}\nchain {}\n",
            self.origin,
            self.size,
            base64(&self.root),
            hex(&self.chain)
        )
    }
}

impl FromStr for CheckpointText {
    type Err = String;
    fn from_str(s: &str) -> Result<CheckpointText, String> {
        // One spelling only: `\n` line ends, lowercase hex, canonical numbers and base64.
        if s.contains('\r') {
            return Err("the checkpoint has carriage returns: its lines end with \\n only".into());
        }
        let lower_hex = |h: &str| !h.bytes().any(|c| c.is_ascii_uppercase());
        let mut lines = s.lines();
        let mut next = |what: &str| {
            lines
                .next()
                .ok_or_else(|| format!("the checkpoint lacks its {what} line"))
        };
        let origin = next("origin")?.to_string();
        if !origin.starts_with("pactum/")
            || origin.len() != 39
            || unhex(&origin[7..]).is_none()
            || !lower_hex(&origin[7..])
        {
            return Err(format!(
                "the origin line `{origin}` is not `pactum/` and 32 lowercase hex digits"
            ));
        }
        let size_line = next("size")?;
        let size = size_line
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == size_line)
            .ok_or_else(|| format!("the size line `{size_line}` is not a decimal number"))?;
        let root_line = next("root")?;
        let root: Hash = unbase64(root_line)
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| format!("the root line `{root_line}` is not a base64 SHA-256 hash"))?;
        let chain_line = next("chain")?;
        let chain = chain_line
            .strip_prefix("chain ")
            .filter(|h| lower_hex(h))
            .and_then(parse_hash)
            .ok_or_else(|| {
                format!(
                    "the extension line `{chain_line}` is not `chain` and 64 lowercase hex digits"
                )
            })?;
        if let Some(extra) = lines.find(|l| !l.is_empty()) {
            return Err(format!("unexpected line `{extra}` after the checkpoint"));
        }
        Ok(CheckpointText {
            origin,
            size,
            root,
            chain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_different_hashes_never_shorten_alike() {
        let a = [7u8; 32];
        let mut b = a;
        assert_eq!(short_pair(&a, &b).0.len(), 12);
        b[20] ^= 1;
        let (x, y) = short_pair(&a, &b);
        assert_ne!(x, y);
        assert_eq!(x.len(), 42);
        b[20] = a[20];
        b[1] ^= 1;
        let (x, y) = short_pair(&a, &b);
        assert_ne!(x, y);
        assert_eq!(x.len(), 12);
    }
}
