//! criterion benchmarks of the library: one durable append, `state` on a
//! short and a long agreement (stored projections), and the audit.
//!
//! `cargo bench --bench library` (the ledgers are built in a temporary
//! folder first; `benches/run` gives the whole-system table).

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pactum::model::{Amendment, Date, RecordedAt};
use pactum::projection::KnownAt;
use pactum::store::SledStore;
use pactum::Ledger;

fn amendment(agreement: &str, i: u64, days: u64) -> Amendment {
    let change = if i == 0 {
        r#"{"op":"establish","title":"A","parties":[{"id":"p","name":"P"}]}"#.to_string()
    } else if i % 3 == 0 {
        format!(r#"{{"op":"repeal","clause":"c{}"}}"#, i - 2)
    } else {
        format!(
            r#"{{"op":"add","clause":"c{i}","text":"A clause of a realistic length for a provision, some two hundred bytes long, which the parties agree to keep."}}"#
        )
    };
    let date = jiff::civil::date(2000, 1, 1)
        .checked_add(jiff::Span::new().days(days as i64))
        .expect("date");
    let text = format!(
        r#"{{"agreement":"{agreement}","id":"a{i}","title":"Amendment {i}","effective":"{date}","change":[{change}]}}"#
    );
    pactum::input::parse_str("x.json", &text)
        .expect("amendment")
        .remove(0)
}

/// An amendment that adds clause `x{i}` on day `i`.
fn add_clause(agreement: &str, i: u64) -> Amendment {
    let date = jiff::civil::date(2000, 1, 1)
        .checked_add(jiff::Span::new().days(i as i64))
        .expect("date");
    let text = format!(
        r#"{{"agreement":"{agreement}","id":"x{i}","title":"Amendment {i}","effective":"{date}","change":[{{"op":"add","clause":"x{i}","text":"A clause of a realistic length for a provision, some two hundred bytes long, which the parties agree to keep."}}]}}"#
    );
    pactum::input::parse_str("x.json", &text)
        .expect("amendment")
        .remove(0)
}

fn history(agreement: &str, n: u64) -> Vec<Amendment> {
    (0..n).map(|i| amendment(agreement, i, i * 3)).collect()
}

fn ledger(dir: &std::path::Path, name: &str) -> Ledger<SledStore> {
    let store = SledStore::open(&dir.join(name), Duration::from_secs(5)).expect("open");
    Ledger::open_or_create(store, || [3; 16]).expect("ledger")
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    // A ledger with 100 agreements of 100 amendments and one of 20,000.
    let big = ledger(dir.path(), "big");
    for a in 0..100 {
        big.append(
            &history(&format!("ag{a}"), 100),
            RecordedAt(1),
            Default::default(),
        )
        .expect("append");
    }
    let long = history("long", 20_000);
    for chunk in long.chunks(5_000) {
        big.append(chunk, RecordedAt(2), Default::default())
            .expect("append");
    }
    let date = |s: &str| -> Date { s.parse().expect("date") };

    let mut g = c.benchmark_group("state");
    for (name, agreement, at) in [
        ("100 amendments", "ag7", "2000-06-01"),
        ("20k amendments, early", "long", "2001-01-01"),
        ("20k amendments, late", "long", "2160-01-01"),
    ] {
        let id = agreement.parse().expect("id");
        let at = date(at);
        g.bench_function(name, |b| {
            b.iter(|| big.state(&id, at, KnownAt::All).expect("state"))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("append");
    g.sample_size(20);
    let one = ledger(dir.path(), "one");
    one.append(&history("bench", 1), RecordedAt(0), Default::default())
        .expect("establish");
    let mut i = 1u64;
    g.bench_function("one durable amendment", |b| {
        b.iter_batched(
            || {
                i += 1;
                vec![add_clause("bench", i)]
            },
            |a| {
                one.append(&a, RecordedAt(0), Default::default())
                    .expect("append")
            },
            BatchSize::SmallInput,
        )
    });
    g.throughput(Throughput::Elements(1_000));
    let mut n = 0u64;
    g.bench_function("batch of 1000 amendments, 10 agreements", |b| {
        b.iter_batched(
            || {
                n += 1;
                let s = ledger(dir.path(), &format!("batch{n}"));
                let batch: Vec<Amendment> = (0..10)
                    .flat_map(|a| history(&format!("ag{a}"), 100))
                    .collect();
                (s, batch)
            },
            |(s, batch)| {
                s.append(&batch, RecordedAt(0), Default::default())
                    .expect("append")
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(big.head().count));
    g.bench_function("30k entries", |b| {
        b.iter(|| {
            let r = pactum::audit::audit_store(big.store(), None, &mut |_| {}).expect("audit");
            assert!(r.ok);
        })
    });
    g.finish();
}

criterion_group!(library, benches);
criterion_main!(library);
