//! `pactum append`.

use std::path::PathBuf;

use pactum::error::{Error, Location};
use pactum::input::{self, Sourced};
use pactum::ledger::{AppendOptions, AppendReport, Outcome};
use pactum::model::{Amendment, RecordedAt};
use pactum::store::{MemStore, SledStore, Store};
use pactum::Ledger;
use serde::Serialize;

use super::{now, Ctx, Fail, Out};

/// Append amendment files.
#[derive(clap::Args, Debug)]
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
struct JsonItem<'a> {
    file: String,
    agreement: &'a str,
    amendment: &'a str,
    seq: u64,
    status: &'static str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    dry_run: bool,
    appended: usize,
    existing: usize,
    head: String,
    recorded_at: String,
    amendments: Vec<JsonItem<'a>>,
}

pub(crate) fn locate(sources: &[Sourced], e: Error) -> Error {
    match e {
        Error::Refused(r) => {
            let location = sources
                .get(r.index)
                .map(|s| s.location.clone())
                .unwrap_or(Location {
                    file: "?".into(),
                    line: None,
                    column: None,
                });
            Error::Input {
                location,
                message: r.to_string(),
            }
        }
        other => other,
    }
}

fn append_to<S: Store>(
    ledger: &Ledger<S>,
    sources: &[Sourced],
    amendments: &[Amendment],
    now: RecordedAt,
    opts: AppendOptions,
) -> Result<AppendReport, Fail> {
    ledger
        .append(amendments, now, opts)
        .map_err(|e| Fail::Error(locate(sources, e)))
}

/// The ledger does not store keys and signatures yet (the entry version
/// that holds them comes with the ledger's wiring of product.md §8): until
/// then, an amendment that carries them is refused rather than recorded
/// without them.
fn refuse_signed(sources: &[Sourced]) -> Result<(), Fail> {
    for s in sources {
        let a = &s.amendment;
        let what = if !s.signatures.is_empty() {
            "carries signatures"
        } else if a.establish_keys().is_some() {
            "gives parties keys"
        } else if a.is_rekey() {
            "is a rekey"
        } else {
            continue;
        };
        return Err(Fail::Error(Error::Input {
            location: s.location.clone(),
            message: format!(
                "amendment `{}` {what}, and this ledger does not record signed agreements yet \
                 (`pactum sign` and `pactum sign --note` work on the file)",
                a.id
            ),
        }));
    }
    Ok(())
}

/// Runs `append`.
pub fn run(ctx: &Ctx<'_>, args: &Args) -> Result<(), Fail> {
    run_with(ctx, args, read_sources(args)?)
}

/// Reads the amendments the arguments name (files, folders, `-`).
pub(crate) fn read_sources(args: &Args) -> Result<Vec<Sourced>, Fail> {
    let stdin = std::io::stdin();
    Ok(input::read_paths(&args.paths, &mut stdin.lock())?)
}

/// `append` of amendments already read.
pub(crate) fn run_with(ctx: &Ctx<'_>, args: &Args, sources: Vec<Sourced>) -> Result<(), Fail> {
    if sources.is_empty() {
        return Err(Fail::Error(Error::Usage(
            "no amendment found in the input".into(),
        )));
    }
    refuse_signed(&sources)?;
    let amendments: Vec<Amendment> = sources.iter().map(|s| s.amendment.clone()).collect();
    let now = RecordedAt::from_timestamp(now()?);
    let opts = AppendOptions {
        dry_run: args.dry_run,
        expect_head: args.expect_head,
    };
    if let Some(held) = ctx.held {
        let report = append_to(held, &sources, &amendments, now, opts)?;
        return print(ctx, args, &sources, &report);
    }
    // A folder with sled's files but no ledger (a creation that never
    // committed: killed, or still running in another process) is no ledger.
    let store = if SledStore::exists(ctx.ledger) {
        Some(SledStore::open_with_cache(
            ctx.ledger,
            ctx.wait,
            pactum::store::WRITE_CACHE,
        )?)
    } else {
        None
    };
    let holds = match &store {
        Some(s) => pactum::layout::read_origin(s)?.is_some(),
        None => false,
    };
    let report = if !holds {
        // Validate in memory first, so a refused append creates nothing on disk.
        let mem = Ledger::create(MemStore::default(), [0; 16])?;
        let trial = append_to(
            &mem,
            &sources,
            &amendments,
            now,
            AppendOptions {
                dry_run: true,
                ..opts
            },
        )?;
        if args.dry_run {
            trial
        } else {
            match store {
                Some(s) => {
                    let ledger = Ledger::open_or_create(s, super::new_origin)?;
                    append_to(&ledger, &sources, &amendments, now, opts)?
                }
                None => append_to(&*ctx.open_or_create()?, &sources, &amendments, now, opts)?,
            }
        }
    } else {
        let ledger = Ledger::open(store.expect("checked"))?;
        append_to(&ledger, &sources, &amendments, now, opts)?
    };
    print(ctx, args, &sources, &report)
}

/// `append --json`.
pub(crate) fn report_json(dry_run: bool, sources: &[Sourced], report: &AppendReport) -> String {
    let appended = report
        .outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Appended { .. }))
        .count();
    let existing = report.outcomes.len() - appended;
    let amendments = sources
        .iter()
        .zip(&report.outcomes)
        .map(|(s, o)| JsonItem {
            file: s.location.to_string(),
            agreement: s.amendment.agreement.as_str(),
            amendment: s.amendment.id.as_str(),
            seq: match o {
                Outcome::Appended { seq, .. } | Outcome::Existing { seq } => *seq,
            },
            status: match o {
                Outcome::Appended { .. } => "appended",
                Outcome::Existing { .. } => "existing",
            },
        })
        .collect();
    super::read::pretty(&JsonReport {
        dry_run,
        appended,
        existing,
        head: report.head.to_string(),
        recorded_at: report.recorded_at.to_string(),
        amendments,
    })
}

fn print(
    ctx: &Ctx<'_>,
    args: &Args,
    sources: &[Sourced],
    report: &AppendReport,
) -> Result<(), Fail> {
    let mut out = Out::new();
    let appended = report
        .outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Appended { .. }))
        .count();
    let existing = report.outcomes.len() - appended;
    if args.json {
        out.raw(&report_json(args.dry_run, sources, report))?;
        return out.done();
    }
    if sources.len() <= 40 {
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
        for (s, o) in sources.iter().zip(&report.outcomes) {
            let (seq, what) = match o {
                Outcome::Appended { seq, .. } if args.dry_run => (*seq, "would be appended"),
                Outcome::Appended { seq, .. } => (*seq, "appended"),
                Outcome::Existing { seq } => (*seq, "already recorded, unchanged"),
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
        summary.push_str(&format!(" to {}", ctx.ledger.display()));
    }
    out.line(summary)?;
    out.line(format!("head {}", report.head))?;
    out.done()
}
