//! Adds a party's signature line to amendment files (TOML, JSON, JSON
//! Lines), in place, keeping every other byte (product.md §8). Pure: text
//! in, text out; the CLI reads and writes the files.
//!
//! - TOML: the top-level `signatures` array (created after the other
//!   top-level keys when missing), edited with `toml_edit`, which keeps the
//!   rest of the document as written.
//! - JSON: the top-level `"signatures"` member (added after the last member
//!   when missing); the text outside the array is not touched.
//! - JSON Lines: each non-blank line as JSON, kept on one line.
//!
//! A line by the same key (name and key id) already there is replaced where
//! it stands; as
//! Ed25519 signatures are deterministic, signing twice changes nothing.

use crate::error::{Error, Location};
use crate::input::{self, Format};
use crate::model::Amendment;
use crate::note::{amendment_note, sign_amendment, SigLine, SignerKey};

fn err(file: &str, line: Option<u32>, message: impl Into<String>) -> Error {
    Error::Input {
        location: Location {
            file: file.to_string(),
            line,
            column: None,
        },
        message: message.into(),
    }
}

/// The amendments of a file's text, with the line each starts on.
pub fn amendments(name: &str, text: &str) -> Result<Vec<(Amendment, Vec<SigLine>)>, Error> {
    match Format::of(std::path::Path::new(name)) {
        Some(Format::Toml) => Ok(vec![input::parse_toml_signed(name, text)?]),
        Some(Format::Json) => Ok(vec![input::parse_json_signed(name, None, text)?]),
        Some(Format::JsonLines) => {
            let mut out = Vec::new();
            for (n, line) in text.split('\n').enumerate() {
                let line = line.trim_end_matches('\r');
                if !line.trim().is_empty() {
                    out.push(input::parse_json_signed(name, Some(n as u32 + 1), line)?);
                }
            }
            Ok(out)
        }
        None => Err(err(
            name,
            None,
            "unknown format: expected a .toml, .json or .jsonl file",
        )),
    }
}

/// The note text of each amendment in a file's text.
pub fn notes(name: &str, text: &str) -> Result<Vec<String>, Error> {
    amendments(name, text)?
        .iter()
        .map(|(a, _)| amendment_note(a).map_err(|e| err(name, None, e)))
        .collect()
}

fn check_party(name: &str, line: Option<u32>, a: &Amendment, key: &SignerKey) -> Result<(), Error> {
    if let Some(keys) = a.establish_keys() {
        let v = key.verifier();
        if !keys.iter().any(|(_, k)| **k == v) {
            return Err(err(
                name,
                line,
                format!(
                    "amendment `{}`: the key {}+{:08x} is not the key of any of its parties",
                    a.id,
                    key.name(),
                    key.id()
                ),
            ));
        }
    }
    Ok(())
}

/// The file's text with `key`'s signature added to every amendment in it.
pub fn sign_text(name: &str, text: &str, key: &SignerKey) -> Result<String, Error> {
    let format = Format::of(std::path::Path::new(name)).ok_or_else(|| {
        err(
            name,
            None,
            "unknown format: expected a .toml, .json or .jsonl file",
        )
    })?;
    let sign = |a: &Amendment, line: Option<u32>| -> Result<String, Error> {
        check_party(name, line, a, key)?;
        sign_amendment(a, key)
            .map(|l| l.to_string())
            .map_err(|e| err(name, line, e))
    };
    match format {
        Format::Toml => {
            let (a, _) = input::parse_toml_signed(name, text)?;
            let line = sign(&a, None)?;
            toml_add(text, &line, key).map_err(|e| err(name, None, e))
        }
        Format::Json => {
            let (a, _) = input::parse_json_signed(name, None, text)?;
            let line = sign(&a, None)?;
            json_add(text, &line, key, false).map_err(|e| err(name, None, e))
        }
        Format::JsonLines => {
            let mut out = String::with_capacity(text.len() + 256);
            for (n, raw) in text.split_inclusive('\n').enumerate() {
                let body = raw.trim_end_matches(['\n', '\r']);
                if body.trim().is_empty() {
                    out.push_str(raw);
                    continue;
                }
                let at = Some(n as u32 + 1);
                let (a, _) = input::parse_json_signed(name, at, body)?;
                let line = sign(&a, at)?;
                out.push_str(&json_add(body, &line, key, true).map_err(|e| err(name, at, e))?);
                out.push_str(&raw[body.len()..]);
            }
            Ok(out)
        }
    }
}

fn same_key(existing: &str, key: &SignerKey) -> bool {
    SigLine::parse(existing).is_ok_and(|l| l.name == key.name() && l.id == key.id())
}

