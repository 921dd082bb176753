//! `pactum diff`: clauses added, removed and changed between two dates (or
//! two views of one date), with a word-level redline.

use pactum::chain;
use pactum::model::*;
use pactum::projection::{self, KnownAt, Segment, TermChange};
use serde::Serialize;

use super::out::wrap;
use super::read::*;
use super::{parse_date, parse_known_at, Ctx, Fail, Out};

/// Arguments of `diff`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum diff microsoft-openai --from 2024-12-31 --to 2025-02-01\n  pactum diff microsoft-openai --from 2024-01-15 --known-at '#2' --known-at-to '#3'   # what entry #3 corrected"
)]
pub struct DiffArgs {
    /// The agreement.
    agreement: AgreementId,
    /// The earlier date.
    #[arg(long, value_name = "D1")]
    from: String,
    /// The later date (default: D1, to compare two views of one date).
    #[arg(long, value_name = "D2")]
    to: Option<String>,
    /// The view (as for `state`); with --known-at-to, the earlier view.
    #[arg(long, value_name = "K1")]
    known_at: Option<String>,
    /// The later view: redline what entries recorded after K1 changed in
    /// what was believed (e.g. --known-at '#2' --known-at-to '#3').
    #[arg(long, value_name = "K2")]
    known_at_to: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonClauseChange<'a> {
    id: &'a str,
    before: JsonClause<'a>,
    after: JsonClause<'a>,
    text: Option<&'a [Segment]>,
    terms: &'a [TermChange],
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    agreement: &'a str,
    from: Date,
    to: Date,
    known_at: Option<String>,
    known_at_to: Option<String>,
    status_from: &'static str,
    status_to: &'static str,
    digest_from: String,
    digest_to: String,
    added: Vec<JsonClause<'a>>,
    removed: Vec<JsonClause<'a>>,
    changed: Vec<JsonClauseChange<'a>>,
}

