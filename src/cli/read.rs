//! The readers: `state`, `diff`, `history`, `log`, `list`. Each has a human
//! form (80 columns) and `--json`, made of the Serialize-only types here.

use pactum::chain;
use pactum::model::*;
use pactum::projection::{self, Clause, KnownAt, Segment, State, TermChange};
use pactum::store::Store;
use pactum::Ledger;
use serde::Serialize;

use super::out::{short_hash, wrap};
use super::{parse_date, parse_known_at, today, Ctx, Fail, Out};

const WIDTH: usize = 80;

/// Arguments of `state`.
#[derive(clap::Args, Debug)]
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

/// Arguments of `diff`.
#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The agreement.
    agreement: AgreementId,
    /// The earlier date.
    #[arg(long, value_name = "D1")]
    from: String,
    /// The later date.
    #[arg(long, value_name = "D2")]
    to: String,
    /// The view (as for `state`).
    #[arg(long, value_name = "K")]
    known_at: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Arguments of `history`.
#[derive(clap::Args, Debug)]
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

/// Arguments of `log`.
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// Only this agreement's entries.
    agreement: Option<AgreementId>,
    /// Print JSON Lines, one entry a line.
    #[arg(long)]
    json: bool,
}

/// Arguments of `list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

// ---------------------------------------------------------------- JSON shapes

#[derive(Serialize)]
struct JsonParty<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct JsonClause<'a> {
    id: &'a str,
    heading: &'a Option<String>,
    text: &'a str,
    terms: &'a Terms,
    since: Date,
    amendment: &'a str,
    until: Option<Date>,
    until_event: Option<&'a str>,
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

fn known_json(k: KnownAt) -> Option<String> {
    match k {
        KnownAt::All => None,
        other => Some(other.to_string()),
    }
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
                })
                .collect(),
            established: s.established,
            terminated: s.terminated,
            clauses: s.clauses.iter().map(JsonClause::from).collect(),
            digest: chain::hex(&s.digest),
        }
    }
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
    status_from: &'static str,
    status_to: &'static str,
    digest_from: String,
    digest_to: String,
    added: Vec<JsonClause<'a>>,
    removed: Vec<JsonClause<'a>>,
    changed: Vec<JsonClauseChange<'a>>,
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
    changes: Vec<JsonChange>,
}

#[derive(Serialize)]
struct JsonHistory<'a> {
    agreement: &'a str,
    clause: Option<&'a str>,
    known_at: Option<String>,
    amendments: Vec<JsonHistoryItem<'a>>,
}

/// A `log --json` line (also the readable part of an export line).
#[derive(Serialize)]
struct JsonLogLine<'a> {
    seq: u64,
    recorded_at: String,
    agreement: &'a str,
    amendment: &'a str,
    effective: Option<Date>,
    title: &'a str,
    hash: String,
}

/// A row of `list` (and of `list --json`).
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
}

// ---------------------------------------------------------------- helpers

fn term_line(name: &TermName, v: &TermValue) -> String {
    format!("{name} = {v}")
}

