//! The layout drawn as one self-contained SVG document: no scripts, no
//! external fonts or images; readable in black and white (versions differ by
//! fill pattern, marks by shape, lines by dash, everything labelled).
//!
//! Every text from the ledger passes through [`super::escape`].

use std::fmt::Write;

use super::{day_number, escape, Layout, Segment};
use crate::model::Date;

/// Width of the picture, pixels.
pub const WIDTH_PX: i64 = 1200;
const LABEL_W: i64 = 280;
const NOTE_W: i64 = 170;
const PLOT_W: i64 = WIDTH_PX - LABEL_W - NOTE_W - 20;
const LANE_H: i64 = 32;
const BAR_H: i64 = 14;
const BADGE_R: i64 = 10;
const LINE_H: i64 = 17;
const SANS: &str = "system-ui, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif";
const MONO: &str = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace";
const INK: &str = "#1b1b1b";
const DARK: &str = "#24527a";
const LIGHT: &str = "#cfe0f1";
const MUTED: &str = "#5a5a5a";
const TODAY: &str = "#c0392b";
const EVENT: &str = "#8a4b00";

/// Maps days to x.
struct Scale {
    from: i64,
    days: i64,
}

impl Scale {
    fn x(&self, d: i64) -> f64 {
        let t = (d - self.from) as f64 / self.days as f64;
        LABEL_W as f64 + t.clamp(0.0, 1.0) * PLOT_W as f64
    }
    fn date(&self, d: Date) -> f64 {
        self.x(day_number(d))
    }
    /// The x just after day `d` (its right edge).
    fn after(&self, d: Date) -> f64 {
        self.x(day_number(d) + 1)
    }
}

