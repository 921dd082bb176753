//! The stored format: every key and value pactum keeps in a store, and the
//! small reads that interpret them. The writer (`ledger`, `timeline`) and
//! every reader (`audit`, `export`, `proof`) stand on this module; it imports
//! none of them. `docs/format.md` gives the same bytes for outsiders.
//!
//! - [`keys`]: the key space, one byte of kind then the key's parts;
//! - [`Head`] (meta key `head`) and the head witness record ([`witness_record`]);
//! - [`StoredEntry`]: an entry value, `entry_bytes ‖ leaf ‖ chain`;
//! - [`entry_keys`]: every key one entry implies (entry, index, idempotency,
//!   retraction, Merkle nodes) — the one rule the writer stages, the audit
//!   expects and the tamper tests forge;
//! - pages ([`StepRec`], [`encode_page`]) and snapshots ([`encode_snapshot`])
//!   of the stored projections.
//!
//! ```
//! use pactum::layout::{keys, Head};
//! assert_eq!(keys::entry(1), [b'e', 0, 0, 0, 0, 0, 0, 0, 1]);
//! let head = Head { count: 0, chain: [0; 32], recorded_at: None };
//! assert_eq!(Head::decode(&head.encode()), Some(head));
//! ```

use serde::{Deserialize, Serialize};

use crate::chain::{self, Checkpoint, Hash, Origin};
use crate::codec::{self, Entry};
use crate::error::Error;
use crate::merkle;
use crate::model::*;
use crate::projection::{Replay, Step};
use crate::store::Store;

/// The key layout: one byte of kind, then the key's parts.
pub mod keys {
    use crate::model::{AgreementId, AmendmentId};

    /// Prefix of meta keys.
    pub const META: u8 = b'm';
    /// Prefix of entries by seq.
    pub const ENTRY: u8 = b'e';
    /// Prefix of the per-agreement index.
    pub const BY_AGREEMENT: u8 = b'a';
    /// Prefix of the idempotency keys.
    pub const BY_ID: u8 = b'i';
    /// Prefix of the Merkle tree's complete subtrees (level ≥ 1).
    pub const TREE: u8 = b't';
    /// Prefix of the timeline pages (derived: see `timeline`).
    pub const PAGE: u8 = b'l';
    /// Prefix of the replay snapshots (derived: see `timeline`).
    pub const SNAPSHOT: u8 = b's';
    /// Prefix of the retraction keys: which entry retracts an amendment.
    pub const RETRACTED: u8 = b'r';
    /// Prefix of the key-change keys: which entries of an agreement set its
    /// parties' keys (a signed establish, a rekey).
    pub const KEY_CHANGE: u8 = b'k';

