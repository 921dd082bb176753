//! Integrity checks that report the exact entry at fault. Reads only.
//!
//! The audit recomputes every leaf and link from the stored bytes, checks
//! that seqs are gapless and in place, that recorded times never decrease,
//! that both indexes match the entries one to one, that the head metadata
//! matches the last entry, that the stored projections (timeline pages and
//! snapshots, which `state` reads) are exactly what the entries give, and
//! optionally that the ledger extends a checkpoint. It streams (memory does not grow with the ledger), never
//! panics on damaged data, and never reads the clock.

use std::fmt;

use crate::chain::{self, Checkpoint, CheckpointText, Hash, Origin};
use crate::codec::{self, Entry};
use crate::ledger::{Head, StoredEntry, LAYOUT_VERSION};
use crate::merkle::{self, Frontier};
use crate::model::RecordedAt;
use crate::projection::Replay;
use crate::store::{keys, Store, StoreError};
use crate::timeline::{self, StepKey, StepRec};

/// What kind of damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The ledger's metadata (format, origin, head) is missing or malformed, or a key is foreign.
    Meta,
    /// An entry is missing.
    Gap,
    /// An entry stands where another should (swapped, duplicated, inserted).
    Misplaced,
    /// An entry's bytes do not decode (or break a limit, or are not canonical).
    Decode,
    /// An entry's bytes do not hash to its stored leaf.
    LeafMismatch,
    /// An entry's stored chain hash is not the link of the previous one and its leaf.
    LinkMismatch,
    /// An entry's recorded time is earlier than the previous one's.
    TimeRegression,
    /// An index or idempotency key does not match the entries.
    IndexMismatch,
    /// The head metadata does not match the entries.
    HeadMismatch,
    /// The ledger does not extend the checkpoint given.
    CheckpointMismatch,
    /// A stored Merkle subtree hash does not match the entries.
    TreeMismatch,
    /// The storage holds fewer (or other) entries than the last write acknowledged.
    WitnessMismatch,
    /// A line of an export file cannot be read.
    Unreadable,
    /// An export line's readable fields differ from its entry's bytes.
    FieldMismatch,
    /// The stored projections (timeline pages, snapshots, retraction keys)
    /// do not match the entries: `state` would not say what they say.
    ProjectionMismatch,
}

impl Kind {
    /// The kind as printed: `leaf-mismatch`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Meta => "meta",
            Kind::Gap => "gap",
            Kind::Misplaced => "misplaced",
            Kind::Decode => "decode",
            Kind::LeafMismatch => "leaf-mismatch",
            Kind::LinkMismatch => "link-mismatch",
            Kind::TimeRegression => "time-regression",
            Kind::IndexMismatch => "index-mismatch",
            Kind::HeadMismatch => "head-mismatch",
            Kind::CheckpointMismatch => "checkpoint-mismatch",
            Kind::TreeMismatch => "tree-mismatch",
            Kind::WitnessMismatch => "witness-mismatch",
            Kind::Unreadable => "unreadable",
            Kind::FieldMismatch => "field-mismatch",
            Kind::ProjectionMismatch => "projection-mismatch",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first integrity failure found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The entry at fault, when one is.
    pub seq: Option<u64>,
    /// What kind of damage.
    pub kind: Kind,
    /// What exactly.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(s) => write!(f, "{} at seq {s}: {}", self.kind, self.detail),
            None => write!(f, "{}: {}", self.kind, self.detail),
        }
    }
}

fn fail(seq: Option<u64>, kind: Kind, detail: impl Into<String>) -> Failure {
    Failure {
        seq,
        kind,
        detail: detail.into(),
    }
}

/// The audit's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// No failure.
    pub ok: bool,
    /// Entries verified (before the failure, if any).
    pub entries: u64,
    /// The checkpoint recomputed over the entries verified.
    pub head: Checkpoint,
    /// The first failure.
    pub failure: Option<Failure>,
}

