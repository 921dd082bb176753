//! Amendment files → model: TOML (one per file), JSON (one object per file)
//! and JSON Lines (one per line; `-` is standard input).
//!
//! Unknown fields are refused. Errors name the file, and the line and column
//! where the parser knows them; errors about a whole change name the change.
//! Every value is checked as it is parsed (ids, dates, term types), then the
//! amendment as a whole ([`Amendment::validate`]).
//!
//! ```
//! let a = pactum::input::parse_str("a.toml", r#"
//! agreement = "acme-supply"
//! id = "start"
//! title = "Start"
//! effective = 2024-01-01
//! [[change]]
//! op = "establish"
//! title = "Acme supply"
//! parties = [{ id = "acme", name = "Acme" }]
//! "#).unwrap();
//! assert_eq!(a[0].id.as_str(), "start");
//! let err = pactum::input::parse_str("b.json", r#"{"agreement":"x","id":"y","title":"t","efective":"2024-01-01"}"#);
//! assert!(err.unwrap_err().to_string().contains("unknown field `efective`"));
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Location};
use crate::limits::*;
use crate::model::*;
use crate::note::{SigLine, VerifierKey};

/// An amendment with where it came from.
#[derive(Clone, Debug)]
pub struct Sourced {
    /// The amendment.
    pub amendment: Amendment,
    /// Its file (and line, for JSON Lines).
    pub location: Location,
    /// Its `signatures` lines (product.md §8), in the order written: not
    /// part of the amendment's signed bytes. Each line parses; no two are by
    /// one key (name and key id).
    pub signatures: Vec<SigLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyInput {
    id: PartyId,
    name: String,
    key: Option<VerifierKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeInput {
    op: String,
    effective: Option<Date>,
    clause: Option<ClauseId>,
    heading: Option<String>,
    text: Option<String>,
    terms: Option<BTreeMap<TermName, TermValue>>,
    set: Option<BTreeMap<TermName, TermValue>>,
    unset: Option<Vec<TermName>>,
    until: Option<Date>,
    until_event: Option<EventId>,
    event: Option<EventId>,
    note: Option<String>,
    amendment: Option<AmendmentId>,
    reason: Option<String>,
    title: Option<String>,
    parties: Option<Vec<PartyInput>>,
    party: Option<PartyId>,
    key: Option<VerifierKey>,
}

/// The operations, with the fields each takes (besides `op` and `effective`).
const OPS: &[(&str, &[&str])] = &[
    ("establish", &["title", "parties"]),
    (
        "add",
        &["clause", "text", "heading", "terms", "until", "until_event"],
    ),
    (
        "amend",
        &[
            "clause",
            "heading",
            "text",
            "set",
            "unset",
            "until",
            "until_event",
        ],
    ),
    ("repeal", &["clause"]),
    ("occur", &["event", "note"]),
    ("retract", &["amendment", "reason"]),
    ("terminate", &["note"]),
    ("rekey", &["party", "key"]),
];

impl ChangeInput {
    fn present(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut f = |name: &'static str, present: bool| {
            if present {
                v.push(name);
            }
        };
        f("clause", self.clause.is_some());
        f("heading", self.heading.is_some());
        f("text", self.text.is_some());
        f("terms", self.terms.is_some());
        f("set", self.set.is_some());
        f("unset", self.unset.is_some());
        f("until", self.until.is_some());
        f("until_event", self.until_event.is_some());
        f("event", self.event.is_some());
        f("note", self.note.is_some());
        f("amendment", self.amendment.is_some());
        f("reason", self.reason.is_some());
        f("title", self.title.is_some());
        f("parties", self.parties.is_some());
        f("party", self.party.is_some());
        f("key", self.key.is_some());
        v
    }
}

/// A change, checked for the fields its op takes.
struct ParsedChange(Change);

fn need<T>(v: Option<T>, op: &str, field: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("op `{op}` needs the field `{field}`"))
}

