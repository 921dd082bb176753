//! `pactum append`.

use std::path::PathBuf;

use pactum::batch::Batch;
use pactum::catalog::{self, RetractedBy};
use pactum::error::Error;
use pactum::input::{self, Sourced};
use pactum::ledger::{AppendOptions, AppendReport, Outcome, Submission};
use pactum::model::{Amendment, RecordedAt};
use pactum::place;
use pactum::store::Store;
use serde::Serialize;

use super::{new_origin, now, Ctx, Fail, Out};

/// Append amendment files.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum append fixtures/microsoft-openai          # a folder: its *.toml, *.json, *.jsonl in name order\n  pactum append --dry-run 2026-06-01-price.toml    # judge only; write nothing\n  pactum append --expect-head 7 new.jsonl          # refuse unless the ledger holds 7 entries\n  cat batch.jsonl | pactum append -"
)]
pub struct Args {
    /// Files (.toml, .json, .jsonl), folders, or `-` for JSON Lines on standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Validate only; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Refuse unless the ledger holds exactly N entries (guards against lost updates).
    #[arg(long, value_name = "N")]
    expect_head: Option<u64>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonItem {
    file: String,
    agreement: String,
    amendment: String,
    seq: u64,
    status: &'static str,
    /// For an `existing` amendment that a later entry retracted: that entry (`#N`).
    retracted_by: Option<String>,
}

/// `append --json`. `head` is the checkpoint after the append; a dry run
/// has none (its hash would depend on the time of the real append): `null`,
/// and `entries` says how many entries the ledger would hold.
#[derive(Serialize)]
struct JsonReport {
    dry_run: bool,
    appended: usize,
    existing: usize,
    entries: u64,
    head: Option<String>,
    recorded_at: String,
    amendments: Vec<JsonItem>,
}

fn locate(ctx: &Ctx<'_>, batch: &Batch, e: Error) -> Error {
    match ctx.open() {
        Ok(l) => locate_in(Some(&*l), batch, e),
        Err(_) => locate_in(None::<&pactum::Ledger<pactum::store::MemStore>>, batch, e),
    }
}

/// The refusal `e` of an append of `batch`, located at its file and line,
/// with a hint for a clause no amendment of `ledger` (or of `batch`) named.
pub(crate) fn locate_in<S: Store>(
    ledger: Option<&pactum::Ledger<S>>,
    batch: &Batch,
    e: Error,
) -> Error {
    match e {
        Error::Refused(r) => {
            let location = batch.location(r.index);
            // The refused amendment, and the earlier ones of its agreement
            // (read back again: a long batch waits in its spool).
            let refused = batch.submissions().nth(r.index).and_then(Result::ok);
            let hint = refused
                .and_then(|s| {
                    let before: Vec<Submission> = batch
                        .submissions()
                        .take(r.index)
                        .filter_map(Result::ok)
                        .filter(|b| b.amendment.agreement == s.amendment.agreement)
                        .collect();
                    unknown_clause_hint(ledger, &before, &s.amendment, &r)
                })
                .unwrap_or_default();
            Error::Input {
                location,
                message: format!("{r}{hint}"),
            }
        }
        other => other,
    }
}

/// For a change refused because its clause is not in force: when no
/// amendment of the agreement (recorded, or earlier in this batch) ever
/// named that clause, say so, with the nearest name.
fn unknown_clause_hint<S: Store>(
    ledger: Option<&pactum::Ledger<S>>,
    before: &[Submission],
    a: &Amendment,
    r: &pactum::error::Refusal,
) -> Option<String> {
    let (i, _) = r.change.as_ref()?;
    let clause = a.changes.get(*i)?.op.clause()?;
    if !r.message.contains("is not in force") {
        return None;
    }
    let mut entries = match ledger {
        Some(l) => l.agreement_entries(&a.agreement).ok()?,
        None => Vec::new(),
    };
    entries.extend(
        before
            .iter()
            .filter(|s| s.amendment.agreement == a.agreement)
            .map(|s| pactum::codec::Entry::unsigned(0, RecordedAt(0), s.amendment.clone())),
    );
    if catalog::names_clause(&entries, clause.as_str()) {
        return None;
    }
    let near = catalog::near_clause(&entries, clause.as_str())
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    Some(format!(
        " (no amendment of `{}` ever added a clause `{clause}`{near})",
        a.agreement
    ))
}

/// Amendments from which `append` shows a progress bar (on a terminal)
/// and turns Ctrl-C into "nothing was recorded".
const PROGRESS_AMENDMENTS_MIN: usize = 1_000;

/// Runs `append`.
pub fn run(ctx: &Ctx<'_>, args: &Args) -> Result<(), Fail> {
    let stdin = std::io::stdin();
    let batch = Batch::read(&args.paths, &mut stdin.lock())?;
    run_with(ctx, args, batch)
}

/// Reads the amendments the arguments name (files, folders, `-`), for a
/// client that sends them to a server.
pub(crate) fn read_sources(args: &Args) -> Result<Vec<Sourced>, Fail> {
    let stdin = std::io::stdin();
    Ok(input::read_paths(&args.paths, &mut stdin.lock())?)
}

/// `append` of amendments already read (by this process, or by a client
/// of the server, which holds the ledger).
pub(crate) fn run_with(ctx: &Ctx<'_>, args: &Args, batch: Batch) -> Result<(), Fail> {
    let now = RecordedAt::from_timestamp(now()?);
    let opts = AppendOptions {
        dry_run: args.dry_run,
        expect_head: args.expect_head,
    };
    // Many amendments from a terminal: a progress bar, and Ctrl-C undoes.
    let long = ctx.held.is_none() && batch.len() >= PROGRESS_AMENDMENTS_MIN;
    let bar = if long {
        super::interrupt::watch();
        super::progress_bar(batch.len() as u64, "appending")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let each = || {
        batch.submissions().enumerate().map(|(i, s)| {
            if long && super::interrupt::interrupted() {
                return Err(Error::Usage(
                    "interrupted (Ctrl-C): nothing was recorded".into(),
                ));
            }
            if i % 256 == 0 {
                bar.set_position(i as u64);
            }
            s
        })
    };
    let report = match ctx.held {
        Some(held) => held
            .append_each(each(), now, opts)
            .map_err(|e| Fail::Error(locate_in(Some(held), &batch, e)))?,
        None => place::append_each(ctx.ledger, ctx.wait, each, now, opts, new_origin)
            .map_err(|e| Fail::Error(locate(ctx, &batch, e)))?,
    };
    bar.finish_and_clear();
    let retracted = if report
        .outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Existing { .. }))
    {
        match ctx.open() {
            Ok(ledger) => retractions(&ledger, &batch, &report)?,
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    print(ctx, args, &batch, &report, &retracted)
}

/// For each amendment already recorded, the later entry that retracted it
/// (if any); empty when none of them was already recorded.
pub(crate) fn retractions<S: Store>(
    ledger: &pactum::Ledger<S>,
    batch: &Batch,
    report: &AppendReport,
) -> Result<Vec<Option<RetractedBy>>, Fail> {
    if !report
        .outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Existing { .. }))
    {
        return Ok(Vec::new());
    }
    let mut retracted: Vec<Option<RetractedBy>> = vec![None; batch.len()];
    for (k, (s, o)) in batch.submissions().zip(&report.outcomes).enumerate() {
        if matches!(o, Outcome::Existing { .. }) {
            let s = s?;
            retracted[k] = catalog::retracted_by(ledger, &s.amendment.agreement, &s.amendment.id)?;
        }
    }
    Ok(retracted)
}

