//! `pactum export`: a verified JSON Lines copy of the ledger.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use pactum::error::Error;
use pactum::export;

use super::{io_error, progress_bar, Ctx, Fail};

/// Arguments of `export`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  pactum export -o backup.jsonl")]
pub struct ExportArgs {
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
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
                Err(Error::Io {
                    kind: std::io::ErrorKind::BrokenPipe,
                    ..
                }) => Err(Fail::Pipe),
                other => other.map(|_| ()).map_err(Fail::from),
            }
        }
        Some(path) => {
            let tmp = path.with_extension("jsonl.partial");
            let f = File::create(&tmp).map_err(|e| io_error(&tmp, "create", e))?;
            let mut w = BufWriter::new(f);
            let r = export::write_export(&ledger, &mut w, &mut progress).and_then(|cp| {
                let f = w
                    .into_inner()
                    .map_err(|e| io_error(&tmp, "write", e.into_error()))?;
                f.sync_all().map_err(|e| io_error(&tmp, "fsync", e))?;
                std::fs::rename(&tmp, path)
                    .map_err(|e| io_error(path, "rename the finished export to", e))?;
                Ok(cp)
            });
            bar.finish_and_clear();
            match r {
                Ok(_) if ctx.quiet => Ok(()),
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
