//! `pactum checkpoint`: the checkpoint text (origin, size, Merkle root, chain hash).

use std::path::PathBuf;

use pactum::note;

use super::keys::read_signer;
use super::{io_error, usage, Ctx, Fail, Out};

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
    pub(crate) output: Option<PathBuf>,
    /// Print one JSON document (`origin`, `size`, `root` base64, `chain` hex,
    /// `text`, and with --sign `signed`: the signed note).
    #[arg(long, conflicts_with = "output")]
    json: bool,
    /// Sign it with this signer key file, whose name must be the origin line:
    /// print a signed note (C2SP signed-note and tlog-checkpoint).
    #[arg(long, value_name = "KEYFILE")]
    pub(crate) sign: Option<PathBuf>,
}

#[derive(serde::Serialize)]
struct JsonCheckpoint<'a> {
    origin: &'a str,
    size: u64,
    root: String,
    chain: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<String>,
}

/// `checkpoint --json` (with `signed`, the signed note, when --sign is given).
pub(crate) fn checkpoint_json(
    cp: &pactum::chain::CheckpointText,
    signed: Option<String>,
) -> String {
    super::read::pretty(&JsonCheckpoint {
        origin: &cp.origin,
        size: cp.size,
        root: pactum::chain::base64(&cp.root),
        chain: pactum::chain::hex(&cp.chain),
        text: cp.to_string(),
        signed,
    })
}

/// `checkpoint`.
pub fn checkpoint(ctx: &Ctx<'_>, a: &CheckpointArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let cp = match a.size {
        Some(n) => ledger.checkpoint_text_at(n)?,
        None => ledger.checkpoint_text(),
    };
    let signed = match &a.sign {
        None => None,
        Some(keyfile) => {
            let key = read_signer(keyfile)?;
            let note = note::sign_checkpoint(&cp, &key)
                .map_err(|e| usage(format!("{}: {e}", keyfile.display())))?;
            Some(note.to_string())
        }
    };
    match &a.output {
        Some(path) => {
            std::fs::write(path, signed.clone().unwrap_or_else(|| cp.to_string()))
                .map_err(|e| io_error(path, "write", e))?;
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
                out.raw(&checkpoint_json(&cp, signed))?;
            } else {
                let text = signed.unwrap_or_else(|| cp.to_string());
                out.line(text.trim_end_matches('\n'))?;
            }
            out.done()
        }
    }
}
