//! `pactum audit`: the ledger (or an export file) verified, optionally
//! against a checkpoint; and the audit report both it and `import` print.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use pactum::audit::{self, Expect, Report};
use pactum::chain::{self, Checkpoint, CheckpointText};
use pactum::error::Error;
use pactum::export;
use pactum::layout::keys;
use pactum::ledger::Head;
use pactum::store::Store;
use serde::Serialize;

use pactum::limits::NOTE_BYTES_MAX;
use pactum::note::{self, VerifierKey};

use super::keys::{read_small, read_verifiers};
use super::{io_error, progress_bar, usage, Ctx, Fail, Out};

/// Arguments of `audit`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum audit\n  pactum head > head.txt; pactum audit --checkpoint head.txt   # later: nothing before was rewritten\n  pactum audit --checkpoint 7:40a38b17285f                      # a hash shortened as `log` prints it\n  pactum audit backup.jsonl --json                              # an export file, offline"
)]
pub struct AuditArgs {
    /// An export file (JSON Lines) to verify offline, instead of the ledger.
    pub(crate) file: Option<PathBuf>,
    /// Also prove the history up to a checkpoint was not rewritten: `N:HASH`
    /// as `pactum head` prints it, or a file written by `pactum checkpoint`.
    #[arg(long, value_name = "N:HASH|FILE")]
    pub(crate) checkpoint: Option<String>,
    /// Require the checkpoint file to carry a valid signature by this
    /// verifier key (or the file holding one); repeatable.
    #[arg(long = "key", value_name = "VKEY", requires = "checkpoint")]
    pub(crate) keys: Vec<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    seq: Option<u64>,
    kind: &'static str,
    detail: &'a str,
}

/// `audit --json`: always one document (README, "Output"). `head` is the
/// ledger's head as stored (the export's last entry for a file), `verified`
/// the checkpoint recomputed over the `entries` verified (the whole ledger
/// when `ok`); either is null when it could not be read.
#[derive(Serialize)]
struct JsonAudit<'a> {
    ok: bool,
    entries: u64,
    head: Option<String>,
    verified: Option<String>,
    failure: Option<JsonFailure<'a>>,
}

/// The document `audit --json` prints when the audit could not run at all:
/// sled reports damage (`storage-damaged`, exit 1), or the ledger cannot be
/// opened (`no-ledger`, `busy`, `cannot-open`, exit 2; the message goes to
/// standard error as well).
fn print_not_run(e: &Error) -> Result<(), Fail> {
    use pactum::store::StoreError;
    let kind = match e {
        Error::Damaged { .. } | Error::Store(StoreError::Damaged(_)) => "storage-damaged",
        Error::Missing(_) => "no-ledger",
        Error::Store(StoreError::Busy { .. }) => "busy",
        _ => "cannot-open",
    };
    let detail = e.to_string();
    let mut out = Out::new();
    out.json_pretty(&JsonAudit {
        ok: false,
        entries: 0,
        head: None,
        verified: None,
        failure: Some(JsonFailure {
            seq: None,
            kind,
            detail: &detail,
        }),
    })?;
    out.done()
}

/// `audit --json` of a report; `head` the ledger's head as stored (the
/// export's last entry for a file).
pub(crate) fn audit_json(r: &Report, head: Option<Checkpoint>) -> String {
    super::read::pretty(&JsonAudit {
        ok: r.ok,
        entries: r.entries,
        head: head.map(|h| h.to_string()),
        verified: Some(r.head.to_string()),
        failure: r.failure.as_ref().map(|f| JsonFailure {
            seq: f.seq,
            kind: f.kind.as_str(),
            detail: &f.detail,
        }),
    })
}

pub(super) fn print_report(
    quiet: bool,
    json: bool,
    file: bool,
    what: &str,
    r: &Report,
    stored_head: Option<Checkpoint>,
) -> Result<(), Fail> {
    let mut out = Out::new();
    if json {
        let head = if file { Some(r.head) } else { stored_head };
        out.raw(&audit_json(r, head))?;
    } else if let Some(f) = &r.failure {
        out.line(format!("FAILED: {what}: {f}"))?;
        out.line(format!("{} entries verified before the failure", r.entries))?;
    } else if !quiet {
        let checked = if file {
            "every leaf and link, and the trailer"
        } else {
            "every leaf and link, both indexes, the stored projections and the head"
        };
        out.line(format!(
            "ok: {what}: {} entries verified: {checked}",
            r.entries
        ))?;
        out.line(format!("head {}", r.head))?;
    }
    out.done()?;
    if r.ok {
        Ok(())
    } else {
        Err(Fail::Integrity)
    }
}