fn toml_add(text: &str, line: &str, key: &SignerKey) -> Result<String, String> {
    use toml_edit::{Array, DocumentMut, Item, Value};
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    if doc.to_string() != text {
        return Err("this TOML cannot be edited without changing other bytes".into());
    }
    match doc.get_mut("signatures") {
        // (`doc` is printed after the match.)
        Some(item) => {
            let arr = item
                .as_array_mut()
                .ok_or("`signatures` is not an array of strings")?;
            let found = arr
                .iter()
                .position(|v| v.as_str().is_some_and(|s| same_key(s, key)));
            if let Some(i) = found {
                // A line by the same key is replaced where it stands.
                let old = arr.get(i).map(|v| v.decor().clone()).unwrap_or_default();
                let mut v = Value::from(line);
                *v.decor_mut() = old;
                arr.replace_formatted(i, v);
            } else {
                let multiline = arr.to_string().contains('\n');
                let prefix = arr
                    .iter()
                    .last()
                    .and_then(|v| v.decor().prefix())
                    .and_then(|p| p.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        if multiline {
                            "\n    ".into()
                        } else {
                            String::new()
                        }
                    });
                let prefix = if arr.is_empty() && !multiline {
                    String::new()
                } else {
                    prefix
                };
                let mut v = Value::from(line);
                v.decor_mut().set_prefix(prefix);
                v.decor_mut().set_suffix("");
                arr.push_formatted(v);
            }
        }
        None => {
            let mut arr = Array::new();
            let mut v = Value::from(line);
            v.decor_mut().set_prefix("\n    ");
            arr.push_formatted(v);
            arr.set_trailing_comma(true);
            arr.set_trailing("\n");
            doc.insert("signatures", Item::Value(Value::Array(arr)));
        }
    }
    Ok(doc.to_string())
}

/// Skips white space from `i`.
fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end (exclusive) of the JSON string starting at `i` (a `"`).
fn string_end(b: &[u8], mut i: usize) -> Result<usize, String> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err("unterminated string".into())
}

/// The end (exclusive) of the JSON value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Result<usize, String> {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err("unbalanced brackets".into())
        }
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            Ok(j)
        }
        None => Err("a value is missing".into()),
    }
}

/// The top-level members of a JSON object: (key, start of the key, value span).
fn members(text: &str) -> Result<Vec<(String, usize, usize, usize)>, String> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err("not a JSON object".into());
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        i = ws(b, i);
        match b.get(i) {
            Some(b'}') => return Ok(out),
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(b'"') => {}
            _ => return Err("malformed object".into()),
        }
        let k_end = string_end(b, i)?;
        let key: String =
            serde_json::from_str(&text[i..k_end]).map_err(|e| format!("a key: {e}"))?;
        let mut j = ws(b, k_end);
        if b.get(j) != Some(&b':') {
            return Err("malformed object".into());
        }
        j = ws(b, j + 1);
        let v_end = value_end(b, j)?;
        out.push((key, i, j, v_end));
        i = v_end;
    }
}

/// The spans of the elements of the JSON array starting at `at` (a `[`).
fn elements(text: &str, at: usize) -> Result<Vec<(usize, usize)>, String> {
    let b = text.as_bytes();
    let mut i = ws(b, at + 1);
    let mut out = Vec::new();
    loop {
        match b.get(i) {
            Some(b']') => return Ok(out),
            Some(b',') => i = ws(b, i + 1),
            Some(_) => {
                let end = value_end(b, i)?;
                out.push((i, end));
                i = ws(b, end);
            }
            None => return Err("unterminated array".into()),
        }
    }
}

/// The white space that starts the line holding byte `at`.
fn indent_of(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let rest = &text[start..];
    &rest[..rest.len() - rest.trim_start_matches([' ', '\t']).len()]
}