/// `append --json`.
pub(crate) fn report_json(
    dry_run: bool,
    batch: &Batch,
    report: &AppendReport,
    retracted: &[Option<RetractedBy>],
) -> Result<String, Fail> {
    let appended = report
        .outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Appended { .. }))
        .count();
    let existing = report.outcomes.len() - appended;
    let mut amendments = Vec::with_capacity(report.outcomes.len());
    for (k, (s, o)) in batch.submissions().zip(&report.outcomes).enumerate() {
        let s = s?;
        amendments.push(JsonItem {
            file: batch.location(k).to_string(),
            agreement: s.amendment.agreement.as_str().to_string(),
            amendment: s.amendment.id.as_str().to_string(),
            seq: match o {
                Outcome::Appended { seq, .. } | Outcome::Existing { seq } => *seq,
            },
            status: match o {
                Outcome::Appended { .. } => "appended",
                Outcome::Existing { .. } => "existing",
            },
            retracted_by: retracted
                .get(k)
                .and_then(Option::as_ref)
                .map(|r| format!("#{} {}", r.seq, r.amendment)),
        });
    }
    Ok(super::read::pretty(&JsonReport {
        dry_run,
        appended,
        existing,
        entries: report.head.count,
        head: (!dry_run).then(|| report.head.to_string()),
        recorded_at: report.recorded_at.to_string(),
        amendments,
    }))
}

