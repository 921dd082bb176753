//! The documents pactum reads from outside besides amendments: checkpoint
//! texts, proof documents (the `verify` path) and export files (the
//! `audit --export` and `import` path).
//!
//! Their checks compare every verdict with two small ledgers made once per
//! process, [`fork`]: `A` and `B` share their first [`SHARED`] entries and
//! then differ, so a proof or checkpoint that passes against the wrong
//! ledger is caught, not only a panic.

use std::sync::OnceLock;

use pactum::audit::Expect;
use pactum::chain::{self, Checkpoint, CheckpointText, Hash};
use pactum::export;
use pactum::input;
use pactum::merkle;
use pactum::model::RecordedAt;
use pactum::proof::{self, Proof};
use pactum::store::MemStore;
use pactum::Ledger;

/// The fork's ledgers' origin.
pub const FORK_ORIGIN: chain::Origin = [0x5a; 16];
/// Entries `A` and `B` share.
pub const SHARED: u64 = 3;

/// The amendments of both sides (one per line): the first [`SHARED`] are
/// common, then `A` takes the `a:` lines and `B` the `b:` lines.
const HISTORY: &str = r#"{"agreement":"acme","id":"start","title":"Start","effective":"2024-01-01","change":[{"op":"establish","title":"Acme supply","parties":[{"id":"acme","name":"Acme"}]},{"op":"add","clause":"price","text":"Ten per unit.","terms":{"unit_price_usd":10}}]}
{"agreement":"acme","id":"raise","title":"Raise","effective":"2025-01-01","change":[{"op":"amend","clause":"price","text":"Twelve per unit.","set":{"unit_price_usd":12}}]}
{"agreement":"beta","id":"open","title":"Open","effective":"2024-03-01","change":[{"op":"establish","title":"Beta","parties":[{"id":"b","name":"Beta GmbH"}]}]}
a:{"agreement":"acme","id":"cut","title":"Cut","effective":"2025-06-01","change":[{"op":"amend","clause":"price","text":"Eleven per unit.","set":{"unit_price_usd":11}}]}
a:{"agreement":"beta","id":"sla","title":"SLA","effective":"2024-04-01","change":[{"op":"add","clause":"sla","text":"99.9 % a month."}]}
a:{"agreement":"acme","id":"oops","title":"Erratum","change":[{"op":"retract","amendment":"cut","reason":"typo"}]}
a:{"agreement":"beta","id":"end","title":"End","effective":"2026-01-01","change":[{"op":"terminate"}]}
b:{"agreement":"acme","id":"cut","title":"Cut","effective":"2025-06-01","change":[{"op":"amend","clause":"price","text":"Nine per unit.","set":{"unit_price_usd":9}}]}
b:{"agreement":"acme","id":"audit","title":"Audit","effective":"2025-02-01","change":[{"op":"add","clause":"audit","text":"Once a year."}]}"#;

/// One side of the fork, with what an outsider could hold of it.
pub struct Side {
    /// Its checkpoint at every size `0..=count`.
    pub cps: Vec<CheckpointText>,
    /// Every entry's exact bytes.
    pub entries: Vec<Vec<u8>>,
    /// Its export file.
    pub export: Vec<u8>,
    /// Inclusion proofs: of every entry, at the last size and at its own.
    pub inclusion: Vec<proof::InclusionProof>,
    /// Consistency proofs: from every size to the last, and to the size after.
    pub consistency: Vec<proof::ConsistencyProof>,
}

impl Side {
    /// The checkpoint at `size`, if the side has that many entries.
    pub fn cp(&self, size: u64) -> Option<&CheckpointText> {
        usize::try_from(size).ok().and_then(|s| self.cps.get(s))
    }
}

/// The two ledgers `A` and `B`.
pub struct Fork {
    /// `A`.
    pub a: Side,
    /// `B`.
    pub b: Side,
}

