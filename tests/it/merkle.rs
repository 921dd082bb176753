//! The RFC 9162 Merkle tree (`pactum::merkle`) and the JSON proofs built on it
//! (`pactum::proof`):
//!
//! 1. known answers against an independent implementation, `ct-merkle` 0.3
//!    (roots, inclusion and consistency proofs, both ways verified), for every
//!    tree size up to 64;
//! 2. mutations of every valid inclusion and consistency proof up to size 64,
//!    each of which must be refused — unless the mutated tuple is itself a
//!    valid one (see [`World::judge_inclusion`] for exactly when that is);
//! 3. the JSON proof documents of a real (in-memory) ledger, tampered field by
//!    field, and the checkpoint text's parser.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof as CtConsistency, InclusionProof as CtInclusion, RootHash};
use pactum::chain::{self, CheckpointText, Hash};
use pactum::merkle::{self, Frontier, Nodes};
use pactum::model::{AgreementId, AmendmentId, RecordedAt};
use pactum::proof::{self, ConsistencyProof, InclusionProof, Proof};
use pactum::store::MemStore;
use pactum::Ledger;
use sha2_11::{Digest as _, Sha256 as Sha256_011};

type CtTree = MemoryBackedTree<Sha256_011, Vec<u8>>;

/// Known answers and mutations cover every tree size up to this.
const MAX: u64 = 64;
/// Mutations double sizes, so the reference world holds twice as many leaves.
const WORLD: u64 = 2 * MAX;

fn data(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

fn h32(b: &[u8]) -> Hash {
    b.try_into().expect("a 32-byte hash")
}

fn split_hashes(b: &[u8]) -> Vec<Hash> {
    assert_eq!(b.len() % 32, 0, "a proof is a whole number of hashes");
    b.chunks(32).map(h32).collect()
}

fn ct_root(root: &Hash, size: u64) -> RootHash<Sha256_011> {
    RootHash::new((*root).into(), size)
}

/// The largest power of two below `n` (n ≥ 2), written independently.
fn pow2_below(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The shape of `PATH(m, D[n])` (RFC 9162 §2.1.3.1), leaf side first: for each
/// element, whether it is the left sibling. RFC 9162 verification depends on
/// `(index, size)` only through this shape.
fn inclusion_shape(m: u64, n: u64) -> Vec<bool> {
    if n <= 1 {
        return Vec::new();
    }
    let k = pow2_below(n);
    let (mut v, left) = if m < k {
        (inclusion_shape(m, k), false)
    } else {
        (inclusion_shape(m - k, n - k), true)
    };
    v.push(left);
    v
}

/// The shape of `PROOF(m, D[n])` (RFC 9162 §2.1.4.1): `I` when the old root
/// itself starts the computation (not in the proof), `S` for an element that
/// starts it, `L` for a left sibling (both roots), `R` for a right sibling (new
/// root only). RFC 9162 verification depends on the sizes only through this.
fn consistency_shape(m: u64, n: u64) -> Vec<u8> {
    fn sub(m: u64, n: u64, b: bool, out: &mut Vec<u8>) {
        if m == n {
            out.push(if b { b'I' } else { b'S' });
            return;
        }
        let k = pow2_below(n);
        if m <= k {
            sub(m, k, b, out);
            out.push(b'R');
        } else {
            sub(m - k, n - k, false, out);
            out.push(b'L');
        }
    }
    let mut v = Vec::new();
    if m >= 1 && m <= n {
        sub(m, n, true, &mut v);
    }
    v
}

/// What happened to the mutations of one kind of proof.
#[derive(Default)]
struct Tally {
    tried: AtomicU64,
    refused: AtomicU64,
    /// The mutated tuple was genuinely valid (the true proof for the mutated
    /// parameters, against the true root): accepted, and skipped.
    genuine: AtomicU64,
    /// Only the sizes (or index) changed, to ones of the same proof shape: no
    /// RFC 9162 verifier can tell them apart (ct-merkle accepts them too).
    same_shape: AtomicU64,
    /// Which mutations those were, and how many of each.
    same_shape_kinds: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Tally {
    fn report(&self, what: &str) {
        let (t, r, g, s) = (
            self.tried.load(Relaxed),
            self.refused.load(Relaxed),
            self.genuine.load(Relaxed),
            self.same_shape.load(Relaxed),
        );
        println!(
            "{what}: {t} mutations tried, {r} refused, {g} skipped as genuinely valid, \
             {s} accepted as indistinguishable (same size-independent shape)"
        );
        assert_eq!(t, r + g + s);
        let kinds = self.same_shape_kinds.lock().expect("tally");
        if !kinds.is_empty() {
            println!("{what}: accepted with the same shape: {kinds:?}");
        }
    }

    fn same_shape(&self, what: &str) {
        self.same_shape.fetch_add(1, Relaxed);
        *self
            .same_shape_kinds
            .lock()
            .expect("tally")
            .entry(what.to_string())
            .or_default() += 1;
    }
}

/// The reference world: `WORLD` leaves, and ct-merkle's tree of every prefix.
struct World {
    data: Vec<Vec<u8>>,
    leaves: Vec<Hash>,
    /// `trees[s]`: ct-merkle's tree of the first `s` leaves.
    trees: Vec<CtTree>,
    /// `roots[s]`: ct-merkle's root of the first `s` leaves.
    roots: Vec<Hash>,
}

impl World {
    fn new() -> World {
        let data: Vec<_> = (0..WORLD).map(data).collect();
        let leaves = data.iter().map(|d| chain::leaf(d)).collect();
        let mut trees = vec![CtTree::new()];
        for d in &data {
            let mut t = trees.last().expect("a tree").clone();
            t.push(d.clone());
            trees.push(t);
        }
        let roots = trees.iter().map(|t| h32(t.root().as_bytes())).collect();
        World {
            data,
            leaves,
            trees,
            roots,
        }
    }

    fn true_inclusion(&self, idx: u64, size: u64) -> Option<Vec<Hash>> {
        (idx < size && size <= WORLD).then(|| {
            split_hashes(
                self.trees[size as usize]
                    .prove_inclusion(idx as usize)
                    .as_bytes(),
            )
        })
    }

    fn true_consistency(&self, old: u64, new: u64) -> Option<Vec<Hash>> {
        (old >= 1 && old <= new && new <= WORLD).then(|| {
            split_hashes(
                self.trees[new as usize]
                    .prove_consistency((new - old) as usize)
                    .as_bytes(),
            )
        })
    }

    /// Checks what `merkle::verify_inclusion` says of a mutated tuple:
    ///
    /// * genuinely valid (the value is leaf `idx`, the path is the true path
    ///   for `(idx, size)`, the root the true root of `size`): must be accepted;
    /// * otherwise it must be refused — except when only the index or size
    ///   changed (`moved_from` = the original ones) to ones with the same
    ///   proof shape, which RFC 9162 cannot tell apart: then it must be
    ///   accepted exactly as ct-merkle accepts it.
    ///
    /// Every verdict is also checked against ct-merkle's.
    #[allow(clippy::too_many_arguments)]
    fn judge_inclusion(
        &self,
        tally: &Tally,
        what: &str,
        val: &[u8],
        idx: u64,
        size: u64,
        path: &[Hash],
        root: &Hash,
        moved_from: Option<(u64, u64)>,
    ) {
        tally.tried.fetch_add(1, Relaxed);
        let ours = merkle::verify_inclusion(&chain::leaf(val), idx, size, path, root).is_ok();
        let proof = CtInclusion::<Sha256_011>::from_bytes(path.concat());
        let theirs = ct_root(root, size)
            .verify_inclusion(&val.to_vec(), idx, &proof)
            .is_ok();
        let ctx = format!(
            "inclusion mutation `{what}`: leaf {idx} of {size}, {} elements",
            path.len()
        );
        assert_eq!(
            ours, theirs,
            "{ctx}: we say {ours}, ct-merkle says {theirs}"
        );
        let genuine = idx < size
            && size <= WORLD
            && val == self.data[idx as usize]
            && self.true_inclusion(idx, size).as_deref() == Some(path)
            && *root == self.roots[size as usize];
        if genuine {
            assert!(ours, "{ctx}: a genuinely valid proof was refused");
            tally.genuine.fetch_add(1, Relaxed);
        } else if ours {
            let (i0, s0) = moved_from.unwrap_or_else(|| panic!("{ctx}: accepted"));
            assert!(
                idx < size && inclusion_shape(idx, size) == inclusion_shape(i0, s0),
                "{ctx}: accepted though the shape differs from that of leaf {i0} of {s0}"
            );
            tally.same_shape(what);
        } else {
            tally.refused.fetch_add(1, Relaxed);
        }
    }

    /// As [`World::judge_inclusion`], for `merkle::verify_consistency`.
    #[allow(clippy::too_many_arguments)]
    fn judge_consistency(
        &self,
        tally: &Tally,
        what: &str,
        old: u64,
        new: u64,
        old_root: &Hash,
        new_root: &Hash,
        path: &[Hash],
        moved_from: Option<(u64, u64)>,
    ) {
        tally.tried.fetch_add(1, Relaxed);
        let ours = merkle::verify_consistency(old, new, old_root, new_root, path).is_ok();
        let proof =
            CtConsistency::<Sha256_011>::try_from_bytes(path.concat()).expect("whole hashes");
        let theirs = ct_root(new_root, new)
            .verify_consistency(&ct_root(old_root, old), &proof)
            .is_ok();
        let ctx = format!(
            "consistency mutation `{what}`: {old} → {new}, {} elements",
            path.len()
        );
        assert_eq!(
            ours, theirs,
            "{ctx}: we say {ours}, ct-merkle says {theirs}"
        );
        let genuine = old >= 1
            && old <= new
            && new <= WORLD
            && self.true_consistency(old, new).as_deref() == Some(path)
            && *old_root == self.roots[old as usize]
            && *new_root == self.roots[new as usize];
        if genuine {
            assert!(ours, "{ctx}: a genuinely valid proof was refused");
            tally.genuine.fetch_add(1, Relaxed);
        } else if ours {
            let (o0, n0) = moved_from.unwrap_or_else(|| panic!("{ctx}: accepted"));
            assert!(
                old >= 1 && old <= new && consistency_shape(old, new) == consistency_shape(o0, n0),
                "{ctx}: accepted though the shape differs from that of {o0} → {n0}"
            );
            tally.same_shape(what);
        } else {
            tally.refused.fetch_add(1, Relaxed);
        }
    }
}

/// Runs `f(n)` for every size `1..=MAX` on all CPUs.
fn for_sizes(f: impl Fn(u64) + Sync) {
    let next = AtomicU64::new(1);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let n = next.fetch_add(1, Relaxed);
                if n > MAX {
                    break;
                }
                f(n);
            });
        }
    });
}