    fn of_agreement(kind: u8, agreement: &AgreementId, extra: usize) -> Vec<u8> {
        let mut k = Vec::with_capacity(agreement.as_str().len() + 2 + extra);
        k.push(kind);
        k.extend_from_slice(agreement.as_str().as_bytes());
        k.push(0);
        k
    }
    /// `l` + agreement + 0x00: the prefix of an agreement's pages.
    pub fn page_prefix(agreement: &AgreementId) -> Vec<u8> {
        of_agreement(PAGE, agreement, 16)
    }
    /// `l` + agreement + 0x00 + step key (date, seq, pos) of the page's first step.
    pub fn page(agreement: &AgreementId, step: &[u8; 16]) -> Vec<u8> {
        let mut k = page_prefix(agreement);
        k.extend_from_slice(step);
        k
    }
    /// `s` + agreement + 0x00: the prefix of an agreement's snapshots.
    pub fn snapshot_prefix(agreement: &AgreementId) -> Vec<u8> {
        of_agreement(SNAPSHOT, agreement, 16)
    }
    /// `s` + agreement + 0x00 + step key of the step the snapshot precedes.
    pub fn snapshot(agreement: &AgreementId, step: &[u8; 16]) -> Vec<u8> {
        let mut k = snapshot_prefix(agreement);
        k.extend_from_slice(step);
        k
    }
    /// Splits a page or snapshot key into (agreement, step key).
    pub fn split_projection(key: &[u8]) -> Option<(&str, [u8; 16])> {
        let rest = key.get(1..)?;
        let nul = rest.iter().position(|b| *b == 0)?;
        let name = std::str::from_utf8(&rest[..nul]).ok()?;
        Some((name, rest[nul + 1..].try_into().ok()?))
    }
    /// `k` + agreement + 0x00: the prefix of an agreement's key-change keys.
    pub fn key_change_prefix(agreement: &AgreementId) -> Vec<u8> {
        of_agreement(KEY_CHANGE, agreement, 8)
    }
    /// `k` + agreement + 0x00 + u64_be(seq) of an entry that sets keys (value empty).
    pub fn key_change(agreement: &AgreementId, seq: u64) -> Vec<u8> {
        let mut k = key_change_prefix(agreement);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    /// The seq of a key-change key.
    pub fn key_change_seq(key: &[u8]) -> Option<u64> {
        key.len()
            .checked_sub(8)
            .and_then(|n| key[n..].try_into().ok())
            .map(u64::from_be_bytes)
    }
    /// `r` + agreement + 0x00 + id of a retracted amendment (value: the retraction's seq).
    pub fn retracted(agreement: &AgreementId, id: &AmendmentId) -> Vec<u8> {
        let mut k = of_agreement(RETRACTED, agreement, id.as_str().len());
        k.extend_from_slice(id.as_str().as_bytes());
        k
    }

    /// `t` + level + u64_be(index): the root of leaves `[index·2^level, (index+1)·2^level)`.
    pub fn tree(level: u8, index: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(10);
        k.push(TREE);
        k.push(level);
        k.extend_from_slice(&index.to_be_bytes());
        k
    }
    /// Splits a tree key into (level, index).
    pub fn split_tree(key: &[u8]) -> Option<(u8, u64)> {
        match key {
            [TREE, level, rest @ ..] => rest
                .try_into()
                .ok()
                .map(|b| (*level, u64::from_be_bytes(b))),
            _ => None,
        }
    }

    /// `m` + name.
    pub fn meta(name: &str) -> Vec<u8> {
        let mut k = vec![META];
        k.extend_from_slice(name.as_bytes());
        k
    }
    /// `e` + u64_be(seq).
    pub fn entry(seq: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(9);
        k.push(ENTRY);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    /// The seq of an entry key.
    pub fn entry_seq(key: &[u8]) -> Option<u64> {
        match key {
            [ENTRY, rest @ ..] => rest.try_into().ok().map(u64::from_be_bytes),
            _ => None,
        }
    }
    /// `a` + agreement + 0x00 (the prefix of one agreement's index keys).
    pub fn agreement_prefix(agreement: &AgreementId) -> Vec<u8> {
        let mut k = Vec::with_capacity(agreement.as_str().len() + 10);
        k.push(BY_AGREEMENT);
        k.extend_from_slice(agreement.as_str().as_bytes());
        k.push(0);
        k
    }
    /// `a` + agreement + 0x00 + u64_be(seq).
    pub fn by_agreement(agreement: &AgreementId, seq: u64) -> Vec<u8> {
        let mut k = agreement_prefix(agreement);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    /// Splits an index key into (agreement, seq).
    pub fn split_by_agreement(key: &[u8]) -> Option<(&str, u64)> {
        let rest = key.strip_prefix(&[BY_AGREEMENT])?;
        let nul = rest.iter().position(|b| *b == 0)?;
        let name = std::str::from_utf8(&rest[..nul]).ok()?;
        let seq = u64::from_be_bytes(rest[nul + 1..].try_into().ok()?);
        Some((name, seq))
    }
    /// `i` + agreement + 0x00 + amendment id.
    pub fn by_id(agreement: &AgreementId, id: &AmendmentId) -> Vec<u8> {
        let mut k = Vec::with_capacity(agreement.as_str().len() + id.as_str().len() + 2);
        k.push(BY_ID);
        k.extend_from_slice(agreement.as_str().as_bytes());
        k.push(0);
        k.extend_from_slice(id.as_str().as_bytes());
        k
    }
    /// Splits an idempotency key into (agreement, amendment id).
    pub fn split_by_id(key: &[u8]) -> Option<(&str, &str)> {
        let rest = key.strip_prefix(&[BY_ID])?;
        let nul = rest.iter().position(|b| *b == 0)?;
        Some((
            std::str::from_utf8(&rest[..nul]).ok()?,
            std::str::from_utf8(&rest[nul + 1..]).ok()?,
        ))
    }
    /// The first key after every key starting with `prefix`.
    pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
        let mut end = prefix.to_vec();
        while let Some(last) = end.pop() {
            if last < 0xff {
                end.push(last + 1);
                return end;
            }
        }
        vec![0xff; prefix.len() + 1]
    }
}

/// The layout version of the key space (meta key `format`). Version 3 is
/// version 2's key space with a sled store's entry values in its entry log
/// (`store::entry_log`); a version 2 ledger is upgraded on open
/// ([`FORMER_LAYOUT_VERSION`]).
pub const LAYOUT_VERSION: u8 = 3;
/// The layout version a ledger may still have: read as it is, and upgraded
/// by the first open (a sled store moves its entry values to its log when it
/// opens, then the ledger writes the new `format`).
pub const FORMER_LAYOUT_VERSION: u8 = 2;

/// The ledger's head: entry count, chain hash after the last entry, its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Entries recorded.
    pub count: u64,
    /// Chain hash after the last entry (genesis when empty).
    pub chain: Hash,
    /// Recorded time of the last entry.
    pub recorded_at: Option<RecordedAt>,
}

impl Head {
    /// The checkpoint `N:HASH`.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            count: self.count,
            hash: self.chain,
        }
    }

    /// Stored form: u64_be count ‖ chain ‖ i64_be recorded_at (or 0 bytes when empty).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(48);
        v.extend_from_slice(&self.count.to_be_bytes());
        v.extend_from_slice(&self.chain);
        if let Some(t) = self.recorded_at {
            v.extend_from_slice(&t.0.to_be_bytes());
        }
        v
    }

    /// Parses the stored form.
    pub fn decode(b: &[u8]) -> Option<Head> {
        if b.len() != 40 && b.len() != 48 {
            return None;
        }
        let count = u64::from_be_bytes(b[0..8].try_into().ok()?);
        let chain: Hash = b[8..40].try_into().ok()?;
        let recorded_at = if b.len() == 48 {
            Some(RecordedAt(i64::from_be_bytes(b[40..48].try_into().ok()?)))
        } else {
            None
        };
        if (count == 0) != recorded_at.is_none() {
            return None;
        }
        Some(Head {
            count,
            chain,
            recorded_at,
        })
    }
}