impl Fork {
    /// Both sides.
    pub fn sides(&self) -> [&Side; 2] {
        [&self.a, &self.b]
    }
}

/// The fork, made on first use.
pub fn fork() -> &'static Fork {
    static FORK: OnceLock<Fork> = OnceLock::new();
    FORK.get_or_init(|| Fork {
        a: side("a:"),
        b: side("b:"),
    })
}

fn side(tag: &str) -> Side {
    let lines: Vec<&str> = HISTORY
        .lines()
        .filter_map(|l| match l.split_once(':') {
            Some((t, rest)) if t.len() == 1 => (format!("{t}:") == tag).then_some(rest),
            _ => Some(l),
        })
        .collect();
    let l = Ledger::create(MemStore::default(), FORK_ORIGIN).expect("a new ledger");
    for (i, line) in lines.iter().enumerate() {
        let a = input::parse_str("fork.jsonl", line).expect("the fork's history parses");
        let t = RecordedAt(1_735_689_600_000_000 + i as i64 * 3_600_000_000);
        l.append(&a, t, Default::default())
            .expect("the fork's history appends");
    }
    let n = l.head().count;
    let cps: Vec<CheckpointText> = (0..=n)
        .map(|s| l.checkpoint_text_at(s).expect("a checkpoint"))
        .collect();
    let mut entries = Vec::new();
    let mut inclusion = Vec::new();
    for seq in 0..n {
        let e = l.entry(seq).expect("readable").expect("an entry");
        entries.push(chain::unhex(&prove(&l, &e, n).entry).expect("hex"));
        inclusion.push(prove(&l, &e, n));
        inclusion.push(prove(&l, &e, seq + 1));
    }
    let mut consistency = Vec::new();
    for old in 1..=n {
        consistency.push(proof::prove_consistency(&l, old, n).expect("a consistency proof"));
        if old < n {
            consistency.push(proof::prove_consistency(&l, old, old + 1).expect("a proof"));
        }
    }
    let mut export = Vec::new();
    export::write_export(&l, &mut export, &mut |_| {}).expect("an export");
    Side {
        cps,
        entries,
        export,
        inclusion,
        consistency,
    }
}

fn prove(l: &Ledger<MemStore>, e: &pactum::codec::Entry, size: u64) -> proof::InclusionProof {
    proof::prove_inclusion(l, &e.amendment.agreement, &e.amendment.id, size)
        .expect("an inclusion proof")
}

// ------------------------------------------------------------ checkpoint

/// A checkpoint text (or an `N:HASH` checkpoint): parsing never panics;
/// what parses has one spelling (printing it gives the input back) and
/// passes against a side of the fork exactly when it is that side's
/// checkpoint: in an export audit, and with a proof.
pub fn check_checkpoint(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match text.parse::<CheckpointText>() {
        Ok(cp) => {
            let again = cp.to_string();
            assert_eq!(
                again.trim_end_matches('\n'),
                text.trim_end_matches('\n'),
                "a checkpoint text parses but prints otherwise"
            );
            assert_eq!(again.parse::<CheckpointText>().as_ref(), Ok(&cp));
            checkpoint_against_fork(&cp);
        }
        Err(e) => assert!(!e.is_empty()),
    }
    match text.parse::<Checkpoint>() {
        Ok(c) => {
            let again = c.to_string();
            assert!(
                again.eq_ignore_ascii_case(text.trim()),
                "`{}` parses as {again}",
                text.trim()
            );
            assert_eq!(again.parse::<Checkpoint>(), Ok(c));
            for s in fork().sides() {
                let truth = s.cp(c.count).is_some_and(|t| t.chain == c.hash);
                let v =
                    export::verify_export(&mut &s.export[..], Some(c.into()), &mut |_, _, _| {});
                assert_eq!(v.report.ok, truth, "export audit against {c}");
            }
        }
        Err(e) => assert!(!e.is_empty()),
    }
}

