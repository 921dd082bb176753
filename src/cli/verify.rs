//! `pactum verify`: a proof checked against checkpoint files, with no ledger.

use std::path::PathBuf;

use pactum::chain::CheckpointText;
use pactum::limits::NOTE_BYTES_MAX;
use pactum::note::{self, VerifierKey};
use pactum::proof::{self, Proof};

use super::keys::{read_small, read_verifiers};
use super::{io_error, usage, Ctx, Fail, Out};

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  pactum verify proof.json --checkpoint checkpoint.txt\n  pactum verify proof.json --checkpoint checkpoint.txt --signer openai.vkey\n  pactum verify consistency-5.json --checkpoint checkpoint.txt --old-checkpoint checkpoint-5.txt"
)]
pub struct VerifyArgs {
    /// The proof (JSON, as `pactum prove` printed it).
    proof: PathBuf,
    /// The checkpoint file the proof is checked against (for a consistency proof: the newer one).
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// For a consistency proof: the older checkpoint file.
    #[arg(long, value_name = "FILE")]
    old_checkpoint: Option<PathBuf>,
    /// Require the checkpoint file(s) to carry a valid signature by this
    /// verifier key (or the file holding one); repeatable.
    #[arg(long = "key", value_name = "VKEY")]
    keys: Vec<String>,
    /// For an inclusion proof: require the amendment to carry a valid
    /// signature by this verifier key (a party's key you hold, or the file
    /// holding it); repeatable.
    #[arg(long = "signer", value_name = "VKEY")]
    signers: Vec<String>,
    /// Print one JSON document (`ok`, `detail`).
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct JsonVerify<'a> {
    ok: bool,
    detail: &'a str,
}

fn read(path: &PathBuf) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| Fail::Error(io_error(path, "read", e)))
}

/// A checkpoint file, plain or signed (refused when malformed), and whether
/// it carries a valid signature by each of `keys` (a verification failure).
fn read_checkpoint(
    path: &std::path::Path,
    keys: &[VerifierKey],
) -> Result<(CheckpointText, Result<(), String>), Fail> {
    let text = read_small(path, NOTE_BYTES_MAX, "a checkpoint")?;
    let cp =
        note::parse_checkpoint(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let signed = cp
        .require(keys)
        .map_err(|e| format!("{}: {e}", path.display()));
    Ok((cp.body, signed))
}

/// `verify`.
pub fn verify(ctx: &Ctx<'_>, a: &VerifyArgs) -> Result<(), Fail> {
    let p =
        Proof::parse(&read(&a.proof)?).map_err(|e| usage(format!("{}: {e}", a.proof.display())))?;
    let keys = read_verifiers(&a.keys)?;
    let signers = read_verifiers(&a.signers)?;
    if !signers.is_empty() && matches!(p, Proof::Consistency(_)) {
        return Err(usage(
            "--signer checks the amendment of an inclusion proof; this is a consistency proof",
        ));
    }
    let (cp, mut signed) = read_checkpoint(&a.checkpoint, &keys)?;
    let old_cp = match (&p, &a.old_checkpoint) {
        (Proof::Consistency(_), Some(old)) => {
            let (old, old_signed) = read_checkpoint(old, &keys)?;
            signed = signed.and(old_signed);
            Some(old)
        }
        _ => None,
    };
    // A checkpoint without the signatures asked for is a failed check
    // (exit 1) whatever else it says; only a signed one can be a mere
    // mismatch with the proof (exit 2).
    if let Some(m) = proof::mismatch(&p, &cp, old_cp.as_ref()).filter(|_| signed.is_ok()) {
        // A proof and a checkpoint that do not go together prove nothing
        // either way: a usage error (exit 2), not a failed check.
        return Err(usage(format!(
            "{m} (verify against the checkpoint the proof was made for, or make a proof for this one: pactum prove … --size {})",
            cp.size
        )));
    }
    let mut out = Out::new();
    let result = match &p {
        Proof::Inclusion(p) => signed
            .clone()
            .and_then(|()| proof::verify_inclusion(p, &cp))
            .and_then(|e| {
                let lines = proof::check_entry_signers(&e, &signers)?;
                Ok((e, lines))
            })
            .map(|(e, lines)| {
                let by = if lines.is_empty() {
                    String::new()
                } else {
                    format!("; it carries signature lines by {}", lines.join(", "))
                };
                format!(
                    "ok: amendment `{}` of `{}` (effective {}) is entry #{} of the {} in checkpoint {}{by} \
                     (whether a later entry retracted it is no part of this proof: `pactum show` on the ledger says)",
                    e.amendment.id,
                    e.amendment.agreement,
                    e.amendment.effective.map_or("-".into(), |d| d.to_string()),
                    e.seq,
                    cp.size,
                    cp.origin
                )
            }),
        Proof::Consistency(p) => {
            let Some(old) = &old_cp else {
                return Err(usage(
                    "a consistency proof needs --old-checkpoint FILE as well",
                ));
            };
            signed.clone().and_then(|()| proof::verify_consistency(p, old, &cp)).map(|()| {
                format!(
                    "ok: the ledger {} of {} entries extends its checkpoint of {} entries",
                    cp.origin, cp.size, old.size
                )
            })
        }
    };
    let result = result.map(|msg| {
        let mut msg = msg;
        if !keys.is_empty() {
            let names: Vec<String> = keys.iter().map(|k| k.name().to_string()).collect();
            msg = format!("{msg}; checkpoint signed by {}", names.join(", "));
        }
        if !signers.is_empty() {
            let names: Vec<String> = signers
                .iter()
                .map(|k| format!("{}+{:08x}", k.name(), k.id()))
                .collect();
            msg = format!("{msg}; amendment signed by {}", names.join(", "));
        }
        msg
    });
    let (ok, detail) = match &result {
        Ok(msg) => (true, msg.as_str()),
        Err(why) => (false, why.as_str()),
    };
    if a.json {
        out.json_pretty(&JsonVerify { ok, detail })?;
    } else if ok {
        if !ctx.quiet {
            out.line(detail)?;
        }
    } else {
        out.line(format!("FAILED: {detail}"))?;
    }
    out.done()?;
    if ok {
        Ok(())
    } else {
        Err(Fail::Integrity)
    }
}