/// The length of the head witness record.
pub const WITNESS_LEN: usize = 57;

/// The head witness record: `u8(len)` ‖ the encoded head (len bytes,
/// zero-padded to 48) ‖ the first 8 bytes of
/// `SHA-256("pactum-witness" ‖ the 49 bytes before)`. A store keeps it
/// outside its key space ([`Store::witness_put`]) and writes it in place.
pub fn witness_record(head: &Head) -> [u8; WITNESS_LEN] {
    use sha2::Digest;
    let head = head.encode();
    let mut r = [0u8; WITNESS_LEN];
    r[0] = head.len() as u8;
    r[1..1 + head.len()].copy_from_slice(&head);
    let check = sha2::Sha256::new()
        .chain_update(b"pactum-witness")
        .chain_update(&r[..49])
        .finalize();
    r[49..].copy_from_slice(&check[..8]);
    r
}

/// What a store's witness bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Witness {
    /// No witness: none written, an empty file (a kill before the first
    /// record), or a record torn by a crash during its write (the commit
    /// before it was already durable).
    None,
    /// The head of the last acknowledged write.
    Head(Head),
    /// Bytes that are no witness record: damage.
    Malformed,
}

/// Interprets a store's witness bytes ([`Store::witness_get`]).
pub fn read_witness(bytes: Option<&[u8]>) -> Witness {
    let Some(bytes) = bytes else {
        return Witness::None;
    };
    if bytes.is_empty() {
        return Witness::None;
    }
    // A bare head of 40 or 48 bytes (the witness of version 1) still reads.
    if bytes.len() != WITNESS_LEN {
        return Head::decode(bytes).map_or(Witness::Malformed, Witness::Head);
    }
    let len = usize::from(bytes[0]);
    let Some(head) = bytes.get(1..1 + len).and_then(Head::decode) else {
        return Witness::None;
    };
    if witness_record(&head)[..] == bytes[..] {
        Witness::Head(head)
    } else {
        Witness::None
    }
}

/// A stored entry value: `entry_bytes ‖ leaf (32) ‖ chain (32)`.
pub struct StoredEntry<'a> {
    /// The entry's exact bytes.
    pub bytes: &'a [u8],
    /// Its stored leaf hash.
    pub leaf: Hash,
    /// Its stored chain hash.
    pub chain: Hash,
}