/// `cp` against both sides: an export audit with it passes, and a proof
/// for its size verifies, exactly when it is the side's checkpoint.
fn checkpoint_against_fork(cp: &CheckpointText) {
    for s in fork().sides() {
        let real = s.cp(cp.size);
        let truth = real.is_some_and(|t| t.root == cp.root && t.chain == cp.chain);
        let v = export::verify_export(
            &mut &s.export[..],
            Some(Expect::from(cp)),
            &mut |_, _, _| {},
        );
        assert_eq!(
            v.report.ok, truth,
            "export audit against a checkpoint of size {}: {:?}",
            cp.size, v.report.failure
        );
        let same_origin = cp.origin == CheckpointText::origin_line(&FORK_ORIGIN);
        let root_ok = real.is_some_and(|t| t.root == cp.root) && same_origin;
        for p in s.inclusion.iter().filter(|p| p.tree_size == cp.size) {
            let r = proof::verify_inclusion(p, cp);
            assert_eq!(
                r.is_ok(),
                root_ok,
                "inclusion proof against size {}",
                cp.size
            );
        }
        for p in s.consistency.iter().filter(|p| p.tree_size == cp.size) {
            let old = s.cp(p.old_size).expect("an old checkpoint");
            let r = proof::verify_consistency(p, old, cp);
            assert_eq!(r.is_ok(), root_ok, "consistency proof to size {}", cp.size);
        }
        for p in s.consistency.iter().filter(|p| p.old_size == cp.size) {
            let new = s.cp(p.tree_size).expect("a new checkpoint");
            let r = proof::verify_consistency(p, cp, new);
            assert_eq!(
                r.is_ok(),
                root_ok,
                "consistency proof from size {}",
                cp.size
            );
        }
    }
}

// ------------------------------------------------------------ proof

/// The `verify` path: the input is the proof document, then optionally
/// after a NUL byte the checkpoint text, then after another the older
/// checkpoint text. Parsing and verifying never panic; what parses prints
/// and parses again to itself; a proof that verifies against a checkpoint
/// of the fork proves what that side holds: the very entry bytes at that
/// leaf, or that the newer tree really extends the older one.
pub fn check_proof(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == 0);
    let doc = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let given: Vec<Option<CheckpointText>> = parts
        .map(|p| String::from_utf8_lossy(p).parse().ok())
        .collect();
    let p = match Proof::parse(&doc) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.is_empty());
            return;
        }
    };
    let f = fork();
    match &p {
        Proof::Inclusion(ip) => {
            let again = serde_json::to_string_pretty(ip).expect("a proof prints");
            assert_eq!(Proof::parse(&again).as_ref(), Ok(&p), "reparsed otherwise");
            for s in f.sides() {
                let Some(cp) = s.cp(ip.tree_size) else {
                    continue;
                };
                if let Ok(e) = proof::verify_inclusion(ip, cp) {
                    let bytes = chain::unhex(&ip.entry).expect("verified hex");
                    assert!(e.seq < cp.size, "entry {} of a tree of {}", e.seq, cp.size);
                    assert!(
                        s.entries[e.seq as usize] == bytes,
                        "a forged inclusion proof verifies: entry {} of {}",
                        e.seq,
                        cp.size
                    );
                }
            }
            for cp in given.iter().flatten() {
                if let Ok(e) = proof::verify_inclusion(ip, cp) {
                    assert_eq!(e.seq, ip.leaf_index);
                    assert!(ip.leaf_index < cp.size);
                    let leaf = chain::leaf(&chain::unhex(&ip.entry).expect("verified hex"));
                    let path = ip
                        .path
                        .iter()
                        .map(|h| {
                            chain::unbase64(h)
                                .and_then(|b| Hash::try_from(b).ok())
                                .expect("a verified path hash")
                        })
                        .collect::<Vec<_>>();
                    assert!(merkle::verify_inclusion(
                        &leaf,
                        ip.leaf_index,
                        cp.size,
                        &path,
                        &cp.root
                    )
                    .is_ok());
                }
            }
        }
        Proof::Consistency(c) => {
            let again = serde_json::to_string_pretty(c).expect("a proof prints");
            assert_eq!(Proof::parse(&again).as_ref(), Ok(&p), "reparsed otherwise");
            for x in f.sides() {
                for y in f.sides() {
                    let (Some(old), Some(new)) = (x.cp(c.old_size), y.cp(c.tree_size)) else {
                        continue;
                    };
                    if proof::verify_consistency(c, old, new).is_ok() {
                        let truth = y.cp(c.old_size).is_some_and(|t| t.root == old.root);
                        assert!(
                            truth,
                            "a forged consistency proof verifies: {} to {}",
                            c.old_size, c.tree_size
                        );
                    }
                }
            }
            if let [Some(new), old] = &given[..] {
                let old = old.as_ref().or(f.a.cp(c.old_size));
                if let Some(old) = old {
                    let _ = proof::verify_consistency(c, old, new);
                }
            }
        }
    }
}