fn clip(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Ticks: (day, label, major).
fn ticks(from: Date, to: Date, scale: &Scale) -> Vec<(i64, String)> {
    let px_per_day = PLOT_W as f64 / scale.days as f64;
    let (y0, y1) = (from.civil().year() as i64, to.civil().year() as i64);
    let mut out = Vec::new();
    if px_per_day * 365.0 >= 45.0 || y1 - y0 < 2 {
        // Years, or months when the span is short.
        let months_step = match px_per_day * 30.0 {
            p if p >= 60.0 => 1,
            p if p >= 20.0 => 3,
            p if p >= 12.0 => 6,
            _ => 12,
        };
        for y in y0..=y1 + 1 {
            for m in (1..=12).step_by(months_step) {
                let Some(d) = Date::new(y as i16, m as i8, 1) else {
                    continue;
                };
                let n = day_number(d);
                if n < scale.from || n > scale.from + scale.days {
                    continue;
                }
                let label = if m == 1 {
                    format!("{y}")
                } else {
                    format!("{y}-{m:02}")
                };
                out.push((n, label));
            }
        }
    } else {
        let step = ((45.0 / (px_per_day * 365.0)).ceil() as i64).max(1);
        let mut y = y0 + 1;
        while y <= y1 {
            if let Some(d) = Date::new(y as i16, 1, 1) {
                out.push((day_number(d), format!("{y}")));
            }
            y += step;
        }
    }
    out
}

fn seg_title(clause: &str, s: &Segment) -> String {
    let mut t = format!("{clause}: in force from {}", s.from);
    match s.until {
        Some(u) => {
            let _ = write!(t, " through {u}");
        }
        None => t.push_str(", no end date"),
    }
    if let Some(e) = &s.until_event {
        let _ = write!(t, ", until event {e}");
    }
    let _ = write!(t, " (amendment {})", s.amendment);
    if let Some(h) = &s.heading {
        let _ = write!(t, "\n{h}");
    }
    let _ = write!(t, "\n{}", s.text);
    for (k, v) in &s.terms {
        let _ = write!(t, "\n· {k} = {v}");
    }
    t
}

fn end_note(l: &super::Lane, to: Date) -> String {
    let Some(s) = l.segments.last() else {
        return String::new();
    };
    let day_after = |d: Date| d.next().map_or(d.to_string(), |n| n.to_string());
    match (s.end, s.until) {
        ("open", _) => match &s.until_event {
            Some(e) => format!("in force, until {e}"),
            None => "in force".into(),
        },
        ("until", Some(u)) if u > to => format!("→ through {u}"),
        ("until", Some(u)) => format!("ended after {u}"),
        ("repealed", Some(u)) => format!("repealed {}", day_after(u)),
        ("event", _) => format!("ended: {}", s.until_event.as_deref().unwrap_or("event")),
        ("terminated", _) => "terminated".into(),
        (_, Some(u)) => format!("changed after {u}"),
        _ => String::new(),
    }
}

/// Draws the layout as an SVG document.
pub fn draw(l: &Layout) -> String {
    draw_with_ids(l, "")
}

/// Draws the layout, its element ids (patterns, markers) prefixed with
/// `pfx` (`[a-z0-9-]`), so that several pictures can share one page.
pub fn draw_with_ids(l: &Layout, pfx: &str) -> String {
    let from_n = day_number(l.from);
    let scale = Scale {
        from: from_n,
        days: (day_number(l.to) + 1 - from_n).max(1),
    };
    let mut s = String::new();
    let mut body = String::new();
    let b = &mut body;

    // Title.
    let title = if l.title.is_empty() {
        l.agreement.clone()
    } else {
        format!("{} — {}", l.agreement, l.title)
    };
    let view = match &l.known_at {
        None => format!("as known now (through entry #{})", l.known_through),
        Some(k) => format!("as known at {k} (through entry #{})", l.known_through),
    };
    let _ = write!(
        b,
        r#"<text x="16" y="28" font-size="19" font-weight="bold">{}</text>"#,
        escape(&clip(&title, 100))
    );
    let _ = write!(
        b,
        r#"<text x="16" y="48" font-size="13" fill="{MUTED}">{} · {} to {} · today {}</text>"#,
        escape(&view),
        l.from,
        l.to,
        l.today
    );

    // Badge rows: place each mark's badge in the first row where it fits.
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut placed: Vec<(f64, usize)> = Vec::new();
    let mut place = |x: f64| -> usize {
        let free = |row: &Vec<f64>| {
            row.iter()
                .all(|o| (x - o).abs() >= (2 * BADGE_R + 4) as f64)
        };
        if let Some(i) = rows.iter().position(free) {
            rows[i].push(x);
            return i;
        }
        rows.push(vec![x]);
        rows.len() - 1
    };
    for m in &l.marks {
        let x = scale.date(m.date);
        placed.push((x, place(x)));
    }
    let ghost_rows: Vec<(f64, usize)> = l
        .ghosts
        .iter()
        .map(|g| {
            let x = scale.date(g.date);
            (x, place(x))
        })
        .collect();
    let nrows = rows.len().max(1) as i64;
    let axis_y = 74;
    let badge_y0 = axis_y + 30;
    let events_y = badge_y0 + nrows * (2 * BADGE_R + 6);
    let has_events = !l.events.is_empty() || l.terminated.is_some();
    let lanes_y = events_y + if has_events { 22 } else { 4 };
    let lanes_bottom = lanes_y + LANE_H * l.lanes.len().max(1) as i64;
    let plot_right = LABEL_W + PLOT_W;

    // Grid and axis.
    for (n, label) in ticks(l.from, l.to, &scale) {
        let x = scale.x(n);
        let _ = write!(
            b,
            r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{lanes_bottom}" stroke="#e2e2e2"/>"##,
            axis_y + 4
        );
        let _ = write!(
            b,
            r#"<text x="{x:.1}" y="{axis_y}" font-size="12" text-anchor="middle" fill="{MUTED}">{label}</text>"#
        );
        let _ = write!(
            b,
            r#"<text x="{x:.1}" y="{}" font-size="12" text-anchor="middle" fill="{MUTED}">{label}</text>"#,
            lanes_bottom + 16
        );
    }

    // Termination: the days after it are hatched grey.
    if let Some(t) = &l.terminated {
        let x = scale.date(t.date);
        if x < plot_right as f64 {
            let _ = write!(
                b,
                r#"<rect x="{x:.1}" y="{lanes_y}" width="{:.1}" height="{}" fill="url(#{pfx}ended)"/>"#,
                plot_right as f64 - x,
                lanes_bottom - lanes_y
            );
        }
    }

    // Lanes.
    for (i, lane) in l.lanes.iter().enumerate() {
        let y = lanes_y + LANE_H * i as i64;
        if i % 2 == 1 {
            let _ = write!(
                b,
                r##"<rect x="8" y="{y}" width="{}" height="{LANE_H}" fill="#f4f6f8"/>"##,
                WIDTH_PX - 16
            );
        }
        let (name, sub) = match &lane.heading {
            Some(h) => (h.as_str(), Some(lane.clause.as_str())),
            None => (lane.clause.as_str(), None),
        };
        let _ = write!(
            b,
            r#"<g class="lane"><title>{}</title><text x="16" y="{}" font-size="13">{}</text>"#,
            escape(&lane.clause),
            y + if sub.is_some() { 14 } else { 20 },
            escape(&clip(name, 38))
        );
        if let Some(id) = sub {
            let _ = write!(
                b,
                r#"<text x="16" y="{}" font-size="11" font-family="{MONO}" fill="{MUTED}">{}</text>"#,
                y + 27,
                escape(&clip(id, 40))
            );
        }
        b.push_str("</g>");
        let by = y + (LANE_H - BAR_H) / 2;
        for (v, seg) in lane.segments.iter().enumerate() {
            let x1 = scale.date(seg.from.max(l.from));
            let x2 = match seg.until {
                Some(u) => scale.after(u.min(l.to)),
                None => scale.after(l.to),
            };
            // A white gap at each change of version.
            let x1g = if v > 0 && seg.from >= l.from {
                x1 + 1.0
            } else {
                x1
            };
            let w = (x2 - x1g).max(1.5);
            let (fill, text_fill) = if v % 2 == 0 {
                (DARK.to_string(), "white")
            } else {
                (format!("url(#{pfx}hatch)"), INK)
            };
            let number = l
                .marks
                .iter()
                .find(|m| m.amendment == seg.amendment)
                .map(|m| m.number);
            let _ = write!(
                b,
                r#"<g class="seg"><title>{}</title><rect x="{x1g:.1}" y="{by}" width="{w:.1}" height="{BAR_H}" fill="{fill}" stroke="{DARK}" stroke-width="1"/>"#,
                escape(&seg_title(&lane.clause, seg))
            );
            if let Some(n) = number {
                if w >= 18.0 && seg.from >= l.from {
                    let _ = write!(
                        b,
                        r#"<text x="{:.1}" y="{}" font-size="11" font-weight="bold" fill="{text_fill}">{n}</text>"#,
                        x1g + 3.0,
                        by + 11
                    );
                }
            }
            // End caps: a bar for a repeal or an end, an arrow for "goes on".
            let goes_on = seg.until.is_none_or(|u| u > l.to);
            if goes_on {
                let xe = plot_right as f64;
                let _ = write!(
                    b,
                    r#"<path d="M{:.1} {} l8 {} l-8 {} z" fill="{DARK}"/>"#,
                    xe,
                    by - 2,
                    BAR_H / 2 + 2,
                    BAR_H / 2 + 2
                );
            } else if seg.end != "amended" {
                let _ = write!(
                    b,
                    r#"<line x1="{x2:.1}" y1="{}" x2="{x2:.1}" y2="{}" stroke="{INK}" stroke-width="2.5"/>"#,
                    by - 4,
                    by + BAR_H + 4
                );
            }
            b.push_str("</g>");
        }
        let _ = write!(
            b,
            r#"<text x="{}" y="{}" font-size="12" fill="{MUTED}">{}</text>"#,
            plot_right + 14,
            y + 20,
            escape(&clip(&end_note(lane, l.to), 24))
        );
    }
    if l.lanes.is_empty() {
        let _ = write!(
            b,
            r#"<text x="{}" y="{}" font-size="13" fill="{MUTED}">no clause in force on the days shown</text>"#,
            LABEL_W + 8,
            lanes_y + 20
        );
    }

    // Amendment lines and badges.
    let mut labelled = std::collections::BTreeSet::new();
    for (m, (x, row)) in l.marks.iter().zip(&placed) {
        let cy = badge_y0 + *row as i64 * (2 * BADGE_R + 6);
        let _ = write!(
            b,
            r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{lanes_bottom}" stroke="#8c8c8c" stroke-dasharray="2 3"/>"##,
            cy + BADGE_R
        );
        let mut tip = format!(
            "{} · {} (entry #{})\n{}\nrecorded {}",
            m.date, m.amendment, m.seq, m.title, m.recorded_at
        );
        if m.retroactive {
            let _ = write!(tip, ", {} days after it took effect", m.late_days);
        }
        for c in &m.changes {
            let _ = write!(tip, "\n· {c}");
        }
        let _ = write!(b, r#"<g class="mark"><title>{}</title>"#, escape(&tip));
        if m.retroactive {
            // Late: a white square.
            let _ = write!(
                b,
                r#"<rect x="{:.1}" y="{}" width="{}" height="{}" fill="white" stroke="{INK}" stroke-width="2"/><text x="{x:.1}" y="{}" font-size="11" font-weight="bold" text-anchor="middle" fill="{INK}">{}</text>"#,
                x - BADGE_R as f64,
                cy - BADGE_R,
                2 * BADGE_R,
                2 * BADGE_R,
                cy + 4,
                m.number
            );
        } else {
            let _ = write!(
                b,
                r#"<circle cx="{x:.1}" cy="{cy}" r="{BADGE_R}" fill="{INK}"/><text x="{x:.1}" y="{}" font-size="11" font-weight="bold" text-anchor="middle" fill="white">{}</text>"#,
                cy + 4,
                m.number
            );
        }
        b.push_str("</g>");
        // How far back it reached, when the recording day is on the picture;
        // one label per recording day (a batch recorded late shares it).
        if m.retroactive && m.recorded <= l.to && scale.date(m.recorded) - x > 2.0 * BADGE_R as f64
        {
            let xr = scale.date(m.recorded);
            let ya = cy - BADGE_R - 5;
            let _ = write!(
                b,
                r#"<path d="M{xr:.1} {ya} H{:.1}" stroke="{INK}" stroke-width="1.2" stroke-dasharray="4 2" fill="none" marker-end="url(#{pfx}back)"/>"#,
                x + 4.0,
            );
            if labelled.insert(m.recorded) {
                let same = l
                    .marks
                    .iter()
                    .filter(|o| o.retroactive && o.recorded == m.recorded)
                    .count();
                let label = if same == 1 {
                    format!("+{} d", m.late_days)
                } else {
                    format!("recorded {}", m.recorded)
                };
                let _ = write!(
                    b,
                    r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="end" fill="{INK}">{label}</text>"#,
                    xr - 2.0,
                    ya - 3
                );
            }
        }
    }
    for (g, (x, row)) in l.ghosts.iter().zip(&ghost_rows) {
        let cy = badge_y0 + *row as i64 * (2 * BADGE_R + 6);
        let tip = format!(
            "retracted: {} · {} (entry #{})\n{}\nretracted by {}: {}",
            g.date, g.amendment, g.seq, g.title, g.retracted_by, g.reason
        );
        let _ = write!(
            b,
            r##"<g class="ghost" opacity="0.85"><title>{}</title><line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{lanes_bottom}" stroke="#b0b0b0" stroke-dasharray="1 4"/><circle cx="{x:.1}" cy="{cy}" r="{BADGE_R}" fill="white" stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="3 2"/><text x="{x:.1}" y="{}" font-size="13" text-anchor="middle" fill="{MUTED}">×</text></g>"##,
            escape(&tip),
            cy + BADGE_R,
            cy + 4
        );
    }

    // Events, termination, today.
    for e in &l.events {
        let x = scale.date(e.date);
        let tip = format!(
            "{} · event {} ({}){}",
            e.date,
            e.event,
            e.amendment,
            e.note
                .as_deref()
                .map(|n| format!("\n{n}"))
                .unwrap_or_default()
        );
        let _ = write!(
            b,
            r#"<g class="event"><title>{}</title><line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{lanes_bottom}" stroke="{EVENT}" stroke-width="2" stroke-dasharray="8 3 2 3"/><text x="{:.1}" y="{}" font-size="12" fill="{EVENT}">⚑ {}</text></g>"#,
            escape(&tip),
            events_y,
            x + 3.0,
            events_y + 12,
            escape(&clip(&e.event, 30))
        );
    }
    if let Some(t) = &l.terminated {
        let x = scale.date(t.date);
        let _ = write!(
            b,
            r#"<g class="terminated"><title>{} · terminated ({}){}</title><line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{lanes_bottom}" stroke="{INK}" stroke-width="3"/><text x="{:.1}" y="{}" font-size="12" font-weight="bold">■ terminated</text></g>"#,
            t.date,
            escape(&t.amendment),
            escape(
                &t.note
                    .as_deref()
                    .map(|n| format!("\n{n}"))
                    .unwrap_or_default()
            ),
            events_y,
            x + 4.0,
            events_y + 12
        );
    }
    if l.today >= l.from && l.today <= l.to {
        let x = scale.date(l.today);
        let anchor = if x > (plot_right - 60) as f64 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            b,
            r#"<g class="today"><title>today {}</title><line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="{TODAY}" stroke-width="2" stroke-dasharray="6 3"/><text x="{x:.1}" y="{}" font-size="12" font-weight="bold" text-anchor="{anchor}" fill="{TODAY}">today {}</text></g>"#,
            l.today,
            axis_y + 4,
            lanes_bottom + 22,
            lanes_bottom + 36,
            l.today
        );
    }

    // Legend: what each number is, then the key to the symbols.
    let mut y = lanes_bottom + 62;
    let mut seen = std::collections::BTreeSet::new();
    for m in &l.marks {
        if !seen.insert(m.number) {
            continue;
        }
        let dates: Vec<String> = l
            .marks
            .iter()
            .filter(|o| o.number == m.number)
            .map(|o| o.date.to_string())
            .collect();
        let late = l
            .marks
            .iter()
            .filter(|o| o.number == m.number && o.retroactive)
            .map(|o| o.late_days)
            .max();
        let mut line = format!("{}  {}", dates.join(", "), m.title);
        if let Some(d) = late {
            let _ = write!(
                line,
                "  [recorded {}, {d} day{} late]",
                m.recorded,
                if d == 1 { "" } else { "s" }
            );
        }
        let shape = if late.is_some() {
            format!(
                r#"<rect x="16" y="{}" width="18" height="16" fill="white" stroke="{INK}" stroke-width="2"/><text x="25" y="{}" font-size="11" font-weight="bold" text-anchor="middle">{}</text>"#,
                y - 12,
                y,
                m.number
            )
        } else {
            format!(
                r#"<circle cx="25" cy="{}" r="9" fill="{INK}"/><text x="25" y="{}" font-size="11" font-weight="bold" text-anchor="middle" fill="white">{}</text>"#,
                y - 4,
                y,
                m.number
            )
        };
        let _ = write!(
            b,
            r#"<g class="legend"><title>{}</title>{shape}<text x="44" y="{y}" font-size="13">{}</text></g>"#,
            escape(&m.amendment),
            escape(&clip(&line, 150))
        );
        y += LINE_H + 4;
    }
    for g in &l.ghosts {
        let line = format!(
            "{}  {} [retracted by {}: {}]",
            g.date, g.title, g.retracted_by, g.reason
        );
        let _ = write!(
            b,
            r#"<g class="legend"><circle cx="25" cy="{}" r="9" fill="white" stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="3 2"/><text x="25" y="{}" font-size="13" text-anchor="middle" fill="{MUTED}">×</text><text x="44" y="{y}" font-size="13" fill="{MUTED}" text-decoration="line-through">{}</text></g>"#,
            y - 4,
            y,
            escape(&clip(&line, 150))
        );
        y += LINE_H + 4;
    }
    y += 6;
    let keys: [&dyn Fn(i64) -> String; 4] = [
        &|y| {
            format!(
                r#"<rect x="16" y="{}" width="22" height="12" fill="{DARK}"/><rect x="40" y="{}" width="22" height="12" fill="url(#{pfx}hatch)" stroke="{DARK}"/><text x="70" y="{y}" font-size="12" fill="{MUTED}">successive versions of a clause, solid and hatched in turn (the number: the amendment that made it)</text>"#,
                y - 10,
                y - 10
            )
        },
        &|y| {
            format!(
                r#"<line x1="27" y1="{}" x2="27" y2="{}" stroke="{INK}" stroke-width="2.5"/><path d="M44 {} l8 7 l-8 7 z" fill="{DARK}"/><text x="70" y="{y}" font-size="12" fill="{MUTED}">| the clause ends (repealed, expired, ended by an event);  ▶ still in force after the last day shown</text>"#,
                y - 13,
                y + 3,
                y - 12
            )
        },
        &|y| {
            format!(
                r#"<rect x="18" y="{}" width="16" height="14" fill="white" stroke="{INK}" stroke-width="2"/><text x="70" y="{y}" font-size="12" fill="{MUTED}">square: recorded after it took effect (retroactive); a dashed arrow reaches back from the day it was recorded</text>"#,
                y - 11
            )
        },
        &|y| {
            format!(
                r#"<line x1="16" y1="{}" x2="60" y2="{}" stroke="{TODAY}" stroke-width="2" stroke-dasharray="6 3"/><text x="70" y="{y}" font-size="12" fill="{MUTED}">today;  ⚑ dash-dot line: an event;  × dashed circle: a retracted amendment (a ghost)</text>"#,
                y - 4,
                y - 4
            )
        },
    ];
    for k in keys {
        b.push_str(&k(y));
        y += LINE_H + 3;
    }
    let height = y + 8;

    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_PX}" height="{height}" viewBox="0 0 {WIDTH_PX} {height}" font-family="{SANS}" fill="{INK}" role="img" aria-label="{}">"#,
        escape(&format!("timeline of {}", title))
    );
    let _ = write!(
        s,
        r##"<title>{}</title><defs><pattern id="{pfx}hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="{LIGHT}"/><line x1="0" y1="0" x2="0" y2="6" stroke="{DARK}" stroke-width="2"/></pattern><pattern id="{pfx}ended" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="8" height="8" fill="#f1f1f1"/><line x1="0" y1="0" x2="0" y2="8" stroke="#c8c8c8" stroke-width="1"/></pattern><marker id="{pfx}back" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0 L8 4 L0 8 z" fill="{INK}"/></marker></defs><rect width="100%" height="100%" fill="white"/>"##,
        escape(&title)
    );
    s.push_str(&body);
    s.push_str("</svg>\n");
    s
}