impl<'a> StoredEntry<'a> {
    /// Splits a stored value.
    pub fn split(value: &'a [u8]) -> Option<StoredEntry<'a>> {
        let n = value.len().checked_sub(64)?;
        if n == 0 {
            return None;
        }
        Some(StoredEntry {
            bytes: &value[..n],
            leaf: value[n..n + 32].try_into().ok()?,
            chain: value[n + 32..].try_into().ok()?,
        })
    }

    /// Joins the parts into a stored value.
    pub fn join(bytes: &[u8], leaf: &Hash, chain: &Hash) -> Vec<u8> {
        let mut v = Vec::with_capacity(bytes.len() + 64);
        v.extend_from_slice(bytes);
        v.extend_from_slice(leaf);
        v.extend_from_slice(chain);
        v
    }
}

/// Every key one new entry implies, with its value, in the order the writer
/// stages them: the entry with its hashes, its index and idempotency keys,
/// its retraction key (a retraction), and the Merkle subtrees it completes
/// (`nodes`, from [`merkle::Frontier::push`]).
pub fn entry_keys(
    e: &Entry,
    bytes: &[u8],
    leaf: &Hash,
    link: &Hash,
    nodes: &[(u8, u64, Hash)],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::with_capacity(4 + nodes.len());
    out.push((keys::entry(e.seq), StoredEntry::join(bytes, leaf, link)));
    out.extend(implied_keys(e, nodes));
    out
}

/// The keys an entry implies beside its own (index, idempotency,
/// retraction, Merkle nodes): [`entry_keys`] without the entry value, for
/// readers that have the entry already (the audit sums them).
pub fn implied_keys(e: &Entry, nodes: &[(u8, u64, Hash)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let a = &e.amendment;
    let mut out = Vec::with_capacity(3 + nodes.len());
    out.push((keys::by_agreement(&a.agreement, e.seq), Vec::new()));
    out.push((
        keys::by_id(&a.agreement, &a.id),
        e.seq.to_be_bytes().to_vec(),
    ));
    if let Some(target) = a.retracts() {
        out.push((
            keys::retracted(&a.agreement, target),
            e.seq.to_be_bytes().to_vec(),
        ));
    }
    if a.sets_keys() {
        out.push((keys::key_change(&a.agreement, e.seq), Vec::new()));
    }
    for (level, index, hash) in nodes {
        out.push((keys::tree(*level, *index), hash.to_vec()));
    }
    out
}

fn damaged(seq: Option<u64>, detail: impl Into<String>) -> Error {
    Error::Damaged {
        seq,
        detail: detail.into(),
    }
}

/// The keys in force of `agreement`'s parties after every entry stored
/// (`None`: not signed): its signed establish, then its rekeys in recording
/// order, found through its key-change keys.
pub fn keys_in_force<S: Store + ?Sized>(
    store: &S,
    agreement: &AgreementId,
) -> Result<Option<crate::note::Keys>, Error> {
    keys_in_force_before(store, agreement, u64::MAX)
}

/// The keys `agreement`'s rekeys retired: (party, its old key, seq of the
/// rekey that replaced it), in recording order (for refusals that name a
/// retired key).
pub fn retired_keys<S: Store + ?Sized>(
    store: &S,
    agreement: &AgreementId,
) -> Result<Vec<(PartyId, crate::note::VerifierKey, u64)>, Error> {
    let mut in_force: Option<crate::note::Keys> = None;
    let mut retired = Vec::new();
    for e in key_changes(store, agreement, u64::MAX)? {
        if let (Some(keys), Some(Op::Rekey { party, .. })) =
            (&in_force, e.amendment.changes.first().map(|c| &c.op))
        {
            if let Some(old) = keys.get(party) {
                retired.push((party.clone(), old.clone(), e.seq));
            }
        }
        in_force = crate::note::keys_after(in_force, &e.amendment);
    }
    Ok(retired)
}

/// [`keys_in_force`] as they were when entry `seq` was recorded: set by
/// the entries before it.
pub fn keys_in_force_before<S: Store + ?Sized>(
    store: &S,
    agreement: &AgreementId,
    seq: u64,
) -> Result<Option<crate::note::Keys>, Error> {
    Ok(key_changes(store, agreement, seq)?
        .iter()
        .fold(None, |k, e| crate::note::keys_after(k, &e.amendment)))
}

/// The entries before `seq` that set `agreement`'s keys (its signed
/// establish, its rekeys), in recording order, through its `k` keys.
fn key_changes<S: Store + ?Sized>(
    store: &S,
    agreement: &AgreementId,
    seq: u64,
) -> Result<Vec<Entry>, Error> {
    let prefix = keys::key_change_prefix(agreement);
    let end = keys::key_change(agreement, seq);
    let mut out = Vec::new();
    for item in store.scan(&prefix, Some(&end)) {
        let (k, _) = item?;
        let seq = keys::key_change_seq(&k)
            .ok_or_else(|| damaged(None, "a key-change key is malformed"))?;
        let e = read_entry(store, seq)?
            .ok_or_else(|| damaged(Some(seq), "a key-change key names a missing entry"))?;
        if e.amendment.agreement != *agreement || !e.amendment.sets_keys() {
            return Err(damaged(
                Some(seq),
                "a key-change key names an entry that sets no keys of its agreement",
            ));
        }
        out.push(e);
    }
    Ok(out)
}

/// Reads the origin of a store's ledger, or `None` when the store holds none.
pub fn read_origin<S: Store + ?Sized>(store: &S) -> Result<Option<Origin>, Error> {
    let Some(format) = store.get(&keys::meta("format"))? else {
        return Ok(None);
    };
    if format != [LAYOUT_VERSION] && format != [FORMER_LAYOUT_VERSION] {
        return Err(damaged(None, format!(
            "ledger layout version {format:?} is not known (this pactum reads version {LAYOUT_VERSION})"
        )));
    }
    let origin = store
        .get(&keys::meta("origin"))?
        .ok_or_else(|| damaged(None, "the origin is missing"))?;
    let origin: Origin = origin
        .try_into()
        .map_err(|_| damaged(None, "the origin is not 16 bytes"))?;
    Ok(Some(origin))
}

/// Upgrades a ledger of layout [`FORMER_LAYOUT_VERSION`] to
/// [`LAYOUT_VERSION`] (one commit of the `format` key; the key space is the
/// same, and a sled store moved its entry values to its log as it opened).
/// Returns whether it did.
pub fn upgrade<S: Store + ?Sized>(store: &S) -> Result<bool, Error> {
    if store.get(&keys::meta("format"))?.as_deref() != Some(&[FORMER_LAYOUT_VERSION]) {
        return Ok(false);
    }
    store.commit(vec![crate::store::Write::Put(
        keys::meta("format"),
        vec![LAYOUT_VERSION],
    )])?;
    Ok(true)
}

/// Splits, checks the leaf of, and decodes a stored entry value.
pub fn decode_stored(seq: u64, value: &[u8]) -> Result<(Entry, Hash), Error> {
    let stored =
        StoredEntry::split(value).ok_or_else(|| damaged(Some(seq), "entry value too short"))?;
    if chain::leaf(stored.bytes) != stored.leaf {
        return Err(damaged(
            Some(seq),
            "the entry's bytes do not match its leaf hash",
        ));
    }
    let e = codec::decode_entry(stored.bytes).map_err(|d| damaged(Some(seq), d.0))?;
    if e.seq != seq {
        return Err(damaged(
            Some(seq),
            format!("the entry stored at seq {seq} says seq {}", e.seq),
        ));
    }
    Ok((e, stored.chain))
}

/// The seq a key holds as its value (`u64_be`), if the key is stored.
pub fn stored_seq<S: Store + ?Sized>(
    store: &S,
    key: &[u8],
    what: &str,
) -> Result<Option<u64>, Error> {
    match store.get(key)? {
        None => Ok(None),
        Some(v) => {
            Ok(Some(u64::from_be_bytes(v.as_slice().try_into().map_err(
                |_| damaged(None, format!("malformed {what} value")),
            )?)))
        }
    }
}

/// Reads, checks the leaf of, and decodes the entry at `seq` of a store.
pub fn read_entry<S: Store + ?Sized>(store: &S, seq: u64) -> Result<Option<Entry>, Error> {
    match store.get(&keys::entry(seq))? {
        None => Ok(None),
        Some(v) => decode_stored(seq, &v).map(|(e, _)| Some(e)),
    }
}

/// Compares the store's head with the witness of the last acknowledged write.
/// A witness behind the head is normal (a crash between commit and witness);
/// a witness ahead of it means the store lost acknowledged entries.
pub fn check_witness<S: Store + ?Sized>(store: &S, head: &Head) -> Result<(), Error> {
    let w = match read_witness(store.witness_get()?.as_deref()) {
        Witness::None => return Ok(()),
        Witness::Head(w) => w,
        Witness::Malformed => {
            return Err(damaged(
                None,
                "the head witness file (pactum.head) is malformed",
            ))
        }
    };
    if w.count > head.count || (w.count == head.count && w.chain != head.chain) {
        return Err(damaged(None, {
            let (stored, acked) = chain::short_pair(&head.chain, &w.chain);
            format!(
                "the storage returned {} entries ending {stored}, but {} entries ending {acked} were acknowledged: sled's files were truncated or damaged",
                head.count, w.count
            )
        }));
    }
    Ok(())
}

/// The Merkle tree's nodes in a store: leaves from the entry values, complete
/// subtrees (level ≥ 1) from the `t` keys.
pub struct StoreNodes<'a, S: Store + ?Sized>(pub &'a S);

impl<S: Store + ?Sized> merkle::Nodes for StoreNodes<'_, S> {
    type Error = Error;
    fn hash(&self, level: u8, index: u64) -> Result<Hash, Error> {
        if level == 0 {
            let v = self
                .0
                .get(&keys::entry(index))?
                .ok_or_else(|| damaged(Some(index), "the entry is missing"))?;
            return Ok(StoredEntry::split(&v)
                .ok_or_else(|| damaged(Some(index), "entry value too short"))?
                .leaf);
        }
        let v = self
            .0
            .get(&keys::tree(level, index))?
            .ok_or_else(|| damaged(None, format!("the Merkle node {level}/{index} is missing")))?;
        v.try_into().map_err(|_| {
            damaged(
                None,
                format!("the Merkle node {level}/{index} is not 32 bytes"),
            )
        })
    }
}