impl TryFrom<ChangeInput> for ParsedChange {
    type Error = String;
    fn try_from(c: ChangeInput) -> Result<ParsedChange, String> {
        let Some((op, allowed)) = OPS.iter().find(|(name, _)| *name == c.op) else {
            let names: Vec<&str> = OPS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown op `{}`: expected one of {}",
                c.op,
                names.join(", ")
            ));
        };
        if let Some(extra) = c.present().into_iter().find(|f| !allowed.contains(f)) {
            return Err(format!(
                "field `{extra}` does not belong to op `{op}` (it takes {})",
                allowed.join(", ")
            ));
        }
        let o = *op;
        let op = match o {
            "establish" => Op::Establish {
                title: need(c.title, o, "title")?,
                parties: need(c.parties, o, "parties")?
                    .into_iter()
                    .map(|p| Party {
                        id: p.id,
                        name: p.name,
                        key: p.key,
                    })
                    .collect(),
            },
            "add" => Op::Add {
                clause: need(c.clause, o, "clause")?,
                heading: c.heading,
                text: need(c.text, o, "text")?,
                terms: c.terms.unwrap_or_default(),
                until: c.until,
                until_event: c.until_event,
            },
            "amend" => {
                let mut unset = c.unset.unwrap_or_default();
                unset.sort();
                Op::Amend {
                    clause: need(c.clause, o, "clause")?,
                    heading: c.heading,
                    text: c.text,
                    set: c.set.unwrap_or_default(),
                    unset,
                    until: c.until,
                    until_event: c.until_event,
                }
            }
            "repeal" => Op::Repeal {
                clause: need(c.clause, o, "clause")?,
            },
            "occur" => Op::Occur {
                event: need(c.event, o, "event")?,
                note: c.note,
            },
            "retract" => Op::Retract {
                amendment: need(c.amendment, o, "amendment")?,
                reason: need(c.reason, o, "reason")?,
            },
            "rekey" => Op::Rekey {
                party: need(c.party, o, "party")?,
                key: need(c.key, o, "key")?,
            },
            _ => Op::Terminate { note: c.note },
        };
        Ok(ParsedChange(Change {
            effective: c.effective,
            op,
        }))
    }
}

impl<'de> Deserialize<'de> for ParsedChange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ParsedChange, D::Error> {
        // Only a table or an object is a change (serde would also take a list of
        // the fields in order).
        struct OnlyMap;
        impl<'de> serde::de::Visitor<'de> for OnlyMap {
            type Value = ChangeInput;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a change: a table (TOML) or an object (JSON) with an `op`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ChangeInput, A::Error> {
                ChangeInput::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        ParsedChange::try_from(d.deserialize_map(OnlyMap)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmendmentInput {
    agreement: AgreementId,
    id: AmendmentId,
    title: String,
    effective: Option<Date>,
    signed: Option<Date>,
    source: Option<String>,
    #[serde(deserialize_with = "change_list")]
    change: Vec<ParsedChange>,
    signatures: Option<Vec<String>>,
}

/// `change`: a list, and an error that names the field when it is not one
/// (serde's own says only "invalid type: map, expected a sequence").
fn change_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ParsedChange>, D::Error> {
    struct Changes;
    impl<'de> serde::de::Visitor<'de> for Changes {
        type Value = Vec<ParsedChange>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(
                "`change` as a list of changes (`[[change]]` tables in TOML, `\"change\": [{…}, …]` in JSON)",
            )
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<ParsedChange>, A::Error> {
            let mut v = Vec::new();
            while let Some(c) = seq.next_element()? {
                v.push(c);
            }
            Ok(v)
        }
    }
    d.deserialize_seq(Changes)
}

/// The text without a UTF-8 byte-order mark (editors on Windows write one).
fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

impl From<AmendmentInput> for Amendment {
    fn from(a: AmendmentInput) -> Amendment {
        a.split().0
    }
}

impl AmendmentInput {
    fn split(self) -> (Amendment, Vec<String>) {
        let a = self;
        let sigs = a.signatures.unwrap_or_default();
        let am = Amendment {
            agreement: a.agreement,
            id: a.id,
            title: a.title,
            effective: a.effective,
            signed: a.signed,
            source: a.source,
            changes: a.change.into_iter().map(|c| c.0).collect(),
        };
        (am, sigs)
    }
}

/// Parses `signatures` lines: each a signature line, at most
/// [`SIGNATURES_PER_AMENDMENT_MAX`], no two by one key.
pub fn parse_signatures(lines: &[String]) -> Result<Vec<SigLine>, String> {
    if lines.len() > SIGNATURES_PER_AMENDMENT_MAX {
        return Err(format!(
            "{} signatures, over the limit of {SIGNATURES_PER_AMENDMENT_MAX} (SIGNATURES_PER_AMENDMENT_MAX)",
            lines.len()
        ));
    }
    let mut out: Vec<SigLine> = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let line = SigLine::parse(l).map_err(|e| format!("signatures[{}]: {e}", i + 1))?;
        if let Some(j) = out
            .iter()
            .position(|o| o.name == line.name && o.id == line.id)
        {
            return Err(format!(
                "signatures[{}] and signatures[{}] are both by key {}+{:08x}: one signature per key",
                j + 1,
                i + 1,
                line.name,
                line.id
            ));
        }
        out.push(line);
    }
    Ok(out)
}

/// The formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One amendment in TOML.
    Toml,
    /// One amendment as a JSON object.
    Json,
    /// One amendment per line.
    JsonLines,
}

impl Format {
    /// The format a file name says, by extension.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Some(Format::Toml),
            Some("json") => Some(Format::Json),
            Some("jsonl") => Some(Format::JsonLines),
            _ => None,
        }
    }
}

