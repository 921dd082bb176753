//! `audit`, `head`, `export`, `import`.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;

use pactum::audit::{self, Expect, Report};
use pactum::chain::{self, Checkpoint, CheckpointText, Hash};
use pactum::error::Error;
use pactum::export;
use pactum::layout::keys;
use pactum::ledger::Head;
use pactum::store::{SledStore, Store};
use pactum::Ledger;
use serde::Serialize;

use pactum::limits::NOTE_BYTES_MAX;
use pactum::note::{self, VerifierKey};

use super::keys::{read_small, read_verifiers};
use super::{progress_bar, usage, Ctx, Fail, Out};

/// Arguments of `audit`.
#[derive(clap::Args, Debug)]
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

/// Arguments of `head`.
#[derive(clap::Args, Debug)]
pub struct HeadArgs {
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Arguments of `export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// Arguments of `import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The export file (JSON Lines).
    file: PathBuf,
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    seq: Option<u64>,
    kind: &'static str,
    detail: &'a str,
}

#[derive(Serialize)]
struct JsonAudit<'a> {
    ok: bool,
    entries: u64,
    head: String,
    failure: Option<JsonFailure<'a>>,
}

/// `audit --json`.
pub(crate) fn audit_json(r: &Report) -> String {
    super::read::pretty(&JsonAudit {
        ok: r.ok,
        entries: r.entries,
        head: r.head.to_string(),
        failure: r.failure.as_ref().map(|f| JsonFailure {
            seq: f.seq,
            kind: f.kind.as_str(),
            detail: &f.detail,
        }),
    })
}

/// `head --json`.
pub(crate) fn head_json(cp: &Checkpoint) -> String {
    let mut s = serde_json::to_string(&JsonHead {
        entries: cp.count,
        hash: chain::hex(&cp.hash),
        checkpoint: cp.to_string(),
    })
    .unwrap_or_default();
    s.push('\n');
    s
}

