//! `pactum show AGREEMENT AMENDMENT`: one amendment whole.

use pactum::catalog;
use pactum::chain;
use pactum::model::{AgreementId, AmendmentId, Change, Op};
use serde::Serialize;

use super::out::wrap;
use super::{usage, Ctx, Fail, Out};

const WIDTH: usize = 80;

/// Arguments of `show`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  pactum show microsoft-openai 2025-01-21-compute-rofr")]
pub struct Args {
    /// The agreement, e.g. microsoft-openai.
    agreement: AgreementId,
    /// The amendment's id, e.g. 2025-01-21-compute-rofr (as `history` and `log` print it).
    amendment: AmendmentId,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonRetractedBy<'a> {
    seq: u64,
    amendment: &'a str,
}

/// `show --json`: the entry's place and hashes, the amendment's fields, and
/// each change in the form the library stores it (`op` holds one key, the
/// operation's name, whose value has its fields).
#[derive(Serialize)]
struct JsonShow<'a> {
    agreement: &'a str,
    amendment: &'a str,
    seq: u64,
    recorded_at: String,
    title: &'a str,
    effective: Option<pactum::model::Date>,
    signed: Option<pactum::model::Date>,
    source: &'a Option<String>,
    leaf: String,
    chain: String,
    retracted_by: Option<JsonRetractedBy<'a>>,
    /// Who signed it (absent when nobody did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signed_by: Vec<super::log::JsonSigner>,
    changes: &'a [Change],
}

/// `show`.
pub fn run(ctx: &Ctx<'_>, a: &Args) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let Some(s) = catalog::show(&ledger, &a.agreement, &a.amendment)? else {
        let entries = ledger.agreement_entries(&a.agreement)?;
        if entries.is_empty() {
            return Err(usage(format!(
                "agreement `{}` is not in the ledger",
                a.agreement
            )));
        }
        let near = catalog::nearest(
            a.amendment.as_str(),
            entries.iter().map(|e| e.amendment.id.to_string()),
        )
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
        return Err(usage(format!(
            "no amendment `{}` in agreement `{}`{near}",
            a.amendment, a.agreement
        )));
    };
    let am = &s.entry.amendment;
    let mut out = Out::new();
    if a.json {
        out.json_pretty(&JsonShow {
            agreement: am.agreement.as_str(),
            amendment: am.id.as_str(),
            seq: s.entry.seq,
            recorded_at: s.entry.recorded_at.to_string(),
            title: &am.title,
            effective: am.effective,
            signed: am.signed,
            source: &am.source,
            leaf: chain::hex(&s.leaf),
            chain: chain::hex(&s.chain),
            retracted_by: s.retracted_by.as_ref().map(|r| JsonRetractedBy {
                seq: r.seq,
                amendment: r.amendment.as_str(),
            }),
            signed_by: super::log::json_signers(&s.signers),
            changes: &am.changes,
        })?;
        return out.done();
    }
    out.line(format!(
        "{} / {}  (entry #{})",
        am.agreement, am.id, s.entry.seq
    ))?;
    for (i, l) in wrap(&am.title, "", WIDTH - 11).into_iter().enumerate() {
        out.line(format!("{:<11}{l}", if i == 0 { "title" } else { "" }))?;
    }
    let opt = |d: Option<pactum::model::Date>| d.map_or("-".to_string(), |d| d.to_string());
    out.line(format!(
        "{:<11}{}",
        "effective",
        am.effective.map_or_else(
            || {
                let what = if am.is_rekey() { "rekey" } else { "retraction" };
                format!("(none: a {what} has no date)")
            },
            |d| d.to_string()
        )
    ))?;
    out.line(format!("{:<11}{}", "signed", opt(am.signed)))?;
    if !s.signers.is_empty() {
        for (i, l) in wrap(&catalog::signers_text(&s.signers), "", WIDTH - 11)
            .into_iter()
            .enumerate()
        {
            out.line(format!("{:<11}{l}", if i == 0 { "signed by" } else { "" }))?;
        }
    }
    if let Some(src) = &am.source {
        out.line(format!("{:<11}{src}", "source"))?;
    }
    out.line(format!("{:<11}{}", "recorded", s.entry.recorded_at))?;
    out.line(format!("{:<11}{}", "leaf", chain::hex(&s.leaf)))?;
    out.line(format!("{:<11}{}", "chain", chain::hex(&s.chain)))?;
    let status = match &s.retracted_by {
        Some(r) => format!(
            "retracted by #{} {} (void: no part of any state)",
            r.seq, r.amendment
        ),
        None if am.is_retraction() => "a retraction".to_string(),
        None => "recorded, not retracted".to_string(),
    };
    out.line(format!("{:<11}{status}", "status"))?;
    out.line(format!("{:<11}{}", "changes", am.changes.len()))?;
    for (i, c) in am.changes.iter().enumerate() {
        out.line("")?;
        let own = c
            .effective
            .map(|d| format!("  (effective {d})"))
            .unwrap_or_default();
        out.line(format!("{}. {}{own}", i + 1, c.op.describe()))?;
        for l in change_lines(&c.op) {
            out.line(l)?;
        }
    }
    out.done()
}

/// Everything a change says, indented under its heading line.
fn change_lines(op: &Op) -> Vec<String> {
    const IN: &str = "   ";
    let mut v = Vec::new();
    let mut text = |label: &str, t: &str| {
        v.extend(wrap(&format!("{label}{t}"), IN, WIDTH));
    };
    match op {
        Op::Establish { title, parties } => {
            text("title: ", title);
            let p: Vec<String> = parties
                .iter()
                .map(|p| format!("{} ({})", p.name, p.id))
                .collect();
            text("parties: ", &p.join(", "));
        }
        Op::Add {
            heading,
            text: body,
            terms,
            until,
            until_event,
            ..
        } => {
            if let Some(h) = heading {
                text("heading: ", h);
            }
            text("", body);
            for (k, val) in terms {
                text("· ", &format!("{k} = {val}"));
            }
            if let Some(u) = until {
                text("in force through ", &u.to_string());
            }
            if let Some(e) = until_event {
                text("in force until event ", e.as_str());
            }
        }
        Op::Amend {
            heading,
            text: body,
            set,
            unset,
            until,
            until_event,
            ..
        } => {
            if let Some(h) = heading {
                text("heading: ", h);
            }
            if let Some(b) = body {
                text("text: ", b);
            }
            for (k, val) in set {
                text("· set ", &format!("{k} = {val}"));
            }
            for k in unset {
                text("· unset ", k.as_str());
            }
            if let Some(u) = until {
                text("in force through ", &u.to_string());
            }
            if let Some(e) = until_event {
                text("in force until event ", e.as_str());
            }
        }
        Op::Repeal { .. } => {}
        Op::Occur { note, .. } | Op::Terminate { note } => {
            if let Some(n) = note {
                text("note: ", n);
            }
        }
        Op::Rekey { key, .. } => text("new key: ", &key.to_string()),
        Op::Retract { reason, .. } => text("reason: ", reason),
    }
    v
}
