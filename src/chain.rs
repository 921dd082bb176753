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
            format!("checkpoint `{s}` must be N:HASH (as `pactum head` prints it)")
        })?;
        let count = n
            .parse()
            .map_err(|_| format!("checkpoint count `{n}` is not a number"))?;
        let hash =
            parse_hash(h).ok_or_else(|| format!("checkpoint hash `{h}` is not 64 hex digits"))?;
        Ok(Checkpoint { count, hash })
    }
}
