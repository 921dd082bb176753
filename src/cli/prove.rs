//! `pactum prove`: an inclusion or consistency proof of the ledger.

use pactum::model::{AgreementId, AmendmentId};
use pactum::proof;

use super::{usage, Ctx, Fail, Out};

/// Arguments of `prove`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum prove microsoft-openai 2025-01-21-compute-rofr > proof.json\n  pactum prove --consistency 5 > consistency-5.json",
    group(clap::ArgGroup::new("what").required(true).args(["amendment", "consistency"])),
    override_usage = "pactum prove [OPTIONS] AGREEMENT AMENDMENT\n       pactum prove [OPTIONS] --consistency OLD_N"
)]
pub struct ProveArgs {
    /// The agreement of the amendment to prove.
    #[arg(requires = "amendment")]
    agreement: Option<AgreementId>,
    /// The amendment to prove included.
    amendment: Option<AmendmentId>,
    /// Prove instead that the tree of N entries is a prefix of the current one.
    #[arg(long, value_name = "OLD_N", conflicts_with_all = ["agreement", "amendment"])]
    consistency: Option<u64>,
    /// Prove against the tree of N entries (a checkpoint taken earlier); default: now.
    #[arg(long, value_name = "N")]
    size: Option<u64>,
}

/// `prove`.
pub fn prove(ctx: &Ctx<'_>, a: &ProveArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let size = a.size.unwrap_or(ledger.head().count);
    if size > ledger.head().count {
        return Err(usage(format!(
            "--size {size}: the ledger holds {} entries",
            ledger.head().count
        )));
    }
    let mut out = Out::new();
    match (&a.agreement, &a.amendment, a.consistency) {
        (Some(ag), Some(id), None) => {
            let p = proof::prove_inclusion(&ledger, ag, id, size)?;
            let retracted = pactum::catalog::retracted_by(&ledger, ag, id)?;
            if let Some(r) = retracted.filter(|_| !ctx.quiet) {
                // The proof shows the entry is recorded; the retraction voids it.
                eprintln!(
                    "pactum: note: amendment `{id}` is recorded (entry #{}), but entry #{} ({}) retracted it: it is void",
                    p.leaf_index, r.seq, r.amendment
                );
            }
            out.json_pretty(&p)?
        }
        (_, _, Some(old)) => out.json_pretty(&proof::prove_consistency(&ledger, old, size)?)?,
        _ => return Err(usage("give AGREEMENT AMENDMENT, or --consistency OLD_N")),
    }
    out.done()
}