/// Checks a chain entry by entry, from the bytes: shared by the ledger
/// audit, the export audit and import.
#[derive(Debug)]
pub struct Verifier {
    genesis: Hash,
    prev: Hash,
    next: u64,
    last_time: Option<RecordedAt>,
    tree: Frontier,
    nodes: Vec<(u8, u64, Hash)>,
    expect: Option<Expect>,
}

/// What a checkpoint says the ledger held after `count` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// Entries.
    pub count: u64,
    /// Chain hash after them.
    pub chain: Hash,
    /// Merkle root over them, when the checkpoint gives one.
    pub root: Option<Hash>,
}

impl From<Checkpoint> for Expect {
    fn from(c: Checkpoint) -> Expect {
        Expect {
            count: c.count,
            chain: c.hash,
            root: None,
        }
    }
}

impl From<&CheckpointText> for Expect {
    fn from(c: &CheckpointText) -> Expect {
        Expect {
            count: c.size,
            chain: c.chain,
            root: Some(c.root),
        }
    }
}

impl Verifier {
    /// Starts at the genesis of `origin`.
    pub fn new(origin: &Origin, expect: Option<Expect>) -> Verifier {
        let genesis = chain::genesis(origin);
        Verifier {
            genesis,
            prev: genesis,
            next: 0,
            last_time: None,
            tree: Frontier::default(),
            nodes: Vec::new(),
            expect,
        }
    }

    /// The Merkle subtrees (level ≥ 1) completed by the last entry checked.
    pub fn nodes(&self) -> &[(u8, u64, Hash)] {
        &self.nodes
    }

    /// The Merkle root over the entries verified so far.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Entries verified so far.
    pub fn count(&self) -> u64 {
        self.next
    }

    /// The checkpoint over the entries verified so far.
    pub fn head(&self) -> Checkpoint {
        Checkpoint {
            count: self.next,
            hash: self.prev,
        }
    }

    /// Verifies the entry stored under `seq` with these bytes and hashes.
    pub fn check(
        &mut self,
        seq: u64,
        bytes: &[u8],
        stored_leaf: &Hash,
        stored_chain: &Hash,
    ) -> Result<Entry, Failure> {
        if seq > self.next {
            return Err(fail(
                Some(self.next),
                Kind::Gap,
                format!(
                    "entry {} is missing (the next one stored is {seq})",
                    self.next
                ),
            ));
        }
        if seq < self.next {
            return Err(fail(
                Some(seq),
                Kind::Misplaced,
                format!("entry {seq} appears again after entry {}", self.next - 1),
            ));
        }
        let leaf = chain::leaf(bytes);
        if &leaf != stored_leaf {
            return Err(fail(Some(seq), Kind::LeafMismatch, {
                let (got, stored) = chain::short_pair(&leaf, stored_leaf);
                format!("the entry's bytes hash to {got}, not to its stored leaf {stored}")
            }));
        }
        let e = codec::decode_entry(bytes).map_err(|d| fail(Some(seq), Kind::Decode, d.0))?;
        if e.seq != seq {
            return Err(fail(
                Some(seq),
                Kind::Misplaced,
                format!(
                    "the entry at position {seq} is entry {} (moved, swapped or duplicated)",
                    e.seq
                ),
            ));
        }
        let link = chain::link(&self.prev, seq, &leaf);
        if &link != stored_chain {
            return Err(fail(Some(seq), Kind::LinkMismatch, {
                let (want, stored) = chain::short_pair(&link, stored_chain);
                let from = match seq.checked_sub(1) {
                    Some(p) => format!("entry {p}"),
                    None => "the genesis hash".to_string(),
                };
                format!("its chain hash should be {want} from {from} but is {stored}")
            }));
        }
        if self.last_time.is_some_and(|t| e.recorded_at < t) {
            return Err(fail(
                Some(seq),
                Kind::TimeRegression,
                format!(
                    "recorded at {}, before the previous entry ({})",
                    e.recorded_at,
                    self.last_time.map(|t| t.to_string()).unwrap_or_default()
                ),
            ));
        }
        let mut tree = self.tree.clone();
        let nodes = tree.push(leaf);
        if let Some(cp) = self.expect {
            if cp.count == seq + 1 && cp.chain != link {
                return Err(fail(Some(seq), Kind::CheckpointMismatch, format!(
                    "the chain hash after {} entries is {}, not the checkpoint's {}: history up to the checkpoint was rewritten",
                    cp.count, chain::hex(&link), chain::hex(&cp.chain)
                )));
            }
            if cp.count == seq + 1 && cp.root.is_some_and(|r| r != tree.root()) {
                return Err(fail(Some(seq), Kind::CheckpointMismatch, format!(
                    "the Merkle root after {} entries is {}, not the checkpoint's: history up to the checkpoint was rewritten",
                    cp.count, chain::base64(&tree.root())
                )));
            }
        }
        self.tree = tree;
        self.nodes = nodes;
        self.prev = link;
        self.next = seq + 1;
        self.last_time = Some(e.recorded_at);
        Ok(e)
    }

