//! The JSON API: every reader and `append`, answering the CLI's `--json`
//! documents byte for byte. Query parameters are the CLI's options
//! (`known_at`, `at`, `from`, `to`, `clause`, `dry_run`, `expect_head`);
//! an unknown or repeated parameter is refused.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use pactum::batch::Batch;
use pactum::input::{self, Sourced};
use pactum::ledger::AppendOptions;
use pactum::model::{AgreementId, ClauseId, Date, RecordedAt};
use pactum::picture::View;
use pactum::projection::{self, KnownAt};

use super::{json_body, ApiError, Shared};
use crate::cli::{
    append, audit, checkpoint, diff, head, history, list, log, parse_date, parse_known_at, read,
    state, timeline, Fail,
};

/// Query parameters, checked against the names a route takes.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(
        q: Result<Query<Vec<(String, String)>>, QueryRejection>,
        allowed: &[&str],
    ) -> Result<Params, ApiError> {
        let Query(pairs) = q.map_err(|e| ApiError::bad(format!("bad query string: {e}")))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad(format!(
                    "unknown parameter `{}`: this route takes {}",
                    k.chars().take(64).collect::<String>(),
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )));
            }
            if pairs[..i].iter().any(|(o, _)| o == k) {
                return Err(ApiError::bad(format!("parameter `{k}` is given twice")));
            }
        }
        Ok(Params(pairs))
    }

    /// The value, if given and not empty.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn known(&self) -> Result<KnownAt, ApiError> {
        Ok(parse_known_at(self.get("known_at"))?)
    }

    pub fn date(&self, k: &str) -> Result<Option<Date>, ApiError> {
        Ok(self
            .get(k)
            .map(|s| parse_date(&format!("--{}", k.replace('_', "-")), s))
            .transpose()?)
    }
}

/// The agreement named in the path (a slug: nothing else reaches the ledger).
pub fn agreement(p: Result<Path<String>, PathRejection>) -> Result<AgreementId, ApiError> {
    let Path(s) = p.map_err(|e| ApiError::bad(format!("bad path: {e}")))?;
    s.parse::<AgreementId>().map_err(|e| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            2,
            "not-found",
            format!(
                "`{}` is not an agreement id: {e}",
                s.chars().take(80).collect::<String>()
            ),
        )
    })
}

/// Today (UTC) from the clock at the edge, or `PACTUM_NOW`.
pub fn today() -> Result<Date, ApiError> {
    Ok(crate::cli::today()?)
}

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;
type P = Result<Path<String>, PathRejection>;

/// `GET /api/`: the routes.
pub async fn index() -> Response {
    json_body(
        read::pretty(&serde_json::json!({
            "routes": [
                "GET /api/agreements",
                "GET /api/agreements/{id}/state?at=DATE&known_at=K",
                "GET /api/agreements/{id}/diff?from=D1&to=D2&known_at=K",
                "GET /api/agreements/{id}/history?clause=ID&known_at=K",
                "GET /api/agreements/{id}/timeline?format=json|svg|html&known_at=K&from=D&to=D",
                "GET /api/log?agreement=ID",
                "GET /api/head",
                "GET /api/checkpoint",
                "GET /api/audit?checkpoint=N:HASH",
                "POST /api/append?dry_run=true&expect_head=N&format=jsonl|json|toml",
                "GET /health"
            ]
        })),
        false,
    )
}

/// `GET /api/agreements`: `list --json`.
pub async fn list(State(app): State<Shared>, q: Q) -> Result<Response, ApiError> {
    Params::new(q, &[])?;
    let today = today()?;
    let body = app
        .with(false, move |app| {
            Ok(read::pretty(&list::list_rows(&app.ledger, today)?))
        })
        .await?;
    Ok(json_body(body, false))
}

/// `GET /api/agreements/{id}/state`: `state --json`.
pub async fn state(State(app): State<Shared>, p: P, q: Q) -> Result<Response, ApiError> {
    let id = agreement(p)?;
    let q = Params::new(q, &["at", "known_at"])?;
    let at = match q.date("at")? {
        Some(d) => d,
        None => today()?,
    };
    let known = q.known()?;
    let body = app
        .with(false, move |app| {
            Ok(state::state_json(&read::load_state(
                &app.ledger,
                &id,
                at,
                known,
            )?))
        })
        .await?;
    Ok(json_body(body, false))
}

