//! pactum on PostgreSQL next to raw PostgreSQL doing the same writes and
//! reads, in one run on the same server: one durable append vs one INSERT +
//! COMMIT; a bulk append vs one multi-row INSERT of the same bytes; `state`
//! vs a point read; the audit vs a scan of the same rows; appends per second
//! with 1, 2, 4 and 8 writers (each its own connection).
//!
//! `PACTUM_BENCH_PG=URL cargo bench --bench postgres` (a URL where the
//! bench may create schemas; `.ci/pg` starts a throwaway cluster). Prints
//! `name value unit` lines, like `limits`.

use std::time::{Duration, Instant};

use pactum::ledger::AppendOptions;
use pactum::model::{AgreementId, Amendment, Date, RecordedAt};
use pactum::projection::KnownAt;
use pactum::store::{PgStore, Store};
use pactum::Ledger;

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.3} {unit}");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn amendment(agreement: &str, i: usize) -> Amendment {
    let change = if i == 0 {
        r#"{"op":"establish","title":"Bench","parties":[{"id":"a","name":"A"},{"id":"b","name":"B"}]}"#
            .to_string()
    } else {
        format!(
            r#"{{"op":"add","clause":"c.n{i}","text":"Clause {i}: the parties agree on the terms of item {i}, with notice of thirty days and a cap of fees.","terms":{{"cap_usd":{i}}}}}"#
        )
    };
    let text = format!(
        r#"{{"agreement":"{agreement}","id":"a{i}","title":"Amendment {i}","effective":"2024-01-01","change":[{change}]}}"#
    );
    pactum::input::parse_str("bench.json", &text)
        .expect("a valid amendment")
        .remove(0)
}

fn url(base: &str, name: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}ledger=bench_{}_{name}", std::process::id())
}

