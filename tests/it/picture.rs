//! The timeline picture: the layout model on a history with every kind of
//! mark, the drawings' escaping and self-containment, the CLI, and the
//! README picture (it must be what the binary draws).

use std::path::PathBuf;
use std::process::Command;

use pactum::model::{AgreementId, Date, RecordedAt};
use pactum::picture::{self, html, svg, Layout, View};
use pactum::projection::KnownAt;
use pactum::store::MemStore;
use pactum::Ledger;

const HISTORY: &[(&str, &str)] = &[
    (
        "2020-01-02",
        r#"{"agreement":"acme","id":"start","title":"Acme <supply> & \"co\"","effective":"2020-01-01","change":[{"op":"establish","title":"Acme supply <script>alert(1)</script>","parties":[{"id":"acme","name":"Acme"}]},{"op":"add","clause":"price","text":"Ten per unit.","terms":{"unit_price_usd":10}},{"op":"add","clause":"exclusivity","text":"Exclusive until the audit.","until_event":"audit-passed"}]}"#,
    ),
    (
        "2021-06-01",
        r#"{"agreement":"acme","id":"raise","title":"Raise","effective":"2021-06-01","change":[{"op":"amend","clause":"price","text":"Twelve per unit.","set":{"unit_price_usd":12}}]}"#,
    ),
    (
        "2021-09-02",
        r#"{"agreement":"acme","id":"fee","title":"A fee recorded by mistake","effective":"2021-09-01","change":[{"op":"add","clause":"fee","text":"A fee."}]}"#,
    ),
    (
        "2021-09-10",
        r#"{"agreement":"acme","id":"fee-erratum","title":"Erratum","change":[{"op":"retract","amendment":"fee","reason":"typed into the wrong agreement"}]}"#,
    ),
    (
        "2022-03-01",
        r#"{"agreement":"acme","id":"audit","title":"Audit passed","effective":"2022-03-01","change":[{"op":"occur","event":"audit-passed","note":"clean"}]}"#,
    ),
    (
        "2022-05-01",
        r#"{"agreement":"acme","id":"backdated","title":"Backdated discount","effective":"2021-01-01","change":[{"op":"add","clause":"discount","text":"Five percent off.","until":"2022-12-31"}]}"#,
    ),
    (
        "2023-07-01",
        r#"{"agreement":"acme","id":"end","title":"Terminated","effective":"2023-06-30","change":[{"op":"terminate"}]}"#,
    ),
];

fn d(s: &str) -> Date {
    s.parse().expect("date")
}

fn ledger() -> Ledger<MemStore> {
    let ledger = Ledger::create(MemStore::default(), [7; 16]).expect("ledger");
    for (day, line) in HISTORY {
        let a = pactum::input::parse_str("h.jsonl", &format!("{line}\n")).expect("parse");
        let t: jiff::Timestamp = format!("{day}T10:00:00Z").parse().expect("time");
        ledger
            .append(&a, RecordedAt::from_timestamp(t), Default::default())
            .expect("append");
    }
    ledger
}

fn layout_of(known: KnownAt, from: Option<&str>, to: Option<&str>) -> Layout {
    let ledger = ledger();
    let id: AgreementId = "acme".parse().expect("id");
    let entries = ledger.agreement_entries(&id).expect("entries");
    let view = View {
        known,
        from: from.map(d),
        to: to.map(d),
        today: d("2024-01-01"),
    };
    picture::layout(&id, &entries, &view).expect("layout")
}