// ---------------------------------------------------------------------------
// 1. Known answers against ct-merkle.
// ---------------------------------------------------------------------------

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    let expected: Hash = Sha256_011::digest(b"").into();
    assert_eq!(merkle::empty_root(), expected);
    assert_eq!(h32(CtTree::new().root().as_bytes()), expected);
    assert_eq!(Frontier::default().root(), expected);
    let none: &[Hash] = &[];
    assert_eq!(merkle::root(&none, 0), Ok(expected));
    let some = [chain::leaf(b"x")];
    assert_eq!(merkle::range_root(&some.as_slice(), 1, 1), Ok(expected));
    assert_eq!(Frontier::at(&none, 0), Ok(Frontier::default()));
    // No proofs from or in the empty tree.
    assert!(merkle::inclusion_proof(&none, 0, 0).is_err());
    assert!(merkle::consistency_proof(&some.as_slice(), 0, 1).is_err());
    assert!(merkle::consistency_proof(&some.as_slice(), 0, 0).is_err());
}

#[test]
fn known_answers_against_ct_merkle() {
    let start = Instant::now();
    let data: Vec<Vec<u8>> = (0..MAX).map(data).collect();
    let leaves: Vec<Hash> = data.iter().map(|d| chain::leaf(d)).collect();
    let all = leaves.as_slice();
    let mut cases = 0u64;

    // Leaf hashes: SHA-256(0x00 ‖ data), ct-merkle's too (a one-leaf root).
    for (d, l) in data.iter().zip(&leaves) {
        let mut t = CtTree::new();
        t.push(d.clone());
        assert_eq!(h32(t.root().as_bytes()), *l);
        let mut pre = vec![0u8];
        pre.extend_from_slice(d);
        assert_eq!(*l, <Hash>::from(Sha256_011::digest(&pre)));
        cases += 1;
    }

    let mut trees = vec![CtTree::new()];
    let mut frontier = Frontier::default();
    for n in 1..=MAX {
        let mut t = trees.last().expect("a tree").clone();
        t.push(data[n as usize - 1].clone());
        trees.push(t);
        let tree = &trees[n as usize];
        let prefix = &leaves[..n as usize];

        // The subtrees a push completes are exactly those ending at leaf n.
        let done = frontier.push(leaves[n as usize - 1]);
        let mut expect = Vec::new();
        for level in 1..8u8 {
            let w = 1u64 << level;
            if n % w == 0 {
                expect.push((
                    level,
                    n / w - 1,
                    all.hash(level, n / w - 1).expect("subtree"),
                ));
            }
        }
        assert_eq!(done, expect, "subtrees completed by leaf {}", n - 1);
        assert_eq!(frontier.size(), n);
        assert_eq!(
            Frontier::at(&all, n).as_ref(),
            Ok(&frontier),
            "frontier at {n}"
        );

        // Roots: incremental, from the whole slice, from the prefix.
        let root = h32(tree.root().as_bytes());
        assert_eq!(frontier.root(), root, "frontier root of {n}");
        assert_eq!(merkle::root(&all, n), Ok(root), "root of {n} of all");
        assert_eq!(merkle::root(&prefix, n), Ok(root), "root of prefix {n}");
        cases += 3;

        // Inclusion proofs: equal bytes, and each side verifies the other's.
        for idx in 0..n {
            let ours = merkle::inclusion_proof(&all, idx, n).expect("inclusion proof");
            let ct = tree.prove_inclusion(idx as usize);
            assert_eq!(
                ours.concat(),
                ct.as_bytes(),
                "inclusion proof of {idx} in {n}"
            );
            assert_eq!(merkle::inclusion_proof(&prefix, idx, n).as_ref(), Ok(&ours));
            tree.root()
                .verify_inclusion(
                    &data[idx as usize],
                    idx,
                    &CtInclusion::from_bytes(ours.concat()),
                )
                .unwrap_or_else(|e| panic!("ct-merkle refuses our proof of {idx} in {n}: {e}"));
            merkle::verify_inclusion(
                &leaves[idx as usize],
                idx,
                n,
                &split_hashes(ct.as_bytes()),
                &root,
            )
            .unwrap_or_else(|e| panic!("we refuse ct-merkle's proof of {idx} in {n}: {e}"));
            cases += 1;
        }
        assert!(merkle::inclusion_proof(&all, n, n).is_err());

        // Consistency proofs from every old size m ≤ n.
        for m in 1..=n {
            let ours = merkle::consistency_proof(&all, m, n).expect("consistency proof");
            let ct = tree.prove_consistency((n - m) as usize);
            assert_eq!(ours.concat(), ct.as_bytes(), "consistency proof {m} → {n}");
            assert_eq!(merkle::consistency_proof(&prefix, m, n).as_ref(), Ok(&ours));
            let old = trees[m as usize].root();
            tree.root()
                .verify_consistency(
                    &old,
                    &CtConsistency::try_from_bytes(ours.concat()).expect("hashes"),
                )
                .unwrap_or_else(|e| panic!("ct-merkle refuses our proof {m} → {n}: {e}"));
            merkle::verify_consistency(
                m,
                n,
                &h32(old.as_bytes()),
                &root,
                &split_hashes(ct.as_bytes()),
            )
            .unwrap_or_else(|e| panic!("we refuse ct-merkle's proof {m} → {n}: {e}"));
            cases += 1;
        }
        assert!(
            merkle::consistency_proof(&prefix, n, n + 1).is_err(),
            "beyond the source"
        );
        assert!(
            merkle::consistency_proof(&all, n + 1, n).is_err(),
            "old > new"
        );
    }

    // The root of every range [a, b), against a ct-merkle tree of just it.
    for a in 0..MAX {
        let mut t = CtTree::new();
        assert_eq!(merkle::range_root(&all, a, a), Ok(merkle::empty_root()));
        for b in a + 1..=MAX {
            t.push(data[b as usize - 1].clone());
            assert_eq!(
                merkle::range_root(&all, a, b),
                Ok(h32(t.root().as_bytes())),
                "range root [{a}, {b})"
            );
            cases += 1;
        }
    }

    println!(
        "known answers: {cases} cases checked against ct-merkle in {:.2?}",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 2. Mutations.
// ---------------------------------------------------------------------------

/// Every bit of every element is flipped for every proof (no sampling).
fn flip(path: &mut [Hash], j: usize, bit: usize) {
    path[j][bit / 8] ^= 1 << (bit % 8);
}

#[test]
fn inclusion_mutations_are_refused() {
    let start = Instant::now();
    let w = World::new();
    let tally = Tally::default();
    let flips = AtomicU64::new(0);
    let odd = chain::leaf(b"not a leaf");
    for_sizes(|n| {
        let root = w.roots[n as usize];
        for idx in 0..n {
            let path = w.true_inclusion(idx, n).expect("a proof");
            let val = &w.data[idx as usize];
            let leaf = w.leaves[idx as usize];
            merkle::verify_inclusion(&leaf, idx, n, &path, &root).expect("the true proof verifies");
            let judge =
                |what: &str, val: &[u8], i: u64, s: u64, p: &[Hash], r: &Hash, moved: bool| {
                    w.judge_inclusion(&tally, what, val, i, s, p, r, moved.then_some((idx, n)))
                };

            // Wrong leaf.
            judge("other leaf", b"not a leaf", idx, n, &path, &root, false);
            for other in [idx + 1, idx.wrapping_sub(1), n] {
                if other < WORLD && other != idx {
                    judge(
                        "neighbour's leaf",
                        &w.data[other as usize],
                        idx,
                        n,
                        &path,
                        &root,
                        false,
                    );
                }
            }
            // The leaf's data hashed without its 0x00 domain byte, or taken as the hash.
            assert!(merkle::verify_inclusion(
                &Sha256_011::digest(val).into(),
                idx,
                n,
                &path,
                &root
            )
            .is_err());
            assert!(merkle::verify_inclusion(&odd, idx, n, &path, &root).is_err());

            // Index ±1 (in range or not), and far out of range.
            judge("index + 1", val, idx + 1, n, &path, &root, true);
            if idx > 0 {
                judge("index - 1", val, idx - 1, n, &path, &root, true);
            }
            judge("index = size", val, n, n, &path, &root, true);
            judge("index = u64::MAX", val, u64::MAX, n, &path, &root, true);

            // Size ±1, doubled, halved, 0.
            for (what, s) in [
                ("size + 1", n + 1),
                ("size - 1", n - 1),
                ("size × 2", 2 * n),
                ("size / 2", n / 2),
                ("size 0", 0),
            ] {
                judge(what, val, idx, s, &path, &root, true);
            }
            assert!(merkle::verify_inclusion(&leaf, idx, u64::MAX, &path, &root).is_err());

            // Elements added and removed.
            for (what, extra) in [
                ("zero hash appended", [0u8; 32]),
                ("root appended", root),
                ("leaf appended", leaf),
            ] {
                let mut p = path.clone();
                p.push(extra);
                judge(what, val, idx, n, &p, &root, false);
                let mut p = path.clone();
                p.insert(0, extra);
                judge("element prepended", val, idx, n, &p, &root, false);
            }
            if let Some(last) = path.last() {
                let mut p = path.clone();
                p.push(*last);
                judge("last element repeated", val, idx, n, &p, &root, false);
                judge("first removed", val, idx, n, &path[1..], &root, false);
                judge(
                    "last removed",
                    val,
                    idx,
                    n,
                    &path[..path.len() - 1],
                    &root,
                    false,
                );
                let mut p = path.clone();
                p.reverse();
                if p != path {
                    judge("reversed", val, idx, n, &p, &root, false);
                }
                for j in 0..path.len() {
                    let mut p = path.clone();
                    p[j] = [0; 32];
                    judge("element zeroed", val, idx, n, &p, &root, false);
                }
            }

            // Roots swapped: against the root of every other size.
            for s in 0..=WORLD {
                if s != n {
                    judge(
                        "another size's root",
                        val,
                        idx,
                        n,
                        &path,
                        &w.roots[s as usize],
                        false,
                    );
                }
            }
            judge("the leaf as root", val, idx, n, &path, &leaf, false);

            // Every bit of every element flipped.
            let mut p = path.clone();
            for j in 0..p.len() {
                for bit in 0..256 {
                    flip(&mut p, j, bit);
                    assert!(
                        merkle::verify_inclusion(&leaf, idx, n, &p, &root).is_err(),
                        "bit {bit} of element {j} flipped in the proof of {idx} in {n} accepted"
                    );
                    flip(&mut p, j, bit);
                }
                flips.fetch_add(256, Relaxed);
            }
        }
    });
    tally.report("inclusion");
    println!(
        "inclusion: {} single-bit flips tried and refused; {:.2?}",
        flips.load(Relaxed),
        start.elapsed()
    );
}

#[test]
fn consistency_mutations_are_refused() {
    let start = Instant::now();
    let w = World::new();
    let tally = Tally::default();
    let flips = AtomicU64::new(0);
    for_sizes(|n| {
        let rn = w.roots[n as usize];
        for m in 1..=n {
            let ro = w.roots[m as usize];
            let path = w.true_consistency(m, n).expect("a proof");
            merkle::verify_consistency(m, n, &ro, &rn, &path).expect("the true proof verifies");
            let judge =
                |what: &str, o: u64, nw: u64, a: &Hash, b: &Hash, p: &[Hash], moved: bool| {
                    w.judge_consistency(&tally, what, o, nw, a, b, p, moved.then_some((m, n)))
                };
            // The genuine proof, as a sanity check of the judge (counted as genuine).
            judge("none", m, n, &ro, &rn, &path, false);

            // Sizes ±1, doubled, halved; swapped; old size 0.
            for (what, o, nw) in [
                ("old + 1", m + 1, n),
                ("old - 1", m - 1, n),
                ("new + 1", m, n + 1),
                ("new - 1", m, n - 1),
                ("old × 2", 2 * m, n),
                ("old / 2", m / 2, n),
                ("new × 2", m, 2 * n),
                ("new / 2", m, n / 2),
                ("both × 2", 2 * m, 2 * n),
                ("sizes swapped", n, m),
                ("old 0", 0, n),
                ("new = old", m, m),
            ] {
                if (o, nw) != (m, n) {
                    judge(what, o, nw, &ro, &rn, &path, true);
                }
            }
            judge(
                "old 0, empty root",
                0,
                n,
                &merkle::empty_root(),
                &rn,
                &path,
                false,
            );
            judge(
                "old 0, empty proof",
                0,
                n,
                &merkle::empty_root(),
                &rn,
                &[],
                false,
            );
            judge(
                "old 0, new 0",
                0,
                0,
                &merkle::empty_root(),
                &merkle::empty_root(),
                &[],
                false,
            );

            // Roots swapped or replaced by those of neighbouring sizes.
            if m != n {
                judge("roots swapped", m, n, &rn, &ro, &path, false);
                judge("both roots old", m, n, &ro, &ro, &path, false);
                judge("both roots new", m, n, &rn, &rn, &path, false);
            }
            for s in [m - 1, m + 1, n - 1, n + 1] {
                if s != m {
                    judge(
                        "wrong old root",
                        m,
                        n,
                        &w.roots[s as usize],
                        &rn,
                        &path,
                        false,
                    );
                }
                if s != n {
                    judge(
                        "wrong new root",
                        m,
                        n,
                        &ro,
                        &w.roots[s as usize],
                        &path,
                        false,
                    );
                }
            }

            // Equal sizes: a non-empty proof, or different roots.
            judge("equal sizes, proof [root]", n, n, &rn, &rn, &[rn], false);
            judge(
                "equal sizes, proof [zero]",
                n,
                n,
                &rn,
                &rn,
                &[[0; 32]],
                false,
            );
            if !path.is_empty() {
                judge("equal sizes, this proof", n, n, &rn, &rn, &path, false);
                judge("equal old sizes, this proof", m, m, &ro, &ro, &path, false);
            }
            judge(
                "equal sizes, other root",
                n,
                n,
                &rn,
                &w.roots[n as usize - 1],
                &[],
                false,
            );
            judge(
                "equal sizes, other root",
                n,
                n,
                &w.roots[n as usize + 1],
                &rn,
                &[],
                false,
            );

            // Elements added and removed.
            for (what, extra) in [("zero hash", [0u8; 32]), ("old root", ro), ("new root", rn)] {
                let mut p = path.clone();
                p.push(extra);
                judge(&format!("{what} appended"), m, n, &ro, &rn, &p, false);
                let mut p = path.clone();
                p.insert(0, extra);
                judge(&format!("{what} prepended"), m, n, &ro, &rn, &p, false);
            }
            if !path.is_empty() {
                judge("first removed", m, n, &ro, &rn, &path[1..], false);
                judge(
                    "last removed",
                    m,
                    n,
                    &ro,
                    &rn,
                    &path[..path.len() - 1],
                    false,
                );
                let mut p = path.clone();
                p.push(*path.last().expect("non-empty"));
                judge("last repeated", m, n, &ro, &rn, &p, false);
                let mut p = path.clone();
                p.reverse();
                if p != path {
                    judge("reversed", m, n, &ro, &rn, &p, false);
                }
                for j in 0..path.len() {
                    let mut p = path.clone();
                    p[j] = [0; 32];
                    judge("element zeroed", m, n, &ro, &rn, &p, false);
                }
            }

            // Every bit of every element flipped.
            let mut p = path.clone();
            for j in 0..p.len() {
                for bit in 0..256 {
                    flip(&mut p, j, bit);
                    assert!(
                        merkle::verify_consistency(m, n, &ro, &rn, &p).is_err(),
                        "bit {bit} of element {j} flipped in the proof {m} → {n} accepted"
                    );
                    flip(&mut p, j, bit);
                }
                flips.fetch_add(256, Relaxed);
            }
            // And every bit of either root.
            for bit in 0..256 {
                let mut r = [ro, rn];
                flip(&mut r, 0, bit);
                flip(&mut r, 1, bit);
                assert!(merkle::verify_consistency(m, n, &r[0], &rn, &path).is_err());
                assert!(merkle::verify_consistency(m, n, &ro, &r[1], &path).is_err());
            }
            flips.fetch_add(512, Relaxed);
        }
    });
    tally.report("consistency");
    println!(
        "consistency: {} single-bit flips (path elements and roots) tried and refused; {:.2?}",
        flips.load(Relaxed),
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------
// 3. JSON proofs of a real ledger, and checkpoint texts.
// ---------------------------------------------------------------------------

const BATCHES: &[(i64, &[&str])] = &[
    (
        1_700_000_000_000_000,
        &[
            r#"{"agreement":"acme","id":"start","title":"Start","effective":"2024-01-01","change":[{"op":"establish","title":"Acme supply","parties":[{"id":"acme","name":"Acme"}]},{"op":"add","clause":"price","text":"Ten per unit.","terms":{"unit_price_usd":10}}]}"#,
            r#"{"agreement":"acme","id":"raise","title":"Raise","effective":"2025-01-01","change":[{"op":"amend","clause":"price","text":"Twelve per unit.","set":{"unit_price_usd":12}}]}"#,
        ],
    ),
    (
        1_700_000_100_000_000,
        &[
            r#"{"agreement":"globex","id":"start","title":"Start","effective":"2024-03-01","change":[{"op":"establish","title":"Globex services","parties":[{"id":"globex","name":"Globex"}]},{"op":"add","clause":"term","text":"One year."}]}"#,
            r#"{"agreement":"acme","id":"delivery","title":"Delivery","effective":"2025-06-01","change":[{"op":"add","clause":"delivery","text":"Within ten days."}]}"#,
        ],
    ),
    (
        1_700_000_200_000_000,
        &[
            r#"{"agreement":"globex","id":"extend","title":"Extend","effective":"2025-03-01","change":[{"op":"amend","clause":"term","text":"Two years."}]}"#,
            r#"{"agreement":"acme","id":"raise-again","title":"Raise again","effective":"2026-01-01","change":[{"op":"amend","clause":"price","text":"Fifteen per unit.","set":{"unit_price_usd":15}}]}"#,
            r#"{"agreement":"globex","id":"fee","title":"Fee","effective":"2025-04-01","change":[{"op":"add","clause":"fee","text":"A fee of five.","terms":{"fee_usd":5}}]}"#,
        ],
    ),
];

struct Fixture {
    ledger: Ledger<MemStore>,
    /// (agreement, amendment, seq) of every entry, in seq order.
    ids: Vec<(AgreementId, AmendmentId, u64)>,
    /// `cps[s]`: the checkpoint text after `s` entries.
    cps: Vec<CheckpointText>,
}

fn fixture() -> Fixture {
    let ledger = Ledger::create(MemStore::default(), [3; 16]).expect("create");
    let mut after_batch = Vec::new();
    for (i, (at, lines)) in BATCHES.iter().enumerate() {
        let amendments = pactum::input::parse_str("x.jsonl", &lines.join("\n"))
            .unwrap_or_else(|e| panic!("batch {i}: {e}"));
        ledger
            .append(&amendments, RecordedAt(*at), Default::default())
            .unwrap_or_else(|e| panic!("batch {i}: {e}"));
        after_batch.push(ledger.checkpoint_text());
    }
    let mut ids = Vec::new();
    for line in BATCHES.iter().flat_map(|b| b.1.iter()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let a: AgreementId = v["agreement"]
            .as_str()
            .expect("agreement")
            .parse()
            .expect("id");
        let id: AmendmentId = v["id"].as_str().expect("id").parse().expect("id");
        let seq = ledger.find(&a, &id).expect("find").expect("recorded");
        ids.push((a, id, seq));
    }
    ids.sort_by_key(|x| x.2);
    let n = ledger.head().count;
    assert_eq!(n as usize, ids.len());
    assert!(ids.iter().enumerate().all(|(i, x)| x.2 == i as u64));
    let cps: Vec<_> = (0..=n)
        .map(|s| ledger.checkpoint_text_at(s).expect("checkpoint"))
        .collect();
    assert_eq!(cps[n as usize], ledger.checkpoint_text());
    for cp in &after_batch {
        assert_eq!(*cp, cps[cp.size as usize], "the checkpoint as it was");
    }
    assert!(ledger.checkpoint_text_at(n + 1).is_err());
    Fixture { ledger, ids, cps }
}

fn refuse_inclusion(count: &mut u64, what: &str, p: &InclusionProof, cp: &CheckpointText) {
    *count += 1;
    if let Ok(e) = proof::verify_inclusion(p, cp) {
        panic!(
            "tampered inclusion proof accepted ({what}): {p:?} against {cp} proves entry {}",
            e.seq
        );
    }
    // Also as a document: either it no longer parses or it is still refused.
    let text = serde_json::to_string(p).expect("json");
    if let Ok(Proof::Inclusion(q)) = Proof::parse(&text) {
        assert!(proof::verify_inclusion(&q, cp).is_err(), "{what}, reparsed");
    }
}

fn refuse_consistency(
    count: &mut u64,
    what: &str,
    p: &ConsistencyProof,
    old: &CheckpointText,
    new: &CheckpointText,
) {
    *count += 1;
    assert!(
        proof::verify_consistency(p, old, new).is_err(),
        "tampered consistency proof accepted ({what}): {p:?} from\n{old}to\n{new}"
    );
}

/// Non-canonical, wrong-length and non-base64 spellings of a path element or leaf.
fn bad_hash_texts(h: &Hash) -> Vec<(&'static str, String)> {
    let good = chain::base64(h);
    let mut noncanon = good.clone().into_bytes();
    // 32 bytes end `XYZ=`: Z's two low bits are padding and must be zero.
    let z = noncanon.len() - 2;
    let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let v = b64.iter().position(|c| *c == noncanon[z]).expect("base64");
    noncanon[z] = b64[v ^ 1];
    vec![
        ("truncated to 31 bytes", chain::base64(&h[..31])),
        ("33 bytes", chain::base64(&[&h[..], &[0]].concat())),
        ("empty", String::new()),
        ("no padding", good.trim_end_matches('=').to_string()),
        (
            "non-canonical padding bits",
            String::from_utf8(noncanon).expect("ascii"),
        ),
        (
            "base64url",
            good.replace('+', "-").replace('/', "_")
                + if good.contains(['+', '/']) { "" } else { "!" },
        ),
        ("hex", chain::hex(h)),
        ("trailing space", good.clone() + " "),
        ("a character not base64", format!("*{}", &good[1..])),
    ]
}

#[test]
fn json_inclusion_proofs_verify_and_tampering_is_refused() {
    let start = Instant::now();
    let f = fixture();
    let n = f.ledger.head().count;
    let other_origin = CheckpointText::origin_line(&[4; 16]);
    let mut refused = 0u64;
    let mut leaves = Vec::new();
    for size in 1..=n {
        let cp = &f.cps[size as usize];
        for (a, id, seq) in &f.ids {
            if *seq >= size {
                assert!(proof::prove_inclusion(&f.ledger, a, id, size).is_err());
                continue;
            }
            let p = proof::prove_inclusion(&f.ledger, a, id, size).expect("prove");
            let e =
                proof::verify_inclusion(&p, cp).unwrap_or_else(|e| panic!("{id} in {size}: {e}"));
            assert_eq!(
                (e.seq, &e.amendment.agreement, &e.amendment.id),
                (*seq, a, id)
            );
            assert_eq!(p.proof, "inclusion");
            assert_eq!(p.origin, cp.origin);
            let text = serde_json::to_string_pretty(&p).expect("json");
            assert_eq!(
                Proof::parse(&text),
                Ok(Proof::Inclusion(p.clone())),
                "round trip"
            );
            let entry = chain::unhex(&p.entry).expect("hex");
            if size == n {
                leaves.push(chain::leaf(&entry));
            }
            let path: Vec<Hash> = p
                .path
                .iter()
                .map(|s| h32(&chain::unbase64(s).expect("b64")))
                .collect();
            assert_eq!(path, f.ledger.inclusion_proof(*seq, size).expect("proof"));
            let t = |what: &str, g: &dyn Fn(&mut InclusionProof), refused: &mut u64| {
                let mut q = p.clone();
                g(&mut q);
                refuse_inclusion(refused, what, &q, cp);
            };

            // The kind, the origin, the sizes, the names.
            for kind in ["consistency", "", "Inclusion"] {
                t("proof kind", &|q| q.proof = kind.into(), &mut refused);
            }
            t("origin", &|q| q.origin = other_origin.clone(), &mut refused);
            t(
                "origin in upper case",
                &|q| q.origin = q.origin.to_uppercase(),
                &mut refused,
            );
            for s in [size - 1, size + 1, 0, 2 * size, u64::MAX] {
                t("tree_size", &|q| q.tree_size = s, &mut refused);
            }
            for i in [seq.wrapping_sub(1), seq + 1, size, u64::MAX] {
                t("leaf_index", &|q| q.leaf_index = i, &mut refused);
            }
            for (oa, oid, _) in &f.ids {
                if oa != a {
                    t("agreement", &|q| q.agreement = oa.to_string(), &mut refused);
                }
                if oid != id {
                    t(
                        "amendment",
                        &|q| q.amendment = oid.to_string(),
                        &mut refused,
                    );
                }
            }
            t("agreement empty", &|q| q.agreement.clear(), &mut refused);
            t(
                "amendment upper case",
                &|q| q.amendment = q.amendment.to_uppercase(),
                &mut refused,
            );

            // The entry: every byte changed, with the leaf left or made to match.
            for i in 0..entry.len() {
                let mut b = entry.clone();
                b[i] ^= 0x01;
                t("entry byte", &|q| q.entry = chain::hex(&b), &mut refused);
                t(
                    "entry byte and leaf",
                    &|q| {
                        q.entry = chain::hex(&b);
                        q.leaf = chain::base64(&chain::leaf(&b));
                    },
                    &mut refused,
                );
            }
            for (what, b) in [
                ("entry truncated", entry[..entry.len() - 1].to_vec()),
                ("entry extended", [&entry[..], &[0]].concat()),
                ("entry empty", Vec::new()),
            ] {
                t(what, &|q| q.entry = chain::hex(&b), &mut refused);
                t(
                    what,
                    &|q| {
                        q.entry = chain::hex(&b);
                        q.leaf = chain::base64(&chain::leaf(&b));
                    },
                    &mut refused,
                );
            }
            t(
                "entry odd hex",
                &|q| q.entry = q.entry[1..].to_string(),
                &mut refused,
            );
            t(
                "entry not hex",
                &|q| q.entry = format!("zz{}", &q.entry[2..]),
                &mut refused,
            );
            // Another entry in this one's place (with its own leaf).
            for (oa, oid, oseq) in &f.ids {
                if oseq != seq && *oseq < size {
                    let o = proof::prove_inclusion(&f.ledger, oa, oid, size).expect("prove");
                    t(
                        "another entry",
                        &|q| {
                            q.entry = o.entry.clone();
                            q.leaf = o.leaf.clone();
                        },
                        &mut refused,
                    );
                }
            }

            // The leaf hash: every byte, badly spelled, without its domain byte.
            let leaf = chain::leaf(&entry);
            for i in 0..32 {
                let mut l = leaf;
                l[i] ^= 0x80;
                t("leaf byte", &|q| q.leaf = chain::base64(&l), &mut refused);
            }
            for (what, s) in bad_hash_texts(&leaf) {
                t(what, &|q| q.leaf = s.clone(), &mut refused);
            }
            let raw: Hash = Sha256_011::digest(&entry).into();
            t(
                "leaf without domain byte",
                &|q| q.leaf = chain::base64(&raw),
                &mut refused,
            );

            // The path: every bit of every element, bad spellings, added, removed.
            for j in 0..path.len() {
                for bit in 0..256 {
                    let mut pp = path.clone();
                    flip(&mut pp, j, bit);
                    t(
                        "path bit",
                        &|q| q.path[j] = chain::base64(&pp[j]),
                        &mut refused,
                    );
                }
                for (what, s) in bad_hash_texts(&path[j]) {
                    t(what, &|q| q.path[j] = s.clone(), &mut refused);
                }
                t(
                    "path element removed",
                    &|q| {
                        q.path.remove(j);
                    },
                    &mut refused,
                );
                t(
                    "path element repeated",
                    &|q| q.path.insert(j, q.path[j].clone()),
                    &mut refused,
                );
            }
            t(
                "path element appended",
                &|q| q.path.push(chain::base64(&[0; 32])),
                &mut refused,
            );
            t(
                "root appended",
                &|q| q.path.push(chain::base64(&cp.root)),
                &mut refused,
            );
            t(
                "path element prepended",
                &|q| q.path.insert(0, chain::base64(&leaf)),
                &mut refused,
            );
            if path.len() > 1 {
                t("path reversed", &|q| q.path.reverse(), &mut refused);
            }

            // The checkpoint: root, size, origin; another size's checkpoint.
            for bit in 0..256 {
                let mut c = cp.clone();
                flip(std::slice::from_mut(&mut c.root), 0, bit);
                refuse_inclusion(&mut refused, "checkpoint root bit", &p, &c);
            }
            for s in [size - 1, size + 1, 0, u64::MAX] {
                let c = CheckpointText {
                    size: s,
                    ..cp.clone()
                };
                refuse_inclusion(&mut refused, "checkpoint size", &p, &c);
            }
            let c = CheckpointText {
                origin: other_origin.clone(),
                ..cp.clone()
            };
            refuse_inclusion(&mut refused, "checkpoint origin", &p, &c);
            for other in &f.cps {
                if other.size != size {
                    refuse_inclusion(&mut refused, "another checkpoint", &p, other);
                    // The proof's size made to match the other checkpoint.
                    if *seq < other.size {
                        let q = InclusionProof {
                            tree_size: other.size,
                            ..p.clone()
                        };
                        refuse_inclusion(
                            &mut refused,
                            "another checkpoint, size matched",
                            &q,
                            other,
                        );
                    }
                }
            }
        }
    }
    // The checkpoint roots are ct-merkle's roots of the stored entries' leaves.
    assert_eq!(leaves.len() as u64, n);
    for s in 0..=n {
        assert_eq!(
            merkle::root(&leaves.as_slice(), s),
            Ok(f.cps[s as usize].root)
        );
    }

    // Malformed documents.
    let (a, id, _) = &f.ids[1];
    let p = proof::prove_inclusion(&f.ledger, a, id, n).expect("prove");
    let v = serde_json::to_value(&p).expect("json");
    let mut bad = Vec::new();
    let mut w = v.clone();
    w["extra"] = 1.into();
    bad.push(("unknown field", w));
    for field in [
        "origin",
        "tree_size",
        "leaf_index",
        "agreement",
        "amendment",
        "entry",
        "leaf",
        "path",
        "proof",
    ] {
        let mut w = v.clone();
        w.as_object_mut().expect("object").remove(field);
        bad.push(("missing field", w));
    }
    let mut w = v.clone();
    w["tree_size"] = n.to_string().into();
    bad.push(("size as a string", w));
    let mut w = v.clone();
    w["leaf_index"] = (-1).into();
    bad.push(("negative index", w));
    let mut w = v.clone();
    w["path"] = "".into();
    bad.push(("path not a list", w));
    for (what, w) in bad {
        assert!(Proof::parse(&w.to_string()).is_err(), "{what} parsed: {w}");
    }
    assert!(Proof::parse("").is_err());
    assert!(Proof::parse("{}").is_err());
    println!(
        "JSON inclusion: {refused} tampered proofs refused in {:.2?}",
        start.elapsed()
    );
}

#[test]
fn json_consistency_proofs_verify_and_tampering_is_refused() {
    let start = Instant::now();
    let f = fixture();
    let n = f.ledger.head().count;
    let other_origin = CheckpointText::origin_line(&[4; 16]);
    let mut refused = 0u64;
    let mut genuine = 0u64;
    assert!(
        proof::prove_consistency(&f.ledger, 0, n).is_err(),
        "from the empty tree"
    );
    assert!(
        proof::prove_consistency(&f.ledger, 1, n + 1).is_err(),
        "beyond the ledger"
    );
    assert!(
        proof::prove_consistency(&f.ledger, 2, 1).is_err(),
        "old > new"
    );
    for new in 1..=n {
        for old in 1..=new {
            let (co, cn) = (&f.cps[old as usize], &f.cps[new as usize]);
            let p = proof::prove_consistency(&f.ledger, old, new).expect("prove");
            proof::verify_consistency(&p, co, cn).unwrap_or_else(|e| panic!("{old} → {new}: {e}"));
            let text = serde_json::to_string(&p).expect("json");
            assert_eq!(
                Proof::parse(&text),
                Ok(Proof::Consistency(p.clone())),
                "round trip"
            );
            let path: Vec<Hash> = p
                .path
                .iter()
                .map(|s| h32(&chain::unbase64(s).expect("b64")))
                .collect();
            assert_eq!(path.is_empty(), old == new);
            let t = |what: &str, g: &dyn Fn(&mut ConsistencyProof), refused: &mut u64| {
                let mut q = p.clone();
                g(&mut q);
                refuse_consistency(refused, what, &q, co, cn);
            };
            for kind in ["inclusion", "", "Consistency"] {
                t("proof kind", &|q| q.proof = kind.into(), &mut refused);
            }
            t("origin", &|q| q.origin = other_origin.clone(), &mut refused);
            for s in [old - 1, old + 1, 0, 2 * old, u64::MAX] {
                t("old_size", &|q| q.old_size = s, &mut refused);
            }
            for s in [new - 1, new + 1, 0, 2 * new, u64::MAX] {
                t("tree_size", &|q| q.tree_size = s, &mut refused);
            }
            // Proof sizes and checkpoints both moved to other sizes: refused
            // unless this very path is the true proof between those sizes.
            for (o2, n2) in [
                (old - 1, new),
                (old + 1, new),
                (old, new - 1),
                (old, new + 1),
                (new, old),
                (old + 1, new + 1),
                (0, new),
            ] {
                if o2 > n || n2 > n || (o2, n2) == (old, new) {
                    continue;
                }
                let q = ConsistencyProof {
                    old_size: o2,
                    tree_size: n2,
                    ..p.clone()
                };
                let (c2o, c2n) = (&f.cps[o2 as usize], &f.cps[n2 as usize]);
                let truly = o2 >= 1
                    && o2 <= n2
                    && f.ledger.consistency_proof(o2, n2).expect("proof") == path;
                if truly {
                    proof::verify_consistency(&q, c2o, c2n).expect("genuinely valid");
                    genuine += 1;
                } else {
                    refuse_consistency(&mut refused, "moved sizes", &q, c2o, c2n);
                }
            }
            // Checkpoints swapped, tampered, or of other sizes.
            if old != new {
                refuse_consistency(&mut refused, "checkpoints swapped", &p, cn, co);
                let q = ConsistencyProof {
                    old_size: new,
                    tree_size: old,
                    ..p.clone()
                };
                refuse_consistency(&mut refused, "checkpoints and sizes swapped", &q, cn, co);
            }
            for bit in 0..256 {
                let (mut o2, mut n2) = (co.clone(), cn.clone());
                flip(std::slice::from_mut(&mut o2.root), 0, bit);
                flip(std::slice::from_mut(&mut n2.root), 0, bit);
                refuse_consistency(&mut refused, "old root bit", &p, &o2, cn);
                refuse_consistency(&mut refused, "new root bit", &p, co, &n2);
            }
            let o2 = CheckpointText {
                origin: other_origin.clone(),
                ..co.clone()
            };
            refuse_consistency(&mut refused, "old checkpoint origin", &p, &o2, cn);
            let n2 = CheckpointText {
                origin: other_origin.clone(),
                ..cn.clone()
            };
            refuse_consistency(&mut refused, "new checkpoint origin", &p, co, &n2);
            let o2 = CheckpointText {
                size: old + 1,
                ..co.clone()
            };
            refuse_consistency(&mut refused, "old checkpoint size", &p, &o2, cn);
            let n2 = CheckpointText {
                size: new + 1,
                ..cn.clone()
            };
            refuse_consistency(&mut refused, "new checkpoint size", &p, co, &n2);
            if old == new {
                // Equal sizes: a non-empty proof, or different roots.
                t(
                    "equal sizes, root as proof",
                    &|q| q.path = vec![chain::base64(&cn.root)],
                    &mut refused,
                );
                let other = &f.cps[new as usize - 1].root;
                let o2 = CheckpointText {
                    root: *other,
                    ..co.clone()
                };
                refuse_consistency(&mut refused, "equal sizes, other root", &p, &o2, cn);
                // Old size 0, from the empty tree's own checkpoint.
                let q = ConsistencyProof {
                    old_size: 0,
                    ..p.clone()
                };
                refuse_consistency(&mut refused, "old size 0", &q, &f.cps[0], cn);
                let q = ConsistencyProof {
                    old_size: 0,
                    tree_size: 0,
                    ..p.clone()
                };
                refuse_consistency(&mut refused, "sizes 0", &q, &f.cps[0], &f.cps[0]);
            }
            // The path.
            for j in 0..path.len() {
                for bit in 0..256 {
                    let mut pp = path.clone();
                    flip(&mut pp, j, bit);
                    t(
                        "path bit",
                        &|q| q.path[j] = chain::base64(&pp[j]),
                        &mut refused,
                    );
                }
                for (what, s) in bad_hash_texts(&path[j]) {
                    t(what, &|q| q.path[j] = s.clone(), &mut refused);
                }
                t(
                    "path element removed",
                    &|q| {
                        q.path.remove(j);
                    },
                    &mut refused,
                );
                t(
                    "path element repeated",
                    &|q| q.path.insert(j, q.path[j].clone()),
                    &mut refused,
                );
            }
            t(
                "path element appended",
                &|q| q.path.push(chain::base64(&[0; 32])),
                &mut refused,
            );
            t(
                "old root prepended",
                &|q| q.path.insert(0, chain::base64(&co.root)),
                &mut refused,
            );
            t(
                "new root appended",
                &|q| q.path.push(chain::base64(&cn.root)),
                &mut refused,
            );
        }
    }
    println!(
        "JSON consistency: {refused} tampered proofs refused, {genuine} moved proofs genuinely valid, in {:.2?}",
        start.elapsed()
    );
}

#[test]
fn checkpoint_text_round_trips() {
    let f = fixture();
    for cp in &f.cps {
        let text = cp.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(text.ends_with('\n'));
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "pactum/03030303030303030303030303030303");
        assert_eq!(lines[1], cp.size.to_string());
        assert_eq!(chain::unbase64(lines[2]), Some(cp.root.to_vec()));
        assert_eq!(lines[3], format!("chain {}", chain::hex(&cp.chain)));
        assert_eq!(text.parse::<CheckpointText>().as_ref(), Ok(cp));
        assert_eq!(
            text.trim_end().parse::<CheckpointText>().as_ref(),
            Ok(cp),
            "no final newline"
        );
        assert_eq!(
            cp.checkpoint(),
            f.ledger
                .checkpoint_text_at(cp.size)
                .expect("cp")
                .checkpoint()
        );
    }
    assert_eq!(f.cps[0].root, merkle::empty_root());
    assert_eq!(f.cps[0].size, 0);
    assert_eq!(f.cps[0].chain, chain::genesis(&[3; 16]));
    // A large size round-trips too.
    let big = CheckpointText {
        size: u64::MAX,
        ..f.cps[1].clone()
    };
    assert_eq!(big.to_string().parse::<CheckpointText>(), Ok(big));
}

/// The lines of a good checkpoint text, with line `i` replaced by `with`.
fn replace_line(good: &str, i: usize, with: &str) -> String {
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    lines[i] = with.to_string();
    lines.join("\n") + "\n"
}

#[test]
fn malformed_checkpoint_texts_are_refused() {
    let f = fixture();
    let cp = &f.cps[5];
    let good = cp.to_string();
    let lines: Vec<&str> = good.lines().collect();
    let (origin, size, root, chain_line) = (lines[0], lines[1], lines[2], lines[3]);
    let hex_origin = &origin[7..];
    let mut bad: Vec<(String, String)> = Vec::new();
    let mut add = |what: &str, text: String| bad.push((what.to_string(), text));

    // Missing lines.
    add("empty", String::new());
    add("a newline", "\n".into());
    for i in 0..4 {
        let mut l = lines.clone();
        l.remove(i);
        add(&format!("line {i} missing"), l.join("\n") + "\n");
    }
    add("origin only", format!("{origin}\n"));
    add("no chain line", format!("{origin}\n{size}\n{root}\n"));
    add("blank line first", format!("\n{good}"));

    // The origin line.
    for o in [
        format!("pactum/{}", &hex_origin[1..]),
        format!("pactum/{hex_origin}0"),
        format!("pactum/{}g", &hex_origin[1..]),
        format!("Pactum/{hex_origin}"),
        format!("pactum:{hex_origin}"),
        format!("pactum/ {}", &hex_origin[1..]),
        format!("pactum/{hex_origin} "),
        format!(" pactum/{hex_origin}"),
        format!("pactum{hex_origin}0"),
        format!("other/{hex_origin}"),
        hex_origin.to_string(),
        String::new(),
        format!("pactum/{}é", &hex_origin[2..]),
    ] {
        add("origin line", replace_line(&good, 0, &o));
    }

    // The size line.
    for s in [
        "05",
        "00",
        "-5",
        " 5",
        "5 ",
        "",
        "0x5",
        "5.0",
        "1e3",
        "18446744073709551616",
        "five",
        "５",
    ] {
        add(&format!("size `{s}`"), replace_line(&good, 1, s));
    }

    // The root line.
    let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut noncanon = root.as_bytes().to_vec();
    let z = noncanon.len() - 2;
    for flip in 1..4 {
        let v = b64.iter().position(|c| *c == noncanon[z]).expect("b64");
        noncanon[z] = b64[(v & !3) | ((v & 3) ^ flip)];
        add(
            "root with padding bits set",
            replace_line(
                &good,
                2,
                &String::from_utf8(noncanon.clone()).expect("ascii"),
            ),
        );
        noncanon[z] = b64[v];
    }
    for r in [
        format!("!{}", &root[1..]),
        format!("{}.", &root[..43]),
        root.trim_end_matches('=').to_string(),
        format!("{root}="),
        format!("{root}===="),
        format!("{}==", &root[..42]),
        chain::base64(&cp.root[..31]),
        chain::base64(&[&cp.root[..], &[0]].concat()),
        chain::base64(&[&cp.root[..], &[0, 0, 0]].concat()),
        chain::hex(&cp.root),
        format!("{root} "),
        format!(" {root}"),
        format!("{}={}", &root[..20], &root[21..]),
        root.replace('+', "-").replace('/', "_") + "x",
        String::new(),
    ] {
        add("root line", replace_line(&good, 2, &r));
    }

    // The chain line.
    let chain_hex = &chain_line[6..];
    for c in [
        format!("chain {}", &chain_hex[1..]),
        format!("chain {chain_hex}0"),
        format!("chain  {chain_hex}"),
        format!("chain{chain_hex}"),
        format!("Chain {chain_hex}"),
        format!("chain:{chain_hex}"),
        format!("chain {}g", &chain_hex[1..]),
        format!("chain {chain_hex} "),
        chain_hex.to_string(),
        format!("chain {}", chain::base64(&cp.chain)),
        String::new(),
    ] {
        add("chain line", replace_line(&good, 3, &c));
    }

    let mut refused = 0;
    for (what, text) in &bad {
        assert!(
            text.parse::<CheckpointText>().is_err(),
            "malformed checkpoint ({what}) accepted:\n{text}"
        );
        refused += 1;
    }
    assert_eq!(good.parse::<CheckpointText>().as_ref(), Ok(cp));
    println!("{refused} malformed checkpoint texts refused");
}

/// C2SP tlog-checkpoint (and Go's `tlog.ParseTree`, which requires the size
/// line to be exactly `strconv.FormatInt(n, 10)`) allows one spelling of a
/// size. The parser refuses leading zeros but `u64::from_str` also takes a `+`.
#[test]
fn checkpoint_size_has_one_spelling() {
    let f = fixture();
    let good = f.cps[5].to_string();
    let text = replace_line(&good, 1, "+5");
    assert!(
        text.parse::<CheckpointText>().is_err(),
        "a size line of `+5` is accepted:\n{text}"
    );
}
