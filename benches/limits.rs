//! Measures, in one run, the physical limits pactum is compared with and the
//! library-level figures of the performance table (see `benches/run`).
//!
//! `cargo bench --bench limits -- [--ledger PATH] [--small AGREEMENT] [--long AGREEMENT] [--scratch DIR]`
//!
//! Prints `name value unit` lines, one per measure, for `benches/run` to
//! read. With `--ledger`, it also measures `state` and `audit` through the
//! library on that (large) ledger.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pactum::model::{Date, RecordedAt};
use pactum::projection::KnownAt;
use pactum::store::SledStore;
use pactum::Ledger;
use sha2::{Digest, Sha256};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.3} {unit}");
}

fn value200(i: u64) -> Vec<u8> {
    let mut v = vec![0u8; 200];
    v[..8].copy_from_slice(&i.to_le_bytes());
    v
}

fn sled_config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .flush_every_ms(None)
        .mode(sled::Mode::LowSpace)
        .cache_capacity(64 * 1024 * 1024)
}

/// sled as a ledger at `path` has it: compressed (zstd level 3) unless its
/// `conf` says otherwise (docs/format.md §4).
fn ledger_sled_config(path: &Path) -> sled::Config {
    let plain = std::fs::read_to_string(path.join("conf"))
        .map(|c| c.contains("use_compression: false"))
        .unwrap_or(false);
    sled_config(path)
        .use_compression(!plain)
        .compression_factor(3)
}

fn sha_chain() {
    let n = 2_000_000u64;
    let mut prev = [0u8; 32];
    let msg = [7u8; 200];
    let t = Instant::now();
    for i in 0..n {
        let mut h = Sha256::new();
        h.update(prev);
        h.update(i.to_be_bytes());
        h.update(msg);
        prev = h.finalize().into();
    }
    std::hint::black_box(prev);
    report(
        "sha256_chained_200B",
        n as f64 / t.elapsed().as_secs_f64(),
        "per_s",
    );
}

fn sled_inserts(dir: &Path) {
    let db = sled_config(&dir.join("inserts")).open().expect("open");
    let n = 200_000u64;
    let t = Instant::now();
    for i in 0..n {
        db.insert(i.to_be_bytes(), value200(i)).expect("insert");
        if i % 1000 == 999 {
            db.flush().expect("flush");
        }
    }
    db.flush().expect("flush");
    report(
        "sled_insert_200B_flush_per_1000",
        n as f64 / t.elapsed().as_secs_f64(),
        "per_s",
    );
}

