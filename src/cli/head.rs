//! `pactum head`: the checkpoint `N:HASH`.

use pactum::chain;
use serde::Serialize;

use super::{Ctx, Fail, Out};

/// Arguments of `head`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  pactum head            # 7:40a38b17…: 7 entries (#0 … #6), and the chain hash after #6"
)]
pub struct HeadArgs {
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonHead {
    entries: u64,
    hash: String,
    checkpoint: String,
}

/// `head --json`.
pub(crate) fn head_json(cp: &pactum::chain::Checkpoint) -> String {
    let mut s = serde_json::to_string(&JsonHead {
        entries: cp.count,
        hash: chain::hex(&cp.hash),
        checkpoint: cp.to_string(),
    })
    .unwrap_or_default();
    s.push('\n');
    s
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