/// The most steps one page holds.
pub use crate::limits::PAGE_STEPS_MAX as PAGE_STEPS;

/// The position of a step: packed date, seq, position (16 bytes, big-endian,
/// so byte order is timeline order).
pub type StepKey = [u8; 16];

/// The key of a position.
pub fn step_key(date: Date, seq: u64, pos: u32) -> StepKey {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&date.packed().to_be_bytes());
    k[4..12].copy_from_slice(&seq.to_be_bytes());
    k[12..].copy_from_slice(&pos.to_be_bytes());
    k
}

/// One step as a page stores it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRec {
    /// Its effective date.
    pub date: Date,
    /// Seq of its entry.
    pub seq: u64,
    /// Its position in the amendment.
    pub pos: u32,
    /// Id of its amendment.
    pub id: AmendmentId,
    /// The change.
    pub change: Change,
}

impl StepRec {
    /// Its timeline position.
    pub fn key(&self) -> StepKey {
        step_key(self.date, self.seq, self.pos)
    }

    /// As a [`Step`] for [`Replay::apply`].
    pub fn step(&self) -> Step<'_> {
        Step {
            date: self.date,
            seq: self.seq,
            pos: self.pos,
            id: &self.id,
            change: &self.change,
        }
    }
}

/// The steps of one amendment (none for a retraction), in timeline order.
pub fn steps_of(seq: u64, a: &Amendment) -> Vec<StepRec> {
    let mut v: Vec<StepRec> = a
        .changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            Some(StepRec {
                date: c.effective.or(a.effective)?,
                seq,
                pos: i as u32,
                id: a.id.clone(),
                change: c.clone(),
            })
        })
        .collect();
    v.sort_by_key(StepRec::key);
    v
}

