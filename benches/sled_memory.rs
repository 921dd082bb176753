//! sled alone, without pactum: how its memory grows with the keys one
//! process writes (issue #10, item 4: where sled itself bounds a figure).
//!
//! Writes `--keys N` keys shaped like pactum's agreement index (`a ‖
//! agreement ‖ 0 ‖ u64_be seq`, 1,000 agreements interleaved, 8-byte
//! values) in batches of 8,000 (a staged part of 2,000 amendments writes
//! about that many), into a new database configured as a ledger's (zstd
//! level 3, no background flush, `--cache` bytes of page cache), and prints
//! the process's RSS every 200,000 keys; `--reopen N` closes and reopens
//! the database every N keys.
//!
//!   cargo bench --bench sled_memory -- --keys 1200000
//!   cargo bench --bench sled_memory -- --keys 1200000 --reopen 200000
//!   cargo bench --bench sled_memory -- --keys 1200000 --cache 4000000

use std::path::Path;
use std::time::Instant;

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn open(path: &Path, cache: u64) -> sled::Db {
    sled::Config::new()
        .path(path)
        .flush_every_ms(None)
        .use_compression(true)
        .compression_factor(3)
        .cache_capacity(cache)
        .open()
        .expect("open sled")
}

fn main() {
    let keys = arg("--keys").unwrap_or(1_200_000);
    let reopen = arg("--reopen").unwrap_or(0);
    let cache = arg("--cache").unwrap_or(64 * 1024 * 1024);
    let dir = std::env::temp_dir().join(format!("pactum-sled-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut db = open(&dir, cache);
    let t = Instant::now();
    const BATCH: u64 = 8_000;
    let mut written = 0u64;
    println!("keys rss_mib seconds (cache {cache} B, reopen every {reopen} keys)");
    while written < keys {
        let mut b = sled::Batch::default();
        for seq in written..written + BATCH {
            let mut k = b"a".to_vec();
            k.extend_from_slice(format!("agr-{:05}", seq % 1000).as_bytes());
            k.push(0);
            k.extend_from_slice(&seq.to_be_bytes());
            b.insert(k, &seq.to_be_bytes()[..]);
        }
        db.apply_batch(b).expect("batch");
        written += BATCH;
        if reopen > 0 && written % reopen == 0 {
            db.flush().expect("flush");
            drop(db);
            db = open(&dir, cache);
        }
        if written % 200_000 == 0 {
            println!("{written} {} {:.1}", rss_mib(), t.elapsed().as_secs_f64());
        }
    }
    db.flush().expect("flush");
    drop(db);
    let t = Instant::now();
    drop(open(&dir, cache));
    println!(
        "reopened in {:.2} s, rss {} MiB",
        t.elapsed().as_secs_f64(),
        rss_mib()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
