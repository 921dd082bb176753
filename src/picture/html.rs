//! The layout as one self-contained HTML page: inline CSS, the SVG inline,
//! and a few lines of plain JavaScript (details of what the pointer is over;
//! switching between "as known" moments). Without JavaScript the page shows
//! the view asked for and every tooltip still works.
//!
//! The page is built with maud, which escapes every text it is given; the
//! SVG parts are escaped by [`super::svg`].

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{svg, Layout};

/// The page's stylesheet (also used by the server's pages).
pub const CSS: &str = r#"
body { font: 15px/1.45 system-ui, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif; color: #1b1b1b; background: #fff; margin: 0; padding: 16px 24px; }
h1 { font-size: 22px; margin: 4px 0 8px; }
h2 { font-size: 18px; margin: 20px 0 8px; }
a { color: #1c4f7c; }
.pic { overflow-x: auto; border: 1px solid #d6d6d6; max-width: 1202px; }
.pic svg { display: block; }
.details { white-space: pre-wrap; font: 13px/1.4 ui-monospace, 'DejaVu Sans Mono', monospace; background: #f4f6f8; border: 1px solid #d6d6d6; padding: 8px 10px; min-height: 3.2em; max-width: 1180px; }
label, select, input, button { font: inherit; }
.muted { color: #5a5a5a; }
table { border-collapse: collapse; }
td, th { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
th { border-bottom: 1px solid #bbb; }
code, .mono { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 13px; }
del { background: #fbe3e1; text-decoration: line-through; }
ins { background: #e1f3e1; text-decoration: underline; }
.err { border: 2px solid #c0392b; padding: 8px; }
nav a { margin-right: 14px; }
"#;

/// The script: hover details and the moment switch (ids `pic-N`, select `known`).
const JS: &str = r#"
(function () {
  var box = document.getElementById('details');
  document.querySelectorAll('.pic g').forEach(function (g) {
    var t = g.querySelector(':scope > title');
    if (!t) return;
    g.addEventListener('mouseenter', function () { box.textContent = t.textContent; });
  });
  var sel = document.getElementById('known');
  if (!sel) return;
  function show() {
    document.querySelectorAll('.pic').forEach(function (p) { p.hidden = p.id !== sel.value; });
  }
  sel.addEventListener('change', show);
  show();
})();
"#;

/// One view of the agreement for the page: its label in the switch, and its layout.
pub struct Moment<'a> {
    /// Shown in the switch, e.g. `as known now`.
    pub label: String,
    /// Its layout.
    pub layout: &'a Layout,
}

/// The pictures, the switch and the details box (a fragment; the server's
/// agreement page embeds it). `moments[current]` is shown first.
pub fn fragment(moments: &[Moment<'_>], current: usize) -> Markup {
    html! {
        @if moments.len() > 1 {
            p {
                label for="known" { "Show the agreement as it was known: " }
                select id="known" {
                    @for (i, m) in moments.iter().enumerate() {
                        option value=(format!("pic-{i}")) selected[i == current] { (m.label) }
                    }
                }
            }
        }
        @for (i, m) in moments.iter().enumerate() {
            div class="pic" id=(format!("pic-{i}")) hidden[i != current] {
                (PreEscaped(svg::draw_with_ids(m.layout, &format!("p{i}-"))))
            }
        }
        p class="muted" { "Point at a bar, a number or a line for its details:" }
        div id="details" class="details" aria-live="polite" { "" }
        script { (PreEscaped(JS)) }
    }
}

/// A whole self-contained page.
pub fn page(moments: &[Moment<'_>], current: usize) -> String {
    let Some(m) = moments.get(current) else {
        return String::new();
    };
    let l = m.layout;
    let title = if l.title.is_empty() {
        l.agreement.clone()
    } else {
        format!("{} — {}", l.agreement, l.title)
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Timeline of " (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { (title) }
                (fragment(moments, current))
            }
        }
    };
    let mut s = markup.into_string();
    s.push('\n');
    s
}
