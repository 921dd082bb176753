//! `checkpoint`, `prove`, `verify`.

use std::path::PathBuf;

use pactum::chain::CheckpointText;
use pactum::model::{AgreementId, AmendmentId};
use pactum::proof::{self, Proof};

use pactum::limits::NOTE_BYTES_MAX;
use pactum::note::{self, VerifierKey};

use super::keys::{read_signer, read_small, read_verifiers};
use super::{usage, Ctx, Fail, Out};

/// Arguments of `checkpoint`.
#[derive(clap::Args, Debug)]
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

/// Arguments of `prove`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["amendment", "consistency"])))]
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

/// Arguments of `verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The proof (JSON, as `pactum prove` printed it).
    proof: PathBuf,
    /// The checkpoint file the proof is checked against (for a consistency proof: the newer one).
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// For a consistency proof: the older checkpoint file.
    #[arg(long, value_name = "FILE")]
    old_checkpoint: Option<PathBuf>,
    /// Require a valid signature by this verifier key (or the file holding
    /// one) on every checkpoint given; repeatable. A witness's cosignature is
    /// checked with its type-0x04 key, as `pactum cosign` prints it.
    #[arg(long = "key", value_name = "VKEY")]
    keys: Vec<String>,
    /// Print one JSON document (`ok`, `detail`).
    #[arg(long)]
    json: bool,
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

#[derive(serde::Serialize)]
struct JsonVerify<'a> {
    ok: bool,
    detail: &'a str,
}

fn read(path: &PathBuf) -> Result<String, Fail> {
    std::fs::read_to_string(path)
        .map_err(|e| usage(format!("{}: cannot read: {e}", path.display())))
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
                .map_err(|e| usage(format!("{}: cannot write: {e}", path.display())))?;
            eprintln!(
                "checkpoint of {} entries written to {}",
                cp.size,
                path.display()
            );
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
            out.json_pretty(&proof::prove_inclusion(&ledger, ag, id, size)?)?
        }
        (_, _, Some(old)) => out.json_pretty(&proof::prove_consistency(&ledger, old, size)?)?,
        _ => return Err(usage("give AGREEMENT AMENDMENT, or --consistency OLD_N")),
    }
    out.done()
}

/// `verify`.
pub fn verify(a: &VerifyArgs) -> Result<(), Fail> {
    let p =
        Proof::parse(&read(&a.proof)?).map_err(|e| usage(format!("{}: {e}", a.proof.display())))?;
    let keys = read_verifiers(&a.keys)?;
    let (cp, mut signed) = read_checkpoint(&a.checkpoint, &keys)?;
    let mut out = Out::new();
    let result = match &p {
        Proof::Inclusion(p) => signed
            .and_then(|()| proof::verify_inclusion(p, &cp))
            .map(|e| {
                format!(
                "ok: amendment `{}` of `{}` (effective {}) is entry {} of the {} in checkpoint {}",
                e.amendment.id,
                e.amendment.agreement,
                e.amendment.effective.map_or("-".into(), |d| d.to_string()),
                e.seq,
                cp.size,
                cp.origin
            )
            }),
        Proof::Consistency(p) => {
            let Some(old) = &a.old_checkpoint else {
                return Err(usage(
                    "a consistency proof needs --old-checkpoint FILE as well",
                ));
            };
            let (old, old_signed) = read_checkpoint(old, &keys)?;
            signed = signed.and(old_signed);
            signed
                .and_then(|()| proof::verify_consistency(p, &old, &cp))
                .map(|()| {
                    format!(
                        "ok: the ledger {} of {} entries extends its checkpoint of {} entries",
                        cp.origin, cp.size, old.size
                    )
                })
        }
    };
    let result = result.map(|msg| {
        if keys.is_empty() {
            msg
        } else {
            let names: Vec<String> = keys.iter().map(|k| k.name().to_string()).collect();
            format!("{msg}; signed by {}", names.join(", "))
        }
    });
    let (ok, detail) = match &result {
        Ok(msg) => (true, msg.as_str()),
        Err(why) => (false, why.as_str()),
    };
    if a.json {
        out.json_pretty(&JsonVerify { ok, detail })?;
    } else if ok {
        out.line(detail)?;
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