    /// Final checks against the checkpoint, once every entry is verified.
    pub fn finish(&self) -> Result<(), Failure> {
        if let Some(cp) = self.expect {
            if cp.count > self.next {
                return Err(fail(None, Kind::CheckpointMismatch, format!(
                    "the ledger holds {} entries, fewer than the checkpoint's {}: its tail was truncated", self.next, cp.count
                )));
            }
            if cp.count == 0 && cp.chain != self.genesis {
                return Err(fail(
                    None,
                    Kind::CheckpointMismatch,
                    "the checkpoint's hash is not this ledger's genesis hash",
                ));
            }
            if cp.count == 0 && cp.root.is_some_and(|r| r != merkle::empty_root()) {
                return Err(fail(
                    None,
                    Kind::CheckpointMismatch,
                    "the checkpoint of size 0 has a Merkle root other than the empty tree's",
                ));
            }
        }
        Ok(())
    }
}

/// A hash shortened for messages.
pub fn short(h: &Hash) -> String {
    chain::hex(&h[..6])
}

/// Audits a store: every entry, link, index and the head.
pub fn audit_store<S: Store + ?Sized>(
    store: &S,
    checkpoint: Option<Expect>,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, StoreError> {
    let mut report = Report {
        ok: false,
        entries: 0,
        head: Checkpoint {
            count: 0,
            hash: [0; 32],
        },
        failure: None,
    };
    let done = |mut r: Report, v: Option<&Verifier>, f: Failure| {
        if let Some(v) = v {
            r.entries = v.count();
            r.head = v.head();
        }
        r.failure = Some(f);
        Ok(r)
    };
    // Metadata.
    let format = store.get(&keys::meta("format"))?;
    if format.as_deref() != Some(&[LAYOUT_VERSION][..]) {
        return done(
            report,
            None,
            fail(
                None,
                Kind::Meta,
                format!("the layout version is {format:?}, not [{LAYOUT_VERSION}]"),
            ),
        );
    }
    let origin: Origin = match store.get(&keys::meta("origin"))?.map(<[u8; 16]>::try_from) {
        Some(Ok(o)) => o,
        _ => {
            return done(
                report,
                None,
                fail(None, Kind::Meta, "the origin is missing or not 16 bytes"),
            )
        }
    };
    let head = match store.get(&keys::meta("head"))?.as_deref().map(Head::decode) {
        Some(Some(h)) => h,
        _ => {
            return done(
                report,
                None,
                fail(
                    None,
                    Kind::Meta,
                    "the head metadata is missing or malformed",
                ),
            )
        }
    };
    let mut v = Verifier::new(&origin, checkpoint);
    report.head = v.head();
    let mut projections = Projections::default();
    let mut expected_keys = MultisetHash::default();
    let mut stopped: Option<Failure> = None;
    // Meanwhile, on the other core: the sums of the stored index keys and
    // Merkle nodes, and the replay of the stored projections.
    let (entries, side) = std::thread::scope(|scope| {
        let side = scope.spawn(|| -> Result<Side, StoreError> {
            Ok(Side {
                keys: stored_keys(store, u64::MAX, head.count)?,
                pages: stored_steps(store)?,
            })
        });
        let entries = (|| -> Result<(), StoreError> {
            // Entries, with their index keys.
            let end = keys::prefix_end(&[keys::ENTRY]);
            for item in store.scan(&[keys::ENTRY], Some(&end)) {
                let (k, value) = item?;
                let Some(seq) = keys::entry_seq(&k) else {
                    stopped = Some(fail(
                        Some(v.count()),
                        Kind::Misplaced,
                        "a malformed entry key is stored",
                    ));
                    break;
                };
                let Some(stored) = StoredEntry::split(&value) else {
                    stopped = Some(fail(
                        Some(seq),
                        Kind::Decode,
                        "the stored value is too short to hold an entry and its hashes",
                    ));
                    break;
                };
                let e = match v.check(seq, stored.bytes, &stored.leaf, &stored.chain) {
                    Ok(e) => e,
                    Err(f) => {
                        stopped = Some(f);
                        break;
                    }
                };
                // The index keys and Merkle nodes this entry implies, compared with
                // the stored ones below in one ordered scan (not a read per entry).
                for (k, val) in implied_keys(seq, &e, v.nodes()) {
                    expected_keys.add(&key_hash(&k, &val), false);
                }
                if let Some(f) = projections.entry(store, seq, &e)? {
                    stopped = Some(f);
                    break;
                }
                if seq % 4096 == 0 {
                    progress(seq);
                }
            }
            Ok(())
        })();
        let side = side
            .join()
            .unwrap_or_else(|_| Err(StoreError::Io("the audit's second thread failed".into())));
        (entries, side)
    });
    entries?;
    let side = side?;
    // The keys of the entries verified: on a difference, find the first
    // entry whose keys are wrong (it comes before any failure found above).
    let upto = v.count();
    let strays = side.keys.strays;
    let stored = if stopped.is_none() {
        side.keys.sum
    } else {
        stored_keys(store, upto, head.count)?.sum
    };
    if stored != expected_keys {
        if let Some(f) = first_key_failure(store, &origin, upto)? {
            return done(report, Some(&v), f);
        }
    }
    if let Some(f) = stopped {
        return done(report, Some(&v), f);
    }
    let count = v.count();
    // The head.
    if head.count != count || head.chain != v.head().hash || head.recorded_at != v.last_time {
        let seq = if head.count > count {
            Some(count)
        } else {
            count.checked_sub(1)
        };
        return done(
            report,
            Some(&v),
            fail(seq, Kind::HeadMismatch, {
                let (said, given) = chain::short_pair(&head.chain, &v.head().hash);
                format!(
                        "the head metadata says {} entries ending {said} (recorded {}), the entries give {} ending {given} (recorded {})",
                        head.count,
                        head.recorded_at.map_or("-".into(), |t| t.to_string()),
                        count,
                        v.last_time.map_or("-".into(), |t| t.to_string())
                    )
            }),
        );
    }
    // The witness of the last acknowledged write.
    if let Err(e) = crate::ledger::check_witness(store, &head) {
        let detail = match e {
            crate::error::Error::Damaged { detail, .. } => detail,
            other => other.to_string(),
        };
        return done(report, Some(&v), fail(None, Kind::WitnessMismatch, detail));
    }
    // Index keys with no entry behind them, stray Merkle nodes (found by
    // the second thread's scan, against the head's count, which is `count`).
    if let Some(f) = strays {
        return done(report, Some(&v), f);
    }
    // The stored projections: what `state` reads.
    if let Some(f) = projections.finish(store, side.pages)? {
        return done(report, Some(&v), f);
    }
    // Nothing else belongs in the key space.
    for item in store.scan(&[], None) {
        let (k, _) = item?;
        match k.first() {
            Some(&keys::ENTRY)
            | Some(&keys::BY_AGREEMENT)
            | Some(&keys::BY_ID)
            | Some(&keys::TREE)
            | Some(&keys::PAGE)
            | Some(&keys::SNAPSHOT)
            | Some(&keys::RETRACTED) => {}
            Some(&keys::META)
                if [
                    keys::meta("format"),
                    keys::meta("origin"),
                    keys::meta("head"),
                ]
                .contains(&k) => {}
            _ => {
                return done(
                    report,
                    Some(&v),
                    fail(
                        None,
                        Kind::Meta,
                        format!("a foreign key is stored: {:?}", String::from_utf8_lossy(&k)),
                    ),
                )
            }
        }
    }
    if let Err(f) = v.finish() {
        return done(report, Some(&v), f);
    }
    report.ok = true;
    report.entries = count;
    report.head = v.head();
    Ok(report)
}

fn stray_seq(prefix: u8, k: &[u8], val: &[u8]) -> Option<u64> {
    if prefix == keys::BY_AGREEMENT {
        keys::split_by_agreement(k).map(|(_, s)| s)
    } else {
        val.try_into().ok().map(u64::from_be_bytes)
    }
}

fn check_index_key(prefix: u8, k: &[u8], val: &[u8], count: u64) -> Option<Failure> {
    // Each entry's own keys were checked in the main pass, and the counts
    // agree, so the keys and entries match one to one if every key is well
    // formed and in range.
    let parsed = if prefix == keys::BY_AGREEMENT {
        keys::split_by_agreement(k).filter(|_| val.is_empty())
    } else {
        keys::split_by_id(k)
            .zip(<[u8; 8]>::try_from(val).ok())
            .map(|((a, _), s)| (a, u64::from_be_bytes(s)))
    };
    match parsed {
        None => Some(fail(
            None,
            Kind::IndexMismatch,
            format!(
                "a malformed key is stored: {:?}",
                String::from_utf8_lossy(k)
            ),
        )),
        Some((agreement, seq)) if seq >= count => Some(fail(
            Some(seq),
            Kind::IndexMismatch,
            format!("a key of `{agreement}` names entry {seq}, beyond the last"),
        )),
        Some(_) => None,
    }
}

/// A multiset hash: the sum modulo 2^256 of the SHA-256 of each element.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct MultisetHash([u64; 4]);

impl MultisetHash {
    fn add(&mut self, h: &Hash, negate: bool) {
        let mut carry = 0u128;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let mut x = u64::from_le_bytes(h[i * 8..i * 8 + 8].try_into().unwrap_or_default());
            if negate {
                x = !x;
            }
            let sum = *limb as u128 + x as u128 + carry;
            *limb = sum as u64;
            carry = sum >> 64;
        }
        if negate {
            // Two's complement: −h = !h + 1.
            let mut carry = 1u128;
            for limb in self.0.iter_mut() {
                let sum = *limb as u128 + carry;
                *limb = sum as u64;
                carry = sum >> 64;
                if carry == 0 {
                    break;
                }
            }
        }
    }
}