/// A checkpoint given to `audit --checkpoint`.
pub enum Given {
    /// `N:HASH` in full, or a checkpoint file (with its text).
    Full(Expect, Option<CheckpointText>),
    /// `N:PREFIX`: the chain hash shortened (as `log` prints it), at least
    /// [`PREFIX_HEX_MIN`] hex digits; the ledger says which hash it is.
    Prefix(u64, String),
}

/// The shortest hash prefix `--checkpoint` takes: what `log` prints.
const PREFIX_HEX_MIN: usize = 12;

/// `N:HASH` or `N:PREFIX`, as `pactum head` or `pactum log` print them.
fn parse_given(s: &str) -> Option<Result<Given, String>> {
    let s = s.trim();
    if let Ok(cp) = s.parse::<Checkpoint>() {
        return Some(Ok(Given::Full(cp.into(), None)));
    }
    let (n, h) = s.split_once(':')?;
    let count = n.parse::<u64>().ok().filter(|c| c.to_string() == n)?;
    if h.is_empty() || h.len() > 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if h.len() < PREFIX_HEX_MIN {
        return Some(Err(format!(
            "checkpoint hash `{h}` is {} hex digits: give at least {PREFIX_HEX_MIN} (as `pactum log` prints them) or all 64",
            h.len()
        )));
    }
    Some(Ok(Given::Prefix(count, h.to_ascii_lowercase())))
}

/// A checkpoint given on the command line: `N:HASH` (or a shortened hash),
/// or a file holding `N:HASH` (as `pactum head > FILE` writes it) or a
/// checkpoint text (as `pactum checkpoint -o FILE` writes it).
///
/// With `keys`, the file must be a signed checkpoint carrying a valid
/// signature by each: when it does not, the report of that failure.
pub fn read_checkpoint(arg: &str, keys: &[VerifierKey]) -> Result<(Given, Option<Report>), Fail> {
    let bare = |g: Option<Result<Given, String>>,
                at: &str|
     -> Option<Result<(Given, Option<Report>), Fail>> {
        let g = g?;
        if !keys.is_empty() {
            return Some(Err(usage(format!(
                "--key checks a signed checkpoint file; `{arg}` is a bare N:HASH"
            ))));
        }
        Some(
            g.map(|g| (g, None))
                .map_err(|m| usage(format!("{at}: {m}"))),
        )
    };
    if let Some(r) = bare(parse_given(arg), "--checkpoint") {
        return r;
    }
    let path = std::path::Path::new(arg);
    if !path.is_file() {
        return Err(usage(format!(
            "--checkpoint `{arg}` is neither N:HASH nor a readable checkpoint file"
        )));
    }
    let text = read_small(path, NOTE_BYTES_MAX, "a checkpoint")?;
    if let Some(r) = bare(parse_given(&text), arg) {
        return r;
    }
    let cp = note::parse_checkpoint(&text).map_err(|e| usage(format!("{arg}: {e}")))?;
    let unsigned = cp
        .require(keys)
        .err()
        .map(|e| checkpoint_mismatch(None, format!("{arg}: {e}")));
    Ok((Given::Full((&cp.body).into(), Some(cp.body)), unsigned))
}

/// The full checkpoint a shortened one names: the stored chain hash after
/// `count` entries, when it starts with `prefix`; otherwise the report of
/// the mismatch.
fn resolve_prefix<S: Store>(
    store: &S,
    count: u64,
    prefix: &str,
) -> Result<Result<Expect, Report>, Fail> {
    let stored = match count.checked_sub(1) {
        None => pactum::layout::read_origin(store)?.map(|o| chain::genesis(&o)),
        Some(seq) => match store.get(&keys::entry(seq))? {
            Some(v) => pactum::layout::StoredEntry::split(&v).map(|s| s.chain),
            None => None,
        },
    };
    match stored {
        Some(h) if chain::hex(&h).starts_with(prefix) => Ok(Ok(Checkpoint { count, hash: h }.into())),
        other => Ok(Err(checkpoint_mismatch(
            count.checked_sub(1),
            match other {
                Some(h) => format!(
                    "the ledger's chain hash after {count} entries is {}, which does not start with {prefix}",
                    chain::hex(&h)
                ),
                None => format!(
                    "the ledger holds no entry {} for the checkpoint of {count} entries",
                    count.saturating_sub(1)
                ),
            },
        ))),
    }
}