fn clause_lines(out: &mut Out, c: &Clause, indent: &str) -> Result<(), Fail> {
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

fn clause_header(c: &Clause) -> String {
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

fn show_opt(v: &Option<TermValue>) -> String {
    v.as_ref().map_or("(none)".to_string(), |v| v.to_string())
}

fn change_summary(c: &Change) -> String {
    match &c.op {
        Op::Establish { title, .. } => format!("establish \"{title}\""),
        Op::Add { clause, .. } => format!("add {clause}"),
        Op::Amend {
            clause,
            heading,
            text,
            set,
            unset,
            until,
            until_event,
        } => {
            let mut what = Vec::new();
            if heading.is_some() {
                what.push("heading".to_string());
            }
            if text.is_some() {
                what.push("text".to_string());
            }
            for (k, v) in set {
                what.push(format!("{k} = {v}"));
            }
            for k in unset {
                what.push(format!("unset {k}"));
            }
            if let Some(u) = until {
                what.push(format!("until {u}"));
            }
            if let Some(e) = until_event {
                what.push(format!("until event {e}"));
            }
            format!("amend {clause}: {}", what.join(", "))
        }
        Op::Repeal { clause } => format!("repeal {clause}"),
        Op::Occur { event, .. } => format!("occur {event}"),
        Op::Retract { amendment, reason } => format!("retract {amendment}: {reason}"),
        Op::Terminate { .. } => "terminate".to_string(),
        Op::Rekey { party, key } => format!("rekey {party}: {}", key.name()),
    }
}

fn load(ctx: &Ctx<'_>, agreement: &AgreementId) -> Result<Vec<pactum::codec::Entry>, Fail> {
    load_entries(&*ctx.open()?, agreement)
}

/// The agreement's entries, or the refusal naming the agreements the ledger holds.
pub(crate) fn load_entries<S: Store>(
    ledger: &Ledger<S>,
    agreement: &AgreementId,
) -> Result<Vec<pactum::codec::Entry>, Fail> {
    let entries = ledger.agreement_entries(agreement)?;
    if entries.is_empty() {
        return Err(unknown(ledger, agreement));
    }
    Ok(entries)
}

/// A pretty JSON document and its newline, as `--json` prints it.
pub(crate) fn pretty<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// The state, or the refusal naming the agreements the ledger holds.
pub(crate) fn load_state<S: Store>(
    ledger: &Ledger<S>,
    agreement: &AgreementId,
    at: Date,
    known: KnownAt,
) -> Result<State, Fail> {
    match ledger.state(agreement, at, known) {
        Err(pactum::Error::Projection(projection::ProjectionError::Unknown(_))) => {
            Err(unknown(ledger, agreement))
        }
        r => Ok(r?),
    }
}

/// `state --json`.
pub(crate) fn state_json(s: &State) -> String {
    pretty(&JsonState::from(s))
}

/// The refusal for an agreement the ledger does not hold, naming those it does.
pub(super) fn unknown<S: pactum::store::Store>(
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
    Fail::Error(pactum::Error::Usage(format!(
        "agreement `{agreement}` is not in the ledger ({hint})"
    )))
}

// ---------------------------------------------------------------- commands

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

/// `diff`.
pub fn diff(ctx: &Ctx<'_>, a: &DiffArgs) -> Result<(), Fail> {
    let from = parse_date("--from", &a.from)?;
    let to = parse_date("--to", &a.to)?;
    let known = parse_known_at(a.known_at.as_deref())?;
    let entries = load(ctx, &a.agreement)?;
    let d =
        projection::diff(&a.agreement, &entries, from, to, known).map_err(pactum::Error::from)?;
    let mut out = Out::new();
    if a.json {
        out.raw(&diff_json(&a.agreement, from, to, known, &d))?;
        return out.done();
    }
    out.line(format!("{}: {from} → {to}", a.agreement))?;
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
    for c in &d.added {
        out.line("")?;
        out.line(format!("+ {}", clause_header(c)))?;
        clause_lines(&mut out, c, "    ")?;
    }
    for c in &d.removed {
        out.line("")?;
        out.line(format!(
            "- {}  (was since {}, {})",
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
            for l in wrap(&redline_text(segs), "    ", WIDTH) {
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

/// `diff --json`.
pub(crate) fn diff_json(
    agreement: &AgreementId,
    from: Date,
    to: Date,
    known: KnownAt,
    d: &projection::Diff,
) -> String {
    pretty(&JsonDiff {
        agreement: agreement.as_str(),
        from,
        to,
        known_at: known_json(known),
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

/// `history`.
pub fn history(ctx: &Ctx<'_>, a: &HistoryArgs) -> Result<(), Fail> {
    let known = parse_known_at(a.known_at.as_deref())?;
    let entries = load(ctx, &a.agreement)?;
    let items = projection::history(&a.agreement, &entries, a.clause.as_ref(), known)
        .map_err(pactum::Error::from)?;
    let mut out = Out::new();
    if a.json {
        out.raw(&history_json(
            &a.agreement,
            a.clause.as_ref(),
            known,
            &items,
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
        let date = it
            .amendment
            .effective
            .map_or("(erratum)".to_string(), |d| d.to_string());
        let mut head = format!("{date:<10}  {}  #{}", it.amendment.id, it.seq);
        if let Some(r) = &it.retracted_by {
            head.push_str(&format!("  [retracted by {r}]"));
        }
        out.line(head)?;
        for l in wrap(&it.amendment.title, "            ", WIDTH) {
            out.line(l)?;
        }
        for &i in &it.positions {
            let c = &it.amendment.changes[i];
            let own = c
                .effective
                .map(|d| format!(" (effective {d})"))
                .unwrap_or_default();
            for (n, l) in wrap(
                &format!("{}{own}", change_summary(c)),
                "              ",
                WIDTH,
            )
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

/// `history --json`.
pub(crate) fn history_json(
    agreement: &AgreementId,
    clause: Option<&ClauseId>,
    known: KnownAt,
    items: &[projection::HistoryItem],
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
            changes: it
                .positions
                .iter()
                .map(|&i| {
                    let c = &it.amendment.changes[i];
                    JsonChange {
                        position: i + 1,
                        op: c.op.name(),
                        effective: it.amendment.change_date(i),
                        summary: change_summary(c),
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

/// `log`.
pub fn log(ctx: &Ctx<'_>, a: &LogArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let mut out = Out::new();
    let print = |e: &pactum::codec::Entry, hash: &chain::Hash, out: &mut Out| -> Result<(), Fail> {
        if a.json {
            return out.raw(&log_line(e, hash));
        }
        let eff = e
            .amendment
            .effective
            .map_or("(erratum)".to_string(), |d| d.to_string());
        let t = e.recorded_at.to_string();
        // Seconds are enough here: 2026-11-27T10:24:34Z.
        let t = format!("{}Z", &t[..t.len().min(19)]);
        out.line(format!(
            "{:>5}  {eff:<10}  {}  {}",
            e.seq, e.amendment.agreement, e.amendment.id
        ))?;
        out.line(format!("       recorded {t}  chain {}", short_hash(hash)))
    };
    match &a.agreement {
        Some(ag) => {
            for seq in ledger.agreement_seqs(ag)? {
                let e = ledger.entry(seq)?.ok_or_else(|| pactum::Error::Damaged {
                    seq: Some(seq),
                    detail: "indexed entry missing".into(),
                })?;
                let h = ledger.entry_hash(seq)?.unwrap_or([0; 32]);
                print(&e, &h, &mut out)?;
            }
        }
        None => {
            for item in ledger.entries(0) {
                let (e, h) = item?;
                print(&e, &h, &mut out)?;
            }
        }
    }
    out.done()
}

/// One `log --json` line, with its newline.
pub(crate) fn log_line(e: &pactum::codec::Entry, hash: &chain::Hash) -> String {
    let mut s = serde_json::to_string(&JsonLogLine {
        seq: e.seq,
        recorded_at: e.recorded_at.to_string(),
        agreement: e.amendment.agreement.as_str(),
        amendment: e.amendment.id.as_str(),
        effective: e.amendment.effective,
        title: &e.amendment.title,
        hash: chain::hex(hash),
    })
    .unwrap_or_default();
    s.push('\n');
    s
}

/// `log --json` of the whole ledger or one agreement.
pub(crate) fn log_json<S: Store>(
    ledger: &Ledger<S>,
    agreement: Option<&AgreementId>,
) -> Result<String, Fail> {
    let mut s = String::new();
    match agreement {
        Some(ag) => {
            for seq in ledger.agreement_seqs(ag)? {
                let e = ledger.entry(seq)?.ok_or_else(|| pactum::Error::Damaged {
                    seq: Some(seq),
                    detail: "indexed entry missing".into(),
                })?;
                let h = ledger.entry_hash(seq)?.unwrap_or([0; 32]);
                s.push_str(&log_line(&e, &h));
            }
        }
        None => {
            for item in ledger.entries(0) {
                let (e, h) = item?;
                s.push_str(&log_line(&e, &h));
            }
        }
    }
    Ok(s)
}

/// The rows of `list`.
pub(crate) fn list_rows<S: Store>(ledger: &Ledger<S>, today: Date) -> Result<Vec<ListRow>, Fail> {
    let mut rows = Vec::new();
    for id in ledger.agreements()? {
        let entries = ledger.agreement_entries(&id)?;
        let live = projection::live(&entries, KnownAt::All);
        let dates: Vec<Date> = live
            .iter()
            .flat_map(|e| (0..e.amendment.changes.len()).filter_map(|i| e.amendment.change_date(i)))
            .collect();
        let retracted = entries
            .iter()
            .filter(|e| e.amendment.is_retraction())
            .count();
        let state = projection::state(&id, &entries, today, KnownAt::All).ok();
        rows.push(ListRow {
            agreement: id.to_string(),
            title: state.as_ref().map(|s| s.title.clone()),
            parties: state
                .as_ref()
                .map(|s| s.parties.clone())
                .unwrap_or_default(),
            amendments: live.len(),
            retracted,
            first_effective: dates.iter().min().copied(),
            last_effective: dates.iter().max().copied(),
            status: state.as_ref().map_or("retracted", |s| s.status.as_str()),
        });
    }
    Ok(rows)
}

/// `list`.
pub fn list(ctx: &Ctx<'_>, a: &ListArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let today = today()?;
    let rows = list_rows(&ledger, today)?;
    let mut out = Out::new();
    if a.json {
        out.raw(&pretty(&rows))?;
        return out.done();
    }
    if rows.is_empty() {
        out.line("the ledger holds no agreement")?;
    }
    for r in &rows {
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
        out.line(format!("    status      {} on {today}", r.status))?;
    }
    out.done()
}
