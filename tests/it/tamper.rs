//! The tamper matrix: every class of damage, at every entry of a 240-entry
//! ledger, must be reported by `audit_store` with the exact kind and seq.
//!
//! A pristine ledger is built once (6 agreements, 40 amendments each, in 8
//! batches recorded an hour apart). Each scenario starts from a copy of its
//! key/value pairs, applies one tamper, audits the copy, and compares the
//! report's first failure with the expectation derived below. Disagreements
//! are collected (not stopped at) and the test fails at the end with all of
//! them listed, so one run shows the whole picture.
//!
//! Expectations follow the audit's documented order (docs/format.md §14):
//! per entry in key order — gap, misplaced, leaf, decode, seq, link, time,
//! checkpoint — then that entry's `a` key, `i` key, and the Merkle nodes it
//! completes; after the entries the head, stray index keys, stray nodes,
//! foreign keys, and a checkpoint beyond the end.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use jiff::ToSpan;

use pactum::audit::{audit_store, Expect, Kind, Report};
use pactum::chain::{self, Checkpoint, CheckpointText, Hash};
use pactum::codec::{self, Entry};
use pactum::layout::keys;
use pactum::layout::{entry_keys, StoredEntry};
use pactum::ledger::{Head, Outcome};
use pactum::merkle::Frontier;
use pactum::model::{Amendment, RecordedAt};
use pactum::projection::KnownAt;
use pactum::store::{MemStore, Scan, Store, StoreError, Write};
use pactum::Ledger;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

const ORIGIN: [u8; 16] = [9; 16];
const AGREEMENTS: [&str; 6] = ["acme", "beta-2", "cloud-x", "delta", "epsilon", "zeta-9"];
const PER_AGREEMENT: usize = 40;
const BATCHES: usize = 8;
/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600_000_000;
const HOUR: i64 = 3_600_000_000;

// ---------------------------------------------------------------- helpers

/// splitmix64: a small deterministic random source.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn date(days: i64) -> String {
    jiff::civil::date(2024, 1, 1)
        .checked_add(days.days())
        .expect("a date in range")
        .to_string()
}

/// The amendments, as JSON Lines, interleaving the agreements at random.
fn generate() -> Vec<Amendment> {
    let mut rng = Rng(0x7a3d_e11e);
    let mut made = [0usize; AGREEMENTS.len()];
    let mut clauses = [0usize; AGREEMENTS.len()];
    let mut text = String::new();
    while made.iter().any(|m| *m < PER_AGREEMENT) {
        let k = rng.below(AGREEMENTS.len() as u64) as usize;
        if made[k] == PER_AGREEMENT {
            continue;
        }
        let (agreement, m) = (AGREEMENTS[k], made[k]);
        made[k] += 1;
        let fee = 100 + rng.below(9000);
        let change = if m == 0 {
            clauses[k] = 1;
            format!(
                r#"{{"op":"establish","title":"Agreement {agreement}","parties":[{{"id":"p1","name":"Party One"}},{{"id":"p2","name":"Partei Zwei ✓"}}]}},{{"op":"add","clause":"c0","heading":"Fees","text":"Fees of {agreement} are due within thirty days.","terms":{{"fee_usd":{fee}}}}}"#
            )
        } else if clauses[k] < 3 || rng.below(3) == 0 {
            let c = clauses[k];
            clauses[k] += 1;
            format!(
                r#"{{"op":"add","clause":"c{c}","text":"Clause {c} of {agreement}, added by amendment {m}.","terms":{{"fee_usd":{fee},"active":true}}}}"#
            )
        } else {
            let c = rng.below(clauses[k] as u64);
            format!(
                r#"{{"op":"amend","clause":"c{c}","text":"Clause {c} of {agreement} as amended by amendment {m}.","set":{{"fee_usd":{fee}}}}}"#
            )
        };
        text.push_str(&format!(
            r#"{{"agreement":"{agreement}","id":"am.{m}","title":"Amendment {m} of {agreement}","effective":"{}","change":[{change}]}}"#,
            date(m as i64 * 9)
        ));
        text.push('\n');
    }
    pactum::input::parse_str("gen.jsonl", &text).expect("the generated amendments parse")
}

/// Batch `b` covers amendments `[b·n/B, (b+1)·n/B)` and is recorded at `batch_time(b)`.
fn batch_bounds(n: usize, b: usize) -> (usize, usize) {
    (b * n / BATCHES, (b + 1) * n / BATCHES)
}

fn batch_time(b: usize) -> RecordedAt {
    RecordedAt(T0 + b as i64 * HOUR + (b as i64 * 7919) % 1000)
}

/// Appends `amendments[from..to]` (indices into the full list), each batch at its time.
fn append_range(ledger: &Ledger<MemStore>, amendments: &[Amendment], from: usize, to: usize) {
    let n = amendments.len();
    for b in 0..BATCHES {
        let (s, e) = batch_bounds(n, b);
        let (s, e) = (s.max(from), e.min(to));
        if s >= e {
            continue;
        }
        let report = ledger
            .append(&amendments[s..e], batch_time(b), Default::default())
            .expect("the generated batch is accepted");
        assert!(report
            .outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Appended { .. })));
    }
}

fn store_of(map: &Map) -> MemStore {
    let s = MemStore::default();
    for (k, v) in map {
        s.raw_put(k.clone(), v.clone());
    }
    s
}

/// Every Merkle node (level ≥ 1) of the complete subtrees over `leaves`.
fn tree_nodes(leaves: &[Hash]) -> Vec<(u8, u64, Hash)> {
    let mut f = Frontier::default();
    leaves.iter().flat_map(|l| f.push(*l)).collect()
}

/// Replaces every `t` key with the nodes over `leaves`.
fn put_tree(map: &mut Map, leaves: &[Hash]) {
    map.retain(|k, _| k.first() != Some(&keys::TREE));
    for (level, index, h) in tree_nodes(leaves) {
        map.insert(keys::tree(level, index), h.to_vec());
    }
}

