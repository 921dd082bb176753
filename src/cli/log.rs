//! `pactum log`: the entries, in seq order.

use pactum::catalog::{signers_text, Signer, Signers};
use pactum::chain;
use pactum::model::*;
use serde::Serialize;

use super::out::short_hash;
use super::read::*;
use super::{Ctx, Fail, Out};

/// Arguments of `log`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  pactum log\n  pactum log microsoft-openai --json | jq .hash")]
pub struct LogArgs {
    /// Only this agreement's entries.
    agreement: Option<AgreementId>,
    /// Print JSON Lines, one entry a line.
    #[arg(long)]
    json: bool,
}

/// A `log --json` line (also the readable part of an export line).
#[derive(Serialize)]
struct JsonLogLine<'a> {
    seq: u64,
    recorded_at: String,
    agreement: &'a str,
    amendment: &'a str,
    effective: Option<Date>,
    title: &'a str,
    hash: String,
    /// Who signed it (absent when nobody did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    signed_by: Vec<JsonSigner>,
}

/// A signer in `log --json` and `history --json`.
#[derive(Serialize)]
pub(crate) struct JsonSigner {
    party: Option<String>,
    key: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    new_key: bool,
}

/// The signers as JSON.
pub(crate) fn json_signers(signers: &[Signer]) -> Vec<JsonSigner> {
    signers
        .iter()
        .map(|s| JsonSigner {
            party: s.party.as_ref().map(|p| p.to_string()),
            key: s.key.clone(),
            new_key: s.new_key,
        })
        .collect()
}

/// One `log --json` line, with its newline.
pub(crate) fn log_line(e: &pactum::codec::Entry, hash: &chain::Hash, signers: &[Signer]) -> String {
    let mut s = serde_json::to_string(&JsonLogLine {
        seq: e.seq,
        recorded_at: e.recorded_at.to_string(),
        agreement: e.amendment.agreement.as_str(),
        amendment: e.amendment.id.as_str(),
        effective: e.amendment.effective,
        title: &e.amendment.title,
        hash: chain::hex(hash),
        signed_by: json_signers(signers),
    })
    .unwrap_or_default();
    s.push('\n');
    s
}

/// `log --json` of the whole ledger or one agreement (refused when the
/// ledger does not hold it).
pub(crate) fn log_json<S: pactum::store::Store>(
    ledger: &pactum::Ledger<S>,
    agreement: Option<&AgreementId>,
) -> Result<String, Fail> {
    let mut s = String::new();
    let mut signers = Signers::default();
    match agreement {
        Some(ag) => {
            let seqs = ledger.agreement_seqs(ag)?;
            if seqs.is_empty() {
                return Err(unknown(ledger, ag));
            }
            for seq in seqs {
                let e = ledger.entry(seq)?.ok_or_else(|| pactum::Error::Damaged {
                    seq: Some(seq),
                    detail: "indexed entry missing".into(),
                })?;
                let h = ledger.entry_hash(seq)?.unwrap_or([0; 32]);
                s.push_str(&log_line(&e, &h, &signers.next(&e)));
            }
        }
        None => {
            for item in ledger.entries(0) {
                let (e, h) = item?;
                s.push_str(&log_line(&e, &h, &signers.next(&e)));
            }
        }
    }
    Ok(s)
}

/// `log`.
pub fn log(ctx: &Ctx<'_>, a: &LogArgs) -> Result<(), Fail> {
    let ledger = ctx.open()?;
    let mut out = Out::new();
    let mut signers = Signers::default();
    let mut print =
        |e: &pactum::codec::Entry, hash: &chain::Hash, out: &mut Out| -> Result<(), Fail> {
            let who = signers.next(e);
            if a.json {
                return out.raw(&log_line(e, hash, &who));
            }
            let eff = e.amendment.effective.map_or_else(
                || super::out::undated(&e.amendment).to_string(),
                |d| d.to_string(),
            );
            let t = e.recorded_at.to_string();
            // Seconds are enough here: 2026-11-27T10:24:34Z.
            let t = format!("{}Z", &t[..t.len().min(19)]);
            out.line(format!(
                "{:>5}  {eff:<10}  {}  {}",
                e.seq, e.amendment.agreement, e.amendment.id
            ))?;
            out.line(format!("       recorded {t}  chain {}", short_hash(hash)))?;
            if !who.is_empty() {
                out.line(format!("       signed by {}", signers_text(&who)))?;
            }
            Ok(())
        };
    match &a.agreement {
        Some(ag) => {
            let seqs = ledger.agreement_seqs(ag)?;
            if seqs.is_empty() {
                return Err(unknown(&ledger, ag));
            }
            for seq in seqs {
                let e = ledger.entry(seq)?.ok_or_else(|| pactum::Error::Damaged {
                    seq: Some(seq),
                    detail: "indexed entry missing".into(),
                })?;
                let h = ledger.entry_hash(seq)?.unwrap_or([0; 32]);
                print(&e, &h, &mut out)?;
            }
        }
        None => {
            for item in ledger.entries(0) {
                let (e, h) = item?;
                print(&e, &h, &mut out)?;
            }
        }
    }
    out.done()
}