/// `GET /api/agreements/{id}/diff`: `diff --json`.
pub async fn diff(State(app): State<Shared>, p: P, q: Q) -> Result<Response, ApiError> {
    let id = agreement(p)?;
    let q = Params::new(q, &["from", "to", "known_at"])?;
    let (Some(from), Some(to)) = (q.date("from")?, q.date("to")?) else {
        return Err(ApiError::bad("diff needs `from` and `to` (YYYY-MM-DD)"));
    };
    let known = q.known()?;
    let body = app
        .with(false, move |app| {
            let entries = read::load_entries(&app.ledger, &id)?;
            let d = projection::diff_views(&id, &entries, (from, known), (to, known))
                .map_err(pactum::Error::from)?;
            Ok(diff::diff_json(&id, (from, known), (to, known), &d))
        })
        .await?;
    Ok(json_body(body, false))
}

/// `GET /api/agreements/{id}/history`: `history --json`.
pub async fn history(State(app): State<Shared>, p: P, q: Q) -> Result<Response, ApiError> {
    let id = agreement(p)?;
    let q = Params::new(q, &["clause", "known_at"])?;
    let clause: Option<ClauseId> = q
        .get("clause")
        .map(|c| c.parse().map_err(|e| ApiError::bad(format!("clause: {e}"))))
        .transpose()?;
    let known = q.known()?;
    let body = app
        .with(false, move |app| {
            let entries = read::load_entries(&app.ledger, &id)?;
            let items = projection::history(&id, &entries, clause.as_ref(), known)
                .map_err(pactum::Error::from)?;
            let signers = pactum::catalog::signers_by_seq(&entries);
            Ok(history::history_json(
                &id,
                clause.as_ref(),
                known,
                &items,
                &signers,
            ))
        })
        .await?;
    Ok(json_body(body, false))
}

