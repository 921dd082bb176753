//! An RFC 9162 Merkle tree over the same leaves as the chain: pure, no I/O.
//!
//! ```text
//! leaf  = SHA-256(0x00 ‖ entry_bytes)        (the chain's leaf hash)
//! node  = SHA-256(0x01 ‖ left ‖ right)
//! empty = SHA-256("")
//! ```
//!
//! The ledger keeps the hash of every complete, aligned subtree (level ≥ 1)
//! as it appends ([`Frontier::push`] says which), so the root of any prefix,
//! and inclusion and consistency proofs for any sizes, cost O(log n) reads
//! through a [`Nodes`] source. Verification follows RFC 9162 §2.1.3.2 and
//! §2.1.4.2 exactly.
//!
//! ```
//! use pactum::merkle::{self, Frontier};
//! let leaves: Vec<_> = (0u8..5).map(|i| pactum::chain::leaf(&[i])).collect();
//! let mut f = Frontier::default();
//! for l in &leaves { f.push(*l); }
//! let proof = merkle::inclusion_proof(&leaves.as_slice(), 3, 5).unwrap();
//! assert!(merkle::verify_inclusion(&leaves[3], 3, 5, &proof, &f.root()).is_ok());
//! ```

use sha2::{Digest, Sha256};

use crate::chain::Hash;

/// Domain byte of an interior node.
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where subtree hashes come from: `hash(level, index)` is the root of
/// leaves `[index·2^level, (index+1)·2^level)`; level 0 is the leaf hash.
pub trait Nodes {
    /// The error of the source.
    type Error;
    /// The hash of a complete, aligned subtree.
    fn hash(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// A slice of leaf hashes is a (slow, simple) source: used by tests and tools.
impl Nodes for &[Hash] {
    type Error = String;
    fn hash(&self, level: u8, index: u64) -> Result<Hash, String> {
        let width = 1u64.checked_shl(level as u32).ok_or("level too large")?;
        let start = index.checked_mul(width).ok_or("index too large")?;
        let end = start.checked_add(width).ok_or("index too large")?;
        if end > self.len() as u64 {
            return Err(format!(
                "no subtree {level}/{index} in {} leaves",
                self.len()
            ));
        }
        Ok(mth_slice(&self[start as usize..end as usize]))
    }
}

fn mth_slice(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node(&mth_slice(&leaves[..k]), &mth_slice(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root of leaves `[start, end)`, from complete subtrees.
pub fn range_root<N: Nodes>(src: &N, start: u64, end: u64) -> Result<Hash, N::Error> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start % n == 0 {
        return src.hash(n.trailing_zeros() as u8, start / n);
    }
    let k = split(n);
    Ok(node(
        &range_root(src, start, start + k)?,
        &range_root(src, start + k, end)?,
    ))
}

/// The root of the first `size` leaves.
pub fn root<N: Nodes>(src: &N, size: u64) -> Result<Hash, N::Error> {
    range_root(src, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves
/// (RFC 9162 §2.1.3.1, `PATH(m, D[n])`), leaf side first.
pub fn inclusion_proof<N: Nodes>(
    src: &N,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<N::Error>> {
    if index >= size {
        return Err(ProofError::Invalid(format!(
            "leaf {index} is not in a tree of {size} leaves"
        )));
    }
    let mut path = Vec::new();
    let (mut start, mut end, mut m) = (0u64, size, index);
    let mut stack = Vec::new();
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            stack.push((start + k, end));
            end = start + k;
        } else {
            stack.push((start, start + k));
            start += k;
            m -= k;
        }
    }
    while let Some((s, e)) = stack.pop() {
        path.push(range_root(src, s, e).map_err(ProofError::Source)?);
    }
    Ok(path)
}

/// The consistency proof between sizes `old` and `new` (RFC 9162 §2.1.4.1).
pub fn consistency_proof<N: Nodes>(
    src: &N,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError<N::Error>> {
    if old == 0 || old > new {
        return Err(ProofError::Invalid(format!(
            "no consistency proof from size {old} to size {new}"
        )));
    }
    let mut out = Vec::new();
    subproof(src, old, 0, new, true, &mut out).map_err(ProofError::Source)?;
    Ok(out)
}

fn subproof<N: Nodes>(
    src: &N,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(range_root(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, complete, out)?;
        out.push(range_root(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(range_root(src, start, start + k)?);
    }
    Ok(())
}

/// Why a proof could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum ProofError<E> {
    /// The request makes no sense (index or sizes out of range).
    Invalid(String),
    /// The node source failed.
    Source(E),
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), String> {
    if index >= size {
        return Err(format!(
            "leaf index {index} is not below the tree size {size}"
        ));
    }
    let (mut fnn, mut snn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snn == 0 {
            return Err("the proof has more elements than the tree has levels".into());
        }
        if fnn & 1 == 1 || fnn == snn {
            r = node(p, &r);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    snn >>= 1;
                }
            }
        } else {
            r = node(&r, p);
        }
        fnn >>= 1;
        snn >>= 1;
    }
    if snn != 0 {
        return Err("the proof has too few elements".into());
    }
    if &r != root {
        return Err("the proof does not lead to the root".into());
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2), with the rules for
/// the edge cases: an old size of 0 is refused; equal sizes need an empty
/// proof and equal roots.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> Result<(), String> {
    if old == 0 {
        return Err("an old tree size of 0 is refused (every tree extends the empty tree)".into());
    }
    if old > new {
        return Err(format!(
            "the old size {old} is larger than the new size {new}"
        ));
    }
    if old == new {
        if !path.is_empty() {
            return Err("for equal sizes the proof must be empty".into());
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err("equal sizes but different roots".into())
        };
    }
    if path.is_empty() {
        return Err("the proof is empty".into());
    }
    let mut path: Vec<Hash> = path.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let (mut fnn, mut snn) = (old - 1, new - 1);
    while fnn & 1 == 1 {
        fnn >>= 1;
        snn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snn == 0 {
            return Err("the proof has more elements than needed".into());
        }
        if fnn & 1 == 1 || fnn == snn {
            fr = node(c, &fr);
            sr = node(c, &sr);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    snn >>= 1;
                }
            }
        } else {
            sr = node(&sr, c);
        }
        fnn >>= 1;
        snn >>= 1;
    }
    if snn != 0 {
        return Err("the proof has too few elements".into());
    }
    if &fr != old_root {
        return Err("the proof does not lead to the old root".into());
    }
    if &sr != new_root {
        return Err("the proof does not lead to the new root".into());
    }
    Ok(())
}

/// The right edge of a tree being built: one complete subtree per set bit
/// of the size, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves, read from a node source.
    pub fn at<N: Nodes>(src: &N, size: u64) -> Result<Frontier, N::Error> {
        let mut peaks = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                peaks.push(src.hash(level, start / width)?);
                start += width;
            }
        }
        Ok(Frontier { size, peaks })
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a leaf; returns the subtrees it completes, `(level, index, hash)`, level ≥ 1.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let mut done = Vec::new();
        let mut h = leaf;
        let mut level = 0u8;
        let index = self.size;
        while (index >> level) & 1 == 1 {
            let left = self.peaks.pop().unwrap_or_else(empty_root);
            h = node(&left, &h);
            level += 1;
            done.push((level, index >> level, h));
        }
        self.peaks.push(h);
        self.size += 1;
        done
    }

    /// The root: peaks folded right to left.
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, p| node(p, &acc))
    }
}
