//! `pactum list`: the agreements at a glance.

use pactum::model::*;
use serde::Serialize;

use super::{today, Ctx, Fail, Out};

/// Arguments of `list`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  pactum list --json | jq '.[].agreement'")]
pub struct ListArgs {
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
pub(crate) struct ListRow {
    pub agreement: String,
    pub title: Option<String>,
    pub parties: Vec<Party>,
    pub amendments: usize,
    pub retracted: usize,
    pub first_effective: Option<Date>,
    pub last_effective: Option<Date>,
    pub status: &'static str,
    /// The first day no longer in force, when terminated.
    pub terminated: Option<Date>,
}

/// `list`.
pub fn list(ctx: &Ctx<'_>, a: &ListArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let today = today()?;
    let rows = list_rows(&ledger, today)?;
    let mut out = Out::new();
    if a.json {
        out.raw(&super::read::pretty(&rows))?;
        return out.done();
    }
    list_text(&mut out, &rows, today)?;
    out.done()
}

/// The rows of `list` (and of `list --json`).
pub(crate) fn list_rows<S: pactum::store::Store>(
    ledger: &pactum::Ledger<S>,
    today: Date,
) -> Result<Vec<ListRow>, Fail> {
    Ok(pactum::catalog::summaries(ledger, today)?
        .into_iter()
        .map(|r| ListRow {
            agreement: r.agreement.to_string(),
            title: r.title,
            parties: r.parties,
            amendments: r.amendments,
            retracted: r.retracted,
            first_effective: r.first_effective,
            last_effective: r.last_effective,
            status: r.status.map_or("retracted", |s| s.as_str()),
            terminated: r.terminated,
        })
        .collect())
}

fn list_text(out: &mut Out, rows: &[ListRow], today: Date) -> Result<(), Fail> {
    if rows.is_empty() {
        out.line("the ledger holds no agreement")?;
    }
    for r in rows {
        out.line(format!(
            "{}  {}",
            r.agreement,
            r.title.as_deref().unwrap_or("(retracted)")
        ))?;
        let parties: Vec<&str> = r.parties.iter().map(|p| p.name.as_str()).collect();
        out.line(format!("    parties     {}", parties.join(", ")))?;
        let span = match (r.first_effective, r.last_effective) {
            (Some(f), Some(l)) => format!("{f} … {l}"),
            _ => "-".into(),
        };
        let retracted = if r.retracted > 0 {
            format!(" ({} retracted)", r.retracted)
        } else {
            String::new()
        };
        out.line(format!(
            "    amendments  {}{retracted}, effective {span}",
            r.amendments
        ))?;
        // As `state` says it: the day it ended, not today.
        let status = match r.terminated {
            Some(t) => format!("{} (on {t})", r.status),
            None => format!("{} on {today}", r.status),
        };
        out.line(format!("    status      {status}"))?;
    }
    Ok(())
}