fn main() {
    let Ok(base) = std::env::var("PACTUM_BENCH_PG") else {
        eprintln!("set PACTUM_BENCH_PG to a PostgreSQL URL (see .ci/pg)");
        std::process::exit(2);
    };
    let (libpq, _) = pactum::store::postgres::split_url(&url(&base, "raw")).expect("url");
    let mut raw = postgres::Client::connect(&libpq, postgres::NoTls).expect("connect");
    let table = format!("bench_raw_{}", std::process::id());
    raw.batch_execute(&format!(
        "CREATE TABLE {table} (key bytea PRIMARY KEY, value bytea NOT NULL)"
    ))
    .expect("raw table");
    let value = vec![7u8; 450];

    // One durable write.
    let n = 200;
    let mut t_raw = Vec::new();
    for i in 0..n {
        let k = format!("single-{i}").into_bytes();
        let t = Instant::now();
        let mut tx = raw.transaction().expect("begin");
        tx.execute(
            &format!("INSERT INTO {table} (key, value) VALUES ($1, $2)"),
            &[&k, &value],
        )
        .expect("insert");
        tx.commit().expect("commit");
        t_raw.push(t.elapsed());
    }
    let ledger = Ledger::open_or_create(
        PgStore::connect(&url(&base, "single"), true).expect("connect"),
        || [1; 16],
    )
    .expect("ledger");
    let mut t_pactum = Vec::new();
    for i in 0..n {
        let a = amendment("single", i);
        let t = Instant::now();
        ledger
            .append(&[a], RecordedAt(i as i64), AppendOptions::default())
            .expect("append");
        t_pactum.push(t.elapsed());
    }
    let (r, p) = (median(t_raw), median(t_pactum));
    report("pg_raw_insert_commit", r.as_secs_f64() * 1e6, "us");
    report("pg_pactum_append_one", p.as_secs_f64() * 1e6, "us");
    report(
        "pg_append_one_vs_insert_commit",
        p.as_secs_f64() / r.as_secs_f64(),
        "ratio",
    );

    // State on a 200-amendment agreement vs a point read.
    let agreement = AgreementId::new("single").expect("id");
    let at: Date = "2025-01-01".parse().expect("date");
    let mut t_state = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        ledger.state(&agreement, at, KnownAt::All).expect("state");
        t_state.push(t.elapsed());
    }
    let mut t_get = Vec::new();
    for i in 0..200 {
        let k = format!("single-{i}").into_bytes();
        let t = Instant::now();
        raw.query_opt(&format!("SELECT value FROM {table} WHERE key = $1"), &[&k])
            .expect("get");
        t_get.push(t.elapsed());
    }
    report(
        "pg_state_200_amendments",
        median(t_state).as_secs_f64() * 1e6,
        "us",
    );
    report("pg_raw_point_read", median(t_get).as_secs_f64() * 1e6, "us");

    // Bulk: one batch vs one multi-row INSERT of the same number of rows.
    let bulk = 5000;
    let batch: Vec<Amendment> = (0..bulk).map(|i| amendment("bulk", i)).collect();
    let bulk_ledger = Ledger::open_or_create(
        PgStore::connect(&url(&base, "bulk"), true).expect("connect"),
        || [2; 16],
    )
    .expect("ledger");
    let t = Instant::now();
    bulk_ledger
        .append(&batch, RecordedAt(1), AppendOptions::default())
        .expect("bulk append");
    let pactum_bulk = t.elapsed();
    let keys: Vec<Vec<u8>> = (0..bulk)
        .map(|i| format!("bulk-{i}").into_bytes())
        .collect();
    let vals: Vec<Vec<u8>> = (0..bulk).map(|_| value.clone()).collect();
    let t = Instant::now();
    let mut tx = raw.transaction().expect("begin");
    tx.execute(
        &format!("INSERT INTO {table} (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[])"),
        &[&keys, &vals],
    )
    .expect("bulk insert");
    tx.commit().expect("commit");
    let raw_bulk = t.elapsed();
    report(
        "pg_pactum_bulk_per_s",
        bulk as f64 / pactum_bulk.as_secs_f64(),
        "amendments/s",
    );
    report(
        "pg_raw_bulk_per_s",
        bulk as f64 / raw_bulk.as_secs_f64(),
        "rows/s",
    );
    report(
        "pg_bulk_vs_raw",
        raw_bulk.as_secs_f64() / pactum_bulk.as_secs_f64(),
        "ratio",
    );

    // Audit vs a scan of the same rows.
    let reader = PgStore::connect(&url(&base, "bulk"), false).expect("reader");
    let t = Instant::now();
    let r = pactum::audit::audit_store(&reader, None, &mut |_| {}).expect("audit");
    let audit = t.elapsed();
    assert!(r.ok, "{:?}", r.failure);
    let t = Instant::now();
    let rows = reader.scan(&[], None).count();
    let scan = t.elapsed();
    report(
        "pg_audit_entries_per_s",
        r.entries as f64 / audit.as_secs_f64(),
        "entries/s",
    );
    report(
        "pg_raw_scan_rows_per_s",
        rows as f64 / scan.as_secs_f64(),
        "rows/s",
    );
    report(
        "pg_audit_vs_scan",
        scan.as_secs_f64() / audit.as_secs_f64(),
        "ratio",
    );

    // Concurrent writers, each its own connection (as separate processes would).
    for writers in [1usize, 2, 4, 8] {
        let u = url(&base, &format!("w{writers}"));
        {
            let l =
                Ledger::open_or_create(PgStore::connect(&u, true).expect("connect"), || [3; 16])
                    .expect("ledger");
            for w in 0..writers {
                l.append(
                    &[amendment(&format!("w{w}"), 0)],
                    RecordedAt(0),
                    AppendOptions::default(),
                )
                .expect("establish");
            }
        }
        let each = 100;
        let t = Instant::now();
        std::thread::scope(|s| {
            for w in 0..writers {
                let u = u.clone();
                s.spawn(move || {
                    let l =
                        Ledger::open(PgStore::connect(&u, true).expect("connect")).expect("open");
                    for i in 1..=each {
                        l.append(
                            &[amendment(&format!("w{w}"), i)],
                            RecordedAt(i as i64),
                            AppendOptions::default(),
                        )
                        .expect("append");
                    }
                });
            }
        });
        let secs = t.elapsed().as_secs_f64();
        report(
            &format!("pg_appends_per_s_{writers}_writers"),
            (writers * each) as f64 / secs,
            "appends/s",
        );
    }
    raw.batch_execute(&format!("DROP TABLE {table}"))
        .expect("drop");
}