fn input_error(
    file: &str,
    line: Option<u32>,
    column: Option<u32>,
    message: impl Into<String>,
) -> Error {
    Error::Input {
        location: Location {
            file: file.to_string(),
            line,
            column,
        },
        message: message.into(),
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    let col_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[col_start..])
        .chars()
        .count() as u32
        + 1;
    (line, column)
}

/// The line of the n-th (0-based) `[[change]]` header of a TOML text.
fn toml_change_line(text: &str, n: usize) -> Option<u32> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("[[change]]") || t.starts_with("[[changes]]")
        })
        .nth(n)
        .map(|(i, _)| i as u32 + 1)
}

fn finish(
    file: &str,
    line: Option<u32>,
    text_for_toml: Option<&str>,
    input: AmendmentInput,
) -> Result<(Amendment, Vec<SigLine>), Error> {
    let (a, sigs) = input.split();
    let sigs = parse_signatures(&sigs)
        .map_err(|m| input_error(file, line, None, format!("amendment `{}`: {m}", a.id)))?;
    if let Err(inv) = a.validate() {
        let (line, what) = match inv.change {
            Some(i) => (
                text_for_toml.and_then(|t| toml_change_line(t, i)).or(line),
                format!(
                    "amendment `{}`, change {} ({}): ",
                    a.id,
                    i + 1,
                    a.changes[i].op.describe()
                ),
            ),
            None => (line, format!("amendment `{}`: ", a.id)),
        };
        return Err(input_error(
            file,
            line,
            None,
            format!("{what}{}", inv.message),
        ));
    }
    Ok((a, sigs))
}

/// Parses one TOML amendment (its signature lines, if any, are dropped:
/// [`parse_toml_signed`] keeps them).
pub fn parse_toml(file: &str, text: &str) -> Result<Amendment, Error> {
    parse_toml_signed(file, text).map(|(a, _)| a)
}

/// Parses one TOML amendment and its signature lines.
pub fn parse_toml_signed(file: &str, text: &str) -> Result<(Amendment, Vec<SigLine>), Error> {
    check_size(file, None, text.len())?;
    if text.trim().is_empty() {
        return Err(input_error(file, None, None, "the file is empty: an amendment needs `agreement`, `id`, `title`, `effective` and a `[[change]]`"));
    }
    let input: AmendmentInput = toml::from_str(text).map_err(|e| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        input_error(
            file,
            line,
            column,
            toml_message(text, e.span(), e.message()),
        )
    })?;
    finish(file, None, Some(text), input)
}

fn json_error(file: &str, line_base: Option<u32>, text: &str, e: serde_json::Error) -> Error {
    let msg = e.to_string();
    let mut msg = match msg.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => msg,
    };
    if e.is_eof() && line_base.is_some() {
        msg.push_str(" (JSON Lines holds one whole amendment per line)");
    } else if msg.starts_with("trailing characters") {
        msg.push_str(" (a .json file holds one amendment; for several, use JSON Lines, .jsonl)");
    } else if e.is_data() {
        if msg.contains("is out of range: term integers") && e.line() > 0 {
            // Name the number as written, not as the float serde_json made of it.
            let line_start: usize = text
                .split_inclusive('\n')
                .take(e.line() - 1)
                .map(str::len)
                .sum();
            let at = (line_start + e.column()).min(text.len());
            let mut end = at;
            while end > 0 && !text.as_bytes()[end - 1].is_ascii_digit() {
                end -= 1;
            }
            let literal = span_token(text, end.saturating_sub(1));
            if let Some((before, after)) = msg.split_once(" is out of range") {
                if let Some(prefix) = before.strip_suffix(before.rsplit(' ').next().unwrap_or("")) {
                    msg = format!("{prefix}{literal} is out of range{after}");
                }
            }
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            msg = name_change(&v, msg, |c| {
                ParsedChange::deserialize(c)
                    .err()
                    .map(|e| strip_position(&e.to_string()))
            });
        }
    }
    let (line, column) = if e.line() == 0 {
        (line_base, None)
    } else {
        (
            Some(line_base.map_or(e.line() as u32, |b| b + e.line() as u32 - 1)),
            Some((e.column() as u32).max(1)),
        )
    };
    input_error(file, line, column, msg)
}