/// The first byte of a page of references (layout 3): the byte after it
/// are the step keys of its steps, 16 bytes each; each step's amendment id
/// and change are its entry's. A page of copies (layout 2, still read) is
/// the bincode of its steps whole, and starts with the low byte of its step
/// count (1 to [`PAGE_STEPS`]).
pub const PAGE_OF_REFERENCES: u8 = 0xff;

/// Encodes a page: [`PAGE_OF_REFERENCES`] ‖ the step key of each step.
pub fn encode_page(steps: &[StepRec]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + 16 * steps.len());
    v.push(PAGE_OF_REFERENCES);
    for s in steps {
        v.extend_from_slice(&s.key());
    }
    v
}

/// Decodes a page of `agreement`: a page of references reads the entries it
/// names (each must hold that change of that agreement, effective on that
/// date); a page of copies holds its steps.
pub fn decode_page<S: Store + ?Sized>(
    store: &S,
    agreement: &str,
    bytes: &[u8],
) -> Result<Vec<StepRec>, Error> {
    let bad = |what: String| damaged(None, format!("a page of `{agreement}`: {what}"));
    let Some((&PAGE_OF_REFERENCES, refs)) = bytes.split_first() else {
        return codec::decode_unbounded(bytes).map_err(|e| bad(format!("undecodable page: {e}")));
    };
    if refs.is_empty() || refs.len() % 16 != 0 {
        return Err(bad(format!("a page of {} bytes", bytes.len())));
    }
    let mut out = Vec::with_capacity(refs.len() / 16);
    // The entries this page names, each read once (an amendment whose
    // changes fall on several dates is named at several places of a page).
    let mut read: Vec<Entry> = Vec::new();
    for r in refs.chunks_exact(16) {
        let packed = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
        let seq = u64::from_be_bytes(r[4..12].try_into().unwrap_or([0xff; 8]));
        let pos = u32::from_be_bytes([r[12], r[13], r[14], r[15]]);
        let date = Date::from_packed(packed)
            .ok_or_else(|| bad(format!("step date {packed} is no date")))?;
        let at = match read.iter().position(|e| e.seq == seq) {
            Some(at) => at,
            None => {
                read.push(
                    read_entry(store, seq)?
                        .ok_or_else(|| bad(format!("it names seq {seq}, which is not recorded")))?,
                );
                read.len() - 1
            }
        };
        let e = &read[at];
        let a = &e.amendment;
        let change = a
            .changes
            .get(pos as usize)
            .filter(|_| a.agreement.as_str() == agreement)
            .filter(|c| c.effective.or(a.effective) == Some(date))
            .ok_or_else(|| {
                bad(format!(
                    "it names change {pos} of seq {seq} on {date}, which that entry does not hold"
                ))
            })?;
        out.push(StepRec {
            date,
            seq,
            pos,
            id: a.id.clone(),
            change: change.clone(),
        });
    }
    Ok(out)
}

