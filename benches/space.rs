//! Where a ledger's bytes go: every stored key and value summed by kind
//! (entries, indexes, Merkle nodes, pages, snapshots, …) next to the size of
//! the ledger's folder on disk and the bytes of amendment JSON it holds.
//!
//! `cargo bench --bench space -- --ledger PATH [--json-bytes N]`
//!
//! Prints `name value unit` lines (like `limits`), for `benches/run` to read.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use pactum::layout::keys;
use pactum::store::{SledStore, Store};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn folder_bytes(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn kind_name(kind: u8) -> &'static str {
    match kind {
        keys::ENTRY => "entries",
        keys::BY_AGREEMENT => "agreement_index",
        keys::BY_ID => "idempotency_keys",
        keys::TREE => "merkle_nodes",
        keys::PAGE => "pages",
        keys::SNAPSHOT => "snapshots",
        keys::RETRACTED => "retraction_keys",
        keys::META => "meta",
        _ => "other",
    }
}

fn main() {
    let Some(ledger) = arg("--ledger") else {
        eprintln!("usage: space --ledger PATH [--json-bytes N]");
        std::process::exit(2);
    };
    let path = Path::new(&ledger);
    let on_disk = folder_bytes(path);
    let store =
        SledStore::open_with_cache(path, Duration::from_secs(30), pactum::store::SCAN_CACHE)
            .unwrap_or_else(|e| {
                eprintln!("{ledger}: {e}");
                std::process::exit(2);
            });
    let mut sums: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for item in store.scan(&[], None) {
        let (k, v) = item.unwrap_or_else(|e| {
            eprintln!("{ledger}: {e}");
            std::process::exit(1);
        });
        let s = sums.entry(kind_name(k[0])).or_default();
        s.0 += 1;
        s.1 += k.len() as u64;
        s.2 += v.len() as u64;
    }
    let stored: u64 = sums.values().map(|s| s.1 + s.2).sum();
    let json: Option<f64> = arg("--json-bytes").and_then(|s| s.parse().ok());
    for (name, (n, kb, vb)) in &sums {
        println!("space_{name}_keys {n} keys");
        println!("space_{name}_bytes {} B", kb + vb);
        if let Some(j) = json {
            println!(
                "space_{name}_per_json_byte {:.3} ratio",
                (kb + vb) as f64 / j
            );
        }
    }
    println!("space_stored_bytes {stored} B");
    println!("space_on_disk_bytes {on_disk} B");
    println!(
        "space_engine_overhead_bytes {} B",
        on_disk.saturating_sub(stored)
    );
    if let Some(j) = json {
        println!("space_stored_per_json_byte {:.3} ratio", stored as f64 / j);
        println!(
            "space_on_disk_per_json_byte {:.3} ratio",
            on_disk as f64 / j
        );
    }
}