fn strip_position(msg: &str) -> String {
    match msg.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => msg.to_string(),
    }
}

/// Prefixes an error inside a change with the amendment and the change it is
/// in, found by deserializing each change of the generic document again.
fn name_change<V: GenericDoc>(
    doc: &V,
    msg: String,
    fails: impl Fn(&V) -> Option<String>,
) -> String {
    let id = doc
        .field("id")
        .and_then(|v| v.text())
        .unwrap_or_else(|| "?".into());
    let Some(changes) = doc.field("change").and_then(|c| c.items()) else {
        return msg;
    };
    for (i, c) in changes.iter().enumerate() {
        if fails(c).as_deref() == Some(msg.as_str()) {
            let mut what: Vec<String> = Vec::new();
            for f in ["op", "clause", "event", "amendment"] {
                if let Some(t) = c.field(f).and_then(|v| v.text()) {
                    what.push(t);
                }
            }
            let what = if what.is_empty() {
                String::new()
            } else {
                format!(" ({})", what.join(" "))
            };
            return format!("amendment `{id}`, change {}{what}: {msg}", i + 1);
        }
    }
    msg
}

/// Just enough of a parsed TOML or JSON document to name a change.
trait GenericDoc: Sized {
    fn field(&self, name: &str) -> Option<&Self>;
    fn text(&self) -> Option<String>;
    fn items(&self) -> Option<&Vec<Self>>;
}

/// Both parsers' generic values have the same accessors.
macro_rules! generic_doc {
    ($($t:ty),*) => {$(
        impl GenericDoc for $t {
            fn field(&self, name: &str) -> Option<&Self> {
                self.get(name)
            }
            fn text(&self) -> Option<String> {
                self.as_str().map(String::from)
            }
            fn items(&self) -> Option<&Vec<Self>> {
                self.as_array()
            }
        }
    )*};
}

generic_doc!(serde_json::Value, toml::Value);

/// The byte offset of `snippet` (a subslice of `text`) in `text`.
fn snippet_start(text: &str, snippet: &str) -> usize {
    (snippet.as_ptr() as usize)
        .saturating_sub(text.as_ptr() as usize)
        .min(text.len())
}

/// The date-or-number-like token of `text` around byte `at`.
fn span_token(text: &str, at: usize) -> &str {
    let b = text.as_bytes();
    let ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b':' | b'.' | b'_');
    let mut start = at.min(b.len());
    while start > 0 && ok(b[start - 1]) {
        start -= 1;
    }
    let mut end = at.min(b.len());
    while end < b.len() && ok(b[end]) {
        end += 1;
    }
    text.get(start..end).unwrap_or("")
}

