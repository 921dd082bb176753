//! The HTML pages, built with maud (every text escaped by default): the
//! agreements, an agreement (its picture, its state on a chosen date as
//! known at a chosen moment, a redline between two dates), the log, and the
//! latest checkpoint with its audit. Forms are plain GET forms: every view
//! has a URL, and the pages work without JavaScript.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use pactum::chain;
use pactum::model::{AgreementId, Date, TermValue, Terms};
use pactum::picture::{self, html as pic, View};
use pactum::projection::{self, KnownAt, Segment};

use super::api::{self, Params};
use super::{ApiError, Shared, LOG_PAGE_ENTRIES_MAX};
use crate::cli::{read, Fail};

fn page(title: &str, body: Markup) -> Html<String> {
    Html(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · pactum" }
                style { (PreEscaped(pic::CSS)) }
            }
            body {
                nav { a href="/" { "Agreements" } a href="/log" { "Log" } a href="/checkpoint" { "Checkpoint and audit" } a href="/api/" { "JSON API" } }
                (body)
            }
        }
    }
    .into_string())
}

/// The page for an error (status set by the caller).
pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
    page(
        "Error",
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
            p class="err" id="error" { (message) }
            p { a href="/" { "Back to the agreements" } }
        },
    )
}

fn h(e: impl Into<ApiError>) -> ApiError {
    e.into().html()
}

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `GET /`: the agreements.
pub async fn index(State(app): State<Shared>, q: Q) -> Result<Html<String>, ApiError> {
    Params::new(q, &[]).map_err(h)?;
    let today = api::today().map_err(h)?;
    let (rows, head) = app
        .with(false, move |app| {
            Ok((
                crate::cli::list::list_rows(&app.ledger, today)?,
                app.ledger.head().checkpoint(),
            ))
        })
        .await
        .map_err(h)?;
    Ok(page(
        "Agreements",
        html! {
            h1 { "Agreements" }
            p class="muted" { (app.name) " · " (head.count) " entries · head " span class="mono" { (head.to_string()) } " · today " (today) }
            @if rows.is_empty() {
                p { "The ledger holds no agreement yet. Append amendments with "
                    code { "POST /api/append" } " (or " code { "pactum --ledger http://… append FILE" } ")." }
            } @else {
                table id="agreements" {
                    tr { th { "agreement" } th { "title" } th { "parties" } th { "amendments" } th { "effective" } th { "status today" } th { "JSON" } }
                    @for r in &rows {
                        tr data-agreement=(r.agreement) {
                            td { a href=(format!("/agreements/{}", r.agreement)) { (r.agreement) } }
                            td { (r.title.as_deref().unwrap_or("(retracted)")) }
                            td { (r.parties.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")) }
                            td { (r.amendments) @if r.retracted > 0 { " (" (r.retracted) " retracted)" } }
                            td { (r.first_effective.map(|d| d.to_string()).unwrap_or_default()) " … " (r.last_effective.map(|d| d.to_string()).unwrap_or_default()) }
                            td { (r.status) }
                            td {
                                a href=(format!("/api/agreements/{}/state", r.agreement)) { "state" } " "
                                a href=(format!("/api/agreements/{}/history", r.agreement)) { "history" } " "
                                a href=(format!("/api/agreements/{}/timeline?format=svg", r.agreement)) { "svg" }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn terms_cell(t: &Terms) -> Markup {
    html! {
        @for (k, v) in t {
            div class="mono" { (k.as_str()) " = " (term(v)) }
        }
    }
}

fn term(v: &TermValue) -> String {
    v.to_string()
}

fn redline(segs: &[Segment]) -> Markup {
    html! {
        @for (i, s) in segs.iter().enumerate() {
            @if i > 0 { " " }
            @match s {
                Segment::Same(t) => (t),
                Segment::Removed(t) => del { (t) },
                Segment::Added(t) => ins { (t) },
            }
        }
    }
}

/// `GET /agreements/{id}?at=&known_at=&diff_from=&diff_to=`.
pub async fn agreement(
    State(app): State<Shared>,
    p: Result<Path<String>, PathRejection>,
    q: Q,
) -> Result<Html<String>, ApiError> {
    let id: AgreementId = api::agreement(p).map_err(h)?;
    let q = Params::new(q, &["at", "known_at", "diff_from", "diff_to"]).map_err(h)?;
    let today = api::today().map_err(h)?;
    let at = q.date("at").map_err(h)?.unwrap_or(today);
    let known = q.known().map_err(h)?;
    let known_text = q.get("known_at").unwrap_or("").to_string();
    let diff_dates = match (
        q.date("diff_from").map_err(h)?,
        q.date("diff_to").map_err(h)?,
    ) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    let id2 = id.clone();
    let (state, views, diff, seqs) = app
        .with(false, move |app| {
            let entries = read::load_entries(&app.ledger, &id2)?;
            let state = read::load_state(&app.ledger, &id2, at, known)?;
            let view = View {
                known,
                from: None,
                to: None,
                today,
            };
            let views = picture::moments(&id2, &entries, &view).map_err(|e| match e {
                picture::PictureError::Projection(p) => Fail::Error(p.into()),
                other => crate::cli::usage(other.to_string()),
            })?;
            let diff = match diff_dates {
                Some((a, b)) => Some(
                    projection::diff(&id2, &entries, a, b, known).map_err(pactum::Error::from)?,
                ),
                None => None,
            };
            let seqs: Vec<(u64, String)> = entries
                .iter()
                .map(|e| (e.seq, e.amendment.id.to_string()))
                .collect();
            Ok((state, views, diff, seqs))
        })
        .await
        .map_err(h)?;
    let moments: Vec<pic::Moment<'_>> = views
        .iter()
        .map(|(label, layout)| pic::Moment {
            label: label.clone(),
            layout,
        })
        .collect();
    let view_label = match known {
        KnownAt::All => "as known now".to_string(),
        k => format!("as known at {k}"),
    };
    let base = format!("/agreements/{id}");
    Ok(page(
        &format!("{id} — {}", state.title),
        html! {
            h1 { (id.as_str()) " — " (state.title) }
            p class="muted" {
                (state.parties.iter().map(|p| format!("{} ({})", p.name, p.id)).collect::<Vec<_>>().join(", "))
                " · established " (state.established)
                " · JSON: " a href=(format!("/api/agreements/{id}/state?at={at}")) { "state" }
                " " a href=(format!("/api/agreements/{id}/history")) { "history" }
                " " a href=(format!("/api/agreements/{id}/timeline")) { "layout" }
                " " a href=(format!("/api/log?agreement={id}")) { "log" }
            }
            h2 { "Over time" }
            (pic::fragment(&moments, moments.len().saturating_sub(1)))

            h2 { "State on a date" }
            form id="state-form" method="get" action=(base) {
                label for="at" { "On " }
                input type="date" id="at" name="at" value=(at) required;
                " "
                label for="known_at" { "as known at " }
                input type="text" id="known_at" name="known_at" value=(known_text) placeholder="now, or a date, a time, #N" list="moments" size="24";
                datalist id="moments" {
                    @for (seq, a) in seqs.iter().rev() { option value=(format!("#{seq}")) { (a) } }
                }
                " "
                button type="submit" id="show" { "Show" }
            }
            section id="state" data-at=(state.at) data-status=(state.status.as_str()) data-digest=(chain::hex(&state.digest)) {
                p {
                    strong { "On " (state.at) ", " (view_label) ": " }
                    span id="status" { (state.status.as_str()) }
                    @if let Some(t) = state.terminated { " (terminated on " (t) ")" }
                    " · " (state.clauses.len()) " clauses · through entry #" (state.known_through)
                    " · digest " span class="mono" { (chain::hex(&state.digest[..8])) "…" }
                }
                table {
                    tr { th { "clause" } th { "text" } th { "terms" } th { "since" } th { "amendment" } }
                    @for c in &state.clauses {
                        tr data-clause=(c.id.as_str()) {
                            td { span class="mono" { (c.id.as_str()) } @if let Some(hd) = &c.heading { br; (hd) } }
                            td { (c.text)
                                @if let Some(u) = c.until { br; span class="muted" { "in force through " (u) } }
                                @if let Some(e) = &c.until_event { br; span class="muted" { "until event " (e.as_str()) } }
                            }
                            td { (terms_cell(&c.terms)) }
                            td { (c.since) }
                            td { span class="mono" { (c.amendment.as_str()) } }
                        }
                    }
                }
            }

            h2 { "What changed between two dates" }
            form id="diff-form" method="get" action=(base) {
                input type="hidden" name="at" value=(at);
                @if !known_text.is_empty() { input type="hidden" name="known_at" value=(known_text); }
                label for="diff_from" { "From " }
                input type="date" id="diff_from" name="diff_from" value=(diff_dates.map(|d| d.0.to_string()).unwrap_or_default()) required;
                label for="diff_to" { " to " }
                input type="date" id="diff_to" name="diff_to" value=(diff_dates.map(|d| d.1.to_string()).unwrap_or_default()) required;
                " "
                button type="submit" id="redline" { "Redline" }
            }
            @if let (Some(d), Some((a, b))) = (&diff, diff_dates) {
                section id="diff" {
                    p { strong { (a) " → " (b) ": " } (d.added.len()) " added, " (d.removed.len()) " removed, " (d.changed.len()) " changed"
                        @if d.from.status != d.to.status { " · status " (d.from.status.as_str()) " → " (d.to.status.as_str()) } }
                    @for c in &d.added {
                        div data-added=(c.id.as_str()) { ins { "+ " span class="mono" { (c.id.as_str()) } } ": " (c.text) }
                    }
                    @for c in &d.removed {
                        div data-removed=(c.id.as_str()) { del { "− " span class="mono" { (c.id.as_str()) } } ": " (c.text) }
                    }
                    @for c in &d.changed {
                        div data-changed=(c.after.id.as_str()) {
                            p { "~ " span class="mono" { (c.after.id.as_str()) } " (since " (c.before.since) " → " (c.after.since) ")" }
                            @if let Some(segs) = &c.text { p { (redline(segs)) } }
                            @for t in &c.terms {
                                p class="mono" { (t.name.as_str()) ": "
                                    del { (t.before.as_ref().map(term).unwrap_or_else(|| "(none)".into())) } " → "
                                    ins { (t.after.as_ref().map(term).unwrap_or_else(|| "(none)".into())) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `GET /log`: the newest entries.
pub async fn log(State(app): State<Shared>, q: Q) -> Result<Html<String>, ApiError> {
    Params::new(q, &[]).map_err(h)?;
    let (rows, total) = app
        .with(false, |app| {
            let total = app.ledger.head().count;
            let from = total.saturating_sub(LOG_PAGE_ENTRIES_MAX as u64);
            let mut rows = Vec::new();
            for item in app.ledger.entries(from) {
                let (e, hash) = item?;
                rows.push((
                    e.seq,
                    e.recorded_at.to_string(),
                    e.amendment.agreement.to_string(),
                    e.amendment.id.to_string(),
                    e.amendment.effective,
                    e.amendment.title.clone(),
                    chain::hex(&hash[..6]),
                ));
            }
            Ok((rows, total))
        })
        .await
        .map_err(h)?;
    Ok(page(
        "Log",
        html! {
            h1 { "Log" }
            p class="muted" { (total) " entries"
                @if total as usize > LOG_PAGE_ENTRIES_MAX { ", the newest " (LOG_PAGE_ENTRIES_MAX) " shown" }
                " · all of them as JSON Lines: " a href="/api/log" { "/api/log" } }
            table id="log" {
                tr { th { "seq" } th { "recorded" } th { "agreement" } th { "amendment" } th { "effective" } th { "chain" } }
                @for (seq, rec, ag, am, eff, title, hash) in rows.iter().rev() {
                    tr {
                        td { (seq) }
                        td class="mono" { (rec.get(..19).unwrap_or(rec)) "Z" }
                        td { a href=(format!("/agreements/{ag}")) { (ag) } }
                        td { span class="mono" title=(title) { (am) } }
                        td { (eff.map(|d: Date| d.to_string()).unwrap_or_else(|| "(erratum)".into())) }
                        td class="mono" { (hash) }
                    }
                }
            }
        },
    ))
}

/// `GET /checkpoint`: the latest checkpoint and a fresh audit.
pub async fn checkpoint(State(app): State<Shared>, q: Q) -> Result<Html<String>, ApiError> {
    Params::new(q, &[]).map_err(h)?;
    let (cp, report) = app
        .with(true, |app| {
            let cp = app.ledger.checkpoint_text();
            let report = pactum::audit::audit_store(app.ledger.store(), None, &mut |_| {})?;
            Ok((cp, report))
        })
        .await
        .map_err(h)?;
    Ok(page(
        "Checkpoint",
        html! {
            h1 { "Latest checkpoint" }
            pre class="details" id="checkpoint" { (cp.to_string()) }
            p class="muted" { "JSON: " a href="/api/checkpoint" { "/api/checkpoint" } " · " a href="/api/head" { "/api/head" } }
            h2 { "Audit" }
            @if report.ok {
                p id="audit" data-ok="true" { strong { "ok" } ": " (report.entries) " entries verified: every leaf and link, both indexes, the stored projections and the head · head " span class="mono" { (report.head.to_string()) } }
            } @else {
                p id="audit" data-ok="false" class="err" { strong { "FAILED" } ": "
                    (report.failure.as_ref().map(|f| f.to_string()).unwrap_or_default()) }
            }
            p class="muted" { "JSON: " a href="/api/audit" { "/api/audit" } }
        },
    ))
}