/// Encodes a snapshot.
pub fn encode_snapshot(r: &Replay) -> Vec<u8> {
    codec::encode_unbounded(r)
}

/// Decodes a snapshot.
pub fn decode_snapshot(bytes: &[u8]) -> Result<Replay, String> {
    codec::decode_unbounded(bytes).map_err(|e| format!("undecodable snapshot: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module graph docs/architecture.md states: the stored format and
    /// the audit import no writer; the store imports nothing of the format.
    #[test]
    fn the_format_and_the_audit_import_no_writer_and_the_store_no_format() {
        let files: [(&str, &str); 7] = [
            ("layout.rs", include_str!("layout.rs")),
            ("audit/mod.rs", include_str!("audit/mod.rs")),
            ("audit/store.rs", include_str!("audit/store.rs")),
            ("audit/keys.rs", include_str!("audit/keys.rs")),
            ("audit/projections.rs", include_str!("audit/projections.rs")),
            ("audit/verifier.rs", include_str!("audit/verifier.rs")),
            ("store/mod.rs", include_str!("store/mod.rs")),
        ];
        for (name, text) in files {
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or(text)
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            for writer in [
                "crate::ledger",
                "crate::timeline",
                "crate::export",
                "crate::proof",
            ] {
                assert!(!code.contains(writer), "{name} imports {writer}");
            }
            if name.starts_with("store/") {
                assert!(!code.contains("crate::layout"), "{name} imports the format");
            }
        }
    }

    #[test]
    fn a_witness_record_reads_back_and_a_torn_one_reads_as_none() {
        let head = Head {
            count: 3,
            chain: [7; 32],
            recorded_at: Some(RecordedAt(5)),
        };
        let record = witness_record(&head);
        assert_eq!(read_witness(Some(&record)), Witness::Head(head));
        assert_eq!(read_witness(None), Witness::None);
        assert_eq!(read_witness(Some(b"")), Witness::None);
        for i in 0..WITNESS_LEN {
            let mut torn = record;
            torn[i] ^= 0x40;
            assert_eq!(read_witness(Some(&torn)), Witness::None, "byte {i}");
        }
        // A bare head (the witness of version 1) still reads; anything else is damage.
        assert_eq!(read_witness(Some(&head.encode())), Witness::Head(head));
        assert_eq!(read_witness(Some(&[9; 12])), Witness::Malformed);
    }
}