/// The report of a checkpoint that does not match (before any entry is
/// verified).
fn checkpoint_mismatch(seq: Option<u64>, detail: String) -> Report {
    Report {
        ok: false,
        entries: 0,
        head: Checkpoint {
            count: 0,
            hash: [0; 32],
        },
        failure: Some(audit::Failure {
            seq,
            kind: audit::Kind::CheckpointMismatch,
            detail,
        }),
    }
}

fn wrong_origin(cp: &CheckpointText, origin: &pactum::chain::Origin) -> Option<Report> {
    let mine = CheckpointText::origin_line(origin);
    (cp.origin != mine).then(|| {
        checkpoint_mismatch(
            None,
            format!(
                "the checkpoint is of the ledger `{}`, this is `{mine}`",
                cp.origin
            ),
        )
    })
}

/// `audit`.
pub fn audit(ctx: &Ctx<'_>, a: &AuditArgs) -> Result<(), Fail> {
    match audit_inner(ctx, a) {
        Err(Fail::Error(e)) if a.json => {
            print_not_run(&e)?;
            Err(Fail::Error(e))
        }
        other => other,
    }
}

fn audit_inner(ctx: &Ctx<'_>, a: &AuditArgs) -> Result<(), Fail> {
    let keys = read_verifiers(&a.keys)?;
    let (mut expect, text, prefix) = match &a.checkpoint {
        Some(arg) => {
            let (given, unsigned) = read_checkpoint(arg, &keys)?;
            if let Some(r) = unsigned {
                let what = a
                    .file
                    .as_ref()
                    .map_or_else(|| ctx.ledger_name(), |f| f.display().to_string());
                return print_report(ctx.quiet, a.json, a.file.is_some(), &what, &r, None);
            }
            match given {
                Given::Full(e, t) => (Some(e), t, None),
                Given::Prefix(n, p) => (None, None, Some((n, p))),
            }
        }
        None => (None, None, None),
    };
    if let Some(path) = &a.file {
        if prefix.is_some() {
            return Err(usage(
                "--checkpoint: a shortened hash is resolved against a ledger; for an export file give all 64 hex digits",
            ));
        }
        let f = File::open(path).map_err(|e| io_error(path, "open", e))?;
        let verified = export::verify_export(&mut BufReader::new(f), expect, &mut |_, _, _| {});
        let report = match (&text, verified.origin) {
            (Some(t), Some(o)) => wrong_origin(t, &o).unwrap_or(verified.report),
            _ => verified.report,
        };
        return print_report(
            ctx.quiet,
            a.json,
            true,
            &path.display().to_string(),
            &report,
            None,
        );
    }
    // The audit reads in key order: a small page cache keeps its memory low.
    // Through a server, the ledger it holds.
    let owned;
    let store: &pactum::store::AnyStore = match ctx.held {
        Some(held) => held.store(),
        None => {
            owned = pactum::place::open_store(ctx.ledger, ctx.wait, pactum::store::SCAN_CACHE)?;
            &owned
        }
    };
    let stored_head = store
        .get(&keys::meta("head"))
        .ok()
        .flatten()
        .and_then(|h| Head::decode(&h))
        .map(|h| h.checkpoint());
    let total = stored_head.map_or(0, |h| h.count);
    let name = ctx.ledger_name();
    if let (Some(t), Ok(Some(origin))) = (&text, pactum::layout::read_origin(store)) {
        if let Some(r) = wrong_origin(t, &origin) {
            return print_report(ctx.quiet, a.json, false, &name, &r, stored_head);
        }
    }
    if let Some((n, p)) = &prefix {
        match resolve_prefix(store, *n, p)? {
            Ok(e) => expect = Some(e),
            Err(r) => return print_report(ctx.quiet, a.json, false, &name, &r, stored_head),
        }
    }
    let bar = progress_bar(total, "audit");
    let report = audit::audit_store(store, expect, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    print_report(ctx.quiet, a.json, false, &name, &report, stored_head)
}