fn print_report(json: bool, file: bool, what: &str, r: &Report) -> Result<(), Fail> {
    let mut out = Out::new();
    if json {
        out.raw(&audit_json(r))?;
    } else if let Some(f) = &r.failure {
        out.line(format!("FAILED: {what}: {f}"))?;
        out.line(format!("{} entries verified before the failure", r.entries))?;
    } else {
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

/// A checkpoint given on the command line: `N:HASH`, or a checkpoint file
/// (plain or signed); with `keys`, whether the file is signed by each (an
/// integrity failure when not).
pub fn read_checkpoint(
    arg: &str,
    keys: &[VerifierKey],
) -> Result<(Expect, Option<CheckpointText>, Option<Report>), Fail> {
    if let Ok(cp) = arg.parse::<Checkpoint>() {
        if !keys.is_empty() {
            return Err(usage(format!(
                "--key checks a signed checkpoint file; `{arg}` is a bare N:HASH"
            )));
        }
        return Ok((cp.into(), None, None));
    }
    let path = std::path::Path::new(arg);
    if !path.is_file() {
        return Err(usage(format!(
            "--checkpoint `{arg}` is neither N:HASH nor a readable checkpoint file"
        )));
    }
    let text = read_small(path, NOTE_BYTES_MAX, "a checkpoint")?;
    let cp = note::parse_checkpoint(&text).map_err(|e| usage(format!("{arg}: {e}")))?;
    let unsigned = cp.require(keys).err().map(|e| Report {
        ok: false,
        entries: 0,
        head: Checkpoint {
            count: 0,
            hash: [0; 32],
        },
        failure: Some(audit::Failure {
            seq: None,
            kind: audit::Kind::CheckpointMismatch,
            detail: format!("{arg}: {e}"),
        }),
    });
    Ok(((&cp.body).into(), Some(cp.body), unsigned))
}

fn wrong_origin(cp: &CheckpointText, origin: &pactum::chain::Origin) -> Option<Report> {
    let mine = CheckpointText::origin_line(origin);
    (cp.origin != mine).then(|| Report {
        ok: false,
        entries: 0,
        head: Checkpoint {
            count: 0,
            hash: [0; 32],
        },
        failure: Some(audit::Failure {
            seq: None,
            kind: audit::Kind::CheckpointMismatch,
            detail: format!(
                "the checkpoint is of the ledger `{}`, this is `{mine}`",
                cp.origin
            ),
        }),
    })
}

/// `audit`.
pub fn audit(ctx: &Ctx<'_>, a: &AuditArgs) -> Result<(), Fail> {
    let keys = read_verifiers(&a.keys)?;
    let (expect, text) = match &a.checkpoint {
        Some(arg) => {
            let (e, t, unsigned) = read_checkpoint(arg, &keys)?;
            if let Some(r) = unsigned {
                let what = a
                    .file
                    .as_ref()
                    .unwrap_or(&ctx.ledger.to_path_buf())
                    .display()
                    .to_string();
                return print_report(a.json, a.file.is_some(), &what, &r);
            }
            (Some(e), t)
        }
        None => (None, None),
    };
    if let Some(path) = &a.file {
        let f =
            File::open(path).map_err(|e| usage(format!("{}: cannot open: {e}", path.display())))?;
        let verified = export::verify_export(&mut BufReader::new(f), expect, &mut |_, _, _| {});
        let report = match (&text, verified.origin) {
            (Some(t), Some(o)) => wrong_origin(t, &o).unwrap_or(verified.report),
            _ => verified.report,
        };
        return print_report(a.json, true, &path.display().to_string(), &report);
    }
    if let Some(held) = ctx.held {
        let report = audit::audit_store(held.store(), expect, &mut |_| {})?;
        return print_report(a.json, false, &ctx.ledger.display().to_string(), &report);
    }
    if !SledStore::exists(ctx.ledger) {
        return Err(Fail::Error(Error::Missing(ctx.ledger.to_path_buf())));
    }
    // The audit reads in key order: a small page cache keeps its memory low.
    let store = SledStore::open_with_cache(ctx.ledger, ctx.wait, pactum::store::SCAN_CACHE)?;
    let total = store
        .get(&keys::meta("head"))
        .ok()
        .flatten()
        .and_then(|h| Head::decode(&h))
        .map_or(0, |h| h.count);
    if let (Some(t), Ok(Some(origin))) = (&text, pactum::layout::read_origin(&store)) {
        if let Some(r) = wrong_origin(t, &origin) {
            return print_report(a.json, false, &ctx.ledger.display().to_string(), &r);
        }
    }
    let bar = progress_bar(total, "audit");
    let report = audit::audit_store(&store, expect, &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    print_report(a.json, false, &ctx.ledger.display().to_string(), &report)
}

#[derive(Serialize)]
struct JsonHead {
    entries: u64,
    hash: String,
    checkpoint: String,
}

/// `head`.
pub fn head(ctx: &Ctx<'_>, a: &HeadArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let cp = ledger.head().checkpoint();
    let mut out = Out::new();
    if a.json {
        out.raw(&head_json(&cp))?;
    } else {
        out.line(cp.to_string())?;
    }
    out.done()
}

/// `export`.
pub fn export(ctx: &Ctx<'_>, a: &ExportArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let bar = progress_bar(ledger.head().count, "export");
    let mut progress = |n| bar.set_position(n);
    // Through a server, the client writes the file.
    let output = if ctx.held.is_some() { &None } else { &a.output };
    match output {
        None => {
            let mut w = BufWriter::new(super::out::Stdout);
            let r = export::write_export(&ledger, &mut w, &mut progress);
            bar.finish_and_clear();
            match r {
                Err(Error::Usage(m)) if m.contains("Broken pipe") => Err(Fail::Pipe),
                other => other.map(|_| ()).map_err(Fail::from),
            }
        }
        Some(path) => {
            let tmp = path.with_extension("jsonl.partial");
            let f = File::create(&tmp)
                .map_err(|e| usage(format!("{}: cannot create: {e}", tmp.display())))?;
            let mut w = BufWriter::new(f);
            let r = export::write_export(&ledger, &mut w, &mut progress).and_then(|cp| {
                let f = w
                    .into_inner()
                    .map_err(|e| Error::Usage(format!("cannot write: {e}")))?;
                f.sync_all()
                    .map_err(|e| Error::Usage(format!("cannot fsync: {e}")))?;
                std::fs::rename(&tmp, path)
                    .map_err(|e| Error::Usage(format!("{}: cannot rename: {e}", path.display())))?;
                Ok(cp)
            });
            bar.finish_and_clear();
            match r {
                Ok(cp) => {
                    eprintln!(
                        "exported {} entries to {}; head {cp}",
                        cp.count,
                        path.display()
                    );
                    Ok(())
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    Err(Fail::Error(e))
                }
            }
        }
    }
}

/// `import`.
pub fn import(ctx: &Ctx<'_>, a: &ImportArgs) -> Result<(), Fail> {
    if SledStore::exists(ctx.ledger) {
        return Err(usage(format!(
            "{} already holds a ledger; import rebuilds a new one: pass --ledger NEW_PATH",
            ctx.ledger.display()
        )));
    }
    let f = File::open(&a.file)
        .map_err(|e| usage(format!("{}: cannot open: {e}", a.file.display())))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(size, "import");
    let mut reader = BufReader::new(ProgressRead {
        inner: f,
        bar: &bar,
        read: 0,
    });
    let mut entries: Vec<(Vec<u8>, Hash)> = Vec::new();
    let verified = export::verify_export(&mut reader, None, &mut |_, bytes, hash| {
        entries.push((bytes.to_vec(), *hash))
    });
    bar.finish_and_clear();
    let (Some(origin), true) = (verified.origin, verified.report.ok) else {
        print_report(false, true, &a.file.display().to_string(), &verified.report)?;
        return Err(Fail::Integrity);
    };
    let store = SledStore::open_with_cache(ctx.ledger, ctx.wait, pactum::store::WRITE_CACHE)?;
    let ledger = Ledger::create(store, origin)?;
    let head = ledger.append_raw(&entries)?;
    let report = audit::audit_store(ledger.store(), Some(head.into()), &mut |_| {})?;
    if !report.ok {
        return print_report(false, false, &ctx.ledger.display().to_string(), &report);
    }
    let mut out = Out::new();
    out.line(format!(
        "imported {} entries into {}",
        head.count,
        ctx.ledger.display()
    ))?;
    out.line(format!("head {head}"))?;
    out.done()
}

struct ProgressRead<'a> {
    inner: File,
    bar: &'a indicatif::ProgressBar,
    read: u64,
}

impl std::io::Read for ProgressRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.bar.set_position(self.read);
        Ok(n)
    }
}