/// Makes toml's messages say what a user needs to know.
fn toml_message(text: &str, span: Option<std::ops::Range<usize>>, message: &str) -> String {
    let mut msg = message.trim_end().replace('\n', ": ");
    if msg.trim().is_empty() {
        // toml gives some errors no message: name the character it stopped at.
        let at = span.as_ref().map_or(0, |s| s.start);
        msg = match text.get(at..).and_then(|t| t.chars().next()) {
            Some(c) if c.is_control() => format!("unexpected control character U+{:04X}", c as u32),
            Some(c) => format!("unexpected character `{c}`"),
            None => "unexpected end of the file".to_string(),
        };
    }
    let snippet = span.clone().and_then(|s| text.get(s)).unwrap_or("").trim();
    let line_text = span
        .and_then(|s| text.get(..s.start.min(text.len())))
        .map(|before| {
            let start = before.rfind('\n').map_or(0, |p| p + 1);
            text[start..]
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    if msg.starts_with("invalid date-time") && !snippet.is_empty() {
        let token = span_token(text, snippet_start(text, snippet));
        msg = format!("`{token}` is not a real date ({msg})");
    } else if msg.contains("number too large") || msg.contains("number too small") {
        msg.push_str(&format!(
            " (term integers are 64-bit, i64: from {} to {})",
            i64::MIN,
            i64::MAX
        ));
    } else if line_text.ends_with('=') {
        let key = line_text.trim_end_matches('=').trim();
        msg = format!("`{key} =` has no value ({msg})");
    } else if line_text.starts_with("[change]") || line_text.starts_with("[changes]") {
        msg = format!(
            "`change` must be an array of tables: write `[[change]]`, not `[change]` ({msg})"
        );
    } else if let Ok(doc) = text.parse::<toml::Table>() {
        let doc = toml::Value::Table(doc);
        msg = name_change(&doc, msg, |c| {
            ParsedChange::deserialize(c.clone())
                .err()
                .map(|e| e.message().trim_end().replace('\n', ": "))
        });
    }
    msg
}

/// Parses one JSON amendment (`line`: the line it starts on, for JSON Lines);
/// its signature lines, if any, are dropped ([`parse_json_signed`] keeps them).
pub fn parse_json(file: &str, line: Option<u32>, text: &str) -> Result<Amendment, Error> {
    parse_json_signed(file, line, text).map(|(a, _)| a)
}

/// Parses one JSON amendment and its signature lines.
pub fn parse_json_signed(
    file: &str,
    line: Option<u32>,
    text: &str,
) -> Result<(Amendment, Vec<SigLine>), Error> {
    check_size(file, line, text.len())?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(input_error(
            file,
            line,
            None,
            "the input is empty: an amendment is one JSON object",
        ));
    }
    if !trimmed.starts_with('{') {
        return Err(input_error(
            file,
            line,
            None,
            "an amendment is one JSON object `{…}` (for several, use JSON Lines, .jsonl)",
        ));
    }
    let input: AmendmentInput =
        serde_json::from_str(text).map_err(|e| json_error(file, line, text, e))?;
    finish(file, line, None, input)
}

fn check_size(file: &str, line: Option<u32>, len: usize) -> Result<(), Error> {
    if len > AMENDMENT_BYTES_MAX {
        return Err(input_error(file, line, None, format!(
            "the amendment is {len} bytes, over the limit of {AMENDMENT_BYTES_MAX} bytes (AMENDMENT_BYTES_MAX)"
        )));
    }
    Ok(())
}

fn utf8<'a>(file: &str, line: Option<u32>, bytes: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| {
        let ok = &bytes[..e.valid_up_to()];
        // Checked: valid_up_to bytes are UTF-8.
        let (l, c) = line_col(std::str::from_utf8(ok).unwrap_or(""), ok.len());
        let l = line.map_or(l, |b| b + l - 1);
        input_error(file, Some(l), Some(c), "the input is not valid UTF-8")
    })
}

/// Parses JSON Lines from a reader: one amendment per non-blank line.
pub fn parse_jsonl(file: &str, reader: impl BufRead) -> Result<Vec<Sourced>, Error> {
    let mut out = Vec::new();
    parse_jsonl_each(file, reader, &mut |s| {
        out.push(s);
        Ok(())
    })?;
    Ok(out)
}