// ------------------------------------------------------------ export

/// An export file: verifying never panics and passes exactly when import
/// succeeds; what passes imports into a ledger whose audit passes, whose
/// export verifies to the same head and imports to the same bytes.
pub fn check_export(data: &[u8]) {
    let mut seen: Vec<(u64, Vec<u8>, Hash)> = Vec::new();
    let v = export::verify_export(&mut &data[..], None, &mut |e, bytes, hash| {
        seen.push((e.seq, bytes.to_vec(), *hash))
    });
    let r = &v.report;
    assert!(
        seen.len() as u64 <= r.entries,
        "the sink got unverified entries"
    );
    for (i, (seq, _, _)) in seen.iter().enumerate() {
        assert_eq!(*seq, i as u64, "the sink got entries out of order");
    }
    let imported = export::import(MemStore::default(), &mut &data[..]);
    if !r.ok {
        assert!(
            r.failure.is_some(),
            "a failed export audit without a failure"
        );
        assert!(
            imported.is_err(),
            "an export that fails its audit ({:?}) imports",
            r.failure
        );
        return;
    }
    assert_eq!(seen.len() as u64, r.entries);
    assert_eq!(r.head.count, r.entries);
    let origin = v.origin.expect("a verified export has an origin");
    let (l, report) = match imported {
        Ok(x) => x,
        Err(e) => panic!("an export that passes its audit does not import: {e}"),
    };
    assert!(
        report.ok,
        "the imported ledger fails its audit: {:?}",
        report.failure
    );
    assert_eq!(l.origin(), origin);
    assert_eq!(l.head().checkpoint(), r.head);
    for (seq, bytes, hash) in &seen {
        assert_eq!(l.entry_hash(*seq).ok().flatten(), Some(*hash));
        let stored = l.entry(*seq).expect("readable").expect("an entry");
        assert_eq!(
            pactum::codec::encode_entry(&stored).ok().as_ref(),
            Some(bytes)
        );
    }
    // Against its own head as a checkpoint, and one entry more.
    let own = export::verify_export(&mut &data[..], Some(r.head.into()), &mut |_, _, _| {});
    assert!(own.report.ok, "{:?}", own.report.failure);
    let more = Checkpoint {
        count: r.head.count + 1,
        hash: r.head.hash,
    };
    let beyond = export::verify_export(&mut &data[..], Some(more.into()), &mut |_, _, _| {});
    assert!(
        !beyond.report.ok,
        "an export passes against a longer checkpoint"
    );
    // Export again: the same head, and an import of the same bytes.
    let mut out = Vec::new();
    let head = export::write_export(&l, &mut out, &mut |_| {}).expect("an export");
    assert_eq!(head, r.head);
    let (again, rep) = export::import(MemStore::default(), &mut &out[..]).expect("reimports");
    assert!(rep.ok);
    assert!(
        again.store().dump() == l.store().dump(),
        "a re-import holds other bytes"
    );
}