/// The seq of the entry that completes Merkle node (level, index).
fn completing_seq(level: u8, index: u64) -> u64 {
    (index << level) + (1u64 << level) - 1
}

/// One entry of the pristine ledger.
struct Info {
    value: Vec<u8>,
    bytes_len: usize,
    entry: Entry,
    leaf: Hash,
    chain: Hash,
}

/// Encodes an entry and hashes it onto `prev`: (stored value, leaf, chain).
fn seal(entry: &Entry, prev: &Hash) -> (Vec<u8>, Hash, Hash) {
    let bytes = codec::encode_entry(entry).expect("the entry encodes");
    let leaf = chain::leaf(&bytes);
    let link = chain::link(prev, entry.seq, &leaf);
    (StoredEntry::join(&bytes, &leaf, &link), leaf, link)
}

/// A change applied to a copy of the pristine pairs.
type Tamper<'a> = Box<dyn Fn(&mut Map) + 'a>;

/// A class of scenarios.
type Class = fn(&World, &mut Tally);

/// What an expectation or a report says: (kind, seq) of the first failure, or none.
type Verdict = Option<(Kind, Option<u64>)>;

fn show(v: &Verdict) -> String {
    match v {
        None => "no failure".into(),
        Some((k, Some(s))) => format!("{k} at seq {s}"),
        Some((k, None)) => format!("{k} (no seq)"),
    }
}

#[derive(Default)]
struct Tally {
    tried: u64,
    /// Tampers the audit reported (with any kind or seq).
    detected: u64,
    /// Untampered controls (perfect truncations and rewrites without a
    /// checkpoint, checkpoints the ledger extends) the audit accepted.
    accepted: u64,
    /// Per class: (scenarios, exact matches).
    classes: BTreeMap<&'static str, (u64, u64)>,
    mismatches: Vec<String>,
}