/// [`parse_jsonl`], handing each amendment to `f` as it is read (a stream
/// of any length is read in bounded memory); returns how many it handed.
pub fn parse_jsonl_each(
    file: &str,
    reader: impl BufRead,
    f: &mut dyn FnMut(Sourced) -> Result<(), Error>,
) -> Result<usize, Error> {
    let mut reader = reader;
    let mut count = 0usize;
    let mut buf = Vec::new();
    let mut line_no: u32 = 0;
    loop {
        // Blank lines (a lone `\n`) are skipped in bulk, without a read each.
        let blanks = reader
            .fill_buf()
            .map_err(|e| input_error(file, Some(line_no + 1), None, format!("cannot read: {e}")))?
            .iter()
            .take_while(|&&b| b == b'\n')
            .count();
        if blanks > 0 {
            reader.consume(blanks);
            line_no = line_no.saturating_add(blanks as u32);
            continue;
        }
        buf.clear();
        line_no += 1;
        let n = (&mut reader)
            .take(AMENDMENT_BYTES_MAX as u64 + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|e| input_error(file, Some(line_no), None, format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        let complete = buf.last() == Some(&b'\n');
        if !complete && n > AMENDMENT_BYTES_MAX {
            return Err(input_error(file, Some(line_no), None, format!(
                "the line is over the limit of {AMENDMENT_BYTES_MAX} bytes per amendment (AMENDMENT_BYTES_MAX)"
            )));
        }
        let text = utf8(file, Some(line_no), &buf)?;
        let text = if line_no == 1 { strip_bom(text) } else { text };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        if count >= AMENDMENTS_PER_APPEND_MAX {
            return Err(input_error(file, Some(line_no), None, format!(
                "more than {AMENDMENTS_PER_APPEND_MAX} amendments in one append (AMENDMENTS_PER_APPEND_MAX)"
            )));
        }
        let (amendment, signatures) = parse_json_signed(file, Some(line_no), text)?;
        count += 1;
        f(Sourced {
            amendment,
            location: Location {
                file: file.to_string(),
                line: Some(line_no),
                column: None,
            },
            signatures,
        })?;
    }
    Ok(count)
}

/// Parses text in the format its name says (`.jsonl` may hold many).
pub fn parse_str(name: &str, text: &str) -> Result<Vec<Amendment>, Error> {
    let format = Format::of(Path::new(name)).ok_or_else(|| {
        input_error(
            name,
            None,
            None,
            "unknown format: expected a .toml, .json or .jsonl file",
        )
    })?;
    Ok(match format {
        Format::Toml => vec![parse_toml(name, text)?],
        Format::Json => vec![parse_json(name, None, strip_bom(text))?],
        Format::JsonLines => parse_jsonl(name, text.as_bytes())?
            .into_iter()
            .map(|s| s.amendment)
            .collect(),
    })
}

/// Reads one file in the format its extension says.
pub fn read_file(path: &Path) -> Result<Vec<Sourced>, Error> {
    let mut out = Vec::new();
    read_file_each(path, &mut |s| {
        out.push(s);
        Ok(())
    })?;
    Ok(out)
}

/// [`read_file`], handing each amendment to `f` as it is read.
pub fn read_file_each(
    path: &Path,
    f: &mut dyn FnMut(Sourced) -> Result<(), Error>,
) -> Result<(), Error> {
    let name = path.display().to_string();
    let format = Format::of(path)
        .ok_or_else(|| input_error(&name, None, None, "unknown format: expected a .toml, .json or .jsonl file (or a folder, or - for standard input)"))?;
    let file = std::fs::File::open(path)
        .map_err(|e| input_error(&name, None, None, format!("cannot open: {e}")))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if format == Format::JsonLines {
        if len > INPUT_FILE_BYTES_MAX {
            return Err(input_error(&name, None, None, format!("the file is {len} bytes, over the limit of {INPUT_FILE_BYTES_MAX} bytes (INPUT_FILE_BYTES_MAX)")));
        }
        let found = parse_jsonl_each(&name, std::io::BufReader::new(file), f)?;
        if found == 0 {
            return Err(input_error(
                &name,
                None,
                None,
                "the file holds no amendment (JSON Lines: one amendment per line)",
            ));
        }
        return Ok(());
    }
    if len > AMENDMENT_BYTES_MAX as u64 {
        return Err(input_error(&name, None, None, format!(
            "the file is {len} bytes, over the limit of {AMENDMENT_BYTES_MAX} bytes per amendment (AMENDMENT_BYTES_MAX)"
        )));
    }
    let mut bytes = Vec::new();
    file.take(AMENDMENT_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| input_error(&name, None, None, format!("cannot read: {e}")))?;
    check_size(&name, None, bytes.len())?;
    let text = strip_bom(utf8(&name, None, &bytes)?);
    let (amendment, signatures) = match format {
        Format::Toml => parse_toml_signed(&name, text)?,
        _ => parse_json_signed(&name, None, text)?,
    };
    f(Sourced {
        amendment,
        location: Location {
            file: name,
            line: None,
            column: None,
        },
        signatures,
    })
}

/// The amendment files of a folder: its `*.toml`, `*.json`, `*.jsonl`, in
/// file-name order; hidden files (`.#02-price.toml`, an editor's lock or
/// backup) are not amendments.
pub fn folder_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let name = dir.display().to_string();
    let rd = std::fs::read_dir(dir)
        .map_err(|e| input_error(&name, None, None, format!("cannot read the folder: {e}")))?;
    let mut files = Vec::new();
    for e in rd {
        let e =
            e.map_err(|e| input_error(&name, None, None, format!("cannot read the folder: {e}")))?;
        let p = e.path();
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if !hidden && p.is_file() && Format::of(&p).is_some() {
            files.push(p);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Reads files and folders given on the command line (`-` is standard input,
/// as JSON Lines), in order.
pub fn read_paths(paths: &[PathBuf], stdin: &mut dyn BufRead) -> Result<Vec<Sourced>, Error> {
    let mut out = Vec::new();
    read_paths_each(paths, stdin, &mut |s| {
        out.push(s);
        Ok(())
    })?;
    Ok(out)
}

/// [`read_paths`], handing each amendment to `f` as it is read: input of
/// any length is read in bounded memory (a `.toml` or `.json` file holds
/// one amendment; JSON Lines are read line by line).
pub fn read_paths_each(
    paths: &[PathBuf],
    stdin: &mut dyn BufRead,
    f: &mut dyn FnMut(Sourced) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut count = 0usize;
    let mut counted = |s: Sourced| {
        count += 1;
        if count > AMENDMENTS_PER_APPEND_MAX {
            return Err(Error::Usage(format!(
                "more than {AMENDMENTS_PER_APPEND_MAX} amendments in one append (AMENDMENTS_PER_APPEND_MAX)"
            )));
        }
        f(s)
    };
    for p in paths {
        if p.as_os_str() == "-" {
            if parse_jsonl_each("-", &mut *stdin, &mut counted)? == 0 {
                return Err(input_error(
                    "-",
                    None,
                    None,
                    "standard input held no amendment (JSON Lines: one amendment per line)",
                ));
            }
        } else if p.is_dir() {
            let files = folder_files(p)?;
            if files.is_empty() {
                return Err(input_error(
                    &p.display().to_string(),
                    None,
                    None,
                    "the folder holds no .toml, .json or .jsonl file",
                ));
            }
            for file in files {
                read_file_each(&file, &mut counted)?;
            }
        } else {
            read_file_each(p, &mut counted)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(name: &str, text: &str) -> String {
        parse_str(name, text)
            .expect_err("should be refused")
            .to_string()
    }

    const HEAD: &str = "agreement = \"a\"\nid = \"x\"\ntitle = \"T\"\neffective = 2024-01-01\n";

    #[test]
    fn toml_errors_have_line_and_column() {
        let e = err("f.toml", &format!("{HEAD}[[change]]\nop = \"add\"\nclause = \"c\"\ntext = \"t\"\nterms = {{ share = 0.2 }}\n"));
        assert!(e.starts_with("f.toml:9:"), "{e}");
        assert!(e.contains("decimal string such as \"0.2\""), "{e}");
        let e = err(
            "f.toml",
            "agreement = \"a\"\nid = \"x\"\ntitle = \"T\"\nefective = 2024-01-01\n",
        );
        assert!(e.starts_with("f.toml:4:1: unknown field `efective`"), "{e}");
        let e = err(
            "f.toml",
            &HEAD.replace("2024-01-01", "2024-01-01T10:00:00Z"),
        );
        assert!(e.contains("has a time"), "{e}");
        let e = err("f.toml", &HEAD.replace("2024-01-01", "\"2025-02-30\""));
        assert!(e.contains("`2025-02-30` is not a real date"), "{e}");
    }

    #[test]
    fn change_level_errors_name_the_change_header_line() {
        let text = format!("{HEAD}\n[[change]]\nop = \"establish\"\ntitle = \"A\"\nparties = [{{ id = \"p\", name = \"P\" }}]\n\n[[change]]\nop = \"amend\"\nclause = \"c\"\n");
        let e = err("f.toml", &text);
        assert!(
            e.starts_with(
                "f.toml:11: amendment `x`, change 2 (amend c): an `amend` must name something"
            ),
            "{e}"
        );
        let e = err("f.toml", &format!("{HEAD}[[change]]\nop = \"modify\"\n"));
        assert!(
            e.contains("unknown op `modify`: expected one of establish, add, amend"),
            "{e}"
        );
        let e = err(
            "f.toml",
            &format!("{HEAD}[[change]]\nop = \"repeal\"\nclause = \"c\"\ntext = \"t\"\n"),
        );
        assert!(
            e.contains("field `text` does not belong to op `repeal`"),
            "{e}"
        );
    }

    #[test]
    fn json_and_json_lines_errors() {
        let e = err("f.json", "{\"agreement\":\"a\",\"id\":\"x\",\"title\":\"T\",\n \"effective\":\"2024-01-01\",\"change\":[{\"op\":\"add\",\"clause\":\"Bad\",\"text\":\"t\"}]}");
        assert!(e.starts_with("f.json:2:"), "{e}");
        assert!(e.contains("clause id `Bad`"), "{e}");
        let e = err("f.jsonl", "\n{\"agreement\":\"a\",\"id\":\"x\",\"title\":\"T\",\"effective\":\"2024-01-01\",\"change\":[{\"op\":\"terminate\"}]}\n{\"agreement\":\"a\"");
        assert!(e.starts_with("f.jsonl:3:"), "{e}");
        let e = err("f.json", "[]");
        assert!(e.contains("one JSON object"), "{e}");
        let e = err("f.json", "{\"agreement\":\"a\",\"id\":\"x\",\"title\":\"T\",\"effective\":\"2024-01-01\",\"change\":[{\"op\":\"add\",\"clause\":\"c\",\"text\":\"t\",\"terms\":{\"n\":18446744073709551615}}]}");
        assert!(e.contains("larger than the largest term integer"), "{e}");
        let e = err("f.yaml", "x");
        assert!(e.contains("unknown format"), "{e}");
    }

    #[test]
    fn text_dates_become_dates_in_every_format() {
        let json = parse_str("f.json", "{\"agreement\":\"a\",\"id\":\"x\",\"title\":\"T\",\"effective\":\"2024-01-01\",\"change\":[{\"op\":\"add\",\"clause\":\"c\",\"text\":\"t\",\"terms\":{\"d\":\"2030-12-31\",\"s\":\"2030\"}}]}").expect("json");
        let toml = parse_str("f.toml", &format!("{HEAD}[[change]]\nop = \"add\"\nclause = \"c\"\ntext = \"t\"\nterms = {{ d = 2030-12-31, s = \"2030\" }}\n")).expect("toml");
        assert_eq!(json[0].changes, toml[0].changes);
        let Op::Add { terms, .. } = &json[0].changes[0].op else {
            panic!("not an add")
        };
        assert_eq!(
            terms.values().next(),
            Some(&TermValue::Date("2030-12-31".parse().expect("date")))
        );
        assert_eq!(terms.values().nth(1), Some(&TermValue::Text("2030".into())));
    }

    #[test]
    fn retractions_have_no_date() {
        let ok = parse_str("f.json", "{\"agreement\":\"a\",\"id\":\"r\",\"title\":\"T\",\"change\":[{\"op\":\"retract\",\"amendment\":\"x\",\"reason\":\"typo\"}]}").expect("retraction");
        assert_eq!(ok[0].retracts().map(|a| a.as_str()), Some("x"));
        let e = err("f.json", "{\"agreement\":\"a\",\"id\":\"r\",\"title\":\"T\",\"effective\":\"2024-01-01\",\"change\":[{\"op\":\"retract\",\"amendment\":\"x\",\"reason\":\"typo\"}]}");
        assert!(e.contains("a retraction has no date of its own"), "{e}");
        let e = err("f.json", "{\"agreement\":\"a\",\"id\":\"r\",\"title\":\"T\",\"change\":[{\"op\":\"terminate\"}]}");
        assert!(e.contains("missing field `effective`"), "{e}");
    }

    const JSON: &str = r#"{"agreement":"a","id":"x","title":"T","effective":"2024-01-01","change":[{"op":"terminate"}]}"#;

    #[test]
    fn a_byte_order_mark_is_no_part_of_a_json_or_json_lines_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["a.json", "a.jsonl", "a.toml"] {
            let text = if name.ends_with(".toml") {
                format!("{HEAD}[[change]]\nop = \"terminate\"\n")
            } else {
                JSON.to_string()
            };
            let p = dir.path().join(name);
            std::fs::write(&p, format!("\u{feff}{text}\n")).expect("write");
            let got = read_file(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got.len(), 1, "{name}");
            assert_eq!(
                parse_str(name, &format!("\u{feff}{text}"))
                    .map(|v| v.len())
                    .ok(),
                Some(1),
                "{name}"
            );
        }
    }

    #[test]
    fn hidden_files_of_a_folder_are_not_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("01.json"), JSON).expect("write");
        std::fs::write(dir.path().join(".#02-price.toml"), "garbage").expect("write");
        let files = folder_files(dir.path()).expect("list");
        assert_eq!(files, vec![dir.path().join("01.json")]);
    }

    #[test]
    fn change_that_is_no_list_names_the_field() {
        let e = err(
            "f.json",
            &JSON.replace(r#"[{"op":"terminate"}]"#, r#"{"op":"terminate"}"#),
        );
        assert!(e.starts_with("f.json:1:"), "{e}");
        assert!(e.contains("`change` as a list of changes"), "{e}");
        let e = err(
            "f.toml",
            &format!("{HEAD}change = {{ op = \"terminate\" }}\n"),
        );
        assert!(e.contains("`change` as a list of changes"), "{e}");
        // `changes` is not another name for it.
        let e = err("f.json", &JSON.replace("\"change\"", "\"changes\""));
        assert!(e.contains("unknown field `changes`"), "{e}");
    }

    #[test]
    fn an_empty_json_lines_file_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("empty.jsonl");
        std::fs::write(&p, "\n\n").expect("write");
        let e = read_file(&p).expect_err("empty").to_string();
        assert!(
            e.starts_with(&format!("{}: the file holds no amendment", p.display())),
            "{e}"
        );
        let e = read_paths(&[PathBuf::from("-")], &mut &b""[..])
            .expect_err("empty stdin")
            .to_string();
        assert!(e.starts_with("-: standard input held no amendment"), "{e}");
    }
}