/// The hash of one live step of an agreement, as entries give it and as pages store it.
fn step_hash(agreement: &str, step: &StepRec) -> Hash {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"pactum-step\0");
    h.update(agreement.as_bytes());
    h.update([0]);
    h.update(crate::codec::encode_unbounded(step));
    h.finalize().into()
}

/// Checks the stored projections against the entries: the live steps the
/// entries give (a multiset hash, computed while they stream) must be the
/// steps the pages hold; each agreement's pages must replay in order, and
/// every snapshot must be the replay before the page it starts; every
/// retraction must have its retraction key and no other key may stand.
#[derive(Default)]
struct Projections {
    expected: MultisetHash,
    retractions: u64,
}

fn projection_failure(detail: impl Into<String>) -> Failure {
    fail(None, Kind::ProjectionMismatch, detail)
}

impl Projections {
    /// Notes the steps an entry adds (or, for a retraction, removes).
    fn entry<S: Store + ?Sized>(
        &mut self,
        store: &S,
        seq: u64,
        e: &Entry,
    ) -> Result<Option<Failure>, StoreError> {
        let a = &e.amendment;
        let Some(target) = a.retracts() else {
            for s in timeline::steps_of(seq, a) {
                self.expected
                    .add(&step_hash(a.agreement.as_str(), &s), false);
            }
            return Ok(None);
        };
        self.retractions += 1;
        if store
            .get(&keys::retracted(&a.agreement, target))?
            .as_deref()
            != Some(&seq.to_be_bytes()[..])
        {
            return Ok(Some(fail(
                Some(seq),
                Kind::ProjectionMismatch,
                format!(
                    "the retraction key of `{}` / `{target}` does not name this entry",
                    a.agreement
                ),
            )));
        }
        // The target is an earlier entry, found through its (verified) idempotency key.
        let t = store
            .get(&keys::by_id(&a.agreement, target))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes)
            .filter(|t| *t < seq);
        let target_entry = match t {
            Some(t) => match store.get(&keys::entry(t))? {
                Some(v) => crate::ledger::decode_stored(t, &v).ok().map(|(e, _)| e),
                None => None,
            },
            None => None,
        };
        let Some(te) = target_entry else {
            return Ok(Some(fail(
                Some(seq),
                Kind::ProjectionMismatch,
                format!("the amendment `{target}` it retracts is not an earlier entry"),
            )));
        };
        for s in timeline::steps_of(te.seq, &te.amendment) {
            self.expected
                .add(&step_hash(a.agreement.as_str(), &s), true);
        }
        Ok(None)
    }

    /// Compares the entries' live steps with the pages' (from [`stored_steps`])
    /// and counts the retraction keys.
    fn finish<S: Store + ?Sized>(
        &self,
        store: &S,
        pages: Result<MultisetHash, Failure>,
    ) -> Result<Option<Failure>, StoreError> {
        let stored = match pages {
            Ok(m) => m,
            Err(f) => return Ok(Some(f)),
        };
        if stored != self.expected {
            return Ok(Some(projection_failure(
                "the timeline pages do not hold exactly the live changes of the entries",
            )));
        }
        let end = keys::prefix_end(&[keys::RETRACTED]);
        let n = store.scan(&[keys::RETRACTED], Some(&end)).count() as u64;
        if n != self.retractions {
            return Ok(Some(projection_failure(format!(
                "{n} retraction keys are stored for {} retractions",
                self.retractions
            ))));
        }
        Ok(None)
    }
}

