//! `pactum timeline`: the agreement over time as SVG, HTML or its JSON layout.

use std::path::PathBuf;

use pactum::model::AgreementId;
use pactum::picture::{self, html, svg, View};

use super::{parse_date, parse_known_at, today, Ctx, Fail, Out};

/// Output format of `timeline`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A self-contained SVG picture.
    Svg,
    /// One self-contained HTML page (the picture, hover details, "as known" switch).
    Html,
    /// The layout the picture is drawn from.
    Json,
}

/// Arguments of `timeline`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The agreement.
    agreement: AgreementId,
    /// The view: a date (end of that UTC day), an RFC 3339 time, or #N (after entry N).
    #[arg(long, value_name = "K")]
    known_at: Option<String>,
    /// First day shown (default: the first effective date).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Last day shown (default: the later of today and the last effective date).
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "svg")]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// Draws `a` from the ledger in `ctx`.
pub fn render(ctx: &Ctx<'_>, a: &Args) -> Result<String, Fail> {
    let view = View {
        known: parse_known_at(a.known_at.as_deref())?,
        from: a
            .from
            .as_deref()
            .map(|s| parse_date("--from", s))
            .transpose()?,
        to: a.to.as_deref().map(|s| parse_date("--to", s)).transpose()?,
        today: today()?,
    };
    let ledger = ctx.open()?;
    let entries = ledger.agreement_entries(&a.agreement)?;
    if entries.is_empty() {
        return Err(super::read::unknown(&ledger, &a.agreement));
    }
    draw(&a.agreement, &entries, &view, a.format)
}

/// The picture of these entries in `format`.
pub fn draw(
    agreement: &AgreementId,
    entries: &[pactum::codec::Entry],
    view: &View,
    format: Format,
) -> Result<String, Fail> {
    let err = |e: picture::PictureError| match e {
        picture::PictureError::Projection(p) => Fail::Error(p.into()),
        other => super::usage(other.to_string()),
    };
    Ok(match format {
        Format::Svg => svg::draw(&picture::layout(agreement, entries, view).map_err(err)?),
        Format::Json => {
            let l = picture::layout(agreement, entries, view).map_err(err)?;
            let mut s = serde_json::to_string_pretty(&l)
                .map_err(|e| super::usage(format!("cannot encode the layout: {e}")))?;
            s.push('\n');
            s
        }
        Format::Html => {
            let views = picture::moments(agreement, entries, view).map_err(err)?;
            let ms: Vec<html::Moment<'_>> = views
                .iter()
                .map(|(label, layout)| html::Moment {
                    label: label.clone(),
                    layout,
                })
                .collect();
            html::page(&ms, ms.len() - 1)
        }
    })
}

/// Runs `timeline`.
pub fn run(ctx: &Ctx<'_>, a: &Args) -> Result<(), Fail> {
    let s = render(ctx, a)?;
    // Through a server, the client writes the file.
    let output = if ctx.held.is_some() { &None } else { &a.output };
    match output {
        Some(path) => std::fs::write(path, s)
            .map_err(|e| super::usage(format!("cannot write {}: {e}", path.display()))),
        None => {
            let mut out = Out::new();
            out.raw(&s)?;
            out.done()
        }
    }
}