#[test]
fn layout_has_lanes_segments_marks_ghosts_events_termination() {
    let l = layout_of(KnownAt::All, None, None);
    assert_eq!(
        (l.from, l.to, l.today),
        (d("2020-01-01"), d("2024-01-01"), d("2024-01-01"))
    );
    let lanes: Vec<&str> = l.lanes.iter().map(|l| l.clause.as_str()).collect();
    assert_eq!(
        lanes,
        ["discount", "exclusivity", "price"],
        "the retracted fee has no lane"
    );
    let seg = |lane: usize, i: usize| &l.lanes[lane].segments[i];
    // discount: backdated, expires after its `until`.
    assert_eq!(
        (seg(0, 0).from, seg(0, 0).until, seg(0, 0).end),
        (d("2021-01-01"), Some(d("2022-12-31")), "until")
    );
    // exclusivity: ended by the event, the day before it.
    assert_eq!(
        (seg(1, 0).until, seg(1, 0).end),
        (Some(d("2022-02-28")), "event")
    );
    // price: two versions, the second ended by the termination.
    assert_eq!(l.lanes[2].segments.len(), 2);
    assert_eq!(
        (seg(2, 0).until, seg(2, 0).end, seg(2, 0).amendment.as_str()),
        (Some(d("2021-05-31")), "amended", "start")
    );
    assert_eq!(
        (seg(2, 1).from, seg(2, 1).until, seg(2, 1).end),
        (d("2021-06-01"), Some(d("2023-06-29")), "terminated")
    );
    assert_eq!(seg(2, 1).text, "Twelve per unit.");
    // Marks in timeline order, numbered by first date, with lateness.
    let marks: Vec<(u32, &str, i64, bool)> = l
        .marks
        .iter()
        .map(|m| (m.number, m.amendment.as_str(), m.late_days, m.retroactive))
        .collect();
    assert_eq!(
        marks,
        [
            (1, "start", 1, true),
            (2, "backdated", 485, true),
            (3, "raise", 0, false),
            (4, "audit", 0, false),
            (5, "end", 1, true)
        ]
    );
    assert_eq!(l.ghosts.len(), 1);
    assert_eq!(
        (
            l.ghosts[0].amendment.as_str(),
            l.ghosts[0].retracted_by.as_str(),
            l.ghosts[0].date
        ),
        ("fee", "fee-erratum", d("2021-09-01"))
    );
    assert_eq!(l.events.len(), 1);
    assert_eq!(
        (l.events[0].event.as_str(), l.events[0].date),
        ("audit-passed", d("2022-03-01"))
    );
    assert_eq!(l.terminated.as_ref().map(|t| t.date), Some(d("2023-06-30")));
    assert_eq!(l.moments.len(), 7);
    assert_eq!(l.known_through, 6);
}

#[test]
fn an_earlier_view_sees_the_fee_and_no_ghost() {
    // As known after entry #2 (the fee, before its retraction).
    let l = layout_of(KnownAt::Seq(2), None, None);
    let lanes: Vec<&str> = l.lanes.iter().map(|l| l.clause.as_str()).collect();
    assert_eq!(lanes, ["exclusivity", "fee", "price"]);
    assert!(l.ghosts.is_empty());
    assert!(l.terminated.is_none());
    assert_eq!(l.known_at.as_deref(), Some("#2"));
    assert_eq!(l.lanes[1].segments[0].end, "open");
}

#[test]
fn from_and_to_keep_only_the_lanes_in_force_on_the_days_shown() {
    let l = layout_of(KnownAt::All, Some("2023-01-01"), Some("2023-12-31"));
    let lanes: Vec<&str> = l.lanes.iter().map(|l| l.clause.as_str()).collect();
    assert_eq!(
        lanes,
        ["price"],
        "discount ended 2022-12-31, exclusivity in 2022"
    );
    let ledger = ledger();
    let id: AgreementId = "acme".parse().expect("id");
    let entries = ledger.agreement_entries(&id).expect("entries");
    let bad = View {
        known: KnownAt::All,
        from: Some(d("2023-01-02")),
        to: Some(d("2023-01-01")),
        today: d("2024-01-01"),
    };
    assert!(matches!(
        picture::layout(&id, &entries, &bad),
        Err(picture::PictureError::Range { .. })
    ));
}