/// What the audit's second thread finds.
struct Side {
    /// The sums of the stored `a`, `i` and `t` keys, and the first stray.
    keys: StoredKeys,
    /// The sum of the pages' steps, or the first fault in the pages and snapshots.
    pages: Result<MultisetHash, Failure>,
}

/// Replays every agreement's pages in order, comparing each snapshot with
/// the replay before its page; returns the multiset hash of the steps.
fn stored_steps<S: Store + ?Sized>(store: &S) -> Result<Result<MultisetHash, Failure>, StoreError> {
    {
        let mut stored = MultisetHash::default();
        let page_end = keys::prefix_end(&[keys::PAGE]);
        let snap_end = keys::prefix_end(&[keys::SNAPSHOT]);
        let mut snaps = store.scan(&[keys::SNAPSHOT], Some(&snap_end)).peekable();
        let mut current: Option<(String, Replay, StepKey)> = None;
        for item in store.scan(&[keys::PAGE], Some(&page_end)) {
            let (k, v) = item?;
            let Some((name, key)) = keys::split_projection(&k) else {
                return Ok(Err(projection_failure(format!(
                    "a malformed page key is stored: {:?}",
                    String::from_utf8_lossy(&k)
                ))));
            };
            let steps = match timeline::decode_page(&v) {
                Ok(s) if !s.is_empty() && s.len() <= timeline::PAGE_STEPS => s,
                Ok(_) => {
                    return Ok(Err(projection_failure(format!(
                        "a page of `{name}` holds no step or too many"
                    ))))
                }
                Err(e) => return Ok(Err(projection_failure(format!("a page of `{name}`: {e}")))),
            };
            if current.as_ref().is_none_or(|(n, _, _)| n != name) {
                current = Some((name.to_string(), Replay::new(), [0; 16]));
            }
            let Some((_, replay, last)) = current.as_mut() else {
                continue;
            };
            // Snapshots: each must stand at this page's start, or at a later one.
            loop {
                if matches!(snaps.peek(), Some(Err(_))) {
                    if let Some(Err(e)) = snaps.next() {
                        return Err(e);
                    }
                }
                let Some(Ok((sk, sv))) = snaps.peek() else {
                    break;
                };
                match sk[1..].cmp(&k[1..]) {
                    std::cmp::Ordering::Less => {
                        return Ok(Err(projection_failure(format!(
                            "a snapshot stands where no page starts: {:?}",
                            String::from_utf8_lossy(sk)
                        ))))
                    }
                    std::cmp::Ordering::Equal => {
                        if timeline::encode_snapshot(replay) != *sv {
                            return Ok(Err(projection_failure(format!(
                                "a snapshot of `{name}` is not the replay of the steps before it"
                            ))));
                        }
                        snaps.next();
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            if steps[0].key() != key {
                return Ok(Err(projection_failure(format!(
                    "a page of `{name}` does not start at its key"
                ))));
            }
            for s in &steps {
                let sk = s.key();
                if sk <= *last && *last != [0; 16] {
                    return Ok(Err(projection_failure(format!(
                        "the pages of `{name}` are out of order"
                    ))));
                }
                *last = sk;
                if let Err(c) = replay.apply(&s.step()) {
                    return Ok(Err(projection_failure(format!(
                        "the stored timeline of `{name}` does not replay: {c}"
                    ))));
                }
                stored.add(&step_hash(name, s), false);
            }
        }
        if let Some(snap) = snaps.next() {
            let (sk, _) = snap?;
            return Ok(Err(projection_failure(format!(
                "a snapshot stands where no page starts: {:?}",
                String::from_utf8_lossy(&sk)
            ))));
        }
        Ok(Ok(stored))
    }
}

/// The `a`, `i` and `t` keys (with values) that entry `seq` implies.
fn implied_keys(seq: u64, e: &Entry, nodes: &[(u8, u64, Hash)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let a = &e.amendment;
    let mut out = vec![
        (keys::by_agreement(&a.agreement, seq), Vec::new()),
        (keys::by_id(&a.agreement, &a.id), seq.to_be_bytes().to_vec()),
    ];
    for &(level, index, hash) in nodes {
        out.push((keys::tree(level, index), hash.to_vec()));
    }
    out
}

fn key_hash(k: &[u8], v: &[u8]) -> Hash {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update((k.len() as u32).to_be_bytes())
        .chain_update(k)
        .chain_update(v)
        .finalize()
        .into()
}

/// What one ordered scan of the stored `a`, `i` and `t` keys finds.
struct StoredKeys {
    /// The multiset hash of those that belong to the first `upto` entries
    /// (malformed ones are left to `strays`).
    sum: MultisetHash,
    /// The first key that cannot belong to a ledger of `count` entries: an
    /// index key beyond the count-th or naming no entry, a malformed key, a
    /// Merkle node that is not a complete subtree of `count` leaves.
    strays: Option<Failure>,
}

fn stored_keys<S: Store + ?Sized>(
    store: &S,
    upto: u64,
    count: u64,
) -> Result<StoredKeys, StoreError> {
    let mut sum = MultisetHash::default();
    let mut strays = None;
    for prefix in [keys::BY_AGREEMENT, keys::BY_ID, keys::TREE] {
        let mut n = 0u64;
        for item in store.scan(&[prefix], Some(&keys::prefix_end(&[prefix]))) {
            let (k, val) = item?;
            n += 1;
            let seq = match prefix {
                keys::BY_AGREEMENT => keys::split_by_agreement(&k).map(|(_, s)| s),
                keys::BY_ID => <[u8; 8]>::try_from(val.as_slice())
                    .ok()
                    .map(u64::from_be_bytes),
                _ => keys::split_tree(&k).and_then(|(level, index)| {
                    index
                        .checked_add(1)
                        .and_then(|i| i.checked_mul(1u64.checked_shl(u32::from(level))?))
                        .map(|end| end - 1)
                }),
            };
            if seq.is_some_and(|s| s < upto) {
                sum.add(&key_hash(&k, &val), false);
            }
            if strays.is_none() {
                strays = stray(prefix, &k, &val, n, count);
            }
        }
    }
    Ok(StoredKeys { sum, strays })
}

/// Whether the `n`-th stored key of its kind cannot belong to a ledger of
/// `count` entries.
fn stray(prefix: u8, k: &[u8], val: &[u8], n: u64, count: u64) -> Option<Failure> {
    if prefix == keys::TREE {
        // Exactly one node per complete subtree (count − popcount(count) of them).
        let complete = keys::split_tree(k).is_some_and(|(level, index)| {
            (1..64).contains(&level)
                && index
                    .checked_add(1)
                    .and_then(|i| i.checked_mul(1u64 << level))
                    .is_some_and(|end| end <= count)
        });
        if !complete || val.len() != 32 || n > count - count.count_ones() as u64 {
            return Some(fail(
                None,
                Kind::TreeMismatch,
                format!(
                    "a stray Merkle node key is stored: {:?}",
                    String::from_utf8_lossy(k)
                ),
            ));
        }
        return None;
    }
    if n > count {
        let what = if prefix == keys::BY_AGREEMENT {
            "index"
        } else {
            "idempotency"
        };
        return Some(fail(
            stray_seq(prefix, k, val),
            Kind::IndexMismatch,
            format!(
                "a {what} key names no entry: {}",
                String::from_utf8_lossy(&k[1..])
            ),
        ));
    }
    // Checked cheaply: the key must name a real entry of its agreement.
    check_index_key(prefix, k, val, count)
}

/// The first of the first `upto` entries whose index keys or Merkle nodes
/// are missing or wrong, read key by key (only when the sums differ).
fn first_key_failure<S: Store + ?Sized>(
    store: &S,
    origin: &Origin,
    upto: u64,
) -> Result<Option<Failure>, StoreError> {
    let mut v = Verifier::new(origin, None);
    let end = keys::prefix_end(&[keys::ENTRY]);
    for item in store.scan(&keys::entry(0), Some(&end)) {
        let (k, value) = item?;
        let (Some(seq), Some(stored)) = (keys::entry_seq(&k), StoredEntry::split(&value)) else {
            break;
        };
        if seq >= upto {
            break;
        }
        let Ok(e) = v.check(seq, stored.bytes, &stored.leaf, &stored.chain) else {
            break;
        };
        let a = &e.amendment;
        if store
            .get(&keys::by_agreement(&a.agreement, seq))?
            .is_none_or(|v| !v.is_empty())
        {
            return Ok(Some(fail(
                Some(seq),
                Kind::IndexMismatch,
                format!("the index of `{}` does not list this entry", a.agreement),
            )));
        }
        let id_seq = store.get(&keys::by_id(&a.agreement, &a.id))?;
        if id_seq.as_deref() != Some(&seq.to_be_bytes()[..]) {
            return Ok(Some(fail(
                Some(seq),
                Kind::IndexMismatch,
                format!(
                    "the idempotency key of `{}` / `{}` does not point at this entry",
                    a.agreement, a.id
                ),
            )));
        }
        for &(level, index, hash) in v.nodes() {
            if store.get(&keys::tree(level, index))?.as_deref() != Some(&hash[..]) {
                return Ok(Some(fail(
                    Some(seq),
                    Kind::TreeMismatch,
                    format!("the stored Merkle node {level}/{index}, completed by this entry, is missing or wrong"),
                )));
            }
        }
    }
    Ok(None)
}