impl Tally {
    fn audit(map: &Map, cp: Option<Expect>) -> Result<Report, String> {
        let store = store_of(map);
        match catch_unwind(AssertUnwindSafe(|| audit_store(&store, cp, &mut |_| {}))) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(format!("store error: {e}")),
            Err(p) => Err(format!(
                "PANIC: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        }
    }

    /// Audits `map` (against `cp`) and compares with `want`.
    fn check(
        &mut self,
        class: &'static str,
        case: impl FnOnce() -> String,
        map: &Map,
        cp: Option<Expect>,
        want: Verdict,
    ) {
        self.tried += 1;
        let c = self.classes.entry(class).or_default();
        c.0 += 1;
        let report = match Tally::audit(map, cp) {
            Ok(r) => r,
            Err(e) => {
                self.mismatches.push(format!("[{class}] {}: {e}", case()));
                return;
            }
        };
        let got: Verdict = report.failure.as_ref().map(|f| (f.kind, f.seq));
        if report.ok != report.failure.is_none() {
            self.mismatches.push(format!(
                "[{class}] {}: report.ok = {} with failure {:?}",
                case(),
                report.ok,
                report.failure
            ));
            return;
        }
        match (&want, &got) {
            (Some(_), Some(_)) => self.detected += 1,
            (None, None) => self.accepted += 1,
            _ => {}
        }
        if got == want {
            c.1 += 1;
        } else {
            self.mismatches.push(format!(
                "[{class}] {}: expected {}, got {}{}",
                case(),
                show(&want),
                show(&got),
                report
                    .failure
                    .map(|f| format!(" ({})", f.detail))
                    .unwrap_or_default()
            ));
        }
    }

    /// Audits `map`, requiring only that damage is reported and nothing panics.
    fn check_detected(&mut self, class: &'static str, case: String, map: &Map) {
        self.tried += 1;
        let c = self.classes.entry(class).or_default();
        c.0 += 1;
        match Tally::audit(map, None) {
            Err(e) => self.mismatches.push(format!("[{class}] {case}: {e}")),
            Ok(r) if r.failure.is_none() || r.ok => self
                .mismatches
                .push(format!("[{class}] {case}: expected a failure, got none")),
            Ok(_) => {
                self.detected += 1;
                c.1 += 1;
            }
        }
    }
}

/// The pristine ledger and what the scenarios need to know about it.
struct World {
    amendments: Vec<Amendment>,
    ledger: Ledger<MemStore>,
    pristine: Map,
    infos: Vec<Info>,
    genesis: Hash,
}

impl World {
    fn n(&self) -> u64 {
        self.infos.len() as u64
    }

    fn chain_before(&self, i: u64) -> Hash {
        match i.checked_sub(1) {
            None => self.genesis,
            Some(p) => self.infos[p as usize].chain,
        }
    }

    fn leaves(&self) -> Vec<Hash> {
        self.infos.iter().map(|x| x.leaf).collect()
    }

    /// The full ledger's checkpoint after `k` entries, with and without the root.
    fn checkpoint(&self, k: u64) -> Expect {
        Checkpoint {
            count: k,
            hash: self.chain_before(k),
        }
        .into()
    }

    fn checkpoint_text(&self, k: u64) -> Expect {
        let t: CheckpointText = self.ledger.checkpoint_text_at(k).expect("a checkpoint");
        (&t).into()
    }

    /// The ledger as it would be had only the first `i` amendments been
    /// appended: entries, index keys, idempotency keys and Merkle nodes of
    /// the rest removed, the head rewritten.
    fn truncated(&self, i: u64) -> Map {
        let mut m: Map = self
            .pristine
            .iter()
            .filter(|(k, v)| match k[0] {
                keys::ENTRY => keys::entry_seq(k).is_some_and(|s| s < i),
                keys::BY_AGREEMENT => keys::split_by_agreement(k).is_some_and(|(_, s)| s < i),
                keys::BY_ID => {
                    <[u8; 8]>::try_from(v.as_slice()).is_ok_and(|b| u64::from_be_bytes(b) < i)
                }
                keys::TREE => keys::split_tree(k).is_some_and(|(l, x)| completing_seq(l, x) < i),
                // Projections are recomputed below, as a careful forger would.
                keys::PAGE | keys::SNAPSHOT | keys::RETRACTED => false,
                _ => true,
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let store = store_of(&m);
        for w in pactum::timeline::rebuild(&store).expect("the first entries replay") {
            if let Write::Put(k, v) = w {
                m.insert(k, v);
            }
        }
        let head = Head {
            count: i,
            chain: self.chain_before(i),
            recorded_at: i
                .checked_sub(1)
                .map(|p| self.infos[p as usize].entry.recorded_at),
        };
        m.insert(keys::meta("head"), head.encode());
        m
    }

    /// The first `i` entries kept, the rest appended again with other titles
    /// (same ids, same changes, same recorded times): a perfect rewrite.
    fn rewritten(&self, i: u64) -> Map {
        let ledger = Ledger::open(store_of(&self.truncated(i))).expect("the truncation opens");
        let other: Vec<Amendment> = self
            .amendments
            .iter()
            .map(|a| {
                let mut a = a.clone();
                a.title = format!("{} (rewritten)", a.title);
                a
            })
            .collect();
        append_range(&ledger, &other, i as usize, other.len());
        ledger.store().dump()
    }
}

fn build() -> World {
    let amendments = generate();
    assert_eq!(amendments.len(), AGREEMENTS.len() * PER_AGREEMENT);
    let ledger = Ledger::create(MemStore::default(), ORIGIN).expect("a new ledger");
    append_range(&ledger, &amendments, 0, amendments.len());
    let pristine = ledger.store().dump();
    let mut infos = Vec::new();
    for seq in 0..amendments.len() as u64 {
        let value = pristine[&keys::entry(seq)].clone();
        let s = StoredEntry::split(&value).expect("a stored entry");
        let entry = codec::decode_entry(s.bytes).expect("a decodable entry");
        assert_eq!(entry.seq, seq);
        infos.push(Info {
            bytes_len: s.bytes.len(),
            leaf: s.leaf,
            chain: s.chain,
            entry,
            value: value.clone(),
        });
    }
    World {
        amendments,
        ledger,
        pristine,
        infos,
        genesis: chain::genesis(&ORIGIN),
    }
}

// ---------------------------------------------------------------- classes

/// One bit flipped in each region of entry i's stored value; the bit moves with i.
fn bit_flips(w: &World, t: &mut Tally) {
    for (i, x) in w.infos.iter().enumerate() {
        let seq = i as u64;
        let b = x.bytes_len;
        let regions: [(&str, usize, usize, Kind); 3] = [
            ("entry bytes", 0, b, Kind::LeafMismatch),
            ("stored leaf", b, b + 32, Kind::LeafMismatch),
            ("stored chain", b + 32, b + 64, Kind::LinkMismatch),
        ];
        for (r, (region, start, end, kind)) in regions.into_iter().enumerate() {
            let bits = (end - start) * 8;
            let bit = start * 8 + (i * 7919 + r * 104_729) % bits;
            let mut m = w.pristine.clone();
            m.get_mut(&keys::entry(seq)).expect("entry")[bit / 8] ^= 1 << (bit % 8);
            t.check(
                "bit flip",
                || format!("entry {i}, bit {bit} ({region})"),
                &m,
                None,
                Some((kind, Some(seq))),
            );
        }
    }
}

/// One bit flipped in entry i's bytes and the stored leaf recomputed (the
/// chain hash left): the bytes then fail to decode, name another seq, or
/// decode to a changed entry whose link no longer matches.
fn bit_flips_releafed(w: &World, t: &mut Tally) {
    for (i, x) in w.infos.iter().enumerate() {
        let seq = i as u64;
        let bit = (i * 104_729 + 13) % (x.bytes_len * 8);
        let mut bytes = x.value[..x.bytes_len].to_vec();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let want = match codec::decode_entry(&bytes) {
            Err(_) => Kind::Decode,
            Ok(e) if e.seq != seq => Kind::Misplaced,
            Ok(_) => Kind::LinkMismatch,
        };
        let mut m = w.pristine.clone();
        m.insert(
            keys::entry(seq),
            StoredEntry::join(&bytes, &chain::leaf(&bytes), &x.chain),
        );
        t.check(
            "bit flip, leaf recomputed",
            || format!("entry {i}, bit {bit} (expected {want})"),
            &m,
            None,
            Some((want, Some(seq))),
        );
    }
}

/// Entry i's title edited, its leaf and link re-hashed from the true previous
/// chain hash; once with the Merkle nodes left as they were, once with them
/// recomputed too.
fn edits(w: &World, t: &mut Tally) {
    let n = w.n();
    for (i, x) in w.infos.iter().enumerate() {
        let seq = i as u64;
        let mut e = x.entry.clone();
        e.amendment.title = format!("{} (edited)", e.amendment.title);
        let (value, leaf, _) = seal(&e, &w.chain_before(seq));
        let mut m = w.pristine.clone();
        m.insert(keys::entry(seq), value);
        // Merkle nodes untouched: an odd i completes node (1, i/2), which
        // hashes the old leaf i, and the audit checks it right after entry i,
        // before entry i + 1's link.
        let want = if seq % 2 == 1 {
            (Kind::TreeMismatch, seq)
        } else if seq + 1 < n {
            (Kind::LinkMismatch, seq + 1)
        } else {
            (Kind::HeadMismatch, seq)
        };
        t.check(
            "edit (leaf + link re-hashed)",
            || format!("entry {i}"),
            &m,
            None,
            Some((want.0, Some(want.1))),
        );
        // Merkle nodes recomputed over the edited leaf as well.
        let mut leaves = w.leaves();
        leaves[i] = leaf;
        put_tree(&mut m, &leaves);
        let want = if seq + 1 < n {
            (Kind::LinkMismatch, seq + 1)
        } else {
            (Kind::HeadMismatch, seq)
        };
        t.check(
            "edit (leaf + link + Merkle nodes re-hashed)",
            || format!("entry {i}"),
            &m,
            None,
            Some((want.0, Some(want.1))),
        );
    }
}

/// Entry i's key removed.
fn deletions(w: &World, t: &mut Tally) {
    let n = w.n();
    for i in 0..n {
        let mut m = w.pristine.clone();
        m.remove(&keys::entry(i));
        let want = if i + 1 < n {
            Kind::Gap
        } else {
            Kind::HeadMismatch
        };
        t.check(
            "delete",
            || format!("entry {i}"),
            &m,
            None,
            Some((want, Some(i))),
        );
    }
}

/// The values of entries i and i + 1 exchanged.
fn swaps(w: &World, t: &mut Tally) {
    for i in 0..w.n() - 1 {
        let mut m = w.pristine.clone();
        m.insert(keys::entry(i), w.infos[i as usize + 1].value.clone());
        m.insert(keys::entry(i + 1), w.infos[i as usize].value.clone());
        t.check(
            "swap",
            || format!("entries {i} and {}", i + 1),
            &m,
            None,
            Some((Kind::Misplaced, Some(i))),
        );
    }
}

/// Entries from i shifted up one key, `value` stored at i.
fn shifted(w: &World, i: u64, value: Vec<u8>) -> Map {
    let mut m = w.pristine.clone();
    for j in i..w.n() {
        m.insert(keys::entry(j + 1), w.infos[j as usize].value.clone());
    }
    m.insert(keys::entry(i), value);
    m
}

/// A forged entry inserted at i: entry i's amendment with another title
/// (same agreement and id, so the existing index and idempotency keys name
/// it), seq i, its true leaf, linked from the true chain hash of i − 1; the
/// old entries from i shifted up one key.
fn insertions(w: &World, t: &mut Tally) {
    let n = w.n();
    for i in 0..n {
        let mut e = w.infos[i as usize].entry.clone();
        e.amendment.title = format!("{} (forged)", e.amendment.title);
        let (value, leaf, _) = seal(&e, &w.chain_before(i));
        let mut m = shifted(w, i, value);
        // Merkle nodes untouched: an odd i completes node (1, i/2) over the
        // true leaf i, checked before the next key; an even i passes, and
        // key i + 1 holds old entry i, which says seq i.
        let want = if i % 2 == 1 {
            (Kind::TreeMismatch, i)
        } else {
            (Kind::Misplaced, i + 1)
        };
        t.check(
            "insert forged entry",
            || format!("at {i}"),
            &m,
            None,
            Some((want.0, Some(want.1))),
        );
        // The Merkle nodes recomputed over the forged sequence of leaves.
        let mut leaves = w.leaves();
        leaves.insert(i as usize, leaf);
        put_tree(&mut m, &leaves);
        t.check(
            "insert forged entry (Merkle nodes re-hashed)",
            || format!("at {i}"),
            &m,
            None,
            Some((Kind::Misplaced, Some(i + 1))),
        );
    }
    // Appended after the last entry (nothing shifted): a forged entry n, a
    // copy of entry n − 1 with another title and id. Without its own index
    // keys, its `a` key is missing; with them (and the Merkle nodes it
    // completes), only the head disagrees.
    let mut e = w.infos[n as usize - 1].entry.clone();
    e.seq = n;
    e.amendment.title = format!("{} (forged)", e.amendment.title);
    e.amendment.id = "forged-tail".parse().expect("an id");
    let (value, leaf, _) = seal(&e, &w.chain_before(n));
    let mut m = w.pristine.clone();
    m.insert(keys::entry(n), value.clone());
    t.check(
        "insert forged entry",
        || format!("at {n} (after the last)"),
        &m,
        None,
        Some((Kind::IndexMismatch, Some(n))),
    );
    // The keys the writer would stage with it (the one rule, `entry_keys`);
    // the Merkle nodes come with the whole tree below.
    let stored = StoredEntry::split(&value).expect("a sealed value");
    for (k, v) in entry_keys(&e, stored.bytes, &stored.leaf, &stored.chain, &[]) {
        m.insert(k, v);
    }
    let mut leaves = w.leaves();
    leaves.push(leaf);
    put_tree(&mut m, &leaves);
    t.check(
        "insert forged entry (with index keys)",
        || format!("at {n} (after the last)"),
        &m,
        None,
        Some((Kind::HeadMismatch, Some(n))),
    );
}

/// Entry i's value also stored at key i + 1, the rest shifted up.
fn duplicates(w: &World, t: &mut Tally) {
    for i in 0..w.n() {
        let mut m = shifted(w, i + 1, w.infos[i as usize].value.clone());
        m.insert(keys::entry(i), w.infos[i as usize].value.clone());
        t.check(
            "duplicate",
            || format!("entry {i}"),
            &m,
            None,
            Some((Kind::Misplaced, Some(i + 1))),
        );
    }
}

/// Another seq than `i` (deterministic, varying with `salt`).
fn other_seq(w: &World, i: u64, salt: u64) -> u64 {
    (i + 1 + (i * 31 + salt) % (w.n() - 1)) % w.n()
}

/// The per-agreement index key of entry i deleted, moved to another seq, or
/// given a value.
fn index_keys(w: &World, t: &mut Tally) {
    for (i, x) in w.infos.iter().enumerate() {
        let seq = i as u64;
        let agreement = &x.entry.amendment.agreement;
        let key = keys::by_agreement(agreement, seq);
        let j = other_seq(w, seq, 5);
        let cases: [(&str, Tamper); 4] = [
            (
                "deleted",
                Box::new(|m: &mut Map| {
                    m.remove(&key);
                }),
            ),
            (
                "pointed at another seq",
                Box::new(|m: &mut Map| {
                    m.remove(&key);
                    m.insert(keys::by_agreement(agreement, j), Vec::new());
                }),
            ),
            (
                "pointed beyond the last seq",
                Box::new(|m: &mut Map| {
                    m.remove(&key);
                    m.insert(keys::by_agreement(agreement, w.n() + seq), Vec::new());
                }),
            ),
            (
                "given a value",
                Box::new(|m: &mut Map| {
                    m.insert(key.clone(), seq.to_be_bytes().to_vec());
                }),
            ),
        ];
        for (what, f) in cases {
            let mut m = w.pristine.clone();
            f(&mut m);
            t.check(
                "index key",
                || format!("entry {i}: {what} (other seq {j})"),
                &m,
                None,
                Some((Kind::IndexMismatch, Some(seq))),
            );
        }
    }
}

/// The idempotency key of entry i pointed at another seq, deleted, or truncated.
fn idempotency_keys(w: &World, t: &mut Tally) {
    for (i, x) in w.infos.iter().enumerate() {
        let seq = i as u64;
        let key = keys::by_id(&x.entry.amendment.agreement, &x.entry.amendment.id);
        let j = other_seq(w, seq, 11);
        let cases: [(&str, Option<Vec<u8>>); 4] = [
            ("pointed at another seq", Some(j.to_be_bytes().to_vec())),
            (
                "pointed beyond the last",
                Some((w.n() + 3).to_be_bytes().to_vec()),
            ),
            ("truncated", Some(seq.to_be_bytes()[1..].to_vec())),
            ("deleted", None),
        ];
        for (what, value) in cases {
            let mut m = w.pristine.clone();
            match value {
                Some(v) => m.insert(key.clone(), v),
                None => m.remove(&key),
            };
            t.check(
                "idempotency key",
                || format!("entry {i}: {what} (other seq {j})"),
                &m,
                None,
                Some((Kind::IndexMismatch, Some(seq))),
            );
        }
    }
}

/// Every Merkle node deleted, and every one with a bit flipped.
fn tree_nodes_tampered(w: &World, t: &mut Tally) {
    let nodes: Vec<(u8, u64)> = w
        .pristine
        .keys()
        .filter_map(|k| keys::split_tree(k))
        .collect();
    let n = w.n();
    assert_eq!(nodes.len() as u64, n - n.count_ones() as u64);
    for (c, &(level, index)) in nodes.iter().enumerate() {
        let seq = completing_seq(level, index);
        let key = keys::tree(level, index);
        let mut m = w.pristine.clone();
        m.remove(&key);
        t.check(
            "Merkle node",
            || format!("{level}/{index} deleted"),
            &m,
            None,
            Some((Kind::TreeMismatch, Some(seq))),
        );
        let bit = (c * 7919) % 256;
        let mut m = w.pristine.clone();
        m.get_mut(&key).expect("node")[bit / 8] ^= 1 << (bit % 8);
        t.check(
            "Merkle node",
            || format!("{level}/{index} bit {bit} flipped"),
            &m,
            None,
            Some((Kind::TreeMismatch, Some(seq))),
        );
    }
}

/// The head metadata altered but still well formed.
fn heads(w: &World, t: &mut Tally) {
    let n = w.n();
    let head = Head::decode(&w.pristine[&keys::meta("head")]).expect("a head");
    let last_time = head.recorded_at.expect("a time");
    let mut flipped = head.chain;
    flipped[17] ^= 0x10;
    let cases: Vec<(&str, Head, u64)> = vec![
        (
            "count + 1",
            Head {
                count: n + 1,
                ..head
            },
            n,
        ),
        (
            "count + 5",
            Head {
                count: n + 5,
                ..head
            },
            n,
        ),
        (
            "count − 1",
            Head {
                count: n - 1,
                ..head
            },
            n - 1,
        ),
        (
            "chain hash bit",
            Head {
                chain: flipped,
                ..head
            },
            n - 1,
        ),
        (
            "recorded_at + 1 µs",
            Head {
                recorded_at: Some(RecordedAt(last_time.0 + 1)),
                ..head
            },
            n - 1,
        ),
        (
            "recorded_at − 1 µs",
            Head {
                recorded_at: Some(RecordedAt(last_time.0 - 1)),
                ..head
            },
            n - 1,
        ),
        (
            "chain of entry n − 2",
            Head {
                chain: w.infos[n as usize - 2].chain,
                ..head
            },
            n - 1,
        ),
        (
            "empty ledger's head",
            Head {
                count: 0,
                chain: w.genesis,
                recorded_at: None,
            },
            n - 1,
        ),
    ];
    for (what, h, seq) in cases {
        let mut m = w.pristine.clone();
        m.insert(keys::meta("head"), h.encode());
        t.check(
            "head",
            || what.to_string(),
            &m,
            None,
            Some((Kind::HeadMismatch, Some(seq))),
        );
    }
}

/// Metadata and foreign keys.
fn metas(w: &World, t: &mut Tally) {
    let head = w.pristine[&keys::meta("head")].clone();
    // (what, key, new value or deleted, expected)
    type Put = (&'static str, Vec<u8>, Option<Vec<u8>>, Verdict);
    let puts: Vec<Put> = vec![
        (
            "format 1 (the layout before stored projections)",
            keys::meta("format"),
            Some(vec![1]),
            Some((Kind::Meta, None)),
        ),
        (
            "format deleted",
            keys::meta("format"),
            None,
            Some((Kind::Meta, None)),
        ),
        (
            "origin 15 bytes",
            keys::meta("origin"),
            Some(vec![9; 15]),
            Some((Kind::Meta, None)),
        ),
        (
            "origin deleted",
            keys::meta("origin"),
            None,
            Some((Kind::Meta, None)),
        ),
        // Another origin: another genesis, so entry 0 no longer links.
        (
            "origin changed",
            keys::meta("origin"),
            Some(vec![8; 16]),
            Some((Kind::LinkMismatch, Some(0))),
        ),
        (
            "head deleted",
            keys::meta("head"),
            None,
            Some((Kind::Meta, None)),
        ),
        (
            "head truncated",
            keys::meta("head"),
            Some(head[..47].to_vec()),
            Some((Kind::Meta, None)),
        ),
        (
            "foreign m key",
            keys::meta("heads"),
            Some(head.clone()),
            Some((Kind::Meta, None)),
        ),
        (
            "foreign key",
            b"x-files".to_vec(),
            Some(vec![]),
            Some((Kind::Meta, None)),
        ),
        ("empty key", vec![], Some(vec![1]), Some((Kind::Meta, None))),
    ];
    for (what, key, value, want) in puts {
        let mut m = w.pristine.clone();
        match value {
            Some(v) => m.insert(key, v),
            None => m.remove(&key),
        };
        t.check("meta", || what.to_string(), &m, None, want);
    }
}

/// Entry i recorded 1 µs before entry i − 1, and the chain, Merkle nodes and
/// head re-hashed from there on: only the time order is wrong.
fn time_regressions(w: &World, t: &mut Tally) {
    let n = w.n() as usize;
    for i in 1..n {
        let mut m = w.pristine.clone();
        let mut leaves = w.leaves();
        let mut prev = w.chain_before(i as u64);
        let mut last_time = None;
        for (j, x) in w.infos.iter().enumerate().skip(i) {
            let mut e = x.entry.clone();
            if j == i {
                e.recorded_at = RecordedAt(w.infos[i - 1].entry.recorded_at.0 - 1);
            }
            let (value, leaf, link) = seal(&e, &prev);
            m.insert(keys::entry(j as u64), value);
            leaves[j] = leaf;
            prev = link;
            last_time = Some(e.recorded_at);
        }
        put_tree(&mut m, &leaves);
        m.insert(
            keys::meta("head"),
            Head {
                count: n as u64,
                chain: prev,
                recorded_at: last_time,
            }
            .encode(),
        );
        t.check(
            "time regression (re-hashed)",
            || format!("entry {i}"),
            &m,
            None,
            Some((Kind::TimeRegression, Some(i as u64))),
        );
    }
}

/// Checkpoints the pristine ledger extends, and ones it does not.
fn checkpoints(w: &World, t: &mut Tally) {
    let n = w.n();
    for k in 0..=n {
        t.check(
            "checkpoint (pristine)",
            || format!("N:HASH at {k}"),
            &w.pristine,
            Some(w.checkpoint(k)),
            None,
        );
        t.check(
            "checkpoint (pristine)",
            || format!("text at {k}"),
            &w.pristine,
            Some(w.checkpoint_text(k)),
            None,
        );
        // Right chain hash, wrong Merkle root.
        let mut cp = w.checkpoint_text(k);
        if let Some(r) = cp.root.as_mut() {
            r[(k % 32) as usize] ^= 1;
        }
        let want = k.checked_sub(1);
        t.check(
            "checkpoint with a forged root",
            || format!("at {k}"),
            &w.pristine,
            Some(cp),
            Some((Kind::CheckpointMismatch, want)),
        );
        // Wrong chain hash (of another entry).
        let mut cp = w.checkpoint(k);
        cp.chain = w.chain_before((k + 1) % (n + 1));
        t.check(
            "checkpoint with a wrong hash",
            || format!("at {k}"),
            &w.pristine,
            Some(cp),
            Some((Kind::CheckpointMismatch, k.checked_sub(1))),
        );
    }
    for extra in [1, 2, 1000] {
        let cp = Expect {
            count: n + extra,
            chain: w.chain_before(n),
            root: None,
        };
        t.check(
            "checkpoint beyond the ledger",
            || format!("count {}", n + extra),
            &w.pristine,
            Some(cp),
            Some((Kind::CheckpointMismatch, None)),
        );
    }
}

/// Perfect truncations after every i (entries ≥ i, their keys and nodes
/// removed, the head rewritten). Built from the pristine pairs, which is
/// cheap enough for every i; `truncation_matches_rebuild` shows they equal a
/// ledger rebuilt from the first i amendments.
fn truncations(w: &World, t: &mut Tally) {
    let n = w.n();
    let full = w.checkpoint(n);
    let full_text = w.checkpoint_text(n);
    for i in 0..n {
        let m = w.truncated(i);
        t.check(
            "truncation (no checkpoint)",
            || format!("after {i}"),
            &m,
            None,
            None,
        );
        t.check(
            "truncation (checkpoint at its size)",
            || format!("after {i}"),
            &m,
            Some(w.checkpoint_text(i)),
            None,
        );
        t.check(
            "truncation (full checkpoint)",
            || format!("after {i}, N:HASH"),
            &m,
            Some(full),
            Some((Kind::CheckpointMismatch, None)),
        );
        t.check(
            "truncation (full checkpoint)",
            || format!("after {i}, text"),
            &m,
            Some(full_text),
            Some((Kind::CheckpointMismatch, None)),
        );
    }
}

fn truncation_matches_rebuild(w: &World) {
    let n = w.n() as usize;
    for i in [0, 1, 2, 29, 30, 31, 64, 100, 128, n - 1] {
        let ledger = Ledger::create(MemStore::default(), ORIGIN).expect("a ledger");
        append_range(&ledger, &w.amendments, 0, i);
        // Entries, indexes, tree and head alike; projections may be paged
        // differently (they depend on the batches), but say the same.
        let record = |m: Map| -> Map {
            m.into_iter()
                .filter(|(k, _)| ![keys::PAGE, keys::SNAPSHOT].contains(&k[0]))
                .collect()
        };
        let truncated = w.truncated(i as u64);
        assert!(
            record(ledger.store().dump()) == record(truncated.clone()),
            "the truncation after {i} differs from a ledger of the first {i} amendments"
        );
        let store = store_of(&truncated);
        assert!(
            audit_store(&store, None, &mut |_| {}).expect("audit").ok,
            "the truncation after {i} audits"
        );
        let reopened = Ledger::open(store).expect("opens");
        for a in ledger.agreements().expect("agreements") {
            for at in ["2020-01-01", "2024-06-01", "2030-01-01"] {
                let at = at.parse().expect("date");
                assert_eq!(
                    ledger.state(&a, at, KnownAt::All).ok(),
                    reopened.state(&a, at, KnownAt::All).ok(),
                    "the truncation after {i} says what the ledger says"
                );
            }
        }
    }
}

/// Perfect rewrites of the suffix from every i: the first i entries kept
/// (the truncation after i, reopened), the rest appended again through
/// `Ledger::append` with other titles. Each rebuild appends only the suffix,
/// so all 240 take about as long as the rest of the matrix.
fn rewrites(w: &World, t: &mut Tally) {
    let n = w.n();
    let full = w.checkpoint(n);
    let full_text = w.checkpoint_text(n);
    let mut rng = Rng(0x5eed);
    for i in 0..n {
        let m = w.rewritten(i);
        assert_eq!(
            m.len(),
            w.pristine.len(),
            "the rewrite from {i} has as many keys"
        );
        t.check(
            "rewrite (no checkpoint)",
            || format!("from {i}"),
            &m,
            None,
            None,
        );
        t.check(
            "rewrite (checkpoint at its start)",
            || format!("from {i}, N:HASH at {i}"),
            &m,
            Some(w.checkpoint(i)),
            None,
        );
        t.check(
            "rewrite (checkpoint at its start)",
            || format!("from {i}, text at {i}"),
            &m,
            Some(w.checkpoint_text(i)),
            None,
        );
        let k = i + 1 + rng.below(n - i);
        for (what, cp) in [
            ("full N:HASH", full),
            ("full text", full_text),
            ("N:HASH at i + 1", w.checkpoint(i + 1)),
            ("N:HASH inside", w.checkpoint(k)),
            ("text inside", w.checkpoint_text(k)),
        ] {
            t.check(
                "rewrite (checkpoint past its start)",
                || format!("from {i}, {what} (count {})", cp.count),
                &m,
                Some(cp),
                Some((Kind::CheckpointMismatch, Some(cp.count - 1))),
            );
        }
    }
}

/// A signed history (`signed_ledger::record`: two signed agreements' worth
/// of establish, amendments and a rekey, and an unsigned one): one bit of a
/// stored signature line flipped at each signed entry, (a) as it is: the
/// leaf no longer matches; (b) leaf recomputed: the link; (c) the whole
/// chain rewritten from there by a perfect forger (every hash, Merkle
/// node, index key, projection and the head): only the signature check
/// stands, and it names the entry.
fn signatures(_: &World, t: &mut Tally) {
    use crate::signed_ledger::{entries_of, forge, record, ORIGIN};
    let ledger = record(
        Ledger::create(MemStore::default(), ORIGIN).expect("a new ledger"),
        |s| s,
    );
    let pristine_map = ledger.store().dump();
    let pristine = entries_of(&ledger);
    t.check(
        "signatures",
        || "the signed history untouched".into(),
        &pristine_map,
        None,
        None,
    );
    for (i, e) in pristine.iter().enumerate() {
        let seq = i as u64;
        for line in 0..e.signatures.len() {
            let mut forged = pristine.clone();
            forged[i].signatures[line].sig[(i * 7 + line * 13) % 64] ^= 1 << (i % 8);
            let bytes = codec::encode_entry(&forged[i]).expect("encodes");
            let stored =
                StoredEntry::split(&pristine_map[&keys::entry(seq)]).expect("a stored entry");
            let (old_leaf, old_chain) = (stored.leaf, stored.chain);
            let mut m = pristine_map.clone();
            m.insert(
                keys::entry(seq),
                StoredEntry::join(&bytes, &old_leaf, &old_chain),
            );
            t.check(
                "signature bit flip",
                || format!("entry {i}, line {line}"),
                &m,
                None,
                Some((Kind::LeafMismatch, Some(seq))),
            );
            m.insert(
                keys::entry(seq),
                StoredEntry::join(&bytes, &chain::leaf(&bytes), &old_chain),
            );
            t.check(
                "signature bit flip, leaf recomputed",
                || format!("entry {i}, line {line}"),
                &m,
                None,
                Some((Kind::LinkMismatch, Some(seq))),
            );
            t.check(
                "signature bit flip, chain rewritten",
                || format!("entry {i}, line {line}"),
                &forge(&forged).0,
                None,
                Some((Kind::Signature, Some(seq))),
            );
        }
    }
}

/// Random garbage at random keys, and truncated values: reported, never a panic.
fn garbage(w: &World, t: &mut Tally) {
    let mut rng = Rng(0xbad_c0de);
    let keys_list: Vec<Vec<u8>> = w.pristine.keys().cloned().collect();
    let mut done = 0;
    while done < 600 {
        let mut m = w.pristine.clone();
        let case = match rng.below(5) {
            0 => {
                let k = keys_list[rng.below(keys_list.len() as u64) as usize].clone();
                let len = rng.below(700) as usize;
                let v = rng.bytes(len);
                let d = format!("garbage value ({len} bytes) at {k:?}");
                m.insert(k, v);
                d
            }
            1 => {
                let prefix = [b'm', b'e', b'a', b'i', b't', b'x', 0, 0xff][rng.below(8) as usize];
                let mut k = vec![prefix];
                let klen = rng.below(14) as usize;
                k.extend(rng.bytes(klen));
                let len = rng.below(300) as usize;
                let v = rng.bytes(len);
                let d = format!("garbage pair at new key {k:?} ({len} bytes)");
                m.insert(k, v);
                d
            }
            2 => {
                let k = keys_list[rng.below(keys_list.len() as u64) as usize].clone();
                let v = m.get_mut(&k).expect("key");
                if v.is_empty() {
                    continue;
                }
                let len = rng.below(v.len() as u64) as usize;
                v.truncate(len);
                format!("value at {k:?} truncated to {len} bytes")
            }
            3 => {
                // An entry's bytes replaced by garbage, with a matching leaf.
                let seq = rng.below(w.n());
                let len = 1 + rng.below(600) as usize;
                let mut bytes = rng.bytes(len);
                if rng.below(2) == 0 {
                    bytes[0] = codec::FORMAT_VERSION;
                }
                let x = &w.infos[seq as usize];
                m.insert(
                    keys::entry(seq),
                    StoredEntry::join(&bytes, &chain::leaf(&bytes), &x.chain),
                );
                format!("entry {seq}: {len} garbage bytes with their leaf")
            }
            _ => {
                // An entry's value cut short at every interesting length.
                let seq = rng.below(w.n());
                let x = &w.infos[seq as usize];
                let cut = [0, 1, 31, 32, 63, 64, 65, x.bytes_len, x.bytes_len + 63]
                    [rng.below(9) as usize]
                    .min(x.value.len() - 1);
                m.insert(keys::entry(seq), x.value[..cut].to_vec());
                format!("entry {seq} value cut to {cut} bytes")
            }
        };
        if m == w.pristine {
            continue;
        }
        done += 1;
        t.check_detected("garbage", case, &m);
    }
}

// ---------------------------------------------------------------- streaming

/// A store that counts the reads the audit makes.
#[derive(Default)]
struct Counting {
    inner: MemStore,
    gets: AtomicU64,
    scans: AtomicU64,
    items: AtomicU64,
}

impl Store for Counting {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.gets.fetch_add(1, Relaxed);
        self.inner.get(key)
    }
    fn scan(&self, start: &[u8], end: Option<&[u8]>) -> Scan<'_> {
        self.scans.fetch_add(1, Relaxed);
        let items = &self.items;
        Box::new(self.inner.scan(start, end).inspect(move |_| {
            items.fetch_add(1, Relaxed);
        }))
    }
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.commit(writes)
    }
}

/// The audit reads each key a bounded number of times: a constant number of
/// ordered scans (each key read at most three times) and point reads only
/// for retractions, so its work is linear in the ledger.
fn streaming(w: &World) {
    let mut per_entry = Vec::new();
    for size in [16u64, 60, 120, w.n()] {
        let m = w.truncated(size);
        let s = Counting::default();
        for (k, v) in &m {
            s.inner.raw_put(k.clone(), v.clone());
        }
        let r = audit_store(&s, None, &mut |_| {}).expect("audit");
        assert!(r.ok, "{:?}", r.failure);
        let (gets, scans, items) = (
            s.gets.load(Relaxed),
            s.scans.load(Relaxed),
            s.items.load(Relaxed),
        );
        // Scans: entries; the stored a, i and t keys (summed, strays found);
        // pages; snapshots; retraction keys; key-change keys; everything
        // (foreign keys).
        assert!(scans <= 9, "{scans} scans for {size} entries");
        // Point reads: the metadata, three per retraction (its key, the
        // target's idempotency key and entry), and one per entry that a page
        // refers to (pages hold references to entries since layout 3, read
        // once per page); index keys are not read one by one.
        assert!(
            gets <= size + size / 4 + 8,
            "{gets} point reads for {size} entries"
        );
        assert!(
            items <= 3 * m.len() as u64 + 8,
            "{items} pairs scanned for {} keys",
            m.len()
        );
        per_entry.push((gets + items) as f64 / size as f64);
    }
    let (small, large) = (per_entry[1], per_entry[per_entry.len() - 1]);
    assert!(
        large < small * 1.5,
        "reads per entry grow with the ledger: {per_entry:?}"
    );
}

// ---------------------------------------------------------------- the test

#[test]
fn tamper_matrix() {
    let start = Instant::now();
    let w = build();
    let n = w.n();
    assert!(n >= 200);
    let r = audit_store(&store_of(&w.pristine), None, &mut |_| {}).expect("audit");
    assert!(r.ok, "the pristine ledger fails its audit: {:?}", r.failure);
    assert_eq!(r.head, w.ledger.head().checkpoint());
    truncation_matches_rebuild(&w);
    streaming(&w);

    let mut t = Tally::default();
    let classes: [(&str, Class); 17] = [
        ("bit flips", bit_flips),
        ("bit flips, releafed", bit_flips_releafed),
        ("edits", edits),
        ("deletions", deletions),
        ("swaps", swaps),
        ("insertions", insertions),
        ("duplicates", duplicates),
        ("index keys", index_keys),
        ("idempotency keys", idempotency_keys),
        ("Merkle nodes", tree_nodes_tampered),
        ("heads", heads),
        ("metas", metas),
        ("time regressions", time_regressions),
        ("checkpoints", checkpoints),
        ("truncations", truncations),
        ("rewrites", rewrites),
        ("signatures", signatures),
    ];
    for (name, f) in classes {
        let s = Instant::now();
        f(&w, &mut t);
        println!("  {name}: {:.2?}", s.elapsed());
    }
    garbage(&w, &mut t);

    println!("{:<48} {:>9} {:>9}", "class", "scenarios", "exact");
    for (class, (tried, exact)) in &t.classes {
        println!("{class:<48} {tried:>9} {exact:>9}");
    }
    println!(
        "tamper matrix: {} scenarios, {} detected, {} clean controls accepted, {} mismatches (entries: {n}) in {:.1?}",
        t.tried,
        t.detected,
        t.accepted,
        t.mismatches.len(),
        start.elapsed()
    );
    for m in t.mismatches.iter().take(60) {
        println!("MISMATCH {m}");
    }
    assert!(
        t.mismatches.is_empty(),
        "{} of {} scenarios disagree with the expectation (first: {})",
        t.mismatches.len(),
        t.tried,
        t.mismatches[0]
    );
}
