//! Helpers shared by `crash.rs` and the `reliability` modules: amendments
//! made from numbers, ledger snapshots, the audit, a seeded PRNG.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pactum::audit::audit_store;
use pactum::model::{AgreementId, Amendment, AmendmentId, RecordedAt};
use pactum::store::Store;

/// Every stored key and value (what "the ledger" is; sled's file bytes are not).
pub type Snapshot = BTreeMap<Vec<u8>, Vec<u8>>;

/// The ledger's content: every key and value of the store.
pub fn snapshot<S: Store + ?Sized>(store: &S) -> Snapshot {
    store
        .scan(&[], None)
        .map(|r| r.expect("read the store"))
        .collect()
}

/// How two snapshots differ, briefly.
pub fn snapshot_diff(a: &Snapshot, b: &Snapshot) -> String {
    let mut d = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => d.push(format!("-{}", pactum::chain::hex(k))),
            Some(w) if w != v => d.push(format!("~{}", pactum::chain::hex(k))),
            _ => {}
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            d.push(format!("+{}", pactum::chain::hex(k)));
        }
    }
    let n = d.len();
    d.truncate(8);
    format!("{n} keys differ: {}", d.join(" "))
}

/// The full audit; `Ok(entries)` when it passes.
pub fn audit<S: Store + ?Sized>(store: &S) -> Result<u64, String> {
    let r = audit_store(store, None, &mut |_| {}).map_err(|e| format!("audit: {e}"))?;
    match r.failure {
        None if r.ok => Ok(r.entries),
        None => Err("audit: not ok, no failure given".into()),
        Some(f) => Err(format!("audit failed: {f}")),
    }
}

/// One amendment from JSON text.
pub fn parse(json: &str) -> Amendment {
    let mut v = pactum::input::parse_str("x.json", json)
        .unwrap_or_else(|e| panic!("test amendment refused: {e}\n{json}"));
    v.remove(0)
}

/// `establish` of `agreement` with one party, effective 2024-01-01.
pub fn establish_json(agreement: &str, id: &str) -> String {
    format!(
        r#"{{"agreement":"{agreement}","id":"{id}","title":"Start","effective":"2024-01-01","change":[{{"op":"establish","title":"Agreement {agreement}","parties":[{{"id":"p","name":"P"}}]}}]}}"#
    )
}

/// One `add` per text (clauses `{clause}`, `{clause}-2`, …), effective 2024-01-01.
pub fn add_json(agreement: &str, id: &str, clause: &str, texts: &[String]) -> String {
    let changes: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let c = if k == 0 {
                clause.to_string()
            } else {
                format!("{clause}-{}", k + 1)
            };
            format!(r#"{{"op":"add","clause":"{c}","text":"{t}"}}"#)
        })
        .collect();
    format!(
        r#"{{"agreement":"{agreement}","id":"{id}","title":"Add {clause}","effective":"2024-01-01","change":[{}]}}"#,
        changes.join(",")
    )
}

/// Deterministic filler text of `len` bytes (ASCII words).
pub fn filler(seed: u64, len: usize) -> String {
    const WORDS: [&str; 8] = [
        "party", "shall", "supply", "compute", "capacity", "under", "this", "clause",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut r = Rng::new(seed);
    while s.len() < len {
        s.push_str(WORDS[r.below(8) as usize]);
        s.push(' ');
    }
    s.truncate(len);
    if s.ends_with(' ') {
        s.pop();
        s.push('x');
    }
    s
}

/// The crash harness's amendment number `i` of `agreement`: 0 establishes it;
/// the others add clause `c{i}`; every 11th is large (three clauses of 60 000
/// bytes: an entry over sled's blob threshold, written to `blobs/`).
pub fn numbered_json(agreement: &str, i: u64) -> String {
    let id = numbered_id(i);
    if i == 0 {
        return establish_json(agreement, &id);
    }
    let texts: Vec<String> = if i % 11 == 5 {
        (0..3).map(|k| filler(i * 10 + k, 60_000)).collect()
    } else {
        vec![filler(i, 40 + (i as usize * 37) % 400)]
    };
    add_json(agreement, &id, &format!("c{i}"), &texts)
}

/// The id of amendment number `i`.
pub fn numbered_id(i: u64) -> String {
    format!("a{i:06}")
}

/// How many amendments the batch that starts at amendment `i` holds (1–3).
pub fn batch_len(i: u64) -> u64 {
    if i == 0 {
        1
    } else {
        1 + splitmix(i) % 3
    }
}

/// `(agreement, id)` of amendment number `i`.
pub fn numbered_key(agreement: &str, i: u64) -> (AgreementId, AmendmentId) {
    (
        agreement.parse().expect("agreement id"),
        numbered_id(i).parse().expect("amendment id"),
    )
}

/// The clock, as the ledger records it.
pub fn now() -> RecordedAt {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    RecordedAt(d.as_micros() as i64)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small seeded PRNG (splitmix64): reproducible runs without a dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(self.0)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A seed from the clock, or from `var` when set (printed, so a run can be repeated).
pub fn seed(var: &str) -> u64 {
    match std::env::var(var) {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("{var}={s} is not a number")),
        Err(_) => now().0 as u64 ^ u64::from(std::process::id()) << 32,
    }
}

/// The real binary, with a clean environment (no `PACTUM_*` from outside).
pub fn pactum(ledger: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pactum"));
    c.arg("--ledger")
        .arg(ledger)
        .env_remove("PACTUM_LEDGER")
        .env_remove("PACTUM_WAIT")
        .env_remove("PACTUM_NOW")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null());
    c
}

/// Runs the binary to completion.
pub fn run(mut c: Command) -> Output {
    c.output().expect("run pactum")
}

/// Text of output bytes.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What must never appear on standard error.
pub fn unclean(stderr: &str) -> Option<&'static str> {
    [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "internal error",
        "memory allocation",
        "overflowed its stack",
    ]
    .into_iter()
    .find(|f| stderr.contains(f))
}

/// Copies a folder (a ledger, say) with everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for e in std::fs::read_dir(from).expect("read folder") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}
