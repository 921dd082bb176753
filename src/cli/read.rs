//! What the readers (`state`, `diff`, `history`, `log`, `list`, each in its
//! own file) share: the JSON shapes of a clause and a party, the 80-column
//! clause layout, and the refusal for an unknown agreement.

use pactum::model::*;
use pactum::projection::{Clause, KnownAt};
use serde::Serialize;

use super::out::wrap;
use super::{Ctx, Fail, Out};

pub(super) const WIDTH: usize = 80;

// ---------------------------------------------------------------- JSON shapes

#[derive(Serialize)]
pub(super) struct JsonParty<'a> {
    pub(super) id: &'a str,
    pub(super) name: &'a str,
    /// Its key in force through the view (a signed agreement only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) key: Option<String>,
}

#[derive(Serialize)]
pub(super) struct JsonClause<'a> {
    pub(super) id: &'a str,
    pub(super) heading: &'a Option<String>,
    pub(super) text: &'a str,
    pub(super) terms: &'a Terms,
    pub(super) since: Date,
    pub(super) amendment: &'a str,
    pub(super) until: Option<Date>,
    pub(super) until_event: Option<&'a str>,
}

impl<'a> From<&'a Clause> for JsonClause<'a> {
    fn from(c: &'a Clause) -> JsonClause<'a> {
        JsonClause {
            id: c.id.as_str(),
            heading: &c.heading,
            text: &c.text,
            terms: &c.terms,
            since: c.since,
            amendment: c.amendment.as_str(),
            until: c.until,
            until_event: c.until_event.as_ref().map(|e| e.as_str()),
        }
    }
}

pub(super) fn known_json(k: KnownAt) -> Option<String> {
    match k {
        KnownAt::All => None,
        other => Some(other.to_string()),
    }
}

// ---------------------------------------------------------------- helpers

pub(super) fn term_line(name: &TermName, v: &TermValue) -> String {
    format!("{name} = {v}")
}

pub(super) fn clause_lines(out: &mut Out, c: &Clause, indent: &str) -> Result<(), Fail> {
    if let Some(h) = &c.heading {
        for l in wrap(h, indent, WIDTH) {
            out.line(l)?;
        }
    }
    for l in wrap(&c.text, indent, WIDTH) {
        out.line(l)?;
    }
    for (k, v) in &c.terms {
        for l in wrap(&term_line(k, v), &format!("{indent}  · "), WIDTH) {
            out.line(l)?;
        }
    }
    let mut ends = Vec::new();
    if let Some(u) = c.until {
        ends.push(format!("through {u}"));
    }
    if let Some(e) = &c.until_event {
        ends.push(format!("until event `{e}`"));
    }
    if !ends.is_empty() {
        out.line(format!("{indent}  (in force {})", ends.join(", or ")))?;
    }
    Ok(())
}

pub(super) fn clause_header(c: &Clause) -> String {
    let right = format!("since {}  {}", c.since, c.amendment);
    let left = c.id.as_str();
    if left.len() + 2 + right.len() <= WIDTH {
        format!(
            "{left}{}{right}",
            " ".repeat(WIDTH - left.len() - right.len())
        )
    } else {
        let pad = " ".repeat(WIDTH.saturating_sub(right.len()));
        format!("{left}\n{pad}{right}")
    }
}

pub(super) fn load(
    ctx: &Ctx<'_>,
    agreement: &AgreementId,
    views: &[KnownAt],
) -> Result<Vec<pactum::codec::Entry>, Fail> {
    let ledger = ctx.open()?;
    for v in views {
        pactum::catalog::check_view(&ledger, *v)?;
    }
    let entries = ledger.agreement_entries(agreement)?;
    if entries.is_empty() {
        return Err(unknown(&ledger, agreement));
    }
    Ok(entries)
}

/// The agreement's entries, or the refusal naming the agreements the ledger holds.
pub(crate) fn load_entries<S: pactum::store::Store>(
    ledger: &pactum::Ledger<S>,
    agreement: &AgreementId,
) -> Result<Vec<pactum::codec::Entry>, Fail> {
    let entries = ledger.agreement_entries(agreement)?;
    if entries.is_empty() {
        return Err(unknown(ledger, agreement));
    }
    Ok(entries)
}

/// The state, or the refusal naming the agreements the ledger holds (or
/// the view beyond the ledger).
pub(crate) fn load_state<S: pactum::store::Store>(
    ledger: &pactum::Ledger<S>,
    agreement: &AgreementId,
    at: Date,
    known: KnownAt,
) -> Result<pactum::projection::State, Fail> {
    pactum::catalog::check_view(ledger, known)?;
    let mut s = match ledger.state(agreement, at, known) {
        Err(pactum::Error::Projection(pactum::projection::ProjectionError::Unknown(_))) => {
            return Err(unknown(ledger, agreement))
        }
        r => r?,
    };
    // A signed agreement's parties with their keys in force through the view.
    if let Some(keys) = pactum::layout::keys_in_force_before(
        ledger.store(),
        agreement,
        s.known_through.saturating_add(1),
    )? {
        for p in &mut s.parties {
            p.key = keys.get(&p.id).cloned();
        }
    }
    Ok(s)
}

/// A pretty JSON document and its newline, as `--json` prints it.
pub(crate) fn pretty<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// The refusal for an agreement the ledger does not hold, naming those it does.
pub(crate) fn unknown<S: pactum::store::Store>(
    ledger: &pactum::Ledger<S>,
    agreement: &AgreementId,
) -> Fail {
    let known = match ledger.agreements() {
        Ok(known) => known,
        Err(e) => return Fail::Error(e),
    };
    let known: Vec<String> = known.iter().map(|a| a.to_string()).collect();
    let hint = if known.is_empty() {
        "the ledger is empty".to_string()
    } else {
        format!("it holds: {}", known.join(", "))
    };
    let near = pactum::catalog::nearest(agreement.as_str(), known.iter().cloned())
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    Fail::Error(pactum::Error::Usage(format!(
        "agreement `{agreement}` is not in the ledger ({hint}{near})"
    )))
}