fn redline_text(segs: &[Segment]) -> String {
    segs.iter()
        .map(|s| match s {
            Segment::Same(t) => t.clone(),
            Segment::Removed(t) => format!("[-{t}-]"),
            Segment::Added(t) => format!("{{+{t}+}}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const RED: &str = "\x1b[31m";

const GREEN: &str = "\x1b[32m";

const RESET: &str = "\x1b[0m";

/// Colours the wrapped lines of a redline: `[-removed-]` red, `{+added+}`
/// green (the markers stay, so the meaning does not rest on colour); a span
/// that goes on to the next line is closed at the line's end and reopened.
fn colour_redline(lines: Vec<String>, on: bool) -> Vec<String> {
    if !on {
        return lines;
    }
    let mut open: Option<&str> = None;
    lines
        .into_iter()
        .map(|l| {
            let mut s = String::with_capacity(l.len() + 16);
            if let Some(c) = open {
                s.push_str(c);
            }
            let mut rest = l.as_str();
            while !rest.is_empty() {
                let marks = [
                    ("[-", Some(RED)),
                    ("{+", Some(GREEN)),
                    ("-]", None),
                    ("+}", None),
                ];
                let next = marks
                    .iter()
                    .filter_map(|(m, c)| rest.find(m).map(|i| (i, *m, *c)))
                    .min_by_key(|(i, _, _)| *i);
                match next {
                    Some((i, m, Some(c))) => {
                        s.push_str(&rest[..i]);
                        s.push_str(c);
                        s.push_str(m);
                        open = Some(c);
                        rest = &rest[i + m.len()..];
                    }
                    Some((i, m, None)) => {
                        s.push_str(&rest[..i + m.len()]);
                        s.push_str(RESET);
                        open = None;
                        rest = &rest[i + m.len()..];
                    }
                    None => {
                        s.push_str(rest);
                        rest = "";
                    }
                }
            }
            if open.is_some() {
                s.push_str(RESET);
            }
            s
        })
        .collect()
}

fn show_opt(v: &Option<TermValue>) -> String {
    v.as_ref().map_or("(none)".to_string(), |v| v.to_string())
}

/// `diff --json`.
pub(crate) fn diff_json(
    agreement: &AgreementId,
    (from, known): (Date, KnownAt),
    (to, known_to): (Date, KnownAt),
    d: &projection::Diff,
) -> String {
    pretty(&JsonDiff {
        agreement: agreement.as_str(),
        from,
        to,
        known_at: known_json(known),
        known_at_to: known_json(known_to),
        status_from: d.from.status.as_str(),
        status_to: d.to.status.as_str(),
        digest_from: chain::hex(&d.from.digest),
        digest_to: chain::hex(&d.to.digest),
        added: d.added.iter().map(JsonClause::from).collect(),
        removed: d.removed.iter().map(JsonClause::from).collect(),
        changed: d
            .changed
            .iter()
            .map(|c| JsonClauseChange {
                id: c.after.id.as_str(),
                before: (&c.before).into(),
                after: (&c.after).into(),
                text: c.text.as_deref(),
                terms: &c.terms,
            })
            .collect(),
    })
}

/// `diff`.
pub fn diff(ctx: &Ctx<'_>, a: &DiffArgs) -> Result<(), Fail> {
    let from = parse_date("--from", &a.from)?;
    let to = match &a.to {
        Some(s) => parse_date("--to", s)?,
        None => from,
    };
    let known = parse_known_at(a.known_at.as_deref())?;
    let known_to = match &a.known_at_to {
        Some(s) => parse_known_at(Some(s))?,
        None => known,
    };
    let entries = load(ctx, &a.agreement, &[known, known_to])?;
    let d = projection::diff_views(&a.agreement, &entries, (from, known), (to, known_to))
        .map_err(pactum::Error::from)?;
    let mut out = Out::new();
    if a.json {
        out.raw(&diff_json(&a.agreement, (from, known), (to, known_to), &d))?;
        return out.done();
    }
    let view = |k: KnownAt| match k {
        KnownAt::All => "as known now".to_string(),
        k => format!("as known at {k}"),
    };
    if known == known_to {
        out.line(format!("{}: {from} → {to}", a.agreement))?;
    } else if from == to {
        out.line(format!(
            "{}: {from}, {} → {}",
            a.agreement,
            view(known),
            view(known_to)
        ))?;
    } else {
        out.line(format!(
            "{}: {from} {} → {to} {}",
            a.agreement,
            view(known),
            view(known_to)
        ))?;
    }
    if d.from.status != d.to.status {
        out.line(format!(
            "status: {} → {}",
            d.from.status.as_str(),
            d.to.status.as_str()
        ))?;
    }
    out.line(format!(
        "{} added, {} removed, {} changed",
        d.added.len(),
        d.removed.len(),
        d.changed.len()
    ))?;
    let (green, red, reset) = if ctx.color {
        (GREEN, RED, RESET)
    } else {
        ("", "", "")
    };
    for c in &d.added {
        out.line("")?;
        out.line(format!("{green}+ {}{reset}", clause_header(c)))?;
        clause_lines(&mut out, c, "    ")?;
    }
    for c in &d.removed {
        out.line("")?;
        out.line(format!(
            "{red}- {}  (was since {}, {}){reset}",
            c.id, c.since, c.amendment
        ))?;
    }
    for c in &d.changed {
        out.line("")?;
        out.line(format!(
            "~ {}  (since {} → {}, {})",
            c.after.id, c.before.since, c.after.since, c.after.amendment
        ))?;
        if c.before.heading != c.after.heading {
            out.line(format!(
                "    heading: {} → {}",
                c.before.heading.as_deref().unwrap_or("(none)"),
                c.after.heading.as_deref().unwrap_or("(none)")
            ))?;
        }
        if let Some(segs) = &c.text {
            let lines = wrap(&redline_text(segs), "    ", WIDTH);
            for l in colour_redline(lines, ctx.color) {
                out.line(l)?;
            }
        }
        for t in &c.terms {
            out.line(format!(
                "    · {}: {} → {}",
                t.name,
                show_opt(&t.before),
                show_opt(&t.after)
            ))?;
        }
        if c.before.until != c.after.until {
            let f = |d: Option<Date>| d.map_or("(none)".to_string(), |d| d.to_string());
            out.line(format!(
                "    until: {} → {}",
                f(c.before.until),
                f(c.after.until)
            ))?;
        }
        if c.before.until_event != c.after.until_event {
            let f =
                |e: &Option<EventId>| e.as_ref().map_or("(none)".to_string(), |e| e.to_string());
            out.line(format!(
                "    until_event: {} → {}",
                f(&c.before.until_event),
                f(&c.after.until_event)
            ))?;
        }
    }
    out.done()
}
