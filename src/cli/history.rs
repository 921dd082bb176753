//! `pactum history`: an agreement's amendments in effective order.

use std::collections::HashMap;

use pactum::catalog::{signers_by_seq, signers_text, Signer};
use pactum::model::*;
use pactum::projection;
use serde::Serialize;

use super::out::wrap;
use super::read::*;
use super::{parse_known_at, usage, Ctx, Fail, Out};

/// Arguments of `history`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum history microsoft-openai\n  pactum history microsoft-openai --clause cloud.exclusivity"
)]
pub struct HistoryArgs {
    /// The agreement.
    agreement: AgreementId,
    /// Only amendments that touch this clause.
    #[arg(long, value_name = "ID")]
    clause: Option<ClauseId>,
    /// The view (as for `state`).
    #[arg(long, value_name = "K")]
    known_at: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonChange {
    position: usize,
    op: &'static str,
    effective: Option<Date>,
    summary: String,
    clause: Option<String>,
}

#[derive(Serialize)]
struct JsonHistoryItem<'a> {
    seq: u64,
    recorded_at: String,
    amendment: &'a str,
    title: &'a str,
    effective: Option<Date>,
    signed: Option<Date>,
    source: &'a Option<String>,
    retracted_by: Option<&'a str>,
    /// Who signed it (absent when nobody did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signed_by: Vec<super::log::JsonSigner>,
    changes: Vec<JsonChange>,
}

#[derive(Serialize)]
struct JsonHistory<'a> {
    agreement: &'a str,
    clause: Option<&'a str>,
    known_at: Option<String>,
    amendments: Vec<JsonHistoryItem<'a>>,
}

/// `history --json`.
pub(crate) fn history_json(
    agreement: &AgreementId,
    clause: Option<&ClauseId>,
    known: projection::KnownAt,
    items: &[projection::HistoryItem],
    signers: &HashMap<u64, Vec<Signer>>,
) -> String {
    let amendments = items
        .iter()
        .map(|it| JsonHistoryItem {
            seq: it.seq,
            recorded_at: it.recorded_at.to_string(),
            amendment: it.amendment.id.as_str(),
            title: &it.amendment.title,
            effective: it.amendment.effective,
            signed: it.amendment.signed,
            source: &it.amendment.source,
            retracted_by: it.retracted_by.as_ref().map(|r| r.as_str()),
            signed_by: signers
                .get(&it.seq)
                .map(|s| super::log::json_signers(s))
                .unwrap_or_default(),
            changes: it
                .positions
                .iter()
                .map(|&i| {
                    let c = &it.amendment.changes[i];
                    JsonChange {
                        position: i + 1,
                        op: c.op.name(),
                        effective: it.amendment.change_date(i),
                        summary: c.op.summary(),
                        clause: c.op.clause().map(|c| c.to_string()),
                    }
                })
                .collect(),
        })
        .collect();
    pretty(&JsonHistory {
        agreement: agreement.as_str(),
        clause: clause.map(|c| c.as_str()),
        known_at: known_json(known),
        amendments,
    })
}

/// `history`.
pub fn history(ctx: &Ctx<'_>, a: &HistoryArgs) -> Result<(), Fail> {
    let known = parse_known_at(a.known_at.as_deref())?;
    let entries = load(ctx, &a.agreement, &[known])?;
    if let Some(c) = &a.clause {
        if !pactum::catalog::names_clause(&entries, c.as_str()) {
            let near = pactum::catalog::near_clause(&entries, c.as_str())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(usage(format!(
                "no amendment of `{}` names a clause `{c}`{near}",
                a.agreement
            )));
        }
    }
    let items = projection::history(&a.agreement, &entries, a.clause.as_ref(), known)
        .map_err(pactum::Error::from)?;
    let signers = signers_by_seq(&entries);
    let mut out = Out::new();
    if a.json {
        out.raw(&history_json(
            &a.agreement,
            a.clause.as_ref(),
            known,
            &items,
            &signers,
        ))?;
        return out.done();
    }
    if items.is_empty() {
        out.line(format!(
            "no amendment of `{}` touches clause `{}`",
            a.agreement,
            a.clause.as_ref().map_or("", |c| c.as_str())
        ))?;
        return out.done();
    }
    for it in &items {
        let date = it.amendment.effective.map_or_else(
            || super::out::undated(&it.amendment).to_string(),
            |d| d.to_string(),
        );
        let mut head = format!("{date:<10}  {}  #{}", it.amendment.id, it.seq);
        if let Some(r) = &it.retracted_by {
            head.push_str(&format!("  [retracted by {r}]"));
        }
        out.line(head)?;
        for l in wrap(&it.amendment.title, "            ", WIDTH) {
            out.line(l)?;
        }
        if let Some(who) = signers.get(&it.seq) {
            for l in wrap(
                &format!("signed by {}", signers_text(who)),
                "            ",
                WIDTH,
            ) {
                out.line(l)?;
            }
        }
        for &i in &it.positions {
            let c = &it.amendment.changes[i];
            let own = c
                .effective
                .map(|d| format!(" (effective {d})"))
                .unwrap_or_default();
            for (n, l) in wrap(&format!("{}{own}", c.op.summary()), "              ", WIDTH)
                .into_iter()
                .enumerate()
            {
                if n == 0 {
                    out.line(l.replacen("              ", "            - ", 1))?;
                } else {
                    out.line(l)?;
                }
            }
        }
    }
    out.done()
}