fn sled_transactions(dir: &Path, durable: bool) {
    use sled::Transactional;
    let name = if durable { "tx_durable" } else { "tx" };
    let path = dir.join(name);
    let db = sled_config(&path).open().expect("open");
    let data = File::open(path.join("db")).expect("data file");
    let (a, b, c) = (
        db.open_tree("a").expect("a"),
        db.open_tree("b").expect("b"),
        db.open_tree("c").expect("c"),
    );
    let n: u64 = if durable { 2_000 } else { 50_000 };
    let t = Instant::now();
    for i in 0..n {
        (&a, &b, &c)
            .transaction(|(a, b, c)| {
                a.insert(&i.to_be_bytes(), value200(i))?;
                b.insert(&i.to_be_bytes(), &[][..])?;
                c.insert(&i.to_be_bytes(), &i.to_be_bytes()[..])?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .expect("tx");
        if durable {
            db.flush().expect("flush");
            data.sync_data().expect("fsync");
        }
    }
    let per_s = n as f64 / t.elapsed().as_secs_f64();
    if durable {
        report("sled_tx_3_trees_flush_fsync", per_s, "per_s");
        report("sled_tx_3_trees_flush_fsync_latency", 1e6 / per_s, "us");
    } else {
        report("sled_tx_3_trees_no_flush", per_s, "per_s");
    }
}

fn fdatasync(dir: &Path) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync"))
        .expect("file");
    let n = 2_000;
    let t = Instant::now();
    for i in 0..n {
        f.write_all(&value200(i)).expect("write");
        f.sync_data().expect("fdatasync");
    }
    report(
        "fdatasync_after_200B_append",
        t.elapsed().as_secs_f64() * 1e6 / n as f64,
        "us",
    );
}

fn sled_scan(path: &Path) {
    // Open and close, as a process does: sled zeroes its free segments when
    // it opens (so the time grows with the free space in its file) and its
    // close fsyncs that. Median of five.
    let mut cycles: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            drop(ledger_sled_config(path).open().expect("open"));
            t.elapsed()
        })
        .collect();
    cycles.sort();
    report(
        "sled_open_close",
        cycles[cycles.len() / 2].as_secs_f64() * 1e3,
        "ms",
    );
    let t = Instant::now();
    let db = ledger_sled_config(path).open().expect("open");
    let reopen = t.elapsed();
    let t = Instant::now();
    let mut n = 0u64;
    for kv in db.iter() {
        std::hint::black_box(kv.expect("kv"));
        n += 1;
    }
    let sled_secs = t.elapsed().as_secs_f64();
    report("sled_reopen", reopen.as_secs_f64() * 1e3, "ms");
    report("sled_full_scan", n as f64 / sled_secs, "keys_per_s");
    report("sled_keys", n as f64, "keys");
    // The entry log beside sled (docs/format.md §4): read through once.
    let t = Instant::now();
    let mut log = File::open(path.join("entries.log")).expect("entries.log");
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let k = std::io::Read::read(&mut log, &mut buf).expect("read");
        if k == 0 {
            break;
        }
        std::hint::black_box(&buf[..k]);
        bytes += k as u64;
    }
    let log_secs = t.elapsed().as_secs_f64();
    report("raw_scan_entry_log_bytes", bytes as f64, "B");
    report("raw_scan_seconds", sled_secs + log_secs, "s");
}

