//! `pactum import`: a new ledger rebuilt from an export.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;

use pactum::place;

use super::{io_error, progress_bar, Ctx, Fail, Out};

use super::audit::print_report;

/// Arguments of `import`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum --ledger restored.ledger import backup.jsonl\n  pactum --ledger old.ledger export | pactum --ledger 'postgresql:///db?host=/run/postgresql' import -"
)]
pub struct ImportArgs {
    /// The export file (JSON Lines), or `-` for standard input.
    file: PathBuf,
}

/// `import`.
pub fn import(ctx: &Ctx<'_>, a: &ImportArgs) -> Result<(), Fail> {
    let (f, size): (Box<dyn Read>, u64) = if a.file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), 0)
    } else {
        let f = File::open(&a.file).map_err(|e| io_error(&a.file, "open", e))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(f), size)
    };
    let bar = progress_bar(size, "import");
    let mut reader = BufReader::new(ProgressRead {
        inner: f,
        bar: &bar,
        read: 0,
    });
    let imported = place::import(ctx.ledger, ctx.wait, &mut reader);
    bar.finish_and_clear();
    let head = match imported? {
        place::Imported::Done(head) => head,
        place::Imported::BadExport(r) => {
            let file = a.file.display().to_string();
            print_report(ctx.quiet, false, true, &file, &r, None)?;
            return Err(Fail::Integrity);
        }
        place::Imported::BadLedger(r) => {
            let name = ctx.ledger_name();
            return print_report(ctx.quiet, false, false, &name, &r, None);
        }
    };
    if ctx.quiet {
        return Ok(());
    }
    let mut out = Out::new();
    out.line(format!(
        "imported {} entries into {}",
        head.count,
        ctx.ledger_name()
    ))?;
    out.line(format!("head {head}"))?;
    out.done()
}

struct ProgressRead<'a> {
    inner: Box<dyn Read>,
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
