//! `pactum state`: what an agreement said on a date, as known at a moment.

use pactum::chain;
use pactum::model::*;
use pactum::projection::{self, KnownAt, State};
use serde::Serialize;

use super::out::wrap;
use super::read::*;
use super::{parse_date, parse_known_at, today, Ctx, Fail, Out};

/// Arguments of `state`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum state microsoft-openai --at 2025-06-01\n  pactum state microsoft-openai --at 2024-01-15 --known-at '#2'   # as the ledger stood after entry #2"
)]
pub struct StateArgs {
    /// The agreement, e.g. microsoft-openai.
    agreement: AgreementId,
    /// The date (YYYY-MM-DD); default today (UTC).
    #[arg(long, value_name = "DATE")]
    at: Option<String>,
    /// The view: a date (end of that UTC day), an RFC 3339 time, or #N (after entry N).
    #[arg(long, value_name = "K")]
    known_at: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonState<'a> {
    agreement: &'a str,
    at: Date,
    known_at: Option<String>,
    known_through: u64,
    status: &'static str,
    title: &'a str,
    parties: Vec<JsonParty<'a>>,
    established: Date,
    terminated: Option<Date>,
    clauses: Vec<JsonClause<'a>>,
    digest: String,
}

impl<'a> From<&'a State> for JsonState<'a> {
    fn from(s: &'a State) -> JsonState<'a> {
        JsonState {
            agreement: s.agreement.as_str(),
            at: s.at,
            known_at: known_json(s.known_at),
            known_through: s.known_through,
            status: s.status.as_str(),
            title: &s.title,
            parties: s
                .parties
                .iter()
                .map(|p| JsonParty {
                    id: p.id.as_str(),
                    name: &p.name,
                    key: p.key.as_ref().map(|k| k.to_string()),
                })
                .collect(),
            established: s.established,
            terminated: s.terminated,
            clauses: s.clauses.iter().map(JsonClause::from).collect(),
            digest: chain::hex(&s.digest),
        }
    }
}

/// `state --json`.
pub(crate) fn state_json(s: &State) -> String {
    pretty(&JsonState::from(s))
}

/// `state`.
pub fn state(ctx: &Ctx<'_>, a: &StateArgs) -> Result<(), Fail> {
    let at = match &a.at {
        Some(s) => parse_date("--at", s)?,
        None => today()?,
    };
    let known = parse_known_at(a.known_at.as_deref())?;
    let s = load_state(&*ctx.open()?, &a.agreement, at, known)?;
    let mut out = Out::new();
    if a.json {
        out.raw(&state_json(&s))?;
        return out.done();
    }
    out.line(format!("{} — {}", s.agreement, s.title))?;
    let parties: Vec<String> = s
        .parties
        .iter()
        .map(|p| format!("{} ({})", p.name, p.id))
        .collect();
    for (i, l) in wrap(&parties.join(", "), "", WIDTH - 10)
        .into_iter()
        .enumerate()
    {
        out.line(format!("{:<10}{l}", if i == 0 { "parties" } else { "" }))?;
    }
    // A signed agreement: every amendment carries every party's signature;
    // the keys in force through the view.
    for (i, p) in s.parties.iter().filter(|p| p.key.is_some()).enumerate() {
        let k = p
            .key
            .as_ref()
            .map(|k| format!("{}+{:08x}", k.name(), k.id()));
        out.line(format!(
            "{:<10}{} signs with {}",
            if i == 0 { "signed" } else { "" },
            p.id,
            k.unwrap_or_default()
        ))?;
    }
    let view = match s.known_at {
        KnownAt::All => format!("as known now (through #{})", s.known_through),
        k => format!("as known at {k} (through #{})", s.known_through),
    };
    out.line(format!("{:<10}{}, {view}", "at", s.at))?;
    let status = match (s.status, s.terminated) {
        (projection::Status::Terminated, Some(t)) => format!("terminated (on {t})"),
        (projection::Status::NotYetInForce, _) => {
            format!("not-yet-in-force (established {})", s.established)
        }
        (st, _) => st.as_str().to_string(),
    };
    out.line(format!("{:<10}{status}", "status"))?;
    out.line(format!("{:<10}{}", "digest", chain::hex(&s.digest)))?;
    out.line(format!("{:<10}{}", "clauses", s.clauses.len()))?;
    for c in &s.clauses {
        out.line("")?;
        out.line(clause_header(c))?;
        clause_lines(&mut out, c, "  ")?;
    }
    out.done()
}