/// `GET /api/agreements/{id}/timeline`: `timeline --format json|svg|html`.
pub async fn timeline(State(app): State<Shared>, p: P, q: Q) -> Result<Response, ApiError> {
    let id = agreement(p)?;
    let q = Params::new(q, &["format", "known_at", "from", "to"])?;
    let (format, ct) = match q.get("format").unwrap_or("json") {
        "json" => (timeline::Format::Json, "application/json"),
        "svg" => (timeline::Format::Svg, "image/svg+xml"),
        "html" => (timeline::Format::Html, "text/html; charset=utf-8"),
        other => {
            return Err(ApiError::bad(format!(
                "format `{}`: expected json, svg or html",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    let view = View {
        known: q.known()?,
        from: q.date("from")?,
        to: q.date("to")?,
        today: today()?,
    };
    let body = app
        .with(false, move |app| {
            let entries = read::load_entries(&app.ledger, &id)?;
            timeline::draw(&id, &entries, &view, format)
        })
        .await?;
    let mut r = ([(header::CONTENT_TYPE, ct)], body).into_response();
    r.headers_mut()
        .insert("x-pactum-exit", header::HeaderValue::from_static("0"));
    Ok(r)
}

/// `GET /api/log`: `log --json` (JSON Lines).
pub async fn log(State(app): State<Shared>, q: Q) -> Result<Response, ApiError> {
    let q = Params::new(q, &["agreement"])?;
    let ag: Option<AgreementId> = q
        .get("agreement")
        .map(|a| {
            a.parse()
                .map_err(|e| ApiError::bad(format!("agreement: {e}")))
        })
        .transpose()?;
    let body = app
        .with(false, move |app| log::log_json(&app.ledger, ag.as_ref()))
        .await?;
    Ok(json_body(body, true))
}

/// `GET /api/head`: `head --json`.
pub async fn head(State(app): State<Shared>, q: Q) -> Result<Response, ApiError> {
    Params::new(q, &[])?;
    let body = app
        .with(false, |app| {
            Ok(head::head_json(&app.ledger.head().checkpoint()))
        })
        .await?;
    Ok(json_body(body, false))
}

/// `GET /api/checkpoint`: `checkpoint --json`.
pub async fn checkpoint(State(app): State<Shared>, q: Q) -> Result<Response, ApiError> {
    Params::new(q, &[])?;
    let body = app
        .with(false, |app| {
            Ok(checkpoint::checkpoint_json(
                &app.ledger.checkpoint_text(),
                None,
            ))
        })
        .await?;
    Ok(json_body(body, false))
}

/// `GET /api/audit`: `audit --json`; a failed audit answers 500 with the
/// same document (exit code class 1).
pub async fn audit(State(app): State<Shared>, q: Q) -> Result<Response, ApiError> {
    let q = Params::new(q, &["checkpoint"])?;
    let expect = match q.get("checkpoint") {
        Some(c) => Some(
            c.parse::<pactum::chain::Checkpoint>()
                .map_err(|e| ApiError::bad(format!("checkpoint `{c}`: {e} (expected N:HASH)")))?
                .into(),
        ),
        None => None,
    };
    // Exclusive: the audit sees no append half-way.
    let (report, head) = app
        .with(true, move |app| {
            let report = pactum::audit::audit_store(app.ledger.store(), expect, &mut |_| {})?;
            Ok((report, app.ledger.head().checkpoint()))
        })
        .await?;
    let mut r = json_body(audit::audit_json(&report, Some(head)), false);
    if !report.ok {
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r.headers_mut()
            .insert("x-pactum-exit", header::HeaderValue::from_static("1"));
    }
    Ok(r)
}

fn parse_body(format: &str, text: &str) -> Result<Vec<Sourced>, Fail> {
    let one = |(amendment, signatures)| {
        vec![Sourced {
            amendment,
            location: pactum::error::Location {
                file: "-".into(),
                line: None,
                column: None,
            },
            signatures,
        }]
    };
    Ok(match format {
        "jsonl" => input::parse_jsonl("-", text.as_bytes())?,
        "json" => one(input::parse_json_signed("-", None, text)?),
        "toml" => one(input::parse_toml_signed("-", text)?),
        other => {
            return Err(crate::cli::usage(format!(
                "format `{}`: expected jsonl, json or toml",
                other.chars().take(20).collect::<String>()
            )))
        }
    })
}

fn flag(q: &Params, k: &str) -> Result<bool, ApiError> {
    match q.get(k) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ApiError::bad(format!("`{k}` is true or false"))),
    }
}

/// `POST /api/append`: `append -` with the body as standard input; answers
/// `append --json`. The recorded time is taken when the request arrives.
pub async fn append(
    State(app): State<Shared>,
    q: Q,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let now = RecordedAt::from_timestamp(crate::cli::now()?);
    let q = Params::new(q, &["dry_run", "expect_head", "format"])?;
    let dry_run = flag(&q, "dry_run")?;
    let expect_head = q
        .get("expect_head")
        .map(|n| {
            n.parse::<u64>()
                .map_err(|_| ApiError::bad("`expect_head` is a number of entries"))
        })
        .transpose()?;
    let format = q.get("format").unwrap_or("jsonl").to_string();
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            super::too_large()
        } else {
            ApiError::new(
                e.status(),
                2,
                "bad-request",
                format!("cannot read the request body: {e}"),
            )
        }
    })?;
    let text = String::from_utf8(body.to_vec()).map_err(|e| {
        ApiError::bad(format!(
            "-: the body is not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let sources = parse_body(&format, &text)?;
    if sources.is_empty() {
        return Err(ApiError::bad("no amendment found in the input"));
    }
    let sources = Batch::from_sources(sources).map_err(Fail::Error)?;
    let answer = app
        .with(true, move |app| {
            let opts = AppendOptions {
                dry_run,
                expect_head,
            };
            match app.ledger.append_each(sources.submissions(), now, opts) {
                Ok(report) => {
                    let retracted = append::retractions(&app.ledger, &sources, &report)?;
                    Ok(Ok(append::report_json(
                        dry_run, &sources, &report, &retracted,
                    )?))
                }
                // A validation conflict: 409, with the CLI's message.
                Err(e @ (pactum::Error::Refused(_) | pactum::Error::HeadMismatch { .. })) => Ok(
                    Err(append::locate_in(Some(&app.ledger), &sources, e).to_string()),
                ),
                Err(e) => Err(Fail::Error(append::locate_in(
                    Some(&app.ledger),
                    &sources,
                    e,
                ))),
            }
        })
        .await?;
    let body = answer.map_err(|m| ApiError::new(StatusCode::CONFLICT, 2, "conflict", m))?;
    Ok(json_body(body, false))
}