/// The writes of a bulk append with nothing of pactum's work: the very
/// bytes the ledger at `path` holds (its sled keys and values, its entry
/// log) written to a new sled database and log file in batches of
/// `per_batch` entries' worth of keys, each log part fsynced before its
/// sled batch, one flush and fsync at the end. Reports entries per second.
fn raw_same_bytes(path: &Path, scratch: &Path) {
    let src = ledger_sled_config(path).open().expect("open");
    let pairs: Vec<(sled::IVec, sled::IVec)> = src.iter().map(|kv| kv.expect("kv")).collect();
    drop(src);
    let log = std::fs::read(path.join("entries.log")).expect("entries.log");
    let entries = std::fs::metadata(path.join("entries.idx"))
        .map(|m| m.len() / 8)
        .expect("entries.idx")
        .max(1);
    let parts = (entries / 2_000).max(1) as usize;
    let dst_path = scratch.join("same-bytes");
    let _ = std::fs::remove_dir_all(&dst_path);
    let t = Instant::now();
    // Compressed as the ledger is (a new sled folder with this conf).
    std::fs::create_dir_all(&dst_path).expect("dir");
    std::fs::copy(path.join("conf"), dst_path.join("conf")).expect("conf");
    let dst = ledger_sled_config(&dst_path).open().expect("open");
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(scratch.join("same-bytes.log"))
        .expect("log");
    let keys_per = pairs.len().div_ceil(parts);
    let log_per = log.len().div_ceil(parts);
    for i in 0..parts {
        let lo = (i * log_per).min(log.len());
        let hi = ((i + 1) * log_per).min(log.len());
        out.write_all(&log[lo..hi]).expect("write");
        out.sync_data().expect("fsync");
        let mut batch = sled::Batch::default();
        for (k, v) in pairs.iter().skip(i * keys_per).take(keys_per) {
            batch.insert(k.clone(), v.clone());
        }
        dst.apply_batch(batch).expect("batch");
    }
    dst.flush().expect("flush");
    File::open(dst_path.join("db"))
        .and_then(|f| f.sync_data())
        .expect("fsync");
    let secs = t.elapsed().as_secs_f64();
    drop(dst);
    report(
        "raw_same_bytes_entries_per_s",
        entries as f64 / secs,
        "per_s",
    );
    let _ = std::fs::remove_dir_all(&dst_path);
    let _ = std::fs::remove_file(scratch.join("same-bytes.log"));
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn time_state(ledger: &Ledger<SledStore>, agreement: &str, label: &str) {
    let id = agreement.parse().expect("agreement id");
    // Early, middle and late dates (the long agreement runs for centuries:
    // one amendment every few days), and after its end.
    let dates: Vec<Date> = [
        "2000-06-01",
        "2005-01-01",
        "2010-01-01",
        "2030-01-01",
        "2300-01-01",
        "2700-01-01",
        "3300-01-01",
        "9000-01-01",
    ]
    .iter()
    .map(|d| d.parse().expect("date"))
    .collect();
    let mut times = Vec::new();
    for round in 0..20 {
        for d in &dates {
            let t = Instant::now();
            let s = ledger.state(&id, *d, KnownAt::All);
            std::hint::black_box(&s);
            if round > 0 {
                times.push(t.elapsed());
            }
        }
    }
    times.sort();
    let clauses = dates
        .iter()
        .filter_map(|d| ledger.state(&id, *d, KnownAt::All).ok())
        .map(|s| s.clauses.len())
        .max()
        .unwrap_or(0);
    report(
        &format!("state_{label}_clauses_max"),
        clauses as f64,
        "clauses",
    );
    let median = times[times.len() / 2];
    report(
        &format!("state_{label}_median"),
        median.as_secs_f64() * 1e6,
        "us",
    );
    report(
        &format!("state_{label}_max"),
        times
            .last()
            .copied()
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
            * 1e6,
        "us",
    );
}

fn durable_append(scratch: &Path) {
    let store = SledStore::open(&scratch.join("append"), Duration::from_secs(5)).expect("open");
    let ledger = Ledger::open_or_create(store, || [5; 16]).expect("ledger");
    let mk = |i: u64| {
        let change = if i == 0 {
            r#"{"op":"establish","title":"A","parties":[{"id":"p","name":"P"}]}"#.to_string()
        } else {
            format!(
                r#"{{"op":"add","clause":"c{i}","text":"Some clause text of a realistic length for a provision, about two hundred bytes long, which the parties agree to."}}"#
            )
        };
        let text = format!(
            r#"{{"agreement":"bench","id":"a{i}","title":"Amendment {i}","effective":"2024-01-01","change":[{change}]}}"#
        );
        pactum::input::parse_str("x.json", &text).expect("amendment")
    };
    let n = 1_000u64;
    let batch: Vec<_> = (0..n).map(mk).collect();
    let t = Instant::now();
    for (i, a) in batch.iter().enumerate() {
        ledger
            .append(a, RecordedAt(i as i64), Default::default())
            .expect("append");
    }
    let per = t.elapsed().as_secs_f64() / n as f64;
    report("library_durable_append_latency", per * 1e6, "us");
}

fn main() {
    let scratch = arg("--scratch")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("pactum-limits"));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch");
    sha_chain();
    sled_inserts(&scratch);
    sled_transactions(&scratch, false);
    sled_transactions(&scratch, true);
    fdatasync(&scratch);
    durable_append(&scratch);
    if let Some(path) = arg("--ledger") {
        let path = PathBuf::from(path);
        sled_scan(&path);
        let t = Instant::now();
        let store = SledStore::open(&path, Duration::from_secs(30)).expect("open ledger");
        let ledger = Ledger::open(store).expect("ledger");
        report("library_open", t.elapsed().as_secs_f64() * 1e3, "ms");
        if let Some(a) = arg("--small") {
            time_state(&ledger, &a, "small");
        }
        if let Some(a) = arg("--long") {
            time_state(&ledger, &a, "long");
        }
        let before = peak_rss_mib();
        let t = Instant::now();
        let r = pactum::audit::audit_store(ledger.store(), None, &mut |_| {}).expect("audit");
        let secs = t.elapsed().as_secs_f64();
        assert!(r.ok, "audit failed: {:?}", r.failure);
        report("library_audit", r.entries as f64 / secs, "entries_per_s");
        report("library_audit_peak_rss", peak_rss_mib().max(before), "MiB");
        drop(ledger);
        // Last: it holds the ledger's sled pairs in memory (the peak above is the audit's).
        raw_same_bytes(&path, &scratch);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