fn print(
    ctx: &Ctx<'_>,
    args: &Args,
    batch: &Batch,
    report: &AppendReport,
    retracted: &[Option<RetractedBy>],
) -> Result<(), Fail> {
    let mut out = Out::new();
    let appended = report
        .outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Appended { .. }))
        .count();
    let existing = report.outcomes.len() - appended;
    if args.json {
        out.raw(&report_json(args.dry_run, batch, report, retracted)?)?;
        return out.done();
    }
    if ctx.quiet {
        return out.done();
    }
    if batch.len() <= 40 {
        let sources = batch.submissions().collect::<Result<Vec<_>, _>>()?;
        let width = sources
            .iter()
            .map(|s| s.amendment.agreement.as_str().len())
            .max()
            .unwrap_or(0);
        let idw = sources
            .iter()
            .map(|s| s.amendment.id.as_str().len())
            .max()
            .unwrap_or(0);
        let none = None;
        for (k, (s, o)) in sources.iter().zip(&report.outcomes).enumerate() {
            let r = retracted.get(k).unwrap_or(&none);
            let (seq, what) = match (o, r) {
                (Outcome::Appended { seq, .. }, _) if args.dry_run => {
                    (*seq, "would be appended".to_string())
                }
                (Outcome::Appended { seq, .. }, _) => (*seq, "appended".to_string()),
                (Outcome::Existing { seq }, None) => {
                    (*seq, "already recorded, unchanged".to_string())
                }
                (Outcome::Existing { seq }, Some(r)) => (
                    *seq,
                    format!(
                        "already recorded, and retracted by #{} {} (record it under a new id to restore it)",
                        r.seq, r.amendment
                    ),
                ),
            };
            out.line(format!(
                "#{seq:<5} {:<width$}  {:<idw$}  {what}",
                s.amendment.agreement.as_str(),
                s.amendment.id.as_str()
            ))?;
        }
    }
    let verb = if args.dry_run {
        "dry run: would append"
    } else {
        "appended"
    };
    let mut summary = format!(
        "{verb} {appended} amendment{}",
        if appended == 1 { "" } else { "s" }
    );
    if existing > 0 {
        summary.push_str(&format!(", {existing} already recorded"));
    }
    if args.dry_run {
        summary.push_str("; nothing was written");
    } else {
        summary.push_str(&format!(" to {}", ctx.ledger_name()));
    }
    out.line(summary)?;
    if args.dry_run {
        // The hash depends on the time the entries are recorded: none to show.
        out.line(format!(
            "the ledger would hold {} entries (its head hash is fixed when they are recorded)",
            report.head.count
        ))?;
    } else {
        out.line(format!("head {}", report.head))?;
    }
    out.done()
}