fn json_add(text: &str, line: &str, key: &SignerKey, one_line: bool) -> Result<String, String> {
    let quoted = serde_json::to_string(line).map_err(|e| e.to_string())?;
    let ms = members(text)?;
    if let Some((_, _, vs, ve)) = ms.iter().find(|m| m.0 == "signatures") {
        let (vs, ve) = (*vs, *ve);
        let old: Vec<String> = serde_json::from_str(&text[vs..ve])
            .map_err(|_| "`signatures` is not an array of strings")?;
        let spans = elements(text, vs)?;
        if spans.len() != old.len() {
            return Err("`signatures` is not an array of strings".into());
        }
        // Only the bytes of one element change, or are added.
        if let Some(i) = old.iter().position(|s| same_key(s, key)) {
            let (a, b) = spans[i];
            return Ok(format!("{}{quoted}{}", &text[..a], &text[b..]));
        }
        let Some(&(_, last_end)) = spans.last() else {
            let multiline = !one_line && text[vs..ve].contains('\n');
            let inner = if multiline {
                let ind = indent_of(text, vs);
                format!("\n{ind}  {quoted}\n{ind}")
            } else {
                quoted
            };
            return Ok(format!("{}[{inner}]{}", &text[..vs], &text[ve..]));
        };
        let sep = if !one_line && text[vs..last_end].contains('\n') {
            format!(",\n{}", indent_of(text, last_end))
        } else {
            ", ".to_string()
        };
        return Ok(format!(
            "{}{sep}{quoted}{}",
            &text[..last_end],
            &text[last_end..]
        ));
    }
    let (_, ks, _, ve) = *ms.last().ok_or("an empty object")?;
    let multiline = !one_line && text[..ve].contains('\n');
    let insert = if multiline {
        let ind = indent_of(text, ks);
        format!(",\n{ind}\"signatures\": [\n{ind}  {quoted}\n{ind}]")
    } else {
        format!(", \"signatures\": [{quoted}]")
    };
    Ok(format!("{}{insert}{}", &text[..ve], &text[ve..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SignerKey {
        SignerKey::from_seed(&format!("party{n}.example"), [n; 32]).expect("key")
    }

    const TOML: &str = "# A comment that stays.\nagreement = \"a\"\nid   = \"e\"   # spacing stays\ntitle = \"T\"\neffective = 2020-01-01\n\n[[change]]\nop = \"establish\"\ntitle = \"T\"\nparties = [{ id = \"x\", name = \"X\" }]\n";

    #[test]
    fn toml_keeps_every_other_byte() {
        let once = sign_text("f.toml", TOML, &key(1)).expect("sign");
        assert!(once.starts_with(
            "# A comment that stays.\nagreement = \"a\"\nid   = \"e\"   # spacing stays\n"
        ));
        assert!(once.contains("[[change]]\nop = \"establish\"\ntitle = \"T\"\nparties = [{ id = \"x\", name = \"X\" }]\n"));
        let twice = sign_text("f.toml", &once, &key(2)).expect("sign");
        assert_eq!(
            sign_text("f.toml", &twice, &key(2)).expect("again"),
            twice,
            "re-signing changes nothing"
        );
        assert_eq!(
            sign_text("f.toml", &twice, &key(1)).expect("again"),
            twice,
            "re-signing the first line keeps it first"
        );
        let (_, sigs) = input::parse_toml_signed("f.toml", &twice).expect("parse");
        assert_eq!(sigs.len(), 2);
        assert_eq!(sigs[0].name, "party1.example");
        // Removing the signatures array gives back the original bytes.
        let start = twice.find("signatures = [").expect("array");
        let end = twice[start..].find("]\n").expect("end") + start + 2;
        assert_eq!(format!("{}{}", &twice[..start], &twice[end..]), TOML);
    }

    #[test]
    fn json_and_jsonl_keep_every_other_byte() {
        let json = "{\n  \"agreement\": \"a\",\n  \"id\": \"e\",\n  \"title\": \"T\",\n  \"effective\": \"2020-01-01\",\n  \"change\": [{\"op\": \"repeal\", \"clause\": \"c\"}]\n}\n";
        let once = sign_text("f.json", json, &key(1)).expect("sign");
        let twice = sign_text("f.json", &once, &key(2)).expect("sign");
        assert_eq!(sign_text("f.json", &twice, &key(1)).expect("again"), twice);
        let (_, sigs) = input::parse_json_signed("f.json", None, &twice).expect("parse");
        assert_eq!(sigs.len(), 2);
        let cut = twice.find(",\n  \"signatures\"").expect("member");
        let end = twice.rfind("\n}").expect("end");
        assert_eq!(format!("{}{}", &twice[..cut], &twice[end..]), json);

        let line = "{\"agreement\": \"a\", \"id\": \"e\", \"title\": \"T\", \"effective\": \"2020-01-01\", \"change\": [{\"op\": \"repeal\", \"clause\": \"c\"}]}";
        let jsonl = format!("{line}\n\n{}\r\n", line.replace("\"e\"", "\"f\""));
        let once = sign_text("f.jsonl", &jsonl, &key(1)).expect("sign");
        let twice = sign_text("f.jsonl", &once, &key(2)).expect("sign");
        assert_eq!(twice.lines().count(), 3);
        assert!(twice.ends_with("]}\r\n"));
        let amendments = amendments("f.jsonl", &twice).expect("parse");
        assert!(amendments.iter().all(|(_, s)| s.len() == 2));
        assert_eq!(sign_text("f.jsonl", &twice, &key(2)).expect("again"), twice);
    }

    #[test]
    fn an_establish_with_keys_is_signed_by_its_parties_only() {
        let with_key = TOML.replace(
            "name = \"X\" }",
            &format!("name = \"X\", key = \"{}\" }}", key(1).verifier()),
        );
        sign_text("f.toml", &with_key, &key(1)).expect("the party signs");
        let e = sign_text("f.toml", &with_key, &key(2)).expect_err("not a party");
        assert!(
            e.to_string().contains("not the key of any of its parties"),
            "{e}"
        );
    }
}
