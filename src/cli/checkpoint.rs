//! `pactum checkpoint`: the checkpoint text (origin, size, Merkle root, chain hash).

use std::path::PathBuf;

use super::{io_error, Ctx, Fail, Out};

/// Arguments of `checkpoint`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum checkpoint -o checkpoint.txt\n  pactum checkpoint --size 5 -o checkpoint-5.txt"
)]
pub struct CheckpointArgs {
    /// The checkpoint as the ledger stood after N entries (default: now).
    #[arg(long, value_name = "N")]
    size: Option<u64>,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print one JSON document (`origin`, `size`, `root` base64, `chain` hex, `text`).
    #[arg(long, conflicts_with = "output")]
    json: bool,
}

#[derive(serde::Serialize)]
struct JsonCheckpoint<'a> {
    origin: &'a str,
    size: u64,
    root: String,
    chain: String,
    text: String,
}

/// `checkpoint`.
pub fn checkpoint(ctx: &Ctx<'_>, a: &CheckpointArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let cp = match a.size {
        Some(n) => ledger.checkpoint_text_at(n)?,
        None => ledger.checkpoint_text(),
    };
    match &a.output {
        Some(path) => {
            std::fs::write(path, cp.to_string()).map_err(|e| io_error(path, "write", e))?;
            if !ctx.quiet {
                eprintln!(
                    "checkpoint of {} entries written to {}",
                    cp.size,
                    path.display()
                );
            }
            Ok(())
        }
        None => {
            let mut out = Out::new();
            if a.json {
                out.json_pretty(&JsonCheckpoint {
                    origin: &cp.origin,
                    size: cp.size,
                    root: pactum::chain::base64(&cp.root),
                    chain: pactum::chain::hex(&cp.chain),
                    text: cp.to_string(),
                })?;
            } else {
                out.line(cp.to_string().trim_end())?;
            }
            out.done()
        }
    }
}