#[test]
fn drawings_escape_every_text_and_are_self_contained() {
    let l = layout_of(KnownAt::All, None, None);
    let s = svg::draw(&l);
    assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(!s.contains("<script"), "no script in the SVG");
    assert!(s.contains("Acme supply &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(s.contains("Acme &lt;supply&gt; &amp; &quot;co&quot;"));
    // Every `&` starts an entity.
    for (i, _) in s.match_indices('&') {
        let rest = &s[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| rest.starts_with(e)),
            "raw & at {i}: {}",
            &rest[..rest.len().min(20)]
        );
    }
    // Nothing fetched from outside: the only URL is the SVG namespace.
    assert_eq!(s.matches("http").count(), 1);
    assert!(!s.contains("href"));
    // Retracted amendment drawn as a ghost; the late one with its lateness.
    assert!(s.contains("class=\"ghost\""));
    assert!(s.contains("485 days late"));
    assert!(s.contains("⚑ audit-passed"));
    assert!(s.contains("today 2024-01-01"));

    let id: AgreementId = "acme".parse().expect("id");
    let ledger = ledger();
    let entries = ledger.agreement_entries(&id).expect("entries");
    let view = View {
        known: KnownAt::All,
        from: None,
        to: None,
        today: d("2024-01-01"),
    };
    let views = picture::moments(&id, &entries, &view).expect("moments");
    assert_eq!(views.len(), 7, "six earlier moments and the view itself");
    assert!(views
        .iter()
        .all(|(_, l)| l.from == views[6].1.from && l.to == views[6].1.to));
    let ms: Vec<html::Moment<'_>> = views
        .iter()
        .map(|(label, layout)| html::Moment {
            label: label.clone(),
            layout,
        })
        .collect();
    let page = html::page(&ms, 6);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg ").count(), 7);
    assert_eq!(
        page.matches("<script>").count(),
        1,
        "only the page's own script"
    );
    assert!(!page.contains("src="));
    assert!(page.contains("<title>Timeline of acme — Acme supply &lt;script&gt;"));
}

// ---------------------------------------------------------------- the binary

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn readme_picture_is_what_the_binary_draws() {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("mo.svg");
    let st = Command::new("sh")
        .arg(root().join("docs/microsoft-openai.sh"))
        .arg(env!("CARGO_BIN_EXE_pactum"))
        .arg(&out)
        .status()
        .expect("run the script");
    assert!(st.success());
    let drawn = std::fs::read_to_string(&out).expect("drawn");
    let committed =
        std::fs::read_to_string(root().join("docs/microsoft-openai.svg")).expect("committed");
    assert!(
        drawn == committed,
        "docs/microsoft-openai.svg is stale: run `sh docs/microsoft-openai.sh target/debug/pactum`"
    );
    assert!(
        drawn.contains("223 days late"),
        "the board seat was recorded late"
    );
}

#[test]
fn cli_formats_and_refusals() {
    let dir = tempfile::tempdir().expect("temp");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(args)
            .current_dir(dir.path())
            .env("PACTUM_NOW", "2026-12-01T00:00:00Z")
            .env_remove("PACTUM_LEDGER")
            .output()
            .expect("run")
    };
    let fx = root()
        .join("fixtures/microsoft-openai")
        .display()
        .to_string();
    assert!(run(&["append", &fx]).status.success());
    let j = run(&[
        "timeline",
        "microsoft-openai",
        "--format",
        "json",
        "--to",
        "2025-06-01",
    ]);
    assert!(j.status.success());
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).expect("json");
    assert_eq!(v["version"], 1);
    assert_eq!(v["to"], "2025-06-01");
    assert!(v["lanes"]
        .as_array()
        .is_some_and(|l| l.iter().all(|l| l["clause"] != "cloud.primary")));
    let h = run(&[
        "timeline",
        "microsoft-openai",
        "--format",
        "html",
        "-o",
        "t.html",
    ]);
    assert!(h.status.success() && h.stdout.is_empty());
    let page = std::fs::read_to_string(dir.path().join("t.html")).expect("page");
    assert!(page.contains("<select id=\"known\">"));
    for (args, needle) in [
        (vec!["timeline", "nope"], "not in the ledger"),
        (
            vec![
                "timeline",
                "microsoft-openai",
                "--from",
                "2025-01-02",
                "--to",
                "2025-01-01",
            ],
            "after --to",
        ),
        (
            vec!["timeline", "microsoft-openai", "--known-at", "2001-01-01"],
            "not known at",
        ),
        (
            vec!["timeline", "microsoft-openai", "--format", "png"],
            "png",
        ),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panic"));
    }
}
